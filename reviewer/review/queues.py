"""Queue definitions: `queues/*.yaml`, one file per queue.

```yaml
name: thumbs-down
description: Calls a user gave a thumbs down
unit: call                   # call (each LLM call) | trace (each agent trace or chat session)
                             # | pair (two eval runs' outputs side by side, see below)
filter:                      # all conditions combined with AND
  feedback: negative         # negative | positive | none | any
  provider: openai           # a value or a list
  model: [gpt-4o-mini, gpt-4o]
  format: openai-chat        # source format(s)
  since: 2026-11-01          # ISO date/time, or a duration back from now: 7d, 12h, 30m (from it on)
  until: 2026-11-20          # before it; a date alone means to the end of that day
  has_error: false
  content: with              # with (default) | without | any: records without content (no
                             # messages, no output: logged with prompt storage off) stay out
  min_latency_ms: 5000       # also max_latency_ms, min/max_input_tokens, min/max_output_tokens
  metadata: {endpoint: support-chat}   # a value, a list (any of them) or null (missing);
                             # a dotted key is the flat key, else the nested path
  contains: refund           # full text, case-insensitive, in messages and output
  where: "latency_ms > 5000 and metadata.endpoint = 'support-chat'"   # see review/where.py
  # unit: trace only: min_steps/max_steps, tool: [lookup_order], has_tool_error: true,
  # min_cost_usd/max_cost_usd. In a trace queue has_error, the latency and token bounds, since,
  # until and contains apply to the trace (any step's error, its duration and totals, its start,
  # its final output); feedback, provider, model, format, metadata and where to any of its steps.
sample: {size: 50, seed: 7, stratify: model}   # or {rate: 0.1}; stratify: model, provider,
                             # source_format, user_id, session_id, prompt_*, metadata.KEY
order: newest                # newest | oldest | random | slowest
rubric:
  - {name: helpful, type: scale, min: 1, max: 5, labels: {1: useless, 5: perfect}, required: true}
  - {name: tone, type: category, options: [friendly, neutral, rude]}
  - {name: policy-ok, type: pass_fail}
  - {name: why, type: text}
themes: [invented-policy, wrong-language]
reviews_per_item: 1
assignees: [ana, ben]
dataset: support-regressions
```

A pairwise queue (`unit: pair`, written by `reviewer judges pairwise RUN_A RUN_B --queue NAME`)
holds the pair records of two eval runs: each case of the dataset both runs answered, its two
outputs shown as "left" and "right" in a seeded random order (the truth is in the `pairs`
table, never on screen). It has no filter; its verdict is left, right, tie or both-bad:

```yaml
name: tone-vs-baseline
unit: pair
runs: [12, 9]                # run A, run B: the win rate is A's over B
order: oldest
reviews_per_item: 2
```

Every other queue has a verdict (pass or fail) besides its rubric. Loading reports mistakes with the
file, the key and what is wrong (`QueueFileError`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

ORDERS = ("newest", "oldest", "random", "slowest")
#: filter keys that only a `unit: trace` queue has
TRACE_FILTERS = ("min_steps", "max_steps", "tool", "has_tool_error", "min_cost_usd", "max_cost_usd")
FEEDBACK = ("negative", "positive", "none", "any")
CONTENT = ("with", "without", "any")
#: the verdicts of a `unit: pair` queue (the choice between its left and right outputs)
PAIR_VERDICTS = ("left", "right", "tie", "both-bad")


class QueueFileError(Exception):
    """A queue file that cannot be used; the message names the file, the key and the problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RubricScore(_Strict):
    """One score of the rubric."""

    name: str = Field(min_length=1)
    type: Literal["pass_fail", "scale", "category", "text"]
    description: str | None = None
    required: bool = False
    min: int = 1
    max: int = 5
    labels: dict[int, str] = Field(default_factory=dict)
    options: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> RubricScore:
        if self.type == "scale":
            if self.max <= self.min:
                raise ValueError(f"max ({self.max}) must be greater than min ({self.min})")
            if self.max - self.min > 9 or self.min < 0:
                raise ValueError(
                    "a scale must fit the digit keys: between 0 and 9, at most 10 steps"
                )
            bad = [k for k in self.labels if not self.min <= k <= self.max]
            if bad:
                raise ValueError(f"labels {bad} are outside the scale {self.min}..{self.max}")
        if self.type == "category":
            if not self.options:
                raise ValueError("a category needs options")
            if len(self.options) > 9:
                raise ValueError("a category has at most 9 options (keys 1-9)")
            if len(set(self.options)) != len(self.options):
                raise ValueError("category options must be different")
        return self

    def digit_value(self, digit: int) -> Any:
        """The value a digit key gives this score, or None when the digit does not apply."""
        if self.type == "scale":
            return digit if self.min <= digit <= self.max else None
        if self.type == "category":
            return self.options[digit - 1] if 1 <= digit <= len(self.options) else None
        if self.type == "pass_fail":
            return {1: "pass", 2: "fail"}.get(digit)
        return None


