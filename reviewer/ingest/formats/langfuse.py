"""Langfuse: single-trace downloads `{"trace": {...}, "observations": [...]}` (and the public API's
trace object carrying its observations), and observation rows as the public API returns them
(`GET /api/public/observations`: one observation per JSONL line, or a `{"data": [...], "meta": {...}}`
page). One record per GENERATION observation (an LLM call); every other observation (SPAN, AGENT,
TOOL, CHAIN, RETRIEVER, EMBEDDING, EVALUATOR, GUARDRAIL, EVENT) is a step of the trace with its
input and output, and a download's trace object is the trace's root step, whose id is
`langfuse-trace:` and the trace id (so it never clashes with an observation's id). Each record's
parent is its parent observation, or that root for a top-level observation.

Langfuse stores whatever the instrumentation sent, so input and output come in every shape: JSON
inside strings, OpenAI chat messages, Responses items, OTel GenAI events and parts, Vercel AI SDK
prompts and tool calls, LangChain messages, Anthropic and Gemini messages. The helpers here
(`input_messages`, `output_message`, `decode`, `guess_provider`) are shared by the other
observability-export formats.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from typing import Any

import orjson

from reviewer.ingest.base import LogFormat, ParseContext, as_json, dumps, usage_tokens
from reviewer.ingest.formats import gemini
from reviewer.ingest.formats.openai_chat import completion_output
from reviewer.messages import Message, json_text, make, merge_output, to_messages, tool_call
from reviewer.records import Record, feedback_score, iso_timestamp, parse_timestamp, to_float

OBSERVATION_TYPES = frozenset(
    {
        "GENERATION",
        "SPAN",
        "EVENT",
        "AGENT",
        "TOOL",
        "CHAIN",
        "RETRIEVER",
        "EVALUATOR",
        "EMBEDDING",
        "GUARDRAIL",
    }
)

# -- decoding ------------------------------------------------------------------------------------


def decode(value: Any) -> Any:
    """JSON that arrived inside a string, including a JSON string literal ('"text"'); else as is."""
    if not isinstance(value, str):
        return value
    s = value.strip()
    if len(s) >= 2 and s[0] == '"' and s[-1] == '"':
        try:
            return orjson.loads(s)
        except orjson.JSONDecodeError:
            return value
    return as_json(value)


def py_value(value: Any) -> Any:
    """A field that some SDK versions wrote as a Python repr ('None', 'False', "['dev', 'x']")."""
    if not isinstance(value, str):
        return value
    s = value.strip()
    if s in ("None", "null"):
        return None
    if s == "True":
        return True
    if s == "False":
        return False
    if s[:1] in ("[", "{", "(") and s[-1:] in ("]", "}", ")"):
        decoded = as_json(s)
        if not isinstance(decoded, str):
            return decoded
        if len(s) <= 1_000_000:
            try:
                return ast.literal_eval(s)
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                return value
    return value


def meta_dict(value: Any) -> dict[str, Any]:
    """Metadata that may be a dict, JSON text or a Python repr, as a dict (other values are wrapped)."""
    value = py_value(value)
    if value is None or value == "" or value == {}:
        return {}
    if isinstance(value, dict):
        return value
    return {"value": value}


# -- providers -----------------------------------------------------------------------------------

_PROVIDER_ALIASES = {
    "google-gla": "google",
    "google-vertex": "google",
    "google_genai": "google",
    "google-genai": "google",
    "gemini": "google",
    "vertex_ai": "google",
    "vertexai": "google",
    "vertex": "google",
    "gcp": "google",
    "azure_openai": "azure",
    "azure-openai": "azure",
    "aws": "bedrock",
    "aws.bedrock": "bedrock",
    "amazon-bedrock": "bedrock",
    "mistralai": "mistral",
}
# names that say which framework made the span, not which model provider answered
_NOT_PROVIDERS = frozenset(
    {"langchain", "langgraph", "llamaindex", "crewai", "pydantic-ai", "logfire", "unknown"}
)


def norm_provider(value: Any) -> str | None:
    """A provider name in the spelling used across formats: openai, anthropic, google, ..."""
    if not isinstance(value, str) or not value.strip():
        return None
    low = value.strip().lower()
    if low in _PROVIDER_ALIASES:
        return _PROVIDER_ALIASES[low]
    head = low.split(".", 1)[0]  # Vercel AI SDK: "openai.responses", "anthropic.messages"
    head = _PROVIDER_ALIASES.get(head, head)
    return None if head in _NOT_PROVIDERS else head


def guess_provider(model: Any) -> str | None:
    """The provider implied by a well-known model name, for sources that do not say."""
    if not isinstance(model, str):
        return None
    m = model.lower().rsplit("/", 1)[-1]
    if m.startswith(("gpt-", "o1", "o3", "o4", "chatgpt", "text-embedding", "davinci", "babbage")):
        return "openai"
    if m.startswith("claude"):
        return "anthropic"
    if m.startswith(("gemini", "gemma")):
        return "google"
    if m.startswith(("mistral", "mixtral", "codestral")):
        return "mistral"
    return None


# -- input ---------------------------------------------------------------------------------------

_MESSAGE_TYPES = frozenset(
    {
        "message",
        "function_call",
        "function_call_output",
        "reasoning",
        "human",
        "ai",
        "system",
        "tool",
        "chat",
    }
)
#: keys under which instrumentations wrap the conversation, most specific first
_WRAPPER_KEYS = (
    "messages",
    "contents",
    "prompt",
    "input",
    "inputs",
    "prompts",
    "query",
    "question",
)
_SYSTEM_KEYS = (
    "system",
    "instructions",
    "system_instruction",
    "systemInstruction",
    "system_prompt",
)
_NOT_PARAMS = frozenset(
    {
        *_WRAPPER_KEYS,
        *_SYSTEM_KEYS,
        "model",
        "stream",
        "extra_headers",
        "extra_query",
        "extra_body",
        "metadata",
    }
)


def is_message(value: Any) -> bool:
    """A single message object of any of the supported shapes (not a wrapper around messages)."""
    if not isinstance(value, dict):
        return False
    if value.get("lc") == 1 or value.get("type") in _MESSAGE_TYPES:
        return True
    return "role" in value or "parts" in value or ("content" in value and "messages" not in value)


def system_message(value: Any) -> Message:
    """A system prompt given beside the messages: text, Anthropic text blocks, Gemini parts."""
    if isinstance(value, str):
        return make("system", value)
    if isinstance(value, list):
        texts = [
            b
            if isinstance(b, str)
            else json_text(b.get("text", b))
            if isinstance(b, dict)
            else json_text(b)
            for b in value
        ]
        return make("system", "\n".join(texts))
    if isinstance(value, dict):
        if "parts" in value or "content" in value:
            msgs = to_messages({**value, "role": "system"})
            if msgs:
                return msgs[0]
        if isinstance(value.get("text"), str):
            return make("system", value["text"])
    return make("system", json_text(value))


def _is_tool_definition(item: Any) -> bool:
    """LangChain callbacks append the tool definitions to the input as {"role": "tool", "content": {...}}."""
    if not isinstance(item, dict) or item.get("role") != "tool" or item.get("tool_call_id"):
        return False
    content = item.get("content")
    return (
        isinstance(content, dict)
        and content.get("type") == "function"
        and isinstance(content.get("function"), dict)
    )


def _flatten(items: list[Any]) -> Iterable[Any]:
    for item in items:
        if isinstance(item, list):
            yield from _flatten(item)
        else:
            yield decode(item) if isinstance(item, str) and item.strip()[:1] in ("{", "[") else item


def message_list(items: list[Any], params: dict[str, Any]) -> list[Message]:
    """Messages from a list; tool definitions found among them go to params["tools"]."""
    kept: list[Any] = []
    for item in _flatten(items):
        if _is_tool_definition(item):
            params.setdefault("tools", []).append(item["content"])
        elif isinstance(item, dict) and item and not is_message(item):
            # a bare content part, or something else that is not a message: keep its text
            text = item.get("text") if item.get("type") in ("text", "input_text") else None
            kept.append(make("user", text if isinstance(text, str) else json_text(item)))
        elif item is not None:
            kept.append(item)
    return to_messages(kept)


def input_messages(value: Any, params: dict[str, Any]) -> list[Message]:
    """The input conversation from any logged input shape; request parameters found beside the
    messages (tools, temperature, ...) are added to `params`."""
    value = decode(value)
    if value is None or value == "" or value == [] or value == {}:
        return []
    if isinstance(value, list):
        return message_list(value, params)
    if isinstance(value, dict):
        if is_message(value):
            return message_list([value], params)
        if gemini.is_request(value):  # google-genai / ADK: contents, config.system_instruction
            return gemini.request_messages(value, params)
        if _is_call_args(value):  # LlamaIndex: {"args": ["the question"], "kwargs": {...}}
            return _call_args_messages(value, params)
        msgs: list[Message] | None = None
        for key in _WRAPPER_KEYS:
            if value.get(key) is not None:
                msgs = input_messages(value[key], params)
                break
        if msgs is None:
            return [make("user", json_text(value))]
        system = next((value[k] for k in _SYSTEM_KEYS if value.get(k)), None)
        if system is not None and not (msgs and msgs[0]["role"] == "system"):
            msgs.insert(0, system_message(system))
        for key, v in value.items():
            if key not in _NOT_PARAMS and v is not None:
                params.setdefault(key, v)
        return msgs
    return [make("user", value if isinstance(value, str) else json_text(value))]


def _is_call_args(value: dict[str, Any]) -> bool:
    return isinstance(value.get("args"), list) and value.keys() <= {"args", "kwargs"}


def _call_args_messages(value: dict[str, Any], params: dict[str, Any]) -> list[Message]:
    """A wrapped function's positional arguments (the prompt, or the messages) as the input;
    its keyword arguments are the call's parameters unless they hold the messages."""
    kwargs = value.get("kwargs")
    kwargs = kwargs if isinstance(kwargs, dict) else {}
    args = [a for a in value["args"] if a is not None]
    msgs = input_messages(args[0] if len(args) == 1 else args, params) if args else []
    if not msgs and kwargs:
        return input_messages(kwargs, params)
    for key, v in kwargs.items():
        if v is not None:
            params.setdefault(key, v)
    return msgs


