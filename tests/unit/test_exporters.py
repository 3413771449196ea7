"""Dataset exports: each format checked against the rules of the tool that reads it (the
fields it requires, with their types), written as the items stream in; and the CLI end to end
from reviewed, promoted sample logs."""

from __future__ import annotations

import copy
import csv
import io
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from typer.testing import CliRunner

from reviewer.cli import app
from reviewer.datasets.exporters import (
    FORMATS,
    HF_FEATURES,
    ITEM_KEYS,
    NO_EXPECTED,
    NO_INPUT,
    NO_OUTPUT,
    SAME_OUTPUT,
    export_items,
    openai_messages,
    with_progress,
    write_csv,
    write_inspect,
    write_jsonl,
    write_openai_chat,
    write_openai_dpo,
    write_openai_evals,
    write_promptfoo,
)
from reviewer.datasets.promote import PromotingSession
from reviewer.review.queues import load_queues
from reviewer.review.sync import sync_queues
from reviewer.store.db import open_engine, sqlite_url
from tests.conftest import REPO, SAMPLE_LOGS, run_import

SYSTEM = "You are Clara, the support assistant of Cobbler & Co.\nAnswer in the customer's language."


def make_items() -> list[dict[str, Any]]:
    """Realistic canonical items: tool calls, a system prompt, assertions, null expected, the
    logged output."""
    return [
        {  # corrected after a tool round trip; the logged answer invented a policy
            "id": "support-regressions/1",
            "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": "Where is my order A-10423? Can I still return it?"},
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {
                            "id": "call_8xk2",
                            "name": "lookup_order",
                            "arguments": '{"order_id": "A-10423"}',
                        }
                    ],
                },
                {
                    "role": "tool",
                    "content": '{"status": "delivered", "date": "2026-09-01"}',
                    "tool_call_id": "call_8xk2",
                    "name": "lookup_order",
                },
            ],
            "vars": {"customer": "Emma Clarke", "locale": "en-GB"},
            "expected": "Order A-10423 was delivered on 1 September. Returns are accepted within 30 days of delivery.",
            "assertions": [
                {"type": "contains", "value": "30 days"},
                {"type": "not_contains", "value": "90 days"},
            ],
            "themes": ["invented-policy"],
            "scores": {"helpful": 2, "policy-ok": "fail"},
            "split": "train",
            "source": {"record_id": "chatcmpl-AbC123", "review_id": 41},
            "output": {
                "role": "assistant",
                "content": "Your order was delivered! You have 90 days to return it, no questions asked.",
            },
        },
        {  # failed, nothing corrected: no expected answer
            "id": "support-regressions/2",
            "messages": [{"role": "user", "content": "Kann ich Schuhe umtauschen?"}],
            "vars": {},
            "expected": None,
            "assertions": [],
            "themes": ["wrong-language"],
            "scores": {"helpful": 1},
            "split": "test",
            "source": {"record_id": "msg_01XyZ", "review_id": 44},
            "output": {"role": "assistant", "content": "Yes, exchanges are free within 30 days."},
        },
        {  # JSON extraction with a schema; imported from elsewhere (no source, no output)
            "id": "extract-order-cases/7",
            "messages": [
                {"role": "system", "content": "Extract the order as JSON."},
                {"role": "user", "content": "Hi,\nplease send 2 pairs of CB-2041 in size 42.\nThanks"},
            ],
            "vars": {"email_text": "please send 2 pairs of CB-2041 in size 42"},
            "expected": '{"order_id": null, "items": [{"sku": "CB-2041", "size": 42, "qty": 2}]}',
            "assertions": [
                {
                    "type": "json_schema",
                    "value": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array"}}},
                },
                {"type": "regex", "value": "CB-\\d{4}"},
            ],
            "themes": [],
            "scores": {},
            "split": "test",
            "source": None,
            "output": None,
        },
        {  # passed: the logged answer is the expected one
            "id": "support-regressions/3",
            "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": "Do you ship to Switzerland?"},
            ],
            "vars": {},
            "expected": "Yes, we ship to Switzerland in 4-7 business days, duties prepaid.",
            "assertions": [],
            "themes": [],
            "scores": {"helpful": 5},
            "split": "train",
            "source": {"record_id": "chatcmpl-Zz9", "review_id": 52},
            "output": {
                "role": "assistant",
                "content": "Yes, we ship to Switzerland in 4-7 business days, duties prepaid.",
            },
        },
        {  # multi-turn, tool calls logged without ids, tricky text
            "id": "support-regressions/4",
            "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": "Hello  \n\tI need size 43 \u2014 \u00fcbergr\u00f6\u00dfe? \U0001f45f"},
                {"role": "assistant", "content": "Sure, which model?"},
                {"role": "user", "content": 'The "Nordkap" boot: CB-3310'},
                {
                    "role": "assistant",
                    "content": "Let me check.",
                    "tool_calls": [
                        {"id": None, "name": "check_stock", "arguments": '{"sku": "CB-3310-BLK", "size": 43}'},
                        {"name": "check_stock", "arguments": {"sku": "CB-3310-TAN", "size": 43}},
                    ],
                },
                {"role": "tool", "content": '{"stock": 0}'},
                {"role": "tool", "content": '{"stock": 4}', "name": "check_stock"},
            ],
            "vars": {},
            "expected": "The Nordkap in TAN is in stock in 43; BLK is sold out.\nIt runs half a size large.  ",
            "assertions": [{"type": "icontains", "value": "tan"}],
            "themes": ["ignored-constraint"],
            "scores": {"helpful": 3},
            "split": "test",
            "source": {"record_id": "chatcmpl-Q4", "review_id": 60},
            "output": {"role": "assistant", "content": "", "tool_calls": [{"id": "c", "name": "x", "arguments": "{}"}]},
        },
    ]  # fmt: skip


