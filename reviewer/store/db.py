"""Engine creation and the versioned schema.

SQLite gets WAL, foreign keys and a busy timeout; any other SQLAlchemy URL (PostgreSQL for
teams) is used as given. The schema version is recorded in the `meta` table; `UPGRADES`
holds one step per version, so a newer reviewer opens an older database and keeps it all.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import OperationalError
from sqlmodel import SQLModel

from reviewer.store import schema  # noqa: F401  (registers the tables)

#: The schema this release writes. Raise it together with a new entry in UPGRADES.
SCHEMA_VERSION = 6


#: UPGRADES[n] brings a database from version n-1 to n. Tables that are new in version n are
#: created by `create_all` (it skips existing ones); a step holds what that cannot do
#: (new columns, data moves).
def _upgrade_3(conn: Connection) -> None:
    """Suggestions (a new table) and how a review relates to one (two review event columns)."""
    have = {c["name"] for c in inspect(conn).get_columns("review_events")}
    if "suggestion_id" not in have:
        conn.execute(text("ALTER TABLE review_events ADD COLUMN suggestion_id INTEGER"))
    if "suggestion" not in have:
        conn.execute(text("ALTER TABLE review_events ADD COLUMN suggestion VARCHAR"))


def _add_column(conn: Connection, table: str, column: str, kind: str) -> None:
    """`ALTER TABLE table ADD COLUMN column kind`, unless the column is there already."""
    if column not in {c["name"] for c in inspect(conn).get_columns(table)}:
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {kind}"))


def _upgrade_4_eval_split(conn: Connection) -> None:
    """The dataset split an eval run was limited to (`reviewer eval --split`)."""
    _add_column(conn, "eval_runs", "split", "VARCHAR")


def _upgrade_4_samples(conn: Connection) -> None:
    """Eval strategies: how a run made its answers, and each case's samples."""
    _add_column(conn, "eval_runs", "strategy", "TEXT")
    _add_column(conn, "eval_results", "samples", "TEXT")


def _upgrade_4_finetune(conn: Connection) -> None:
    """Fine-tuning jobs: a new table only (`create_all` makes it), nothing to move."""


def _upgrade_4(conn: Connection) -> None:
    """Schema 4: each part's step."""
    _upgrade_4_eval_split(conn)
    _upgrade_4_samples(conn)
    _upgrade_4_finetune(conn)


def _upgrade_5(conn: Connection) -> None:
    """Schema 5, agent traces: each record is a step (its parent, kind, name, and a tool's or
    retriever's inputs and outputs); a chat log's session is a trace; the `traces` table (new)
    is filled from the records already there. Every stored record was an LLM call. A review
    may mark the step of a trace where it went wrong, and carry notes on single steps. A dataset
    item keeps the tool definitions its model was offered."""
    _add_column(conn, "records", "parent_id", "VARCHAR")
    _add_column(conn, "records", "kind", "VARCHAR NOT NULL DEFAULT 'llm'")
    _add_column(conn, "records", "name", "VARCHAR")
    _add_column(conn, "records", "inputs", "TEXT")
    _add_column(conn, "records", "outputs", "TEXT")
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_records_session_id ON records (session_id)"))
    _add_column(conn, "review_events", "step_id", "VARCHAR")
    _add_column(conn, "review_events", "step_notes", "TEXT")
    _add_column(conn, "dataset_items", "tools", "TEXT")
    from reviewer.store.traces import rebuild_traces

    rebuild_traces(conn)


def _upgrade_6(conn: Connection) -> None:
    """Schema 6, pairwise queues: the `pairs` table (new, made by `create_all`) says which run's
    output a pair record shows on the left; nothing to move."""


UPGRADES: dict[int, Callable[[Connection], None]] = {
    2: lambda conn: (
        None
    ),  # review tables (themes, queue items, claims, review events, datasets): new tables only
    3: _upgrade_3,
    4: _upgrade_4,
    5: _upgrade_5,
    6: _upgrade_6,
}


class DatabaseError(Exception):
    """The database cannot be used: a clear message for the user, never a trace."""


class DatabaseBusy(DatabaseError):
    """Another process held the database's write lock for longer than we wait: nothing was saved."""


