"""Promotion to a dataset: the case holds the input and the expected answer, promoting twice
updates instead of duplicating, and undo takes the case back out."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import select

from reviewer.datasets.promote import (
    DATASET_ITEMS,
    DATASETS,
    case_from_review,
    promote,
)
from reviewer.store.events import ReviewError, ReviewState
from tests.unit.test_review_session import events, make_items, session


def cases(engine):
    with engine.connect() as conn:
        rows = conn.execute(
            select(DATASET_ITEMS, DATASETS.c.name.label("dataset"))
            .join(DATASETS, DATASETS.c.id == DATASET_ITEMS.c.dataset_id)
            .order_by(DATASET_ITEMS.c.id)
        ).mappings()
        return [dict(r) for r in rows]


def test_promote_a_passed_review_keeps_the_logged_answer(engine, tmp_path):
    ids = make_items(engine, tmp_path, 2)
    s = session(engine)
    s.next_item()
    s.set_score(ids[0], "helpful", 5)
    s.set_themes(ids[0], ["tone"])
    s.set_verdict(ids[0], "pass")
    result = s.promote(ids[0])
    assert result.created and result.dataset == "regressions"
    (case,) = cases(engine)
    assert case["id"] == result.item_id and case["dataset"] == "regressions"
    assert case["source_key"] == f"{ids[0]}:ana"
    assert case["record_id"] == "chatcmpl-q0"
    assert [m["role"] for m in orjson.loads(case["messages"])] == ["system", "user"]
    assert orjson.loads(case["messages"])[0]["content"] == "You are the support assistant."
    assert case["expected"] == "Answer 0."
    assert orjson.loads(case["themes"]) == ["tone"]
    assert orjson.loads(case["scores"]) == {"helpful": 5}
    assert (case["removed"], case["created_by"]) == (False, "ana")
    promote_event = events(engine)[-1]
    assert promote_event["action"] == "promote" and case["review_event_id"] == promote_event["id"]
    verdict_event = events(engine)[-2]
    for key in ("verdict", "scores", "themes", "note", "corrected", "complete", "skipped"):
        assert promote_event[key] == verdict_event[key]  # the review state is unchanged


def test_promoting_again_updates_the_case(engine, tmp_path):
    ids = make_items(engine, tmp_path, 1)
    s = session(engine)
    s.next_item()
    s.set_score(ids[0], "helpful", 1)
    s.set_verdict(ids[0], "fail")
    first = s.promote(ids[0])
    assert cases(engine)[0]["expected"] is None  # failed, nothing corrected: no expected answer
    s.set_correction(ids[0], "Returns are accepted within 30 days.")
    second = s.promote(ids[0])
    assert (second.created, second.item_id) == (False, first.item_id)
    (case,) = cases(engine)
    assert case["expected"] == "Returns are accepted within 30 days."
    assert case["review_event_id"] == first.event_id  # the handle of the promotion that added it
    s.undo()  # the second d: the case stays in
    assert cases(engine)[0]["removed"] is False
    s.undo()  # the correction
    s.undo()  # the first d: now it goes
    assert cases(engine)[0]["removed"] is True


def test_undo_takes_the_case_back_out(engine, tmp_path):
    ids = make_items(engine, tmp_path, 2)
    s = session(engine)
    s.next_item()
    s.set_score(ids[0], "helpful", 5)
    s.set_verdict(ids[0], "pass")
    s.promote(ids[0])
    s.next_item()
    view = s.undo()
    assert view.queue_item_id == ids[0]
    assert view.review.verdict == "pass" and view.status == "done"  # the review is untouched
    (case,) = cases(engine)
    assert case["removed"] is True
    assert s.undo().review.verdict is None  # the next undo reaches the verdict
    s.set_verdict(ids[0], "pass")
    again = s.promote(ids[0])
    assert not again.created and cases(engine)[0]["removed"] is False


def test_the_dataset_can_be_chosen_and_is_needed(engine, tmp_path):
    ids = make_items(engine, tmp_path, 1)
    s = session(engine)
    s.next_item()
    s.set_score(ids[0], "helpful", 5)
    s.set_verdict(ids[0], "pass")
    s.promote(ids[0])
    other = s.promote(ids[0], "hard-cases")
    assert other.created
    assert sorted(c["dataset"] for c in cases(engine)) == ["hard-cases", "regressions"]
    bare = session(engine, "ben", dataset=None)
    with pytest.raises(ReviewError, match="names no dataset: choose one"):
        bare.promote(ids[0])
    with pytest.raises(ReviewError, match="a dataset needs a name"):
        s.promote(ids[0], "  ")


def test_promote_without_a_session(engine, tmp_path):
    ids = make_items(engine, tmp_path, 1)
    s = session(engine)
    s.next_item()
    s.set_correction(ids[0], "Better answer.")
    result = promote(engine, ids[0], "ana", "from-cli")
    assert result.created
    (case,) = cases(engine)
    assert (case["dataset"], case["expected"]) == ("from-cli", "Better answer.")
    assert promote(engine, ids[0], "ana", "from-cli").created is False
    assert len(cases(engine)) == 1
    with pytest.raises(ReviewError, match="no queue item 999"):
        promote(engine, 999, "ana", "from-cli")


def versions(engine, dataset="regressions"):
    from reviewer.datasets.versions import list_versions

    return [v.note for v in list_versions(engine, dataset)]


def test_a_case_follows_its_review_after_promotion(engine, tmp_path):
    """`d` before `f`: the case is promoted with what the review says so far, and each later
    change of the review (verdict, corrected answer, themes, an undo) updates it, a new
    dataset version each time."""
    ids = make_items(engine, tmp_path, 1)
    s = session(engine)
    s.next_item()
    s.set_score(ids[0], "helpful", 2)
    s.promote(ids[0])
    (case,) = cases(engine)
    assert (case["expected"], orjson.loads(case["scores"])) == (None, {"helpful": 2})
    s.set_verdict(ids[0], "pass")
    assert cases(engine)[0]["expected"] == "Answer 0."  # a pass keeps the logged answer
    s.set_correction(ids[0], "Returns are accepted within 30 days.")
    s.set_themes(ids[0], ["tone"])
    (case,) = cases(engine)
    assert case["expected"] == "Returns are accepted within 30 days."
    assert orjson.loads(case["themes"]) == ["tone"]
    s.set_note(ids[0], "a note is not part of the case")  # nothing changes: no new version
    s.undo()  # the note
    s.undo()  # the themes: the case follows the review back
    assert cases(engine)[0]["themes"] is None
    assert versions(engine) == [
        "promoted 1 review",
        "updated item regressions/1 (its review changed)",
        "updated item regressions/1 (its review changed)",
        "updated item regressions/1 (its review changed)",
        "updated item regressions/1 (its review changed)",
    ]
    with engine.connect() as conn:
        from reviewer.datasets.promote import in_datasets

        assert in_datasets(conn, ids[0], "ana") == ["regressions"]
        assert in_datasets(conn, ids[0], "ben") == []
    assert s.datasets_of(ids[0]) == ["regressions"]


def test_nothing_reviewed_is_not_promoted(engine, tmp_path):
    ids = make_items(engine, tmp_path, 2)
    s = session(engine)
    s.next_item()
    with pytest.raises(ReviewError, match="nothing to promote yet"):
        s.promote(ids[0])
    s.skip(ids[0])  # skipped, never reviewed
    with pytest.raises(ReviewError, match="nothing to promote yet"):
        s.promote(ids[0])
    with pytest.raises(ReviewError, match="nothing to promote yet"):
        promote(engine, ids[1], "ana", "from-cli")
    assert cases(engine) == []


def test_case_puts_system_prompts_first():
    record = {
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "system", "content": "be brief"},
        ],
        "output": {"role": "assistant", "content": "hello"},
    }
    case = case_from_review(record, ReviewState(verdict="pass"))
    assert [m["role"] for m in orjson.loads(case["messages"])] == ["system", "user"]
    assert case["expected"] == "hello"
    assert case_from_review(record, ReviewState(verdict="fail"))["expected"] is None
    assert case_from_review(record, ReviewState())["expected"] is None
