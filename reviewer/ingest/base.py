"""What every log format module shares: the parse context, rejection, and common field readers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import orjson

from reviewer.records import Record, content_id, feedback_score, iso_timestamp, to_float, to_int


class Rejected(Exception):
    """Raised by a parser for input it recognises but cannot turn into a record; the message is the reason."""


@dataclass(slots=True)
class ParseContext:
    """Where the item being parsed came from, and what the parser may look up."""

    path: str
    line: int
    raw: str
    #: key -> what an earlier line remembered for joining: the request body of an OpenAI or
    #: Anthropic Batch input line (by custom_id), an OpenAI Evals spec or sampling events
    #: (keys `openai-evals:...`); a line remembering something is counted as skipped
    batch_requests: Callable[[str], dict[str, Any] | None] = lambda _cid: None
    #: remember something for later lines to join (stored, so kept across files and runs)
    remember_batch_request: Callable[[str, dict[str, Any]], None] = lambda _cid, _body: None
    #: options given on the command line (e.g. a mapping)
    options: dict[str, Any] = field(default_factory=dict)
    #: `--redact`: personal data masked in what is stored (credentials always are)
    redact: bool = False
    #: False when `raw` is not the item's text as read (credentials or personal data masked)
    raw_is_line: bool = True

    def record(
        self, fmt: str, *, source_id: str | None = None, raw: str | None = None, **fields: Any
    ) -> Record:
        """A Record for this item. Its id is the source's id when there is one, else a hash of its text."""
        text = self.raw if raw is None else raw
        rid = source_id if source_id else content_id(text)
        return Record(
            id=rid,
            source_format=fmt,
            raw=text,
            source_path=self.path,
            source_line=self.line,
            **fields,
        )


class LogFormat:
    """A log format: recognises a parsed JSON object (or CSV row) and turns it into records.

    `detect` must be cheap: it runs on every line of a mixed file. `parse` yields zero or more
    records (zero for an item that holds no LLM call, which is counted as skipped) and raises
    `Rejected` with a reason for input it cannot use.
    """

    name: ClassVar[str] = ""
    #: "json" for JSON objects/lines, "csv" for CSV rows
    kind: ClassVar[str] = "json"
    #: the reason given when an item's records hold nothing worth keeping (`worth_keeping`)
    empty_reason: ClassVar[str] = (
        "nothing to import: the record has no messages, no output, no model, no token counts, "
        "no time and no error"
    )
    #: when set, `detect` accepts a JSON object only if one of these is among its top-level keys:
    #: detection then skips the format for objects without any (keep it in step with `detect`)
    detect_keys: ClassVar[frozenset[str] | None] = None

    def detect(self, obj: Any) -> bool:
        raise NotImplementedError

    def parse(self, obj: Any, ctx: ParseContext) -> Iterable[Record]:
        raise NotImplementedError


def dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def as_dict(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one (for optional nested objects)."""
    return value if isinstance(value, dict) else {}


def as_json(value: Any) -> Any:
    """Decode JSON that arrived inside a string (Langfuse, CSV cells); anything else is returned as is."""
    if isinstance(value, str):
        s = value.strip()
        if s[:1] in ("{", "[") and s[-1:] in ("}", "]"):
            try:
                return orjson.loads(s)
            except orjson.JSONDecodeError:
                return value
    return value


# Keys commonly written beside a request/response pair in hand-made logs.
_TIMESTAMP_KEYS = (
    "timestamp",
    "ts",
    "time",
    "created_at",
    "createdAt",
    "start_time",
    "startTime",
    "logged_at",
    "request_time",
    "date",
)
_LATENCY_MS_KEYS = (
    "latency_ms",
    "duration_ms",
    "elapsed_ms",
    "response_time_ms",
    "latencyMs",
    "durationMs",
)
_LATENCY_S_KEYS = (
    "latency",
    "latency_s",
    "duration",
    "duration_s",
    "elapsed",
    "elapsed_s",
    "response_time",
)
_USER_KEYS = ("user_id", "userId", "user", "end_user", "customer_id")
_SESSION_KEYS = (
    "session_id",
    "sessionId",
    "conversation_id",
    "conversationId",
    "thread_id",
    "threadId",
)
_TRACE_KEYS = ("trace_id", "traceId", "request_id", "requestId")
_COST_KEYS = ("cost_usd", "cost", "total_cost", "totalCost", "response_cost")
_FEEDBACK_KEYS = ("feedback", "user_feedback", "rating", "thumbs", "score")
_PROMPT_NAME_KEYS = ("prompt_name", "promptName", "prompt_id")
_PROMPT_VERSION_KEYS = ("prompt_version", "promptVersion")
_META_KEYS = (
    "metadata",
    "meta",
    "tags",
    "app",
    "env",
    "environment",
    "endpoint",
    "feature",
    "route",
    "release",
    "version",
)


def _first(obj: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = obj.get(key)
        if value is not None and value != "" and value != {}:
            return value
    return None


_ENVELOPE_FIELDS: dict[str, tuple[str, int]] = {}
for _field, _keys in (
    ("timestamp", _TIMESTAMP_KEYS), ("latency_ms", _LATENCY_MS_KEYS), ("latency_s", _LATENCY_S_KEYS),
    ("user_id", _USER_KEYS), ("session_id", _SESSION_KEYS), ("trace_id", _TRACE_KEYS), ("cost_usd", _COST_KEYS),
    ("feedback", _FEEDBACK_KEYS), ("prompt_name", _PROMPT_NAME_KEYS), ("prompt_version", _PROMPT_VERSION_KEYS),
):  # fmt: skip
    for _rank, _key in enumerate(_keys):
        _ENVELOPE_FIELDS.setdefault(_key, (_field, _rank))
_META_KEY_SET = frozenset(_META_KEYS)


def apply_envelope(record: Record, env: dict[str, Any], *, skip: Iterable[str] = ()) -> Record:
    """Fill a record from the keys people log beside a call: time, latency, user, session,
    trace, cost, feedback, prompt, metadata. Only fields the record does not have yet are set;
    where several spellings are present the most common one wins.

    One pass over the envelope's keys: this runs for every line of an import.
    """
    found: dict[str, tuple[int, Any]] = {}
    meta = record.metadata
    for key, value in env.items():
        if value is None or value == "" or value == {}:
            continue
        hit = _ENVELOPE_FIELDS.get(key)
        if hit is not None:
            fld, rank = hit
            prev = found.get(fld)
            if prev is None or rank < prev[0]:
                found[fld] = (rank, value)
        if key in _META_KEY_SET and key not in skip:
            if key in ("metadata", "meta") and isinstance(value, dict):
                for k, v in value.items():
                    meta.setdefault(k, v)
                if record.user_id is None and isinstance(value.get("user_id"), str):
                    record.user_id = value["user_id"]
            else:
                meta.setdefault(key, value)
    if not found:
        return record
    get = found.get
    if record.timestamp is None and (v := get("timestamp")):
        record.timestamp = iso_timestamp(v[1])
    if record.latency_ms is None:
        if v := get("latency_ms"):
            record.latency_ms = to_float(v[1])
        elif v := get("latency_s"):
            secs = to_float(v[1])
            record.latency_ms = secs * 1000.0 if secs is not None else None
    if record.user_id is None and (v := get("user_id")) and isinstance(v[1], str | int):
        record.user_id = str(v[1])
    for fld in ("session_id", "trace_id", "prompt_name", "prompt_version"):
        if getattr(record, fld) is None and (v := get(fld)):
            setattr(record, fld, str(v[1]))
    if record.cost_usd is None and (v := get("cost_usd")):
        record.cost_usd = to_float(v[1])
    if record.feedback_score is None and record.feedback_comment is None and (v := get("feedback")):
        apply_feedback(record, v[1])
    return record


def apply_feedback(record: Record, value: Any) -> None:
    """Read logged user feedback: a thumbs string/bool, a number, or {score|value|rating|thumbs, comment}."""
    if value is None:
        return
    if isinstance(value, dict):
        comment = value.get("comment") or value.get("text") or value.get("reason")
        raw = None
        for key in ("score", "value", "rating", "thumbs", "thumb", "sentiment", "label"):
            if value.get(key) is not None:
                raw = value[key]
                break
        scale = to_float(value.get("max") or value.get("scale_max"))
        record.feedback_score = feedback_score(raw, scale)
        record.feedback_comment = comment if isinstance(comment, str) and comment else None
        return
    record.feedback_score = feedback_score(value)


def usage_tokens(usage: Any) -> tuple[int | None, int | None]:
    """(input, output) tokens from the usage shapes of OpenAI, Anthropic, LangChain and others."""
    if not isinstance(usage, dict):
        return None, None
    inp = _first(
        usage,
        (
            "input_tokens",
            "prompt_tokens",
            "inputTokens",
            "promptTokens",
            "input",
            "prompt_token_count",
            "promptTokenCount",
        ),
    )
    out = _first(
        usage,
        (
            "output_tokens",
            "completion_tokens",
            "outputTokens",
            "completionTokens",
            "output",
            "candidates_token_count",
            "candidatesTokenCount",
        ),
    )
    return to_int(inp), to_int(out)


def model_params(request: dict[str, Any], exclude: Iterable[str]) -> dict[str, Any]:
    """The request's generation parameters: every key except the messages and the model."""
    drop = set(exclude)
    return {k: v for k, v in request.items() if k not in drop and v is not None}


# Names under which hand-made logs keep the two halves of a call.
_REQUEST_KEYS = (
    "request",
    "req",
    "request_body",
    "requestBody",
    "kwargs",
    "params",
    "input",
    "call",
)
_RESPONSE_KEYS = (
    "response",
    "res",
    "response_body",
    "responseBody",
    "completion",
    "result",
    "output",
)


Pair = tuple[dict[str, Any] | None, dict[str, Any] | None, dict[str, Any]]
#: the last object split and its parts: several formats' `detect` and then `parse` ask for the
#: split of the same object in a row (the parts are only read, never changed)
_last_split: tuple[Any, Pair] | None = None


def split_pair(obj: dict[str, Any]) -> Pair:
    """Split a hand-made log line into (request kwargs, response object, the rest).

    Recognises `{"request": kwargs, "response": completion, ...}` and the usual spellings
    (req/res, request_body/response_body, kwargs/completion, input/output when both are
    objects). Returns (None, None, obj) when the line is not such a pair.
    """
    global _last_split
    last = _last_split
    if last is not None and last[0] is obj:
        return last[1]
    pair = _split_pair(obj)
    _last_split = (obj, pair)
    return pair


def _split_pair(obj: dict[str, Any]) -> Pair:
    request = response = None
    req_key = res_key = None
    for key in _REQUEST_KEYS:
        value = obj.get(key)
        if isinstance(value, dict):
            request, req_key = value, key
            break
    for key in _RESPONSE_KEYS:
        value = obj.get(key)
        if isinstance(value, dict) and key != req_key:
            response, res_key = value, key
            break
    if request is None and response is None:
        return None, None, obj
    rest = {k: v for k, v in obj.items() if k not in (req_key, res_key)}
    return request, response, rest
