"""What every command shares: the global options, clear failures with documented exit codes,
the settings, the database, the reviewer's name and the queue files.

Exit codes (the README's "Command line" section lists them):

- 0 (`EXIT_OK`): done;
- 1 (`EXIT_REJECTED`): the command ran but something was rejected or failed (lines rejected by
  an import, a bad queue file, a pass rate below --fail-under ...);
- 2 (`EXIT_USAGE`): the call was unusable (a missing path, an unknown format, a bad option, a
  database that cannot be opened);
- 130: interrupted (Ctrl+C).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130


class _State:
    """The global options of this run (set by the root callback)."""

    workspace: str | None = None
    db: str | None = None
    reviewer: str | None = None


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


def engine(current: Any = None) -> Any:
    """The database engine of `current` settings (default: this run's); exit 2 when the
    database cannot be opened."""
    from reviewer.store.db import DatabaseError, open_engine

    current = current or settings()
    try:
        return open_engine(current.database_url)
    except DatabaseError as exc:
        fail(str(exc))


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
