"""An eval run against its baseline: what got fixed, what regressed, and the summary line.

The baseline of a run (`baseline_for`) is, in this order:

1. the prompt's latest finished run on the same dataset before this one whose prompt hash
   differs (the version before the edit), preferring one with the same model;
2. when there is none, the previous finished run of the prompt on the dataset (same model
   preferred): a rerun of the same prompt, with another model or after a dataset change;
3. else the logged production output of each item (the dataset item's `output`), passed or
   failed as the reviewer's verdict says when the item came from a review in this workspace,
   unknown otherwise. No model is called here.

Each case gets a change: `fixed` (✗→✓), `regressed` (✓→✗), `same-pass`, `same-fail`, `new`
(no graded baseline: no baseline output, or its pass/fail is unknown), `error` (the new run
failed on it) or `ungraded` (no grader said pass or fail). A baseline error counts as a fail
for the change of its case.

The summary counts errors apart: `graded` holds the cases a grader said pass or fail of, and
the pass rates are over graded cases only; `errors` the cases that could not be graded (a
timeout, a refused connection, a template that does not render, an answer over the limit).

When the baseline is a run whose graders differ from this run's, its stored outputs are graded
again with this run's graders (`reviewer.evals.regrade`; no model is called), so a case is
fixed or regressed only when its output changed: the summary says "graders changed since the
baseline".

`format_summary` gives the one line the CLI prints and the Prompt Lab shows:

    pass rate 62% → 81% · 3 fixed · 2 regressed · $0.12 · p50 1.1 s · p95 2.1 s

with, when they apply, the errors, "judge answers unreadable: N" (judges whose answer held no
verdict, counted once for the run) and "graders changed since the baseline".
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import orjson
from sqlalchemy import Connection, Engine, Table, select
from sqlmodel import SQLModel

from reviewer.evals.graders import UNREADABLE_JUDGE
from reviewer.evals.sampling import CaseSamples, SampleStats, sample_stats
from reviewer.measures import percentile
from reviewer.messages import last_user_text
from reviewer.store import schema  # noqa: F401  (registers the tables)

if TYPE_CHECKING:
    from reviewer.evals.runner import RunOutcome

RUNS: Table = SQLModel.metadata.tables["eval_runs"]
RESULTS: Table = SQLModel.metadata.tables["eval_results"]
EVENTS: Table = SQLModel.metadata.tables["review_events"]
RECORDS: Table = SQLModel.metadata.tables["records"]

Change = Literal["fixed", "regressed", "same-pass", "same-fail", "new", "error", "ungraded"]
#: Every change, most interesting first (an order for lists of cases).
CHANGES: tuple[str, ...] = (
    "regressed", "error", "fixed", "new", "ungraded", "same-fail", "same-pass",
)  # fmt: skip
#: A run status that makes it usable as a baseline.
FINISHED = "done"


class CompareError(Exception):
    """A comparison that cannot be made (an unknown run); the message says why."""


# -- shapes ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class Side:
    """One side of a case: an output with its grades."""

    output: dict[str, Any] | None
    passed: bool | None
    score: float | None = None
    grades: list[dict[str, Any]] = field(default_factory=list)
    latency_ms: float | None = None
    cost_usd: float | None = None
    error: str | None = None
    samples: list[dict[str, Any]] | None = None  # a strategy run's answers (see the runner)

    @property
    def text(self) -> str:
        """The output's text ("" when none)."""
        return output_text(self.output)

    @property
    def reasons(self) -> list[str]:
        """`grader: reason` of every grade that gave one."""
        return [f"{g.get('grader', '?')}: {g['reason']}" for g in self.grades if g.get("reason")]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "text": self.text}

    def sampled(self) -> CaseSamples | None:
        """n and c of a graded case answered more than once (None otherwise)."""
        return case_samples("", self)


def case_samples(item_id: str, side: Side) -> CaseSamples | None:
    """The graded samples of a case of a sampled run: n answers graded, c passing (None when
    the case has one answer, or an error)."""
    if not side.samples or len(side.samples) < 2 or _failed(side):
        return None
    graded = [s for s in side.samples if s.get("passed") is not None]
    if not graded:
        return None
    return CaseSamples(item_id, len(graded), sum(1 for s in graded if s["passed"]))


