"""Inspect AI (UK AISI): eval logs (the binary `.eval` zip, its JSON form, or one sample of
it) and dataset JSONL files.

An eval log holds `eval` (task, model, ids), `plan`, `results`, `stats` and `samples[]`. Each
sample (one per dataset item per epoch) becomes one record: the conversation up to its final
assistant turn is the input, that turn is the output. Long texts are stored once per sample in
`sample.attachments` and referenced as "attachment://<md5>" from messages, content parts and
model events; they are resolved here.

A dataset line is `{"input": str | [messages], "target": str | [str], "id"?, "choices"?,
"metadata"?, ...}`: a test case, not a call, so it becomes a record with an input and no output.
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from reviewer.ingest.base import LogFormat, ParseContext, Rejected, as_json, dumps, usage_tokens
from reviewer.ingest.reader import KEPT_RAW_BYTES, Item
from reviewer.messages import Message, merge_output, to_messages
from reviewer.records import Record, iso_timestamp, parse_timestamp, to_float, to_int

_ATTACHMENT = "attachment://"


def resolve(value: Any, attachments: dict[str, Any]) -> Any:
    """`value` with every "attachment://<hash>" string replaced by the attachment's text."""
    if isinstance(value, str):
        if value.startswith(_ATTACHMENT):
            return attachments.get(value[len(_ATTACHMENT) :], value)
        return value
    if isinstance(value, list):
        return [resolve(v, attachments) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, attachments) for k, v in value.items()}
    return value


def _media_ref(value: Any) -> str:
    """An image/audio/video reference short enough to show: data URIs are cut to their type."""
    if not isinstance(value, str):
        return "inline"
    if value.startswith("data:"):
        return value.split(",", 1)[0]
    return value


def _part(part: Any) -> Any:
    """An Inspect content part in a shape `to_messages` reads."""
    if not isinstance(part, dict):
        return part
    kind = part.get("type")
    if kind == "reasoning":
        text = part.get("reasoning") or ""
        if not text and isinstance(part.get("summary"), str):
            text = part["summary"]
        return {"type": "thinking", "thinking": text}
    if kind == "image":
        return {"type": "image", "url": _media_ref(part.get("image"))}
    if kind in ("audio", "video"):
        return {"type": "file", "url": _media_ref(part.get(kind))}
    if kind == "document":
        return {"type": "file", "url": part.get("filename") or _media_ref(part.get("document"))}
    return part


def inspect_message(msg: Any) -> Any:
    """An Inspect ChatMessage (resolved) in a shape `to_messages` reads.

    Inspect tool calls are `{"id", "function": name, "arguments": {...}}`; tool results carry the
    tool name in `function` and failures in `error`.
    """
    if not isinstance(msg, dict):
        return msg
    out: dict[str, Any] = {"role": msg.get("role") or "user"}
    content = msg.get("content")
    out["content"] = [_part(p) for p in content] if isinstance(content, list) else content
    calls = msg.get("tool_calls")
    if isinstance(calls, list) and calls:
        out["tool_calls"] = [
            {
                "id": c.get("id"),
                "function": {"name": c.get("function"), "arguments": c.get("arguments")},
            }
            if isinstance(c, dict) and isinstance(c.get("function"), str)
            else c
            for c in calls
        ]
    if msg.get("tool_call_id"):
        out["tool_call_id"] = msg["tool_call_id"]
    name = msg.get("function") if isinstance(msg.get("function"), str) else None
    if name:
        out["name"] = name
    error = tool_error(msg)
    if error and not out["content"]:
        out["content"] = error
    return out


def tool_error(msg: Any) -> str | None:
    """A failed tool call's error as "type: message" ("timeout: Command timed out ..."), from a
    tool message's `error: {type, message}` (timeout, permission, output_limit, parsing, ...)."""
    error = msg.get("error") if isinstance(msg, dict) else None
    if isinstance(error, dict):
        kind = error.get("type") if isinstance(error.get("type"), str) else "error"
        text = error.get("message")
        if text is None:
            return kind
        return f"{kind}: {text if isinstance(text, str) else dumps(text)}"
    if isinstance(error, str) and error:
        return error
    return None


