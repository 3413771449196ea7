"""The review workflow: what the review screen and the CLI call.

A `ReviewSession` is one reviewer working through one queue. Every action (verdict, score,
themes, note, corrected answer, skip, promote, undo) is one append-only `ReviewEvent` holding
the whole state of this reviewer's review of the item after the action, written in the same
transaction as the item's cached `status`/`reviews_done` and this reviewer's claim, and
committed before the method returns: nothing a reviewer did is ever lost. The current state of
a review is the latest event of its (item, reviewer); undo is a new event restoring the state
before the action it undoes.

Claims keep reviewers apart. An item may be reviewed by `reviews_per_item` (N) different
reviewers; the reviewers "engaged" on it are those with a complete review plus those holding an
unexpired claim, and an item is offered to a reviewer only while fewer than N others are
engaged. Claims are taken inside a write transaction: `BEGIN IMMEDIATE` on SQLite (one writer
at a time), `SELECT ... FOR UPDATE SKIP LOCKED` on the item row on PostgreSQL (then re-checked
by a fresh statement, which sees claims committed meanwhile).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)

from reviewer.review.counts import read_counts, shift
from reviewer.review.queues import QueueDef
from reviewer.store.events import (
    CLAIMS,
    EVENTS,
    QUEUE_ITEMS,
    ReviewError,
    ReviewState,
    current_state,
    current_states,
    insert_event,
    is_latest,
    load_record,
    stamp,
    utc_now,
    write_transaction,
)
from reviewer.store.suggestions import SuggestionView, latest_suggestion, load_suggestion

T = TypeVar("T")

#: The actions an event records (`keep` and `drop`: a generated case kept into its dataset or
#: dropped, see `reviewer.datasets.promote`).
ACTIONS = (
    "verdict", "score", "themes", "note", "correct", "skip", "undo", "promote", "accept", "keep",
    "drop", "step", "step_note",
)  # fmt: skip
#: Actions whose undo belongs to a layer above (they put a case into a dataset).
PROMOTING = ("promote", "keep")
VERDICTS = ("pass", "fail")


# -- state ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class ItemView:
    """What the review screen shows of one queue item."""

    queue_item_id: int
    record_id: str
    position: int | None  # 1-based index in the queue's order (None for an inactive item)
    status: str  # pending | done | skipped (for the whole item, all reviewers)
    reviews_done: int
    active: bool
    record: dict[str, Any]  # the record in the canonical export shape (messages, output, ...)
    review: ReviewState  # this reviewer's review
    held_by: list[str]  # other reviewers holding an unexpired claim on it
    editable: bool  # this reviewer may act on it (False: others hold all its review slots)


@dataclass(slots=True)
class Progress:
    """Where the reviewer is in the queue and what is left."""

    position: int | None  # index of the current item in the queue's order
    total: int  # active items
    done: int
    skipped: int
    pending: int
    mine: int  # this reviewer's complete reviews in the queue

    @property
    def fraction_done(self) -> float:
        return self.done / self.total if self.total else 0.0

    def label(self) -> str:
        """`17 / 240`, or `- / 240` when there is no current item."""
        return f"{self.position if self.position is not None else '-'} / {self.total}"


# -- the item's cached status ---------------------------------------------------------------------


def refresh_status(conn: Connection, queue_item_id: int, reviews_per_item: int) -> tuple[str, int]:
    """Recompute the item's cached status and reviews_done from the review history."""
    before = conn.execute(
        select(QUEUE_ITEMS.c.queue, QUEUE_ITEMS.c.status, QUEUE_ITEMS.c.active).where(
            QUEUE_ITEMS.c.id == queue_item_id
        )
    ).first()
    states = current_states(conn, queue_item_id).values()
    done = sum(1 for s in states if s.complete)
    if done >= reviews_per_item:
        status = "done"
    elif any(s.skipped for s in states):
        status = "skipped"
    else:
        status = "pending"
    conn.execute(
        update(QUEUE_ITEMS)
        .where(QUEUE_ITEMS.c.id == queue_item_id)
        .values(status=status, reviews_done=done)
    )
    if before is not None and before.active:
        shift(conn, before.queue, before.status, status)
    return status, done


def _after(position: float, item_id: int) -> ColumnElement[bool]:
    return or_(
        QUEUE_ITEMS.c.position > position,
        and_(QUEUE_ITEMS.c.position == position, QUEUE_ITEMS.c.id > item_id),
    )


