"""Calibrating a judge from the human reviews (`reviewer judges calibrate`).

The queue's reviewed items (one human verdict per item: the majority of its reviewers, ties
left out) are split by a seeded hash into a part to learn from and a held-out part. Each round
makes candidates: the current judge plus few-shot examples chosen from its disagreements with
the humans on the learning part (varied across human verdicts and themes). A candidate is
scored by its agreement with the humans on the learning part (Cohen's kappa on the verdict,
accuracy when kappa is undefined); the best one is kept for the next round. The result is the
best candidate against the original on the held-out part, which no candidate saw. It is saved
as a new version of the judge file only when asked (`--save`).

Every call goes through the response cache: a rerun with nothing changed calls no model.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, select

from reviewer.evals.assist import AssistError, ask_judge, find_judge
from reviewer.evals.prompts import PromptFile, parse_prompt
from reviewer.evals.providers import Provider, ProviderError, get_provider
from reviewer.messages import last_user_text
from reviewer.review.agreement import cohens_kappa
from reviewer.review.queues import QueueDef
from reviewer.store.events import EVENTS, is_latest, load_record

PER_ROUND = 2  # examples a candidate adds


@dataclass
class Labelled:
    """An item with its human verdict (and the review it came from)."""

    queue_item_id: int
    record: dict[str, Any]
    verdict: str
    scores: dict[str, Any]
    themes: list[str]


@dataclass
class Score:
    n: int
    accuracy: float | None
    kappa: float | None

    @property
    def value(self) -> float:
        """What candidates are ranked by: kappa, else accuracy."""
        if self.kappa is not None:
            return self.kappa
        return self.accuracy if self.accuracy is not None else -1.0

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "accuracy": self.accuracy, "kappa": self.kappa}


@dataclass
class Calibration:
    judge: str
    queue: str
    learn: int
    held_out: int
    rounds: list[dict[str, Any]] = field(default_factory=list)
    before: Score | None = None  # the original judge on the held-out part
    after: Score | None = None  # the best candidate on the held-out part
    examples_added: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    text: str = ""  # the calibrated judge file's text
    saved_version: int | None = None

    @property
    def improved(self) -> bool:
        return (
            self.before is not None
            and self.after is not None
            and self.after.value > self.before.value
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "judge": self.judge,
            "queue": self.queue,
            "learn": self.learn,
            "held_out": self.held_out,
            "rounds": self.rounds,
            "before": self.before.to_dict() if self.before else None,
            "after": self.after.to_dict() if self.after else None,
            "improved": self.improved,
            "examples_added": self.examples_added,
            "requests": self.requests,
            "saved_version": self.saved_version,
        }


def labelled_items(engine: Engine, queue: QueueDef) -> list[Labelled]:
    """The queue's items with a human verdict (the majority of their reviewers; ties out)."""
    e = EVENTS.alias("e")
    with engine.connect() as conn:
        rows = conn.execute(
            select(e)
            .where(e.c.queue == queue.name, e.c.verdict.is_not(None), is_latest(e))
            .order_by(e.c.queue_item_id, e.c.reviewer)
        ).all()
        by_item: dict[int, list[Any]] = {}
        for row in rows:
            by_item.setdefault(int(row.queue_item_id), []).append(row)
        out = []
        for item_id, reviews in by_item.items():
            votes = Counter(r.verdict for r in reviews).most_common()
            if len(votes) > 1 and votes[0][1] == votes[1][1]:
                continue
            first = next(r for r in reviews if r.verdict == votes[0][0])
            out.append(
                Labelled(
                    item_id,
                    load_record(conn, first.record_id),
                    votes[0][0],
                    orjson.loads(first.scores) if first.scores else {},
                    orjson.loads(first.themes) if first.themes else [],
                )
            )
    return out


def split(
    items: list[Labelled], seed: int, held_out: float = 0.3
) -> tuple[list[Labelled], list[Labelled]]:
    """(learn, held out): by a seeded hash of each item's record, so the split is stable (the
    same whatever order the queues were filled in)."""
    from reviewer.datasets.items import hash_split

    return hash_split(items, lambda item: str(item.record["id"]), held_out, seed=seed)


def example_of(item: Labelled) -> dict[str, Any]:
    """A few-shot example from a human-labelled item (as a judge file writes one)."""
    output = (item.record.get("output") or {}).get("content")
    return {
        "input": last_user_text(item.record.get("messages") or []),
        "output": output if isinstance(output, str) else orjson.dumps(output).decode(),
        "verdict": item.verdict,
        "scores": item.scores,
        "themes": item.themes,
        "reason": "a reviewer's grade",
        "confidence": 1.0,
    }


def with_examples(judge: PromptFile, examples: list[dict[str, Any]]) -> str:
    """The judge file's text with `examples` added (the rest as written)."""
    import yaml

    data = yaml.safe_load(judge.text) if judge.text else judge.model_dump(exclude_defaults=True)
    data["examples"] = [*(data.get("examples") or []), *examples]
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


