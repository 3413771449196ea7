"""Helicone request rows: as its request query API returns them (`POST /v1/request/query-clickhouse`,
`/v1/request/query`, one row per JSONL line or array element, or the whole `{"data": [...]}` answer)
and as its export tools write them, including CSV where the bodies are JSON (or Python reprs, from
the pandas export) inside cells.

A row holds the provider request and response bodies (OpenAI, Anthropic, Gemini, Responses shapes)
beside Helicone's own columns: timing, tokens, cost, user, custom properties, status, feedback, scores.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from reviewer.ingest.base import LogFormat, ParseContext, Rejected, as_json, dumps, usage_tokens
from reviewer.ingest.formats.langfuse import (
    decode,
    guess_provider,
    input_messages,
    norm_provider,
    output_message,
    py_value,
)
from reviewer.messages import make
from reviewer.records import Record, feedback_score, iso_timestamp, to_float, to_int

_ID_KEYS = ("request_id", "response_id")
_TIME_KEYS = ("request_created_at", "response_created_at")
_HELICONE_PROVIDERS = {
    "OPENAI": "openai",
    "ANTHROPIC": "anthropic",
    "GOOGLE": "google",
    "VERTEX": "google",
    "GEMINI": "google",
    "AZURE": "azure",
}
_KEEP = (
    "request_path",
    "country_code",
    "target_url",
    "model_override",
    "cache_enabled",
    "cache_reference_id",
    "prompt_id",
    "response_id",
)


def is_row(obj: Any) -> bool:
    """A Helicone request row: its ids, its times, and at least one of the bodies."""
    return (
        isinstance(obj, dict)
        and any(k in obj for k in _ID_KEYS)
        and any(k in obj for k in _TIME_KEYS)
        and any(k in obj for k in ("request_body", "response_body", "signed_body_content"))
    )


def cell(value: Any) -> Any:
    """A CSV cell as a value: empty is None; JSON, JSON with doubled quotes (Helicone's export escapes
    twice) and Python reprs (pandas writes dicts with str()) are decoded; other text stays text."""
    if not isinstance(value, str):
        return value
    s = value.strip()
    if not s:
        return None
    if s[:1] not in ("{", "["):
        return value
    decoded = as_json(s)
    if not isinstance(decoded, str):
        return decoded
    if '""' in s:
        try:
            return orjson.loads(s.replace('""', '"'))
        except orjson.JSONDecodeError:
            pass
    return py_value(s)


def _status_code(row: dict[str, Any]) -> int | None:
    status = row.get("response_status", row.get("status"))
    if isinstance(status, dict):
        status = status.get("code")
    return to_int(status)


def _error_text(body: Any, code: int | None) -> str:
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            msg = err.get("message") or err.get("type")
            if isinstance(msg, str) and msg:
                return msg
            return dumps(err)
        if isinstance(err, str) and err:
            return err
        if isinstance(body.get("message"), str):
            return body["message"]
        if isinstance(body.get("helicone_message"), str):
            return body["helicone_message"]
    if isinstance(body, str) and body:
        return body
    return f"HTTP {code}" if code is not None else "failed"


def _streamed(body: dict[str, Any]) -> Any:
    """A streamed response Helicone kept as chunks: the text and tool calls joined into one message."""
    chunks = body.get("streamed_data")
    if not isinstance(chunks, list):
        return body
    texts: list[str] = []
    for chunk in chunks:
        chunk = decode(chunk)
        if not isinstance(chunk, dict):
            continue
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") if isinstance(choice, dict) else None
            if isinstance(delta, dict) and isinstance(delta.get("content"), str):
                texts.append(delta["content"])
        delta = chunk.get("delta")
        if (
            chunk.get("type") == "content_block_delta"
            and isinstance(delta, dict)
            and isinstance(delta.get("text"), str)
        ):
            texts.append(delta["text"])
    return make("assistant", "".join(texts))


def _provider(value: Any) -> str | None:
    """Helicone's provider enum (OPENAI, ANTHROPIC, ..., CUSTOM) as a provider name."""
    if not isinstance(value, str) or not value or value.upper() == "CUSTOM":
        return None
    return _HELICONE_PROVIDERS.get(value.upper()) or norm_provider(value)


def _feedback(row: dict[str, Any]) -> float | None:
    for key in ("feedback_rating", "feedback", "request_feedback"):
        value = decode(row.get(key))
        if isinstance(value, dict):
            value = value.get("rating", value.get("score"))
        score = feedback_score(value)
        if score is not None:
            return score
    return None


