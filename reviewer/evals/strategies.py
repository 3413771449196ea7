"""Strategies: how an eval makes the answer to a case, and how many times.

A prompt file may say (top-level keys, checked in `reviewer.evals.prompts`), and `reviewer
eval` may override:

- `samples: n` — answer every case n times (each sample its own call and cache entry; sample
  0 is the plain request's cache entry, so earlier caches still answer it). The run reports
  pass@1, pass@n, pass^n, a consistency per case and the flaky cases (`reviewer.evals.sampling`).
  Goes with any of the three below (n samples of the whole strategy).
- `self_critique: {model}` — a draft; a critique of it (by `model`, else the answering model),
  asked for as structured output (`problems`, `advice`); a revision by the answering model that
  sees the draft and the critique. The revision is graded.
- `best_of: {n, judge}` — n answers; a judge model (else the answering model) picks one, as
  structured output (`best`: 1..n, `reason`). When the n answers are all the same text, no
  judge is asked.
- `ensemble: [models]` or `{models, select: majority|judge, judge}` — each model answers; the
  answer of the largest group of equal normalised answers wins (casefolded, spaces collapsed,
  end punctuation and quotes trimmed); a tie goes to the group whose first answer came from the
  earliest model in the list. With `select: judge` a judge (else the first model) picks.

The spelling of a strategy on the command line (`--strategy`) and in tables: `single`,
`samples=5`, `self-critique` or `self-critique=MODEL`, `best-of=3` or `best-of=3@JUDGE`,
`ensemble=a,b,c` (majority) or `ensemble=a,b,c@JUDGE` (the judge picks); joined with `+` to
sample another strategy: `best-of=3+samples=5`. Models may carry a provider
(`anthropic:claude-haiku-4-5`).

Every call goes through the runner's cached call (`Caller`); the answer of one sample is an
`Attempt`, with each step's model, tokens, cost, latency and whether it came from the cache.
Latency of an answer = what its user waits: sequential steps add (draft + critique + revision;
the candidates, then the judge), parallel calls take the slowest (best-of's candidates, the
ensemble's models). Cost = every call of the answer.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol

from reviewer.evals.sampling import majority

if TYPE_CHECKING:
    from reviewer.evals.prompts import PromptFile
    from reviewer.evals.providers import Completion

Method = Literal["single", "self_critique", "best_of", "ensemble"]
METHODS: tuple[str, ...] = ("single", "self_critique", "best_of", "ensemble")
MAX_SAMPLES = 100
#: Parameters of the critic's and the judge's calls.
CHECK_PARAMS: dict[str, Any] = {"temperature": 0}

CRITIQUE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "problems": {"type": "array", "items": {"type": "string"}},
        "advice": {"type": "string"},
    },
    "required": ["problems", "advice"],
    "additionalProperties": False,
}

CRITIC_SYSTEM = (
    "You review an assistant's answer to a conversation before the user sees it. List its "
    "problems (factual errors, invented facts or policies, ignored instructions or constraints, "
    "the wrong language, needless length), most important first; none when it is good. Then "
    "give short advice for a better answer. Reply with a JSON object: problems (a list of "
    "short texts) and advice (a text)."
)

JUDGE_SYSTEM = (
    "You pick the best of several candidate answers to the same conversation: the one that is "
    "correct, follows the instructions and the user's constraints, and helps most. Reply with "
    "a JSON object: best (the number of the best candidate) and reason (one sentence)."
)


class StrategyError(ValueError):
    """A strategy spelled wrong; the message says what is wrong and how to spell it."""


# -- the spec -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Strategy:
    """How a case is answered, and how many times (see the module docstring)."""

    method: Method = "single"
    samples: int = 1
    critic: str | None = None  # self_critique: the critic model (None: the answering model)
    n: int = 1  # best_of: candidates
    judge: str | None = None  # best_of, ensemble with select judge (None: the default)
    models: tuple[str, ...] = ()  # ensemble
    select: Literal["majority", "judge"] = "majority"

    @property
    def plain(self) -> bool:
        """One call per case: the eval as it always was."""
        return self.method == "single" and self.samples == 1

    @property
    def label(self) -> str:
        """The strategy's spelling (`best-of=3+samples=5`, `single`)."""
        parts: list[str] = []
        if self.method == "self_critique":
            parts.append("self-critique" + (f"={self.critic}" if self.critic else ""))
        elif self.method == "best_of":
            parts.append(f"best-of={self.n}" + (f"@{self.judge}" if self.judge else ""))
        elif self.method == "ensemble":
            judge = (self.judge or self.models[0]) if self.select == "judge" else None
            parts.append("ensemble=" + ",".join(self.models) + (f"@{judge}" if judge else ""))
        if self.samples > 1:
            parts.append(f"samples={self.samples}")
        return "+".join(parts) or "single"

    def identity(
        self, resolve: Callable[[str], tuple[str, str]], provider: str, model: str
    ) -> dict[str, Any] | None:
        """What makes two runs' strategies the same, defaults filled in (None: plain, so a
        plain run keeps the key it always had)."""
        if self.plain:
            return None
        out: dict[str, Any] = {"method": self.method, "samples": self.samples}
        if self.method == "self_critique":
            out["critic"] = list(resolve(self.critic) if self.critic else (provider, model))
        elif self.method == "best_of":
            out["n"] = self.n
            out["judge"] = list(resolve(self.judge) if self.judge else (provider, model))
        elif self.method == "ensemble":
            out["models"] = [list(resolve(m)) for m in self.models]
            out["select"] = self.select
            if self.select == "judge":
                out["judge"] = list(resolve(self.judge or self.models[0]))
        return out

    def to_dict(self) -> dict[str, Any]:
        """The strategy as recorded on a run: its label and fields."""
        out: dict[str, Any] = {"label": self.label, "method": self.method, "samples": self.samples}
        if self.method == "self_critique":
            out["critic"] = self.critic
        elif self.method == "best_of":
            out.update(n=self.n, judge=self.judge)
        elif self.method == "ensemble":
            out.update(models=list(self.models), select=self.select, judge=self.judge)
        return out


