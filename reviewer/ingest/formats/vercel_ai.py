"""The Vercel AI SDK's telemetry spans (`experimental_telemetry`): `ai.generateText`,
`ai.generateText.doGenerate`, `ai.streamText.doStream`, `ai.toolCall`, ...

Every call of the SDK writes an outer span (`ai.generateText`: the whole run, all steps) and one
inner span per request to the provider (`ai.generateText.doGenerate`, `ai.streamText.doStream`).
Only the inner spans are model calls (LLM records); the outer one is the run's `agent` step (its
prompt and answer as inputs/outputs, its token totals only in metadata: the inner calls count
them), `ai.toolCall` a `tool` step (`ai.toolCall.name/id/args/result`), `ai.embed(Many).doEmbed`
an `embedding` step. The attributes are read wherever the spans come from (OTLP/JSON or plain
span dumps):

    ai.operationId                 which span this is
    ai.prompt.messages             JSON text of the request's messages (inner span)
    ai.prompt.tools / .toolChoice  the tool definitions (JSON texts) and the tool choice
    ai.response.text / .toolCalls  the answer; tool calls as JSON [{toolCallId, toolName, input|args}]
    ai.response.finishReason, .id, .model, .msToFirstChunk (streams)
    ai.usage.inputTokens / outputTokens (v5+), ai.usage.promptTokens / completionTokens (before)
    ai.model.id, ai.model.provider ("openai.chat", "anthropic.messages", ...)
    ai.settings.*                  the call settings (temperature, maxOutputTokens, maxRetries, ...)
    ai.telemetry.functionId, ai.telemetry.metadata.*   what the application attached

Newer versions repeat part of this as `gen_ai.*` attributes; those are read by the OTLP reader.
"""

from __future__ import annotations

from typing import Any

from reviewer.ingest.base import as_json
from reviewer.ingest.formats.langfuse import decode, norm_provider, output_message
from reviewer.messages import Message, make, merge_output, to_messages
from reviewer.records import Record, to_float, to_int

#: the operations whose span is one request to a model (the innermost LLM call)
MODEL_CALLS = frozenset(
    {
        "ai.generateText.doGenerate",
        "ai.streamText.doStream",
        "ai.generateObject.doGenerate",
        "ai.streamObject.doStream",
    }
)
#: ai.settings.* names as the usual request parameter names
_SETTINGS = {
    "maxOutputTokens": "max_tokens",
    "maxTokens": "max_tokens",
    "temperature": "temperature",
    "topP": "top_p",
    "topK": "top_k",
    "frequencyPenalty": "frequency_penalty",
    "presencePenalty": "presence_penalty",
    "stopSequences": "stop",
    "seed": "seed",
}
#: attributes turned into record fields: not repeated in metadata (the raw span keeps them)
_CONSUMED = (
    "ai.operationId",
    "ai.prompt",
    "ai.prompt.messages",
    "ai.prompt.tools",
    "ai.prompt.toolChoice",
    "ai.prompt.format",
    "ai.response.text",
    "ai.response.toolCalls",
    "ai.response.object",
    "ai.response.finishReason",
    "ai.response.id",
    "ai.response.model",
    "ai.response.msToFirstChunk",
    "ai.model.id",
    "ai.usage.inputTokens",
    "ai.usage.outputTokens",
    "ai.usage.promptTokens",
    "ai.usage.completionTokens",
    "ai.telemetry.functionId",
    "gen_ai.response.id",
    "operation.name",
    "resource.name",
)


def operation(attrs: dict[str, Any]) -> str | None:
    """The SDK operation of a span (`ai.generateText.doGenerate`, ...), or None for other spans."""
    op = attrs.get("ai.operationId")
    if not isinstance(op, str):  # `operation.name` is the operation id and the function id
        name = attrs.get("operation.name")
        op = name.split(" ", 1)[0] if isinstance(name, str) else None
    return op if isinstance(op, str) and op.startswith("ai.") else None


def is_model_call(attrs: dict[str, Any]) -> bool:
    """Whether an AI SDK span is one request to a model (not the outer run, a tool or an embedding)."""
    return operation(attrs) in MODEL_CALLS


#: the operations that are the SDK's run of one call (all its steps): agent steps
RUNS = frozenset({"ai.generateText", "ai.streamText", "ai.generateObject", "ai.streamObject"})
#: the requests to an embedding model
EMBEDDINGS = frozenset({"ai.embed.doEmbed", "ai.embedMany.doEmbed"})


def step_kind(op: str) -> str:
    """The kind of step of an AI SDK span that is not a model call."""
    if op == "ai.toolCall":
        return "tool"
    if op in RUNS:
        return "agent"
    if op in EMBEDDINGS:
        return "embedding"
    return "chain"


