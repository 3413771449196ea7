"""`reviewer datasets generate` through the official SDKs over real HTTP to the fake server: the
request asks for structured output (a JSON schema; a `cases` tool for Anthropic), the cases land
in the triage queue written for the dataset (never in the dataset), duplicates are dropped with
exact counts, a rerun calls no model, a killed run resumes with the requests still missing, and
with no model configured it says how to configure one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from reviewer.cli import app
from reviewer.datasets.promote import PromotingSession
from reviewer.datasets.store import dataset_items, import_items
from reviewer.review.queues import load_queue_file
from reviewer.store.db import open_engine, sqlite_url
from tests.conftest import REPO, SAMPLE_LOGS, kill_when, run_import
from tests.fake_llm import FakeLLM, generated_cases
from tests.unit.test_generate import CASES

QUEUE = "generated-support-regressions"


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace with the demo logs, the shipped queues and a dataset of three cases."""
    root = tmp_path / "shop"
    shutil.copytree(REPO / "queues", root / "queues")
    (root / "prompts").mkdir()
    engine = open_engine(sqlite_url(root / ".reviewer" / "reviewer.db"))
    run_import(engine, SAMPLE_LOGS)
    cases = tmp_path / "cases.jsonl"
    cases.write_bytes(b"\n".join(orjson.dumps(c) for c in CASES) + b"\n")
    assert import_items(engine, "support-regressions", cases, by="ana").ok
    engine.dispose()
    monkeypatch.chdir(root)
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("REVIEWER_GENERATE_MODEL", raising=False)
    return root


def database(root: Path) -> Engine:
    return open_engine(sqlite_url(root / ".reviewer" / "reviewer.db"))


def generated(root: Path) -> list[dict[str, Any]]:
    """The generated records, in the order they were written, with their queue item."""
    engine = database(root)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT r.id, r.messages, r.output, r.metadata, q.queue, q.status FROM records r"
                " LEFT JOIN queue_items q ON q.record_id = r.id"
                " WHERE r.source_format = 'generated' ORDER BY r.source_line, r.id"
            )
        ).mappings()
        out = [
            {
                **dict(r),
                "messages": orjson.loads(r["messages"]),
                "output": orjson.loads(r["output"]) if r["output"] else None,
                "metadata": orjson.loads(r["metadata"]),
            }
            for r in rows
        ]
    engine.dispose()
    return out


def generate(*args: str) -> Any:
    return CliRunner().invoke(app, ["datasets", "generate", "support-regressions", *args])


def test_cases_from_an_item_land_in_the_triage_queue_through_the_openai_sdk(ws, monkeypatch):
    with FakeLLM(responder=generated_cases) as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.openai_url)
        result = generate("--from", "c1", "--n", "6", "--json")
        assert result.exit_code == 0, result.output
        report = orjson.loads(result.stdout)
        assert fake.count == 1
        body = fake.log()[0].body
    assert (report["asked"], report["returned"], report["made"], report["duplicates"]) == (
        6,
        6,
        6,
        0,
    )
    assert (report["requests"], report["cached"], report["in_queue"]) == (1, 0, 6)
    assert report["queue"] == QUEUE and report["queue_created"] is True
    assert report["input_tokens"] > 0 and report["cost_usd"] > 0
    assert body["model"] == "gpt-4o-mini"
    schema = body["response_format"]["json_schema"]["schema"]
    assert body["response_format"]["type"] == "json_schema"
    assert schema["properties"]["cases"]["items"]["properties"]["kind"]["enum"] == [
        "paraphrase",
        "language",
        "edge",
        "adversarial",
    ]
    assert "Cases to write: paraphrase 2, language 2, edge 1, adversarial 1" in str(body)

    queue_file = ws / "queues" / f"{QUEUE}.yaml"
    definition = yaml.safe_load(queue_file.read_text())
    assert definition["filter"] == {
        "format": "generated",
        "metadata": {"dataset": "support-regressions"},
    }
    assert definition["dataset"] == "support-regressions"
    assert "**Keep** (`d`)" in (ws / "queues" / f"{QUEUE}.md").read_text()

    rows = generated(ws)
    assert [r["metadata"]["kind"] for r in rows] == [
        "paraphrase",
        "paraphrase",
        "language",
        "language",
        "edge",
        "adversarial",
    ]
    assert {r["queue"] for r in rows} == {QUEUE} and {r["status"] for r in rows} == {"pending"}
    first = rows[0]
    assert first["id"].startswith("gen:")
    assert first["metadata"] == {
        "dataset": "support-regressions",
        "parent": "c1",
        "kind": "paraphrase",
        "model": "openai:gpt-4o-mini",
        "themes": ["invented-policy"],
    }
    assert first["messages"][0]["role"] == "system"  # the parent's system prompt, then the input
    assert first["messages"][-1]["content"].startswith(
        "paraphrase 1: Can I return shoes after 60 days?"
    )
    assert first["output"]["content"].startswith(
        "paraphrase 1: Returns are accepted within 30 days"
    )
    engine = database(ws)
    assert [i["id"] for i in dataset_items(engine, "support-regressions")] == ["c1", "c2", "c3"]
    engine.dispose()


