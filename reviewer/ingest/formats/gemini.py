"""Gemini (google-genai SDK, Gemini API, Vertex AI): `generate_content` request + response pairs
as people log them, responses alone, and batch prediction output lines.

Shapes read, in both the SDK's snake_case and the REST API's camelCase:

- a pair `{"request": {model, contents, config | generationConfig, systemInstruction, tools, ...},
  "response": {candidates, usageMetadata, modelVersion, responseId, ...}}` (and the usual
  spellings of the two halves, see `split_pair`), with an `error` instead of a response too;
- a response alone;
- Vertex AI batch prediction output `{"status", "processed_time", "request", "response"}` (a
  failed line has a non-empty `status` and no response), the `instance`/`prediction` spelling of
  it, and Gemini API batch results `{"key", "response" | "error"}`.

The converter of Gemini content (`contents_messages`, `system_message`, `request_messages`,
`response_output`, `usage`) is shared with the observability formats (Langfuse, LangSmith,
OTLP, LiteLLM) that carry the same shapes; the parts themselves are read by `reviewer.messages`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from reviewer.ingest.base import (
    LogFormat,
    ParseContext,
    Rejected,
    apply_envelope,
    split_pair,
)
from reviewer.ingest.formats.openai_chat import error_text
from reviewer.messages import Message, json_text, make, merge_output, to_messages
from reviewer.records import Record, iso_timestamp, to_int

_ROLES = frozenset({"user", "model", "function", "tool", "system"})


def get(obj: dict[str, Any], snake: str, camel: str) -> Any:
    """A field under its snake_case (SDK) or camelCase (REST) name."""
    value = obj.get(snake)
    return obj.get(camel) if value is None else value


# -- recognising the shapes ----------------------------------------------------------------------


def is_content(value: Any) -> bool:
    """A Gemini Content: {"parts": [...], "role"?} (no OpenAI-style "content" beside it)."""
    return (
        isinstance(value, dict)
        and isinstance(value.get("parts"), list)
        and "content" not in value
        and (value.get("role") is None or value.get("role") in _ROLES)
    )


def is_request(value: Any) -> bool:
    """generate_content kwargs or a REST body: `contents` and no OpenAI `messages`."""
    if not isinstance(value, dict) or "messages" in value:
        return False
    contents = value.get("contents")
    if isinstance(contents, str):
        return "model" in value or "config" in value
    return isinstance(contents, list | dict)


def is_response(value: Any) -> bool:
    """A GenerateContentResponse: candidates with content, or usage metadata with a model version,
    response id or prompt feedback (a blocked prompt has no candidates)."""
    if not isinstance(value, dict):
        return False
    candidates = value.get("candidates")
    if isinstance(candidates, list) and candidates:
        return isinstance(candidates[0], dict) and any(
            k in candidates[0] for k in ("content", "finishReason", "finish_reason")
        )
    return get(value, "usage_metadata", "usageMetadata") is not None and any(
        get(value, s, c) is not None
        for s, c in (
            ("model_version", "modelVersion"),
            ("response_id", "responseId"),
            ("prompt_feedback", "promptFeedback"),
        )
    )


def is_llm_response(value: Any) -> bool:
    """Google ADK's LlmResponse: one candidate flattened, {"content": Content, "finish_reason",
    "usage_metadata", ...}."""
    return (
        isinstance(value, dict)
        and is_content(value.get("content"))
        and any(
            k in value
            for k in (
                "finish_reason",
                "finishReason",
                "usage_metadata",
                "usageMetadata",
                "model_version",
                "modelVersion",
            )
        )
    )


# -- content -> messages ------------------------------------------------------------------------


def _parts_of(value: Any) -> list[Any]:
    """google-genai's ContentUnion / PartUnion lists as a list of parts."""
    if isinstance(value, list):
        return [{"text": p} if isinstance(p, str) else p for p in value]
    if isinstance(value, str):
        return [{"text": value}]
    return [value]


def contents_messages(contents: Any) -> list[Message]:
    """`contents` as canonical messages: a text, a Content, a list of Contents, or a list of parts
    (which the SDK sends as one user turn). Role "model" is the assistant; function responses
    become tool messages."""
    if contents is None:
        return []
    if isinstance(contents, str):
        return [make("user", contents)]
    if isinstance(contents, dict):
        contents = [contents]
    if not isinstance(contents, list):
        return [make("user", json_text(contents))]
    out: list[Message] = []
    loose: list[Any] = []  # parts given directly in the list: one user turn
    for item in contents:
        if is_content(item) or isinstance(item, list):
            if loose:
                out.extend(to_messages({"role": "user", "parts": loose}))
                loose = []
            out.extend(to_messages(item, "user") if is_content(item) else contents_messages(item))
        elif item is not None:
            loose.append({"text": item} if isinstance(item, str) else item)
    if loose:
        out.extend(to_messages({"role": "user", "parts": loose}))
    return out


