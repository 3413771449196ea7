"""Queue statistics: progress per reviewer and agreement per rubric score.

Agreement is computed over complete reviews (the latest event of each item and reviewer) of
the queue's active items, for the verdict and every non-text rubric score: Cohen's kappa when
exactly two reviewers gave that score, and Krippendorff's alpha in every case (ordinal for
scales, nominal for categories, pass/fail and the verdict).

A pairwise queue (`unit: pair`) adds `pair`: each complete review's choice mapped back from
left/right to the runs (A better, B better, tie, both bad) through the `pairs` table, the win
rate of A over B with its 95 % Wilson interval, and the reviewers' agreement on those choices.
The rate counts reviews (an item judged by two reviewers counts twice), a tie as half a win,
and leaves out the reviews saying both answers are bad (they are counted on their own).
"""

from __future__ import annotations

from collections import defaultdict
from statistics import median
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from reviewer.measures import wilson_interval
from reviewer.review.agreement import Level, cohens_kappa, krippendorff_alpha
from reviewer.review.queues import QueueDef
from reviewer.store.events import (
    EVENTS,
    QUEUE_ITEMS,
    ReviewState,
    is_latest,
)


def queue_stats(engine: Engine, queue: QueueDef) -> dict[str, Any]:
    """Progress and agreement of one queue, as a JSON-ready dict."""
    e = EVENTS.alias("e")
    active = [QUEUE_ITEMS.c.queue == queue.name, QUEUE_ITEMS.c.active.is_(True)]
    with engine.connect() as conn:
        counts: dict[str, int] = dict(
            conn.execute(
                select(QUEUE_ITEMS.c.status, func.count())
                .where(*active)
                .group_by(QUEUE_ITEMS.c.status)
            ).all()
        )
        rows = conn.execute(
            select(e)
            .join(QUEUE_ITEMS, QUEUE_ITEMS.c.id == e.c.queue_item_id)
            .where(*active, is_latest(e))
            .order_by(e.c.queue_item_id, e.c.reviewer)
        ).all()
    states = [ReviewState.from_event(r) for r in rows]
    items = [r.queue_item_id for r in rows]

    per_reviewer: dict[str, dict[str, Any]] = {}
    for state in states:
        entry = per_reviewer.setdefault(
            state.reviewer,
            {"reviewer": state.reviewer, "done": 0, "skipped": 0, "in_progress": 0, "seconds": 0.0},
        )
        if state.complete:
            entry["done"] += 1
            entry["seconds"] += state.seconds
        elif state.skipped:
            entry["skipped"] += 1
        else:
            entry["in_progress"] += 1
    reviewers = []
    for entry in sorted(per_reviewer.values(), key=lambda x: (-x["done"], x["reviewer"])):
        entry["avg_seconds"] = round(entry["seconds"] / entry["done"], 1) if entry["done"] else None
        entry["seconds"] = round(entry["seconds"], 1)
        reviewers.append(entry)

    # item -> reviewer -> value, per score, from complete reviews
    ratings: dict[str, dict[int, dict[str, Any]]] = defaultdict(lambda: defaultdict(dict))
    for item_id, state in zip(items, states, strict=True):
        if not state.complete:
            continue
        ratings["verdict"][item_id][state.reviewer] = state.verdict
        for name, value in state.scores.items():
            ratings[name][item_id][state.reviewer] = value

    # a pairwise queue's verdict (left, right...) is compared once mapped to the runs (`pair`)
    agreement = (
        []
        if queue.unit == "pair"
        else [_agreement("verdict", "pass_fail", "nominal", ratings["verdict"])]
    )
    for score in queue.rubric:
        if score.type == "text":
            continue
        level: Level = "ordinal" if score.type == "scale" else "nominal"
        agreement.append(_agreement(score.name, score.type, level, ratings.get(score.name, {})))

    done, skipped = int(counts.get("done", 0)), int(counts.get("skipped", 0))
    total = sum(int(n) for n in counts.values())
    extra: dict[str, Any] = {}
    if queue.unit == "pair":
        with engine.connect() as conn:
            extra["pair"] = pair_summary(pair_choices(conn, queue))
    return {
        "assistance": _assistance(states),
        "queue": queue.name,
        "reviews_per_item": queue.reviews_per_item,
        "total": total,
        "done": done,
        "skipped": skipped,
        "pending": total - done - skipped,
        "reviewers": reviewers,
        "agreement": agreement,
        **extra,
    }