#: A whole number the database can hold (64-bit signed), and a finite number.
SqlInt = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
SqlFloat = Annotated[float, Field(allow_inf_nan=False, ge=-1e300, le=1e300)]


class Sample(_Strict):
    size: int | None = Field(default=None, gt=0, le=2**63 - 1)
    rate: float | None = Field(default=None, gt=0, le=1)
    seed: SqlInt = 0
    stratify: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Sample:
        if (self.size is None) == (self.rate is None):
            raise ValueError("give either size or rate")
        return self

    @field_validator("stratify")
    @classmethod
    def _stratum_field(cls, value: str | None) -> str | None:
        from reviewer.review.where import STRATIFY_FIELDS, check_json_key

        if value is None or value in STRATIFY_FIELDS:
            return value
        if value.startswith("metadata."):
            for key in value.removeprefix("metadata.").split("."):
                check_json_key(key)
            return value
        raise ValueError(
            f"cannot stratify by {value!r}; use one of {', '.join(STRATIFY_FIELDS)} or metadata.KEY"
        )


class Assist(_Strict):
    """`assist:` — a judge pre-grades the queue's items; a seeded share of them is `blind`
    (the suggestion hidden until the reviewer has given a verdict)."""

    judge: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    blind: float = Field(default=0.0, ge=0, le=1)
    seed: SqlInt = 0

    def is_blind(self, queue_item_id: int) -> bool:
        """Whether the item is one of the blind share: from a hash of the seed and the item,
        so the same items stay blind however often it is asked."""
        import hashlib

        digest = hashlib.blake2b(f"{self.seed}:{queue_item_id}".encode(), digest_size=8)
        return int.from_bytes(digest.digest(), "big") / 2**64 < self.blind


