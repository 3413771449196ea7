"""`reviewer prompts save|history|improve`: versions of the prompt files (prompts/*.yaml), and
the search for a better one."""

from __future__ import annotations

import sys
from operator import itemgetter
from typing import Annotated

import typer

from reviewer.cli.common import EXIT_REJECTED, database, fail, reviewer_name, settings
from reviewer.cli.output import emit

prompts_app = typer.Typer(
    help="Prompt versions (prompts/*.yaml): save the file as a version, list the history.",
    no_args_is_help=True,
)


@prompts_app.command("save")
def prompts_save(
    name: Annotated[str, typer.Argument(help="The prompt (prompts/NAME.yaml).")],
    commit: Annotated[
        bool, typer.Option("--commit", help="Also git commit that one file (in a git repository).")
    ] = False,
    note: Annotated[str | None, typer.Option("--note", help="What changed.")] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the version as one JSON object.")
    ] = False,
) -> None:
    """Record the prompt file as it is now as a version (the same text twice is one version). Exit 1 when the prompt has errors or git fails, 2 for a missing file."""
    from reviewer.evals.prompts import PromptError
    from reviewer.evals.versions import VersionError, prompt_path, save_version

    current = settings()
    try:
        path = prompt_path(current.workspace, name)
        text = path.read_bytes().decode("utf-8-sig")
    except VersionError as exc:
        fail(str(exc))
    except FileNotFoundError:
        fail(f"no prompt file {current.workspace / 'prompts' / name}.yaml")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{path}: cannot read: {exc}")
    with database(current) as opened:
        try:
            saved = save_version(
                opened,
                current.workspace,
                name,
                text,
                by=reviewer_name(current),
                commit=commit,
                note=note,
            )
        except (PromptError, VersionError) as exc:
            fail(str(exc), EXIT_REJECTED)
    doc = saved.to_dict()
    doc.pop("content", None)

    def lines() -> list[str]:
        state_word = "new" if saved.created else "already saved"
        out = [f"{name}: version {saved.number} ({state_word})  {saved.hash[:12]}"]
        if saved.committed and saved.git_commit:
            out.append(f"committed {saved.git_commit[:10]}  prompt {name}: version {saved.number}")
        elif saved.git_note:
            out.append(saved.git_note)
        return out

    emit(doc, json=json_out, text=lines)


@prompts_app.command("history")
def prompts_history(
    name: Annotated[str, typer.Argument(help="The prompt's name.")],
    diff: Annotated[bool, typer.Option("--diff", help="Show each version's diff.")] = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print a JSON list of versions, newest first.")
    ] = False,
) -> None:
    """The prompt's versions, newest first (* the file now): hash, time, author, git commit, note, pass rate per dataset. The file is recorded as version 1 when it has none."""
    from reviewer.evals.versions import (
        VersionError,
        check_name,
        ensure_current,
        format_history,
        history,
    )

    current = settings()
    try:
        check_name(name)
    except VersionError as exc:
        fail(str(exc))
    with database(current) as opened:
        ensure_current(opened, current.workspace, name)
        entries = history(opened, name, current.workspace)
    if not entries:
        fail(
            f"prompt {name!r} has no version and no file {current.workspace / 'prompts'}/{name}.yaml"
        )

    def lines() -> list[str]:
        if not diff:
            return list(format_history(entries))
        out: list[str] = []
        for entry in entries:
            out += format_history([entry])
            out += [f"    {line}" for line in entry.diff.splitlines()]
            out.append("")
        return out

    emit(entries, json=json_out, text=lines)


@prompts_app.command("improve")
def prompts_improve(
    name: Annotated[str, typer.Argument(help="The prompt (prompts/NAME.yaml).")],
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="The dataset to learn from.")],
    rounds: Annotated[int, typer.Option("--rounds", "-r", help="Rounds of proposals.")] = 2,
    candidates: Annotated[
        int, typer.Option("--candidates", "-k", help="Candidates proposed per round.")
    ] = 2,
    theme: Annotated[
        str | None, typer.Option("--theme", "-t", help="Fix only the cases with this theme.")
    ] = None,
    budget_usd: Annotated[
        float | None,
        typer.Option("--budget-usd", help="Stop once the optimizer and eval calls cost this."),
    ] = None,
    save: Annotated[
        bool, typer.Option("--save", help="Save the winner as the prompt's next version.")
    ] = False,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", help="Eval requests at a time.")
    ] = 8,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the report as one JSON object.")
    ] = False,
) -> None:
    """Search for a better prompt: each round the optimizer (the prompt's `optimizer:` model, or REVIEWER_OPTIMIZER_MODEL) proposes K edits from the current best prompt and its failing train cases, each is evaluated on the train cases and the best kept; at the end the original and the winner are evaluated on the held-out test cases (30 %, split by case id), which the optimizer never saw. Every call is cached: a rerun (after a kill too) pays nothing for what was done. Nothing is written unless --save. Exit 2 when the prompt, dataset, theme or model cannot be used."""
    from reviewer.cli.output import Column
    from reviewer.evals.improve import improve_sync, round_rows, summary_lines
    from reviewer.evals.optimize import OptimizeError
    from reviewer.tui.literal import literal

    if concurrency < 1:
        fail("--concurrency is at least 1")

    def progress(line: str) -> None:  # on a terminal, each evaluation as it ends
        if sys.stderr.isatty() and not json_out:
            typer.echo(literal(line), err=True)

    current = settings()
    with database(current) as opened:
        try:
            report = improve_sync(
                opened, current.workspace, name, dataset, rounds=rounds, candidates=candidates,
                theme=theme, budget_usd=budget_usd, save=save, by=reviewer_name(current),
                concurrency=concurrency, note=progress,
            )  # fmt: skip
        except OptimizeError as exc:
            fail(literal(str(exc)))

    def lines() -> list[str]:
        out = ["", *(literal(line) for line in summary_lines(report))]
        if report.diff:
            out += ["", "the winner against the original:"]
            out += [f"  {literal(line)}" for line in report.diff.splitlines()]
        if report.saved_version is not None:
            out.append(f"saved as {name} version {report.saved_version}")
        elif report.diff:
            out.append("nothing was saved; rerun with --save")
        return out

    titles = ("round", "train (best)", "candidates (train)", "kept")
    columns = [Column(t, itemgetter(i)) for i, t in enumerate(titles)]
    emit(report, json=json_out, columns=columns, rows=round_rows(report), text=lines)
