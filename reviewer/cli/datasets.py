"""`reviewer datasets list|show|promote|import`: eval datasets and their versions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from reviewer.cli.common import (
    EXIT_OK,
    EXIT_REJECTED,
    database,
    fail,
    find_queue,
    reviewer_name,
    settings,
)
from reviewer.cli.output import Column, emit

datasets_app = typer.Typer(
    help="Eval datasets: list and show them (with their versions), promote reviews, import items.",
    no_args_is_help=True,
)

JSON_OBJECT = "Print the result as one JSON object."


@datasets_app.command("list")
def datasets_list(
    json_out: Annotated[
        bool, typer.Option("--json", help="Print a JSON list of objects, one per dataset.")
    ] = False,
) -> None:
    """List the datasets: items, versions, the latest version's number and hash, themes covered."""
    from reviewer.datasets.store import list_datasets

    with database() as opened:
        rows = list_datasets(opened)
    emit(
        rows,
        json=json_out,
        columns=[
            Column("dataset", "name"),
            Column("items", "items", align="right", width=6),
            Column(
                "version",
                lambda r: "-" if r.latest_version is None else r.latest_version,
                align="right",
                width=7,
            ),
            Column("hash", lambda r: (r.latest_hash or "-")[:12], width=12),
            Column("themes", lambda r: ", ".join(r.themes) or "-"),
        ],
        rows=rows,
        empty="no datasets yet: promote reviewed items (d in the app, or datasets promote)",
    )


@datasets_app.command("show")
def datasets_show(
    name: Annotated[str, typer.Argument(help="The dataset's name.")],
    version: Annotated[
        int | None, typer.Option("--version", "-v", help="This version (default: the latest).")
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the dataset as one JSON object.")
    ] = False,
) -> None:
    """A dataset at a version: its size, splits, themes, and every version. Exit 2 for an unknown dataset or version."""
    from reviewer.datasets.store import DatasetError, show_dataset

    with database() as opened:
        try:
            doc = show_dataset(opened, name, version)
        except DatasetError as exc:
            fail(str(exc))
    emit(doc, json=json_out, text=lambda: _show_lines(doc))


def _show_lines(doc: dict[str, Any]) -> list[str]:
    v = doc["version"]
    lines = [f"dataset     {doc['name']}"]
    if v is None:
        return [*lines, "version     none yet (no items)"]
    splits = doc["splits"]
    themes = ", ".join(f"{t} {n}" for t, n in doc["themes"].items())
    lines += [
        f"version     {v['number']} of {len(doc['versions'])}  {v['hash']}  "
        f"{v['created_at']}  {v['created_by'] or '-'}: {v['note'] or ''}",
        f"items       {doc['items']}  (train {splits['train']}, test {splits['test']})",
        f"with        expected answer {doc['with_expected']}, assertions "
        f"{doc['with_assertions']}, logged output {doc['with_output']}",
        f"themes      {themes or '-'}",
        "versions",
    ]
    for item in doc["versions"]:
        lines.append(
            f"  {item['number']:>4}  {item['hash'][:12]}  {item['item_count']:>6} items  "
            f"{item['created_at']}  {item['created_by'] or '-'}  {item['note'] or ''}"
        )
    return lines


@datasets_app.command("promote")
def datasets_promote(
    name: Annotated[str, typer.Argument(help="The dataset (created when missing).")],
    queue: Annotated[str, typer.Option("--queue", "-q", help="Promote this queue's reviews.")],
    verdict: Annotated[
        str | None, typer.Option("--verdict", help="Only reviews with this verdict: pass or fail.")
    ] = None,
    theme: Annotated[
        list[str] | None,
        typer.Option(
            "--theme", "-t", help="Only reviews carrying this theme (repeat: any of them)."
        ),
    ] = None,
    reviewer: Annotated[
        str | None, typer.Option("--reviewer", help="Only this reviewer's reviews.")
    ] = None,
    test_share: Annotated[
        float,
        typer.Option("--split-test-share", help="Share of new items in the test split (0 to 1)."),
    ] = 0.2,
    json_out: Annotated[bool, typer.Option("--json", help=JSON_OBJECT)] = False,
) -> None:
    """Promote a queue's complete reviews into a dataset; a review promoted before is updated, never added twice. Exit 2 for an unknown queue."""
    from reviewer.datasets.store import DatasetError, bulk_promote

    if verdict is not None and verdict not in ("pass", "fail"):
        fail(f"--verdict is pass or fail, not {verdict!r}")
    current = settings()
    found = find_queue(current, queue)
    with database(current) as opened:
        try:
            result = bulk_promote(
                opened,
                name,
                found,
                verdict=verdict,
                themes=theme or (),
                reviewer=reviewer,
                test_share=test_share,
                by=reviewer_name(current),
            )
        except DatasetError as exc:
            fail(str(exc))

    def lines() -> list[str]:
        out = [
            f"{result.dataset}: {result.created} new, {result.updated} updated, "
            f"{result.skipped} already there"
        ]
        if result.version is not None:
            out.append(f"version {result.version.number}  {result.version.hash}")
        return out

    emit(result, json=json_out, text=lines)


@datasets_app.command("import")
def datasets_import(
    name: Annotated[str, typer.Argument(help="The dataset (created when missing).")],
    file: Annotated[Path, typer.Argument(help="A JSON lines file of items (gzipped or not).")],
    test_share: Annotated[
        float,
        typer.Option(
            "--split-test-share", help="Share of items without a split put in test (0 to 1)."
        ),
    ] = 0.2,
    json_out: Annotated[bool, typer.Option("--json", help=JSON_OBJECT)] = False,
) -> None:
    """Read items in the canonical dataset shape into a dataset: new ids are added, known ids updated. Exit 1 when lines were rejected (the others are imported), 2 for a missing file."""
    from reviewer.datasets.store import DatasetError, import_items

    current = settings()
    with database(current) as opened:
        try:
            result = import_items(
                opened, name, file, by=reviewer_name(current), test_share=test_share
            )
        except DatasetError as exc:
            fail(str(exc))
    if not json_out:
        for line, reason in result.rejected:
            typer.echo(f"{file}:{line}: {reason}", err=True)

    def lines() -> list[str]:
        out = [
            f"{result.dataset}: {result.items} items read, {result.created} new, "
            f"{result.updated} updated, {result.unchanged} unchanged, "
            f"{len(result.rejected)} rejected"
        ]
        if result.version is not None:
            out.append(f"version {result.version.number}  {result.version.hash}")
        return out

    emit(result, json=json_out, text=lines)
    raise typer.Exit(EXIT_OK if result.ok else EXIT_REJECTED)
