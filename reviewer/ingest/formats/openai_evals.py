"""OpenAI Evals (github.com/openai/evals): sample files and the JSONL log of an eval run.

A sample line is a test case: `{"input": [chat messages] | "text", "ideal": "..." | [...]}`,
sometimes with more keys. It becomes a record with the input and no output; the ideal answers
are kept in metadata (`ideal`). `reviewer datasets import --format openai-evals` makes them
dataset items.

A run log (`oaieval ... --record_path run.jsonl`) has a `{"spec": {...}}` line, a
`{"final_report": {...}}` line and one line per event: `{"run_id", "event_id", "sample_id",
"type": "sampling" | "match" | "metrics" | ..., "data", "created_by", "created_at"}`. Each
sampling event (`data.prompt`, `data.sampled`, and in newer logs `model` and `usage`) becomes
one record, graded by the `match` event of its sample (`correct`, `expected`, `picked`).

The join works like the OpenAI Batch one (input lines remembered, output lines joined): the spec
and each sampling event are remembered through the parse context (keys `openai-evals:spec:RUN`
and `openai-evals:RUN:SAMPLE`), and a match event yields the records of its sample's sampling
events. Each line is parsed on its own; the remembered parts are kept in the database (as the
skipped lines of the report), so a sampling event no match event follows is kept there too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from reviewer.ingest.base import LogFormat, ParseContext, Rejected, dumps, usage_tokens
from reviewer.messages import make, to_messages
from reviewer.records import Record, iso_timestamp

_EVENT_KEYS = ("run_id", "event_id", "sample_id", "type", "data")


def is_event(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and all(k in obj for k in _EVENT_KEYS)
        and isinstance(obj.get("type"), str)
        and ("created_at" in obj or "created_by" in obj)
    )


def is_spec(obj: Any) -> bool:
    spec = obj.get("spec") if isinstance(obj, dict) else None
    return isinstance(spec, dict) and ("eval_name" in spec or "completion_fns" in spec)


def is_final_report(obj: Any) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("final_report"), dict)


def is_sample(obj: Any) -> bool:
    """A sample line: input and ideal (the test case of an eval's samples.jsonl)."""
    return (
        isinstance(obj, dict)
        and "input" in obj
        and "ideal" in obj
        and isinstance(obj["input"], str | list)
    )


def spec_key(run_id: Any) -> str:
    return f"openai-evals:spec:{run_id}"


def sample_key(run_id: Any, sample_id: Any) -> str:
    return f"openai-evals:{run_id}:{sample_id}"


def prompt_messages(prompt: Any) -> list[dict[str, Any]]:
    """An Evals prompt: chat messages, or a text (completion-style prompts) as a user message."""
    if isinstance(prompt, str):
        return [make("user", prompt)] if prompt else []
    if isinstance(prompt, list) and all(isinstance(m, dict) for m in prompt):
        return to_messages(prompt)
    if prompt is None:
        return []
    return to_messages(prompt)


class OpenAIEvals(LogFormat):
    """OpenAI Evals samples (`input`, `ideal`) and run logs (spec, events, final report)."""

    name = "openai-evals"
    detect_keys = frozenset({"run_id", "spec", "final_report", "ideal"})

    def detect(self, obj: Any) -> bool:
        return is_event(obj) or is_spec(obj) or is_final_report(obj) or is_sample(obj)

    def parse(self, obj: Any, ctx: ParseContext) -> Iterable[Record]:
        if is_spec(obj):
            spec = obj["spec"]
            run_id = spec.get("run_id")
            if run_id is None:
                raise Rejected("openai-evals: the spec line has no run_id")
            ctx.remember_batch_request(spec_key(run_id), spec)
            return
        if is_final_report(obj):
            return  # the run's totals: no call of its own (the raw line is not a record)
        if is_sample(obj):
            yield self._sample(obj, ctx)
            return
        if not is_event(obj):
            raise Rejected("openai-evals: not a sample, spec, final report or event line")
        data = obj["data"]
        if not isinstance(data, dict):
            raise Rejected(f"openai-evals: the {obj['type']} event's data is not an object")
        kind = obj["type"]
        key = sample_key(obj["run_id"], obj["sample_id"])
        if kind == "sampling":
            earlier = ctx.batch_requests(key)
            events = list(earlier.get("sampling") or []) if isinstance(earlier, dict) else []
            # the same event read again (the file imported twice) replaces itself
            events = [e for e in events if e.get("event_id") != obj["event_id"]]
            events.append(obj)
            ctx.remember_batch_request(key, {"sampling": events})
            return
        if kind != "match":
            return  # metrics, info and other events grade or describe, and hold no call
        yield from self._match(obj, data, key, ctx)

    def _sample(self, obj: dict[str, Any], ctx: ParseContext) -> Record:
        messages = prompt_messages(obj["input"])
        if not messages:
            raise Rejected("openai-evals: the sample's input is empty")
        record = ctx.record(self.name)
        record.messages = messages
        record.metadata = {k: v for k, v in obj.items() if k != "input"}
        return record

    def _match(
        self, match: dict[str, Any], data: dict[str, Any], key: str, ctx: ParseContext
    ) -> Iterable[Record]:
        remembered = ctx.batch_requests(key)
        samplings = remembered.get("sampling") if isinstance(remembered, dict) else None
        spec = ctx.batch_requests(spec_key(match["run_id"])) or {}
        if not samplings:
            if data.get("sampled") is None:
                raise Rejected(
                    f"openai-evals: match event of sample {match['sample_id']!r} has no sampling "
                    "event before it and no sampled answer"
                )
            samplings = [None]
        for sampling in samplings:
            yield self._record(sampling, match, data, spec, ctx)

    def _record(
        self,
        sampling: dict[str, Any] | None,
        match: dict[str, Any],
        grade: dict[str, Any],
        spec: dict[str, Any],
        ctx: ParseContext,
    ) -> Record:
        event = sampling if isinstance(sampling, dict) else match
        sdata = event["data"] if isinstance(event.get("data"), dict) else {}
        source_id = f"{event['run_id']}:{event['event_id']}"
        raw = dumps({"sampling": sampling, "match": match}) if sampling is not None else None
        record = ctx.record(self.name, source_id=source_id, raw=raw)
        record.messages = prompt_messages(sdata.get("prompt"))
        sampled = sdata.get("sampled")
        first = (sampled[0] if sampled else None) if isinstance(sampled, list) else sampled
        if first is not None:
            record.output = make("assistant", first if isinstance(first, str) else dumps(first))
        fns = spec.get("completion_fns")
        model = sdata.get("model")
        if not isinstance(model, str) and isinstance(fns, list) and fns:
            model = fns[0] if isinstance(fns[0], str) else None
        record.model = model if isinstance(model, str) else None
        record.input_tokens, record.output_tokens = usage_tokens(sdata.get("usage"))
        record.timestamp = iso_timestamp(event.get("created_at"))
        record.trace_id = str(event["run_id"])
        meta: dict[str, Any] = {
            "run_id": event["run_id"],
            "sample_id": event["sample_id"],
            "event_id": event["event_id"],
        }
        if spec.get("eval_name"):
            meta["eval_name"] = spec["eval_name"]
        if isinstance(sampled, list) and len(sampled) > 1:
            meta["sampled"] = sampled
        for name in ("correct", "expected", "picked"):
            if name in grade:
                meta[name] = grade[name]
        rest = {k: v for k, v in grade.items() if k not in ("correct", "expected", "picked")}
        if rest.get("sampled") == sampled:
            rest.pop("sampled")
        if rest:
            meta["match"] = rest  # the grade's other fields (options, ...)
        meta["match_event_id"] = match["event_id"]
        for name, value in sdata.items():
            if name not in ("prompt", "sampled", "model", "usage"):
                meta.setdefault(name, value)
        if event.get("created_by"):
            meta["created_by"] = event["created_by"]
        record.metadata = meta
        return record
