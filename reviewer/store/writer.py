"""Bulk writing of records and rejected lines.

Goes below the ORM on purpose: one `executemany` per batch on the driver's connection, ids
that already exist looked up per batch (so duplicates are counted per file), and
`INSERT ... ON CONFLICT DO NOTHING` so two imports at once cannot fail on each other.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from sqlalchemy import Engine

from reviewer.records import Record
from reviewer.store.schema import RECORD_COLUMNS
from reviewer.store.traces import RowTraces, store_whole_traces

_OPTS = orjson.OPT_NON_STR_KEYS


def _dump(value: Any) -> str | None:
    if value is None:
        return None
    return orjson.dumps(value, option=_OPTS).decode()


def record_row(r: Record, import_id: int | None) -> tuple[Any, ...]:
    """A Record as a row in RECORD_COLUMNS order."""
    return (
        r.id, r.source_path, r.source_line, r.source_format, r.timestamp, r.provider, r.model,
        _dump(r.params) if r.params else None, _dump(r.messages), _dump(r.output),
        r.input_tokens, r.output_tokens, r.latency_ms, r.cost_usd, r.user_id, r.session_id,
        r.trace_id, r.prompt_name, r.prompt_version, r.feedback_score, r.feedback_comment,
        r.error, _dump(r.metadata) if r.metadata else None, r.raw, import_id, r.parent_id,
        r.kind, r.name, _dump(r.inputs), _dump(r.outputs),
    )  # fmt: skip


def _no_nul(row: Sequence[Any]) -> tuple[Any, ...]:
    """PostgreSQL text cannot hold NUL: show it as the escape \\x00 instead (SQLite keeps it)."""
    return tuple(
        v.replace("\x00", "\\x00") if isinstance(v, str) and "\x00" in v else v for v in row
    )


class RowWriter:
    """Writes batches of record rows, rejected lines and batch requests on one DB-API connection,
    one transaction a batch; used by the importing process's writing thread and by the parsing
    workers, which write what they parse.

    SQLite: one `executemany ... ON CONFLICT DO NOTHING`, whose row count says how many were
    new. PostgreSQL: the rows are streamed with COPY into a temporary table, then moved with
    `INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING id` (the ids that were new).
    """

    def __init__(self, conn: Any, sqlite: bool) -> None:
        self.conn = conn
        self.sqlite = sqlite
        ph = "?" if sqlite else "%s"
        self.ph = ph
        cols = ", ".join(RECORD_COLUMNS)
        self.insert_sql = f"INSERT INTO records ({cols}) VALUES ({', '.join([ph] * len(RECORD_COLUMNS))}) ON CONFLICT (id) DO NOTHING"
        self.reject_sql = (
            f"INSERT INTO rejected_lines (key, import_id, path, line, format, reason, raw, raw_size, created_at) "
            f"VALUES ({', '.join([ph] * 9)}) ON CONFLICT (key) DO NOTHING"
        )
        self._load_table = False
        if sqlite:
            # bulk work: a bigger page cache, and fewer WAL checkpoints (each one rewrites pages)
            cur = conn.cursor()
            cur.execute("PRAGMA cache_size=-16384")
            cur.execute("PRAGMA wal_autocheckpoint=10000")
            cur.close()

    def write(
        self,
        rows: list[tuple[Any, ...]],
        keys: list[Any],
        rejects: Sequence[tuple[Any, ...]] = (),
        batch_requests: Sequence[tuple[str, str, int, str]] = (),
        traces: RowTraces | None = None,
        traces_left: list[str] | None = None,
    ) -> list[bool]:
        """Write and commit; returns, for each row, whether it was new. `keys` tell rows of
        different files or formats apart (rows with one key are counted from the row count).
        With `traces` (the traces of `rows`, `traces_of_rows`), the totals of those whose
        steps are all in `rows` are stored in the same transaction, and the keys of the
        others whose rows were new are added to `traces_left`, to be rebuilt at the end."""
        conn = self.conn
        cur = conn.cursor()
        try:
            if not rows:
                flags: list[bool] = []
            elif not self.sqlite:
                flags = self._copy_rows(cur, [_no_nul(r) for r in rows])
            elif all(k is keys[0] or k == keys[0] for k in keys):
                # the usual case, one file and format: the insert's row count says how many were new
                cur.executemany(self.insert_sql, rows)
                inserted = cur.rowcount
                flags = [True] * inserted + [False] * (len(rows) - inserted)
            else:
                flags = self._insert_checked(cur, rows)
            if not self.sqlite:
                rejects = [_no_nul(r) for r in rejects]
                batch_requests = [_no_nul(r) for r in batch_requests]
            if rejects:
                cur.executemany(self.reject_sql, rejects)
            if batch_requests:
                if self.sqlite:
                    sql = "INSERT OR REPLACE INTO batch_requests (custom_id, path, line, body) VALUES (?, ?, ?, ?)"
                else:
                    sql = (
                        "INSERT INTO batch_requests (custom_id, path, line, body) VALUES (%s, %s, %s, %s) "
                        "ON CONFLICT (custom_id) DO UPDATE SET path = EXCLUDED.path, line = EXCLUDED.line, body = EXCLUDED.body"
                    )
                cur.executemany(sql, batch_requests)
            if traces is not None and traces_left is not None and any(flags):
                if all(flags):
                    if not self.sqlite:
                        for t in traces.totals:
                            t.escape_nul()
                    traces_left.extend(store_whole_traces(cur, self.ph, traces))
                else:  # some were there already: which traces changed is left to the rebuild
                    traces_left.extend(t.key for t in traces.totals)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            cur.close()
        return flags

    def _copy_rows(self, cur: Any, rows: list[tuple[Any, ...]]) -> list[bool]:
        """PostgreSQL: COPY into a temporary table, then the new ones into records, in order."""
        cols = ", ".join(RECORD_COLUMNS)
        if not self._load_table:
            cur.execute(
                "CREATE TEMP TABLE IF NOT EXISTS records_load (LIKE records, load_n integer)"
                " ON COMMIT DELETE ROWS"
            )
            self._load_table = True
        with cur.copy(f"COPY records_load ({cols}, load_n) FROM STDIN") as copy:
            for n, row in enumerate(rows):
                copy.write_row((*row, n))
        cur.execute(
            f"INSERT INTO records ({cols}) SELECT {cols} FROM records_load ORDER BY load_n"
            " ON CONFLICT (id) DO NOTHING RETURNING id"
        )
        new = {r[0] for r in cur.fetchall()}
        flags: list[bool] = []
        for row in rows:
            fresh = row[0] in new
            if fresh:
                new.discard(row[0])  # a second copy in the same batch is a duplicate
            flags.append(fresh)
        return flags

    def _insert_checked(self, cur: Any, rows: list[tuple[Any, ...]]) -> list[bool]:
        """Insert rows from several files or formats, telling per row whether it was new."""
        existing: set[str] = set()
        ids = [row[0] for row in rows]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            cur.execute(
                f"SELECT id FROM records WHERE id IN ({', '.join([self.ph] * len(chunk))})", chunk
            )
            existing.update(r[0] for r in cur.fetchall())
        fresh: list[tuple[Any, ...]] = []
        flags: list[bool] = []
        for row in rows:
            rid = row[0]
            if rid in existing:
                flags.append(False)
            else:
                existing.add(rid)  # a second copy in the same batch is a duplicate too
                fresh.append(row)
                flags.append(True)
        if fresh:
            cur.executemany(self.insert_sql, fresh)
        return flags

    def close(self) -> None:
        if self.sqlite:
            cur = self.conn.cursor()
            cur.execute("PRAGMA wal_autocheckpoint=1000")
            cur.execute("PRAGMA cache_size=-2000")
            cur.close()
        self.conn.close()


class BulkWriter:
    """Collects records and rejected lines and writes them in batches, on a writing thread.

    `on_written(key, inserted, duplicate)` is called for every record once its batch is
    written, with the key given to `add` (the report uses (path, format)).
    """

    def __init__(
        self,
        engine: Engine,
        import_id: int | None,
        on_written: Callable[[Any, bool], None],
        batch_size: int = 2000,
    ) -> None:
        self.engine = engine
        self.import_id = import_id
        self.on_written = on_written
        self.batch_size = batch_size
        self.sqlite = engine.dialect.name == "sqlite"
        self.rows: list[tuple[Any, ...]] = []
        self.keys: list[Any] = []
        self.rejects: list[tuple[Any, ...]] = []
        self.batch_requests: list[tuple[str, str, int, str]] = []
        # one writing thread, at most two batches queued: constant memory, writes overlap parsing
        self._jobs: queue.Queue[Any] = queue.Queue(maxsize=2)
        self._done: deque[tuple[list[Any], list[bool]]] = deque()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._rows = RowWriter(engine.raw_connection(), self.sqlite)

    def add(self, record: Record, key: Any) -> None:
        self.add_row(record_row(record, self.import_id), key)

    def add_row(self, row: tuple[Any, ...], key: Any) -> None:
        """A row already in RECORD_COLUMNS order (built by `record_row`, maybe in a worker)."""
        self.rows.append(row)
        self.keys.append(key)
        if len(self.rows) >= self.batch_size:
            self.flush()

    def reject(
        self,
        path: str,
        line: int,
        fmt: str | None,
        reason: str,
        raw: str,
        raw_size: int,
        created_at: str,
    ) -> None:
        key = hashlib.blake2b(
            f"{path}\x00{line}\x00{reason}\x00".encode() + raw.encode("utf-8", "surrogatepass"),
            digest_size=16,
        ).hexdigest()
        self.rejects.append(
            (key, self.import_id, path, line, fmt, reason, raw, raw_size, created_at)
        )

    def add_batch_request(self, custom_id: str, path: str, line: int, body: str) -> None:
        self.batch_requests.append((custom_id, path, line, body))

    def flush(self) -> None:
        """Hand the collected rows to the writing thread (waits while two batches are queued)."""
        job = (self.rows, self.keys, self.rejects, self.batch_requests)
        self.rows, self.keys, self.rejects, self.batch_requests = [], [], [], []
        if not (job[0] or job[2] or job[3]):
            self._collect()
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="reviewer-writer", daemon=True)
            self._thread.start()
        self._jobs.put(job)
        self._collect()

    def sync(self) -> None:
        """Wait until everything handed over is committed, and count it."""
        self.flush()
        if self._thread is not None:
            self._jobs.join()
        self._collect()

    def _collect(self) -> None:
        """Report written rows to `on_written` (in the caller's thread), and raise a writing error."""
        while self._done:
            keys, flags = self._done.popleft()
            for key, inserted in zip(keys, flags, strict=True):
                self.on_written(key, inserted)
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _run(self) -> None:
        # SQLite and psycopg release the GIL while they write, so parsing goes on meanwhile
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                if self._error is None:
                    self._done.append((job[1], self._write(*job)))
            except BaseException as exc:  # handed to the caller by _collect
                self._error = exc
            finally:
                self._jobs.task_done()

    def _write(
        self,
        rows: list[tuple[Any, ...]],
        keys: list[Any],
        rejects: list[tuple[Any, ...]],
        batch_requests: list[tuple[str, str, int, str]],
    ) -> list[bool]:
        return self._rows.write(rows, keys, rejects, batch_requests)

    def close(self) -> None:
        try:
            self.sync()
        finally:
            if self._thread is not None:
                self._jobs.put(None)
                self._thread.join()
            self._rows.close()
