"""Review events and the transactions that write them: what every package may use.

Reviews are an append-only history (`review_events`): each event holds the whole state of one
reviewer's review of one queue item after an action. The review workflow
(`reviewer.review.session`), promotion into datasets, suggested themes and the statistics all
read and write that history through these helpers, inside `write_transaction`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, Engine, Table, exists, insert, select
from sqlmodel import SQLModel

from reviewer.records import TIMESTAMP_FORMAT
from reviewer.store import schema  # noqa: F401  (registers the tables)
from reviewer.store.db import begin_immediate
from reviewer.store.records import export_dict
from reviewer.store.schema import RECORD_COLUMNS

QUEUE_ITEMS: Table = SQLModel.metadata.tables["queue_items"]
CLAIMS: Table = SQLModel.metadata.tables["claims"]
EVENTS: Table = SQLModel.metadata.tables["review_events"]
RECORDS: Table = SQLModel.metadata.tables["records"]


class ReviewError(Exception):
    """An action that cannot be done; the message says why, for the reviewer."""


@dataclass(slots=True)
class ReviewState:
    """One reviewer's review of one item, as its latest event says (empty when never touched)."""

    reviewer: str = ""
    verdict: str | None = None
    scores: dict[str, Any] = field(default_factory=dict)
    themes: list[str] = field(default_factory=list)
    note: str | None = None
    corrected: str | None = None
    skipped: bool = False
    complete: bool = False
    seconds: float = 0.0
    event_id: int | None = None  # the latest event; None when the reviewer never acted here
    action: str | None = None  # what that event did
    updated_at: str | None = None
    suggestion_id: int | None = None  # the suggestion this review was shown or took
    suggestion: str | None = None  # accepted | edited | shown | blind (see schema.ReviewEvent)
    step_id: str | None = None  # a trace's review: the step marked as where it went wrong
    step_notes: dict[str, str] = field(default_factory=dict)  # step record id -> note

    @property
    def started(self) -> bool:
        return self.event_id is not None

    @classmethod
    def from_event(cls, row: Any) -> ReviewState:
        return cls(
            reviewer=row.reviewer,
            verdict=row.verdict,
            scores=orjson.loads(row.scores) if row.scores else {},
            themes=orjson.loads(row.themes) if row.themes else [],
            note=row.note,
            corrected=row.corrected,
            skipped=bool(row.skipped),
            complete=bool(row.complete),
            seconds=float(row.seconds or 0.0),
            event_id=row.id,
            action=row.action,
            updated_at=row.created_at,
            suggestion_id=getattr(row, "suggestion_id", None),
            suggestion=getattr(row, "suggestion", None),
            step_id=getattr(row, "step_id", None),
            step_notes=orjson.loads(row.step_notes) if getattr(row, "step_notes", None) else {},
        )


def utc_now() -> datetime:
    return datetime.now(UTC)


def stamp(moment: datetime) -> str:
    """A datetime as the stored timestamp text (UTC, fixed width, sortable)."""
    return moment.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that writes, committed on exit (rolled back on an exception).

    On SQLite it starts with `BEGIN IMMEDIATE`, so the write lock is taken before the first
    read: what the transaction read cannot change before it writes, and two writers wait for
    each other instead of failing on a stale snapshot. While another process holds the lock,
    the start is retried (`begin_immediate`); when it never frees, `DatabaseBusy` says so and
    nothing was written.
    """
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            begin_immediate(conn)
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


def is_latest(event: Any) -> ColumnElement[bool]:
    """A condition: `event` (an alias of review_events) is the latest of its (item, reviewer)."""
    later = EVENTS.alias("later")
    return ~exists().where(
        later.c.queue_item_id == event.c.queue_item_id,
        later.c.reviewer == event.c.reviewer,
        later.c.id > event.c.id,
    )


def current_state(conn: Connection, queue_item_id: int, reviewer: str) -> ReviewState:
    """The reviewer's review of the item: its latest event, or an empty state."""
    row = conn.execute(
        select(EVENTS)
        .where(EVENTS.c.queue_item_id == queue_item_id, EVENTS.c.reviewer == reviewer)
        .order_by(EVENTS.c.id.desc())
        .limit(1)
    ).first()
    return ReviewState.from_event(row) if row else ReviewState(reviewer=reviewer)


def current_states(conn: Connection, queue_item_id: int) -> dict[str, ReviewState]:
    """Every reviewer's current review of the item, by reviewer."""
    e = EVENTS.alias("e")
    rows = conn.execute(
        select(e).where(e.c.queue_item_id == queue_item_id, is_latest(e)).order_by(e.c.id)
    ).all()
    return {row.reviewer: ReviewState.from_event(row) for row in rows}


def insert_event(
    conn: Connection,
    item: Any,
    reviewer: str,
    action: str,
    state: ReviewState,
    *,
    now: str,
    undoes: int | None = None,
) -> int:
    """Append one event carrying `state`; returns its id."""
    result = conn.execute(
        insert(EVENTS).values(
            queue_item_id=item.id,
            queue=item.queue,
            record_id=item.record_id,
            reviewer=reviewer,
            action=action,
            verdict=state.verdict,
            scores=orjson.dumps(state.scores).decode() if state.scores else None,
            themes=orjson.dumps(state.themes).decode() if state.themes else None,
            note=state.note,
            corrected=state.corrected,
            skipped=state.skipped,
            complete=state.complete,
            seconds=round(state.seconds, 3),
            undoes=undoes,
            created_at=now,
            suggestion_id=state.suggestion_id,
            suggestion=state.suggestion,
            step_id=state.step_id,
            step_notes=orjson.dumps(state.step_notes).decode() if state.step_notes else None,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def load_record(conn: Connection, record_id: str) -> dict[str, Any]:
    """The stored record in the canonical export shape."""
    cols = [RECORDS.c[name] for name in RECORD_COLUMNS if name != "raw"]
    row = conn.execute(select(*cols).where(RECORDS.c.id == record_id)).mappings().first()
    return export_dict(dict(row)) if row else {"id": record_id, "messages": [], "output": None}