def inspect_messages(value: Any, default_role: str = "user") -> list[Message]:
    """Inspect ChatMessages as canonical messages; a tool result's error stays on it (`error`)."""
    out: list[Message] = []
    for msg in value if isinstance(value, list) else [value]:
        converted = to_messages(inspect_message(msg), default_role)
        error = tool_error(msg)
        if error:
            for m in converted:
                if m.get("role") == "tool":
                    m["error"] = error
        out.extend(converted)
    return out


def split_model(name: Any) -> tuple[str | None, str | None]:
    """("openai", "gpt-4o-mini") from Inspect's "openai/gpt-4o-mini"."""
    if not isinstance(name, str) or not name:
        return None, None
    provider, sep, model = name.partition("/")
    if not sep:
        return None, name
    return provider, model


def _output_message(output: Any) -> Message | None:
    """ModelOutput.choices[0].message as a canonical message."""
    if not isinstance(output, dict):
        return None
    choices = output.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return None
    msg = choices[0].get("message")
    if not isinstance(msg, dict):
        return None
    return merge_output(inspect_messages(msg, "assistant"))


def _clean(config: Any) -> dict[str, Any]:
    return {k: v for k, v in config.items() if v is not None} if isinstance(config, dict) else {}


def _sum_usage(model_usage: Any) -> tuple[int | None, int | None]:
    """Input and output tokens summed over every model a sample used."""
    if not isinstance(model_usage, dict) or not model_usage:
        return None, None
    total_in = total_out = None
    for usage in model_usage.values():
        inp, out = usage_tokens(usage)
        if inp is not None:
            total_in = (total_in or 0) + inp
        if out is not None:
            total_out = (total_out or 0) + out
    return total_in, total_out


def is_eval_log(obj: Any) -> bool:
    ev = obj.get("eval") if isinstance(obj, dict) else None
    return (
        isinstance(ev, dict)
        and "task" in ev
        and "model" in ev
        and ("samples" in obj or "status" in obj)
    )


def is_eval_sample(obj: Any) -> bool:
    """A single EvalSample, as stored under `samples/` inside a .eval archive."""
    return (
        isinstance(obj, dict)
        and "epoch" in obj
        and isinstance(obj.get("messages"), list)
        and isinstance(obj.get("output"), dict)
        and ("attachments" in obj or "events" in obj or "model_usage" in obj)
    )


