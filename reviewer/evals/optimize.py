"""A proposed fix of a prompt, from the cases it failed (the lab's "suggest a fix" key, and each
candidate of `reviewer prompts improve`, `reviewer.evals.improve`).

The optimizer is a model named in the prompt file (`optimizer: {provider, model, base_url,
params}`) or by REVIEWER_OPTIMIZER_MODEL (and REVIEWER_OPTIMIZER_PROVIDER; the prompt's provider
when not given). It reads the prompt file's text as the lab's editor holds it and the failing
cases of a run: each case's input, the output, the expected (a reviewer's corrected) answer, the
graders' reasons, the case's themes and the notes of the review it came from. It answers with
structured output (`{"prompt": the whole edited file, "rationale": why}`) through
`ask_structured`: every call is cached, so the same request never costs twice, and the cost is
counted from the tokens. `target` (a theme) gives it only the cases tagged with that theme.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, select

from reviewer.evals.assist import ask_structured, structured_params
from reviewer.evals.prompts import PromptError, PromptFile, parse_prompt
from reviewer.evals.providers import Provider, ProviderError, get_provider
from reviewer.evals.runner import cache_key, cache_lookup

TOOL = "prompt_proposal"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"prompt": {"type": "string"}, "rationale": {"type": "string"}},
    "required": ["prompt", "rationale"],
    "additionalProperties": False,
}
MODEL_ENV = "REVIEWER_OPTIMIZER_MODEL"
PROVIDER_ENV = "REVIEWER_OPTIMIZER_PROVIDER"
MAX_CASES = 20  # failing cases shown to the optimizer (the first in dataset order)
MAX_TEXT = 2_000  # characters of one field of a case (the rest is cut, and said)

INSTRUCTIONS = """\
You improve the prompt of an LLM application. You get the prompt file (YAML: its name, \
provider, model and graders, and the templates the model is sent) and cases where the \
application's answer failed: the input, the answer, the expected answer when a reviewer gave one, \
why the graders failed it, its failure themes and the reviewers' notes.

Edit the prompt so that these cases would pass without breaking the cases that pass now. Keep \
the edit small and general: state the rule the failures break; never paste a case's expected \
answer into the prompt. Keep the file's format and every field other than the templates as it \
is. Reply with a JSON object: prompt (the whole edited file) and rationale (one or two sentences: \
what you changed and why)."""


class OptimizeError(Exception):
    """A proposal that cannot be asked for (no model, no failing case, a bad prompt); says why."""


@dataclass(frozen=True, slots=True)
class Optimizer:
    """The model that proposes edits."""

    provider: str
    model: str
    base_url: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


def optimizer_of(prompt: PromptFile) -> Optimizer:
    """The prompt file's `optimizer`, else REVIEWER_OPTIMIZER_MODEL; OptimizeError when none."""
    spec = prompt.optimizer
    env_provider = os.environ.get(PROVIDER_ENV) or None
    fallback = prompt.provider if prompt.provider in ("openai", "anthropic") else "openai"
    if spec is not None:
        provider = spec.provider or env_provider or fallback
        return Optimizer(provider, spec.model, spec.base_url, dict(spec.params))
    model = os.environ.get(MODEL_ENV, "").strip()
    if not model:
        raise OptimizeError(
            f"no optimizer model configured for prompt {prompt.name}: add `optimizer: {{provider:"
            f" openai, model: MODEL}}` to its file, or set {MODEL_ENV} (and {PROVIDER_ENV})"
        )
    return Optimizer(env_provider or fallback, model)


# -- the failing cases -----------------------------------------------------------------------------


@dataclass(slots=True)
class FailingCase:
    """A case a run failed, as the optimizer reads it."""

    id: str
    input: str
    output: str
    expected: str | None = None
    reasons: list[str] = field(default_factory=list)
    themes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _clip(text: str) -> str:
    if len(text) <= MAX_TEXT:
        return text
    return text[:MAX_TEXT] + f" [... {len(text) - MAX_TEXT:,} more characters not shown]"


def case_input(item: dict[str, Any]) -> str:
    """An item's input: its messages (but the system message, which the prompt makes) and vars."""
    lines = [
        f"[{m.get('role', '?')}] {_text(m.get('content'))}"
        for m in item.get("messages") or []
        if m.get("role") != "system"
    ]
    if item.get("vars"):
        lines.append(f"vars: {_text(item['vars'])}")
    return "\n".join(lines)


