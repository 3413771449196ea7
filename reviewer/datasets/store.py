"""The dataset API: what the datasets screen, the exporters and the CLI call.

Datasets hold test cases in the canonical item shape (`reviewer.datasets.items`). They get
their items from reviews (`bulk_promote` here, the review screen's `d` key in `promote.py`) and
from files (`import_items`), and change by edits (`update_item`, `remove_item`,
`restore_item`). Every change is committed before returning and ends with a new immutable
version when the content changed (`reviewer.datasets.versions`).
"""

from __future__ import annotations

import enum
import gzip
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, func, select, update

from reviewer.datasets.items import (
    SPLITS,
    DatasetError,
    ItemError,
    assign_split,
    content_hash,
    item_from_row,
    item_ref,
    normalize_assertions,
    parse_item,
    row_values,
)
from reviewer.datasets.promote import (
    case_of,
    ensure_dataset,
    generated_origin,
    review_source,
    source_key,
)
from reviewer.datasets.versions import (
    DATASET_ITEMS,
    DATASETS,
    VERSIONS,
    VersionInfo,
    dataset_id_of,
    iter_version_items,
    list_versions,
    refresh_item,
    settle_ref,
    snapshot,
    version_info,
)
from reviewer.review.queues import QueueDef
from reviewer.store.events import (
    EVENTS,
    QUEUE_ITEMS,
    RECORDS,
    ReviewState,
    is_latest,
    load_record,
    stamp,
    utc_now,
    write_transaction,
)

__all__ = [
    "DatasetError",
    "DatasetSummary",
    "ImportSummary",
    "PromoteSummary",
    "UNSET",
    "bulk_promote",
    "dataset_items",
    "get_item",
    "import_items",
    "iter_version_items",
    "list_datasets",
    "list_versions",
    "remove_item",
    "restore_item",
    "show_dataset",
    "theme_coverage",
    "update_item",
    "version_info",
]


class _Unset(enum.Enum):
    UNSET = 0


#: "Leave this field as it is" for `update_item`.
UNSET = _Unset.UNSET


@dataclass(frozen=True, slots=True)
class DatasetSummary:
    """One dataset, for lists."""

    name: str
    description: str | None
    created_at: str
    items: int  # current, not removed
    versions: int
    latest_version: int | None
    latest_hash: str | None
    themes: list[str]  # themes its current items carry

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class PromoteSummary:
    """What a bulk promotion did: new items, changed items, reviews already in (unchanged, or
    removed from the dataset by someone: a removal is respected)."""

    dataset: str
    created: int = 0
    updated: int = 0
    skipped: int = 0
    version: VersionInfo | None = None  # the new version; None when nothing changed

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["version"] = self.version.to_dict() if self.version else None
        return out


@dataclass(slots=True)
class ImportSummary:
    """What an import did. `items = created + updated + unchanged + len(rejected)` (blank lines
    are not items)."""

    dataset: str
    path: str
    items: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    version: VersionInfo | None = None

    @property
    def ok(self) -> bool:
        return not self.rejected

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "path": self.path,
            "items": self.items,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": [{"line": line, "reason": reason} for line, reason in self.rejected],
            "version": self.version.to_dict() if self.version else None,
        }


def _now() -> str:
    return stamp(utc_now())


# -- reading ------------------------------------------------------------------------------------


def list_datasets(engine: Engine) -> list[DatasetSummary]:
    """Every dataset with its size, versions and the themes its items cover, by name."""
    with engine.connect() as conn:
        datasets = conn.execute(select(DATASETS).order_by(DATASETS.c.name)).all()
        versions = {
            int(r.dataset_id): (int(r.n), int(r.last))
            for r in conn.execute(
                select(
                    VERSIONS.c.dataset_id,
                    func.count().label("n"),
                    func.max(VERSIONS.c.number).label("last"),
                ).group_by(VERSIONS.c.dataset_id)
            )
        }
        hashes = {
            (int(r.dataset_id), int(r.number)): r.hash
            for r in conn.execute(select(VERSIONS.c.dataset_id, VERSIONS.c.number, VERSIONS.c.hash))
            if versions.get(int(r.dataset_id), (0, -1))[1] == int(r.number)
        }
        sizes: Counter[int] = Counter()
        themes: dict[int, set[str]] = {}
        for dataset_id, item_themes in conn.execute(
            select(DATASET_ITEMS.c.dataset_id, DATASET_ITEMS.c.themes).where(
                DATASET_ITEMS.c.removed.is_(False)
            )
        ):
            sizes[int(dataset_id)] += 1
            if item_themes:
                themes.setdefault(int(dataset_id), set()).update(orjson.loads(item_themes))
    out = []
    for d in datasets:
        n, last = versions.get(int(d.id), (0, None))
        out.append(
            DatasetSummary(
                name=d.name,
                description=d.description,
                created_at=d.created_at,
                items=sizes[int(d.id)],
                versions=n,
                latest_version=last,
                latest_hash=hashes.get((int(d.id), last)) if last is not None else None,
                themes=sorted(themes.get(int(d.id), set())),
            )
        )
    return out


