"""`reviewer finetune`: fine-tune a model on a dataset's reviewed cases, follow the job, and
get the command that evaluates the tuned model against its base on the held-out split."""

from __future__ import annotations

import sys
from typing import Annotated, Any, NoReturn

import typer

from reviewer.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_USAGE,
    JsonObject,
    database,
    fail,
    reviewer_name,
    settings,
)
from reviewer.cli.output import Column, emit

finetune_app = typer.Typer(
    help="Fine-tune a model on a dataset (OpenAI's fine-tuning API) and follow the job.",
    no_args_is_help=True,
)


def _shown(text: str) -> str:
    """Text that may hold what a server said, with its control characters made visible."""
    from reviewer.tui.literal import literal

    return literal(text)


def _failed(exc: Any) -> NoReturn:
    """Exit with the message of a FinetuneError: 2 when nothing could be done, else 1."""
    fail(_shown(str(exc)), EXIT_USAGE if exc.usage else EXIT_REJECTED)


def _job_dict(view: Any, command: str | None) -> dict[str, Any]:
    return {**view.to_dict(), "eval_command": command}


def _job_lines(view: Any, command: str | None) -> list[str]:
    """A job in a few lines of text."""
    from reviewer.evals.finetune import METHODS

    lines = [
        f"{view.job_id or f'record {view.id}'}  {view.status}",
        f"  base {view.base_model} · {METHODS[view.method][1]}"
        + (f" · suffix {view.suffix}" if view.suffix else "")
        + f" · {view.dataset_label} · {view.examples} examples · file {view.file_id or '-'}",
    ]
    if view.trained_tokens is not None:
        lines.append(f"  trained tokens {view.trained_tokens:,}")
    if view.error:
        lines.append(f"  error: {view.error}")
    if view.fine_tuned_model:
        lines.append(f"  tuned model {view.fine_tuned_model}")
    if command:
        lines.append(f"next, on the held-out cases: {command}")
    elif not view.final and view.job_id:
        lines.append(f"follow it: reviewer finetune status {view.job_id} --wait")
    return [_shown(line) for line in lines]


@finetune_app.command("start")
def start_cmd(
    dataset: Annotated[str, typer.Argument(help="The dataset whose cases to train on.")],
    model: Annotated[
        str,
        typer.Option("--model", "-m", help="The base model to fine-tune, e.g. gpt-4o-mini."),
    ],
    split: Annotated[
        str,
        typer.Option(
            "--split",
            help="The items to train on: train (default; test stays held out), test, all.",
        ),
    ] = "train",
    method: Annotated[
        str,
        typer.Option(
            "--method",
            help="sft: supervised, on the expected answers; dpo: expected answer preferred over the logged output.",
        ),
    ] = "sft",
    version: Annotated[
        int | None,
        typer.Option("--version", "-v", help="This dataset version (default: the latest)."),
    ] = None,
    suffix: Annotated[
        str | None,
        typer.Option("--suffix", help="Up to 64 characters added to the tuned model's name."),
    ] = None,
    redact: Annotated[
        bool,
        typer.Option(
            "--redact", help="Mask personal data (e-mails, phones, cards...) in the file."
        ),
    ] = False,
    again: Annotated[
        bool,
        typer.Option(
            "--again", help="Start another job even when the same one was already started."
        ),
    ] = False,
    json_out: JsonObject = False,
) -> None:
    """Upload the dataset's split as a fine-tuning file (openai-chat lines for sft, openai-dpo pairs for dpo) and start a job on OpenAI's fine-tuning API. The same file is uploaded once; the same start again shows the job already started; a start cut off after its upload is finished by running it again. Exit 2 when it cannot start (a provider without fine-tuning, no API key, fewer than 10 usable examples), 1 when the API refused."""
    from reviewer.datasets.items import DatasetError
    from reviewer.evals.finetune import METHODS, SPLITS, FinetuneError, start

    if method not in METHODS:
        fail(f"--method is one of {', '.join(METHODS)}, not {method!r}")
    if split not in SPLITS:
        fail(f"--split is one of {', '.join(SPLITS)}, not {split!r}")
    current = settings()
    say = (
        (lambda text: typer.echo(text, err=True)) if sys.stderr.isatty() and not json_out else None
    )
    with database(current) as opened:
        try:
            outcome = start(
                opened,
                dataset,
                model,
                split=split,
                method=method,
                version=version,
                suffix=suffix,
                redact=redact,
                again=again,
                by=reviewer_name(current),
                progress=say,
            )
        except FinetuneError as exc:
            _failed(exc)
        except DatasetError as exc:
            fail(str(exc))
    job = outcome.job

    def lines() -> list[str]:
        skipped = ""
        if outcome.skipped:
            reasons = ", ".join(f"{n} {why}" for why, n in sorted(outcome.skipped.items()))
            skipped = f" ({sum(outcome.skipped.values())} left out: {reasons})"
        head = (
            f"{job.dataset_name} v{job.dataset_version}, {job.split}: {outcome.items} items, "
            f"{job.examples} {job.method} examples{skipped}"
        )
        if outcome.existing:
            what = "already started (--again starts another)"
        elif outcome.uploaded:
            what = f"uploaded {job.file_id} ({job.file_bytes:,} bytes)"
        elif outcome.resumed:
            what = f"resumed the start cut off after uploading {job.file_id}"
        else:
            what = f"{job.file_id} already uploaded: not sent again"
        return [head, what, *_job_lines(job, None)]

    emit(outcome, json=json_out, text=lines)
    raise typer.Exit(EXIT_OK)


