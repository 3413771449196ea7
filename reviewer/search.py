"""Full-text search over all records (the `/` key and `reviewer search`).

SQLite: a contentless FTS5 index of the message and output text, kept up to date
incrementally (records are only ever added, so the index remembers the last rowid it holds).
PostgreSQL: a case-insensitive substring match, helped by a trigram index when the server
has the pg_trgm extension.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Engine, text

from reviewer.records import PAIR_FORMAT

#: The fields a query may be scoped to (`output:refund`), each a column of the index.
FIELDS = ("system", "user", "other", "output")
_FTS_LAYOUT = "3"  # the index's columns and rows; an index of another layout is built again
_FTS_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS records_fts USING fts5("
    + ", ".join(FIELDS)
    + ", content='', tokenize='unicode61 remove_diacritics 2')"
)


def _messages_sql(role_test: str) -> str:
    return (
        "COALESCE((SELECT group_concat(value ->> 'content', ' ') FROM json_each(r.messages)"
        f" WHERE {role_test}), '')"
    )


_COLUMNS_SQL = ", ".join(
    [
        _messages_sql("value ->> 'role' = 'system'"),
        _messages_sql("value ->> 'role' = 'user'"),
        _messages_sql("COALESCE(value ->> 'role', '') NOT IN ('system', 'user')"),
        "COALESCE(r.output ->> 'content', '')",
    ]
)
_BATCH = 50_000
#: A blinded pair (two runs' answers, `reviewer judges pairwise`) is no logged call and its id
#: names the runs: search never lists it.
_NOT_PAIR = f"COALESCE(r.source_format, '') <> '{PAIR_FORMAT}'"


@dataclass(frozen=True, slots=True)
class SearchHit:
    record_id: str
    timestamp: str | None
    model: str | None
    snippet: str
    queues: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Term:
    """One word or quoted phrase of a query, in one field (None: any of them)."""

    text: str
    field: str | None = None


@dataclass(frozen=True, slots=True)
class Query:
    terms: tuple[Term, ...]
    models: tuple[str, ...] = ()  # `model:` filters: the record's model contains each

    @property
    def words(self) -> list[str]:
        return [w.lower() for t in self.terms for w in re.findall(r"\w+", t.text)]


_TOKEN = re.compile(r'(?:(\w+):)?(?:"([^"]*)"?|(\S+))', flags=re.UNICODE)


def parse_query(query: str) -> Query:
    """`refund output:"gift card" model:mini` as terms: a word or quoted phrase, optionally
    scoped to a field (system, user, other, output; `assistant:` and `tool:` mean other) or
    a filter on the model's name. An unknown `name:` prefix is searched as words."""
    terms: list[Term] = []
    models: list[str] = []
    for match in _TOKEN.finditer(query):
        field, phrase, word = match.group(1), match.group(2), match.group(3)
        value = phrase if phrase is not None else word or ""
        name = (field or "").lower()
        if name in {"assistant", "tool"}:
            name = "other"
        if name == "model":
            if value.strip():
                models.append(value.strip())
            continue
        if field and name not in FIELDS:
            value = f"{field} {value}"  # not a field: the words themselves
            name = ""
        if re.search(r"\w", value, flags=re.UNICODE):
            terms.append(Term(value, name or None))
    return Query(tuple(terms), tuple(models))


def ensure_search_index(engine: Engine) -> int:
    """Index the records added since the last call; returns how many were indexed."""
    if engine.dialect.name != "sqlite":
        return _ensure_pg_index(engine)
    done = 0
    with engine.begin() as conn:
        layout = conn.execute(text("SELECT value FROM meta WHERE key = 'fts_layout'")).first()
        if layout is None or layout[0] != _FTS_LAYOUT:  # built by an older reviewer: again
            conn.execute(text("DROP TABLE IF EXISTS records_fts"))
            conn.execute(text("DELETE FROM meta WHERE key IN ('fts_rowid', 'fts_layout')"))
            conn.execute(
                text("INSERT INTO meta (key, value) VALUES ('fts_layout', :v)"),
                {"v": _FTS_LAYOUT},
            )
        conn.execute(text(_FTS_DDL))
        row = conn.execute(text("SELECT value FROM meta WHERE key = 'fts_rowid'")).first()
        last = int(row[0]) if row else 0
        top = conn.execute(text("SELECT COALESCE(MAX(rowid), 0) FROM records")).scalar_one()
    columns = ", ".join(FIELDS)
    while last < top:
        upto = min(last + _BATCH, top)
        with engine.begin() as conn:
            conn.execute(
                text(
                    f"INSERT INTO records_fts (rowid, {columns}) SELECT r.rowid, {_COLUMNS_SQL}"
                    f" FROM records r WHERE r.rowid > :a AND r.rowid <= :b AND {_NOT_PAIR}"
                ),
                {"a": last, "b": upto},
            )
            conn.execute(
                text(
                    "INSERT INTO meta (key, value) VALUES ('fts_rowid', :v) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
                ),
                {"v": str(upto)},
            )
        done += upto - last
        last = upto
    return done


def _ensure_pg_index(engine: Engine) -> int:
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
            conn.execute(
                text(
                    "CREATE INDEX IF NOT EXISTS ix_records_text_trgm ON records USING gin ((COALESCE(messages, '') || COALESCE(output, '')) gin_trgm_ops)"
                )
            )
    except Exception:  # no pg_trgm on this server: the search still works, without the index
        pass
    return 0


