"""The review assistant: a judge pre-grades a queue's pending items (`reviewer assist`).

A judge is a prompt file with `kind: judge` (versioned like any prompt): a provider and model,
`instructions` (a template that sees the queue's `rubric`, `themes` and `guidelines`) and
few-shot `examples`. It sees each item's conversation and answer and gives a structured
review: a verdict, a value for each rubric score, themes from the queue's list, a short reason
and a confidence. The answer is asked for as structured output, with the JSON schema built
from the queue's rubric (its values as enums): OpenAI-compatible servers get
`response_format: {type: json_schema, ...}`, Anthropic a tool whose input schema is the same.
An answer that does not fit the schema is asked for once more, then kept as an error with the
raw answer.

Suggestions are stored apart from reviews (`reviewer.store.suggestions`), one per (item, judge
text, model): a rerun with nothing changed calls no model, and a killed run resumes with the
items still missing. A suggestion is never counted as a review.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, select

from reviewer.evals.prompts import PromptError, PromptFile, load_prompt, render_instructions
from reviewer.evals.providers import Completion, Provider, ProviderError, get_provider
from reviewer.evals.runner import cache_key, cache_lookup, cache_store
from reviewer.messages import last_user_text
from reviewer.review.queues import QueueDef
from reviewer.store.events import QUEUE_ITEMS, load_record, stamp, utc_now
from reviewer.store.suggestions import SUGGESTIONS, save_suggestion

ANSWER_TOOL = "review"
MAX_TEXT = 20_000  # characters of a message shown to the judge (the rest is cut, and said)

Progress = Callable[[int, int], None]


class AssistError(Exception):
    """The assistant cannot run: no judge, a bad judge file, no model configured."""


# -- the judge and its answer ---------------------------------------------------------------------


def find_judge(workspace: Path, name: str) -> PromptFile:
    """The judge file `prompts/NAME.yaml`; AssistError when missing or not a judge."""
    for suffix in (".yaml", ".yml"):
        path = Path(workspace) / "prompts" / f"{name}{suffix}"
        if path.is_file():
            try:
                judge = load_prompt(path)
            except PromptError as exc:
                raise AssistError(str(exc)) from None
            if judge.kind != "judge":
                raise AssistError(f"{path}: not a judge (add kind: judge and instructions)")
            return judge
    raise AssistError(f"no judge named {name!r}: write prompts/{name}.yaml with kind: judge")


def _score_schema(score: Any) -> dict[str, Any]:
    if score.type == "scale":
        return {"type": ["integer", "null"], "enum": [*range(score.min, score.max + 1), None]}
    if score.type == "category":
        return {"type": ["string", "null"], "enum": [*score.options, None]}
    if score.type == "pass_fail":
        return {"type": ["string", "null"], "enum": ["pass", "fail", None]}
    return {"type": ["string", "null"]}


def answer_schema(queue: QueueDef) -> dict[str, Any]:
    """The JSON schema of a judge's answer for `queue`: every rubric value an enum."""
    scores = {s.name: _score_schema(s) for s in queue.rubric}
    themes: dict[str, Any] = {"type": "string"}
    if queue.themes:
        themes = {"type": "string", "enum": list(queue.themes)}
    return {
        "type": "object",
        "properties": {
            "verdict": {"type": "string", "enum": ["pass", "fail"]},
            "scores": {
                "type": "object",
                "properties": scores,
                "required": list(scores),
                "additionalProperties": False,
            },
            "themes": {"type": "array", "items": themes},
            "reason": {"type": "string"},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        },
        "required": ["verdict", "scores", "themes", "reason", "confidence"],
        "additionalProperties": False,
    }


def _clip(text: str) -> str:
    if len(text) <= MAX_TEXT:
        return text
    return text[:MAX_TEXT] + f"\n[... {len(text) - MAX_TEXT:,} more characters not shown]"


