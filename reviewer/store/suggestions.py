"""Suggested reviews: what a judge proposed for a queue item, stored apart from reviews.

A suggestion is never a review: it is counted nowhere until a reviewer accepts it (`y`, an
`accept` review event pointing at it). One is kept per (item, judge text, model), so a rerun
with nothing changed finds it and calls no model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

import orjson
from sqlalchemy import Connection, Table, select
from sqlmodel import SQLModel

from reviewer.store import schema  # noqa: F401  (registers the tables)

SUGGESTIONS: Table = SQLModel.metadata.tables["suggestions"]


@dataclass(slots=True)
class SuggestionView:
    """A stored suggestion, its JSON fields decoded."""

    id: int
    queue_item_id: int
    queue: str
    record_id: str
    judge: str
    judge_hash: str
    judge_version: int | None
    provider: str
    model: str
    verdict: str | None
    scores: dict[str, Any] = field(default_factory=dict)
    themes: list[str] = field(default_factory=list)
    reason: str | None = None
    confidence: float | None = None
    error: str | None = None
    raw: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    created_at: str = ""

    @classmethod
    def from_row(cls, row: Any) -> SuggestionView:
        data = {f.name: row._mapping[f.name] for f in fields(cls)}
        data["scores"] = orjson.loads(row.scores) if row.scores else {}
        data["themes"] = orjson.loads(row.themes) if row.themes else []
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _first(conn: Connection, *where: Any) -> SuggestionView | None:
    """The newest suggestion matching `where`, or None."""
    row = conn.execute(
        select(SUGGESTIONS).where(*where).order_by(SUGGESTIONS.c.id.desc()).limit(1)
    ).first()
    return SuggestionView.from_row(row) if row is not None else None


def load_suggestion(conn: Connection, suggestion_id: int) -> SuggestionView | None:
    return _first(conn, SUGGESTIONS.c.id == suggestion_id)


def latest_suggestion(
    conn: Connection, queue_item_id: int, judge: str | None = None
) -> SuggestionView | None:
    """The item's newest readable suggestion (of `judge` when given), or None."""
    where = [SUGGESTIONS.c.queue_item_id == queue_item_id, SUGGESTIONS.c.error.is_(None)]
    if judge is not None:
        where.append(SUGGESTIONS.c.judge == judge)
    return _first(conn, *where)


def find_suggestion(
    conn: Connection, queue_item_id: int, judge: str, judge_hash: str, model: str
) -> SuggestionView | None:
    """The suggestion this judge text and model made for the item, if any (errors too)."""
    return _first(
        conn,
        SUGGESTIONS.c.queue_item_id == queue_item_id,
        SUGGESTIONS.c.judge == judge,
        SUGGESTIONS.c.judge_hash == judge_hash,
        SUGGESTIONS.c.model == model,
    )


def save_suggestion(conn: Connection, values: dict[str, Any]) -> int:
    """Store a suggestion (replacing a failed one of the same item, judge text and model);
    returns its id. JSON fields may be given as Python values."""
    values = dict(values)
    for name in ("scores", "themes"):
        value = values.get(name)
        if value is not None and not isinstance(value, str):
            values[name] = orjson.dumps(value).decode() if value else None
    old = find_suggestion(
        conn, values["queue_item_id"], values["judge"], values["judge_hash"], values["model"]
    )
    if old is not None:
        conn.execute(SUGGESTIONS.update().where(SUGGESTIONS.c.id == old.id).values(values))
        return old.id
    result = conn.execute(SUGGESTIONS.insert().values(values))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])