class InspectEvalLog(LogFormat):
    """Inspect AI eval logs: one record per sample per epoch."""

    name = "inspect"
    detect_keys = frozenset({"eval", "epoch"})

    def detect(self, obj: Any) -> bool:
        return is_eval_log(obj) or is_eval_sample(obj)

    def parse(self, obj: dict[str, Any], ctx: ParseContext) -> Iterable[Record]:
        if not is_eval_log(obj):
            yield from self._sample_steps(obj, {}, ctx, raw=None)
            return
        ev = obj["eval"]
        samples = obj.get("samples")
        if samples is None:
            return  # a log header written without samples holds no calls
        if not isinstance(samples, list):
            raise Rejected("inspect: 'samples' is not a list")
        for sample in samples:
            if isinstance(sample, dict):
                yield from self._sample_steps(
                    sample, ev, ctx, raw=dumps(sample), status=obj.get("status")
                )

    def _sample_steps(
        self,
        sample: dict[str, Any],
        ev: dict[str, Any],
        ctx: ParseContext,
        raw: str | None,
        status: Any = None,
    ) -> Iterator[Record]:
        """A sample's records: the sample as one record when its events hold no model call (as
        older logs), else a trace whose root step is the sample (kind agent) and whose steps are
        its model calls, tool calls, spans and the events a reviewer needs."""
        record = self._sample(sample, ev, ctx, raw, status)
        events = sample.get("events")
        if not isinstance(events, list) or not any(
            isinstance(e, dict) and e.get("event") == "model" for e in events
        ):
            yield record
            return
        att_value = sample.get("attachments")
        att: dict[str, Any] = att_value if isinstance(att_value, dict) else {}
        root = _as_root(record, sample, ev, att)
        yield root
        yield from SampleTrace(root, ev, att, _events_data(sample), ctx, self.name).steps(events)

    def _sample(
        self,
        sample: dict[str, Any],
        ev: dict[str, Any],
        ctx: ParseContext,
        raw: str | None,
        status: Any = None,
    ) -> Record:
        att_value = sample.get("attachments")
        att: dict[str, Any] = att_value if isinstance(att_value, dict) else {}
        events_value = sample.get("events")
        events: list[Any] = events_value if isinstance(events_value, list) else []
        model_events = [e for e in events if isinstance(e, dict) and e.get("event") == "model"]
        last_event = resolve(model_events[-1], att) if model_events else None
        output_obj = resolve(sample.get("output"), att)

        run = ev.get("eval_id") or ev.get("run_id")
        source_id = f"{run}:{sample.get('id')}:{sample.get('epoch')}" if run else sample.get("uuid")
        record = ctx.record(self.name, source_id=source_id, raw=raw)

        # input and output: the conversation up to the final assistant turn, and that turn
        messages = (
            resolve(sample.get("messages"), att) if isinstance(sample.get("messages"), list) else []
        )
        last = max(
            (
                i
                for i, m in enumerate(messages)
                if isinstance(m, dict) and m.get("role") == "assistant"
            ),
            default=None,
        )
        if last is not None:
            record.messages = inspect_messages(messages[:last])
            record.output = _output_message(output_obj) or merge_output(
                inspect_messages(messages[last], "assistant")
            )
        elif last_event is not None:
            record.messages = inspect_messages(last_event.get("input") or [])
            record.output = _output_message(last_event.get("output")) or _output_message(output_obj)
        else:
            record.messages = inspect_messages(messages or resolve(sample.get("input"), att) or [])
            record.output = _output_message(output_obj)

        # model: the eval's "provider/model", else the model event's
        record.provider, record.model = split_model(
            ev.get("model") or (last_event or {}).get("model")
        )
        if record.model is None and isinstance(output_obj, dict):
            record.model = output_obj.get("model")
        record.params = _clean(ev.get("model_generate_config"))
        if last_event is not None:
            record.params.update(_clean(last_event.get("config")))
            if last_event.get("tools"):
                record.params["tools"] = last_event["tools"]
                if last_event.get("tool_choice") is not None:
                    record.params["tool_choice"] = last_event["tool_choice"]

        record.input_tokens, record.output_tokens = _sum_usage(sample.get("model_usage"))
        if (
            record.input_tokens is None
            and record.output_tokens is None
            and isinstance(output_obj, dict)
        ):
            record.input_tokens, record.output_tokens = usage_tokens(output_obj.get("usage"))

        first_event = model_events[0] if model_events else {}
        record.timestamp = (
            iso_timestamp(first_event.get("timestamp"))
            or iso_timestamp(sample.get("started_at"))
            or iso_timestamp(ev.get("created"))
        )
        seconds = to_float(sample.get("total_time"))
        if seconds is None and last_event is not None:
            seconds = to_float(last_event.get("working_time"))
        if seconds is None and isinstance(output_obj, dict):
            seconds = to_float(output_obj.get("time"))
        record.latency_ms = seconds * 1000.0 if seconds is not None else None

        record.error = _error_text(sample.get("error")) or (
            _error_text(last_event.get("error")) if last_event else None
        )
        record.metadata = self._metadata(sample, ev, att, output_obj, last_event, status)
        failed = sum(1 for m in record.messages if m.get("error"))
        if failed:
            record.metadata["tool_errors"] = failed
        return record

    def _metadata(
        self,
        sample: dict[str, Any],
        ev: dict[str, Any],
        att: dict[str, Any],
        output_obj: Any,
        last_event: dict[str, Any] | None,
        status: Any,
    ) -> dict[str, Any]:
        meta: dict[str, Any] = {}
        for key in ("task", "eval_id", "run_id"):
            if ev.get(key) is not None:
                meta[key] = ev[key]
        if status is not None:
            meta["eval_status"] = status
        meta["sample_id"] = sample.get("id")
        meta["epoch"] = to_int(sample.get("epoch"))
        if "target" in sample:
            meta["target"] = resolve(sample["target"], att)
        if sample.get("choices"):
            meta["choices"] = resolve(sample["choices"], att)
        scores = sample.get("scores")
        if isinstance(scores, dict) and scores:
            meta["scores"] = {
                name: {
                    k: resolve(s.get(k), att)
                    for k in ("value", "answer", "explanation", "metadata")
                    if s.get(k) is not None
                }
                if isinstance(s, dict)
                else s
                for name, s in scores.items()
            }
        meta.update(_response_meta(output_obj, last_event))
        for key in ("uuid", "limit"):
            if sample.get(key):
                meta[key] = sample[key]
        if isinstance(sample.get("metadata"), dict):
            for k, v in resolve(sample["metadata"], att).items():
                meta.setdefault(k, v)
        return meta


