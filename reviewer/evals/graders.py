"""Graders: each gives a `Grade` (pass, score in 0..1, reason) for one output.

A grader is a spec, as written in a prompt file's `graders:` list:

    - {type: equals, value: "A-10423", ignore_case: true, strip: true}   # alias: exact
    - {type: contains, value: "30 days"}          # value: a text or a list (all must appear)
    - {type: icontains, value: "30 days"}         # contains, ignoring case
    - {type: not_contains, value: ["90 days", "90-day"], ignore_case: true}
    - {type: regex, value: "\\b30 (days|Tage|jours|días)\\b"}          # re.search
    - {type: is_json}                             # alias: json_valid
    - {type: json_schema, value: {type: object, required: [order_id]}}
    - {type: similarity, threshold: 0.6}          # token F1 against the item's expected answer
    - {type: llm_judge, rubric: "...", model: gpt-4o, provider: openai, threshold: 0.5}
    - {type: pairwise, rubric: "...", both_orders: true}   # new output against the baseline
    - {type: python, value: "my_checks:polite"}   # module:function or path/file.py:function

Shorthands: `- is_json` and `- {contains: "30 days"}`. Every spec may carry a `name`, the
label of its grades. `check_graders` checks specs up front and says what is wrong where.

A dataset item's own assertions (contains, not_contains, icontains, regex, json_schema,
equals, is_json) are graders too and apply on top of the prompt's (`grade` adds them).

Type names and their spellings are one vocabulary with the dataset items' assertions
(`reviewer.assertions`); JSON Schema is checked with the `jsonschema` package.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import inspect
import json
import math
import os
import re
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from reviewer.assertions import (
    CHECK_KEYS,
    ITEM_TYPES,
    TYPES,
    canonical_type,
    schema_errors,
    schema_problem,
)

#: The judge: an async function (messages, model, provider) -> the judge's text.
JudgeFn = Callable[[list[dict[str, Any]], str, str | None], Awaitable[str]]

DEFAULT_JUDGE_MODEL = "gpt-4o-mini"
#: How the reason of a judge's grade begins when its answer held no verdict (counted in the
#: summary of a run).
UNREADABLE_JUDGE = "unreadable judge answer"
DEFAULT_SIMILARITY = 0.6
DEFAULT_PAIRWISE_RUBRIC = (
    "Which answer serves the user better: correct, complete, following the instructions "
    "and the user's constraints, in the user's language, concise?"
)


@dataclass(slots=True)
class Grade:
    """One grader's verdict on one output."""

    grader: str
    passed: bool
    score: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Grade:
        return cls(
            grader=str(data.get("grader", "")),
            passed=bool(data.get("passed")),
            score=float(data.get("score") or 0.0),
            reason=str(data.get("reason", "")),
        )


class GraderError(ValueError):
    """A grader spec that cannot be used; `where[index].field: reason`."""

    def __init__(
        self, reason: str, *, where: str = "", index: int | None = None, field: str | None = None
    ) -> None:
        self.reason = reason
        self.where = where
        self.index = index
        self.field = field
        loc = where
        if index is not None:
            loc += f"[{index}]"
        if field:
            loc += f".{field}" if loc else field
        super().__init__(f"{loc}: {reason}" if loc else reason)


# -- specs ------------------------------------------------------------------------------------

#: The keys each grader type takes (besides `type` and `name`): the shared vocabulary.
GRADER_KEYS = CHECK_KEYS
GRADER_TYPES = TYPES
_PROVIDERS = ("openai", "anthropic", "echo", "replay")
_python_functions: dict[str, Callable[..., Any]] = {}


_type_name = canonical_type


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def _quote(value: Any, limit: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 2] + '…"'


def _label(spec: dict[str, Any]) -> str:
    kind = spec["type"]
    value = spec.get("value")
    if kind in ("equals", "contains", "icontains", "not_contains", "regex"):
        if isinstance(value, list):
            return f"{kind} [{', '.join(_quote(v, 30) for v in value)}]"
        if kind == "equals" and not isinstance(value, str):
            return "equals (JSON)"
        return f"{kind} {_quote(value)}"
    if kind == "python":
        return f"python {value}"
    return str(kind)


