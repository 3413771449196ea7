"""`reviewer prompts improve`: a search for a better prompt, checked on cases it never saw.

The dataset's cases are split by a hash of each case id (`hash_split`, the helper the judge
calibration uses): `HELD_OUT` (30 %) are the test cases, the rest the train cases, at least
one on each side; the same dataset splits the same way every time. The original prompt is
evaluated on the train cases (an eval run through the runner: cached and resumable). Each
round asks the optimizer (`reviewer.evals.optimize`) for K candidates from the current best
prompt and its train failures (the candidate's number is in the request, so the K requests
and their cache keys differ), evaluates each on the train cases and keeps the best (a tie
keeps the current prompt). At the end the original and the winner are evaluated on the test
cases, which the optimizer never saw: the report gives the held-out pass rate before -> after,
the test cases fixed and regressed, and the verdict `improved` (better on train and on
test), `overfit` (better on train, worse on test), `unconfirmed` (better on train, the same on
test: the held-out cases do not tell) or `no change` (no candidate beat the original on train).

Budget: the spend is the optimizer's calls plus the eval calls (results not answered by the
response cache), counted the same way on a rerun (a cached answer counts what it cost when
first asked for), so a rerun retraces the first run's steps without paying again. Before each
optimizer call and each candidate's evaluation, the search stops when the spend has reached
the budget: the last call can take it past the budget by that call's cost. The held-out check
at the end always runs (it is what tells whether the winner is real); its cost is reported.

Nothing writes the prompt file unless `save`: then the winner is saved as the prompt's next
version by `save_version`, as the lab's save does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, case, func, select

from reviewer.evals.optimize import OptimizeError, failing_cases, optimizer_of, propose
from reviewer.evals.prompts import PromptError, parse_prompt

HELD_OUT = 0.3
SEED = 0
TRAIN, TEST = "improve:train", "improve:test"

Note = Callable[[str], None]


@dataclass(slots=True)
class Score:
    """A prompt's pass rate on some cases (one eval run)."""

    run_id: int
    passed: int
    graded: int
    passing: list[str] = field(default_factory=list)  # case ids that passed

    @property
    def rate(self) -> float | None:
        return self.passed / self.graded if self.graded else None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "pass_rate": self.rate}


@dataclass(slots=True)
class Candidate:
    round: int
    number: int
    rationale: str
    train: Score | None = None  # None: not evaluated (not a usable prompt, or the budget)
    problem: str | None = None
    cost_usd: float | None = 0.0  # None: the optimizer has no price

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["train"] = self.train.to_dict() if self.train else None
        return out


@dataclass(slots=True)
class Round:
    number: int  # 0: the original
    train: Score  # the best prompt after the round
    candidates: list[Candidate] = field(default_factory=list)
    kept: bool = False  # a candidate replaced the current best

    def to_dict(self) -> dict[str, Any]:
        return {
            "round": self.number, "train": self.train.to_dict(), "kept": self.kept,
            "candidates": [c.to_dict() for c in self.candidates],
        }  # fmt: skip


@dataclass(slots=True)
class ImproveReport:
    prompt: str
    dataset: str
    version: int
    theme: str | None
    train_ids: list[str]
    test_ids: list[str]
    original: str
    winner: str
    rounds: list[Round] = field(default_factory=list)
    test_before: Score | None = None
    test_after: Score | None = None
    fixed: list[str] = field(default_factory=list)
    regressed: list[str] = field(default_factory=list)
    optimizer_calls: int = 0  # requests to the optimizer made now
    eval_calls: int = 0  # model calls of the evals made now
    optimizer_cost_usd: float = 0.0
    eval_cost_usd: float = 0.0
    #: models (as prices.yaml names them) some of whose calls have no price: those calls are
    #: in neither the costs nor the budget
    unpriced: list[str] = field(default_factory=list)
    budget_usd: float | None = None
    stop: str = "rounds done"
    verdict: str = "no change"
    rationale: str = ""  # the winner's
    diff: str = ""
    saved_version: int | None = None

    @property
    def cost_usd(self) -> float:
        return self.optimizer_cost_usd + self.eval_cost_usd

    @property
    def requests(self) -> int:
        return self.optimizer_calls + self.eval_calls

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k not in ("rounds", "original")}
        out["rounds"] = [r.to_dict() for r in self.rounds]
        out["test_before"] = self.test_before.to_dict() if self.test_before else None
        out["test_after"] = self.test_after.to_dict() if self.test_after else None
        out["cost_usd"] = self.cost_usd
        out["requests"] = self.requests
        return out