class QueueFilter(_Strict):
    feedback: Literal["negative", "positive", "none", "any"] = "any"
    provider: list[str] = Field(default_factory=list)
    model: list[str] = Field(default_factory=list)
    format: list[str] = Field(default_factory=list)
    since: str | None = None
    until: str | None = None
    has_error: bool | None = None
    content: Literal["with", "without", "any"] = "with"
    min_latency_ms: SqlFloat | None = None
    max_latency_ms: SqlFloat | None = None
    min_input_tokens: SqlInt | None = None
    max_input_tokens: SqlInt | None = None
    min_output_tokens: SqlInt | None = None
    max_output_tokens: SqlInt | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    contains: str | None = None
    where: str | None = None
    # a `unit: trace` queue's own conditions, on the trace's totals
    min_steps: SqlInt | None = None
    max_steps: SqlInt | None = None
    tool: list[str] = Field(default_factory=list)
    has_tool_error: bool | None = None
    min_cost_usd: SqlFloat | None = None
    max_cost_usd: SqlFloat | None = None

    @field_validator("provider", "model", "format", "tool", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("since", "until", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return value if value is None or isinstance(value, str) else str(value)

    @field_validator("since", "until")
    @classmethod
    def _time(cls, value: str | None) -> str | None:
        from reviewer.review.where import parse_when

        if value is not None:
            parse_when(value)
        return value

    @field_validator("where")
    @classmethod
    def _where(cls, value: str | None) -> str | None:
        from reviewer.review.where import parse_where

        if value is not None:
            parse_where(value)
        return value

    @field_validator("contains")
    @classmethod
    def _contains(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("give the text to look for (or leave contains out)")
        return value

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, Any]) -> dict[str, Any]:
        from reviewer.review.where import check_json_key

        for key, want in value.items():
            for part in str(key).split("."):
                try:
                    check_json_key(part)
                except ValueError as exc:
                    raise ValueError(f"{key}: {exc}") from None
            wants = want if isinstance(want, list) else [want]
            if isinstance(want, list) and not want:
                raise ValueError(f"{key}: the list of values is empty")
            for w in wants:
                if isinstance(w, dict | list) or (w is None and isinstance(want, list)):
                    raise ValueError(
                        f"{key}: expected a text, number, true/false or null (or a list of them), not {w!r}"
                    )
                if isinstance(w, int) and not -(2**63) <= w <= 2**63 - 1:
                    raise ValueError(f"{key}: {w} is out of range for a whole number")
        return value

    @model_validator(mode="after")
    def _time_range(self) -> QueueFilter:
        from reviewer.review.where import parse_when

        if self.since is not None and self.until is not None:
            since, until = parse_when(self.since), parse_when(self.until)
            if (
                since.at is not None
                and until.at is not None
                and since.at >= until.resolve(datetime.now(UTC), end_of_day=True)
            ):
                raise ValueError(f"since ({self.since}) is not before until ({self.until})")
        return self


#: The most of a guidelines file that is read.
GUIDELINES_LIMIT = 256 * 1024


class QueueDef(_Strict):
    """A review queue as written in its YAML file."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    unit: Literal["call", "trace", "pair"] = "call"
    runs: list[SqlInt] | None = None  # unit: pair only: run A and run B
    filter: QueueFilter = Field(default_factory=QueueFilter)
    sample: Sample | None = None
    order: Literal["newest", "oldest", "random", "slowest"] = "newest"
    rubric: list[RubricScore] = Field(default_factory=list)
    themes: list[str] = Field(default_factory=list)
    reviews_per_item: int = Field(default=1, ge=1, le=10)
    assignees: list[str] = Field(default_factory=list)
    dataset: str | None = None
    assist: Assist | None = None
    path: str | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _trace_filters(self) -> QueueDef:
        if self.unit == "call":
            given = [k for k in TRACE_FILTERS if getattr(self.filter, k) not in (None, [])]
            if given:
                raise ValueError(
                    f"filter {', '.join(given)} applies to a whole trace: add `unit: trace`"
                )
        return self

    @model_validator(mode="after")
    def _pair_runs(self) -> QueueDef:
        if self.unit != "pair":
            if self.runs is not None:
                raise ValueError("runs: belongs to a `unit: pair` queue")
            return self
        if self.runs is None or len(self.runs) != 2 or self.runs[0] == self.runs[1]:
            raise ValueError("a `unit: pair` queue needs runs: [RUN_A, RUN_B], two different runs")
        if self.filter != QueueFilter():
            raise ValueError("a `unit: pair` queue has no filter: its runs say what it holds")
        return self

    @property
    def verdicts(self) -> tuple[str, ...]:
        """The verdicts a review of this queue may give."""
        return PAIR_VERDICTS if self.unit == "pair" else ("pass", "fail")

    @model_validator(mode="after")
    def _unique_scores(self) -> QueueDef:
        names = [s.name for s in self.rubric]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"rubric scores must have different names: {', '.join(dup)}")
        if "verdict" in names:
            raise ValueError("'verdict' is built in: every queue has a pass/fail verdict")
        return self

    def score(self, name: str) -> RubricScore | None:
        return next((s for s in self.rubric if s.name == name), None)

    def missing_required(self, scores: dict[str, Any]) -> list[str]:
        """Names of required scores not given yet."""
        return [s.name for s in self.rubric if s.required and scores.get(s.name) in (None, "")]

    @property
    def guidelines_path(self) -> Path | None:
        """The queue's guidelines for reviewers: a Markdown file beside its YAML file, named
        like it (`queues/thumbs-down.md`) or like the queue; None when there is none."""
        if not self.path:
            return None
        here = Path(self.path)
        for candidate in (here.with_suffix(".md"), here.parent / f"{self.name}.md"):
            if candidate.is_file():
                return candidate
        return None

    def guidelines(self) -> str | None:
        """The guidelines' text (None when the queue has none); QueueFileError when the file
        cannot be read."""
        path = self.guidelines_path
        if path is None:
            return None
        try:
            with path.open("rb") as handle:
                raw = handle.read(GUIDELINES_LIMIT + 1)
        except OSError as exc:
            raise QueueFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
        text = raw[:GUIDELINES_LIMIT].decode("utf-8-sig", errors="replace")
        if len(raw) > GUIDELINES_LIMIT:
            text += f"\n\n(cut: the file is longer than {GUIDELINES_LIMIT // 1024} KiB)"
        return text


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def parse_queue(data: Any, path: str) -> QueueDef:
    """Validate a queue definition; errors name the file and the key."""
    if not isinstance(data, dict):
        raise QueueFileError(
            f"{path}: a queue file must be a YAML mapping of keys, not {type(data).__name__}"
        )
    try:
        queue = QueueDef.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(
                p for p in err["loc"] if p not in ("function-after[_check(), RubricScore]",)
            )
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key"
            problems.append(f"{path}: {_loc(loc)}: {msg}")
        raise QueueFileError("\n".join(problems)) from None
    return queue.model_copy(update={"path": path})


def load_queue_file(path: Path) -> QueueDef:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise QueueFileError(
            f"{path}:{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise QueueFileError(f"{path}: cannot read: {exc}") from None
    return parse_queue(data, str(path))


def write_queue_file(path: Path, header: str, definition: dict[str, Any]) -> bool:
    """Write a queue file reviewer makes (a comment `header`, then `definition` as YAML), never
    over a file that exists or is made meanwhile; whether it was written."""
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    body = yaml.safe_dump(definition, sort_keys=False, allow_unicode=True)
    try:
        with path.open("x", encoding="utf-8") as fh:
            fh.write(header + body)
    except FileExistsError:
        return False
    return True


def load_queues(workspace: Path) -> tuple[list[QueueDef], list[str]]:
    """All queues of the workspace, and the errors of the files that could not be used."""
    queues: list[QueueDef] = []
    errors: list[str] = []
    folder = workspace / "queues"
    if not folder.is_dir():
        return queues, errors
    seen: dict[str, str] = {}
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        try:
            queue = load_queue_file(path)
        except QueueFileError as exc:
            errors.append(str(exc))
            continue
        if queue.name in seen:
            errors.append(
                f"{path}: name: queue {queue.name!r} is already defined in {seen[queue.name]}"
            )
            continue
        seen[queue.name] = str(path)
        queues.append(queue)
    return queues, errors
