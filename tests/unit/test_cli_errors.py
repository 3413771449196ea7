"""The CLI's failures are clear messages with documented exit codes, never traces: database
URLs that cannot be opened (every command that opens one), output paths that cannot be
written, a read-only workspace, a full disk during an import or an export."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, event
from typer.testing import CliRunner

from reviewer.cli import EXIT_REJECTED, EXIT_STOPPED, EXIT_USAGE, app
from tests.conftest import SAMPLE_LOGS

ANTHROPIC = SAMPLE_LOGS / "support-chat.anthropic.jsonl"
OPENAI = SAMPLE_LOGS / "support-chat.openai.jsonl"


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    (folder / "queues").mkdir(parents=True)
    (folder / "prompts").mkdir()
    (folder / "prompts" / "p.yaml").write_text(
        "name: p\nprovider: openai\nmodel: gpt-4o-mini\nmessages:\n"
        "  - role: user\n    content: '{{ question }}'\n",
        encoding="utf-8",
    )
    return folder


def invoke(*args: str, **kwargs: Any) -> Any:
    return CliRunner().invoke(app, list(args), **kwargs)


def assert_clear(result: Any, code: int, *words: str) -> str:
    """Exit `code` with a `reviewer:` message holding `words`, no trace."""
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert "reviewer: " in result.output
    for word in words:
        assert word in result.output
    return str(result.output)


# -- database URLs --------------------------------------------------------------------------------

#: Every command that opens the database (its other arguments good).
COMMANDS: list[list[str]] = [
    [],  # a summary, off a terminal
    ["review"],
    ["import", str(ANTHROPIC)],
    ["rejects"],
    ["export", "records"],
    ["export", "dataset", "ds"],
    ["export", "reviews"],
    ["queues", "sync"],
    ["queues", "list"],
    ["datasets", "list"],
    ["datasets", "show", "ds"],
    ["eval", "p", "--dataset", "ds"],
    ["prompts", "save", "p"],
    ["prompts", "history", "p"],
    ["judges", "disagreements", "1"],
    ["stats"],
    ["report", "-o", "{tmp}/report.html"],
    ["themes", "suggest"],
    ["themes", "discard", "s1"],
]

BAD_URLS = {
    "foo://bar": "is not a kind of database",
    "not a url": "not a database URL",
    "mysql://me:secret@db.example/prod": "the driver for mysql is not installed",
}


@pytest.mark.parametrize("url", list(BAD_URLS))
def test_a_database_url_that_cannot_be_opened_is_a_message_for_every_command(
    ws: Path, tmp_path: Path, url: str
) -> None:
    for command in COMMANDS:
        args = [a.replace("{tmp}", str(tmp_path)) for a in command]
        result = invoke("--workspace", str(ws), "--db", url, *args)
        out = assert_clear(result, EXIT_USAGE, "cannot open database", BAD_URLS[url])
        assert "secret" not in out, command
        assert "sqlite:///PATH" in out  # what a URL looks like


def test_the_environment_variable_is_read_the_same_way(ws: Path) -> None:
    result = invoke(
        "--workspace", str(ws), "datasets", "list", env={"REVIEWER_DATABASE_URL": "foo://bar"}
    )
    assert_clear(result, EXIT_USAGE, "cannot open database foo://bar")


def test_a_password_is_masked_even_in_a_url_that_does_not_parse(ws: Path) -> None:
    result = invoke("--workspace", str(ws), "--db", "postgresql://me:p@ss:w0rd@h:port/db", "stats")
    out = assert_clear(result, EXIT_USAGE, "postgresql://me:***@h:port/db")
    assert "w0rd" not in out


def test_a_sqlite_file_in_a_missing_folder_is_refused_not_made(ws: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "deeper"
    for command in COMMANDS[:6]:
        result = invoke("--workspace", str(ws), "--db", f"sqlite:///{missing}/x.db", *command)
        assert_clear(result, EXIT_USAGE, f"the folder {missing} does not exist")
    assert not (tmp_path / "nowhere").exists()
    afile = tmp_path / "afile"
    afile.write_text("x")
    result = invoke("--workspace", str(ws), "--db", f"sqlite:///{afile}/x.db", "stats")
    assert_clear(result, EXIT_USAGE, f"{afile} is not a folder")


def test_a_server_that_refuses_is_a_message(ws: Path) -> None:
    result = invoke("--workspace", str(ws), "--db", "postgresql://me:pw@127.0.0.1:1/x", "stats")
    out = assert_clear(result, EXIT_USAGE, "cannot open database", "Connection refused")
    assert ":pw@" not in out


# -- output paths ---------------------------------------------------------------------------------


@pytest.fixture
def filled(ws: Path, tmp_path: Path) -> Path:
    """The workspace with the Anthropic sample imported and a dataset `ds` of two items."""
    assert invoke("--workspace", str(ws), "import", str(ANTHROPIC)).exit_code == 0
    items = tmp_path / "items.jsonl"
    items.write_bytes(
        b"".join(
            orjson.dumps({"id": f"i{n}", "messages": [{"role": "user", "content": f"q{n}"}]})
            + b"\n"
            for n in range(2)
        )
    )
    assert invoke("--workspace", str(ws), "datasets", "import", "ds", str(items)).exit_code == 0
    return ws


@pytest.mark.parametrize(
    "command",
    [
        ["export", "records"],
        ["export", "reviews"],
        ["export", "dataset", "ds"],
        ["export", "dataset", "ds", "--format", "hf"],
        ["report"],
    ],
)
def test_an_output_in_a_missing_folder_is_refused_naming_it(
    filled: Path, tmp_path: Path, command: list[str]
) -> None:
    target = tmp_path / "missing" / "dir" / "x"
    result = invoke("--workspace", str(filled), *command, "-o", str(target))
    assert_clear(result, EXIT_USAGE, f"the folder {target.parent} does not exist")
    assert not (tmp_path / "missing").exists()


def test_hf_into_an_existing_file_is_refused_and_the_file_kept(
    filled: Path, tmp_path: Path
) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("keep me")
    result = invoke(
        "--workspace", str(filled), "export", "dataset", "ds", "--format", "hf", "-o", str(target)
    )
    assert_clear(result, EXIT_USAGE, "it is a file, and the hf format writes a folder")
    assert target.read_text() == "keep me"
    folder = tmp_path / "hf-out"
    result = invoke(
        "--workspace", str(filled), "export", "dataset", "ds", "--format", "hf", "-o", str(folder)
    )
    assert result.exit_code == 0, result.output
    assert (folder / "README.md").is_file()


def test_a_file_output_that_is_a_folder_is_refused(filled: Path, tmp_path: Path) -> None:
    result = invoke("--workspace", str(filled), "export", "dataset", "ds", "-o", str(tmp_path))
    assert_clear(result, EXIT_USAGE, "it is a folder")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
def test_an_export_to_a_full_disk_stops_with_a_message(filled: Path) -> None:
    for command in (["export", "records"], ["export", "dataset", "ds"]):
        result = invoke("--workspace", str(filled), *command, "-o", "/dev/full")
        assert_clear(result, EXIT_STOPPED, "cannot write /dev/full", "No space left on device")


# -- a full disk during an import -----------------------------------------------------------------


def limit_pages(dbapi_conn: Any, _record: Any) -> None:
    """Let a SQLite database grow to 150 pages (2.4 MB): SQLite's own limit, past which a
    write fails as on a full disk ("database or disk is full")."""
    if isinstance(dbapi_conn, sqlite3.Connection):
        dbapi_conn.execute("PRAGMA max_page_count = 150")


def _check(db: Path) -> tuple[str, int]:
    conn = sqlite3.connect(db)
    try:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        count = conn.execute("SELECT count(*) FROM records").fetchone()[0]
    finally:
        conn.close()
    return integrity, count


def test_a_full_database_stops_the_import_with_a_message_and_keeps_it_intact(ws: Path) -> None:
    db = ws / ".reviewer" / "reviewer.db"
    assert invoke("--workspace", str(ws), "import", str(ANTHROPIC)).exit_code == 0
    event.listen(Engine, "connect", limit_pages)  # every connection opened meanwhile
    try:
        full = invoke("--workspace", str(ws), "import", str(OPENAI))
    finally:
        event.remove(Engine, "connect", limit_pages)
    assert_clear(full, EXIT_STOPPED, "stopped: the disk is full", "the database is intact")
    assert _check(db) == ("ok", 79)
    again = invoke("--workspace", str(ws), "import", str(OPENAI))  # room again: it completes
    assert again.exit_code == 0, again.output
    assert _check(db) == ("ok", 79 + 252)


# -- a small file system, a read-only workspace (mount namespaces) -------------------------------


def namespaces() -> bool:
    """Whether this process may make a user and mount namespace (unshare -rm)."""
    unshare = shutil.which("unshare")
    return (
        unshare is not None
        and subprocess.run([unshare, "-rm", "true"], capture_output=True).returncode == 0
    )


def in_namespace(script: str) -> subprocess.CompletedProcess[str]:
    """`script` run by sh in a user and mount namespace of its own, where it may mount a small
    tmpfs or a read-only view of a folder (gone when it ends); skipped where that is not
    allowed."""
    if not namespaces():
        pytest.skip("needs unshare -rm (user and mount namespaces) to mount a small file system")
    return subprocess.run(
        ["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=300
    )


REVIEWER = f"{sys.executable} -m reviewer.cli"


def test_a_full_disk_stops_the_import_with_a_message_and_keeps_the_database(ws: Path) -> None:
    """The workspace, after one import, copied to a tmpfs with 1 MiB to spare: the next
    import fills it (a real ENOSPC)."""
    assert invoke("--workspace", str(ws), "import", str(ANTHROPIC)).exit_code == 0
    used = sum(f.stat().st_size for f in ws.rglob("*") if f.is_file())
    disk = ws.parent / "disk"
    disk.mkdir()
    check = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
        "print(c.execute('PRAGMA integrity_check').fetchone()[0], "
        "c.execute('SELECT count(*) FROM records').fetchone()[0])"
    )
    result = in_namespace(
        f"mount -t tmpfs -o size={used // 1024 + 1024}k tmpfs {disk} && cp -r {ws}/. {disk} && "
        f"{REVIEWER} --workspace {disk} import {OPENAI}; echo exit=$?; "
        f'{sys.executable} -c "{check}" {disk}/.reviewer/reviewer.db'
    )
    assert "exit=3" in result.stdout, result.stdout + result.stderr
    assert "reviewer: stopped: the disk is full" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.strip().splitlines()[-1] == "ok 79"


def test_a_read_only_workspace_is_a_message(ws: Path) -> None:
    """A workspace with a database and one without, both read-only: a read-only mount of
    their folder (root's writes too are refused there), else, without namespaces, chmod."""
    fresh = ws.parent / "fresh"
    (fresh / "queues").mkdir(parents=True)
    assert invoke("--workspace", str(ws), "import", str(ANTHROPIC)).exit_code == 0
    commands = (
        f"for w in {ws} {fresh}; do for c in 'datasets list' 'queues sync' 'import {OPENAI}'; do "
        f"{REVIEWER} --workspace $w $c; echo exit=$?; done; done"
    )
    if namespaces():
        result = in_namespace(
            f"mount --bind {ws.parent} {ws.parent} && mount -o remount,bind,ro {ws.parent} && "
            + commands
        )
    elif os.geteuid() == 0:
        pytest.skip("running as root without namespaces: chmod does not stop root's writes")
    else:
        os.chmod(ws / ".reviewer", 0o555)
        os.chmod(fresh, 0o555)
        try:
            result = subprocess.run(["sh", "-c", commands], capture_output=True, text=True)
        finally:
            os.chmod(ws / ".reviewer", 0o755)
            os.chmod(fresh, 0o755)
    assert result.stdout.count("exit=2") == 6, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count(f"the folder {ws / '.reviewer'} is read-only") == 3
    assert (
        result.stderr.count(f"{fresh / '.reviewer'}: Read-only file system")
        + result.stderr.count(f"{fresh / '.reviewer'}: Permission denied")
        == 3
    )
    assert not (fresh / ".reviewer").exists()


def test_exit_codes_are_the_documented_ones() -> None:
    assert (EXIT_REJECTED, EXIT_USAGE, EXIT_STOPPED) == (1, 2, 3)


def test_a_database_busy_too_long_stops_the_command_with_exit_3():
    from reviewer.cli.common import stopped_message
    from reviewer.store.db import DatabaseBusy

    busy = DatabaseBusy("the database is busy: another process held its write lock for 30 s")
    message = stopped_message(busy)
    assert message is not None
    assert message.startswith("stopped: the database is busy: another process held its write lock")
