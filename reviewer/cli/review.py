"""`reviewer review` (the app) and `reviewer` alone: the app on a terminal, else a summary."""

from __future__ import annotations

from typing import Annotated

import typer

from reviewer.cli.common import engine, fail, reviewer_name, settings


def review_cmd(
    queue: Annotated[
        str | None, typer.Argument(help="Open this queue directly (default: the home screen).")
    ] = None,
) -> None:
    """Open the app: the home screen, or the review screen of QUEUE."""
    run_app(queue)


def run_app(queue: str | None) -> None:
    """The app on the home screen, or on the review screen of `queue`."""
    from reviewer.config import load_keymap

    current = settings()
    opened = engine(current)
    if queue is not None:
        from reviewer.review.queues import load_queues

        names = [q.name for q in load_queues(current.workspace)[0]]
        if queue not in names:
            fail(
                f"no queue named {queue!r} in {current.workspace / 'queues'} (queues: {', '.join(names) or 'none'})"
            )
    try:
        keymap = load_keymap(current.workspace)
    except ValueError as exc:
        fail(str(exc))
    from reviewer.tui.app import ReviewerApp

    ReviewerApp(
        opened,
        current.workspace,
        reviewer_name(current),
        open_queue=queue,
        keymap=keymap,
    ).run()
    opened.dispose()


def summary() -> None:
    """What the workspace holds: records per format and model, rejected lines."""
    from reviewer.store.stats import record_summary

    current = settings()
    opened = engine(current)
    try:
        s = record_summary(opened)
    finally:
        opened.dispose()
    typer.echo(f"workspace  {current.workspace}")
    typer.echo(f"records    {s['records']}")
    for fmt, n in s["by_format"]:
        typer.echo(f"  {fmt:<22} {n}")
    typer.echo("models")
    for model, n in s["by_model"]:
        typer.echo(f"  {model or '(none)':<22} {n}")
    typer.echo(f"with user feedback  {s['with_feedback']} ({s['negative_feedback']} negative)")
    typer.echo(f"rejected lines      {s['rejected']}")
    if s["records"] == 0:
        typer.echo("\nNothing imported yet: reviewer import sample_logs/")
