"""`reviewer export records|dataset|reviews`: data out, in formats other tools read."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from typing import Annotated, Any

import typer

from reviewer.cli.common import EXIT_REJECTED, EXIT_STOPPED, check_output, database, fail
from reviewer.cli.progress import CountBar

export_app = typer.Typer(help="Write data out in formats other tools read.", no_args_is_help=True)

REDACT_HELP = "Mask e-mail addresses, phone and card numbers, API keys (best-effort)."


def _bar(label: str, total: int | None) -> CountBar | None:
    return CountBar(label, total) if sys.stderr.isatty() else None


@export_app.command("records")
def export_records(
    output: Annotated[
        str, typer.Option("--output", "-o", help="File to write (default: standard output).")
    ] = "-",
) -> None:
    """Write every record as canonical JSONL (the shape is documented in the README)."""
    from reviewer.store.records import write_records

    check_output(output)
    with database() as opened:
        count = export_to(output, lambda out: write_records(opened, out), None)
    if output != "-":
        typer.echo(f"{count} records written to {output}", err=True)


def export_to(output: str, write: Any, bar: CountBar | None) -> Any:
    """Run `write(stream)` on standard output ("-") or the file `output`, with the bar; exit
    3 when the file cannot be written to the end (a full disk)."""
    with bar or nullcontext():
        if output == "-":
            try:
                report = write(sys.stdout.buffer)
                sys.stdout.flush()
            except BrokenPipeError:  # `| head`: the reader left; stop quietly
                import os

                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                raise typer.Exit(EXIT_REJECTED) from None
            return report
        try:
            fh = open(output, "wb")  # noqa: SIM115
        except OSError as exc:
            fail(f"cannot write {output}: {exc.strerror or exc}")
        try:
            with fh:
                return write(fh)
        except OSError as exc:
            fail(
                f"cannot write {output}: {exc.strerror or exc}: the file is incomplete",
                EXIT_STOPPED,
            )


@export_app.command("dataset")
def export_dataset(
    name: Annotated[str, typer.Argument(help="The dataset's name.")],
    format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="jsonl, csv, openai-chat, openai-dpo, openai-evals, promptfoo, inspect, hf.",
        ),
    ] = "jsonl",
    output: Annotated[
        str,
        typer.Option(
            "--output", "-o", help="File to write (default: standard output); a folder for hf."
        ),
    ] = "-",
    version: Annotated[
        int | None, typer.Option("--version", help="A version number (default: the latest).")
    ] = None,
    redact: Annotated[bool, typer.Option("--redact", help=REDACT_HELP)] = False,
    promptfoo_expected: Annotated[
        str,
        typer.Option(
            "--promptfoo-expected",
            help="promptfoo: check the expected answer with similar (embeddings), factuality (a grader model), equals, or none.",
        ),
    ] = "similar",
) -> None:
    """Write a dataset version in a format other tools read. Exit 2 for an unknown dataset, version or format."""
    from reviewer.datasets.export import export_dataset as write_dataset
    from reviewer.datasets.exporters import FOLDER_FORMATS, FORMATS, PROMPTFOO_EXPECTED
    from reviewer.datasets.items import DatasetError
    from reviewer.datasets.versions import version_info

    if format not in FORMATS:
        fail(f"unknown format {format!r} (formats: {', '.join(FORMATS)})")
    if format in FOLDER_FORMATS and output == "-":
        fail(f"the {format} format writes a folder: name it with -o PATH")
    if promptfoo_expected not in PROMPTFOO_EXPECTED:
        fail(
            f"--promptfoo-expected is one of {', '.join(PROMPTFOO_EXPECTED)}, not {promptfoo_expected!r}"
        )
    options = {"expected": promptfoo_expected} if format == "promptfoo" else {}
    check_output(output, folder_format=format if format in FOLDER_FORMATS else None)
    with database() as opened:
        try:
            info = version_info(opened, name, version)
        except DatasetError as exc:
            fail(str(exc))
        bar = _bar(f"{name} v{info.number}", info.item_count)

        def write(target: Any) -> Any:
            return write_dataset(
                opened, name, format, target, version=info.number, redact=redact,
                progress=bar.update if bar else None, **options,
            )[1]  # fmt: skip

        if format in FOLDER_FORMATS:
            with bar or nullcontext():
                report = write(output)
        else:
            report = export_to(output, write, bar)
    where = "" if output == "-" else f" to {output}"
    typer.echo(f"{name} version {info.number}: {report.summary()}{where}", err=True)


@export_app.command("reviews")
def export_reviews_cmd(
    format: Annotated[str, typer.Option("--format", "-f", help="jsonl or csv.")] = "jsonl",
    output: Annotated[
        str, typer.Option("--output", "-o", help="File to write (default: standard output).")
    ] = "-",
    queue: Annotated[str | None, typer.Option("--queue", "-q", help="Only this queue.")] = None,
    history: Annotated[
        bool, typer.Option("--history", help="Every review event, not only the current reviews.")
    ] = False,
    redact: Annotated[bool, typer.Option("--redact", help=REDACT_HELP)] = False,
) -> None:
    """Write every review (verdict, scores, themes, note, corrected answer, reviewer) with its record: the labelled data. Exit 2 for an unknown format."""
    from reviewer.datasets.exporters import with_progress
    from reviewer.review.export_reviews import REVIEW_FORMATS, export_reviews, iter_reviews

    if format not in REVIEW_FORMATS:
        fail(f"unknown format {format!r} (formats: {', '.join(REVIEW_FORMATS)})")
    check_output(output)
    with database() as opened:
        lines: Any = iter_reviews(opened, queue=queue, history=history)
        bar = _bar("reviews", None)
        if bar is not None:
            lines = with_progress(lines, bar.update)
        report = export_to(
            output,
            lambda out: export_reviews(
                opened, out, format, history=history, redact=redact, lines=lines
            ),
            bar,
        )
    noun = "review event" if history else "review"
    noun += "" if report.written == 1 else "s"
    where = "" if output == "-" else f" to {output}"
    typer.echo(f"{report.written} {noun} written{where}", err=True)
