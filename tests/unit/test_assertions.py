"""One vocabulary: a spelling means the same check in a prompt's graders and in a dataset item."""

from __future__ import annotations

import pytest

from reviewer.assertions import ALIASES, ITEM_TYPES, TYPES, canonical_type
from reviewer.datasets.items import ItemError, normalize_assertion
from reviewer.evals.graders import check_graders, item_assertions

#: A value each item type accepts.
VALUES = {
    "contains": "30 days",
    "not_contains": "90 days",
    "icontains": "30 Days",
    "regex": r"\b30\b",
    "json_schema": {"type": "object"},
    "equals": "A-10423",
    "is_json": None,
}
SPELLINGS = sorted(
    {*TYPES, *ALIASES, *(a.replace("_", "-") for a in ALIASES), "JSON-Valid", "Not-Contains"}
)


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_a_spelling_means_the_same_in_a_grader_and_in_an_item(spelling):
    kind = canonical_type(spelling)
    assert kind in TYPES
    if kind not in ITEM_TYPES:  # a model or code is needed: graders only, and items say so
        with pytest.raises(ItemError, match="it is a grader of the prompt file"):
            normalize_assertion({"type": spelling, "value": "x"})
        return
    value = VALUES[kind]
    assertion = {"type": spelling} if value is None else {"type": spelling, "value": value}
    stored = normalize_assertion(assertion)
    [grader] = check_graders([assertion])
    [as_grader] = item_assertions({"assertions": [assertion]})
    assert stored["type"] == grader["type"] == as_grader["type"] == kind


def test_json_valid_is_is_json_everywhere():
    assert normalize_assertion({"type": "json-valid"}) == {"type": "is_json", "value": None}
    assert check_graders([{"type": "json-valid"}])[0]["type"] == "is_json"
    assert check_graders(["json-valid"])[0]["type"] == "is_json"


def test_is_json_with_a_schema_is_json_schema_in_both():
    schema = {"type": "object", "required": ["order_id"]}
    assert normalize_assertion({"type": "is-json", "value": schema})["type"] == "json_schema"
    assert check_graders([{"type": "is-json", "value": schema}])[0]["type"] == "json_schema"


def test_unknown_spellings_are_refused_by_both():
    with pytest.raises(ItemError, match="unknown assertion type 'json-ish'"):
        normalize_assertion({"type": "json-ish"})
    from reviewer.evals.graders import GraderError

    with pytest.raises(GraderError, match="unknown grader type 'json-ish'"):
        check_graders([{"type": "json-ish"}])
