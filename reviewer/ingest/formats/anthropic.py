"""Anthropic Messages API logs: response objects alone, request + response pairs as people log
them, errors logged instead of a response, and Message Batches files (request lines, result
lines, and ellmer's saved batch state)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from reviewer.ingest.base import (
    LogFormat,
    ParseContext,
    Rejected,
    apply_envelope,
    dumps,
    model_params,
    split_pair,
)
from reviewer.messages import merge_output, to_messages
from reviewer.records import Record, iso_timestamp, r_null, to_int

PROVIDER = "anthropic"

#: Request keys that are not generation parameters.
_NOT_PARAMS = ("messages", "model", "system", "metadata")
#: Content block types that only Anthropic writes inside request messages.
_ANTHROPIC_BLOCKS = frozenset(
    {"tool_use", "tool_result", "thinking", "redacted_thinking", "server_tool_use"}
)
#: What a batch result that did not succeed means, when it carries no error of its own.
_RESULT_ERRORS = {
    "canceled": "batch request canceled before it was processed",
    "expired": "batch request expired before it was processed",
    "errored": "batch request errored",
}


def is_message(obj: Any) -> bool:
    """An Anthropic Messages API response object."""
    return (
        isinstance(obj, dict)
        and obj.get("type") == "message"
        and obj.get("role") == "assistant"
        and "content" in obj
    )


def is_error(obj: Any) -> bool:
    """An Anthropic error response: {"type": "error", "error": {"type", "message"}}."""
    return (
        isinstance(obj, dict) and obj.get("type") == "error" and isinstance(obj.get("error"), dict)
    )


def is_request(obj: Any) -> bool:
    """Messages API create() kwargs, told apart from an OpenAI chat request."""
    if not isinstance(obj, dict) or not isinstance(obj.get("messages"), list):
        return False
    if "anthropic_version" in obj:  # Bedrock / Vertex request bodies carry no model
        return True
    model = obj.get("model")
    if not isinstance(model, str):
        return False
    if model.startswith(("claude", "anthropic")) or "system" in obj:
        return True
    for msg in obj["messages"][:8]:
        content = msg.get("content") if isinstance(msg, dict) else None
        if isinstance(content, list):
            for block in content:
                if isinstance(block, dict) and (
                    block.get("type") in _ANTHROPIC_BLOCKS or isinstance(block.get("source"), dict)
                ):
                    return True
    return False


def error_text(error: Any) -> str | None:
    """Readable text of a logged error: a string, {"type","message"}, or the nested error response."""
    error = r_null(error)
    if error is None or error == "":
        return None
    if isinstance(error, str):
        return error
    if isinstance(error, dict):
        inner = r_null(error.get("error"))
        if isinstance(inner, dict | str) and error.get("type") in ("error", None):
            return error_text(inner)  # {"type": "error", "error": {...}}
        message = error.get("message")
        kind = error.get("type")
        if isinstance(message, str) and message:
            return (
                f"{kind}: {message}"
                if isinstance(kind, str) and kind and kind != "error"
                else message
            )
    return dumps(error)


def input_messages(messages: Any) -> list[dict[str, Any]]:
    """Request messages as canonical ones. A user turn that answers tool calls holds its
    tool_result blocks first: they become tool messages placed before the user's own text, so
    the tool answers still follow the assistant's calls."""
    out: list[dict[str, Any]] = []
    for msg in messages if isinstance(messages, list) else []:
        content = msg.get("content") if isinstance(msg, dict) else None
        if isinstance(content, list) and msg.get("role") == "user":
            results = [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]
            if results and len(results) < len(content):
                rest = [
                    b
                    for b in content
                    if not (isinstance(b, dict) and b.get("type") == "tool_result")
                ]
                out.extend(to_messages({"role": "user", "content": results}))
                out.extend(to_messages({**msg, "content": rest}))
                continue
        out.extend(to_messages(msg))
    return out


