"""OpenAI Batch API files: input lines (remembered, to join with their results), output and
error lines (one record each), and ellmer's batch state files (a Batch object plus the
`response` part of each output line, JSON null written as {}).

The same line shape is written by OpenAI-compatible batch APIs (Groq, Azure OpenAI); bodies
may be chat completions or Responses API objects, and requests chat or Responses kwargs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from reviewer.ingest.base import LogFormat, ParseContext, Rejected, dumps
from reviewer.ingest.formats.openai_chat import error_text, fill_from_completion, fill_from_request
from reviewer.ingest.formats.openai_responses import (
    fill_from_response,
    fill_from_responses_request,
    is_response,
)
from reviewer.records import Record, r_null, to_int

#: Groq batch ids are ULIDs ("batch_01ks9k0ecaejs8t0d24qwb3nk7"); OpenAI's are hex.
_GROQ_BATCH_ID = re.compile(r"batch_01[0-9a-hjkmnp-tv-z]{24}")


def is_input_line(obj: dict[str, Any]) -> bool:
    return "custom_id" in obj and "method" in obj and "url" in obj and "body" in obj


def is_output_line(obj: dict[str, Any]) -> bool:
    return (
        "custom_id" in obj
        and "response" in obj
        and ("error" in obj or "id" in obj)
        and "method" not in obj
    )


def is_state_file(obj: dict[str, Any]) -> bool:
    """ellmer's batch state: {version, stage, batch: <OpenAI Batch object>, results: [...]}."""
    batch = obj.get("batch")
    return (
        isinstance(batch, dict)
        and batch.get("object") == "batch"
        and isinstance(obj.get("results"), list)
    )


def _is_groq(body: Any) -> bool:
    return isinstance(body, dict) and "x_groq" in body


def _batch_provider(batch: dict[str, Any], results: list[Any]) -> str:
    """ "groq" when any result body carries Groq's x_groq block or the batch id is a Groq ULID."""
    if any(isinstance(r, dict) and _is_groq(r_null(r.get("body"))) for r in results):
        return "groq"
    bid = batch.get("id")
    if isinstance(bid, str) and _GROQ_BATCH_ID.fullmatch(bid):
        return "groq"
    return "openai"


def _is_unreviewable(body: Any) -> bool:
    """Embedding and moderation results: valid batch output, but no LLM call to review."""
    if not isinstance(body, dict):
        return False
    data = body.get("data")
    if body.get("object") == "list" and isinstance(data, list):
        return bool(data) and isinstance(data[0], dict) and data[0].get("object") == "embedding"
    return isinstance(body.get("id"), str) and body["id"].startswith("modr-") and "results" in body


def fill_from_batch_request(record: Record, request: dict[str, Any]) -> None:
    """Messages, model and params from a batch input line's body (chat or Responses kwargs)."""
    if "messages" in request:
        fill_from_request(record, request)
    elif "input" in request or "instructions" in request:
        fill_from_responses_request(record, request)
    elif isinstance(request.get("prompt"), str):  # legacy /v1/completions
        record.messages = [{"role": "user", "content": request["prompt"]}]
        record.model = request.get("model") or record.model
        record.params = {
            k: v for k, v in request.items() if k not in ("prompt", "model") and v is not None
        }


def fill_from_result(
    record: Record, part: dict[str, Any] | None, line_error: Any, *, request_known: bool
) -> None:
    """Output, usage and error from the `response` part of a batch output line ({status_code, request_id, body})."""
    body = None
    status = None
    if isinstance(part, dict):
        body = r_null(part.get("body"))
        status = to_int(r_null(part.get("status_code")))
        request_id = r_null(part.get("request_id"))
        if isinstance(request_id, str):
            record.metadata.setdefault("request_id", request_id)
        if status is not None:
            record.metadata.setdefault("status_code", status)
    if isinstance(body, dict):
        if is_response(body):
            fill_from_response(record, body, echoed_params=not request_known)
        elif isinstance(body.get("choices"), list):
            fill_from_completion(record, body)
            tier = r_null(body.get("service_tier"))
            if isinstance(tier, str):
                record.metadata.setdefault("service_tier", tier)
        body_error = r_null(body.get("error"))
        if body_error and record.error is None:
            record.error = error_text(body_error)
    elif isinstance(body, str) and body and status is not None and status >= 400:
        record.error = body
    line_error = r_null(line_error)
    if line_error:
        record.error = error_text(line_error)
    if status is not None and status >= 400:
        record.error = f"HTTP {status}: {record.error}" if record.error else f"HTTP {status}"


