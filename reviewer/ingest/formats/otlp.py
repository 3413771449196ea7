"""OpenTelemetry GenAI data in OTLP/JSON: traces (one record per span: a step of its trace) and
logs (one record per `gen_ai.client.inference.operation.details` event, and an `event` step per
other named event emitted inside a span).

Three generations of attribute names are still written by instrumentations and all are read:
the current semantic conventions (`gen_ai.input.messages` / `gen_ai.output.messages` /
`gen_ai.system_instructions`, JSON text of messages made of `parts`), the legacy flattened
ones (`gen_ai.prompt.N.role`, `gen_ai.completion.N.content`, ... as OpenLLMetry writes them),
and OpenInference (`llm.input_messages.N.message.role`, ...). Older instrumentations put one
event per message on the span (`gen_ai.user.message`, `gen_ai.choice`, ...): read too.
Spans that are not model calls are steps of their trace (`step_kind`): `gen_ai.operation.name`
execute_tool / invoke_agent / create_agent / embeddings, `openinference.span.kind` TOOL /
RETRIEVER / CHAIN / AGENT / EMBEDDING / RERANKER / GUARDRAIL, `traceloop.span.kind`, the Vercel AI
SDK's operations; any other span (an HTTP handler) is a "chain". A step's record id is
`trace:span`, like a model call's, and its parent is the parent span's record.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from reviewer.ingest.base import LogFormat, ParseContext, as_dict, as_json, dumps
from reviewer.ingest.formats import gemini, vercel_ai
from reviewer.ingest.formats.langfuse import decode
from reviewer.messages import Message, make, merge_output, to_messages
from reviewer.records import TIMESTAMP_FORMAT, Record, to_float, to_int

#: gen_ai.operation.name values of a model call (others: embeddings, execute_tool, invoke_agent, ...)
_MODEL_OPERATIONS = frozenset(
    {"chat", "text_completion", "generate_content", "completion", "responses"}
)
#: The log event that carries a whole inference call.
INFERENCE_EVENT = "gen_ai.client.inference.operation.details"
#: Per-message GenAI events (older conventions): part of a model call, not steps of their own.
_MESSAGE_EVENTS = frozenset({"gen_ai.choice", "gen_ai.content.prompt", "gen_ai.content.completion"})
#: OTLP severity numbers from ERROR up
_SEVERITY_ERROR = 17
#: Semantic-convention provider names that mean Google.
_GOOGLE = frozenset(
    {
        "gcp.gemini",
        "gcp.vertex_ai",
        "gcp.gen_ai",
        "gcp.vertex.agent",
        "vertex_ai",
        "vertexai",
        "gemini",
        "google_genai",
        "google",
    }
)
#: gen_ai.request.* attributes whose names do not match the usual parameter names.
_PARAM_NAMES = {"stop_sequences": "stop", "choice.count": "n"}
#: Attribute prefixes and keys turned into record fields (everything else goes to metadata).
_CONSUMED_PREFIXES = (
    "gen_ai.prompt.",
    "gen_ai.completion.",
    "gen_ai.request.",
    "gen_ai.usage.",
    "llm.input_messages.",
    "llm.output_messages.",
    "llm.token_count.",
    "llm.tools.",
    "llm.request.functions.",
)
_CONSUMED_KEYS = frozenset(
    {
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.system_instructions",
        "gen_ai.tool.definitions",
        "gen_ai.prompt",
        "gen_ai.completion",
        "gen_ai.response.model",
        "gen_ai.response.finish_reasons",
        "gen_ai.provider.name",
        "gen_ai.system",
        "gen_ai.conversation.id",
        "llm.model_name",
        "llm.provider",
        "llm.system",
        "llm.invocation_parameters",
        "llm.prompt_template.version",
        "session.id",
        "user.id",
        "enduser.id",
        "input.value",
        "input.mime_type",
        "output.value",
        "output.mime_type",
        "metadata",
        "events",
        "traceloop.association.properties.session_id",
        "traceloop.association.properties.user_id",
        "langfuse.session.id",
        "langfuse.user.id",
        "ai.prompt.messages",
        "ai.response.text",
        "ai.response.toolCalls",
    }
)
_HEX = re.compile(r"[0-9a-fA-F]+")


# -- OTLP/JSON value decoding -------------------------------------------------------------------


def _get(obj: dict[str, Any], *keys: str) -> Any:
    """The first key present: OTLP/JSON is lowerCamelCase, but protobuf field names also occur."""
    for key in keys:
        if key in obj:
            return obj[key]
    return None


def any_value(value: Any) -> Any:
    """An OTLP AnyValue ({stringValue|intValue|doubleValue|boolValue|arrayValue|kvlistValue|bytesValue}) as Python."""
    if not isinstance(value, dict):
        return value
    if None in value.values():  # Phoenix's /spans/otlpv1 writes every field, the unset ones null
        value = {k: v for k, v in value.items() if v is not None}
    for key in ("stringValue", "string_value"):
        if key in value:
            return value[key]
    for key in ("intValue", "int_value"):
        if key in value:
            return exact_int(value[key])
    for key in ("doubleValue", "double_value"):
        if key in value:
            return to_float(value[key])
    for key in ("boolValue", "bool_value"):
        if key in value:
            return bool(value[key])
    for key in ("arrayValue", "array_value"):
        if key in value:
            return [any_value(v) for v in (value[key] or {}).get("values") or []]
    for key in ("kvlistValue", "kvlist_value"):
        if key in value:
            return attributes((value[key] or {}).get("values"))
    for key in ("bytesValue", "bytes_value"):
        if key in value:
            return value[key]
    return None


def attributes(items: Any) -> dict[str, Any]:
    """An OTLP attribute list ([{key, value: AnyValue}]) as a dict."""
    out: dict[str, Any] = {}
    if isinstance(items, list):
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("key"), str):
                out[item["key"]] = any_value(item.get("value"))
    elif isinstance(items, dict):  # some writers emit a plain mapping
        out.update(items)
    return out


def hex_id(value: Any) -> str | None:
    """A trace or span id as lowercase hex (OTLP/JSON writes hex, protobuf's JSON writes base64)."""
    if not isinstance(value, str) or not value:
        return None
    if _HEX.fullmatch(value):
        return None if set(value) == {"0"} else value.lower()
    try:
        return base64.b64decode(value, validate=True).hex() or None
    except (binascii.Error, ValueError):
        return value


def exact_int(value: Any) -> int | None:
    """An int64 that OTLP/JSON writes as a decimal string, without a detour through float."""
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return to_int(value)


def nano_timestamp(value: Any) -> str | None:
    """Epoch nanoseconds (a decimal string in OTLP/JSON) as timestamp text, exact to the microsecond."""
    ns = exact_int(value)
    if not ns:
        return None
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1000)).strftime(
        TIMESTAMP_FORMAT
    )