# -- output --------------------------------------------------------------------------------------


def _is_vercel_call(item: Any) -> bool:
    return (
        isinstance(item, dict)
        and "toolCallId" in item
        and "toolName" in item
        and "role" not in item
    )


def _vercel_call(item: dict[str, Any]) -> dict[str, Any]:
    args = item.get("input", item.get("args"))
    return tool_call(
        item.get("toolCallId"),
        item.get("toolName"),
        decode(args) if isinstance(args, str) else args,
    )


def output_message(value: Any) -> Message | None:
    """The assistant message from any logged output shape: a message, a list of messages or
    Responses items, a chat.completion, a Responses object, LangChain generations, Gemini
    candidates, Vercel AI SDK tool calls, {"text"|"content"|"output": ...} or plain text."""
    value = decode(value)
    if value is None or value == "" or value == [] or value == {}:
        return None
    if isinstance(value, str):
        return make("assistant", value)
    if isinstance(value, list):
        if all(_is_vercel_call(v) for v in value):
            return make("assistant", "", tool_calls=[_vercel_call(v) for v in value])
        msgs = to_messages(list(_flatten(value)), "assistant")
        answers = [m for m in msgs if m["role"] == "assistant"]
        return merge_output(answers or msgs)
    if not isinstance(value, dict):
        return make("assistant", json_text(value))
    if value.get("object") == "response" and isinstance(value.get("output"), list):
        return merge_output(to_messages(value["output"], "assistant"))
    if isinstance(value.get("choices"), list):
        return completion_output(value)
    gemini_output = gemini.output_message(value)  # response, ADK LlmResponse or Content
    if gemini_output is not None:
        return gemini_output
    if isinstance(value.get("generations"), list):
        gens = value["generations"]
        first = gens[0] if gens else None
        if isinstance(first, list):
            first = first[0] if first else None
        if isinstance(first, dict):
            if first.get("message") is not None:
                return output_message(first["message"])
            if isinstance(first.get("text"), str):
                return make("assistant", first["text"])
        return None
    if isinstance(
        value.get("message"), dict
    ):  # OTel gen_ai.choice event {"index", "message", "finish_reason"}
        return output_message(value["message"])
    if is_message(value):
        msg = merge_output(to_messages(value, "assistant"))
        if (
            msg is not None
            and value.get("role") is None
            and value.get("type") not in ("ai", "human", "system", "tool")
        ):
            msg["role"] = "assistant"
        return msg
    if isinstance(value.get("messages"), list) and value["messages"]:
        return output_message(
            value["messages"][-1]
        )  # a graph's state: the last message is the answer
    calls = value.get("toolCalls") or value.get("tool_calls")
    for key in ("text", "output", "completion", "response", "result", "answer", "generated_text"):
        if value.get(key) is not None:
            msg = output_message(value[key])
            if msg is not None and isinstance(calls, list) and calls and not msg.get("tool_calls"):
                more = [_vercel_call(c) for c in calls if _is_vercel_call(c)]
                if more:
                    msg["tool_calls"] = more
            return msg
    if isinstance(calls, list) and calls and all(_is_vercel_call(c) for c in calls):
        return make("assistant", "", tool_calls=[_vercel_call(c) for c in calls])
    return make("assistant", json_text(value))


