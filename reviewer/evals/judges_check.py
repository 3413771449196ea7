"""Humans check the judges: an eval run's outputs go to a review queue, and the cases where a
reviewer's verdict differs from the automatic pass/fail are listed.

`send_to_queue` turns each result of a run into a record (format `eval`, id
`eval:<run>:<item>`): the input is what the prompt rendered for the item, the output is the
model's answer, the metadata holds the run, the item, the automatic grades and the figures
(latency, tokens, cost are kept in the metadata, not in the record's own columns, so eval
outputs do not count in production latency and cost, nor join queues such as slow calls).
The records are written by the import's bulk writer as one import, so re-sending adds nothing.
A queue file `queues/<queue>.yaml` selecting the run's records is written unless it exists;
then the queue is synced.

`check_judges` compares every reviewer's current complete review of those records (in any
queue) with the automatic pass/fail: the agreement rate, per grader too, and the
disagreements with both sides' reasons.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, Table, and_, func, select, update
from sqlmodel import SQLModel

from reviewer.records import EVAL_FORMAT, Record, iso_timestamp
from reviewer.store import schema  # noqa: F401  (registers the tables)
from reviewer.store.events import EVENTS, QUEUE_ITEMS, is_latest
from reviewer.store.writer import BulkWriter

RUNS: Table = SQLModel.metadata.tables["eval_runs"]
RESULTS: Table = SQLModel.metadata.tables["eval_results"]
IMPORTS: Table = SQLModel.metadata.tables["imports"]
RECORDS: Table = SQLModel.metadata.tables["records"]

SOURCE_FORMAT = EVAL_FORMAT


class JudgeCheckError(Exception):
    """A run that cannot be sent or checked, or a queue file in the way; says why."""


def record_id_of(run_id: int, item_id: str) -> str:
    """The id of the record an eval result becomes."""
    return f"eval:{run_id}:{item_id}"


def _prefix(run_id: int) -> str:
    return f"eval:{run_id}:"


# -- shapes ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class SendResult:
    """What `send_to_queue` did: records written (new and already there), the queue file
    (written now or already there) and the run's records in the queue after the sync."""

    run_id: int
    queue: str
    queue_path: str
    queue_created: bool
    records: int = 0
    imported: int = 0
    duplicates: int = 0
    in_queue: int = 0
    added_to_queue: int = 0
    import_id: int | None = None

    @property
    def all_in_queue(self) -> bool:
        """Whether the queue's filter takes every record of the run (an existing queue file
        may select other records)."""
        return self.in_queue == self.records

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "all_in_queue": self.all_in_queue}


@dataclass(slots=True)
class Disagreement:
    """A reviewer's verdict that differs from the automatic pass/fail of a result."""

    item_id: str
    record_id: str
    queue: str
    reviewer: str
    human_verdict: str  # pass | fail
    auto_passed: bool
    auto_reasons: list[str]  # `grader: reason` of every automatic grade
    graders_disagreeing: list[str]  # the graders whose own pass/fail differs from the human's
    note: str | None
    corrected: str | None
    question: str
    output: str
    error: str | None
    review_event_id: int
    reviewed_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class GraderAgreement:
    """How often one grader's pass/fail matched the reviewers' verdicts."""

    compared: int = 0
    agreed: int = 0

    @property
    def rate(self) -> float | None:
        return self.agreed / self.compared if self.compared else None

    def to_dict(self) -> dict[str, Any]:
        return {"compared": self.compared, "agreed": self.agreed, "rate": self.rate}


