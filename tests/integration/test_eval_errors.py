"""`reviewer eval` when cases cannot be graded: a model server that refuses the connection, a
template that would render hundreds of megabytes or names an undefined variable, an answer over
1 MiB. Each is an error of its case, counted apart from the graded ones, and the command exits 1;
nothing of a refused answer is stored."""

from __future__ import annotations

import os
import socket
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

from reviewer.cli import EXIT_OK, EXIT_REJECTED, app
from reviewer.datasets.store import import_items
from tests.fake_llm import FakeLLM

REPO = Path(__file__).resolve().parents[2]
PROMPT = """\
name: support
provider: openai
model: gpt-4o-mini
system: You are the support assistant of a shoe shop.
graders:
  - {type: not_contains, value: "90 days"}
"""


def keys(monkeypatch: pytest.MonkeyPatch, base_url: str) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-openai")
    monkeypatch.setenv("OPENAI_BASE_URL", base_url)
    for var in ("REVIEWER_JUDGE_MODEL", "REVIEWER_JUDGE_PROVIDER"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLM]:
    with FakeLLM() as fake:
        keys(monkeypatch, fake.openai_url)
        yield fake


@pytest.fixture
def ws(tmp_path: Path, engine: Engine) -> Path:
    """The workspace of the `engine` fixture's database: a prompt and a dataset of 3 items."""
    root = tmp_path / "ws"
    (root / "prompts").mkdir(parents=True)
    (root / "queues").mkdir()
    (root / "prompts" / "support.yaml").write_text(PROMPT)
    items = tmp_path / "items.jsonl"
    items.write_bytes(
        b"".join(
            orjson.dumps({"id": f"i{i}", "messages": [{"role": "user", "content": f"Q{i}?"}]})
            + b"\n"
            for i in range(3)
        )
    )
    assert import_items(engine, "ds", items, by="ana").ok
    return root


def run(ws: Path, *extra: str) -> Any:
    return CliRunner().invoke(app, ["--workspace", str(ws), "eval", "support", "-d", "ds", *extra])


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_a_server_that_refuses_the_connection_gives_errors_and_exit_1(
    ws: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys(monkeypatch, f"http://127.0.0.1:{unused_port()}/v1")
    result = run(ws, "--json")
    assert result.exit_code == EXIT_REJECTED, result.output
    doc = orjson.loads(result.stdout)
    assert doc["ok"] is False and doc["errors"] == 3
    [one] = doc["runs"]
    assert (one["summary"]["graded"], one["summary"]["errors"]) == (0, 3)
    assert (one["comparison"]["graded"], one["comparison"]["errors"]) == (0, 3)
    assert one["comparison"]["pass_rate"] is None
    assert all(case["change"] == "error" and case["error"] for case in one["cases"])

    text_ = run(ws, "--no-cache")
    assert text_.exit_code == EXIT_REJECTED, text_.output
    assert "0 graded · 3 errors" in text_.stdout
    assert "pass rate - (no baseline) · 3 errors" in text_.stdout
    assert "gpt-4o-mini: 3 of 3 cases could not be graded (errors)" in text_.stderr
    assert "Traceback" not in text_.output


def test_every_case_graded_exits_0_and_counts_no_error(ws: Path, server: FakeLLM) -> None:
    result = run(ws)
    assert result.exit_code == EXIT_OK, result.output
    assert "3 graded · 0 errors" in result.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{{ 'a' * 400000000 }}", "characters a template may render"),
        ("Hi {{ customer }}", "undefined variable 'customer'"),
    ],
)
def test_a_template_that_cannot_render_is_an_error_of_each_case_quickly(
    ws: Path, server: FakeLLM, content: str, message: str
) -> None:
    prompt = ws / "prompts" / "support.yaml"
    prompt.write_text(PROMPT + f'messages:\n  - {{role: user, content: "{content}"}}\n')
    command = (
        "import resource, subprocess, sys, time; started = time.monotonic(); "
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
        "print(done.returncode, time.monotonic() - started, "
        "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
        "print(done.stdout); print(done.stderr, file=sys.stderr)"
    )
    reviewer = [sys.executable, "-m", "reviewer.cli", "--workspace", str(ws)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", command, *reviewer, "eval", "support", "-d", "ds", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    status, seconds, max_kib = done.stdout.split("\n", 1)[0].split()
    assert int(status) == EXIT_REJECTED, done.stderr
    assert float(seconds) < 30
    assert int(max_kib) < 300 * 1024  # the 400 MB string was never built
    doc = orjson.loads(done.stdout.split("\n", 1)[1])
    [one] = doc["runs"]
    assert (one["summary"]["errors"], one["summary"]["graded"]) == (3, 0)
    assert all(message in case["error"] for case in one["cases"])
    assert server.count == 0  # no call was made


def test_an_answer_over_1_mib_is_an_error_and_not_stored(
    ws: Path, engine: Engine, server: FakeLLM
) -> None:
    server.responder = lambda body: "x" * (1024 * 1024 + 1)
    started = time.monotonic()
    result = run(ws, "--json")
    assert result.exit_code == EXIT_REJECTED, result.output
    [one] = orjson.loads(result.stdout)["runs"]
    assert (one["summary"]["errors"], one["summary"]["graded"]) == (3, 0)
    assert all("over the limit of 1,048,576" in case["error"] for case in one["cases"])
    assert count(engine, "response_cache") == 0
    with engine.connect() as conn:
        outputs = conn.execute(text("SELECT output FROM eval_results")).scalars().all()
    assert outputs == [None, None, None]
    assert time.monotonic() - started < 60
