"""`reviewer finetune`: a dataset's train split uploaded through the real `openai` SDK to the
fake server, the job created with the right parameters, followed until it gives a tuned model
(recorded in SQLite and PostgreSQL alike), failures recorded with their error, the cases where
nothing can start, a start cut off part-way, and the eval that compares base and tuned model."""

from __future__ import annotations

import os
import select
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from reviewer.cli import EXIT_INTERRUPTED, EXIT_OK, EXIT_REJECTED, EXIT_USAGE, app
from reviewer.datasets.store import import_items
from reviewer.evals import finetune
from reviewer.evals.prices import Price, PriceTable
from tests.fake_llm import Fail, FakeLLM, Vanish, last_user_text

REPO = Path(__file__).resolve().parents[2]
SYSTEM = "You are Clara, the support assistant of a shoe shop."
PROMPT = f"""\
name: support
provider: openai
model: gpt-4o-mini
system: {SYSTEM}
"""


def item(i: int, split: str, **extra: Any) -> dict[str, Any]:
    """Case i: the customer asks Q{i}?, the reviewers' answer is A{i}., the model said wrong {i}."""
    return {
        "id": f"c{i}",
        "messages": [{"role": "user", "content": f"Q{i}?"}],
        "expected": f"A{i}.",
        "output": {"role": "assistant", "content": f"wrong {i}"},
        "assertions": [{"type": "contains", "value": f"A{i}."}],
        "split": split,
        **extra,
    }


def small_dataset() -> list[dict[str, Any]]:
    """13 train cases (one without an expected answer, one whose logged output was right, one
    with a tool call in its conversation) and 3 test cases."""
    items = [item(i, "train") for i in range(13)] + [item(i, "test") for i in range(13, 16)]
    items[1]["expected"] = None
    items[2]["output"] = {"role": "assistant", "content": "A2."}
    items[3]["messages"] = [
        {"role": "user", "content": "Where is A-1?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"id": "call_1", "name": "lookup", "arguments": '{"id": "A-1"}'}],
        },
        {"role": "tool", "content": '{"status": "shipped"}', "tool_call_id": "call_1"},
    ]
    return items


def write_items(path: Path, items: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(i) + b"\n" for i in items))
    return path


def tuned_knows(body: dict[str, Any]) -> str:
    """A model server where only a tuned model (ft:...) gives the reviewers' answers."""
    question = last_user_text(body)
    if str(body.get("model", "")).startswith("ft:") and question.startswith("Q"):
        return f"A{question[1:].rstrip('?')}."
    return "I am not sure."


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLM]:
    with FakeLLM(responder=tuned_knows) as fake:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-openai")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.openai_url)
        yield fake


@pytest.fixture(params=["sqlite", "postgres"])
def any_db(request: pytest.FixtureRequest) -> Engine:
    name = "engine" if request.param == "sqlite" else "pg_engine"
    return request.getfixturevalue(name)


def workspace(tmp_path: Path, engine: Engine, items: list[dict[str, Any]] | None = None) -> Path:
    root = tmp_path / "ws"
    (root / "prompts").mkdir(parents=True, exist_ok=True)
    (root / "queues").mkdir(exist_ok=True)
    (root / "prompts" / "support.yaml").write_text(PROMPT)
    source = write_items(tmp_path / "items.jsonl", small_dataset() if items is None else items)
    assert import_items(engine, "ds", source, by="ana").ok
    return root


@pytest.fixture
def ws(tmp_path: Path, engine: Engine) -> Path:
    return workspace(tmp_path, engine)


def cli(ws: Path, engine: Engine, *args: str) -> Any:
    url = engine.url.render_as_string(hide_password=False)
    return CliRunner().invoke(app, ["--workspace", str(ws), "--db", url, *args])


