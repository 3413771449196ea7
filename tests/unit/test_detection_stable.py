"""A line's format does not depend on the lines around it nor on how the file is split among
parsing workers: the same file always gives the same records."""

from __future__ import annotations

import io

import orjson
import pytest

from reviewer.store.db import open_engine, sqlite_url
from reviewer.store.records import write_records
from tests.conftest import run_import

SYSTEM = "You are Clara, the support assistant."


def openai_line(i: int) -> bytes:
    return (
        orjson.dumps(
            {
                "timestamp": f"2026-11-02T10:{i // 60 % 60:02d}:{i % 60:02d}Z",
                "request": {
                    "model": "gpt-4o-mini",
                    "messages": [
                        {"role": "system", "content": SYSTEM},
                        {"role": "user", "content": f"Where is order A-{i}?"},
                    ],
                },
                "response": {
                    "id": f"chatcmpl-{i}",
                    "object": "chat.completion",
                    "model": "gpt-4o-mini",
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": f"Order A-{i} shipped."},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 20, "completion_tokens": 5},
                },
            }
        )
        + b"\n"
    )


def failed_anthropic_line(i: int) -> bytes:
    """A failed Anthropic call as an application logs it: the request, no response, the error."""
    return (
        orjson.dumps(
            {
                "timestamp": f"2026-11-02T11:{i // 60 % 60:02d}:{i % 60:02d}Z",
                "provider": "anthropic",
                "request": {
                    "model": "claude-haiku-4-5",
                    "max_tokens": 1024,
                    "system": SYSTEM,
                    "messages": [{"role": "user", "content": f"Can I return order A-{i}?"}],
                },
                "response": None,
                "error": {"type": "overloaded_error", "message": "Overloaded"},
            }
        )
        + b"\n"
    )


def export_of(engine) -> bytes:
    """The records as `reviewer export records` writes them, and their stored raw text."""
    out = io.BytesIO()
    write_records(engine, out)
    with engine.connect() as conn:
        raws = conn.exec_driver_sql("SELECT id, raw FROM records ORDER BY id").all()
    return out.getvalue() + orjson.dumps([list(r) for r in raws])


def test_a_failed_anthropic_call_is_anthropic_whatever_comes_before_it(engine, tmp_path):
    alone = tmp_path / "alone.jsonl"
    alone.write_bytes(failed_anthropic_line(1))
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_bytes(openai_line(1) + failed_anthropic_line(2) + openai_line(3))
    report = run_import(engine, alone, mixed, workers=0)
    formats = {(f.path.rsplit("/", 1)[-1], f.format): f.lines for f in report.files}
    assert formats == {
        ("alone.jsonl", "anthropic"): 1,
        ("mixed.jsonl", "openai-chat"): 2,
        ("mixed.jsonl", "anthropic"): 1,
    }
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT source_format, provider, params FROM records WHERE provider = 'anthropic'"
        ).all()
    assert len(rows) == 2
    assert {r.source_format for r in rows} == {"anthropic"}
    assert all("system" not in orjson.loads(r.params or "{}") for r in rows)


@pytest.mark.parametrize(("workers", "chunk"), [(0, None), (1, 7), (2, 50), (2, 500), (3, 13)])
def test_the_same_file_gives_the_same_records_however_it_is_split(
    tmp_path, monkeypatch, workers, chunk
):
    lines = []
    for i in range(1500):
        lines.append(failed_anthropic_line(i) if i % 7 in (2, 5) else openai_line(i))
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"".join(lines))

    reference = tmp_path / "reference"
    ref_engine = open_engine(sqlite_url(reference / "r.db"))
    run_import(ref_engine, path, workers=0)
    expected = export_of(ref_engine)
    ref_engine.dispose()

    if chunk is not None:
        monkeypatch.setattr("reviewer.ingest.pipeline.PARALLEL_CHUNK", chunk)
    engine = open_engine(sqlite_url(tmp_path / "split" / "r.db"))
    report = run_import(engine, path, workers=workers, parallel_min_bytes=0)
    assert report.total("imported") == 1500
    assert export_of(engine) == expected
    anthropic = sum(1 for i in range(1500) if i % 7 in (2, 5))
    assert sum(f.lines for f in report.files if f.format == "anthropic") == anthropic
    engine.dispose()
