"""One message shape for every source format.

A canonical message is a plain dict (cheap to build, cheap to serialize)::

    {"role": "system" | "user" | "assistant" | "tool",
     "content": "the text",                       # text parts joined
     "tool_calls": [{"id", "name", "arguments"}], # optional; arguments is JSON text
     "tool_call_id": "...",                       # optional, on tool results
     "name": "...",                               # optional (tool or participant name)
     "parts": [{"type": "image", "url": ...}, {"type": "thinking", "text": ...}],  # optional
     "error": "timeout: Command timed out after 30 seconds"}  # optional, on a failed tool result

`to_messages` accepts the message shapes written by the OpenAI Chat Completions and
Responses APIs, Anthropic Messages, OpenTelemetry GenAI (new `parts` and legacy),
LangChain, the Vercel AI SDK and Gemini, and converts them to that shape.
`to_openai` and `to_anthropic` convert back into request shapes.
"""

from __future__ import annotations

from typing import Any

import orjson

Message = dict[str, Any]

_ROLES = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "ai": "assistant",
    "model": "assistant",
    "bot": "assistant",
    "tool": "tool",
    "function": "tool",
    "ipython": "tool",
}

_LANGCHAIN_CLASSES = {
    "HumanMessage": "user",
    "AIMessage": "assistant",
    "AIMessageChunk": "assistant",
    "SystemMessage": "system",
    "ToolMessage": "tool",
    "FunctionMessage": "tool",
    "ChatMessage": "user",
}


def norm_role(role: Any) -> str:
    """Map the many spellings of a role to system, user, assistant or tool."""
    if not isinstance(role, str):
        return "user"
    return _ROLES.get(role.lower(), role.lower())


