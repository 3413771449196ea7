"""The review workflow: every action is an event in the database, the state derives from the
history, undo is a new event, claims keep reviewers apart, a new session resumes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, insert, select, text, update

from reviewer.datasets.promote import PromotingSession
from reviewer.review.counts import recount
from reviewer.review.queues import parse_queue
from reviewer.review.session import ReviewSession
from reviewer.store.events import (
    CLAIMS,
    EVENTS,
    QUEUE_ITEMS,
    ReviewError,
    stamp,
)
from tests.conftest import run_import

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

RUBRIC = [
    {"name": "helpful", "type": "scale", "min": 1, "max": 5, "required": True},
    {"name": "tone", "type": "category", "options": ["friendly", "neutral", "rude"]},
    {"name": "policy-ok", "type": "pass_fail"},
    {"name": "why", "type": "text"},
]


class Clock:
    """A wall clock (for claims) and a monotonic timer (for seconds spent) tests move by hand."""

    def __init__(self) -> None:
        self.now = T0
        self.elapsed = 0.0

    def __call__(self) -> datetime:
        return self.now

    def timer(self) -> float:
        return self.elapsed

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.elapsed += seconds


def call_line(i: int) -> dict[str, Any]:
    """A logged OpenAI call: system prompt, a question, a text answer."""
    return {
        "timestamp": f"2026-11-{1 + i % 28:02d}T10:00:00Z",
        "request": {
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "You are the support assistant."},
                {"role": "user", "content": f"Question {i}?"},
            ],
        },
        "response": {
            "id": f"chatcmpl-q{i}",
            "object": "chat.completion",
            "created": 1732000000 + i,
            "model": "gpt-4o-mini",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": f"Answer {i}."},
                    "finish_reason": "stop",
                }
            ],
        },
    }


def make_items(engine: Engine, tmp_path: Path, n: int, queue: str = "q") -> list[int]:
    """Import n calls and put them in `queue` in order; returns the queue item ids in order."""
    path = tmp_path / f"calls-{queue}-{n}.jsonl"
    path.write_bytes(b"".join(orjson.dumps(call_line(i)) + b"\n" for i in range(n)))
    report = run_import(engine, path)
    assert report.total("rejected") == 0
    with engine.begin() as conn:
        conn.execute(
            insert(QUEUE_ITEMS),
            [
                {
                    "queue": queue,
                    "record_id": f"chatcmpl-q{i}",
                    "position": float(i),
                    "added_at": stamp(T0),
                }
                for i in range(n)
            ],
        )
        recount(conn, queue)  # items written here, not by a sync: count them
        return list(
            conn.execute(
                select(QUEUE_ITEMS.c.id)
                .where(QUEUE_ITEMS.c.queue == queue)
                .order_by(QUEUE_ITEMS.c.position)
            ).scalars()
        )


def make_queue(**extra: Any) -> Any:
    data: dict[str, Any] = {"name": "q", "rubric": RUBRIC, "dataset": "regressions"}
    data.update(extra)
    return parse_queue(data, "queues/q.yaml")


def session(
    engine: Engine, reviewer: str = "ana", clock: Clock | None = None, **queue: Any
) -> PromotingSession:
    clock = clock or Clock()
    return PromotingSession(engine, make_queue(**queue), reviewer, clock=clock, timer=clock.timer)


def events(engine: Engine, **where: Any) -> list[dict[str, Any]]:
    query = select(EVENTS).order_by(EVENTS.c.id)
    for key, value in where.items():
        query = query.where(EVENTS.c[key] == value)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def item_row(engine: Engine, item_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        return dict(
            conn.execute(select(QUEUE_ITEMS).where(QUEUE_ITEMS.c.id == item_id)).mappings().one()
        )


def claims(engine: Engine) -> list[tuple[int, str, str]]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(CLAIMS.c.queue_item_id, CLAIMS.c.reviewer, CLAIMS.c.expires_at).order_by(
                    CLAIMS.c.id
                )
            )
        ]


# -- claiming and viewing -------------------------------------------------------------------------


def test_next_item_claims_the_first_item_and_shows_the_record(engine, tmp_path):
    ids = make_items(engine, tmp_path, 3)
    s = session(engine)
    view = s.next_item()
    assert view is not None
    assert view.queue_item_id == ids[0] and s.current == ids[0]
    assert view.position == 1 and view.status == "pending" and view.editable
    assert view.record["id"] == "chatcmpl-q0"
    assert [m["role"] for m in view.record["messages"]] == ["system", "user"]
    assert view.record["output"]["content"] == "Answer 0."
    assert not view.review.started and view.review.scores == {}
    assert claims(engine) == [(ids[0], "ana", stamp(T0 + timedelta(minutes=30)))]
    assert events(engine) == []  # looking is not an action


def test_two_reviewers_get_different_items(engine, tmp_path):
    ids = make_items(engine, tmp_path, 3)
    clock = Clock()
    ana, ben = session(engine, "ana", clock), session(engine, "ben", clock)
    assert ana.next_item().queue_item_id == ids[0]
    view = ben.next_item()
    assert view.queue_item_id == ids[1]
    assert {(c[0], c[1]) for c in claims(engine)} == {(ids[0], "ana"), (ids[1], "ben")}


def test_an_item_held_by_another_reviewer_is_read_only(engine, tmp_path):
    ids = make_items(engine, tmp_path, 2)
    clock = Clock()
    ana, ben = session(engine, "ana", clock), session(engine, "ben", clock)
    ana.next_item()
    view = ben.open(ids[0])
    assert view.held_by == ["ana"] and not view.editable
    with pytest.raises(ReviewError, match="ana is reviewing this item"):
        ben.set_score(ids[0], "helpful", 3)
    assert events(engine) == []
    assert [(c[0], c[1]) for c in claims(engine)] == [(ids[0], "ana")]


def test_an_expired_claim_frees_the_item(engine, tmp_path):
    ids = make_items(engine, tmp_path, 2)
    clock = Clock()
    ana, ben, cy = (session(engine, name, clock) for name in ("ana", "ben", "cy"))
    assert ana.next_item().queue_item_id == ids[0]
    assert ben.next_item().queue_item_id == ids[1]
    clock.advance(29 * 60)
    assert cy.next_item() is None  # both still held
    clock.advance(2 * 60)  # ana's and ben's claims expired
    assert cy.next_item().queue_item_id == ids[0]
    assert {(c[0], c[1]) for c in claims(engine)} == {(ids[0], "cy"), (ids[1], "ben")}
    with pytest.raises(ReviewError, match="cy is reviewing"):
        ana.set_verdict(ids[0], "fail")


def test_acting_renews_the_claim(engine, tmp_path):
    ids = make_items(engine, tmp_path, 1)
    clock = Clock()
    ana, ben = session(engine, "ana", clock), session(engine, "ben", clock)
    ana.next_item()
    clock.advance(20 * 60)
    ana.set_score(ids[0], "helpful", 4)
    assert claims(engine) == [(ids[0], "ana", stamp(T0 + timedelta(minutes=50)))]
    clock.advance(20 * 60)  # 40 minutes after the claim, 20 after the renewal
    assert ben.next_item() is None


# -- actions --------------------------------------------------------------------------------------


def test_each_action_is_one_event_carrying_the_whole_state(engine, tmp_path):
    ids = make_items(engine, tmp_path, 2)
    s = session(engine)
    item = s.next_item()
    s.set_score(item, "helpful", 4)
    s.set_score(item, "tone", "rude")
    s.set_themes(item, ["Invented Policy", "wrong-language", "invented-policy"])
    s.set_note(item, "policy is 30 days")
    s.set_correction(item, "Returns are accepted within 30 days.")
    view = s.set_verdict(item, "fail")
    got = events(engine)
    assert [e["action"] for e in got] == ["score", "score", "themes", "note", "correct", "verdict"]
    assert all(
        e["reviewer"] == "ana" and e["queue"] == "q" and e["record_id"] == "chatcmpl-q0"
        for e in got
    )
    assert orjson.loads(got[0]["scores"]) == {"helpful": 4} and got[0]["verdict"] is None
    assert orjson.loads(got[1]["scores"]) == {"helpful": 4, "tone": "rude"}
    assert got[1]["themes"] is None
    assert orjson.loads(got[2]["themes"]) == ["invented-policy", "wrong-language"]
    last = got[-1]
    assert orjson.loads(last["scores"]) == {"helpful": 4, "tone": "rude"}
    assert orjson.loads(last["themes"]) == ["invented-policy", "wrong-language"]
    assert (last["note"], last["corrected"]) == (
        "policy is 30 days",
        "Returns are accepted within 30 days.",
    )
    assert (last["verdict"], last["complete"], last["skipped"]) == ("fail", True, False)
    assert [e["complete"] for e in got] == [False] * 5 + [True]
    assert view.review.verdict == "fail" and view.review.complete
    assert view.status == "done" and view.reviews_done == 1
    assert item_row(engine, ids[0])["status"] == "done"
    assert item_row(engine, ids[0])["reviews_done"] == 1
    assert claims(engine) == []  # a finished review holds no claim
    with engine.connect() as conn:
        names = list(conn.execute(text("SELECT name FROM themes ORDER BY name")).scalars())
    assert names == ["invented-policy", "wrong-language"]


def test_verdict_needs_the_required_scores(engine, tmp_path):
    ids = make_items(engine, tmp_path, 1)
    s = session(engine, rubric=[*RUBRIC, {"name": "safe", "type": "pass_fail", "required": True}])
    s.next_item()
    with pytest.raises(ReviewError, match="give the required scores first: helpful, safe"):
        s.set_verdict(ids[0], "pass")
    assert events(engine) == []
    s.set_score(ids[0], "helpful", 5)
    with pytest.raises(ReviewError, match="required scores first: safe$"):
        s.set_verdict(ids[0], "pass")
    s.set_score(ids[0], "safe", "pass")
    assert s.set_verdict(ids[0], "pass").status == "done"
    # clearing a required score afterwards makes the review incomplete again
    view = s.set_score(ids[0], "helpful", None)
    assert (view.review.complete, view.status, view.reviews_done) == (False, "pending", 0)
    assert [e["action"] for e in events(engine)] == ["score", "score", "verdict", "score"]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("helpful", 6, "helpful is from 1 to 5, not 6"),
        ("helpful", "x", "helpful is a number from 1 to 5"),
        ("helpful", True, "helpful is a number"),
        ("tone", "angry", "tone is one of friendly, neutral, rude"),
        ("policy-ok", "maybe", "policy-ok is pass or fail"),
        ("why", 3, "why is text"),
        ("speed", 3, "queue q has no score 'speed'"),
    ],
)
def test_scores_are_checked_against_the_rubric(engine, tmp_path, name, value, message):
    ids = make_items(engine, tmp_path, 1)
    s = session(engine)
    s.next_item()
    with pytest.raises(ReviewError, match=message):
        s.set_score(ids[0], name, value)
    assert events(engine) == []


def test_bad_verdict_is_refused(engine, tmp_path):
    ids = make_items(engine, tmp_path, 1)
    s = session(engine)
    with pytest.raises(ReviewError, match="pass or fail"):
        s.set_verdict(ids[0], "meh")


def test_skip_releases_the_item_for_others(engine, tmp_path):
    ids = make_items(engine, tmp_path, 2)
    clock = Clock()
    ana, ben = session(engine, "ana", clock), session(engine, "ben", clock)
    ana.next_item()
    view = ana.skip(ids[0])
    assert view.status == "skipped" and view.review.skipped and not view.review.complete
    assert claims(engine) == []
    assert ana.next_item().queue_item_id == ids[1]  # not offered again to who skipped it
    assert ben.next_item().queue_item_id == ids[0]  # but to the others
    ben.set_score(ids[0], "helpful", 2)
    assert ben.set_verdict(ids[0], "fail").status == "done"
    progress = ana.progress()
    assert (progress.done, progress.skipped, progress.pending) == (1, 0, 1)


def test_an_item_that_left_the_queue_is_read_only(engine, tmp_path):
    ids = make_items(engine, tmp_path, 2)
    s = session(engine)
    with engine.begin() as conn:
        conn.execute(update(QUEUE_ITEMS).where(QUEUE_ITEMS.c.id == ids[0]).values(active=False))
        recount(conn, "q")  # as a sync does when it deactivates an item
    assert s.next_item().queue_item_id == ids[1]
    assert s.open(ids[0]).editable is False
    with pytest.raises(ReviewError, match="read-only"):
        s.set_note(ids[0], "x")
    assert s.progress().total == 1


def test_items_of_another_queue_are_refused(engine, tmp_path):
    make_items(engine, tmp_path, 1)
    other = make_items(engine, tmp_path, 1, queue="other")
    s = session(engine)
    here = s.next_item().queue_item_id
    with pytest.raises(ReviewError, match=f"item {other[0]} is not in queue q"):
        s.open(other[0])
    assert s.current == here and [c[0] for c in claims(engine)] == [here]


# -- undo -----------------------------------------------------------------------------------------


def test_undo_of_a_verdict_makes_the_item_unfinished_again(engine, tmp_path):
    ids = make_items(engine, tmp_path, 2)
    s = session(engine)
    s.next_item()
    s.set_score(ids[0], "helpful", 3)
    s.set_verdict(ids[0], "pass")
    assert s.next_item().queue_item_id == ids[1]
    view = s.undo()
    assert view.queue_item_id == ids[0] and s.current == ids[0]  # the screen goes back there
    assert view.review.verdict is None and view.review.scores == {"helpful": 3}
    assert (view.status, view.reviews_done) == ("pending", 0)
    assert item_row(engine, ids[0])["status"] == "pending"
    got = events(engine)
    assert [e["action"] for e in got] == ["score", "verdict", "undo"]
    assert got[2]["undoes"] == got[1]["id"]
    assert (got[2]["verdict"], orjson.loads(got[2]["scores"]), got[2]["complete"]) == (
        None,
        {"helpful": 3},
        False,
    )
    assert (ids[0], "ana") in {(c[0], c[1]) for c in claims(engine)}  # held again
    # nothing was deleted, and a new session resumes at the undone item
    assert len(events(engine)) == 3
    assert session(engine).next_item().queue_item_id == ids[0]


def test_repeated_undo_goes_further_back_across_items(engine, tmp_path):
    ids = make_items(engine, tmp_path, 3)
    s = session(engine)
    for item_id in ids[:2]:
        assert s.next_item().queue_item_id == item_id
        s.set_score(item_id, "helpful", 5)
        s.set_verdict(item_id, "pass")
    s.next_item()
    first = s.undo()
    assert first.queue_item_id == ids[1] and first.review.scores == {"helpful": 5}
    assert first.review.verdict is None
    second = s.undo()
    assert second.queue_item_id == ids[1]
    assert second.review.scores == {} and second.review.verdict is None
    third = s.undo()
    assert third.queue_item_id == ids[0] and third.review.verdict is None
    fourth = s.undo()
    assert fourth.queue_item_id == ids[0] and fourth.review.scores == {}
    assert s.undo() is None
    actions = [e["id"] for e in events(engine) if e["action"] != "undo"]
    assert [e["undoes"] for e in events(engine, action="undo")] == actions[::-1]
    assert [item_row(engine, i)["status"] for i in ids] == ["pending"] * 3
    assert s.progress().mine == 0


def test_last_action_names_what_undo_takes_back_next(engine, tmp_path):
    ids = make_items(engine, tmp_path, 2)
    s = session(engine)
    assert s.last_action() is None
    assert s.next_item().queue_item_id == ids[0]
    s.set_score(ids[0], "helpful", 5)
    s.set_verdict(ids[0], "pass")
    s.next_item()
    assert s.last_action() == (ids[0], "verdict")
    s.undo()
    assert s.last_action() == (ids[0], "score")
    s.undo()
    assert s.last_action() is None


def test_undo_of_themes_restores_the_earlier_themes(engine, tmp_path):
    ids = make_items(engine, tmp_path, 1)
    s = session(engine)
    s.next_item()
    s.set_themes(ids[0], ["tone"])
    s.set_themes(ids[0], ["tone", "invented-policy"])
    assert s.undo().review.themes == ["tone"]
    assert s.undo().review.themes == []


def test_an_action_after_an_undo_is_undone_on_its_own(engine, tmp_path):
    ids = make_items(engine, tmp_path, 1)
    s = session(engine)
    s.next_item()
    s.set_note(ids[0], "one")
    s.set_note(ids[0], "two")
    assert s.undo().review.note == "one"
    s.set_note(ids[0], "three")
    assert s.undo().review.note == "one"  # the state before "three"
    assert s.undo().review.note is None  # then "one" itself
    assert s.undo() is None


def test_undo_of_a_skip_offers_the_item_again(engine, tmp_path):
    ids = make_items(engine, tmp_path, 2)
    s = session(engine)
    s.next_item()
    s.skip(ids[0])
    view = s.undo()
    assert view.queue_item_id == ids[0] and view.status == "pending" and not view.review.skipped
    assert session(engine).next_item().queue_item_id == ids[0]


def test_undo_is_per_reviewer(engine, tmp_path):
    ids = make_items(engine, tmp_path, 2)
    clock = Clock()
    ana, ben = session(engine, "ana", clock), session(engine, "ben", clock)
    ana.next_item()
    ana.set_note(ids[0], "ana's")
    ben.next_item()
    ben.set_note(ids[1], "ben's")
    view = ana.undo()
    assert view.queue_item_id == ids[0] and view.review.note is None
    assert ben.view(ids[1]).review.note == "ben's"


# -- resuming, navigation, progress, time -------------------------------------------------------


def test_a_new_session_resumes_at_the_first_unfinished_item(engine, tmp_path):
    ids = make_items(engine, tmp_path, 6)
    s = session(engine)
    for item_id in ids[:2]:
        s.next_item()
        s.set_score(item_id, "helpful", 4)
        s.set_verdict(item_id, "pass")
    s.next_item()
    s.skip(ids[2])
    s.next_item()
    s.set_score(ids[3], "helpful", 2)  # started, not finished
    again = session(engine)
    view = again.next_item()
    assert view.queue_item_id == ids[3] and view.review.scores == {"helpful": 2}
    assert again.progress().position == 4
    again.set_verdict(view, "fail")
    assert again.next_item().queue_item_id == ids[4]


def test_previous_and_next_walk_the_queue_order(engine, tmp_path):
    ids = make_items(engine, tmp_path, 4)
    s = session(engine)
    for item_id in ids[:2]:
        s.next_item()
        s.set_score(item_id, "helpful", 4)
        s.set_verdict(item_id, "pass")
    assert s.next_item().queue_item_id == ids[2]
    assert s.previous().queue_item_id == ids[1]
    assert claims(engine) == []  # the untouched item 3 went back to the others
    assert s.previous().queue_item_id == ids[0]
    assert s.previous() is None and s.current == ids[0]  # nothing before: stay
    assert s.next().queue_item_id == ids[1]
    view = s.next()
    assert view.queue_item_id == ids[2] and view.position == 3
    assert [(c[0], c[1]) for c in claims(engine)] == [(ids[2], "ana")]
    assert s.next().queue_item_id == ids[3]
    assert s.next().queue_item_id == ids[2]  # past the end: the first unfinished item
    # revising a finished review from the past keeps it finished
    s.open(ids[0])
    view = s.set_score(ids[0], "tone", "friendly")
    assert view.review.complete and view.status == "done"


def test_progress_counts(engine, tmp_path):
    ids = make_items(engine, tmp_path, 5)
    clock = Clock()
    ana, ben = session(engine, "ana", clock), session(engine, "ben", clock)
    assert ana.progress().label() == "- / 5"
    ana.next_item()
    ana.set_score(ids[0], "helpful", 1)
    ana.set_verdict(ids[0], "fail")
    ana.next_item()
    ana.skip(ids[1])
    ben.next_item()  # item 2 is skipped by ana, so ben gets it
    ben.set_score(ids[1], "helpful", 5)
    ben.set_verdict(ids[1], "pass")
    view = ana.next_item()
    p = ana.progress()
    assert view.queue_item_id == ids[2]
    assert (p.position, p.total, p.done, p.skipped, p.pending, p.mine) == (3, 5, 2, 0, 3, 1)
    assert p.label() == "3 / 5" and p.fraction_done == 0.4
    assert ben.progress().mine == 1


def test_seconds_accumulate_over_visits_and_sessions(engine, tmp_path):
    ids = make_items(engine, tmp_path, 2)
    clock = Clock()
    s = session(engine, "ana", clock)
    s.next_item()
    clock.advance(5)
    assert s.set_score(ids[0], "helpful", 3).review.seconds == 5
    clock.advance(2)
    s.next()  # to item 2: 2 more seconds on item 1, not yet in an event
    clock.advance(30)  # spent on item 2
    s.previous()
    clock.advance(4)
    view = s.set_verdict(ids[0], "pass")
    assert view.review.seconds == 11  # 5 + 2 + 4
    later = session(engine, "ana", clock)
    later.open(ids[0])
    clock.advance(3)
    assert later.set_note(ids[0], "ok").review.seconds == 14
    assert [e["seconds"] for e in events(engine)] == [5, 11, 14]


# -- several reviewers per item -------------------------------------------------------------------


def test_each_item_goes_to_n_different_reviewers(engine, tmp_path):
    ids = make_items(engine, tmp_path, 3)
    clock = Clock()
    ana, ben, cy = (
        session(engine, name, clock, reviews_per_item=2) for name in ("ana", "ben", "cy")
    )
    assert ana.next_item().queue_item_id == ids[0]
    assert ben.next_item().queue_item_id == ids[0]
    assert cy.next_item().queue_item_id == ids[1]  # item 1 has its two reviewers
    ana.set_score(ids[0], "helpful", 4)
    assert ana.set_verdict(ids[0], "pass").status == "pending"  # one of two
    assert ana.next_item().queue_item_id == ids[1]  # never item 1 again
    ben.set_score(ids[0], "helpful", 2)
    view = ben.set_verdict(ids[0], "fail")
    assert (view.status, view.reviews_done) == ("done", 2)
    assert item_row(engine, ids[0])["reviews_done"] == 2
    assert ben.next_item().queue_item_id == ids[2]  # cy and ana hold item 2
    assert cy.next_item().queue_item_id == ids[1]  # cy's own claim: resumed
    dan, eve = (session(engine, name, clock, reviews_per_item=2) for name in ("dan", "eve"))
    assert dan.next_item().queue_item_id == ids[2]
    assert eve.next_item() is None


def test_other_reviews_stay_hidden_until_this_reviewer_gave_theirs(engine, tmp_path):
    ids = make_items(engine, tmp_path, 1)
    clock = Clock()
    ana, ben = (session(engine, name, clock, reviews_per_item=2) for name in ("ana", "ben"))
    ana.next_item()
    ben.next_item()
    ana.set_score(ids[0], "helpful", 4)
    ana.set_verdict(ids[0], "pass")
    assert ana.others_visible(ids[0]) and ana.other_reviews(ids[0]) == []  # ben gave nothing
    ben.set_score(ids[0], "helpful", 2)
    assert not ben.others_visible(ids[0]) and ben.other_reviews(ids[0]) == []
    ben.set_verdict(ids[0], "fail")
    (theirs,) = ben.other_reviews(ids[0])
    assert (theirs.reviewer, theirs.verdict, theirs.scores) == ("ana", "pass", {"helpful": 4})
    (theirs,) = ana.other_reviews(ids[0])
    assert (theirs.reviewer, theirs.verdict) == ("ben", "fail")


def test_a_finished_review_can_be_revised_even_when_the_item_is_full(engine, tmp_path):
    ids = make_items(engine, tmp_path, 1)
    clock = Clock()
    ana = session(engine, "ana", clock)
    ana.next_item()
    ana.set_score(ids[0], "helpful", 4)
    ana.set_verdict(ids[0], "pass")
    ben = session(engine, "ben", clock)
    assert ben.next_item() is None
    assert ben.open(ids[0]).editable is False
    with pytest.raises(ReviewError, match="has all the reviews it needs"):
        ben.set_verdict(ids[0], "fail")
    assert ana.set_verdict(ids[0], "fail").review.verdict == "fail"


def test_previous_passes_over_items_others_hold_or_finished(engine, tmp_path):
    ids = make_items(engine, tmp_path, 5)
    clock = Clock()
    ana, ben = session(engine, "ana", clock), session(engine, "ben", clock)
    assert ana.next_item().queue_item_id == ids[0]
    ana.set_score(ids[0], "helpful", 4)
    ana.set_verdict(ids[0], "pass")
    assert ben.next_item().queue_item_id == ids[1]
    assert ana.next_item().queue_item_id == ids[2]
    ana.set_note(ids[2], "looking")  # ana's, in progress
    assert ben.next().queue_item_id == ids[3]  # item 3 is ana's
    ben.set_score(ids[3], "helpful", 1)
    ben.set_verdict(ids[3], "fail")  # ben finished item 4
    assert ben.next_item().queue_item_id == ids[1]  # left untouched, so still open
    ben.set_score(ids[1], "helpful", 2)  # ben's, in progress
    assert ana.next().queue_item_id == ids[4]  # item 4 is ben's: passed over
    assert ana.previous().queue_item_id == ids[2]
    assert ana.previous().queue_item_id == ids[0]  # item 2 is ben's: passed over
    assert ana.previous() is None and ana.current == ids[0]
    assert ben.previous() is None  # item 1 is ana's
    assert ben.next().queue_item_id == ids[3]  # item 3 is ana's


def test_a_queue_with_assignees_refuses_other_reviewers(engine, tmp_path):
    ids = make_items(engine, tmp_path, 2)
    queue = parse_queue({"name": "q", "assignees": ["ana", "ben"]}, "queues/q.yaml")
    carl = ReviewSession(engine, queue, "carl")
    with pytest.raises(ReviewError, match="queue q is assigned to ana, ben; you are carl"):
        carl.next_item()
    with pytest.raises(ReviewError, match="assigned to ana, ben"):
        carl.open(ids[0])
    assert claims(engine) == []
    assert ReviewSession(engine, queue, "ben").next_item().queue_item_id == ids[0]
