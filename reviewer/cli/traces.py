"""`reviewer traces list|show`: agent traces (and chat sessions) with their steps."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from reviewer.cli.common import EXIT_OK, EXIT_USAGE, database, fail, settings
from reviewer.cli.output import Column, emit

traces_app = typer.Typer(
    help="Agent traces: each with its steps, errors, duration, tokens and cost.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def _shown(value: Any) -> str:
    """Text from a log, with its control characters made visible."""
    from reviewer.tui.literal import literal

    return literal("" if value is None else str(value))


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1000:.1f} s" if value >= 1000 else f"{value:.0f} ms"


def _cost(value: float | None) -> str:
    return "-" if value is None else f"${value:.4f}"


def _tokens(row: dict[str, Any]) -> str:
    inp, out = row["input_tokens"], row["output_tokens"]
    if inp is None and out is None:
        return "-"
    return str((inp or 0) + (out or 0))


@traces_app.command("list")
def traces_list(
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", min=1, help="At most this many, newest first.")
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="One JSON object a line, one per trace.")
    ] = False,
) -> None:
    """The traces, newest first: id, steps, errors, duration, tokens, cost, first and last time."""
    from reviewer.review.traces import list_traces, summary

    with database(settings()) as engine:
        rows = [summary(row) for row in list_traces(engine, limit=limit)]
    emit(
        rows,
        json=json_out,
        json_lines=True,
        columns=[
            Column("trace", lambda r: _shown(r["id"])),
            Column("steps", "steps", align="right"),
            Column("errors", "errors", align="right"),
            Column("duration", lambda r: _ms(r["duration_ms"]), align="right"),
            Column("tokens", _tokens, align="right"),
            Column("cost", lambda r: _cost(r["cost_usd"]), align="right"),
            Column("first", "first"),
            Column("last", "last"),
        ],
        rows=rows,
        row_style=lambda r: "red" if r["errors"] else None,
        empty="no traces: import logs first (reviewer import FILE)",
    )
    raise typer.Exit(EXIT_OK)


@traces_app.command("show")
def traces_show(
    trace: Annotated[str, typer.Argument(help="A trace id, or the record id of one of its steps.")],
    json_out: JsonOption = False,
) -> None:
    """One trace's tree: each step's id, parent, kind, name, start, duration and status."""
    from reviewer.review.traces import load_trace, summary

    with database(settings()) as engine:
        found = load_trace(engine, trace)
    if found is None:
        fail(f"no trace or step {_shown(trace)!r}: `reviewer traces list` shows them", EXIT_USAGE)
    head = summary(found.totals)

    def text() -> list[str]:
        return [
            "",
            f"trace {_shown(head['id'])}: {head['steps']} steps, {head['errors']} errors,"
            f" {_ms(head['duration_ms'])}, {_tokens(found.totals)} tokens,"
            f" {_cost(head['cost_usd'])}",
        ]

    emit(
        found,
        json=json_out,
        columns=[
            Column("step", lambda s: "  " * s.depth + _shown(s.id)),
            Column("parent", lambda s: _shown(s.parent_id or "-")),
            Column("kind", "kind"),
            Column("name", lambda s: _shown(s.label)),
            Column("start", lambda s: s.timestamp or "-"),
            Column("duration", lambda s: _ms(s.latency_ms), align="right"),
            Column("status", lambda s: s.status),
        ],
        rows=found.steps,
        text=text,
        row_style=lambda s: "red" if s.error else None,
    )
    raise typer.Exit(EXIT_OK)
