"""What the app says when the database refuses: a save that fails is said on screen, never
dropped silently, and a queue whose sync fails is shown as such beside the others."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, text
from textual.widgets import DataTable

from reviewer.tui.screens.home import HomeScreen
from reviewer.tui.screens.review import ReviewScreen
from reviewer.tui.widgets.conversation import Conversation
from tests.ui.conftest import (
    SIZE,
    events,
    item_status,
    make_app,
    press,
    screen_text,
    settle,
    type_burst,
)

BUSY_MS = 100  # how long one attempt to take the write lock waits
LOCK_WAIT = 0.5  # how long a save goes on trying before it fails (instead of 30 s)


def short_busy_timeout(engine: Engine) -> None:
    """The app gives up on a held write lock after LOCK_WAIT: connections made from now on
    set it after the store's own settings, and the pooled ones are dropped."""

    def pragma(dbapi_conn: Any, record: Any) -> None:
        dbapi_conn.execute(f"PRAGMA busy_timeout={BUSY_MS}")
        record.info["lock_wait"] = LOCK_WAIT

    event.listen(engine, "connect", pragma)
    engine.dispose()


def shown(app: Any) -> str:
    """The screen's text on one line (panel borders and wrapping left out), notifications
    included."""
    return " ".join(screen_text(app).replace("▌", " ").replace("▕", " ").split())


@contextmanager
def write_lock(db: Path) -> Iterator[None]:
    """Another connection holds the SQLite write lock (as another process writing would)."""
    other = sqlite3.connect(db, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield
        other.execute("ROLLBACK")
    finally:
        other.close()


async def test_a_save_that_fails_on_a_locked_database_is_said_and_keeps_item_and_focus(
    workspace, ws_engine
):
    short_busy_timeout(ws_engine)
    db = workspace / ".reviewer" / "reviewer.db"
    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        app.open_review("thumbs-down")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReviewScreen) and screen.item is not None
        first = screen.item.queue_item_id
        await press(pilot, "4", "shift+tab")  # helpful 4 saved; the focus back on helpful
        assert screen.score_focus == 0
        assert [e["action"] for e in events(ws_engine, queue_item_id=first)] == ["score"]

        with write_lock(db):
            await press(pilot, "5")  # helpful 5: the save fails, said in a notification...
            failure = "helpful 5 not saved: the database is busy"
            assert failure in shown(app)
            assert (screen.failure or "").startswith(failure)  # ...and on the status line
            assert "failed helpful 5 not saved: the database is busy" in shown(app)
            assert screen.score_focus == 0  # the focus stayed on helpful (a save moves it on)
            assert isinstance(app.focused, Conversation)
            assert screen.item.queue_item_id == first
            assert screen.item.review.scores == {"helpful": 4}

            await press(pilot, "p")  # pass: the save fails
            assert "pass not saved: the database is busy" in shown(app)
            assert "failed pass not saved: the database is busy" in shown(app)
            assert "saved: pass" not in shown(app)  # never done when not committed
            assert screen.item.queue_item_id == first  # still on screen
            assert screen.item.review.verdict is None
            assert screen.score_focus == 0
            assert item_status(ws_engine, first) == "pending"
            assert [e["action"] for e in events(ws_engine, queue_item_id=first)] == ["score"]

        await press(pilot, "5")  # the lock is released: both save now
        assert screen.item.queue_item_id == first
        assert screen.failure is None and screen.score_focus == 1
        await press(pilot, "p")
        assert "saved: pass" in shown(app)
        assert screen.item.queue_item_id != first
        assert item_status(ws_engine, first) == "done"
        stored = events(ws_engine, queue_item_id=first)
        assert [e["action"] for e in stored] == ["score", "score", "verdict"]
        assert (stored[-1]["verdict"], stored[-1]["scores"]) == ("pass", {"helpful": 5})


async def test_keys_typed_after_a_failed_save_are_not_applied(workspace, ws_engine):
    short_busy_timeout(ws_engine)
    db = workspace / ".reviewer" / "reviewer.db"
    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        app.open_review("thumbs-down")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReviewScreen) and screen.item is not None
        first = screen.item.queue_item_id
        with write_lock(db):
            type_burst(app, ["4", "p", "3", "p"])  # the first fails: the rest assumed it worked
            await settle(pilot)
            assert "helpful 4 not saved: the database is busy" in shown(app)
            assert "3 keys typed after it not applied" in shown(app)
        await settle(pilot)
        assert screen.item.queue_item_id == first and screen.score_focus == 0
        assert events(ws_engine) == []


async def test_home_shows_the_queue_whose_sync_failed_and_the_others(workspace, ws_engine):
    (workspace / "queues" / "zz-bad.yaml").write_text(
        'name: zz-bad\nfilter:\n  where: "latency_ms > 99999999999999999999"\n'
    )
    with ws_engine.begin() as conn:  # a queue the database refuses: its items cannot be written
        conn.execute(
            text(
                "CREATE TRIGGER no_thumbs BEFORE INSERT ON queue_items "
                "WHEN NEW.queue = 'thumbs-down' BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
            )
        )
    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE) as pilot:  # no toasts: only what the screen shows
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        on_screen = screen_text(app)
        # the bad file: named with its key and reason, the other queues load
        assert "queue files with errors" in on_screen
        assert "zz-bad.yaml: filter.where: at column 14" in on_screen
        # the queue whose sync failed: named with its file and why
        assert "queues whose sync failed" in on_screen
        assert "thumbs-down.yaml: the sync failed (IntegrityError:" in on_screen
        assert "sync failed: see below" in on_screen  # in the queue's row
        assert set(app.ctx.sync_errors) == {"thumbs-down"}
        # the others are still listed, synced
        table = app.screen.query_one("#queues", DataTable)
        rows = {str(table.get_row(key)[0]): table.get_row(key) for key in table.rows}
        assert set(rows) == {q.name for q in app.ctx.queues}
        assert "zz-bad" not in rows
        assert str(rows["thumbs-down"][2]) == "0"
        assert all(int(str(r[2])) > 0 for name, r in rows.items() if name != "thumbs-down")
