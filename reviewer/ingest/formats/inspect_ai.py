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

from reviewer.ingest.base import LogFormat, ParseContext, Rejected, dumps, usage_tokens
from reviewer.ingest.reader import KEPT_RAW_BYTES, Item
from reviewer.messages import Message, merge_output, to_messages
from reviewer.records import Record, iso_timestamp, to_float, to_int

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
            yield self._sample(obj, {}, ctx, raw=None)
            return
        ev = obj["eval"]
        samples = obj.get("samples")
        if samples is None:
            return  # a log header written without samples holds no calls
        if not isinstance(samples, list):
            raise Rejected("inspect: 'samples' is not a list")
        for sample in samples:
            if isinstance(sample, dict):
                yield self._sample(sample, ev, ctx, raw=dumps(sample), status=obj.get("status"))

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
        if isinstance(output_obj, dict):
            choices = output_obj.get("choices")
            if (
                isinstance(choices, list)
                and choices
                and isinstance(choices[0], dict)
                and choices[0].get("stop_reason")
            ):
                meta["stop_reason"] = choices[0]["stop_reason"]
            if output_obj.get("model"):
                meta["response_model"] = output_obj["model"]
        if last_event is not None:
            call = last_event.get("call")
            response = call.get("response") if isinstance(call, dict) else None
            if isinstance(response, dict) and isinstance(response.get("id"), str):
                meta["response_id"] = response["id"]
        for key in ("uuid", "limit"):
            if sample.get(key):
                meta[key] = sample[key]
        if isinstance(sample.get("metadata"), dict):
            for k, v in resolve(sample["metadata"], att).items():
                meta.setdefault(k, v)
        return meta


def _error_text(error: Any) -> str | None:
    if not error:
        return None
    if isinstance(error, dict):
        return str(error.get("message") or dumps(error))
    return str(error)


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