def system_message(value: Any) -> Message | None:
    """A system instruction (text, Content, part or list of them) as one system message."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, dict) and isinstance(value.get("parts"), list):
        parts = value["parts"]
    else:
        parts = _parts_of(value)
    msgs = to_messages({"role": "system", "parts": parts})
    return merge_output(msgs) if len(msgs) != 1 else msgs[0]


_CONFIG_KEYS = (("config", "config"), ("generation_config", "generationConfig"))
_SYSTEM_KEYS = ("system_instruction", "systemInstruction")
_NOT_PARAMS = frozenset(
    {
        "contents",
        "model",
        "labels",
        *_SYSTEM_KEYS,
        "config",
        "generation_config",
        "generationConfig",
    }
)


def request_messages(request: dict[str, Any], params: dict[str, Any]) -> list[Message]:
    """The conversation of a generate_content request, its system instruction first (from the
    request or its config); generation settings, tools and safety settings go to `params`."""
    system = get(request, "system_instruction", "systemInstruction")
    for snake, camel in _CONFIG_KEYS:
        config = get(request, snake, camel)
        if not isinstance(config, dict):
            continue
        for key, value in config.items():
            if key in _SYSTEM_KEYS:
                system = value if system is None else system
            elif value is not None:
                params.setdefault(key, value)
    for key, value in request.items():
        if key not in _NOT_PARAMS and value is not None:
            params.setdefault(key, value)
    messages = contents_messages(request.get("contents"))
    sys_msg = system_message(system)
    if sys_msg is not None:
        sys_msg["role"] = "system"
        messages.insert(0, sys_msg)
    return messages


# -- response ------------------------------------------------------------------------------------


@dataclass(slots=True)
class Reply:
    """What a GenerateContentResponse says."""

    output: Message | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    model: str | None = None
    response_id: str | None = None
    timestamp: str | None = None
    error: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


_USAGE_IN = ("prompt_token_count", "promptTokenCount")
_USAGE_OUT = ("candidates_token_count", "candidatesTokenCount")


def usage(meta: Any) -> tuple[int | None, int | None, dict[str, Any]]:
    """(input, output, the other counts) from usage metadata: input is the prompt's tokens, output
    the candidates' (thoughts, cached, tool-use and total counts are returned apart)."""
    if not isinstance(meta, dict):
        return None, None, {}
    inp = to_int(get(meta, *_USAGE_IN))
    out = to_int(get(meta, *_USAGE_OUT))
    rest = {k: v for k, v in meta.items() if k not in (*_USAGE_IN, *_USAGE_OUT) and v is not None}
    return inp, out, rest


def _candidate_output(cand: dict[str, Any]) -> Message | None:
    content = cand.get("content")
    if not isinstance(content, dict):
        return None
    msgs = to_messages({**content, "role": "assistant"}, "assistant")
    return merge_output([m for m in msgs if m["role"] == "assistant"] or msgs)


_CANDIDATE_META = (
    ("safety_ratings", "safetyRatings", "safety_ratings"),
    ("citation_metadata", "citationMetadata", "citation_metadata"),
    ("grounding_metadata", "groundingMetadata", "grounding_metadata"),
    ("avg_logprobs", "avgLogprobs", "avg_logprobs"),
    ("finish_message", "finishMessage", "finish_message"),
    ("url_context_metadata", "urlContextMetadata", "url_context_metadata"),
)


def response_output(response: dict[str, Any]) -> Reply:
    """The first candidate as the output message, with finish reason, safety ratings, usage,
    model version and response id; other candidates and prompt feedback go to metadata. A blocked
    prompt (no candidates, a block reason) is the reply's error."""
    reply = Reply()
    md = reply.metadata
    candidates = response.get("candidates")
    if is_llm_response(response):
        candidates = [response]
    if isinstance(candidates, list) and candidates and isinstance(candidates[0], dict):
        first = candidates[0]
        reply.output = _candidate_output(first)
        reason = get(first, "finish_reason", "finishReason")
        if reason:
            md["finish_reason"] = reason
        for snake, camel, key in _CANDIDATE_META:
            value = get(first, snake, camel)
            if value is not None and value != []:
                md[key] = value
        others = [_candidate_output(c) for c in candidates[1:] if isinstance(c, dict)]
        if any(others):
            md["other_candidates"] = [o for o in others if o is not None]
    inp, out, rest = usage(get(response, "usage_metadata", "usageMetadata"))
    reply.input_tokens, reply.output_tokens = inp, out
    if rest:
        md["usage_details"] = rest
    version = get(response, "model_version", "modelVersion")
    reply.model = version if isinstance(version, str) and version else None
    rid = get(response, "response_id", "responseId")
    reply.response_id = str(rid) if isinstance(rid, str | int) and rid != "" else None
    created = get(response, "create_time", "createTime")
    reply.timestamp = iso_timestamp(created) if created else None
    feedback = get(response, "prompt_feedback", "promptFeedback")
    if isinstance(feedback, dict) and feedback:
        md["prompt_feedback"] = feedback
        block = get(feedback, "block_reason", "blockReason")
        if block and reply.output is None:
            message = get(feedback, "block_reason_message", "blockReasonMessage")
            reply.error = f"prompt blocked: {block}" + (f" ({message})" if message else "")
    if response.get("error"):  # ADK LlmResponse error_code / error_message are read below
        reply.error = error_text(response["error"])
    code = get(response, "error_code", "errorCode")
    if code and reply.error is None:
        message = get(response, "error_message", "errorMessage")
        reply.error = f"{code}: {message}" if message else str(code)
    return reply


