"""The canonical record: one logged LLM call, whatever format it came from."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from reviewer.messages import Message

#: Every timestamp is stored as UTC text of this fixed width, so text order is time order.
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

#: Source formats of records this workspace made itself rather than imported: outputs sent to
#: reviewers to check a judge (`eval`) and generated test inputs (`generated`). They are
#: reviewed like any record but are not production calls: no insight counts them.
EVAL_FORMAT = "eval"
GENERATED_FORMAT = "generated"
#: a pairwise queue's record: one case's two answers, from two eval runs (kind `pair` too)
PAIR_FORMAT = "pair"
MADE_HERE_FORMATS = (EVAL_FORMAT, GENERATED_FORMAT, PAIR_FORMAT)


@dataclass(slots=True)
class Record:
    """One logged call. `raw` is the source JSON text it was read from: nothing is lost."""

    id: str
    source_format: str
    raw: str
    source_path: str = ""
    source_line: int = 0
    timestamp: str | None = None
    provider: str | None = None
    model: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)
    output: Message | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_ms: float | None = None
    cost_usd: float | None = None
    user_id: str | None = None
    session_id: str | None = None
    trace_id: str | None = None
    prompt_name: str | None = None
    prompt_version: str | None = None
    feedback_score: float | None = None
    feedback_comment: str | None = None
    error: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    #: the step of an agent's trace this record is: its parent step's record id, its kind
    #: (`STEP_KINDS`; an LLM call is "llm") and its name (a tool's, an agent's, a span's)
    parent_id: str | None = None
    kind: str = "llm"
    name: str | None = None
    #: what a step that is not an LLM call took and gave: tool arguments and result, a
    #: retriever's query and documents (JSON values as logged)
    inputs: Any = None
    outputs: Any = None


#: The kinds of step a trace is made of. "llm" is a model call (messages and an output); the
#: others carry `inputs` and `outputs`.
STEP_KINDS = (
    "llm",
    "tool",
    "retriever",
    "agent",
    "chain",
    "embedding",
    "reranker",
    "guardrail",
    "event",
)


#: How a record without input messages is stored in the `messages` column.
NO_MESSAGES = "[]"


def has_content(record: Record) -> bool:
    """Whether there is something to read: input messages or an output."""
    return bool(record.messages) or record.output is not None


def worth_keeping(record: Record) -> bool:
    """Whether a record says anything: every step that is not an LLM call (a tool, an agent...)
    does; a call does with content, an error, or at least its model, token counts, time,
    latency or cost (a log written with prompt storage off). A call without content counts in
    insights and is left out of review queues by default."""
    return (
        record.kind != "llm"
        or has_content(record)
        or bool(record.error)
        or bool(record.model)
        or record.input_tokens is not None
        or record.output_tokens is not None
        or record.timestamp is not None
        or record.latency_ms is not None
        or record.cost_usd is not None
    )


def content_id(raw: str | bytes) -> str:
    """A stable id for a record whose source gave none: a hash of its source text."""
    data = raw.encode() if isinstance(raw, str) else raw
    return "h-" + hashlib.blake2b(data, digest_size=16).hexdigest()


def iso_timestamp(value: Any) -> str | None:
    """Normalize the timestamp shapes found in logs to fixed-width UTC ISO text.

    Accepts epoch seconds, milliseconds, microseconds or nanoseconds (numbers or
    numeric strings), ISO 8601 text with or without a zone (naive means UTC), and
    `YYYY-MM-DD HH:MM:SS` text. Returns None for anything else.
    """
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text.lstrip("-").replace(".", "", 1).isdigit():
            return iso_timestamp(float(text))
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            return None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.astimezone(UTC).strftime(TIMESTAMP_FORMAT)
    if isinstance(value, int | float):
        seconds = float(value)
        if seconds > 1e17:  # nanoseconds
            seconds /= 1e9
        elif seconds > 1e14:  # microseconds
            seconds /= 1e6
        elif seconds > 1e11:  # milliseconds
            seconds /= 1e3
        try:
            return datetime.fromtimestamp(seconds, UTC).strftime(TIMESTAMP_FORMAT)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=UTC)
        return dt.astimezone(UTC).strftime(TIMESTAMP_FORMAT)
    return None


def parse_timestamp(text: str | None) -> datetime | None:
    """The stored timestamp text back as an aware datetime."""
    if not text:
        return None
    return datetime.strptime(text, TIMESTAMP_FORMAT).replace(tzinfo=UTC)


_THUMBS_UP = {
    "up",
    "thumbs_up",
    "thumbsup",
    "👍",
    "positive",
    "good",
    "like",
    "liked",
    "yes",
    "true",
    "helpful",
}
_THUMBS_DOWN = {
    "down",
    "thumbs_down",
    "thumbsdown",
    "👎",
    "negative",
    "bad",
    "dislike",
    "disliked",
    "no",
    "false",
    "unhelpful",
}


def feedback_score(value: Any, scale_max: float | None = None) -> float | None:
    """User feedback as a score in [0, 1]: thumbs up is 1, thumbs down 0, ratings scaled.

    Numbers already in [0, 1] are kept; -1/1 thumbs become 0/1; other numbers are read
    as a rating out of `scale_max` (5 when not given).
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _THUMBS_UP:
            return 1.0
        if low in _THUMBS_DOWN:
            return 0.0
        try:
            value = float(low)
        except ValueError:
            return None
    if isinstance(value, int | float):
        v = float(value)
        if v == -1:
            return 0.0
        if 0.0 <= v <= 1.0 and scale_max is None:
            return v
        top = scale_max or 5.0
        low_end = 1.0 if top > 1 else 0.0
        return max(0.0, min(1.0, (v - low_end) / (top - low_end)))
    return None


def to_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def to_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def dig(obj: Any, path: str, default: Any = None) -> Any:
    """Follow a dotted path ("response.usage.prompt_tokens", "choices.0.message") into JSON."""
    cur = obj
    for key in path.split("."):
        if isinstance(cur, dict):
            if key not in cur:
                return default
            cur = cur[key]
        elif isinstance(cur, list):
            try:
                cur = cur[int(key)]
            except (ValueError, IndexError):
                return default
        else:
            return default
    return cur


def r_null(value: Any) -> Any:
    """R/jsonlite writes JSON null as {}: read an empty object as None."""
    if isinstance(value, dict) and not value:
        return None
    return value
