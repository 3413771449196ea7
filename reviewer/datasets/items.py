"""The canonical dataset item: one JSON object per test case, the line of a dataset's `jsonl`.

    {"id": "support-regressions/17",
     "messages": [{"role": "system", "content": "..."}, {"role": "user", "content": "..."}],
     "vars": {}, "expected": "the answer" | null,
     "assertions": [{"type": "contains", "value": "30 days"}],
     "themes": ["invented-policy"], "scores": {"helpful": 2}, "split": "train" | "test",
     "source": {"record_id": "...", "review_id": 42} | null,
        (a kept generated case adds "generated": {"parent", "kind", "model"}, a promoted trace
         "trace": {"id", "step_id", "step_kind"})
     "output": {"role": "assistant", "content": "the logged output"} | null,
     "tools": [{"type": "function", "function": {"name", "description", "parameters"}}]}

People write this shape by hand and from scripts, so `parse_item` checks every field and says
what is wrong and where (`assertions[1].value: ...`). This module also converts between the
shape and `dataset_items` rows, and hashes an item's content (everything but its id). `tools` are
the tool definitions the model was offered, in OpenAI's shape (`messages.to_openai_tools` reads
any logged shape); an item without tools hashes as it did before items had them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson

from reviewer.assertions import ITEM_TYPES, canonical_type, known_spellings, schema_problem
from reviewer.messages import to_openai_tools
from reviewer.store.events import ReviewError

#: The content of an item, in the order of the canonical shape (its id comes first).
CONTENT_KEYS = (
    "messages", "vars", "expected", "assertions", "themes", "scores", "split", "source", "output",
    "tools",
)  # fmt: skip
ITEM_KEYS = ("id", *CONTENT_KEYS)
ROLES = ("system", "user", "assistant", "tool")
MESSAGE_KEYS = ("role", "content", "tool_calls", "tool_call_id", "name", "parts", "error")
SPLITS = ("train", "test")
SOURCE_KEYS = ("record_id", "review_id", "generated", "trace")
#: What `source.generated` says of a generated case: the item it was made from, its kind
#: (paraphrase, language, edge, adversarial) and the model that wrote it.
GENERATED_KEYS = ("parent", "kind", "model")
#: What `source.trace` says of a case promoted from a trace's review: the trace, and the step
#: the review marked as where it went wrong (None: none marked) and that step's kind.
TRACE_KEYS = ("id", "step_id", "step_kind")

#: The assertion types an item may carry, as stored (the shared vocabulary's item types).
ASSERTION_TYPES = ITEM_TYPES
_TEXT_ASSERTIONS = ("contains", "not_contains", "icontains")

#: Template variables, where a log format keeps them in a record's metadata.
VARS_METADATA_KEYS = ("vars", "prompt_variables", "template_variables", "variables")

DEFAULT_TEST_SHARE = 0.2

T = TypeVar("T")


class DatasetError(ReviewError):
    """A dataset action that cannot be done (unknown dataset or item, bad value): says why."""


class ItemError(ValueError):
    """An item that does not have the canonical shape; the message names the field."""


@dataclass(frozen=True, slots=True)
class ParsedItem:
    """A checked item: its id when given, and its content (`split` None when not given)."""

    id: str | None
    content: dict[str, Any]


# -- hashing and splits -------------------------------------------------------------------------


def digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _stored(content: dict[str, Any]) -> dict[str, Any]:
    """The content in the canonical key order, `tools` left out when there are none (so an
    item without tools keeps the hash it had before items had tools)."""
    return {k: content.get(k) for k in CONTENT_KEYS if k != "tools" or content.get(k)}


def content_json(content: dict[str, Any]) -> bytes:
    """The content as JSON with sorted keys (at every level): what is hashed."""
    return orjson.dumps(_stored(content), option=orjson.OPT_SORT_KEYS)


def content_text(content: dict[str, Any]) -> str:
    """The content as JSON in the canonical key order: what is stored (and read back)."""
    return orjson.dumps(_stored(content)).decode()


def stored_content(data: dict[str, Any]) -> dict[str, Any]:
    """Stored content (`content_text`) as the canonical content: every key, `tools` a list."""
    out = {k: data.get(k) for k in CONTENT_KEYS}
    out["tools"] = out["tools"] or []
    return out


def content_hash(content: dict[str, Any]) -> str:
    """blake2b of the canonical content (messages, vars, expected, assertions, themes, scores,
    split, source, output, tools) with sorted keys: equal contents have equal hashes, in any
    workspace, whatever the order of their keys."""
    return digest(content_json(content))


def assign_split(key: str, test_share: float = DEFAULT_TEST_SHARE) -> str:
    """`test` for about `test_share` of the keys, else `train`: stable for a key."""
    if not 0.0 <= test_share <= 1.0:
        raise DatasetError(f"the test share is between 0 and 1, not {test_share}")
    h = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")
    return "test" if h / 2**64 < test_share else "train"


def hash_split(
    things: list[T], key: Callable[[T], str], held_out: float, *, seed: int = 0,
    both: bool = False,
) -> tuple[list[T], list[T]]:  # fmt: skip
    """(learn, held out): each thing by a seeded hash of its key (a record id, a case id), so a
    thing stays on its side whatever the order or the other things. With `both` (and two
    things or more) neither side is empty: the thing nearest the line crosses it."""
    marked: list[tuple[float, T]] = []
    for thing in things:
        h = hashlib.blake2b(f"{seed}:{key(thing)}".encode(), digest_size=8).digest()
        marked.append((int.from_bytes(h, "big") / 2**64, thing))
    hold = [m for m in marked if m[0] < held_out]
    learn = [m for m in marked if m[0] >= held_out]
    if both and len(marked) >= 2:
        if not hold:
            first = min(learn, key=lambda m: m[0])
            hold, learn = [first], [m for m in learn if m is not first]
        elif not learn:
            last = max(hold, key=lambda m: m[0])
            learn, hold = [last], [m for m in hold if m is not last]
    return [t for _h, t in learn], [t for _h, t in hold]


# -- checking -----------------------------------------------------------------------------------


def normalize_assertion(raw: Any, where: str = "assertion") -> dict[str, Any]:
    """One assertion as stored, {type, value}; ItemError says what is wrong with it."""
    if not isinstance(raw, dict):
        raise ItemError(f'{where}: an assertion is an object {{"type", "value"}}, not {_kind(raw)}')
    extra = sorted(set(raw) - {"type", "value"})
    if extra:
        raise ItemError(f"{where}: unknown key {extra[0]!r} (an assertion has type and value)")
    kind = raw.get("type")
    if not isinstance(kind, str) or not kind.strip():
        raise ItemError(f"{where}.type: give the assertion's type ({', '.join(ASSERTION_TYPES)})")
    norm = canonical_type(kind)
    if norm is not None and norm not in ASSERTION_TYPES:
        raise ItemError(
            f"{where}.type: {norm} needs a model or code, so it is a grader of the prompt "
            f"file, not an assertion of an item (items take {', '.join(ASSERTION_TYPES)})"
        )
    if norm is None:
        raise ItemError(
            f"{where}.type: unknown assertion type {kind!r} "
            f"(known: {known_spellings(ASSERTION_TYPES)})"
        )
    value = raw.get("value")
    if norm == "is_json" and isinstance(value, dict):
        norm = "json_schema"  # promptfoo's is-json with a schema
    if norm in _TEXT_ASSERTIONS:
        if not isinstance(value, str) or not value:
            raise ItemError(f"{where}.value: {norm} needs a text to look for, not {_kind(value)}")
    elif norm == "equals":
        if not isinstance(value, str):
            raise ItemError(f"{where}.value: equals needs the exact text, not {_kind(value)}")
    elif norm == "regex":
        if not isinstance(value, str) or not value:
            raise ItemError(f"{where}.value: regex needs a pattern, not {_kind(value)}")
        try:
            re.compile(value)
        except re.error as exc:
            raise ItemError(f"{where}.value: the regex does not compile: {exc}") from None
    elif norm == "json_schema":
        if not isinstance(value, dict):
            raise ItemError(
                f"{where}.value: json_schema needs a JSON Schema object, not {_kind(value)}"
            )
        problem = schema_problem(value)
        if problem:
            raise ItemError(f"{where}.value: not a valid JSON Schema: {problem}")
    elif value is not None:  # is_json
        raise ItemError(f"{where}.value: is_json takes no value (or a JSON Schema object)")
    return {"type": norm, "value": value}


def normalize_assertions(raw: Any, where: str = "assertions") -> list[dict[str, Any]]:
    """A list of assertions as stored (None is no assertions)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ItemError(f"{where}: a list of assertions, not {_kind(raw)}")
    return [normalize_assertion(a, f"{where}[{i}]") for i, a in enumerate(raw)]


