"""Dataset versions: immutable, content-hashed states of a dataset.

`dataset_items` is the current, editable state. Every change through the dataset API (a
promotion, a bulk promotion, an import, an edit, a removal, a restore, an undone promotion)
ends with `snapshot(conn, dataset_id, note)` in the same transaction: when the items differ
from the latest version, a new version is made (same content: no new version).

- An item's content (the canonical item without its id) is stored once per content hash in
  `dataset_item_contents` and shared by every version that holds it.
- A version's hash is blake2b over its ordered (item id, content hash) pairs, items in row id
  order; so the same items have the same version hash in any workspace (an export imported
  into a fresh database gets the hash it had).
- Membership is kept as runs: a `dataset_version_items` row says an item had a content from
  version `since_version` up to, not including, `until_version` (None: still now). A change
  closes the runs of what changed and opens new ones; nothing else is written, so a promotion
  into a large dataset stays cheap, and old versions read back exactly as they were.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Table, and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel

from reviewer.datasets.items import (
    DatasetError,
    content_from_row,
    content_hash,
    content_text,
    item_ref,
    stored_content,
)
from reviewer.store import schema  # noqa: F401  (registers the tables)
from reviewer.store.events import stamp, utc_now

DATASETS: Table = SQLModel.metadata.tables["datasets"]
DATASET_ITEMS: Table = SQLModel.metadata.tables["dataset_items"]
VERSIONS: Table = SQLModel.metadata.tables["dataset_versions"]
VERSION_ITEMS: Table = SQLModel.metadata.tables["dataset_version_items"]
CONTENTS: Table = SQLModel.metadata.tables["dataset_item_contents"]


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """One version of a dataset."""

    dataset: str
    number: int
    hash: str
    item_count: int
    created_at: str
    created_by: str | None
    note: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- writing ------------------------------------------------------------------------------------


def store_content(conn: Connection, content: dict[str, Any]) -> str:
    """Keep `content` under its hash (once); returns the hash."""
    key = content_hash(content)
    values = {"content_hash": key, "content": content_text(content)}
    if conn.dialect.name == "postgresql":
        conn.execute(postgresql.insert(CONTENTS).values(values).on_conflict_do_nothing())
    elif conn.dialect.name == "sqlite":
        conn.execute(sqlite.insert(CONTENTS).values(values).on_conflict_do_nothing())
    elif (
        conn.execute(select(CONTENTS.c.content_hash).where(CONTENTS.c.content_hash == key)).first()
        is None
    ):
        conn.execute(CONTENTS.insert().values(values))
    return key


def refresh_item(conn: Connection, item_id: int, *, now: str | None = None) -> str:
    """Recompute and store the item's content hash after a write to its row (and mark it
    updated when `now` is given); returns the hash."""
    row = conn.execute(select(DATASET_ITEMS).where(DATASET_ITEMS.c.id == item_id)).first()
    if row is None:
        raise DatasetError(f"no dataset item {item_id}")
    key = store_content(conn, content_from_row(row))
    values: dict[str, Any] = {"content_hash": key}
    if now is not None:
        values["updated_at"] = now
    if key != row.content_hash or now is not None:
        conn.execute(update(DATASET_ITEMS).where(DATASET_ITEMS.c.id == item_id).values(values))
    return key


def version_hash(pairs: list[tuple[str, str]]) -> str:
    """blake2b over the ordered (item id, content hash) pairs."""
    h = hashlib.blake2b(digest_size=16)
    for ref, key in pairs:
        h.update(orjson.dumps([ref, key]))
        h.update(b"\n")
    return h.hexdigest()


def lock_dataset(conn: Connection, dataset_id: int) -> Any:
    """The dataset row, locked until the transaction ends (PostgreSQL: two writers of one
    dataset make their versions one after the other; SQLite holds the write lock already).

    `FOR NO KEY UPDATE`: it does not wait for the key-share locks that inserting items (their
    foreign key) takes, so two writers that both added items do not deadlock here."""
    row = conn.execute(
        select(DATASETS).where(DATASETS.c.id == dataset_id).with_for_update(key_share=True)
    ).first()
    if row is None:
        raise DatasetError(f"no dataset {dataset_id}")
    return row


def snapshot(
    conn: Connection,
    dataset_id: int,
    note: str,
    *,
    by: str | None = None,
    now: str | None = None,
) -> VersionInfo | None:
    """Make a new version of the dataset when its current items differ from the latest version;
    returns it, or None when nothing changed. Runs in the caller's write transaction."""
    dataset = lock_dataset(conn, dataset_id)
    # items written without their hash (by an older reviewer) get it now
    for (item_id,) in conn.execute(
        select(DATASET_ITEMS.c.id).where(
            DATASET_ITEMS.c.dataset_id == dataset_id, DATASET_ITEMS.c.content_hash.is_(None)
        )
    ).all():
        refresh_item(conn, int(item_id))
    rows = conn.execute(
        select(DATASET_ITEMS.c.id, DATASET_ITEMS.c.ref, DATASET_ITEMS.c.content_hash)
        .where(DATASET_ITEMS.c.dataset_id == dataset_id, DATASET_ITEMS.c.removed.is_(False))
        .order_by(DATASET_ITEMS.c.id)
    ).all()
    current = [(int(r.id), item_ref(r, dataset.name), str(r.content_hash)) for r in rows]
    new_hash = version_hash([(ref, key) for _id, ref, key in current])
    latest = conn.execute(
        select(VERSIONS)
        .where(VERSIONS.c.dataset_id == dataset_id)
        .order_by(VERSIONS.c.number.desc())
        .limit(1)
    ).first()
    if latest is None and not current:
        return None  # a dataset that never held an item has no version
    if latest is not None and latest.hash == new_hash:
        return None
    number = (int(latest.number) if latest is not None else 0) + 1
    now = now or stamp(utc_now())

    open_runs = {
        int(r.item_id): r
        for r in conn.execute(
            select(VERSION_ITEMS.c.id, VERSION_ITEMS.c.item_id, VERSION_ITEMS.c.item_ref,
                   VERSION_ITEMS.c.content_hash)
            .where(VERSION_ITEMS.c.dataset_id == dataset_id, VERSION_ITEMS.c.until_version.is_(None))
        ).all()
    }  # fmt: skip
    wanted = {item_id: (ref, key) for item_id, ref, key in current}
    closing = {
        int(run.id)
        for item_id, run in open_runs.items()
        if wanted.get(item_id) != (run.item_ref, run.content_hash)
    }
    opening = [
        {
            "dataset_id": dataset_id,
            "item_id": item_id,
            "item_ref": ref,
            "content_hash": key,
            "since_version": number,
        }
        for item_id, (ref, key) in wanted.items()
        if item_id not in open_runs or open_runs[item_id].id in closing
    ]
    closed = sorted(closing)
    for start in range(0, len(closed), 500):
        conn.execute(
            update(VERSION_ITEMS)
            .where(VERSION_ITEMS.c.id.in_(closed[start : start + 500]))
            .values(until_version=number)
        )
    if opening:
        conn.execute(VERSION_ITEMS.insert(), opening)
    conn.execute(
        VERSIONS.insert().values(
            dataset_id=dataset_id,
            number=number,
            hash=new_hash,
            item_count=len(current),
            created_at=now,
            created_by=by,
            note=note,
        )
    )
    return VersionInfo(dataset.name, number, new_hash, len(current), now, by, note)