def pair_choices(conn: Connection, queue: QueueDef) -> list[dict[str, Any]]:
    """The complete reviews of a pairwise queue's active items, each with its choice mapped to
    the runs: `A`, `B`, `tie` or `both-bad` (and the record, the reviewer, which run was on the
    left)."""
    from reviewer.store.schema import PairRow

    pairs = PairRow.__table__  # type: ignore[attr-defined]
    e = EVENTS.alias("e")
    rows = conn.execute(
        select(e.c.queue_item_id, e.c.record_id, e.c.reviewer, e.c.verdict, pairs.c.left)
        .join(QUEUE_ITEMS, QUEUE_ITEMS.c.id == e.c.queue_item_id)
        .join(pairs, pairs.c.record_id == e.c.record_id)
        .where(
            QUEUE_ITEMS.c.queue == queue.name,
            QUEUE_ITEMS.c.active.is_(True),
            is_latest(e),
            e.c.complete.is_(True),
        )
        .order_by(e.c.queue_item_id, e.c.reviewer)
    ).all()
    out = []
    for item, record_id, reviewer, verdict, left in rows:
        on_left, on_right = ("A", "B") if left == "a" else ("B", "A")
        choice = {"left": on_left, "right": on_right}.get(verdict, verdict)
        if choice not in ("A", "B", "tie", "both-bad"):
            continue
        out.append(
            {"queue_item_id": item, "record_id": record_id, "reviewer": reviewer,
             "verdict": verdict, "left": left, "choice": choice}
        )  # fmt: skip
    return out


def pair_summary(choices: list[dict[str, Any]]) -> dict[str, Any]:
    """The win rate of A over B (ties half, both-bad left out) with its 95 % Wilson interval,
    the counts, and the reviewers' agreement on the choices."""
    counts = {k: sum(1 for c in choices if c["choice"] == k) for k in ("A", "B", "tie", "both-bad")}
    judged = counts["A"] + counts["B"] + counts["tie"]
    wins = counts["A"] + counts["tie"] / 2
    interval = wilson_interval(wins, judged)
    by_item: dict[int, dict[str, Any]] = defaultdict(dict)
    for c in choices:
        by_item[c["queue_item_id"]][c["reviewer"]] = c["choice"]
    return {
        "reviews": len(choices),
        "items": len(by_item),
        "a_wins": counts["A"],
        "b_wins": counts["B"],
        "ties": counts["tie"],
        "both_bad": counts["both-bad"],
        "win_rate_a": _round(wins / judged) if judged else None,
        "interval_95": [_round(interval[0]), _round(interval[1])] if interval else None,
        "agreement": _agreement("choice", "pair", "nominal", by_item),
    }


def pair_lines(pair: dict[str, Any]) -> list[str]:
    """The pairwise part of `stats_lines`."""
    if pair["win_rate_a"] is None:
        rate = "no judged pair yet"
    else:
        low, high = pair["interval_95"]
        rate = (
            f"win rate of A over B {pair['win_rate_a'] * 100:.1f}%"
            f" (95% interval {low * 100:.1f}-{high * 100:.1f}%)"
        )
    a = pair["agreement"]
    kappa = "-" if a["kappa"] is None else f"{a['kappa']:.3f}"
    alpha = "-" if a["alpha"] is None else f"{a['alpha']:.3f}"
    return [
        "",
        rate,
        f"{pair['reviews']} reviews of {pair['items']} pairs: A better {pair['a_wins']}, "
        f"B better {pair['b_wins']}, tie {pair['ties']}, both bad {pair['both_bad']}",
        f"agreement on the choice: {a['items']} pairs judged by two or more reviewers, "
        f"kappa {kappa}, alpha {alpha}",
        "a tie counts half a win; 'both bad' reviews are left out of the rate (Wilson interval)",
    ]


#: how a review met the assistant's suggestion, as the statistics group it
_ASSISTED = {"shown": "shown", "accepted": "shown", "edited": "shown", "blind": "blind"}


