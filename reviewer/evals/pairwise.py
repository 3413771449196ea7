"""Humans judge two eval runs side by side: a blinded pairwise review queue.

`make_pairwise_queue` turns each case both runs answered into a pair record (kind and format
`pair`, id `pair:<run a>:<run b>:<item>`): its messages are the case's input (the dataset item's
own conversation, never a run's prompt), its `outputs` the two answers as `left` and `right`.
Which run is on the left comes from a hash of the seed and the item (`left_of`) and is kept in
the `pairs` table only: the record holds no run id, model or prompt name. The pairs rows are
written first and read back, so a second call (or one after a kill) writes the same records the
same way round and adds nothing. `queues/<queue>.yaml` (`unit: pair`, `runs: [A, B]`) is written
unless it exists; then the queue is synced.

`judge_pairs` asks the LLM pairwise grader (`graders.pairwise`, both orders) about the pairs the
reviewers judged, through the response cache, and reports its agreement with them like any
judge's: the share of reviews it agrees with and Cohen's kappa over A better / B better / tie
(a review saying both are bad has no counterpart among the grader's answers and is left out).
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Table, func, insert, select
from sqlmodel import SQLModel

from reviewer.evals.judges_check import RESULTS, RUNS, write_records
from reviewer.records import PAIR_FORMAT, Record
from reviewer.review.agreement import cohens_kappa
from reviewer.review.queues import QueueDef
from reviewer.review.stats import pair_choices
from reviewer.review.sync import unit_hash
from reviewer.store import schema  # noqa: F401  (registers the tables)
from reviewer.store.events import QUEUE_ITEMS, load_record

PAIRS: Table = SQLModel.metadata.tables["pairs"]
RECORDS: Table = SQLModel.metadata.tables["records"]


class PairwiseError(Exception):
    """Runs that cannot be compared, or a queue file in the way; says why."""


def pair_record_id(run_a: int, run_b: int, item_id: str) -> str:
    return f"pair:{run_a}:{run_b}:{item_id}"


def pairwise_queue_name(prompt: str, run_a: int, run_b: int) -> str:
    """The queue the Prompt Lab writes for a run and its baseline: named after the prompt and a
    short hash of the two runs (a queue name shows on the review screen: no run id in it)."""
    import hashlib
    import re

    digest = hashlib.blake2b(f"{run_a}:{run_b}".encode(), digest_size=3).hexdigest()
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", prompt).strip("-._") or "prompt"
    return f"{stem}-pairwise-{digest}"


def left_of(seed: int, item_id: str) -> str:
    """Which run ("a" or "b") a case shows on the left: from a hash of the seed and the item,
    so the same seed always gives the same order, and different items mix."""
    return "a" if unit_hash(seed, item_id) < 0.5 else "b"


@dataclass(slots=True)
class PairwiseResult:
    """What `make_pairwise_queue` did."""

    run_a: int
    run_b: int
    queue: str
    queue_path: str
    queue_created: bool
    seed: int
    pairs: int = 0  # cases both runs answered
    new_pairs: int = 0  # pair records written now (0 on a second call)
    only_one: int = 0  # cases answered by one run only (or failed in one): left out
    in_queue: int = 0
    added_to_queue: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _run(engine: Engine, run_id: int) -> Any:
    with engine.connect() as conn:
        row = conn.execute(select(RUNS).where(RUNS.c.id == run_id)).first()
    if row is None:
        raise PairwiseError(f"no eval run {run_id}")
    return row


def _outputs(engine: Engine, run_id: int) -> dict[str, dict[str, Any]]:
    """The run's answered cases: item id -> output message (cases that failed left out)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(RESULTS.c.item_id, RESULTS.c.output)
            .where(RESULTS.c.run_id == run_id, RESULTS.c.output.is_not(None))
            .order_by(RESULTS.c.id)
        ).all()
    out = {}
    for item_id, text in rows:
        message = orjson.loads(text) if text else None
        if isinstance(message, dict):
            out[str(item_id)] = message
    return out