def _eval_spend(engine: Engine, run_id: int) -> tuple[float, bool]:
    """What the run's model calls cost (results the response cache did not answer), and
    whether some of them had no price (an answer without an error and without a cost)."""
    from reviewer.evals.runner import RESULTS

    r = RESULTS.c
    unpriced = case((r.cost_usd.is_(None) & r.error.is_(None), 1))
    with engine.connect() as conn:
        total, without = conn.execute(
            select(func.sum(r.cost_usd), func.count(unpriced)).where(
                r.run_id == run_id, r.cached.is_(False)
            )
        ).one()
    return float(total or 0.0), bool(without)


def _passing(engine: Engine, run_id: int) -> tuple[list[str], int]:
    from reviewer.evals.compare import Baseline, compare

    cases = compare(engine, run_id, Baseline(kind="none", label="no baseline")).cases
    graded = [c for c in cases if c.new.passed is not None and not c.new.error]
    return [c.item_id for c in graded if c.new.passed], len(graded)


class _Search:
    def __init__(self, engine: Engine, workspace: Path, report: ImproveReport, **run: Any) -> None:
        self.engine = engine
        self.workspace = workspace
        self.report = report
        self.run = run
        self.runs: dict[int, float] = {}  # eval run -> its spend, each counted once

    def spent(self) -> float:
        return self.report.optimizer_cost_usd + self.report.eval_cost_usd

    def over(self) -> bool:
        budget = self.report.budget_usd
        return budget is not None and self.spent() >= budget

    async def score(self, text: str, ids: list[str], part: str) -> Score:
        from reviewer.datasets.items import DatasetError
        from reviewer.evals.providers import ProviderError
        from reviewer.evals.runner import run_eval

        prompt = parse_prompt(text, f"prompts/{self.report.prompt}.yaml")
        try:
            [outcome] = await run_eval(
                self.engine, prompt, text, self.report.dataset, version=self.report.version,
                cases=ids, part=part, workspace=self.workspace, **self.run,
            )  # fmt: skip
        except (ProviderError, DatasetError) as exc:
            raise OptimizeError(str(exc)) from None
        self.report.eval_calls += int(outcome.summary.get("called") or 0)
        if outcome.run_id not in self.runs:
            spend, unpriced = await asyncio.to_thread(_eval_spend, self.engine, outcome.run_id)
            self.runs[outcome.run_id] = spend
            self.report.eval_cost_usd += spend
            if unpriced and outcome.model not in self.report.unpriced:
                self.report.unpriced.append(outcome.model)
        passing, graded = await asyncio.to_thread(_passing, self.engine, outcome.run_id)
        return Score(outcome.run_id, len(passing), graded, sorted(passing))


def split_cases(ids: list[str]) -> tuple[list[str], list[str]]:
    """(train, test) case ids: `HELD_OUT` of them held out by a hash of the id, one at least on
    each side."""
    from reviewer.datasets.items import hash_split

    return hash_split(ids, str, HELD_OUT, seed=SEED, both=True)