def _notes(engine: Engine, items: Sequence[dict[str, Any]]) -> dict[str, list[str]]:
    """The notes of the reviews the items were promoted from, by item id."""
    from reviewer.store.events import EVENTS, current_state

    wanted = {
        str(item["id"]): int(review)
        for item in items
        if isinstance(item.get("source"), dict)
        and isinstance(review := item["source"].get("review_id"), int)
    }
    if not wanted:
        return {}
    out: dict[str, list[str]] = {}
    with engine.connect() as conn:
        rows = conn.execute(
            select(EVENTS.c.id, EVENTS.c.queue_item_id, EVENTS.c.reviewer).where(
                EVENTS.c.id.in_(list(wanted.values()))
            )
        ).all()
        by_event = {int(r.id): r for r in rows}
        for item_id, event_id in wanted.items():
            row = by_event.get(event_id)
            if row is None:
                continue
            note = current_state(conn, int(row.queue_item_id), str(row.reviewer)).note
            if note:
                out[item_id] = [note]
    return out


def failing_cases(engine: Engine, run_id: int, theme: str | None = None) -> list[FailingCase]:
    """The cases the run graded as failed (errors are not the prompt's doing), in dataset
    order; with `theme`, only the cases tagged with it."""
    from reviewer.datasets.versions import iter_version_items
    from reviewer.evals.compare import RUNS, Baseline, compare

    with engine.connect() as conn:
        run = conn.execute(select(RUNS).where(RUNS.c.id == run_id)).one()
    sides = {
        case.item_id: case.new
        for case in compare(engine, run_id, Baseline(kind="none", label="no baseline")).cases
    }
    items = [
        item
        for item in iter_version_items(engine, run.dataset_name, int(run.dataset_version))
        if (side := sides.get(str(item["id"]))) is not None
        and side.passed is False
        and not side.error
        and (theme is None or theme in (item.get("themes") or []))
    ]
    notes = _notes(engine, items)
    return [
        FailingCase(
            id=str(item["id"]),
            input=case_input(item),
            output=sides[str(item["id"])].text,
            expected=item.get("expected"),
            reasons=sides[str(item["id"])].reasons,
            themes=list(item.get("themes") or []),
            notes=notes.get(str(item["id"]), []),
        )
        for item in items
    ]


def themes_of(cases: Sequence[FailingCase]) -> list[str]:
    """The themes of the cases, most cases first (then by name)."""
    counts: dict[str, int] = {}
    for case in cases:
        for theme in case.themes:
            counts[theme] = counts.get(theme, 0) + 1
    return sorted(counts, key=lambda t: (-counts[t], t))


# -- the request -------------------------------------------------------------------------------


def _case_block(case: FailingCase) -> str:
    lines = [f"### Case {case.id}"]
    if case.themes:
        lines.append("Themes: " + ", ".join(case.themes))
    lines += ["Input:", _clip(case.input), "Answer:", _clip(case.output)]
    if case.expected:
        lines += ["Expected answer:", _clip(case.expected)]
    if case.reasons:
        lines.append("Why it failed:")
        lines += [f"- {_clip(r)}" for r in case.reasons]
    if case.notes:
        lines.append("Reviewers' notes:")
        lines += [f"- {_clip(n)}" for n in case.notes]
    return "\n".join(lines)


def optimizer_messages(
    prompt_text: str,
    cases: Sequence[FailingCase],
    *,
    theme: str | None = None,
    candidate: int = 1,
    candidates: int = 1,
    round_: int = 1,
    tried: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The request: the instructions, then the prompt file and the failing cases."""
    shown = list(cases)[:MAX_CASES]
    about = f" with theme {theme}" if theme else ""
    parts = [
        f"<prompt>\n{prompt_text}\n</prompt>",
        f"Failing cases{about} ({len(shown)} of {len(cases)} shown):",
        *(_case_block(c) for c in shown),
    ]
    if tried:
        parts.append(
            "Edits tried before that did not improve the pass rate:\n"
            + "\n".join(f"- {_clip(t)}" for t in tried)
        )
    if candidates > 1 or round_ > 1:
        parts.append(
            f"Round {round_}, candidate {candidate} of {candidates}: propose an edit that differs"
            " from the other candidates'."
        )
    return [
        {"role": "system", "content": INSTRUCTIONS},
        {"role": "user", "content": "\n\n".join(parts)},
    ]


def request_params(optimizer: Optimizer, candidate: int = 1) -> dict[str, Any]:
    """The call's parameters: the optimizer's, a temperature that grows with the candidate's
    number (unless set), and the structured output asked for."""
    params = dict(optimizer.params)
    params.setdefault("temperature", round(min(1.0, 0.2 * candidate), 2))
    description = "Record the edited prompt and why."
    return {**params, **structured_params(optimizer.provider, SCHEMA, name=TOOL,
                                          description=description)}  # fmt: skip


# -- the proposal ------------------------------------------------------------------------------


@dataclass(slots=True)
class Proposal:
    """An optimizer's edit: the new prompt text, its rationale and diff, the cases it was given,
    the cost of the calls made now (`cost_usd`) and what it cost when first asked for
    (`spend_usd`, the same unless the cache answered), and `problem` when the text is not a
    usable prompt file."""

    original: str
    prompt: str
    rationale: str
    cases: list[FailingCase]
    diff: str
    model: str
    requests: int = 0
    cached: bool = False
    cost_usd: float | None = None
    spend_usd: float | None = None
    problem: str | None = None

    @property
    def changed(self) -> bool:
        return self.prompt != self.original

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["case_ids"] = [c.id for c in self.cases]
        out.pop("cases")
        return out


def unified_diff(before: str, after: str) -> str:
    """The unified diff of the editor's text and the proposal (no header lines)."""
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=2)
    return "\n".join(line for line in lines if not line.startswith(("---", "+++")))