#: How long one attempt to take SQLite's lock waits (its busy timeout), and how long a write
#: goes on trying before it gives up with `DatabaseBusy`, in seconds. SQLite's own wait is not
#: fair (a waiter polls while the others take the lock again at once), so a write that waited
#: in vain tries again after a random pause, until LOCK_WAIT has passed.
BUSY_TIMEOUT = 10.0
LOCK_WAIT = 30.0


def is_locked(exc: BaseException) -> bool:
    """Whether `exc` is SQLite saying another connection holds the lock."""
    message = str(getattr(exc, "orig", exc)).lower()
    return "database is locked" in message or "database table is locked" in message


def begin_immediate(conn: Connection) -> None:
    """Start a SQLite write transaction, waiting and retrying while another process writes."""
    lock_wait = conn.info.get("lock_wait", LOCK_WAIT)
    started = time.monotonic()
    attempt = 0
    while True:
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        except OperationalError as exc:
            if not is_locked(exc):
                raise
            conn.rollback()
            waited = time.monotonic() - started
            if waited >= lock_wait:
                raise DatabaseBusy(
                    "the database is busy: another process held its write lock for"
                    f" {waited:.{0 if waited >= 10 else 1}f} s; nothing was saved, try again"
                ) from exc
            attempt += 1
            pause = random.uniform(0.005, min(0.25, 0.01 * 2 ** min(attempt, 8)))
            time.sleep(min(pause, max(0.0, lock_wait - waited)))


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _sqlite_pragmas(busy_timeout: float, lock_wait: float) -> Callable[..., None]:
    """The settings of each new SQLite connection (and how long its writes go on trying)."""

    def pragmas(dbapi_conn, record) -> None:  # type: ignore[no-untyped-def]
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA page_size=16384")  # only on a new database: records are large
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cur.close()
        record.info["lock_wait"] = lock_wait

    return pragmas


def open_engine(
    url: str,
    *,
    upgrade: bool = True,
    busy_timeout: float = BUSY_TIMEOUT,
    lock_wait: float = LOCK_WAIT,
) -> Engine:
    """Create the engine for `url`, creating the SQLite folder and upgrading the schema.

    SQLite only: `busy_timeout` is how long one attempt to take the lock waits for another
    process, `lock_wait` how long a review write goes on trying (seconds).
    """
    if url.startswith("sqlite"):
        db_path = url.split("///", 1)[1] if "///" in url else ""
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": busy_timeout}
        )
        event.listen(engine, "connect", _sqlite_pragmas(busy_timeout, lock_wait))
    else:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        engine = create_engine(url, pool_pre_ping=True)
    if upgrade:
        try:
            migrate(engine)
        except DatabaseError:
            engine.dispose()
            raise
        except Exception as exc:  # connection refused, bad credentials, not a database...
            engine.dispose()
            raise DatabaseError(
                f"cannot open database {safe_url(url)}: {exc.__class__.__name__}: {first_line(exc)}"
            ) from exc
    return engine


def first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__


def safe_url(url: str) -> str:
    """The URL with any password masked, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def schema_version(conn: Connection) -> int | None:
    if not inspect(conn).has_table("meta"):
        return None
    row = conn.execute(text("SELECT value FROM meta WHERE key = 'schema_version'")).first()
    return int(row[0]) if row else None


def migrate(engine: Engine) -> int:
    """Create or upgrade the schema to SCHEMA_VERSION; returns the version found before."""
    with engine.begin() as conn:
        found = schema_version(conn)
        if found is not None and found > SCHEMA_VERSION:
            raise DatabaseError(
                f"the database has schema version {found}, newer than this reviewer knows "
                f"({SCHEMA_VERSION}): upgrade reviewer to open it"
            )
        SQLModel.metadata.create_all(conn)
        for version in range((found or SCHEMA_VERSION) + 1, SCHEMA_VERSION + 1):
            UPGRADES[version](conn)
        if found != SCHEMA_VERSION:
            if found is None:
                conn.execute(
                    text("INSERT INTO meta (key, value) VALUES ('schema_version', :v)"),
                    {"v": str(SCHEMA_VERSION)},
                )
            else:
                conn.execute(
                    text("UPDATE meta SET value = :v WHERE key = 'schema_version'"),
                    {"v": str(SCHEMA_VERSION)},
                )
    return found or 0