def _expand(raw: Any) -> dict[str, Any]:
    """Shorthands to the full form: `is_json` and `{contains: "x"}`."""
    if isinstance(raw, str):
        if _type_name(raw) is None:
            raise GraderError(f"unknown grader type {raw!r} ({', '.join(GRADER_TYPES)})")
        return {"type": raw}
    if not isinstance(raw, dict):
        raise GraderError(f"a grader is a mapping with a type, not {_kind(raw)}")
    if "type" in raw:
        return dict(raw)
    typed = [k for k in raw if _type_name(k) is not None]
    if len(typed) != 1:
        raise GraderError(
            f"give the grader's type (type: one of {', '.join(GRADER_TYPES)})", field="type"
        )
    key = typed[0]
    spec = {k: v for k, v in raw.items() if k != key}
    spec["type"] = key
    if raw[key] is not None:
        spec["value"] = raw[key]
    return spec


def _bool(spec: dict[str, Any], key: str, default: bool) -> bool:
    value = spec.get(key, default)
    if not isinstance(value, bool):
        raise GraderError(f"true or false, not {_kind(value)}", field=key)
    return value


def _threshold(spec: dict[str, Any], default: float) -> float:
    value = spec.get("threshold", default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise GraderError(f"a number from 0 to 1, not {value!r}", field="threshold")
    return float(value)


def _texts(spec: dict[str, Any], kind: str) -> str | list[str]:
    value = spec.get("value")
    if isinstance(value, str) and value:
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return list(value)
    raise GraderError(
        f"{kind} needs a text (or a list of texts), not {_kind(value)}", field="value"
    )


def normalize_grader(raw: Any) -> dict[str, Any]:
    """One spec in full form, with its options' defaults and a `name`; GraderError (with
    `field`) says what is wrong."""
    spec = _expand(raw)
    kind = _type_name(spec.get("type"))
    if kind is None:
        raise GraderError(
            f"unknown grader type {spec.get('type')!r} ({', '.join(GRADER_TYPES)})", field="type"
        )
    if kind == "is_json" and isinstance(spec.get("value"), dict):
        kind = "json_schema"  # promptfoo's is-json with a schema
    spec["type"] = kind
    allowed = {"type", "name", *GRADER_KEYS[kind]}
    for key in spec:
        if key not in allowed:
            known = ", ".join(sorted(allowed - {"type"}))
            raise GraderError(f"unknown key {key!r} for {kind} (it takes {known})", field=key)
    name = spec.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise GraderError(f"a label text, not {_kind(name)}", field="name")
    out: dict[str, Any] = {"type": kind}
    if kind == "equals":
        value = spec.get("value")
        if value is None:
            raise GraderError("equals needs the exact text (or a JSON value)", field="value")
        out["value"] = value
        out["ignore_case"] = _bool(spec, "ignore_case", False)
        out["strip"] = _bool(spec, "strip", True)
    elif kind in ("contains", "not_contains"):
        out["value"] = _texts(spec, kind)
        out["ignore_case"] = _bool(spec, "ignore_case", False)
    elif kind == "icontains":
        out["value"] = _texts(spec, kind)
        out["ignore_case"] = True
    elif kind == "regex":
        value = spec.get("value")
        if not isinstance(value, str) or not value:
            raise GraderError(f"regex needs a pattern, not {_kind(value)}", field="value")
        out["ignore_case"] = _bool(spec, "ignore_case", False)
        try:
            re.compile(value, re.IGNORECASE if out["ignore_case"] else 0)
        except re.error as exc:
            raise GraderError(f"the regex does not compile: {exc}", field="value") from None
        out["value"] = value
    elif kind == "is_json":
        if spec.get("value") is not None:
            raise GraderError("is_json takes no value (or a JSON Schema mapping)", field="value")
    elif kind == "json_schema":
        value = spec.get("value")
        if not isinstance(value, dict):
            raise GraderError(
                f"json_schema needs a JSON Schema mapping, not {_kind(value)}", field="value"
            )
        problem = schema_problem(value)
        if problem:
            raise GraderError(f"not a valid JSON Schema: {problem}", field="value")
        out["value"] = value
    elif kind == "similarity":
        value = spec.get("value")
        if value is not None and not isinstance(value, str):
            raise GraderError(
                f"the reference text (default: the item's expected answer), not {_kind(value)}",
                field="value",
            )
        if value is not None:
            out["value"] = value
        out["threshold"] = _threshold(spec, DEFAULT_SIMILARITY)
    elif kind in ("llm_judge", "pairwise"):
        if "rubric" in spec and "value" in spec:
            raise GraderError("give the rubric once (rubric or value)", field="value")
        judge_file = spec.get("judge")
        if judge_file is not None:
            if kind != "llm_judge" or not isinstance(judge_file, str) or not judge_file.strip():
                raise GraderError(
                    "judge names a judge file of prompts/ (kind: judge), for llm_judge",
                    field="judge",
                )
            out["judge"] = judge_file.strip()
            for key in ("judge_version", "judge_note"):
                if key in spec:
                    out[key] = spec[key]
        rubric = spec.get("rubric", spec.get("value"))
        if rubric is None and judge_file is not None:  # filled from the judge file at run time
            rubric = f"(the judge {judge_file})"
        field = "rubric" if "rubric" in spec else "value"
        if rubric is None and kind == "pairwise":
            rubric = DEFAULT_PAIRWISE_RUBRIC
        if not isinstance(rubric, str) or not rubric.strip():
            raise GraderError(f"{kind} needs a rubric text, not {_kind(rubric)}", field=field)
        out["rubric"] = rubric
        for key in ("provider", "model"):
            value = spec.get(key)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise GraderError(f"a text, not {_kind(value)}", field=key)
            out[key] = value
        if out["provider"] is not None and out["provider"] not in _PROVIDERS:
            raise GraderError(
                f"one of {', '.join(_PROVIDERS)}, not {out['provider']!r}", field="provider"
            )
        if kind == "llm_judge":
            out["threshold"] = _threshold(spec, 0.5)
        else:
            out["both_orders"] = _bool(spec, "both_orders", False)
    elif kind == "python":
        if "function" in spec and "value" in spec:
            raise GraderError("give the function once (function or value)", field="value")
        field = "function" if "function" in spec else "value"
        ref = spec.get(field)
        if not isinstance(ref, str) or ":" not in ref.strip(":"):
            raise GraderError(
                f"python needs module:function (or path/file.py:function), not {_short(ref)}",
                field=field,
            )
        try:
            _python_function(ref)
        except GraderError as exc:
            raise GraderError(exc.reason, field=field) from None
        out["value"] = ref
        out["threshold"] = _threshold(spec, 0.5)
    out["name"] = name.strip() if isinstance(name, str) else _label(out)
    return out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_graders(specs: Any, where: str = "graders") -> list[dict[str, Any]]:
    """Check a list of grader specs; the normalized specs, or GraderError naming
    `where[index].field` and what is wrong."""
    if specs is None:
        return []
    if not isinstance(specs, list):
        raise GraderError(f"a list of graders, not {_kind(specs)}", where=where)
    out = []
    for i, raw in enumerate(specs):
        try:
            out.append(normalize_grader(raw))
        except GraderError as exc:
            raise GraderError(exc.reason, where=where, index=i, field=exc.field) from None
    return out


def item_assertions(item: dict[str, Any]) -> list[dict[str, Any]]:
    """A dataset item's own assertions as graders (labelled `... (item)`)."""
    raw = item.get("assertions") or []
    where = f"item {item.get('id')} assertions" if item.get("id") else "assertions"
    if not isinstance(raw, list):
        raise GraderError(f"a list of assertions, not {_kind(raw)}", where=where)
    out = []
    for i, assertion in enumerate(raw):
        if not isinstance(assertion, dict):
            raise GraderError(f"an assertion is a mapping, not {_kind(assertion)}", where=where)
        kind = _type_name(assertion.get("type"))
        if kind not in ITEM_TYPES:
            raise GraderError(
                f"not an assertion type: {assertion.get('type')!r}",
                where=where,
                index=i,
                field="type",
            )
        spec = {"type": kind}
        if assertion.get("value") is not None:
            spec["value"] = assertion["value"]
        try:
            normalized = normalize_grader(spec)
        except GraderError as exc:
            raise GraderError(exc.reason, where=where, index=i, field=exc.field) from None
        normalized["name"] = f"{normalized['name']} (item)"
        out.append(normalized)
    return out


# -- python functions -------------------------------------------------------------------------


def _python_function(ref: str) -> Callable[..., Any]:
    """Import `module:function` (or `path/file.py:function`, relative to the current folder),
    once; GraderError says what failed."""
    cached = _python_functions.get(ref)
    if cached is not None:
        return cached
    module_ref, _, func_name = ref.strip().rpartition(":")
    if not module_ref or not func_name:
        raise GraderError(f"python needs module:function, not {ref!r}")
    try:
        if module_ref.endswith(".py") or "/" in module_ref or os.sep in module_ref:
            path = Path(module_ref).resolve()
            if not path.is_file():
                raise GraderError(f"no such file: {module_ref}")
            mod_name = f"_reviewer_grader_{abs(hash(str(path)))}"
            spec = importlib.util.spec_from_file_location(mod_name, path)
            if spec is None or spec.loader is None:
                raise GraderError(f"cannot load {module_ref} as a Python module")
            module = importlib.util.module_from_spec(spec)
            sys.modules[mod_name] = module
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_ref)
    except GraderError:
        raise
    except Exception as exc:
        raise GraderError(f"cannot import {module_ref!r}: {type(exc).__name__}: {exc}") from None
    func = getattr(module, func_name, None)
    if func is None:
        raise GraderError(f"module {module_ref!r} has no function {func_name!r}")
    if not callable(func):
        raise GraderError(f"{module_ref}:{func_name} is not a function")
    _python_functions[ref] = func
    return func


