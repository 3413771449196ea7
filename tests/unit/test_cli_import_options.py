"""`reviewer import --redact` and `--max-decompressed-bytes`, through the command."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from reviewer.cli import EXIT_OK, EXIT_REJECTED, EXIT_USAGE, app
from reviewer.store.db import open_engine, sqlite_url
from tests.conftest import records, rejects
from tests.unit.test_bad_input import COMPLETION

PII = "Write to ana.lopez@example.com, IBAN DE89 3704 0044 0532 0130 00"
KEY = "sk-proj-SECRETsecretSECRETsecret0001"


def workspace(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    (folder / "queues").mkdir(parents=True)
    return folder


def stored(ws: Path) -> tuple[list[dict], list[dict]]:
    engine = open_engine(sqlite_url(ws / ".reviewer" / "reviewer.db"))
    try:
        return records(engine), rejects(engine)
    finally:
        engine.dispose()


@pytest.fixture
def log(tmp_path: Path) -> Path:
    line = {
        "request": {
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": PII}],
            "api_key": KEY,
        },
        "request_headers": {"Authorization": f"Bearer {KEY}"},
        "response": dict(COMPLETION, id="chatcmpl-pii"),
    }
    path = tmp_path / "calls.jsonl"
    path.write_bytes(orjson.dumps(line) + b"\n")
    return path


def test_import_redact_masks_personal_data_in_the_record_and_the_raw_text(
    tmp_path: Path, log: Path
) -> None:
    plain, masked = workspace(tmp_path, "plain"), workspace(tmp_path, "masked")
    result = CliRunner().invoke(app, ["--workspace", str(plain), "import", str(log)])
    assert result.exit_code == EXIT_OK, result.output
    (record,), _ = stored(plain)
    assert record["messages"][0]["content"] == PII  # kept without --redact ...
    assert KEY not in record["raw"] and "[redacted]" in record["raw"]  # ... credentials never

    result = CliRunner().invoke(app, ["--workspace", str(masked), "import", str(log), "--redact"])
    assert result.exit_code == EXIT_OK, result.output
    (record,), _ = stored(masked)
    assert record["messages"][0]["content"] == "Write to [email], IBAN [iban]"
    for secret in ("ana.lopez@example.com", "DE89", KEY):
        assert secret not in record["raw"]
        assert secret.encode() not in (masked / ".reviewer" / "reviewer.db").read_bytes()


def test_import_max_decompressed_bytes_stops_a_gzip_file_at_the_limit(tmp_path: Path) -> None:
    lines = b"".join(orjson.dumps(dict(COMPLETION, id=f"chatcmpl-{n}")) + b"\n" for n in range(200))
    path = tmp_path / "log.jsonl.gz"
    path.write_bytes(gzip.compress(lines))
    ws = workspace(tmp_path, "ws")
    limit = len(lines) // 2
    result = CliRunner().invoke(
        app,
        ["--workspace", str(ws), "import", str(path), "--max-decompressed-bytes", str(limit)],
    )
    assert result.exit_code == EXIT_REJECTED, result.output
    assert f"gzip data expands past {limit:,} bytes" in result.output
    assert "--max-decompressed-bytes" in result.output  # the message names the flag
    kept, (rejected,) = stored(ws)
    assert 0 < len(kept) < 200  # what came before the limit is kept

    result = CliRunner().invoke(
        app,
        ["--workspace", str(ws), "import", str(path), "--max-decompressed-bytes", str(len(lines))],
    )
    assert result.exit_code == EXIT_OK, result.output
    assert len(stored(ws)[0]) == 200


def test_import_max_decompressed_bytes_must_be_positive(tmp_path: Path, log: Path) -> None:
    ws = workspace(tmp_path, "ws")
    result = CliRunner().invoke(
        app, ["--workspace", str(ws), "import", str(log), "--max-decompressed-bytes", "0"]
    )
    assert result.exit_code == EXIT_USAGE
    assert "--max-decompressed-bytes is a number of bytes above 0" in result.output
