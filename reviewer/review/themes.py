"""Failure themes: named patterns reviewers tag items with, shared by the whole workspace.

Names are normalised (trimmed, lowercase, runs of spaces to one dash) so `Invented policy`
and `invented-policy` are one theme. Counts are over current reviews (the latest event of each
item and reviewer), so an undone theme stops counting.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import orjson
from sqlalchemy import Connection, Engine, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel

from reviewer.store.events import (
    EVENTS,
    ReviewError,
    is_latest,
    stamp,
    utc_now,
    write_transaction,
)

THEMES: Table = SQLModel.metadata.tables["themes"]

_SPACES = re.compile(r"\s+")


class ThemeError(ReviewError, ValueError):
    """A theme name that cannot be used."""


@dataclass(frozen=True, slots=True)
class ThemeInfo:
    name: str
    description: str | None
    created_by: str | None
    created_at: str
    count: int = 0  # current reviews carrying it (filled by `list_themes(..., counts=True)`)


def normalize_theme(name: str) -> str:
    """`  Invented Policy ` -> `invented-policy`."""
    norm = _SPACES.sub("-", name.strip().lower())
    if not norm:
        raise ThemeError("a theme needs a name")
    if len(norm) > 80:
        raise ThemeError(f"a theme name has at most 80 characters: {norm[:40]}...")
    return norm


def ensure_themes(
    conn: Connection, names: list[str], *, created_by: str | None = None, now: str | None = None
) -> None:
    """Create the themes among `names` (already normalised) that do not exist, in `conn`'s
    transaction; two reviewers creating the same theme at once get one theme."""
    if not names:
        return
    rows = [
        {"name": n, "created_by": created_by, "created_at": now or stamp(utc_now())} for n in names
    ]
    if conn.dialect.name == "postgresql":
        conn.execute(
            postgresql.insert(THEMES).values(rows).on_conflict_do_nothing(index_elements=["name"])
        )
    elif conn.dialect.name == "sqlite":
        conn.execute(
            sqlite.insert(THEMES).values(rows).on_conflict_do_nothing(index_elements=["name"])
        )
    else:  # another database: look first (the write transaction keeps this safe enough)
        existing = set(
            conn.execute(select(THEMES.c.name).where(THEMES.c.name.in_(names))).scalars()
        )
        new = [r for r in rows if r["name"] not in existing]
        if new:
            conn.execute(THEMES.insert(), new)


def create_theme(
    engine: Engine, name: str, *, description: str | None = None, created_by: str | None = None
) -> ThemeInfo:
    """Create a theme (or return the existing one of that name)."""
    norm = normalize_theme(name)
    with write_transaction(engine) as conn:
        ensure_themes(conn, [norm], created_by=created_by)
        if description:
            conn.execute(
                THEMES.update()
                .where(THEMES.c.name == norm, THEMES.c.description.is_(None))
                .values(description=description)
            )
        row = conn.execute(select(THEMES).where(THEMES.c.name == norm)).one()
    return ThemeInfo(row.name, row.description, row.created_by, row.created_at)


def theme_counts(engine: Engine, queue: str | None = None) -> Counter[str]:
    """How many current reviews carry each theme (in one queue, or everywhere)."""
    e = EVENTS.alias("e")
    query = select(e.c.themes).where(is_latest(e), e.c.themes.is_not(None))
    if queue is not None:
        query = query.where(e.c.queue == queue)
    counts: Counter[str] = Counter()
    with engine.connect() as conn:
        for (themes,) in conn.execute(query):
            counts.update(set(orjson.loads(themes)))
    return counts


def list_themes(
    engine: Engine, *, counts: bool = True, queue: str | None = None
) -> list[ThemeInfo]:
    """Every theme of the workspace, most used first (then by name)."""
    with engine.connect() as conn:
        rows = conn.execute(select(THEMES).order_by(THEMES.c.name)).all()
    used = theme_counts(engine, queue) if counts else Counter()
    themes = [
        ThemeInfo(r.name, r.description, r.created_by, r.created_at, used.get(r.name, 0))
        for r in rows
    ]
    return sorted(themes, key=lambda t: (-t.count, t.name))