def _python_grade(spec: dict[str, Any], result: Any) -> Grade:
    name = spec["name"]
    threshold = spec.get("threshold", 0.5)
    if isinstance(result, Grade):
        return result
    if isinstance(result, bool):
        return Grade(name, result, 1.0 if result else 0.0, f"returned {result}")
    if isinstance(result, int | float) and not isinstance(result, bool):
        score = _clamp(float(result))
        passed = score >= threshold
        op = ">=" if passed else "<"
        return Grade(name, passed, score, f"score {score:.2f} {op} {threshold:.2f}")
    if isinstance(result, tuple) and len(result) in (2, 3) and isinstance(result[0], bool):
        passed = result[0]
        if len(result) == 2:
            return Grade(name, passed, 1.0 if passed else 0.0, str(result[1]))
        score = result[1]
        if isinstance(score, int | float) and not isinstance(score, bool):
            return Grade(name, passed, _clamp(float(score)), str(result[2]))
    if isinstance(result, dict) and ("pass" in result or "passed" in result):
        passed = bool(result.get("pass", result.get("passed")))
        raw_score = result.get("score")
        score = (
            _clamp(float(raw_score))
            if isinstance(raw_score, int | float) and not isinstance(raw_score, bool)
            else (1.0 if passed else 0.0)
        )
        return Grade(name, passed, score, str(result.get("reason", "")))
    return Grade(
        name,
        False,
        0.0,
        f"returned {_kind(result)}; expected a bool, a number, (bool, reason), "
        "(bool, score, reason), a mapping with pass or a Grade",
    )