def show_dataset(engine: Engine, name: str, version: int | None = None) -> dict[str, Any]:
    """A dataset at a version (the latest when None): the version, its items' splits, themes
    and how many have an expected answer, assertions, an output; and every version."""
    with engine.connect() as conn:
        dataset_id = dataset_id_of(conn, name)
        row = conn.execute(select(DATASETS).where(DATASETS.c.id == dataset_id)).one()
    versions = list_versions(engine, name)
    info: VersionInfo | None = None
    if version is not None or versions:
        info = version_info(engine, name, version)
    splits: Counter[str] = Counter({s: 0 for s in SPLITS})
    themes: Counter[str] = Counter()
    with_expected = with_assertions = with_output = items = 0
    if info is not None:
        for item in iter_version_items(engine, name, info.number):
            items += 1
            splits[item["split"]] += 1
            themes.update(item["themes"] or [])
            with_expected += item["expected"] is not None
            with_assertions += bool(item["assertions"])
            with_output += item["output"] is not None
    return {
        "name": row.name,
        "description": row.description,
        "created_at": row.created_at,
        "version": info.to_dict() if info else None,
        "items": items,
        "splits": dict(splits),
        "themes": dict(sorted(themes.items(), key=lambda kv: (-kv[1], kv[0]))),
        "with_expected": with_expected,
        "with_assertions": with_assertions,
        "with_output": with_output,
        "versions": [v.to_dict() for v in versions],
    }


def _item_dict(row: Any, dataset_name: str) -> dict[str, Any]:
    return {**item_from_row(row, dataset_name), "row_id": int(row.id), "removed": bool(row.removed)}


def dataset_items(
    engine: Engine, name: str, *, include_removed: bool = False
) -> list[dict[str, Any]]:
    """The dataset's current items in the canonical shape, plus `row_id` (for `update_item`...)
    and `removed`, in order; removed ones only with `include_removed`."""
    with engine.connect() as conn:
        dataset_id = dataset_id_of(conn, name)
        query = select(DATASET_ITEMS).where(DATASET_ITEMS.c.dataset_id == dataset_id)
        if not include_removed:
            query = query.where(DATASET_ITEMS.c.removed.is_(False))
        return [_item_dict(r, name) for r in conn.execute(query.order_by(DATASET_ITEMS.c.id))]


def _item_row(conn: Connection, item_id: int) -> tuple[Any, str]:
    row = conn.execute(
        select(DATASET_ITEMS, DATASETS.c.name.label("dataset_name"))
        .join(DATASETS, DATASETS.c.id == DATASET_ITEMS.c.dataset_id)
        .where(DATASET_ITEMS.c.id == item_id)
    ).first()
    if row is None:
        raise DatasetError(f"no dataset item {item_id}")
    return row, row.dataset_name


def get_item(engine: Engine, item_id: int) -> dict[str, Any]:
    """One item (by row id) in the canonical shape, plus `row_id`, `removed` and `dataset`."""
    with engine.connect() as conn:
        row, name = _item_row(conn, item_id)
    return {**_item_dict(row, name), "dataset": name}


def theme_coverage(
    engine: Engine, name: str | None = None, queue_themes: Iterable[str] = ()
) -> list[tuple[str, int]]:
    """(theme, items carrying it) for the dataset (every dataset when None), including the
    themes no item carries yet: every workspace theme and `queue_themes`. Most items first."""
    from reviewer.review.themes import THEMES, normalize_theme

    counts: Counter[str] = Counter()
    with engine.connect() as conn:
        query = select(DATASET_ITEMS.c.themes).where(
            DATASET_ITEMS.c.removed.is_(False), DATASET_ITEMS.c.themes.is_not(None)
        )
        if name is not None:
            query = query.where(DATASET_ITEMS.c.dataset_id == dataset_id_of(conn, name))
        for (themes,) in conn.execute(query):
            counts.update(set(orjson.loads(themes)))
        for theme in conn.execute(select(THEMES.c.name)).scalars():
            counts.setdefault(theme, 0)
    for theme in queue_themes:
        counts.setdefault(normalize_theme(theme), 0)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