def finish_reason(value: Any) -> Any:
    """The finish reason logged inside an output (OTel parts, gen_ai.choice, chat.completion)."""
    value = decode(value)
    if isinstance(value, list) and value and isinstance(value[-1], dict):
        value = value[-1]
    if isinstance(value, dict):
        for key in ("finish_reason", "finishReason", "stop_reason"):
            if value.get(key):
                return value[key]
        choices = value.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            return choices[0].get("finish_reason")
    return None


# -- Langfuse specifics ---------------------------------------------------------------------------

_PROVIDER_ATTRS = (
    "gen_ai.provider.name",
    "gen_ai.system",
    "llm.provider",
    "llm.system",
    "ai.model.provider",
    "langsmith.metadata.ls_provider",
    "ls_provider",
)
_FEEDBACK_WORDS = ("feedback", "thumb")
_FEEDBACK_NAMES = frozenset(
    {"rating", "userrating", "userscore", "helpful", "helpfulness", "like", "vote", "csat"}
)
#: a metadata attribute longer than this is a copy of the input or output (the raw JSON keeps it)
_MAX_ATTRIBUTE_CHARS = 2000
_PAYLOAD_ATTRS = frozenset(
    {
        "input.value", "output.value", "events", "all_messages_events", "final_result", "logfire.json_schema",
        "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions", "gen_ai.prompt", "gen_ai.completion",
        "ai.prompt", "ai.prompt.messages", "ai.prompt.tools", "ai.response.text", "ai.response.toolCalls", "ai.response.object",
    }
)  # fmt: skip
_PAYLOAD_PREFIXES = (
    "llm.input_messages",
    "llm.output_messages",
    "gen_ai.prompt.",
    "gen_ai.completion.",
    "llm.tools",
)