ITEMS = make_items()
ROLES = {"system", "user", "assistant", "tool"}


def write(
    writer: Any, items: list[dict[str, Any]] | None = None, **options: Any
) -> tuple[Any, bytes]:
    out = io.BytesIO()
    report = writer(items if items is not None else make_items(), out, **options)
    return report, out.getvalue()


def lines(data: bytes) -> list[Any]:
    assert data.endswith(b"\n") or data == b""
    return [orjson.loads(line) for line in data.splitlines()]


def check_openai_messages(messages: list[dict[str, Any]], *, weights: bool = False) -> None:
    """The rules of OpenAI chat messages: roles, string contents, tool calls with ids that the
    tool results answer."""
    assert isinstance(messages, list) and messages
    call_ids: set[str] = set()
    for m in messages:
        allowed = {"role", "content", "name", "tool_calls", "tool_call_id"} | (
            {"weight"} if weights else set()
        )
        assert set(m) <= allowed, m
        assert m["role"] in ROLES
        assert isinstance(m["content"], str)
        if "weight" in m:
            assert m["role"] == "assistant" and m["weight"] in (0, 1)
        if "tool_calls" in m:
            assert m["role"] == "assistant"
            for call in m["tool_calls"]:
                assert set(call) == {"id", "type", "function"}
                assert call["type"] == "function"
                assert isinstance(call["id"], str) and call["id"]
                assert set(call["function"]) == {"name", "arguments"}
                assert isinstance(call["function"]["name"], str) and call["function"]["name"]
                assert isinstance(call["function"]["arguments"], str)
                json.loads(call["function"]["arguments"])
                call_ids.add(call["id"])
        if m["role"] == "tool":
            assert isinstance(m["tool_call_id"], str) and m["tool_call_id"] in call_ids
        else:
            assert "tool_call_id" not in m


# -- jsonl and csv -------------------------------------------------------------------------------


def test_jsonl_is_the_canonical_items_losslessly():
    report, data = write(write_jsonl)
    assert (report.written, report.total_skipped) == (5, 0)
    assert lines(data) == ITEMS  # loading the lines gives back equal dicts
    assert [list(line) for line in lines(data)] == [list(item) for item in ITEMS]  # key order kept
    assert data.count(b"\n") == 5