def _before(position: float, item_id: int) -> ColumnElement[bool]:
    return or_(
        QUEUE_ITEMS.c.position < position,
        and_(QUEUE_ITEMS.c.position == position, QUEUE_ITEMS.c.id < item_id),
    )


# -- the session ----------------------------------------------------------------------------------


class ReviewSession:
    """One reviewer working through one queue.

    The session keeps the current item and the time spent on items in memory; everything
    else is in the database, so a new session on the same queue resumes where the last one
    stopped (`next_item` returns the first item this reviewer has not finished).
    """

    def __init__(
        self,
        engine: Engine,
        queue: QueueDef,
        reviewer: str,
        claim_ttl: timedelta = timedelta(minutes=30),
        *,
        clock: Callable[[], datetime] = utc_now,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        if not reviewer or not reviewer.strip():
            raise ReviewError(
                "a reviewer name is needed (--reviewer, REVIEWER_NAME or git user.name)"
            )
        self.engine = engine
        self.queue = queue
        self.reviewer = reviewer.strip()
        self.claim_ttl = claim_ttl
        self.clock = clock
        self.timer = timer
        self.current: int | None = None
        self._visit_start: float | None = None
        self._unsaved: dict[int, float] = {}  # seconds spent on items since their last event

    # -- moving around --------------------------------------------------------------------------

    def next_item(self) -> ItemView | None:
        """Claim and show the first item, in queue order, this reviewer has not finished and may
        take; None when there is none left for them. Refused to reviewers the queue is not
        assigned to (when it names its assignees)."""
        self.check_assigned()
        self._leave()
        return self._claim_first()

    def check_assigned(self) -> None:
        """Raise ReviewError when the queue names assignees and this reviewer is not one."""
        if self.queue.assignees and self.reviewer not in self.queue.assignees:
            raise ReviewError(
                f"queue {self.queue.name} is assigned to {', '.join(self.queue.assignees)}; "
                f"you are {self.reviewer} (choose with --reviewer or REVIEWER_NAME)"
            )

    def open(self, queue_item_id: int) -> ItemView:
        """Show an item of this queue (navigation, search), claiming it when it is free."""
        self.check_assigned()
        if queue_item_id != self.current:
            with self.engine.connect() as conn:
                self._row(conn, queue_item_id)  # not in this queue: an error, and stay put
            self._leave()
        with write_transaction(self.engine) as conn:
            now = self._now()
            item = self._lock(conn, queue_item_id)
            state = current_state(conn, queue_item_id, self.reviewer)
            if (
                not state.complete
                and not state.skipped
                and item.active
                and self._may_act(conn, item, state, now)
            ):
                self._claim(conn, queue_item_id, now)
            view = self._view(conn, queue_item_id, now)
        self._arrive(queue_item_id)
        return view

    def previous(self) -> ItemView | None:
        """The item before the current one (in queue order) that this reviewer handled or may
        take (items other reviewers hold or finished are passed over); None, staying put, when
        there is none. From no current item (queue finished) it is the last such item."""
        with self.engine.connect() as conn:
            now = stamp(self._now())
            reachable = or_(self._handled(), and_(*self._open_for_me(now)))
            conds: list[ColumnElement[bool]] = [*self._in_queue(), reachable]
            here = self._where(conn, self.current)
            if here is not None:
                conds.append(_before(*here))
            target = conn.execute(
                select(QUEUE_ITEMS.c.id)
                .where(*conds)
                .order_by(QUEUE_ITEMS.c.position.desc(), QUEUE_ITEMS.c.id.desc())
                .limit(1)
            ).scalar()
        return self.open(target) if target is not None else None

    def next(self) -> ItemView | None:
        """The item after the current one: the nearest one this reviewer handled or may take.

        Past the last one it is `next_item()` (the first unfinished item anywhere, or None).
        """
        if self.current is None:
            return self.next_item()
        with self.engine.connect() as conn:
            here = self._where(conn, self.current)
        if here is None:
            return self.next_item()
        self._leave()
        with self.engine.connect() as conn:
            handled = self._first_handled_after(conn, here)
        bounds = [_after(*here)]
        if handled is not None:
            bounds.append(_before(*handled))
        view = self._claim_first(bounds)
        if view is not None:
            return view
        if handled is not None:
            return self.open(handled[1])
        return self._claim_first()

    def _first_handled_after(
        self, conn: Connection, here: tuple[float, int]
    ) -> tuple[float, int] | None:
        """(position, id) of the first item after `here` this reviewer acted on.

        Starts from the reviewer's own events (few) rather than walking the queue (maybe a
        million items) in order."""
        rows = conn.execute(
            select(QUEUE_ITEMS.c.position, QUEUE_ITEMS.c.id)
            .select_from(EVENTS.join(QUEUE_ITEMS, QUEUE_ITEMS.c.id == EVENTS.c.queue_item_id))
            .where(
                EVENTS.c.queue == self.queue.name,
                EVENTS.c.reviewer == self.reviewer,
                *self._in_queue(),
            )
            .distinct()
        ).all()
        later = [(float(p), int(i)) for p, i in rows if (p, i) > here]
        return min(later) if later else None

    # -- actions --------------------------------------------------------------------------------

    def set_verdict(self, item: ItemView | int, verdict: str) -> ItemView:
        """Pass or fail (in a `unit: pair` queue: left, right, tie or both-bad): completes the
        review when every required score is given."""
        if verdict not in self.queue.verdicts:
            raise ReviewError(f"the verdict is {' or '.join(self.queue.verdicts)}, not {verdict!r}")

        def change(state: ReviewState) -> ReviewState:
            missing = self.queue.missing_required(state.scores)
            if missing:
                raise ReviewError("give the required scores first: " + ", ".join(missing))
            return replace(state, verdict=verdict, skipped=False)

        return self._act(item, "verdict", change)

    def set_score(self, item: ItemView | int, name: str, value: Any) -> ItemView:
        """Set (or, with None, clear) one rubric score; the value is checked against the rubric."""
        value = self.check_score(name, value)

        def change(state: ReviewState) -> ReviewState:
            scores = dict(state.scores)
            if value is None:
                scores.pop(name, None)
            else:
                scores[name] = value
            return replace(state, scores=scores)

        return self._act(item, "score", change)

    def check_score(self, name: str, value: Any) -> Any:
        """The value as stored, or ReviewError saying what the rubric allows."""
        score = self.queue.score(name)
        if score is None:
            known = ", ".join(s.name for s in self.queue.rubric) or "none"
            raise ReviewError(f"queue {self.queue.name} has no score {name!r} (scores: {known})")
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if score.type == "scale":
            number = value
            if isinstance(value, str) and value.strip().lstrip("-").isdigit():
                number = int(value.strip())
            if isinstance(number, bool) or not isinstance(number, int):
                raise ReviewError(
                    f"{name} is a number from {score.min} to {score.max}, not {value!r}"
                )
            if not score.min <= number <= score.max:
                raise ReviewError(f"{name} is from {score.min} to {score.max}, not {number}")
            return number
        if score.type == "category":
            if value not in score.options:
                raise ReviewError(f"{name} is one of {', '.join(score.options)}, not {value!r}")
            return value
        if score.type == "pass_fail":
            if value not in VERDICTS:
                raise ReviewError(f"{name} is pass or fail, not {value!r}")
            return value
        if not isinstance(value, str):
            raise ReviewError(f"{name} is text, not {value!r}")
        return value

    def set_themes(self, item: ItemView | int, names: list[str]) -> ItemView:
        """Replace the review's themes; themes that do not exist yet are created (workspace-wide)."""
        from reviewer.review.themes import ensure_themes, normalize_theme

        wanted: list[str] = []
        for name in names:
            norm = normalize_theme(name)
            if norm not in wanted:
                wanted.append(norm)

        def change(state: ReviewState) -> ReviewState:
            return replace(state, themes=wanted)

        def before_write(conn: Connection, now: str) -> None:
            ensure_themes(conn, wanted, created_by=self.reviewer, now=now)

        return self._act(item, "themes", change, before_write)

    def set_note(self, item: ItemView | int, text: str | None) -> ItemView:
        """The reviewer's note (empty clears it)."""
        note = text if text and text.strip() else None
        return self._act(item, "note", lambda s: replace(s, note=note))

    def set_correction(self, item: ItemView | int, text: str | None) -> ItemView:
        """The answer the model should have given (empty clears it)."""
        corrected = text if text and text.strip() else None
        return self._act(item, "correct", lambda s: replace(s, corrected=corrected))

    def set_step(self, item: ItemView | int, step_id: str | None) -> ItemView:
        """A trace's review: mark the step where it went wrong (None clears the mark)."""
        return self._act(item, "step", lambda s: replace(s, step_id=step_id or None))

    def set_step_note(self, item: ItemView | int, step_id: str, text: str | None) -> ItemView:
        """A trace's review: a note on one of its steps (empty clears it)."""
        note = text if text and text.strip() else None

        def change(state: ReviewState) -> ReviewState:
            notes = {k: v for k, v in state.step_notes.items() if k != step_id}
            if note is not None:
                notes[step_id] = note
            return replace(state, step_notes=notes)

        return self._act(item, "step_note", change)

    def accept_suggestion(self, item: ItemView | int, suggestion_id: int) -> ItemView:
        """`y`: the assistant's suggestion (verdict, scores, themes) becomes this reviewer's
        review, one event recorded as accepted from that suggestion."""
        with self.engine.connect() as conn:
            found = load_suggestion(conn, suggestion_id)
        if found is None or found.queue_item_id != self._item_id(item):
            raise ReviewError("no suggestion for this item")
        if found.error or found.verdict not in VERDICTS:
            raise ReviewError("the suggestion has no usable verdict: grade this item yourself")
        scores = {}
        for name, value in found.scores.items():
            if self.queue.score(name) is not None:
                scores[name] = self.check_score(name, value)
        from reviewer.review.themes import normalize_theme

        themes = list(dict.fromkeys(normalize_theme(t) for t in found.themes))

        def change(state: ReviewState) -> ReviewState:
            return replace(
                state,
                verdict=found.verdict,
                scores=scores,
                themes=themes,
                skipped=False,
                suggestion_id=found.id,
                suggestion="accepted",
            )

        def before_write(conn: Connection, now: str) -> None:
            from reviewer.review.themes import ensure_themes

            ensure_themes(conn, themes, created_by=self.reviewer, now=now)

        return self._act(item, "accept", change, before_write)

    def suggestion(self, item: ItemView | int) -> SuggestionView | None:
        """The queue's judge's newest readable suggestion for the item (None without one, or
        when the queue has no assistant)."""
        if self.queue.assist is None:
            return None
        with self.engine.connect() as conn:
            return latest_suggestion(conn, self._item_id(item), self.queue.assist.judge)

    def is_blind(self, item: ItemView | int) -> bool:
        """Whether the item's suggestion stays hidden until this reviewer's verdict."""
        return self.queue.assist is not None and self.queue.assist.is_blind(self._item_id(item))

    def _relate_to_suggestion(
        self, conn: Connection, row: Any, before: ReviewState, after: ReviewState
    ) -> None:
        """Record how the review relates to the item's suggestion: a change of an accepted
        one makes it `edited`; a review begun beside one is `shown`, or `blind` when the
        suggestion was hidden from this item."""
        graded = (after.verdict, after.scores, after.themes)
        if before.suggestion == after.suggestion == "accepted" and graded != (
            before.verdict,
            before.scores,
            before.themes,
        ):
            after.suggestion = "edited"
        if after.suggestion is not None or self.queue.assist is None:
            return
        found = latest_suggestion(conn, row.id, self.queue.assist.judge)
        if found is not None:
            after.suggestion_id = found.id
            after.suggestion = "blind" if self.queue.assist.is_blind(row.id) else "shown"

    def skip(self, item: ItemView | int) -> ItemView:
        """Pass on this item: it is released for other reviewers and not offered to this one."""
        return self._act(item, "skip", lambda s: replace(s, skipped=True))

    def record(self, item: ItemView | int, write: Callable[[Connection, Any, float, str], T]) -> T:
        """Run `write(conn, item_row, seconds, now)` on the item inside a write transaction,
        committed before returning: how the layers above the review (promotion into datasets)
        add actions of their own. `seconds` is the time spent on the item so far, for the event
        `write` appends; `now` the timestamp text."""
        queue_item_id = self._item_id(item)
        with write_transaction(self.engine) as conn:
            now = self._now()
            row = self._lock(conn, queue_item_id)
            seconds = current_state(conn, queue_item_id, self.reviewer).seconds
            result = write(conn, row, seconds + self._spent(queue_item_id), stamp(now))
        self._saved(queue_item_id)
        return result

    def review_changed(self, conn: Connection, item: Any, state: ReviewState, now: str) -> None:
        """Called inside the transaction of every action (and undo) that changed the review
        of `item` to `state`: where a layer above keeps what follows the review (a promoted
        case follows it). The review itself needs nothing more."""

    def undo_effects(self, conn: Connection, action: str, event_id: int) -> None:
        """Take back what an event of `action` did beyond the review state, inside the undo's
        transaction. The review's own actions have nothing more to take back; an action added
        by a layer above (a promotion) is undone by that layer's session, which overrides this."""
        if action not in ACTIONS or action in PROMOTING:
            raise ReviewError(f"a {action} cannot be undone here: undo it where it was made")

    def last_action(self) -> tuple[int, str] | None:
        """The queue item and the action that `undo()` would take back now (None: nothing)."""
        with self.engine.connect() as conn:
            target = self._last_action(conn)
        return None if target is None else (int(target.queue_item_id), str(target.action))

    def undo(self) -> ItemView | None:
        """Undo this reviewer's last action in this queue (on whatever item); repeated calls go
        further back. Returns the item it affected (now the current one), or None."""
        with self.engine.connect() as conn:
            target = self._last_action(conn)
        if target is None:
            return None
        queue_item_id = int(target.queue_item_id)
        if queue_item_id != self.current:
            self._leave()
        with write_transaction(self.engine) as conn:
            now = self._now()
            item = self._lock(conn, queue_item_id)
            target = self._last_action(conn)  # again, inside the write transaction
            if target is None or int(target.queue_item_id) != queue_item_id:
                raise ReviewError("the review history changed meanwhile: try again")
            state = current_state(conn, queue_item_id, self.reviewer)
            previous = conn.execute(
                select(EVENTS)
                .where(
                    EVENTS.c.queue_item_id == queue_item_id,
                    EVENTS.c.reviewer == self.reviewer,
                    EVENTS.c.id < target.id,
                )
                .order_by(EVENTS.c.id.desc())
                .limit(1)
            ).first()
            restored = (
                ReviewState.from_event(previous)
                if previous
                else ReviewState(reviewer=self.reviewer)
            )
            restored = replace(restored, seconds=state.seconds + self._spent(queue_item_id))
            insert_event(
                conn, item, self.reviewer, "undo", restored, now=stamp(now), undoes=target.id
            )
            self.undo_effects(conn, target.action, int(target.id))
            if target.action != "promote":
                self.review_changed(conn, item, restored, stamp(now))
            refresh_status(conn, queue_item_id, self.queue.reviews_per_item)
            if restored.complete or restored.skipped:
                self._release(conn, queue_item_id)
            elif self._may_act(conn, item, restored, now):
                self._claim(conn, queue_item_id, now)
            view = self._view(conn, queue_item_id, now)
        self._saved(queue_item_id)
        self._arrive(queue_item_id)
        return view

    # -- reading --------------------------------------------------------------------------------

    def view(self, item: ItemView | int) -> ItemView:
        """The item as it is now in the database (no claim, no move)."""
        queue_item_id = self._item_id(item)
        with self.engine.connect() as conn:
            self._row(conn, queue_item_id)
            return self._view(conn, queue_item_id, self._now())

    def progress(self) -> Progress:
        """Position of the current item, and the counts of the queue."""
        with self.engine.connect() as conn:
            counts = read_counts(conn, [self.queue.name])[self.queue.name]
            counts.pop("total")
            e = EVENTS.alias("e")
            mine = conn.execute(
                select(func.count())
                .select_from(e.join(QUEUE_ITEMS, QUEUE_ITEMS.c.id == e.c.queue_item_id))
                # e.queue first: the query starts from this reviewer's events, not the queue
                .where(
                    e.c.queue == self.queue.name,
                    e.c.reviewer == self.reviewer,
                    e.c.complete.is_(True),
                )
                .where(*self._in_queue(), is_latest(e))
            ).scalar_one()
            position = self._position(conn, self.current) if self.current is not None else None
        done, skipped = int(counts.get("done", 0)), int(counts.get("skipped", 0))
        total = sum(int(n) for n in counts.values())
        return Progress(position, total, done, skipped, total - done - skipped, int(mine))

    def others_visible(self, item: ItemView | int) -> bool:
        """Other reviewers' grades show only once this reviewer has given theirs."""
        with self.engine.connect() as conn:
            return current_state(conn, self._item_id(item), self.reviewer).complete

    def other_reviews(self, item: ItemView | int) -> list[ReviewState]:
        """The other reviewers' current reviews of the item; empty until `others_visible`."""
        queue_item_id = self._item_id(item)
        with self.engine.connect() as conn:
            states = current_states(conn, queue_item_id)
        mine = states.pop(self.reviewer, None)
        if mine is None or not mine.complete:
            return []
        return list(states.values())

    # -- internals ------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self.clock()

    @staticmethod
    def _item_id(item: ItemView | int) -> int:
        return item.queue_item_id if isinstance(item, ItemView) else int(item)

    def _in_queue(self) -> list[ColumnElement[bool]]:
        return [QUEUE_ITEMS.c.queue == self.queue.name, QUEUE_ITEMS.c.active.is_(True)]

    def _handled(self) -> ColumnElement[bool]:
        """Items this reviewer acted on."""
        return exists().where(
            EVENTS.c.queue_item_id == QUEUE_ITEMS.c.id, EVENTS.c.reviewer == self.reviewer
        )

    def _others_engaged(self, now: str) -> ColumnElement[Any]:
        """Reviews done plus other reviewers' unexpired claims, per item (a scalar subquery).

        Claims are only held by reviewers without a complete review, so the two never count
        the same reviewer twice."""
        c = CLAIMS.alias("c")
        claims = (
            select(func.count())
            .where(c.c.queue_item_id == QUEUE_ITEMS.c.id, c.c.reviewer != self.reviewer)
            .where(c.c.expires_at > now)
            .scalar_subquery()
        )
        return QUEUE_ITEMS.c.reviews_done + claims

    def _open_for_me(self, now: str) -> list[ColumnElement[bool]]:
        """Items this reviewer has not finished (nor skipped) and may take now."""
        mine = EVENTS.alias("mine")
        finished = exists().where(
            mine.c.queue_item_id == QUEUE_ITEMS.c.id,
            mine.c.reviewer == self.reviewer,
            or_(mine.c.complete.is_(True), mine.c.skipped.is_(True)),
            is_latest(mine),
        )
        return [
            *self._in_queue(),
            QUEUE_ITEMS.c.status != "done",
            ~finished,
            self._others_engaged(now) < self.queue.reviews_per_item,
        ]

    def _claim_first(self, bounds: list[ColumnElement[bool]] | None = None) -> ItemView | None:
        """Claim the first open item (within `bounds`) and make it the current one."""
        with write_transaction(self.engine) as conn:
            moment = self._now()
            now = stamp(moment)
            conds = [*self._open_for_me(now), *(bounds or [])]
            checked: list[int] = []
            found: int | None = None
            while found is None:
                query = select(QUEUE_ITEMS.c.id).where(*conds)
                if checked:
                    query = query.where(QUEUE_ITEMS.c.id.not_in(checked))
                query = query.order_by(QUEUE_ITEMS.c.position, QUEUE_ITEMS.c.id).limit(1)
                candidate = conn.execute(
                    query.with_for_update(skip_locked=True, of=QUEUE_ITEMS)
                ).scalar()
                if candidate is None and not checked and conn.dialect.name == "postgresql":
                    # Nothing unlocked, but an item locked by another reviewer's transaction
                    # (their verdict, say) may still need this reviewer: wait for it rather
                    # than call the queue finished while it has a free slot. (Holding no row
                    # lock of our own yet, this wait cannot close a deadlock.)
                    candidate = conn.execute(query.with_for_update(of=QUEUE_ITEMS)).scalar()
                if candidate is None:
                    break
                # A fresh statement sees claims committed after the first one's snapshot
                # (PostgreSQL); we hold the row lock now, so nobody can claim it meanwhile.
                still = conn.execute(
                    select(QUEUE_ITEMS.c.id).where(*conds, QUEUE_ITEMS.c.id == candidate)
                ).scalar()
                if still is None:
                    checked.append(candidate)
                    continue
                found = candidate
            if found is None:
                self.current = None
                self._visit_start = None
                return None
            self._claim(conn, found, moment)
            view = self._view(conn, found, moment)
        self._arrive(found)
        return view

    def _claim(self, conn: Connection, queue_item_id: int, moment: datetime) -> None:
        """Take or renew this reviewer's claim (the item row is locked by the caller)."""
        now = stamp(moment)
        expires = stamp(moment + self.claim_ttl)
        conn.execute(
            delete(CLAIMS).where(
                CLAIMS.c.queue_item_id == queue_item_id, CLAIMS.c.expires_at <= now
            )
        )
        renewed = conn.execute(
            update(CLAIMS)
            .where(CLAIMS.c.queue_item_id == queue_item_id, CLAIMS.c.reviewer == self.reviewer)
            .values(expires_at=expires)
        )
        if not renewed.rowcount:
            conn.execute(
                insert(CLAIMS).values(
                    queue_item_id=queue_item_id,
                    reviewer=self.reviewer,
                    claimed_at=now,
                    expires_at=expires,
                )
            )

    def _release(self, conn: Connection, queue_item_id: int) -> None:
        conn.execute(
            delete(CLAIMS).where(
                CLAIMS.c.queue_item_id == queue_item_id, CLAIMS.c.reviewer == self.reviewer
            )
        )

    def _may_act(self, conn: Connection, item: Any, state: ReviewState, moment: datetime) -> bool:
        """A reviewer may always revise a review they completed; otherwise the item must have a
        free review slot (fewer than N others engaged)."""
        if state.complete:
            return True
        engaged = conn.execute(
            select(self._others_engaged(stamp(moment))).where(QUEUE_ITEMS.c.id == item.id)
        ).scalar_one()
        return int(engaged) < self.queue.reviews_per_item

    def _row(self, conn: Connection, queue_item_id: int, *, lock: bool = False) -> Any:
        query = select(QUEUE_ITEMS).where(
            QUEUE_ITEMS.c.id == queue_item_id, QUEUE_ITEMS.c.queue == self.queue.name
        )
        if lock:
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise ReviewError(f"item {queue_item_id} is not in queue {self.queue.name}")
        return row

    def _lock(self, conn: Connection, queue_item_id: int) -> Any:
        """The item row, locked until the transaction ends (PostgreSQL; SQLite holds the
        database write lock already)."""
        return self._row(conn, queue_item_id, lock=True)

    def _where(self, conn: Connection, queue_item_id: int | None) -> tuple[float, int] | None:
        if queue_item_id is None:
            return None
        row = conn.execute(
            select(QUEUE_ITEMS.c.position, QUEUE_ITEMS.c.id).where(
                QUEUE_ITEMS.c.id == queue_item_id
            )
        ).first()
        return (row.position, row.id) if row else None

    def _position(self, conn: Connection, queue_item_id: int) -> int | None:
        row = conn.execute(
            select(QUEUE_ITEMS.c.position, QUEUE_ITEMS.c.active).where(
                QUEUE_ITEMS.c.id == queue_item_id
            )
        ).first()
        if row is None or not row.active:
            return None
        before = conn.execute(
            select(func.count()).where(*self._in_queue(), _before(row.position, queue_item_id))
        ).scalar_one()
        return int(before) + 1

    def _view(self, conn: Connection, queue_item_id: int, moment: datetime) -> ItemView:
        item = self._row(conn, queue_item_id)
        state = current_state(conn, queue_item_id, self.reviewer)
        held_by = list(
            conn.execute(
                select(CLAIMS.c.reviewer)
                .where(CLAIMS.c.queue_item_id == queue_item_id, CLAIMS.c.reviewer != self.reviewer)
                .where(CLAIMS.c.expires_at > stamp(moment))
                .order_by(CLAIMS.c.claimed_at)
            ).scalars()
        )
        return ItemView(
            queue_item_id=item.id,
            record_id=item.record_id,
            position=self._position(conn, queue_item_id),
            status=item.status,
            reviews_done=item.reviews_done,
            active=bool(item.active),
            record=load_record(conn, item.record_id),
            review=state,
            held_by=held_by,
            editable=bool(item.active) and self._may_act(conn, item, state, moment),
        )

    def _act(
        self,
        item: ItemView | int,
        action: str,
        change: Callable[[ReviewState], ReviewState],
        before_write: Callable[[Connection, str], None] | None = None,
        after_write: Callable[[Connection, Any, int, ReviewState, str], None] | None = None,
    ) -> ItemView:
        """One action: the new state as an event, the item's status and the claim, committed.
        `after_write(conn, item_row, event_id, state, now)` runs in the same transaction once
        the event is written (a keep puts its case into the dataset there)."""
        queue_item_id = self._item_id(item)
        with write_transaction(self.engine) as conn:
            moment = self._now()
            now = stamp(moment)
            row = self._lock(conn, queue_item_id)
            before = current_state(conn, queue_item_id, self.reviewer)
            if not row.active:
                raise ReviewError("this item no longer matches the queue's filter: it is read-only")
            if not self._may_act(conn, row, before, moment):
                raise ReviewError(self._busy_message(conn, queue_item_id, moment))
            after = change(
                replace(
                    before,
                    scores=dict(before.scores),
                    themes=list(before.themes),
                    step_notes=dict(before.step_notes),
                )
            )
            after.complete = (
                after.verdict is not None
                and not after.skipped
                and not self.queue.missing_required(after.scores)
            )
            after.seconds = before.seconds + self._spent(queue_item_id)
            self._relate_to_suggestion(conn, row, before, after)
            if before_write is not None:
                before_write(conn, now)
            event_id = insert_event(conn, row, self.reviewer, action, after, now=now)
            self.review_changed(conn, row, after, now)
            if after_write is not None:
                after_write(conn, row, event_id, after, now)
            refresh_status(conn, queue_item_id, self.queue.reviews_per_item)
            if after.complete or after.skipped:
                self._release(conn, queue_item_id)
            else:
                self._claim(conn, queue_item_id, moment)
            view = self._view(conn, queue_item_id, moment)
        self._saved(queue_item_id)
        return view

    def _busy_message(self, conn: Connection, queue_item_id: int, moment: datetime) -> str:
        holders = list(
            conn.execute(
                select(CLAIMS.c.reviewer)
                .where(CLAIMS.c.queue_item_id == queue_item_id, CLAIMS.c.reviewer != self.reviewer)
                .where(CLAIMS.c.expires_at > stamp(moment))
            ).scalars()
        )
        if len(holders) == 1:
            return f"{holders[0]} is reviewing this item"
        if holders:
            return f"{', '.join(holders[:-1])} and {holders[-1]} are reviewing this item"
        return "this item has all the reviews it needs"

    def _last_action(self, conn: Connection) -> Any:
        """This reviewer's latest event in the queue that is not an undo and not undone."""
        undos = select(EVENTS.c.undoes).where(
            EVENTS.c.queue == self.queue.name,
            EVENTS.c.reviewer == self.reviewer,
            EVENTS.c.action == "undo",
            EVENTS.c.undoes.is_not(None),
        )
        return conn.execute(
            select(EVENTS.c.id, EVENTS.c.queue_item_id, EVENTS.c.action)
            .where(
                EVENTS.c.queue == self.queue.name,
                EVENTS.c.reviewer == self.reviewer,
                EVENTS.c.action != "undo",
                EVENTS.c.id.not_in(undos),
            )
            .order_by(EVENTS.c.id.desc())
            .limit(1)
        ).first()

    # time spent: measured from when the item was shown, accumulated over visits

    def _arrive(self, queue_item_id: int) -> None:
        self.current = queue_item_id
        self._visit_start = self.timer()

    def _spent(self, queue_item_id: int) -> float:
        """Seconds spent on the item since its last event (this visit and earlier ones)."""
        spent = self._unsaved.get(queue_item_id, 0.0)
        if queue_item_id == self.current and self._visit_start is not None:
            spent += max(0.0, self.timer() - self._visit_start)
        return spent

    def _saved(self, queue_item_id: int) -> None:
        """The time spent is in an event now: count from here."""
        self._unsaved.pop(queue_item_id, None)
        if queue_item_id == self.current:
            self._visit_start = self.timer()

    def close(self) -> None:
        """The reviewer leaves the queue (back home, or quitting): release an item only looked at."""
        self._leave()

    def _leave(self) -> None:
        """Leave the current item: keep the time spent, and release its claim if this reviewer
        did nothing on it (an item only looked at goes back to the others)."""
        if self.current is None:
            return
        left = self.current
        if self._visit_start is not None:
            self._unsaved[left] = self._unsaved.get(left, 0.0) + max(
                0.0, self.timer() - self._visit_start
            )
        self.current = None
        self._visit_start = None
        with self.engine.connect() as conn:
            touched = current_state(conn, left, self.reviewer).started
            holds = conn.execute(
                select(CLAIMS.c.id).where(
                    CLAIMS.c.queue_item_id == left, CLAIMS.c.reviewer == self.reviewer
                )
            ).first()
        if holds is not None and not touched:
            with write_transaction(self.engine) as conn:
                if not current_state(conn, left, self.reviewer).started:
                    self._release(conn, left)