# -- messages in the three attribute styles -----------------------------------------------------


def _unflatten(attrs: dict[str, Any], prefix: str) -> list[Any]:
    """Indexed flat attributes (`prefix.0.role`, `prefix.0.tool_calls.1.name`) as a list of dicts."""
    root: dict[str, Any] = {}
    cut = len(prefix) + 1
    for key, value in attrs.items():
        if not key.startswith(prefix + "."):
            continue
        *path, leaf = key[cut:].split(".")
        node = root
        for part in path:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {} if child is None else {"_value": child}
            node = child
        if isinstance(node.get(leaf), dict):
            node[leaf]["_value"] = value
        else:
            node[leaf] = value
    listed = _listify(root)
    return listed if isinstance(listed, list) else []


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if node and all(k.isdigit() for k in node):
        return [_listify(node[k]) for k in sorted(node, key=int)]
    return {k: _listify(v) for k, v in node.items()}


def _content(value: Any) -> Any:
    """Flattened message content: text, or JSON text of content blocks written as a string."""
    decoded = as_json(value)
    if (
        isinstance(decoded, list)
        and decoded
        and all(isinstance(p, dict) and "type" in p for p in decoded)
    ):
        return decoded
    if isinstance(decoded, dict) and "type" in decoded:
        return [decoded]
    return value


def _legacy_message(item: dict[str, Any], default_role: str) -> list[Message]:
    """One `gen_ai.prompt.N` / `gen_ai.completion.N` group (OpenLLMetry style)."""
    calls = []
    for call in item.get("tool_calls") or []:
        if isinstance(call, dict):
            fn = as_dict(call.get("function")) or call
            calls.append(
                {
                    "id": call.get("id"),
                    "function": {"name": fn.get("name"), "arguments": fn.get("arguments")},
                }
            )
    msg = {
        "role": item.get("role") or default_role,
        "content": _content(item.get("content")),
        "tool_calls": calls or None,
        "tool_call_id": item.get("tool_call_id"),
        "name": item.get("name"),
    }
    return to_messages(msg, default_role)


def _openinference_message(item: dict[str, Any], default_role: str) -> list[Message]:
    """One `llm.input_messages.N.message` group (OpenInference style)."""
    msg = as_dict(item.get("message")) or item
    content: Any = msg.get("content")
    if content is None and isinstance(msg.get("contents"), list):
        blocks: list[dict[str, Any]] = []
        for entry in msg["contents"]:
            block = as_dict(as_dict(entry).get("message_content", entry))
            if block.get("type") == "image":
                image = as_dict(block.get("image"))
                url = as_dict(image.get("image")).get("url") or image.get("url")
                blocks.append({"type": "image_url", "image_url": {"url": url}})
            elif block.get("text") is not None:
                blocks.append({"type": "text", "text": block["text"]})
        content = blocks
    calls = []
    for entry in msg.get("tool_calls") or []:
        call = as_dict(as_dict(entry).get("tool_call", entry))
        fn = as_dict(call.get("function"))
        calls.append(
            {
                "id": call.get("id"),
                "function": {"name": fn.get("name"), "arguments": fn.get("arguments")},
            }
        )
    out = {
        "role": msg.get("role") or default_role,
        "content": content,
        "tool_calls": calls or None,
        "tool_call_id": msg.get("tool_call_id"),
        "name": msg.get("name"),
    }
    return to_messages(out, default_role)


