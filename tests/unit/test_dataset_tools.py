"""Tool definitions on dataset items: one converter reads every logged shape into OpenAI's; a
promoted call copies its tools; `datasets import` reads them; every export format writes them
where it has a place; a trace's review promotes the conversation up to its marked step with the
tools offered there; the reviews export carries the trace, the marked step and step notes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import orjson
import yaml
from sqlalchemy import Engine, select, text

from reviewer.datasets.exporters import (
    write_csv,
    write_hf,
    write_inspect,
    write_jsonl,
    write_openai_chat,
    write_openai_dpo,
    write_openai_evals,
    write_promptfoo,
)
from reviewer.datasets.items import content_hash, parse_item
from reviewer.datasets.promote import DATASET_ITEMS, PromotingSession
from reviewer.datasets.store import bulk_promote, dataset_items, import_items, version_info
from reviewer.messages import record_tools, to_openai_tools
from reviewer.review.export_reviews import iter_reviews
from tests.conftest import REAL_LOGS, records, run_import
from tests.unit.test_traces import members, queue, step, store

LOOKUP_SCHEMA = {
    "type": "object",
    "properties": {"order_id": {"type": "string"}},
    "required": ["order_id"],
}
LOOKUP = {
    "type": "function",
    "function": {
        "name": "lookup_order",
        "description": "Look up an order by its id",
        "parameters": LOOKUP_SCHEMA,
    },
}
REFUND = {
    "type": "function",
    "function": {
        "name": "refund",
        "description": "Refund an order",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}},
        "strict": True,
    },
}


# -- the converter ------------------------------------------------------------------------------


def test_every_logged_shape_becomes_openais() -> None:
    want = [LOOKUP]
    flat = {"name": "lookup_order", "description": "Look up an order by its id"}
    shapes: dict[str, Any] = {
        "openai": [LOOKUP],
        "anthropic": [{**flat, "input_schema": LOOKUP_SCHEMA}],
        "responses api": [{"type": "function", **flat, "parameters": LOOKUP_SCHEMA}],
        "vercel ai sdk v5, as JSON text": [
            orjson.dumps({"type": "function", **flat, "inputSchema": LOOKUP_SCHEMA}).decode()
        ],
        "vercel ai sdk tools object": {
            "lookup_order": {"description": flat["description"], "parameters": LOOKUP_SCHEMA}
        },
        "legacy functions / langchain / inspect": [{**flat, "parameters": LOOKUP_SCHEMA}],
        "gemini": [{"functionDeclarations": [{**flat, "parametersJsonSchema": LOOKUP_SCHEMA}]}],
        "bedrock converse": [{"toolSpec": {**flat, "inputSchema": {"json": LOOKUP_SCHEMA}}}],
        "openinference": [{"tool": {"json_schema": orjson.dumps(LOOKUP).decode()}}],
    }
    for name, shape in shapes.items():
        assert to_openai_tools(shape) == want, name
    # a provider's built-in tool stays as logged; what is not a tool is left out
    search = {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}
    assert to_openai_tools([search, None, 3, {}, "refund"]) == [
        search,
        {"type": "function", "function": {"name": "refund"}},
    ]
    gemini = [{"functionDeclarations": [{"name": "f"}], "googleSearch": {}}]
    assert to_openai_tools(gemini) == [
        {"type": "function", "function": {"name": "f"}},
        {"googleSearch": {}},
    ]
    for odd in (None, 5, {}, [], "", "not json"):
        assert to_openai_tools(odd) == [], odd
    # where a call's params keep them
    assert record_tools({"functions": [{**flat, "parameters": LOOKUP_SCHEMA}]}) == want
    assert record_tools(
        {"toolConfig": {"tools": shapes["bedrock converse"], "toolChoice": {}}}
    ) == (want)
    assert record_tools({"tools": [LOOKUP], "functions": [REFUND["function"]]}) == [LOOKUP, REFUND]
    assert record_tools(None) == [] and record_tools({"temperature": 0}) == []


def test_a_real_vercel_ai_sdk_trace_gives_its_tool_in_openais_shape(engine: Engine) -> None:
    run_import(engine, REAL_LOGS / "langfuse-trace-download" / "vercel-aisdk-2025-11-17.trace.json")
    found = [record_tools(r["params"]) for r in records(engine) if (r["params"] or {}).get("tools")]
    assert found and all(tools == found[0] for tools in found)
    assert found[0] == [
        {
            "type": "function",
            "function": {
                "name": "getWeather",
                "description": "Get the weather in a location",
                "parameters": {
                    "$schema": "http://json-schema.org/draft-07/schema#",
                    "type": "object",
                    "properties": {
                        "location": {
                            "description": "The location to get the weather for",
                            "type": "string",
                        }
                    },
                    "required": ["location"],
                    "additionalProperties": False,
                },
            },
        }
    ]


# -- items: import and hashing ------------------------------------------------------------------

ITEM = {
    "id": "support/1",
    "messages": [{"role": "user", "content": "Where is A-1?"}],
    "expected": "It shipped on Monday.",
}


def test_an_item_without_tools_hashes_as_before_and_tools_change_the_hash() -> None:
    plain = parse_item(ITEM).content
    assert plain["tools"] == []
    before = {k: v for k, v in plain.items() if k != "tools"}  # an item of before tools
    assert content_hash(plain) == content_hash(before)
    with_tools = parse_item({**ITEM, "tools": [LOOKUP]}).content
    assert with_tools["tools"] == [LOOKUP]
    assert content_hash(with_tools) != content_hash(plain)


def test_bad_tools_are_rejected_with_the_field() -> None:
    import pytest

    from reviewer.datasets.items import ItemError

    with pytest.raises(ItemError, match="tools: a list of tool definitions, not an object"):
        parse_item({**ITEM, "tools": {"type": "function"}})
    with pytest.raises(ItemError, match=r"tools\[1\]: a tool definition .* not a number"):
        parse_item({**ITEM, "tools": [LOOKUP, 3]})


def test_import_reads_tools_in_any_shape_and_a_change_of_tools_is_a_new_version(
    engine: Engine, tmp_path: Path
) -> None:
    anthropic = {
        "name": "lookup_order",
        "description": "Look up an order by its id",
        "input_schema": LOOKUP_SCHEMA,
    }
    path = tmp_path / "items.jsonl"
    path.write_bytes(orjson.dumps({**ITEM, "tools": [anthropic]}) + b"\n")
    first = import_items(engine, "support", path)
    assert (first.created, first.rejected) == (1, [])
    (item,) = dataset_items(engine, "support")
    assert item["tools"] == [LOOKUP]
    with engine.connect() as conn:
        stored = conn.execute(select(DATASET_ITEMS.c.tools)).scalar_one()
    assert orjson.loads(stored) == [LOOKUP]
    again = import_items(engine, "support", path)
    assert (again.unchanged, again.version) == (1, None)
    path.write_bytes(orjson.dumps({**ITEM, "tools": [anthropic, REFUND]}) + b"\n")
    changed = import_items(engine, "support", path)
    assert changed.updated == 1 and version_info(engine, "support").number == 2
    assert dataset_items(engine, "support")[0]["tools"] == [LOOKUP, REFUND]


# -- exports ------------------------------------------------------------------------------------


def tool_item(**fields: Any) -> dict[str, Any]:
    item = {
        "id": "support/1",
        "messages": [
            {"role": "system", "content": "You are the support agent."},
            {"role": "user", "content": "Where is A-1?"},
        ],
        "vars": {},
        "expected": "A-1 shipped on Monday.",
        "assertions": [],
        "themes": [],
        "scores": {},
        "split": "test",
        "source": None,
        "output": {"role": "assistant", "content": "I cannot tell."},
        "tools": [LOOKUP, REFUND],
    }
    return {**item, **fields}


def written(writer: Any, *items: dict[str, Any], **options: Any) -> bytes:
    out = io.BytesIO()
    writer(list(items), out, **options)
    return out.getvalue()


def one_line(data: bytes) -> dict[str, Any]:
    (line,) = data.splitlines()
    return orjson.loads(line)  # type: ignore[no-any-return]


def test_openai_chat_lines_have_top_level_tools() -> None:
    line = one_line(written(write_openai_chat, tool_item()))
    assert list(line) == ["messages", "tools"]
    assert line["tools"] == [LOOKUP, REFUND]
    assert "tools" not in one_line(written(write_openai_chat, tool_item(tools=[])))


def test_openai_dpo_lines_have_the_tools_in_their_input() -> None:
    line = one_line(written(write_openai_dpo, tool_item()))
    assert list(line["input"]) == ["messages", "tools"]
    assert line["input"]["tools"] == [LOOKUP, REFUND]
    assert "tools" not in line  # only the input has them
    assert "tools" not in one_line(written(write_openai_dpo, tool_item(tools=[])))["input"]


def test_openai_evals_samples_have_top_level_tools() -> None:
    line = one_line(written(write_openai_evals, tool_item()))
    assert line == {
        "input": [
            {"role": "system", "content": "You are the support agent."},
            {"role": "user", "content": "Where is A-1?"},
        ],
        "ideal": "A-1 shipped on Monday.",
        "tools": [LOOKUP, REFUND],
    }


def test_jsonl_keeps_the_tools_as_they_are() -> None:
    assert one_line(written(write_jsonl, tool_item()))["tools"] == [LOOKUP, REFUND]


def test_csv_has_a_tools_column_of_json_text() -> None:
    rows = list(csv.reader(io.StringIO(written(write_csv, tool_item()).decode(), newline="")))
    assert rows[0][-1] == "tools"
    assert json.loads(rows[1][-1]) == [LOOKUP, REFUND]


def test_promptfoo_tests_carry_the_tools_in_their_metadata() -> None:
    (test,) = yaml.safe_load(written(write_promptfoo, tool_item()))
    assert test["metadata"]["tools"] == [LOOKUP, REFUND]
    (bare,) = yaml.safe_load(written(write_promptfoo, tool_item(tools=[])))
    assert "tools" not in bare["metadata"]


def test_inspect_samples_carry_the_tools_in_their_metadata() -> None:
    line = one_line(written(write_inspect, tool_item()))
    assert line["metadata"]["tools"] == [LOOKUP, REFUND]


def test_hf_rows_have_a_tools_column(tmp_path: Path) -> None:
    write_hf([tool_item(), tool_item(id="support/2", tools=[])], tmp_path / "hf")
    rows = [
        orjson.loads(x) for x in (tmp_path / "hf" / "data" / "test.jsonl").read_bytes().splitlines()
    ]
    assert [json.loads(r["tools"]) for r in rows] == [[LOOKUP, REFUND], []]
    assert "| `tools` | string (JSON) |" in (tmp_path / "hf" / "README.md").read_text()


# -- promotion ----------------------------------------------------------------------------------

SYSTEM = {"role": "system", "content": "You are the support agent."}
ASK = {"role": "user", "content": "Where is A-1?"}
CALL = {
    "role": "assistant",
    "content": "",
    "tool_calls": [{"id": "c1", "name": "lookup_order", "arguments": '{"order_id": "A-1"}'}],
}
RESULT = {"role": "tool", "content": '{"status": "shipped"}', "tool_call_id": "c1"}
ANTHROPIC_LOOKUP = {
    "name": "lookup_order",
    "description": "Look up an order by its id",
    "input_schema": LOOKUP_SCHEMA,
}

TRACE = [
    step("root", "00.000000", trace_id="t1", kind="agent", name="support-agent", latency_ms=9000.0,
         outputs={"answer": "Your order shipped."}),
    step("llm1", "00.100000", trace_id="t1", parent_id="root", model="claude-sonnet-4",
         messages=[SYSTEM, ASK, {"role": "user", "content": "It is urgent."}],
         params={"tools": [ANTHROPIC_LOOKUP], "max_tokens": 512},
         output=CALL, latency_ms=800.0),
    step("tool1", "01.000000", trace_id="t1", parent_id="llm1", kind="tool", name="lookup_order",
         inputs={"order_id": "A-1"}, error="timeout after 5 s", latency_ms=5000.0),
    step("tool2", "06.000000", trace_id="t1", parent_id="root", kind="tool", name="lookup_order",
         inputs={"order_id": "A-1"}, outputs={"status": "shipped"}, latency_ms=300.0),
    step("llm2", "07.000000", trace_id="t1", parent_id="root", model="gpt-4o-mini",
         messages=[SYSTEM, ASK, CALL, RESULT], params={"tools": [LOOKUP, REFUND]},
         output={"role": "assistant", "content": "Your order shipped."}, latency_ms=1500.0),
]  # fmt: skip
CORRECTED = "Your order A-1 shipped on Monday; sorry for the wait."


def case_rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(DATASET_ITEMS).order_by(DATASET_ITEMS.c.id)).mappings().all()
    out = []
    for row in rows:
        r = dict(row)
        for key in ("messages", "tools", "source", "output"):
            r[key] = orjson.loads(r[key]) if r[key] else None
        out.append(r)
    return out


def trace_session(engine: Engine) -> tuple[PromotingSession, Any]:
    store(engine, TRACE)
    q = queue(unit="trace", dataset="agent-cases")
    assert members(engine, q) == ["root"]
    session = PromotingSession(engine, q, "ana")
    item = session.next_item()
    assert item is not None and item.record_id == "root"
    return session, item


def test_a_promoted_call_copies_its_tools(engine: Engine) -> None:
    store(engine, TRACE)
    q = queue(dataset="calls")
    assert members(engine, q) == ["llm1", "llm2"]
    session = PromotingSession(engine, q, "ana")
    for _ in range(2):
        item = session.next_item()
        assert item is not None
        session.set_verdict(item, "pass")
        session.promote(item)
    by_record = {r["record_id"]: r for r in case_rows(engine)}
    assert by_record["llm1"]["tools"] == [LOOKUP]  # Anthropic's shape, converted
    assert by_record["llm2"]["tools"] == [LOOKUP, REFUND]
    assert by_record["llm2"]["messages"] == [SYSTEM, ASK, CALL, RESULT]
    assert by_record["llm2"]["expected"] == "Your order shipped."
    assert by_record["llm2"]["source"] == {
        "record_id": "llm2",
        "review_id": by_record["llm2"]["source"]["review_id"],
    }


def test_a_trace_marked_at_a_tool_step_gives_the_conversation_before_it(engine: Engine) -> None:
    session, item = trace_session(engine)
    session.set_verdict(item, "fail")
    session.set_step(item, "tool1")
    session.set_correction(item, CORRECTED)
    result = session.promote(item)
    (case,) = case_rows(engine)
    assert case["id"] == result.item_id and case["record_id"] == "root"
    # the last LLM call before the timed-out tool: llm1, its whole input and its tools
    assert case["messages"] == [SYSTEM, ASK, {"role": "user", "content": "It is urgent."}]
    assert case["tools"] == [LOOKUP]
    assert case["output"] == CALL
    assert case["expected"] == CORRECTED
    assert case["source"]["trace"] == {"id": "t1", "step_id": "tool1", "step_kind": "tool"}
    assert case["source"]["record_id"] == "root"


def test_a_trace_marked_at_an_llm_step_gives_that_calls_input(engine: Engine) -> None:
    session, item = trace_session(engine)
    session.set_verdict(item, "fail")
    session.set_correction(item, CORRECTED)
    session.set_step(item, "llm2")
    session.promote(item)
    (case,) = case_rows(engine)
    assert case["messages"] == [SYSTEM, ASK, CALL, RESULT]
    assert case["tools"] == [LOOKUP, REFUND]
    assert case["output"] == {"role": "assistant", "content": "Your order shipped."}
    assert case["expected"] == CORRECTED
    assert case["source"]["trace"] == {"id": "t1", "step_id": "llm2", "step_kind": "llm"}
    # the case follows its review: marking another step changes it (a new version)
    session.set_step(item, "tool1")
    (case,) = case_rows(engine)
    assert case["tools"] == [LOOKUP]
    assert case["source"]["trace"] == {"id": "t1", "step_id": "tool1", "step_kind": "tool"}
    assert version_info(engine, "agent-cases").number == 2


def test_a_trace_with_no_mark_gives_the_users_request(engine: Engine) -> None:
    session, item = trace_session(engine)
    session.set_verdict(item, "pass")
    session.promote(item)
    (case,) = case_rows(engine)
    # the first LLM call's messages up to its first user message
    assert case["messages"] == [SYSTEM, ASK]
    assert case["tools"] == [LOOKUP]
    # passed: the trace's final answer is the expected one (the agent's result, as text)
    assert case["output"] == {"role": "assistant", "content": '{"answer":"Your order shipped."}'}
    assert case["expected"] == '{"answer":"Your order shipped."}'
    assert case["source"]["trace"] == {"id": "t1", "step_id": None, "step_kind": None}


def test_bulk_promotion_of_a_trace_queue_makes_the_same_case(engine: Engine) -> None:
    session, item = trace_session(engine)
    session.set_verdict(item, "fail")
    session.set_step(item, "tool1")
    session.set_correction(item, CORRECTED)
    summary = bulk_promote(engine, "bulk", session.queue)
    assert summary.created == 1
    (case,) = case_rows(engine)
    assert case["messages"] == [SYSTEM, ASK, {"role": "user", "content": "It is urgent."}]
    assert case["tools"] == [LOOKUP]
    assert case["expected"] == CORRECTED
    assert case["source"]["trace"] == {"id": "t1", "step_id": "tool1", "step_kind": "tool"}
    (item_dict,) = dataset_items(engine, "bulk")
    assert item_dict["tools"] == [LOOKUP]
    assert item_dict["source"]["trace"]["step_id"] == "tool1"


# -- the reviews export -------------------------------------------------------------------------


def test_the_reviews_export_carries_the_trace_the_marked_step_and_step_notes(
    engine: Engine,
) -> None:
    session, item = trace_session(engine)
    session.set_verdict(item, "fail")
    session.set_step(item, "tool1")
    session.set_step_note(item, "tool1", "no retry after the timeout")
    (line,) = iter_reviews(engine)
    assert (line["record_id"], line["trace_id"]) == ("root", "t1")
    assert line["step_id"] == "tool1"
    assert line["step_notes"] == {"tool1": "no retry after the timeout"}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM review_events")).scalar() == 3