SINGLE = Strategy()


def strategy_of(prompt: PromptFile) -> Strategy:
    """The strategy a prompt file asks for (`single` when it names none)."""
    samples = prompt.samples
    if prompt.self_critique is not None:
        return Strategy("self_critique", samples, critic=prompt.self_critique.model)
    if prompt.best_of is not None:
        return Strategy("best_of", samples, n=prompt.best_of.n, judge=prompt.best_of.judge)
    if prompt.ensemble is not None:
        e = prompt.ensemble
        return Strategy("ensemble", samples, models=tuple(e.models), select=e.select, judge=e.judge)
    return Strategy("single", samples)


def with_options(
    base: Strategy,
    *,
    samples: int | None = None,
    self_critique: bool = False,
    critic: str | None = None,
    best_of: int | None = None,
    ensemble: list[str] | None = None,
    select: str | None = None,
    judge: str | None = None,
) -> Strategy:
    """`base` (the prompt file's) with the options of `reviewer eval` applied: a method option
    replaces the method, `samples` the number of samples. StrategyError for a bad mix."""
    chosen = [
        name
        for name, given in (
            ("--self-critique", self_critique or critic is not None),
            ("--best-of", best_of is not None),
            ("--ensemble", bool(ensemble)),
        )
        if given
    ]
    if len(chosen) > 1:
        raise StrategyError(f"{' and '.join(chosen)}: choose one way to make an answer")
    if samples is not None and not 1 <= samples <= MAX_SAMPLES:
        raise StrategyError(f"--samples is from 1 to {MAX_SAMPLES}, not {samples}")
    if select is not None and select not in ("majority", "judge"):
        raise StrategyError(f"--select is majority or judge, not {select!r}")
    out = base
    if self_critique or critic is not None:
        out = Strategy("self_critique", base.samples, critic=critic)
    elif best_of is not None:
        if not 2 <= best_of <= 20:
            raise StrategyError(f"--best-of is from 2 to 20, not {best_of}")
        out = Strategy("best_of", base.samples, n=best_of, judge=judge)
    elif ensemble:
        models = tuple(m.strip() for value in ensemble for m in value.split(",") if m.strip())
        if not 2 <= len(models) <= 10:
            raise StrategyError(f"--ensemble takes two to ten models, not {len(models)}")
        out = Strategy(
            "ensemble", base.samples, models=models,
            select="judge" if select == "judge" or (select is None and judge) else "majority",
            judge=judge,
        )  # fmt: skip
    elif judge is not None or select is not None:
        if out.method == "best_of":
            out = replace(out, judge=judge or out.judge)
        elif out.method == "ensemble":
            chosen_select: Any = select or ("judge" if judge else out.select)
            out = replace(out, select=chosen_select, judge=judge or out.judge)
        else:
            raise StrategyError("--judge and --select go with --best-of or --ensemble")
    if samples is not None:
        out = replace(out, samples=samples)
    return out


