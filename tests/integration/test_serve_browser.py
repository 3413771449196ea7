"""`reviewer serve` in a real browser: Debian's headless Chromium driven by Playwright (its
Python package talks to the Chromium installed on the machine: no browser is downloaded).
A reviewer logs in with the link `add-reviewer` printed, opens a queue, presses f and p, and
the database holds the verdicts as hers; a wrong token sees no app; the page asks nothing of
any host but the server."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.integration.serving import (
    QUEUE,
    Screen,
    Served,
    make_workspace,
    serve,
    verdicts,
)
from tests.unit.test_report import chromium, needs_chromium

pytestmark = needs_chromium


@pytest.fixture
def served(tmp_path: Path, engine: Engine) -> Iterator[Served]:
    workspace = make_workspace(tmp_path / "ws", engine)
    url = f"sqlite:///{workspace / '.reviewer' / 'reviewer.db'}"
    with serve(workspace, url) as running:
        yield running


class Browser:
    """One headless Chromium page, with every request it made and the screen its terminal
    shows (the app's output, read from the websocket frames the page received)."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.requests: list[str] = []
        self.websockets: list[str] = []
        self.errors: list[str] = []
        self.screen = Screen()
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("websocket", self._websocket)
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))

    def _websocket(self, ws: Any) -> None:
        from urllib.parse import parse_qs, urlsplit

        url = urlsplit(ws.url)
        self.websockets.append(f"{url.scheme}://{url.netloc}{url.path}")
        size = parse_qs(url.query)  # the terminal's size, as the page measured it
        self.screen.resize(int(size["width"][0]), int(size["height"][0]))
        ws.on("framereceived", self._frame)
        ws.on("framesent", self._sent)

    def _sent(self, payload: Any) -> None:
        if isinstance(payload, str) and payload.startswith('["resize"'):
            size = json.loads(payload)[1]
            self.screen.resize(size["width"], size["height"])

    def _frame(self, payload: Any) -> None:
        if isinstance(payload, bytes):  # the app's output (text frames are pings and pongs)
            self.screen.feed(payload)

    def wait_for(self, pattern: str, timeout: float = 90) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            found = re.search(pattern, self.screen.text())
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"the page never showed {pattern!r}:\n{self.screen.text()}")
            self.page.wait_for_timeout(50)


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


def open_page(browser: Any) -> Browser:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    return Browser(context.new_page())


def test_a_reviewer_logs_in_by_link_and_reviews_in_the_browser(
    served: Served, browser: Any, engine: Engine
) -> None:
    tab = open_page(browser)
    # the link as it arrives, in a mail or a chat: clicked on a page of another site
    link = f"{served.url}/login#token={served.tokens['ana']}"
    tab.page.set_content(f'<a id="link" href="{link}">log in</a>')
    tab.page.click("#link")
    tab.page.wait_for_url(f"{served.url}/")
    tab.page.wait_for_selector("body.-first-byte")
    tab.wait_for(r"reviewer ana")
    tab.wait_for(QUEUE + r"\s.*?0%\s+30\s+30")
    tab.page.keyboard.press("Enter")  # opens the highlighted (only) queue
    first = tab.wait_for(QUEUE + r"\s+·\s+1 / 30")
    assert first
    tab.page.keyboard.press("f")
    tab.wait_for(QUEUE + r"\s+·\s+2 / 30")
    tab.page.keyboard.press("p")
    tab.wait_for(QUEUE + r"\s+·\s+3 / 30")
    done = verdicts(engine)
    assert [(name, verdict) for name, _, verdict in done] == [("ana", "fail"), ("ana", "pass")]
    assert done[0][1] != done[1][1]

    # nothing went anywhere but the server: pages, script, stylesheet, font, websocket
    port = served.url.rsplit(":", 1)[1]
    assert tab.requests and all(u.startswith(f"{served.url}/") for u in tab.requests), tab.requests
    assert tab.websockets == [f"ws://127.0.0.1:{port}/ws"]
    paths = {u.removeprefix(served.url) for u in tab.requests}
    assert {
        "/login",
        "/public/login.js",
        "/",
        "/static/js/textual.js",
        "/static/css/xterm.css",
        "/static/page.js",
        "/static/fonts/RobotoMono.ttf",
    } <= paths
    assert tab.errors == []
    tab.page.context.close()


def test_a_wrong_token_sees_no_app(served: Served, browser: Any) -> None:
    tab = open_page(browser)
    tab.page.goto(f"{served.url}/login#token={served.tokens['ana']}x")
    tab.page.wait_for_selector("#message .error")
    assert "not valid" in tab.page.inner_text("#message")
    tab.page.goto(f"{served.url}/")
    assert tab.page.url == f"{served.url}/login"  # sent back to the login page
    tab.page.fill("#token", "rvw_not-a-token")
    tab.page.click("button[type=submit]")
    tab.page.wait_for_function("document.querySelector('#message').innerText.includes('not valid')")
    assert tab.websockets == []
    assert not any("/static/" in u for u in tab.requests)  # not even the app's script
    assert all(u.startswith(f"{served.url}/") for u in tab.requests)
    assert served.app_pids() == []
    tab.page.context.close()