def json_text(value: Any) -> str:
    """Arguments and tool results as text: strings stay as they are, the rest is JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return str(value)


def tool_call(call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    return {
        "id": call_id if isinstance(call_id, str) else (str(call_id) if call_id else None),
        "name": name if isinstance(name, str) else json_text(name),
        "arguments": json_text(arguments) if arguments is not None else "{}",
    }


def make(
    role: str,
    content: str = "",
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    tool_call_id: str | None = None,
    name: str | None = None,
    parts: list[dict[str, Any]] | None = None,
    error: str | None = None,
) -> Message:
    """Build a canonical message, leaving optional keys out when empty."""
    msg: Message = {"role": role, "content": content}
    if tool_calls:
        msg["tool_calls"] = tool_calls
    if tool_call_id:
        msg["tool_call_id"] = tool_call_id
    if name:
        msg["name"] = name
    if parts:
        msg["parts"] = parts
    if error:
        msg["error"] = error
    return msg


class _Parts:
    """Accumulates the pieces of one message while walking its content parts."""

    __slots__ = ("texts", "calls", "extra", "results")

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.calls: list[dict[str, Any]] = []
        self.extra: list[dict[str, Any]] = []
        # tool results found inside a user message (Anthropic, Vercel): become tool messages
        self.results: list[Message] = []

    def add(self, part: Any) -> None:
        if isinstance(part, str):
            self.texts.append(part)
            return
        if not isinstance(part, dict):
            if part is not None:
                self.texts.append(json_text(part))
            return
        kind = part.get("type")
        if kind in (None, "text", "input_text", "output_text", "text_delta"):
            if kind is None and ("text" not in part or "thought" in part) and self.gemini(part):
                return
            text = part.get("text")
            if text is None:
                text = part.get("content")
            if isinstance(text, dict):  # OpenAI legacy {"text": {"value": ...}}
                text = text.get("value")
            if text is not None:
                self.texts.append(text if isinstance(text, str) else json_text(text))
                return
            if kind is None and part:
                self.texts.append(json_text(part))
            return
        if kind == "refusal":
            self.texts.append(part.get("refusal") or "")
        elif kind in (
            "image_url",
            "input_image",
            "image",
            "image-url",
            "file",
            "input_file",
            "document",
        ):
            url = (
                part.get("image_url") or part.get("url") or part.get("file_id") or part.get("image")
            )
            if isinstance(url, dict):
                url = url.get("url") or url.get("file_id")
            source = part.get("source")
            if url is None and isinstance(source, dict):
                url = (
                    source.get("url")
                    or f"{source.get('type', 'data')}:{source.get('media_type', '')}"
                )
            self.extra.append(
                {
                    "type": "image" if "image" in kind else "file",
                    "url": url if isinstance(url, str) else json_text(url),
                }
            )
        elif (
            kind in ("uri", "blob")
        ):  # OTel GenAI parts: {"type": "uri", "uri"}, {"type": "blob", "mime_type", "content": base64}
            modality = part.get("modality")
            url = part.get("uri") if kind == "uri" else f"data:{part.get('mime_type') or ''}"
            self.extra.append(
                {
                    "type": modality if modality in ("image", "audio", "video") else "file",
                    "url": url if isinstance(url, str) else json_text(url),
                }
            )
        elif kind in ("input_audio", "audio"):
            self.extra.append({"type": "audio", "url": "inline"})
        elif kind in ("thinking", "reasoning", "redacted_thinking"):
            text = part.get("thinking") or part.get("content") or part.get("text") or ""
            if not text and isinstance(part.get("summary"), list):
                text = "\n".join(s.get("text", "") for s in part["summary"] if isinstance(s, dict))
            self.extra.append(
                {"type": "thinking", "text": text if isinstance(text, str) else json_text(text)}
            )
        elif kind in ("tool_use", "tool_call", "tool-call", "function_call", "server_tool_use"):
            args = part.get("input")
            if args is None:
                args = part.get("arguments", part.get("args"))
            self.calls.append(
                tool_call(
                    part.get("id")
                    if kind != "function_call"
                    else (part.get("call_id") or part.get("id")),
                    part.get("name") or part.get("toolName"),
                    args,
                )
            )
            if kind == "tool-call" and part.get("toolCallId"):
                self.calls[-1]["id"] = part["toolCallId"]
        elif kind in (
            "tool_result",
            "tool_call_response",
            "tool-result",
            "function_call_output",
            "tool_search_tool_result",
            "web_search_tool_result",
        ):
            result = part.get("content")
            if kind == "tool_call_response":
                result = part.get("response", result)
            elif kind == "tool-result":
                result = part.get("output", part.get("result", result))
            elif kind == "function_call_output":
                result = part.get("output", result)
            call_id = (
                part.get("tool_use_id")
                or part.get("call_id")
                or part.get("toolCallId")
                or part.get("id")
            )
            if isinstance(result, list):
                inner = _Parts()
                for p in result:
                    inner.add(p)
                text = "\n".join(inner.texts)
            elif (
                isinstance(result, dict)
                and result.get("type") in ("text", "json")
                and "value" in result
            ):
                text = json_text(result["value"])  # Vercel AI SDK {type: "text"|"json", value}
            else:
                text = json_text(result)
            self.results.append(
                make(
                    "tool",
                    text,
                    tool_call_id=call_id,
                    name=part.get("toolName") or part.get("name"),
                    # Anthropic marks a failed tool run with is_error
                    error=(text or "error") if part.get("is_error") is True else None,
                )
            )
        else:
            text = part.get("text") or part.get("content")
            if isinstance(text, str):
                self.texts.append(text)
            else:
                self.extra.append({"type": str(kind), "data": json_text(part)})

    def gemini(self, part: dict[str, Any]) -> bool:
        """A Gemini part (google-genai's snake_case or the REST API's camelCase): thought text,
        function call, function response, inline or file data, code; False for anything else."""
        if part.get("thought") is True and isinstance(part.get("text"), str):
            self.extra.append({"type": "thinking", "text": part["text"]})
            return True
        fc = _either(part, "function_call", "functionCall")
        if isinstance(fc, dict):
            self.calls.append(tool_call(fc.get("id"), fc.get("name"), fc.get("args") or {}))
            return True
        fr = _either(part, "function_response", "functionResponse")
        if isinstance(fr, dict):
            self.results.append(
                make(
                    "tool",
                    json_text(fr.get("response")),
                    name=fr.get("name"),
                    tool_call_id=fr.get("id"),
                )
            )
            return True
        blob = _either(part, "inline_data", "inlineData")
        data = _either(part, "file_data", "fileData")
        if isinstance(blob, dict) or isinstance(data, dict):
            # the bytes stay in the raw record: a message only says what was attached
            info = blob if isinstance(blob, dict) else data
            mime = _either(info, "mime_type", "mimeType")
            mime = mime if isinstance(mime, str) else ""
            kind = mime.split("/", 1)[0]
            url = f"data:{mime}" if isinstance(blob, dict) else _either(info, "file_uri", "fileUri")
            item = {
                "type": kind if kind in ("image", "audio", "video") else "file",
                "url": url if isinstance(url, str) else json_text(url),
            }
            name = _either(info, "display_name", "displayName")
            if isinstance(name, str) and name:
                item["name"] = name
            self.extra.append(item)
            return True
        code = _either(part, "executable_code", "executableCode")
        if isinstance(code, dict):
            self.extra.append({"type": "executable_code", "data": json_text(code.get("code"))})
            return True
        result = _either(part, "code_execution_result", "codeExecutionResult")
        if isinstance(result, dict):
            self.extra.append(
                {"type": "code_execution_result", "data": json_text(result.get("output"))}
            )
            return True
        return False


def _either(obj: dict[str, Any], snake: str, camel: str) -> Any:
    value = obj.get(snake)
    return obj.get(camel) if value is None else value


def _content_parts(content: Any, acc: _Parts) -> None:
    if content is None:
        return
    if isinstance(content, str):
        acc.texts.append(content)
    elif isinstance(content, list):
        for part in content:
            acc.add(part)
    else:
        acc.add(content)


def _openai_tool_calls(calls: Any, acc: _Parts) -> None:
    if not isinstance(calls, list):
        return
    for call in calls:
        if not isinstance(call, dict):
            continue
        fn = call.get("function")
        if isinstance(fn, dict):
            acc.calls.append(tool_call(call.get("id"), fn.get("name"), fn.get("arguments")))
        else:  # LangChain {"name", "args", "id"} and similar
            args = call.get("args", call.get("arguments", call.get("input")))
            acc.calls.append(tool_call(call.get("id"), call.get("name"), args))


def to_messages(value: Any, default_role: str = "user") -> list[Message]:
    """Convert one message, a list of them, or a bare string into canonical messages."""
    if value is None:
        return []
    if isinstance(value, str):
        return [make(default_role, value)]
    if isinstance(value, list):
        out: list[Message] = []
        for item in value:
            out.extend(to_messages(item, default_role))
        return out
    if not isinstance(value, dict):
        return [make(default_role, json_text(value))]
    return _one(value, default_role)


_PLAIN_KEYS = frozenset(("role", "content", "name"))


def _one(msg: dict[str, Any], default_role: str) -> list[Message]:
    # fast path: the plain {"role", "content": str} message most logs are made of
    content = msg.get("content")
    if isinstance(content, str) and msg.keys() <= _PLAIN_KEYS:
        role = msg.get("role")
        if isinstance(role, str) and role in _ROLES:
            plain: Message = {"role": _ROLES[role], "content": content}
            if isinstance(msg.get("name"), str) and msg["name"]:
                plain["name"] = msg["name"]
            return [plain]
    # LangChain serialized form {"lc": 1, "type": "constructor", "id": [..., "HumanMessage"], "kwargs": {...}}
    if msg.get("lc") == 1 and isinstance(msg.get("kwargs"), dict):
        cls = msg.get("id", [""])[-1] if isinstance(msg.get("id"), list) else ""
        inner = dict(msg["kwargs"])
        inner.setdefault("role", _LANGCHAIN_CLASSES.get(cls, inner.get("type", default_role)))
        return _one(inner, default_role)
    kind = msg.get("type")
    # Responses API items that are not messages
    if kind == "function_call":
        return [
            make(
                "assistant",
                "",
                tool_calls=[
                    tool_call(
                        msg.get("call_id") or msg.get("id"), msg.get("name"), msg.get("arguments")
                    )
                ],
            )
        ]
    if kind == "function_call_output":
        return [make("tool", json_text(msg.get("output")), tool_call_id=msg.get("call_id"))]
    if kind == "reasoning":
        acc = _Parts()
        acc.add(msg)
        return [make("assistant", "", parts=acc.extra)]
    role_value = msg.get("role")
    if role_value is None and kind in ("human", "ai", "system", "tool", "function", "chat"):
        role_value = kind  # LangChain message dicts
    if (
        role_value is None
        and isinstance(msg.get("content"), str)
        and msg.get("content") in _ROLES
        and len(msg) == 1
    ):
        role_value = (
            default_role  # malformed {"content": "role"} seen in some exports: keep text as is
        )
    role = norm_role(role_value) if role_value is not None else default_role
    acc = _Parts()
    if "parts" in msg and "content" not in msg:  # OTel GenAI new format, Gemini
        _content_parts(msg.get("parts"), acc)
    else:
        _content_parts(msg.get("content"), acc)
    _openai_tool_calls(msg.get("tool_calls"), acc)
    lc_extra = msg.get("additional_kwargs")
    if not acc.calls and isinstance(
        lc_extra, dict
    ):  # LangChain keeps the provider's tool calls here
        _openai_tool_calls(lc_extra.get("tool_calls"), acc)
    fc = msg.get("function_call")
    if isinstance(fc, dict):
        acc.calls.append(tool_call(None, fc.get("name"), fc.get("arguments")))
    if msg.get("refusal") and not acc.texts:
        acc.texts.append(msg["refusal"])
    name = msg.get("name") if isinstance(msg.get("name"), str) else None
    call_id = msg.get("tool_call_id") or msg.get("toolCallId")
    out: list[Message] = []
    if role == "tool" and acc.results and not acc.texts:
        return acc.results
    if acc.texts or acc.calls or acc.extra or not acc.results:
        out.append(
            make(
                role,
                "\n".join(acc.texts),
                tool_calls=acc.calls or None,
                tool_call_id=call_id,
                name=name,
                parts=acc.extra or None,
            )
        )
    out.extend(acc.results)
    return out


def last_user_text(messages: list[Message]) -> str:
    """The text of the last user message ("" when there is none)."""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else ""
    return ""


def text_of(messages: list[Message]) -> str:
    """All text of some messages, for search and hashing."""
    return "\n".join(m.get("content", "") for m in messages)


def merge_output(messages: list[Message]) -> Message | None:
    """Several assistant pieces (Responses output items, content blocks) as one output message."""
    if not messages:
        return None
    if len(messages) == 1:
        return messages[0]
    texts = [m["content"] for m in messages if m.get("content")]
    calls = [c for m in messages for c in m.get("tool_calls", ())]
    parts = [p for m in messages for p in m.get("parts", ())]
    return make("assistant", "\n".join(texts), tool_calls=calls or None, parts=parts or None)


def to_openai(messages: list[Message]) -> list[dict[str, Any]]:
    """Canonical messages as an OpenAI Chat Completions `messages` list."""
    out: list[dict[str, Any]] = []
    for m in messages:
        content = m.get("content", "")
        if not content and m.get("error"):  # a failed tool result says why
            content = m["error"]
        item: dict[str, Any] = {"role": m["role"], "content": content}
        if m.get("tool_calls"):
            item["tool_calls"] = [
                {
                    "id": c.get("id") or f"call_{i}",
                    "type": "function",
                    "function": {"name": c["name"], "arguments": c.get("arguments") or "{}"},
                }
                for i, c in enumerate(m["tool_calls"])
            ]
            if not item["content"]:
                item["content"] = None
        if m["role"] == "tool":
            item["tool_call_id"] = m.get("tool_call_id") or ""
        elif m.get("name"):
            item["name"] = m["name"]
        out.append(item)
    return out


def to_anthropic(messages: list[Message]) -> tuple[str | None, list[dict[str, Any]]]:
    """Canonical messages as Anthropic's (system, messages): tool results become user blocks."""
    system: list[str] = []
    out: list[dict[str, Any]] = []
    for m in messages:
        role = m["role"]
        if role == "system":
            system.append(m.get("content", ""))
            continue
        blocks: list[dict[str, Any]] = []
        if role == "tool":
            role = "user"
            block = {
                "type": "tool_result",
                "tool_use_id": m.get("tool_call_id") or "",
                "content": m.get("content") or m.get("error") or "",
            }
            if m.get("error"):
                block["is_error"] = True
            blocks.append(block)
        else:
            if m.get("content"):
                blocks.append({"type": "text", "text": m["content"]})
            for c in m.get("tool_calls", ()):
                try:
                    args = orjson.loads(c.get("arguments") or "{}")
                except orjson.JSONDecodeError:
                    args = {"arguments": c.get("arguments")}
                blocks.append(
                    {"type": "tool_use", "id": c.get("id") or "", "name": c["name"], "input": args}
                )
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return ("\n\n".join(system) if system else None), out


