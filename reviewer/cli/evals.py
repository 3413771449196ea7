"""`reviewer eval`: a prompt on a dataset, graded and compared with its baseline."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer

from reviewer.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_REJECTED,
    engine,
    fail,
    reviewer_name,
    settings,
)
from reviewer.cli.output import emit


def find_prompt(current: Any, prompt: str) -> Path:
    """PROMPT as a path to a prompt file, or the name of one in <workspace>/prompts/."""
    given = Path(prompt)
    if given.suffix in (".yaml", ".yml") or given.is_file():
        if not given.is_file():
            fail(f"no such prompt file: {prompt}")
        return given
    folder = current.workspace / "prompts"
    for suffix in (".yaml", ".yml"):
        if (folder / f"{prompt}{suffix}").is_file():
            return folder / f"{prompt}{suffix}"
    names = sorted(p.stem for p in [*folder.glob("*.yaml"), *folder.glob("*.yml")])
    fail(f"no prompt named {prompt!r} in {folder} (prompts: {', '.join(names) or 'none'})")


def eval_cmd(
    prompt: Annotated[
        str, typer.Argument(help="A prompt name (prompts/NAME.yaml) or a prompt file's path.")
    ],
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="The dataset to run on.")],
    version: Annotated[
        int | None,
        typer.Option("--version", "-v", help="This dataset version (default: the latest)."),
    ] = None,
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            "-m",
            help="Run with this model instead of the prompt's (repeat: side by side); "
            "provider:model picks another provider, e.g. anthropic:claude-haiku-4-5.",
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", help="Model calls at once (all models together).")
    ] = 8,
    fail_under: Annotated[
        float | None,
        typer.Option(
            "--fail-under", help="Exit 1 when a model's pass rate is below this (0 to 1)."
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds per model request (each attempt).")
    ] = 60.0,
    no_cache: Annotated[
        bool,
        typer.Option("--no-cache", help="Call the models even for answers already in the cache."),
    ] = False,
    samples: Annotated[
        int | None,
        typer.Option(
            "--samples", help="Answer every case N times: pass@1, pass@N, pass^N, flaky cases."
        ),
    ] = None,
    self_critique: Annotated[
        bool,
        typer.Option("--self-critique", help="Draft, critique (structured), revision."),
    ] = False,
    critic: Annotated[
        str | None,
        typer.Option("--critic", help="The model that critiques (implies --self-critique)."),
    ] = None,
    best_of: Annotated[
        int | None,
        typer.Option("--best-of", help="N answers; a judge model picks one (see --judge)."),
    ] = None,
    ensemble: Annotated[
        list[str] | None,
        typer.Option(
            "--ensemble",
            help="These models each answer (comma-separated or repeated); the majority wins.",
        ),
    ] = None,
    select: Annotated[
        str | None,
        typer.Option("--select", help="How an ensemble chooses: majority or judge."),
    ] = None,
    judge: Annotated[
        str | None,
        typer.Option(
            "--judge", help="The judge of --best-of and of an ensemble that selects by judge."
        ),
    ] = None,
    strategy: Annotated[
        list[str] | None,
        typer.Option(
            "--strategy",
            "-s",
            help="Run with this strategy (repeat: models x strategies in one table): single, "
            "samples=N, self-critique[=MODEL], best-of=N[@JUDGE], ensemble=A,B[,C][@JUDGE], "
            "joined with + (best-of=3+samples=5).",
        ),
    ] = None,
    split: Annotated[
        str | None,
        typer.Option(
            "--split", help="Run on this split of the dataset only: train or test (default: all)."
        ),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the outcome as one JSON object.")
    ] = False,
) -> None:
    """Run a prompt on a dataset and grade the answers; a killed run started again calls only what is missing. Exit 1 when a case could not be graded (an error) or a pass rate is below --fail-under, 2 for an unusable call (unknown prompt or dataset, a prompt error, a missing API key)."""
    from reviewer.datasets.items import DatasetError
    from reviewer.evals.compare import compare_eval
    from reviewer.evals.prices import PriceError
    from reviewer.evals.prompts import PromptError, load_prompt
    from reviewer.evals.providers import ProviderError
    from reviewer.evals.runner import run_eval_sync
    from reviewer.evals.strategies import (
        StrategyError,
        parse_strategy,
        strategy_of,
        with_options,
    )

    if concurrency < 1:
        fail("--concurrency is at least 1")
    if fail_under is not None and not 0 <= fail_under <= 1:
        fail(f"--fail-under is a pass rate from 0 to 1 (0.9 for 90%), not {fail_under:g}")
    if timeout <= 0:
        fail("--timeout is a number of seconds above 0")
    if split is not None and split not in ("train", "test"):
        fail(f"--split is train or test, not {split!r}")
    current = settings()
    path = find_prompt(current, prompt)
    try:
        loaded = load_prompt(path)
    except PromptError as exc:
        fail(str(exc))
    flags = {
        "--samples": samples is not None, "--self-critique": self_critique,
        "--critic": critic is not None, "--best-of": best_of is not None,
        "--ensemble": bool(ensemble), "--select": select is not None, "--judge": judge is not None,
    }  # fmt: skip
    try:
        if strategy:
            given = [name for name, on in flags.items() if on]
            if given:
                fail(
                    f"--strategy takes the whole strategy: spell {', '.join(given)} in it "
                    "(e.g. --strategy best-of=3@gpt-4o+samples=5)"
                )
            strategies = list(dict.fromkeys(parse_strategy(s) for s in strategy))
        else:
            strategies = [
                with_options(
                    strategy_of(loaded),
                    samples=samples,
                    self_critique=self_critique,
                    critic=critic,
                    best_of=best_of,
                    ensemble=ensemble,
                    select=select,
                    judge=judge,
                )  # fmt: skip
            ]
    except StrategyError as exc:
        fail(str(exc))
    opened = engine(current)
    bar = None
    if sys.stderr.isatty() and not json_out:
        from reviewer.cli.progress import CountBar

        bar = CountBar(f"eval {loaded.name}", None)

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar.update(done, total)

    try:
        with bar or nullcontext():
            outcomes = run_eval_sync(
                opened,
                loaded,
                loaded.text,
                dataset,
                models=model or None,
                concurrency=concurrency,
                version=version,
                progress=progress,
                cache=not no_cache,
                workspace=current.workspace,
                timeout=timeout,
                by=reviewer_name(current),
                split=split,
                strategies=strategies,
            )
        result = compare_eval(
            opened,
            outcomes,
            prompt=loaded.name,
            prompt_path=str(path),
            prompt_hash=loaded.hash,
            dataset=dataset,
            version=version,
            fail_under=fail_under,
            split=split,
        )
        table: list[Any] = []
        if len(result.runs) > 1:
            from reviewer.evals.choice import choice_table, entries_of

            table = choice_table(entries_of(opened, [o.run_id for o, _c in result.runs]))
    except (DatasetError, ProviderError, PromptError, PriceError) as exc:
        fail(str(exc))
    except KeyboardInterrupt:  # the runs are marked cancelled, their results kept
        typer.echo("interrupted: the results so far are kept; run it again to continue", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    finally:
        opened.dispose()
    document = result.to_json()
    if table:
        document["table"] = [row.to_dict() for row in table]
    emit(document, json=json_out, text=lambda: _lines(result, table))
    if not json_out:
        for outcome, comparison in result.runs:
            errors = comparison.summary.errors
            if errors:
                typer.echo(
                    f"{outcome.model}: {errors} of {comparison.summary.cases} cases could not "
                    "be graded (errors)",
                    err=True,
                )
        for name in result.failing():
            typer.echo(f"{name}: pass rate below {fail_under:.0%}", err=True)
    raise typer.Exit(EXIT_OK if result.ok else EXIT_REJECTED)


def _lines(result: Any, table: list[Any]) -> list[str]:
    """The text summary: a line per run (model and strategy), the first error, the flaky cases
    of a sampled run, and with several runs the table of models × strategies."""
    from reviewer.evals.choice import format_table
    from reviewer.evals.compare import case_samples, format_rate, format_summary

    lines: list[str] = []
    if result.runs:
        first = result.runs[0][1]
        part = f" ({result.split} split)" if result.split else ""
        lines.append(
            f"{result.prompt} ({result.prompt_hash[:8]}) on {result.dataset} "
            f"v{first.dataset_version}{part}: {first.summary.cases} cases"
        )
    names = {
        o.run_id: o.model if c.summary.strategy == "single" else f"{o.model} · {c.summary.strategy}"
        for o, c in result.runs
    }
    width = max([len(n) for n in names.values()] + [5])
    for o, c in result.runs:
        s = o.summary
        lines.append(f"{names[o.run_id]:<{width}}  {format_summary(c.summary)}")
        against = "no baseline yet" if c.baseline.kind == "none" else c.baseline.label
        counted = f"{c.summary.graded} graded · {c.summary.errors} error" + (
            "" if c.summary.errors == 1 else "s"
        )
        if c.summary.ungraded:
            counted += f" · {c.summary.ungraded} ungraded"
        lines.append(
            f"{'':<{width}}  run {o.run_id} · {counted} · {s.get('called', 0)} called · "
            f"{s.get('cached', 0)} cached · {s.get('resumed', 0)} resumed · against {against}"
        )
        errors = [case.new.error for case in c.cases if case.new.error]
        if errors:
            lines.append(f"{'':<{width}}  first error: {errors[0]}")
        for case in c.cases:
            sampled = case_samples(case.item_id, case.new)
            if sampled is not None and sampled.flaky:
                figures = sampled.to_dict()
                lines.append(
                    f"{'':<{width}}  flaky: {case.item_id} ({sampled.c} of {sampled.n} passed · "
                    f"pass@1 {format_rate(figures['pass@1'])} · pass^{sampled.n} "
                    f"{format_rate(figures[f'pass^{sampled.n}'])} · consistency "
                    f"{format_rate(figures['consistency'])})"
                )
    if table:
        lines += ["", *format_table(table)]
    return lines