def test_csv_one_row_per_item_with_json_columns():
    report, data = write(write_csv)
    assert report.written == 5
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert rows[0] == list(ITEM_KEYS)
    assert len(rows) == 6
    json_keys = ("messages", "vars", "assertions", "themes", "scores", "source", "output")
    for row, item in zip(rows[1:], ITEMS, strict=True):
        cells = dict(zip(ITEM_KEYS, row, strict=True))
        assert cells["id"] == item["id"] and cells["split"] == item["split"]
        assert cells["expected"] == (item["expected"] or "")
        for key in json_keys:
            assert cells[key] == ("" if item[key] is None else orjson.dumps(item[key]).decode())
            assert (json.loads(cells[key]) if cells[key] else None) == item[key]
    # multi-line text, quotes, tabs and emoji survive the quoting
    assert json.loads(rows[5][1])[1]["content"] == ITEMS[4]["messages"][1]["content"]
    assert rows[5][3] == ITEMS[4]["expected"]


def test_csv_leaves_the_callers_stream_open():
    out = io.BytesIO()
    write_csv(make_items(), out)
    out.write(b"more")
    assert out.getvalue().endswith(b"more")


# -- OpenAI ----------------------------------------------------------------------------------------


def test_openai_chat_lines_end_in_the_expected_answer():
    report, data = write(write_openai_chat)
    assert report.written == 4 and report.skipped == Counter({NO_EXPECTED: 1})
    out = lines(data)
    written = [i for i in ITEMS if i["expected"]]
    for line, item in zip(out, written, strict=True):
        assert set(line) == {"messages"}
        check_openai_messages(line["messages"], weights=True)
        assert line["messages"][-1] == {"role": "assistant", "content": item["expected"]}
        # earlier assistant turns are logged output nobody reviewed: not trained on
        assert all(m.get("weight") == 0 for m in line["messages"][:-1] if m["role"] == "assistant")
    assert out[0]["messages"] == [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "Where is my order A-10423? Can I still return it?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_8xk2",
                    "type": "function",
                    "function": {"name": "lookup_order", "arguments": '{"order_id": "A-10423"}'},
                }
            ],
            "weight": 0,
        },
        {
            "role": "tool",
            "content": '{"status": "delivered", "date": "2026-09-01"}',
            "tool_call_id": "call_8xk2",
        },
        {"role": "assistant", "content": ITEMS[0]["expected"]},
    ]


def test_tool_calls_without_ids_get_ids_their_results_answer():
    messages = openai_messages(ITEMS[4]["messages"])
    calls = messages[4]["tool_calls"]
    assert [c["id"] for c in calls] == ["call_1", "call_2"]
    assert calls[1]["function"] == {
        "name": "check_stock",
        "arguments": '{"sku":"CB-3310-TAN","size":43}',  # an object becomes JSON text
    }
    assert [m["tool_call_id"] for m in messages[5:]] == ["call_1", "call_2"]
    assert "name" not in messages[6]  # tool messages carry no name in the OpenAI shape
    check_openai_messages(messages)


def test_openai_dpo_prefers_the_corrected_answer_over_the_logged_one():
    report, data = write(write_openai_dpo)
    assert report.written == 1
    assert report.skipped == Counter({NO_EXPECTED: 1, NO_OUTPUT: 2, SAME_OUTPUT: 1})
    (line,) = lines(data)
    assert set(line) == {"input", "preferred_output", "non_preferred_output"}
    assert set(line["input"]) == {"messages"}
    check_openai_messages(line["input"]["messages"])
    assert line["input"]["messages"][-1]["role"] == "tool"  # the input ends before the answer
    assert line["preferred_output"] == [{"role": "assistant", "content": ITEMS[0]["expected"]}]
    assert line["non_preferred_output"] == [
        {"role": "assistant", "content": ITEMS[0]["output"]["content"]}
    ]


