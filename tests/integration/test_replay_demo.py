"""The shipped offline demo: `returns-demo` replays recorded answers (no key, no network) and
shows a flaky case, through the normal eval path; the replay provider's errors."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from reviewer.cli import app
from reviewer.evals.providers import ProviderError, ReplayProvider
from tests.conftest import REPO


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    ws = tmp_path / "shop"
    shutil.copytree(REPO / "prompts", ws / "prompts")
    shutil.copytree(REPO / "queues", ws / "queues")
    monkeypatch.chdir(ws)
    made = CliRunner().invoke(
        app, ["datasets", "import", "returns-demo", "prompts/returns-demo.cases.jsonl"]
    )
    assert made.exit_code == 0, made.output
    return ws


def test_the_demo_eval_shows_a_flaky_case(demo: Path) -> None:
    out = CliRunner().invoke(app, ["eval", "returns-demo", "-d", "returns-demo"])
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert lines[0] == "returns-demo (b70fee6a) on returns-demo v1: 4 cases"
    assert lines[1].startswith(
        "gpt-4o-mini · samples=5  pass rate 75% (no baseline) · pass@1 65% · pass@5 75% · "
        "pass^5 50% · 1 flaky · $0.00056 · p50 789 ms · p95 1.1 s"
    )
    assert lines[3].strip() == (
        "flaky: returns-demo/3 (3 of 5 passed · pass@1 60% · pass^5 0% · consistency 60%)"
    )

    again = CliRunner().invoke(app, ["eval", "returns-demo", "-d", "returns-demo", "--json"])
    [run] = orjson.loads(again.stdout)["runs"]
    assert run["summary"]["called"] == 0 and run["resumed"] is True
    assert run["summary"]["flaky"] == ["returns-demo/3"]
    [case] = [c for c in run["cases"] if c["item_id"] == "returns-demo/3"]
    assert case["samples"]["pass@1"] == 0.6 and case["samples"]["pass^5"] == 0.0


def test_the_demo_compares_models_and_strategies(demo: Path) -> None:
    out = CliRunner().invoke(
        app,
        ["eval", "returns-demo", "-d", "returns-demo", "-m", "replay:gpt-4o-mini",
         "-m", "replay:gpt-4o", "-s", "single", "-s", "samples=5", "-s", "self-critique",
         "-s", "best-of=3", "--json"],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    table = orjson.loads(out.stdout)["table"]
    assert [(r["model"], r["strategy"], round(r["quality"], 2), r["pareto"]) for r in table] == [
        ("gpt-4o-mini", "single", 0.75, True),
        ("gpt-4o", "single", 1.0, True),
        ("gpt-4o-mini", "samples=5", 0.65, True),
        ("gpt-4o", "samples=5", 1.0, False),
        ("gpt-4o-mini", "self-critique", 1.0, True),
        ("gpt-4o", "self-critique", 1.0, False),
        ("gpt-4o-mini", "best-of=3", 0.75, False),
        ("gpt-4o", "best-of=3", 1.0, False),
    ]


def test_the_recordings_are_what_the_script_makes() -> None:
    path = REPO / "prompts" / "recorded" / "make_recordings.py"
    spec = importlib.util.spec_from_file_location("make_recordings", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, data in module.build().items():
        assert (REPO / "prompts" / "recorded" / name).read_bytes() == data, name


async def test_replay_says_what_is_missing(tmp_path: Path) -> None:
    recorded = tmp_path / "m.jsonl"
    hello = [{"role": "user", "content": "hello"}]
    recorded.write_bytes(
        orjson.dumps({"messages": hello, "output": "hi", "latency_ms": 5, "output_tokens": 1})
        + b"\n"
    )
    provider = ReplayProvider(str(tmp_path))
    done = await provider.complete(hello, "m")
    assert done.output == {"role": "assistant", "content": "hi"} and done.latency_ms == 5.0
    with pytest.raises(
        ProviderError, match=r'replay m: no recorded answer for this input \("sample": 1\)'
    ):
        await provider.complete(hello, "m", sample=1)
    with pytest.raises(ProviderError, match="cannot read the recorded answers .*other.jsonl"):
        await provider.complete(hello, "other")
    recorded.write_bytes(b'{"messages": "x"}\n')
    with pytest.raises(ProviderError, match=r"m.jsonl: line 1: not a recorded answer"):
        await ReplayProvider(str(recorded)).complete(hello, "m")
    with pytest.raises(ProviderError, match="set base_url"):
        ReplayProvider(None)
