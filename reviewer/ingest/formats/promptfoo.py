"""promptfoo: CSV test files (and the production-log CSVs people feed to it), and the results
of `promptfoo eval -o results.json` (`promptfoo-results`, at the end of this module).

promptfoo reads a CSV row as one test case (see promptfoo's `testCaseFromCsvRow`):

* plain columns are the test's vars;
* `__expected`, `__expected1`, `__expected2`, ... are assertions written as text
  ("contains: x", "llm-rubric: ...", "not-icontains: y", "similar(0.9): z", "javascript: ...");
  a text with no known type is an `equals` assertion;
* `__metadata:key` is a metadata value, `__metadata:key[]` a comma list where "\\," is a literal comma;
* `__config:__expected:threshold` / `__config:__expectedN:threshold` set an assertion's threshold;
* `__description`, `__providerOutput`, `__metric`, `__threshold`, `__prefix`, `__suffix` are options.

Each row becomes one record. Its input is the column named like input/prompt/question/query/
user/user_input/message, or, when there is none, a user message made of the vars (the single value,
or "name: value" lines). Its output is the column named like output/response/answer/completion/
last_assistant/assistant (or `__providerOutput`), else None. All plain columns are kept as
metadata["vars"] (promptfoo passes all of them to the prompt), the assertions as
metadata["assertions"] ([{"type", "value", "threshold"?, "metric"?}]) and metadata columns as
metadata keys; session/user/trace id, timestamp, model and provider columns fill their fields.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from reviewer.ingest.base import LogFormat, ParseContext, Rejected, as_dict, as_json, dumps
from reviewer.messages import make, merge_output, to_messages
from reviewer.records import Record, iso_timestamp, to_float, to_int

INPUT_COLUMNS = ("input", "prompt", "question", "query", "user", "user_input", "message")
OUTPUT_COLUMNS = ("output", "response", "answer", "completion", "last_assistant", "assistant")
SYSTEM_COLUMNS = ("system", "system_prompt")
_FIELD_COLUMNS = {
    "session_id": ("session_id", "sessionid", "conversation_id", "thread_id"),
    "user_id": ("user_id", "userid"),
    "trace_id": ("trace_id", "traceid", "request_id"),
    "timestamp": ("timestamp", "created_at", "time", "date"),
    "model": ("model",),
    "provider": ("provider",),
    "latency_ms": ("latency_ms", "duration_ms"),
    "cost_usd": ("cost_usd", "cost"),
}

#: promptfoo's assertion types (BaseAssertionTypes); longer names are tried first.
ASSERTION_TYPES = sorted(
    (
        "answer-relevance",
        "bleu",
        "classifier",
        "contains",
        "contains-all",
        "contains-any",
        "contains-html",
        "contains-json",
        "contains-sql",
        "contains-xml",
        "context-faithfulness",
        "context-recall",
        "context-relevance",
        "conversation-relevance",
        "cost",
        "equals",
        "factuality",
        "finish-reason",
        "g-eval",
        "gleu",
        "guardrails",
        "icontains",
        "icontains-all",
        "icontains-any",
        "is-html",
        "is-json",
        "is-refusal",
        "is-sql",
        "is-valid-function-call",
        "is-valid-openai-function-call",
        "is-valid-openai-tools-call",
        "is-xml",
        "javascript",
        "latency",
        "levenshtein",
        "llm-rubric",
        "max-score",
        "meteor",
        "model-graded-closedqa",
        "model-graded-factuality",
        "moderation",
        "perplexity",
        "perplexity-score",
        "pi",
        "python",
        "regex",
        "rouge-n",
        "ruby",
        "select-best",
        "similar",
        "sql",
        "starts-with",
        "trace-error-spans",
        "trace-span-count",
        "trace-span-duration",
        "webhook",
        "word-count",
    ),
    key=len,
    reverse=True,
)
_ASSERTION_RE = re.compile(
    r"^(not-)?("
    + "|".join(re.escape(t) for t in ASSERTION_TYPES)
    + r")(?:\((\d+(?:\.\d+)?)\))?(?::([\s\S]*))?$"
)
_LIST_TYPES = ("contains-all", "contains-any", "icontains-all", "icontains-any")
_UNESCAPED_COMMA = re.compile(r"(?<!\\),")


def assertion_from_string(text: str) -> dict[str, Any]:
    """A promptfoo assertion from its CSV text, as promptfoo reads it."""
    text = text.strip()
    for prefix in ("javascript:", "fn:", "eval:"):
        if text.startswith(prefix):
            return {"type": "javascript", "value": text[len(prefix) :].strip()}
    for prefix in ("grade:", "llm-rubric:"):
        if text.startswith(prefix):
            return {"type": "llm-rubric", "value": text[len(prefix) :].strip()}
    if text.startswith("python:"):
        return {"type": "python", "value": text[len("python:") :].strip()}
    if text.startswith("file://"):
        target = text[len("file://") :].strip()
        if target.endswith(".py") or ".py:" in target:
            return {"type": "python", "value": target}
        if target.endswith((".js", ".ts")) or ".js:" in target or ".ts:" in target:
            return {"type": "javascript", "value": target}
    match = _ASSERTION_RE.match(text)
    if match is None:
        return {"type": "equals", "value": text}
    negate, kind, threshold, value = match.groups()
    out: dict[str, Any] = {"type": f"not-{kind}" if negate else kind}
    value = (value or "").strip()
    out["value"] = [v.strip() for v in value.split(",")] if kind in _LIST_TYPES else value
    if threshold is not None:
        out["threshold"] = float(threshold)
    return out


def metadata_list(text: str) -> list[str]:
    """A `__metadata:key[]` cell: comma-separated values where "\\," is a literal comma."""
    return [v.strip().replace("\\,", ",") for v in _UNESCAPED_COMMA.split(text)]


def _column(row: dict[str, str], names: tuple[str, ...]) -> str | None:
    """The row's column whose (lower-cased, trimmed) name is first in `names`."""
    lowered = {k.strip().lower(): k for k in row}
    for name in names:
        if name in lowered:
            return lowered[name]
    return None