def _content(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def case_text(record: dict[str, Any]) -> str:
    """An item as the judge reads it: the conversation, then the answer to grade."""
    lines = ["Conversation:"]
    for message in record.get("messages") or []:
        lines.append(f"[{message.get('role', '?')}] {_clip(_content(message.get('content')))}")
        for call in message.get("tool_calls") or []:
            lines.append(
                f"  (tool call {call.get('name')}: {_clip(_content(call.get('arguments')))})"
            )
    output = record.get("output") or {}
    lines.append("")
    lines.append("Answer to grade:")
    lines.append(_clip(_content(output.get("content"))))
    for call in output.get("tool_calls") or []:
        lines.append(f"(tool call {call.get('name')}: {_clip(_content(call.get('arguments')))})")
    if record.get("error"):
        lines.append(f"(the call failed: {_clip(_content(record.get('error')))})")
    return "\n".join(lines)


def _rubric_text(queue: QueueDef) -> str:
    lines = []
    for s in queue.rubric:
        if s.type == "scale":
            values = f"{s.min} to {s.max}"
        elif s.type == "category":
            values = ", ".join(s.options)
        elif s.type == "pass_fail":
            values = "pass or fail"
        else:
            values = "free text"
        about = f": {s.description}" if s.description else ""
        lines.append(f"- {s.name} ({values}){about}")
    return "\n".join(lines) or "(no scores: a verdict only)"


def _example_answer(example: dict[str, Any]) -> dict[str, Any]:
    return {
        "verdict": example.get("verdict"),
        "scores": example.get("scores") or {},
        "themes": example.get("themes") or [],
        "reason": example.get("reason") or "",
        "confidence": example.get("confidence", 1.0),
    }


def instruction_context(
    queue: QueueDef | None, guidelines: str | None, record: dict[str, Any]
) -> dict[str, Any]:
    """What a judge's instructions see: the queue (empty without one) and the item."""
    messages = record.get("messages") or []
    return {
        "queue": queue.name if queue else "",
        "description": queue.description if queue else "",
        "rubric": _rubric_text(queue) if queue else "",
        "themes": list(queue.themes) if queue else [],
        "guidelines": guidelines or "",
        "messages": messages,
        "question": last_user_text(messages),
    }


def judge_messages(
    judge: PromptFile,
    queue: QueueDef,
    record: dict[str, Any],
    guidelines: str | None,
    examples: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """The request: the rendered instructions and the answer's shape, each few-shot example
    as a graded case, then the item."""
    system = render_instructions(judge, instruction_context(queue, guidelines, record))
    system += (
        "\n\nGrade the answer. Reply with a JSON object: verdict (pass or fail), scores (a value"
        " for each rubric score, null when it does not apply), themes (the failure themes that"
        " apply, from the queue's list; none for a pass), reason (one or two sentences) and"
        " confidence (0 to 1).\n\nRubric:\n"
        + _rubric_text(queue)
        + "\n\nThemes: "
        + (", ".join(queue.themes) or "(none)")
    )
    if guidelines:
        system += "\n\nGuidelines for reviewers:\n" + _clip(guidelines)
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}]
    for example in examples if examples is not None else judge.examples:
        shown = example.get("record") or {
            "messages": [{"role": "user", "content": str(example.get("input", ""))}],
            "output": {"role": "assistant", "content": str(example.get("output", ""))},
        }
        messages.append({"role": "user", "content": case_text(shown)})
        messages.append(
            {"role": "assistant", "content": orjson.dumps(_example_answer(example)).decode()}
        )
    messages.append({"role": "user", "content": case_text(record)})
    return messages


def structured_params(
    provider: str,
    schema: dict[str, Any],
    *,
    name: str = ANSWER_TOOL,
    description: str = "Record the review of the answer.",
) -> dict[str, Any]:
    """The request parameters asking `provider` for an answer that fits `schema` (named
    `name`: the tool Anthropic is made to call, the schema's name for OpenAI)."""
    if provider == "anthropic":
        return {
            "tools": [{"name": name, "description": description, "input_schema": schema}],
            "tool_choice": {"type": "tool", "name": name},
        }
    return {
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": name, "schema": schema, "strict": True},
        }
    }


def answer_text(completion: Completion, tool: str = ANSWER_TOOL) -> str:
    """The answer as JSON text: the arguments of the call of `tool`, else the message text."""
    for call in completion.output.get("tool_calls") or []:
        if call.get("name") == tool:
            return _content(call.get("arguments"))
    return _content(completion.output.get("content"))


