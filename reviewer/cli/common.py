"""What every command shares: the global options, clear failures with documented exit codes,
the settings, the database, the reviewer's name and the queue files.

Exit codes (the README's "Command line" section lists them):

- 0 (`EXIT_OK`): done;
- 1 (`EXIT_REJECTED`): the command ran but something was rejected or failed (lines rejected by
  an import, a bad queue file, a pass rate below --fail-under ...);
- 2 (`EXIT_USAGE`): the call was unusable (a missing path, an unknown format, a bad option, a
  database URL that cannot be opened, an output folder that does not exist);
- 3 (`EXIT_STOPPED`): the command stopped part-way because a write was refused (the disk is
  full, the database or workspace is read-only, the database stayed locked); what it committed
  before is kept;
- 130: interrupted (Ctrl+C).
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_STOPPED = 0, 1, 2, 3
EXIT_INTERRUPTED = 130
#: What a database URL looks like, for messages about one that is not.
URL_HINT = "sqlite:///PATH/TO/FILE.db or postgresql://USER@HOST/DATABASE"
#: The `--json` option of a command whose result is one JSON object.
JsonObject = Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")]


class _State:
    """The global options of this run (set by the root callback)."""

    workspace: str | None = None
    db: str | None = None
    reviewer: str | None = None
    database_url: str | None = None  # the database opened, for messages


state = _State()


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print `reviewer: message` on standard error and exit with `code`."""
    typer.echo(f"reviewer: {message}", err=True)
    raise typer.Exit(code)


def settings() -> Any:
    """The workspace and database URL of this run (exit 2 outside a workspace)."""
    from reviewer.config import Settings, WorkspaceError

    try:
        return Settings.load(state.workspace, state.db)
    except WorkspaceError as exc:
        fail(str(exc))


def masked_url(url: str) -> str:
    """`url` with any password masked (a URL that does not parse too)."""
    from reviewer.store.db import safe_url

    masked = safe_url(url)
    if masked == url:
        masked = re.sub(r"(://[^:/@\s]*:)\S*@", r"\1***@", url)
    return masked


def _sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for another database, memory or a `file:` URI)."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        return None
    name = parsed.database
    if not parsed.drivername.startswith("sqlite") or not name or name == ":memory:":
        return None
    return None if name.startswith("file:") else Path(name)


def _open_failure(url: str, exc: BaseException) -> str:
    """Why opening the database at `url` failed, in words."""
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    from reviewer.store.db import first_line

    scheme = url.partition("://")[0] if "://" in url else ""
    if isinstance(exc, NoSuchModuleError):
        return f"{scheme or url!r} is not a kind of database reviewer knows: use {URL_HINT}"
    if isinstance(exc, ArgumentError | ValueError):  # (their text may quote the password)
        return f"not a database URL: use {URL_HINT}"
    if isinstance(exc, ImportError):
        return (
            f"the driver for {scheme} is not installed ({first_line(exc)}); reviewer works "
            f"with SQLite and PostgreSQL: use {URL_HINT}"
        )
    if isinstance(exc, OSError):
        where = f" {exc.filename}" if exc.filename else ""
        return f"cannot create{where}: {exc.strerror or exc}"
    return f"{exc.__class__.__name__}: {first_line(exc)}"


def _check_sqlite_folder(url: str) -> None:
    """Exit 2 when a SQLite URL given with --db (or REVIEWER_DATABASE_URL) names a file in a
    folder that does not exist: a typo makes no database in a new folder."""
    from reviewer.config import DB_ENV

    path = _sqlite_file(url)
    if path is None or not (state.db or os.environ.get(DB_ENV)):
        return
    folder = path.parent
    if not folder.is_dir():
        what = (
            f"{folder} is not a folder"
            if folder.exists()
            else f"the folder {folder} does not exist"
        )
        fail(
            f"cannot open database {masked_url(url)}: {what} (create it first, or name another file)"
        )


def check_output(output: str, *, folder_format: str | None = None) -> None:
    """Exit 2 unless `output` ("-": standard output) can be written: its folder exists (it
    is never made: a typo would write somewhere unexpected), a file is not a folder, and the
    folder written by a folder format (`folder_format`, e.g. hf) is not a file."""
    if output == "-":
        return
    target = Path(output)
    parent = target.parent
    if not parent.is_dir():
        what = (
            f"{parent} is not a folder"
            if parent.exists()
            else f"the folder {parent} does not exist"
        )
        fail(f"cannot write {output}: {what} (create it first)")
    if folder_format is not None:
        if target.exists() and not target.is_dir():
            fail(
                f"cannot write {output}: it is a file, and the {folder_format} format writes a "
                "folder (name a new or an existing folder)"
            )
    elif target.is_dir():
        fail(f"cannot write {output}: it is a folder (name a file)")