# -- editing ------------------------------------------------------------------------------------


def update_item(
    engine: Engine,
    item_id: int,
    *,
    expected: str | None | _Unset = UNSET,
    assertions: list[dict[str, Any]] | None | _Unset = UNSET,
    split: str | _Unset = UNSET,
    by: str | None = None,
) -> dict[str, Any]:
    """Change an item's expected answer (empty or None clears it), assertions (checked and
    normalised, see `items.normalize_assertion`) or split; a new version when it changed.
    Returns the item as `get_item` does."""
    values: dict[str, Any] = {}
    if expected is not UNSET:
        if expected is not None and not isinstance(expected, str):
            raise DatasetError("the expected answer is a text")
        values["expected"] = expected if expected and expected.strip() else None
    if assertions is not UNSET:
        try:
            checked = normalize_assertions(assertions)
        except ItemError as exc:
            raise DatasetError(str(exc)) from None
        values["assertions"] = orjson.dumps(checked).decode() if checked else None
    if split is not UNSET:
        if split not in SPLITS:
            raise DatasetError(f"the split is train or test, not {split!r}")
        values["split"] = split
    return _change(engine, item_id, values, "edited", by)


def remove_item(engine: Engine, item_id: int, by: str | None = None) -> dict[str, Any]:
    """Take an item out of the dataset (kept, marked removed; `restore_item` brings it back)."""
    return _change(engine, item_id, {"removed": True}, "removed", by)


def restore_item(engine: Engine, item_id: int, by: str | None = None) -> dict[str, Any]:
    """Bring a removed item back."""
    return _change(engine, item_id, {"removed": False}, "restored", by)


def _change(
    engine: Engine, item_id: int, values: dict[str, Any], verb: str, by: str | None
) -> dict[str, Any]:
    with write_transaction(engine) as conn:
        now = _now()
        row, name = _item_row(conn, item_id)
        if values:
            conn.execute(update(DATASET_ITEMS).where(DATASET_ITEMS.c.id == item_id).values(values))
            refresh_item(conn, item_id, now=now)
            snapshot(
                conn, int(row.dataset_id), f"{verb} item {item_ref(row, name)}", by=by, now=now
            )
        row, name = _item_row(conn, item_id)
    return {**_item_dict(row, name), "dataset": name}


# -- promotion ----------------------------------------------------------------------------------


