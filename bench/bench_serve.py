"""`reviewer serve` benchmark: memory per open tab, and the time from login to the first item.

    python bench/bench_serve.py [TABS] [--screenshot PATH]   # default 10 tabs

Copies the demo workspace (queues/, prompts/) to bench/out/serve/, imports sample_logs/ into
it once, starts `reviewer serve` on a free port of 127.0.0.1 with one reviewer per tab, and
drives headless Chromium (Debian's /usr/bin/chromium, through Playwright). Measured:

- login to the first item on screen: from opening a login link that names a queue
  (`/login?queue=thumbs-down#token=...`) to the review screen's first item drawn in the page's
  terminal (read from the websocket, as the browser's terminal gets it), one tab alone, 5 times;
- login to the home screen, the same way, 5 times;
- memory: the resident memory (RSS, from /proc) of each tab's app process with TABS tabs open
  at once, each on the review screen, and of the server;
- login to the first item for TABS tabs opened at the same moment, in Chromium (which then
  shares this machine's 2 cores with the apps) and without a browser (each tab's login and
  websocket made by aiohttp, its screen read by pyte: what the server side takes alone).

With --screenshot, a PNG of a tab on the review screen (the README's picture).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
QUEUE = "thumbs-down"
HEADER = QUEUE + r"\s+·\s+\d+ / \d+"
HOME = r"Queues\s+\(enter opens one"


def prepare() -> Path:
    ws = HERE / "out" / "serve"
    if not (ws / ".reviewer" / "reviewer.db").exists():
        shutil.rmtree(ws, ignore_errors=True)
        for folder in ("queues", "prompts", "sample_logs"):
            shutil.copytree(REPO / folder, ws / folder)
        subprocess.run(
            [sys.executable, "-m", "reviewer.cli", "import", "sample_logs/"],
            cwd=ws,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    (ws / ".reviewer" / "reviewers.yaml").unlink(missing_ok=True)
    return ws


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            found += [int(x) for x in f.read().split()]
    return found


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Tab:
    """A browser page and the screen its terminal shows."""

    def __init__(self, browser: Any) -> None:
        import pyte

        self.context = browser.new_context(viewport={"width": 1280, "height": 720})
        self.page = self.context.new_page()
        self.screen = pyte.Screen(80, 24)
        self.stream = pyte.ByteStream(self.screen)
        self.page.on("websocket", self._websocket)

    def _websocket(self, ws: Any) -> None:
        from urllib.parse import parse_qs, urlsplit

        size = parse_qs(urlsplit(ws.url).query)
        self.screen.resize(int(size["height"][0]), int(size["width"][0]))
        ws.on("framereceived", lambda p: isinstance(p, bytes) and self.stream.feed(p))

    def shows(self, pattern: str) -> bool:
        return re.search(pattern, "\n".join(self.screen.display)) is not None

    def close(self) -> None:
        self.context.close()


def wait_all(tabs: list[Tab], pattern: str, timeout: float = 180) -> list[float]:
    """Seconds until each tab shows `pattern` (from when this is called)."""
    start = time.perf_counter()
    seen: dict[int, float] = {}
    while len(seen) < len(tabs):
        for i, tab in enumerate(tabs):
            if i not in seen and tab.shows(pattern):
                seen[i] = time.perf_counter() - start
        if time.perf_counter() - start > timeout:
            raise SystemExit(f"timed out: {len(seen)} of {len(tabs)} tabs showed {pattern!r}")
        tabs[0].page.wait_for_timeout(10)
    return [seen[i] for i in range(len(tabs))]


async def without_browser(url: str, tokens: list[str]) -> list[float]:
    """Seconds from login to the first item for every token's tab, all started at once."""
    import asyncio

    import aiohttp
    import pyte

    async def tab(token: str) -> float:
        start = time.perf_counter()
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            await http.post(
                f"{url}/login",
                data={"token": token},
                headers={"Accept": "application/json", "Origin": url},
            )
            screen = pyte.Screen(140, 40)
            stream = pyte.ByteStream(screen)
            ws_url = f"{url.replace('http', 'ws', 1)}/ws/queue/{QUEUE}?width=140&height=40"
            async with http.ws_connect(ws_url, origin=url) as ws:
                async for message in ws:
                    if message.type == aiohttp.WSMsgType.BINARY:
                        stream.feed(message.data)
                        if re.search(HEADER, "\n".join(screen.display)):
                            return time.perf_counter() - start
        raise SystemExit("a tab closed before its first item")

    return list(await asyncio.gather(*(tab(t) for t in tokens)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("tabs", nargs="?", type=int, default=10)
    parser.add_argument("--screenshot", type=Path)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from reviewer.serve.reviewers import add_reviewer, reviewers_path

    ws = prepare()
    tokens = [add_reviewer(reviewers_path(ws), f"reviewer-{i:02d}") for i in range(args.tabs)]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = HERE / "out" / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REVIEWER_", "OPENAI_"))}
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "reviewer.cli", "--workspace", str(ws), "serve"]
            + ["--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        while b"reviewer serve:" not in log.read_bytes():
            if server.poll() is not None:
                raise SystemExit(log.read_text())
            time.sleep(0.05)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            print(f"reviewer serve, {args.tabs} reviewers, Chromium {browser.version}")

            def one(link: str, pattern: str) -> float:
                tab = Tab(browser)
                start = time.perf_counter()
                tab.page.goto(link)
                took = time.perf_counter() - start + wait_all([tab], pattern)[0]
                tab.close()
                while children(server.pid):  # its app process has quit
                    time.sleep(0.05)
                return took

            first = [one(f"{url}/login?queue={QUEUE}#token={tokens[0]}", HEADER) for _ in range(5)]
            home = [one(f"{url}/login#token={tokens[0]}", HOME) for _ in range(5)]
            print(
                f"login to the first item on screen, one tab: median {statistics.median(first):.2f} s"
                f" (min {min(first):.2f}, max {max(first):.2f})"
            )
            print(
                f"login to the home screen, one tab: median {statistics.median(home):.2f} s"
                f" (min {min(home):.2f}, max {max(home):.2f})"
            )

            tabs = [Tab(browser) for _ in tokens]
            start = time.perf_counter()
            for tab, token in zip(tabs, tokens, strict=True):
                tab.page.goto(f"{url}/login?queue={QUEUE}#token={token}", wait_until="commit")
            opened = time.perf_counter() - start
            together = [opened + t for t in wait_all(tabs, HEADER)]
            time.sleep(2)  # let the apps finish their background work (the queue sync)
            apps = children(server.pid)
            sizes = sorted(rss_mb(pid) for pid in apps)
            print(
                f"{len(tabs)} tabs opened at once: login to the first item median "
                f"{statistics.median(together):.2f} s, slowest {max(together):.2f} s"
            )
            print(
                f"memory per open tab (RSS of its app process, {len(sizes)} tabs): median "
                f"{statistics.median(sizes):.0f} MB (min {sizes[0]:.0f}, max {sizes[-1]:.0f}); "
                f"the server {rss_mb(server.pid):.0f} MB"
            )
            if args.screenshot:
                shot = tabs[0]
                shot.page.bring_to_front()
                shot.page.wait_for_timeout(500)
                shot.page.screenshot(path=str(args.screenshot))
                print(f"screenshot: {args.screenshot}")
            for tab in tabs:
                tab.close()
            browser.close()
        while children(server.pid):
            time.sleep(0.05)
        import asyncio

        bare = asyncio.run(without_browser(url, tokens))
        print(
            f"{len(tokens)} tabs opened at once without a browser: login to the first item "
            f"median {statistics.median(bare):.2f} s, slowest {max(bare):.2f} s"
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


if __name__ == "__main__":
    main()