def _response_meta(output: Any, event: dict[str, Any] | None) -> dict[str, Any]:
    """The stop reason, response model and provider response id of a model output."""
    meta: dict[str, Any] = {}
    if isinstance(output, dict):
        choices = output.get("choices")
        if (
            isinstance(choices, list)
            and choices
            and isinstance(choices[0], dict)
            and choices[0].get("stop_reason")
        ):
            meta["stop_reason"] = choices[0]["stop_reason"]
        if output.get("model"):
            meta["response_model"] = output["model"]
    call = event.get("call") if event is not None else None
    response = call.get("response") if isinstance(call, dict) else None
    if isinstance(response, dict) and isinstance(response.get("id"), str):
        meta["response_id"] = response["id"]
    return meta


def _error_text(error: Any) -> str | None:
    if not error:
        return None
    if isinstance(error, dict):
        return str(error.get("message") or dumps(error))
    return str(error)


# -- a sample's events as the steps of a trace ---------------------------------------------------

#: span types that are a sub-agent; any other span (solver, scorer, init, ...) is a chain step
_AGENT_SPANS = frozenset({"agent", "handoff", "subtask"})
#: span types that wrap one event of the same type and name (a tool call, a subtask): the span's
#: children hang under that event's step rather than a second step
_EVENT_SPANS = frozenset({"tool", "subtask"})
#: logger levels kept as event steps
_LOGGER_LEVELS = frozenset({"warning", "error", "critical"})
#: keys of an event that a step holds in its own fields (the rest go to its metadata)
_EVENT_KEYS = frozenset(
    {"event", "uuid", "span_id", "timestamp", "working_start", "working_time", "events",
     "pending", "metadata"}
)  # fmt: skip


def _events_data(sample: dict[str, Any]) -> list[Any]:
    """The messages model events point into with `input_refs` (`events_data.messages`)."""
    data = sample.get("events_data")
    messages = data.get("messages") if isinstance(data, dict) else None
    return messages if isinstance(messages, list) else []


def _completion(output: Any, message: Message | None) -> Any:
    """A sample's final output: its completion text, else the text of its output message (the
    whole message when it calls tools)."""
    completion = output.get("completion") if isinstance(output, dict) else None
    if isinstance(completion, str) and completion:
        return completion
    if message is None:
        return None
    return message.get("content") if not message.get("tool_calls") else message


def _as_root(
    record: Record, sample: dict[str, Any], ev: dict[str, Any], att: dict[str, Any]
) -> Record:
    """The sample's record turned into its trace's root step: kind agent, the sample's input and
    final output, its scores in metadata; the model calls are steps of their own (so the root
    carries no messages and no tokens: the sample's `model_usage` stays in metadata)."""
    record.kind = "agent"
    record.trace_id = record.id
    record.name = str(ev.get("task") or "sample")
    record.inputs = resolve(sample.get("input"), att)
    record.outputs = _completion(resolve(sample.get("output"), att), record.output)
    record.messages = []
    record.output = None
    record.input_tokens = record.output_tokens = None
    record.metadata.pop("tool_errors", None)
    for key in ("stop_reason", "response_model", "response_id"):
        record.metadata.pop(key, None)
    if record.model:
        record.metadata["model"] = "/".join(x for x in (record.provider, record.model) if x)
    record.provider = record.model = None
    record.params = {}
    if isinstance(sample.get("model_usage"), dict) and sample["model_usage"]:
        record.metadata["model_usage"] = sample["model_usage"]
    record.error = _error_text(sample.get("error"))
    events = sample.get("events")
    first = next((e for e in events if isinstance(e, dict)), {}) if isinstance(events, list) else {}
    record.timestamp = (
        iso_timestamp(sample.get("started_at"))
        or iso_timestamp(first.get("timestamp"))
        or record.timestamp
    )
    return record


def _ms(seconds: Any) -> float | None:
    value = to_float(seconds)
    return value * 1000.0 if value is not None else None


def _between_ms(start: str | None, end: str | None) -> float | None:
    begin, finish = parse_timestamp(start), parse_timestamp(end)
    if begin is None or finish is None:
        return None
    return round((finish - begin).total_seconds() * 1000.0, 3)