@finetune_app.command("status")
def status_cmd(
    job: Annotated[
        str | None,
        typer.Argument(help="A job id (ftjob-...): retrieve it and record what it says."),
    ] = None,
    wait: Annotated[
        bool,
        typer.Option("--wait", help="Poll until the job succeeded, failed or was cancelled."),
    ] = False,
    interval: Annotated[
        float, typer.Option("--interval", help="Seconds between two polls with --wait.")
    ] = 30.0,
    refresh_all: Annotated[
        bool,
        typer.Option("--refresh", help="Without JOB: retrieve every job that has not ended."),
    ] = False,
    json_out: JsonObject = False,
) -> None:
    """Without JOB: the recorded jobs (as last retrieved; --refresh retrieves the running ones). With JOB: retrieve it, record its status, trained tokens, error and tuned model, and, once it succeeded, print the eval that compares the tuned model with its base on the held-out split. --wait polls until it ends (ctrl+c stops the waiting, not the job). Exit 1 when the job failed or was cancelled."""
    from reviewer.evals.finetune import FinetuneError, eval_command, last_prompt

    if interval < 0:
        fail("--interval is a number of seconds, 0 or more")
    if job is None and wait:
        fail("--wait follows one job: name it (reviewer finetune status JOB --wait)")
    current = settings()
    with database(current) as opened:
        try:
            if job is None:
                _list(opened, refresh_all, json_out)
                raise typer.Exit(EXIT_OK)
            view = _follow(opened, job, wait, interval, json_out)
        except FinetuneError as exc:
            _failed(exc)
        prompt = last_prompt(opened, view.dataset_name)
        command = eval_command(view, prompt, _provider_of(current, prompt))
    emit(_job_dict(view, command), json=json_out, text=lambda: _job_lines(view, command))
    raise typer.Exit(EXIT_REJECTED if view.status in ("failed", "cancelled") else EXIT_OK)


def _provider_of(current: Any, prompt: str | None) -> str | None:
    """The provider of the workspace's prompt file `prompt` (None when it cannot be read)."""
    from reviewer.evals.prompts import PromptError, load_prompt

    for suffix in (".yaml", ".yml"):
        path = current.workspace / "prompts" / f"{prompt}{suffix}"
        if prompt and path.is_file():
            try:
                return str(load_prompt(path).provider)
            except PromptError:
                return None
    return None


def _follow(opened: Any, job: str, wait: bool, interval: float, json_out: bool) -> Any:
    from reviewer.evals.finetune import refresh
    from reviewer.evals.finetune import wait as wait_for

    if not wait:
        return refresh(opened, job)

    def change(view: Any) -> None:
        if json_out:
            return
        tokens = f" · {view.trained_tokens:,} trained tokens" if view.trained_tokens else ""
        typer.echo(_shown(f"{view.job_id}: {view.status}{tokens}"), err=True)

    try:
        return wait_for(opened, job, interval=interval, on_change=change)
    except KeyboardInterrupt:
        typer.echo(
            f"stopped waiting: the job goes on (reviewer finetune status {job} --wait)", err=True
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None


def _list(opened: Any, refresh_all: bool, json_out: bool) -> None:
    from reviewer.evals.finetune import age, list_jobs, refresh

    jobs = list_jobs(opened)
    if refresh_all:
        jobs = [refresh(opened, j.job_id) if j.job_id and not j.final else j for j in jobs]
    emit(
        {"jobs": jobs},
        json=json_out,
        columns=[
            Column("job", lambda j: _shown(j.job_id or f"record {j.id}")),
            Column("base", lambda j: _shown(j.base_model)),
            Column("dataset", lambda j: _shown(j.dataset_label)),
            Column("method", "method"),
            Column("status", lambda j: _shown(j.status)),
            Column("tuned model", lambda j: _shown(j.fine_tuned_model or "-")),
            Column("age", lambda j: age(j.created_at), align="right"),
        ],
        rows=jobs,
        empty="no fine-tuning jobs yet (reviewer finetune start DATASET --model BASE)",
    )


@finetune_app.command("cancel")
def cancel_cmd(
    job: Annotated[str, typer.Argument(help="The job id (ftjob-...).")],
    json_out: JsonObject = False,
) -> None:
    """Ask the provider to cancel a job that has not ended, and record what it says."""
    from reviewer.evals.finetune import FinetuneError, cancel

    current = settings()
    with database(current) as opened:
        try:
            view = cancel(opened, job)
        except FinetuneError as exc:
            _failed(exc)
    emit(_job_dict(view, None), json=json_out, text=lambda: _job_lines(view, None))
    raise typer.Exit(EXIT_OK)
