"""Dataset items from other eval tools' files: OpenAI Evals samples and promptfoo results.

`reviewer datasets import NAME FILE --format F` reads FILE with the importer's reader (JSON lines,
one JSON document, gzipped or not) and turns each test case into a canonical item
(`reviewer.datasets.items`), which is then checked and written like a `jsonl` item:

* `openai-evals`: a sample line `{"input": [messages] | "text", "ideal": "..." | [...]}`. The
  input becomes the messages, the (first) ideal the expected answer; several ideals are all kept
  in `vars.ideal`, and other keys of the sample in `vars`.
* `promptfoo-results`: the output of `promptfoo eval -o results.json` (or `.jsonl`). One item
  per test case (its rows for several prompts and providers share it): the rendered prompt of
  its first row, its vars, the expected answer from its first `equals` (else `contains`)
  assertion, and its assertions where the item vocabulary has them (equals, contains,
  icontains, not-contains, regex, starts-with, is-json); when some are not (llm-rubric,
  javascript, similar, ...) the complete list is kept in `vars.__promptfoo_assert`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from reviewer.datasets.items import ItemError, normalize_assertion
from reviewer.ingest.formats import openai_evals, promptfoo
from reviewer.ingest.reader import (
    DEFAULT_MAX_LINE_BYTES,
    Item,
    Source,
    iter_array,
    iter_document,
    iter_jsonl,
    open_source,
    sniff_kind,
)

#: the formats `datasets import --format` reads (`jsonl`: the canonical item shape)
CASE_FORMATS = ("jsonl", "openai-evals", "promptfoo-results")
_MAX_DOCUMENT = 1 << 31

#: promptfoo assertion types an item can carry, as ours
_PROMPTFOO_TYPES = {
    "equals": "equals",
    "contains": "contains",
    "icontains": "icontains",
    "not-contains": "not_contains",
    "regex": "regex",
    "is-json": "is_json",
}

Case = tuple[int, Any, str | None]


def _objects(path: Path) -> Iterator[tuple[int, Any, str | None]]:
    """(line, parsed JSON, reading error) for each JSON line, document or array element."""
    stream, _counter, _total = open_source(Source(str(path), path))
    try:
        kind = sniff_kind(stream, path.name)
        items: Iterator[Item]
        if kind == "json":
            items = iter_document(stream, _MAX_DOCUMENT)
        elif kind == "array":
            items = iter_array(stream)
        else:
            items = iter_jsonl(stream, DEFAULT_MAX_LINE_BYTES)
        for item in items:
            if item.error is not None:
                yield item.line, None, item.error
                continue
            if item.obj is not None:
                yield item.line, item.obj, None
                continue
            try:
                yield item.line, orjson.loads(item.raw), None
            except orjson.JSONDecodeError as exc:
                yield item.line, None, f"not valid JSON: {exc}"
    finally:
        stream.close()


def case_items(path: Path, fmt: str) -> Iterator[Case]:
    """(line, canonical item dict, None) per test case, or (line, None, reason)."""
    if fmt == "openai-evals":
        yield from _evals_samples(path)
    elif fmt == "promptfoo-results":
        yield from _promptfoo_cases(path)
    else:  # pragma: no cover - the caller checks the name
        raise ValueError(fmt)


def _evals_samples(path: Path) -> Iterator[Case]:
    for line, obj, error in _objects(path):
        if error is not None:
            yield line, None, error
        elif not openai_evals.is_sample(obj):
            if openai_evals.OpenAIEvals().detect(obj):
                why = (
                    "an OpenAI Evals run log line, not a sample (`reviewer import` reads run logs)"
                )
            else:
                why = "not an OpenAI Evals sample: a sample has `input` and `ideal`"
            yield line, None, why
        else:
            yield line, *evals_case(obj)


def evals_case(sample: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    messages = openai_evals.prompt_messages(sample["input"])
    if not messages:
        return None, "input: empty"
    ideal = sample["ideal"]
    ideals = ideal if isinstance(ideal, list) else [ideal]
    texts = [i for i in ideals if isinstance(i, str)]
    variables = {k: v for k, v in sample.items() if k not in ("input", "ideal")}
    if len(ideals) > 1 or len(texts) != len(ideals):
        variables["ideal"] = ideal
    return {"messages": messages, "vars": variables, "expected": texts[0] if texts else None}, None


def _promptfoo_cases(path: Path) -> Iterator[Case]:
    seen: set[str] = set()
    for line, obj, error in _objects(path):
        if error is not None:
            yield line, None, error
            continue
        if promptfoo.is_results_file(obj):
            rows = list(enumerate(obj["results"]["results"], start=1))
        elif promptfoo.is_result_row(obj):
            rows = [(line, obj)]
        else:
            yield line, None, "not promptfoo eval results (no `results.results` rows)"
            continue
        for number, row in rows:
            if not isinstance(row, dict):
                yield number, None, "a result row is not an object"
                continue
            test: dict[str, Any] = row["testCase"] if isinstance(row.get("testCase"), dict) else {}
            key = (
                f"idx:{row['testIdx']}"
                if isinstance(row.get("testIdx"), int)
                else orjson.dumps(test or row.get("vars"), option=orjson.OPT_SORT_KEYS).decode()
            )
            if key in seen:
                continue  # the same test case, for another prompt or provider
            seen.add(key)
            yield number, *promptfoo_case(row, test)


def promptfoo_case(
    row: dict[str, Any], test: dict[str, Any]
) -> tuple[dict[str, Any] | None, str | None]:
    messages = promptfoo.prompt_messages(row.get("prompt"))
    if not messages:
        return None, "the result row has no rendered prompt"
    raw_vars = test.get("vars") if isinstance(test.get("vars"), dict) else row.get("vars")
    variables = dict(raw_vars) if isinstance(raw_vars, dict) else {}
    asserts: list[Any] = test["assert"] if isinstance(test.get("assert"), list) else []
    assertions: list[dict[str, Any]] = []
    expected: dict[str, str] = {}
    kept_all = True
    for a in asserts:
        kind = a.get("type") if isinstance(a, dict) else None
        value = a.get("value") if isinstance(a, dict) else None
        ours = _PROMPTFOO_TYPES.get(kind) if isinstance(kind, str) else None
        if kind == "starts-with" and isinstance(value, str):
            ours, value = "regex", "^" + re.escape(value)
        if ours is None:
            kept_all = False
            continue
        spec: dict[str, Any] = {"type": ours}
        if value is not None:
            spec["value"] = value
        try:
            assertions.append(normalize_assertion(spec))
        except ItemError:
            kept_all = False
            continue
        if ours in ("equals", "contains") and isinstance(value, str):
            expected.setdefault(ours, value)
        if set(a) - {"type", "value"}:  # a threshold, weight, metric ... is not kept on an item
            kept_all = False
    if not kept_all:
        variables["__promptfoo_assert"] = asserts
    case: dict[str, Any] = {
        "messages": messages,
        "vars": variables,
        "expected": expected.get("equals") or expected.get("contains"),
        "assertions": assertions,
    }
    return case, None
