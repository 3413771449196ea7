"""Amazon Bedrock: Converse API calls as applications log them (request kwargs + response dict,
or the response alone), and the model invocation logs Bedrock itself writes to S3 or CloudWatch
(`{"schemaType": "ModelInvocationLog", "requestId", "modelId", "input": {...}, "output": {...}}`).

An invocation log holds the request and response bodies of the model family called: Converse
(any model), Anthropic Messages (and the older text-completion `prompt`), Meta Llama
(`prompt` / `generation`), Amazon Titan (`inputText` / `results`), Mistral and Cohere text, and
streamed responses (a list of chunks). A body delivered only to S3 (`inputBodyS3Path`) is not
read: the record keeps the path in metadata and imports without content (model, tokens, time).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from reviewer.ingest.base import (
    LogFormat,
    ParseContext,
    apply_envelope,
    as_dict,
    dumps,
    split_pair,
)
from reviewer.ingest.formats import anthropic
from reviewer.ingest.formats.langfuse import decode
from reviewer.messages import Message, json_text, make, merge_output, to_messages
from reviewer.records import Record, iso_timestamp, to_float, to_int

PROVIDER = "bedrock"
LOG_SCHEMA = "ModelInvocationLog"

#: Converse request keys that are not generation parameters.
_NOT_PARAMS = ("modelId", "messages", "system")
#: The keys of Converse content blocks (each block is an object with one of them).
_BLOCK_KEYS = frozenset(
    {
        "text",
        "toolUse",
        "toolResult",
        "image",
        "document",
        "video",
        "reasoningContent",
        "guardContent",
        "cachePoint",
        "citationsContent",
    }
)
#: Invocation log keys kept in metadata under these names.
_LOG_META = {
    "accountId": "account_id",
    "region": "region",
    "operation": "operation",
    "inferenceRegion": "inference_region",
    "modelArn": "model_arn",
    "schemaVersion": "schema_version",
}


# -- Converse content ---------------------------------------------------------------------------


def _source_ref(source: Any, fmt: Any) -> str:
    """Where an image/document/video came from, never its bytes."""
    source = source if isinstance(source, dict) else {}
    s3 = source.get("s3Location")
    if isinstance(s3, dict) and isinstance(s3.get("uri"), str):
        return s3["uri"]
    kind = "bytes" if "bytes" in source else "inline"
    return f"{kind}:{fmt}" if isinstance(fmt, str) and fmt else kind


def anthropic_block(block: Any) -> Any:
    """One Converse content block as the typed block the Anthropic parser reads."""
    if not isinstance(block, dict) or "type" in block:
        return block
    if isinstance(block.get("text"), str):
        return {"type": "text", "text": block["text"]}
    if isinstance(block.get("toolUse"), dict):
        use = block["toolUse"]
        return {
            "type": "tool_use",
            "id": use.get("toolUseId"),
            "name": use.get("name"),
            "input": use.get("input"),
        }
    if isinstance(block.get("toolResult"), dict):
        result = block["toolResult"]
        inner = result.get("content")
        content = [
            {"type": "text", "text": json_text(part["json"])}
            if isinstance(part, dict) and "json" in part
            else anthropic_block(part)
            for part in (inner if isinstance(inner, list) else [])
        ]
        return {"type": "tool_result", "tool_use_id": result.get("toolUseId"), "content": content}
    for kind in ("image", "document", "video"):
        media = block.get(kind)
        if isinstance(media, dict):
            ref = _source_ref(media.get("source"), media.get("format"))
            name = media.get("name")
            url = f"{name} ({ref})" if isinstance(name, str) and name else ref
            return {"type": "image" if kind == "image" else "document", "url": url}
    reasoning = block.get("reasoningContent")
    if isinstance(reasoning, dict):
        text = reasoning.get("reasoningText")
        if isinstance(text, dict):
            return {"type": "thinking", "thinking": text.get("text") or ""}
        return {"type": "redacted_thinking", "thinking": "(redacted reasoning)"}
    guard = block.get("guardContent")
    if isinstance(guard, dict):
        text = guard.get("text")
        return {"type": "text", "text": text.get("text") if isinstance(text, dict) else ""}
    if "cachePoint" in block:
        return None
    return {"type": next(iter(block), "unknown"), "data": json_text(block)}


def _blocks(content: Any) -> Any:
    if not isinstance(content, list):
        return content
    out = [anthropic_block(b) for b in content]
    return [b for b in out if b is not None]


def _failed_tool_results(messages: Any) -> set[str]:
    """toolUseIds of the tool results whose status is "error"."""
    failed: set[str] = set()
    for msg in messages if isinstance(messages, list) else ():
        content = msg.get("content") if isinstance(msg, dict) else None
        for block in content if isinstance(content, list) else ():
            result = block.get("toolResult") if isinstance(block, dict) else None
            if isinstance(result, dict) and result.get("status") == "error":
                failed.add(str(result.get("toolUseId")))
    return failed


def converse_messages(messages: Any, system: Any = None) -> list[Message]:
    """Converse `messages` (and `system` blocks) as canonical messages; a tool result with
    status "error" is marked with an `error` part."""
    converted = [
        {**m, "content": _blocks(m.get("content"))} if isinstance(m, dict) else m
        for m in (messages if isinstance(messages, list) else [])
    ]
    out = anthropic.system_messages(_blocks(system)) + anthropic.input_messages(converted)
    failed = _failed_tool_results(messages)
    for msg in out:
        if msg.get("role") == "tool" and msg.get("tool_call_id") in failed:
            msg["parts"] = [*msg.get("parts", []), {"type": "error", "data": "status: error"}]
    return out


def is_converse_message_list(messages: Any) -> bool:
    """Messages whose content is a list of Converse blocks (untyped objects keyed by kind)."""
    if not isinstance(messages, list) or not messages:
        return False
    for msg in messages[:4]:
        content = msg.get("content") if isinstance(msg, dict) else None
        if not isinstance(content, list) or not content:
            return False
        first = content[0]
        if not isinstance(first, dict) or "type" in first or not (first.keys() & _BLOCK_KEYS):
            return False
    return True


def is_converse_request(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("modelId"), str)
        and is_converse_message_list(obj.get("messages"))
    )


def is_converse_response(obj: Any) -> bool:
    """A Converse response: {"output": {"message"}, "stopReason", "usage", "metrics"}."""
    if not isinstance(obj, dict):
        return False
    output = obj.get("output")
    return (
        isinstance(output, dict)
        and isinstance(output.get("message"), dict)
        and ("stopReason" in obj or "usage" in obj)
    )


def fill_from_converse_request(record: Record, request: dict[str, Any]) -> None:
    record.messages = converse_messages(request.get("messages"), request.get("system"))
    if isinstance(request.get("modelId"), str):
        record.model = request["modelId"]
    record.params = {k: v for k, v in request.items() if k not in _NOT_PARAMS and v is not None}


def fill_from_converse_response(record: Record, response: dict[str, Any]) -> None:
    """Output, tokens, latency and stop reason of a Converse response (ResponseMetadata too)."""
    output = response.get("output")
    message = output.get("message") if isinstance(output, dict) else None
    if isinstance(message, dict):
        record.output = merge_output(
            to_messages({"role": "assistant", "content": _blocks(message.get("content")) or []})
        )
    _converse_usage(record, response.get("usage"))
    metrics = response.get("metrics")
    if isinstance(metrics, dict) and record.latency_ms is None:
        record.latency_ms = to_float(metrics.get("latencyMs"))
    if isinstance(response.get("stopReason"), str):
        record.metadata.setdefault("finish_reason", response["stopReason"])
    meta = response.get("ResponseMetadata")
    if isinstance(meta, dict):
        if isinstance(meta.get("RequestId"), str):
            record.metadata.setdefault("request_id", meta["RequestId"])
        if meta.get("HTTPStatusCode") is not None:
            record.metadata.setdefault("http_status", meta["HTTPStatusCode"])
    for key in ("trace", "performanceConfig", "additionalModelResponseFields"):
        if response.get(key):
            record.metadata.setdefault(key, response[key])


def _converse_usage(record: Record, usage: Any) -> None:
    if not isinstance(usage, dict):
        return
    inp = to_int(usage.get("inputTokens"))
    read = to_int(usage.get("cacheReadInputTokens", usage.get("cacheReadInputTokenCount")))
    write = to_int(usage.get("cacheWriteInputTokens", usage.get("cacheWriteInputTokenCount")))
    if inp is not None and record.input_tokens is None:
        record.input_tokens = inp + (read or 0) + (write or 0)
    if record.output_tokens is None:
        record.output_tokens = to_int(usage.get("outputTokens"))
    if read:
        record.metadata.setdefault("cache_read_input_tokens", read)
    if write:
        record.metadata.setdefault("cache_creation_input_tokens", write)


# -- invocation log bodies ----------------------------------------------------------------------


def _fill_input_body(record: Record, body: Any, operation: str) -> None:
    """Messages and params from the request body of whatever model family was called."""
    if not isinstance(body, dict):
        if isinstance(body, str) and body:
            record.messages = [make("user", body)]
        return
    messages = body.get("messages")
    if operation.startswith("Converse") or is_converse_message_list(messages):
        fill_from_converse_request(record, body)
        return
    if isinstance(messages, list):  # Anthropic Messages, or OpenAI-style chat bodies
        model = record.model
        anthropic.fill_from_request(record, body)
        record.model = model or record.model
        return
    for key in ("prompt", "inputText", "message"):  # Llama/Mistral/Claude text, Titan, Cohere
        if isinstance(body.get(key), str):
            record.messages = [make("user", body[key])]
            record.params = {k: v for k, v in body.items() if k != key and v is not None}
            return
    record.params = dict(body)


def _text_output(text: str, reason: Any, record: Record) -> None:
    record.output = make("assistant", text)
    if isinstance(reason, str) and reason:
        record.metadata.setdefault("finish_reason", reason)


def _fill_output_body(record: Record, body: Any) -> None:
    """Output, tokens and stop reason from the response body (or the chunks of a stream)."""
    if isinstance(body, list):
        _fill_stream(record, body)
        return
    if not isinstance(body, dict):
        return
    if anthropic.is_message(body):
        anthropic.fill_from_message(record, body)
    elif is_converse_response(body):
        fill_from_converse_response(record, body)
    elif isinstance(body.get("generation"), str):  # Meta Llama
        _text_output(body["generation"], body.get("stop_reason"), record)
        record.input_tokens = record.input_tokens or to_int(body.get("prompt_token_count"))
        record.output_tokens = record.output_tokens or to_int(body.get("generation_token_count"))
    elif isinstance(body.get("results"), list) and body["results"]:  # Amazon Titan
        first = body["results"][0] if isinstance(body["results"][0], dict) else {}
        _text_output(str(first.get("outputText") or ""), first.get("completionReason"), record)
        record.input_tokens = record.input_tokens or to_int(body.get("inputTextTokenCount"))
        record.output_tokens = record.output_tokens or to_int(first.get("tokenCount"))
    elif isinstance(body.get("completion"), str):  # Anthropic text completion
        _text_output(body["completion"], body.get("stop_reason"), record)
    elif isinstance(body.get("outputs"), list) and body["outputs"]:  # Mistral
        first = body["outputs"][0] if isinstance(body["outputs"][0], dict) else {}
        _text_output(str(first.get("text") or ""), first.get("stop_reason"), record)
    elif isinstance(body.get("text"), str):  # Cohere Command R
        _text_output(body["text"], body.get("finish_reason"), record)
    elif isinstance(body.get("choices"), list) and body["choices"]:  # OpenAI-style chat
        choice = body["choices"][0] if isinstance(body["choices"][0], dict) else {}
        record.output = merge_output(to_messages(choice.get("message"), "assistant"))
        if choice.get("finish_reason"):
            record.metadata.setdefault("finish_reason", choice["finish_reason"])
    _invocation_metrics(record, body.get("amazon-bedrock-invocationMetrics"))


def _invocation_metrics(record: Record, metrics: Any) -> None:
    if not isinstance(metrics, dict):
        return
    if record.latency_ms is None:
        record.latency_ms = to_float(metrics.get("invocationLatency"))
    first = to_float(metrics.get("firstByteLatency"))
    if first is not None:
        record.metadata.setdefault("time_to_first_token_ms", first)


def _fill_stream(record: Record, chunks: list[Any]) -> None:
    """A streamed response logged as its chunks: texts joined, metrics read."""
    texts: list[str] = []
    reason: Any = None
    for chunk in chunks:
        if not isinstance(chunk, dict):
            continue
        for key in ("outputText", "generation", "completion"):  # Titan, Llama, Claude text
            if isinstance(chunk.get(key), str):
                texts.append(chunk[key])
        delta = chunk.get("delta")
        if chunk.get("type") == "content_block_delta" and isinstance(delta, dict):
            if isinstance(delta.get("text"), str):
                texts.append(delta["text"])
        elif chunk.get("type") == "message_delta" and isinstance(delta, dict):
            reason = delta.get("stop_reason") or reason
        block_delta = chunk.get("contentBlockDelta")  # Converse stream events
        if isinstance(block_delta, dict) and isinstance(block_delta.get("delta"), dict):
            text = block_delta["delta"].get("text")
            if isinstance(text, str):
                texts.append(text)
        stop = chunk.get("messageStop")
        if isinstance(stop, dict):
            reason = stop.get("stopReason") or reason
        meta = chunk.get("metadata")
        if isinstance(meta, dict):
            _converse_usage(record, meta.get("usage"))
            metrics = meta.get("metrics")
            if isinstance(metrics, dict) and record.latency_ms is None:
                record.latency_ms = to_float(metrics.get("latencyMs"))
        reason = chunk.get("completionReason") or chunk.get("stop_reason") or reason
        _invocation_metrics(record, chunk.get("amazon-bedrock-invocationMetrics"))
    if texts or reason:
        _text_output("".join(texts), reason, record)
    record.metadata["streamed_chunks"] = len(chunks)


def is_invocation_log(obj: Any) -> bool:
    return isinstance(obj, dict) and obj.get("schemaType") == LOG_SCHEMA


class Bedrock(LogFormat):
    """Amazon Bedrock: Converse request + response pairs, and model invocation logs."""

    name = "bedrock"

    def detect(self, obj: Any) -> bool:
        if not isinstance(obj, dict):
            return False
        if is_invocation_log(obj) or is_converse_response(obj):
            return True
        if "type" in obj or "traceId" in obj:
            return False
        request, response, _rest = split_pair(obj)
        if response is not None and is_converse_response(response):
            return True
        return response is None and is_converse_request(request)

    def parse(self, obj: dict[str, Any], ctx: ParseContext) -> Iterable[Record]:
        if is_invocation_log(obj):
            yield self._log(obj, ctx)
            return
        request: dict[str, Any] | None
        response: dict[str, Any] | None
        rest: dict[str, Any]
        if is_converse_response(obj):
            request, response, rest = None, obj, {}
        else:
            request, response, rest = split_pair(obj)
        meta = response.get("ResponseMetadata") if isinstance(response, dict) else None
        rid = meta.get("RequestId") if isinstance(meta, dict) else None
        record = ctx.record(
            self.name, source_id=rid if isinstance(rid, str) and rid else None, provider=PROVIDER
        )
        if isinstance(request, dict):
            fill_from_converse_request(record, request)
        apply_envelope(record, rest, skip=("error",))
        if isinstance(response, dict) and is_converse_response(response):
            fill_from_converse_response(record, response)
        error = anthropic.error_text(rest.get("error"))
        if error:
            record.error = error
        yield record

    def _log(self, obj: dict[str, Any], ctx: ParseContext) -> Record:
        rid = obj.get("requestId")
        model = obj.get("modelId")
        record = ctx.record(
            self.name,
            source_id=str(rid) if isinstance(rid, str | int) and rid != "" else None,
            provider=PROVIDER,
            model=model if isinstance(model, str) and model else None,
            timestamp=iso_timestamp(obj.get("timestamp")),
        )
        md = record.metadata
        for key, name in _LOG_META.items():
            if obj.get(key) not in (None, ""):
                md[name] = obj[key]
        identity = obj.get("identity")
        if isinstance(identity, dict) and isinstance(identity.get("arn"), str):
            md["identity_arn"] = identity["arn"]
        request_meta = obj.get("requestMetadata")
        if isinstance(request_meta, dict):
            for key, value in request_meta.items():
                md.setdefault(str(key), value)
        operation = obj["operation"] if isinstance(obj.get("operation"), str) else ""
        inp, out = as_dict(obj.get("input")), as_dict(obj.get("output"))
        for part, prefix in ((inp, "input"), (out, "output")):
            path = part.get(f"{prefix}BodyS3Path")
            if isinstance(path, str) and path:
                md[f"{prefix}_body_s3_path"] = path
            kind = part.get(f"{prefix}ContentType")
            if isinstance(kind, str) and kind and kind != "application/json":
                md[f"{prefix}_content_type"] = kind
        _fill_input_body(record, decode(inp.get("inputBodyJson")), operation)
        _fill_output_body(record, decode(out.get("outputBodyJson")))
        # Bedrock's own counts win over the body's (they are what is billed)
        counted_in = to_int(inp.get("inputTokenCount"))
        if counted_in is not None:
            read = to_int(inp.get("cacheReadInputTokenCount")) or 0
            write = to_int(inp.get("cacheWriteInputTokenCount")) or 0
            record.input_tokens = counted_in + read + write
            if read:
                md["cache_read_input_tokens"] = read
            if write:
                md["cache_creation_input_tokens"] = write
        counted_out = to_int(out.get("outputTokenCount"))
        if counted_out is not None:
            record.output_tokens = counted_out
        code = obj.get("errorCode")
        if code not in (None, ""):
            message = obj.get("errorMessage")
            record.error = (
                f"{code}: {message}"
                if isinstance(message, str) and message
                else (code if isinstance(code, str) else dumps(code))
            )
        return record