def bulk_promote(
    engine: Engine,
    dataset: str,
    queue: QueueDef,
    *,
    verdict: str | None = None,
    themes: Iterable[str] = (),
    reviewer: str | None = None,
    test_share: float = 0.2,
    by: str | None = None,
) -> PromoteSummary:
    """Promote the queue's current complete reviews into `dataset` (created when missing):
    those with `verdict`, carrying any of `themes`, by `reviewer`, when given.

    A review already promoted (here or with the `d` key) updates its item instead of adding
    one, and is skipped when nothing changed or when the item was removed from the dataset.
    New items get a split drawn from their source key (`test_share` of them test). No review
    events are written: this is not a reviewer's action in the queue.
    """
    from reviewer.review.session import VERDICTS
    from reviewer.review.themes import normalize_theme

    name = dataset.strip()
    if not name:
        raise DatasetError("a dataset needs a name")
    if queue.unit == "pair":
        raise DatasetError(
            f"queue {queue.name} is a pairwise queue: its reviews choose between two answers,"
            " there is no case to promote"
        )
    if verdict is not None and verdict not in VERDICTS:
        raise DatasetError(f"the verdict is pass or fail, not {verdict!r}")
    assign_split("", test_share)  # checks the share before any work
    wanted = {normalize_theme(t) for t in themes}
    summary = PromoteSummary(name)
    e = EVENTS.alias("e")
    query = (
        select(e)
        .join(QUEUE_ITEMS, QUEUE_ITEMS.c.id == e.c.queue_item_id)
        .where(e.c.queue == queue.name, e.c.complete.is_(True), is_latest(e))
        .order_by(QUEUE_ITEMS.c.position, QUEUE_ITEMS.c.id, e.c.reviewer)
    )
    if verdict is not None:
        query = query.where(e.c.verdict == verdict)
    if reviewer is not None:
        query = query.where(e.c.reviewer == reviewer)
    with write_transaction(engine) as conn:
        now = _now()
        dataset_id: int | None = None
        for event in conn.execute(query).all():
            state = ReviewState.from_event(event)
            if wanted and not wanted & set(state.themes):
                continue
            if dataset_id is None:
                dataset_id = ensure_dataset(conn, name, now=now)
            key = source_key(int(event.queue_item_id), event.reviewer)
            record = load_record(conn, event.record_id)
            if generated_origin(record) is not None and state.verdict != "pass":
                continue  # a dropped generated case never enters a dataset
            content, trace = case_of(conn, record, state, queue.unit)
            content["record_id"] = event.record_id
            content["source"] = review_source(
                conn, int(event.queue_item_id), record, event.reviewer, int(event.id), trace
            )
            existing = conn.execute(
                select(
                    DATASET_ITEMS.c.id, DATASET_ITEMS.c.removed, DATASET_ITEMS.c.content_hash
                ).where(DATASET_ITEMS.c.dataset_id == dataset_id, DATASET_ITEMS.c.source_key == key)
            ).first()
            if existing is None:
                result = conn.execute(
                    DATASET_ITEMS.insert().values(
                        dataset_id=dataset_id,
                        source_key=key,
                        split=assign_split(key, test_share),
                        created_by=by or event.reviewer,
                        created_at=now,
                        updated_at=now,
                        **content,
                    )
                )
                pk = result.inserted_primary_key
                assert pk is not None
                settle_ref(conn, dataset_id, name, int(pk[0]))
                refresh_item(conn, int(pk[0]))
                summary.created += 1
            elif existing.removed:
                summary.skipped += 1
            else:
                conn.execute(
                    update(DATASET_ITEMS).where(DATASET_ITEMS.c.id == existing.id).values(content)
                )
                if refresh_item(conn, int(existing.id)) == existing.content_hash:
                    summary.skipped += 1  # its source review stays the one it was promoted from
                else:
                    conn.execute(
                        update(DATASET_ITEMS)
                        .where(DATASET_ITEMS.c.id == existing.id)
                        .values(updated_at=now)
                    )
                    summary.updated += 1
        changed = summary.created + summary.updated
        if dataset_id is not None and changed:
            note = f"promoted {changed} review{'s' if changed != 1 else ''} from queue {queue.name}"
            summary.version = snapshot(conn, dataset_id, note, by=by, now=now)
    return summary