def read_answer(text: str, schema: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """(the answer, None) when `text` is JSON fitting `schema`; else (None, why not)."""
    from reviewer.assertions import schema_errors

    stripped = text.strip()
    if stripped.startswith("```"):  # a fenced block from a server that ignores the schema
        stripped = stripped.strip("`").removeprefix("json").strip()
    try:
        answer = orjson.loads(stripped)
    except orjson.JSONDecodeError as exc:
        return None, f"the answer is not JSON ({exc})"
    problems = schema_errors(schema, answer)
    if problems:
        return None, "the answer does not fit the schema: " + "; ".join(problems[:3])
    return answer, None


# -- pre-grading a queue --------------------------------------------------------------------------


@dataclass
class AssistReport:
    """What a run of the assistant did."""

    queue: str
    judge: str
    model: str
    pending: int = 0  # items that needed a suggestion
    suggested: int = 0  # new suggestions made now
    cached: int = 0  # items that had one from the same judge text and model
    errors: int = 0
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    error_messages: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["error_messages"] = self.error_messages[:20]
        return out


def judge_hash(judge: PromptFile, queue: QueueDef, guidelines: str | None) -> str:
    """What makes two suggestions the same: the judge file's text, the queue's rubric and
    themes, and the guidelines (a change to any makes the judge see something else)."""
    data = [judge.text or judge.model_dump_json(), queue.model_dump(mode="json"), guidelines]
    return hashlib.blake2b(orjson.dumps(data), digest_size=16).hexdigest()


def pending_items(engine: Engine, queue: QueueDef, limit: int | None) -> list[tuple[int, str]]:
    """(queue item id, record id) of the queue's items not done yet, in queue order."""
    query = (
        select(QUEUE_ITEMS.c.id, QUEUE_ITEMS.c.record_id)
        .where(
            QUEUE_ITEMS.c.queue == queue.name,
            QUEUE_ITEMS.c.active.is_(True),
            QUEUE_ITEMS.c.status != "done",
        )
        .order_by(QUEUE_ITEMS.c.position, QUEUE_ITEMS.c.id)
    )
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        return [(int(r.id), str(r.record_id)) for r in conn.execute(query)]


def _have(engine: Engine, ids: list[int], judge: str, digest: str, model: str) -> set[int]:
    found: set[int] = set()
    with engine.connect() as conn:
        for start in range(0, len(ids), 500):
            rows = conn.execute(
                select(SUGGESTIONS.c.queue_item_id).where(
                    SUGGESTIONS.c.queue_item_id.in_(ids[start : start + 500]),
                    SUGGESTIONS.c.judge == judge,
                    SUGGESTIONS.c.judge_hash == digest,
                    SUGGESTIONS.c.model == model,
                    SUGGESTIONS.c.error.is_(None),
                )
            )
            found.update(int(r[0]) for r in rows)
    return found


def judge_version(engine: Engine, judge: PromptFile) -> int | None:
    """The judge file's version number, recorded as any prompt's version is."""
    from reviewer.evals.versions import record_version

    if not judge.text:
        return None
    return record_version(engine, judge.name, judge.text, path=judge.path).number


@dataclass(slots=True)
class Structured:
    """What `ask_structured` got: the answer (None when none fitted), the last raw text, why the
    last answer did not fit, the completions asked for now, and whether the cache answered."""

    answer: dict[str, Any] | None
    raw: str
    error: str | None
    done: list[Completion]
    cached: bool


async def ask_structured(
    get_provider: Callable[[], Provider],
    provider_name: str,
    model: str,
    params: dict[str, Any],
    messages: list[dict[str, Any]],
    schema: dict[str, Any],
    *,
    timeout: float,
    engine: Engine | None = None,
    gate: asyncio.Semaphore | None = None,
    tool: str = ANSWER_TOOL,
) -> Structured:
    """Ask for an answer that fits `schema`, asked once more (with the reason) when the first does
    not. With `engine`, through the response cache, where only answers that fit are kept. The
    provider is only made (`get_provider`) when the cache cannot answer, and only the model call
    holds a place in `gate`, never the database work."""
    done: list[Completion] = []
    raw = ""
    problem: str | None = None
    for _attempt in range(2):
        key = cache_key(provider_name, model, params, messages)
        completion = None
        if engine is not None:
            completion = await asyncio.to_thread(cache_lookup, engine, key)
        cached = completion is not None
        if completion is None:
            provider = get_provider()
            if gate is not None:
                async with gate:
                    completion = await provider.complete(messages, model, params, timeout)
            else:
                completion = await provider.complete(messages, model, params, timeout)
            done.append(completion)
        raw = answer_text(completion, tool)
        answer, problem = read_answer(raw, schema)
        if answer is not None:
            if engine is not None and not cached:
                await asyncio.to_thread(cache_store, engine, key, provider_name, model, completion)
            return Structured(answer, raw, None, done, cached and not done)
        messages = [
            *messages,
            {"role": "assistant", "content": raw},
            {"role": "user", "content": f"That answer cannot be used: {problem}. Answer again."},
        ]
    return Structured(None, raw, problem, done, False)


async def ask_judge(
    provider: Provider,
    judge: PromptFile,
    queue: QueueDef,
    record: dict[str, Any],
    guidelines: str | None,
    *,
    timeout: float = 60.0,
    engine: Engine | None = None,
    examples: list[dict[str, Any]] | None = None,
    gate: asyncio.Semaphore | None = None,
) -> tuple[dict[str, Any] | None, str, str | None, list[Completion]]:
    """(answer, raw text, error, the completions asked for now), through `ask_structured`."""
    schema = answer_schema(queue)
    messages = judge_messages(judge, queue, record, guidelines, examples)
    params = {**judge.params, **structured_params(judge.provider, schema)}
    got = await ask_structured(
        lambda: provider, provider.name, judge.model, params, messages, schema,
        timeout=timeout, engine=engine, gate=gate,
    )  # fmt: skip
    return got.answer, got.raw, got.error, got.done


async def assist_queue(
    engine: Engine,
    workspace: Path,
    queue: QueueDef,
    *,
    judge_name: str | None = None,
    limit: int | None = None,
    concurrency: int = 8,
    progress: Progress | None = None,
    timeout: float = 60.0,
    provider: Provider | None = None,
) -> AssistReport:
    """Pre-grade the queue's pending items with its judge (or `judge_name`); each suggestion
    is committed as it arrives, so a killed run resumes with the items still missing."""
    from reviewer.evals.prices import PriceTable

    name = judge_name or (queue.assist.judge if queue.assist else None)
    if not name:
        raise AssistError(
            f"queue {queue.name} names no judge: add assist: {{judge: NAME}} to its file, or"
            " give --judge NAME"
        )
    judge = find_judge(workspace, name)
    guidelines = queue.guidelines()
    digest = judge_hash(judge, queue, guidelines)
    report = AssistReport(queue=queue.name, judge=judge.name, model=judge.model)
    items = await asyncio.to_thread(pending_items, engine, queue, limit)
    have = await asyncio.to_thread(_have, engine, [i for i, _ in items], name, digest, judge.model)
    todo = [(i, r) for i, r in items if i not in have]
    report.pending, report.cached = len(items), len(items) - len(todo)
    if not todo:
        return report
    if provider is None:
        try:
            provider = get_provider(judge.provider, judge.base_url)
        except ProviderError as exc:
            raise AssistError(
                f"{exc}; the judge {judge.path or judge.name} needs a model: set"
                " OPENAI_BASE_URL to a local OpenAI-compatible server, or an API key"
            ) from None
    version = await asyncio.to_thread(judge_version, engine, judge)
    prices = await asyncio.to_thread(PriceTable.load, workspace)
    gate = asyncio.Semaphore(max(1, concurrency))
    finished = 0
    costs: list[float] = []

    # The model calls hold `gate`; an item's database work (reading the record, the cache,
    # saving) runs beside them, within a window of a few items per call in flight.
    window = asyncio.Semaphore(max(1, concurrency) * 4)

    async def one(item_id: int, record_id: str) -> None:
        async with window:
            await step(item_id, record_id)

    async def step(item_id: int, record_id: str) -> None:
        nonlocal finished
        record = await asyncio.to_thread(_record, engine, record_id)
        values: dict[str, Any] = {
            "queue_item_id": item_id, "queue": queue.name, "record_id": record_id,
            "judge": judge.name, "judge_hash": digest, "judge_version": version,
            "provider": judge.provider, "model": judge.model,
        }  # fmt: skip
        try:
            answer, raw, error, done = await ask_judge(
                provider, judge, queue, record, guidelines, timeout=timeout, engine=engine,
                gate=gate,
            )  # fmt: skip
        except (ProviderError, PromptError) as exc:
            answer, raw, error, done = None, "", str(exc), []
        tokens_in = sum(c.input_tokens or 0 for c in done)
        tokens_out = sum(c.output_tokens or 0 for c in done)
        cost = prices.cost(judge.provider, judge.model, tokens_in, tokens_out) if done else None
        report.requests += len(done)
        report.input_tokens += tokens_in
        report.output_tokens += tokens_out
        if cost is not None:
            costs.append(cost)
        values.update(
            raw=raw or None, error=error, input_tokens=tokens_in, output_tokens=tokens_out,
            cost_usd=cost, created_at=stamp(utc_now()),
        )  # fmt: skip
        if answer is not None:
            values.update(
                verdict=answer["verdict"],
                scores={k: v for k, v in answer["scores"].items() if v is not None},
                themes=answer["themes"],
                reason=answer["reason"],
                confidence=float(answer["confidence"]),
            )
            report.suggested += 1
        else:
            report.errors += 1
            report.error_messages.append(f"item {item_id}: {error}")
        await asyncio.to_thread(_save, engine, values)
        finished += 1
        if progress is not None:
            progress(finished, len(todo))

    try:
        await asyncio.gather(*(one(i, r) for i, r in todo))
    finally:
        await provider.aclose()
    report.cost_usd = sum(costs) if costs else None
    return report


def _record(engine: Engine, record_id: str) -> dict[str, Any]:
    with engine.connect() as conn:
        return load_record(conn, record_id)


def _save(engine: Engine, values: dict[str, Any]) -> None:
    from reviewer.store.events import write_transaction

    with write_transaction(engine) as conn:
        save_suggestion(conn, values)


def assist_queue_sync(*args: Any, **kwargs: Any) -> AssistReport:
    return asyncio.run(assist_queue(*args, **kwargs))


def resolve_judge_graders(
    engine: Engine, workspace: Path | None, graders: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """`{type: llm_judge, judge: NAME}` graders filled from the judge file: its provider and
    model, its instructions as the rubric (rendered for the queue the judge assists), its
    version, and a note of its last measured agreement with the reviewers ("judge
    support-judge v3: kappa 0.78 on 120 human labels"). Other graders are left as they are."""
    if not any(g.get("type") == "llm_judge" and g.get("judge") for g in graders):
        return graders
    if workspace is None:
        raise AssistError("a grader names a judge file: run the eval in a workspace")
    from reviewer.evals.judge_agreement import judge_agreement
    from reviewer.review.queues import load_queues

    queues = load_queues(workspace)[0]
    out = []
    for spec in graders:
        name = spec.get("judge") if spec.get("type") == "llm_judge" else None
        if not name:
            out.append(spec)
            continue
        judge = find_judge(workspace, name)
        queue = next((q for q in queues if q.assist and q.assist.judge == name), None)
        context = instruction_context(queue, queue.guidelines() if queue else None, {})
        version = judge_version(engine, judge)
        note = f"judge {name} v{version}: agreement with reviewers not measured yet"
        if queue is not None:
            measured = judge_agreement(engine, queue, name)
            if measured.verdict.n:
                kappa = measured.verdict.kappa
                shown = "undefined" if kappa is None else f"{kappa:.2f}"
                note = (
                    f"judge {name} v{version}: kappa {shown} on {measured.verdict.n} human labels"
                )
        out.append(
            {
                **spec,
                "rubric": render_instructions(judge, context),
                "provider": judge.provider,
                "model": judge.model,
                "judge_version": version,
                "judge_note": note,
            }
        )
    return out