def row_record(fmt: str, row: dict[str, Any], ctx: ParseContext, raw: str | None) -> Record:
    """One Helicone row as a record."""
    request = decode(row.get("request_body"))
    response = decode(row.get("response_body"))
    signed = decode(row.get("signed_body_content"))
    if isinstance(signed, dict):
        if request is None or (isinstance(request, dict) and "helicone_message" in request):
            request = decode(signed.get("request"))
        if response is None or (isinstance(response, dict) and "helicone_message" in response):
            response = decode(signed.get("response"))
    if isinstance(response, dict) and "streamed_data" in response:
        response = _streamed(response)

    req = request if isinstance(request, dict) else {}
    model = (
        row.get("model")
        or row.get("response_model")
        or row.get("request_model")
        or row.get("model_override")
        or req.get("model")
    )
    provider_raw = row.get("provider")
    provider = _provider(provider_raw) or guess_provider(model)
    if provider is None and isinstance(response, dict) and response.get("type") == "message":
        provider = "anthropic"

    source_id = row.get("request_id") or row.get("response_id")
    record = ctx.record(
        fmt,
        source_id=str(source_id) if source_id else None,
        raw=raw,
        provider=provider,
        model=model or None,
    )
    params: dict[str, Any] = {}
    if isinstance(req, dict) and "helicone_message" in req:
        record.metadata["request_note"] = req["helicone_message"]
    else:
        record.messages = input_messages(request, params)
    user_param = params.pop("user", None)
    record.params = params

    code = _status_code(row)
    failed = (code is not None and code >= 400) or (
        isinstance(response, dict) and response.get("error") is not None
    )
    if isinstance(response, dict) and "helicone_message" in response and not failed:
        record.metadata["response_note"] = response["helicone_message"]
    elif not failed and response is not None:
        record.output = output_message(response)
    if failed:
        record.error = _error_text(response, code)
    elif code is not None and code < 0 and record.output is None:
        record.error = f"no response (status {code})"

    inp, out = to_int(row.get("prompt_tokens")), to_int(row.get("completion_tokens"))
    if inp is None and out is None and isinstance(response, dict):
        inp, out = usage_tokens(response.get("usage") or response.get("usageMetadata"))
    record.input_tokens, record.output_tokens = inp, out
    record.cost_usd = to_float(
        next((row[k] for k in ("cost", "cost_usd", "costUSD") if row.get(k) is not None), None)
    )
    record.timestamp = iso_timestamp(
        row.get("request_created_at") or row.get("response_created_at")
    )
    latency = to_float(row.get("latency"))
    record.latency_ms = latency if latency is not None else to_float(row.get("delay_ms"))

    props = decode(row.get("request_properties") or row.get("properties"))
    props = props if isinstance(props, dict) else {}
    lower = {k.lower(): v for k, v in props.items() if isinstance(k, str)}
    user = row.get("request_user_id") or lower.get("helicone-user-id") or user_param
    record.user_id = str(user) if user not in (None, "") else None
    session = lower.get("helicone-session-id")
    record.session_id = str(session) if session not in (None, "") else None
    prompt = lower.get("helicone-prompt-id") or row.get("prompt_id")
    record.prompt_name = str(prompt) if prompt not in (None, "") else None
    record.feedback_score = _feedback(row)

    md = record.metadata
    for key, value in props.items():
        md.setdefault(key, value)
    if code is not None:
        md["status"] = code
    if isinstance(provider_raw, str) and provider_raw:
        md["helicone_provider"] = provider_raw
    ttft = to_float(row.get("time_to_first_token"))
    if ttft is not None:
        md["time_to_first_token_ms"] = ttft
    scores = decode(row.get("scores"))
    if isinstance(scores, dict) and scores:
        md["scores"] = scores
    for key in _KEEP:
        if row.get(key) not in (None, "", [], {}) and key not in md:
            md[key] = row[key]
    if req.get("stream"):
        md["stream"] = True
    if isinstance(response, dict):
        choices = response.get("choices")
        if (
            isinstance(choices, list)
            and choices
            and isinstance(choices[0], dict)
            and choices[0].get("finish_reason")
        ):
            md["finish_reason"] = choices[0]["finish_reason"]
        elif response.get("stop_reason"):
            md["finish_reason"] = response["stop_reason"]
    if not record.messages and record.output is None and record.error is None:
        raise Rejected(
            "a Helicone row without request or response bodies (export them too, e.g. with --include-body)"
        )
    return record


class HeliconeRow(LogFormat):
    """Helicone request rows (JSON / JSONL / JSON array) and the request query API's {"data": [...]} answer."""

    name = "helicone"
    detect_keys = frozenset({"request_body", "response_body", "signed_body_content", "data"})

    def detect(self, obj: Any) -> bool:
        if is_row(obj):
            return True
        if isinstance(obj, dict) and isinstance(obj.get("data"), list) and "meta" not in obj:
            data = obj["data"]
            return bool(data) and is_row(data[0])
        return False

    def parse(self, obj: dict[str, Any], ctx: ParseContext) -> Iterable[Record]:
        if is_row(obj):
            yield row_record(self.name, obj, ctx, None)
            return
        for row in obj["data"]:
            if is_row(row):
                yield row_record(self.name, row, ctx, dumps(row))


class HeliconeCsv(LogFormat):
    """Helicone CSV exports: the same columns, every value text, bodies as JSON inside cells."""

    name = "helicone-csv"
    kind = "csv"

    def detect(self, obj: Any) -> bool:
        return is_row(obj)

    def parse(self, obj: dict[str, Any], ctx: ParseContext) -> Iterable[Record]:
        row = {k: cell(v) for k, v in obj.items()}
        yield row_record(self.name, row, ctx, None)