def test_openai_evals_samples():
    report, data = write(write_openai_evals)
    assert report.written == 4 and report.skipped == Counter({NO_EXPECTED: 1})
    for line, item in zip(lines(data), [i for i in ITEMS if i["expected"]], strict=True):
        assert set(line) == {"input", "ideal"}
        check_openai_messages(line["input"])
        assert line["input"] == openai_messages(item["messages"])
        assert isinstance(line["ideal"], str) and line["ideal"] == item["expected"]


def test_items_without_input_are_skipped_by_the_chat_formats():
    empty = dict(ITEMS[0], messages=[])
    for writer in (write_openai_chat, write_openai_dpo, write_openai_evals, write_inspect):
        report, data = write(writer, [empty])
        assert (report.written, report.skipped, data) == (0, Counter({NO_INPUT: 1}), b"")


# -- promptfoo ---------------------------------------------------------------------------------------

PROMPTFOO_TYPES = {
    "contains",
    "not-contains",
    "icontains",
    "regex",
    "is-json",
    "equals",
    "similar",
    "factuality",
}


def test_promptfoo_tests_file():
    report, data = write(write_promptfoo)
    assert report.written == 5
    tests = yaml.safe_load(data)
    assert isinstance(tests, list) and len(tests) == 5
    for test, item in zip(tests, ITEMS, strict=True):
        assert set(test) == {"description", "vars", "assert", "metadata"}
        assert isinstance(test["description"], str) and test["description"].startswith(item["id"])
        assert isinstance(test["vars"], dict) and isinstance(test["assert"], list)
        for key, value in test["vars"].items():
            assert isinstance(key, str) and isinstance(value, str)
        # the conversation, as OpenAI chat messages in JSON text (a prompt `{{ messages }}`)
        assert json.loads(test["vars"]["messages"]) == openai_messages(item["messages"])
        assert (
            test["vars"]["question"]
            == [m for m in item["messages"] if m["role"] == "user"][-1]["content"]
        )
        for name, value in item["vars"].items():
            assert test["vars"][name] == value
        for a in test["assert"]:
            assert a["type"] in PROMPTFOO_TYPES and "value" in a
        assert test["metadata"] == {
            "id": item["id"],
            "split": item["split"],
            "themes": item["themes"],
            "scores": item["scores"],
            "record_id": (item["source"] or {}).get("record_id"),
            "review_id": (item["source"] or {}).get("review_id"),
        }
    first, no_expected, extraction = tests[0], tests[1], tests[2]
    assert first["assert"] == [
        {"type": "contains", "value": "30 days"},
        {"type": "not-contains", "value": "90 days"},
        {"type": "similar", "value": ITEMS[0]["expected"], "threshold": 0.75},
    ]
    assert no_expected["assert"] == []
    assert extraction["assert"] == [
        {"type": "is-json", "value": ITEMS[2]["assertions"][0]["value"]},  # the schema
        {"type": "regex", "value": "CB-\\d{4}"},
        {"type": "equals", "value": json.loads(ITEMS[2]["expected"])},  # JSON compared as JSON
    ]
    assert tests[4]["assert"][0] == {"type": "icontains", "value": "tan"}
    assert tests[4]["assert"][1]["value"] == ITEMS[4]["expected"]  # trailing spaces kept


def test_promptfoo_expected_answer_as_chosen():
    _, data = write(write_promptfoo, expected="factuality")
    tests = yaml.safe_load(data)
    assert tests[0]["assert"][-1] == {"type": "factuality", "value": ITEMS[0]["expected"]}
    assert tests[2]["assert"][-1] == {"type": "factuality", "value": ITEMS[2]["expected"]}
    _, data = write(write_promptfoo, expected="none")
    assert [len(t["assert"]) for t in yaml.safe_load(data)] == [2, 0, 2, 0, 1]
    with pytest.raises(ValueError, match="expected is one of"):
        write(write_promptfoo, expected="rouge")


