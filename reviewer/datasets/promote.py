"""Promotion: a reviewed item becomes a test case of an eval dataset (the `d` key).

The dataset item holds the record's input messages (system prompt first, as logged), the
expected answer (the reviewer's corrected answer; else the logged output when the verdict is
pass; else none), and the review's themes and scores. Its `source_key` is the queue item and
the reviewer, so promoting the same review again updates the case instead of adding one.

A promoted case follows its review: every later change of the review (verdict, scores, themes,
corrected answer, an undo) updates the case in the same transaction, a new dataset version when
the case changed, so `d` before `f` is fine. A review that says nothing yet (no verdict, score,
theme or corrected answer; a skipped item) is not promoted.

Each promotion is also a `promote` review event (the review state unchanged) and the dataset
item points at it (`review_event_id`): undoing the event marks the item removed. The review
screen works through a `PromotingSession`: a review session that also promotes, and whose undo
takes a promotion back.

Generated cases (records of format `generated`, from `reviewer datasets generate`) are kept or
dropped in their triage queue: `keep` is one event (verdict pass, the parent's themes) that puts
the case into the queue's dataset, its source naming the parent, kind and model
(`generated_origin`); `drop` is one event (verdict fail) and the case never enters a dataset
(a bulk promotion skips it too). Undoing a keep takes the case back out, as for a promotion.

A review of a trace (a `unit: trace` queue, whose item is the trace's anchor) makes its case from
the trace (`case_from_trace`): the conversation up to the step the review marked as where it
went wrong, or the user's request when none is marked, with the tools offered there; its source
names the trace and the marked step (`source.trace`).

Both end with a new dataset version when the dataset changed (`reviewer.datasets.versions`).
A new case's split (train/test) is drawn from a hash of its source key: stable.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel

from reviewer.datasets.items import assign_split, item_ref, record_vars
from reviewer.datasets.versions import refresh_item, settle_ref, snapshot
from reviewer.messages import json_text, record_tools
from reviewer.review.session import PROMOTING, ItemView, ReviewSession
from reviewer.store.events import (
    EVENTS,
    QUEUE_ITEMS,
    ReviewError,
    ReviewState,
    current_state,
    insert_event,
    load_record,
    stamp,
    utc_now,
    write_transaction,
)
from reviewer.store.traces import trace_key, trace_steps

#: The source format of the records `reviewer datasets generate` writes (reviewer.evals.generate).
GENERATED = "generated"

DATASETS: Table = SQLModel.metadata.tables["datasets"]
DATASET_ITEMS: Table = SQLModel.metadata.tables["dataset_items"]


@dataclass(frozen=True, slots=True)
class PromoteResult:
    created: bool  # False: the same review was promoted before and its case was updated
    item_id: int  # the DatasetItem
    dataset_id: int
    dataset: str
    event_id: int  # the `promote` review event (undo it to take the case back out)


def source_key(queue_item_id: int, reviewer: str) -> str:
    return f"{queue_item_id}:{reviewer}"


def _system_first(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """System prompts lead the conversation, in their logged order."""
    return [m for m in messages if m.get("role") == "system"] + [
        m for m in messages if m.get("role") != "system"
    ]


def _case(
    messages: list[dict[str, Any]],
    output: dict[str, Any] | None,
    state: ReviewState,
    variables: dict[str, Any],
    tools: list[dict[str, Any]],
    answer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The `dataset_items` columns of a case: the expected answer is the corrected one, else the
    logged answer (`answer`, else `output`) of a review that passed it, else none."""
    expected: str | None = None
    if state.corrected:
        expected = state.corrected
    elif state.verdict == "pass":
        expected = (answer or output or {}).get("content") or None
    return {
        "messages": orjson.dumps(_system_first(messages)).decode(),
        "vars": orjson.dumps(variables).decode() if variables else None,
        "output": orjson.dumps(output).decode() if output else None,
        "expected": expected,
        "themes": orjson.dumps(state.themes).decode() if state.themes else None,
        "scores": orjson.dumps(state.scores).decode() if state.scores else None,
        "tools": orjson.dumps(tools).decode() if tools else None,
    }