_SPELLING = (
    "single, samples=N, self-critique[=MODEL], best-of=N[@JUDGE], ensemble=A,B[,C...][@JUDGE], "
    "joined with + (best-of=3+samples=5)"
)


def parse_strategy(text: str) -> Strategy:
    """A strategy from its spelling (see the module docstring); StrategyError otherwise."""
    spelled = text.strip()
    if not spelled:
        raise StrategyError(f"an empty strategy (spell one of: {_SPELLING})")
    method: Strategy | None = None
    samples = 1
    for raw in spelled.split("+"):
        part = raw.strip()
        name, sep, value = part.partition("=")
        name = name.strip().lower().replace("_", "-")
        value = value.strip()
        found: Strategy | None = None
        if name == "single" and not sep:
            found = SINGLE
        elif name == "samples":
            if not value.isdigit() or not 1 <= int(value) <= MAX_SAMPLES:
                raise StrategyError(f"{part!r}: samples=N with N from 1 to {MAX_SAMPLES}")
            samples = int(value)
            continue
        elif name == "self-critique":
            if sep and not value:
                raise StrategyError(f"{part!r}: self-critique=MODEL needs a model")
            found = Strategy("self_critique", critic=value or None)
        elif name == "best-of":
            count, at, judge = value.partition("@")
            if not count.strip().isdigit() or not 2 <= int(count) <= 20:
                raise StrategyError(f"{part!r}: best-of=N with N from 2 to 20 (best-of=3@JUDGE)")
            if at and not judge.strip():
                raise StrategyError(f"{part!r}: a judge model after @")
            found = Strategy("best_of", n=int(count), judge=judge.strip() or None)
        elif name == "ensemble":
            names, at, judge = value.partition("@")
            models = tuple(m.strip() for m in names.split(",") if m.strip())
            if not 2 <= len(models) <= 10:
                raise StrategyError(f"{part!r}: ensemble=A,B[,C...] with two to ten models")
            if at and not judge.strip():
                raise StrategyError(f"{part!r}: a judge model after @")
            found = Strategy(
                "ensemble", models=models, select="judge" if at else "majority",
                judge=judge.strip() or None,
            )  # fmt: skip
        else:
            raise StrategyError(f"unknown strategy {part!r} (spell one of: {_SPELLING})")
        if found is not None and found.method != "single" and method and method.method != "single":
            raise StrategyError(f"{spelled!r}: one way to make an answer at a time")
        if found is not None and (method is None or found.method != "single"):
            method = found
    return replace(method or SINGLE, samples=samples)


# -- answering one case ---------------------------------------------------------------------------


class Caller(Protocol):
    """The runner's cached model call: (completion, came from the cache). `draw` tells the
    samples of one request apart (0: the plain request); `check` rejects an answer (its
    reason), which is then neither used nor cached."""

    def __call__(
        self,
        provider: str,
        model: str,
        params: dict[str, Any],
        messages: list[dict[str, Any]],
        draw: int,
        check: Callable[[Completion], str | None] | None = None,
    ) -> Awaitable[tuple[Completion, bool]]: ...