async def _verdicts(
    engine: Engine,
    provider: Provider,
    judge: PromptFile,
    queue: QueueDef,
    guidelines: str | None,
    items: list[Labelled],
    examples: list[dict[str, Any]],
    concurrency: int,
    counter: list[int],
) -> list[str | None]:
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(item: Labelled) -> str | None:
        async with gate:
            try:
                answer, _raw, _error, done = await ask_judge(
                    provider, judge, queue, item.record, guidelines, engine=engine,
                    examples=[*judge.examples, *examples],
                )  # fmt: skip
            except ProviderError:
                return None
            counter[0] += len(done)
            return answer["verdict"] if answer else None

    return list(await asyncio.gather(*(one(i) for i in items)))


def _score(items: list[Labelled], verdicts: list[str | None]) -> Score:
    pairs = [(i.verdict, v or "none") for i, v in zip(items, verdicts, strict=True)]
    if not pairs:
        return Score(0, None, None)
    accuracy = sum(1 for a, b in pairs if a == b) / len(pairs)
    return Score(len(pairs), accuracy, cohens_kappa(pairs))


def _choose(
    disagreements: list[Labelled], used: set[int], taken: list[dict[str, Any]]
) -> list[Labelled]:
    """Up to PER_ROUND disagreements, varied: a (verdict, theme) not chosen yet first."""
    seen = {(e["verdict"], tuple(e["themes"][:1])) for e in taken}
    chosen: list[Labelled] = []
    for item in disagreements:
        if item.queue_item_id in used:
            continue
        key = (item.verdict, tuple(item.themes[:1]))
        if key in seen:
            continue
        chosen.append(item)
        seen.add(key)
        if len(chosen) == PER_ROUND:
            return chosen
    for item in disagreements:  # not varied enough: the rest in order
        if item.queue_item_id not in used and item not in chosen:
            chosen.append(item)
            if len(chosen) == PER_ROUND:
                break
    return chosen


async def calibrate(
    engine: Engine,
    workspace: Path,
    queue: QueueDef,
    judge_name: str,
    *,
    rounds: int = 3,
    seed: int = 0,
    concurrency: int = 8,
    provider: Provider | None = None,
) -> Calibration:
    judge = find_judge(workspace, judge_name)
    guidelines = queue.guidelines()
    items = await asyncio.to_thread(labelled_items, engine, queue)
    learn, hold = split(items, seed)
    result = Calibration(judge.name, queue.name, len(learn), len(hold))
    if not learn or not hold:
        raise AssistError(
            f"queue {queue.name} has {len(items)} reviewed items: too few to learn from and "
            "check on (review more, then calibrate)"
        )
    if provider is None:
        try:
            provider = get_provider(judge.provider, judge.base_url)
        except ProviderError as exc:
            raise AssistError(str(exc)) from None
    counter = [0]
    try:
        current: list[dict[str, Any]] = []
        used: set[int] = set()
        verdicts = await _verdicts(
            engine, provider, judge, queue, guidelines, learn, current, concurrency, counter
        )
        best = _score(learn, verdicts)
        result.rounds.append({"round": 0, "examples": 0, "learn": best.to_dict()})
        for number in range(1, rounds + 1):
            wrong = [i for i, v in zip(learn, verdicts, strict=True) if v != i.verdict]
            picked = _choose(wrong, used, current)
            if not picked:
                break
            candidate = [*current, *(example_of(i) for i in picked)]
            scoring = [
                i for i in learn if i.queue_item_id not in used | {p.queue_item_id for p in picked}
            ]
            trial = await _verdicts(
                engine, provider, judge, queue, guidelines, scoring, candidate, concurrency, counter
            )
            score = _score(scoring, trial)
            kept = score.value > best.value
            result.rounds.append(
                {
                    "round": number,
                    "examples": len(candidate),
                    "learn": score.to_dict(),
                    "kept": kept,
                }
            )
            if not kept:
                continue
            current, best = candidate, score
            used |= {p.queue_item_id for p in picked}
            by_id = dict(zip((i.queue_item_id for i in scoring), trial, strict=True))
            verdicts = [by_id.get(i.queue_item_id, i.verdict) for i in learn]
        before = await _verdicts(
            engine, provider, judge, queue, guidelines, hold, [], concurrency, counter
        )
        after = await _verdicts(
            engine, provider, judge, queue, guidelines, hold, current, concurrency, counter
        )
    finally:
        await provider.aclose()
    result.before, result.after = _score(hold, before), _score(hold, after)
    result.examples_added = current
    result.requests = counter[0]
    result.text = with_examples(judge, current)
    parse_prompt(result.text, judge.path or f"prompts/{judge.name}.yaml")  # still a judge file
    return result


def calibrate_sync(*args: Any, **kwargs: Any) -> Calibration:
    return asyncio.run(calibrate(*args, **kwargs))


