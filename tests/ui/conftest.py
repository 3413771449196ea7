"""A workspace with the demo logs and the shipped queues, and helpers to drive the app."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, text
from textual.events import Key
from textual.pilot import Pilot
from textual.worker import WorkerCancelled, WorkerFailed

from reviewer.store.db import open_engine, sqlite_url
from reviewer.tui.app import ReviewerApp
from tests.conftest import REPO, SAMPLE_LOGS, run_import

SIZE = (160, 48)


@contextlib.contextmanager
def lab_workspace(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    prompt: str,
    questions: int,
    responder: Any,
    themes: dict[int, list[str]] | None = None,
) -> Iterator[tuple[Path, Engine, Any]]:
    """A workspace with prompts/support.yaml (`prompt`), a dataset `returns` of `questions` cases
    ("Question N?", case N with `themes[N]`), and the openai SDK pointed at a fake server
    answering with `responder`."""
    from reviewer.datasets.store import import_items
    from tests.fake_llm import FakeLLM

    ws = tmp_path / "ws"
    (ws / "prompts").mkdir(parents=True)
    (ws / "queues").mkdir()
    (ws / "prompts" / "support.yaml").write_text(prompt)
    engine = open_engine(sqlite_url(ws / ".reviewer" / "reviewer.db"))
    lines: list[dict[str, Any]] = [
        {"id": f"i{i}", "messages": [{"role": "user", "content": f"Question {i}?"}]}
        for i in range(questions)
    ]
    for i, names in (themes or {}).items():
        lines[i]["themes"] = names
    path = tmp_path / "ds.jsonl"
    path.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    assert import_items(engine, "returns", path, by="ana").ok
    try:
        with FakeLLM(responder=responder) as fake:
            monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret")
            monkeypatch.setenv("OPENAI_BASE_URL", fake.openai_url)
            yield ws, engine, fake
    finally:
        engine.dispose()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "shop"
    shutil.copytree(REPO / "queues", ws / "queues")
    (ws / "prompts").mkdir()
    return ws


@pytest.fixture
def ws_engine(workspace: Path) -> Iterator[Engine]:
    engine = open_engine(sqlite_url(workspace / ".reviewer" / "reviewer.db"))
    # paths as the CLI stores them (relative), so screens do not depend on where the repo is
    run_import(engine, SAMPLE_LOGS, label=lambda p: str(Path(p).relative_to(REPO)))
    yield engine
    engine.dispose()


def make_app(engine: Engine, workspace: Path, reviewer: str = "ana", **kwargs: Any) -> ReviewerApp:
    return ReviewerApp(engine, workspace, reviewer, **kwargs)


async def settle(pilot: Pilot[Any]) -> None:
    """Wait until every worker is finished and the screen has caught up (a worker's message may
    start another worker, so until none is left running)."""
    app = pilot.app
    for _ in range(10):
        await pilot.pause()
        with contextlib.suppress(WorkerCancelled, WorkerFailed):
            await app.workers.wait_for_complete()
        await pilot.pause()
        if not any(w.is_running for w in app.workers):
            break


async def until(pilot: Pilot[Any], condition: Callable[[], bool], *, frames: int = 100) -> None:
    """Wait, a frame at a time, until `condition` holds: for what happens on a later refresh
    (a layout, the scroll that follows it), which waiting for workers does not cover."""
    for _ in range(frames):
        if condition():
            return
        await pilot.pause(1 / 60)
    raise AssertionError(f"still not true after {frames} frames: {condition}")


async def press(pilot: Pilot[Any], *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


def type_burst(app: ReviewerApp, keys: list[str]) -> None:
    """The keys as a terminal delivers a burst: all queued at once, none waiting for the app
    (Pilot's press waits until the app is idle after each key, database threads included)."""
    for key in keys:
        app.post_message(Key(key, key if len(key) == 1 else None))


def events(engine: Engine, **where: Any) -> list[dict[str, Any]]:
    cond = " AND ".join(f"{k} = :{k}" for k in where) or "1=1"
    with engine.connect() as conn:
        rows = (
            conn.execute(text(f"SELECT * FROM review_events WHERE {cond} ORDER BY id"), where)
            .mappings()
            .all()
        )
    out = []
    for row in rows:
        r = dict(row)
        r["scores"] = orjson.loads(r["scores"]) if r["scores"] else {}
        r["themes"] = orjson.loads(r["themes"]) if r["themes"] else []
        out.append(r)
    return out


def item_status(engine: Engine, queue_item_id: int) -> str:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT status FROM queue_items WHERE id = :i"), {"i": queue_item_id}
        ).scalar_one()


def screen_text(app: ReviewerApp) -> str:
    """What the terminal shows, as plain text (from the SVG screenshot's text)."""
    import html
    import re

    svg = app.export_screenshot()
    rows = re.findall(r"<text[^>]*>(.*?)</text>", svg)
    return html.unescape("".join(rows)).replace("\xa0", " ")


def record_notices(app: Any, *, titled: bool = False) -> list[Any]:
    """Every notification the app shows, in order: its message (with `titled`, a (title,
    message) pair)."""
    said: list[Any] = []
    shown = app.notify

    def notify(message: Any, *args: Any, **kwargs: Any) -> Any:
        said.append((kwargs.get("title", ""), str(message)) if titled else str(message))
        return shown(message, *args, **kwargs)

    app.notify = notify
    return said
