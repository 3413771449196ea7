"""LangSmith runs: the SDK's ingest payloads `{"post": [run...], "patch": [run...]}` (a patch entry
updates the posted run with the same id) and run objects one per JSONL line or array element, as
LangSmith's API and `list_runs` export them. One record per run: a run of run_type "llm" (or
"chat") is an LLM call; tool, retriever, embedding, chain, prompt and parser runs are steps of
their trace (prompt, parser and unknown run types as chains) with their inputs, outputs and error.
Each run's parent is its `parent_run_id`; a trace's root run has the trace id as its own id.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from reviewer.ingest.base import LogFormat, ParseContext, as_dict, dumps, usage_tokens
from reviewer.ingest.formats.langfuse import (
    decode,
    guess_provider,
    input_messages,
    is_feedback_name,
    norm_provider,
    output_message,
)
from reviewer.records import Record, feedback_score, iso_timestamp, parse_timestamp, to_float

_RUN_MARKERS = ("run_type", "dotted_order", "trace_id")
#: LangChain's ls_* metadata names for the call's parameters
_LS_PARAMS = {"ls_temperature": "temperature", "ls_max_tokens": "max_tokens", "ls_stop": "stop"}
_INVOCATION_SKIP = frozenset({"model", "model_name", "_type", "stream", "streaming", "messages"})
_SESSION_KEYS = ("thread_id", "session_id", "conversation_id")


def _is_run(obj: Any) -> bool:
    return isinstance(obj, dict) and "id" in obj and any(k in obj for k in _RUN_MARKERS)


def merge_runs(post: list[Any], patch: list[Any]) -> list[dict[str, Any]]:
    """Posted runs updated by the patches with the same id (a patch's non-null fields win)."""
    runs: dict[str, dict[str, Any]] = {}
    for run in post:
        if isinstance(run, dict) and run.get("id") is not None:
            runs[str(run["id"])] = dict(run)
    for run in patch:
        if not isinstance(run, dict) or run.get("id") is None:
            continue
        target = runs.setdefault(str(run["id"]), {})
        target.update({k: v for k, v in run.items() if v is not None})
    return list(runs.values())


def _duration_ms(start: Any, end: Any) -> float | None:
    a = parse_timestamp(iso_timestamp(start))
    b = parse_timestamp(iso_timestamp(end))
    if a is None or b is None:
        return None
    return round((b - a).total_seconds() * 1000.0, 3)


def _first_generation(outputs: dict[str, Any]) -> dict[str, Any] | None:
    gens = outputs.get("generations")
    first = gens[0] if isinstance(gens, list) and gens else None
    if isinstance(first, list):
        first = first[0] if first else None
    return first if isinstance(first, dict) else None


def _usage(
    run: dict[str, Any], outputs: dict[str, Any]
) -> tuple[int | None, int | None, dict[str, Any] | None]:
    """(input, output, usage dict) from usage_metadata, an OpenAI usage, LangChain's llm_output or the run's counts."""
    candidates: list[Any] = [outputs.get("usage_metadata"), outputs.get("usage")]
    llm_output = outputs.get("llm_output")
    if isinstance(llm_output, dict):
        candidates += [llm_output.get("token_usage"), llm_output.get("usage")]
    gen = _first_generation(outputs)
    if gen is not None:
        msg = gen.get("message")
        if isinstance(msg, dict):
            kwargs = msg.get("kwargs")
            if not isinstance(kwargs, dict):
                kwargs = msg
            candidates.append(kwargs.get("usage_metadata"))
    for usage in candidates:
        inp, out = usage_tokens(usage)
        if inp is not None or out is not None:
            return inp, out, usage
    inp, out = usage_tokens(
        {"input_tokens": run.get("prompt_tokens"), "output_tokens": run.get("completion_tokens")}
    )
    return inp, out, None


def _feedback(record: Record, stats: Any) -> None:
    """LangSmith's feedback_stats {key: {"n", "avg", ...}}: kept in metadata; a user-feedback key sets the score."""
    if not isinstance(stats, dict) or not stats:
        return
    record.metadata["feedback_stats"] = stats
    for key, value in stats.items():
        if is_feedback_name(key) and isinstance(value, dict):
            score = feedback_score(value.get("avg"))
            if score is not None:
                record.feedback_score = score
                return


#: run types that are LLM calls; the step kind of the others (unknown run types are chains)
LLM_RUN_TYPES = frozenset({"llm", "chat"})
RUN_KINDS = {
    "tool": "tool",
    "retriever": "retriever",
    "embedding": "embedding",
    "chain": "chain",
    "prompt": "chain",
    "parser": "chain",
}


def _place(record: Record, run: dict[str, Any], meta: dict[str, Any]) -> None:
    """A run's time, error, trace, parent, name, session and user; its name, tags, project,
    status and dotted order in metadata."""
    record.timestamp = iso_timestamp(run.get("start_time"))
    record.latency_ms = _duration_ms(run.get("start_time"), run.get("end_time"))
    error = run.get("error")
    if error:
        record.error = error if isinstance(error, str) else dumps(error)
    record.trace_id = str(run["trace_id"]) if run.get("trace_id") else None
    parent = run.get("parent_run_id")
    record.parent_id = str(parent) if parent else None
    record.name = str(run["name"]) if run.get("name") else None
    session = next((meta[k] for k in _SESSION_KEYS if meta.get(k)), None)
    record.session_id = str(session) if session is not None else None
    user = meta.get("user_id") or meta.get("userId")
    record.user_id = str(user) if isinstance(user, str | int) else None
    md = record.metadata
    if run.get("name"):
        md["run_name"] = run["name"]
    if run.get("tags"):
        md["tags"] = run["tags"]
    if parent:
        md["parent_run_id"] = parent
    if run.get("session_name"):
        md["project"] = run["session_name"]
    if run.get("status"):
        md["status"] = run["status"]


def step_record(fmt: str, run: dict[str, Any], ctx: ParseContext, raw: str | None) -> Record:
    """A run that is not an LLM call as a step of its trace."""
    extra = as_dict(run.get("extra"))
    meta = as_dict(extra.get("metadata"))
    record = ctx.record(fmt, source_id=str(run["id"]), raw=raw)
    record.kind = RUN_KINDS.get(str(run.get("run_type")), "chain")
    record.inputs = decode(run.get("inputs"))
    record.outputs = decode(run.get("outputs"))
    _place(record, run, meta)
    md = record.metadata
    md["run_type"] = run.get("run_type")
    if run.get("dotted_order"):
        md["dotted_order"] = run["dotted_order"]
    inp, out, _usage_found = _usage(run, {})
    record.input_tokens, record.output_tokens = inp, out
    record.cost_usd = to_float(run.get("total_cost"))
    model = meta.get("ls_model_name")
    if record.kind == "embedding" and isinstance(model, str):
        record.model = model
    for key, value in meta.items():
        md.setdefault(key, value)
    _feedback(record, run.get("feedback_stats"))
    return record


def _run(fmt: str, run: dict[str, Any], ctx: ParseContext, raw: str | None) -> Record | None:
    """A run as an LLM record or a step; None for one without id or run type (a patch whose
    run was posted elsewhere: it cannot be placed)."""
    if run.get("id") is None or run.get("id") == "" or not run.get("run_type"):
        return None
    if str(run["run_type"]) in LLM_RUN_TYPES:
        return run_record(fmt, run, ctx, raw)
    return step_record(fmt, run, ctx, raw)


def run_record(fmt: str, run: dict[str, Any], ctx: ParseContext, raw: str | None) -> Record:
    """One LLM run as a record."""
    extra = as_dict(run.get("extra"))
    meta = as_dict(extra.get("metadata"))
    inputs = decode(run.get("inputs"))
    outputs = decode(run.get("outputs"))
    outputs = (
        outputs
        if isinstance(outputs, dict)
        else ({"output": outputs} if outputs is not None else {})
    )

    params: dict[str, Any] = {}
    messages = input_messages(inputs, params)
    invocation = extra.get("invocation_params")
    if isinstance(invocation, dict):
        for key, value in invocation.items():
            if key not in _INVOCATION_SKIP and value is not None:
                params.setdefault(key, value)
    for key, name in _LS_PARAMS.items():
        if meta.get(key) is not None:
            params.setdefault(name, meta[key])

    model = meta.get("ls_model_name")
    if not model and isinstance(inputs, dict):
        model = inputs.get("model")
    if not model and isinstance(invocation, dict):
        model = invocation.get("model") or invocation.get("model_name")
    if not model:
        model = outputs.get("model")
    provider = norm_provider(meta.get("ls_provider")) or guess_provider(model)

    record = ctx.record(
        fmt,
        source_id=str(run["id"]) if run.get("id") else None,
        raw=raw,
        provider=provider,
        model=model,
    )
    record.params = params
    record.messages = messages
    record.output = output_message(outputs) if outputs else None
    record.input_tokens, record.output_tokens, usage = _usage(run, outputs)
    record.cost_usd = to_float(run.get("total_cost"))
    _place(record, run, meta)
    md = record.metadata
    if outputs.get("model") and outputs.get("model") != model:
        md["response_model"] = outputs["model"]
    choices = outputs.get("choices")
    if (
        isinstance(choices, list)
        and choices
        and isinstance(choices[0], dict)
        and choices[0].get("finish_reason")
    ):
        md["finish_reason"] = choices[0]["finish_reason"]
    gen = _first_generation(outputs)
    if (
        gen is not None
        and isinstance(gen.get("generation_info"), dict)
        and gen["generation_info"].get("finish_reason")
    ):
        md["finish_reason"] = gen["generation_info"]["finish_reason"]
    if outputs.get("system_fingerprint"):
        md["system_fingerprint"] = outputs["system_fingerprint"]
    if isinstance(usage, dict):
        for key in (
            "input_token_details",
            "output_token_details",
            "prompt_tokens_details",
            "completion_tokens_details",
        ):
            if usage.get(key):
                md[key] = usage[key]
    for key, value in meta.items():
        md.setdefault(key, value)
    _feedback(record, run.get("feedback_stats"))
    return record


class LangSmithRuns(LogFormat):
    """LangSmith run payloads {"post", "patch"} and exported run objects."""

    name = "langsmith"
    detect_keys = frozenset({"run_type", "post", "patch"})

    def detect(self, obj: Any) -> bool:
        if not isinstance(obj, dict):
            return False
        if "run_type" in obj and "id" in obj and ("inputs" in obj or "outputs" in obj):
            return True
        post, patch = obj.get("post"), obj.get("patch")
        if not isinstance(post, list) and not isinstance(patch, list):
            return False
        items = [
            *(post if isinstance(post, list) else ()),
            *(patch if isinstance(patch, list) else ()),
        ]
        return bool(items) and _is_run(items[0])

    def parse(self, obj: dict[str, Any], ctx: ParseContext) -> Iterable[Record]:
        if "run_type" in obj and "id" in obj:
            record = _run(self.name, obj, ctx, None)
            if record is not None:
                yield record
            return
        for run in merge_runs(obj.get("post") or [], obj.get("patch") or []):
            record = _run(self.name, run, ctx, dumps(run))
            if record is not None:
                yield record