def test_promptfoo_multiline_text_reads_as_blocks_and_round_trips():
    _, data = write(write_promptfoo)
    text = data.decode()
    assert (
        "question: |-\n      Hi,\n      please send 2 pairs of CB-2041 in size 42.\n      Thanks\n"
        in text
    )
    tests = yaml.safe_load(text)
    assert tests[4]["vars"]["question"] == 'The "Nordkap" boot: CB-3310'
    assert (
        json.loads(tests[4]["vars"]["messages"])[1]["content"] == ITEMS[4]["messages"][1]["content"]
    )


def test_promptfoo_an_empty_dataset_is_an_empty_list():
    report, data = write(write_promptfoo, [])
    assert report.written == 0 and yaml.safe_load(data) == []


def test_promptfoo_item_vars_keep_their_names():
    item = dict(ITEMS[3], vars={"question": "templated", "messages": "mine"})
    _, data = write(write_promptfoo, [item])
    assert yaml.safe_load(data)[0]["vars"] == {"question": "templated", "messages": "mine"}


# -- Inspect AI -------------------------------------------------------------------------------------


def test_inspect_samples():
    report, data = write(write_inspect)
    assert report.written == 5
    samples = lines(data)
    for sample, item in zip(samples, ITEMS, strict=True):
        assert set(sample) == {"id", "input", "target", "metadata"}
        assert isinstance(sample["id"], str) and sample["id"] == item["id"]
        assert isinstance(sample["target"], str) and sample["target"] == (item["expected"] or "")
        assert isinstance(sample["metadata"], dict)
        assert sample["metadata"]["themes"] == item["themes"]
        assert sample["metadata"]["output"] == ((item["output"] or {}).get("content") or None)
        if isinstance(sample["input"], list):
            for m in sample["input"]:
                assert m["role"] in ROLES and isinstance(m["content"], str)
    assert samples[1]["input"] == "Kann ich Schuhe umtauschen?"  # one user message: plain text
    assert samples[1]["target"] == ""
    assistant, tool = samples[0]["input"][2], samples[0]["input"][3]
    assert assistant["tool_calls"] == [
        {
            "id": "call_8xk2",
            "function": "lookup_order",
            "arguments": {"order_id": "A-10423"},
            "type": "function",
        }
    ]
    assert tool == {
        "role": "tool",
        "content": '{"status": "delivered", "date": "2026-09-01"}',
        "tool_call_id": "call_8xk2",
        "function": "lookup_order",
    }
    fourth = samples[4]["input"]
    assert [c["function"] for c in fourth[4]["tool_calls"]] == ["check_stock", "check_stock"]
    assert [(m["tool_call_id"], m["function"]) for m in fourth[5:]] == [
        ("call_1", "check_stock"), ("call_2", "check_stock"),
    ]  # fmt: skip


def test_inspect_ai_reads_the_file(tmp_path):
    inspect_dataset = pytest.importorskip(
        "inspect_ai.dataset", reason="inspect_ai is not installed"
    )
    path = tmp_path / "cases.jsonl"
    export_items(make_items(), "inspect", path)
    samples = list(inspect_dataset.json_dataset(str(path)))
    assert [s.id for s in samples] == [i["id"] for i in ITEMS]
    assert samples[0].input[2].tool_calls[0].arguments == {"order_id": "A-10423"}


# -- Hugging Face ------------------------------------------------------------------------------------


def card_front_matter(path: Path) -> dict[str, Any]:
    text = path.read_text()
    assert text.startswith("---\n")
    head, body = text[4:].split("\n---\n", 1)
    assert "## Fields" in body and "`expected`" in body
    return yaml.safe_load(head)


