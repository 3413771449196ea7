"""How well a queue's judge agrees with its human reviewers (`reviewer judges agreement`).

Each human review of an item with a suggestion of the judge is a pair (human, judge): the
suggestion the review was recorded against (`suggestion_id`), else the judge's newest one for
the item. For the verdict and each rubric score: accuracy, Cohen's kappa (quadratic weighted
kappa for scales), n and a confusion matrix; the same figures for the blind items (the
suggestion hidden until the verdict) and the shown ones, the accept rate (reviews that took a
shown suggestion whole with `y`) and the anchoring gap: verdict accuracy when the suggestion
was shown minus when it was blind. A gap well above zero says reviewers lean on the
assistant; blind items are the honest measure of the judge.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Engine, select

from reviewer.review.agreement import cohens_kappa, weighted_kappa
from reviewer.review.queues import QueueDef
from reviewer.store.events import EVENTS, is_latest
from reviewer.store.suggestions import SUGGESTIONS

SHOWN = ("shown", "accepted", "edited")


@dataclass
class Figures:
    """Agreement on one field over some pairs."""

    n: int = 0
    accuracy: float | None = None
    kappa: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "accuracy": self.accuracy, "kappa": self.kappa}


@dataclass
class FieldAgreement(Figures):
    blind: Figures = field(default_factory=Figures)
    shown: Figures = field(default_factory=Figures)
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)  # human -> judge -> n

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "blind": self.blind.to_dict(),
            "shown": self.shown.to_dict(),
            "confusion": self.confusion,
        }


@dataclass
class JudgeAgreement:
    queue: str
    judge: str
    verdict: FieldAgreement
    scores: dict[str, FieldAgreement]
    accept_rate: float | None
    anchoring_gap: float | None
    reviews: int  # human reviews with a verdict
    with_suggestion: int  # of them, on items the judge suggested for

    def to_dict(self) -> dict[str, Any]:
        return {
            "queue": self.queue,
            "judge": self.judge,
            "verdict": self.verdict.to_dict(),
            "scores": {name: f.to_dict() for name, f in self.scores.items()},
            "accept_rate": self.accept_rate,
            "anchoring_gap": self.anchoring_gap,
            "reviews": self.reviews,
            "with_suggestion": self.with_suggestion,
        }


def _figures(pairs: list[tuple[Any, Any]], scale: list[Any] | None) -> Figures:
    if not pairs:
        return Figures()
    accuracy = sum(1 for a, b in pairs if a == b) / len(pairs)
    kappa = weighted_kappa(pairs, scale) if scale else cohens_kappa(pairs)
    return Figures(len(pairs), accuracy, kappa)


def _field(rows: list[tuple[Any, Any, str | None]], scale: list[Any] | None) -> FieldAgreement:
    """rows: (human, judge, how the suggestion was seen)."""
    pairs = [(h, j) for h, j, _ in rows]
    whole = _figures(pairs, scale)
    confusion: dict[str, dict[str, int]] = {}
    for (h, j), count in sorted(
        Counter(pairs).items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1]))
    ):
        confusion.setdefault(str(h), {})[str(j)] = count
    return FieldAgreement(
        whole.n,
        whole.accuracy,
        whole.kappa,
        blind=_figures([(h, j) for h, j, seen in rows if seen == "blind"], scale),
        shown=_figures([(h, j) for h, j, seen in rows if seen in SHOWN], scale),
        confusion=confusion,
    )


def judge_agreement(engine: Engine, queue: QueueDef, judge: str | None = None) -> JudgeAgreement:
    """The agreement of `judge` (default: the queue's assist judge) with the queue's reviewers."""
    name = judge or (queue.assist.judge if queue.assist else None)
    if not name:
        raise ValueError(f"queue {queue.name} names no judge: give --judge NAME")
    e = EVENTS.alias("e")
    with engine.connect() as conn:
        reviews = conn.execute(
            select(e).where(e.c.queue == queue.name, e.c.verdict.is_not(None), is_latest(e))
        ).all()
        suggestions = conn.execute(
            select(SUGGESTIONS)
            .where(SUGGESTIONS.c.queue == queue.name, SUGGESTIONS.c.judge == name)
            .where(SUGGESTIONS.c.error.is_(None))
            .order_by(SUGGESTIONS.c.id)
        ).all()
    by_id = {int(s.id): s for s in suggestions}
    newest = {int(s.queue_item_id): s for s in suggestions}  # ordered by id: the last wins
    verdicts: list[tuple[Any, Any, str | None]] = []
    scores: dict[str, list[tuple[Any, Any, str | None]]] = {s.name: [] for s in queue.rubric}
    accepted = shown = 0
    for review in reviews:
        suggestion = by_id.get(review.suggestion_id or -1) or newest.get(int(review.queue_item_id))
        if suggestion is None:
            continue
        seen = review.suggestion
        if seen in SHOWN:
            shown += 1
            accepted += seen == "accepted"
        verdicts.append((review.verdict, suggestion.verdict, seen))
        human = orjson.loads(review.scores) if review.scores else {}
        machine = orjson.loads(suggestion.scores) if suggestion.scores else {}
        for score in queue.rubric:
            if human.get(score.name) is not None and machine.get(score.name) is not None:
                scores[score.name].append((human[score.name], machine[score.name], seen))
    verdict = _field(verdicts, None)
    per_score = {
        s.name: _field(scores[s.name], list(range(s.min, s.max + 1)) if s.type == "scale" else None)
        for s in queue.rubric
        if s.type != "text"
    }
    gap = None
    if verdict.shown.accuracy is not None and verdict.blind.accuracy is not None:
        gap = verdict.shown.accuracy - verdict.blind.accuracy
    return JudgeAgreement(
        queue=queue.name,
        judge=name,
        verdict=verdict,
        scores=per_score,
        accept_rate=accepted / shown if shown else None,
        anchoring_gap=gap,
        reviews=len(reviews),
        with_suggestion=len(verdicts),
    )


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def _kappa(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def format_agreement(result: JudgeAgreement) -> list[str]:
    """The agreement as text lines (the CLI and the app's agreement panel)."""
    lines = [
        f"judge {result.judge} on queue {result.queue}: {result.with_suggestion} of "
        f"{result.reviews} human reviews have a suggestion to compare",
        f"{'field':<16} {'n':>5} {'agree':>6} {'kappa':>6}   {'blind n/agree/kappa':<22} "
        f"{'shown n/agree/kappa':<22}",
    ]
    fields = [("verdict", result.verdict), *result.scores.items()]
    for name, f in fields:
        blind = f"{f.blind.n}/{_pct(f.blind.accuracy)}/{_kappa(f.blind.kappa)}"
        shown = f"{f.shown.n}/{_pct(f.shown.accuracy)}/{_kappa(f.shown.kappa)}"
        lines.append(
            f"{name:<16} {f.n:>5} {_pct(f.accuracy):>6} {_kappa(f.kappa):>6}   {blind:<22} {shown:<22}"
        )
    lines.append(
        f"accept rate (y on a shown suggestion): {_pct(result.accept_rate)} · anchoring gap "
        "(verdict agreement shown − blind): "
        + ("—" if result.anchoring_gap is None else f"{result.anchoring_gap * 100:+.0f} points")
    )
    if result.verdict.confusion:
        lines.append(
            "verdict confusion (human → judge): "
            + ", ".join(
                f"{h}→{j} {n}"
                for h, row in result.verdict.confusion.items()
                for j, n in row.items()
            )
        )
    return lines
