"""Parsing workers write the records of their chunks themselves, in the file's order."""

from __future__ import annotations

import threading

import orjson
import pytest
from sqlalchemy import text

from reviewer.ingest.parallel import _start_method
from tests.conftest import records, run_import
from tests.unit.test_bad_input import good_line


def _big_file(tmp_path, n: int = 1600):
    lines = [good_line(i) for i in range(n)]
    lines[1300] = good_line(5)  # the same call again, three chunks later
    lines[1301] = good_line(1302)  # and in the same chunk twice
    lines[1302] = good_line(1302)
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"".join(lines))
    return path


def test_workers_count_duplicates_across_and_within_chunks(engine, tmp_path):
    path = _big_file(tmp_path)
    report = run_import(engine, path, workers=2, parallel_min_bytes=0)
    assert (report.total("lines"), report.total("imported"), report.total("duplicates")) == (
        1600,
        1598,
        2,
    )
    (only,) = [f for f in report.files]
    assert (only.format, only.records, only.imported, only.duplicates) == (
        "openai-chat",
        1600,
        1598,
        2,
    )
    first = {r["id"]: r for r in records(engine)}
    assert first["chatcmpl-5"]["source_line"] == 6  # the first copy is the one kept
    assert first["chatcmpl-1302"]["source_line"] == 1302
    assert orjson.loads(first["chatcmpl-999"]["raw"]) == orjson.loads(good_line(999))
    with engine.connect() as conn:
        lines = conn.execute(text("SELECT source_line FROM records ORDER BY rowid")).scalars().all()
    assert lines == sorted(lines)  # chunks are committed in the file's order
    again = run_import(engine, path, workers=2, parallel_min_bytes=0)
    assert (again.total("imported"), again.total("duplicates")) == (0, 1600)


def test_a_failing_write_in_a_worker_stops_the_import_without_hanging(engine, tmp_path):
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TRIGGER refuse BEFORE INSERT ON records WHEN NEW.id = 'chatcmpl-700'"
                " BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END"
            )
        )
    with pytest.raises(Exception, match="refused by a trigger"):
        run_import(engine, _big_file(tmp_path), workers=2, parallel_min_bytes=0)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT COUNT(*) FROM records")).scalar_one()
    assert stored == 500  # the chunk before the failing one; none after it


def test_workers_are_forked_only_from_a_single_thread():
    assert _start_method() == "fork"
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert _start_method() in ("forkserver", "spawn")
    finally:
        stop.set()
        other.join()