class PromptfooCsv(LogFormat):
    """promptfoo CSV test files and production-log CSVs with an input column."""

    name = "promptfoo-csv"
    kind = "csv"

    def detect(self, obj: Any) -> bool:
        if not isinstance(obj, dict):
            return False
        for key in obj:
            if not isinstance(key, str):
                continue
            k = key.strip()
            if (
                k.startswith(("__expected", "__metadata:"))
                or k == "__providerOutput"
                or k.lower() in INPUT_COLUMNS
            ):
                return True
        return False

    def parse(self, obj: dict[str, Any], ctx: ParseContext) -> Iterable[Record]:
        row = {
            k.strip(): ("" if v is None else str(v)) for k, v in obj.items() if isinstance(k, str)
        }
        variables: dict[str, str] = {}
        assertions: dict[str, dict[str, Any]] = {}  # column -> assertion, in column order
        thresholds: dict[str, float] = {}
        meta: dict[str, Any] = {}
        options: dict[str, Any] = {}
        provider_output: str | None = None
        for key, value in row.items():
            if key.startswith("__expected"):
                if value.strip():
                    assertions[key] = assertion_from_string(value)
            elif key.startswith("__metadata:"):
                name = key[len("__metadata:") :]
                if not value.strip():
                    continue
                if name.endswith("[]"):
                    meta[name[:-2]] = metadata_list(value)
                else:
                    meta[name] = value
            elif key.startswith("__config:"):
                target, _sep, option = key[len("__config:") :].partition(":")
                number = to_float(value)
                if option == "threshold" and target.startswith("__expected") and number is not None:
                    thresholds[target] = number
            elif key == "__providerOutput":
                provider_output = value or None
            elif key in ("__description", "__metric", "__prefix", "__suffix"):
                if value:
                    options[key[2:]] = value
            elif key == "__threshold":
                if to_float(value) is not None:
                    options["threshold"] = to_float(value)
            else:
                variables[key] = value
        for target, number in thresholds.items():
            # "__expected" names the first assertion when there is no plain __expected column
            column = target if target in assertions or target != "__expected" else "__expected1"
            if column in assertions:
                assertions[column]["threshold"] = number
        if options.get("metric"):
            for assertion in assertions.values():
                assertion["metric"] = options["metric"]

        record = ctx.record(self.name)
        input_col = _column(variables, INPUT_COLUMNS)
        output_col = _column(variables, OUTPUT_COLUMNS)
        system_col = _column(variables, SYSTEM_COLUMNS)
        messages = []
        if system_col and variables[system_col].strip():
            messages.append(make("system", variables[system_col]))
        if input_col is not None:
            if variables[input_col].strip():
                messages.append(make("user", variables[input_col]))
        else:
            used = {c for c in (output_col, system_col) if c}
            prompt_vars = {k: v for k, v in variables.items() if k not in used and v.strip()}
            for fields in _FIELD_COLUMNS.values():
                field_col = _column(prompt_vars, fields)
                if field_col is not None:
                    prompt_vars.pop(field_col)
            if len(prompt_vars) == 1:
                messages.append(make("user", next(iter(prompt_vars.values()))))
            elif prompt_vars:
                messages.append(
                    make("user", "\n".join(f"{k}: {v}" for k, v in prompt_vars.items()))
                )
        if not messages:
            raise Rejected(
                "promptfoo-csv: the row has no input text (its input column and vars are empty)"
            )
        record.messages = messages
        output_text = (
            variables[output_col] if output_col and variables[output_col] else provider_output
        )
        record.output = make("assistant", output_text) if output_text else None
        self._fields(record, variables)

        if variables:
            record.metadata["vars"] = variables
        if assertions:
            record.metadata["assertions"] = list(assertions.values())
        for key, value in options.items():
            record.metadata.setdefault(key, value)
        for key, value in meta.items():
            record.metadata.setdefault(key, value)
        yield record

    def _fields(self, record: Record, variables: dict[str, str]) -> None:
        """Session, user, trace, time, model, provider, latency and cost columns."""
        for field, names in _FIELD_COLUMNS.items():
            column = _column(variables, names)
            value = variables.get(column, "").strip() if column else ""
            if not value:
                continue
            if field == "timestamp":
                record.timestamp = iso_timestamp(value)
            elif field in ("latency_ms", "cost_usd"):
                setattr(record, field, to_float(value))
            else:
                setattr(record, field, value)