@dataclass(slots=True)
class Baseline:
    """What a run is compared with: another run's results, or the logged production outputs.

    `kind` is `run`, `production` or `none`; `cases` by dataset item id."""

    kind: Literal["run", "production", "none"]
    label: str
    run_id: int | None = None
    model: str | None = None
    prompt_hash: str | None = None
    cases: dict[str, Side] = field(default_factory=dict)
    graders: list[dict[str, Any]] | None = None  # a run's grader specs, as recorded
    regraded: bool = False  # its outputs were graded again with the compared run's graders

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "label": self.label,
            "run_id": self.run_id,
            "model": self.model,
            "prompt_hash": self.prompt_hash,
            "regraded": self.regraded,
        }


@dataclass(slots=True)
class Case:
    """One dataset item: the question, the baseline and the new side, what changed."""

    item_id: str
    question: str
    baseline: Side | None
    new: Side
    change: str

    @property
    def mark(self) -> str:
        """`✓→✗`, `✗→✓`, `✓→✓`, `·→✓` ... (`·` unknown, `!` an error)."""
        return f"{_mark(self.baseline)}→{_mark(self.new)}"

    def brief(self) -> dict[str, Any]:
        """The case in short: item, change, and the new side's pass/fail, score, error and
        reasons (no texts); for a sampled case, its samples (`n`, `passed`, `pass@1`,
        `pass^N`, `consistency`, `flaky`)."""
        out: dict[str, Any] = {
            "item_id": self.item_id,
            "change": self.change,
            "passed": self.new.passed,
            "score": self.new.score,
            "error": self.new.error,
            "reasons": self.new.reasons,
        }
        sampled = case_samples(self.item_id, self.new)
        if sampled is not None:
            out["samples"] = sampled.to_dict()
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "question": self.question,
            "change": self.change,
            "baseline": self.baseline.to_dict() if self.baseline else None,
            "new": self.new.to_dict(),
        }


@dataclass(slots=True)
class Summary:
    """The figures of a comparison. Rates are in 0..1, over the graded cases, None when
    nothing was graded; `errors` (cases that could not be graded) are not among `graded`."""

    run_id: int
    baseline: str
    cases: int = 0
    passed: int = 0
    graded: int = 0
    pass_rate: float | None = None
    baseline_passed: int = 0
    baseline_graded: int = 0
    baseline_pass_rate: float | None = None
    fixed: int = 0
    regressed: int = 0
    same_pass: int = 0
    same_fail: int = 0
    new: int = 0
    errors: int = 0
    ungraded: int = 0
    cost_usd: float | None = None
    baseline_cost_usd: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cached: int = 0
    judge_unreadable: int = 0  # judge answers of this run that held no verdict
    graders_changed: bool = False  # the baseline run had other graders: it was regraded
    judges: list[str] = field(default_factory=list)  # judge files grading: version, agreement
    strategy: str = "single"  # how the answers were made (`strategies.Strategy.label`)
    sampling: SampleStats | None = None  # a sampled run's pass@k, pass^k, flaky cases

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("sampling")
        if self.sampling is not None:
            out.update(self.sampling.to_dict())
        return out


@dataclass(slots=True)
class Comparison:
    """A run against its baseline: the cases in dataset order and the summary."""

    run_id: int
    prompt_name: str
    dataset: str
    dataset_version: int
    provider: str
    model: str
    baseline: Baseline
    cases: list[Case]
    summary: Summary
    split: str | None = None  # the run used only this split's items
    prompt_hash: str = ""  # of the prompt text the run used

    @property
    def graders_changed(self) -> bool:
        """The baseline run had other graders (its outputs were regraded with this run's)."""
        return self.summary.graders_changed

    def by_change(self, *changes: str) -> list[Case]:
        """The cases with one of these changes, in dataset order."""
        return [c for c in self.cases if c.change in changes]

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "prompt": self.prompt_name,
            "dataset": self.dataset,
            "dataset_version": self.dataset_version,
            "split": self.split,
            "provider": self.provider,
            "model": self.model,
            "baseline": self.baseline.to_dict(),
            "summary": self.summary.to_dict(),
            "line": format_summary(self.summary),
            "cases": [c.to_dict() for c in self.cases],
        }


