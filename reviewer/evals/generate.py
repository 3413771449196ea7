"""Generated test cases, reviewed before they count (`reviewer datasets generate`, `G` in the app).

A model reads one case (a dataset item, or the item on the review screen with its review) and
writes new user inputs that keep its intent, each of a kind:

- `paraphrase`: the same request in other words;
- `language`: the same request in another language;
- `edge`: an edge case of the same request (missing or odd details, limits);
- `adversarial`: the same request with pressure to break the rules.

Each new case carries an expected answer suggested from the parent's (None when the parent has
none). The answer is asked for as structured output (a JSON schema: `response_format` to
OpenAI-compatible servers, a `cases` tool to Anthropic), at most `BATCH` cases a request; every
request goes through the response cache, so a rerun calls no model and a killed run resumes with
the requests still missing. A parent's later requests list the inputs written before, so the
model does not repeat them.

The new inputs are de-duplicated, in the order the model wrote them, against the dataset (each
item's last user message, and the parents') and against each other (this run's cases and those
generated for the dataset before): two inputs are duplicates when their normalised text is the
same (words only, case and accents folded as Unicode NFKC casefold does, punctuation and spacing
ignored) or when their sets of words overlap by `NEAR_DUPLICATE` or more (Jaccard: shared words
over all words). Duplicates are dropped, not replaced.

What is left becomes records (source format `generated`, id `gen:` + a hash of the dataset and
the messages, so a rerun adds nothing) whose metadata names the dataset, the parent, the kind
and the model, and lands in the triage queue `queues/generated-DATASET.yaml` (written when
missing, with its guidelines `queues/generated-DATASET.md`), where a reviewer keeps (`d`) or
drops (`x`) each case. Nothing generated enters a dataset without that key.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, select

from reviewer.evals.providers import Provider, ProviderError, get_provider
from reviewer.messages import last_user_text
from reviewer.records import GENERATED_FORMAT

KINDS = ("paraphrase", "language", "edge", "adversarial")
KIND_HELP = {
    "paraphrase": "the same request in other words: another tone, length or wording, typos, "
    "how another customer would put it",
    "language": "the same request in another language the application should handle (its "
    "expected answer in that language)",
    "edge": "an edge case of the same request: details missing, odd or contradictory, limits, "
    "an unusual but legitimate situation",
    "adversarial": "the same request with pressure to break the rules: insisting, false claims, "
    "instructions hidden in the text, attempts to get a forbidden answer",
}
SOURCE_FORMAT = GENERATED_FORMAT
#: The generator when neither --model nor REVIEWER_GENERATE_MODEL names one.
DEFAULT_MODEL = "openai:gpt-4o-mini"
MODEL_ENV = "REVIEWER_GENERATE_MODEL"
#: At most this many cases a request (a parent's cases beyond it take further requests).
BATCH = 10
#: Two inputs whose word sets overlap this much (Jaccard) are near-duplicates.
NEAR_DUPLICATE = 0.8
#: Requests at once (one per parent; a parent's requests follow each other).
CONCURRENCY = 4
TOOL = "cases"
MAX_TEXT = 4000  # characters of a message of the parent shown to the model
TEMPERATURE = 0.8
ANTHROPIC_MAX_TOKENS = 4096

Progress = Callable[[int, int], None]


class GenerateError(Exception):
    """Generation cannot run: an unknown dataset, item or theme, a bad option, no model."""


class NoModelError(GenerateError):
    """No model is configured for generating cases; the message says how to configure one."""


# -- the parent case ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Parent:
    """The case new ones are made from."""

    ref: str  # a dataset item's id (`support-regressions/17`), or `record <id>`
    messages: list[dict[str, Any]]
    vars: dict[str, Any] = field(default_factory=dict)
    expected: str | None = None
    assertions: list[dict[str, Any]] = field(default_factory=list)
    themes: list[str] = field(default_factory=list)

    @property
    def question(self) -> str:
        return last_user_text(self.messages)


def _parent_of_item(item: dict[str, Any]) -> Parent:
    return Parent(
        ref=str(item["id"]),
        messages=list(item.get("messages") or []),
        vars=dict(item.get("vars") or {}),
        expected=item.get("expected"),
        assertions=list(item.get("assertions") or []),
        themes=list(item.get("themes") or []),
    )


def _items(engine: Engine, dataset: str) -> list[dict[str, Any]]:
    from reviewer.datasets.items import DatasetError
    from reviewer.datasets.store import dataset_items

    try:
        return dataset_items(engine, dataset)
    except DatasetError as exc:
        raise GenerateError(str(exc)) from None


def parents_from_item(engine: Engine, dataset: str, item_id: str) -> list[Parent]:
    """The dataset's item `item_id` (its id, `DATASET/N`, or N) as the one parent."""
    items = _items(engine, dataset)
    wanted = item_id.strip()
    for item in items:
        if wanted in (str(item["id"]), str(item["row_id"]), f"{dataset}/{item['row_id']}"):
            return [_parent_of_item(item)]
    shown = ", ".join(str(i["id"]) for i in items[:5]) + (", ..." if len(items) > 5 else "")
    raise GenerateError(f"no item {item_id!r} in dataset {dataset} (items: {shown or 'none'})")


