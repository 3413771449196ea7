"""`export reviews`: every current review (or every event) joined with its record, as JSONL or
CSV, read in pages, optionally redacted; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from reviewer.cli import app
from reviewer.review.export_reviews import (
    REVIEW_KEYS,
    csv_columns,
    export_reviews,
    iter_reviews,
)
from reviewer.store.events import stamp
from tests.unit.test_review_session import T0, Clock, events, make_items, session


def review_some(engine: Engine, tmp_path: Path) -> list[int]:
    """Three items of queue q: ana corrects item 0 (with personal data in her note and
    correction), passes item 1, touches item 2 and undoes it all; ben skips item 0. Four
    items of queue other: ana passes the first."""
    ids = make_items(engine, tmp_path, 3)
    clock = Clock()
    ana = session(engine, "ana", clock)
    ana.next_item()
    clock.advance(12.5)
    ana.set_score(ids[0], "helpful", 2)
    ana.set_themes(ids[0], ["invented-policy"])
    ana.set_note(ids[0], "customer ana@example.com asked twice")
    ana.set_correction(ids[0], "Returns within 30 days. Call +49 40 1234 5678.")
    ana.set_verdict(ids[0], "fail")
    ana.next_item()
    ana.set_score(ids[1], "helpful", 5)
    ana.set_verdict(ids[1], "pass")
    ana.next_item()
    ana.set_note(ids[2], "hmm")
    ana.undo()  # item 2: nothing left, no review
    ben = session(engine, "ben", reviews_per_item=2)
    ben.open(ids[0])
    ben.skip(ids[0])
    other_ids = make_items(engine, tmp_path, 4, queue="other")
    other = session(engine, "ana", name="other")
    other.next_item()
    other.set_score(other_ids[0], "helpful", 4)
    other.set_verdict(other_ids[0], "pass")
    return ids


def test_current_reviews_with_their_records(engine, tmp_path):
    ids = review_some(engine, tmp_path)
    got = list(iter_reviews(engine))
    assert [(r["queue"], r["queue_item_id"], r["reviewer"]) for r in got] == [
        ("q", ids[0], "ana"), ("q", ids[1], "ana"), ("q", ids[0], "ben"), ("other", got[3]["queue_item_id"], "ana"),
    ]  # fmt: skip
    first = got[0]
    assert list(first) == [*REVIEW_KEYS, "record"]
    latest = [e for e in events(engine) if e["queue_item_id"] == ids[0] and e["reviewer"] == "ana"][
        -1
    ]
    assert {k: v for k, v in first.items() if k != "record"} == {
        "review_id": latest["id"],
        "queue": "q",
        "queue_item_id": ids[0],
        "record_id": "chatcmpl-q0",
        "reviewer": "ana",
        "verdict": "fail",
        "scores": {"helpful": 2},
        "themes": ["invented-policy"],
        "note": "customer ana@example.com asked twice",
        "corrected": "Returns within 30 days. Call +49 40 1234 5678.",
        "skipped": False,
        "complete": True,
        "seconds": 12.5,
        "created_at": stamp(T0 + timedelta(seconds=12.5)),
        "trace_id": None,
        "step_id": None,
        "step_notes": {},
    }
    record = first["record"]
    assert record["id"] == "chatcmpl-q0" and record["model"] == "gpt-4o-mini"
    assert [m["role"] for m in record["messages"]] == ["system", "user"]
    assert record["messages"][1]["content"] == "Question 0?"
    assert record["output"] == {"role": "assistant", "content": "Answer 0."}
    assert got[1]["verdict"] == "pass" and got[1]["record"]["output"]["content"] == "Answer 1."
    ben = got[2]
    assert (ben["skipped"], ben["verdict"], ben["complete"], ben["scores"]) == (
        True,
        None,
        False,
        {},
    )
    assert isinstance(ben["seconds"], float)


def test_history_has_every_event(engine, tmp_path):
    review_some(engine, tmp_path)
    got = list(iter_reviews(engine, history=True))
    stored = events(engine)
    assert [r["review_id"] for r in got] == [e["id"] for e in stored]
    assert [r["action"] for r in got] == [e["action"] for e in stored]
    undo = next(r for r in got if r["action"] == "undo")
    assert undo["undoes"] == next(r["review_id"] for r in got if r["note"] == "hmm")
    assert list(got[0]) == [*REVIEW_KEYS, "action", "undoes", "record"]
    assert all(r["record"]["id"] == r["record_id"] for r in got)


def test_queue_filter_and_pages(engine, tmp_path):
    review_some(engine, tmp_path)
    assert [r["queue"] for r in iter_reviews(engine, queue="other")] == ["other"]
    assert list(iter_reviews(engine, queue="nope")) == []
    # pages of two read the same as one page
    assert list(iter_reviews(engine, batch=2)) == list(iter_reviews(engine))
    assert list(iter_reviews(engine, history=True, batch=3)) == list(
        iter_reviews(engine, history=True)
    )


def test_jsonl_lines(engine, tmp_path):
    review_some(engine, tmp_path)
    out = io.BytesIO()
    report = export_reviews(engine, out, "jsonl")
    lines = [orjson.loads(line) for line in out.getvalue().splitlines()]
    assert report.written == len(lines) == 4
    assert lines == list(iter_reviews(engine))


def test_csv_flattens_the_record(engine, tmp_path):
    review_some(engine, tmp_path)
    out = io.BytesIO()
    report = export_reviews(engine, out, "csv", queue="q")
    rows = list(csv.DictReader(io.StringIO(out.getvalue().decode(), newline="")))
    assert report.written == len(rows) == 3
    assert list(rows[0]) == csv_columns()
    assert "record.messages" in rows[0] and "record.usage.input_tokens" in rows[0]
    first = rows[0]
    assert (first["reviewer"], first["verdict"], first["skipped"], first["complete"]) == (
        "ana", "fail", "false", "true",
    )  # fmt: skip
    assert orjson.loads(first["scores"]) == {"helpful": 2}
    assert orjson.loads(first["themes"]) == ["invented-policy"]
    assert first["seconds"] == "12.5" and first["note"].startswith("customer")
    assert first["record.model"] == "gpt-4o-mini"
    assert first["record.source.format"] == "openai-chat"
    assert first["record.source.line"] == "1"
    assert orjson.loads(first["record.messages"])[1]["content"] == "Question 0?"
    assert orjson.loads(first["record.output"])["content"] == "Answer 0."
    assert rows[2]["verdict"] == "" and rows[2]["skipped"] == "true"
    history = io.BytesIO()
    export_reviews(engine, history, "csv", history=True)
    header = next(csv.reader(io.StringIO(history.getvalue().decode())))
    assert header == csv_columns(history=True) and "action" in header and "undoes" in header


def test_redact_masks_notes_corrections_and_records(engine, tmp_path):
    review_some(engine, tmp_path)
    out = io.BytesIO()
    export_reviews(engine, out, "jsonl", redact=True)
    first = orjson.loads(out.getvalue().splitlines()[0])
    assert first["note"] == "customer [email] asked twice"
    assert first["corrected"] == "Returns within 30 days. Call [phone]."
    assert first["record"]["messages"][1]["content"] == "Question 0?"
    assert b"ana@example.com" not in out.getvalue()
    csv_out = io.BytesIO()
    export_reviews(engine, csv_out, "csv", redact=True)
    assert b"ana@example.com" not in csv_out.getvalue() and b"[email]" in csv_out.getvalue()


def test_unknown_format(engine):
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        export_reviews(engine, io.BytesIO(), "xml")


def test_cli_export_reviews(engine, tmp_path, monkeypatch):
    review_some(engine, tmp_path)
    db = f"sqlite:///{tmp_path / 'ws' / '.reviewer' / 'reviewer.db'}"
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, ["--db", db, "export", "reviews"])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 4 and result.stderr.strip() == "4 reviews written"
    path = tmp_path / "reviews.csv"
    result = runner.invoke(
        app,
        ["--db", db, "export", "reviews", "-f", "csv", "-o", str(path), "--queue", "q", "--redact"],
    )
    assert result.exit_code == 0, result.output
    assert f"3 reviews written to {path}" in result.stderr
    rows = list(csv.DictReader(path.open(newline="")))
    assert len(rows) == 3 and rows[0]["note"] == "customer [email] asked twice"
    result = runner.invoke(app, ["--db", db, "export", "reviews", "--history"])
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == len(events(engine))
    bad = runner.invoke(app, ["--db", db, "export", "reviews", "-f", "xlsx"])
    assert bad.exit_code == 2 and "unknown format 'xlsx'" in bad.stderr


def test_postgres_reviews(pg_engine, tmp_path):
    ids = review_some(pg_engine, tmp_path)
    got = list(iter_reviews(pg_engine, batch=2))
    assert [(r["queue_item_id"], r["reviewer"]) for r in got[:3]] == [
        (ids[0], "ana"), (ids[1], "ana"), (ids[0], "ben"),
    ]  # fmt: skip
    assert got[0]["record"]["output"] == {"role": "assistant", "content": "Answer 0."}
    assert len(list(iter_reviews(pg_engine, history=True))) == len(events(pg_engine))