@dataclass(slots=True)
class EvalComparison:
    """One eval of a prompt on a dataset, with one run per model, each run compared with its
    baseline: what `reviewer eval` prints (`to_json` is its --json document)."""

    prompt: str
    prompt_path: str
    prompt_hash: str
    dataset: str
    version: int | None  # the version asked for (None: the latest)
    fail_under: float | None
    runs: list[tuple[RunOutcome, Comparison]]
    split: str | None = None  # train | test: the runs used only that split's items

    @property
    def dataset_version(self) -> int | None:
        """The version the runs used (the one asked for when there is no run)."""
        return self.runs[0][1].dataset_version if self.runs else self.version

    @property
    def graders_changed(self) -> bool:
        """A run's baseline had other graders (its outputs were regraded: like with like)."""
        return any(comparison.graders_changed for _outcome, comparison in self.runs)

    @property
    def judge_unreadable(self) -> int:
        """Judge answers that held no verdict, over every run."""
        return sum(comparison.summary.judge_unreadable for _outcome, comparison in self.runs)

    def failing(self) -> list[str]:
        """The models whose pass rate is below `fail_under` (none without it)."""
        if self.fail_under is None:
            return []
        return [
            outcome.model
            for outcome, comparison in self.runs
            if (comparison.summary.pass_rate or 0.0) < self.fail_under
        ]

    def errors(self) -> int:
        """The cases of all runs that could not be graded."""
        return sum(comparison.summary.errors for _outcome, comparison in self.runs)

    @property
    def ok(self) -> bool:
        """No pass rate below `fail_under`, and every case graded or ungraded (no error)."""
        return not self.failing() and not self.errors()

    def to_json(self) -> dict[str, Any]:
        """The document of `reviewer eval --json`: the prompt, the dataset, and per run its
        outcome, baseline, summary (and its line) and the cases in short."""
        return {
            "prompt": self.prompt,
            "prompt_path": self.prompt_path,
            "prompt_hash": self.prompt_hash,
            "dataset": self.dataset,
            "dataset_version": self.dataset_version,
            "split": self.split,
            "fail_under": self.fail_under,
            "ok": self.ok,
            "errors": self.errors(),
            "failing": self.failing(),
            "graders_changed": self.graders_changed,
            "runs": [
                {
                    **outcome.to_dict(),
                    "baseline": comparison.baseline.to_dict(),
                    "comparison": comparison.summary.to_dict(),
                    "line": format_summary(comparison.summary),
                    "cases": [case.brief() for case in comparison.cases],
                }
                for outcome, comparison in self.runs
            ],
        }


@dataclass(slots=True)
class ModelSummary:
    """One run of a side-by-side comparison of models."""

    run_id: int
    provider: str
    model: str
    status: str
    cases: int
    passed: int
    graded: int
    pass_rate: float | None
    errors: int
    cost_usd: float | None
    p50_ms: float | None
    p95_ms: float | None
    input_tokens: int
    output_tokens: int
    strategy: str = "single"
    sampling: SampleStats | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("sampling")
        if self.sampling is not None:
            out.update(self.sampling.to_dict())
        return out


# -- small helpers --------------------------------------------------------------------------------


def _loads(text: str | None, empty: Any = None) -> Any:
    if not text:
        return empty
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return empty


def output_text(message: Any) -> str:
    """The text of an output message ("" when none); tool calls as `name(arguments)`."""
    if not isinstance(message, dict):
        return "" if message is None else str(message)
    text = message.get("content") or ""
    if not isinstance(text, str):
        text = orjson.dumps(text).decode()
    calls = [
        f"{c.get('name')}({c.get('arguments') or ''})"
        for c in message.get("tool_calls") or []
        if isinstance(c, dict)
    ]
    return "\n".join([t for t in (text, *calls) if t])