class OpenAIBatch(LogFormat):
    """OpenAI Batch input/output JSONL lines and ellmer batch state files."""

    name = "openai-batch"
    detect_keys = frozenset({"custom_id", "batch"})

    def detect(self, obj: Any) -> bool:
        if not isinstance(obj, dict):
            return False
        return is_input_line(obj) or is_output_line(obj) or is_state_file(obj)

    def parse(self, obj: dict[str, Any], ctx: ParseContext) -> Iterable[Record]:
        if is_state_file(obj):
            yield from self._state_file(obj, ctx)
            return
        custom_id = obj.get("custom_id")
        if custom_id is None or isinstance(custom_id, dict | list):
            raise Rejected("batch line without a usable custom_id")
        custom_id = str(custom_id)
        if is_input_line(obj):
            body = obj.get("body")
            if not isinstance(body, dict):
                raise Rejected(f"batch input line {custom_id!r} has no request body object")
            ctx.remember_batch_request(custom_id, body)
            return
        record = self._output_line(obj, custom_id, ctx)
        if record is not None:
            yield record

    def _output_line(self, obj: dict[str, Any], custom_id: str, ctx: ParseContext) -> Record | None:
        part = r_null(obj.get("response"))
        if part is not None and not isinstance(part, dict):
            raise Rejected(f"batch output line {custom_id!r}: `response` is not an object")
        if part is None and not r_null(obj.get("error")):
            raise Rejected(f"batch output line {custom_id!r} has neither a response nor an error")
        body = r_null(part.get("body")) if part else None
        if _is_unreviewable(body) and not r_null(obj.get("error")):
            return None
        line_id = obj.get("id")
        source_id = line_id if isinstance(line_id, str) and line_id else f"batch:{custom_id}"
        record = ctx.record(
            self.name, source_id=source_id, provider="groq" if _is_groq(body) else "openai"
        )
        record.metadata["custom_id"] = custom_id
        request = ctx.batch_requests(custom_id)
        if isinstance(request, dict):
            fill_from_batch_request(record, request)
        fill_from_result(record, part, obj.get("error"), request_known=isinstance(request, dict))
        return record

    def _state_file(self, obj: dict[str, Any], ctx: ParseContext) -> Iterable[Record]:
        batch = obj["batch"]
        results = obj["results"]
        batch_id = batch.get("id") if isinstance(batch.get("id"), str) else None
        provider = _batch_provider(batch, results)
        endpoint = r_null(batch.get("endpoint"))
        for index, part in enumerate(results):
            part = r_null(part)
            if not isinstance(part, dict):
                continue  # a request still pending when the state was saved
            body = r_null(part.get("body"))
            if _is_unreviewable(body):
                continue
            body_id = body.get("id") if isinstance(body, dict) else None
            source_id = (
                body_id
                if isinstance(body_id, str) and body_id
                else f"{batch_id or 'batch'}:{index}"
            )
            record = ctx.record(self.name, source_id=source_id, raw=dumps(part), provider=provider)
            if batch_id:
                record.metadata["batch_id"] = batch_id
            if isinstance(endpoint, str):
                record.metadata["endpoint"] = endpoint
            record.metadata["result_index"] = index
            fill_from_result(record, part, None, request_known=False)
            record.model = record.model or r_null(batch.get("model"))
            yield record
