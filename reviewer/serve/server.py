"""The web server of `reviewer serve` (aiohttp).

Every request but the login page needs a session (`auth.Sessions`); without one a page request
goes to the login page and anything else gets 401. The app page is textual-serve's terminal
(its `textual.js`, xterm's stylesheet and the Roboto Mono font, all read from the installed
textual-serve package and served from here: the page loads nothing from another host, and its
Content-Security-Policy forbids it to). Each websocket is one browser tab: it starts one app
process (`reviewer serve app`, the app as `reviewer review` runs it, with REVIEWER_NAME set to the session's reviewer) that speaks
textual-serve's protocol over its standard input and output, and ends it when the tab closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import ipaddress
import json
import logging
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager

from reviewer.serve.auth import LoginLimit, Session, Sessions
from reviewer.serve.reviewers import ReviewerFile

log = logging.getLogger("reviewer.serve")

HERE = Path(__file__).resolve().parent
#: textual-serve's browser side: the terminal script, its stylesheet, the font it asks for.
TEXTUAL_STATIC = Path(sys.modules[AppService.__module__].__file__ or "").resolve().parent / "static"
STATIC_FILES = {
    "js/textual.js": (TEXTUAL_STATIC / "js" / "textual.js", "text/javascript"),
    "css/xterm.css": (TEXTUAL_STATIC / "css" / "xterm.css", "text/css"),
    "fonts/RobotoMono.ttf": (
        TEXTUAL_STATIC / "fonts" / "RobotoMono-VariableFont_wght.ttf",
        "font/ttf",
    ),
    "fonts/RobotoMono-Italic.ttf": (
        TEXTUAL_STATIC / "fonts" / "RobotoMono-Italic-VariableFont_wght.ttf",
        "font/ttf",
    ),
    "page.js": (HERE / "static" / "page.js", "text/javascript"),
}
#: Served without a session: what the login page needs.
PUBLIC_FILES = {"login.js": (HERE / "static" / "login.js", "text/javascript")}

COOKIE = "reviewer_session"
SWEEP_SECONDS = 2.0  # how often revoked and idle sessions are looked for (and their tabs closed)
STOP_SECONDS = 10.0  # how long a tab's app has to quit before it is killed


@dataclass
class ServeOptions:
    """What the server serves, and how."""

    workspace: Path
    database_url: str
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None
    max_tabs: int = 40
    #: The app of one tab (REVIEWER_NAME, REVIEWER_WORKSPACE and REVIEWER_DATABASE_URL are set
    #: for it in its environment).
    command: list[str] = field(
        default_factory=lambda: [sys.executable, "-m", "reviewer.cli", "serve", "app"]
    )

    @property
    def url(self) -> str:
        """Where browsers reach the server."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def secure(self) -> bool:
        return self.url.startswith("https://")


