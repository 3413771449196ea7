"""Inspect's binary `.eval` log (a zip archive, Zstandard-compressed by current Inspect) imports
like the JSON log, one sample at a time; failed tool calls keep their error on the tool message."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import orjson

from reviewer.datasets.items import parse_item
from reviewer.messages import to_anthropic, to_messages, to_openai
from reviewer.store.records import export_dict
from tests.conftest import REAL_LOGS, records, rejects, run_import

EVAL_ZIP = REAL_LOGS / "inspect-eval-zip" / "orders-tool-errors.eval"
RUN = "ckaEjtV26gZFD7rCCxv6Ry"
TIMEOUT = "timeout: Command timed out before completing."
ARCHIVED = "unknown: order A-1 is archived"
PARSING = (
    "parsing: Found 2 validation errors parsing tool input arguments:\n"
    "- 'order_id' is a required property\n"
    "- Additional properties are not allowed ('order' was unexpected)"
)


def test_eval_zip_imports_one_trace_per_sample(engine):
    report = run_import(engine, EVAL_ZIP)
    assert rejects(engine) == []
    assert [(f.format, f.lines, f.records, f.imported, f.rejected) for f in report.files] == [
        ("inspect", 3, 20, 20, 0)
    ]
    roots = records(engine, "kind = 'agent'")
    assert [(r["id"], r["trace_id"], r["source_line"]) for r in roots] == [
        (f"{RUN}:timeout:1", f"{RUN}:timeout:1", 1),
        (f"{RUN}:archived:1", f"{RUN}:archived:1", 2),
        (f"{RUN}:delivered:1", f"{RUN}:delivered:1", 3),
    ]
    assert [r["latency_ms"] for r in roots] == [1132.0, 142.0, 107.0]
    assert [r["timestamp"] for r in roots] == [  # the samples' started_at
        "2026-12-03T06:44:52.927690Z",
        "2026-12-03T06:44:54.089579Z",
        "2026-12-03T06:44:54.253328Z",
    ]
    assert [orjson.loads(r["outputs"]) for r in roots] == [
        "The lookup timed out; please try again later.",
        "Order A-1 is archived.",
        "Order A-1042 was delivered on 2026-09-01.",
    ]
    first = roots[0]
    assert first["metadata"]["eval_status"] == "success"
    assert first["metadata"]["target"] == "try again"
    assert first["metadata"]["scores"]["includes"]["value"] == "C"
    # the raw text is the sample's own JSON from the archive
    assert first["raw"].startswith('{"id":"timeout","epoch":1,')

    calls = records(engine, "kind = 'llm'")
    assert {(r["provider"], r["model"], r["source_format"]) for r in calls} == {
        ("mockllm", "model", "inspect")
    }
    per_trace: dict[str, list[int]] = {}
    for r in calls:
        per_trace.setdefault(r["trace_id"], []).extend([r["input_tokens"], r["output_tokens"]])
    assert {k.split(":")[1]: (sum(v[::2]), sum(v[1::2])) for k, v in per_trace.items()} == {
        "timeout": (101, 13),
        "archived": (204, 27),
        "delivered": (171, 23),
    }
    last = max(
        (r for r in calls if r["trace_id"] == f"{RUN}:timeout:1"), key=lambda r: r["timestamp"]
    )
    assert last["output"] == {
        "role": "assistant",
        "content": "The lookup timed out; please try again later.",
    }
    assert last["messages"] == [
        {"role": "system", "content": "You are the support assistant."},
        {"role": "user", "content": "Where is order A-0?"},
        {
            "role": "assistant",
            "content": "tool call for tool lookup_order",
            "tool_calls": [
                {"id": "call_1", "name": "lookup_order", "arguments": '{"order_id":"A-0"}'}
            ],
        },
        {
            "role": "tool",
            "content": TIMEOUT,
            "tool_call_id": "call_1",
            "name": "lookup_order",
            "error": TIMEOUT,
        },
    ]
    assert last["params"]["tool_choice"] == "auto"
    assert [t["name"] for t in last["params"]["tools"]] == ["lookup_order"]


def _final_calls(engine) -> list[dict]:
    """Each sample's last LLM call (its input is the whole conversation), in sample order."""
    calls = records(engine, "kind = 'llm'")
    out = []
    for sample in ("timeout", "archived", "delivered"):
        mine = [r for r in calls if r["trace_id"] == f"{RUN}:{sample}:1"]
        out.append(max(mine, key=lambda r: r["timestamp"]))
    return out