# -- import -------------------------------------------------------------------------------------


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of a JSON lines file, gzipped or not."""
    with path.open("rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    opener = gzip.open if gzipped else open
    with opener(path, "rb") as fh:
        for number, line in enumerate(fh, start=1):
            if number == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            yield number, line


def _jsonl_cases(file: Path) -> Iterator[tuple[int, Any, str | None]]:
    """(line, decoded JSON, None) per line of a JSON lines file, or (line, None, reason)."""
    for number, line in _lines(file):
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            reason = f"not UTF-8 text: byte 0x{line[exc.start]:02x} at column {exc.start + 1}"
            yield number, None, reason
            continue
        try:
            yield number, orjson.loads(text), None
        except orjson.JSONDecodeError as exc:
            yield number, None, f"not valid JSON: {exc}"


def import_items(
    engine: Engine,
    name: str,
    path: str | Path,
    *,
    by: str | None = None,
    test_share: float = 0.2,
    fmt: str = "jsonl",
) -> ImportSummary:
    """Read a JSON lines file of canonical items into dataset `name` (created when missing);
    with `fmt` another tool's test cases (`reviewer.datasets.from_logs`: openai-evals samples,
    promptfoo-results), each made a canonical item first.

    An item whose id the dataset has (an imported id, or `<name>/<row id>` of its own items) is
    updated (and restored when it was removed); an item without an id is matched by its content,
    so importing a file twice adds nothing. A missing split is drawn from the item's key.
    Lines that are not valid items are rejected with their line and reason; the others are
    imported, all in one transaction, ending with one new version.
    """
    from reviewer.datasets.from_logs import CASE_FORMATS, case_items

    if fmt not in CASE_FORMATS:
        raise DatasetError(f"unknown format {fmt!r}; known: {', '.join(CASE_FORMATS)}")
    file = Path(path)
    if not file.is_file():
        raise DatasetError(f"{path}: no such file")
    label = name.strip()
    if not label:
        raise DatasetError("a dataset needs a name")
    assign_split("", test_share)
    summary = ImportSummary(label, str(path))
    own_id = re.compile(rf"^{re.escape(label)}/(\d+)$")
    seen: dict[str, int] = {}
    with write_transaction(engine) as conn:
        now = _now()
        dataset_id: int | None = None
        try:
            cases = _jsonl_cases(file) if fmt == "jsonl" else case_items(file, fmt)
            for number, raw, problem in cases:
                summary.items += 1
                if problem is not None:
                    summary.rejected.append((number, problem))
                    continue
                try:
                    parsed = parse_item(raw)
                except ItemError as exc:
                    summary.rejected.append((number, str(exc)))
                    continue
                if parsed.id is not None:
                    if parsed.id in seen:
                        summary.rejected.append(
                            (
                                number,
                                f"id {parsed.id!r} is also on line {seen[parsed.id]}: ids must be different",
                            )
                        )
                        continue
                    seen[parsed.id] = number
                if dataset_id is None:
                    dataset_id = ensure_dataset(conn, label, now=now)
                outcome = _import_one(conn, dataset_id, label, parsed, own_id, test_share, by, now)
                setattr(summary, outcome, getattr(summary, outcome) + 1)
        except (OSError, EOFError) as exc:  # a truncated gzip, a read error
            summary.rejected.append((summary.items + 1, f"cannot read further: {exc}"))
            summary.items += 1
        if dataset_id is not None and (summary.created or summary.updated):
            good = summary.created + summary.updated + summary.unchanged
            note = (
                f"imported {good} item{'s' if good != 1 else ''} from {file.name} "
                f"({summary.created} new, {summary.updated} updated)"
            )
            summary.version = snapshot(conn, dataset_id, note, by=by, now=now)
    return summary


def _import_one(
    conn: Connection,
    dataset_id: int,
    dataset_name: str,
    parsed: Any,
    own_id: re.Pattern[str],
    test_share: float,
    by: str | None,
    now: str,
) -> str:
    """Write one checked item; returns `created`, `updated` or `unchanged`."""
    content = dict(parsed.content)
    row = None
    if parsed.id is not None:
        key = f"id:{parsed.id}"
        row = conn.execute(
            select(DATASET_ITEMS).where(
                DATASET_ITEMS.c.dataset_id == dataset_id, DATASET_ITEMS.c.ref == parsed.id
            )
        ).first()
        mine = own_id.match(parsed.id)
        if row is None and mine:
            row = conn.execute(
                select(DATASET_ITEMS).where(
                    DATASET_ITEMS.c.dataset_id == dataset_id,
                    DATASET_ITEMS.c.id == int(mine.group(1)),
                    DATASET_ITEMS.c.ref.is_(None),
                )
            ).first()
    else:
        key = f"hash:{content_hash(content)}"
        row = conn.execute(
            select(DATASET_ITEMS).where(
                DATASET_ITEMS.c.dataset_id == dataset_id, DATASET_ITEMS.c.source_key == key
            )
        ).first()
    source = content["source"]
    if row is None:
        if content["split"] is None:
            content["split"] = assign_split(key, test_share)
        record_id = source.get("record_id") if source else None
        if (
            record_id is not None
            and conn.execute(select(RECORDS.c.id).where(RECORDS.c.id == record_id)).first() is None
        ):
            record_id = None  # a record of another workspace: kept in `source` only
        result = conn.execute(
            DATASET_ITEMS.insert().values(
                dataset_id=dataset_id,
                source_key=key,
                ref=parsed.id,
                record_id=record_id,
                source=orjson.dumps(source).decode() if source is not None else None,
                created_by=by,
                created_at=now,
                updated_at=now,
                **row_values(content),
            )
        )
        pk = result.inserted_primary_key
        assert pk is not None
        if parsed.id is None:
            settle_ref(conn, dataset_id, dataset_name, int(pk[0]))
        refresh_item(conn, int(pk[0]))
        return "created"
    if content["split"] is None:
        content["split"] = row.split
    values = row_values(content)
    values["source"] = orjson.dumps(source).decode()  # as the file says ("null" for none)
    values["removed"] = False
    conn.execute(update(DATASET_ITEMS).where(DATASET_ITEMS.c.id == row.id).values(values))
    if refresh_item(conn, int(row.id)) == row.content_hash and not row.removed:
        return "unchanged"
    conn.execute(update(DATASET_ITEMS).where(DATASET_ITEMS.c.id == row.id).values(updated_at=now))
    return "updated"