def _assistance(states: list[ReviewState]) -> list[dict[str, Any]]:
    """Per reviewer, the pace of complete reviews with a suggestion shown, hidden (blind) and
    without one: items, median seconds an item and items an hour (empty when the queue never
    had a suggestion)."""
    if not any(state.suggestion for state in states):
        return []
    groups: dict[tuple[str, str], list[float]] = defaultdict(list)
    for state in states:
        if state.complete:
            groups[(state.reviewer, _ASSISTED.get(state.suggestion or "", "none"))].append(
                state.seconds
            )
    out = []
    order = {"shown": 0, "blind": 1, "none": 2}
    for (reviewer, kind), seconds in sorted(
        groups.items(), key=lambda kv: (kv[0][0], order[kv[0][1]])
    ):
        spent = sum(seconds)
        out.append(
            {
                "reviewer": reviewer,
                "suggestion": kind,
                "items": len(seconds),
                "median_seconds": _round(median(seconds)),
                "items_per_hour": _round(3600 * len(seconds) / spent) if spent else None,
            }
        )
    return out


def _agreement(
    name: str, kind: str, level: Level, by_item: dict[int, dict[str, Any]]
) -> dict[str, Any]:
    """Agreement on one score over the items two or more reviewers rated."""
    shared = {item: given for item, given in by_item.items() if len(given) >= 2}
    raters = sorted({r for given in shared.values() for r in given})
    kappa = None
    if len(raters) == 2:
        a, b = raters
        kappa = cohens_kappa((given[a], given[b]) for given in shared.values())
    alpha = krippendorff_alpha(([given.get(r) for r in raters] for given in shared.values()), level)
    return {
        "score": name,
        "type": kind,
        "level": level,
        "items": len(shared),
        "reviewers": raters,
        "kappa": _round(kappa),
        "alpha": _round(alpha),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def stats_lines(stats: dict[str, Any]) -> list[str]:
    """`queue_stats` as the text the CLI prints and the app shows."""
    lines = [
        f"{stats['queue']}: {stats['total']} items, {stats['done']} done, {stats['skipped']} skipped, "
        f"{stats['pending']} pending ({stats['reviews_per_item']} review{'s' if stats['reviews_per_item'] != 1 else ''} per item)"
    ]
    if not stats["reviewers"]:
        return [*lines, "no reviews yet"]
    if "pair" in stats:
        lines += pair_lines(stats["pair"])
    width = max([len(r["reviewer"]) for r in stats["reviewers"]] + [8])
    lines += [
        "",
        f"{'reviewer':<{width}}  {'done':>6}  {'skipped':>7}  {'started':>7}  {'s/item':>7}",
    ]
    for r in stats["reviewers"]:
        avg = "-" if r["avg_seconds"] is None else f"{r['avg_seconds']:.1f}"
        lines.append(
            f"{r['reviewer']:<{width}}  {r['done']:>6}  {r['skipped']:>7}  {r['in_progress']:>7}  {avg:>7}"
        )
    if not stats["agreement"]:
        return lines
    width = max([len(a["score"]) for a in stats["agreement"]] + [5])
    lines += [
        "",
        f"{'score':<{width}}  {'items':>5}  {'raters':>6}  {'kappa':>6}  {'alpha':>6}  level",
    ]
    for a in stats["agreement"]:
        kappa = "-" if a["kappa"] is None else f"{a['kappa']:.3f}"
        alpha = "-" if a["alpha"] is None else f"{a['alpha']:.3f}"
        lines.append(
            f"{a['score']:<{width}}  {a['items']:>5}  {len(a['reviewers']):>6}  {kappa:>6}  {alpha:>6}  {a['level']}"
        )
    lines += [
        "",
        "items: rated by two or more reviewers; kappa: exactly two reviewers; alpha: any number",
    ]
    if stats.get("assistance"):
        width = max([len(a["reviewer"]) for a in stats["assistance"]] + [8])
        lines += [
            "",
            f"{'reviewer':<{width}}  {'suggestion':<10}  {'items':>5}  {'median s':>8}  {'items/h':>7}",
        ]
        for a in stats["assistance"]:
            med = "-" if a["median_seconds"] is None else f"{a['median_seconds']:.1f}"
            rate = "-" if a["items_per_hour"] is None else f"{a['items_per_hour']:.0f}"
            lines.append(
                f"{a['reviewer']:<{width}}  {a['suggestion']:<10}  {a['items']:>5}  {med:>8}  {rate:>7}"
            )
        lines.append(
            "suggestion: shown (beside the grades, or taken with y), blind (hidden until the verdict), none"
        )
    return lines
