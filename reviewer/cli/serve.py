"""`reviewer serve`: the app in a browser, and who may log in to it
(`add-reviewer`, `revoke`, `reviewers`)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from reviewer.cli.common import engine, fail, find_queue, settings
from reviewer.cli.output import Column, emit

DEFAULT_URL = "http://127.0.0.1:8080"

serve_app = typer.Typer(
    help="Serve the app to browsers (one app per tab, each with its own reviewer); manage who may log in.",
    invoke_without_command=True,
)


def _reviewers_file(current: Any) -> Any:
    from reviewer.serve.reviewers import reviewers_path

    return reviewers_path(current.workspace)


@serve_app.callback()
def serve_cmd(
    ctx: typer.Context,
    host: Annotated[
        str,
        typer.Option(help="Address to listen on (another than 127.0.0.1 only when you mean it)."),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    public_url: Annotated[
        str | None,
        typer.Option(
            "--public-url",
            help="The URL browsers use, when a TLS proxy is in front (https://... makes the app's websocket wss:// and its cookie Secure).",
        ),
    ] = None,
    max_tabs: Annotated[
        int, typer.Option("--max-tabs", help="Most app processes (browser tabs) at once.")
    ] = 40,
) -> None:
    """Serve the app on http://HOST:PORT: each browser tab gets its own app, as the reviewer
    whose token logged it in (reviewer serve add-reviewer NAME makes one)."""
    if ctx.invoked_subcommand is not None:
        return
    import logging
    import sys

    from reviewer.serve.reviewers import ReviewerFile

    current = settings()
    if public_url is not None:
        from reviewer.serve.server import check_public_url

        try:
            public_url = check_public_url(public_url)
        except ValueError as exc:
            fail(str(exc))
    if not 1 <= port <= 65535:
        fail(f"--port {port}: expected 1 to 65535")
    if max_tabs < 1:
        fail(f"--max-tabs {max_tabs}: expected 1 or more")
    engine(current).dispose()  # the database opens (and is upgraded) once, before any tab
    reviewers = ReviewerFile(_reviewers_file(current))
    if reviewers.error:
        fail(reviewers.error)
    try:
        from reviewer.serve.server import ServeOptions, serve
    except ImportError as exc:  # pragma: no cover - a broken install
        fail(f"cannot serve: {exc} (reinstall reviewer: pip install -e .)")

    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    options = ServeOptions(
        workspace=current.workspace,
        database_url=current.database_url,
        host=host,
        port=port,
        public_url=public_url,
        max_tabs=max_tabs,
    )

    def ready() -> None:
        count = len(reviewers.current())
        typer.echo(f"reviewer serve: {options.url}  (workspace {current.workspace})", err=True)
        if public_url:
            typer.echo(f"  listening on {host}:{port}, behind {public_url}", err=True)
        if count:
            typer.echo(f"  {count} reviewer(s) may log in; Ctrl+C stops the server", err=True)
        else:
            typer.echo(
                "  nobody may log in yet: reviewer serve add-reviewer NAME prints a login link",
                err=True,
            )
        if not public_url and host not in ("127.0.0.1", "localhost", "::1"):
            typer.echo(
                f"  warning: listening on {host} over plain http: tokens and reviews cross the "
                "network unencrypted; put a TLS proxy in front (--public-url)",
                err=True,
            )

    try:
        serve(options, reviewers, ready=ready)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")


@serve_app.command("app", hidden=True)
def tab_app_cmd(
    queue: Annotated[str | None, typer.Argument(help="Open this queue.")] = None,
) -> None:
    """One browser tab's app, as the server starts it (REVIEWER_NAME set by the server); it
    ends when the server does, even one killed at once."""
    _exit_with_server()
    from reviewer.cli.review import run_app

    run_app(queue)


def _exit_with_server() -> None:
    """End this process when its parent (the server) is gone: a thread watches the parent id
    (a killed server cannot close its tabs, and an app left behind would hold its item's claim
    for 30 minutes more)."""
    import os
    import signal
    import threading
    import time

    server = os.getppid()

    def watch() -> None:
        while os.getppid() == server:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="exit-with-server", daemon=True).start()


@serve_app.command("add-reviewer")
def add_reviewer_cmd(
    name: Annotated[str, typer.Argument(help="The reviewer's name, as reviews record it.")],
    public_url: Annotated[
        str,
        typer.Option("--public-url", help="The server's URL, for the login link."),
    ] = DEFAULT_URL,
    queue: Annotated[
        str | None,
        typer.Option("--queue", help="The link opens this queue (default: the home screen)."),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Let NAME log in: prints their login link and token, once (only a hash is kept)."""
    from reviewer.serve.reviewers import ReviewersError, add_reviewer

    current = settings()
    try:
        from urllib.parse import urlsplit

        parts = urlsplit(public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"--public-url {public_url!r}: expected http(s)://HOST[:PORT]")
        if queue is not None:
            find_queue(current, queue)
        token = add_reviewer(_reviewers_file(current), name)
    except (ValueError, ReviewersError) as exc:
        fail(str(exc))
    from urllib.parse import quote

    name = name.strip()
    opens = f"?queue={quote(queue, safe='')}" if queue else ""
    link = f"{parts.scheme}://{parts.netloc}/login{opens}#token={token}"
    if json_out:
        emit({"name": name, "token": token, "login_url": link}, json=True)
        return
    typer.echo(f"{name} may log in now. Their login link (shown only this once; keep it secret):")
    typer.echo(f"  {link}")
    typer.echo(f"or the token, for the login page: {token}")


@serve_app.command("revoke")
def revoke_cmd(
    name: Annotated[str, typer.Argument(help="The reviewer whose token stops working.")],
) -> None:
    """Revoke NAME's token: a running server ends their sessions and closes their tabs within
    seconds. Their reviews stay."""
    from reviewer.serve.reviewers import ReviewersError, revoke_reviewer

    current = settings()
    try:
        removed = revoke_reviewer(_reviewers_file(current), name)
    except ReviewersError as exc:
        fail(str(exc))
    if not removed:
        fail(f"{name!r} is not a reviewer of this workspace (reviewer serve reviewers lists them)")
    typer.echo(f"revoked {name.strip()}: their token no longer logs in")


@serve_app.command("reviewers")
def reviewers_cmd(
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """The reviewers who may log in, with when each was added (tokens are never shown again)."""
    from reviewer.serve.reviewers import ReviewersError, load_reviewers

    current = settings()
    path = _reviewers_file(current)
    try:
        found = load_reviewers(path)
    except ReviewersError as exc:
        fail(str(exc))
    rows = sorted(found.values(), key=lambda r: r.name)
    emit(
        {"reviewers": rows},
        json=json_out,
        columns=[Column("reviewer", "name", width=8), Column("added", "added")],
        rows=rows,
        empty=f"no reviewers yet ({path}): reviewer serve add-reviewer NAME",
    )