def system_messages(system: Any) -> list[dict[str, Any]]:
    """The `system` request parameter (a string or text blocks) as one leading system message."""
    system = r_null(system)
    if system is None or system == "" or system == []:
        return []
    return to_messages({"role": "system", "content": system})


def fill_from_request(record: Record, request: dict[str, Any]) -> None:
    """Input messages (system first), model and parameters from Messages create() kwargs."""
    record.messages = system_messages(request.get("system")) + input_messages(
        r_null(request.get("messages"))
    )
    if isinstance(request.get("model"), str):
        record.model = request["model"]
    record.params = model_params(request, _NOT_PARAMS)
    meta = r_null(request.get("metadata"))
    if isinstance(meta, dict):
        if isinstance(meta.get("user_id"), str) and record.user_id is None:
            record.user_id = meta["user_id"]
        for key, value in meta.items():
            if key != "user_id":
                record.metadata.setdefault(key, value)


def fill_from_message(record: Record, message: dict[str, Any]) -> None:
    """Model, output, token counts and stop reason from a Messages API response.

    input_tokens counts the whole prompt: Anthropic reports cache reads and writes apart from
    `input_tokens`, so they are added (as OpenAI's prompt_tokens and OTel GenAI do) and kept
    separately in metadata.
    """
    record.model = record.model or (
        message.get("model") if isinstance(message.get("model"), str) else None
    )
    if isinstance(message.get("model"), str) and message["model"] != record.model:
        record.metadata.setdefault("response_model", message["model"])
    content = r_null(message.get("content"))
    record.output = merge_output(
        to_messages({"role": "assistant", "content": content or []}, "assistant")
    )
    usage = r_null(message.get("usage"))
    if isinstance(usage, dict):
        inp = to_int(usage.get("input_tokens"))
        cache_write = to_int(r_null(usage.get("cache_creation_input_tokens")))
        cache_read = to_int(r_null(usage.get("cache_read_input_tokens")))
        if inp is not None:
            record.input_tokens = inp + (cache_write or 0) + (cache_read or 0)
        record.output_tokens = to_int(usage.get("output_tokens"))
        if cache_write:
            record.metadata.setdefault("cache_creation_input_tokens", cache_write)
        if cache_read:
            record.metadata.setdefault("cache_read_input_tokens", cache_read)
        tier = r_null(usage.get("service_tier"))
        if isinstance(tier, str):
            record.metadata.setdefault("service_tier", tier)
    for key, meta_key in (("stop_reason", "finish_reason"), ("stop_sequence", "stop_sequence")):
        value = r_null(message.get(key))
        if value is not None:
            record.metadata.setdefault(meta_key, value)


def _message_id(message: Any) -> str | None:
    if isinstance(message, dict) and isinstance(message.get("id"), str) and message["id"]:
        return message["id"]
    return None


class AnthropicMessages(LogFormat):
    """Anthropic Messages: responses alone, request+response pairs, logged errors."""

    name = "anthropic"

    def detect(self, obj: Any) -> bool:
        if not isinstance(obj, dict):
            return False
        if is_message(obj):
            return True
        if is_error(obj):
            error = obj["error"]
            return isinstance(error.get("type"), str) and "message" in error
        if (
            "type" in obj or "traceId" in obj
        ):  # typed wrappers of other formats (Langfuse observations, ...)
            return False
        request, response, _rest = split_pair(obj)
        if response is not None:
            return is_message(response) or (
                is_error(response) and (request is None or is_request(request))
            )
        return request is not None and "error" in obj and is_request(request)

    def parse(self, obj: dict[str, Any], ctx: ParseContext) -> Iterable[Record]:
        if is_message(obj):
            record = ctx.record(self.name, source_id=_message_id(obj), provider=PROVIDER)
            fill_from_message(record, obj)
            yield record
            return
        if is_error(obj):
            record = ctx.record(self.name, provider=PROVIDER, error=error_text(obj))
            if isinstance(obj.get("request_id"), str):
                record.metadata["request_id"] = obj["request_id"]
            yield record
            return
        request, response, rest = split_pair(obj)
        if request is None and response is None:
            raise Rejected("neither an Anthropic request nor a response")
        record = ctx.record(
            self.name,
            source_id=_message_id(response) if is_message(response) else None,
            provider=PROVIDER,
        )
        if request is not None:
            fill_from_request(record, request)
        apply_envelope(record, rest, skip=("error",))  # the logger's own time and ids win
        if response is not None and is_message(response):
            fill_from_message(record, response)
        elif response is not None and is_error(response):
            record.error = error_text(response)
            if isinstance(response.get("request_id"), str):
                record.metadata.setdefault("request_id", response["request_id"])
        logged_error = error_text(rest.get("error"))
        if logged_error and record.error is None:
            record.error = logged_error
        yield record


