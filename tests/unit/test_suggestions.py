"""Suggested reviews in the review session: `y` takes a suggestion whole as one event that
points at it, a later change makes the review `edited`, a review given beside a suggestion is
`shown`, and the blind share (seeded, stable) is recorded as `blind`."""

from __future__ import annotations

import pytest

from reviewer.review.queues import Assist
from reviewer.store.events import ReviewError, stamp
from reviewer.store.suggestions import save_suggestion
from tests.unit.test_review_session import T0, events, make_items, session


def suggest(engine, item_id: int, verdict: str | None = "fail", **extra) -> int:
    values = {
        "queue_item_id": item_id,
        "queue": "q",
        "record_id": f"chatcmpl-q{item_id - 1}",
        "judge": "support-judge",
        "judge_hash": "h1",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "verdict": verdict,
        "scores": {"helpful": 2, "tone": "neutral"},
        "themes": ["invented-policy"],
        "reason": "states a 90-day policy",
        "confidence": 0.8,
        "created_at": stamp(T0),
    }
    values.update(extra)
    with engine.begin() as conn:
        return save_suggestion(conn, values)


def test_y_accepts_the_suggestion_whole_and_a_change_makes_it_edited(engine, tmp_path):
    ids = make_items(engine, tmp_path, 2)
    first = suggest(engine, ids[0])
    s = session(engine, assist={"judge": "support-judge"})
    s.next_item()
    view = s.accept_suggestion(ids[0], first)
    assert view.review.complete
    (event,) = events(engine)
    assert (event["action"], event["verdict"], event["suggestion_id"], event["suggestion"]) == (
        "accept", "fail", first, "accepted",
    )  # fmt: skip
    assert event["scores"] == '{"helpful":2,"tone":"neutral"}'
    assert event["themes"] == '["invented-policy"]'
    s.set_note(ids[0], "agreed")  # not a grade: still accepted
    assert events(engine)[-1]["suggestion"] == "accepted"
    s.set_score(ids[0], "helpful", 3)
    assert (events(engine)[-1]["suggestion"], events(engine)[-1]["suggestion_id"]) == (
        "edited",
        first,
    )
    s.undo()
    assert events(engine)[-1]["suggestion"] == "accepted"


def test_a_review_beside_a_suggestion_is_shown_or_blind(engine, tmp_path):
    ids = make_items(engine, tmp_path, 40)
    assist = Assist(judge="support-judge", blind=0.25, seed=7)
    blind = [i for i in ids if assist.is_blind(i)]
    assert 5 <= len(blind) <= 15  # a seeded quarter, the same on every call
    assert blind == [i for i in ids if assist.is_blind(i)]
    for i in ids:
        suggest(engine, i)
    s = session(engine, assist={"judge": "support-judge", "blind": 0.25, "seed": 7})
    for i in ids[:12]:
        s.set_score(i, "helpful", 4)
        s.set_verdict(i, "pass")
    kinds = {e["queue_item_id"]: e["suggestion"] for e in events(engine)}
    assert kinds == {i: ("blind" if i in blind else "shown") for i in ids[:12]}
    other = session(engine, "ben")  # a queue without assist: no relation recorded
    other.set_score(ids[20], "helpful", 4)
    assert events(engine)[-1]["suggestion"] is None


def test_a_suggestion_that_cannot_be_used_is_refused(engine, tmp_path):
    ids = make_items(engine, tmp_path, 2)
    broken = suggest(engine, ids[0], verdict=None, error="the answer is not JSON")
    s = session(engine, assist={"judge": "support-judge"})
    s.next_item()
    with pytest.raises(ReviewError, match="no usable verdict"):
        s.accept_suggestion(ids[0], broken)
    with pytest.raises(ReviewError, match="no suggestion for this item"):
        s.accept_suggestion(ids[1], broken)
    assert events(engine) == []


def test_stats_split_the_pace_by_how_the_suggestion_was_seen(engine, tmp_path):
    from reviewer.review.stats import queue_stats, stats_lines
    from tests.unit.test_review_session import Clock

    ids = make_items(engine, tmp_path, 8)
    for i in ids[:6]:
        suggest(engine, i)
    clock = Clock()
    s = session(engine, clock=clock, assist={"judge": "support-judge", "blind": 0.5, "seed": 3})
    blind = [i for i in ids[:6] if s.queue.assist.is_blind(i)]
    spent = {}
    while (item := s.next_item()) is not None:
        i = item.queue_item_id
        if i in ids[:6] and i not in blind and i % 2:  # some shown ones taken with y, fast
            clock.advance(4)
            spent[i] = 4
            s.accept_suggestion(item, ids.index(i) + 1)
        else:
            clock.advance(20 if i in blind else 10)
            spent[i] = 20 if i in blind else 10
            s.set_score(item, "helpful", 3)
            s.set_verdict(item, "pass")
    rows = {(r["suggestion"]): r for r in queue_stats(engine, s.queue)["assistance"]}
    shown = [i for i in ids[:6] if i not in blind]
    assert rows["blind"]["items"] == len(blind) and rows["blind"]["median_seconds"] == 20
    assert rows["none"]["items"] == 2 and rows["none"]["median_seconds"] == 10
    assert rows["shown"]["items"] == len(shown)
    assert rows["shown"]["items_per_hour"] == round(
        3600 * len(shown) / sum(spent[i] for i in shown), 3
    )
    assert any("suggestion: shown" in line for line in stats_lines(queue_stats(engine, s.queue)))