# -- tool definitions ---------------------------------------------------------------------------

#: Where a function's JSON Schema is, in the shapes tools are logged in (OpenAI, the Responses
#: API, Anthropic, the Vercel AI SDK, Gemini, Bedrock's `inputSchema.json`, OpenInference).
_SCHEMA_KEYS = (
    "parameters", "input_schema", "inputSchema", "parametersJsonSchema", "parameters_json_schema",
    "json_schema", "schema",
)  # fmt: skip
#: Where a log keeps the tool definitions of a call, among its params.
TOOL_PARAM_KEYS = ("tools", "functions", "toolConfig", "tool_config")


def _decoded(value: Any) -> Any:
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def _function(spec: dict[str, Any]) -> dict[str, Any] | None:
    """A flat function definition ({name, description, <schema>, strict}) as OpenAI's
    `function` object; None without a name."""
    name = spec.get("name")
    if not isinstance(name, str) or not name:
        return None
    fn: dict[str, Any] = {"name": name}
    if isinstance(spec.get("description"), str) and spec["description"]:
        fn["description"] = spec["description"]
    for key in _SCHEMA_KEYS:
        schema = _decoded(spec.get(key))
        if (
            isinstance(schema, dict)
            and key == "inputSchema"
            and isinstance(schema.get("json"), dict)
        ):
            schema = schema["json"]  # Bedrock's {"json": {...}}
        if isinstance(schema, dict):
            fn["parameters"] = schema
            break
    if isinstance(spec.get("strict"), bool):
        fn["strict"] = spec["strict"]
    return fn