def reviewer(ws: Path, engine: Engine, *args: str) -> subprocess.Popen[bytes]:
    """`reviewer ARGS...` in a process of its own (to be killed or interrupted)."""
    url = engine.url.render_as_string(hide_password=False)
    return subprocess.Popen(
        [sys.executable, "-m", "reviewer.cli", "--workspace", str(ws), "--db", url, *args],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        found = conn.execute(text("SELECT * FROM finetune_jobs ORDER BY id")).mappings().all()
    return [dict(r) for r in found]


def started(ws: Path, engine: Engine, *extra: str) -> dict[str, Any]:
    result = cli(ws, engine, "finetune", "start", "ds", "--model", "gpt-4o-mini", "--json", *extra)
    assert result.exit_code == EXIT_OK, result.output
    return dict(orjson.loads(result.stdout))


# -- what is uploaded, and the job's parameters ---------------------------------------------------


def test_sft_uploads_the_train_split_as_chat_lines_and_creates_a_supervised_job(
    ws: Path, engine: Engine, server: FakeLLM
) -> None:
    doc = started(ws, engine, "--suffix", "clara")
    job = doc["job"]
    assert (doc["uploaded"], doc["reused_file"], doc["resumed"], doc["existing"]) == (
        True, False, False, False,
    )  # fmt: skip
    assert doc["items"] == 13 and doc["skipped"] == {"no expected answer": 1}
    # 12 lines: the 13 train cases but c1 (no expected answer); the test cases stay out
    lines = server.finetune.lines(job["file_id"])
    assert len(lines) == 12
    assert lines[0] == {
        "messages": [{"role": "user", "content": "Q0?"}, {"role": "assistant", "content": "A0."}]
    }
    assert lines[2] == {
        "messages": [
            {"role": "user", "content": "Where is A-1?"},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": '{"id": "A-1"}'},
                    }
                ],
                "weight": 0,
            },
            {"role": "tool", "content": '{"status": "shipped"}', "tool_call_id": "call_1"},
            {"role": "assistant", "content": "A3."},
        ]
    }
    assert lines[1] == {
        "messages": [{"role": "user", "content": "Q2?"}, {"role": "assistant", "content": "A2."}]
    }
    assert [line["messages"][-1]["content"] for line in lines] == [
        f"A{i}." for i in (0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
    ]
    upload = server.finetune.files[job["file_id"]]
    assert (upload["purpose"], upload["filename"]) == ("fine-tune", "ds-v1-train.sft.jsonl")

    [created] = server.finetune.created
    assert created["training_file"] == job["file_id"]
    assert created["model"] == "gpt-4o-mini"
    assert created["method"] == {"type": "supervised"}
    assert created["suffix"] == "clara"
    assert created["metadata"]["reviewer_dataset"] == "ds@1/train"

    [row] = rows(engine)
    assert row["job_id"] == job["job_id"] == "ftjob-fake000002"
    assert (row["provider"], row["base_model"], row["method"], row["split"]) == (
        "openai", "gpt-4o-mini", "sft", "train",
    )  # fmt: skip
    assert (row["dataset_name"], row["dataset_version"], row["examples"]) == ("ds", 1, 12)
    assert row["status"] == "validating_files" and row["fine_tuned_model"] is None
    assert row["file_bytes"] == len(server.finetune.contents[job["file_id"]])
    assert row["base_url"] == server.openai_url
    assert "sk-test-secret-openai" not in orjson.dumps(row, default=str).decode()


def test_dpo_uploads_preference_pairs_and_creates_a_dpo_job(
    ws: Path, engine: Engine, server: FakeLLM
) -> None:
    doc = started(ws, engine, "--method", "dpo")
    assert doc["skipped"] == {
        "no expected answer": 1,
        "the logged output is the expected answer": 1,
    }
    lines = server.finetune.lines(doc["job"]["file_id"])
    assert len(lines) == 11
    assert lines[0] == {
        "input": {"messages": [{"role": "user", "content": "Q0?"}]},
        "preferred_output": [{"role": "assistant", "content": "A0."}],
        "non_preferred_output": [{"role": "assistant", "content": "wrong 0"}],
    }
    assert lines[1]["input"]["messages"][1]["tool_calls"][0]["function"]["name"] == "lookup"
    assert "weight" not in orjson.dumps(lines).decode()
    assert [line["preferred_output"][0]["content"] for line in lines] == [
        f"A{i}." for i in (0, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
    ]
    [created] = server.finetune.created
    assert created["method"] == {"type": "dpo"} and "suffix" not in created
    assert server.finetune.files[created["training_file"]]["filename"] == "ds-v1-train.dpo.jsonl"
    assert rows(engine)[0]["method"] == "dpo"


def test_redact_masks_personal_data_in_the_uploaded_file(
    tmp_path: Path, engine: Engine, server: FakeLLM
) -> None:
    items = small_dataset()
    items[0]["messages"] = [{"role": "user", "content": "Q0? Write to emma@example.com"}]
    ws = workspace(tmp_path, engine, items)
    plain = started(ws, engine)
    masked = started(ws, engine, "--redact")
    assert masked["uploaded"] is True and masked["job"]["file_id"] != plain["job"]["file_id"]
    first = server.finetune.lines(masked["job"]["file_id"])[0]
    assert first["messages"][0]["content"] == "Q0? Write to [email]"
    assert (
        "emma@example.com" in orjson.dumps(server.finetune.lines(plain["job"]["file_id"])).decode()
    )


# -- following the job ----------------------------------------------------------------------------


def test_status_follows_the_job_and_records_the_tuned_model(
    tmp_path: Path, any_db: Engine, server: FakeLLM
) -> None:
    ws = workspace(tmp_path, any_db)
    job_id = started(ws, any_db)["job"]["job_id"]
    seen = []
    for _ in range(3):
        result = cli(ws, any_db, "finetune", "status", job_id, "--json")
        assert result.exit_code == EXIT_OK, result.output
        doc = orjson.loads(result.stdout)
        seen.append(doc["status"])
        assert rows(any_db)[0]["status"] == doc["status"]
    assert seen == ["queued", "running", "succeeded"]
    tuned = "ft:gpt-4o-mini:fake-org::000002"
    assert doc["fine_tuned_model"] == tuned
    [row] = rows(any_db)
    assert row["fine_tuned_model"] == tuned
    assert row["trained_tokens"] == doc["trained_tokens"] > 0
    assert row["finished_at"] is not None and row["error"] is None
    assert doc["eval_command"] == (
        f"reviewer eval PROMPT -d ds --split test -m gpt-4o-mini -m {tuned}"
    )

    text_ = cli(ws, any_db, "finetune", "status", job_id)
    assert text_.exit_code == EXIT_OK, text_.output
    assert f"tuned model {tuned}" in text_.stdout
    assert (
        f"next, on the held-out cases: reviewer eval PROMPT -d ds --split test "
        f"-m gpt-4o-mini -m {tuned}" in text_.stdout
    )

    listed = cli(ws, any_db, "finetune", "status")
    assert listed.exit_code == EXIT_OK, listed.output
    header, line = listed.stdout.splitlines()
    assert header.split() == ["job", "base", "dataset", "method", "status", "tuned", "model", "age"]
    assert line.split()[:6] == [job_id, "gpt-4o-mini", "ds@1/train", "sft", "succeeded", tuned]


def test_the_list_shows_jobs_as_last_retrieved_and_refresh_retrieves_the_running_ones(
    ws: Path, engine: Engine, server: FakeLLM
) -> None:
    sft = started(ws, engine)["job"]["job_id"]
    dpo = started(ws, engine, "--method", "dpo")["job"]["job_id"]
    cli(ws, engine, "finetune", "cancel", sft)
    before = orjson.loads(cli(ws, engine, "finetune", "status", "--json").stdout)
    assert [(j["job_id"], j["status"]) for j in before["jobs"]] == [
        (dpo, "validating_files"),
        (sft, "cancelled"),
    ]
    result = cli(ws, engine, "finetune", "status", "--refresh", "--json")
    assert result.exit_code == EXIT_OK, result.output
    after = orjson.loads(result.stdout)
    assert [(j["job_id"], j["status"]) for j in after["jobs"]] == [
        (dpo, "queued"),
        (sft, "cancelled"),
    ]
    retrieved = [r.path for r in server.log() if r.path.startswith("/v1/fine_tuning/jobs/")]
    assert retrieved == [f"/v1/fine_tuning/jobs/{sft}/cancel", f"/v1/fine_tuning/jobs/{dpo}"]


def test_wait_polls_until_the_job_ends_and_says_each_status(
    ws: Path, engine: Engine, server: FakeLLM
) -> None:
    job_id = started(ws, engine)["job"]["job_id"]
    result = cli(ws, engine, "finetune", "status", job_id, "--wait", "--interval", "0")
    assert result.exit_code == EXIT_OK, result.output
    assert [line.split(": ", 1)[1] for line in result.stderr.splitlines()] == [
        "queued",
        "running",
        f"succeeded · {rows(engine)[0]['trained_tokens']:,} trained tokens",
    ]
    assert rows(engine)[0]["status"] == "succeeded"
    retrievals = [r for r in server.log() if r.path == f"/v1/fine_tuning/jobs/{job_id}"]
    assert len(retrievals) == 3


def test_a_failed_job_is_recorded_with_its_error(
    tmp_path: Path, any_db: Engine, server: FakeLLM
) -> None:
    ws = workspace(tmp_path, any_db)
    server.finetune.failure = ("invalid_training_file", "The job failed: line 3 is too long.")
    job_id = started(ws, any_db)["job"]["job_id"]
    result = cli(ws, any_db, "finetune", "status", job_id, "--wait", "--interval", "0", "--json")
    assert result.exit_code == EXIT_REJECTED, result.output
    doc = orjson.loads(result.stdout)
    assert doc["status"] == "failed" and doc["eval_command"] is None
    [row] = rows(any_db)
    assert row["status"] == "failed"
    assert row["error"] == "invalid_training_file: The job failed: line 3 is too long."
    assert row["fine_tuned_model"] is None and row["finished_at"] is not None
    text_ = cli(ws, any_db, "finetune", "status", job_id)
    assert text_.exit_code == EXIT_REJECTED
    assert "error: invalid_training_file: The job failed: line 3 is too long." in text_.stdout


def test_what_the_server_says_reaches_the_terminal_with_its_escapes_visible(
    ws: Path, engine: Engine, server: FakeLLM
) -> None:
    server.finetune.failure = ("bad\x1b[2J", "\x1b]52;c;aGk=\x07 oops")
    job_id = started(ws, engine)["job"]["job_id"]
    result = cli(ws, engine, "finetune", "status", job_id, "--wait", "--interval", "0")
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "error: bad\\x1b[2J: \\x1b]52;c;aGk=\\x07 oops" in result.stdout
    listed = cli(ws, engine, "finetune", "status")
    assert "\x1b" not in listed.output


def test_cancel_asks_the_provider_and_records_it(ws: Path, engine: Engine, server: FakeLLM) -> None:
    job_id = started(ws, engine)["job"]["job_id"]
    result = cli(ws, engine, "finetune", "cancel", job_id, "--json")
    assert result.exit_code == EXIT_OK, result.output
    assert orjson.loads(result.stdout)["status"] == "cancelled"
    assert rows(engine)[0]["status"] == "cancelled"
    again = cli(ws, engine, "finetune", "cancel", job_id)
    assert again.exit_code == EXIT_USAGE
    assert f"reviewer: {job_id} has already ended (cancelled)" in again.stderr


# -- when nothing can start -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (
            "anthropic:claude-haiku-4-5",
            "reviewer: anthropic has no fine-tuning API: reviewer fine-tunes through OpenAI's API",
        ),
        ("echo:test", "reviewer: echo has no fine-tuning API"),
    ],
)
def test_a_provider_without_fine_tuning_is_refused_with_exit_2(
    ws: Path, engine: Engine, server: FakeLLM, model: str, message: str
) -> None:
    result = cli(ws, engine, "finetune", "start", "ds", "--model", model)
    assert result.exit_code == EXIT_USAGE, result.output
    assert result.stderr.startswith(message)
    assert "Traceback" not in result.output
    assert server.count == 0 and rows(engine) == []