def _case_input(engine: Engine, run: Any, item_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Each case's input as the dataset item gives it (its conversation, or its variables)."""
    from reviewer.datasets.items import DatasetError
    from reviewer.datasets.versions import iter_version_items

    items: dict[str, dict[str, Any]] = {}
    try:
        for item in iter_version_items(engine, run.dataset_name, int(run.dataset_version)):
            items[str(item["id"])] = item
    except DatasetError:
        pass
    out = {}
    for item_id in item_ids:
        item = items.get(item_id) or {}
        messages = [m for m in item.get("messages") or [] if m.get("role") != "system"]
        if not messages and item.get("vars"):
            text = orjson.dumps(item["vars"], option=orjson.OPT_INDENT_2).decode()
            messages = [{"role": "user", "content": text}]
        out[item_id] = messages
    return out


def queue_definition(run_a: int, run_b: int, name: str, reviews_per_item: int) -> dict[str, Any]:
    """The queue file written for two runs (its description names no run, model or prompt)."""
    return {
        "name": name,
        "description": "Two answers to the same case: which is better? (blinded)",
        "unit": "pair",
        "runs": [run_a, run_b],
        "order": "oldest",
        "rubric": [],
        "themes": [],
        "reviews_per_item": reviews_per_item,
    }


def _insert_ignoring(conn: Connection, rows: list[dict[str, Any]]) -> None:
    stmt: Any
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(PAIRS).on_conflict_do_nothing(index_elements=["record_id"])
    elif conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(PAIRS).on_conflict_do_nothing(index_elements=["record_id"])
    else:
        stmt = insert(PAIRS)
    conn.execute(stmt, rows)


def _queue(workspace: Path, run_a: int, run_b: int, name: str, per_item: int) -> tuple[Path, Any]:
    """The queue file's path and its definition (an existing file must be this pair's)."""
    from reviewer.review.queues import QueueFileError, load_queue_file, parse_queue

    path = workspace / "queues" / f"{name}.yaml"
    if not path.exists() and path.with_suffix(".yml").exists():
        path = path.with_suffix(".yml")
    try:
        if path.exists():
            queue = load_queue_file(path)
            if queue.unit != "pair" or queue.runs != [run_a, run_b]:
                raise PairwiseError(
                    f"{path}: queue {name} is not the pairwise queue of runs {run_a} and {run_b}"
                    " (choose another --queue)"
                )
            return path, queue
        return path, parse_queue(
            queue_definition(run_a, run_b, name, per_item), f"queues/{name}.yaml"
        )
    except QueueFileError as exc:
        raise PairwiseError(str(exc)) from None


def make_pairwise_queue(
    engine: Engine,
    workspace: Path,
    run_a: int,
    run_b: int,
    queue_name: str,
    *,
    seed: int = 0,
    reviews_per_item: int = 1,
) -> PairwiseResult:
    """The pairwise queue of runs A and B (see the module's docstring)."""
    from reviewer.ingest.pipeline import now_text
    from reviewer.review.queues import QueueFileError, load_queue_file, write_queue_file
    from reviewer.review.sync import sync_queues

    if run_a == run_b:
        raise PairwiseError("give two different runs")
    if not 1 <= reviews_per_item <= 10:
        raise PairwiseError("--reviews-per-item is between 1 and 10")
    workspace = Path(workspace)
    a, b = _run(engine, run_a), _run(engine, run_b)
    if a.dataset_name != b.dataset_name:
        raise PairwiseError(
            f"runs {run_a} and {run_b} are on different datasets"
            f" ({a.dataset_name}, {b.dataset_name}): nothing to compare"
        )
    path, queue = _queue(workspace, run_a, run_b, queue_name, reviews_per_item)
    created = not path.exists()
    out_a, out_b = _outputs(engine, run_a), _outputs(engine, run_b)
    both = [item for item in out_a if item in out_b]
    if not both:
        raise PairwiseError(f"runs {run_a} and {run_b} have no answered case in common")
    ids = {item: pair_record_id(run_a, run_b, item) for item in both}
    with engine.begin() as conn:
        rows = [
            {"record_id": ids[item], "run_a": run_a, "run_b": run_b, "item_id": item,
             "left": left_of(seed, item), "seed": seed, "created_at": now_text()}
            for item in both
        ]  # fmt: skip
        for start in range(0, len(rows), 500):
            _insert_ignoring(conn, rows[start : start + 500])
        left = dict(
            conn.execute(
                select(PAIRS.c.record_id, PAIRS.c.left).where(
                    PAIRS.c.run_a == run_a, PAIRS.c.run_b == run_b
                )
            ).all()
        )
    inputs = _case_input(engine, a, both)
    records = []
    for position, item in enumerate(both, start=1):
        first, second = (out_a[item], out_b[item])
        if left[ids[item]] == "b":
            first, second = second, first
        outputs = {"left": first, "right": second}
        records.append(
            Record(
                id=ids[item],
                source_format=PAIR_FORMAT,
                raw=orjson.dumps({"item": item, **outputs}).decode(),
                source_path="pairwise comparison",
                source_line=position,
                messages=inputs[item],
                kind="pair",
                outputs=outputs,
            )
        )
    _, imported, _ = write_records(
        engine, records, f"pairwise comparison {queue_name}", source_format=PAIR_FORMAT
    )
    if created:
        header = (
            f"# Written by reviewer: runs {run_a} (A) and {run_b} (B) side by side, blinded.\n"
            "# reviewer queues stats gives the win rate of A over B.\n"
        )
        definition = queue_definition(run_a, run_b, queue_name, reviews_per_item)
        try:
            if write_queue_file(path, header, definition):
                queue = load_queue_file(path)
            else:
                created = False
        except QueueFileError as exc:
            raise PairwiseError(str(exc)) from None
    synced = sync_queues(engine, [queue])[queue.name]
    if synced.error:
        raise PairwiseError(synced.error)
    with engine.connect() as conn:
        in_queue = conn.execute(
            select(func.count())
            .select_from(QUEUE_ITEMS)
            .where(QUEUE_ITEMS.c.queue == queue.name, QUEUE_ITEMS.c.active.is_(True))
        ).scalar_one()
    return PairwiseResult(
        run_a=run_a,
        run_b=run_b,
        queue=queue.name,
        queue_path=_shown(workspace, path),
        queue_created=created,
        seed=seed,
        pairs=len(both),
        new_pairs=imported,
        only_one=len(set(out_a) ^ set(out_b)),
        in_queue=int(in_queue),
        added_to_queue=synced.added,
    )


def _shown(workspace: Path, path: Path) -> str:
    try:
        return str(path.relative_to(workspace))
    except ValueError:
        return str(path)


# -- the LLM pairwise grader against the reviewers ------------------------------------------------


@dataclass(slots=True)
class PairJudgement:
    """One review compared with the grader's answer on the same pair."""

    item_id: str
    reviewer: str
    human: str  # A | B | tie
    judge: str | None  # A | B | tie; None: the grader's answer was unreadable
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class PairAgreement:
    """How often the LLM pairwise grader agrees with the reviewers of a pairwise queue."""

    queue: str
    model: str
    provider: str
    compared: int = 0
    agreed: int = 0
    kappa: float | None = None
    both_bad: int = 0  # reviews saying both are bad: left out
    unreadable: int = 0
    called: int = 0  # model calls made now (the others came from the cache)
    cost_usd: float | None = 0.0
    judgements: list[PairJudgement] = field(default_factory=list)

    @property
    def rate(self) -> float | None:
        return self.agreed / self.compared if self.compared else None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["rate"] = self.rate
        return out


def _text(message: Any) -> str:
    from reviewer.evals.compare import output_text

    return output_text(message)


def judge_pairs(
    engine: Engine,
    workspace: Path,
    queue: QueueDef,
    *,
    model: str | None = None,
    provider: str | None = None,
    rubric: str | None = None,
) -> PairAgreement:
    """Ask the pairwise grader about every pair a reviewer judged; its agreement with them."""
    return asyncio.run(
        _judge_pairs(engine, workspace, queue, model=model, provider=provider, rubric=rubric)
    )


async def _judge_pairs(
    engine: Engine,
    workspace: Path,
    queue: QueueDef,
    *,
    model: str | None,
    provider: str | None,
    rubric: str | None,
) -> PairAgreement:
    from reviewer.evals import graders
    from reviewer.evals.prices import PriceTable
    from reviewer.evals.providers import Provider, ProviderError, get_provider
    from reviewer.evals.runner import JUDGE_PARAMS, cache_key, cache_lookup, cache_store

    if queue.unit != "pair":
        raise PairwiseError(f"queue {queue.name} is not a pairwise queue (unit: pair)")
    spec = graders.normalize_grader(
        {"type": "pairwise", "both_orders": True, "model": model, "provider": provider,
         **({"rubric": rubric} if rubric else {})}
    )  # fmt: skip
    chosen_model, chosen_provider = graders.judge_target(spec, None, None)
    name = chosen_provider or ("anthropic" if chosen_model.startswith("claude") else "openai")
    result = PairAgreement(queue=queue.name, model=chosen_model, provider=name)
    with engine.connect() as conn:
        reviews = pair_choices(conn, queue)
        # a pair only reviews saying "both bad" judged has nothing to compare: not asked about
        asked = {r["record_id"] for r in reviews if r["choice"] != "both-bad"}
        records = {rid: load_record(conn, rid) for rid in asked}
        truth = dict(
            conn.execute(
                select(PAIRS.c.record_id, PAIRS.c.item_id).where(
                    PAIRS.c.record_id.in_(list(records))
                )
            ).all()
        )
    made: dict[str, Provider] = {}
    prices = PriceTable.load(workspace)

    async def judge(messages: list[dict[str, Any]], model: str, provider: str | None) -> str:
        which = provider or name
        key = cache_key(which, model, JUDGE_PARAMS, messages)
        completion = await asyncio.to_thread(cache_lookup, engine, key)
        if completion is None:
            if which not in made:
                made[which] = get_provider(which)
            completion = await made[which].complete(messages, model, JUDGE_PARAMS)
            await asyncio.to_thread(cache_store, engine, key, which, model, completion)
            result.called += 1
            cost = prices.cost(which, model, completion.input_tokens, completion.output_tokens)
            result.cost_usd = (
                None if cost is None or result.cost_usd is None else (result.cost_usd + cost)
            )
        return str(completion.output.get("content") or "")

    by_record: dict[str, graders.Grade] = {}
    try:
        for record_id, record in sorted(records.items()):
            outputs = record.get("outputs") or {}
            left, right = _text(outputs.get("left")), _text(outputs.get("right"))
            case = {"messages": record.get("messages") or []}
            # the grader's "new" is the left answer, its "baseline" the right one
            grades = await graders.grade([spec], case, left, baseline=right, judge=judge)
            by_record[record_id] = grades[0]
    except ProviderError as exc:
        raise PairwiseError(f"the pairwise grader cannot run: {exc}") from None
    pairs: list[tuple[str, str]] = []
    for review in reviews:
        grade = by_record.get(review["record_id"])
        if review["choice"] == "both-bad":
            result.both_bad += 1
            continue
        if grade is None:
            continue
        judged: str | None
        if grade.reason.startswith(graders.UNREADABLE_JUDGE):
            judged = None
            result.unreadable += 1
        else:
            side = "left" if grade.score > 0.5 else "right" if grade.score < 0.5 else "tie"
            judged = side if side == "tie" else _to_run(side, review["left"])
        result.judgements.append(
            PairJudgement(
                item_id=truth.get(review["record_id"], review["record_id"]),
                reviewer=review["reviewer"],
                human=review["choice"],
                judge=judged,
                reason=grade.reason,
            )
        )
        if judged is None:
            continue
        result.compared += 1
        result.agreed += judged == review["choice"]
        pairs.append((review["choice"], judged))
    kappa = cohens_kappa(pairs)
    result.kappa = None if kappa is None else round(kappa, 3)
    return result


def _to_run(side: str, left: str) -> str:
    """ "left"/"right" as the run it is ("A"/"B"), given which run is on the left."""
    on_left = "A" if left == "a" else "B"
    return on_left if side == "left" else ("B" if on_left == "A" else "A")


def format_agreement(result: PairAgreement) -> list[str]:
    rate = "-" if result.rate is None else f"{result.rate * 100:.0f}%"
    kappa = "-" if result.kappa is None else f"{result.kappa:.3f}"
    cost = "?" if result.cost_usd is None else f"${result.cost_usd:.4f}"
    lines = [
        f"{result.queue}: pairwise grader {result.provider}/{result.model} against "
        f"{result.compared} human review(s): agreement {rate} · kappa {kappa}",
        f"  {result.both_bad} 'both bad' review(s) left out · {result.unreadable} unreadable"
        f" answer(s) · {result.called} model call(s) now, {cost}",
    ]
    for j in result.judgements:
        if j.judge != j.human:
            lines.append(f"  {j.item_id}: {j.reviewer} says {j.human}, the grader {j.judge or '?'}")
    return lines
