"""Langfuse: single-trace downloads `{"trace": {...}, "observations": [...]}` (and the public API's
trace object carrying its observations), and observation rows as the public API returns them
(`GET /api/public/observations`: one observation per JSONL line, or a `{"data": [...], "meta": {...}}`
page). One record per GENERATION observation; spans, tools, agents and events are not LLM calls.

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


def observation_record(
    fmt: str, obs: dict[str, Any], trace: dict[str, Any] | None, ctx: ParseContext, raw: str | None
) -> Record:
    """One GENERATION observation as a record, with the trace's user, session, tags and scores."""
    if trace is None:  # an observation row: some exports add the trace's fields beside it
        trace_fields = {
            k: obs.get(k)
            for k in ("tags", "userId", "sessionId", "scores", "release", "environment")
        }
        info = _trace_info({**trace_fields, "name": obs.get("traceName")})
    else:
        info = _trace_info(trace)
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

    if obs.get("promptName"):
        record.prompt_name = str(obs["promptName"])
    if obs.get("promptVersion") is not None:
        record.prompt_version = str(obs["promptVersion"])
    record.trace_id = str(obs.get("traceId") or info["id"] or "") or None
    for attr, key in (("user_id", "userId"), ("session_id", "sessionId")):
        value = info[key]
        if value is not None and value != "":
            setattr(record, attr, str(value))

    md = record.metadata
    if obs.get("name"):
        md["observation_name"] = obs["name"]
    if info["name"]:
        md["trace_name"] = info["name"]
    if obs.get("parentObservationId"):
        md["parent_observation_id"] = obs["parentObservationId"]
    if info["tags"]:
        md["tags"] = info["tags"]
    for key in ("release", "version"):
        if info[key]:
            md[key] = info[key]
    env = info["environment"] or obs.get("environment")
    if env and env != "default":
        md["environment"] = env
    reason = (
        param_extras.get("finish_reason")
        or finish_reason(raw_output)
        or attrs.get("ai.response.finishReason")
    )
    if not reason and isinstance(decode(attrs.get("gen_ai.response.finish_reasons")), list):
        reason = next(iter(decode(attrs["gen_ai.response.finish_reasons"])), None)
    if reason:
        md["finish_reason"] = reason
    # the user's own metadata: keys beside the OTel bookkeeping, observation first, then trace
    for source in (meta, info["metadata"]):
        for key, value in source.items():
            if key not in ("attributes", "resourceAttributes", "scope"):
                md.setdefault(key, value)
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
        # the download repeats the observations inside "trace" with input and output left out
        for obs in observations:
            if isinstance(obs, dict) and obs.get("type") == "GENERATION":
                yield observation_record(self.name, obs, trace, ctx, dumps(obs))


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
            if obj.get("type") == "GENERATION":
                yield observation_record(self.name, obj, None, ctx, None)
            return
        for obs in obj["data"]:
            if _is_observation(obs) and obs.get("type") == "GENERATION":
                yield observation_record(self.name, obs, None, ctx, dumps(obs))
