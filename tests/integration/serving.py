"""Helpers for the tests of `reviewer serve`: a workspace with a small queue, the real server in
a child process (`python -m reviewer.cli serve`), and a browser tab without a browser (an
aiohttp websocket whose output is read by a terminal emulator, pyte, so a test can wait for
what the screen shows)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyte
import yaml
from sqlalchemy import Engine, text

from reviewer.serve.reviewers import add_reviewer, reviewers_path
from tests.conftest import SAMPLE_LOGS, run_import

QUEUE = "check"
ITEMS = 30
COLUMNS, ROWS = 140, 40


def make_workspace(root: Path, engine: Engine, items: int = ITEMS) -> Path:
    """A workspace at `root` whose queue `check` holds `items` support calls, one review each,
    no rubric (p and f give the verdict at once); its records imported into `engine`."""
    (root / "queues").mkdir(parents=True)
    (root / "prompts").mkdir()
    queue = {
        "name": QUEUE,
        "description": "support calls for the server tests",
        "filter": {"format": "anthropic"},
        "sample": {"size": items, "seed": 3},
        "order": "oldest",
        "reviews_per_item": 1,
    }
    (root / "queues" / f"{QUEUE}.yaml").write_text(yaml.safe_dump(queue), encoding="utf-8")
    run_import(engine, SAMPLE_LOGS / "support-chat.anthropic.jsonl")
    return root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    """A running `reviewer serve` and the tokens of its reviewers."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path
    workspace: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def app_pids(self) -> list[int]:
        """The app processes of the open tabs (the server's children)."""
        return children(self.process.pid)


def children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(x) for x in f.read().split()]
    return found


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB (from /proc)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


@contextlib.contextmanager
def serve(
    workspace: Path,
    database_url: str,
    reviewers: tuple[str, ...] = ("ana", "ben"),
    *args: str,
    log: Path | None = None,
) -> Iterator[Served]:
    """`reviewer serve` on a free port of 127.0.0.1, with a token for each of `reviewers`;
    stopped (SIGTERM, as Ctrl+C) at the end."""
    tokens = {name: add_reviewer(reviewers_path(workspace), name) for name in reviewers}
    port = free_port()
    log = log or workspace / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVIEWER_")}
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "reviewer.cli", "--workspace", str(workspace)]
            + ["--db", database_url, "serve", "--port", str(port), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    served = Served(f"http://127.0.0.1:{port}", process, log, workspace, tokens)
    try:
        deadline = time.monotonic() + 60
        while "reviewer serve:" not in served.log_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the server did not start:\n{served.log_text()}")
            time.sleep(0.05)
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class Screen:
    """A terminal that the app's output is written to (what a browser's xterm shows)."""

    def __init__(self, columns: int = COLUMNS, rows: int = ROWS) -> None:
        self.screen = pyte.Screen(columns, rows)
        self.stream = pyte.ByteStream(self.screen)

    def resize(self, columns: int, rows: int) -> None:
        self.screen.resize(rows, columns)

    def feed(self, data: bytes) -> None:
        self.stream.feed(data)

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)


class Tab:
    """A logged-in browser tab without a browser: the login and the websocket a page makes,
    and the screen its terminal shows."""

    def __init__(self, url: str) -> None:
        import aiohttp

        self.url = url
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.screen = Screen()
        self.ws: Any = None
        self.closed = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def login(self, token: str) -> Any:
        return await self.http.post(
            f"{self.url}/login",
            data={"token": token},
            headers={"Accept": "application/json", "Origin": self.url},
        )

    async def open(self, queue: str | None = None) -> None:
        path = f"/ws/queue/{queue}" if queue else "/ws"
        self.ws = await self.http.ws_connect(
            f"{self.url.replace('http', 'ws', 1)}{path}?width={COLUMNS}&height={ROWS}",
            origin=self.url,
        )
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        import aiohttp

        try:
            async for message in self.ws:
                if message.type == aiohttp.WSMsgType.BINARY:
                    self.screen.feed(message.data)
        finally:
            self.closed.set()

    async def wait_for(self, pattern: str, timeout: float = 90) -> re.Match[str]:
        """Wait until the screen shows `pattern` (a regular expression)."""
        deadline = time.monotonic() + timeout
        while True:
            found = re.search(pattern, self.screen.text())
            if found:
                return found
            if self.closed.is_set() or time.monotonic() > deadline:
                raise AssertionError(f"the screen never showed {pattern!r}:\n{self.screen.text()}")
            await asyncio.sleep(0.05)

    async def press(self, *keys: str) -> None:
        for key in keys:
            await self.ws.send_json(["stdin", key])

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await self._reader
        await self.http.close()


async def logged_in(url: str, token: str, queue: str | None = None) -> Tab:
    tab = Tab(url)
    response = await tab.login(token)
    assert response.status == 200, await response.text()
    await tab.open(queue)
    return tab


def verdicts(engine: Engine) -> list[tuple[str, int, str]]:
    """(reviewer, queue item, verdict) of every verdict event, in order."""
    with engine.connect() as conn:
        return [
            (r.reviewer, r.queue_item_id, r.verdict)
            for r in conn.execute(
                text(
                    "SELECT reviewer, queue_item_id, verdict FROM review_events "
                    "WHERE action = 'verdict' ORDER BY id"
                )
            )
        ]


async def until(condition: Any, timeout: float = 90, what: str = "") -> None:
    """Wait until `condition()` holds (polled; the database is in another process)."""
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(condition):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.05)