def _tool(raw: Any) -> list[dict[str, Any]]:
    """One logged tool definition in the OpenAI shape (a Gemini `functionDeclarations` entry
    is several); a built-in tool of a provider (web search, code execution) stays as logged."""
    raw = _decoded(raw)
    if isinstance(raw, str):
        return [{"type": "function", "function": {"name": raw}}] if raw.strip() else []
    if not isinstance(raw, dict) or not raw:
        return []
    kind = raw.get("type")
    if kind == "function" and isinstance(raw.get("function"), dict):
        fn = _function(raw["function"])
        return [{"type": "function", "function": fn}] if fn else [raw]
    declarations = raw.get("functionDeclarations", raw.get("function_declarations"))
    if isinstance(declarations, list):
        fns = [_function(d) for d in declarations if isinstance(d, dict)]
        rest = {
            k: v
            for k, v in raw.items()
            if k not in ("functionDeclarations", "function_declarations")
        }
        out = [{"type": "function", "function": fn} for fn in fns if fn]
        return out + ([rest] if rest else [])  # Gemini's googleSearch beside them, say
    spec = raw.get("toolSpec", raw.get("tool_spec"))  # Bedrock Converse
    if isinstance(spec, dict):
        fn = _function(spec)
        return [{"type": "function", "function": fn}] if fn else [raw]
    if "name" not in raw and isinstance(raw.get("tool"), dict):  # OpenInference {"tool": ...}
        return _tool(raw["tool"])
    if "name" not in raw and "json_schema" in raw:  # OpenInference's {"json_schema": "<JSON>"}
        return _tool(raw["json_schema"])
    if kind in (None, "function", "custom", "tool"):
        fn = _function(raw)
        if fn is not None:
            return [{"type": "function", "function": fn}]
    return [raw]