async def _run_python(spec: dict[str, Any], item: dict[str, Any], output: str) -> Grade:
    func = _python_function(spec["value"])
    try:
        if inspect.iscoroutinefunction(func):
            result = await func(output, item)
        else:  # off the event loop: a custom check may be slow
            result = await asyncio.to_thread(func, output, item)
            if inspect.isawaitable(result):
                result = await result
    except Exception as exc:
        return Grade(spec["name"], False, 0.0, f"raised {type(exc).__name__}: {exc}")
    return _python_grade(spec, result)


# -- deterministic graders --------------------------------------------------------------------


def _clamp(value: float) -> float:
    if math.isnan(value):
        return 0.0
    return min(1.0, max(0.0, value))


def _snippet(text: str, start: int, end: int, width: int = 20) -> str:
    left = max(0, start - width)
    right = min(len(text), end + width)
    piece = " ".join(text[left:right].split())
    return ("…" if left > 0 else "") + piece + ("…" if right < len(text) else "")


def _contains(spec: dict[str, Any], output: str) -> Grade:
    needles = spec["value"] if isinstance(spec["value"], list) else [spec["value"]]
    hay = output.casefold() if spec["ignore_case"] else output
    found = [n for n in needles if (n.casefold() if spec["ignore_case"] else n) in hay]
    missing = [n for n in needles if n not in found]
    score = len(found) / len(needles)
    if missing:
        return Grade(spec["name"], False, score, "missing " + ", ".join(_quote(n) for n in missing))
    return Grade(spec["name"], True, 1.0, "found " + ", ".join(_quote(n) for n in found))


