"""LiteLLM: the StandardLoggingPayload its callbacks send (kwargs["standard_logging_object"], one per
JSONL line in logging sinks such as GCS, S3 or Pub/Sub), and rows of the proxy's spend logs
(LiteLLM_SpendLogs: request_id, spend, messages, response, ...), which share most of its fields.

startTime/endTime are epoch seconds in the TypedDict but text ("2025-01-24 09:20:46.847371") in
some payloads: both are read.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from reviewer.ingest.base import LogFormat, ParseContext, as_dict, dumps, usage_tokens
from reviewer.ingest.formats import gemini
from reviewer.ingest.formats.langfuse import (
    decode,
    guess_provider,
    input_messages,
    norm_provider,
    output_message,
)
from reviewer.records import Record, iso_timestamp, to_float, to_int

_PAYLOAD_KEYS = (
    "custom_llm_provider",
    "model_parameters",
    "hidden_params",
    "response_cost",
    "spend",
)
#: metadata fields the proxy fills with its own bookkeeping; the useful ones are kept by name below
_KEEP_METADATA = (
    "user_api_key_alias",
    "user_api_key_team_id",
    "user_api_key_team_alias",
    "user_api_key_org_id",
    "user_api_key_user_id",
    "user_api_key_user_email",
    "user_api_key_end_user_id",
    "spend_logs_metadata",
    "requester_metadata",
    "requester_ip_address",
    "applied_guardrails",
    "prompt_management_metadata",
    "mcp_tool_call_metadata",
)
_KEEP_TOP = ("call_type", "stream", "cache_hit", "model_group", "model_id", "api_base", "status")


def epoch_seconds(value: Any) -> float | None:
    """A time as epoch seconds: numbers (s/ms/us/ns) and text (numeric, ISO, "YYYY-MM-DD HH:MM:SS.ffffff")."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = float(value)
        for limit, scale in ((1e17, 1e9), (1e14, 1e6), (1e11, 1e3)):
            if seconds > limit:
                return seconds / scale
        return seconds
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").replace(".", "", 1).isdigit():
            return epoch_seconds(float(text))
        iso = iso_timestamp(text)
        if iso is None:
            return None
        return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()
    return None


def _present(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != {}


class LiteLLMPayload(LogFormat):
    """LiteLLM StandardLoggingPayload (and spend-log rows)."""

    name = "litellm"
    #: a spend-log row with prompt storage off still has model, tokens and times: it is kept
    empty_reason = (
        "a LiteLLM payload with neither messages nor a response nor an error, and no model, "
        "token counts or times"
    )

    def detect(self, obj: Any) -> bool:
        return (
            isinstance(obj, dict)
            and "call_type" in obj
            and ("startTime" in obj or "endTime" in obj)
            and any(k in obj for k in _PAYLOAD_KEYS)
        )

    def parse(self, obj: dict[str, Any], ctx: ParseContext) -> Iterable[Record]:
        yield self._one(obj, ctx)

    def _one(self, obj: dict[str, Any], ctx: ParseContext) -> Record:
        source_id = obj.get("id") or obj.get("request_id")
        model = obj.get("model") or None
        provider = norm_provider(obj.get("custom_llm_provider")) or guess_provider(model)
        record = ctx.record(
            self.name,
            source_id=str(source_id) if source_id else None,
            provider=provider,
            model=model,
        )

        params: dict[str, Any] = {}
        record.messages = input_messages(obj.get("messages"), params)
        model_parameters = decode(obj.get("model_parameters"))
        if isinstance(model_parameters, dict):
            for key, value in model_parameters.items():
                if value is not None and key not in ("messages", "model", "metadata", "user"):
                    params[key] = value
        record.params = params

        response = decode(obj.get("response"))
        if isinstance(response, dict) and response.get("object") in ("list", "embedding"):
            response = None  # an embedding call: no message to review
        record.output = output_message(response) if _present(response) else None
        usage = None
        if isinstance(response, dict):  # a Gemini response (pass-through) has usageMetadata
            usage = response.get("usage") or gemini.get(response, "usage_metadata", "usageMetadata")
        inp, out = to_int(obj.get("prompt_tokens")), to_int(obj.get("completion_tokens"))
        if inp is None and out is None:
            inp, out = usage_tokens(usage)
        record.input_tokens, record.output_tokens = inp, out
        record.cost_usd = to_float(obj.get("response_cost", obj.get("spend")))

        start, end = epoch_seconds(obj.get("startTime")), epoch_seconds(obj.get("endTime"))
        record.timestamp = iso_timestamp(obj.get("startTime")) if start is not None else None
        if start is not None and end is not None:
            record.latency_ms = round((end - start) * 1000.0, 3)
        elif (response_time := to_float(obj.get("response_time"))) is not None:
            record.latency_ms = round(response_time * 1000.0, 3)
        first = epoch_seconds(obj.get("completionStartTime"))
        if obj.get("stream") and start is not None and first is not None and first >= start:
            record.metadata["time_to_first_token_ms"] = round((first - start) * 1000.0, 3)

        meta = decode(obj.get("metadata"))
        meta = meta if isinstance(meta, dict) else {}
        record.trace_id = str(obj["trace_id"]) if obj.get("trace_id") else None
        user = obj.get("end_user") or obj.get("user") or meta.get("user_api_key_end_user_id")
        record.user_id = str(user) if _present(user) else None
        requester = as_dict(meta.get("requester_metadata"))
        session = obj.get("session_id") or requester.get("session_id")
        record.session_id = str(session) if _present(session) else None
        prompt = meta.get("prompt_management_metadata")
        if isinstance(prompt, dict) and prompt.get("prompt_id"):
            record.prompt_name = str(prompt["prompt_id"])

        if obj.get("status") == "failure" or _present(obj.get("error_str")):
            # spend-log rows keep it in their metadata
            info = as_dict(obj.get("error_information")) or as_dict(meta.get("error_information"))
            message = obj.get("error_str") or info.get("error_message") or "failure"
            record.error = message if isinstance(message, str) else dumps(message)
            for key in ("error_code", "error_class", "llm_provider"):
                if _present(info.get(key)):
                    record.metadata[key] = info[key]
            if _present(info.get("traceback")):
                record.metadata["traceback"] = info["traceback"]

        md = record.metadata
        for key in _KEEP_TOP:
            if _present(obj.get(key)):
                md[key] = obj[key]
        if to_float(obj.get("saved_cache_cost")):
            md["saved_cache_cost"] = to_float(obj["saved_cache_cost"])
        tags = decode(obj.get("request_tags"))
        if _present(tags):
            md["tags"] = tags
        for key in _KEEP_METADATA:
            if _present(meta.get(key)):
                md[key] = meta[key]
        hidden = as_dict(obj.get("hidden_params"))
        if _present(hidden.get("litellm_model_name")) and hidden["litellm_model_name"] != model:
            md["litellm_model_name"] = hidden["litellm_model_name"]
        if isinstance(response, dict):
            choices = response.get("choices")
            if (
                isinstance(choices, list)
                and choices
                and isinstance(choices[0], dict)
                and choices[0].get("finish_reason")
            ):
                md["finish_reason"] = choices[0]["finish_reason"]
            if _present(response.get("model")) and response["model"] != model:
                md["response_model"] = response["model"]
        if _present(obj.get("guardrail_information")):
            md["guardrail_information"] = obj["guardrail_information"]
        return record