async def improve(
    engine: Engine,
    workspace: Path,
    name: str,
    dataset: str,
    *,
    rounds: int = 2,
    candidates: int = 2,
    theme: str | None = None,
    budget_usd: float | None = None,
    save: bool = False,
    by: str | None = None,
    note: Note | None = None,
    concurrency: int = 8,
    timeout: float = 120.0,
) -> ImproveReport:
    """Search for a better version of prompts/NAME.yaml on `dataset` (see the module)."""
    from reviewer.datasets.items import DatasetError
    from reviewer.datasets.versions import iter_version_items, version_info
    from reviewer.evals.versions import VersionError, prompt_path, save_version

    say = note or (lambda _text: None)
    if rounds < 1 or candidates < 1:
        raise OptimizeError("rounds and candidates are at least 1")
    if budget_usd is not None and budget_usd <= 0:
        raise OptimizeError(f"the budget is a positive amount of USD, not {budget_usd}")
    try:
        path = prompt_path(workspace, name)
        original = path.read_bytes().decode("utf-8-sig")
        prompt = parse_prompt(original, f"prompts/{path.name}")
    except VersionError as exc:
        raise OptimizeError(str(exc)) from None
    except FileNotFoundError:
        raise OptimizeError(f"no prompt file prompts/{name}.yaml") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise OptimizeError(f"prompts/{name}.yaml: cannot read: {exc}") from None
    except PromptError as exc:
        raise OptimizeError(str(exc)) from None
    optimizer_of(prompt)  # no model configured: said before anything runs
    try:
        info = await asyncio.to_thread(version_info, engine, dataset, None)
    except DatasetError as exc:
        raise OptimizeError(str(exc)) from None
    items = await asyncio.to_thread(lambda: list(iter_version_items(engine, dataset, info.number)))
    if len(items) < 2:
        raise OptimizeError(f"dataset {dataset} has {len(items)} case(s): it needs 2 at least")
    if theme is not None:
        known = sorted({t for item in items for t in item.get("themes") or []})
        if theme not in known:
            raise OptimizeError(
                f"no case of dataset {dataset} has theme {theme!r}"
                f" (its themes: {', '.join(known) or 'none'})"
            )
    train_ids, test_ids = split_cases([str(item["id"]) for item in items])
    report = ImproveReport(
        prompt=name, dataset=dataset, version=info.number, theme=theme, train_ids=train_ids,
        test_ids=test_ids, original=original, winner=original, budget_usd=budget_usd,
    )  # fmt: skip
    search = _Search(engine, workspace, report, by=by, concurrency=concurrency, timeout=timeout)
    best = await search.score(original, train_ids, TRAIN)
    report.rounds.append(Round(0, best))
    say(f"round 0 (the original): train {best.passed}/{best.graded}")
    tried: list[str] = []
    for number in range(1, rounds + 1):
        fails = await asyncio.to_thread(failing_cases, engine, best.run_id, theme)
        if not fails:
            report.stop = "no failures left" + (f" (theme {theme})" if theme else "")
            break
        this = Round(number, best)
        report.rounds.append(this)
        challenger: tuple[str, str, Score] | None = None
        for k in range(1, candidates + 1):
            if search.over():
                report.stop = "budget reached"
                break
            proposal = await propose(
                engine, workspace, report.winner, fails, theme=theme, candidate=k, candidates=candidates,
                round_=number, tried=tried, timeout=timeout,
            )  # fmt: skip
            report.optimizer_calls += proposal.requests
            report.optimizer_cost_usd += proposal.spend_usd or 0.0
            model = proposal.model.split(":", 1)[-1]  # `provider:model`: prices name the model
            if proposal.spend_usd is None and model not in report.unpriced:
                report.unpriced.append(model)
            candidate = Candidate(number, k, proposal.rationale, problem=proposal.problem,
                                  cost_usd=proposal.spend_usd)  # fmt: skip
            this.candidates.append(candidate)
            if proposal.problem is not None or not proposal.changed:
                if proposal.rationale:
                    tried.append(proposal.rationale)
                continue
            if search.over():
                report.stop = "budget reached"
                break
            candidate.train = await search.score(proposal.prompt, train_ids, TRAIN)
            say(f"round {number} candidate {k}: train {candidate.train.passed}/"
                f"{candidate.train.graded}")  # fmt: skip
            top = challenger[2] if challenger else best
            if (candidate.train.rate or 0.0) > (top.rate or 0.0):
                challenger = (proposal.prompt, proposal.rationale, candidate.train)
            else:
                tried.append(proposal.rationale)
        if challenger is not None:
            report.winner, report.rationale, best = challenger
            this.train, this.kept = best, True
        if report.stop == "budget reached":
            break
    report.test_before = await search.score(original, test_ids, TEST)
    report.test_after = report.test_before
    if report.winner != original:
        report.test_after = await search.score(report.winner, test_ids, TEST)
    say(f"held-out: {_rate(report.test_before)} -> {_rate(report.test_after)}")
    before, after = set(report.test_before.passing), set(report.test_after.passing)
    report.fixed = sorted(after - before)
    report.regressed = sorted(before - after)
    if report.winner != original:
        now, was = report.test_after.rate or 0.0, report.test_before.rate or 0.0
        report.verdict = "improved" if now > was else "overfit" if now < was else "unconfirmed"
    from reviewer.evals.optimize import unified_diff

    report.diff = unified_diff(original, report.winner)
    if save and report.winner != original:
        try:
            saved = await asyncio.to_thread(
                save_version, engine, workspace, name, report.winner, by=by,
                note=f"improve on {dataset}: {report.rationale}"[:500],
            )  # fmt: skip
        except (PromptError, VersionError) as exc:
            raise OptimizeError(f"the winner was not saved: {exc}") from None
        report.saved_version = saved.number
    return report