def test_no_api_key_says_how_to_configure_one(
    ws: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    result = cli(ws, engine, "finetune", "start", "ds", "--model", "gpt-4o-mini")
    assert result.exit_code == EXIT_USAGE, result.output
    assert result.stderr == (
        "reviewer: OPENAI_API_KEY is not set: export it to fine-tune on the OpenAI API, or set "
        "OPENAI_BASE_URL for a server offering the same fine-tuning API\n"
    )
    assert rows(engine) == []


def test_too_few_usable_items_are_refused(tmp_path: Path, engine: Engine, server: FakeLLM) -> None:
    # 9 usable train cases (a tenth without an expected answer), 2 test cases
    items = [item(i, "train") for i in range(10)] + [item(i, "test") for i in range(10, 12)]
    items[4]["expected"] = None
    ws = workspace(tmp_path, engine, items)
    result = cli(ws, engine, "finetune", "start", "ds", "--model", "gpt-4o-mini")
    assert result.exit_code == EXIT_USAGE, result.output
    assert result.stderr == (
        "reviewer: dataset ds v1: 9 of its 10 train items can train sft (1 left out: 1 no "
        "expected answer), and OpenAI needs at least 10 examples: promote more reviewed cases "
        "or use --split all\n"
    )
    assert server.count == 0 and rows(engine) == []

    with_test = cli(
        ws, engine, "finetune", "start", "ds", "--model", "gpt-4o-mini", "--split", "all"
    )
    assert with_test.exit_code == EXIT_OK, with_test.output
    assert len(server.finetune.lines(rows(engine)[0]["file_id"])) == 11


def test_no_usable_item_is_refused(tmp_path: Path, engine: Engine, server: FakeLLM) -> None:
    items = [item(i, "train", expected=None) for i in range(3)]
    ws = workspace(tmp_path, engine, items)
    result = cli(ws, engine, "finetune", "start", "ds", "--model", "gpt-4o-mini")
    assert result.exit_code == EXIT_USAGE
    assert result.stderr == (
        "reviewer: dataset ds v1: none of its 3 train items can train sft (3 left out: 3 no "
        "expected answer); supervised fine-tuning needs an expected answer\n"
    )
    test_only = cli(ws, engine, "finetune", "start", "ds", "-m", "gpt-4o-mini", "--split", "test")
    assert test_only.exit_code == EXIT_USAGE
    assert test_only.stderr == (
        "reviewer: dataset ds v1 has no test items (its items by split: 3 train) "
        "(--split all takes every item)\n"
    )
    unknown = cli(ws, engine, "finetune", "start", "nope", "-m", "gpt-4o-mini")
    assert unknown.exit_code == EXIT_USAGE and "nope" in unknown.stderr
    assert server.count == 0 and rows(engine) == []


# -- uploaded once; a start cut off part-way ------------------------------------------------------


def test_the_same_start_again_shows_the_job_and_another_suffix_reuses_the_file(
    ws: Path, engine: Engine, server: FakeLLM
) -> None:
    first = started(ws, engine)
    again = started(ws, engine)
    assert again["existing"] is True and again["job"]["job_id"] == first["job"]["job_id"]
    other = started(ws, engine, "--suffix", "v2")
    assert (other["uploaded"], other["reused_file"]) == (False, True)
    assert other["job"]["file_id"] == first["job"]["file_id"]
    assert server.finetune.uploads == 1 and len(server.finetune.created) == 2
    forced = started(ws, engine, "--again")
    assert forced["reused_file"] is True and forced["job"]["job_id"] != first["job"]["job_id"]
    assert server.finetune.uploads == 1 and len(server.finetune.created) == 3
    uploads = [r for r in server.log() if r.path == "/v1/files" and r.method == "POST"]
    assert len(uploads) == 1


def test_a_failed_job_started_again_reuses_the_file(
    ws: Path, engine: Engine, server: FakeLLM
) -> None:
    server.finetune.failure = ("server_error", "try again")
    first = started(ws, engine)
    cli(ws, engine, "finetune", "status", first["job"]["job_id"], "--wait", "--interval", "0")
    server.finetune.failure = None
    second = started(ws, engine)
    assert (second["existing"], second["reused_file"]) == (False, True)
    assert second["job"]["file_id"] == first["job"]["file_id"]
    assert server.finetune.uploads == 1
    assert [r["status"] for r in rows(engine)] == ["failed", "validating_files"]


def test_a_refused_job_creation_keeps_the_upload_and_the_next_start_finishes_it(
    ws: Path, engine: Engine, server: FakeLLM
) -> None:
    server.finetune.push("create", *[Fail(500)] * 3)  # the SDK's two retries too
    result = cli(ws, engine, "finetune", "start", "ds", "--model", "gpt-4o-mini")
    assert result.exit_code == EXIT_REJECTED, result.output
    assert result.stderr.startswith("reviewer: creating the fine-tuning job: HTTP 500: ")
    [row] = rows(engine)
    assert (row["status"], row["job_id"]) == ("uploaded", None) and row["file_id"]
    doc = started(ws, engine)
    assert (doc["resumed"], doc["uploaded"]) == (True, False)
    assert doc["job"]["file_id"] == row["file_id"] and doc["job"]["job_id"]
    assert server.finetune.uploads == 1 and len(server.finetune.created) == 1
    assert len(rows(engine)) == 1


def test_a_file_gone_from_the_server_is_uploaded_again(
    ws: Path, engine: Engine, server: FakeLLM
) -> None:
    first = started(ws, engine)
    del server.finetune.files[first["job"]["file_id"]]
    other = started(ws, engine, "--suffix", "b")
    assert other["uploaded"] is True and other["job"]["file_id"] != first["job"]["file_id"]


def test_a_start_killed_after_the_job_was_created_finds_it_instead_of_making_another(
    ws: Path, engine: Engine, server: FakeLLM
) -> None:
    """The server creates the job but its answer never comes; the process is killed while it
    waits. The next start finds the job by the request id sent as its metadata."""
    server.finetune.push("create", Vanish())
    process = reviewer(ws, engine, "finetune", "start", "ds", "--model", "gpt-4o-mini")
    try:
        deadline = time.monotonic() + 60
        while not server.finetune.created and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.finetune.created, process.stderr
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    [row] = rows(engine)
    assert (row["status"], row["job_id"]) == ("uploaded", None)
    [made] = server.finetune.jobs

    doc = started(ws, engine)
    assert doc["resumed"] is True and doc["job"]["job_id"] == made
    assert len(server.finetune.created) == 1 and server.finetune.uploads == 1
    assert [(r["job_id"], r["status"]) for r in rows(engine)] == [(made, "validating_files")]


# -- the tuned model against its base ------------------------------------------------------------


def test_ft_model_ids_go_to_the_openai_provider() -> None:
    from reviewer.evals.runner import parse_model

    tuned = "ft:gpt-4o-mini-2024-07-18:org::abc123"
    assert parse_model(tuned, "openai") == ("openai", tuned)
    assert parse_model(f"openai:{tuned}", "anthropic") == ("openai", tuned)
    assert finetune.split_model(tuned) == ("openai", tuned)


def test_tuned_models_are_priced_as_their_base_s_fine_tuned_inference() -> None:
    prices = PriceTable.load()
    assert prices.find("ft:gpt-4o-mini-2024-07-18:org::abc123") == Price(0.30, 1.20)
    assert prices.find("ft:gpt-4o-2024-08-06:org:clara:x1") == Price(3.75, 15.00)
    assert prices.find("gpt-4o-mini") == Price(0.15, 0.60)


def test_after_success_the_printed_eval_compares_base_and_tuned_on_the_held_out_split(
    ws: Path, engine: Engine, server: FakeLLM
) -> None:
    job_id = started(ws, engine)["job"]["job_id"]
    done = cli(ws, engine, "finetune", "status", job_id, "--wait", "--interval", "0", "--json")
    tuned = orjson.loads(done.stdout)["fine_tuned_model"]
    command = orjson.loads(done.stdout)["eval_command"]
    assert command == f"reviewer eval PROMPT -d ds --split test -m gpt-4o-mini -m {tuned}"

    args = shlex.split(command.replace("PROMPT", "support"))[1:]
    result = cli(ws, engine, *args, "--json")
    assert result.exit_code == EXIT_OK, result.output
    runs = {run["model"]: run for run in orjson.loads(result.stdout)["runs"]}
    assert runs[tuned]["provider"] == "openai"
    # only the 3 held-out cases (c13-c15), none of which the model was trained on
    assert (runs["gpt-4o-mini"]["summary"]["n"], runs[tuned]["summary"]["n"]) == (3, 3)
    assert (runs["gpt-4o-mini"]["summary"]["passed"], runs[tuned]["summary"]["passed"]) == (0, 3)
    assert runs[tuned]["summary"]["cost_usd"] > 0
    asked = [(r.model, last_user_text(r.body)) for r in server.log("/v1/chat/completions")]
    assert sorted(asked) == sorted(
        (model, f"Q{i}?") for model in ("gpt-4o-mini", tuned) for i in (13, 14, 15)
    )
    trained_on = {
        line["messages"][-2]["content"] for line in server.finetune.lines(runs_file(engine))
    }
    assert not trained_on & {"Q13?", "Q14?", "Q15?"}

    # the suggested command now names the prompt last evaluated on the dataset
    status = cli(ws, engine, "finetune", "status", job_id, "--json")
    assert orjson.loads(status.stdout)["eval_command"] == (
        f"reviewer eval support -d ds --split test -m gpt-4o-mini -m {tuned}"
    )
    # a prompt on another provider: the models name theirs
    prompt = ws / "prompts" / "support.yaml"
    prompt.write_text(
        PROMPT.replace("openai", "anthropic").replace("gpt-4o-mini", "claude-haiku-4-5")
    )
    status = cli(ws, engine, "finetune", "status", job_id, "--json")
    assert orjson.loads(status.stdout)["eval_command"] == (
        f"reviewer eval support -d ds --split test -m openai:gpt-4o-mini -m openai:{tuned}"
    )


def runs_file(engine: Engine) -> str:
    return str(rows(engine)[0]["file_id"])


def test_ctrl_c_stops_waiting_not_the_job(ws: Path, engine: Engine, server: FakeLLM) -> None:
    job_id = started(ws, engine)["job"]["job_id"]
    path = f"/v1/fine_tuning/jobs/{job_id}"
    process = reviewer(ws, engine, "finetune", "status", job_id, "--wait", "--interval", "600")
    try:
        # the first retrieval's status line is printed just before the command sleeps until the
        # next, so the interrupt reaches it waiting (not still starting up)
        assert process.stderr is not None
        # (a command stuck before its first line fails here instead of hanging the suite)
        ready, _w, _x = select.select([process.stderr], [], [], 60)
        assert ready, "no status line within 60 s"
        first = process.stderr.readline()
        assert first.decode() == f"{job_id}: queued\n"
        assert len(server.log(path)) == 1
    finally:
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=60)
    assert process.returncode == EXIT_INTERRUPTED, first + err
    assert err.decode().endswith(
        f"stopped waiting: the job goes on (reviewer finetune status {job_id} --wait)\n"
    )
    assert not [r for r in server.log() if r.path.endswith("/cancel")]
    assert rows(engine)[0]["status"] == "queued"
    assert server.finetune.jobs[job_id]["status"] == "queued"


def test_an_unknown_job_is_a_clear_message(ws: Path, engine: Engine, server: FakeLLM) -> None:
    result = cli(ws, engine, "finetune", "status", "ftjob-nope")
    assert result.exit_code == EXIT_USAGE
    assert result.stderr == (
        "reviewer: no fine-tuning job 'ftjob-nope' is recorded here "
        "(reviewer finetune status lists them)\n"
    )
    empty = cli(ws, engine, "finetune", "status")
    assert empty.exit_code == EXIT_OK
    assert (
        empty.stdout == "no fine-tuning jobs yet (reviewer finetune start DATASET --model BASE)\n"
    )
