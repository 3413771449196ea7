"""Other eval tools' files: OpenAI Evals run logs and samples, promptfoo eval results; as records
(`reviewer import`) and as dataset items (`reviewer datasets import --format`)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from reviewer.datasets.items import DatasetError
from reviewer.datasets.store import dataset_items, import_items
from tests.conftest import REAL_LOGS, records, rejects, run_import

EVALS = REAL_LOGS / "openai-evals"
FUZZY_LOG = EVALS / "run-fuzzy-match.jsonl"
AUTOGPT_LOG = EVALS / "autogpt-test-match.jsonl"
SAMPLES = EVALS / "test_fuzzy_match.samples.jsonl"
PROMPTFOO = REAL_LOGS / "promptfoo-results" / "simple-cli-output.json"
FEW_SHOT = [
    {"role": "system", "content": "Answer the following questions as concisely as possible."},
    {"role": "system", "content": "What's the capital of France?", "name": "example_user"},
    {"role": "system", "content": "Paris", "name": "example_assistant"},
    {"role": "system", "content": "What's 2+2?", "name": "example_user"},
    {"role": "system", "content": "4", "name": "example_assistant"},
]


def _counts(report):
    return [
        (Path(f.path).name, f.format, f.lines, f.imported, f.skipped, f.rejected)
        for f in report.files
    ]


def test_oaieval_run_log_one_record_per_sampling_event_with_its_grade(engine):
    report = run_import(engine, FUZZY_LOG)
    # spec, final report, 3 sampling and 3 metrics lines are skipped; 3 match lines give records
    assert _counts(report) == [("run-fuzzy-match.jsonl", "openai-evals", 11, 3, 8, 0)]
    rows = records(engine)
    assert [(r["id"], r["source_line"]) for r in rows] == [
        ("261203065535A4VM4VYN:0", 4),
        ("261203065535A4VM4VYN:3", 7),
        ("261203065535A4VM4VYN:6", 10),
    ]
    first = rows[0]
    assert first["messages"] == [
        *FEW_SHOT,
        {"role": "user", "content": "Who played the girl elf in the hobbit?"},
    ]
    assert first["output"] == {"role": "assistant", "content": "Cate Blanchett"}
    assert (first["model"], first["input_tokens"], first["output_tokens"]) == (
        "gpt-3.5-turbo",
        35,
        3,
    )
    assert first["timestamp"] == "2026-12-03T06:55:36.251191Z"
    assert first["trace_id"] == "261203065535A4VM4VYN"
    assert first["metadata"] == {
        "run_id": "261203065535A4VM4VYN",
        "sample_id": "test-fuzzy-match.s1.2",
        "event_id": 0,
        "eval_name": "test-fuzzy-match.s1.simple-v0",
        "correct": False,
        "expected": "Evangeline Lilly",
        "picked": [],
        "match_event_id": 1,
    }
    assert [(r["metadata"]["correct"], r["metadata"]["expected"]) for r in rows] == [
        (False, "Evangeline Lilly"),
        (True, ["Season 11", "11"]),
        (True, "Millie Bobby Brown"),
    ]
    raw = orjson.loads(first["raw"])
    assert (raw["sampling"]["type"], raw["match"]["type"]) == ("sampling", "match")
    again = run_import(engine, FUZZY_LOG)
    assert (again.total("imported"), again.total("duplicates")) == (0, 3)


def test_older_run_log_text_prompts_and_model_from_the_spec(engine):
    report = run_import(engine, AUTOGPT_LOG)
    assert _counts(report) == [("autogpt-test-match.jsonl", "openai-evals", 8, 3, 5, 0)]
    rows = records(engine)
    assert [r["model"] for r in rows] == ["auto_gpt_completion_fn"] * 3
    assert rows[1]["messages"] == [
        {
            "role": "user",
            "content": "Complete the phrase as concisely as possible.\nUser: The first US president was \nAssistant: ",
        }
    ]
    assert rows[1]["output"] == {"role": "assistant", "content": "George Washington"}
    assert [
        (r["metadata"]["correct"], r["metadata"]["picked"], r["metadata"]["match"]) for r in rows
    ] == [
        (False, None, {"options": ["15"]}),
        (True, "George Washington", {"options": ["George Washington"]}),
        (False, None, {"options": ["time"]}),
    ]
    assert rows[0]["timestamp"] == "2023-04-17T22:10:13.127375Z"


def test_match_event_without_its_sampling(engine, tmp_path):
    lines = [
        {"run_id": "r1", "event_id": 7, "sample_id": "s.1", "type": "match", "created_at": "2024-01-01 00:00:00+00:00",
         "data": {"correct": True, "expected": "4", "picked": "4", "sampled": "4"}},
        {"run_id": "r1", "event_id": 8, "sample_id": "s.2", "type": "match", "created_at": "2024-01-01 00:00:00+00:00",
         "data": {"correct": False, "expected": "5"}},
    ]  # fmt: skip
    path = tmp_path / "partial.jsonl"
    path.write_bytes(b"".join(orjson.dumps(o) + b"\n" for o in lines))
    report = run_import(engine, path)
    assert (report.total("imported"), report.total("rejected")) == (1, 1)
    [row] = records(engine)
    assert (row["id"], row["messages"], row["output"]) == (
        "r1:7",
        [],
        {"role": "assistant", "content": "4"},
    )
    [bad] = rejects(engine)
    assert (bad["line"], bad["format"]) == (2, "openai-evals")
    assert "has no sampling event before it" in bad["reason"]


def test_evals_samples_import_as_cases(engine):
    report = run_import(engine, SAMPLES)
    assert _counts(report) == [("test_fuzzy_match.samples.jsonl", "openai-evals", 3, 3, 0, 0)]
    by_line = {r["source_line"]: r for r in records(engine)}
    assert by_line[2]["messages"][-1] == {
        "role": "user",
        "content": "What season did derek die in grey's?",
    }
    assert by_line[2]["output"] is None
    assert by_line[2]["metadata"] == {"ideal": ["Season 11", "11"]}


def test_promptfoo_results_one_record_per_row(engine):
    report = run_import(engine, PROMPTFOO)
    assert _counts(report) == [("simple-cli-output.json", "promptfoo-results", 1, 8, 0, 0)]
    rows = {r["id"]: r for r in records(engine)}
    assert len(rows) == 8
    row = rows["3d8d47d5-c198-42e5-9387-e1677705048e"]
    assert row["messages"] == [{"role": "user", "content": "Rephrase this in French: I'm hungry"}]
    assert row["output"] == {"role": "assistant", "content": "J'ai faim."}
    assert (row["provider"], row["model"]) == ("openai", "gpt-4.1-mini")
    assert (row["latency_ms"], row["cost_usd"]) == (3.0, 0.0000046499999999999995)
    assert row["timestamp"] == "2024-10-04T17:33:11.912000Z"
    meta = row["metadata"]
    assert meta["vars"] == {"language": "French", "body": "I'm hungry"}
    assert (meta["success"], meta["score"], meta["grading"]["reason"]) == (True, 1, "No assertions")
    assert (meta["testIdx"], meta["promptIdx"], meta["cached"]) == (1, 0, True)
    assert meta["prompt_label"] == "Rephrase this in {{language}}: {{body}}"
    assert sum(r["cost_usd"] for r in rows.values()) == pytest.approx(0.0000600)


def test_promptfoo_result_rows_as_jsonl_with_chat_prompt_and_error(engine, tmp_path):
    row = {
        "id": "row-1", "promptIdx": 0, "testIdx": 0, "latencyMs": 812, "cost": 0.0004,
        "prompt": {"raw": '[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]', "label": "chat"},
        "provider": {"id": "openai:chat:gpt-4o-mini", "label": "mini"},
        "response": {"output": "", "tokenUsage": {"prompt": 12, "completion": 0, "total": 12}},
        "vars": {"q": "Hi"}, "testCase": {"vars": {"q": "Hi"}, "assert": [{"type": "contains", "value": "Hello"}]},
        "success": False, "score": 0, "error": "API error: 429 rate limited", "failureReason": 2,
        "gradingResult": {"pass": False, "score": 0, "reason": "API error: 429 rate limited"},
    }  # fmt: skip
    path = tmp_path / "results.jsonl"
    path.write_bytes(orjson.dumps(row) + b"\n")
    run_import(engine, path)
    [r] = records(engine)
    assert r["source_format"] == "promptfoo-results"
    assert r["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
    ]
    assert (r["output"], r["error"]) == (None, "API error: 429 rate limited")
    assert (r["provider"], r["model"], r["input_tokens"], r["output_tokens"]) == (
        "openai",
        "gpt-4o-mini",
        12,
        0,
    )
    assert r["metadata"]["assertions"] == [{"type": "contains", "value": "Hello"}]
    assert (r["metadata"]["success"], r["metadata"]["failureReason"]) == (False, 2)


def _items(engine, name):
    return sorted(dataset_items(engine, name), key=lambda i: orjson.dumps(i["messages"]))


def test_datasets_import_promptfoo_results_one_item_per_test_case(engine):
    result = import_items(engine, "pf", PROMPTFOO, fmt="promptfoo-results")
    assert (result.items, result.created, result.rejected) == (4, 4, [])
    items = dataset_items(engine, "pf")
    assert sorted((i["vars"]["language"], i["vars"]["body"]) for i in items) == [
        ("French", "Hello world"), ("French", "I'm hungry"), ("Pirate", "Hello world"), ("Pirate", "I'm hungry"),
    ]  # fmt: skip
    first = next(i for i in items if i["vars"] == {"language": "French", "body": "I'm hungry"})
    assert first["messages"] == [{"role": "user", "content": "Rephrase this in French: I'm hungry"}]
    assert (first["expected"], first["assertions"]) == (None, [])
    again = import_items(engine, "pf", PROMPTFOO, fmt="promptfoo-results")
    assert (again.created, again.unchanged) == (0, 4)


def test_promptfoo_assertions_become_item_assertions_and_all_are_kept(engine, tmp_path):
    asserts = [
        {"type": "contains", "value": "Paris"},
        {"type": "equals", "value": "The capital of France is Paris."},
        {"type": "starts-with", "value": "The"},
        {"type": "llm-rubric", "value": "mentions the capital"},
    ]
    doc = {"evalId": "eval-1", "results": {"version": 3, "timestamp": "2025-01-01T00:00:00Z", "results": [
        {"id": "a", "promptIdx": 0, "testIdx": 0, "prompt": {"raw": "Capital of France?", "label": "p"},
         "vars": {"country": "France"}, "testCase": {"vars": {"country": "France"}, "assert": asserts},
         "response": {"output": "The capital of France is Paris."}, "success": True, "latencyMs": 5},
    ]}}  # fmt: skip
    path = tmp_path / "results.json"
    path.write_bytes(orjson.dumps(doc))
    result = import_items(engine, "caps", path, fmt="promptfoo-results")
    assert (result.created, result.rejected) == (1, [])
    [item] = dataset_items(engine, "caps")
    assert item["expected"] == "The capital of France is Paris."
    assert item["assertions"] == [
        {"type": "contains", "value": "Paris"},
        {"type": "equals", "value": "The capital of France is Paris."},
        {"type": "regex", "value": "^The"},
    ]
    assert item["vars"] == {"country": "France", "__promptfoo_assert": asserts}


def test_datasets_import_openai_evals_samples(engine):
    result = import_items(engine, "fuzzy", SAMPLES, fmt="openai-evals")
    assert (result.items, result.created, result.rejected) == (3, 3, [])
    items = {i["messages"][-1]["content"]: i for i in dataset_items(engine, "fuzzy")}
    derek = items["What season did derek die in grey's?"]
    assert derek["messages"][:5] == FEW_SHOT
    assert (derek["expected"], derek["vars"]) == ("Season 11", {"ideal": ["Season 11", "11"]})
    eleven = items["Who is the girl who plays eleven in stranger things?"]
    assert (eleven["expected"], eleven["vars"]) == ("Millie Bobby Brown", {})


def test_datasets_import_rejects_run_log_lines_and_unknown_formats(engine):
    result = import_items(engine, "x", AUTOGPT_LOG, fmt="openai-evals")
    assert (result.items, result.created, len(result.rejected)) == (8, 0, 8)
    assert result.rejected[0] == (
        1,
        "an OpenAI Evals run log line, not a sample (`reviewer import` reads run logs)",
    )
    with pytest.raises(DatasetError, match="unknown format 'csv'"):
        import_items(engine, "x", SAMPLES, fmt="csv")


def test_run_log_joins_in_order_even_when_large_files_go_to_parsing_workers(engine):
    # every file counts as large here: a run log is still parsed in order, so its joins hold
    report = run_import(engine, FUZZY_LOG, workers=1, parallel_min_bytes=0)
    assert _counts(report) == [("run-fuzzy-match.jsonl", "openai-evals", 11, 3, 8, 0)]