def _not_contains(spec: dict[str, Any], output: str) -> Grade:
    needles = spec["value"] if isinstance(spec["value"], list) else [spec["value"]]
    hay = output.casefold() if spec["ignore_case"] else output
    hits = []
    for needle in needles:
        at = hay.find(needle.casefold() if spec["ignore_case"] else needle)
        if at >= 0:
            hits.append(f"{_quote(needle)}: {_snippet(output, at, at + len(needle))}")
    if hits:
        score = 1.0 - len(hits) / len(needles)
        return Grade(spec["name"], False, score, "found " + "; ".join(hits))
    return Grade(spec["name"], True, 1.0, "absent: " + ", ".join(_quote(n) for n in needles))


def _equals(spec: dict[str, Any], output: str) -> Grade:
    want = spec["value"]
    name = spec["name"]
    if not isinstance(want, str):  # a JSON value: compare values
        try:
            got = orjson.loads(output)
        except orjson.JSONDecodeError as exc:
            return Grade(name, False, 0.0, f"not JSON: {exc}")
        if got == want:
            return Grade(name, True, 1.0, "equal JSON value")
        return Grade(name, False, 0.0, f"JSON value differs: expected {_quote(want, 80)}")
    got_text = output.strip() if spec["strip"] else output
    want_text = want.strip() if spec["strip"] else want
    if spec["ignore_case"]:
        got_cmp, want_cmp = got_text.casefold(), want_text.casefold()
    else:
        got_cmp, want_cmp = got_text, want_text
    if got_cmp == want_cmp:
        return Grade(name, True, 1.0, "equal")
    at = next(
        (i for i, (a, b) in enumerate(zip(got_cmp, want_cmp, strict=False)) if a != b),
        min(len(got_cmp), len(want_cmp)),
    )
    return Grade(
        name,
        False,
        0.0,
        f"differs at char {at}: expected {_quote(want_text[at : at + 20])}, "
        f"got {_quote(got_text[at : at + 20])}",
    )


def _regex(spec: dict[str, Any], output: str) -> Grade:
    flags = re.IGNORECASE if spec["ignore_case"] else 0
    match = re.compile(spec["value"], flags).search(output)
    if match:
        return Grade(
            spec["name"], True, 1.0, f"matched {_quote(match.group(0))} at char {match.start()}"
        )
    return Grade(spec["name"], False, 0.0, f"no match for {_quote(spec['value'])}")


def _parse_json(output: str) -> tuple[Any, str | None]:
    if not output.strip():
        return None, "not JSON: the output is empty"
    try:
        return orjson.loads(output), None
    except orjson.JSONDecodeError as exc:
        return None, f"not JSON: {exc}"


def _is_json(spec: dict[str, Any], output: str) -> Grade:
    _, error = _parse_json(output)
    if error:
        return Grade(spec["name"], False, 0.0, error)
    return Grade(spec["name"], True, 1.0, "valid JSON")


def _json_schema(spec: dict[str, Any], output: str) -> Grade:
    value, error = _parse_json(output)
    if error:
        return Grade(spec["name"], False, 0.0, error)
    errors = schema_errors(spec["value"], value)
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return Grade(spec["name"], False, 0.0, errors[0] + more)
    return Grade(spec["name"], True, 1.0, "matches the schema")


