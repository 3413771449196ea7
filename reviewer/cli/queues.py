"""`reviewer queues sync|list|stats`: the review queues of queues/*.yaml."""

from __future__ import annotations

from typing import Annotated

import typer

from reviewer.cli.common import (
    EXIT_OK,
    EXIT_REJECTED,
    JsonObject,
    database,
    find_queue,
    queue_files,
    settings,
)
from reviewer.cli.output import Column, emit

COUNTS = ("added", "removed", "total")

queues_app = typer.Typer(
    help="Review queues (queues/*.yaml): sync their membership, list them.", no_args_is_help=True
)


@queues_app.command("sync")
def queues_sync(
    json_out: JsonObject = False,
) -> None:
    """Bring queue membership up to date with the queue files and the records. Each queue is synced on its own: exit 1 when a queue file is bad or a queue's sync failed (the others are synced)."""
    from reviewer.review.sync import sync_queues

    current = settings()
    queues, errors = queue_files(current)
    with database(current) as opened:
        results = sync_queues(opened, queues)
    failed = {name: r.error for name, r in results.items() if r.error is not None}
    for name, error in failed.items():
        typer.echo(f"reviewer: queue {name}: {error}", err=True)
    rows = [
        {"name": name, **(r.to_dict() if r.error is None else dict.fromkeys(COUNTS, "-"))}
        for name, r in results.items()
    ]
    emit(
        {"queues": results, "errors": errors},
        json=json_out,
        columns=[
            Column("queue", "name", width=5),
            *(Column(key, key, align="right", width=7) for key in COUNTS),
        ],
        rows=rows,
        row_style=lambda row: "red" if row["name"] in failed else None,
        empty=None if queues or errors else f"no queue files in {current.workspace / 'queues'}",
    )
    raise typer.Exit(EXIT_REJECTED if errors or failed else EXIT_OK)


@queues_app.command("list")
def queues_list(
    json_out: Annotated[
        bool, typer.Option("--json", help="Print a JSON list of objects, one per queue.")
    ] = False,
) -> None:
    """List the queues with their items: total, pending, done, skipped. Exit 1 when a queue file is bad."""
    from reviewer.review.sync import queue_counts

    current = settings()
    queues, errors = queue_files(current)
    with database(current) as opened:
        counts = queue_counts(opened, [q.name for q in queues])
    rows = [
        {"name": q.name, "description": q.description, "file": q.path, **counts[q.name]}
        for q in queues
    ]
    emit(
        rows,
        json=json_out,
        columns=[
            Column("queue", "name", width=5),
            Column("total", "total", align="right", width=6),
            Column("pending", "pending", align="right", width=7),
            Column("done", "done", align="right", width=6),
            Column("skipped", "skipped", align="right", width=7),
            Column("description", "description"),
        ],
        rows=rows,
        empty=None if errors else f"no queue files in {current.workspace / 'queues'}",
    )
    raise typer.Exit(EXIT_REJECTED if errors else EXIT_OK)


@queues_app.command("stats")
def queues_stats(
    queue: Annotated[str, typer.Argument(help="The queue's name.")],
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the statistics as one JSON object.")
    ] = False,
) -> None:
    """Progress per reviewer and agreement per rubric score (Cohen's kappa for two reviewers, Krippendorff's alpha). Exit 2 for an unknown queue."""
    from reviewer.review.stats import queue_stats, stats_lines

    current = settings()
    found = find_queue(current, queue)
    with database(current) as opened:
        stats = queue_stats(opened, found)
    emit(stats, json=json_out, text=lambda: stats_lines(stats))
