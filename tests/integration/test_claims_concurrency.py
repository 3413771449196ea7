"""Reviewers working at the same time never get the same item (reviews_per_item: 1), and with
N > 1 every item gets exactly N reviews from different reviewers: on SQLite (a file database,
BEGIN IMMEDIATE) and on PostgreSQL (FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import contextlib
import threading
from collections import Counter

import pytest
from sqlalchemy import Engine, func, select

from reviewer.review.queues import parse_queue
from reviewer.review.session import ReviewSession
from reviewer.store.events import CLAIMS, EVENTS, QUEUE_ITEMS
from tests.unit.test_review_session import make_items

ITEMS = 200


def work(engine: Engine, reviewers: list[str], reviews_per_item: int) -> dict[str, list[int]]:
    """Each reviewer, in a thread of its own, takes items and gives verdicts until none is left."""
    queue = parse_queue({"name": "q", "reviews_per_item": reviews_per_item}, "queues/q.yaml")
    handed: dict[str, list[int]] = {name: [] for name in reviewers}
    errors: list[BaseException] = []
    # Each round every reviewer asks for an item at the same moment, so no thread can run
    # ahead and take the whole queue alone: the claims really contend. The first reviewer
    # to find nothing left breaks the barrier and the others go on unsynchronised.
    rounds = threading.Barrier(len(reviewers))

    def review(name: str) -> None:
        try:
            session = ReviewSession(engine, queue, name)
            while True:
                if not rounds.broken:
                    with contextlib.suppress(threading.BrokenBarrierError):
                        rounds.wait(timeout=120)
                item = session.next_item()
                if item is None:
                    rounds.abort()
                    return
                handed[name].append(item.queue_item_id)
                session.set_verdict(item, "pass" if item.queue_item_id % 3 else "fail")
        except BaseException as exc:  # reported by the main thread
            rounds.abort()
            errors.append(exc)

    threads = [threading.Thread(target=review, args=(name,)) for name in reviewers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return handed


def check_one_review_each(engine: Engine, ids: list[int], handed: dict[str, list[int]]) -> None:
    all_handed = [i for items in handed.values() for i in items]
    assert len(all_handed) == len(set(all_handed))  # no item handed out twice
    assert sorted(all_handed) == sorted(ids)
    with engine.connect() as conn:
        per_item = Counter(
            conn.execute(
                select(EVENTS.c.queue_item_id).where(EVENTS.c.action == "verdict")
            ).scalars()
        )
        assert per_item == dict.fromkeys(ids, 1)
        statuses = Counter(
            conn.execute(select(QUEUE_ITEMS.c.status, QUEUE_ITEMS.c.reviews_done)).all()
        )
        assert statuses == {("done", 1): len(ids)}
        assert conn.execute(select(func.count()).select_from(CLAIMS)).scalar_one() == 0


def check_n_reviews_each(
    engine: Engine, ids: list[int], handed: dict[str, list[int]], n: int
) -> None:
    for items in handed.values():
        assert len(items) == len(set(items))  # never the same item twice to one reviewer
    per_item = Counter(i for items in handed.values() for i in items)
    assert per_item == dict.fromkeys(ids, n)
    with engine.connect() as conn:
        pairs = conn.execute(
            select(EVENTS.c.queue_item_id, EVENTS.c.reviewer).where(EVENTS.c.action == "verdict")
        ).all()
        assert len(pairs) == len(set(pairs)) == n * len(ids)
        statuses = Counter(
            conn.execute(select(QUEUE_ITEMS.c.status, QUEUE_ITEMS.c.reviews_done)).all()
        )
        assert statuses == {("done", n): len(ids)}


def test_two_reviewers_never_share_an_item_on_sqlite(engine, tmp_path):
    ids = make_items(engine, tmp_path, ITEMS)
    handed = work(engine, ["ana", "ben"], 1)
    check_one_review_each(engine, ids, handed)
    assert {name: len(items) for name, items in handed.items()} == {"ana": 100, "ben": 100}


def test_three_reviewers_two_reviews_per_item_on_sqlite(engine, tmp_path):
    ids = make_items(engine, tmp_path, 60)
    handed = work(engine, ["ana", "ben", "cy"], 2)
    check_n_reviews_each(engine, ids, handed, 2)


@pytest.mark.postgres
def test_two_reviewers_never_share_an_item_on_postgres(pg_engine, tmp_path):
    ids = make_items(pg_engine, tmp_path, ITEMS)
    handed = work(pg_engine, ["ana", "ben"], 1)
    check_one_review_each(pg_engine, ids, handed)
    assert {name: len(items) for name, items in handed.items()} == {"ana": 100, "ben": 100}


@pytest.mark.postgres
def test_three_reviewers_two_reviews_per_item_on_postgres(pg_engine, tmp_path):
    ids = make_items(pg_engine, tmp_path, 60)
    handed = work(pg_engine, ["ana", "ben", "cy"], 2)
    check_n_reviews_each(pg_engine, ids, handed, 2)
