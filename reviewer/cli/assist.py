"""`reviewer assist QUEUE`: a judge pre-grades a queue's pending items (suggested reviews)."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from typing import Annotated

import typer

from reviewer.cli.common import (
    EXIT_OK,
    EXIT_REJECTED,
    JsonObject,
    database,
    fail,
    find_queue,
    settings,
)
from reviewer.cli.output import emit


def assist_cmd(
    queue: Annotated[str, typer.Argument(help="The queue whose pending items to pre-grade.")],
    judge: Annotated[
        str | None,
        typer.Option(
            "--judge",
            "-j",
            help="The judge (prompts/NAME.yaml, kind: judge); default: the queue's assist: judge.",
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", help="At most this many items (queue order).")
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", help="Requests at a time.")
    ] = 8,
    json_out: JsonObject = False,
) -> None:
    """Pre-grade QUEUE's pending items with a judge: a suggested verdict, scores, themes, reason and confidence per item, shown on the review screen (never counted as a review). Cached: a rerun with nothing changed calls no model, a killed run resumes. Exit 1 when some items got no suggestion, 2 when the judge or its model cannot be used."""
    from reviewer.cli.progress import CountBar
    from reviewer.evals.assist import AssistError, assist_queue_sync
    from reviewer.evals.compare import format_cost

    if concurrency < 1:
        fail("--concurrency is at least 1")
    if limit is not None and limit < 1:
        fail("--limit is at least 1")
    current = settings()
    found = find_queue(current, queue)
    bar = CountBar(f"assist {queue}", None) if sys.stderr.isatty() and not json_out else None
    with database(current) as opened, bar or nullcontext():
        try:
            report = assist_queue_sync(
                opened,
                current.workspace,
                found,
                judge_name=judge,
                limit=limit,
                concurrency=concurrency,
                progress=bar.update if bar is not None else None,
            )
        except AssistError as exc:
            fail(str(exc))
    emit(
        report,
        json=json_out,
        text=[
            f"queue {report.queue} · judge {report.judge} ({report.model}): "
            f"{report.pending} pending · {report.suggested} suggested now · "
            f"{report.cached} already suggested · {report.errors} errors",
            f"{report.requests} requests · {report.input_tokens:,} tokens in, "
            f"{report.output_tokens:,} out · {format_cost(report.cost_usd)}",
            *report.error_messages[:10],
        ],
    )
    raise typer.Exit(EXIT_REJECTED if report.errors else EXIT_OK)
