"""`reviewer judges send|disagreements`: people check the automatic grades of an eval run."""

from __future__ import annotations

from typing import Annotated

import typer

from reviewer.cli.common import EXIT_OK, EXIT_REJECTED, JsonObject, database, fail, settings
from reviewer.cli.output import emit

judges_app = typer.Typer(
    help="Humans check the judges: send an eval run to a review queue, list the disagreements.",
    no_args_is_help=True,
)


@judges_app.command("send")
def judges_send(
    run_id: Annotated[int, typer.Argument(help="The eval run.")],
    queue: Annotated[
        str, typer.Option("--queue", "-q", help="The review queue (made when missing).")
    ],
    json_out: JsonObject = False,
) -> None:
    """Send an eval run's outputs to a review queue (queues/QUEUE.yaml is written unless it exists), to check the automatic grades. Exit 1 when the queue's filter leaves some out, 2 for an unknown run or a bad queue."""
    from reviewer.evals.judges_check import JudgeCheckError, send_to_queue

    current = settings()
    with database(current) as opened:
        try:
            result = send_to_queue(opened, current.workspace, run_id, queue)
        except JudgeCheckError as exc:
            fail(str(exc))
    made = "written" if result.queue_created else "kept as it is"
    emit(
        result,
        json=json_out,
        text=[
            f"eval run {run_id}: {result.records} outputs ({result.imported} new) · "
            f"{result.queue_path} {made} · {result.in_queue} in queue {result.queue}",
            *([f"review them: reviewer review {result.queue}"] if result.all_in_queue else []),
        ],
    )
    if not json_out and not result.all_in_queue:
        typer.echo(
            f"{result.records - result.in_queue} outputs are not in {result.queue}: its filter "
            "selects other records (choose another --queue)",
            err=True,
        )
    raise typer.Exit(EXIT_OK if result.all_in_queue else EXIT_REJECTED)


@judges_app.command("pairwise")
def judges_pairwise(
    run_a: Annotated[int, typer.Argument(help="Run A (the win rate is A's over B).")],
    run_b: Annotated[int, typer.Argument(help="Run B, the baseline.")],
    queue: Annotated[
        str, typer.Option("--queue", "-q", help="The pairwise queue (made when missing).")
    ],
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the left/right order of each case.")
    ] = 0,
    reviews_per_item: Annotated[
        int, typer.Option("--reviews-per-item", help="Reviewers per pair (a new queue).")
    ] = 1,
    json_out: JsonObject = False,
) -> None:
    """Humans judge two eval runs side by side: each case both runs answered becomes a pair whose two answers are shown as left and right in a seeded random order (queues/QUEUE.yaml, unit: pair, is written unless it exists). Running it again adds nothing. Exit 2 for an unknown run or a queue in the way."""
    from reviewer.evals.pairwise import PairwiseError, make_pairwise_queue

    current = settings()
    with database(current) as opened:
        try:
            result = make_pairwise_queue(
                opened, current.workspace, run_a, run_b, queue, seed=seed,
                reviews_per_item=reviews_per_item,
            )  # fmt: skip
        except PairwiseError as exc:
            fail(str(exc))
    made = "written" if result.queue_created else "kept as it is"
    emit(
        result,
        json=json_out,
        text=[
            f"runs {run_a} (A) and {run_b} (B): {result.pairs} cases answered by both "
            f"({result.new_pairs} new pairs"
            + (f", {result.only_one} answered by one run only, left out" if result.only_one else "")
            + f") · {result.queue_path} {made} · {result.in_queue} in queue {result.queue}",
            f"judge them: reviewer review {result.queue} · then: reviewer queues stats {result.queue}",
        ],
    )


@judges_app.command("disagreements")
def judges_disagreements(
    run_id: Annotated[int, typer.Argument(help="The eval run.")],
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the check as one JSON object.")
    ] = False,
) -> None:
    """Where a reviewer's verdict differs from the automatic pass/fail of an eval run: the agreement rate (per grader too), then each case with the graders' reasons and the reviewer's note."""
    from reviewer.evals.judges_check import JudgeCheckError, check_judges, format_check

    with database() as opened:
        try:
            check = check_judges(opened, run_id)
        except JudgeCheckError as exc:
            fail(str(exc))
    emit(check, json=json_out, text=lambda: format_check(check))


@judges_app.command("agreement")
def judges_agreement(
    queue: Annotated[str, typer.Argument(help="The review queue.")],
    judge: Annotated[
        str | None,
        typer.Option("--judge", "-j", help="The judge (default: the queue's assist: judge)."),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model", help="A pairwise queue: the pairwise grader's model (default as graders)."
        ),
    ] = None,
    provider: Annotated[
        str | None, typer.Option("--provider", help="A pairwise queue: the grader's provider.")
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the agreement as one JSON object.")
    ] = False,
) -> None:
    """How often the judge's suggestions agree with the queue's reviewers: per field (verdict, each score) accuracy, Cohen's kappa (weighted for scales), n and a confusion matrix, split into blind and shown items; the accept rate and the anchoring gap. For a pairwise queue (unit: pair): the LLM pairwise grader is asked about every judged pair (cached) and its agreement with the reviewers' choices is given (% and kappa)."""
    from reviewer.cli.common import find_queue
    from reviewer.evals.judge_agreement import format_agreement, judge_agreement

    current = settings()
    found = find_queue(current, queue)
    if found.unit == "pair":
        from reviewer.evals import pairwise

        with database(current) as opened:
            try:
                pair_result = pairwise.judge_pairs(
                    opened, current.workspace, found, model=model, provider=provider
                )
            except pairwise.PairwiseError as exc:
                fail(str(exc))
        emit(pair_result, json=json_out, text=lambda: pairwise.format_agreement(pair_result))
        return
    with database(current) as opened:
        try:
            result = judge_agreement(opened, found, judge)
        except ValueError as exc:
            fail(str(exc))
    emit(result, json=json_out, text=lambda: format_agreement(result))


@judges_app.command("calibrate")
def judges_calibrate(
    judge: Annotated[str, typer.Argument(help="The judge (prompts/NAME.yaml, kind: judge).")],
    queue: Annotated[str, typer.Option("--queue", "-q", help="The queue whose reviews teach it.")],
    rounds: Annotated[int, typer.Option("--rounds", help="Rounds of candidates.")] = 3,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the learn / held-out split.")] = 0,
    save: Annotated[
        bool, typer.Option("--save", help="Save the calibrated judge as a new version.")
    ] = False,
    json_out: JsonObject = False,
) -> None:
    """Improve a judge from the human reviews: few-shot examples chosen from its disagreements on part of the reviewed items, kept when they raise its agreement there; reported against the original on held-out items (kappa before -> after). Saved only with --save."""
    from reviewer.cli.common import find_queue, reviewer_name
    from reviewer.evals.assist import AssistError
    from reviewer.evals.calibrate import calibrate_sync, format_calibration
    from reviewer.evals.versions import save_version

    if rounds < 1:
        fail("--rounds is at least 1")
    current = settings()
    found = find_queue(current, queue)
    with database(current) as opened:
        try:
            result = calibrate_sync(
                opened, current.workspace, found, judge, rounds=rounds, seed=seed
            )
        except AssistError as exc:
            fail(str(exc))
        if save and result.examples_added and result.improved:
            saved = save_version(
                opened, current.workspace, result.judge, result.text, by=reviewer_name(current),
                note=f"calibrated on {result.queue}",
            )  # fmt: skip
            result.saved_version = saved.number
    emit(result, json=json_out, text=lambda: format_calibration(result))