@dataclass
class Context:
    """What a strategy needs from the runner."""

    call: Caller
    params: dict[str, Any]  # the prompt's request parameters
    resolve: Callable[[str], tuple[str, str]]  # a model spec -> (provider, model)
    cost: Callable[[str, str, Completion], float | None]


@dataclass
class Attempt:
    """One answer of a case (one sample): the final output and every step that made it."""

    sample: int
    output: dict[str, Any] | None = None
    latency_ms: float | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    @property
    def called(self) -> int:
        """Calls made now (not from the cache)."""
        return sum(1 for s in self.steps if not s["cached"])

    @property
    def cached(self) -> bool:
        return all(s["cached"] for s in self.steps)

    @property
    def input_tokens(self) -> int:
        return sum(s["input_tokens"] or 0 for s in self.steps)

    @property
    def output_tokens(self) -> int:
        return sum(s["output_tokens"] or 0 for s in self.steps)

    @property
    def cost_usd(self) -> float | None:
        """Every call's cost; None when a model of one has no price."""
        costs = [s["cost_usd"] for s in self.steps]
        return None if not costs or any(c is None for c in costs) else float(sum(costs))


class StepFailed(Exception):
    """A step could not be made (the message names it)."""


def normalise(text: str) -> str:
    """An answer as majority voting compares it: NFKC, casefolded, spaces collapsed, quotes
    and end punctuation trimmed."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"\s+", " ", folded).strip().strip("\"'`“”‘’ ").rstrip(".!?。！？ ").strip()


def pick_majority(texts: list[str]) -> int:
    """The index of the answer that wins a vote: the largest group of equal normalised
    answers, a tie going to the group whose first answer comes first; that first answer."""
    groups: dict[str, list[int]] = {}
    for i, text in enumerate(texts):
        groups.setdefault(normalise(text), []).append(i)
    best = max(groups.values(), key=lambda members: (len(members), -members[0]))
    return best[0]


def _conversation(messages: list[dict[str, Any]]) -> str:
    from reviewer.evals.assist import case_text

    return case_text({"messages": messages, "output": None}).rsplit("\n\nAnswer to grade:", 1)[0]


def critique_request(messages: list[dict[str, Any]], draft: str) -> list[dict[str, Any]]:
    """What the critic is asked: the conversation and the draft."""
    return [
        {"role": "system", "content": CRITIC_SYSTEM},
        {"role": "user", "content": f"{_conversation(messages)}\n\nAnswer to review:\n{draft}"},
    ]


def revision_request(
    messages: list[dict[str, Any]], draft: str, critique: dict[str, Any]
) -> list[dict[str, Any]]:
    """What the answering model is asked for its revision: the conversation, its draft, the
    critique."""
    problems = "\n".join(f"- {p}" for p in critique.get("problems") or []) or "- none"
    return [
        *messages,
        {"role": "assistant", "content": draft},
        {
            "role": "user",
            "content": (
                f"A reviewer read your answer.\nProblems:\n{problems}\nAdvice: "
                f"{critique.get('advice') or '-'}\n\nWrite your final answer to my previous "
                "message with this in mind. Reply with the answer only."
            ),
        },
    ]


def pick_schema(n: int) -> dict[str, Any]:
    """The judge's answer: the number of the best of n candidates, and why."""
    return {
        "type": "object",
        "properties": {
            "best": {"type": "integer", "enum": list(range(1, n + 1))},
            "reason": {"type": "string"},
        },
        "required": ["best", "reason"],
        "additionalProperties": False,
    }


def pick_request(messages: list[dict[str, Any]], texts: list[str]) -> list[dict[str, Any]]:
    """What the judge is asked: the conversation and the numbered candidates."""
    shown = "\n\n".join(f"[{i}]\n{t}" for i, t in enumerate(texts, 1))
    return [
        {"role": "system", "content": JUDGE_SYSTEM},
        {"role": "user", "content": f"{_conversation(messages)}\n\nCandidate answers:\n\n{shown}"},
    ]