def read_step(record: Record, attrs: dict[str, Any]) -> set[str]:
    """Fill a step record (not a model call) from an AI SDK span; returns the attributes used."""
    op = operation(attrs) or ""
    used = {"ai.operationId", "operation.name", "resource.name"}
    function_id = attrs.get("ai.telemetry.functionId")
    if op == "ai.toolCall":
        record.name = _text(attrs.get("ai.toolCall.name")) or op
        record.inputs = decode(attrs.get("ai.toolCall.args", attrs.get("ai.toolCall.input")))
        record.outputs = decode(attrs.get("ai.toolCall.result", attrs.get("ai.toolCall.output")))
        if attrs.get("ai.toolCall.id") is not None:
            record.metadata["tool_call_id"] = attrs["ai.toolCall.id"]
        used |= {"ai.toolCall.name", "ai.toolCall.id", "ai.toolCall.args", "ai.toolCall.input"}
        used |= {"ai.toolCall.result", "ai.toolCall.output"}
    else:
        record.name = _text(function_id) or op
        record.inputs = decode(
            attrs.get("ai.prompt", attrs.get("ai.value", attrs.get("ai.values")))
        )
        output = attrs.get("ai.response.text")
        if output is None:
            output = decode(attrs.get("ai.response.object"))
        record.outputs = output
        used |= {"ai.prompt", "ai.value", "ai.values", "ai.response.text", "ai.response.object"}
        used |= {"ai.embedding", "ai.embeddings"}  # the vectors: kept in the raw span only
    model = attrs.get("ai.model.id")
    if isinstance(model, str) and model:
        record.model = model
        provider = norm_provider(attrs.get("ai.model.provider"))
        record.provider = provider or record.provider
    if (
        op in EMBEDDINGS
    ):  # the embedding request's own tokens (run and tool totals stay in metadata)
        record.input_tokens = to_int(attrs.get("ai.usage.tokens"))
        used.add("ai.usage.tokens")
    if function_id:
        record.metadata["function_id"] = function_id
        used.add("ai.telemetry.functionId")
    record.metadata["operation"] = op
    _telemetry_metadata(record, attrs, used)
    return used


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _messages(attrs: dict[str, Any]) -> list[Message]:
    prompt = as_json(attrs.get("ai.prompt.messages"))
    if isinstance(prompt, list):
        return to_messages(prompt)
    # the outer span's `ai.prompt`: {"system", "prompt"} or {"system", "messages"}
    outer = as_json(attrs.get("ai.prompt"))
    if isinstance(outer, dict):
        msgs = to_messages(outer.get("messages")) if isinstance(outer.get("messages"), list) else []
        if isinstance(outer.get("prompt"), str):
            msgs.append(make("user", outer["prompt"]))
        if isinstance(outer.get("system"), str) and outer["system"]:
            msgs.insert(0, make("system", outer["system"]))
        return msgs
    if isinstance(outer, str) and outer:
        return [make("user", outer)]
    return []


def _output(attrs: dict[str, Any]) -> Message | None:
    text = attrs.get("ai.response.text")
    if text is None:
        text = attrs.get("ai.response.object")  # generateObject: the JSON text of the object
    calls = decode(attrs.get("ai.response.toolCalls"))
    calls = calls if isinstance(calls, list) and calls else None
    if calls is None:
        return make("assistant", text) if isinstance(text, str) else None
    msg = output_message({"text": text, "toolCalls": calls} if text else calls)
    return merge_output([msg]) if msg is not None else None


def read_ai_sdk(record: Record, attrs: dict[str, Any]) -> None:
    """Fill a record from an AI SDK span's `ai.*` attributes, over what the `gen_ai.*` ones gave."""
    messages = _messages(attrs)
    if messages:
        record.messages = messages
    output = _output(attrs)
    if output is not None:
        record.output = output
    model = attrs.get("ai.model.id")
    if isinstance(model, str) and model and not record.model:
        record.model = model
    response_model = attrs.get("ai.response.model")
    if isinstance(response_model, str) and response_model and response_model != record.model:
        record.metadata["response_model"] = response_model
    logged = attrs.get("ai.model.provider") or record.provider  # "openai.chat", ...
    provider = norm_provider(logged)
    if provider:
        record.provider = provider  # the logged name stays in metadata (ai.model.provider)
    if record.input_tokens is None:
        record.input_tokens = to_int(
            attrs.get("ai.usage.inputTokens", attrs.get("ai.usage.promptTokens"))
        )
    if record.output_tokens is None:
        record.output_tokens = to_int(
            attrs.get("ai.usage.outputTokens", attrs.get("ai.usage.completionTokens"))
        )
    params = record.params
    for key, value in attrs.items():
        if key.startswith("ai.settings.") and value is not None:
            name = key[len("ai.settings.") :]
            if name in _SETTINGS:
                params.setdefault(_SETTINGS[name], value)
                record.metadata.pop(key, None)
    tools = attrs.get("ai.prompt.tools")
    if isinstance(tools, list | str) and tools and "tools" not in params:
        listed = tools if isinstance(tools, list) else [tools]
        params["tools"] = [decode(t) for t in listed]
    choice = decode(attrs.get("ai.prompt.toolChoice"))
    if choice is not None:
        params["tool_choice"] = choice
    reason = attrs.get("ai.response.finishReason")
    if isinstance(reason, str) and reason:
        record.metadata.setdefault("finish_reason", reason)
    response_id = attrs.get("ai.response.id", attrs.get("gen_ai.response.id"))
    if response_id:
        record.metadata["response_id"] = response_id
    ttft = to_float(attrs.get("ai.response.msToFirstChunk"))
    if ttft is not None:
        record.metadata["time_to_first_token_ms"] = ttft
    function_id = attrs.get("ai.telemetry.functionId")
    if function_id:
        record.metadata["function_id"] = function_id
    record.metadata["operation"] = operation(attrs)
    _telemetry_metadata(record, attrs, set())
    for key in _CONSUMED:
        record.metadata.pop(key, None)


def _telemetry_metadata(record: Record, attrs: dict[str, Any], used: set[str]) -> None:
    """What the application attached: telemetry metadata, user and session by the usual names."""
    for key, value in attrs.items():
        if key.startswith("ai.telemetry.metadata.") and value is not None:
            name = key[len("ai.telemetry.metadata.") :]
            record.metadata.pop(key, None)
            used.add(key)
            record.metadata[name] = value
            if name in ("userId", "user_id", "user") and record.user_id is None:
                record.user_id = str(value)
            elif (
                name in ("sessionId", "session_id", "conversationId") and record.session_id is None
            ):
                record.session_id = str(value)
