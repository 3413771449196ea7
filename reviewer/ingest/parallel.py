"""Parsing and writing JSON lines in worker processes, for large files.

The main process reads chunks of lines; workers decode, detect, parse and write the records
themselves, each chunk in one transaction, in the order of the chunks (a shared turn: chunk n
is committed after chunk n-1, so the records keep the file's order). What comes back is small:
the outcomes (`reviewer.ingest.outcomes`) with the place of their line in the chunk: one
`Stored` with the counts of a run of lines whose records were written, rejected, skipped and
batch-request lines as they are, nothing for blank lines. Only a few chunks are in flight, so
memory stays constant.
"""

from __future__ import annotations

import os
from typing import Any

import orjson

from reviewer.ingest.base import LogFormat, ParseContext
from reviewer.ingest.outcomes import Outcome, Parsed, Stored

_state: dict[str, Any] = {}
#: the longest pause between two looks at whether a worker's turn to write has come
TURN_POLL = 0.002


def _exit_with_parent() -> None:
    """End this worker when the importing process ends, even killed by SIGKILL (which runs no
    clean-up of its own): a thread waits on the parent's sentinel."""
    import multiprocessing
    import threading
    from multiprocessing.connection import wait

    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _init(forced: LogFormat | None, db_url: str, redact: bool, turn: Any, abort: Any) -> None:
    import gc

    from reviewer.ingest.formats import Detector, all_formats

    _exit_with_parent()
    gc.freeze()  # what the worker starts with stays: the collector need not go over it again
    _state["forced"] = forced
    _state["detector"] = Detector(all_formats())
    _state["db_url"] = db_url
    _state["redact"] = redact
    _state["turn"] = turn  # the number of the next chunk to commit (one writer: no lock)
    _state["abort"] = abort


def _engine() -> Any:
    engine = _state.get("engine")
    if engine is None:
        from reviewer.store.db import open_engine

        engine = _state["engine"] = open_engine(_state["db_url"], upgrade=False)
    return engine


def _writer() -> Any:
    writer = _state.get("writer")
    if writer is None:
        from reviewer.store.writer import RowWriter

        engine = _engine()
        writer = _state["writer"] = RowWriter(
            engine.raw_connection(), engine.dialect.name == "sqlite"
        )
    return writer


def _wait_turn(seq: int) -> None:
    """Wait until the chunks before `seq` are committed. The turn is polled: a condition
    variable across processes makes the one who passes the turn wait until the waiter has
    woken, which on a busy machine costs far more than a sleep of a millisecond."""
    import time

    turn, abort = _state["turn"], _state["abort"]
    pause = 0.0002
    while turn.value != seq:
        if abort.value:
            raise RuntimeError("the import was abandoned")
        time.sleep(pause)
        pause = min(pause * 2, TURN_POLL)


def _pass_turn(seq: int) -> None:
    _state["turn"].value = seq + 1


def _lookup_batch(custom_id: str) -> dict[str, Any] | None:
    engine = _engine()
    from sqlalchemy import text

    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT body FROM batch_requests WHERE custom_id = :c"), {"c": custom_id}
        ).first()
    return orjson.loads(row[0]) if row and row[0] else None


def parse_chunk(
    path: str, import_id: int | None, seq: int, lines: list[tuple[int, bytes]]
) -> tuple[list[tuple[int, Outcome]], list[str]]:
    """Parse a chunk of (line number, raw bytes) in a worker and write its records when the
    chunk's turn (`seq`) comes: (place in the chunk, outcome) in line order, one `Stored` for
    each run of lines of one format whose records were written, nothing for blank lines; and
    the keys of the traces whose totals are left to rebuild (the totals of a trace whose steps
    are all in the chunk are written with them)."""
    import gc

    from reviewer.ingest.pipeline import parse_item, without_content
    from reviewer.ingest.reader import Item
    from reviewer.store.traces import traces_of_rows

    # parsing makes many short-lived objects and no cycles that matter: collecting every few
    # hundred allocations costs about a tenth of the time: the collector runs between chunks
    gc.disable()
    try:
        forced = _state["forced"]
        detector = _state["detector"]
        pending: list[tuple[str, dict[str, Any]]] = []
        ctx = ParseContext(
            path,
            0,
            "",
            _lookup_batch,
            lambda cid, body: pending.append((cid, body)),
            redact=_state["redact"],
        )
        out: list[Outcome | None] = []
        rows: list[tuple[Any, ...]] = []
        keys: list[str] = []
        for line, raw in lines:
            outcome = parse_item(Item(line, raw), "json", forced, detector, ctx, import_id, pending)
            if isinstance(outcome, Parsed):
                rows.extend(outcome.rows)
                keys.extend([outcome.format] * len(outcome.rows))
            out.append(outcome)
        traces = traces_of_rows(rows)
        left: list[str] = []
        _wait_turn(seq)
        flags = _writer().write(rows, keys, traces=traces, traces_left=left) if rows else []
        _pass_turn(seq)
    except BaseException:
        _state["abort"].value = 1  # the chunks after this one wait for a turn that never comes
        raise
    finally:
        gc.enable()
    at = 0
    result: list[tuple[int, Outcome]] = []
    run: Stored | None = None  # the last Stored sent, while the lines after it add to it
    for n, outcome in enumerate(out):
        if outcome is None:
            continue  # a blank line: neither counted nor breaking a run
        if not isinstance(outcome, Parsed):
            result.append((n, outcome))
            run = None
            continue
        rows = outcome.rows
        new = sum(flags[at : at + len(rows)])
        at += len(rows)
        if run is not None and run.format == outcome.format:
            run.imported += new
            run.duplicates += len(rows) - new
            run.without_content += without_content(rows)
            run.lines += 1
        else:
            run = Stored(outcome.format, new, len(rows) - new, without_content(rows))
            result.append((n, run))
    return result, left


def _start_method() -> str:
    """`fork` while this process has a single thread: the workers start at once with the
    modules already imported (a forkserver imports them again first, about half a second).
    With other threads running (a writing thread, an app), forking could copy a lock held by
    one of them: a forkserver then, or `spawn` where there is none."""
    import multiprocessing
    import threading

    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


class ParallelParser:
    """A pool of parsing processes, with a bounded number of chunks in flight."""

    def __init__(
        self, forced: LogFormat | None, db_url: str, workers: int, *, redact: bool = False
    ) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        method = _start_method()
        ctx = multiprocessing.get_context(method)
        if method == "forkserver":
            ctx.set_forkserver_preload(["reviewer.ingest.parallel", "reviewer.ingest.pipeline"])
        self.turn = ctx.Value("q", 0, lock=False)
        self.abort = ctx.Value("b", 0, lock=False)
        self.seq = 0
        self.pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=ctx,
            initializer=_init,
            initargs=(forced, db_url, redact, self.turn, self.abort),
        )

    def submit(self, path: str, import_id: int | None, lines: list[tuple[int, bytes]]) -> Any:
        """Parse and write a chunk; chunks are committed in the order they are submitted."""
        self.seq += 1
        return self.pool.submit(parse_chunk, path, import_id, self.seq - 1, lines)

    def close(self) -> None:
        self.abort.value = 1  # a worker still waiting for a turn gives up
        self.pool.shutdown(wait=True, cancel_futures=True)