@dataclass(slots=True)
class JudgeCheck:
    """The human check of a run's automatic grades.

    `compared`: complete human reviews of the run's results that had an automatic pass/fail
    (one per reviewer and item); `items_reviewed`: results with at least one such review;
    `not_reviewed`: results nobody reviewed yet."""

    run_id: int
    results: int = 0
    compared: int = 0
    agreed: int = 0
    items_reviewed: int = 0
    not_reviewed: int = 0
    by_grader: dict[str, GraderAgreement] = field(default_factory=dict)
    disagreements: list[Disagreement] = field(default_factory=list)

    @property
    def agreement_rate(self) -> float | None:
        return self.agreed / self.compared if self.compared else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "results": self.results,
            "compared": self.compared,
            "agreed": self.agreed,
            "disagreed": len(self.disagreements),
            "agreement_rate": self.agreement_rate,
            "items_reviewed": self.items_reviewed,
            "not_reviewed": self.not_reviewed,
            "by_grader": {k: v.to_dict() for k, v in self.by_grader.items()},
            "disagreements": [d.to_dict() for d in self.disagreements],
        }


# -- helpers --------------------------------------------------------------------------------------


def _loads(text: str | None, empty: Any = None) -> Any:
    if not text:
        return empty
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return empty


def _run(engine: Engine, run_id: int) -> Any:
    with engine.connect() as conn:
        row = conn.execute(select(RUNS).where(RUNS.c.id == run_id)).first()
    if row is None:
        raise JudgeCheckError(f"no eval run {run_id}")
    return row


def _results(engine: Engine, run_id: int) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(select(RESULTS).where(RESULTS.c.run_id == run_id).order_by(RESULTS.c.id))
        )


def _items(engine: Engine, run: Any) -> dict[str, dict[str, Any]]:
    from reviewer.datasets.items import DatasetError
    from reviewer.datasets.versions import iter_version_items

    try:
        return {
            str(i["id"]): i
            for i in iter_version_items(engine, run.dataset_name, int(run.dataset_version))
        }
    except DatasetError:
        return {}


def _prompt(engine: Engine, workspace: Path, run: Any) -> Any:
    """The prompt the run used, parsed (its recorded version, else the file when its text is
    the same); None when its text is not known any more."""
    from reviewer.evals.prompts import PromptError, parse_prompt, prompt_hash
    from reviewer.evals.versions import VersionError, prompt_path, version_text

    text = version_text(engine, run.prompt_name, run.prompt_hash)
    shown = f"prompts/{run.prompt_name}.yaml"
    if text is None:
        try:
            path = prompt_path(workspace, run.prompt_name)
            candidate = path.read_bytes().decode("utf-8-sig")
        except (OSError, UnicodeDecodeError, VersionError):
            return None
        if prompt_hash(candidate) != run.prompt_hash:
            return None
        text = candidate
    try:
        return parse_prompt(text, shown)
    except PromptError:
        return None