# -- promptfoo eval results: `promptfoo eval -o results.json` (and .jsonl) ---------------------


def is_results_file(obj: Any) -> bool:
    """`{evalId, results: {version, timestamp, prompts, results: [...], stats}, config, ...}`."""
    inner = obj.get("results") if isinstance(obj, dict) else None
    return (
        isinstance(inner, dict)
        and isinstance(inner.get("results"), list)
        and ("evalId" in obj or "version" in inner or "stats" in inner)
    )


def is_result_row(obj: Any) -> bool:
    """One EvaluateResult (a line of `-o results.jsonl`, an element of `results.results`)."""
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("prompt"), dict)
        and ("testCase" in obj or "vars" in obj)
        and ("response" in obj or "gradingResult" in obj or "success" in obj)
        and ("promptIdx" in obj or "testIdx" in obj or "latencyMs" in obj)
    )


def prompt_messages(prompt: Any) -> list[dict[str, Any]]:
    """The rendered prompt: `raw` may be a JSON chat array (or object), else it is one user text."""
    raw = prompt.get("raw") if isinstance(prompt, dict) else prompt
    if not isinstance(raw, str):
        return to_messages(raw) if raw is not None else []
    decoded = as_json(raw)
    if (
        isinstance(decoded, list)
        and decoded
        and all(isinstance(m, dict) and "role" in m for m in decoded)
    ):
        return to_messages(decoded)
    if isinstance(decoded, dict) and "role" in decoded:
        return to_messages(decoded)
    return [make("user", raw)] if raw else []


def split_provider(provider_id: Any) -> tuple[str | None, str | None]:
    """("openai", "gpt-4.1-mini") from "openai:gpt-4.1-mini" or "openai:chat:gpt-4.1-mini"."""
    if not isinstance(provider_id, str) or not provider_id:
        return None, None
    head, sep, rest = provider_id.partition(":")
    if not sep:
        return None, provider_id
    for kind in ("chat:", "completion:", "responses:", "messages:"):
        if rest.startswith(kind):
            rest = rest[len(kind) :]
    return head, rest or None