def engine(current: Any = None) -> Any:
    """The database engine of `current` settings (default: this run's); exit 2 with a message
    naming the URL (password masked) when the database cannot be opened: a URL that does not
    parse, an unknown kind of database, a driver that is not installed, a SQLite file in a
    missing or read-only folder, a server that refuses."""
    from reviewer.store.db import DatabaseError, open_engine

    current = current or settings()
    url = current.database_url
    _check_sqlite_folder(url)
    state.database_url = url
    try:
        return open_engine(url)
    except DatabaseError as exc:
        reason = write_failure(exc.__cause__) if exc.__cause__ is not None else None
        fail(f"cannot open database {masked_url(url)}: {reason}" if reason else str(exc))
    except Exception as exc:  # the URL, the driver, the SQLite folder: never a trace
        fail(f"cannot open database {masked_url(url)}: {_open_failure(url, exc)}")


@contextmanager
def database(current: Any = None) -> Iterator[Any]:
    """The workspace's engine for one command, disposed when the command is done."""
    opened = engine(current)
    try:
        yield opened
    finally:
        opened.dispose()


def reviewer_name(current: Any) -> str:
    """Who is reviewing: --reviewer, else REVIEWER_NAME, git's user.name, the OS user."""
    from reviewer.config import reviewer_identity

    return reviewer_identity(state.reviewer, current.workspace)


def queue_files(current: Any) -> tuple[list[Any], list[str]]:
    """The workspace's queue definitions; the errors of bad files go to standard error."""
    from reviewer.review.queues import load_queues

    queues, errors = load_queues(current.workspace)
    for error in errors:
        for line in error.splitlines():
            typer.echo(f"reviewer: {line}", err=True)
    return queues, errors


def find_queue(current: Any, name: str) -> Any:
    """The queue called `name` (exit 2 naming the queues there are when none is)."""
    queues, _errors = queue_files(current)
    found = next((q for q in queues if q.name == name), None)
    if found is None:
        names = ", ".join(q.name for q in queues) or "none"
        fail(f"no queue named {name!r} in {current.workspace / 'queues'} (queues: {names})")
    return found


# -- writes refused part-way ----------------------------------------------------------------------

_REFUSED = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG)


def write_failure(exc: BaseException) -> str | None:
    """What a refused write means, in words: the disk is full, a read-only database or file,
    a database that stayed locked, a file SQLite cannot open; None for other errors."""
    from reviewer.store.db import DatabaseBusy

    if isinstance(exc, DatabaseBusy):
        return str(exc)
    if isinstance(exc, OSError) and exc.errno in _REFUSED:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            return f"the disk is full ({exc.strerror})"
        return f"{exc.strerror}: {exc.filename}" if exc.filename else str(exc.strerror)
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).lower()
    if type(orig).__module__.split(".")[0] not in ("sqlite3", "psycopg", "sqlalchemy"):
        return None
    if getattr(orig, "sqlstate", None) == "53100" or "disk is full" in text or "no space" in text:
        return "the disk is full (database or disk is full)"
    if "readonly database" in text or "read-only" in text:
        return "the database is read-only (attempt to write a readonly database)"
    if "database is locked" in text:
        return "the database stayed locked by another process (database is locked)"
    if "unable to open database file" in text:
        folder = _sqlite_folder()
        if folder is not None and folder.is_dir() and not os.access(folder, os.W_OK):
            return f"the folder {folder} is read-only (SQLite: unable to open database file)"
        return "SQLite cannot open the file (unable to open database file)"
    return None


def _sqlite_folder() -> Path | None:
    path = _sqlite_file(state.database_url) if state.database_url else None
    return path.parent if path is not None else None


def stopped_message(exc: BaseException) -> str | None:
    """The message for a command stopped by a refused write (None: not one)."""
    reason = write_failure(exc)
    if reason is None:
        return None
    where = f" ({masked_url(state.database_url)})" if state.database_url else ""
    return (
        f"stopped: {reason}{where}. What was committed before is kept and the database is "
        "intact; fix it and run the command again (an import skips what it already has)."
    )
