"""`reviewer import`, `reviewer rejects`, `reviewer formats`: logs in, and what was refused."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from reviewer.cli.common import EXIT_OK, EXIT_REJECTED, engine, fail, settings
from reviewer.cli.output import Column, emit

COUNTS = ("lines", "imported", "duplicates", "rejected", "skipped")
REPORT_COLUMNS = [
    Column("file", "path"),
    Column("format", "format"),
    *(Column(name, name, align="right") for name in COUNTS),
]


def import_cmd(
    paths: Annotated[
        list[str], typer.Argument(help="Files, folders, globs, or - for standard input.")
    ],
    format: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="Force a format instead of detecting it (see `reviewer formats`).",
        ),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping", "-m", help="YAML file mapping a custom JSONL/CSV shape to record fields."
        ),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the report as one JSON object.")
    ] = False,
    max_line_bytes: Annotated[
        int, typer.Option("--max-line-bytes", help="Reject lines longer than this.")
    ] = 16 * 1024 * 1024,
    max_decompressed_bytes: Annotated[
        int | None,
        typer.Option(
            "--max-decompressed-bytes",
            help="Stop reading a gzip file that expands past this many bytes "
            "(default: 100 times its size, at least 64 MiB).",
        ),
    ] = None,
    redact: Annotated[
        bool,
        typer.Option(
            "--redact",
            help="Mask personal data (e-mail addresses, phone, card and IBAN numbers, keys, "
            "tokens) in what is stored, the raw text too; credentials are always masked.",
        ),
    ] = False,
) -> None:
    """Import logged LLM calls. Exit 0 when all was imported, 1 when lines were rejected, 2 for an unusable call."""
    from reviewer.ingest.pipeline import Importer
    from reviewer.ingest.reader import UsageError

    mapping_spec = None
    if max_decompressed_bytes is not None and max_decompressed_bytes < 1:
        fail("--max-decompressed-bytes is a number of bytes above 0")
    if format == "mapping" and mapping is None:
        fail("--format mapping needs --mapping FILE.yaml describing the shape")
    if mapping is not None:
        from reviewer.ingest.formats.mapping import MappingError, load_mapping

        try:
            mapping_spec = load_mapping(mapping)
        except MappingError as exc:
            fail(str(exc))
    current = settings()
    opened = engine(current)
    import gc

    # what is loaded by now stays: the collector's full passes need not go over it again and
    # again while lines are read (about 0.15 s a 100k lines); given back to it at the end
    gc.freeze()
    progress_ctx = None
    if sys.stderr.isatty():
        from reviewer.cli.progress import FileProgress

        progress_ctx = FileProgress()
    try:
        importer = Importer(
            opened,
            format_name=format,
            mapping=mapping_spec,
            max_line_bytes=max_line_bytes,
            max_decompressed_bytes=max_decompressed_bytes,
            redact=redact,
            progress=progress_ctx.update if progress_ctx else None,
            label=current.display_path,
        )
        if progress_ctx:
            with progress_ctx:
                report = importer.run(paths)
        else:
            report = importer.run(paths)
    except UsageError as exc:
        fail(str(exc))
    finally:
        opened.dispose()
        gc.unfreeze()
    emit(
        report,
        json=json_out,
        columns=REPORT_COLUMNS,
        rows=report_rows(report),
        row_style=lambda row: row["style"],
    )
    if not json_out:
        print_rejections(report)
    raise typer.Exit(EXIT_OK if report.ok else EXIT_REJECTED)


def report_rows(report: Any) -> list[dict[str, Any]]:
    """One row per file (red when it had rejected lines), then the total (bold)."""
    rows: list[dict[str, Any]] = [
        {
            "path": f.path,
            "format": f.format,
            **{name: getattr(f, name) for name in COUNTS},
            "style": "red" if f.rejected else None,
        }
        for f in report.files
    ]
    totals = {name: report.total(name) for name in COUNTS}
    rows.append({"path": "total", "format": "", **totals, "style": "bold"})
    return rows


def print_rejections(report: Any) -> None:
    """The first rejected lines with their reasons, notes on files (a batch input file alone,
    records without content), and the number imported."""
    if report.rejections:
        typer.echo("")
        for r in report.rejections:
            typer.secho(f"rejected {r.path}:{r.line}: {r.reason}", fg="red")
        more = report.total("rejected") - len(report.rejections)
        if more > 0:
            typer.echo(f"... and {more} more")
        typer.echo("List them all with: reviewer rejects")
    notes = [f for f in report.files if f.reason]
    if notes:
        typer.echo("")
    for f in notes:
        typer.secho(f"note {f.path}: {f.reason}", fg="yellow")
    bare = report.total("without_content")
    if bare:
        typer.echo(
            f"{bare} record{'' if bare == 1 else 's'} without content (no messages, no output): "
            "counted in insights, left out of review queues unless their filter says "
            "`content: without` or `content: any`"
        )
    imported = report.total("imported")
    typer.echo(
        f"{imported} record{'' if imported == 1 else 's'} imported in {report.seconds:.2f} s"
    )


def rejects_cmd(
    path: Annotated[
        str | None, typer.Option("--path", help="Only lines of files whose path contains this.")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", help="At most this many (0 for all).")
    ] = 100,
    raw: Annotated[
        bool, typer.Option("--raw", help="Also print the kept text of each line.")
    ] = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="One JSON object a line, with the raw text.")
    ] = False,
) -> None:
    """List the lines that imports rejected: file, line, reason (and the text kept)."""
    from reviewer.ingest.rejects import list_rejects

    opened = engine()
    try:
        rows = list_rejects(opened, path_contains=path, limit=limit or None)
    finally:
        opened.dispose()

    def lines() -> list[str]:
        out = []
        for row in rows:
            out.append(f"{row['path']}:{row['line']}: {row['reason']}")
            if raw:
                out.append("    " + repr(row["raw"][:500]))
        return out

    emit(rows, json=json_out, json_lines=True, text=lines, empty="no rejected lines")


def formats_cmd() -> None:
    """List the log formats the import understands."""
    from reviewer.ingest.formats import all_formats

    for fmt in all_formats():
        doc = (type(fmt).__doc__ or "").strip().splitlines()[0] if type(fmt).__doc__ else ""
        typer.echo(f"{fmt.name:<20} {doc}")
    typer.echo(f"{'mapping':<20} A custom JSONL/CSV shape described by --mapping FILE.yaml.")