def _rest(event: dict[str, Any], used: Iterable[str], att: dict[str, Any]) -> dict[str, Any]:
    """The event's other fields, for a step's metadata."""
    skip = _EVENT_KEYS.union(used)
    meta = {k: resolve(v, att) for k, v in event.items() if k not in skip and v is not None}
    if isinstance(event.get("metadata"), dict):
        for k, v in event["metadata"].items():
            meta.setdefault(k, resolve(v, att))
    return meta


class SampleTrace:
    """The steps of one sample: model events are LLM calls, tool events tool steps, spans
    (`span_begin`/`span_end`, `subtask`) chain or agent steps with their children; `error`,
    `sample_limit`, `approval`, `sandbox`, `info`, intermediate `score` and warning `logger`
    events are event steps. Events carry the span they ran in (`span_id`); in logs written
    before spans, steps hang under the root (or the tool/subtask event holding them) in order.
    A span with no step under it (init, a solver that only set the system message, a scorer
    whose score is the sample's) is left out: its events are in the sample's raw text."""

    def __init__(
        self,
        root: Record,
        ev: dict[str, Any],
        att: dict[str, Any],
        data: list[Any],
        ctx: ParseContext,
        fmt: str,
    ) -> None:
        self.root = root
        self.ev = ev
        self.att = att
        self.data = data
        self.ctx = ctx
        self.fmt = fmt
        #: span id -> record id of the step its events hang under
        self.spans: dict[str, str] = {}
        self.out: list[Record] = []
        self.prunable: set[str] = set()

    def steps(self, events: list[Any]) -> list[Record]:
        self._walk(events, self.root.id, "")
        children: dict[str, int] = {}
        for step in self.out:
            if step.parent_id:
                children[step.parent_id] = children.get(step.parent_id, 0) + 1
        kept: list[Record] = []
        for step in reversed(self.out):
            if step.id in self.prunable and not children.get(step.id):
                if step.parent_id:
                    children[step.parent_id] -= 1
                continue
            kept.append(step)
        kept.reverse()
        return kept

    def _id(self, event: dict[str, Any], path: str) -> str:
        uuid = event.get("uuid")
        return uuid if isinstance(uuid, str) and uuid else f"{self.root.id}#e{path}"

    def _walk(self, events: list[Any], container: str, prefix: str) -> None:
        items = [(i, e) for i, e in enumerate(events) if isinstance(e, dict)]
        ids = {i: self._id(e, f"{prefix}{i}") for i, e in items}
        aliased: set[int] = set()
        for i, e in items:
            if e.get("event") != "span_begin" or not isinstance(e.get("id"), str):
                continue
            match = (
                self._span_event(e, i, items, aliased) if e.get("type") in _EVENT_SPANS else None
            )
            if match is not None:
                aliased.add(match)
                self.spans[e["id"]] = ids[match]
            else:
                self.spans[e["id"]] = e["id"]
        ends = {
            e["id"]: e
            for _i, e in items
            if e.get("event") == "span_end" and isinstance(e.get("id"), str)
        }
        for i, e in items:
            kind = e.get("event")
            if kind == "span_begin":
                sid = e.get("id")
                if isinstance(sid, str) and self.spans.get(sid) == sid:
                    self._span(e, ends.get(sid), container)
                continue
            parent = self._parent(e.get("span_id"), container)
            step = self._step(kind, e, ids[i], parent)
            if step is None:
                continue
            self.out.append(step)
            nested = e.get("events")
            if isinstance(nested, list) and nested:
                self._walk(nested, step.id, f"{prefix}{i}.")

    def _parent(self, span: Any, container: str) -> str:
        return self.spans.get(span, container) if isinstance(span, str) else container

    @staticmethod
    def _span_event(
        span: dict[str, Any], at: int, items: list[tuple[int, dict[str, Any]]], taken: set[int]
    ) -> int | None:
        """The tool or subtask event a span of that type wraps: same type and name, in the
        span's parent span, the nearest one not taken yet."""
        kind, name, parent = span.get("type"), span.get("name"), span.get("parent_id")
        best: int | None = None
        for i, e in items:
            if i in taken or e.get("event") != kind or e.get("span_id") != parent:
                continue
            if (e.get("function") if kind == "tool" else e.get("name")) != name:
                continue
            if best is None or abs(i - at) < abs(best - at):
                best = i
        return best

    def _new(self, rid: str, event: dict[str, Any], parent: str, kind: str, name: Any) -> Record:
        record = self.ctx.record(self.fmt, source_id=rid, raw=dumps(event))
        record.trace_id = self.root.trace_id
        record.parent_id = parent
        record.kind = kind
        record.name = str(name) if name is not None else None
        record.timestamp = iso_timestamp(event.get("timestamp"))
        record.latency_ms = _ms(event.get("working_time"))
        return record

    def _span(self, begin: dict[str, Any], end: dict[str, Any] | None, container: str) -> None:
        kind = "agent" if begin.get("type") in _AGENT_SPANS else "chain"
        parent = self._parent(begin.get("parent_id"), container)
        step = self._new(begin["id"], begin, parent, kind, begin.get("name") or begin.get("type"))
        if end is not None:
            step.latency_ms = _between_ms(step.timestamp, iso_timestamp(end.get("timestamp")))
        step.metadata = _rest(begin, ("id", "parent_id", "name"), self.att)
        if begin.get("type"):
            step.metadata["span_type"] = step.metadata.pop("type")
        self.out.append(step)
        self.prunable.add(step.id)

    def _step(self, kind: Any, e: dict[str, Any], rid: str, parent: str) -> Record | None:
        if kind == "model":
            return self._model(e, rid, parent)
        if kind == "tool":
            step = self._new(rid, e, parent, "tool", e.get("function"))
            step.inputs = as_json(resolve(e.get("arguments"), self.att))
            step.outputs = as_json(resolve(e.get("result"), self.att))
            step.error = tool_error(e)
            step.metadata = _rest(e, ("function", "arguments", "result", "error"), self.att)
            if "id" in step.metadata:
                step.metadata["tool_call_id"] = step.metadata.pop("id")
            return step
        if kind == "subtask":
            step = self._new(rid, e, parent, "agent", e.get("name"))
            step.inputs = resolve(e.get("input"), self.att)
            step.outputs = resolve(e.get("result"), self.att)
            step.metadata = _rest(e, ("name", "input", "result"), self.att)
            return step
        return self._event(kind, e, rid, parent)

    def _event(self, kind: Any, e: dict[str, Any], rid: str, parent: str) -> Record | None:
        """An event step, for the events a reviewer needs; None for the others (state and store
        changes, sample_init, input, final scores: the sample's raw text keeps them)."""
        if kind == "error":
            step = self._new(rid, e, parent, "event", "error")
            step.error = _error_text(e.get("error")) or "error"
            step.outputs = resolve(e.get("error"), self.att)
            step.metadata = _rest(e, ("error",), self.att)
            return step
        if kind == "sample_limit":
            step = self._new(rid, e, parent, "event", f"{e.get('type') or 'sample'} limit")
            step.error = str(e.get("message") or f"{e.get('type')} limit reached")
            step.inputs = {k: e[k] for k in ("type", "limit") if e.get(k) is not None} or None
            step.metadata = _rest(e, ("type", "limit", "message"), self.att)
            return step
        if kind == "score":
            if not e.get("intermediate"):
                return None  # the sample's final scores are on its root
            step = self._new(rid, e, parent, "event", "score")
            step.outputs = resolve(e.get("score"), self.att)
            step.metadata = _rest(e, ("score",), self.att)
            return step
        if kind == "logger":
            message = e.get("message")
            level = message.get("level") if isinstance(message, dict) else None
            if level not in _LOGGER_LEVELS:
                return None
            step = self._new(rid, e, parent, "event", f"logger {level}")
            step.outputs = resolve(message, self.att)
            step.metadata = _rest(e, ("message",), self.att)
            return step
        if kind in ("info", "approval", "sandbox"):
            name = kind
            if kind == "info" and e.get("source"):
                name = f"info {e['source']}"
            elif kind == "sandbox" and e.get("action"):
                name = f"sandbox {e['action']}"
            step = self._new(rid, e, parent, "event", name)
            if kind == "info":
                step.outputs = resolve(e.get("data"), self.att)
                used: tuple[str, ...] = ("data", "source")
            elif kind == "approval":
                step.inputs = resolve(
                    {"message": e.get("message"), "call": e.get("call")}, self.att
                )
                step.outputs = {
                    k: e[k] for k in ("decision", "explanation", "approver") if e.get(k) is not None
                }
                used = ("message", "call", "decision", "explanation", "approver")
            else:
                step.inputs = {
                    k: resolve(e[k], self.att)
                    for k in ("cmd", "file", "input", "options")
                    if e.get(k) is not None
                } or None
                step.outputs = {
                    k: e[k] for k in ("result", "output") if e.get(k) is not None
                } or None
                step.latency_ms = _between_ms(step.timestamp, iso_timestamp(e.get("completed")))
                used = ("action", "cmd", "file", "input", "options", "result", "output")
            step.metadata = _rest(e, used, self.att)
            return step
        return None

    def _model(self, e: dict[str, Any], rid: str, parent: str) -> Record:
        """A model event as an LLM record (messages, output, tools, tokens, time, error)."""
        step = self._new(rid, e, parent, "llm", None)
        messages = e.get("input")
        if not messages and isinstance(e.get("input_refs"), list):
            messages = []
            for ref in e["input_refs"]:
                if isinstance(ref, list) and len(ref) == 2 and all(isinstance(x, int) for x in ref):
                    messages.extend(self.data[ref[0] : ref[1]])
        step.messages = inspect_messages(resolve(messages or [], self.att))
        output = resolve(e.get("output"), self.att)
        step.output = _output_message(output)
        step.provider, step.model = split_model(e.get("model"))
        step.params = _clean(self.ev.get("model_generate_config"))
        step.params.update(_clean(e.get("config")))
        if e.get("tools"):
            step.params["tools"] = resolve(e["tools"], self.att)
            if e.get("tool_choice") is not None:
                step.params["tool_choice"] = e["tool_choice"]
        if isinstance(output, dict):
            step.input_tokens, step.output_tokens = usage_tokens(output.get("usage"))
            if step.latency_ms is None:
                step.latency_ms = _ms(output.get("time"))
        step.error = _error_text(e.get("error"))
        meta = _response_meta(output, e)
        for key in ("role", "cache", "retries", "completed"):
            if e.get(key) is not None:
                meta[key] = e[key]
        if isinstance(e.get("metadata"), dict):
            meta.update(e["metadata"])
        step.metadata = meta
        return step