def _message(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ItemError(f'{where}: a message is an object {{"role", "content"}}, not {_kind(raw)}')
    extra = sorted(set(raw) - set(MESSAGE_KEYS))
    if extra:
        raise ItemError(
            f"{where}: unknown key {extra[0]!r} (a message has {', '.join(MESSAGE_KEYS)})"
        )
    role = raw.get("role")
    if role not in ROLES:
        raise ItemError(f"{where}.role: one of {', '.join(ROLES)}, not {role!r}")
    content = raw.get("content")
    if content is None:
        content = ""
    if not isinstance(content, str):
        raise ItemError(f"{where}.content: the message's text, not {_kind(content)}")
    out: dict[str, Any] = {"role": role, "content": content}
    for key in ("tool_calls", "parts"):
        value = raw.get(key)
        if value in (None, []):
            continue
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise ItemError(f"{where}.{key}: a list of objects, not {_kind(value)}")
        out[key] = value
    for key in ("tool_call_id", "name", "error"):
        value = raw.get(key)
        if value in (None, ""):
            continue
        if not isinstance(value, str):
            raise ItemError(f"{where}.{key}: a text, not {_kind(value)}")
        out[key] = value
    # the canonical order: role, content, tool_calls, tool_call_id, name, parts, error
    return {k: out[k] for k in MESSAGE_KEYS if k in out}


def parse_item(raw: Any) -> ParsedItem:
    """Check one item in the canonical shape; ItemError names the field and what is wrong.

    Missing optional fields take their empty values; themes are normalised like the app's;
    assertion types are normalised (see `normalize_assertion`); `output` may be a text.
    """
    from reviewer.review.themes import ThemeError, normalize_theme

    if not isinstance(raw, dict):
        raise ItemError(f"an item is a JSON object, not {_kind(raw)}")
    extra = [k for k in raw if k not in ITEM_KEYS]
    if extra:
        raise ItemError(f"unknown key {extra[0]!r} (an item has {', '.join(ITEM_KEYS)})")

    item_id = raw.get("id")
    if isinstance(item_id, bool) or not isinstance(item_id, str | int | type(None)):
        raise ItemError(f"id: a text (or a number), not {_kind(item_id)}")
    if item_id is not None:
        item_id = str(item_id).strip()
        if not item_id:
            raise ItemError("id: empty (leave it out to have one made)")

    messages = raw.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ItemError(
            "messages: the input conversation, a non-empty list of "
            f'{{"role", "content"}} objects, not {_kind(messages)}'
        )
    checked = [_message(m, f"messages[{i}]") for i, m in enumerate(messages)]
    tools = _tools(raw.get("tools"))

    variables = raw.get("vars")
    if variables is None:
        variables = {}
    if not isinstance(variables, dict):
        raise ItemError(f"vars: an object of template variables, not {_kind(variables)}")

    expected = raw.get("expected")
    if expected is not None and not isinstance(expected, str):
        raise ItemError(
            f"expected: the expected answer as text, or null, not {_kind(expected)} "
            "(write expected JSON as a string)"
        )

    themes_raw = raw.get("themes")
    if themes_raw is None:
        themes_raw = []
    if not isinstance(themes_raw, list):
        raise ItemError(f"themes: a list of theme names, not {_kind(themes_raw)}")
    themes: list[str] = []
    for i, name in enumerate(themes_raw):
        if not isinstance(name, str):
            raise ItemError(f"themes[{i}]: a theme name, not {_kind(name)}")
        try:
            norm = normalize_theme(name)
        except ThemeError as exc:
            raise ItemError(f"themes[{i}]: {exc}") from None
        if norm not in themes:
            themes.append(norm)

    scores = raw.get("scores")
    if scores is None:
        scores = {}
    if not isinstance(scores, dict):
        raise ItemError(f"scores: an object of rubric scores, not {_kind(scores)}")
    for name, value in scores.items():
        if isinstance(value, dict | list):
            raise ItemError(
                f"scores.{name}: a number, text, true/false or null, not {_kind(value)}"
            )

    split = raw.get("split")
    if split is not None and split not in SPLITS:
        raise ItemError(f"split: train or test (or leave it out), not {split!r}")

    source = raw.get("source")
    if source is not None:
        if not isinstance(source, dict):
            raise ItemError(
                f"source: an object {{record_id, review_id}} or null, not {_kind(source)}"
            )
        extra = sorted(set(source) - set(SOURCE_KEYS))
        if extra:
            raise ItemError(
                f"source: unknown key {extra[0]!r} (source has {', '.join(SOURCE_KEYS)})"
            )
        record_id, review_id = source.get("record_id"), source.get("review_id")
        if record_id is not None and not isinstance(record_id, str):
            raise ItemError(f"source.record_id: a text or null, not {_kind(record_id)}")
        if review_id is not None and (
            isinstance(review_id, bool) or not isinstance(review_id, int)
        ):
            raise ItemError(f"source.review_id: a number or null, not {_kind(review_id)}")
        generated, trace = source.get("generated"), source.get("trace")
        source = {"record_id": record_id, "review_id": review_id}
        if generated is not None:
            source["generated"] = _texts(generated, "source.generated", GENERATED_KEYS)
        if trace is not None:
            source["trace"] = _texts(trace, "source.trace", TRACE_KEYS)

    output = raw.get("output")
    if isinstance(output, str):
        output = {"role": "assistant", "content": output}
    elif output is not None:
        output = _message(output, "output")

    content = {
        "messages": checked,
        "vars": variables,
        "expected": expected,
        "assertions": normalize_assertions(raw.get("assertions")),
        "themes": themes,
        "scores": scores,
        "split": split,
        "source": source,
        "output": output,
        "tools": tools,
    }
    return ParsedItem(item_id, content)


def _texts(raw: Any, where: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """`source.generated` or `source.trace` as stored: an object of `keys`, each a text or
    null."""
    if not isinstance(raw, dict):
        raise ItemError(f"{where}: an object {{{', '.join(keys)}}} or null, not {_kind(raw)}")
    extra = sorted(set(raw) - set(keys))
    if extra:
        raise ItemError(f"{where}: unknown key {extra[0]!r} (it has {', '.join(keys)})")
    for key in keys:
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            raise ItemError(f"{where}.{key}: a text or null, not {_kind(value)}")
    return {key: raw.get(key) for key in keys}


def _tools(raw: Any) -> list[dict[str, Any]]:
    """`tools` as stored: each definition in OpenAI's shape, whatever shape it was given in
    (see `messages.to_openai_tools`)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ItemError(f"tools: a list of tool definitions, not {_kind(raw)}")
    out: list[dict[str, Any]] = []
    for i, tool in enumerate(raw):
        converted = to_openai_tools([tool]) if isinstance(tool, dict) else []
        if not converted:
            raise ItemError(
                f'tools[{i}]: a tool definition {{"type": "function", "function": {{"name", '
                f'"description", "parameters"}}}}, not {_kind(tool)}'
            )
        out.extend(converted)
    return out


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, str):
        return "a text" if value else "an empty text"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


# -- rows ---------------------------------------------------------------------------------------


def _loads(text: str | None, empty: Any) -> Any:
    return orjson.loads(text) if text else empty


def _dumps(value: Any) -> str | None:
    """JSON text, None for an empty value (as promotion stores them)."""
    return orjson.dumps(value).decode() if value else None


def item_ref(row: Any, dataset_name: str) -> str:
    """The item's canonical id: the one an import gave it, else `<dataset>/<row id>`."""
    return row.ref if row.ref else f"{dataset_name}/{row.id}"


def linked_source(record_id: str | None, review_event_id: int | None) -> dict[str, Any] | None:
    """The source of an item promoted in this workspace: its record and review."""
    if record_id is None and review_event_id is None:
        return None
    return {"record_id": record_id, "review_id": review_event_id}


def row_source(row: Any) -> dict[str, Any] | None:
    """The canonical source of a row: as imported, else this workspace's record and review."""
    if row.source:
        return orjson.loads(row.source)  # type: ignore[no-any-return]
    return linked_source(row.record_id, row.review_event_id)


def content_from_row(row: Any) -> dict[str, Any]:
    """The canonical content of a `dataset_items` row (everything but the id)."""
    return {
        "messages": _loads(row.messages, []),
        "vars": _loads(row.vars, {}),
        "expected": row.expected,
        "assertions": _loads(row.assertions, []),
        "themes": _loads(row.themes, []),
        "scores": _loads(row.scores, {}),
        "split": row.split,
        "source": row_source(row),
        "output": _loads(row.output, None),
        "tools": _loads(row.tools, []),
    }


def item_from_row(row: Any, dataset_name: str) -> dict[str, Any]:
    """A `dataset_items` row as the canonical item."""
    return {"id": item_ref(row, dataset_name), **content_from_row(row)}


def row_values(content: dict[str, Any]) -> dict[str, Any]:
    """The `dataset_items` columns holding `content` (not `source`: see `source_value`)."""
    output = content.get("output")
    return {
        "messages": orjson.dumps(content.get("messages") or []).decode(),
        "vars": _dumps(content.get("vars")),
        "expected": content.get("expected"),
        "assertions": _dumps(content.get("assertions")),
        "themes": _dumps(content.get("themes")),
        "scores": _dumps(content.get("scores")),
        "split": content.get("split") or "test",
        "output": orjson.dumps(output).decode() if output else None,
        "tools": _dumps(content.get("tools")),
    }


def record_vars(record: dict[str, Any]) -> dict[str, Any]:
    """The template variables a record's log kept (in its metadata), else {}."""
    metadata = record.get("metadata") or {}
    for key in VARS_METADATA_KEYS:
        value = metadata.get(key)
        if isinstance(value, dict) and value:
            return value
    return {}