# -- reading ------------------------------------------------------------------------------------


def dataset_id_of(conn: Connection, name: str) -> int:
    """The id of the dataset named `name`; DatasetError naming the datasets there are."""
    found = conn.execute(select(DATASETS.c.id).where(DATASETS.c.name == name)).scalar()
    if found is None:
        names = list(conn.execute(select(DATASETS.c.name).order_by(DATASETS.c.name)).scalars())
        raise DatasetError(f"no dataset named {name!r} (datasets: {', '.join(names) or 'none'})")
    return int(found)


def _version_row(conn: Connection, name: str, version: int | None) -> Any:
    dataset_id = dataset_id_of(conn, name)
    query = select(VERSIONS).where(VERSIONS.c.dataset_id == dataset_id)
    if version is None:
        row = conn.execute(query.order_by(VERSIONS.c.number.desc()).limit(1)).first()
        if row is None:
            raise DatasetError(f"dataset {name!r} has no version yet (it has no items)")
        return row
    row = conn.execute(query.where(VERSIONS.c.number == version)).first()
    if row is None:
        last = conn.execute(
            select(func.max(VERSIONS.c.number)).where(VERSIONS.c.dataset_id == dataset_id)
        ).scalar()
        raise DatasetError(
            f"dataset {name!r} has no version {version} "
            + (f"(versions 1 to {last})" if last else "(no version yet)")
        )
    return row


