"""`reviewer datasets list|show|promote|import|generate`: eval datasets, their versions, generated cases."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from reviewer.cli.common import (
    EXIT_OK,
    EXIT_REJECTED,
    JsonObject,
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
    json_out: JsonObject = False,
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
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="jsonl (the canonical items), openai-evals (samples: input, ideal) or "
            "promptfoo-results (promptfoo eval -o results.json: one item per test case).",
        ),
    ] = "jsonl",
    json_out: JsonObject = False,
) -> None:
    """Read items in the canonical dataset shape (or another tool's test cases, --format) into a dataset: new ids are added, known ids updated. Exit 1 when lines were rejected (the others are imported), 2 for a missing file or an unknown format."""
    from reviewer.datasets.store import DatasetError, import_items

    current = settings()
    with database(current) as opened:
        try:
            result = import_items(
                opened, name, file, by=reviewer_name(current), test_share=test_share, fmt=fmt
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


@datasets_app.command("generate")
def datasets_generate(
    name: Annotated[str, typer.Argument(help="The dataset the new cases are for.")],
    from_item: Annotated[
        str | None,
        typer.Option("--from", help="Generate from this item (its id, DATASET/N, or N)."),
    ] = None,
    theme: Annotated[
        str | None,
        typer.Option("--theme", "-t", help="Generate from the items carrying this theme."),
    ] = None,
    n: Annotated[int, typer.Option("--n", "-n", help="How many cases to write.")] = 10,
    kinds: Annotated[
        str | None,
        typer.Option(
            "--kinds",
            "-k",
            help="Kinds of cases, comma-separated: paraphrase, language, edge, adversarial "
            "(default: all four, in turn).",
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="The model that writes them (default: REVIEWER_GENERATE_MODEL, else "
            "openai:gpt-4o-mini); provider:model picks another provider, e.g. "
            "anthropic:claude-haiku-4-5.",
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds per model request (each attempt).")
    ] = 120.0,
    json_out: JsonObject = False,
) -> None:
    """A model writes N new inputs like a case (--from) or like the cases of a failure theme (--theme), keeping their intent and suggesting an expected answer; duplicates of each other and of the dataset are dropped; the rest land in the triage queue generated-NAME (queues/generated-NAME.yaml, written when missing), where a reviewer keeps (d) or drops (x) each: nothing enters the dataset before that. Cached: a rerun calls no model, a killed run resumes. Exit 1 when a request failed, 2 for an unusable call (unknown dataset, item or theme, a bad option, no model configured)."""
    import sys
    from contextlib import nullcontext

    from reviewer.cli.progress import CountBar
    from reviewer.evals.compare import format_cost
    from reviewer.evals.generate import (
        GenerateError,
        check_request,
        generate_cases_sync,
        parents_from_item,
        parents_from_theme,
        parse_kinds,
    )

    if (from_item is None) == (theme is None):
        fail("give --from ITEM_ID or --theme THEME (one of them)")
    if timeout <= 0:
        fail("--timeout is a number of seconds above 0")
    try:
        chosen = parse_kinds(kinds)
        check_request(n, chosen)
    except GenerateError as exc:
        fail(str(exc))
    current = settings()
    bar = CountBar(f"generate {name}", None) if sys.stderr.isatty() and not json_out else None
    with database(current) as opened:
        try:
            if from_item is not None:
                parents = parents_from_item(opened, name, from_item)
            else:
                parents = parents_from_theme(opened, name, theme or "")
            with bar or nullcontext():
                report = generate_cases_sync(
                    opened,
                    current.workspace,
                    name,
                    parents,
                    n=n,
                    kinds=chosen,
                    model=model,
                    timeout=timeout,
                    progress=bar.update if bar is not None else None,
                )
        except GenerateError as exc:
            fail(str(exc))

    def lines() -> list[str]:
        made = "written" if report.queue_created else "kept as it is"
        out = [
            f"{report.dataset}: {report.summary()}",
            f"{report.provider}:{report.model} · {report.requests} requests "
            f"({report.cached} answered from the cache) · {report.input_tokens:,} tokens in, "
            f"{report.output_tokens:,} out · {format_cost(report.cost_usd)}",
            f"{report.queue_file} {made} · {report.in_queue} cases in queue {report.queue}",
        ]
        if report.made or report.already:
            out.append(f"review them (d keeps, x drops): reviewer review {report.queue}")
        return out

    emit(report, json=json_out, text=lines)
    if not json_out:
        for error in report.errors[:20]:
            typer.echo(f"reviewer: {error}", err=True)
    raise typer.Exit(EXIT_REJECTED if report.errors else EXIT_OK)