def parents_from_theme(engine: Engine, dataset: str, theme: str) -> list[Parent]:
    """The dataset's items carrying failure theme `theme`, in the dataset's order."""
    from reviewer.review.themes import ThemeError, normalize_theme

    try:
        wanted = normalize_theme(theme)
    except ThemeError as exc:
        raise GenerateError(str(exc)) from None
    items = _items(engine, dataset)
    found = [_parent_of_item(i) for i in items if wanted in (i.get("themes") or [])]
    if not found:
        themes = sorted({t for i in items for t in i.get("themes") or []})
        raise GenerateError(
            f"no item of dataset {dataset} carries theme {wanted} "
            f"(themes there: {', '.join(themes) or 'none'})"
        )
    return found


def parent_from_review(engine: Engine, queue_item_id: int, reviewer: str) -> Parent:
    """The item on the review screen as the case its review makes (the one `d` promotes):
    named by its dataset item when it was promoted, else by its record."""
    from reviewer.datasets.items import item_ref
    from reviewer.datasets.promote import DATASET_ITEMS, DATASETS, case_from_review, source_key
    from reviewer.store.events import QUEUE_ITEMS, current_state, load_record

    with engine.connect() as conn:
        record_id = conn.execute(
            select(QUEUE_ITEMS.c.record_id).where(QUEUE_ITEMS.c.id == queue_item_id)
        ).scalar()
        if record_id is None:
            raise GenerateError(f"no queue item {queue_item_id}")
        record = load_record(conn, record_id)
        state = current_state(conn, queue_item_id, reviewer)
        promoted = conn.execute(
            select(DATASET_ITEMS, DATASETS.c.name.label("dataset_name"))
            .join(DATASETS, DATASETS.c.id == DATASET_ITEMS.c.dataset_id)
            .where(
                DATASET_ITEMS.c.source_key == source_key(queue_item_id, reviewer),
                DATASET_ITEMS.c.removed.is_(False),
            )
            .order_by(DATASET_ITEMS.c.id)
        ).first()
    case = case_from_review(record, state)
    ref = item_ref(promoted, promoted.dataset_name) if promoted else f"record {record_id}"
    return Parent(
        ref=ref,
        messages=orjson.loads(case["messages"]),
        vars=orjson.loads(case["vars"]) if case["vars"] else {},
        expected=case["expected"],
        themes=list(state.themes),
    )


# -- the model ----------------------------------------------------------------------------------


def generator_model(spec: str | None = None) -> tuple[str, str]:
    """(provider, model) of the generator: `spec` (--model), else REVIEWER_GENERATE_MODEL, else
    openai:gpt-4o-mini; `anthropic:NAME` picks Anthropic, a bare name OpenAI's API (or the
    OpenAI-compatible server of OPENAI_BASE_URL)."""
    from reviewer.evals.runner import parse_model

    value = (spec or "").strip() or os.environ.get(MODEL_ENV, "").strip() or DEFAULT_MODEL
    return parse_model(value, "openai")


def no_model_message(provider: str) -> str:
    """How to configure a model for generating cases."""
    if provider == "anthropic":
        how = "set ANTHROPIC_API_KEY (or ANTHROPIC_BASE_URL for a local server)"
    else:
        how = (
            "set OPENAI_BASE_URL to a local OpenAI-compatible server (Ollama, vLLM, llama.cpp) "
            "or OPENAI_API_KEY, or name another model (anthropic:NAME, with ANTHROPIC_API_KEY)"
        )
    return f"no model configured for generating cases: {how}"


