"""Spans written one by one rather than inside an OTLP export request: Arize Phoenix exports and
OpenTelemetry span dumps. One record per span, read like an OTLP span (see otlp.py): model calls
are LLM records, the other spans (chains, agents, tools, retrievers, the AI SDK's outer
`ai.generateText` and `ai.toolCall`) steps of their trace.

Shapes read (JSON, JSONL, or a JSON array of them):

- Phoenix REST `GET /v1/projects/{p}/spans`: `{"data": [span, ...], "next_cursor"}`, each span
  `{id, name, context: {trace_id, span_id}, span_kind, parent_id, start_time, end_time,
  status_code, status_message, attributes: {flat dotted keys}, events}`; its OTLP-style sibling
  `/spans/otlpv1` (snake_case ids and times, attributes as a key/value list);
- Phoenix span JSON(L) files: the same fields with nested attributes (`{"llm": {"input_messages":
  [{"message": {...}}]}}`);
- `get_spans_dataframe()` / `query_spans()` rows written with `to_json(orient="records")`:
  `context.span_id`, `context.trace_id`, `attributes.llm.input_messages` (a list of
  `{"message.role", "message.content", "message.tool_calls": [...]}`), ... (times as ISO text or
  epoch milliseconds);
- OpenTelemetry Python `ReadableSpan.to_json()`: `context: {trace_id: "0x..."}`, `kind`,
  `status: {status_code, description}`, `resource: {attributes}`;
- OpenTelemetry JS spans: `ReadableSpan` fields as JSON (`traceId`, `spanId` or only
  `spanContext: {traceId, spanId}`, `parentSpanId` or `parentSpanContext`, `startTime`/`endTime`
  as [seconds, nanoseconds]) and ConsoleSpanExporter
  objects (`id`, `timestamp` and `duration` in microseconds).

A span carrying the Vercel AI SDK's `ai.operationId` is of format `vercel-ai`; every other span
dump is `openinference`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from reviewer.ingest.base import LogFormat, ParseContext, as_dict, dumps
from reviewer.ingest.formats import otlp, vercel_ai
from reviewer.records import Record, iso_timestamp, parse_timestamp, to_float

#: the attributes that say a span is the Vercel AI SDK's
_OPERATION_KEYS = ("ai.operationId", "operation.name")
#: top-level keys of a dataframe row that are columns of their own, not attributes
_ATTRIBUTE_COLUMN = "attributes."


@dataclass(slots=True)
class PlainSpan:
    """The parts of a span dump, whichever of the shapes above it came in."""

    attrs: dict[str, Any]
    events: list[tuple[str, dict[str, Any]]]
    trace_id: str | None = None
    span_id: str | None = None
    parent_id: str | None = None
    name: Any = None
    start_ns: int | None = None
    end_ns: int | None = None
    status: dict[str, Any] | None = None
    meta: dict[str, Any] = field(default_factory=dict)


# -- shape -----------------------------------------------------------------------------------------


def is_span(obj: Any) -> bool:
    """Whether an object is one span of a dump (cheap: runs on every line of a mixed file)."""
    if not isinstance(obj, dict) or "name" not in obj:
        return False
    if "context.span_id" in obj:  # a dataframe row
        return True
    if "attributes" not in obj:
        return False
    context = obj.get("context")
    if isinstance(context, dict):  # Phoenix, OpenTelemetry Python
        return "span_id" in context
    span_context = obj.get("spanContext")
    if isinstance(span_context, dict):  # OpenTelemetry JS: ids only inside spanContext()
        return "spanId" in span_context or "traceId" in obj
    if "traceId" in obj:  # OpenTelemetry JS: ReadableSpan fields, ConsoleSpanExporter
        return "spanId" in obj or "id" in obj
    return "trace_id" in obj and "span_id" in obj  # Phoenix /spans/otlpv1


def is_page(obj: Any) -> bool:
    """A Phoenix REST page of spans: {"data": [span, ...], "next_cursor": ...}."""
    if not isinstance(obj, dict) or "next_cursor" not in obj:
        return False
    data = obj.get("data")
    return isinstance(data, list) and bool(data) and is_span(data[0])


def spans_of(obj: Any) -> list[dict[str, Any]]:
    if is_page(obj):
        return [s for s in obj["data"] if is_span(s)]
    return [obj] if is_span(obj) else []


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    """Nested attributes (Phoenix's JSON, dataframe cells) as flat dotted keys, lists indexed."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, list) and value and any(isinstance(v, dict | list) for v in value):
        for i, item in enumerate(value):
            _flatten(item, f"{prefix}.{i}", out)
    elif prefix and value is not None:
        out[prefix] = value


def _attributes(obj: dict[str, Any]) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    raw = obj.get("attributes")
    if isinstance(raw, list):
        attrs = otlp.attributes(raw)
    elif isinstance(raw, dict):
        _flatten(raw, "", attrs)
    for key, value in obj.items():  # dataframe columns "attributes.llm.input_messages", ...
        if key.startswith(_ATTRIBUTE_COLUMN):
            _flatten(value, key[len(_ATTRIBUTE_COLUMN) :], attrs)
    # Phoenix keeps `metadata` as an object (its REST API flattens it to metadata.KEY): one object
    folded = {k[len("metadata.") :]: attrs.pop(k) for k in list(attrs) if k.startswith("metadata.")}
    if folded:
        attrs.setdefault("metadata", folded)
    kind = obj.get("span_kind")  # Phoenix moves openinference.span.kind out of the attributes
    if isinstance(kind, str) and kind:
        attrs.setdefault("openinference.span.kind", kind)
    return attrs


def _id(value: Any) -> str | None:
    if isinstance(value, str) and value[:2].lower() == "0x":
        value = value[2:]
    return otlp.hex_id(value)


def _nanos(value: Any) -> int | None:
    """A point in time as epoch nanoseconds: ISO text, [seconds, nanoseconds] (JS HrTime), or an
    epoch number in seconds, milliseconds, microseconds or nanoseconds."""
    if isinstance(value, list) and len(value) == 2:
        secs, nanos = otlp.exact_int(value[0]), otlp.exact_int(value[1])
        return secs * 1_000_000_000 + nanos if secs is not None and nanos is not None else None
    if isinstance(value, str) and not value.strip().lstrip("-").replace(".", "", 1).isdigit():
        moment = parse_timestamp(iso_timestamp(value))
        if moment is None:
            return None
        whole = int(moment.replace(microsecond=0).timestamp())
        return whole * 1_000_000_000 + moment.microsecond * 1000
    number = otlp.exact_int(value) if isinstance(value, str) and value.isdigit() else value
    if isinstance(number, bool) or not isinstance(number, int | float):
        return None
    size = abs(number)
    scale = 1 if size > 1e17 else 1_000 if size > 1e14 else 1_000_000 if size > 1e11 else 1e9
    return int(number * scale)


def _duration_ns(value: Any, unit: int) -> int | None:
    if isinstance(value, list) and len(value) == 2:
        return _nanos(value) if value[0] is not None else None
    number = to_float(value)
    return int(number * unit) if number is not None else None


def _status(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The status as OTLP's {code, message}: Phoenix `status_code`/`status_message`, Python
    `status: {status_code, description}`, OTLP and JS `status: {code, message}`."""
    status = obj.get("status")
    if isinstance(status, dict):
        code = status.get("code", status.get("status_code"))
        message = status.get("message", status.get("description"))
    else:
        code, message = obj.get("status_code"), obj.get("status_message")
    if isinstance(code, str):
        code = code.upper().removeprefix("STATUSCODE.").removeprefix("STATUS_CODE_")
    return {"code": code, "message": message}


def read_span(obj: dict[str, Any]) -> PlainSpan:
    attrs = _attributes(obj)
    context = as_dict(obj.get("context")) or as_dict(obj.get("spanContext"))
    parent = obj.get("parent_id", obj.get("parentSpanId", obj.get("parent_span_id")))
    if parent is None:
        parent = obj.get("parentId") or as_dict(obj.get("parentSpanContext")).get("spanId")
    span = PlainSpan(
        attrs=attrs,
        events=otlp._span_events(obj, attrs),
        trace_id=_id(
            obj.get("context.trace_id")
            or context.get("trace_id")
            or context.get("traceId")
            or obj.get("traceId")
            or obj.get("trace_id")
        ),
        span_id=_id(
            obj.get("context.span_id")
            or context.get("span_id")
            or context.get("spanId")
            or obj.get("spanId")
            or obj.get("span_id")
            or (obj.get("id") if "traceId" in obj else None)
        ),
        parent_id=_id(parent),
        name=obj.get("name"),
        status=_status(obj),
    )
    start = next(
        (obj[k] for k in ("start_time", "startTime", "start_time_unix_nano") if k in obj), None
    )
    end = next((obj[k] for k in ("end_time", "endTime", "end_time_unix_nano") if k in obj), None)
    span.start_ns, span.end_ns = _nanos(start), _nanos(end)
    if span.start_ns is None and "timestamp" in obj:  # ConsoleSpanExporter: microseconds
        span.start_ns = _duration_ns(obj["timestamp"], 1000)
    if span.end_ns is None and span.start_ns is not None and "duration" in obj:
        took = _duration_ns(obj["duration"], 1000)
        span.end_ns = span.start_ns + took if took is not None else None
    resource = as_dict(obj.get("resource"))
    scope = obj.get("instrumentationScope") or obj.get("instrumentationLibrary")
    span.meta = otlp._resource_meta(resource, scope)
    if isinstance(obj.get("id"), str) and "context" in obj:
        span.meta["phoenix_span_id"] = obj["id"]
    return span


# -- formats ---------------------------------------------------------------------------------------


class _SpanDump(LogFormat):
    empty_reason = otlp.OtlpTraces.empty_reason
    detect_keys = frozenset({"name", "next_cursor"})  # a span, or a page of them

    def wants(self, span: dict[str, Any]) -> bool:
        raise NotImplementedError

    def detect(self, obj: Any) -> bool:
        spans = spans_of(obj)
        return bool(spans) and self.wants(spans[0])

    def parse(self, obj: dict[str, Any], ctx: ParseContext) -> Iterable[Record]:
        spans = spans_of(obj)
        single = len(spans) == 1 and spans[0] is obj
        for item in spans:
            span = read_span(item)
            yield otlp.span_record(
                self.name,
                ctx,
                None if single else dumps(item),
                span.attrs,
                span.events,
                trace_id=span.trace_id,
                span_id=span.span_id,
                parent_id=span.parent_id,
                name=span.name,
                start_ns=span.start_ns,
                end_ns=span.end_ns,
                status=span.status,
                meta=span.meta,
            )


class VercelAISpans(_SpanDump):
    """Vercel AI SDK spans dumped one by one (ReadableSpan JSON, ConsoleSpanExporter objects)."""

    name = "vercel-ai"

    def wants(self, span: dict[str, Any]) -> bool:
        attrs = span.get("attributes")
        if isinstance(attrs, list):  # an OTLP attribute list: decode only the two keys looked at
            attrs = otlp.attributes(
                [a for a in attrs if isinstance(a, dict) and a.get("key") in _OPERATION_KEYS]
            )
        return isinstance(attrs, dict) and vercel_ai.operation(attrs) is not None


class OpenInferenceSpans(_SpanDump):
    """Phoenix span exports and OpenTelemetry span dumps (OpenInference and GenAI attributes)."""

    name = "openinference"

    def wants(self, span: dict[str, Any]) -> bool:
        return True