#: Keys that mark a line as a log of a call rather than a dataset sample.
_LOG_KEYS = frozenset(
    {
        "messages",
        "output",
        "outputs",
        "response",
        "request",
        "completion",
        "model",
        "usage",
        "events",
        "scores",
        "epoch",
        "choices_made",
        "trace_id",
        "span_id",
        "run_type",
    }
)


class InspectSample(LogFormat):
    """Inspect AI dataset lines: `{"input", "target", "id"?, "choices"?, "metadata"?}` test cases."""

    name = "inspect-dataset"
    detect_keys = frozenset({"target"})

    def detect(self, obj: Any) -> bool:
        if not isinstance(obj, dict) or "input" not in obj or "target" not in obj:
            return False
        inp, target = obj["input"], obj["target"]
        if not isinstance(inp, str | list) or not isinstance(target, str | list):
            return False
        return not any(key in _LOG_KEYS for key in obj)

    def parse(self, obj: dict[str, Any], ctx: ParseContext) -> Iterable[Record]:
        inp = obj["input"]
        if isinstance(inp, list) and not all(isinstance(m, dict) for m in inp):
            raise Rejected("inspect-dataset: 'input' must be a string or a list of chat messages")
        if not inp:
            raise Rejected("inspect-dataset: 'input' is empty")
        record = ctx.record(self.name)
        record.messages = inspect_messages(inp)
        meta: dict[str, Any] = {"target": obj["target"]}
        if obj.get("id") is not None:
            meta["id"] = obj["id"]
        if obj.get("choices") is not None:
            meta["choices"] = obj["choices"]
        for key, value in obj.items():
            if key in ("input", "target", "id", "choices"):
                continue
            if key == "metadata" and isinstance(value, dict):
                for k, v in value.items():
                    meta.setdefault(k, v)
            else:
                meta.setdefault(key, value)
        record.metadata = meta
        yield record


