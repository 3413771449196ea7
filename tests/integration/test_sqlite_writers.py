"""Eight reviewer processes on one SQLite file: every write waits for the lock and retries, so
none fails with "database is locked"; a lock that never frees gives `DatabaseBusy`, nothing
written.

The processes open the database with a busy timeout of 20 ms, so SQLite's own wait alone gives
up again and again under this load: what makes them succeed is the retry of `begin_immediate`.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from reviewer.datasets.promote import PromotingSession
from reviewer.store.db import DatabaseBusy, open_engine, sqlite_url
from reviewer.store.events import EVENTS, QUEUE_ITEMS
from tests.unit.test_review_session import make_items, make_queue

PROCESSES = 8
ITEMS = 48


def review_all(db: str, name: str, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """Take items until none is left, doing what a reviewer does to each; report what failed."""
    engine = open_engine(sqlite_url(Path(db)), busy_timeout=0.02)
    session = PromotingSession(engine, make_queue(reviews_per_item=2), name)
    done: list[int] = []
    errors: list[str] = []
    try:
        while (item := session.next_item()) is not None:
            session.set_score(item, "helpful", 4)
            session.set_themes(item, ["tone"])
            session.set_correction(item, "a better answer")
            session.set_verdict(item, "fail")
            session.promote(item)
            done.append(item.queue_item_id)
        session.close()
    except Exception as exc:  # reported to the test
        errors.append(f"{exc.__class__.__name__}: {exc}")
    results.put((name, done, errors))


def test_eight_processes_review_one_sqlite_file_without_an_error(tmp_path):
    db = tmp_path / "ws" / ".reviewer" / "reviewer.db"
    engine = open_engine(sqlite_url(db))
    ids = make_items(engine, tmp_path, ITEMS)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [
        context.Process(target=review_all, args=(str(db), f"r{n}", results))
        for n in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    reports = [results.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert [errors for _, _, errors in reports] == [[]] * PROCESSES
    per_item = Counter(item for _, done, _ in reports for item in done)
    assert per_item == dict.fromkeys(ids, 2)  # two reviews each, as the queue asks
    with engine.connect() as conn:
        verdicts = conn.execute(
            select(func.count()).select_from(EVENTS).where(EVENTS.c.action == "verdict")
        ).scalar_one()
        assert verdicts == 2 * ITEMS
        statuses = Counter(conn.execute(select(QUEUE_ITEMS.c.status)).scalars())
        assert statuses == {"done": ITEMS}
    engine.dispose()


def test_a_lock_that_never_frees_is_said_and_nothing_is_written(tmp_path):
    db = tmp_path / "ws" / ".reviewer" / "reviewer.db"
    engine = open_engine(sqlite_url(db), busy_timeout=0.02, lock_wait=0.3)
    make_items(engine, tmp_path, 3)
    session = PromotingSession(engine, make_queue(), "ana")
    item = session.next_item()
    assert item is not None
    holder = sqlite3.connect(db, timeout=0)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(DatabaseBusy, match="database is busy"):
            session.set_score(item, "helpful", 5)
    finally:
        holder.rollback()
        holder.close()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(EVENTS)).scalar_one() == 0
    session.set_score(item, "helpful", 5)  # the lock is free: it saves
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(EVENTS)).scalar_one() == 1
    engine.dispose()