def _info(name: str, row: Any) -> VersionInfo:
    return VersionInfo(
        name, int(row.number), row.hash, int(row.item_count), row.created_at, row.created_by,
        row.note,
    )  # fmt: skip


def version_info(engine: Engine, name: str, version: int | None = None) -> VersionInfo:
    """Number, hash, item count, time, author and note of a version (the latest when None)."""
    with engine.connect() as conn:
        return _info(name, _version_row(conn, name, version))


def list_versions(engine: Engine, name: str) -> list[VersionInfo]:
    """Every version of the dataset, oldest first."""
    with engine.connect() as conn:
        dataset_id = dataset_id_of(conn, name)
        rows = conn.execute(
            select(VERSIONS).where(VERSIONS.c.dataset_id == dataset_id).order_by(VERSIONS.c.number)
        ).all()
    return [_info(name, r) for r in rows]


def iter_version_items(
    engine: Engine, name: str, version: int | None = None, *, batch: int = 500
) -> Iterator[dict[str, Any]]:
    """The canonical items of a version (the latest when None), in order, in constant memory:
    pages by item id (keyset) with a short read each, so no cursor stays open between pages."""
    with engine.connect() as conn:
        row = _version_row(conn, name, version)
    dataset_id, number = int(row.dataset_id), int(row.number)
    in_version = and_(
        VERSION_ITEMS.c.dataset_id == dataset_id,
        VERSION_ITEMS.c.since_version <= number,
        or_(VERSION_ITEMS.c.until_version.is_(None), VERSION_ITEMS.c.until_version > number),
    )
    last = -1
    while True:
        with engine.connect() as conn:
            page = conn.execute(
                select(VERSION_ITEMS.c.item_id, VERSION_ITEMS.c.item_ref, CONTENTS.c.content)
                .join(CONTENTS, CONTENTS.c.content_hash == VERSION_ITEMS.c.content_hash)
                .where(in_version, VERSION_ITEMS.c.item_id > last)
                .order_by(VERSION_ITEMS.c.item_id)
                .limit(batch)
            ).all()
        for item_id, ref, content in page:
            data = orjson.loads(content)
            yield {"id": ref, **stored_content(data)}
            last = int(item_id)
        if len(page) < batch:
            return


def settle_ref(conn: Connection, dataset_id: int, dataset_name: str, item_id: int) -> None:
    """Keep canonical ids unique in a dataset: a new row whose id `<dataset>/<row id>` is
    already the id an imported item carries gets `<dataset>/<row id>-2` (or -3, ...)."""
    base = f"{dataset_name}/{item_id}"
    taken = set(
        conn.execute(
            select(DATASET_ITEMS.c.ref).where(
                DATASET_ITEMS.c.dataset_id == dataset_id,
                or_(DATASET_ITEMS.c.ref == base, DATASET_ITEMS.c.ref.like(f"{base}-%")),
            )
        ).scalars()
    )
    if base not in taken:
        return
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    conn.execute(
        update(DATASET_ITEMS).where(DATASET_ITEMS.c.id == item_id).values(ref=f"{base}-{n}")
    )
