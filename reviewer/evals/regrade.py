"""Grading a baseline run's stored outputs again with another run's graders: like with like.

When the graders of a run differ from those of its baseline run, a case could show ✗→✓ with
the same output on both sides only because the graders changed. `regrade_baseline` grades the
baseline's outputs with the run's graders instead. No model is called: the outputs are the
stored ones, and a judge's answer is read from the response cache; a case whose judge answer
is not there is left without a verdict (its reason says why), so it counts as `new`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from typing import Any, TypeVar

import orjson
from sqlalchemy import Engine, Table, select
from sqlmodel import SQLModel

from reviewer.evals import graders
from reviewer.evals.compare import Baseline, Side, output_text
from reviewer.store import schema  # noqa: F401  (registers the tables)

CACHE: Table = SQLModel.metadata.tables["response_cache"]
VERSIONS: Table = SQLModel.metadata.tables["prompt_versions"]

T = TypeVar("T")


class NotCached(Exception):
    """A judge answer the response cache does not hold (regrading never calls a model)."""


def _canonical(specs: Any) -> list[str] | None:
    """The specs in full form, as sorted JSON texts (None when there are none recorded)."""
    if not isinstance(specs, list):
        return None
    out = []
    for spec in specs:
        try:
            full: Any = graders.normalize_grader(spec)
        except graders.GraderError:
            full = spec
        out.append(orjson.dumps(full, option=orjson.OPT_SORT_KEYS).decode())
    return sorted(out)


def graders_differ(before: Any, after: Any) -> bool:
    """Whether two runs' grader specs (as recorded) grade differently; unknown specs (an old
    run without them) are not a difference."""
    a, b = _canonical(before), _canonical(after)
    return a is not None and b is not None and a != b


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end from synchronous code, in a thread when a loop is running
    here already."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def judge_target(engine: Engine, run: Any) -> tuple[str | None, str | None]:
    """The judges' default model and provider of a run: its prompt's (from the recorded
    version), else the run's."""
    from reviewer.evals.prompts import PromptError, parse_prompt

    with engine.connect() as conn:
        content = conn.execute(
            select(VERSIONS.c.content).where(
                VERSIONS.c.name == run.prompt_name, VERSIONS.c.hash == run.prompt_hash
            )
        ).scalar()
    if content:
        try:
            prompt = parse_prompt(content, f"prompts/{run.prompt_name}.yaml")
        except PromptError:
            pass
        else:
            return prompt.model or None, prompt.provider
    return run.model or None, run.provider


def cached_judge(engine: Engine) -> graders.JudgeFn:
    """A judge that answers from the response cache only (NotCached otherwise)."""
    from reviewer.evals.runner import JUDGE_PARAMS, cache_key

    async def judge(messages: list[dict[str, Any]], model: str, provider: str | None) -> str:
        name = provider or ("anthropic" if model.startswith("claude") else "openai")
        key = cache_key(name, model, JUDGE_PARAMS, messages)

        def read() -> Any:
            with engine.connect() as conn:
                return conn.execute(select(CACHE.c.response).where(CACHE.c.key == key)).scalar()

        response = await asyncio.to_thread(read)
        if not response:
            raise NotCached(model)
        data = orjson.loads(response)
        return str((data.get("output") or {}).get("content") or "")

    return judge


def regrade_baseline(
    engine: Engine,
    baseline: Baseline,
    specs: list[dict[str, Any]],
    items: dict[str, dict[str, Any]],
    *,
    judge_model: str | None = None,
    judge_provider: str | None = None,
) -> Baseline:
    """The baseline with each stored output graded by `specs` (and the item's assertions of
    `items`, the compared run's dataset version). A side without an output (an error), or
    whose item is not in `items`, is kept as it was."""
    judge = cached_judge(engine)

    async def one(item_id: str, side: Side) -> Side:
        item = items.get(item_id)
        if side.output is None or item is None:
            return side
        try:
            found = await graders.grade(
                specs, item, output_text(side.output), judge=judge,
                judge_model=judge_model, judge_provider=judge_provider,
            )  # fmt: skip
        except (NotCached, graders.GraderError) as exc:
            why = (
                "its judge answer is not in the cache (no model is called to regrade)"
                if isinstance(exc, NotCached)
                else str(exc)
            )
            return Side(
                output=side.output,
                passed=None,
                grades=[{"grader": "regrade", "passed": None, "score": None,
                         "reason": f"not regraded: {why}"}],
                latency_ms=side.latency_ms,
                cost_usd=side.cost_usd,
            )  # fmt: skip
        passed, score = graders.overall(found)
        return Side(
            output=side.output,
            passed=passed,
            score=score,
            grades=[g.to_dict() for g in found],
            latency_ms=side.latency_ms,
            cost_usd=side.cost_usd,
        )

    async def every() -> list[Side]:
        return list(await asyncio.gather(*(one(k, s) for k, s in baseline.cases.items())))

    sides = _run(every())
    return Baseline(
        kind=baseline.kind,
        label=f"{baseline.label}, regraded with this run's graders",
        run_id=baseline.run_id,
        model=baseline.model,
        prompt_hash=baseline.prompt_hash,
        cases=dict(zip(baseline.cases, sides, strict=True)),
        graders=list(specs),
        regraded=True,
    )