def fts_query(query: str | Query) -> str:
    """A query as FTS5 syntax: every term must appear (a word as a prefix, a phrase as
    written), in its field when it has one; quotes and operators are literal."""
    parsed = parse_query(query) if isinstance(query, str) else query
    parts: list[str] = []
    for term in parsed.terms:
        words = re.findall(r"\w+", term.text, flags=re.UNICODE)
        if not words:
            continue
        phrase = '"' + " ".join(words) + '"*'
        parts.append(f"{term.field} : {phrase}" if term.field else phrase)
    return " ".join(parts)


def _like(value: str) -> str:
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


_PG_FIELD = {
    "system": "m ->> 'role' = 'system'",
    "user": "m ->> 'role' = 'user'",
    "other": "COALESCE(m ->> 'role', '') NOT IN ('system', 'user')",
}


def search(engine: Engine, query: str, limit: int = 50) -> list[SearchHit]:
    """Records whose messages or output hold every term of `query` (see `parse_query`),
    newest first, each with the queues it is in."""
    parsed = parse_query(query.strip())
    if not parsed.terms and not parsed.models:
        return []
    params: dict[str, Any] = {"n": limit}
    model_tests = []
    for i, model in enumerate(parsed.models):
        params[f"m{i}"] = _like(model.lower())
        model_tests.append(f"LOWER(COALESCE(r.model, '')) LIKE :m{i} ESCAPE '\\'")
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            match = fts_query(parsed)
            where = [*model_tests, _NOT_PAIR]
            if match:
                params["q"] = match
                if model_tests:  # filter the matches by model, then take the newest
                    where.append(
                        "r.rowid IN (SELECT rowid FROM records_fts WHERE records_fts MATCH :q)"
                    )
                else:
                    where.append(
                        "r.rowid IN (SELECT rowid FROM records_fts WHERE records_fts MATCH :q"
                        " ORDER BY rowid DESC LIMIT :n)"
                    )
            rows = conn.execute(
                text(
                    "SELECT r.id, r.timestamp, r.model, r.messages, r.output FROM records r"
                    f" WHERE {' AND '.join(where)} ORDER BY r.rowid DESC LIMIT :n"
                ),
                params,
            ).all()
        else:
            where = [test.replace("LIKE", "ILIKE") for test in model_tests] + [_NOT_PAIR]
            for i, term in enumerate(parsed.terms):
                params[f"t{i}"] = _like(term.text)
                if term.field is None:
                    where.append(
                        f"(COALESCE(r.messages, '') || COALESCE(r.output, '')) ILIKE :t{i}"
                    )
                elif term.field == "output":
                    where.append(f"(r.output::jsonb ->> 'content') ILIKE :t{i}")
                else:
                    where.append(
                        "EXISTS (SELECT 1 FROM jsonb_array_elements("
                        "COALESCE(r.messages, '[]')::jsonb) m"
                        f" WHERE {_PG_FIELD[term.field]} AND (m ->> 'content') ILIKE :t{i})"
                    )
            rows = conn.execute(
                text(
                    "SELECT r.id, r.timestamp, r.model, r.messages, r.output FROM records r"
                    f" WHERE {' AND '.join(where)}"
                    " ORDER BY r.timestamp DESC NULLS LAST LIMIT :n"
                ),
                params,
            ).all()
        ids = [r[0] for r in rows]
        memberships: dict[str, list[str]] = {}
        if ids:
            for rid, queue in conn.execute(
                text("SELECT record_id, queue FROM queue_items WHERE record_id IN :ids").bindparams(
                    _expanding("ids")
                ),
                {"ids": ids},
            ):
                memberships.setdefault(rid, []).append(queue)
    words = parsed.words
    return [
        SearchHit(
            r[0],
            r[1],
            r[2],
            snippet(_texts(r[3], r[4]), words),
            tuple(sorted(memberships.get(r[0], ()))),
        )
        for r in rows
    ]


def _expanding(name: str) -> Any:
    from sqlalchemy import bindparam

    return bindparam(name, expanding=True)


def _texts(messages: str | None, output: str | None) -> list[str]:
    """The record's texts, the conversation and the output first, system prompts last: a
    snippet from the shared system prompt tells the hits apart poorly."""
    msgs = orjson.loads(messages) if messages else []
    out = orjson.loads(output) if output else None
    texts = [m.get("content") or "" for m in msgs if m.get("role") != "system"]
    if out:
        texts.append(out.get("content") or "")
    texts += [m.get("content") or "" for m in msgs if m.get("role") == "system"]
    return [t for t in texts if t]


def snippet(texts: list[str] | str, words: list[str], width: int = 90) -> str:
    """A one-line window around the first word found, from the first text that has one."""
    candidates = [texts] if isinstance(texts, str) else texts
    for body in candidates:
        flat = " ".join(body.split())
        low = flat.lower()
        hits = [i for i in (low.find(w) for w in words) if i >= 0]
        if hits or body is candidates[-1]:
            at = min(hits, default=0)
            start = max(0, at - width // 3)
            piece = flat[start : start + width]
            return ("…" if start else "") + piece + ("…" if start + width < len(flat) else "")
    return ""


def find_queue_item(engine: Engine, queue: str, record_id: str) -> int | None:
    """The queue item holding `record_id` in `queue`, if any."""
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT id FROM queue_items WHERE queue = :q AND record_id = :r"),
            {"q": queue, "r": record_id},
        ).first()
    return int(row[0]) if row else None