class PromptfooResults(LogFormat):
    """promptfoo eval output: one record per result row (a prompt × test case × provider)."""

    name = "promptfoo-results"
    detect_keys = frozenset({"results", "prompt"})

    def detect(self, obj: Any) -> bool:
        return is_results_file(obj) or is_result_row(obj)

    def parse(self, obj: Any, ctx: ParseContext) -> Iterable[Record]:
        if is_result_row(obj):
            yield self._row(obj, {}, ctx, raw=None)
            return
        inner = obj["results"]
        shared = {
            "eval_id": obj.get("evalId"),
            "timestamp": inner.get("timestamp"),
            "version": inner.get("version"),
            "description": as_dict(obj.get("config")).get("description"),
        }
        for row in inner["results"]:
            if isinstance(row, dict):
                yield self._row(row, shared, ctx, raw=dumps(row))

    def _row(
        self, row: dict[str, Any], shared: dict[str, Any], ctx: ParseContext, raw: str | None
    ) -> Record:
        eval_id = shared.get("eval_id") or row.get("evalId")
        row_id = row.get("id")
        if isinstance(row_id, str) and row_id:
            source_id = row_id
        elif eval_id is not None:
            source_id = f"{eval_id}:{row.get('testIdx')}:{row.get('promptIdx')}:{as_dict(row.get('provider')).get('id')}"
        else:
            source_id = None
        record = ctx.record(self.name, source_id=source_id, raw=raw)
        record.messages = prompt_messages(row.get("prompt"))
        response = as_dict(row.get("response"))
        output = response.get("output")
        if output is not None and output != "":
            record.output = (
                merge_output(to_messages(output, "assistant"))
                if not isinstance(output, str)
                else make("assistant", output)
            )
        provider = row.get("provider")
        provider_id = provider.get("id") if isinstance(provider, dict) else provider
        record.provider, record.model = split_provider(provider_id)
        usage = as_dict(response.get("tokenUsage")) or as_dict(row.get("tokenUsage"))
        record.input_tokens, record.output_tokens = (
            to_int(usage.get("prompt")),
            to_int(usage.get("completion")),
        )
        record.latency_ms = to_float(row.get("latencyMs"))
        record.cost_usd = to_float(row.get("cost"))
        if record.cost_usd is None:
            record.cost_usd = to_float(response.get("cost"))
        record.timestamp = iso_timestamp(shared.get("timestamp") or row.get("timestamp"))
        error = row.get("error") or response.get("error")
        if error:
            record.error = error if isinstance(error, str) else dumps(error)
        test = as_dict(row.get("testCase"))
        meta: dict[str, Any] = {}
        for key in ("eval_id", "description", "version"):
            if shared.get(key) is not None:
                meta[key] = shared[key]
        variables = row.get("vars") if isinstance(row.get("vars"), dict) else test.get("vars")
        if variables:
            meta["vars"] = variables
        for key in ("success", "score", "failureReason"):
            if row.get(key) is not None:
                meta[key] = row[key]
        if row.get("namedScores"):
            meta["namedScores"] = row["namedScores"]
        grading = row.get("gradingResult")
        if isinstance(grading, dict):
            meta["grading"] = grading
        if test.get("description"):
            meta["test"] = test["description"]
        if test.get("assert"):
            meta["assertions"] = test["assert"]
        if isinstance(test.get("metadata"), dict):
            for key, value in test["metadata"].items():
                meta.setdefault(key, value)
        prompt = as_dict(row.get("prompt"))
        if prompt.get("label"):
            meta["prompt_label"] = prompt["label"]
        for key in ("promptId", "promptIdx", "testIdx"):
            if row.get(key) is not None:
                meta[key] = row[key]
        if isinstance(provider, dict) and provider.get("label"):
            meta["provider_label"] = provider["label"]
        if response.get("cached") is not None:
            meta["cached"] = response["cached"]
        record.metadata = meta
        return record