def test_hf_folder_with_splits_and_a_dataset_card(tmp_path):
    folder = tmp_path / "hf"
    report = export_items(make_items(), "hf", folder, name="support-regressions", version=3)
    assert report.written == 5
    assert sorted(p.name for p in (folder / "data").iterdir()) == ["test.jsonl", "train.jsonl"]
    card = card_front_matter(folder / "README.md")
    assert card["configs"] == [
        {
            "config_name": "default",
            "data_files": [
                {"split": "test", "path": "data/test.jsonl"},
                {"split": "train", "path": "data/train.jsonl"},
            ],
        }
    ]
    info = card["dataset_info"]
    assert [s["name"] for s in info["splits"]] == ["test", "train"]
    assert [s["num_examples"] for s in info["splits"]] == [3, 2]
    for s in info["splits"]:
        assert s["num_bytes"] == (folder / "data" / f"{s['name']}.jsonl").stat().st_size
    names = [f["name"] for f in info["features"]]
    assert names == [
        "id",
        "messages",
        "expected",
        "output",
        "assertions",
        "vars",
        "themes",
        "scores",
        "record_id",
        "review_id",
        "tools",
    ]
    assert info["features"] == HF_FEATURES
    assert "# support-regressions (version 3)" in (folder / "README.md").read_text()

    train = lines((folder / "data" / "train.jsonl").read_bytes())
    assert [r["id"] for r in train] == ["support-regressions/1", "support-regressions/3"]
    row = train[0]
    assert list(row) == names  # every row has every feature
    assert all(
        set(m) == {"role", "content", "tool_calls", "tool_call_id", "name"} for m in row["messages"]
    )
    assert row["messages"][2]["tool_calls"][0]["function"] == {
        "name": "lookup_order",
        "arguments": '{"order_id": "A-10423"}',
    }
    assert json.loads(row["assertions"]) == ITEMS[0]["assertions"]
    assert json.loads(row["scores"]) == {"helpful": 2, "policy-ok": "fail"}
    assert json.loads(row["vars"]) == ITEMS[0]["vars"]
    assert (row["output"], row["record_id"], row["review_id"]) == (
        ITEMS[0]["output"]["content"],
        "chatcmpl-AbC123",
        41,
    )
    test_rows = lines((folder / "data" / "test.jsonl").read_bytes())
    assert (test_rows[1]["record_id"], test_rows[1]["review_id"], test_rows[1]["output"]) == (
        None,
        None,
        None,
    )


def test_hf_only_the_splits_present(tmp_path):
    items = [i for i in make_items() if i["split"] == "test"]
    export_items(items, "hf", tmp_path / "hf")
    assert [p.name for p in (tmp_path / "hf" / "data").iterdir()] == ["test.jsonl"]
    card = card_front_matter(tmp_path / "hf" / "README.md")
    assert card["configs"][0]["data_files"] == [{"split": "test", "path": "data/test.jsonl"}]
    assert card["pretty_name"] == "hf"


def test_the_datasets_library_loads_the_folder(tmp_path):
    datasets = pytest.importorskip("datasets", reason="the `datasets` library is not installed")
    folder = tmp_path / "hf"
    export_items(make_items(), "hf", folder, name="support-regressions")
    loaded = datasets.load_dataset(str(folder))
    assert sorted(loaded) == ["test", "train"]
    assert (loaded["train"].num_rows, loaded["test"].num_rows) == (2, 3)
    first = loaded["train"][0]
    assert first["id"] == "support-regressions/1"
    assert first["messages"][2]["tool_calls"][0]["function"]["name"] == "lookup_order"
    assert first["messages"][0]["tool_calls"] is None
    assert first["themes"] == ["invented-policy"] and first["review_id"] == 41
    assert loaded["test"][1]["expected"] == ITEMS[2]["expected"]
    assert loaded["test"][0]["expected"] is None
    features = loaded["train"].features
    assert features["review_id"].dtype == "int64" and features["expected"].dtype == "string"


# -- streaming and dispatch --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "hf"])
def test_every_line_format_writes_as_it_iterates(fmt):
    """Each item is written before the next one is read: nothing builds the whole list."""
    out = io.BytesIO()
    sizes: list[int] = []

    def items() -> Iterator[dict[str, Any]]:
        for i in range(30):
            sizes.append(len(out.getvalue()))
            item = copy.deepcopy(ITEMS[0])
            item["id"] = f"ds/{i}"
            yield item

    report = export_items(items(), fmt, out)
    assert report.written == 30
    assert all(later > earlier for earlier, later in zip(sizes[1:], sizes[2:], strict=False))