def format_calibration(result: Calibration) -> list[str]:
    def show(score: Score | None) -> str:
        if score is None:
            return "—"
        kappa = "—" if score.kappa is None else f"{score.kappa:.2f}"
        accuracy = "—" if score.accuracy is None else f"{score.accuracy * 100:.0f}%"
        return f"kappa {kappa}, agreement {accuracy} (n {score.n})"

    lines = [
        f"judge {result.judge} on queue {result.queue}: {result.learn} items to learn from, "
        f"{result.held_out} held out"
    ]
    for r in result.rounds:
        kept = "" if r["round"] == 0 else (" kept" if r.get("kept") else " not better")
        lines.append(
            f"  round {r['round']}: {r['examples']} examples added, learning part {show(Score(**r['learn']))}{kept}"
        )
    lines.append(f"held out, before: {show(result.before)}")
    lines.append(f"held out, after:  {show(result.after)}")
    lines.append(f"{len(result.examples_added)} examples added · {result.requests} requests")
    if result.saved_version is not None:
        lines.append(f"saved as version {result.saved_version} of {result.judge}")
    elif result.examples_added:
        lines.append("not saved: add --save to keep it as a new version of the judge file")
    return lines


async def judge_against_humans(
    engine: Engine,
    workspace: Path,
    judge: PromptFile,
    *,
    progress: Any = None,
    concurrency: int = 8,
    provider: Provider | None = None,
) -> Any:
    """A judge's text (the Prompt Lab's buffer) run on the human-labelled items of the queue it
    assists, as a comparison the lab shows like an eval: a case passes when the judge agrees
    with the human verdict; the baseline is the judge's newest recorded version with another
    text (fixed: it now agrees where that version did not; regressed: the other way)."""
    from reviewer.evals.compare import Baseline, Case, Comparison, Side, change_of, summarize
    from reviewer.evals.prompts import prompt_hash
    from reviewer.evals.versions import VERSIONS
    from reviewer.review.queues import load_queues

    queue = next(
        (q for q in load_queues(workspace)[0] if q.assist and q.assist.judge == judge.name), None
    )
    if queue is None:
        raise AssistError(
            f"no queue is assisted by {judge.name}: add assist: {{judge: {judge.name}}} to a"
            " queue file, review some of its items, then run the judge here"
        )
    items = await asyncio.to_thread(labelled_items, engine, queue)
    if not items:
        raise AssistError(f"queue {queue.name} has no reviewed items to check the judge against")
    current = prompt_hash(judge.text) if judge.text else None

    def previous_text() -> tuple[int, str] | None:
        with engine.connect() as conn:
            rows = conn.execute(
                select(VERSIONS.c.id, VERSIONS.c.hash, VERSIONS.c.content)
                .where(VERSIONS.c.name == judge.name)
                .order_by(VERSIONS.c.id)
            ).all()
        numbered = [(n, r) for n, r in enumerate(rows, start=1) if r.hash != current]
        return (numbered[-1][0], numbered[-1][1].content) if numbered else None

    older = await asyncio.to_thread(previous_text)
    if provider is None:
        try:
            provider = get_provider(judge.provider, judge.base_url)
        except ProviderError as exc:
            raise AssistError(str(exc)) from None
    guidelines = queue.guidelines()
    gate = asyncio.Semaphore(max(1, concurrency))
    done = 0

    async def ask(which: PromptFile, item: Labelled) -> Side:
        nonlocal done
        try:
            answer, raw, error, _calls = await ask_judge(
                provider, which, queue, item.record, guidelines, engine=engine, gate=gate
            )
        except ProviderError as exc:
            answer, raw, error = None, "", str(exc)
        done += 1
        if progress is not None:
            progress(done, total)
        if answer is None:
            return Side(output={"role": "assistant", "content": raw}, passed=None, error=error)
        agrees = answer["verdict"] == item.verdict
        reason = (
            f"human {item.verdict}, judge {answer['verdict']}"
            f" ({answer.get('confidence', 0):.2f}): {answer.get('reason', '')}"
        )
        return Side(
            output={"role": "assistant", "content": orjson.dumps(answer).decode()},
            passed=agrees,
            score=1.0 if agrees else 0.0,
            grades=[{"name": "agrees with the human", "passed": agrees, "reason": reason}],
        )

    old_judge = None
    if older is not None:
        old_judge = parse_prompt(older[1], judge.path or f"prompts/{judge.name}.yaml")
    total = len(items) * (2 if old_judge is not None else 1)
    try:
        new_sides = await asyncio.gather(*(ask(judge, i) for i in items))
        old_sides: list[Side | None] = (
            list(await asyncio.gather(*(ask(old_judge, i) for i in items)))
            if old_judge is not None
            else [None] * len(items)
        )
    finally:
        await provider.aclose()
    cases = [
        Case(
            f"{queue.name}/{item.queue_item_id}",
            last_user_text(item.record.get("messages") or []),
            old,
            new,
            change_of(old, new),
        )
        for item, new, old in zip(items, new_sides, old_sides, strict=True)
    ]
    label = f"{judge.name} v{older[0]}" if older is not None else "none"
    baseline = Baseline(kind="run" if older else "none", label=label)
    summary = summarize(0, baseline, cases, [])
    return Comparison(
        run_id=0,
        prompt_name=judge.name,
        dataset=f"{queue.name} (human verdicts)",
        dataset_version=0,
        provider=judge.provider,
        model=judge.model,
        baseline=baseline,
        cases=cases,
        summary=summary,
    )