def _json_messages(value: Any, default_role: str) -> list[Message]:
    """`gen_ai.input.messages`-style attributes: JSON text (or a structured value) of messages."""
    decoded = as_json(value)
    if isinstance(decoded, dict):
        decoded = [decoded]
    if isinstance(decoded, list):
        return to_messages(decoded, default_role)
    if isinstance(decoded, str) and decoded:
        return [make(default_role, decoded)]
    return []


def _system_instructions(value: Any) -> list[Message]:
    decoded = as_json(value)
    if decoded is None or decoded == "" or decoded == []:
        return []
    if isinstance(decoded, list) and all(isinstance(p, dict) and "role" not in p for p in decoded):
        return to_messages({"role": "system", "parts": decoded})
    return _json_messages(decoded, "system")


def _event_body(event: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
    body = any_value(event.get("body")) if "body" in event else None
    if isinstance(body, dict):
        return body
    packed = as_json(attrs.get("gen_ai.event.content"))
    if isinstance(packed, dict):
        return packed
    return attrs


def _from_events(
    events: list[tuple[str, dict[str, Any]]],
) -> tuple[list[Message], Message | None, str | None]:
    """Input messages, output and finish reason from per-message GenAI events.

    Each event is (name, body): `gen_ai.{system,user,assistant,tool}.message` with
    {content, tool_calls, id}; `gen_ai.choice` with {index, finish_reason, message}; and the
    older `gen_ai.content.prompt` / `gen_ai.content.completion` holding JSON messages.
    """
    inputs: list[Message] = []
    choices: list[tuple[int, Message | None, str | None]] = []
    for name, body in events:
        if name.startswith("gen_ai.") and name.endswith(".message"):
            role = name[len("gen_ai.") : -len(".message")]
            msg = {
                "role": body.get("role") or role,
                "content": _content(body.get("content")),
                "tool_calls": body.get("tool_calls"),
                "tool_call_id": body.get("id") if role == "tool" else body.get("tool_call_id"),
            }
            inputs.extend(to_messages(msg, role))
        elif name == "gen_ai.choice":
            message = as_json(body.get("message"))
            if not isinstance(message, dict):
                message = {k: body[k] for k in ("content", "tool_calls", "role") if k in body}
            message = dict(message)
            message["content"] = _content(message.get("content"))
            output = merge_output(to_messages(message, "assistant")) if message else None
            reason = body.get("finish_reason")
            choices.append(
                (
                    to_int(body.get("index")) or 0,
                    output,
                    reason if isinstance(reason, str) else None,
                )
            )
        elif name == "gen_ai.content.prompt":
            inputs.extend(_json_messages(body.get("gen_ai.prompt"), "user"))
        elif name == "gen_ai.content.completion":
            output = merge_output(_json_messages(body.get("gen_ai.completion"), "assistant"))
            choices.append((0, output, None))
    if not choices:
        return inputs, None, None
    _index, output, reason = min(choices, key=lambda c: c[0])
    return inputs, output, reason


def _span_events(span: dict[str, Any], attrs: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The GenAI events of a span: OTLP span events, or the `events` JSON attribute (Pydantic AI)."""
    out: list[tuple[str, dict[str, Any]]] = []
    for event in span.get("events") or []:
        if not isinstance(event, dict) or not isinstance(event.get("name"), str):
            continue
        ev_attrs = attributes(event.get("attributes"))
        out.append((event["name"], _event_body(event, ev_attrs)))
    packed = as_json(attrs.get("events"))
    if isinstance(packed, list):
        for event in packed:
            if isinstance(event, dict) and isinstance(event.get("event.name"), str):
                out.append((event["event.name"], event))
    return out


# -- what a GenAI call is -----------------------------------------------------------------------


def is_model_call(attrs: dict[str, Any]) -> bool:
    """Whether span (or event) attributes describe one call to a model."""
    if vercel_ai.operation(attrs):  # the AI SDK's outer span repeats its inner calls
        return vercel_ai.is_model_call(attrs)
    kind = attrs.get("openinference.span.kind")
    if isinstance(kind, str):
        return kind.upper() == "LLM"
    operation = attrs.get("gen_ai.operation.name")
    if isinstance(operation, str):
        return operation in _MODEL_OPERATIONS
    request_type = attrs.get("llm.request.type")
    if isinstance(request_type, str):
        return request_type in ("chat", "completion")
    return any(
        key in attrs
        for key in (
            "gen_ai.request.model",
            "gen_ai.input.messages",
            "gen_ai.output.messages",
            "gen_ai.prompt.0.role",
            "gen_ai.prompt.0.content",
        )
    )


def _provider(attrs: dict[str, Any]) -> str | None:
    for key in ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system"):
        value = attrs.get(key)
        if isinstance(value, str) and value:
            low = value.lower()
            if low in _GOOGLE:
                return "google"
            if low in ("az.ai.openai", "azure.ai.openai", "az.ai.inference", "azure.ai.inference"):
                return "azure"
            if low in ("aws.bedrock", "bedrock"):
                return "bedrock"
            return low
    return None


def _first(attrs: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = attrs.get(key)
        if value is not None and value != "":
            return value
    return None


def _params(attrs: dict[str, Any]) -> dict[str, Any]:
    """Generation parameters: gen_ai.request.* (bar the model), OpenInference invocation parameters, tools."""
    params: dict[str, Any] = {}
    invocation = as_json(attrs.get("llm.invocation_parameters"))
    if isinstance(invocation, dict):
        params.update({k: v for k, v in invocation.items() if k not in ("model", "messages")})
    for key, value in attrs.items():
        if (
            key.startswith("gen_ai.request.")
            and key != "gen_ai.request.model"
            and value is not None
        ):
            name = key[len("gen_ai.request.") :]
            params[_PARAM_NAMES.get(name, name)] = value
    tools = as_json(attrs.get("gen_ai.tool.definitions"))
    if not tools:
        tools = [
            as_json(t.get("tool", t).get("json_schema")) if isinstance(t, dict) else t
            for t in _unflatten(attrs, "llm.tools")
        ]
    if not tools:
        tools = [
            {k: as_json(v) for k, v in t.items()} if isinstance(t, dict) else t
            for t in _unflatten(attrs, "llm.request.functions")
        ]
    if tools:
        params["tools"] = tools
    return params


def read_call(
    record: Record, attrs: dict[str, Any], events: list[tuple[str, dict[str, Any]]]
) -> None:
    """Fill a record from the attributes of a GenAI span or inference event (any of the three styles)."""
    # input messages
    messages = _system_instructions(attrs.get("gen_ai.system_instructions"))
    if attrs.get("gen_ai.input.messages") is not None:
        messages += _json_messages(attrs["gen_ai.input.messages"], "user")
    elif any(k.startswith("gen_ai.prompt.") for k in attrs):
        for item in _unflatten(attrs, "gen_ai.prompt"):
            if isinstance(item, dict):
                messages += _legacy_message(item, "user")
    elif any(k.startswith("llm.input_messages.") for k in attrs):
        for item in _unflatten(attrs, "llm.input_messages"):
            if isinstance(item, dict):
                messages += _openinference_message(item, "user")
    elif attrs.get("gen_ai.prompt") is not None:
        messages += _json_messages(attrs["gen_ai.prompt"], "user")
    # output
    output: Message | None = None
    reasons: list[str] = []
    if attrs.get("gen_ai.output.messages") is not None:
        outs = as_json(attrs["gen_ai.output.messages"])
        outs = outs if isinstance(outs, list) else [outs]
        reasons = [
            o["finish_reason"]
            for o in outs
            if isinstance(o, dict) and isinstance(o.get("finish_reason"), str)
        ]
        output = merge_output(_json_messages(outs[:1], "assistant"))
    elif any(k.startswith("gen_ai.completion.") for k in attrs):
        items = [i for i in _unflatten(attrs, "gen_ai.completion") if isinstance(i, dict)]
        reasons = [i["finish_reason"] for i in items if isinstance(i.get("finish_reason"), str)]
        output = merge_output(_legacy_message(items[0], "assistant")) if items else None
    elif any(k.startswith("llm.output_messages.") for k in attrs):
        items = [i for i in _unflatten(attrs, "llm.output_messages") if isinstance(i, dict)]
        output = merge_output(_openinference_message(items[0], "assistant")) if items else None
    elif attrs.get("gen_ai.completion") is not None:
        output = merge_output(_json_messages(attrs["gen_ai.completion"], "assistant"))
    if events and not messages and output is None:
        ev_inputs, ev_output, ev_reason = _from_events(events)
        messages, output = messages + ev_inputs, ev_output
        if ev_reason:
            reasons = [ev_reason]
    if not messages and output is None:
        messages, output = _from_values(attrs)
    record.messages = messages
    record.output = output

    # model, provider, tokens
    request_model = _first(attrs, "gen_ai.request.model", "llm.model_name") or as_dict(
        as_json(attrs.get("llm.invocation_parameters"))
    ).get("model")  # a failed OpenInference call has no llm.model_name
    response_model = _first(attrs, "gen_ai.response.model")
    record.model = (
        str(request_model or response_model) if (request_model or response_model) else None
    )
    if response_model and request_model and response_model != request_model:
        record.metadata["response_model"] = response_model
    record.provider = _provider(attrs)
    record.input_tokens = to_int(
        _first(
            attrs,
            "gen_ai.usage.input_tokens",
            "gen_ai.usage.prompt_tokens",
            "llm.token_count.prompt",
        )
    )
    record.output_tokens = to_int(
        _first(
            attrs,
            "gen_ai.usage.output_tokens",
            "gen_ai.usage.completion_tokens",
            "llm.token_count.completion",
        )
    )
    for key in (
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.cache_creation.input_tokens",
        "llm.token_count.total",
        "gen_ai.usage.total_tokens",
    ):
        if attrs.get(key) is not None:
            record.metadata[key] = attrs[key]
    record.params = _params(attrs)

    read_who(record, attrs)
    version = attrs.get("llm.prompt_template.version")
    record.prompt_version = str(version) if version is not None else None
    finish = as_json(attrs.get("gen_ai.response.finish_reasons"))
    if isinstance(finish, list) and finish:
        reasons = [str(r) for r in finish]
    if reasons:
        record.metadata["finish_reason"] = reasons[0]
    _rest_to_metadata(
        record, attrs, lambda k: k in _CONSUMED_KEYS or k.startswith(_CONSUMED_PREFIXES)
    )
    if vercel_ai.operation(attrs):
        vercel_ai.read_ai_sdk(record, attrs)


def read_who(record: Record, attrs: dict[str, Any]) -> None:
    """The session and user a span or event names."""
    session = _first(attrs, *_SESSION_KEYS)
    user = _first(attrs, *_USER_KEYS)
    if session is not None:
        record.session_id = str(session)
    if user is not None:
        record.user_id = str(user)


def _rest_to_metadata(record: Record, attrs: dict[str, Any], used: Callable[[str], bool]) -> None:
    """The attributes not turned into fields, in metadata (the `metadata` attribute's keys first)."""
    meta = as_json(attrs.get("metadata"))
    if isinstance(meta, dict):
        for key, value in meta.items():
            record.metadata.setdefault(key, value)
    for key, value in attrs.items():
        if value is None or key == "metadata" or used(key):
            continue
        record.metadata.setdefault(key, value)


# -- steps that are not model calls ----------------------------------------------------------------

#: gen_ai.operation.name values of steps that are not model calls, as step kinds
_OPERATION_KINDS = {
    "execute_tool": "tool",
    "invoke_agent": "agent",
    "create_agent": "agent",
    "invoke_workflow": "chain",
    "embeddings": "embedding",
    "retrieval": "retriever",
}
#: openinference.span.kind values as step kinds
_OPENINFERENCE_KINDS = {
    "TOOL": "tool",
    "RETRIEVER": "retriever",
    "CHAIN": "chain",
    "AGENT": "agent",
    "EMBEDDING": "embedding",
    "RERANKER": "reranker",
    "GUARDRAIL": "guardrail",
}
#: traceloop.span.kind (OpenLLMetry) values as step kinds
_TRACELOOP_KINDS = {"workflow": "chain", "task": "chain", "agent": "agent", "tool": "tool"}
#: where a step's input and output are, by kind (the first attribute present wins)
_STEP_INPUTS = {
    "tool": ("gen_ai.tool.call.arguments", "input.value", "tool_call.function.arguments"),
    "retriever": ("input.value", "gen_ai.input.messages"),
    "reranker": ("reranker.query", "input.value"),
    "embedding": ("input.value", "gen_ai.input.messages"),
}
_STEP_OUTPUTS = {
    "tool": ("gen_ai.tool.call.result", "output.value"),
    "retriever": ("output.value", "gen_ai.output.messages"),
    "reranker": ("output.value",),
    "embedding": ("output.value",),
}
_DEFAULT_INPUTS = ("gen_ai.input.messages", "input.value", "gen_ai.prompt")
_DEFAULT_OUTPUTS = ("gen_ai.output.messages", "output.value", "gen_ai.completion", "final_result")
#: attributes naming a step, by kind
_STEP_NAMES = {
    "tool": ("gen_ai.tool.name", "tool.name", "tool_call.function.name"),
    "agent": ("gen_ai.agent.name", "agent.name"),
}
#: attributes giving the model of an embedding or reranker step
_STEP_MODELS = ("gen_ai.request.model", "embedding.model_name", "reranker.model_name")
_SESSION_KEYS = (
    "session.id",
    "gen_ai.conversation.id",
    "traceloop.association.properties.session_id",
    "langfuse.session.id",
)
_USER_KEYS = (
    "user.id",
    "enduser.id",
    "traceloop.association.properties.user_id",
    "langfuse.user.id",
)


def step_kind(attrs: dict[str, Any]) -> str:
    """What step a span is: "llm" for a model call, else a kind of `STEP_KINDS` (an unknown span,
    such as an HTTP handler, is a "chain")."""
    if is_model_call(attrs):
        return "llm"
    op = vercel_ai.operation(attrs)
    if op:
        return vercel_ai.step_kind(op)
    kind = attrs.get("openinference.span.kind")
    if isinstance(kind, str):
        return _OPENINFERENCE_KINDS.get(kind.upper(), "chain")
    operation = attrs.get("gen_ai.operation.name")
    if isinstance(operation, str):
        return _OPERATION_KINDS.get(operation, "chain")
    traceloop = attrs.get("traceloop.span.kind")
    if isinstance(traceloop, str):
        return _TRACELOOP_KINDS.get(traceloop.lower(), "chain")
    return "chain"


def _documents(attrs: dict[str, Any], prefix: str) -> list[Any] | None:
    """`retrieval.documents.N.document.{id,content,score,metadata}` as a list of documents."""
    docs = []
    for item in _unflatten(attrs, prefix):
        doc = as_dict(item).get("document", item)
        if isinstance(doc, dict):
            doc = {k: decode(v) if k == "metadata" else v for k, v in doc.items()}
        docs.append(doc)
    return docs or None


def read_step(record: Record, attrs: dict[str, Any], span_name: Any) -> None:
    """Fill a step record (a span that is not a model call) from its attributes: name, inputs and
    outputs (JSON text decoded), the model and tokens of an embedding or reranker; the rest in
    metadata. Token totals of agents and chains stay in metadata: their model calls count them."""
    if vercel_ai.operation(attrs):
        used = vercel_ai.read_step(record, attrs)
    else:
        used = _read_step(record, attrs, span_name)
    read_who(record, attrs)
    skip = used | set(_SESSION_KEYS) | set(_USER_KEYS)
    _rest_to_metadata(record, attrs, skip.__contains__)


def _read_step(record: Record, attrs: dict[str, Any], span_name: Any) -> set[str]:
    kind = record.kind
    used: set[str] = set()

    def first(keys: tuple[str, ...]) -> Any:
        for key in keys:
            if attrs.get(key) is not None and attrs[key] != "":
                used.add(key)
                return attrs[key]
        return None

    name = first(_STEP_NAMES.get(kind, ()))
    record.name = str(name) if name is not None else str(span_name) if span_name else None
    record.inputs = decode(first(_STEP_INPUTS.get(kind, _DEFAULT_INPUTS)))
    prefix = {"retriever": "retrieval.documents", "reranker": "reranker.output_documents"}.get(kind)
    documents = _documents(attrs, prefix) if prefix else None
    if documents is not None:
        used.update(k for k in attrs if k.startswith(prefix + "."))  # type: ignore[operator]
        record.outputs = documents
    else:
        record.outputs = decode(first(_STEP_OUTPUTS.get(kind, _DEFAULT_OUTPUTS)))
    if kind == "embedding":
        texts = [as_dict(e).get("embedding", e) for e in _unflatten(attrs, "embedding.embeddings")]
        texts = [as_dict(t).get("text") for t in texts if as_dict(t).get("text") is not None]
        if texts and record.inputs is None:
            record.inputs = texts
        used.update(k for k in attrs if k.startswith("embedding.embeddings."))
    if kind in ("embedding", "reranker"):  # the step is a model's work: its own model and tokens
        model = first(_STEP_MODELS)
        record.model = str(model) if model is not None else None
        record.provider = _provider(attrs)
        record.input_tokens = to_int(
            first(("gen_ai.usage.input_tokens", "llm.token_count.prompt", "llm.token_count.total"))
        )
    return used


def _from_values(attrs: dict[str, Any]) -> tuple[list[Message], Message | None]:
    """Last resort when no message attributes are set: OpenInference's raw `input.value` / `output.value`."""
    request = as_json(attrs.get("input.value"))
    response = as_json(attrs.get("output.value"))
    adk_request = as_json(attrs.get("gcp.vertex.agent.llm_request"))  # Google ADK's own spans
    if gemini.is_request(adk_request) and not gemini.is_request(request):
        request, response = adk_request, as_json(attrs.get("gcp.vertex.agent.llm_response"))
    if gemini.is_request(request):  # google-genai content: system instruction, parts, tool calls
        return gemini.request_messages(request, {}), gemini.output_message(response)
    messages = (
        to_messages(request.get("messages"))
        if isinstance(request, dict) and isinstance(request.get("messages"), list)
        else []
    )
    output = None
    if (
        isinstance(response, dict)
        and isinstance(response.get("choices"), list)
        and response["choices"]
    ):
        choice = response["choices"][0]
        if isinstance(choice, dict) and isinstance(choice.get("message"), dict):
            output = merge_output(to_messages(choice["message"], "assistant"))
    return messages, output


def _status_error(
    status: Any, attrs: dict[str, Any], events: list[tuple[str, dict[str, Any]]]
) -> str | None:
    """The error text of a failed span: status code 2 (ERROR) with its message."""
    if not isinstance(status, dict):
        return None
    code = status.get("code")
    if code not in (2, "2", "STATUS_CODE_ERROR", "ERROR"):
        return None
    message = status.get("message")
    if isinstance(message, str) and message:
        return message
    for name, body in events:
        if name == "exception" and body.get("exception.message"):
            kind = body.get("exception.type")
            return (
                f"{kind}: {body['exception.message']}" if kind else str(body["exception.message"])
            )
    kind = attrs.get("error.type")
    return str(kind) if kind else "span status ERROR"


def _resource_meta(resource: Any, scope: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if isinstance(resource, dict):
        meta.update(
            {k: v for k, v in attributes(resource.get("attributes")).items() if v is not None}
        )
    if isinstance(scope, dict):
        if scope.get("name"):
            meta["otel.scope.name"] = scope["name"]
        if scope.get("version"):
            meta["otel.scope.version"] = scope["version"]
    return meta


def _walk(
    obj: dict[str, Any], outer: tuple[str, ...], inner: tuple[str, ...], items: tuple[str, ...]
) -> Iterator[tuple[Any, Any, Any, Any]]:
    """(resource entry, scope entry, scope, item) for every span / log record of an export request."""
    for res in _get(obj, *outer) or []:
        if not isinstance(res, dict):
            continue
        for scoped in _get(res, *inner) or []:
            if not isinstance(scoped, dict):
                continue
            scope = _get(scoped, "scope", "instrumentationLibrary", "instrumentation_library")
            for item in _get(scoped, *items) or []:
                if isinstance(item, dict):
                    yield res, scoped, scope, item


def _single(
    outer: str,
    inner: str,
    items: str,
    res: dict[str, Any],
    scoped: dict[str, Any],
    item: dict[str, Any],
) -> str:
    """A one-item export request holding just this span or log record, as the record's raw JSON."""
    scope_entry = {k: v for k, v in scoped.items() if not isinstance(v, list)}
    scope_entry[items] = [item]
    res_entry = {k: v for k, v in res.items() if not isinstance(v, list)}
    res_entry[inner] = [scope_entry]
    return dumps({outer: [res_entry]})


_SPAN_PATH = (
    ("resourceSpans", "resource_spans"),
    ("scopeSpans", "scope_spans", "instrumentationLibrarySpans"),
    ("spans",),
)
_LOG_PATH = (
    ("resourceLogs", "resource_logs"),
    ("scopeLogs", "scope_logs", "instrumentationLibraryLogs"),
    ("logRecords", "log_records"),
)


class OtlpTraces(LogFormat):
    """OTLP/JSON trace export requests: one record per span, a step of its trace: the model calls
    are LLM records, the other spans (tools, agents, retrievers, HTTP handlers...) steps."""

    name = "otlp"
    detect_keys = frozenset({"resourceSpans", "resource_spans"})
    empty_reason = (
        "no messages: the GenAI span carries no message content; turn on content capture in the "
        "instrumentation (OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true)"
    )

    def detect(self, obj: Any) -> bool:
        return isinstance(obj, dict) and isinstance(_get(obj, *_SPAN_PATH[0]), list)

    def parse(self, obj: dict[str, Any], ctx: ParseContext) -> Iterable[Record]:
        for res, scoped, scope, span in _walk(obj, *_SPAN_PATH):
            attrs = attributes(span.get("attributes"))
            raw = _single("resourceSpans", "scopeSpans", "spans", res, scoped, span)
            meta = _resource_meta(res.get("resource"), scope)
            yield span_record(
                self.name,
                ctx,
                raw,
                attrs,
                _span_events(span, attrs),
                trace_id=hex_id(_get(span, "traceId", "trace_id")),
                span_id=hex_id(_get(span, "spanId", "span_id")),
                parent_id=hex_id(_get(span, "parentSpanId", "parent_span_id")),
                name=span.get("name"),
                start_ns=exact_int(_get(span, "startTimeUnixNano", "start_time_unix_nano")),
                end_ns=exact_int(_get(span, "endTimeUnixNano", "end_time_unix_nano")),
                status=span.get("status"),
                meta=meta,
            )


def step_id(trace_id: str | None, span_id: str | None) -> str | None:
    """The record id of a span: its trace and span ids (None without both: a content hash then)."""
    return f"{trace_id}:{span_id}" if trace_id and span_id else None


def span_record(
    fmt: str,
    ctx: ParseContext,
    raw: str | None,
    attrs: dict[str, Any],
    events: list[tuple[str, dict[str, Any]]],
    *,
    trace_id: str | None,
    span_id: str | None,
    parent_id: str | None,
    name: Any,
    start_ns: int | None,
    end_ns: int | None,
    status: Any,
    meta: dict[str, Any],
) -> Record:
    """The record of one span, whatever file it came in (OTLP/JSON or a span dump): an LLM call,
    or a step of another kind (`step_kind`) under its parent span's record."""
    record = ctx.record(fmt, source_id=step_id(trace_id, span_id), raw=raw, trace_id=trace_id)
    record.metadata.update(meta)
    record.kind = step_kind(attrs)
    if record.kind == "llm":
        read_call(record, attrs, events)
    else:
        read_step(record, attrs, name)
    record.parent_id = step_id(trace_id, parent_id)
    record.timestamp = nano_timestamp(start_ns)
    if start_ns and end_ns and end_ns >= start_ns:
        record.latency_ms = (end_ns - start_ns) / 1e6
    record.error = _status_error(status, attrs, events)
    record.metadata["span_id"] = span_id
    record.metadata["span_name"] = name
    if parent_id:
        record.metadata["parent_span_id"] = parent_id
    return record


class OtlpLogs(LogFormat):
    """OTLP/JSON log export requests: one record per `gen_ai.client.inference.operation.details`
    event (it carries the same attributes as a GenAI span); other log records give nothing."""

    name = "otlp-logs"
    detect_keys = frozenset({"resourceLogs", "resource_logs"})
    empty_reason = OtlpTraces.empty_reason

    def detect(self, obj: Any) -> bool:
        return isinstance(obj, dict) and isinstance(_get(obj, *_LOG_PATH[0]), list)

    def parse(self, obj: dict[str, Any], ctx: ParseContext) -> Iterable[Record]:
        for res, scoped, scope, log in _walk(obj, *_LOG_PATH):
            attrs = attributes(log.get("attributes"))
            event_name = _get(log, "eventName", "event_name") or attrs.get("event.name")
            if event_name != INFERENCE_EVENT:
                step = self._event_step(ctx, res, scoped, scope, log, attrs, event_name)
                if step is not None:
                    yield step
                continue
            body = any_value(log.get("body"))
            if isinstance(body, dict):  # some SDKs put the content in the body
                for key, value in body.items():
                    attrs.setdefault(key, value)
            trace_id = hex_id(_get(log, "traceId", "trace_id"))
            span_id = hex_id(_get(log, "spanId", "span_id"))
            raw = _single("resourceLogs", "scopeLogs", "logRecords", res, scoped, log)
            source_id = f"{trace_id}:{span_id}" if trace_id and span_id else None
            record = ctx.record(self.name, source_id=source_id, raw=raw, trace_id=trace_id)
            record.metadata.update(_resource_meta(res.get("resource"), scope))
            read_call(record, attrs, [])
            record.metadata.pop("event.name", None)
            record.timestamp = nano_timestamp(
                _get(log, "timeUnixNano", "time_unix_nano")
            ) or nano_timestamp(_get(log, "observedTimeUnixNano", "observed_time_unix_nano"))
            kind = attrs.get("error.type")
            if kind:
                record.error = str(kind)
            if span_id:
                record.metadata["span_id"] = span_id
            yield record

    def _event_step(
        self,
        ctx: ParseContext,
        res: dict[str, Any],
        scoped: dict[str, Any],
        scope: Any,
        log: dict[str, Any],
        attrs: dict[str, Any],
        event_name: Any,
    ) -> Record | None:
        """A named event emitted inside a span, as an `event` step under that span: its body (or
        its attributes) as outputs. Events without a span, and the per-message GenAI events
        (their content is the model call's), give nothing."""
        trace_id = hex_id(_get(log, "traceId", "trace_id"))
        span_id = hex_id(_get(log, "spanId", "span_id"))
        if not (trace_id and span_id and isinstance(event_name, str) and event_name):
            return None
        if event_name in _MESSAGE_EVENTS or (
            event_name.startswith("gen_ai.") and event_name.endswith(".message")
        ):
            return None
        raw = _single("resourceLogs", "scopeLogs", "logRecords", res, scoped, log)
        record = ctx.record(self.name, raw=raw, trace_id=trace_id)  # no id of its own: a hash
        record.kind, record.name = "event", event_name
        record.parent_id = step_id(trace_id, span_id)
        record.metadata.update(_resource_meta(res.get("resource"), scope))
        read_who(record, attrs)
        fields = {k: v for k, v in attrs.items() if k != "event.name" and v is not None}
        body = any_value(log.get("body")) if "body" in log else None
        record.outputs = decode(body) if body not in (None, "", {}) else fields or None
        if body not in (None, "", {}):
            record.metadata.update(fields)
        record.timestamp = nano_timestamp(
            _get(log, "timeUnixNano", "time_unix_nano")
        ) or nano_timestamp(_get(log, "observedTimeUnixNano", "observed_time_unix_nano"))
        severity = exact_int(_get(log, "severityNumber", "severity_number"))
        text = _get(log, "severityText", "severity_text")
        if text:
            record.metadata["severity"] = text
        if (severity is not None and severity >= _SEVERITY_ERROR) or attrs.get("error.type"):
            record.error = str(
                attrs.get("error.type") or (body if isinstance(body, str) else text) or "ERROR"
            )
        record.metadata["span_id"] = span_id
        return record