def improve_sync(*args: Any, **kwargs: Any) -> ImproveReport:
    return asyncio.run(improve(*args, **kwargs))


def _rate(score: Score | None) -> str:
    if score is None or score.rate is None:
        return "-"
    return f"{score.rate * 100:.0f}% ({score.passed}/{score.graded})"


def round_rows(report: ImproveReport) -> list[list[str]]:
    """The round table's rows: round, best train pass rate, candidates' train rates, kept."""
    rows = []
    for r in report.rounds:
        shown = []
        for c in r.candidates:
            if c.problem:
                shown.append(f"#{c.number} unusable")
            elif c.train is None:
                shown.append(f"#{c.number} not run")
            else:
                shown.append(f"#{c.number} {_rate(c.train)}")
        label = "original" if r.number == 0 else str(r.number)
        kept = "yes" if r.kept else ("-" if r.number == 0 else "no")
        rows.append([label, _rate(r.train), ", ".join(shown) or "-", kept])
    return rows


def summary_lines(report: ImproveReport) -> list[str]:
    """The report after the table (plain text; the diff is apart)."""
    theme = f", theme {report.theme}" if report.theme else ""
    lines = [
        f"{report.prompt} on {report.dataset} v{report.version}{theme}: {len(report.train_ids)}"
        f" train cases, {len(report.test_ids)} held-out test cases ({HELD_OUT:.0%}, by case id)",
        f"held-out: {_rate(report.test_before)} -> {_rate(report.test_after)}",
        "fixed: " + (", ".join(report.fixed) or "none"),
        "regressed: " + (", ".join(report.regressed) or "none"),
        f"cost: ${report.cost_usd:.4f} (optimizer ${report.optimizer_cost_usd:.4f}, evals"
        f" ${report.eval_cost_usd:.4f}); {report.requests} new calls now"
        + (
            f"; no price for {', '.join(report.unpriced)} (add it to prices.yaml):"
            " its calls are not counted"
            if report.unpriced
            else ""
        ),
        f"verdict: {report.verdict}",
        f"stopped: {report.stop}"
        + (f" (budget ${report.budget_usd:g})" if report.budget_usd is not None else ""),
    ]
    if report.rationale:
        lines.append(f"rationale: {report.rationale}")
    return lines