def case_from_review(record: dict[str, Any], state: ReviewState) -> dict[str, Any]:
    """The dataset item's content: input messages, template variables, expected answer,
    themes, scores, the logged output and the tools the call offered the model."""
    answer = record.get("output")
    # a generated case's output is the expected answer the model suggested, not a logged answer
    output = None if generated_origin(record) else answer
    return _case(
        list(record.get("messages") or []),
        output,
        state,
        record_vars(record),
        record_tools(record.get("params")),
        answer,
    )


def _first_request(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages up to and including the first user message (all of them without one)."""
    for i, message in enumerate(messages):
        if message.get("role") == "user":
            return messages[: i + 1]
    return messages


def _final_output(anchor: dict[str, Any]) -> dict[str, Any] | None:
    """What a trace answered: its anchor's output message, else its result as text."""
    if anchor.get("output"):
        return dict(anchor["output"])
    outputs = anchor.get("outputs")
    if outputs is None or outputs == "":
        return None
    return {"role": "assistant", "content": json_text(outputs)}


def case_from_trace(
    conn: Connection, anchor: dict[str, Any], state: ReviewState
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The case a review of a trace makes, and what its `source.trace` says of the trace.

    Its input is the conversation up to the marked step (`state.step_id`): the input messages of
    the last LLM call that started at or before it (its own, when it is an LLM call), and its
    logged output is that call's. With no step marked (or none before the marked one), the input
    is the user's request: the first LLM call's messages up to its first user message, and the
    logged output the trace's final answer. The tools are those the chosen LLM call offered.
    A trace without LLM calls gives its anchor's input messages, else its inputs as a user
    message."""
    key = trace_key(anchor.get("trace_id"), anchor.get("session_id"))
    steps = trace_steps(conn, key) if key else []
    in_time = sorted(steps, key=lambda s: (s["timestamp"] or "", s["id"]))
    calls = [s for s in in_time if (s["kind"] or "llm") == "llm"]
    marked = next((s for s in steps if s["id"] == state.step_id), None) if state.step_id else None
    chosen: dict[str, Any] | None = None
    if marked is not None:
        if (marked["kind"] or "llm") == "llm":
            chosen = marked
        else:
            at = marked["timestamp"] or ""
            before = [s for s in calls if (s["timestamp"] or "") <= at]
            chosen = before[-1] if before else None
    trace = {
        "id": key,
        "step_id": state.step_id,
        "step_kind": (marked["kind"] or "llm") if marked is not None else None,
    }
    if chosen is not None:
        record = load_record(conn, chosen["id"])
        messages = list(record.get("messages") or [])
        output = record.get("output")
    elif calls:
        record = load_record(conn, calls[0]["id"])
        messages = _first_request(list(record.get("messages") or []))
        output = _final_output(anchor)
    else:
        record = anchor
        messages = list(anchor.get("messages") or [])
        inputs = anchor.get("inputs")
        if not messages and inputs not in (None, "", {}, []):
            messages = [{"role": "user", "content": json_text(inputs)}]
        output = _final_output(anchor)
    content = _case(
        messages, output, state, record_vars(record), record_tools(record.get("params"))
    )
    return content, trace


def case_of(
    conn: Connection, record: dict[str, Any], state: ReviewState, unit: str = "call"
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The case a review makes (`case_from_review`; a trace's: `case_from_trace`) and, for a
    trace, what `source.trace` says."""
    if unit == "trace":
        return case_from_trace(conn, record, state)
    return case_from_review(record, state), None


def review_id_of(
    conn: Connection, queue_item_id: int, reviewer: str, up_to: int | None = None
) -> int | None:
    """The event holding the review a case is made of: the reviewer's latest event on the item
    that is not a `promote` (those copy the state, so promoting again changes nothing)."""
    query = select(func.max(EVENTS.c.id)).where(
        EVENTS.c.queue_item_id == queue_item_id,
        EVENTS.c.reviewer == reviewer,
        EVENTS.c.action != "promote",
    )
    if up_to is not None:
        query = query.where(EVENTS.c.id <= up_to)
    found = conn.execute(query).scalar()
    return int(found) if found is not None else None


def generated_origin(record: dict[str, Any]) -> dict[str, Any] | None:
    """Where a generated case came from, from its record (`reviewer datasets generate`): the
    item it was made from, its kind and the model that wrote it; None for a logged call."""
    if (record.get("source") or {}).get("format") != GENERATED:
        return None
    meta = record.get("metadata") or {}
    return {key: meta.get(key) for key in ("parent", "kind", "model")}


def review_source(
    conn: Connection,
    queue_item_id: int,
    record: dict[str, Any],
    reviewer: str,
    up_to: int | None = None,
    trace: dict[str, Any] | None = None,
) -> str:
    """The `source` column of a promoted case: its record and review (JSON), for a generated
    case where it came from, for a trace's the trace and its marked step."""
    review_id = review_id_of(conn, queue_item_id, reviewer, up_to)
    source: dict[str, Any] = {"record_id": record.get("id"), "review_id": review_id}
    origin = generated_origin(record)
    if origin is not None:
        source["generated"] = origin
    if trace is not None:
        source["trace"] = trace
    return orjson.dumps(source).decode()


def ensure_dataset(conn: Connection, name: str, *, now: str) -> int:
    """The id of the dataset named `name`, created when missing."""
    values = {"name": name, "created_at": now}
    if conn.dialect.name == "postgresql":
        conn.execute(
            postgresql.insert(DATASETS)
            .values(values)
            .on_conflict_do_nothing(index_elements=["name"])
        )
    elif conn.dialect.name == "sqlite":
        conn.execute(
            sqlite.insert(DATASETS).values(values).on_conflict_do_nothing(index_elements=["name"])
        )
    elif conn.execute(select(DATASETS.c.id).where(DATASETS.c.name == name)).first() is None:
        conn.execute(DATASETS.insert().values(values))
    return int(conn.execute(select(DATASETS.c.id).where(DATASETS.c.name == name)).scalar_one())


def reviewed(state: ReviewState) -> bool:
    """Whether the review says anything a test case could hold."""
    return bool(state.verdict or state.scores or state.themes or state.corrected)


def follow_review(
    conn: Connection, item: Any, reviewer: str, state: ReviewState, *, now: str, unit: str = "call"
) -> list[str]:
    """Bring the cases promoted from this review up to date with `state` (a new dataset
    version where one changed); returns the names of the datasets whose case changed."""
    key = source_key(item.id, reviewer)
    rows = conn.execute(
        select(DATASET_ITEMS, DATASETS.c.name.label("dataset_name"))
        .join(DATASETS, DATASETS.c.id == DATASET_ITEMS.c.dataset_id)
        .where(DATASET_ITEMS.c.source_key == key, DATASET_ITEMS.c.removed.is_(False))
        .order_by(DATASET_ITEMS.c.id)
    ).all()
    if not rows:
        return []
    record = load_record(conn, item.record_id)
    content, trace = case_of(conn, record, state, unit)
    changed: list[str] = []
    for row in rows:
        differs = {k: v for k, v in content.items() if getattr(row, k) != v}
        if not differs:  # (a note, say, is not part of the case)
            continue
        differs["source"] = review_source(conn, item.id, record, reviewer, trace=trace)
        conn.execute(update(DATASET_ITEMS).where(DATASET_ITEMS.c.id == row.id).values(differs))
        refresh_item(conn, int(row.id), now=now)
        note = f"updated item {item_ref(row, row.dataset_name)} (its review changed)"
        snapshot(conn, int(row.dataset_id), note, by=reviewer, now=now)
        changed.append(str(row.dataset_name))
    return changed


def in_datasets(conn: Connection, queue_item_id: int, reviewer: str) -> list[str]:
    """The datasets holding a case promoted from this review."""
    return list(
        conn.execute(
            select(DATASETS.c.name)
            .join(DATASET_ITEMS, DATASET_ITEMS.c.dataset_id == DATASETS.c.id)
            .where(
                DATASET_ITEMS.c.source_key == source_key(queue_item_id, reviewer),
                DATASET_ITEMS.c.removed.is_(False),
            )
            .order_by(DATASETS.c.name)
        ).scalars()
    )


def promote_in(
    conn: Connection,
    item: Any,
    reviewer: str,
    dataset_name: str,
    *,
    now: str,
    seconds: float | None = None,
    unit: str = "call",
) -> PromoteResult:
    """Promote the reviewer's current review of `item` (a queue_items row of a queue of `unit`)
    inside `conn`'s write transaction."""
    name = dataset_name.strip()
    if not name:
        raise ReviewError("a dataset needs a name")
    state = current_state(conn, item.id, reviewer)
    if not reviewed(state):
        raise ReviewError(
            "nothing to promote yet: give a verdict, scores, themes or a corrected answer first"
        )
    if seconds is not None:
        state.seconds = seconds
    event_id = insert_event(conn, item, reviewer, "promote", state, now=now)
    return put_case(conn, item, reviewer, name, state, event_id, now=now, unit=unit)


def put_case(
    conn: Connection,
    item: Any,
    reviewer: str,
    name: str,
    state: ReviewState,
    event_id: int,
    *,
    now: str,
    note: str = "promoted 1 review",
    unit: str = "call",
) -> PromoteResult:
    """Add the case made of `state` to dataset `name` (created when missing), or bring the one
    this review made there before back up to date; `event_id` is the event that put it there
    (undoing it takes a new case back out). `note` says what the new version holds."""
    dataset_id = ensure_dataset(conn, name, now=now)
    record = load_record(conn, item.record_id)
    content, trace = case_of(conn, record, state, unit)
    content.update(
        record_id=item.record_id,
        review_event_id=event_id,  # the handle undo uses
        source=review_source(conn, item.id, record, reviewer, event_id, trace),
        removed=False,
    )
    key = source_key(item.id, reviewer)
    found = conn.execute(
        select(DATASET_ITEMS.c.id, DATASET_ITEMS.c.removed).where(
            DATASET_ITEMS.c.dataset_id == dataset_id, DATASET_ITEMS.c.source_key == key
        )
    ).first()
    if found is not None:
        existing = int(found.id)
        if not found.removed:
            # already in: undoing this `d` leaves it in; the first one's undo takes it out
            del content["review_event_id"]
        conn.execute(update(DATASET_ITEMS).where(DATASET_ITEMS.c.id == existing).values(content))
        refresh_item(conn, existing, now=now)
        snapshot(conn, dataset_id, note, by=reviewer, now=now)
        return PromoteResult(False, existing, dataset_id, name, event_id)
    result = conn.execute(
        DATASET_ITEMS.insert().values(
            dataset_id=dataset_id,
            source_key=key,
            split=assign_split(key),
            created_by=reviewer,
            created_at=now,
            updated_at=now,
            **content,
        )
    )
    pk = result.inserted_primary_key
    assert pk is not None
    settle_ref(conn, dataset_id, name, int(pk[0]))
    refresh_item(conn, int(pk[0]))
    snapshot(conn, dataset_id, note, by=reviewer, now=now)
    return PromoteResult(True, int(pk[0]), dataset_id, name, event_id)


def unpromote_in(conn: Connection, promote_event_id: int, *, by: str | None = None) -> int | None:
    """Take back the case a `promote` event made (marked removed, a new dataset version);
    returns its id."""
    row = conn.execute(
        select(DATASET_ITEMS, DATASETS.c.name.label("dataset_name"))
        .join(DATASETS, DATASETS.c.id == DATASET_ITEMS.c.dataset_id)
        .where(DATASET_ITEMS.c.review_event_id == promote_event_id)
    ).first()
    if row is None:
        return None
    now = stamp(utc_now())
    conn.execute(
        update(DATASET_ITEMS)
        .where(DATASET_ITEMS.c.id == row.id)
        .values(removed=True, updated_at=now)
    )
    if by is None:
        by = conn.execute(select(EVENTS.c.reviewer).where(EVENTS.c.id == promote_event_id)).scalar()
    note = f"removed item {item_ref(row, row.dataset_name)} (promotion undone)"
    snapshot(conn, int(row.dataset_id), note, by=by, now=now)
    return int(row.id)


def promote(
    engine: Engine, queue_item_id: int, reviewer: str, dataset_name: str, unit: str = "call"
) -> PromoteResult:
    """Promote `reviewer`'s current review of the queue item (of a queue of `unit`) into
    `dataset_name` (created when missing), committed before returning."""
    with write_transaction(engine) as conn:
        query = select(QUEUE_ITEMS).where(QUEUE_ITEMS.c.id == queue_item_id).with_for_update()
        item = conn.execute(query).first()
        if item is None:
            raise ReviewError(f"no queue item {queue_item_id}")
        return promote_in(conn, item, reviewer, dataset_name, now=stamp(utc_now()), unit=unit)


class PromotingSession(ReviewSession):
    """A review session whose items can also be promoted into datasets (`d`); undoing a
    promotion takes its case back out."""

    def promote(self, item: ItemView | int, dataset: str | None = None) -> PromoteResult:
        """Add the item, with this review, to `dataset` (default: the queue's dataset)."""
        name = dataset or self.queue.dataset
        if not name:
            raise ReviewError(f"queue {self.queue.name} names no dataset: choose one")
        return self.record(
            item,
            lambda conn, row, seconds, now: promote_in(
                conn, row, self.reviewer, name, now=now, seconds=seconds, unit=self.queue.unit
            ),
        )

    def keep(self, item: ItemView | int, dataset: str | None = None) -> PromoteResult:
        """Keep a generated case: one `keep` event (verdict pass, the parent's themes when the
        review has none) that puts the case into `dataset` (default: the queue's), its expected
        answer the one written with `e`, else the one the model suggested."""
        name = (dataset or self.queue.dataset or "").strip()
        if not name:
            raise ReviewError(f"queue {self.queue.name} names no dataset: choose one")
        record = self.view(item).record
        origin = generated_origin(record)
        if origin is None:
            raise ReviewError("not a generated case: d promotes it, with its review")
        parent_themes = [str(t) for t in (record.get("metadata") or {}).get("themes") or []]
        made: list[PromoteResult] = []

        def change(state: ReviewState) -> ReviewState:
            themes = state.themes or parent_themes
            return replace(state, verdict="pass", skipped=False, themes=list(themes))

        def before_write(conn: Connection, now: str) -> None:
            from reviewer.review.themes import ensure_themes

            ensure_themes(conn, parent_themes, created_by=self.reviewer, now=now)

        def add(conn: Connection, row: Any, event_id: int, state: ReviewState, now: str) -> None:
            note = f"kept 1 generated case ({origin.get('kind')} of {origin.get('parent')})"
            made.append(
                put_case(conn, row, self.reviewer, name, state, event_id, now=now, note=note)
            )

        self._act(item, "keep", change, before_write, add)
        return made[0]

    def drop(self, item: ItemView | int) -> ItemView:
        """Drop a generated case: a `drop` event (verdict fail); it never enters a dataset.
        Refused for a case kept already (undo the keep, or remove it on the datasets screen)."""
        record = self.view(item).record
        kept = self.datasets_of(item)
        if generated_origin(record) is None:
            raise ReviewError("not a generated case: f fails it")
        if kept:
            raise ReviewError(
                f"kept in {', '.join(kept)}: u undoes the keep, or x on the datasets screen "
                "removes the case"
            )
        return self._act(item, "drop", lambda s: replace(s, verdict="fail", skipped=False))

    def review_changed(self, conn: Connection, item: Any, state: ReviewState, now: str) -> None:
        follow_review(conn, item, self.reviewer, state, now=now, unit=self.queue.unit)

    def datasets_of(self, item: ItemView | int) -> list[str]:
        """The datasets holding a case promoted from this reviewer's review of the item."""
        with self.engine.connect() as conn:
            return in_datasets(conn, self._item_id(item), self.reviewer)

    def undo_effects(self, conn: Connection, action: str, event_id: int) -> None:
        if action in PROMOTING:
            unpromote_in(conn, event_id)
        else:
            super().undo_effects(conn, action, event_id)
