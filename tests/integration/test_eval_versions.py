"""Which texts an eval keeps as versions of a workspace prompt: the file as it was before the
first edit is version 1, the edited text that ran is version 2 with its author, and a prompt
file from elsewhere that has the same name is not a version of the workspace's prompt."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from reviewer.evals.prompts import load_prompt, parse_prompt
from reviewer.evals.runner import run_eval
from reviewer.evals.versions import history
from tests.fake_llm import FakeLLM
from tests.integration.test_runner import PROMPT, make_dataset, server, ws  # noqa: F401

EDITED = PROMPT.replace("of a shoe shop.", "of a shoe shop. Returns within 30 days.")


async def test_the_file_as_it_was_is_version_1_and_the_edit_version_2(
    engine: Engine,
    tmp_path: Path,
    ws: Path,  # noqa: F811
    server: FakeLLM,  # noqa: F811
) -> None:
    make_dataset(engine, tmp_path, 2)
    edited = parse_prompt(EDITED, "prompts/support.yaml")  # the lab's unsaved buffer
    await run_eval(engine, edited, EDITED, "ds", workspace=ws, by="ana")
    entries = history(engine, "support")
    assert [(e.number, e.by, e.note) for e in reversed(entries)] == [
        (1, None, "the file as it was"),
        (2, "ana", None),
    ]
    assert "+system: You are the support assistant of a shoe shop. Returns" in entries[0].diff
    assert [len(e.runs) for e in reversed(entries)] == [0, 1]


async def test_a_prompt_from_elsewhere_is_not_a_version_of_the_workspace_prompt(
    engine: Engine,
    tmp_path: Path,
    ws: Path,  # noqa: F811
    server: FakeLLM,  # noqa: F811
) -> None:
    make_dataset(engine, tmp_path, 2)
    elsewhere = tmp_path / "scratch" / "support.yaml"
    elsewhere.parent.mkdir()
    elsewhere.write_text(EDITED)
    [outcome] = await run_eval(engine, load_prompt(elsewhere), EDITED, "ds", workspace=ws, by="ana")
    assert outcome.run_id
    assert history(engine, "support") == []
    own = load_prompt(ws / "prompts" / "support.yaml")
    await run_eval(engine, own, PROMPT, "ds", workspace=ws)
    assert [e.number for e in history(engine, "support")] == [1]