async def answer(
    strategy: Strategy,
    ctx: Context,
    provider: str,
    model: str,
    messages: list[dict[str, Any]],
    sample: int,
) -> Attempt:
    """Sample `sample` of a case, made the strategy's way."""
    from reviewer.evals.providers import ProviderError

    attempt = Attempt(sample)
    try:
        if strategy.method == "self_critique":
            await _self_critique(strategy, ctx, provider, model, messages, attempt)
        elif strategy.method == "best_of":
            await _best_of(strategy, ctx, provider, model, messages, attempt)
        elif strategy.method == "ensemble":
            await _ensemble(strategy, ctx, messages, attempt)
        else:
            done = await _step(
                ctx, attempt, "answer", provider, model, ctx.params, messages, sample
            )
            attempt.output, attempt.latency_ms = done.output, done.latency_ms
    except (ProviderError, StepFailed) as exc:
        attempt.error = str(exc)
    return attempt


async def _step(
    ctx: Context,
    attempt: Attempt,
    name: str,
    provider: str,
    model: str,
    params: dict[str, Any],
    messages: list[dict[str, Any]],
    draw: int,
    schema: dict[str, Any] | None = None,
) -> Completion:
    """One call of a strategy, recorded in the attempt's steps (`answer` set for a structured
    answer that fits `schema`)."""
    from reviewer.evals.assist import answer_text, read_answer
    from reviewer.evals.providers import ProviderError

    check = None
    if schema is not None:

        def check(completion: Completion) -> str | None:
            return read_answer(answer_text(completion), schema)[1]

    try:
        completion, cached = await ctx.call(provider, model, params, messages, draw, check)
    except ProviderError as exc:
        raise StepFailed(f"{name}: {exc}") from None
    step: dict[str, Any] = {
        "step": name,
        "provider": provider,
        "model": model,
        "output": completion.output,
        "latency_ms": completion.latency_ms,
        "input_tokens": completion.input_tokens,
        "output_tokens": completion.output_tokens,
        "cost_usd": ctx.cost(provider, model, completion),
        "cached": cached,
    }
    if schema is not None:
        step["answer"] = read_answer(answer_text(completion), schema)[0]
    attempt.steps.append(step)
    return completion


def _text(message: dict[str, Any] | None) -> str:
    from reviewer.evals.compare import output_text

    return output_text(message)


async def _self_critique(
    strategy: Strategy,
    ctx: Context,
    provider: str,
    model: str,
    messages: list[dict[str, Any]],
    attempt: Attempt,
) -> None:
    from reviewer.evals.assist import structured_params

    k = attempt.sample
    draft = await _step(ctx, attempt, "draft", provider, model, ctx.params, messages, k)
    critic_provider, critic_model = (
        ctx.resolve(strategy.critic) if strategy.critic else (provider, model)
    )
    asked = critique_request(messages, _text(draft.output))
    params = {**CHECK_PARAMS, **structured_params(critic_provider, CRITIQUE_SCHEMA)}
    critique = await _step(
        ctx, attempt, "critique", critic_provider, critic_model, params, asked, k, CRITIQUE_SCHEMA
    )
    revise = revision_request(messages, _text(draft.output), attempt.steps[-1]["answer"] or {})
    revision = await _step(ctx, attempt, "revision", provider, model, ctx.params, revise, k)
    attempt.output = revision.output
    attempt.latency_ms = draft.latency_ms + critique.latency_ms + revision.latency_ms


async def _pick(
    ctx: Context,
    attempt: Attempt,
    judge: tuple[str, str],
    messages: list[dict[str, Any]],
    candidates: list[Completion],
) -> tuple[int, float]:
    """The judge's pick among the candidates (an index) and the judge's latency; no judge is
    asked when every candidate says the same."""
    from reviewer.evals.assist import structured_params

    texts = [_text(c.output) for c in candidates]
    if len(set(texts)) == 1:
        return 0, 0.0
    schema = pick_schema(len(texts))
    asked = pick_request(messages, texts)
    params = {**CHECK_PARAMS, **structured_params(judge[0], schema)}
    done = await _step(
        ctx, attempt, "judge", judge[0], judge[1], params, asked, attempt.sample, schema
    )
    return int(attempt.steps[-1]["answer"]["best"]) - 1, done.latency_ms