def _is_result_line(obj: dict[str, Any]) -> bool:
    result = obj.get("result")
    return (
        "custom_id" in obj
        and isinstance(result, dict)
        and result.get("type") in ("succeeded", "errored", "canceled", "expired")
    )


def _is_request_line(obj: dict[str, Any]) -> bool:
    params = obj.get("params")
    return (
        "custom_id" in obj
        and isinstance(params, dict)
        and isinstance(params.get("messages"), list)
        and "body" not in obj
    )


def _is_ellmer_state(obj: dict[str, Any]) -> bool:
    batch = obj.get("batch")
    return (
        isinstance(batch, dict)
        and batch.get("type") == "message_batch"
        and isinstance(obj.get("results"), list)
    )


class AnthropicBatch(LogFormat):
    """Anthropic Message Batches: request lines (remembered for joining, no record), result
    lines (one record each, joined with their request by custom_id) and ellmer's batch state
    file (`{"batch": {message_batch}, "results": [result, ...]}`, R nulls written as {})."""

    name = "anthropic-batch"
    detect_keys = frozenset({"custom_id", "batch"})

    def detect(self, obj: Any) -> bool:
        return isinstance(obj, dict) and (
            _is_result_line(obj) or _is_request_line(obj) or _is_ellmer_state(obj)
        )

    def parse(self, obj: dict[str, Any], ctx: ParseContext) -> Iterable[Record]:
        if _is_request_line(obj):
            ctx.remember_batch_request(str(obj["custom_id"]), obj["params"])
            return
        if _is_result_line(obj):
            custom_id = str(obj["custom_id"])
            yield self._result(
                obj["result"], ctx, custom_id=custom_id, request=ctx.batch_requests(custom_id)
            )
            return
        batch = obj["batch"]
        created = iso_timestamp(r_null(batch.get("created_at")))
        for index, result in enumerate(obj["results"]):
            result = r_null(result)
            if not isinstance(result, dict):
                continue
            record = self._result(result, ctx, raw=dumps(result))
            record.timestamp = record.timestamp or created
            if isinstance(batch.get("id"), str):
                record.metadata["batch_id"] = batch["id"]
            record.metadata["batch_index"] = index
            yield record

    def _result(
        self,
        result: dict[str, Any],
        ctx: ParseContext,
        *,
        custom_id: str | None = None,
        request: dict[str, Any] | None = None,
        raw: str | None = None,
    ) -> Record:
        """One record from a batch `result`: the message when it succeeded, else its error."""
        kind = result.get("type")
        message = r_null(result.get("message"))
        record = ctx.record(self.name, source_id=_message_id(message), raw=raw, provider=PROVIDER)
        if request is not None:
            fill_from_request(record, request)
        if kind == "succeeded" and isinstance(message, dict):
            fill_from_message(record, message)
        else:
            fallback = (
                "batch result 'succeeded' holds no message"
                if kind == "succeeded"
                else f"batch result {kind!r}"
            )
            record.error = error_text(result.get("error")) or _RESULT_ERRORS.get(
                str(kind), fallback
            )
        if custom_id is not None:
            record.metadata["custom_id"] = custom_id
        record.metadata["batch_result"] = kind
        return record