def rendered_input(prompt: Any, item: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """The messages the prompt sent for the item, and where they come from: `rendered`, or
    `item` (the item's own conversation) when the prompt is not known or does not render."""
    if prompt is not None:
        from reviewer.evals.prompts import PromptError, render

        try:
            return render(prompt, item), "rendered"
        except PromptError:
            pass
    return list(item.get("messages") or []), "item"


def _reasons(grades: list[dict[str, Any]]) -> list[str]:
    out = []
    for g in grades:
        if not isinstance(g, dict):
            continue
        passed = g.get("passed")
        verdict = "-" if passed is None else ("pass" if passed else "fail")
        reason = g.get("reason") or ""
        out.append(f"{g.get('grader', '?')} {verdict}" + (f": {reason}" if reason else ""))
    return out


def _auto_passed(row: Any) -> bool | None:
    """The automatic pass/fail of a result: an error without a verdict is a fail."""
    if row.passed is not None:
        return bool(row.passed)
    return False if row.error else None


def _output_text(message: Any) -> str:
    from reviewer.evals.compare import output_text

    return output_text(message)


# -- sending --------------------------------------------------------------------------------------


def eval_record(
    run: Any, row: Any, item: dict[str, Any] | None, prompt: Any, position: int
) -> Record:
    """The record an eval result becomes."""
    from reviewer.evals.compare import question_of

    item = item or {"id": row.item_id, "messages": []}
    messages, origin = rendered_input(prompt, item)
    grades = _loads(row.grades, [])
    metadata = {
        "eval_run": int(run.id),
        "eval_item": str(row.item_id),
        "eval_prompt": run.prompt_name,
        "eval_prompt_hash": run.prompt_hash,
        "eval_dataset": run.dataset_name,
        "eval_dataset_version": int(run.dataset_version),
        "eval_input": origin,
        "auto_passed": _auto_passed(row),
        "auto_score": row.score,
        "grades": grades,
        "expected": item.get("expected"),
        "question": question_of(item),
        "latency_ms": row.latency_ms,
        "input_tokens": row.input_tokens,
        "output_tokens": row.output_tokens,
        "cost_usd": row.cost_usd,
        "cached": bool(row.cached),
    }
    raw = {
        "eval_run": int(run.id),
        "item_id": str(row.item_id),
        "output": _loads(row.output),
        "passed": row.passed,
        "score": row.score,
        "grades": grades,
        "latency_ms": row.latency_ms,
        "input_tokens": row.input_tokens,
        "output_tokens": row.output_tokens,
        "cost_usd": row.cost_usd,
        "cached": bool(row.cached),
        "error": row.error,
        "created_at": row.created_at,
    }
    return Record(
        id=record_id_of(int(run.id), str(row.item_id)),
        source_format=SOURCE_FORMAT,
        raw=orjson.dumps(raw).decode(),
        source_path=f"eval run {int(run.id)}",
        source_line=position,
        timestamp=iso_timestamp(row.created_at) or iso_timestamp(run.started_at),
        provider=run.provider,
        model=run.model,
        params=_loads(run.params, {}) or {},
        messages=messages,
        output=_loads(row.output),
        prompt_name=run.prompt_name,
        prompt_version=run.prompt_hash[:12],
        error=row.error,
        metadata=metadata,
    )


def queue_definition(run: Any, queue_name: str) -> dict[str, Any]:
    """The queue file written for a run: its records, oldest first, a pass/fail verdict."""
    return {
        "name": queue_name,
        "description": f"Check the automatic grades of eval run {int(run.id)} "
        f"({run.prompt_name} on {run.dataset_name} v{int(run.dataset_version)}, {run.model})",
        "filter": {"format": SOURCE_FORMAT, "where": f"metadata.eval_run = {int(run.id)}"},
        "order": "oldest",
        "rubric": [],
        "themes": [],
        "reviews_per_item": 1,
    }


def write_records(
    engine: Engine, records: list[Record], label: str, source_format: str = SOURCE_FORMAT
) -> tuple[int, int, int]:
    """Write records (all of `source_format`) with the bulk writer as one import; (import id,
    imported, duplicates)."""
    from reviewer.ingest.pipeline import now_text

    counts = {"imported": 0, "duplicates": 0}

    def written(_key: Any, inserted: bool) -> None:
        counts["imported" if inserted else "duplicates"] += 1

    started = time.monotonic()
    with engine.begin() as conn:
        key = conn.execute(IMPORTS.insert().values(started_at=now_text())).inserted_primary_key
    assert key is not None
    import_id = int(key[0])
    try:
        writer = BulkWriter(engine, import_id, written)
        try:
            for record in records:
                writer.add(record, label)
        finally:
            writer.close()
    finally:
        # an import left unfinished would hold back every later queue sync: always finish it
        report = {
            "import_id": import_id,
            "seconds": round(time.monotonic() - started, 3),
            "totals": {
                "lines": len(records),
                "records": counts["imported"] + counts["duplicates"],
                "imported": counts["imported"],
                "duplicates": counts["duplicates"],
                "rejected": 0,
                "skipped": 0,
            },
            "files": [
                {
                    "path": label,
                    "format": source_format,
                    "lines": len(records),
                    "records": counts["imported"] + counts["duplicates"],
                    "imported": counts["imported"],
                    "duplicates": counts["duplicates"],
                    "rejected": 0,
                    "skipped": 0,
                }
            ],
            "rejections": [],
        }
        with engine.begin() as conn:
            conn.execute(
                update(IMPORTS)
                .where(IMPORTS.c.id == import_id)
                .values(finished_at=now_text(), report=orjson.dumps(report).decode())
            )
    return import_id, counts["imported"], counts["duplicates"]


def send_to_queue(engine: Engine, workspace: Path, run_id: int, queue_name: str) -> SendResult:
    """Send a run's outputs to review queue `queue_name` (see the module's docstring)."""
    from reviewer.review.queues import (
        QueueFileError,
        load_queue_file,
        parse_queue,
        write_queue_file,
    )
    from reviewer.review.sync import sync_queues

    workspace = Path(workspace)
    run = _run(engine, run_id)
    path = workspace / "queues" / f"{queue_name}.yaml"
    shown = f"queues/{queue_name}.yaml"
    created = False
    if path.exists() or path.with_suffix(".yml").exists():
        path = path if path.exists() else path.with_suffix(".yml")
        try:
            queue = load_queue_file(path)
        except QueueFileError as exc:
            raise JudgeCheckError(str(exc)) from None
    else:
        definition = queue_definition(run, queue_name)
        try:
            queue = parse_queue(definition, shown)  # a bad queue name stops here
        except QueueFileError as exc:
            raise JudgeCheckError(str(exc)) from None
        created = True
    rows = _results(engine, run_id)
    if not rows:
        raise JudgeCheckError(f"eval run {run_id} has no results yet: nothing to review")
    items = _items(engine, run)
    prompt = _prompt(engine, workspace, run)
    records = [
        eval_record(run, row, items.get(str(row.item_id)), prompt, position)
        for position, row in enumerate(rows, start=1)
    ]
    import_id, imported, duplicates = write_records(engine, records, f"eval run {run_id}")
    if created:
        header = (
            f"# Written by reviewer for the human check of eval run {run_id}: a reviewer's\n"
            "# verdict is compared with the automatic grades (reviewer judges disagreements).\n"
        )
        created = write_queue_file(path, header, queue_definition(run, queue_name))
        try:
            queue = load_queue_file(path)
        except QueueFileError as exc:
            raise JudgeCheckError(str(exc)) from None
    synced = sync_queues(engine, [queue])[queue.name]
    with engine.connect() as conn:
        in_queue = conn.execute(
            select(func.count())
            .select_from(QUEUE_ITEMS)
            .where(
                QUEUE_ITEMS.c.queue == queue.name,
                QUEUE_ITEMS.c.active.is_(True),
                QUEUE_ITEMS.c.record_id.in_([r.id for r in records]),
            )
        ).scalar_one()
    return SendResult(
        run_id=run_id,
        queue=queue.name,
        queue_path=_shown(workspace, path),
        queue_created=created,
        records=len(records),
        imported=imported,
        duplicates=duplicates,
        in_queue=int(in_queue),
        added_to_queue=synced.added,
        import_id=import_id,
    )


def _shown(workspace: Path, path: Path) -> str:
    try:
        return str(path.relative_to(workspace))
    except ValueError:
        return str(path)


# -- checking -------------------------------------------------------------------------------------


def check_judges(engine: Engine, run_id: int) -> JudgeCheck:
    """Every current complete review of the run's records against the automatic pass/fail."""
    _run(engine, run_id)  # an unknown run is an error, not an empty check
    rows = _results(engine, run_id)
    by_record = {record_id_of(run_id, str(r.item_id)): r for r in rows}
    check = JudgeCheck(run_id=run_id, results=len(rows))
    e = EVENTS.alias("e")
    with engine.connect() as conn:
        reviews = list(
            conn.execute(
                select(e)
                .where(
                    e.c.record_id.like(_prefix(run_id) + "%"),
                    is_latest(e),
                    and_(e.c.complete.is_(True), e.c.verdict.in_(("pass", "fail"))),
                )
                .order_by(e.c.id)
            )
        )
        questions = {
            rid: (_loads(meta, {}) or {}).get("question") or ""
            for rid, meta in conn.execute(
                select(RECORDS.c.id, RECORDS.c.metadata).where(
                    RECORDS.c.id.like(_prefix(run_id) + "%")
                )
            )
        }
    reviewed_items: set[str] = set()
    for review in reviews:
        result = by_record.get(review.record_id)
        if result is None:
            continue
        auto = _auto_passed(result)
        if auto is None:
            continue
        human = review.verdict == "pass"
        reviewed_items.add(review.record_id)
        check.compared += 1
        grades = [g for g in _loads(result.grades, []) if isinstance(g, dict)]
        against: list[str] = []
        for g in grades:
            if g.get("passed") is None:
                continue
            name = str(g.get("grader", "?"))
            stats = check.by_grader.setdefault(name, GraderAgreement())
            stats.compared += 1
            if bool(g["passed"]) == human:
                stats.agreed += 1
            else:
                against.append(name)
        if auto == human:
            check.agreed += 1
            continue
        check.disagreements.append(
            Disagreement(
                item_id=str(result.item_id),
                record_id=review.record_id,
                queue=review.queue,
                reviewer=review.reviewer,
                human_verdict=review.verdict,
                auto_passed=auto,
                auto_reasons=_reasons(grades),
                graders_disagreeing=against,
                note=review.note,
                corrected=review.corrected,
                question=questions.get(review.record_id, ""),
                output=_output_text(_loads(result.output)),
                error=result.error,
                review_event_id=int(review.id),
                reviewed_at=review.created_at,
            )
        )
    check.items_reviewed = len(reviewed_items)
    check.not_reviewed = len(rows) - len(reviewed_items)
    return check


def disagreements(engine: Engine, run_id: int) -> list[Disagreement]:
    """The reviews of a run's outputs whose verdict differs from the automatic pass/fail."""
    return check_judges(engine, run_id).disagreements


def format_check(check: JudgeCheck) -> list[str]:
    """The check as text lines: the agreement, per grader, then each disagreement."""
    rate = "-" if check.agreement_rate is None else f"{check.agreement_rate * 100:.0f}%"
    lines = [
        f"eval run {check.run_id}: {check.compared} human review(s) of {check.results} results · "
        f"agreement {rate} · {len(check.disagreements)} disagreement(s) · "
        f"{check.not_reviewed} not reviewed"
    ]
    for name, stats in sorted(check.by_grader.items()):
        r = "-" if stats.rate is None else f"{stats.rate * 100:.0f}%"
        lines.append(f"  {name:<20} agreement {r} ({stats.agreed}/{stats.compared})")
    for d in check.disagreements:
        auto = "pass" if d.auto_passed else "fail"
        lines.append("")
        lines.append(
            f"{d.item_id}  human {d.human_verdict} ({d.reviewer}, {d.queue}) · automatic {auto}"
        )
        if d.question:
            lines.append(f"  question  {_one_line(d.question)}")
        lines.append(f"  output    {_one_line(d.output or d.error or '')}")
        for reason in d.auto_reasons:
            lines.append(f"  grader    {_one_line(reason)}")
        if d.note:
            lines.append(f"  note      {_one_line(d.note)}")
        if d.corrected:
            lines.append(f"  corrected {_one_line(d.corrected)}")
    return lines


def _one_line(text: str, width: int = 160) -> str:
    """One line of log text for a terminal: whitespace collapsed, control characters (ANSI
    escapes...) shown as `\\xNN`, cut at `width`."""
    flat = " ".join(text.split())
    flat = "".join(
        f"\\x{ord(ch):02x}" if ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F else ch for ch in flat
    )
    return flat if len(flat) <= width else flat[: width - 1] + "…"
