"""`reviewer queues sync` reports a bad queue file and a queue whose sync failed, with its file
and the error, syncs the others, and exits 1."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from reviewer.cli import EXIT_OK, EXIT_REJECTED, app
from reviewer.store.db import open_engine, sqlite_url
from tests.conftest import SAMPLE_LOGS

GOOD_A = "name: a-first\nfilter:\n  feedback: negative\n"
GOOD_C = "name: c-last\nfilter:\n  feedback: positive\n"


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    (folder / "queues").mkdir(parents=True)
    (folder / "queues" / "a.yaml").write_text(GOOD_A)
    (folder / "queues" / "c.yaml").write_text(GOOD_C)
    result = CliRunner().invoke(
        app, ["--workspace", str(folder), "import", str(SAMPLE_LOGS / "support-chat.openai.jsonl")]
    )
    assert result.exit_code == EXIT_OK, result.output
    return folder


def sync(ws: Path, *extra: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--workspace", str(ws), "queues", "sync", *extra])
    return result.exit_code, result.stdout, result.stderr


def test_a_bad_queue_file_between_two_good_ones(ws: Path) -> None:
    (ws / "queues" / "b.yaml").write_text(
        'name: b-bad\nfilter:\n  where: "latency_ms > 99999999999999999999"\n'
    )
    code, out, err = sync(ws)
    assert code == EXIT_REJECTED
    assert f"reviewer: {ws / 'queues' / 'b.yaml'}: filter.where:" in err
    assert "Traceback" not in out + err
    names = [line.split()[0] for line in out.splitlines()[1:]]
    assert names == ["a-first", "c-last"]
    code, out, _err = sync(ws, "--json")
    doc = orjson.loads(out)
    assert code == EXIT_REJECTED
    assert set(doc["queues"]) == {"a-first", "c-last"}
    assert len(doc["errors"]) == 1 and "b.yaml: filter.where:" in doc["errors"][0]


def test_a_queue_whose_sync_fails_between_two_good_ones(ws: Path) -> None:
    (ws / "queues" / "b.yaml").write_text("name: b-broken\nfilter:\n  model: gpt-4o\n")
    engine = open_engine(sqlite_url(ws / ".reviewer" / "reviewer.db"))
    with engine.begin() as conn:  # the database refuses this queue's items
        conn.execute(
            text(
                "CREATE TRIGGER no_b BEFORE INSERT ON queue_items WHEN NEW.queue = 'b-broken' "
                "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
            )
        )
    engine.dispose()
    code, out, err = sync(ws)
    assert code == EXIT_REJECTED
    assert (
        f"reviewer: queue b-broken: {ws / 'queues' / 'b.yaml'}: the sync failed "
        "(IntegrityError: (sqlite3.IntegrityError) disk I/O error)"
    ) in err
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[1:]}
    assert rows["b-broken"] == ["-", "-", "-"]
    assert int(rows["a-first"][0]) > 0 and int(rows["c-last"][0]) > 0  # the others synced

    code, out, _err = sync(ws, "--json")
    assert code == EXIT_REJECTED
    doc = orjson.loads(out)
    assert "the sync failed" in doc["queues"]["b-broken"]["error"]
    assert "error" not in doc["queues"]["a-first"] and "error" not in doc["queues"]["c-last"]
    assert doc["errors"] == []