_TOKEN = re.compile(r"\w+")


def tokens(text: str) -> list[str]:
    """Words, case-folded: what similarity compares."""
    return _TOKEN.findall(text.casefold())


def token_f1(output: str, reference: str) -> float:
    """Token-overlap F1 (SQuAD style, multiset overlap) between two texts."""
    got, want = tokens(output), tokens(reference)
    if not got or not want:
        return 1.0 if got == want else 0.0
    common = sum((Counter(got) & Counter(want)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(got), common / len(want)
    return 2 * precision * recall / (precision + recall)


def _similarity(spec: dict[str, Any], item: dict[str, Any], output: str) -> Grade | None:
    reference = spec.get("value")
    if reference is None:
        expected = item.get("expected")
        if not isinstance(expected, str) or not expected.strip():
            return None  # nothing to compare with: no grade
        reference = expected
    score = token_f1(output, reference)
    threshold = spec["threshold"]
    passed = score >= threshold
    op = ">=" if passed else "<"
    return Grade(spec["name"], passed, score, f"token F1 {score:.2f} {op} {threshold:.2f}")


# -- judges -----------------------------------------------------------------------------------

JUDGE_SYSTEM = (
    "You are a strict, fair evaluator of an AI assistant's answer. Grade the answer against "
    "the rubric, using the conversation it answered and, when given, a reference answer that "
    "a human reviewer considers correct. Reply with one JSON object and nothing else: "
    '{"pass": true or false, "score": a number from 0 to 1, "reason": "one or two sentences"}.'
)
PAIRWISE_SYSTEM = (
    "You compare two answers of an AI assistant to the same conversation. Decide which one is "
    "better given the rubric; the order in which they are shown means nothing, and length is "
    "not quality. Reply with one JSON object and nothing else: "
    '{"winner": "A" or "B" or "tie", "reason": "one or two sentences"}.'
)


def transcript(messages: list[dict[str, Any]]) -> str:
    """A conversation as plain text for a judge (system messages left out)."""
    lines = []
    for message in messages:
        role = message.get("role", "user")
        if role == "system":
            continue
        content = message.get("content") or ""
        if not isinstance(content, str):
            content = json.dumps(content, ensure_ascii=False)
        if content:
            lines.append(f"{role}: {content}")
        for call in message.get("tool_calls") or []:
            lines.append(f"{role} calls {call.get('name')}({call.get('arguments') or ''})")
    return "\n".join(lines)


def _judge_input(item: dict[str, Any]) -> str:
    text = transcript(list(item.get("messages") or []))
    if not text and item.get("vars"):
        text = json.dumps(item["vars"], ensure_ascii=False, indent=1)
    return text or "(no input)"


def judge_messages(rubric: str, item: dict[str, Any], output: str) -> list[dict[str, Any]]:
    """The llm_judge's request: the rubric, the input, the output and the expected answer."""
    expected = item.get("expected")
    reference = expected if isinstance(expected, str) and expected.strip() else "(none)"
    user = (
        f"<rubric>\n{rubric.strip()}\n</rubric>\n\n"
        f"<conversation>\n{_judge_input(item)}\n</conversation>\n\n"
        f"<answer>\n{output}\n</answer>\n\n"
        f"<reference>\n{reference}\n</reference>"
    )
    return [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": user}]


def pairwise_messages(
    rubric: str, item: dict[str, Any], answer_a: str, answer_b: str
) -> list[dict[str, Any]]:
    """The pairwise judge's request: the rubric, the input and the two answers."""
    user = (
        f"<rubric>\n{rubric.strip()}\n</rubric>\n\n"
        f"<conversation>\n{_judge_input(item)}\n</conversation>\n\n"
        f"<answer_a>\n{answer_a}\n</answer_a>\n\n"
        f"<answer_b>\n{answer_b}\n</answer_b>"
    )
    return [{"role": "system", "content": PAIRWISE_SYSTEM}, {"role": "user", "content": user}]


def find_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in a text (alone, in a code fence, or amid prose), else None."""
    stripped = text.strip()
    try:
        value = json.loads(stripped)
        if isinstance(value, dict):
            return value
    except ValueError:
        pass
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start >= 0:
        try:
            value, _ = decoder.raw_decode(text, start)
        except ValueError:
            value = None
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    return None


_TRUE = {"true", "yes", "pass", "passed", "y", "1"}
_FALSE = {"false", "no", "fail", "failed", "n", "0"}


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    if isinstance(value, int | float):
        return bool(value)
    return None


def _as_score(value: Any) -> float | None:
    if isinstance(value, str):
        try:
            value = float(value.strip().rstrip("%")) / (100 if value.strip().endswith("%") else 1)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return None
    score = float(value)
    if 1 < score <= 10:  # a judge that scored out of 10 (or 100)
        score /= 10
    elif 10 < score <= 100:
        score /= 100
    return _clamp(score)


def _clip(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def parse_judgement(text: str, threshold: float = 0.5) -> tuple[bool, float, str] | None:
    """A judge's answer as (pass, score, reason); None when it holds no usable JSON object.
    A missing pass is score >= threshold; a missing score is 1 or 0 from pass."""
    obj = find_json_object(text)
    if obj is None:
        return None
    passed = _as_bool(obj.get("pass", obj.get("passed", obj.get("verdict"))))
    score = _as_score(obj.get("score"))
    if passed is None and score is None:
        return None
    if passed is None:
        passed = score is not None and score >= threshold
    if score is None:
        score = 1.0 if passed else 0.0
    reason = obj.get("reason", obj.get("explanation", obj.get("rationale", "")))
    return passed, score, str(reason) if reason is not None else ""


def parse_winner(text: str) -> str | None:
    """A pairwise judge's answer: "A", "B" or "tie"; None when unreadable."""
    obj = find_json_object(text)
    if obj is None:
        return None
    raw = obj.get("winner", obj.get("better", obj.get("preferred", obj.get("choice"))))
    if not isinstance(raw, str):
        return None
    word = raw.strip().lower().removeprefix("answer").strip(" _-")
    if word in ("a", "answer_a", "1", "first"):
        return "A"
    if word in ("b", "answer_b", "2", "second"):
        return "B"
    if word in ("tie", "equal", "both", "same", "draw", "neither", "none"):
        return "tie"
    return None


def judge_target(
    spec: dict[str, Any], default_model: str | None, default_provider: str | None
) -> tuple[str, str | None]:
    model = (
        spec.get("model")
        or os.environ.get("REVIEWER_JUDGE_MODEL")
        or default_model
        or DEFAULT_JUDGE_MODEL
    )
    provider = spec.get("provider") or os.environ.get("REVIEWER_JUDGE_PROVIDER") or default_provider
    return model, provider


async def _llm_judge(
    spec: dict[str, Any],
    item: dict[str, Any],
    output: str,
    judge: JudgeFn,
    model: str,
    provider: str | None,
) -> Grade:
    text = await judge(judge_messages(spec["rubric"], item, output), model, provider)
    verdict = parse_judgement(text, spec["threshold"])
    if verdict is None:
        return Grade(spec["name"], False, 0.0, f"{UNREADABLE_JUDGE}: {_clip(text)}")
    passed, score, reason = verdict
    return Grade(spec["name"], passed, score, reason)


_OUTCOME_WORDS = {1: "new better", 0: "tie", -1: "baseline better"}


async def _pairwise(
    spec: dict[str, Any],
    item: dict[str, Any],
    output: str,
    baseline: str,
    judge: JudgeFn,
    model: str,
    provider: str | None,
) -> Grade:
    name = spec["name"]
    if output == baseline:
        return Grade(name, True, 0.5, "the same answer as the baseline")
    rubric = spec["rubric"]
    # baseline first is the natural "before -> after" order; both_orders asks again swapped
    orders = [("baseline", "new")]
    if spec["both_orders"]:
        orders.append(("new", "baseline"))
    answers = {"new": output, "baseline": baseline}
    texts = await asyncio.gather(
        *(
            judge(pairwise_messages(rubric, item, answers[a], answers[b]), model, provider)
            for a, b in orders
        )
    )
    outcomes: list[int] = []
    reasons: list[str] = []
    for (first, second), text in zip(orders, texts, strict=True):
        winner = parse_winner(text)
        if winner is None:
            return Grade(name, False, 0.0, f"{UNREADABLE_JUDGE}: {_clip(text)}")
        obj = find_json_object(text) or {}
        reason = str(obj.get("reason", obj.get("explanation", "")) or "")
        if winner == "tie":
            outcome = 0
        else:
            outcome = 1 if (first if winner == "A" else second) == "new" else -1
        outcomes.append(outcome)
        reasons.append(reason)
    mean = sum(outcomes) / len(outcomes)
    score = (mean + 1) / 2
    passed = mean >= 0
    if len(outcomes) == 1:
        return Grade(name, passed, score, f"{_OUTCOME_WORDS[outcomes[0]]}: {reasons[0]}")
    if set(outcomes) == {1, -1}:
        verdict = "the two orders disagree (position bias), counted as a tie"
    else:
        verdict = _OUTCOME_WORDS[1 if mean > 0 else -1 if mean < 0 else 0]
    detail = " | ".join(
        f"{'baseline' if first == 'baseline' else 'new'} first: {_OUTCOME_WORDS[o]}: {r}"
        for (first, _), o, r in zip(orders, outcomes, reasons, strict=True)
    )
    return Grade(name, passed, score, f"{verdict} ({detail})")


# -- grading ----------------------------------------------------------------------------------


async def _one(
    spec: dict[str, Any],
    item: dict[str, Any],
    output: str,
    baseline: str | None,
    judge: JudgeFn | None,
    judge_model: str | None,
    judge_provider: str | None,
) -> Grade | None:
    kind = spec["type"]
    if kind == "equals":
        return _equals(spec, output)
    if kind in ("contains", "icontains"):
        return _contains(spec, output)
    if kind == "not_contains":
        return _not_contains(spec, output)
    if kind == "regex":
        return _regex(spec, output)
    if kind == "is_json":
        return _is_json(spec, output)
    if kind == "json_schema":
        return _json_schema(spec, output)
    if kind == "similarity":
        return _similarity(spec, item, output)
    if kind == "python":
        return await _run_python(spec, item, output)
    if kind == "pairwise" and baseline is None:
        return None  # nothing to compare with: no grade
    if judge is None:
        raise GraderError(f"{spec['name']}: {kind} needs a judge (a model to ask)")
    model, provider = judge_target(spec, judge_model, judge_provider)
    if kind == "llm_judge":
        return await _llm_judge(spec, item, output, judge, model, provider)
    assert baseline is not None
    return await _pairwise(spec, item, output, baseline, judge, model, provider)


async def grade(
    specs: list[dict[str, Any]],
    item: dict[str, Any],
    output: str,
    *,
    baseline: str | None = None,
    judge: JudgeFn | None = None,
    judge_model: str | None = None,
    judge_provider: str | None = None,
) -> list[Grade]:
    """Grade one output with `specs` and then the item's own assertions, in that order.

    Graders with nothing to compare (similarity without an expected answer, pairwise without
    a baseline) give no grade. Judges are asked concurrently; their model and provider come
    from the spec, else REVIEWER_JUDGE_MODEL / REVIEWER_JUDGE_PROVIDER, else `judge_model` /
    `judge_provider` (the prompt's), else gpt-4o-mini. An exception of the judge propagates
    (the caller records the item as an error); an unreadable judge answer is a failed grade.
    """
    checked = [normalize_grader(s) for s in specs] + item_assertions(item)
    results = await asyncio.gather(
        *(_one(s, item, output, baseline, judge, judge_model, judge_provider) for s in checked)
    )
    return [g for g in results if g is not None]


def overall(grades: list[Grade]) -> tuple[bool | None, float | None]:
    """An item's verdict: passed when every grade passed, the mean score; (None, None) when
    nothing graded it."""
    if not grades:
        return None, None
    return all(g.passed for g in grades), sum(g.score for g in grades) / len(grades)
