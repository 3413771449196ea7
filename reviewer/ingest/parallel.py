"""Parsing JSON lines in worker processes, for large files.

The main process reads chunks of lines and writes rows; workers decode, detect and parse.
Chunks come back in order and only a few are in flight, so memory stays constant. Each line
comes back as one outcome (`reviewer.ingest.outcomes`), or None for a blank line.
"""

from __future__ import annotations

import os
from typing import Any

import orjson

from reviewer.ingest.base import LogFormat, ParseContext
from reviewer.ingest.outcomes import Outcome, Parsed
from reviewer.store.schema import RECORD_COLUMNS

_state: dict[str, Any] = {}
#: position of the raw text in a row; None there means "the line itself"
RAW = RECORD_COLUMNS.index("raw")


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


def _init(forced: LogFormat | None, db_url: str, redact: bool) -> None:
    from reviewer.ingest.formats import Detector, all_formats

    _exit_with_parent()
    _state["forced"] = forced
    _state["detector"] = Detector(all_formats())
    _state["db_url"] = db_url
    _state["redact"] = redact


def _lookup_batch(custom_id: str) -> dict[str, Any] | None:
    engine = _state.get("engine")
    if engine is None:
        from reviewer.store.db import open_engine

        engine = _state["engine"] = open_engine(_state["db_url"], upgrade=False)
    from sqlalchemy import text

    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT body FROM batch_requests WHERE custom_id = :c"), {"c": custom_id}
        ).first()
    return orjson.loads(row[0]) if row and row[0] else None


def parse_chunk(
    path: str, import_id: int | None, lines: list[tuple[int, bytes]]
) -> list[Outcome | None]:
    """Parse a chunk of (line number, raw bytes) in a worker: one outcome per line."""
    from reviewer.ingest.pipeline import parse_item
    from reviewer.ingest.reader import Item

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
    for line, raw in lines:
        outcome = parse_item(Item(line, raw), "json", forced, detector, ctx, import_id, pending)
        if isinstance(outcome, Parsed) and ctx.raw_is_line:
            # the main process has the line already: do not send its text back
            same = ctx.raw
            outcome.rows = [
                (*r[:RAW], None, *r[RAW + 1 :]) if r[RAW] is same else r for r in outcome.rows
            ]
        out.append(outcome)
    return out


class ParallelParser:
    """A pool of parsing processes, with a bounded number of chunks in flight."""

    def __init__(
        self, forced: LogFormat | None, db_url: str, workers: int, *, redact: bool = False
    ) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        method = (
            "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        )
        ctx = multiprocessing.get_context(method)
        if method == "forkserver":
            ctx.set_forkserver_preload(["reviewer.ingest.parallel", "reviewer.ingest.pipeline"])
        self.pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=ctx,
            initializer=_init,
            initargs=(forced, db_url, redact),
        )

    def submit(self, path: str, import_id: int | None, lines: list[tuple[int, bytes]]) -> Any:
        return self.pool.submit(parse_chunk, path, import_id, lines)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
