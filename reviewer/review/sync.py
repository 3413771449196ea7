"""Queue membership: `queues sync` turns each queue's definition into `queue_items` rows.

Idempotent: a second sync with nothing new changes nothing. Records that match later join on
the next sync. An edited filter is applied without losing reviews: an item that no longer
matches is deleted only when nobody reviewed it; a reviewed one is kept with `active = false`
(its reviews stay) and becomes active again if it matches again. Queues whose file is gone are
left alone.

Membership is worked out in SQL (`INSERT ... SELECT` with the filter) for queues without a sample
and with a stored order. Sampled queues and the random order need a stable hash of (seed, record
id), computed in Python over record ids only (never whole records):

- `sample.rate`: a record is in when its hash falls under the rate (stable per record).
- `sample.size`: the queue holds at most `size` items; members stay, new records join by hash
  rank while there is room. `stratify` splits the room between the strata in proportion to
  their sizes (largest remainder), which also applies to a stratified rate.

`position` gives the queue's order (`ORDER BY position, id`): newest -epoch of the timestamp,
oldest +epoch, slowest -latency, random the hash. Positions are recomputed when the order (or
the seed) changes; the last synced order and sample are kept in the `meta` table under
`queue_sync:NAME`.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    bindparam,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)

from reviewer.records import TIMESTAMP_FORMAT
from reviewer.review.counts import add_count, has_counts, read_counts, recount
from reviewer.review.filters import field_expression, filter_clause, queue_clause
from reviewer.review.queues import QueueDef
from reviewer.review.where import epoch_seconds, records_table
from reviewer.store.schema import Claim, ImportRun, Meta, QueueItem, ReviewEvent

#: Position of items whose order key is missing (no timestamp, no latency): the end of the queue.
LAST = 1e18
_BATCH = 500


@dataclass(slots=True)
class SyncResult:
    """What one sync did to a queue. `removed` counts deleted items and `deactivated` ones
    (kept inactive for their reviews); `total` is the active items after the sync."""

    added: int = 0
    removed: int = 0
    reactivated: int = 0
    deactivated: int = 0
    total: int = 0
    repositioned: bool = False
    error: str | None = None  # the sync of this queue failed (the others went on): why

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.error is None:
            del out["error"]
        return out


def unit_hash(seed: int, record_id: str) -> float:
    """A stable pseudo-random number in [0, 1) for a record under a seed."""
    digest = hashlib.blake2b(f"{seed}:{record_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def largest_remainder(total: int, weights: dict[Any, int]) -> dict[Any, int]:
    """Split `total` in proportion to `weights` (whole numbers summing to `total`)."""
    whole = sum(weights.values())
    if whole == 0 or total <= 0:
        return {k: 0 for k in weights}
    shares = {k: total * w / whole for k, w in weights.items()}
    out = {k: int(s) for k, s in shares.items()}
    left = total - sum(out.values())
    by_remainder = sorted(shares, key=lambda k: (-(shares[k] - out[k]), _key_order(k)))
    for k in by_remainder[:left]:
        out[k] += 1
    return out


def _key_order(key: Any) -> tuple[bool, str]:
    return (key is None, str(key))


def _now_text(now: datetime) -> str:
    return now.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def position_expression(order: str) -> ColumnElement[Any]:
    """The SQL position of a record in a queue of this order (not for `random`)."""
    c = records_table().c
    if order == "newest":
        return func.coalesce(-epoch_seconds(c.timestamp), LAST)
    if order == "oldest":
        return func.coalesce(epoch_seconds(c.timestamp), LAST)
    if order == "slowest":
        return func.coalesce(-c.latency_ms, LAST)
    raise ValueError(f"no SQL position for order {order!r}")


def _seed(queue: QueueDef) -> int:
    return queue.sample.seed if queue.sample else 0


def _state(queue: QueueDef) -> dict[str, Any]:
    """What a sync remembers about a queue, to see an edit of its order or sample."""
    sample = queue.sample
    return {
        "order": queue.order,
        "seed": _seed(queue),
        "stratify": sample.stratify if sample else None,
        "sampled": sample is not None,
    }


def _order_key(state: dict[str, Any]) -> tuple[str, int | None]:
    """What positions depend on: the order, and the seed for the random order."""
    return (state["order"], state["seed"] if state["order"] == "random" else None)


def _state_key(name: str) -> str:
    return f"queue_sync:{name}"


def _read_state(conn: Connection, name: str) -> dict[str, Any] | None:
    meta = Meta.__table__  # type: ignore[attr-defined]
    value = conn.execute(select(meta.c.value).where(meta.c.key == _state_key(name))).scalar()
    return orjson.loads(value) if value else None


def _write_state(conn: Connection, name: str, state: dict[str, Any]) -> None:
    meta = Meta.__table__  # type: ignore[attr-defined]
    conn.execute(delete(meta).where(meta.c.key == _state_key(name)))
    conn.execute(insert(meta).values(key=_state_key(name), value=orjson.dumps(state).decode()))


def _insert_ignoring_duplicates(conn: Connection) -> Any:
    """INSERT into queue_items that skips rows already there (another sync at the same time)."""
    table = QueueItem.__table__  # type: ignore[attr-defined]
    stmt: Any
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(table).on_conflict_do_nothing(index_elements=["queue", "record_id"])
    elif conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table).on_conflict_do_nothing(index_elements=["queue", "record_id"])
    else:
        stmt = insert(table)
    # without this, an INSERT's rowcount is not kept (it reads -1 on PostgreSQL)
    return stmt.execution_options(preserve_rowcount=True)


def _chunks(items: Sequence[Any], size: int = _BATCH) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def sync_queues(
    engine: Engine, queues: Iterable[QueueDef], now: datetime | None = None
) -> dict[str, SyncResult]:
    """Bring the membership of each queue up to date; each queue is committed on its own, and
    a queue whose sync fails gets a result with the `error` while the others are synced.

    A queue whose definition did not change since its last sync only looks at the records
    imported since then (an indexed lookup), and writes nothing when there are none: a sync
    with nothing new is quick and does not hold the database's write lock.
    """
    now = now or datetime.now(UTC)
    results: dict[str, SyncResult] = {}
    with engine.connect() as conn:
        watermark = import_watermark(conn)
    for queue in queues:
        try:
            with engine.begin() as conn:
                results[queue.name] = _sync_one(conn, queue, now, watermark)
        except Exception as exc:  # one queue's failure must not stop the sync of the others
            where = queue.path or f"queue {queue.name}"
            results[queue.name] = SyncResult(
                error=f"{where}: the sync failed ({exc.__class__.__name__}: {_first_line(exc)})"
            )
    return results


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else "no message"


def import_watermark(conn: Connection) -> int:
    """The highest import id below which every import has finished: records of later (or
    unfinished) imports may still be arriving, so they are looked at again next time."""
    imports = ImportRun.__table__  # type: ignore[attr-defined]
    unfinished = conn.execute(
        select(func.min(imports.c.id)).where(imports.c.finished_at.is_(None))
    ).scalar()
    if unfinished is not None:
        return int(unfinished) - 1
    return int(conn.execute(select(func.coalesce(func.max(imports.c.id), 0))).scalar_one())


def _fingerprint(queue: QueueDef) -> str:
    """What membership depends on: the filter, the sample and the order."""
    spec = {
        "filter": queue.filter.model_dump(mode="json"),
        "sample": queue.sample.model_dump(mode="json") if queue.sample else None,
        "order": queue.order,
        "unit": queue.unit,
        **({"runs": queue.runs} if queue.runs is not None else {}),
    }
    return hashlib.blake2b(
        orjson.dumps(spec, option=orjson.OPT_SORT_KEYS), digest_size=12
    ).hexdigest()


def _is_relative(queue: QueueDef, now: datetime) -> bool:
    """Whether the filter moves with time (`since: 7d`): then every sync looks at everything."""
    a = filter_clause(queue.filter, now, queue.unit).compile().params
    b = filter_clause(queue.filter, now - timedelta(days=1, seconds=7), queue.unit).compile().params
    return a != b


def _sync_one(
    conn: Connection, queue: QueueDef, now: datetime, watermark: int | None = None
) -> SyncResult:
    qi = QueueItem.__table__  # type: ignore[attr-defined]
    rt = records_table()
    clause = queue_clause(queue, now)
    before = _read_state(conn, queue.name)
    state = _state(queue)
    fingerprint = _fingerprint(queue)
    # a trace's totals change when a later import adds steps to it: a trace queue is always
    # looked at in full
    unchanged = (
        queue.unit == "call"
        and watermark is not None
        and before is not None
        and before.get("fingerprint") == fingerprint
        and before.get("watermark") is not None
        and not _is_relative(queue, now)
    )
    if unchanged:
        assert before is not None and watermark is not None
        last = int(before["watermark"])
        # records without an import id (written by other means) are always looked at
        fresh = or_(rt.c.import_id > last, rt.c.import_id.is_(None))
        news = conn.execute(select(exists().where(fresh))).scalar_one()
        if not news and has_counts(conn, queue.name):
            result = SyncResult()
            result.total = read_counts(conn, [queue.name])[queue.name]["total"]
            return result
        if queue.sample is None and queue.order != "random":
            # only the records imported since the last sync can be new members
            result = _sync_in_sql(conn, queue, clause & fresh, now, only_new=True)
            add_count(conn, queue.name, "pending", result.added)  # new members are pending
            _write_state(
                conn, queue.name, {**state, "fingerprint": fingerprint, "watermark": watermark}
            )
            result.total = conn.execute(
                select(func.count())
                .select_from(qi)
                .where(qi.c.queue == queue.name, qi.c.active == true())
            ).scalar_one()
            return result
    if watermark is not None:
        state = {**state, "fingerprint": fingerprint, "watermark": watermark}
    # positions of the items already there are stale when the order or the seed changed
    # (or nothing says which order they were made for)
    if before is None:
        stale = conn.execute(select(exists().where(qi.c.queue == queue.name))).scalar_one()
    else:
        stale = _order_key(before) != _order_key(state)
    if queue.sample is None and queue.order != "random":
        result = _sync_in_sql(conn, queue, clause, now)
    else:
        result = _sync_sampled(conn, queue, clause, now, before)
    if stale:
        _reposition(conn, queue)
        result.repositioned = True
    if before != state:
        _write_state(conn, queue.name, state)
    changed = result.added or result.removed or result.reactivated or result.deactivated
    if changed or not has_counts(conn, queue.name):
        recount(conn, queue.name)
    result.total = read_counts(conn, [queue.name])[queue.name]["total"]
    return result


def _reviewed(qi: Any) -> Any:
    ev = ReviewEvent.__table__  # type: ignore[attr-defined]
    return exists(select(literal(1)).select_from(ev).where(ev.c.queue_item_id == qi.c.id))


def _delete_items(conn: Connection, condition: ColumnElement[bool]) -> int:
    """Delete the items meeting `condition` (and their claims); returns how many."""
    qi = QueueItem.__table__  # type: ignore[attr-defined]
    claims = Claim.__table__  # type: ignore[attr-defined]
    conn.execute(delete(claims).where(claims.c.queue_item_id.in_(select(qi.c.id).where(condition))))
    return conn.execute(delete(qi).where(condition)).rowcount or 0


def _sync_in_sql(
    conn: Connection,
    queue: QueueDef,
    clause: ColumnElement[bool],
    now: datetime,
    *,
    only_new: bool = False,
) -> SyncResult:
    """Membership in SQL; with only_new, just add the new records `clause` selects."""
    qi = QueueItem.__table__  # type: ignore[attr-defined]
    rt = records_table()
    result = SyncResult()
    name = queue.name
    if only_new:
        return _add_in_sql(conn, queue, clause, now, result)
    matches = exists(select(literal(1)).select_from(rt).where(rt.c.id == qi.c.record_id, clause))
    result.reactivated = (
        conn.execute(
            update(qi)
            .where(qi.c.queue == name, qi.c.active == false(), matches)
            .values(active=True)
        ).rowcount
        or 0
    )
    stale = (qi.c.queue == name) & ~matches
    deleted = _delete_items(conn, stale & ~_reviewed(qi))
    result.deactivated = (
        conn.execute(
            update(qi).where(stale, qi.c.active == true(), _reviewed(qi)).values(active=False)
        ).rowcount
        or 0
    )
    result.removed = deleted + result.deactivated
    return _add_in_sql(conn, queue, clause, now, result)


def _add_in_sql(
    conn: Connection,
    queue: QueueDef,
    clause: ColumnElement[bool],
    now: datetime,
    result: SyncResult,
) -> SyncResult:
    qi = QueueItem.__table__  # type: ignore[attr-defined]
    rt = records_table()
    name = queue.name
    already = exists(
        select(literal(1)).select_from(qi).where(qi.c.queue == name, qi.c.record_id == rt.c.id)
    )
    rows = select(
        literal(name),
        rt.c.id,
        position_expression(queue.order),
        literal("pending"),
        literal(0),
        true(),
        literal(_now_text(now)),
    ).where(clause, ~already)
    cols = ["queue", "record_id", "position", "status", "reviews_done", "active", "added_at"]
    result.added = (
        conn.execute(_insert_ignoring_duplicates(conn).from_select(cols, rows)).rowcount or 0
    )
    return result


def _lowest(count: int, ranked: list[tuple[float, str]]) -> list[str]:
    """The ids of the `count` lowest (hash, id) pairs."""
    if count * 8 < len(ranked):
        return [rid for _, rid in heapq.nsmallest(count, ranked)]
    ranked.sort()
    return [rid for _, rid in ranked[:count]]


def _sample(
    queue: QueueDef,
    matching: list[tuple[str, Any]],
    members: set[str],
    reviewed: set[str],
) -> set[str]:
    """The record ids the sample keeps, from the matching (id, stratum) pairs."""
    sample = queue.sample
    assert sample is not None
    seed = sample.seed
    if sample.rate is not None and sample.stratify is None:
        return {rid for rid, _ in matching if unit_hash(seed, rid) < sample.rate}
    n = len(matching)
    # the size caps the queue; a stratified rate is rounded to the nearest whole number of items
    rounded = int((sample.rate or 0) * n + 0.5)
    target = min(sample.size, n) if sample.size is not None else rounded
    keep = members | reviewed
    kept: dict[Any, list[str]] = {}
    fresh: dict[Any, list[tuple[float, str]]] = {}
    for rid, stratum in matching:
        key = stratum if sample.stratify else None
        kept.setdefault(key, [])
        if rid in keep:
            kept[key].append(rid)
        else:
            fresh.setdefault(key, []).append((unit_hash(seed, rid), rid))
    quotas = largest_remainder(target, {k: len(v) + len(fresh.get(k, ())) for k, v in kept.items()})
    n_kept = sum(len(v) for v in kept.values())
    if n_kept > target:
        # the sample shrank (a smaller size): keep the reviewed first, then the members by rank
        def rank(rid: str) -> tuple[bool, float, str]:
            return (rid not in reviewed, unit_hash(seed, rid), rid)

        out = set()
        for k, v in kept.items():
            out.update(sorted(v, key=rank)[: quotas[k]])
            if len(v) < quotas[k]:
                out.update(_lowest(quotas[k] - len(v), fresh.get(k, [])))
        return out
    deficits = {k: max(0, quotas[k] - len(v)) for k, v in kept.items()}
    shares = largest_remainder(target - n_kept, deficits)
    chosen = {rid for v in kept.values() for rid in v}
    for k, share in shares.items():
        if share:
            chosen.update(_lowest(share, fresh.get(k, [])))
    return chosen


def _sync_sampled(
    conn: Connection,
    queue: QueueDef,
    clause: ColumnElement[bool],
    now: datetime,
    before: dict[str, Any] | None,
) -> SyncResult:
    qi = QueueItem.__table__  # type: ignore[attr-defined]
    rt = records_table()
    result = SyncResult()
    sample = queue.sample
    cols: list[Any] = [rt.c.id]
    if sample is not None and sample.stratify:
        cols.append(field_expression(sample.stratify))
    rows = conn.execute(select(*cols).where(clause)).all()
    matching: list[tuple[str, Any]] = [(row[0], row[1] if len(row) > 1 else None) for row in rows]
    del rows
    existing: dict[str, tuple[int, bool, bool]] = {
        rid: (item_id, bool(active), bool(reviewed))
        for item_id, rid, active, reviewed in conn.execute(
            select(qi.c.id, qi.c.record_id, qi.c.active, _reviewed(qi)).where(
                qi.c.queue == queue.name
            )
        ).all()
    }
    if sample is None:
        desired = {rid for rid, _ in matching}
    else:
        same_sample = (
            before is not None
            and before.get("sampled")
            and (
                before.get("seed"),
                before.get("stratify"),
            )
            == (sample.seed, sample.stratify)
        )
        members = (
            {rid for rid, (_, active, _r) in existing.items() if active} if same_sample else set()
        )
        reviewed = {rid for rid, (_, _a, rev) in existing.items() if rev}
        desired = _sample(queue, matching, members, reviewed)

    to_add = sorted(rid for rid in desired if rid not in existing)
    to_reactivate = [
        existing[rid][0] for rid in desired if rid in existing and not existing[rid][1]
    ]
    to_delete = [
        item for rid, (item, _a, rev) in existing.items() if rid not in desired and not rev
    ]
    to_deactivate = [
        item
        for rid, (item, active, rev) in existing.items()
        if rid not in desired and rev and active
    ]
    for ids in _chunks(to_reactivate):
        conn.execute(update(qi).where(qi.c.id.in_(ids)).values(active=True))
    for ids in _chunks(to_deactivate):
        conn.execute(update(qi).where(qi.c.id.in_(ids)).values(active=False))
    for ids in _chunks(to_delete):
        _delete_items(conn, qi.c.id.in_(ids))
    result.reactivated = len(to_reactivate)
    result.deactivated = len(to_deactivate)
    result.removed = len(to_delete) + len(to_deactivate)
    result.added = _add(conn, queue, to_add, now)
    return result


def _add(conn: Connection, queue: QueueDef, record_ids: Sequence[str], now: datetime) -> int:
    """Insert items for these records, positioned by the queue's order."""
    if not record_ids:
        return 0
    rt = records_table()
    added_at = _now_text(now)
    stmt = _insert_ignoring_duplicates(conn)
    if queue.order == "random":
        seed = _seed(queue)
        for ids in _chunks(record_ids, 5000):
            conn.execute(
                stmt,
                [
                    {"queue": queue.name, "record_id": rid, "position": unit_hash(seed, rid),
                     "status": "pending", "reviews_done": 0, "active": True, "added_at": added_at}
                    for rid in ids
                ],
            )  # fmt: skip
        return len(record_ids)
    cols = ["queue", "record_id", "position", "status", "reviews_done", "active", "added_at"]
    added = 0
    for ids in _chunks(record_ids):
        rows = select(
            literal(queue.name),
            rt.c.id,
            position_expression(queue.order),
            literal("pending"),
            literal(0),
            true(),
            literal(added_at),
        ).where(rt.c.id.in_(ids))
        added += conn.execute(stmt.from_select(cols, rows)).rowcount or 0
    return added