# -- the binary .eval log: a zip archive -------------------------------------------------------

#: zip compression method 93: Zstandard, which Inspect writes since 2025 (Python's zipfile
#: reads it from 3.14 on; before, the `zstandard` package decompresses it here)
_ZIP_ZSTD = 93
_LOCAL_HEADER = struct.Struct("<4s22xHH")


def _zstd_member(path: Path, info: zipfile.ZipInfo) -> IO[bytes]:
    """A streaming reader of a Zstandard-compressed member of the archive at `path`."""
    try:
        import zstandard
    except ImportError:  # pragma: no cover - a dependency; kept for a trimmed install
        raise Rejected(
            "this .eval member is Zstandard-compressed and the zstandard package is not installed"
        ) from None
    fh = open(path, "rb")  # noqa: SIM115  (closed with the reader)
    fh.seek(info.header_offset)
    sig, name_len, extra_len = _LOCAL_HEADER.unpack(fh.read(_LOCAL_HEADER.size))
    if sig != b"PK\x03\x04":
        fh.close()
        raise zipfile.BadZipFile(f"bad local header for {info.filename}")
    fh.seek(info.header_offset + _LOCAL_HEADER.size + name_len + extra_len)
    raw = io.BufferedReader(_Limited(fh, info.compress_size))
    reader: IO[bytes] = zstandard.ZstdDecompressor().stream_reader(
        raw, read_across_frames=True, closefd=True
    )
    return reader