async def _best_of(
    strategy: Strategy,
    ctx: Context,
    provider: str,
    model: str,
    messages: list[dict[str, Any]],
    attempt: Attempt,
) -> None:
    n, k = strategy.n, attempt.sample
    candidates = await asyncio.gather(
        *(
            _step(ctx, attempt, f"candidate {i + 1}", provider, model, ctx.params, messages,
                  k * n + i)
            for i in range(n)
        )
    )  # fmt: skip
    attempt.steps.sort(key=lambda s: int(s["step"].split()[-1]))  # 1..n, whatever came first
    judge = ctx.resolve(strategy.judge) if strategy.judge else (provider, model)
    best, waited = await _pick(ctx, attempt, judge, messages, list(candidates))
    attempt.output = candidates[best].output
    attempt.latency_ms = max(c.latency_ms for c in candidates) + waited


async def _ensemble(
    strategy: Strategy, ctx: Context, messages: list[dict[str, Any]], attempt: Attempt
) -> None:
    members = [ctx.resolve(m) for m in strategy.models]
    answers = await asyncio.gather(
        *(
            _step(ctx, attempt, f"model {i + 1}", p, m, ctx.params, messages, attempt.sample)
            for i, (p, m) in enumerate(members)
        )
    )
    attempt.steps.sort(key=lambda s: int(s["step"].split()[-1]))
    waited = 0.0
    if strategy.select == "judge":
        judge = ctx.resolve(strategy.judge) if strategy.judge else members[0]
        best, waited = await _pick(ctx, attempt, judge, messages, list(answers))
    else:
        best = pick_majority([_text(a.output) for a in answers])
    attempt.output = answers[best].output
    attempt.latency_ms = max(a.latency_ms for a in answers) + waited


# -- a case's row from its samples ----------------------------------------------------------------


def combine(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """The result row's fields of a case from its graded samples (dicts with output, passed,
    score, grades, latency_ms, tokens, cost_usd, cached, error): an error when a sample
    failed; else `passed` is the majority verdict of the graded samples (one sample: its
    verdict), the output and grades those of the first sample that agrees with it, the score
    their mean, the latency the mean of the samples' (each sample is one answer a user waits
    for), tokens and cost the sums (cost None when one is unknown), cached when all were."""
    costs = [s["cost_usd"] for s in samples]
    latencies = [s["latency_ms"] for s in samples if s["latency_ms"] is not None]
    row: dict[str, Any] = {
        "latency_ms": sum(latencies) / len(latencies) if latencies else None,
        "input_tokens": sum(s["input_tokens"] or 0 for s in samples),
        "output_tokens": sum(s["output_tokens"] or 0 for s in samples),
        "cost_usd": None if any(c is None for c in costs) else float(sum(costs)),
        "cached": all(s["cached"] for s in samples),
        "error": None,
        "passed": None,
        "score": None,
        "grades": None,
        "output": None,
    }
    failed = [s for s in samples if s["error"] is not None]
    if failed:
        first = failed[0]
        row["error"] = first["error"] if len(samples) == 1 else (
            f"sample {first['sample'] + 1} of {len(samples)}: {first['error']}"
        )  # fmt: skip
        ok = [s for s in samples if s["output"] is not None]
        row["output"] = ok[0]["output"] if ok else None
        return row
    graded = [s for s in samples if s["passed"] is not None]
    passed: bool | None = None
    if graded:
        c = sum(1 for s in graded if s["passed"])
        passed = bool(graded[0]["passed"]) if len(graded) == 1 else majority(len(graded), c)
    chosen = next((s for s in samples if s["passed"] == passed), samples[0])
    scores = [s["score"] for s in samples if s["score"] is not None]
    row.update(
        passed=passed,
        score=sum(scores) / len(scores) if scores else None,
        grades=chosen["grades"],
        output=chosen["output"],
    )
    return row