def _cost(
    workspace: Path | None, optimizer: Optimizer, tokens_in: int, tokens_out: int
) -> float | None:
    """USD for the optimizer's tokens; None when its model has no price."""
    from reviewer.evals.prices import PriceTable

    return PriceTable.load(workspace).cost(optimizer.provider, optimizer.model, tokens_in,
                                           tokens_out)  # fmt: skip


async def propose(
    engine: Engine,
    workspace: Path | None,
    prompt_text: str,
    cases: Sequence[FailingCase],
    *,
    theme: str | None = None,
    candidate: int = 1,
    candidates: int = 1,
    round_: int = 1,
    tried: Sequence[str] = (),
    timeout: float = 120.0,
    provider: Callable[[Optimizer], Provider] | None = None,
) -> Proposal:
    """Ask the optimizer for an edit of `prompt_text` that fixes `cases` (those tagged `theme`
    when given). OptimizeError when the text is not a prompt, no case is left, no model is
    configured or the call fails; an answer that cannot be used (not fitting the schema twice,
    not a prompt file) is a proposal with its `problem`."""
    try:
        prompt = parse_prompt(prompt_text, "the prompt")
    except PromptError as exc:
        raise OptimizeError(f"the prompt has errors: {exc}") from None
    if theme is not None:
        cases = [c for c in cases if theme in c.themes]
        if not cases:
            raise OptimizeError(f"no failing case has theme {theme!r}")
    if not cases:
        raise OptimizeError("no failing cases: nothing to fix")
    optimizer = optimizer_of(prompt)
    messages = optimizer_messages(
        prompt_text, cases, theme=theme, candidate=candidate, candidates=candidates,
        round_=round_, tried=tried,
    )  # fmt: skip
    params = request_params(optimizer, candidate)
    made: list[Provider] = []

    def make() -> Provider:
        if not made:
            try:
                made.append(
                    provider(optimizer)
                    if provider is not None
                    else get_provider(optimizer.provider, optimizer.base_url)
                )
            except ProviderError as exc:
                raise OptimizeError(
                    f"{exc}; the optimizer {optimizer.provider}:{optimizer.model} needs a model:"
                    " set OPENAI_BASE_URL to a local OpenAI-compatible server, or an API key"
                ) from None
        return made[0]

    try:
        got = await ask_structured(
            make, optimizer.provider, optimizer.model, params, messages, SCHEMA,
            timeout=timeout, engine=engine, tool=TOOL,
        )  # fmt: skip
    except ProviderError as exc:
        raise OptimizeError(f"the optimizer failed: {exc}") from None
    finally:
        for p in made:
            await p.aclose()
    cost = _cost(
        workspace, optimizer, sum(c.input_tokens or 0 for c in got.done),
        sum(c.output_tokens or 0 for c in got.done),
    )  # fmt: skip
    spend = cost
    if got.cached:
        import asyncio

        first = await asyncio.to_thread(
            cache_lookup, engine, cache_key(optimizer.provider, optimizer.model, params, messages)
        )
        if first is not None:
            spend = _cost(workspace, optimizer, first.input_tokens or 0, first.output_tokens or 0)
    problem = None
    if got.answer is None:  # asked twice: shown as a proposal that cannot be used
        new_text, rationale = prompt_text, ""
        problem = f"the optimizer's answer cannot be used: {got.error}"
    else:
        new_text, rationale = str(got.answer["prompt"]), str(got.answer["rationale"])
        if not new_text.endswith("\n") and prompt_text.endswith("\n"):
            new_text += "\n"
        try:
            edited = parse_prompt(new_text, "the proposal")
            if edited.name != prompt.name:
                problem = f"the proposal renames the prompt to {edited.name!r}"
        except PromptError as exc:
            problem = str(exc)
    return Proposal(
        original=prompt_text,
        prompt=new_text,
        rationale=rationale,
        cases=list(cases),
        diff=unified_diff(prompt_text, new_text),
        model=f"{optimizer.provider}:{optimizer.model}",
        requests=len(got.done),
        cached=got.cached,
        cost_usd=cost,
        spend_usd=spend,
        problem=problem,
    )
