"""Queue files written to break the sync get clear messages; one bad queue never stops the
others."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from reviewer.review.queues import QueueFileError, load_queues, parse_queue
from reviewer.review.sync import sync_queues
from reviewer.review.where import WhereError, parse_where
from tests.conftest import SAMPLE_LOGS, run_import

DEEP_PARENS = "(" * 400 + "latency_ms > 5" + ")" * 400
DEEP_NOT = "not " * 5000 + "latency_ms > 5"
LONG_OR = " or ".join(f"model = 'm{i}'" for i in range(500))
LONG_IN = "model in (" + ", ".join(f"'m{i}'" for i in range(300)) + ")"


@pytest.mark.parametrize(
    ("where", "message"),
    [
        (
            DEEP_PARENS,
            "at column 65: nested too deeply: at most 64 levels of parentheses and 'not'",
        ),
        (DEEP_NOT, "at column 257: nested too deeply: at most 64 levels of parentheses and 'not'"),
        (LONG_OR, "too many conditions: at most 256 in one expression"),
        (LONG_IN, "too many conditions: at most 256 in one expression"),
        (
            "latency_ms > 99999999999999999999",
            "at column 14: 99999999999999999999 is out of range: whole numbers go from "
            "-9223372036854775808 to 9223372036854775807",
        ),
        ("latency_ms > -99999999999999999999", "is out of range"),
        ("latency_ms > 1e999", "at column 14: 1e999 is out of range for a number"),
    ],
)
def test_where_expressions_that_break_parsers_get_a_message(where, message):
    with pytest.raises(WhereError) as info:
        parse_where(where)
    assert message in str(info.value)


def test_a_sane_expression_with_nesting_and_a_list_still_parses():
    parse_where("(" * 20 + "not latency_ms > 5" + ")" * 20 + " and model in ('a', 'b', 'c')")
    parse_where(" or ".join(f"model = 'm{i}'" for i in range(200)))


@pytest.mark.parametrize(
    ("filter_", "key"),
    [
        ({"min_input_tokens": 99999999999999999999}, "filter.min_input_tokens"),
        ({"max_output_tokens": -99999999999999999999}, "filter.max_output_tokens"),
        ({"min_latency_ms": float("inf")}, "filter.min_latency_ms"),
        ({"metadata": {"shard": 99999999999999999999}}, "filter.metadata"),
        ({"where": "latency_ms > 99999999999999999999"}, "filter.where"),
    ],
)
def test_numbers_beyond_the_database_name_the_key(filter_, key):
    with pytest.raises(QueueFileError) as info:
        parse_queue({"name": "q", "filter": filter_}, "queues/q.yaml")
    assert str(info.value).startswith(f"queues/q.yaml: {key}: ")


def test_a_queue_that_fails_to_sync_does_not_stop_the_others(engine, tmp_path: Path):
    run_import(engine, SAMPLE_LOGS)
    good_before = parse_queue(
        {"name": "a-first", "filter": {"feedback": "negative"}}, "queues/a.yaml"
    )
    failing = parse_queue({"name": "b-broken", "filter": {"model": "gpt-4o"}}, "queues/b.yaml")
    good_after = parse_queue(
        {"name": "c-last", "filter": {"feedback": "positive"}}, "queues/c.yaml"
    )
    with engine.begin() as conn:  # a queue the database refuses: its items cannot be written
        conn.execute(
            text(
                "CREATE TRIGGER no_b BEFORE INSERT ON queue_items WHEN NEW.queue = 'b-broken' "
                "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
            )
        )
    results = sync_queues(engine, [good_before, failing, good_after])
    assert results["a-first"].error is None and results["a-first"].added > 0
    assert results["c-last"].error is None and results["c-last"].added > 0
    assert results["b-broken"].error == (
        "queues/b.yaml: the sync failed (IntegrityError: (sqlite3.IntegrityError) disk I/O error)"
    )
    with engine.connect() as conn:
        counts = dict(
            conn.execute(text("SELECT queue, count(*) FROM queue_items GROUP BY queue")).all()
        )
    assert set(counts) == {"a-first", "c-last"}


def test_a_bad_queue_file_is_reported_and_the_rest_load(tmp_path: Path):
    queues = tmp_path / "queues"
    queues.mkdir()
    (queues / "bad.yaml").write_text(
        "name: bad\nfilter:\n  where: latency_ms > 99999999999999999999\n"
    )
    (queues / "good.yaml").write_text("name: good\nfilter:\n  feedback: negative\n")
    loaded, errors = load_queues(tmp_path)
    assert [q.name for q in loaded] == ["good"]
    assert len(errors) == 1 and "bad.yaml: filter.where: at column 14:" in errors[0]