def test_a_rerun_of_the_same_command_makes_no_call(ws, monkeypatch):
    with FakeLLM(responder=generated_cases) as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.openai_url)
        assert generate("--theme", "invented-policy", "--n", "5").exit_code == 0
        assert fake.count == 2  # one request per parent (c1: 3 cases, c2: 2)
        again = generate("--theme", "invented-policy", "--n", "5", "--json")
        assert again.exit_code == 0, again.output
        assert fake.count == 2  # nothing asked again
    report = orjson.loads(again.stdout)
    assert (report["made"], report["already"], report["requests"], report["cached"]) == (
        0,
        5,
        0,
        2,
    )
    assert report["cost_usd"] is None and report["in_queue"] == 5
    assert len(generated(ws)) == 5


def test_the_text_output_says_what_was_made_and_what_it_cost(ws, monkeypatch):
    with FakeLLM(responder=generated_cases) as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.openai_url)
        result = generate("--from", "c2", "--n", "2", "--kinds", "edge")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "support-regressions: 2 asked · 2 new · 0 duplicates dropped"
    assert lines[1].startswith("openai:gpt-4o-mini · 1 requests (0 answered from the cache) · ")
    assert lines[2] == f"queues/{QUEUE}.yaml written · 2 cases in queue {QUEUE}"
    assert lines[3] == f"review them (d keeps, x drops): reviewer review {QUEUE}"


def test_anthropic_writes_the_cases_through_a_tool(ws, monkeypatch):
    with FakeLLM(responder=generated_cases) as fake:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.anthropic_url)
        result = generate(
            "--from", "c1", "--n", "4", "--model", "anthropic:claude-haiku-4-5", "--json"
        )
        assert result.exit_code == 0, result.output
        (request,) = fake.log()
    assert request.path == "/v1/messages"
    body = request.body
    assert body["model"] == "claude-haiku-4-5" and body["max_tokens"] == 4096
    assert body["tool_choice"] == {"type": "tool", "name": "cases"}
    assert body["tools"][0]["input_schema"]["required"] == ["cases"]
    report = orjson.loads(result.stdout)
    assert (report["provider"], report["made"]) == ("anthropic", 4)
    assert {r["metadata"]["model"] for r in generated(ws)} == {"anthropic:claude-haiku-4-5"}


def with_duplicates(body: dict[str, Any]) -> Any:
    """The fake's cases, where some inputs repeat the dataset or each other: for c1, its own
    input (normalised) and a near copy of its first case; for c2, c2's input and c1's first."""
    answer = json.loads(generated_cases(body))  # type: ignore[arg-type]
    cases = answer["cases"]
    text_of = str(body["messages"])
    if "Can I return shoes after 60 days?" in text_of:
        cases[1]["input"] = "can I RETURN shoes after 60 days"
        cases[2]["input"] = cases[0]["input"].replace("paraphrase 1:", "paraphrase one:")
    else:
        cases[0]["input"] = "Do you price-match?!"
        cases[2]["input"] = (
            "paraphrase 1: Can I return shoes after 60 days? "
            "[paraphrase1x0 paraphrase1x1 paraphrase1x2 paraphrase1x3 paraphrase1x4]"
        )
    return json.dumps(answer)


def test_duplicates_of_each_other_and_of_the_dataset_are_dropped_and_counted(ws, monkeypatch):
    with FakeLLM(responder=with_duplicates) as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.openai_url)
        result = generate("--theme", "invented-policy", "--n", "8", "--json")
    assert result.exit_code == 0, result.output
    report = orjson.loads(result.stdout)
    assert (report["asked"], report["returned"]) == (8, 8)
    assert (report["made"], report["duplicates"]) == (4, 4)
    assert (report["duplicates_of_dataset"], report["duplicates_of_generated"]) == (2, 2)
    dropped = [(c["parent"], c["duplicate_of"]) for c in report["cases"] if c["status"] != "new"]
    first = report["cases"][0]["id"]
    assert dropped == [("c1", "c1"), ("c1", first), ("c2", "c2"), ("c2", first)]
    assert len(generated(ws)) == 4  # only the new ones are written
    with FakeLLM(responder=with_duplicates) as fake:  # the text output says the same
        monkeypatch.setenv("OPENAI_BASE_URL", fake.openai_url)
        text_out = generate("--theme", "invented-policy", "--n", "8").stdout
    assert text_out.splitlines()[0] == (
        "support-regressions: 8 asked · 0 new · 4 already queued · 4 duplicates dropped "
        "(2 of the dataset, 2 of each other)"
    )


