"""Bad input never stops the import: every bad line is counted, kept with its reason, and
every good line of the same file is imported."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
from typer.testing import CliRunner

from reviewer.cli import app
from tests.conftest import records, rejects, run_import
from tests.unit.test_openai_chat import COMPLETION


def good_line(n: int) -> bytes:
    return orjson.dumps(dict(COMPLETION, id=f"chatcmpl-{n}")) + b"\n"


def good_ids(engine) -> set[str]:
    return {r["id"] for r in records(engine)}


def test_malformed_json_lines(engine, tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_bytes(
        good_line(1)
        + b'{"id": "chatcmpl-x", "object": \n'
        + good_line(2)
        + b"[1, 2,,]\n"
        + good_line(3)
    )
    report = run_import(engine, path)
    assert (report.total("imported"), report.total("rejected")) == (3, 2)
    assert good_ids(engine) == {"chatcmpl-1", "chatcmpl-2", "chatcmpl-3"}
    bad = rejects(engine)
    assert [b["line"] for b in bad] == [2, 4]
    assert all(b["reason"].startswith("malformed JSON: ") for b in bad)
    assert "at column" in bad[0]["reason"]
    assert bad[0]["raw"] == '{"id": "chatcmpl-x", "object": \n'
    assert bad[0]["path"] == str(path)


def test_wrong_encoding_line_and_utf16_file(engine, tmp_path):
    latin1 = '{"id": "chatcmpl-l", "note": "caf\u00e9"}'.encode("latin-1") + b"\n"
    path = tmp_path / "log.jsonl"
    path.write_bytes(good_line(1) + latin1 + good_line(2))
    report = run_import(engine, path)
    assert (report.total("imported"), report.total("rejected")) == (2, 1)
    (bad,) = rejects(engine)
    assert bad["line"] == 2
    assert bad["reason"] == "not valid UTF-8 (byte 0xe9 at column 34); convert the file to UTF-8"
    assert "caf\\xe9" in bad["raw"]  # kept, undecodable byte escaped
    utf16 = tmp_path / "utf16.jsonl"
    utf16.write_bytes((good_line(3) + good_line(4)).decode().encode("utf-16"))
    report = run_import(engine, utf16)
    assert (report.total("imported"), report.total("rejected")) == (2, 0)
    assert good_ids(engine) == {"chatcmpl-1", "chatcmpl-2", "chatcmpl-3", "chatcmpl-4"}


def test_truncated_gzip(engine, tmp_path):
    data = b"".join(good_line(i) for i in range(200))
    packed = gzip.compress(data)
    path = tmp_path / "log.jsonl.gz"
    path.write_bytes(packed[: len(packed) - 40])
    report = run_import(engine, path)
    assert report.total("rejected") == 1
    (bad,) = rejects(engine)
    assert bad["reason"] == "truncated gzip: the file ends before the end of the compressed stream"
    imported = report.total("imported")
    assert 150 < imported < 200  # everything that could be read
    # the lines read are exactly the complete ones at the start of the file
    assert good_ids(engine) == {f"chatcmpl-{i}" for i in range(imported)}
    # a truncated last line (cut mid-way) is rejected as malformed, not silently dropped
    assert report.total("lines") == imported + report.total("rejected") + report.total("skipped")


def test_gzip_whole_is_read(engine, tmp_path):
    path = tmp_path / "log.jsonl.gz"
    path.write_bytes(gzip.compress(good_line(1) + good_line(2)))
    report = run_import(engine, path)
    assert (report.total("imported"), report.total("rejected")) == (2, 0)


def test_record_with_nothing_worth_keeping(engine, tmp_path):
    empty = {
        "request": {"messages": []},
        "response": {"object": "chat.completion", "id": "chatcmpl-e", "choices": []},
    }
    path = tmp_path / "log.jsonl"
    path.write_bytes(good_line(1) + orjson.dumps(empty) + b"\n" + good_line(2))
    report = run_import(engine, path)
    assert (report.total("imported"), report.total("rejected")) == (2, 1)
    (bad,) = rejects(engine)
    assert (bad["line"], bad["format"]) == (2, "openai-chat")
    assert bad["reason"] == (
        "nothing to import: the record has no messages, no output, no model, no token counts, "
        "no time and no error"
    )
    assert good_ids(engine) == {"chatcmpl-1", "chatcmpl-2"}


def test_fifty_megabyte_line(engine, tmp_path):
    path = tmp_path / "log.jsonl"
    big = b'{"id": "chatcmpl-big", "pad": "' + b"x" * (50 * 1024 * 1024) + b'"}\n'
    path.write_bytes(good_line(1) + big + good_line(2))
    report = run_import(engine, path)
    assert (report.total("imported"), report.total("rejected")) == (2, 1)
    (bad,) = rejects(engine)
    assert bad["line"] == 2
    assert (
        bad["reason"]
        == f"line is {len(big):,} bytes, over the limit of {16 * 1024 * 1024:,} bytes (raise it with --max-line-bytes)"
    )
    assert bad["raw_size"] == len(big)
    assert len(bad["raw"]) == 1024 * 1024  # the start is kept, not 50 MB
    assert good_ids(engine) == {"chatcmpl-1", "chatcmpl-2"}


def test_binary_line_and_binary_file(engine, tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_bytes(good_line(1) + bytes(range(128, 256)) + b"\n" + good_line(2))
    report = run_import(engine, path)
    assert (report.total("imported"), report.total("rejected")) == (2, 1)
    assert rejects(engine)[0]["reason"].startswith("not valid UTF-8 (byte 0x80 at column 1)")
    png = tmp_path / "image.json"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    report = run_import(engine, png)
    assert (report.total("imported"), report.total("rejected")) == (0, 1)
    assert [b["reason"] for b in rejects(engine) if b["path"] == str(png)] == [
        "binary data, not a text log file (a NUL byte in the first 8 KiB)"
    ]


def test_unrecognised_objects_and_bad_csv_rows(engine, tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_bytes(good_line(1) + b'{"hello": "world"}\n' + b"42\n" + good_line(2))
    report = run_import(engine, path)
    assert (report.total("imported"), report.total("rejected")) == (2, 2)
    reasons = [b["reason"] for b in rejects(engine)]
    assert reasons == [
        "unrecognised log format (keys: hello); use --format NAME or --mapping FILE.yaml",
        "unrecognised log format: a JSON int, not an object",
    ]


def test_truncated_json_array(engine, tmp_path):
    path = tmp_path / "export.json"
    body = (
        b"[" + good_line(1).strip() + b"," + good_line(2).strip() + b', {"id": "chatcmpl-3", "obj'
    )
    path.write_bytes(body)
    report = run_import(engine, path)
    assert (report.total("imported"), report.total("rejected")) == (2, 1)
    (bad,) = rejects(engine)
    assert bad["line"] == 3 and bad["reason"].startswith("malformed JSON array after element 2")


def test_counts_add_up_and_reimport_adds_nothing(engine, tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_bytes(good_line(1) + b"oops\n\n" + good_line(1) + good_line(2))
    report = run_import(engine, path)
    t = {
        k: report.total(k)
        for k in ("lines", "records", "imported", "duplicates", "rejected", "skipped")
    }
    assert t == {
        "lines": 4,
        "records": 3,
        "imported": 2,
        "duplicates": 1,
        "rejected": 1,
        "skipped": 0,
    }
    again = run_import(engine, path)
    assert (again.total("imported"), again.total("duplicates"), again.total("rejected")) == (
        0,
        3,
        1,
    )
    assert len(rejects(engine)) == 1  # the same bad line is kept once


def test_exit_codes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "queues").mkdir()
    good = tmp_path / "good.jsonl"
    good.write_bytes(good_line(1))
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(good_line(2) + b"nope\n")
    runner = CliRunner()
    ok = runner.invoke(app, ["import", str(good), "--json"])
    assert ok.exit_code == 0, ok.output
    assert orjson.loads(ok.stdout)["totals"]["imported"] == 1
    rejected = runner.invoke(app, ["import", str(bad)])
    assert rejected.exit_code == 1
    assert (
        f"rejected {bad.name}:2: not JSON: the line does not start with {{ or [" in rejected.stdout
    )
    missing = runner.invoke(app, ["import", str(tmp_path / "missing.jsonl")])
    assert missing.exit_code == 2
    assert "no such file or folder" in missing.stderr
    unknown = runner.invoke(app, ["import", str(good), "--format", "nope"])
    assert unknown.exit_code == 2 and "unknown format 'nope'" in unknown.stderr
    listed = runner.invoke(app, ["rejects"])
    assert (
        listed.exit_code == 0
        and listed.stdout.strip() == "bad.jsonl:2: not JSON: the line does not start with { or ["
    )
    assert Path(tmp_path / ".reviewer" / "reviewer.db").exists()


def test_stdin_import(tmp_path, monkeypatch):
    (tmp_path / "queues").mkdir()
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(
        app, ["import", "-", "--json"], input=(good_line(7) + good_line(8)).decode()
    )
    assert result.exit_code == 0, result.output
    report = orjson.loads(result.stdout)
    assert report["files"][0]["path"] == "<stdin>" and report["totals"]["imported"] == 2


def test_outside_a_workspace_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["queues", "list"])
    assert result.exit_code == 2
    assert "is not inside a workspace (a folder with queues/ or prompts/)" in result.stderr
    assert not (tmp_path / ".reviewer").exists()