def _keyed_by_name(value: dict[str, Any]) -> bool:
    """Whether `value` is definitions keyed by their names: `{"get_weather": {"description",
    "parameters"}}` (the Vercel AI SDK's `tools` object)."""
    return bool(value) and all(
        isinstance(v, dict)
        and "name" not in v
        and any(k in v for k in ("description", *_SCHEMA_KEYS))
        for v in value.values()
    )


def to_openai_tools(value: Any) -> list[dict[str, Any]]:
    """Tool definitions as logged by any source, as OpenAI Chat Completions `tools`:
    `{"type": "function", "function": {"name", "description", "parameters", "strict"}}`.

    Takes OpenAI's shape (kept), the Responses API's and the Vercel AI SDK's flat
    `{"type": "function", "name", "parameters" | "inputSchema"}`, Anthropic's `{name,
    description, input_schema}`, OpenAI's legacy `functions` and LangChain's `{name,
    description, parameters}`, Gemini's `{"functionDeclarations": [...]}`, Bedrock's
    `{"toolSpec": {name, inputSchema: {json}}}`, OpenInference's `{"tool": {...}}`, any of
    them as JSON text, and a bare tool name. A provider's built-in tool (Anthropic's web
    search, Gemini's code execution) is kept as it was logged; what is not a tool is left out.
    """
    value = _decoded(value)
    if isinstance(value, dict):
        if isinstance(value.get("tools"), list):  # {"tools": [...], "toolChoice": ...}
            value = value["tools"]
        elif _keyed_by_name(value):
            value = [{"name": k, **v} for k, v in value.items()]
        else:
            value = [value]
    if not isinstance(value, list):
        return []
    return [tool for item in value for tool in _tool(item)]


def record_tools(params: Any) -> list[dict[str, Any]]:
    """The tool definitions a logged call offered the model (from its params: `tools`, the
    legacy `functions`, Bedrock's `toolConfig`), in the OpenAI shape (see `to_openai_tools`)."""
    if not isinstance(params, dict):
        return []
    found: list[dict[str, Any]] = []
    for key in TOOL_PARAM_KEYS:
        value = params.get(key)
        if key in ("toolConfig", "tool_config"):
            value = value.get("tools") if isinstance(value, dict) else None
        if value:
            found.extend(to_openai_tools(value))
    return found