def test_no_model_configured_says_how_to_configure_one(ws):
    result = generate("--from", "c1", "--n", "3")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "reviewer: no model configured for generating cases: set OPENAI_BASE_URL to a local "
        "OpenAI-compatible server"
    )
    assert "Traceback" not in result.output
    assert generated(ws) == [] and not (ws / "queues" / f"{QUEUE}.yaml").exists()


def test_unusable_calls_exit_2_with_the_reason(ws):
    cases = {
        ("--n", "3"): "give --from ITEM_ID or --theme THEME",
        ("--from", "c1", "--theme", "x"): "give --from ITEM_ID or --theme THEME",
        ("--from", "c9"): "no item 'c9' in dataset support-regressions (items: c1, c2, c3)",
        ("--theme", "rambling"): "no item of dataset support-regressions carries theme rambling",
        ("--from", "c1", "--n", "0"): "--n is the number of cases to write, at least 1, not 0",
        ("--from", "c1", "--kinds", "edge,rhyme"): "unknown kind 'rhyme'",
    }
    for args, said in cases.items():
        result = generate(*args)
        assert result.exit_code == 2, args
        assert said in result.stderr, (args, result.stderr)
    result = CliRunner().invoke(app, ["datasets", "generate", "nope", "--from", "c1"])
    assert result.exit_code == 2 and "no dataset named 'nope'" in result.stderr


def test_a_failed_request_is_said_and_exits_1(ws, monkeypatch):
    with FakeLLM(responder=lambda body: "not json") as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.openai_url)
        result = generate("--from", "c1", "--n", "2", "--json")
        assert fake.count == 2  # asked once more, then given up
    assert result.exit_code == 1
    report = orjson.loads(result.stdout)
    assert report["made"] == 0 and report["errors"][0].startswith("c1: the answer is not JSON")


def test_a_killed_run_started_again_asks_only_what_is_missing(ws, monkeypatch):
    with FakeLLM(responder=generated_cases) as fake:
        fake.answer_first(1)  # the first request is answered, the second hangs: killed there
        monkeypatch.setenv("OPENAI_BASE_URL", fake.openai_url)
        args = [
            "--workspace", str(ws), "datasets", "generate", "support-regressions",
            "--from", "c1", "--n", "25",
        ]  # fmt: skip
        # the second request is sent once the first answer is cached
        kill_when(args, lambda: fake.count >= 2)
        assert generated(ws) == []  # the cases are written at the end
        fake.reset()
        monkeypatch.setenv("OPENAI_BASE_URL", fake.openai_url)
        result = generate("--from", "c1", "--n", "25", "--json")
        assert result.exit_code == 0, result.output
        assert fake.count == 2  # the second and third requests (10 + 10 + 5 cases)
    report = orjson.loads(result.stdout)
    assert (report["requests"], report["cached"], report["made"]) == (2, 1, 25)
    assert len(generated(ws)) == 25


def keep_and_drop(engine: Engine, workspace: Path) -> None:
    """Generated cases are kept and dropped in their triage queue (any database)."""
    from reviewer.evals.generate import generate_cases_sync, parents_from_theme

    parents = parents_from_theme(engine, "support-regressions", "invented-policy")
    report = generate_cases_sync(engine, workspace, "support-regressions", parents, n=4)
    assert (report.made, report.in_queue) == (4, 4)
    queue = load_queue_file(workspace / "queues" / f"{QUEUE}.yaml")
    session = PromotingSession(engine, queue, "ana")
    kept = session.keep(session.next_item())
    session.drop(session.next_item())
    items = dataset_items(engine, "support-regressions")
    assert len(items) == 4 and items[-1]["row_id"] == kept.item_id
    assert items[-1]["source"]["generated"]["parent"] == "c1"
    session.undo()
    session.undo()
    assert len(dataset_items(engine, "support-regressions")) == 3


def test_keep_and_drop_after_a_generation(ws, monkeypatch):
    with FakeLLM(responder=generated_cases) as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.openai_url)
        engine = database(ws)
        try:
            keep_and_drop(engine, ws)
        finally:
            engine.dispose()


def test_keep_and_drop_on_postgres(pg_engine, tmp_path, monkeypatch):
    workspace = tmp_path / "shop"
    (workspace / "queues").mkdir(parents=True)
    cases = tmp_path / "cases.jsonl"
    cases.write_bytes(b"\n".join(orjson.dumps(c) for c in CASES) + b"\n")
    assert import_items(pg_engine, "support-regressions", cases, by="ana").ok
    with FakeLLM(responder=generated_cases) as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.openai_url)
        keep_and_drop(pg_engine, workspace)
