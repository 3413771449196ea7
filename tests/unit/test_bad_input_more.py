"""Bad input found by an attack on the import: each case loses only what is bad."""

from __future__ import annotations

import gzip
import subprocess
import sys
import zlib

import orjson

from reviewer.ingest.pipeline import Importer
from tests.conftest import records, rejects, run_import
from tests.unit.test_bad_input import good_ids, good_line


def test_a_nul_byte_rejects_its_line_only(engine, tmp_path):
    lines = [good_line(i) for i in range(30)]
    lines[3] = b'{"id": "chatcmpl-nul", "object": "chat.completion", "x": "a\x00b"}\n'
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"".join(lines))
    report = run_import(engine, path)
    assert (report.total("imported"), report.total("rejected")) == (29, 1)
    (bad,) = rejects(engine)
    assert bad["line"] == 4
    assert bad["reason"] == "a NUL byte at column 60: binary data, not a line of text"
    assert len(good_ids(engine)) == 29


def test_a_nul_byte_in_a_json_lines_file_named_json(engine, tmp_path):
    path = tmp_path / "log.json"
    path.write_bytes(good_line(1) + b"\x00\x00\x00\n" + good_line(2))
    report = run_import(engine, path)
    assert (report.total("imported"), report.total("rejected")) == (2, 1)


def test_a_binary_file_is_still_one_rejection(engine, tmp_path):
    png = tmp_path / "image.jsonl"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 400)
    report = run_import(engine, png)
    assert (report.total("imported"), report.total("rejected")) == (0, 1)
    assert rejects(engine)[0]["reason"] == (
        "binary data, not a text log file (a NUL byte in the first 8 KiB)"
    )


BOM = b"\xef\xbb\xbf"


def test_a_utf8_bom_does_not_break_line_one(engine, tmp_path):
    jsonl = tmp_path / "log.jsonl"
    jsonl.write_bytes(BOM + good_line(1) + good_line(2))
    array = tmp_path / "array.json"
    array.write_bytes(BOM + b"[" + good_line(3).strip() + b"," + good_line(4).strip() + b"]")
    document = tmp_path / "one.json"
    document.write_bytes(BOM + good_line(5))
    gz = tmp_path / "log.jsonl.gz"
    gz.write_bytes(gzip.compress(BOM + good_line(6)))
    report = run_import(engine, jsonl, array, document, gz)
    assert (report.total("imported"), report.total("rejected")) == (6, 0)
    assert good_ids(engine) == {f"chatcmpl-{i}" for i in range(1, 7)}
    first = next(r for r in records(engine) if r["id"] == "chatcmpl-1")
    assert first["raw"] == good_line(1).decode().strip()  # the BOM is not part of the record


def test_a_utf8_bom_on_stdin(tmp_path):
    ws = tmp_path / "ws"
    (ws / "queues").mkdir(parents=True)
    (ws / "prompts").mkdir()
    out = subprocess.run(
        [sys.executable, "-m", "reviewer.cli", "--workspace", str(ws), "import", "-", "--json"],
        input=BOM + good_line(1) + good_line(2),
        capture_output=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert orjson.loads(out.stdout)["totals"]["imported"] == 2


def bomb(path, expanded: int) -> None:
    """A gzip file of `expanded` newlines: a few hundred KB that expands a thousandfold."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\n" * (1 << 20)
    with open(path, "wb") as f:
        for _ in range(expanded >> 20):
            f.write(z.compress(block))
        f.write(z.flush())


def test_a_gzip_bomb_stops_at_the_limit(engine, tmp_path):
    path = tmp_path / "bomb.jsonl.gz"
    bomb(path, 256 << 20)  # 256 MiB of blank lines in about 250 KB
    compressed = path.stat().st_size
    assert compressed < 300_000
    report = run_import(engine, path)
    assert report.total("rejected") == 1
    (bad,) = rejects(engine)
    assert bad["reason"] == (
        f"gzip data expands past {64 << 20:,} bytes, the limit for a file of {compressed:,} "
        "bytes (100 times its size, at least 64 MiB): a decompression bomb? The rest of the "
        "file is not read; raise the limit with --max-decompressed-bytes"
    )


def test_the_decompression_limit_is_configurable(engine, tmp_path):
    lines = b"".join(good_line(i) for i in range(200))
    path = tmp_path / "log.jsonl.gz"
    path.write_bytes(gzip.compress(lines))
    report = Importer(engine, max_decompressed_bytes=len(lines) // 2).run([str(path)])
    assert report.total("rejected") == 1
    assert 0 < report.total("imported") < 200  # what came before the limit is kept
    assert rejects(engine)[0]["reason"].startswith(f"gzip data expands past {len(lines) // 2:,}")
    again = Importer(engine, max_decompressed_bytes=len(lines)).run([str(path)])
    assert again.total("rejected") == 0
    assert len(good_ids(engine)) == 200


def test_blank_lines_cost_nothing(engine, tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_bytes(good_line(1) + b"\n" * 100_000 + b"  \r\n" + good_line(2))
    report = run_import(engine, path)
    assert (report.total("lines"), report.total("imported")) == (2, 2)
    second = next(r for r in records(engine) if r["id"] == "chatcmpl-2")
    assert second["source_line"] == 100_003