def case_schema(kinds: list[str]) -> dict[str, Any]:
    """The JSON schema of the generator's answer: cases of the kinds asked for."""
    return {
        "type": "object",
        "properties": {
            "cases": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "kind": {"type": "string", "enum": list(kinds)},
                        "input": {"type": "string"},
                        "expected": {"type": ["string", "null"]},
                    },
                    "required": ["kind", "input", "expected"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["cases"],
        "additionalProperties": False,
    }


def _clip(text: str) -> str:
    if len(text) <= MAX_TEXT:
        return text
    return text[:MAX_TEXT] + f"\n[... {len(text) - MAX_TEXT:,} more characters not shown]"


def _counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in counts.items())


def request_messages(
    parent: Parent, counts: dict[str, int], written: list[str]
) -> list[dict[str, Any]]:
    """The request for `counts` new cases (kind -> how many) like `parent`; `written` are the
    inputs written for it by earlier requests (not to be repeated)."""
    kinds = "\n".join(f"- {kind}: {KIND_HELP[kind]}" for kind in counts)
    system = (
        "You write new test cases for the eval dataset of an LLM application, from one existing "
        "case. Each new case is a new user input that keeps the case's intent: the same task, "
        "tested the same way, so that the same expected behaviour applies. Kinds of cases:\n"
        f"{kinds}\n\n"
        "For each case give its kind, the new user input (the whole message, as the user would "
        "write it) and its expected answer: the case's expected answer adapted to the new input "
        "(the same facts and behaviour, in the input's language), or null when the case has "
        "none. Never repeat the case's input, nor an input written before. Reply with a JSON "
        'object {"cases": [{"kind", "input", "expected"}, ...]}.'
    )
    lines = [f"The case ({parent.ref}):"]
    users = [i for i, m in enumerate(parent.messages) if m.get("role") == "user"]
    last = users[-1] if users else len(parent.messages)
    for message in parent.messages[:last]:
        lines.append(f"[{message.get('role', '?')}] {_clip(str(message.get('content') or ''))}")
    lines += ["", "Input (the last user message):", _clip(parent.question) or "(none)", ""]
    lines += ["Expected answer:", _clip(parent.expected) if parent.expected else "(none given)"]
    if parent.assertions:
        checks = "; ".join(f"{a.get('type')} {a.get('value')!r}" for a in parent.assertions)
        lines += ["", f"Checks the answer must pass: {_clip(checks)}"]
    if parent.vars:
        lines += ["", f"Template variables (kept as they are): {_clip(str(parent.vars))}"]
    if parent.themes:
        lines += ["", f"Failure themes it tests: {', '.join(parent.themes)}"]
    total = sum(counts.values())
    lines += ["", f"Cases to write: {_counts_text(counts)} ({total} in all)."]
    if written:
        lines += ["", "Already written for this case (do not repeat them):"]
        lines += [f"- {_clip(text)}" for text in written]
    return [{"role": "system", "content": system}, {"role": "user", "content": "\n".join(lines)}]


def request_params(provider: str, kinds: list[str]) -> dict[str, Any]:
    from reviewer.evals.assist import structured_params

    params: dict[str, Any] = {"temperature": TEMPERATURE}
    if provider == "anthropic":
        params["max_tokens"] = ANTHROPIC_MAX_TOKENS
    schema = case_schema(kinds)
    return {
        **params,
        **structured_params(provider, schema, name=TOOL, description="Record the new cases."),
    }