def test_export_items_dispatch(tmp_path):
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        export_items([], "xml", tmp_path / "x")
    with pytest.raises(ValueError, match="writes a folder"):
        export_items([], "hf", io.BytesIO())
    report = export_items(make_items(), "openai-chat", tmp_path / "chat.jsonl")
    assert report.files == [str(tmp_path / "chat.jsonl")]
    assert report.summary() == "4 items written (1 skipped: 1 no expected answer)"
    assert report.to_dict() == {
        "format": "openai-chat", "written": 4, "skipped": {NO_EXPECTED: 1}, "files": [str(tmp_path / "chat.jsonl")],
    }  # fmt: skip


def test_with_progress_counts():
    seen: list[int] = []
    assert list(with_progress(iter(range(7)), seen.append, every=3)) == list(range(7))  # type: ignore[arg-type]
    assert seen == [3, 6, 7]


# -- the command line, end to end --------------------------------------------------------------------


@pytest.fixture
def reviewed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace with the sample logs imported, the thumbs-down queue synced, and six reviews
    promoted into support-regressions: corrected (with personal data in the correction),
    passed, and failed without a correction."""
    ws = tmp_path / "ws"
    (ws / "queues").mkdir(parents=True)
    for path in (REPO / "queues").glob("*.yaml"):
        (ws / "queues" / path.name).write_text(path.read_text())
    monkeypatch.chdir(ws)
    engine = open_engine(sqlite_url(ws / ".reviewer" / "reviewer.db"))
    run_import(engine, SAMPLE_LOGS)
    queues = {q.name: q for q in load_queues(ws)[0]}
    sync_queues(engine, [queues["thumbs-down"]])
    session = PromotingSession(engine, queues["thumbs-down"], "ana")
    for i in range(6):
        view = session.next_item()
        assert view is not None
        session.set_score(view, "helpful", 1 + i % 5)
        if i % 3 == 0:
            session.set_correction(
                view,
                f"Returns are accepted within 30 days. Questions: help@cobbler.co, +49 40 1234 5678 ({i}).",
            )
            session.set_themes(view, ["invented-policy"])
            session.set_verdict(view, "fail")
        elif i % 3 == 1:
            session.set_verdict(view, "pass")
        else:
            session.set_verdict(view, "fail")
        session.promote(view)
    engine.dispose()
    return ws


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def test_cli_exports_a_dataset_in_every_format(reviewed, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    jsonl = invoke(
        "export",
        "dataset",
        "support-regressions",
        "--format",
        "jsonl",
        "-o",
        str(out / "items.jsonl"),
    )
    assert jsonl.exit_code == 0, jsonl.output
    items = lines((out / "items.jsonl").read_bytes())
    assert len(items) == 6
    assert all(list(i) == list(ITEM_KEYS) for i in items)
    assert [i["id"] for i in items] == [f"support-regressions/{n}" for n in range(1, 7)]
    with_expected = [i for i in items if i["expected"]]
    assert len(with_expected) == 4  # 2 corrected + 2 passed; the 2 plain fails have none
    assert all(i["source"]["record_id"] and i["output"]["role"] == "assistant" for i in items)
    assert any(m.get("tool_calls") for i in items for m in i["messages"])  # real tool calls
    assert "6 items written to" in jsonl.stderr and "version" in jsonl.stderr

    expected_counts = {
        "csv": "6 items written", "openai-chat": "4 items written (2 skipped: 2 no expected answer)",
        "openai-evals": "4 items written (2 skipped: 2 no expected answer)",
        "openai-dpo": "2 items written (4 skipped: 2 no expected answer, 2 the logged output is the expected answer)",
        "promptfoo": "6 items written", "inspect": "6 items written",
    }  # fmt: skip
    for fmt, summary in expected_counts.items():
        path = out / f"{fmt}.out"
        result = invoke("export", "dataset", "support-regressions", "-f", fmt, "-o", str(path))
        assert result.exit_code == 0, result.output
        assert f"{summary} to {path}" in result.stderr
    for line in lines((out / "openai-chat.out").read_bytes()):
        check_openai_messages(line["messages"], weights=True)
        assert line["messages"][-1]["role"] == "assistant"
    dpo = lines((out / "openai-dpo.out").read_bytes())
    assert all(d["preferred_output"][0]["content"].startswith("Returns are accepted") for d in dpo)
    assert len(yaml.safe_load((out / "promptfoo.out").read_text())) == 6
    assert len(list(csv.reader(io.StringIO((out / "csv.out").read_text())))) == 7
    assert [s["id"] for s in lines((out / "inspect.out").read_bytes())] == [i["id"] for i in items]

    hf = invoke("export", "dataset", "support-regressions", "-f", "hf", "-o", str(out / "hf"))
    assert hf.exit_code == 0, hf.output
    card = card_front_matter(out / "hf" / "README.md")
    counts = {s["name"]: s["num_examples"] for s in card["dataset_info"]["splits"]}
    assert sum(counts.values()) == 6
    assert counts == Counter(i["split"] for i in items)

    # standard output by default; an older version
    plain = invoke("export", "dataset", "support-regressions")
    assert plain.exit_code == 0 and lines(plain.stdout.encode()) == items
    first = invoke("export", "dataset", "support-regressions", "--version", "1")
    assert first.exit_code == 0 and len(lines(first.stdout.encode())) == 1
    assert "version 1: 1 item written" in first.stderr


def test_cli_redacts_every_format(reviewed, tmp_path):
    for fmt in ("jsonl", "csv", "openai-chat", "promptfoo", "inspect"):
        plain = invoke("export", "dataset", "support-regressions", "-f", fmt)
        redacted = invoke("export", "dataset", "support-regressions", "-f", fmt, "--redact")
        assert plain.exit_code == 0 and redacted.exit_code == 0
        assert "help@cobbler.co" in plain.stdout and "+49 40 1234 5678" in plain.stdout
        assert (
            "help@cobbler.co" not in redacted.stdout and "+49 40 1234 5678" not in redacted.stdout
        )
        assert "[email]" in redacted.stdout and "[phone]" in redacted.stdout
        assert "A-1" in redacted.stdout  # order ids stay


def test_cli_usage_errors_exit_2(reviewed, tmp_path):
    unknown = invoke("export", "dataset", "nope")
    assert unknown.exit_code == 2 and "no dataset named 'nope'" in unknown.stderr
    assert "support-regressions" in unknown.stderr
    bad_format = invoke("export", "dataset", "support-regressions", "-f", "parquet")
    assert bad_format.exit_code == 2 and "unknown format 'parquet'" in bad_format.stderr
    no_version = invoke("export", "dataset", "support-regressions", "--version", "99")
    assert no_version.exit_code == 2 and "no version 99" in no_version.stderr
    no_folder = invoke("export", "dataset", "support-regressions", "-f", "hf")
    assert no_folder.exit_code == 2 and "-o PATH" in no_folder.stderr
    assert not (tmp_path / "hf").exists()


def test_cli_promptfoo_expected_check(reviewed):
    none = invoke(
        "export",
        "dataset",
        "support-regressions",
        "-f",
        "promptfoo",
        "--promptfoo-expected",
        "none",
    )
    assert none.exit_code == 0, none.output
    assert all(t["assert"] == [] for t in yaml.safe_load(none.stdout))
    graded = invoke(
        "export",
        "dataset",
        "support-regressions",
        "-f",
        "promptfoo",
        "--promptfoo-expected",
        "factuality",
    )
    kinds = [[a["type"] for a in t["assert"]] for t in yaml.safe_load(graded.stdout)]
    assert sorted(kinds) == [[], [], ["factuality"], ["factuality"], ["factuality"], ["factuality"]]
    bad = invoke(
        "export",
        "dataset",
        "support-regressions",
        "-f",
        "promptfoo",
        "--promptfoo-expected",
        "bleu",
    )
    assert (
        bad.exit_code == 2
        and "--promptfoo-expected is one of similar, factuality, equals, none" in bad.stderr
    )