def test_tool_errors_kept_on_the_message_and_the_tool_step(engine):
    run_import(engine, EVAL_ZIP)
    rows = _final_calls(engine)
    tools = [[m for m in r["messages"] if m["role"] == "tool"] for r in rows]
    assert [[m.get("error") for m in t] for t in tools] == [[TIMEOUT], [ARCHIVED, PARSING], [None]]
    assert tools[2][0]["content"] == "{'status': 'delivered', 'date': '2026-09-01'}"
    steps = records(engine, "kind = 'tool'")
    assert sorted(r["error"] or "" for r in steps) == sorted(["", TIMEOUT, ARCHIVED, PARSING])
    # the canonical export carries the error on the message
    with engine.connect() as conn:
        from sqlalchemy import text

        row = conn.execute(text("SELECT * FROM records WHERE id = :i"), {"i": rows[1]["id"]})
        exported = export_dict(dict(row.mappings().one()))
    assert [m.get("error") for m in exported["messages"] if m["role"] == "tool"] == [
        ARCHIVED,
        PARSING,
    ]


def test_tool_error_survives_request_shapes_and_dataset_items(engine):
    run_import(engine, EVAL_ZIP)
    messages = _final_calls(engine)[0]["messages"]
    assert to_openai(messages)[-1] == {"role": "tool", "content": TIMEOUT, "tool_call_id": "call_1"}
    _system, turns = to_anthropic(messages)
    assert turns[-1]["content"] == [
        {"type": "tool_result", "tool_use_id": "call_1", "content": TIMEOUT, "is_error": True}
    ]
    item = parse_item({"messages": messages})
    assert item.content["messages"][-1]["error"] == TIMEOUT


def test_anthropic_tool_result_is_error_is_kept():
    msgs = to_messages(
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_1",
                    "content": "no such file",
                    "is_error": True,
                },
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": "ok"},
            ],
        }
    )
    assert msgs == [
        {
            "role": "tool",
            "content": "no such file",
            "tool_call_id": "toolu_1",
            "error": "no such file",
        },
        {"role": "tool", "content": "ok", "tool_call_id": "toolu_2"},
    ]


def test_eval_zip_found_in_a_folder_and_imported_twice_adds_nothing(engine, tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    shutil.copy(EVAL_ZIP, folder / "run.eval")
    first = run_import(engine, folder)
    again = run_import(engine, folder)
    assert (first.total("imported"), again.total("imported"), again.total("duplicates")) == (
        20,
        0,
        20,
    )


def _rezip(src: Path, dst: Path, *, drop: str = "", damage: str = "") -> Path:
    """A copy of the archive (deflate), without one member or with one member's JSON cut."""
    import zstandard

    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename == drop:
                continue
            with open(src, "rb") as fh:
                fh.seek(info.header_offset + 26)
                n, m = int.from_bytes(fh.read(2), "little"), int.from_bytes(fh.read(2), "little")
                fh.seek(info.header_offset + 30 + n + m)
                data = (
                    zstandard.ZstdDecompressor()
                    .decompressobj()
                    .decompress(fh.read(info.compress_size))
                )
            if info.filename == damage:
                data = data[: len(data) // 2]
            zout.writestr(info.filename, data)
    return dst


def test_deflated_archive_and_a_damaged_sample(engine, tmp_path):
    path = _rezip(EVAL_ZIP, tmp_path / "damaged.eval", damage="samples/archived_epoch_1.json")
    report = run_import(engine, path)
    assert (report.total("lines"), report.total("imported"), report.total("rejected")) == (3, 12, 1)
    [bad] = rejects(engine)
    assert bad["line"] == 2
    assert bad["reason"].startswith("samples/archived_epoch_1.json: malformed JSON")
    assert [r["id"] for r in records(engine, "kind = 'agent'")] == [
        f"{RUN}:timeout:1",
        f"{RUN}:delivered:1",
    ]


def test_archive_without_header_uses_the_journal_start(engine, tmp_path):
    path = _rezip(EVAL_ZIP, tmp_path / "running.eval", drop="header.json")
    report = run_import(engine, path)
    assert report.total("imported") == 20
    assert {r["metadata"]["eval_status"] for r in records(engine, "kind = 'agent'")} == {"started"}


def test_zip_that_is_not_an_eval_log_and_a_cut_archive_are_rejected(engine, tmp_path):
    other = tmp_path / "other.eval"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("readme.txt", "hello")
    cut = tmp_path / "cut.eval"
    cut.write_bytes(EVAL_ZIP.read_bytes()[:4000])
    report = run_import(engine, other, cut)
    assert (report.total("lines"), report.total("rejected")) == (2, 2)
    reasons = {Path(r["path"]).name: r["reason"] for r in rejects(engine)}
    assert reasons["other.eval"].startswith("a zip archive that is not an Inspect .eval log")
    assert reasons["cut.eval"].startswith("not a readable zip archive: ")
