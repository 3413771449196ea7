"""One vocabulary for what an output must satisfy, shared by graders and dataset items.

A prompt file's `graders:` and a dataset item's `assertions` are written with the same type
names and the same spellings of them; a spelling means the same type in both places. Items
carry only the checks that need no model and no code ({type, value}: `ITEM_TYPES`); graders
take every type, with options (`CHECK_KEYS`).

JSON Schema is checked with the `jsonschema` package (a dependency, imported when a schema is
first used), so a `json_schema` check grades alike on every machine.
"""

from __future__ import annotations

from typing import Any

#: Every check type, with the keys its grader spec takes (besides `type` and `name`).
CHECK_KEYS: dict[str, tuple[str, ...]] = {
    "equals": ("value", "ignore_case", "strip"),
    "contains": ("value", "ignore_case"),
    "icontains": ("value", "ignore_case"),
    "not_contains": ("value", "ignore_case"),
    "regex": ("value", "ignore_case"),
    "is_json": ("value",),
    "json_schema": ("value",),
    "similarity": ("value", "threshold"),
    "llm_judge": (
        "rubric",
        "value",
        "provider",
        "model",
        "threshold",
        "judge",
        "judge_version",
        "judge_note",
    ),
    "pairwise": ("rubric", "value", "provider", "model", "both_orders"),
    "python": ("value", "function", "threshold"),
}
TYPES = tuple(CHECK_KEYS)

#: The types a dataset item's assertions may have: the checks that need no model and no code.
ITEM_TYPES = ("contains", "not_contains", "icontains", "regex", "json_schema", "equals", "is_json")

#: Other spellings (after lowercasing and `-` to `_`): ours and promptfoo's.
ALIASES = {
    "exact": "equals",
    "equal": "equals",
    "json_valid": "is_json",
    "valid_json": "is_json",
    "jsonschema": "json_schema",
    "contains_json_schema": "json_schema",
    "regexp": "regex",
    "matches": "regex",
    "must_contain": "contains",
    "must_not_contain": "not_contains",
    "not_contain": "not_contains",
    "similar": "similarity",
    "llm_rubric": "llm_judge",
    "judge": "llm_judge",
    "rubric": "llm_judge",
    "custom": "python",
}


def spelled(raw: str) -> str:
    """The spelling compared with the names: lowercase, `-` and spaces as `_`."""
    return raw.strip().lower().replace("-", "_").replace(" ", "_")


def canonical_type(raw: Any) -> str | None:
    """The check type `raw` names (any spelling), or None when it names none."""
    if not isinstance(raw, str):
        return None
    name = spelled(raw)
    name = ALIASES.get(name, name)
    return name if name in CHECK_KEYS else None


def known_spellings(types: tuple[str, ...] = TYPES) -> str:
    """`contains, not_contains, ...; also exact, json-valid, ...` for error messages."""
    others = [alias.replace("_", "-") for alias, target in ALIASES.items() if target in types]
    return ", ".join(types) + ("; also " + ", ".join(others) if others else "")


# -- JSON Schema ----------------------------------------------------------------------------------


def schema_problem(schema: Any) -> str | None:
    """What makes `schema` not a valid JSON Schema (by its own `$schema` draft, else the
    latest), or None."""
    import jsonschema

    if not isinstance(schema, dict | bool):
        return "a JSON Schema is a mapping"
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.exceptions.SchemaError as exc:
        where = "$" + "".join(
            f"[{p}]" if isinstance(p, int) else f".{p}" for p in exc.absolute_path
        )
        return f"{where}: {exc.message}"
    return None


def schema_errors(schema: dict[str, Any] | bool, value: Any) -> list[str]:
    """Where `value` breaks `schema`, as `$.path: what` texts in document order ([] when it
    matches)."""
    import jsonschema

    validator = jsonschema.validators.validator_for(schema)(schema)
    found = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    return [f"{e.json_path}: {e.message}" for e in found]