class _Limited(io.RawIOBase):
    """The next `size` bytes of a file, then its end."""

    def __init__(self, inner: IO[bytes], size: int) -> None:
        self.inner = inner
        self.left = size

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if not self.closed:
            self.inner.close()
        super().close()

    def readinto(self, b: Any) -> int:
        n = min(len(b), self.left)
        if n <= 0:
            return 0
        data = self.inner.read(n)
        b[: len(data)] = data
        self.left -= len(data)
        return len(data)


def _read_member(zf: zipfile.ZipFile, path: Path, info: zipfile.ZipInfo, limit: int) -> bytes:
    """A member's bytes, at most `limit` + 1 of them (the caller rejects a longer one)."""
    try:
        stream: IO[bytes] = zf.open(info)
    except NotImplementedError:
        if info.compress_type != _ZIP_ZSTD:
            raise
        stream = _zstd_member(path, info)
    with stream:
        return stream.read(limit + 1)


def iter_eval_archive(path: Path, limit: int) -> Iterator[Item]:
    """The samples of an Inspect `.eval` log, one at a time (never the whole archive in
    memory): each is an item holding `{"eval", "status", "samples": [the sample]}` so it parses
    like a sample of the JSON log, with its text as the raw text. `line` is the sample's place
    in the archive; a member that cannot be read is an item with its error."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        yield Item(1, b"", error=f"not a readable zip archive: {exc}")
        return
    with zf:
        names = {info.filename: info for info in zf.infolist()}
        header: Any = None
        for name in ("header.json", "_journal/start.json"):
            if name in names:
                try:
                    header = orjson.loads(_read_member(zf, path, names[name], limit))
                except (Rejected, zipfile.BadZipFile, orjson.JSONDecodeError, OSError,
                        EOFError, ValueError) as exc:  # fmt: skip
                    yield Item(1, b"", error=f"{name} in the .eval archive cannot be read: {exc}")
                    return
                break
        if not isinstance(header, dict) or not isinstance(header.get("eval"), dict):
            yield Item(
                1,
                b"",
                error="a zip archive that is not an Inspect .eval log (no header.json or "
                "_journal/start.json with an `eval`)",
            )
            return
        wrapper = {"eval": header["eval"], "status": header.get("status") or "started"}
        samples = [
            info
            for info in names.values()
            if info.filename.startswith("samples/") and info.filename.endswith(".json")
        ]
        for number, info in enumerate(samples, start=1):
            try:
                data = _read_member(zf, path, info, limit)
            except Rejected as exc:
                yield Item(number, info.filename.encode(), error=str(exc))
                continue
            except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
                yield Item(
                    number, info.filename.encode(), error=f"{info.filename}: cannot be read: {exc}"
                )
                continue
            if len(data) > limit:
                yield Item(
                    number,
                    data[:KEPT_RAW_BYTES],
                    error=f"{info.filename} is over the limit of {limit:,} bytes",
                    size=info.file_size,
                )
                continue
            try:
                sample = orjson.loads(data)
            except orjson.JSONDecodeError as exc:
                yield Item(
                    number, data[:KEPT_RAW_BYTES], error=f"{info.filename}: malformed JSON: {exc}"
                )
                continue
            yield Item(number, data, obj={**wrapper, "samples": [sample]})