def question_of(item: dict[str, Any]) -> str:
    """The last user message of a dataset item, else its variables as `k=v`."""
    question = last_user_text(item.get("messages") or [])
    if question:
        return question
    variables = item.get("vars") or {}
    return ", ".join(f"{k}={v}" for k, v in variables.items()) if variables else ""


def _mark(side: Side | None) -> str:
    if side is None or (side.passed is None and side.error is None):
        return "·"
    if side.error is not None and side.passed is not True:
        return "!"
    return "✓" if side.passed else "✗"


def _sum(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(sum(known)) if known else None


def _side(row: Any) -> Side:
    return Side(
        output=_loads(row.output),
        passed=None if row.passed is None else bool(row.passed),
        score=row.score,
        grades=_loads(row.grades, []),
        latency_ms=row.latency_ms,
        cost_usd=row.cost_usd,
        error=row.error,
        samples=_loads(getattr(row, "samples", None)),
    )


def answer_latencies(sides: Iterable[Side]) -> list[float]:
    """The latency of every answer: a sampled case's samples one by one (each is one answer a
    user waits for), else the case's."""
    out: list[float] = []
    for side in sides:
        if side.samples and len(side.samples) > 1:
            out.extend(
                float(s["latency_ms"]) for s in side.samples if s.get("latency_ms") is not None
            )
        elif side.latency_ms is not None:
            out.append(side.latency_ms)
    return out


def strategy_label(run: Any) -> str:
    """The label of a run's strategy (`single` for a plain run)."""
    recorded = _loads(getattr(run, "strategy", None), {})
    return str(recorded.get("label") or "single") if isinstance(recorded, dict) else "single"


def _sampling(run: Any, ids: Sequence[str], sides: Sequence[Side]) -> SampleStats | None:
    """pass@k figures of a run whose strategy samples more than once (None otherwise)."""
    recorded = _loads(getattr(run, "strategy", None), {})
    n = int(recorded.get("samples") or 1) if isinstance(recorded, dict) else 1
    if n < 2:
        return None
    found = [case_samples(i, side) for i, side in zip(ids, sides, strict=True)]
    return sample_stats([c for c in found if c is not None], n)


def _failed(side: Side) -> bool:
    """The side could not be graded: an error and no pass."""
    return side.error is not None and side.passed is not True


def change_of(baseline: Side | None, new: Side) -> str:
    """The change from `baseline` to `new` (see the module's docstring)."""
    if new.error is not None and new.passed is not True:
        return "error"
    if new.passed is None:
        return "ungraded"
    before: bool | None = None
    if baseline is not None:
        before = baseline.passed
        if before is None and baseline.error is not None:
            before = False
    if before is None:
        return "new"
    if before and new.passed:
        return "same-pass"
    if before:
        return "regressed"
    return "fixed" if new.passed else "same-fail"


# -- reading --------------------------------------------------------------------------------------


def _run_row(conn: Connection, run_id: int) -> Any:
    row = conn.execute(select(RUNS).where(RUNS.c.id == run_id)).first()
    if row is None:
        raise CompareError(f"no eval run {run_id}")
    return row


def _results(conn: Connection, run_id: int) -> list[Any]:
    return list(
        conn.execute(select(RESULTS).where(RESULTS.c.run_id == run_id).order_by(RESULTS.c.id))
    )


def _items(engine: Engine, dataset: str, version: int) -> list[dict[str, Any]]:
    """The dataset version's items ([] when the dataset or version is gone)."""
    from reviewer.datasets.items import DatasetError
    from reviewer.datasets.versions import iter_version_items

    try:
        return list(iter_version_items(engine, dataset, version))
    except DatasetError:
        return []


def _pick(rows: list[Any], model: str, strategy: str = "single") -> Any:
    """The latest of `rows` (newest first) with the same model and strategy, else with the
    same model and one plain call per case, else with the same model, else the latest."""
    for wanted in dict.fromkeys((strategy, "single")):
        for row in rows:
            if row.model == model and strategy_label(row) == wanted:
                return row
    for row in rows:
        if row.model == model:
            return row
    return rows[0] if rows else None


def previous_run(engine: Engine, run_id: int) -> int | None:
    """The run a run is compared with (rules 1 and 2 of the module's docstring), or None."""
    with engine.connect() as conn:
        run = _run_row(conn, run_id)
        earlier = list(
            conn.execute(
                select(RUNS)
                .where(
                    RUNS.c.prompt_name == run.prompt_name,
                    RUNS.c.dataset_name == run.dataset_name,
                    RUNS.c.id < run_id,
                    RUNS.c.status == FINISHED,
                )
                .order_by(RUNS.c.id.desc())
            )
        )
    # a run on one split is compared with runs on that split or on the whole dataset
    earlier = [r for r in earlier if r.split is None or r.split == run.split]
    other = [r for r in earlier if r.prompt_hash != run.prompt_hash]
    strategy = strategy_label(run)
    chosen = _pick(other, run.model, strategy) if other else _pick(earlier, run.model, strategy)
    return int(chosen.id) if chosen is not None else None


def latest_run(
    engine: Engine, prompt_name: str, dataset: str | None = None, prompt_hash: str | None = None
) -> int | None:
    """The prompt's latest finished run (on `dataset`, of the text whose hash is `prompt_hash`,
    when given), or None. Runs on cases an optimizer chose (`reviewer prompts improve`: its
    train and test parts) are not among them."""
    query = select(RUNS.c.id).where(
        RUNS.c.prompt_name == prompt_name,
        RUNS.c.status == FINISHED,
        RUNS.c.split.is_(None) | RUNS.c.split.in_(("train", "test")),
    )
    if dataset is not None:
        query = query.where(RUNS.c.dataset_name == dataset)
    if prompt_hash is not None:
        query = query.where(RUNS.c.prompt_hash == prompt_hash)
    with engine.connect() as conn:
        found = conn.execute(query.order_by(RUNS.c.id.desc()).limit(1)).scalar()
    return int(found) if found is not None else None


def run_baseline(engine: Engine, run_id: int) -> Baseline:
    """Another run's results as a baseline."""
    with engine.connect() as conn:
        run = _run_row(conn, run_id)
        rows = _results(conn, run_id)
    return Baseline(
        kind="run",
        label=f"run {run_id} ({run.model}, prompt {run.prompt_hash[:8]})",
        run_id=run_id,
        model=run.model,
        prompt_hash=run.prompt_hash,
        cases={str(r.item_id): _side(r) for r in rows},
        graders=_loads(run.graders),
    )


def production_baseline(
    engine: Engine, dataset: str, version: int, items: list[dict[str, Any]] | None = None
) -> Baseline:
    """The logged output of each item of a dataset version; passed as the reviewer's verdict
    says when the item was promoted from a review in this workspace, else unknown."""
    if items is None:
        items = _items(engine, dataset, version)
    sources: dict[str, tuple[str | None, int | None]] = {}
    for item in items:
        source = item.get("source") or {}
        review_id = source.get("review_id") if isinstance(source, dict) else None
        record_id = source.get("record_id") if isinstance(source, dict) else None
        sources[str(item["id"])] = (
            record_id if isinstance(record_id, str) else None,
            review_id if isinstance(review_id, int) and not isinstance(review_id, bool) else None,
        )
    verdicts: dict[int, tuple[str, str | None]] = {}
    facts: dict[str, tuple[float | None, float | None]] = {}
    review_ids = sorted({r for _rec, r in sources.values() if r is not None})
    record_ids = sorted({rec for rec, _r in sources.values() if rec is not None})
    with engine.connect() as conn:
        for start in range(0, len(review_ids), 500):
            chunk = review_ids[start : start + 500]
            for row in conn.execute(
                select(EVENTS.c.id, EVENTS.c.verdict, EVENTS.c.record_id).where(
                    EVENTS.c.id.in_(chunk)
                )
            ):
                if row.verdict in ("pass", "fail"):
                    verdicts[int(row.id)] = (row.verdict, row.record_id)
        for start in range(0, len(record_ids), 500):
            chunk2 = record_ids[start : start + 500]
            for row in conn.execute(
                select(RECORDS.c.id, RECORDS.c.latency_ms, RECORDS.c.cost_usd).where(
                    RECORDS.c.id.in_(chunk2)
                )
            ):
                facts[str(row.id)] = (row.latency_ms, row.cost_usd)
    cases: dict[str, Side] = {}
    for item in items:
        item_id = str(item["id"])
        output = item.get("output")
        record_id, review_id = sources[item_id]
        passed: bool | None = None
        found = verdicts.get(review_id) if review_id is not None else None
        # an imported item may name a review of another workspace: only trust a review of
        # the same record
        if found is not None and (record_id is None or found[1] == record_id):
            passed = found[0] == "pass"
        if output is None and passed is None:
            continue
        latency, cost = facts.get(record_id, (None, None)) if record_id else (None, None)
        grades = (
            [
                {
                    "grader": "reviewer",
                    "passed": passed,
                    "score": None,
                    "reason": "the review's verdict",
                }
            ]
            if passed is not None
            else []
        )
        cases[item_id] = Side(
            output=output if isinstance(output, dict) else None,
            passed=passed,
            grades=grades,
            latency_ms=latency,
            cost_usd=cost,
        )
    return Baseline(
        kind="production", label=f"production (logged outputs of {dataset} v{version})", cases=cases
    )


def baseline_for(engine: Engine, run_id: int) -> Baseline:
    """The baseline of a run: the previous run (see the module's docstring), else the logged
    production outputs, else none."""
    previous = previous_run(engine, run_id)
    if previous is not None:
        return run_baseline(engine, previous)
    with engine.connect() as conn:
        run = _run_row(conn, run_id)
    baseline = production_baseline(engine, run.dataset_name, int(run.dataset_version))
    if baseline.cases:
        return baseline
    return Baseline(kind="none", label="no baseline")


# -- comparing ------------------------------------------------------------------------------------


def compare(engine: Engine, run_id: int, baseline: Baseline | None = None) -> Comparison:
    """A run against `baseline` (default: `baseline_for`): one case per result, in dataset
    order, and the summary."""
    with engine.connect() as conn:
        run = _run_row(conn, run_id)
        rows = _results(conn, run_id)
    items = _items(engine, run.dataset_name, int(run.dataset_version))
    if baseline is None:
        previous = previous_run(engine, run_id)
        if previous is not None:
            baseline = run_baseline(engine, previous)
        else:
            baseline = production_baseline(
                engine, run.dataset_name, int(run.dataset_version), items
            )
            if not baseline.cases:
                baseline = Baseline(kind="none", label="no baseline")
    baseline = _like_with_like(engine, run, baseline, items)
    order = {str(item["id"]): i for i, item in enumerate(items)}
    questions = {str(item["id"]): question_of(item) for item in items}
    rows.sort(key=lambda r: (order.get(str(r.item_id), len(order)), r.id))
    cases: list[Case] = []
    for row in rows:
        item_id = str(row.item_id)
        new = _side(row)
        before = baseline.cases.get(item_id)
        cases.append(Case(item_id, questions.get(item_id, ""), before, new, change_of(before, new)))
    summary = summarize(run_id, baseline, cases, rows)
    summary.strategy = strategy_label(run)
    summary.sampling = _sampling(run, [c.item_id for c in cases], [c.new for c in cases])
    summary.judges = [
        str(g["judge_note"])
        for g in (orjson.loads(run.graders) if run.graders else [])
        if isinstance(g, dict) and g.get("judge_note")
    ]
    return Comparison(
        run_id=run_id,
        prompt_name=run.prompt_name,
        dataset=run.dataset_name,
        dataset_version=int(run.dataset_version),
        provider=run.provider,
        model=run.model,
        baseline=baseline,
        cases=cases,
        summary=summary,
        split=run.split,
        prompt_hash=run.prompt_hash,
    )


def _like_with_like(
    engine: Engine, run: Any, baseline: Baseline, items: list[dict[str, Any]]
) -> Baseline:
    """The baseline, regraded with the run's graders when it is a run graded otherwise."""
    from reviewer.evals.regrade import graders_differ, judge_target, regrade_baseline

    specs = _loads(run.graders)
    if baseline.kind != "run" or baseline.regraded or not graders_differ(baseline.graders, specs):
        return baseline
    model, provider = judge_target(engine, run)
    return regrade_baseline(
        engine, baseline, specs, {str(item["id"]): item for item in items},
        judge_model=model, judge_provider=provider,
    )  # fmt: skip


def compare_eval(
    engine: Engine,
    outcomes: Sequence[RunOutcome],
    *,
    prompt: str,
    prompt_path: str,
    prompt_hash: str,
    dataset: str,
    version: int | None = None,
    fail_under: float | None = None,
    split: str | None = None,
) -> EvalComparison:
    """Each run of an eval (one per model) against its baseline."""
    return EvalComparison(
        prompt=prompt,
        prompt_path=prompt_path,
        prompt_hash=prompt_hash,
        dataset=dataset,
        version=version,
        fail_under=fail_under,
        runs=[(outcome, compare(engine, outcome.run_id)) for outcome in outcomes],
        split=split,
    )


def summarize(run_id: int, baseline: Baseline, cases: list[Case], rows: list[Any]) -> Summary:
    """The figures of a comparison's cases (`rows`: the run's result rows, for tokens)."""
    s = Summary(run_id=run_id, baseline=baseline.label, cases=len(cases))
    for case in cases:
        key = case.change.replace("-", "_")
        if key == "error":
            s.errors += 1
        else:
            setattr(s, key, getattr(s, key) + 1)
        if case.change not in ("ungraded", "error"):
            s.graded += 1
            s.passed += 1 if case.new.passed else 0
        b = case.baseline
        if b is not None and b.passed is not None and not _failed(b):
            s.baseline_graded += 1
            s.baseline_passed += 1 if b.passed else 0
    s.pass_rate = s.passed / s.graded if s.graded else None
    s.baseline_pass_rate = s.baseline_passed / s.baseline_graded if s.baseline_graded else None
    s.cost_usd = _sum(c.new.cost_usd for c in cases)
    s.baseline_cost_usd = _sum(c.baseline.cost_usd for c in cases if c.baseline)
    latencies = answer_latencies(c.new for c in cases)
    s.p50_ms = percentile(latencies, 50)
    s.p95_ms = percentile(latencies, 95)
    s.input_tokens = sum(r.input_tokens or 0 for r in rows)
    s.output_tokens = sum(r.output_tokens or 0 for r in rows)
    s.cached = sum(1 for r in rows if r.cached)
    s.judge_unreadable = sum(
        1
        for c in cases
        for g in c.new.grades
        if str(g.get("reason") or "").startswith(UNREADABLE_JUDGE)
    )
    s.graders_changed = baseline.regraded
    return s


def run_summary(engine: Engine, run_id: int) -> ModelSummary:
    """Pass rate (over the graded cases), errors (apart), cost and latency percentiles of one
    run."""
    with engine.connect() as conn:
        run = _run_row(conn, run_id)
        rows = _results(conn, run_id)
    sides = [_side(r) for r in rows]
    changes = [change_of(None, side) for side in sides]
    graded = sum(1 for c in changes if c not in ("ungraded", "error"))
    passed = sum(
        1
        for side, c in zip(sides, changes, strict=True)
        if c not in ("ungraded", "error") and side.passed
    )
    latencies = answer_latencies(sides)
    return ModelSummary(
        run_id=run_id,
        provider=run.provider,
        model=run.model,
        status=run.status,
        cases=len(rows),
        passed=passed,
        graded=graded,
        pass_rate=passed / graded if graded else None,
        errors=sum(1 for c in changes if c == "error"),
        cost_usd=_sum(s.cost_usd for s in sides),
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        input_tokens=sum(r.input_tokens or 0 for r in rows),
        output_tokens=sum(r.output_tokens or 0 for r in rows),
        strategy=strategy_label(run),
        sampling=_sampling(run, [str(r.item_id) for r in rows], sides),
    )


def compare_models(engine: Engine, run_ids: Sequence[int]) -> list[ModelSummary]:
    """Runs side by side (several --model values): pass rate, latency and cost per model, in
    the order given."""
    return [run_summary(engine, run_id) for run_id in run_ids]


# -- text -----------------------------------------------------------------------------------------


def format_rate(rate: float | None) -> str:
    """`81%`, or `-` when unknown."""
    return "-" if rate is None else f"{rate * 100:.0f}%"


def format_cost(cost: float | None) -> str:
    """`$0.12`; small amounts keep two significant digits (`$0.0004`); `—` when unknown."""
    if cost is None:
        return "—"
    if cost == 0 or cost >= 0.01:
        return f"${cost:.2f}"
    digits = 1 - math.floor(math.log10(abs(cost)))
    return f"${cost:.{digits}f}"


def format_latency(ms: float | None) -> str:
    """`1.1 s`, `850 ms`, or `-`."""
    if ms is None:
        return "-"
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("s" if n != 1 and word == "error" else "")


def format_sampling(stats: SampleStats | None) -> list[str]:
    """`pass@1 72%`, `pass@5 80%`, `pass^5 60%`, `1 flaky` of a sampled run ([] otherwise)."""
    if stats is None:
        return []
    n = stats.samples
    return [
        f"pass@1 {format_rate(stats.pass_at_1)}",
        f"pass@{n} {format_rate(stats.pass_at_n)}",
        f"pass^{n} {format_rate(stats.pass_hat_n)}",
        f"{len(stats.flaky)} flaky",
    ]


def format_summary(summary: Summary) -> str:
    """`pass rate 62% → 81% · 3 fixed · 2 regressed · $0.12 · p50 1.1 s · p95 2.1 s`."""
    if summary.baseline_pass_rate is not None:
        rate = f"pass rate {format_rate(summary.baseline_pass_rate)} → {format_rate(summary.pass_rate)}"
        parts = [rate, _count(summary.fixed, "fixed"), _count(summary.regressed, "regressed")]
    else:
        parts = [f"pass rate {format_rate(summary.pass_rate)} (no baseline)"]
    parts.extend(format_sampling(summary.sampling))
    if summary.errors:
        parts.append(_count(summary.errors, "error"))
    if summary.judge_unreadable:
        parts.append(f"judge answers unreadable: {summary.judge_unreadable}")
    parts.append(format_cost(summary.cost_usd))
    parts.append(f"p50 {format_latency(summary.p50_ms)}")
    parts.append(f"p95 {format_latency(summary.p95_ms)}")
    if summary.graders_changed:
        parts.append("graders changed since the baseline (its outputs regraded)")
    parts.extend(summary.judges)
    return " · ".join(parts)


def format_models(models: Sequence[ModelSummary]) -> list[str]:
    """A table of models side by side: one header line, one line per run."""
    if not models:
        return []
    width = max([len(m.model) for m in models] + [5])
    lines = [
        f"{'model':<{width}}  {'pass rate':>9}  {'passed':>9}  {'errors':>6}  {'p50':>8}  {'p95':>8}  {'cost':>9}"
    ]
    for m in models:
        lines.append(
            f"{m.model:<{width}}  {format_rate(m.pass_rate):>9}  {f'{m.passed}/{m.graded}':>9}  "
            f"{m.errors:>6}  {format_latency(m.p50_ms):>8}  {format_latency(m.p95_ms):>8}  "
            f"{format_cost(m.cost_usd):>9}"
        )
    return lines


_WORDS = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)


def diff_words(a: str, b: str) -> list[tuple[str, str]]:
    """A word-level diff of two texts: (op, text) with op `equal`, `delete` (only in `a`) or
    `insert` (only in `b`). Whitespace is kept, so the `equal` and `delete` texts joined give
    `a`, and the `equal` and `insert` texts joined give `b`."""
    left, right = _WORDS.findall(a), _WORDS.findall(b)
    out: list[tuple[str, str]] = []

    def add(op: str, text: str) -> None:
        if not text:
            return
        if out and out[-1][0] == op:
            out[-1] = (op, out[-1][1] + text)
        else:
            out.append((op, text))

    matcher = difflib.SequenceMatcher(None, left, right, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            add("equal", "".join(left[i1:i2]))
            continue
        if tag in ("delete", "replace"):
            add("delete", "".join(left[i1:i2]))
        if tag in ("insert", "replace"):
            add("insert", "".join(right[j1:j2]))
    return out
