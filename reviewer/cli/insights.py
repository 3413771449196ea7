"""`reviewer stats`, `reviewer report`, `reviewer themes suggest|accept|discard`: insights."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from reviewer.cli.common import check_output, database, fail, reviewer_name, settings
from reviewer.cli.output import emit

themes_app = typer.Typer(
    help="Failure themes: suggested groups of untagged failing reviews, to accept or discard.",
    no_args_is_help=True,
)


def trace_queues(current: Any) -> list[str]:
    """The names of the workspace's `unit: trace` queues (their reviews are trace reviews); a
    queue file that cannot be read names none (`reviewer queues` says why)."""
    from reviewer.review.queues import load_queues

    queues, _errors = load_queues(current.workspace)
    return [q.name for q in queues if q.unit == "trace"]


def report_cmd(
    output: Annotated[
        str, typer.Option("--output", "-o", help="The HTML file to write.")
    ] = "report.html",
    bucket: Annotated[
        str, typer.Option("--bucket", help="Period of each point: day or week.")
    ] = "week",
    by: Annotated[
        str, typer.Option("--by", help="One line per model, prompt (version) or queue.")
    ] = "model",
    since: Annotated[
        str | None,
        typer.Option("--since", help="From this date/time, or back from now (7d, 12h)."),
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Up to this date/time (a date: its end).")
    ] = None,
    title: Annotated[str, typer.Option("--title", help="The page's title.")] = "LLM insights",
) -> None:
    """Write the insights (satisfaction, pass rate, volume, latency, themes, coverage, traces) as one self-contained HTML file that opens without a network. Exit 2 for a bad option."""
    if bucket not in ("day", "week"):
        fail(f"--bucket is day or week, not {bucket!r}")
    if by not in ("model", "prompt", "queue"):
        fail(f"--by is model, prompt or queue, not {by!r}")
    from reviewer.insights.metrics import InsightsError
    from reviewer.insights.report import write_report

    check_output(output)
    current = settings()
    with database(current) as opened:
        try:
            data = write_report(
                opened,
                output,
                title=title,
                workspace=str(current.workspace),
                bucket=bucket,
                by=by,
                since=since,
                until=until,
                trace_queues=trace_queues(current),
            )
        except InsightsError as exc:
            fail(str(exc))
        except OSError as exc:
            fail(f"cannot write {output}: {exc.strerror or exc}")
    typer.echo(
        f"wrote {output}: {len(data.get('buckets') or [])} {bucket}s, "
        f"{len(data.get('series') or [])} {by}s, {len(data.get('themes') or [])} themes"
    )


@themes_app.command("suggest")
def themes_suggest(
    k: Annotated[
        int | None,
        typer.Option("--k", help="How many groups to look for (default: N/3, at most 8)."),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print a JSON list of objects, one per suggestion.")
    ] = False,
) -> None:
    """Group the failing reviews that have no theme yet by what their notes (or outputs) say, into suggested themes. Exit 2 for a bad option."""
    from reviewer.insights.suggest import SuggestError, suggest_themes

    with database() as opened:
        try:
            found = suggest_themes(opened, k=k)
        except SuggestError as exc:
            fail(str(exc))

    def lines() -> list[str]:
        if not found:
            return []
        out = []
        for s in found:
            example = " ".join(s.example.split())
            out += [
                f"{s.id}  {s.name}  ({s.size} reviews)",
                f"          terms    {', '.join(s.terms)}",
                f"          example  {example[:100]}{'...' if len(example) > 100 else ''}",
            ]
        return [*out, "", "reviewer themes accept ID [--name NAME]  |  reviewer themes discard ID"]

    emit(
        found,
        json=json_out,
        text=lines,
        empty="no suggested themes: no two untagged failing reviews say the same thing",
    )


@themes_app.command("accept")
def themes_accept(
    suggestion: Annotated[str, typer.Argument(help="The suggestion's id (from `themes suggest`).")],
    name: Annotated[
        str | None, typer.Option("--name", help="The theme's name (default: the suggested one).")
    ] = None,
) -> None:
    """Create the suggested theme (renamed with --name) and tag its reviews with it. Exit 2 for an unknown or already accepted suggestion."""
    from reviewer.insights.suggest import SuggestError, accept
    from reviewer.review.themes import ThemeError

    current = settings()
    with database(current) as opened:
        try:
            result = accept(opened, suggestion, name=name, by=reviewer_name(current))
        except (SuggestError, ThemeError) as exc:
            fail(str(exc))
    unchanged = (
        f" ({result.unchanged} no longer failing or tagged already)" if result.unchanged else ""
    )
    typer.echo(f"theme {result.theme.name}: {result.tagged} reviews tagged{unchanged}")


@themes_app.command("discard")
def themes_discard(
    suggestion: Annotated[str, typer.Argument(help="The suggestion's id (from `themes suggest`).")],
) -> None:
    """Hide a suggested theme from later suggestions. Exit 2 for an unknown or accepted suggestion."""
    from reviewer.insights.suggest import SuggestError, discard

    current = settings()
    with database(current) as opened:
        try:
            gone = discard(opened, suggestion, by=reviewer_name(current))
        except SuggestError as exc:
            fail(str(exc))
    typer.echo(f"discarded {gone.id} {gone.name}")


def stats_cmd(
    bucket: Annotated[
        str, typer.Option("--bucket", "-b", help="Period of each figure: day or week.")
    ] = "day",
    by: Annotated[
        str | None, typer.Option("--by", help="Split by model, prompt (version) or queue.")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="From this date/time, or a duration back (7d, 12h)."),
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Before this; a date alone: to its end.")
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the figures as one JSON object.")
    ] = False,
) -> None:
    """Satisfaction (user feedback, reviewer verdicts), errors, latency p50/p95, tokens and cost per period; failure themes and their coverage by datasets and evals; per agent trace: steps, tokens and cost (p50/p95), tool error rate per tool, the kinds of step where failing traces went wrong. Exit 2 for a bad option."""
    from reviewer.insights.metrics import InsightsError, format_lines, insights

    current = settings()
    with database(current) as opened:
        try:
            result = insights(
                opened,
                bucket=bucket,
                by=by,
                since=since,
                until=until,
                trace_queues=trace_queues(current),
            )
        except InsightsError as exc:
            fail(str(exc))
    from reviewer.tui.literal import literal  # tool names and themes come from logs and people

    emit(result, json=json_out, text=lambda: [literal(line) for line in format_lines(result)])
