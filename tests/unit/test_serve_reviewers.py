"""Who may log in to `reviewer serve`: tokens made once and kept only as a hash, revocation,
the reviewers file read again when it changes, the `reviewer serve` commands; browser sessions
and the failed-login limit."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from reviewer.cli import EXIT_OK, EXIT_USAGE, app
from reviewer.serve.auth import LoginLimit, Sessions
from reviewer.serve.reviewers import (
    ReviewerFile,
    ReviewersError,
    add_reviewer,
    load_reviewers,
    reviewers_path,
    revoke_reviewer,
)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    (folder / "queues").mkdir(parents=True)
    (folder / "prompts").mkdir()
    return folder


def test_a_token_is_shown_once_and_only_its_hash_is_kept(ws: Path) -> None:
    path = reviewers_path(ws)
    token = add_reviewer(path, "  Ana Lima ")
    assert token.startswith("rvw_") and len(token) == 4 + 43  # 256 random bits
    text = path.read_text(encoding="utf-8")
    assert token not in text and token[4:] not in text
    assert hashlib.sha256(token.encode()).hexdigest() in text
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    found = load_reviewers(path)
    assert list(found) == ["Ana Lima"]
    assert found["Ana Lima"].token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    assert add_reviewer(path, "ben") != token

    with pytest.raises(ValueError, match="already a reviewer"):
        add_reviewer(path, "ben")
    for bad in ("", "-rf", "a\x1b[31m", "x" * 65, "ana\nben"):
        with pytest.raises(ValueError, match="not a reviewer name"):
            add_reviewer(path, bad)


def test_the_server_sees_added_and_revoked_reviewers_at_once(ws: Path) -> None:
    path = reviewers_path(ws)
    running = ReviewerFile(path)
    assert running.current() == {} and running.error is None
    ana = add_reviewer(path, "ana")
    assert running.who(ana) is not None and running.who(ana).name == "ana"  # type: ignore[union-attr]
    assert running.who(ana + "x") is None and running.who("") is None
    digest = running.who(ana).token_sha256  # type: ignore[union-attr]
    assert running.still_valid("ana", digest)

    assert revoke_reviewer(path, "ana")
    assert not revoke_reviewer(path, "ana")
    assert running.who(ana) is None and not running.still_valid("ana", digest)
    # a new token for the same name does not revive the old one's sessions
    again = add_reviewer(path, "ana")
    assert running.who(again) is not None and not running.still_valid("ana", digest)


def test_a_broken_reviewers_file_lets_nobody_in_and_says_why(ws: Path) -> None:
    path = reviewers_path(ws)
    token = add_reviewer(path, "ana")
    running = ReviewerFile(path)
    assert running.who(token) is not None
    path.write_text("reviewers: [oops\n", encoding="utf-8")
    assert running.who(token) is None
    assert (
        running.error is not None
        and str(path) in running.error
        and "not valid YAML" in running.error
    )
    path.write_text("reviewers:\n  ana: {token_sha256: short}\n", encoding="utf-8")
    with pytest.raises(ReviewersError, match=r"'ana': token_sha256: expected 64 hex digits"):
        load_reviewers(path)


def invoke(ws: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--workspace", str(ws), *args])
    return result.exit_code, result.stdout, result.stderr


def test_the_serve_commands(ws: Path) -> None:
    code, out, _ = invoke(ws, "serve", "reviewers")
    assert code == EXIT_OK and "no reviewers yet" in out

    code, out, _ = invoke(ws, "serve", "add-reviewer", "ana")
    assert code == EXIT_OK
    link = next(line.strip() for line in out.splitlines() if "/login#token=" in line)
    token = link.split("#token=", 1)[1]
    assert link == f"http://127.0.0.1:8080/login#token={token}"
    assert f"or the token, for the login page: {token}" in out
    assert ReviewerFile(reviewers_path(ws)).who(token) is not None

    code, out, _ = invoke(
        ws, "serve", "add-reviewer", "ben", "--public-url", "https://review.example.org", "--json"
    )
    shown = orjson.loads(out)
    assert code == EXIT_OK and shown["name"] == "ben"
    assert shown["login_url"] == f"https://review.example.org/login#token={shown['token']}"

    (ws / "queues" / "thumbs-down.yaml").write_text("name: thumbs-down\n", encoding="utf-8")
    code, out, _ = invoke(ws, "serve", "add-reviewer", "cy", "--queue", "thumbs-down", "--json")
    assert orjson.loads(out)["login_url"].startswith(
        "http://127.0.0.1:8080/login?queue=thumbs-down#token=rvw_"
    )
    code, _, err = invoke(ws, "serve", "add-reviewer", "dan", "--queue", "nope")
    assert code == EXIT_USAGE and "no queue named 'nope'" in err
    assert "dan" not in load_reviewers(reviewers_path(ws))  # nothing added

    code, out, _ = invoke(ws, "serve", "reviewers", "--json")
    listed = orjson.loads(out)["reviewers"]
    assert [r["name"] for r in listed] == ["ana", "ben", "cy"]
    assert all(set(r) == {"name", "added"} for r in listed)  # no hash, no token
    code, out, _ = invoke(ws, "serve", "reviewers")
    assert out.splitlines()[0].split() == ["reviewer", "added"] and len(out.splitlines()) == 4

    code, _, err = invoke(ws, "serve", "add-reviewer", "ana")
    assert code == EXIT_USAGE and "ana is already a reviewer" in err
    code, out, _ = invoke(ws, "serve", "revoke", "ana")
    assert code == EXIT_OK and "revoked ana" in out
    assert ReviewerFile(reviewers_path(ws)).who(token) is None
    code, _, err = invoke(ws, "serve", "revoke", "ana")
    assert code == EXIT_USAGE and "'ana' is not a reviewer" in err


def test_serve_refuses_bad_options_with_a_message(ws: Path) -> None:
    code, _, err = invoke(ws, "serve", "--public-url", "review.example.org")
    assert code == EXIT_USAGE and "expected http(s)://HOST[:PORT]" in err
    code, _, err = invoke(ws, "serve", "--public-url", "https://example.org/reviewer")
    assert code == EXIT_USAGE and "give no path" in err
    code, _, err = invoke(ws, "serve", "--port", "70000")
    assert code == EXIT_USAGE and "expected 1 to 65535" in err
    reviewers_path(ws).parent.mkdir(parents=True, exist_ok=True)
    reviewers_path(ws).write_text("reviewers: 3\n", encoding="utf-8")
    code, _, err = invoke(ws, "serve")
    assert code == EXIT_USAGE and "reviewers: expected a mapping" in err


def test_sessions_end_when_idle_revoked_or_logged_out() -> None:
    now = [1000.0]
    sessions = Sessions(idle=60, clock=lambda: now[0])
    valid = {"ana": "h1", "ben": "h2"}

    def check(name: str, digest: str) -> bool:
        return valid.get(name) == digest

    ana = sessions.start("ana", "h1")
    ben = sessions.start("ben", "h2")
    assert ana.id != ben.id and len(ana.id) >= 43
    assert sessions.get(ana.id, check) is ana
    assert sessions.get("forged", check) is None and sessions.get(None, check) is None
    now[0] += 59
    assert sessions.get(ana.id, check) is ana  # touched: idle time starts again
    now[0] += 59
    assert sessions.sweep(check) == [ben]  # ben was idle 118 s
    assert sessions.get(ben.id, check) is None
    del valid["ana"]  # revoked
    assert sessions.get(ana.id, check) is None and len(sessions) == 0
    carl = sessions.start("ana", "h1")
    sessions.end(carl.id)
    assert carl.id not in sessions


def test_failed_logins_are_limited_per_address_in_a_sliding_window() -> None:
    now = [0.0]
    limit = LoginLimit(failures=5, window=60, clock=lambda: now[0], addresses=3)
    for second in range(5):
        now[0] = float(second)
        assert limit.retry_after("192.0.2.1") == 0
        limit.failed("192.0.2.1")
    assert limit.retry_after("192.0.2.1") == 56  # the first failure (at 0 s) ages out at 60 s
    assert limit.retry_after("192.0.2.2") == 0
    now[0] = 59.5
    assert limit.retry_after("192.0.2.1") == 1
    now[0] = 60.0
    assert limit.retry_after("192.0.2.1") == 0  # one failure aged out: one more try
    limit.failed("192.0.2.1")
    assert limit.retry_after("192.0.2.1") == 1
    # the addresses remembered are bounded: the oldest is forgotten
    for address in ("192.0.2.7", "192.0.2.8", "192.0.2.9"):
        limit.failed(address)
    assert limit.retry_after("192.0.2.1") == 0
