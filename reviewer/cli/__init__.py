"""The `reviewer` command: thin argument parsing over the core.

The root app and its global options live here; each command group has a module of its own
(`importing`, `export`, `queues`, `datasets`, `evals`, `prompts`, `judges`, `insights`,
`finetune`, `review`, `serve`, `traces`), sharing `common` (failures and exit codes, settings, the
database) and `output` (a result as a table or as JSON). Exit codes: see `reviewer.cli.common`.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from reviewer.cli import common
from reviewer.cli.assist import assist_cmd
from reviewer.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_STOPPED,
    EXIT_USAGE,
    state,
    stopped_message,
)
from reviewer.cli.datasets import datasets_app
from reviewer.cli.evals import eval_cmd
from reviewer.cli.export import export_app
from reviewer.cli.finetune import finetune_app
from reviewer.cli.importing import formats_cmd, import_cmd, rejects_cmd
from reviewer.cli.insights import report_cmd, stats_cmd, themes_app
from reviewer.cli.judges import judges_app
from reviewer.cli.prompts import prompts_app
from reviewer.cli.queues import queues_app
from reviewer.cli.review import review_cmd, run_app, summary
from reviewer.cli.serve import serve_app
from reviewer.cli.traces import traces_app

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_REJECTED",
    "EXIT_STOPPED",
    "EXIT_USAGE",
    "app",
    "common",
    "main",
    "state",
    "summary",
]


class _Commands(TyperGroup):
    """The root group: a command stopped by a refused write (a full disk, a read-only
    database or workspace, a database locked too long) ends with a message and exit 3, never
    a trace."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            message = stopped_message(exc)
            if message is None:
                raise
            typer.echo(f"reviewer: {message}", err=True)
            raise typer.Exit(EXIT_STOPPED) from None


app = typer.Typer(
    cls=_Commands,
    name="reviewer",
    help="Review logged LLM calls, build eval datasets and rerun evals, from the keyboard.",
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


@app.callback(invoke_without_command=True)
def main_callback(
    ctx: typer.Context,
    workspace: Annotated[
        str | None,
        typer.Option(
            "--workspace", "-w", help="Workspace folder (default: found from the current folder)."
        ),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Database URL (default: SQLite in <workspace>/.reviewer/; env REVIEWER_DATABASE_URL).",
        ),
    ] = None,
    reviewer: Annotated[
        str | None,
        typer.Option(
            "--reviewer",
            "-r",
            help="Who is reviewing (default: REVIEWER_NAME, git user.name, the OS user).",
        ),
    ] = None,
) -> None:
    """Without a command: open the app (on a terminal), or print a summary (in a pipe)."""
    state.workspace = workspace
    state.db = db
    state.reviewer = reviewer
    if ctx.invoked_subcommand is None:
        if sys.stdin.isatty() and sys.stdout.isatty():
            run_app(None)
        else:
            summary()


app.add_typer(export_app, name="export")
app.add_typer(queues_app, name="queues")
app.add_typer(datasets_app, name="datasets")
app.command("review")(review_cmd)
app.command("import")(import_cmd)
app.command("rejects")(rejects_cmd)
app.command("formats")(formats_cmd)
app.command("eval")(eval_cmd)
app.add_typer(prompts_app, name="prompts")
app.command("assist")(assist_cmd)
app.add_typer(judges_app, name="judges")
app.add_typer(finetune_app, name="finetune")
app.command("report")(report_cmd)
app.add_typer(themes_app, name="themes")
app.command("stats")(stats_cmd)
app.add_typer(serve_app, name="serve")
app.add_typer(traces_app, name="traces")


def main() -> None:
    """The console script: run the app; Ctrl+C exits 130 with one line, not a trace."""
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