def _reposition(conn: Connection, queue: QueueDef) -> None:
    """Recompute the position of every item of the queue (its order or seed changed)."""
    qi = QueueItem.__table__  # type: ignore[attr-defined]
    if queue.order != "random":
        rt = records_table()
        pos = select(position_expression(queue.order)).where(rt.c.id == qi.c.record_id)
        conn.execute(
            update(qi).where(qi.c.queue == queue.name).values(position=pos.scalar_subquery())
        )
        return
    seed = _seed(queue)
    items = conn.execute(select(qi.c.id, qi.c.record_id).where(qi.c.queue == queue.name)).all()
    stmt = update(qi).where(qi.c.id == bindparam("item_id")).values(position=bindparam("pos"))
    for chunk in _chunks(items, 5000):
        conn.execute(stmt, [{"item_id": i, "pos": unit_hash(seed, rid)} for i, rid in chunk])


def queue_counts(engine: Engine, queue_names: Iterable[str]) -> dict[str, dict[str, int]]:
    """Per queue, its active items: total, pending, done and skipped (0s for an empty queue)."""
    names = list(queue_names)
    with engine.connect() as conn:
        uncounted = [n for n in names if not has_counts(conn, n)]
    if uncounted:  # a queue never counted yet (its items came before the counts did)
        with engine.begin() as conn:
            for name in uncounted:
                recount(conn, name)
    with engine.connect() as conn:
        return read_counts(conn, names)


def sync_workspace(
    engine: Engine, workspace: Path, now: datetime | None = None
) -> tuple[dict[str, SyncResult], list[str]]:
    """Sync every usable queue file of the workspace; also returns the errors of the bad ones."""
    from reviewer.review.queues import load_queues

    queues, errors = load_queues(workspace)
    return sync_queues(engine, queues, now), errors
