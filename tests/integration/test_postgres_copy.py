"""PostgreSQL imports go through COPY: exact duplicate counts, idempotent, from the workers too."""

from __future__ import annotations

import orjson
from sqlalchemy import text

from tests.conftest import records, run_import
from tests.unit.test_bad_input import good_line
from tests.unit.test_openai_chat import COMPLETION


def test_parallel_import_on_postgres_counts_duplicates_and_keeps_order(pg_engine, tmp_path):
    lines = [good_line(i) for i in range(1200)]
    lines[900] = good_line(3)  # again, in a later chunk
    lines[901] = good_line(902)  # twice in the same chunk
    lines[902] = good_line(902)
    lines[950] = orjson.dumps(dict(COMPLETION, id="chatcmpl-nul", model="gpt\u0000x")) + b"\n"
    lines[951] = b"{broken\n"
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"".join(lines))
    report = run_import(pg_engine, path, workers=2, parallel_min_bytes=0)
    totals = report.to_dict()["totals"]
    assert totals == {
        "lines": 1200,
        "records": 1199,
        "imported": 1197,
        "duplicates": 2,
        "rejected": 1,
        "skipped": 0,
        "without_content": 0,
    }
    stored = {r["id"]: r for r in records(pg_engine)}
    assert len(stored) == 1197
    assert stored["chatcmpl-3"]["source_line"] == 4  # the first copy is kept
    assert stored["chatcmpl-nul"]["model"] == "gpt\\x00x"
    assert orjson.loads(stored["chatcmpl-7"]["raw"]) == orjson.loads(good_line(7))
    with pg_engine.connect() as conn:
        order = conn.execute(
            text("SELECT source_line FROM records ORDER BY import_id, ctid")
        ).scalars()
        assert list(order) == sorted(r["source_line"] for r in stored.values())
    again = run_import(pg_engine, path, workers=2, parallel_min_bytes=0)
    assert (again.total("imported"), again.total("duplicates"), again.total("rejected")) == (
        0,
        1199,
        1,
    )