def check_public_url(url: str) -> str:
    """`url` without a trailing slash, or ValueError: an http(s) URL of a host, with no path."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"--public-url {url!r}: expected http(s)://HOST[:PORT]")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(
            f"--public-url {url!r}: the app is served at the root of its host: give no path"
        )
    return f"{parts.scheme}://{parts.netloc}"


class TabApp(AppService):
    """The app process of one browser tab, run as its own program (no shell) with the tab's
    reviewer in its environment."""

    def __init__(self, argv: list[str], env: dict[str, str], **kwargs: Any) -> None:
        import shlex

        super().__init__(shlex.join(argv), **kwargs)
        self.argv = argv
        self.env = env

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        environment = super()._build_environment(width, height)
        environment.update(self.env)
        return environment

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Any:
        self._process = process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._build_environment(width=width, height=height),
            # Ctrl+C at the server's terminal goes to the server alone, which then closes every
            # tab in order (each app quits, releasing the item it was only looking at)
            start_new_session=True,
        )
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    async def on_meta(self, data: bytes) -> None:
        """Only the app's exit closes the tab; the app asks the page to open no URL and to
        download nothing (the page opens nothing on another host)."""
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            if json.loads(data).get("type") == "exit":
                await self.remote_close()

    async def stop(self) -> None:
        """Ask the app to quit (it releases the item it only looked at), then wait for it; kill
        it when it does not quit in time."""
        with contextlib.suppress(TimeoutError, ConnectionError, RuntimeError):
            await asyncio.wait_for(super().stop(), STOP_SECONDS)
        process = self._process
        if process is None:
            return
        try:
            await asyncio.wait_for(process.wait(), STOP_SECONDS)
        except TimeoutError:
            log.warning("app process %s did not quit: killed", process.pid)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


@dataclass
class Tab:
    session_id: str
    reviewer: str
    app: TabApp
    websocket: web.WebSocketResponse


class ReviewServer:
    """The server: login, sessions, the app page, one app process per tab."""

    def __init__(self, options: ServeOptions, reviewers: ReviewerFile) -> None:
        self.options = options
        self.reviewers = reviewers
        self.sessions = Sessions()
        self.limit = LoginLimit()
        self.tabs: dict[int, Tab] = {}
        self._sweeper: asyncio.Task[None] | None = None

    # -- the application ------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._headers], client_max_size=64 * 1024)
        app.add_routes(
            [
                web.get("/", self.handle_page),
                web.get("/login", self.handle_login_page),
                web.post("/login", self.handle_login),
                web.get("/logout", self.handle_logout),
                web.post("/logout", self.handle_logout),
                web.get("/ws", self.handle_websocket),
                web.get("/ws/queue/{queue}", self.handle_websocket),
                web.get("/favicon.ico", self.handle_favicon),
                web.get("/static/{name:.+}", self.handle_static),
                web.get("/public/{name:.+}", self.handle_public),
            ]
        )
        app.on_startup.append(self._start_sweeper)
        app.on_shutdown.append(self._close_tabs)
        return app

    @web.middleware
    async def _headers(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Every response: nothing from another host, no framing, no referrer, no caching of
        pages."""
        try:
            response: web.StreamResponse = await handler(request)
        except web.HTTPException as exc:  # a redirect, a 401, a 404 ...
            self._set_headers(request, exc)
            raise
        self._set_headers(request, response)
        return response

    def _set_headers(self, request: web.Request, response: web.StreamResponse) -> None:
        ws = self._websocket_url(request)
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            f"font-src 'self'; img-src 'self' data:; connect-src 'self' {ws}; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if not request.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")

    # -- who is asking --------------------------------------------------------------------

    def client_address(self, request: web.Request) -> str:
        """The browser's address: behind a proxy on this machine (with --public-url), the
        address the proxy appended to X-Forwarded-For, else the peer's."""
        peer = request.remote or "?"
        forwarded = request.headers.get("X-Forwarded-For")
        if self.options.public_url and forwarded and _is_loopback(peer):
            last = forwarded.split(",")[-1].strip()
            if last:
                return last
        return peer

    def session(self, request: web.Request) -> Session | None:
        return self.sessions.get(request.cookies.get(self.cookie_name), self.reviewers.still_valid)

    @property
    def cookie_name(self) -> str:
        # __Host-: the browser sends it only to this host over https, on every path
        return f"__Host-{COOKIE}" if self.options.secure else COOKIE

    def _origin_ok(self, request: web.Request) -> bool:
        """A login or a websocket comes from a page of this server (a page elsewhere cannot
        send them: the cookie is SameSite=Strict; this is the second lock)."""
        origin = request.headers.get("Origin")
        if origin is None:
            return request.method == "GET"  # not a browser's cross-site request
        allowed = {self.options.url}
        if not self.options.public_url:
            allowed.add(f"http://{request.host}")
        return origin in allowed

    def _websocket_url(self, request: web.Request, queue: str | None = None) -> str:
        """The app's websocket, as the page must name it (wss:// behind https); with `queue`,
        the app opens on that queue's review screen."""
        from urllib.parse import quote

        base = self.options.url if self.options.public_url else f"http://{request.host}"
        scheme, rest = base.split("://", 1)
        path = f"/ws/queue/{quote(queue, safe='')}" if queue else "/ws"
        return f"{'wss' if scheme == 'https' else 'ws'}://{rest}{path}"

    def _queue(self, name: str | None) -> str | None:
        """`name` when the workspace has a queue of that name, else None (the home screen)."""
        if not name:
            return None
        from reviewer.review.queues import load_queues

        names = {q.name for q in load_queues(self.options.workspace)[0]}
        return name if name in names else None

    # -- pages ----------------------------------------------------------------------------

    async def handle_page(self, request: web.Request) -> web.StreamResponse:
        session = self.session(request)
        if session is None:
            raise web.HTTPSeeOther("/login")
        body = _page(
            "app.html",
            reviewer=html.escape(session.reviewer),
            websocket_url=html.escape(
                self._websocket_url(request, self._queue(request.query.get("queue")))
            ),
            font_size=str(_int(request.query.get("fontsize"), 16, 8, 40)),
        )
        return web.Response(text=body, content_type="text/html")

    async def handle_login_page(self, request: web.Request) -> web.StreamResponse:
        return web.Response(
            text=_page("login.html", message=""),
            content_type="text/html",
            status=200,
        )

    async def handle_login(self, request: web.Request) -> web.StreamResponse:
        """POST /login, token=...: a session and its cookie, then the app. From the login
        page's script (it answers JSON) or its form (a page)."""
        wants_json = "application/json" in request.headers.get("Accept", "")
        address = self.client_address(request)
        if not self._origin_ok(request):
            return _refusal(403, "This login did not come from the login page.", wants_json)
        wait = self.limit.retry_after(address)
        if wait:
            log.warning("login refused: too many failed logins from %s", address)
            return _refusal(
                429,
                f"Too many failed logins from your address: try again in {wait} s.",
                wants_json,
                headers={"Retry-After": str(wait)},
            )
        form = await request.post()
        token = form.get("token")
        reviewer = self.reviewers.who(token) if isinstance(token, str) and token else None
        if reviewer is None:
            self.limit.failed(address)
            log.warning("failed login from %s", address)
            message = "That token is not valid (mistyped, or revoked): ask for a new login link."
            if self.reviewers.error:
                log.error("%s", self.reviewers.error)
                message = "The server's list of reviewers cannot be read: tell its operator."
            return _refusal(401, message, wants_json)
        session = self.session(request)  # a second tab of a logged-in browser keeps its session
        if session is None or session.token_sha256 != reviewer.token_sha256:
            session = self.sessions.start(reviewer.name, reviewer.token_sha256)
        log.info("%s logged in from %s", reviewer.name, address)
        response: web.StreamResponse
        if wants_json:
            response = web.json_response({"reviewer": reviewer.name, "next": "/"})
        else:
            response = web.HTTPSeeOther("/")
        response.set_cookie(
            self.cookie_name,
            session.id,
            path="/",
            httponly=True,
            samesite="Strict",
            secure=self.options.secure,
        )
        return response

    async def handle_logout(self, request: web.Request) -> web.StreamResponse:
        session_id = request.cookies.get(self.cookie_name)
        self.sessions.end(session_id)
        await self._close_tabs_of({session_id} if session_id else set(), "logged out")
        response = web.HTTPSeeOther("/login")
        response.del_cookie(self.cookie_name, path="/")
        return response

    async def handle_favicon(self, request: web.Request) -> web.StreamResponse:
        return web.Response(status=204)

    async def handle_static(self, request: web.Request) -> web.StreamResponse:
        if self.session(request) is None:
            raise web.HTTPUnauthorized(text="log in first: /login")
        return _file(STATIC_FILES, request.match_info["name"])

    async def handle_public(self, request: web.Request) -> web.StreamResponse:
        return _file(PUBLIC_FILES, request.match_info["name"])

    # -- tabs -----------------------------------------------------------------------------

    async def handle_websocket(self, request: web.Request) -> web.StreamResponse:
        session = self.session(request)
        if session is None:
            raise web.HTTPUnauthorized(text="log in first: /login")
        if not self._origin_ok(request):
            raise web.HTTPForbidden(text="not from a page of this server")
        websocket = web.WebSocketResponse(heartbeat=15, max_msg_size=1024 * 1024)
        await websocket.prepare(request)
        if len(self.tabs) >= self.options.max_tabs:
            log.warning("tab refused for %s: %d tabs open", session.reviewer, len(self.tabs))
            await websocket.send_bytes(
                f"\r\n  The server runs {len(self.tabs)} tabs, its most (--max-tabs): close "
                "one, then reload this page.\r\n".encode()
            )
            await websocket.close()
            return websocket
        queue = self._queue(request.match_info.get("queue"))
        command = [*self.options.command, *(["--", queue] if queue else [])]
        env = {
            "REVIEWER_NAME": session.reviewer,
            "REVIEWER_WORKSPACE": str(self.options.workspace),
            "REVIEWER_DATABASE_URL": self.options.database_url,
        }
        app = TabApp(
            command,
            env,
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            download_manager=DownloadManager(),
        )
        tab = Tab(session.id, session.reviewer, app, websocket)
        self.tabs[id(websocket)] = tab
        try:
            await app.start(
                _int(request.query.get("width"), 80, 20, 1000),
                _int(request.query.get("height"), 24, 5, 500),
            )
            log.info("tab opened for %s (app process %s)", session.reviewer, app.pid)
            await self._relay(websocket, tab)
        finally:
            await app.stop()
            self.tabs.pop(id(websocket), None)
            log.info("tab closed for %s (app process %s)", session.reviewer, app.pid)
        return websocket

    async def _relay(self, websocket: web.WebSocketResponse, tab: Tab) -> None:
        """The browser's keys, clicks and size to the app, while the session lasts."""
        app = tab.app
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            if self.sessions.get(tab.session_id, self.reviewers.still_valid) is None:
                break
            try:
                envelope = json.loads(message.data)
                kind, data = envelope[0], envelope[1] if len(envelope) > 1 else None
            except (ValueError, TypeError, IndexError, KeyError):
                continue
            if kind == "stdin" and isinstance(data, str):
                await app.send_bytes(data.encode("utf-8", "replace"))
            elif kind == "resize" and isinstance(data, dict):
                await app.set_terminal_size(
                    _int(data.get("width"), 80, 20, 1000), _int(data.get("height"), 24, 5, 500)
                )
            elif kind == "ping":
                await websocket.send_json(["pong", str(data)[:32]])
            elif kind == "blur":
                await app.blur()
            elif kind == "focus":
                await app.focus()

    async def _close_tabs_of(self, session_ids: set[str], why: str) -> None:
        for tab in list(self.tabs.values()):
            if tab.session_id in session_ids:
                log.info("closing a tab of %s: %s", tab.reviewer, why)
                await tab.websocket.close()

    async def _start_sweeper(self, app: web.Application) -> None:
        self._sweeper = asyncio.create_task(self._sweep())

    async def _sweep(self) -> None:
        """Close the tabs of sessions that ended (revoked, given a new token, idle)."""
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                gone = self.sessions.sweep(self.reviewers.still_valid)
                live = {tab.session_id for tab in self.tabs.values()}
                orphans = {sid for sid in live if sid not in self.sessions}
                if gone or orphans:
                    await self._close_tabs_of({s.id for s in gone} | orphans, "session ended")
            except Exception:  # never let the sweeper die
                log.exception("sweeping sessions failed")

    async def _close_tabs(self, app: web.Application) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        tabs = list(self.tabs.values())
        for tab in tabs:
            with contextlib.suppress(Exception):
                await tab.websocket.close()
        await asyncio.gather(*(tab.app.stop() for tab in tabs), return_exceptions=True)


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _int(value: Any, default: int, low: int, high: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return min(max(number, low), high)


def _page(name: str, **values: str) -> str:
    """A page of pages/ with its $names filled in (values are escaped by the caller)."""
    from string import Template

    return Template((HERE / "pages" / name).read_text(encoding="utf-8")).substitute(values)


def _file(files: dict[str, tuple[Path, str]], name: str) -> web.StreamResponse:
    found = files.get(name)
    if found is None:
        raise web.HTTPNotFound()
    path, content_type = found
    return web.FileResponse(path, headers={"Content-Type": content_type})


def _refusal(
    status: int, message: str, wants_json: bool, headers: dict[str, str] | None = None
) -> web.StreamResponse:
    if wants_json:
        return web.json_response({"error": message}, status=status, headers=headers)
    body = _page("login.html", message=f'<p class="error">{html.escape(message)}</p>')
    return web.Response(text=body, content_type="text/html", status=status, headers=headers)


def serve(options: ServeOptions, reviewers: ReviewerFile, ready: Any = None) -> None:
    """Run the server until interrupted (Ctrl+C or SIGTERM); `ready()` is called once it
    listens."""
    server = ReviewServer(options, reviewers)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        # no access log: a request line is no business of the log (and paths are all it has)
        runner = web.AppRunner(server.make_app(), access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, options.host, options.port)
            await site.start()
            if ready is not None:
                ready()
            await stop.wait()
            log.info("stopping: closing %d tabs", len(server.tabs))
        finally:
            await runner.cleanup()

    asyncio.run(main())
