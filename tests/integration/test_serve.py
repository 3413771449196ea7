"""`reviewer serve` over real HTTP and websockets: the real server in a child process, real app
processes for the tabs (one per websocket), what they save read from the database. No browser
here (tests/integration/test_serve_browser.py has one): a tab is the page's login request and
websocket, its screen read by a terminal emulator."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import Engine, text

from reviewer.serve.reviewers import reviewers_path, revoke_reviewer
from tests.integration.serving import (
    ITEMS,
    QUEUE,
    Tab,
    logged_in,
    make_workspace,
    serve,
    until,
    verdicts,
)

HEADER = QUEUE + r"\s+·\s+(\d+) / " + str(ITEMS)  # the review screen: "check · 3 / 30"


def sqlite_url(workspace: Path) -> str:
    return f"sqlite:///{workspace / '.reviewer' / 'reviewer.db'}"


@pytest.fixture
def workspace(tmp_path: Path, engine: Engine) -> Path:
    # the `engine` fixture's database is <tmp>/ws/.reviewer/reviewer.db: the workspace's own
    return make_workspace(tmp_path / "ws", engine)


def claims(engine: Engine) -> list[tuple[str, int]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT reviewer, queue_item_id FROM claims"))]


async def test_two_reviewers_review_as_themselves_and_see_each_others_progress(
    workspace: Path, engine: Engine
) -> None:
    with serve(workspace, sqlite_url(workspace)) as served:
        home = await logged_in(served.url, served.tokens["ana"])
        await home.wait_for(r"reviewer ana")
        await home.wait_for(QUEUE + r"\s.*?0%\s+30\s+30\s+0\s+0")
        ana = await logged_in(served.url, served.tokens["ana"], QUEUE)
        ben = await logged_in(served.url, served.tokens["ben"], QUEUE)
        await ana.wait_for(HEADER)
        await ben.wait_for(HEADER)
        await until(lambda: len(claims(engine)) == 2, what="both tabs holding an item")
        held = dict(claims(engine))
        assert set(held) == {"ana", "ben"} and held["ana"] != held["ben"]

        await ana.press("f")
        await ben.press("p", "p")
        await until(lambda: len(verdicts(engine)) == 3, what="three verdicts")
        done = verdicts(engine)
        assert sorted(v for v in done if v[0] == "ana") == [("ana", held["ana"], "fail")]
        bens = [v for v in done if v[0] == "ben"]
        assert [v[2] for v in bens] == ["pass", "pass"] and bens[0][1] == held["ben"]
        assert len({v[1] for v in done}) == 3  # no item twice

        # ana's home tab shows the others' progress after a refresh (r)
        await home.press("r")
        await home.wait_for(QUEUE + r"\s.*?10%\s+30\s+27\s+3\s+0")
        for tab in (home, ana, ben):
            await tab.close()


async def test_without_a_session_there_is_no_app(workspace: Path) -> None:
    with serve(workspace, sqlite_url(workspace)) as served:
        async with aiohttp.ClientSession() as http:
            page = await http.get(f"{served.url}/", allow_redirects=False)
            assert page.status == 303 and page.headers["Location"] == "/login"
            login = await http.get(f"{served.url}/login")
            assert login.status == 200 and 'name="token"' in await login.text()
            for path in ("/static/js/textual.js", "/static/fonts/RobotoMono.ttf", "/ws"):
                assert (await http.get(f"{served.url}{path}")).status == 401, path
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(f"{served.url}/ws", origin=served.url)
            assert refused.value.status == 401

            wrong = await http.post(
                f"{served.url}/login",
                data={"token": served.tokens["ana"] + "x"},
                headers={"Accept": "application/json", "Origin": served.url},
            )
            assert wrong.status == 401
            assert "not valid" in (await wrong.json())["error"]
            assert not wrong.cookies and len(http.cookie_jar) == 0
            assert (await http.get(f"{served.url}/", allow_redirects=False)).status == 303
            # a form post (no script) gets the login page again, with the reason
            form = await http.post(
                f"{served.url}/login", data={"token": "nope"}, headers={"Origin": served.url}
            )
            assert form.status == 401 and "not valid" in await form.text()
        assert served.app_pids() == []  # no app process was ever started
        assert "failed login from 127.0.0.1" in served.log_text()


async def test_the_session_cookie_and_the_page(workspace: Path) -> None:
    with serve(workspace, sqlite_url(workspace)) as served:
        token = served.tokens["ana"]
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            login = await http.post(
                f"{served.url}/login",
                data={"token": token},
                headers={"Accept": "application/json", "Origin": served.url},
            )
            assert login.status == 200 and await login.json() == {"reviewer": "ana", "next": "/"}
            cookie = login.headers["Set-Cookie"]
            assert cookie.startswith("reviewer_session=")
            assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
            assert "Secure" not in cookie  # plain http on 127.0.0.1
            assert token not in cookie and token[4:20] not in cookie
            page = await http.get(f"{served.url}/")
            body = await page.text()
            assert page.status == 200
            port = served.url.rsplit(":", 1)[1]
            assert f'data-session-websocket-url="ws://127.0.0.1:{port}/ws"' in body
            csp = page.headers["Content-Security-Policy"]
            assert "default-src 'none'" in csp and "script-src 'self'" in csp
            assert f"connect-src 'self' ws://127.0.0.1:{port}/ws" in csp
            assert "frame-ancestors 'none'" in csp
            assert page.headers["Cache-Control"] == "no-store"
            # every asset the page names is served by this server, and nothing else is named
            assert "http" not in body.replace(f"ws://127.0.0.1:{port}/ws", "")
            for path in ("/static/js/textual.js", "/static/css/xterm.css"):
                assert (await http.get(f"{served.url}{path}")).status == 200
            font = await http.get(f"{served.url}/static/fonts/RobotoMono.ttf")
            assert font.status == 200 and font.headers["Content-Type"] == "font/ttf"
            # a websocket opened by a page of another site is refused, session or not
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(
                    f"{served.url.replace('http', 'ws')}/ws", origin="http://evil.example"
                )
            assert refused.value.status == 403
            logout = await http.get(f"{served.url}/logout", allow_redirects=False)
            assert logout.status == 303
            assert (await http.get(f"{served.url}/", allow_redirects=False)).status == 303


async def test_behind_a_tls_proxy_the_cookie_is_secure_and_the_websocket_wss(
    workspace: Path,
) -> None:
    public = "https://review.example.org"
    with serve(workspace, sqlite_url(workspace), ("ana",), "--public-url", public) as served:
        async with aiohttp.ClientSession() as http:
            login = await http.post(
                f"{served.url}/login",
                data={"token": served.tokens["ana"]},
                headers={"Accept": "application/json", "Origin": public},
            )
            assert login.status == 200
            cookie = login.headers["Set-Cookie"]
            assert cookie.startswith("__Host-reviewer_session=")
            assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
            session = cookie.split(";", 1)[0]
            page = await http.get(f"{served.url}/", headers={"Cookie": session})
            assert page.status == 200
            assert 'data-session-websocket-url="wss://review.example.org/ws"' in await page.text()
            # a login posted from the plain-http address is not from the public page
            other = await http.post(
                f"{served.url}/login",
                data={"token": served.tokens["ana"]},
                headers={"Accept": "application/json", "Origin": served.url},
            )
            assert other.status == 403


async def test_failed_logins_are_limited_per_client_address(workspace: Path) -> None:
    # behind a proxy on this machine, the client is the address the proxy appended
    public = "https://review.example.org"
    with serve(workspace, sqlite_url(workspace), ("ana",), "--public-url", public) as served:
        async with aiohttp.ClientSession() as http:

            async def attempt(token: str, client: str) -> aiohttp.ClientResponse:
                return await http.post(
                    f"{served.url}/login",
                    data={"token": token},
                    headers={
                        "Accept": "application/json",
                        "Origin": public,
                        "X-Forwarded-For": f"203.0.113.9, {client}",
                    },
                )

            statuses = [(await attempt("guess", "192.0.2.1")).status for _ in range(5)]
            assert statuses == [401] * 5
            limited = await attempt("guess", "192.0.2.1")
            assert limited.status == 429
            assert 1 <= int(limited.headers["Retry-After"]) <= 60
            assert "try again in" in (await limited.json())["error"]
            # while limited, even the right token is refused from there ...
            assert (await attempt(served.tokens["ana"], "192.0.2.1")).status == 429
            # ... and another address is not limited
            assert (await attempt(served.tokens["ana"], "192.0.2.2")).status == 200
        assert "too many failed logins from 192.0.2.1" in served.log_text()


async def test_revoking_a_reviewer_closes_their_tabs(workspace: Path, engine: Engine) -> None:
    with serve(workspace, sqlite_url(workspace)) as served:
        ana = await logged_in(served.url, served.tokens["ana"], QUEUE)
        ben = await logged_in(served.url, served.tokens["ben"], QUEUE)
        await ana.wait_for(HEADER)
        await ben.wait_for(HEADER)
        assert len(served.app_pids()) == 2
        assert revoke_reviewer(reviewers_path(workspace), "ana")
        await asyncio.wait_for(ana.closed.wait(), 30)  # the server closed ana's tab
        await until(lambda: len(served.app_pids()) == 1, what="ana's app process to end")
        assert not ben.closed.is_set()
        await ben.press("p")
        await until(lambda: [v[0] for v in verdicts(engine)] == ["ben"], what="ben's verdict")
        # her session and her token are gone
        page = await ana.http.get(f"{served.url}/", allow_redirects=False)
        assert page.status == 303
        assert (await ana.login(served.tokens["ana"])).status == 401
        await ana.close()
        await ben.close()


async def test_closing_a_tab_loses_nothing_and_reopening_resumes(
    workspace: Path, engine: Engine
) -> None:
    with serve(workspace, sqlite_url(workspace), ("ana",)) as served:
        tab = await logged_in(served.url, served.tokens["ana"], QUEUE)
        await tab.wait_for(QUEUE + r"\s+·\s+1 / 30")
        await tab.press("p", "f")
        await tab.wait_for(QUEUE + r"\s+·\s+3 / 30")  # both saved: the third item is shown
        pid = served.app_pids()
        await tab.close()  # the browser tab is closed
        await until(lambda: served.app_pids() == [], what="the tab's app process to end")
        assert not os.path.exists(f"/proc/{pid[0]}")
        assert [(v[0], v[2]) for v in verdicts(engine)] == [("ana", "pass"), ("ana", "fail")]
        assert claims(engine) == []  # the third item, only looked at, was released

        again = await logged_in(served.url, served.tokens["ana"], QUEUE)
        await again.wait_for(QUEUE + r"\s+·\s+3 / 30")  # the first unfinished item
        await again.close()


async def test_a_killed_server_leaves_no_app_running(workspace: Path, engine: Engine) -> None:
    with serve(workspace, sqlite_url(workspace), ("ana",)) as served:
        tab = await logged_in(served.url, served.tokens["ana"], QUEUE)
        await tab.wait_for(HEADER)
        await tab.press("p")
        await until(lambda: len(verdicts(engine)) == 1, what="the verdict")
        (app,) = served.app_pids()
        served.process.kill()  # kill -9: no tab is closed in order
        served.process.wait()

        def gone() -> bool:
            try:
                with open(f"/proc/{app}/stat") as f:
                    return f.read().rsplit(")", 1)[1].split()[0] == "Z"  # ended, not reaped
            except FileNotFoundError:
                return True

        await until(gone, 30, "the tab's app to end with the server")
        await tab.close()
    assert [(v[0], v[2]) for v in verdicts(engine)] == [("ana", "pass")]


async def test_tabs_past_max_tabs_are_told_so(workspace: Path) -> None:
    with serve(workspace, sqlite_url(workspace), ("ana",), "--max-tabs", "1") as served:
        first = await logged_in(served.url, served.tokens["ana"], QUEUE)
        await first.wait_for(HEADER)
        second = await logged_in(served.url, served.tokens["ana"], QUEUE)
        await asyncio.wait_for(second.closed.wait(), 30)
        assert "The server runs 1 tabs, its most (--max-tabs)" in second.screen.text()
        assert len(served.app_pids()) == 1 and not first.closed.is_set()
        await second.close()
        await first.close()


async def ten_reviewers(served_url: str, tokens: dict[str, str], engine: Engine) -> None:
    """Ten tabs, each its reviewer's, on one queue of 30 items with one review each: three
    verdicts each, every tab typing at once."""
    tabs: list[Tab] = await asyncio.gather(
        *(logged_in(served_url, token, QUEUE) for token in tokens.values())
    )
    await asyncio.gather(*(tab.wait_for(HEADER, timeout=180) for tab in tabs))
    for round_ in range(1, 4):
        await asyncio.gather(*(tab.press("p") for tab in tabs))
        await until(lambda n=round_: len(verdicts(engine)) == 10 * n, 120, f"round {round_}")
    done = verdicts(engine)
    per_item = Counter(item for _, item, _ in done)
    assert len(per_item) == ITEMS and set(per_item.values()) == {1}  # no item twice
    assert Counter(name for name, _, _ in done) == dict.fromkeys(tokens, 3)
    await asyncio.gather(*(tab.close() for tab in tabs))


TEN = tuple(f"reviewer-{i:02d}" for i in range(10))


async def test_ten_tabs_never_share_an_item_on_sqlite(workspace: Path, engine: Engine) -> None:
    with serve(workspace, sqlite_url(workspace), TEN) as served:
        await ten_reviewers(served.url, served.tokens, engine)


async def test_ten_tabs_never_share_an_item_on_postgres(tmp_path: Path, pg_engine: Engine) -> None:
    workspace = make_workspace(tmp_path / "pgws", pg_engine)
    url = pg_engine.url.render_as_string(hide_password=False)
    with serve(workspace, url, TEN) as served:
        await ten_reviewers(served.url, served.tokens, pg_engine)
