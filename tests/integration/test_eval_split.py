"""`reviewer eval --split train|test` (and `split=` in `run_eval`): a run on one split of the
dataset calls only that split's items, is a run of its own (the split is part of its key) and
says which split it used; through the real SDK to the fake server."""

from __future__ import annotations

from pathlib import Path

import orjson
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from reviewer.cli import app
from reviewer.datasets.store import import_items
from reviewer.evals.compare import compare
from reviewer.evals.runner import run_eval
from tests.fake_llm import FakeLLM, last_user_text
from tests.integration.test_runner import PROMPT, prompt, run_row, server, ws  # noqa: F401

TEST_ITEMS = {1, 4}


def split_dataset(engine: Engine, folder: Path, n: int = 6) -> None:
    lines = [
        {
            "id": f"i{i}",
            "messages": [{"role": "user", "content": f"Question {i}?"}],
            "split": "test" if i in TEST_ITEMS else "train",
        }
        for i in range(n)
    ]
    path = folder / "split.jsonl"
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    assert import_items(engine, "ds", path, by="ana").ok


async def test_a_run_on_one_split_calls_only_its_items(
    engine: Engine,
    tmp_path: Path,
    server: FakeLLM,  # noqa: F811
) -> None:
    split_dataset(engine, tmp_path)
    seen: list[tuple[int, int]] = []
    [test_run] = await run_eval(
        engine, prompt(), PROMPT, "ds", split="test", progress=lambda d, t: seen.append((d, t))
    )
    assert sorted(last_user_text(r.body) for r in server.log()) == ["Question 1?", "Question 4?"]
    assert test_run.summary["n"] == 2 and test_run.summary["called"] == 2
    assert seen[-1] == (2, 2)
    assert run_row(engine, test_run.run_id)["split"] == "test"

    server.reset()  # the same split again: the same run, nothing called
    [again] = await run_eval(engine, prompt(), PROMPT, "ds", split="test")
    assert again.run_id == test_run.run_id and again.resumed and server.count == 0

    # the whole dataset is another run: its two test items come from the cache
    [whole] = await run_eval(engine, prompt(), PROMPT, "ds")
    assert whole.run_id != test_run.run_id and run_row(engine, whole.run_id)["split"] is None
    assert sorted(last_user_text(r.body) for r in server.log()) == [
        f"Question {i}?" for i in (0, 2, 3, 5)
    ]
    assert whole.summary["n"] == 6 and whole.summary["cached"] == 2
    # a run on the whole dataset is not compared with a run on a part of it
    assert compare(engine, whole.run_id).baseline.kind != "run"

    [train] = await run_eval(engine, prompt(), PROMPT, "ds", split="train")
    assert train.summary["n"] == 4 and train.summary["called"] == 0
    with engine.connect() as conn:
        splits = conn.execute(text("SELECT split FROM eval_runs ORDER BY id")).scalars().all()
    assert splits == ["test", None, "train"]
    # a run on a split is compared with the earlier run on the whole dataset (same items)
    assert compare(engine, train.run_id).baseline.run_id == whole.run_id


def test_cli_split(
    engine: Engine,
    tmp_path: Path,
    ws: Path,  # noqa: F811
    server: FakeLLM,  # noqa: F811
) -> None:
    split_dataset(engine, tmp_path)
    runner = CliRunner()
    base = ["--workspace", str(ws), "eval", "support", "-d", "ds"]

    out = runner.invoke(app, [*base, "--split", "test", "--json"])
    assert out.exit_code == 0, out.output
    doc = orjson.loads(out.stdout)
    assert doc["split"] == "test"
    [run] = doc["runs"]
    assert run["summary"]["n"] == 2
    assert sorted(c["item_id"] for c in run["cases"]) == ["i1", "i4"]

    shown = runner.invoke(app, [*base, "--split", "test"])
    assert shown.exit_code == 0, shown.output
    assert "on ds v1 (test split): 2 cases" in shown.stdout

    bad = runner.invoke(app, [*base, "--split", "validation"])
    assert bad.exit_code == 2 and "--split is train or test, not 'validation'" in bad.stderr


async def test_split_on_postgres(
    pg_engine: Engine,
    tmp_path: Path,
    server: FakeLLM,  # noqa: F811
) -> None:
    await test_a_run_on_one_split_calls_only_its_items(pg_engine, tmp_path, server)