def output_message(value: Any) -> Message | None:
    """The assistant message of a Gemini response, ADK LlmResponse or Content; None for other
    shapes (so callers can try theirs)."""
    if is_response(value) or is_llm_response(value):
        return response_output(value).output
    if is_content(value):
        msgs = to_messages({**value, "role": "assistant"}, "assistant")
        return merge_output([m for m in msgs if m["role"] == "assistant"] or msgs)
    return None


# -- the format ----------------------------------------------------------------------------------

_PAIR_KEYS = (("instance", "prediction"),)
_BATCH_KEYS = ("status", "processed_time", "key")


def _halves(obj: dict[str, Any]) -> tuple[Any, Any, dict[str, Any]]:
    """(request, response, the rest) of a log line, or (None, None, obj)."""
    for req_key, res_key in _PAIR_KEYS:
        if isinstance(obj.get(req_key), dict):
            rest = {k: v for k, v in obj.items() if k not in (req_key, res_key)}
            return obj[req_key], obj.get(res_key), rest
    request, response, rest = split_pair(obj)
    return request, response, rest


class GeminiGenerateContent(LogFormat):
    """Gemini generate_content request/response pairs, responses alone, batch output lines."""

    name = "gemini"

    def detect(self, obj: Any) -> bool:
        if not isinstance(obj, dict):
            return False
        if is_response(obj):
            return True
        request, response, _rest = _halves(obj)
        if response is not None and is_response(response):
            return True
        # a request with an error or a batch status in place of the response; a batch input line
        return (
            is_request(request)
            and (response is None or response == {})
            and (any(k in obj for k in (*_BATCH_KEYS, "error")) or obj.keys() == {"request"})
        )

    def parse(self, obj: dict[str, Any], ctx: ParseContext) -> Iterable[Record]:
        if is_response(obj):
            yield self._one(None, obj, {}, ctx)
            return
        request, response, rest = _halves(obj)
        if not isinstance(response, dict) or not response:
            response = None
        if (
            response is None
            and not rest.get("error")
            and not (isinstance(rest.get("status"), str) and rest["status"])
        ):
            return  # a batch input line: the output file repeats it with the response
        yield self._one(request if isinstance(request, dict) else None, response, rest, ctx)

    def _one(
        self,
        request: dict[str, Any] | None,
        response: dict[str, Any] | None,
        rest: dict[str, Any],
        ctx: ParseContext,
    ) -> Record:
        reply = response_output(response) if response is not None else Reply()
        record = ctx.record(self.name, source_id=reply.response_id, provider="google")
        params: dict[str, Any] = {}
        if request is not None:
            record.messages = request_messages(request, params)
            model = request.get("model")
            if isinstance(model, str) and model:
                record.model = model.rsplit("/", 1)[-1] if "models/" in model else model
                if record.model != model:
                    record.metadata["request_model"] = model
        record.params = params
        record.output = reply.output
        record.input_tokens, record.output_tokens = reply.input_tokens, reply.output_tokens
        if reply.model:
            if record.model is None:
                record.model = reply.model
            elif reply.model != record.model:
                record.metadata["response_model"] = reply.model
        record.metadata.update(reply.metadata)
        if response is not None:
            for snake, camel in (("sdk_http_response", "sdkHttpResponse"),):
                if get(response, snake, camel) is not None:
                    record.metadata["http_response"] = get(response, snake, camel)
        processed = rest.get("processed_time")
        if processed:
            record.timestamp = iso_timestamp(processed)
        if isinstance(rest.get("key"), str | int):
            record.metadata["batch_key"] = rest["key"]
        status = rest.get("status")
        if isinstance(status, str) and status:
            record.error = status
        elif status not in (None, ""):
            record.metadata["status"] = status
        apply_envelope(record, rest, skip=("error",))
        if record.timestamp is None and reply.timestamp:
            record.timestamp = reply.timestamp
        error = rest.get("error")
        if error:
            record.error = error_text(error)
        elif reply.error and record.error is None:
            record.error = reply.error
        if request is None and response is None:
            raise Rejected("a Gemini log line with neither a request nor a response")
        labels = request.get("labels") if request is not None else None
        if isinstance(labels, dict):
            for key, value in labels.items():
                record.metadata.setdefault(key, value)
        return record