def plan(parents: list[Parent], n: int, kinds: list[str]) -> list[list[dict[str, int]]]:
    """Per parent, its requests (kind -> how many): N spread over the parents (the first ones
    take one more when N does not divide), the kinds taken in turn over all N cases, at most
    BATCH cases a request."""
    count = len(parents)
    shares = [n // count + (1 if i < n % count else 0) for i in range(count)]
    sequence = [kinds[j % len(kinds)] for j in range(n)]
    out: list[list[dict[str, int]]] = []
    start = 0
    for share in shares:
        mine = sequence[start : start + share]
        start += share
        batches = []
        for b in range(0, share, BATCH):
            tally = Counter(mine[b : b + BATCH])
            batches.append({kind: tally[kind] for kind in kinds if tally[kind]})
        out.append(batches)
    return out


# -- de-duplication -------------------------------------------------------------------------------

_WORD = re.compile(r"\w+")


def normalized(text: str) -> str:
    """The text as compared: its words, case and compatibility forms folded (NFKC casefold),
    joined by one space (punctuation and spacing do not count)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_WORD.findall(folded)) or " ".join(folded.split())


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity of two word sets (0 when both are empty)."""
    if not a and not b:
        return 0.0
    return len(a & b) / len(a | b)


@dataclass(frozen=True, slots=True)
class Seen:
    """An input new ones are compared with: what it is (an item id, a case id) and its words."""

    ref: str
    text: str
    words: frozenset[str]

    @classmethod
    def of(cls, ref: str, text: str) -> Seen:
        norm = normalized(text)
        return cls(ref, norm, frozenset(norm.split()))


def find_duplicate(
    text: str, seen: list[Seen], threshold: float = NEAR_DUPLICATE
) -> tuple[Seen, float] | None:
    """The first of `seen` that `text` duplicates (same normalised text, or word sets at least
    `threshold` alike) with the similarity; None when it is new."""
    mine = Seen.of("", text)
    for other in seen:
        if other.text == mine.text:
            return other, 1.0
        score = similarity(mine.words, other.words)
        if score >= threshold:
            return other, score
    return None


# -- the run --------------------------------------------------------------------------------------


@dataclass(slots=True)
class GeneratedCase:
    """One case the model wrote, and what became of it: `new` (in the queue now), `already`
    (in the queue from an earlier run), `duplicate` (dropped: it repeats `duplicate_of`)."""

    id: str
    kind: str
    parent: str
    input: str
    expected: str | None
    status: str = "new"
    duplicate_of: str | None = None
    similarity: float | None = None


@dataclass
class GenerateReport:
    """What a generation did (`--json` prints it)."""

    dataset: str
    queue: str
    queue_file: str
    provider: str
    model: str
    kinds: list[str]
    parents: list[str]
    asked: int
    queue_created: bool = False
    returned: int = 0  # cases the model wrote (returned = made + already + duplicates)
    made: int = 0  # new cases in the triage queue
    already: int = 0  # in the queue already (the same case from an earlier run)
    duplicates: int = 0  # dropped: duplicates_of_dataset + duplicates_of_generated
    duplicates_of_dataset: int = 0  # of an item of the dataset (or a parent)
    duplicates_of_generated: int = 0  # of another generated case (this run's or earlier)
    in_queue: int = 0  # of this run's cases (new and already), how many the queue holds
    requests: int = 0  # model calls made now
    cached: int = 0  # requests answered from the response cache
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    errors: list[str] = field(default_factory=list)
    cases: list[GeneratedCase] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """`10 asked · 8 new · 2 duplicates dropped (1 of the dataset, 1 of each other)`."""
        parts = [f"{self.asked} asked", f"{self.made} new"]
        if self.already:
            parts.append(f"{self.already} already queued")
        dropped = f"{self.duplicates} duplicate{'s' if self.duplicates != 1 else ''} dropped"
        if self.duplicates:
            dropped += (
                f" ({self.duplicates_of_dataset} of the dataset, "
                f"{self.duplicates_of_generated} of each other)"
            )
        parts.append(dropped)
        if self.returned < self.asked:
            parts.append(f"{self.asked - self.returned} not written")
        return " · ".join(parts)


def queue_name(dataset: str) -> str:
    """The triage queue of a dataset's generated cases: `generated-DATASET` (characters a
    queue name cannot hold become `-`)."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", dataset.strip()).strip("-.") or "dataset"
    return f"generated-{slug}"


def queue_definition(dataset: str) -> dict[str, Any]:
    """The triage queue file written for a dataset's generated cases."""
    return {
        "name": queue_name(dataset),
        "description": f"Generated cases for {dataset}: keep (d) or drop (x) each",
        "filter": {"format": SOURCE_FORMAT, "metadata": {"dataset": dataset}},
        "order": "oldest",
        "rubric": [],
        "themes": [],
        "reviews_per_item": 1,
        "dataset": dataset,
    }


def guidelines_text(dataset: str) -> str:
    return (
        f"# Generated cases for {dataset}\n\n"
        "A model wrote these inputs from a case of the dataset (its parent, on the right with "
        "the kind: paraphrase, language, edge or adversarial). None of them is a test yet.\n\n"
        "- **Keep** (`d`) a case that keeps its parent's intent, is realistic and tests "
        "something worth testing. It goes into the dataset with the suggested expected answer "
        "(under *suggested expected answer*), or the one you write with `e` first.\n"
        "- **Drop** (`x`) a case that changes the intent, is unrealistic, repeats another, or "
        "whose expected answer you would not stand behind.\n"
        "- `u` takes the last keep or drop back.\n"
    )


def case_id(dataset: str, messages: list[dict[str, Any]]) -> str:
    """A generated case's record id: stable for the same dataset and messages."""
    data = orjson.dumps([dataset, messages], option=orjson.OPT_SORT_KEYS)
    return "gen:" + hashlib.blake2b(data, digest_size=12).hexdigest()


def case_messages(parent: Parent, text: str) -> list[dict[str, Any]]:
    """The parent's conversation up to its last user message, that message's text replaced by
    `text` (what followed it answered the old input, and is left out); system prompts first."""
    messages = [dict(m) for m in parent.messages]
    users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
    if users:
        messages = messages[: users[-1] + 1]
        messages[-1] = {"role": "user", "content": text}
    else:
        messages.append({"role": "user", "content": text})
    return [m for m in messages if m.get("role") == "system"] + [
        m for m in messages if m.get("role") != "system"
    ]


class _Generator:
    """The provider, made at the first request the cache cannot answer."""

    def __init__(self, provider: str, given: Provider | None) -> None:
        self.name = provider
        self.provider = given

    def get(self) -> Provider:
        if self.provider is None:
            try:
                self.provider = get_provider(self.name)
            except ProviderError:
                raise NoModelError(no_model_message(self.name)) from None
        return self.provider

    async def aclose(self) -> None:
        if self.provider is not None:
            await self.provider.aclose()


async def generate_cases(
    engine: Engine,
    workspace: Path,
    dataset: str,
    parents: list[Parent],
    *,
    n: int,
    kinds: list[str] | None = None,
    model: str | None = None,
    timeout: float = 120.0,
    progress: Progress | None = None,
    provider: Provider | None = None,
) -> GenerateReport:
    """Generate `n` cases like `parents` for `dataset` and put them in its triage queue (see the
    module's docstring). Database work runs in threads: the event loop never waits for it."""
    from reviewer.evals.assist import ask_structured
    from reviewer.evals.prices import PriceTable

    kinds = list(kinds or KINDS)
    check_request(n, kinds)
    if not parents:
        raise GenerateError("no case to generate from")
    provider_name, model_name = generator_model(model)
    report = GenerateReport(
        dataset=dataset, queue=queue_name(dataset), queue_file=f"queues/{queue_name(dataset)}.yaml",
        provider=provider_name, model=model_name, kinds=kinds,
        parents=[p.ref for p in parents], asked=n,
    )  # fmt: skip
    batches = plan(parents, n, kinds)
    total = sum(len(b) for b in batches)
    generator = _Generator(provider_name, provider)
    gate = asyncio.Semaphore(CONCURRENCY)
    prices = await asyncio.to_thread(PriceTable.load, workspace)
    written: list[list[GeneratedCase]] = [[] for _ in parents]
    costs: list[float] = []
    finished = 0

    async def one_parent(index: int) -> None:
        nonlocal finished
        parent = parents[index]
        for counts in batches[index]:
            asked = list(counts)
            messages = request_messages(parent, counts, [c.input for c in written[index]])
            params = request_params(provider_name, asked)
            schema = case_schema(asked)
            try:
                got = await ask_structured(
                    generator.get, generator.name, model_name, params, messages, schema,
                    timeout=timeout, engine=engine, gate=gate, tool=TOOL,
                )  # fmt: skip
                answer, error, done, cached = got.answer, got.error, got.done, got.cached
            except ProviderError as exc:
                answer, error, done, cached = None, str(exc), [], False
            report.requests += len(done)
            report.cached += int(cached)
            tokens_in = sum(c.input_tokens or 0 for c in done)
            tokens_out = sum(c.output_tokens or 0 for c in done)
            report.input_tokens += tokens_in
            report.output_tokens += tokens_out
            if done:
                cost = prices.cost(provider_name, model_name, tokens_in, tokens_out)
                if cost is not None:
                    costs.append(cost)
            if answer is None:
                report.errors.append(f"{parent.ref}: {error}")
            else:
                left = dict(counts)
                for raw in answer["cases"]:
                    text = str(raw.get("input") or "").strip()
                    kind = str(raw.get("kind"))
                    if not text or left.get(kind, 0) <= 0:
                        continue  # empty, or more of a kind than asked for
                    left[kind] -= 1
                    expected = raw.get("expected")
                    expected = expected.strip() or None if isinstance(expected, str) else None
                    ident = case_id(dataset, case_messages(parent, text))
                    written[index].append(GeneratedCase(ident, kind, parent.ref, text, expected))
            finished += 1
            if progress is not None:
                progress(finished, total)

    tasks = [asyncio.ensure_future(one_parent(i)) for i in range(len(parents))]
    try:
        await asyncio.gather(*tasks)
    except BaseException:  # no model, a database error, cancelled: the others stop too
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    finally:
        await generator.aclose()
    report.cost_usd = sum(costs) if costs else None
    report.cases = [case for cases in written for case in cases]
    report.returned = len(report.cases)
    await asyncio.to_thread(_settle, engine, workspace, dataset, parents, report)
    return report


def check_request(n: int, kinds: list[str]) -> None:
    """GenerateError for a number of cases below 1 or a kind that is not one."""
    if n < 1:
        raise GenerateError(f"--n is the number of cases to write, at least 1, not {n}")
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise GenerateError(
            f"unknown kind {unknown[0] if unknown else '(none)'!r}: the kinds are "
            + ", ".join(KINDS)
        )


def parse_kinds(text: str | None) -> list[str]:
    """`paraphrase, edge` -> [paraphrase, edge] (all kinds for an empty text); GenerateError
    for an unknown one."""
    kinds = [k.strip().lower() for k in (text or "").split(",") if k.strip()]
    kinds = list(dict.fromkeys(kinds)) or list(KINDS)
    check_request(1, kinds)
    return kinds


def generate_cases_sync(*args: Any, **kwargs: Any) -> GenerateReport:
    return asyncio.run(generate_cases(*args, **kwargs))


# -- de-duplicating, writing, queueing (in a thread) ------------------------------------------------


def _generated_before(engine: Engine, dataset: str) -> list[tuple[str, str]]:
    """(record id, input) of the cases generated for `dataset` before, in their order."""
    from reviewer.review.where import metadata_equals
    from reviewer.store.events import RECORDS

    query = (
        select(RECORDS.c.id, RECORDS.c.messages)
        .where(RECORDS.c.source_format == SOURCE_FORMAT, metadata_equals("dataset", dataset))
        .order_by(RECORDS.c.timestamp, RECORDS.c.source_line, RECORDS.c.id)
    )
    with engine.connect() as conn:
        return [
            (str(r.id), last_user_text(orjson.loads(r.messages) if r.messages else []))
            for r in conn.execute(query)
        ]


def deduplicate(
    cases: list[GeneratedCase],
    dataset_inputs: list[tuple[str, str]],
    earlier: list[tuple[str, str]],
    threshold: float = NEAR_DUPLICATE,
) -> None:
    """Mark each case, in order: `already` when it is a case generated before (same id),
    `duplicate` of a dataset input or of a generated case (earlier or kept before it in this
    run), else `new`."""
    known = {ident for ident, _text in earlier}
    of_dataset = [Seen.of(ref, text) for ref, text in dataset_inputs if text.strip()]
    generated = [Seen.of(ident, text) for ident, text in earlier]
    for case in cases:
        if case.id in known:
            case.status = "already"
            continue
        for pool in (of_dataset, generated):
            found = find_duplicate(case.input, pool, threshold)
            if found is not None:
                case.status, case.duplicate_of = "duplicate", found[0].ref
                case.similarity = round(found[1], 3)
                break
        else:
            generated.append(Seen.of(case.id, case.input))
            known.add(case.id)


def _settle(
    engine: Engine, workspace: Path, dataset: str, parents: list[Parent], report: GenerateReport
) -> None:
    """De-duplicate, write the new cases as records, write the queue file when missing, sync
    the queue; the report's counts are set here."""
    from reviewer.datasets.items import DatasetError
    from reviewer.datasets.store import dataset_items

    try:
        items = dataset_items(engine, dataset)
    except DatasetError:  # not made yet (the queue on the review screen names it)
        items = []
    inputs = [(str(i["id"]), last_user_text(i.get("messages") or [])) for i in items]
    inputs += [(p.ref, p.question) for p in parents]
    deduplicate(report.cases, inputs, _generated_before(engine, dataset))
    dataset_ids = {ref for ref, _text in inputs}
    for case in report.cases:
        if case.status == "new":
            report.made += 1
        elif case.status == "already":
            report.already += 1
        else:
            report.duplicates += 1
            if case.duplicate_of in dataset_ids:
                report.duplicates_of_dataset += 1
            else:
                report.duplicates_of_generated += 1
    by_ref = {p.ref: p for p in parents}
    records = [
        _record(case, by_ref[case.parent], dataset, report, position)
        for position, case in enumerate(report.cases, start=1)
        if case.status == "new"
    ]
    if records:
        from reviewer.evals.judges_check import write_records

        write_records(engine, records, f"generated for {dataset}", SOURCE_FORMAT)
    _queue(engine, workspace, dataset, report)


def _record(
    case: GeneratedCase, parent: Parent, dataset: str, report: GenerateReport, position: int
) -> Any:
    from reviewer.records import Record
    from reviewer.store.events import stamp, utc_now

    metadata: dict[str, Any] = {
        "dataset": dataset,
        "parent": parent.ref,
        "kind": case.kind,
        "model": f"{report.provider}:{report.model}",
    }
    if parent.themes:
        metadata["themes"] = list(parent.themes)
    if parent.vars:
        metadata["vars"] = dict(parent.vars)
    raw = {**metadata, "input": case.input, "expected": case.expected}
    return Record(
        id=case.id,
        source_format=SOURCE_FORMAT,
        raw=orjson.dumps(raw).decode(),
        source_path=f"generated for {dataset}",
        source_line=position,
        timestamp=stamp(utc_now()),
        messages=case_messages(parent, case.input),
        output={"role": "assistant", "content": case.expected} if case.expected else None,
        metadata=metadata,
    )


def _queue(engine: Engine, workspace: Path, dataset: str, report: GenerateReport) -> None:
    """Write the triage queue's file (and its guidelines) when missing; sync it; count how many
    of this run's cases it holds."""

    from reviewer.review.queues import QueueFileError, load_queue_file, write_queue_file
    from reviewer.review.sync import sync_queues
    from reviewer.store.events import QUEUE_ITEMS

    folder = Path(workspace) / "queues"
    path = folder / f"{report.queue}.yaml"
    if not path.exists() and path.with_suffix(".yml").exists():
        path = path.with_suffix(".yml")
    if not path.exists():
        header = (
            f"# Written by reviewer for the cases generated for dataset {dataset} (reviewer\n"
            "# datasets generate, G in the app): d keeps a case, x drops it. Edit it freely.\n"
        )
        report.queue_created = write_queue_file(path, header, queue_definition(dataset))
    guidelines = path.with_suffix(".md")
    if not guidelines.exists():
        try:
            with guidelines.open("x", encoding="utf-8") as fh:
                fh.write(guidelines_text(dataset))
        except FileExistsError:
            pass
    report.queue_file = (
        str(path.relative_to(workspace)) if path.is_relative_to(workspace) else str(path)
    )
    try:
        queue = load_queue_file(path)
    except QueueFileError as exc:
        report.errors.append(str(exc))
        return
    report.queue = queue.name
    synced = sync_queues(engine, [queue])[queue.name]
    if synced.error:
        report.errors.append(f"queue {queue.name}: {synced.error}")
    ids = [c.id for c in report.cases if c.status in ("new", "already")]
    held = 0
    with engine.connect() as conn:
        for start in range(0, len(ids), 500):
            held += len(
                conn.execute(
                    select(QUEUE_ITEMS.c.id).where(
                        QUEUE_ITEMS.c.queue == queue.name,
                        QUEUE_ITEMS.c.active.is_(True),
                        QUEUE_ITEMS.c.record_id.in_(ids[start : start + 500]),
                    )
                ).all()
            )
    report.in_queue = held
    if held < len(ids):
        report.errors.append(
            f"{len(ids) - held} generated cases are not in queue {queue.name}: its filter "
            f"selects other records ({report.queue_file})"
        )