def is_feedback_name(name: Any) -> bool:
    """Whether a score's name says it is user feedback ("user-feedback", "thumbs", "rating", ...)."""
    if not isinstance(name, str):
        return False
    key = name.lower().replace("-", "").replace("_", "").replace(" ", "")
    return any(w in key for w in _FEEDBACK_WORDS) or key in _FEEDBACK_NAMES


def _score_summary(score: dict[str, Any]) -> dict[str, Any]:
    out = {
        k: score.get(k)
        for k in ("name", "value", "stringValue", "dataType", "source", "comment", "observationId")
    }
    if score.get("longStringValue"):
        out["longStringValue"] = score["longStringValue"]
    return {k: v for k, v in out.items() if v is not None and v != ""}


def _score_feedback(score: dict[str, Any]) -> float | None:
    if score.get("dataType") == "CATEGORICAL" or (
        score.get("value") is None and score.get("stringValue")
    ):
        return feedback_score(score.get("stringValue"))
    return feedback_score(score.get("value"))


def _params(raw: Any, provider_hint: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Model parameters without nulls, ids and copies of the response; returns (params, extras for metadata)."""
    params: dict[str, Any] = {}
    extras: dict[str, Any] = {}
    value = meta_dict(raw)
    for key, v in value.items():
        v = decode(v)
        if (
            v is None
            or v == ""
            or v == {}
            or key in ("id", "created_at", "model", "metadata", "billing", "instructions")
        ):
            continue
        if key == "finishReason":
            extras["finish_reason"] = v
            continue
        if key == "system" and isinstance(v, str) and provider_hint and v == provider_hint:
            continue  # the Vercel AI SDK mapping puts gen_ai.system (a provider) here
        if v in ("true", "false"):
            v = v == "true"
        params[key] = v
    return params, extras


def _is_payload_copy(key: str, value: Any) -> bool:
    """OTel attributes that repeat the input or output the record already has (the raw JSON keeps them)."""
    if key in _PAYLOAD_ATTRS or key.startswith(_PAYLOAD_PREFIXES):
        return True
    return isinstance(value, str) and len(value) > _MAX_ATTRIBUTE_CHARS


def _attributes(meta: dict[str, Any]) -> dict[str, Any]:
    attrs = meta.get("attributes")
    if not isinstance(attrs, dict):
        return {}
    return {k: v for k, v in attrs.items() if not _is_payload_copy(k, v)}


def _duration_ms(start: Any, end: Any) -> float | None:
    a = parse_timestamp(iso_timestamp(start))
    b = parse_timestamp(iso_timestamp(end))
    if a is None or b is None:
        return None
    return round((b - a).total_seconds() * 1000.0, 3)


def _trace_info(trace: dict[str, Any]) -> dict[str, Any]:
    """The trace-level fields, read safely even when written as Python reprs."""
    tags = py_value(trace.get("tags"))
    if isinstance(tags, str):
        tags = [tags] if tags else []
    elif isinstance(tags, (list, tuple)):
        tags = [str(t) for t in tags]
    else:
        tags = []
    scores = py_value(trace.get("scores"))
    corrections = py_value(trace.get("corrections"))
    out = {
        "id": py_value(trace.get("id")),
        "name": py_value(trace.get("name")),
        "userId": py_value(trace.get("userId")),
        "sessionId": py_value(trace.get("sessionId")),
        "release": py_value(trace.get("release")),
        "version": py_value(trace.get("version")),
        "environment": py_value(trace.get("environment")),
        "tags": tags,
        "metadata": meta_dict(trace.get("metadata")),
        "scores": [s for s in scores if isinstance(s, dict)] if isinstance(scores, list) else [],
        "corrections": [c for c in corrections if isinstance(c, dict)]
        if isinstance(corrections, list)
        else [],
    }
    return out


def _usage_cost_time(record: Record, obs: dict[str, Any], raw_output: Any) -> None:
    """Tokens, cost, start, latency and error (level ERROR + status message) of an observation."""
    usage = obs.get("usageDetails") or obs.get("usage")
    inp, out = usage_tokens(usage if isinstance(usage, dict) else None)
    if inp is None and out is None:
        inp, out = usage_tokens(
            {
                "input": obs.get("promptTokens", obs.get("inputUsage")),
                "output": obs.get("completionTokens", obs.get("outputUsage")),
            }
        )
    if inp is None and out is None and isinstance(raw_output, dict):
        inp, out = usage_tokens(raw_output.get("usage"))
    record.input_tokens, record.output_tokens = inp, out
    if isinstance(usage, dict):
        details = {
            k: v for k, v in usage.items() if k not in ("input", "output", "total", "unit") and v
        }
        if details:
            record.metadata["usage_details"] = details

    cost = obs.get("costDetails")
    record.cost_usd = (
        to_float(cost.get("total"))
        if isinstance(cost, dict) and cost.get("total") is not None
        else None
    )
    if record.cost_usd is None:
        record.cost_usd = to_float(obs.get("totalCost", obs.get("calculatedTotalCost")))

    record.timestamp = iso_timestamp(obs.get("startTime"))
    latency = to_float(obs.get("latency"))
    record.latency_ms = (
        round(latency * 1000.0, 3)
        if latency is not None
        else _duration_ms(obs.get("startTime"), obs.get("endTime"))
    )
    ttft = to_float(obs.get("timeToFirstToken"))
    if ttft is not None:
        record.metadata["time_to_first_token_ms"] = round(ttft * 1000.0, 3)

    level = obs.get("level")
    status = obs.get("statusMessage")
    if level == "ERROR":
        record.error = status if isinstance(status, str) and status else "ERROR"
    elif status:
        record.metadata["status_message"] = status
    if level and level not in ("DEFAULT", "ERROR"):
        record.metadata["level"] = level


#: the prefix of a trace's root step id: a trace id may equal an observation's id
ROOT_PREFIX = "langfuse-trace:"
#: observation types that are steps, not LLM calls, and the step kind each is
STEP_TYPES = {
    "SPAN": "chain",
    "CHAIN": "chain",
    "AGENT": "agent",
    "TOOL": "tool",
    "RETRIEVER": "retriever",
    "EMBEDDING": "embedding",
    "GUARDRAIL": "guardrail",
    "EVALUATOR": "chain",
    "EVENT": "event",
}
#: span kinds that instrumentations write in a SPAN's attributes, as step kinds
_SPAN_KIND_HINTS = {
    "tool": "tool",
    "execute_tool": "tool",
    "retriever": "retriever",
    "agent": "agent",
    "invoke_agent": "agent",
    "embedding": "embedding",
    "embeddings": "embedding",
    "reranker": "reranker",
    "guardrail": "guardrail",
}


def root_id(trace_id: Any) -> str | None:
    """The record id of a trace's root step (the trace object itself)."""
    return ROOT_PREFIX + str(trace_id) if trace_id is not None and trace_id != "" else None


def json_value(value: Any) -> Any:
    """A logged input or output as a JSON value: JSON text decoded (also when encoded twice),
    a Python repr of a dict or list read as one (LangChain tool inputs); else as logged."""
    value = decode(value)
    if isinstance(value, str) and value.strip()[:1] in ("{", "[", '"'):
        value = decode(value)
    if isinstance(value, str) and value.strip()[:1] in ("{", "[", "("):
        value = py_value(value)
    return value


def _place(record: Record, obs: dict[str, Any], info: dict[str, Any]) -> None:
    """The trace, parent, user and session of an observation's record."""
    record.trace_id = str(obs.get("traceId") or info["id"] or "") or None
    parent = obs.get("parentObservationId")
    record.parent_id = str(parent) if parent else root_id(record.trace_id)
    for attr, key in (("user_id", "userId"), ("session_id", "sessionId")):
        value = info[key]
        if value is not None and value != "":
            setattr(record, attr, str(value))


def _trace_metadata(md: dict[str, Any], info: dict[str, Any], environment: Any = None) -> None:
    if info["tags"]:
        md["tags"] = info["tags"]
    for key in ("release", "version"):
        if info[key]:
            md[key] = info[key]
    env = info["environment"] or environment
    if env and env != "default":
        md["environment"] = env


def _user_metadata(md: dict[str, Any], *sources: dict[str, Any]) -> None:
    """The user's own metadata: keys beside the OTel bookkeeping, the first source winning."""
    for source in sources:
        for key, value in source.items():
            if key not in ("attributes", "resourceAttributes", "scope"):
                md.setdefault(key, value)


def step_kind(obs: dict[str, Any], attrs: dict[str, Any], output: Any) -> str:
    """The step kind of a non-GENERATION observation: its type's, or for a plain SPAN the kind
    its instrumentation wrote (OpenInference, GenAI, LangSmith attributes; a LangChain tool
    message as output); an unknown type is a chain."""
    kind = STEP_TYPES.get(str(obs.get("type")), "chain")
    if obs.get("type") != "SPAN":
        return kind
    for key in ("openinference.span.kind", "gen_ai.operation.name", "langsmith.span.kind"):
        hint = attrs.get(key)
        if isinstance(hint, str) and hint.lower() in _SPAN_KIND_HINTS:
            return _SPAN_KIND_HINTS[hint.lower()]
    if isinstance(output, dict) and output.get("type") == "tool" and output.get("tool_call_id"):
        return "tool"
    return kind


def step_record(
    fmt: str, obs: dict[str, Any], trace: dict[str, Any] | None, ctx: ParseContext, raw: str | None
) -> Record:
    """An observation that is not an LLM call as a step: kind, name, input and output, time,
    error, tokens and cost when given, its parent; the rest in metadata."""
    info = _trace_info(trace if trace is not None else _row_trace(obs))
    meta = meta_dict(obs.get("metadata"))
    attrs = _attributes(meta)
    outputs = json_value(obs.get("output"))
    record = ctx.record(fmt, source_id=str(obs["id"]) if obs.get("id") else None, raw=raw)
    record.kind = step_kind(obs, attrs, outputs)
    record.name = str(obs["name"]) if obs.get("name") else None
    record.inputs = json_value(obs.get("input"))
    record.outputs = outputs
    if obs.get("model"):
        record.model = str(obs["model"])
    _usage_cost_time(record, obs, None)
    _place(record, obs, info)
    md = record.metadata
    md["observation_type"] = obs.get("type")
    if info["name"]:
        md["trace_name"] = info["name"]
    _trace_metadata(md, info, obs.get("environment"))
    params = meta_dict(obs.get("modelParameters"))
    if params:
        md["model_parameters"] = params
    _user_metadata(md, meta)
    if attrs:
        md["attributes"] = attrs
    return record


def root_record(
    fmt: str, trace: dict[str, Any], observations: list[Any], ctx: ParseContext
) -> Record | None:
    """The trace object of a download as the root step of its trace (None without a trace id):
    kind agent when the trace holds an AGENT or TOOL observation, else chain; the trace's input
    and output; its scores and the user's metadata in metadata."""
    info = _trace_info(trace)
    rid = root_id(info["id"])
    if rid is None:
        return None
    own = {k: v for k, v in trace.items() if k != "observations"}
    record = ctx.record(fmt, source_id=rid, raw=dumps(own))
    types = {str(o.get("type")) for o in observations if isinstance(o, dict)}
    record.kind = "agent" if types & {"AGENT", "TOOL"} else "chain"
    record.name = str(info["name"]) if info["name"] else None
    record.trace_id = str(info["id"])
    record.inputs = json_value(trace.get("input"))
    record.outputs = json_value(trace.get("output"))
    record.timestamp = iso_timestamp(py_value(trace.get("timestamp")))
    latency = to_float(py_value(trace.get("latency")))
    record.latency_ms = round(latency * 1000.0, 3) if latency is not None else None
    for attr, key in (("user_id", "userId"), ("session_id", "sessionId")):
        value = info[key]
        if value is not None and value != "":
            setattr(record, attr, str(value))
    md = record.metadata
    md["observation_type"] = "TRACE"
    _trace_metadata(md, info)
    if info["scores"]:
        md["scores"] = [_score_summary(s) for s in info["scores"]]
    if info["corrections"]:
        md["corrections"] = [_score_summary(c) for c in info["corrections"]]
    for key in ("bookmarked", "public"):
        if py_value(trace.get(key)) is True:
            md[key] = True
    trace_meta = info["metadata"]
    _user_metadata(md, trace_meta)
    attrs = _attributes(trace_meta)
    if attrs:
        md["attributes"] = attrs
    return record


def _row_trace(obs: dict[str, Any]) -> dict[str, Any]:
    """The trace fields some observation exports write beside each row."""
    trace_fields = {
        k: obs.get(k) for k in ("tags", "userId", "sessionId", "scores", "release", "environment")
    }
    return {**trace_fields, "name": obs.get("traceName")}


def observation_record(
    fmt: str, obs: dict[str, Any], trace: dict[str, Any] | None, ctx: ParseContext, raw: str | None
) -> Record:
    """One GENERATION observation as a record, with the trace's user, session, tags and scores."""
    # an observation row: some exports add the trace's fields beside it
    info = _trace_info(trace if trace is not None else _row_trace(obs))
    meta = meta_dict(obs.get("metadata"))
    attrs = _attributes(meta)
    model = (
        obs.get("model") or attrs.get("gen_ai.request.model") or attrs.get("gen_ai.response.model")
    )
    provider_raw = next(
        (attrs[k] for k in _PROVIDER_ATTRS if isinstance(attrs.get(k), str)), None
    ) or meta.get("ls_provider")
    provider = norm_provider(provider_raw) or guess_provider(model)

    params, param_extras = _params(obs.get("modelParameters"), provider_raw)
    raw_input = decode(obs.get("input"))
    raw_output = decode(obs.get("output"))
    messages = input_messages(raw_input, params)
    output = output_message(raw_output)

    record = ctx.record(
        fmt,
        source_id=str(obs["id"]) if obs.get("id") else None,
        raw=raw,
        provider=provider,
        model=model,
    )
    record.params = params
    record.messages = messages
    record.output = output
    # a Responses object as output carries the system prompt (instructions) and the usage
    if isinstance(raw_output, dict) and raw_output.get("object") == "response":
        if raw_output.get("instructions") and not (messages and messages[0]["role"] == "system"):
            messages.insert(0, system_message(raw_output["instructions"]))
        if not obs.get("model") and raw_output.get("model"):
            record.model = raw_output["model"]

    _usage_cost_time(record, obs, raw_output)

    if obs.get("promptName"):
        record.prompt_name = str(obs["promptName"])
    if obs.get("promptVersion") is not None:
        record.prompt_version = str(obs["promptVersion"])
    _place(record, obs, info)
    md = record.metadata
    if obs.get("name"):
        md["observation_name"] = obs["name"]
        record.name = str(obs["name"])
    if info["name"]:
        md["trace_name"] = info["name"]
    if obs.get("parentObservationId"):
        md["parent_observation_id"] = obs["parentObservationId"]
    _trace_metadata(md, info, obs.get("environment"))
    reason = (
        param_extras.get("finish_reason")
        or finish_reason(raw_output)
        or attrs.get("ai.response.finishReason")
    )
    if not reason and isinstance(decode(attrs.get("gen_ai.response.finish_reasons")), list):
        reason = next(iter(decode(attrs["gen_ai.response.finish_reasons"])), None)
    if reason:
        md["finish_reason"] = reason
    _user_metadata(md, meta, info["metadata"])  # the observation's first, then the trace's
    # the Vercel AI SDK mapping keeps the request's tool definitions (JSON texts) in metadata
    if isinstance(md.get("tools"), list) and "tools" not in record.params:
        record.params["tools"] = [decode(t) for t in md.pop("tools")]
    if (
        isinstance(raw_input, dict)
        and len(raw_input) == 1
        and raw_input.get("content") in ("role", "user", "assistant", "system")
    ):
        md["malformed_input"] = (
            True  # e.g. the Claude Agent SDK's {"content": "role"}: kept as logged
        )
    if attrs:
        md["attributes"] = attrs
    tools = obs.get("toolDefinitions")
    if tools and "tools" not in record.params:
        record.params["tools"] = tools

    # scores: the trace's own, and those given to this observation
    scores = [s for s in info["scores"] if s.get("observationId") in (None, obs.get("id"))]
    if scores:
        md["scores"] = [_score_summary(s) for s in scores]
        feedback = sorted(
            (s for s in scores if is_feedback_name(s.get("name"))),
            key=lambda s: s.get("observationId") is None,
        )
        if feedback:
            record.feedback_score = _score_feedback(feedback[0])
            comment = feedback[0].get("comment")
            record.feedback_comment = comment if isinstance(comment, str) and comment else None
    if info["corrections"]:
        md["corrections"] = [
            _score_summary(c)
            for c in info["corrections"]
            if c.get("observationId") in (None, obs.get("id"))
        ]
    return record


def _is_observation(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and obj.get("type") in OBSERVATION_TYPES
        and "traceId" in obj
        and "startTime" in obj
        and "id" in obj
    )


def _observation(
    fmt: str, obs: Any, trace: dict[str, Any] | None, ctx: ParseContext, *, whole_line: bool = False
) -> Record | None:
    """An observation as an LLM record (GENERATION) or a step (any other type). A step needs
    an id to be placed in its tree: one without is left out. `whole_line`: the observation is
    the line itself (its raw text is the line's)."""
    if not isinstance(obs, dict):
        return None
    raw = None if whole_line else dumps(obs)
    if obs.get("type") == "GENERATION":
        return observation_record(fmt, obs, trace, ctx, raw)
    if obs.get("id") is None or obs.get("id") == "":
        return None
    return step_record(fmt, obs, trace, ctx, raw)


class LangfuseTrace(LogFormat):
    """A Langfuse trace download {"trace", "observations"}, or an API trace object with its observations."""

    name = "langfuse"
    detect_keys = frozenset({"observations"})

    def detect(self, obj: Any) -> bool:
        if not isinstance(obj, dict):
            return False
        obs = obj.get("observations")
        if not isinstance(obs, list):
            return False
        if isinstance(obj.get("trace"), dict):
            return True
        # GET /api/public/traces/{id}: the trace itself, with full observation objects
        return (
            "id" in obj
            and ("projectId" in obj or "timestamp" in obj)
            and bool(obs)
            and _is_observation(obs[0])
        )

    def parse(self, obj: dict[str, Any], ctx: ParseContext) -> Iterable[Record]:
        trace = obj["trace"] if isinstance(obj.get("trace"), dict) else obj
        observations = obj["observations"]
        root = root_record(self.name, trace, observations, ctx)
        if root is not None:
            yield root
        # the download repeats the observations inside "trace" with input and output left out
        for obs in observations:
            record = _observation(self.name, obs, trace, ctx)
            if record is not None:
                yield record


class LangfuseObservation(LogFormat):
    """Langfuse observation rows (public API / exports); a `{"data": [...], "meta": {...}}` page too."""

    name = "langfuse-observation"
    detect_keys = frozenset({"traceId", "data"})

    def detect(self, obj: Any) -> bool:
        if _is_observation(obj):
            return True
        if (
            isinstance(obj, dict)
            and isinstance(obj.get("data"), list)
            and isinstance(obj.get("meta"), dict)
        ):
            data = obj["data"]
            return bool(data) and _is_observation(data[0])
        return False

    def parse(self, obj: dict[str, Any], ctx: ParseContext) -> Iterable[Record]:
        if _is_observation(obj):
            record = _observation(self.name, obj, None, ctx, whole_line=True)
            if record is not None:
                yield record
            return
        for obs in obj["data"]:
            if _is_observation(obs):
                record = _observation(self.name, obs, None, ctx)
                if record is not None:
                    yield record
