"""Graders: each one passing and failing with its exact reason, the judges with canned judge
answers (and once through the fake LLM server and the real SDK), Python graders from a module
on disk, and a dataset item's own assertions on top of the prompt's graders."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from reviewer.evals import graders as g
from reviewer.evals.graders import (
    Grade,
    GraderError,
    check_graders,
    find_json_object,
    grade,
    item_assertions,
    overall,
    parse_judgement,
    parse_winner,
    schema_errors,
    token_f1,
)

ITEM: dict[str, Any] = {
    "id": "support/1",
    "messages": [
        {"role": "system", "content": "You are Clara."},
        {"role": "user", "content": "Can I return shoes after 60 days?"},
    ],
    "expected": "Returns are possible within 30 days of delivery.",
}


async def one(spec: Any, output: str, item: dict[str, Any] | None = None, **kw: Any) -> Grade:
    grades = await grade([spec], item if item is not None else {}, output, **kw)
    assert len(grades) == 1, grades
    return grades[0]


# -- deterministic graders --------------------------------------------------------------------


async def test_contains():
    ok = await one({"type": "contains", "value": "30 days"}, "Within 30 days of delivery.")
    assert ok == Grade('contains "30 days"', True, 1.0, 'found "30 days"')
    bad = await one({"type": "contains", "value": "30 days"}, "Within 30 Days.")
    assert bad == Grade('contains "30 days"', False, 0.0, 'missing "30 days"')


async def test_contains_a_list_scores_the_share_found():
    spec = {"type": "contains", "value": ["30 days", "refund"], "name": "policy"}
    bad = await one(spec, "Within 30 days.")
    assert bad == Grade("policy", False, 0.5, 'missing "refund"')
    ok = await one(spec, "A refund within 30 days.")
    assert ok == Grade("policy", True, 1.0, 'found "30 days", "refund"')


async def test_icontains_and_contains_ignore_case():
    ok = await one({"type": "icontains", "value": "30 DAYS"}, "within 30 days")
    assert ok == Grade('icontains "30 DAYS"', True, 1.0, 'found "30 DAYS"')
    bad = await one({"type": "icontains", "value": "refund"}, "within 30 days")
    assert (bad.passed, bad.reason) == (False, 'missing "refund"')
    ok = await one({"type": "contains", "value": "Days", "ignore_case": True}, "30 days")
    assert ok.passed


async def test_not_contains_shows_where():
    spec = {"type": "not_contains", "value": "90 days"}
    ok = await one(spec, "Returns within 30 days.")
    assert ok == Grade('not_contains "90 days"', True, 1.0, 'absent: "90 days"')
    output = "Good news! We have a generous 90 days no-questions return policy for you."
    bad = await one(spec, output)
    assert bad == Grade(
        'not_contains "90 days"',
        False,
        0.0,
        'found "90 days": …We have a generous 90 days no-questions return…',
    )


async def test_not_contains_list_ignoring_case():
    spec = {"type": "not-contains", "value": ["90 days", "gift card"], "ignore_case": True}
    bad = await one(spec, "You get a Gift Card.")
    assert bad.grader == 'not_contains ["90 days", "gift card"]'
    assert (bad.passed, bad.score, bad.reason) == (
        False,
        0.5,
        'found "gift card": You get a Gift Card.',
    )


async def test_equals_strips_and_ignores_case_when_asked():
    spec = {"type": "exact", "value": "A-10423"}
    ok = await one(spec, "A-10423\n")
    assert ok == Grade('equals "A-10423"', True, 1.0, "equal")
    bad = await one(spec, "a-10423")
    assert bad == Grade(
        'equals "A-10423"', False, 0.0, 'differs at char 0: expected "A-10423", got "a-10423"'
    )
    assert (await one({**spec, "ignore_case": True}, "a-10423")).passed
    strict = await one({"type": "equals", "value": "yes", "strip": False}, "yes ")
    assert strict.reason == 'differs at char 3: expected "", got " "'


async def test_equals_a_json_value_compares_values():
    spec = {"type": "equals", "value": {"order_id": "A-1", "qty": 2}}
    ok = await one(spec, '{"qty": 2, "order_id": "A-1"}')
    assert ok == Grade("equals (JSON)", True, 1.0, "equal JSON value")
    bad = await one(spec, '{"qty": 3, "order_id": "A-1"}')
    assert bad.reason == 'JSON value differs: expected {"order_id": "A-1", "qty": 2}'
    assert not (await one(spec, "qty: 2")).passed


async def test_regex_searches():
    spec = {"type": "regex", "value": r"\b30 (days|Tage)\b"}
    ok = await one(spec, "Innerhalb von 30 Tage zurück.")
    assert ok == Grade(r'regex "\\b30 (days|Tage)\\b"', True, 1.0, 'matched "30 Tage" at char 14')
    bad = await one(spec, "within a month")
    assert bad.reason == r'no match for "\\b30 (days|Tage)\\b"'
    assert not bad.passed


async def test_is_json():
    ok = await one("is_json", '{"order_id": "A-1"}')
    assert ok == Grade("is_json", True, 1.0, "valid JSON")
    bad = await one({"type": "json_valid"}, '{"order_id": "A-1",}')
    assert bad.grader == "is_json"
    assert not bad.passed and bad.reason.startswith("not JSON: ")
    fenced = await one("is_json", '```json\n{"a": 1}\n```')
    assert not fenced.passed
    empty = await one("is_json", "  ")
    assert empty.reason == "not JSON: the output is empty"


SCHEMA = {
    "type": "object",
    "required": ["order_id", "items"],
    "additionalProperties": False,
    "properties": {
        "order_id": {"type": ["string", "null"]},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["qty"],
                "properties": {"qty": {"type": "integer"}},
            },
        },
    },
}


async def test_json_schema():
    spec = {"type": "json_schema", "value": SCHEMA}
    ok = await one(spec, '{"order_id": null, "items": [{"qty": 1}]}')
    assert ok == Grade("json_schema", True, 1.0, "matches the schema")
    bad = await one(spec, '{"orderId": "A-1", "items": [{"qty": "1"}, {}]}')
    assert bad == Grade(
        "json_schema",
        False,
        0.0,
        "$: 'order_id' is a required property (and 3 more)",
    )
    assert schema_errors(SCHEMA, {"orderId": "A-1", "items": [{"qty": "1"}, {}]}) == [
        "$: 'order_id' is a required property",
        "$: Additional properties are not allowed ('orderId' was unexpected)",
        "$.items[0].qty: '1' is not of type 'integer'",
        "$.items[1]: 'qty' is a required property",
    ]
    not_json = await one(spec, "Here you go: {}")
    assert not not_json.passed and not_json.reason.startswith("not JSON: ")


def test_schema_keywords_are_jsonschemas():
    """Every keyword is checked by the `jsonschema` package (a dependency): the same grade on
    every machine."""
    schema = {
        "type": "object",
        "properties": {
            "intent": {"enum": ["return", "exchange"]},
            "language": {"type": "string", "pattern": "^[a-z]{2}$"},
            "qty": {"type": "integer", "minimum": 1},
            "size": {"anyOf": [{"type": "number"}, {"type": "null"}]},
            "tags": {"type": "array", "uniqueItems": True},
        },
    }
    assert (
        schema_errors(schema, {"intent": "return", "language": "de", "qty": 2, "size": None}) == []
    )
    assert schema_errors(
        schema,
        {"intent": "refund", "language": "German", "qty": 0, "size": "x", "tags": ["a", "a"]},
    ) == [
        "$.intent: 'refund' is not one of ['return', 'exchange']",
        "$.language: 'German' does not match '^[a-z]{2}$'",
        "$.qty: 0 is less than the minimum of 1",
        "$.size: 'x' is not valid under any of the given schemas",
        "$.tags: ['a', 'a'] has non-unique elements",
    ]
    assert schema_errors({"type": "integer"}, True) == ["$: True is not of type 'integer'"]
    assert schema_errors({"type": "number"}, 3) == []


def test_a_bad_schema_is_refused_up_front():
    with pytest.raises(GraderError) as info:
        check_graders([{"type": "json_schema", "value": {"type": "strin"}}])
    assert str(info.value) == (
        "graders[0].value: not a valid JSON Schema: $.type: 'strin' is not valid under any of "
        "the given schemas"
    )


async def test_similarity_token_f1():
    assert token_f1("Returns within 30 days", "returns within 30 days") == 1.0
    assert token_f1("", "") == 1.0 and token_f1("a", "") == 0.0
    ok = await one({"type": "similarity"}, "Returns are possible within 30 days of delivery!", ITEM)
    assert ok == Grade("similarity", True, 1.0, "token F1 1.00 >= 0.60")
    bad = await one(
        {"type": "similar", "threshold": 0.9}, "You can return them within 30 days.", ITEM
    )
    # within, 30, days in common: precision 3/7, recall 3/8, F1 0.4
    assert bad == Grade("similarity", False, pytest.approx(0.4), "token F1 0.40 < 0.90")
    explicit = await one({"type": "similarity", "value": "within 30 days"}, "within 30 days", {})
    assert explicit.passed  # a reference given in the spec needs no expected answer


async def test_similarity_without_an_expected_answer_gives_no_grade():
    assert await grade([{"type": "similarity"}], {"messages": []}, "anything") == []
    assert await grade([{"type": "similarity"}], {"expected": None}, "anything") == []


# -- LLM judge --------------------------------------------------------------------------------


class CannedJudge:
    """A JudgeFn returning canned texts in turn, remembering what it was asked."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[list[dict[str, Any]], str, str | None]] = []

    async def __call__(
        self, messages: list[dict[str, Any]], model: str, provider: str | None
    ) -> str:
        self.calls.append((messages, model, provider))
        return self.answers[min(len(self.calls), len(self.answers)) - 1]


async def test_llm_judge_passes_and_fails_with_the_judges_reason(monkeypatch):
    monkeypatch.delenv("REVIEWER_JUDGE_MODEL", raising=False)
    monkeypatch.delenv("REVIEWER_JUDGE_PROVIDER", raising=False)
    judge = CannedJudge('{"pass": true, "score": 0.9, "reason": "States the 30-day policy."}')
    spec = {"type": "llm_judge", "rubric": "The answer states the 30-day return policy."}
    ok = await one(spec, "Within 30 days.", ITEM, judge=judge)
    assert ok == Grade("llm_judge", True, 0.9, "States the 30-day policy.")
    messages, model, provider = judge.calls[0]
    assert (model, provider) == ("gpt-4o-mini", None)
    assert messages[0]["role"] == "system" and '"pass"' in messages[0]["content"]
    user = messages[1]["content"]
    assert "<rubric>\nThe answer states the 30-day return policy.\n</rubric>" in user
    assert "<conversation>\nuser: Can I return shoes after 60 days?\n</conversation>" in user
    assert "You are Clara." not in user  # the system prompt is not the judge's business
    assert "<answer>\nWithin 30 days.\n</answer>" in user
    assert "<reference>\nReturns are possible within 30 days of delivery.\n</reference>" in user

    judge = CannedJudge(
        'Sure! Here is my verdict:\n```json\n{"pass": false, "score": 0.1, '
        '"reason": "Invents a 90-day policy."}\n```'
    )
    bad = await one(spec, "90 days, no questions asked!", ITEM, judge=judge)
    assert bad == Grade("llm_judge", False, 0.1, "Invents a 90-day policy.")


async def test_llm_judge_model_and_provider(monkeypatch):
    monkeypatch.delenv("REVIEWER_JUDGE_PROVIDER", raising=False)
    judge = CannedJudge('{"pass": true, "reason": "ok"}')
    spec = {"type": "llm_judge", "rubric": "r"}
    monkeypatch.setenv("REVIEWER_JUDGE_MODEL", "gpt-4o")
    await one(
        spec, "x", ITEM, judge=judge, judge_model="claude-haiku-4-5", judge_provider="anthropic"
    )
    assert judge.calls[-1][1:] == ("gpt-4o", "anthropic")  # the environment beats the prompt
    monkeypatch.delenv("REVIEWER_JUDGE_MODEL")
    await one(
        spec, "x", ITEM, judge=judge, judge_model="claude-haiku-4-5", judge_provider="anthropic"
    )
    assert judge.calls[-1][1:] == ("claude-haiku-4-5", "anthropic")
    spec = {**spec, "model": "o3", "provider": "openai"}
    await one(
        spec, "x", ITEM, judge=judge, judge_model="claude-haiku-4-5", judge_provider="anthropic"
    )
    assert judge.calls[-1][1:] == ("o3", "openai")  # the spec beats both


async def test_llm_judge_tolerant_parsing():
    assert parse_judgement('{"pass": "yes", "score": 8, "reason": "good"}') == (True, 0.8, "good")
    assert parse_judgement('{"score": 0.4, "explanation": "meh"}') == (False, 0.4, "meh")
    assert parse_judgement('{"score": 0.4}', threshold=0.3) == (True, 0.4, "")
    assert parse_judgement('{"passed": false}') == (False, 0.0, "")
    assert parse_judgement("I think it passes.") is None
    assert parse_judgement('{"verdict": "maybe"}') is None
    assert find_json_object('noise {not json} then {"a": {"b": 1}} tail') == {"a": {"b": 1}}
    judge = CannedJudge("PASS, looks fine to me")
    bad = await one({"type": "llm_judge", "value": "r"}, "x", ITEM, judge=judge)
    assert bad == Grade("llm_judge", False, 0.0, "unreadable judge answer: PASS, looks fine to me")


async def test_a_judge_grader_without_a_judge_is_an_error():
    with pytest.raises(GraderError, match="llm_judge needs a judge"):
        await grade([{"type": "llm_judge", "rubric": "r"}], ITEM, "x")


async def test_llm_judge_through_the_fake_server_and_the_real_sdk(monkeypatch):
    pytest.importorskip("openai")
    fake_llm = pytest.importorskip("tests.fake_llm")
    from reviewer.evals.providers import get_provider

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")

    def responder(body: dict[str, Any]) -> str:
        user = body["messages"][-1]["content"]
        if "90 days" in user.split("<answer>")[1]:
            return '{"pass": false, "score": 0.0, "reason": "Invents a 90-day policy."}'
        return '{"pass": true, "score": 1, "reason": "Correct policy."}'

    with fake_llm.FakeLLM(responder=responder) as server:
        provider = get_provider("openai", base_url=server.openai_url)

        async def judge(messages: list[dict[str, Any]], model: str, _provider: str | None) -> str:
            done = await provider.complete(messages, model, {"temperature": 0})
            return str(done.output.get("content") or "")

        try:
            spec = {
                "type": "llm_judge",
                "rubric": "Correct return policy (30 days).",
                "model": "judge-1",
            }
            ok = await one(spec, "Within 30 days.", ITEM, judge=judge)
            bad = await one(spec, "90 days, no questions asked!", ITEM, judge=judge)
        finally:
            await provider.aclose()
        assert ok == Grade("llm_judge", True, 1.0, "Correct policy.")
        assert bad == Grade("llm_judge", False, 0.0, "Invents a 90-day policy.")
        logged = server.log("/v1/chat/completions")
        assert [r.model for r in logged] == ["judge-1", "judge-1"]


# -- pairwise ---------------------------------------------------------------------------------


async def test_pairwise_new_better_and_worse():
    spec = {"type": "pairwise", "rubric": "Which states the policy correctly?"}
    judge = CannedJudge('{"winner": "B", "reason": "B states 30 days."}')
    ok = await one(spec, "30 days.", ITEM, baseline="90 days!", judge=judge)
    assert ok == Grade("pairwise", True, 1.0, "new better: B states 30 days.")
    user = judge.calls[0][0][1]["content"]
    assert (
        "<answer_a>\n90 days!\n</answer_a>" in user and "<answer_b>\n30 days.\n</answer_b>" in user
    )

    judge = CannedJudge('{"winner": "A", "reason": "A is right."}')
    bad = await one(spec, "90 days!", ITEM, baseline="30 days.", judge=judge)
    assert bad == Grade("pairwise", False, 0.0, "baseline better: A is right.")

    judge = CannedJudge('{"winner": "tie", "reason": "Both fine."}')
    tie = await one(spec, "Thirty days.", ITEM, baseline="30 days.", judge=judge)
    assert tie == Grade("pairwise", True, 0.5, "tie: Both fine.")


async def test_pairwise_both_orders_reduces_position_bias():
    spec = {"type": "pairwise", "both_orders": True}
    # a judge that always prefers the first answer it sees: the orders disagree -> a tie
    biased = CannedJudge('{"winner": "A", "reason": "First is better."}')
    tie = await one(spec, "new", ITEM, baseline="old", judge=biased)
    assert len(biased.calls) == 2
    assert tie == Grade(
        "pairwise",
        True,
        0.5,
        "the two orders disagree (position bias), counted as a tie "
        "(baseline first: baseline better: First is better. | new first: new better: First is better.)",
    )
    firsts = [c[0][1]["content"].split("<answer_a>\n")[1].split("\n")[0] for c in biased.calls]
    assert firsts == ["old", "new"]

    consistent = CannedJudge('{"winner": "B", "reason": "b"}', '{"winner": "A", "reason": "a"}')
    won = await one(spec, "new", ITEM, baseline="old", judge=consistent)
    assert (won.passed, won.score) == (True, 1.0)
    assert won.reason.startswith("new better (")


async def test_pairwise_skips_without_a_baseline_and_same_answer_needs_no_judge():
    judge = CannedJudge("never asked")
    assert await grade([{"type": "pairwise"}], ITEM, "x", baseline=None, judge=judge) == []
    same = await one({"type": "pairwise"}, "x", ITEM, baseline="x", judge=judge)
    assert same == Grade("pairwise", True, 0.5, "the same answer as the baseline")
    assert judge.calls == []
    assert parse_winner('{"better": "Answer B"}') == "B"
    assert parse_winner('{"winner": "both"}') == "tie"
    unreadable = await one({"type": "pairwise"}, "x", ITEM, baseline="y", judge=CannedJudge("B!"))
    assert unreadable == Grade("pairwise", False, 0.0, "unreadable judge answer: B!")


# -- python -----------------------------------------------------------------------------------


@pytest.fixture
def checks_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    name = f"my_checks_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(
        textwrap.dedent(
            """
            from reviewer.evals.graders import Grade

            def short(output, item):
                return len(output) < 20

            def ratio(output, item):
                return len(output) / 40

            def with_reason(output, item):
                return ("sorry" not in output.lower(), f"{len(output)} chars")

            def full(output, item):
                return Grade("custom", True, 0.7, "item " + item["id"])

            def as_dict(output, item):
                return {"pass": False, "score": 0.25, "reason": "dict"}

            async def async_check(output, item):
                return output.startswith("Hi")

            def broken(output, item):
                raise KeyError("order_id")

            def wrong(output, item):
                return "yes"

            NOT_A_FUNCTION = 3
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


async def test_python_graders(checks_module):
    m = checks_module
    item = {"id": "x/1"}
    assert await one({"type": "python", "value": f"{m}:short"}, "Hi there", item) == Grade(
        f"python {m}:short", True, 1.0, "returned True"
    )
    assert (
        await one({"type": "python", "value": f"{m}:short"}, "x" * 30, item)
    ).reason == "returned False"
    half = await one({"type": "python", "function": f"{m}:ratio", "threshold": 0.6}, "x" * 20, item)
    assert (half.passed, half.score, half.reason) == (False, 0.5, "score 0.50 < 0.60")
    said = await one({"type": "python", "value": f"{m}:with_reason"}, "Sorry!", item)
    assert (said.passed, said.score, said.reason) == (False, 0.0, "6 chars")
    assert await one({"type": "python", "value": f"{m}:full"}, "x", item) == Grade(
        "custom", True, 0.7, "item x/1"
    )
    assert await one({"type": "python", "value": f"{m}:as_dict"}, "x", item) == Grade(
        f"python {m}:as_dict", False, 0.25, "dict"
    )
    assert (await one({"type": "python", "value": f"{m}:async_check"}, "Hi", item)).passed
    broken = await one({"type": "python", "value": f"{m}:broken"}, "x", item)
    assert (broken.passed, broken.reason) == (False, "raised KeyError: 'order_id'")
    wrong = await one({"type": "python", "value": f"{m}:wrong"}, "x", item)
    assert not wrong.passed and wrong.reason.startswith("returned a text; expected a bool")


async def test_python_grader_from_a_file_path(tmp_path):
    path = tmp_path / "checks_by_path.py"
    path.write_text("def polite(output, item):\n    return 'please' in output\n")
    ok = await one({"type": "python", "value": f"{path}:polite"}, "yes please", {})
    assert (ok.passed, ok.grader) == (True, f"python {path}:polite")


def test_python_grader_import_errors_are_clear(checks_module):
    with pytest.raises(GraderError) as exc:
        check_graders([{"type": "python", "value": "no_such_module_xyz:check"}])
    assert str(exc.value) == (
        "graders[0].value: cannot import 'no_such_module_xyz': "
        "ModuleNotFoundError: No module named 'no_such_module_xyz'"
    )
    with pytest.raises(GraderError, match=rf"module '{checks_module}' has no function 'nope'"):
        check_graders([{"type": "python", "value": f"{checks_module}:nope"}])
    with pytest.raises(GraderError, match="is not a function"):
        check_graders([{"type": "python", "value": f"{checks_module}:NOT_A_FUNCTION"}])
    with pytest.raises(GraderError, match=r"graders\[0\]\.value: python needs module:function"):
        check_graders([{"type": "python", "value": "just_a_module"}])
    with pytest.raises(GraderError, match=r"no such file: missing/checks\.py"):
        check_graders([{"type": "python", "value": "missing/checks.py:f"}])


# -- checking specs ---------------------------------------------------------------------------


def test_check_graders_names_the_problem():
    cases = [
        ({"type": "containz", "value": "x"}, "graders[0].type: unknown grader type 'containz'"),
        (
            {"type": "contains"},
            "graders[0].value: contains needs a text (or a list of texts), not nothing",
        ),
        (
            {"type": "contains", "value": "x", "treshold": 1},
            "graders[0].treshold: unknown key 'treshold' for contains",
        ),
        (
            {"type": "regex", "value": "("},
            "graders[0].value: the regex does not compile: missing ), unterminated subpattern",
        ),
        (
            {"type": "similarity", "threshold": 2},
            "graders[0].threshold: a number from 0 to 1, not 2",
        ),
        ({"type": "llm_judge"}, "graders[0].value: llm_judge needs a rubric text, not nothing"),
        (
            {"type": "llm_judge", "rubric": "r", "provider": "azure"},
            "graders[0].provider: one of openai, anthropic, echo, replay, not 'azure'",
        ),
        (
            {"type": "pairwise", "both_orders": "yes"},
            "graders[0].both_orders: true or false, not a text",
        ),
        (
            {"type": "json_schema", "value": "object"},
            "graders[0].value: json_schema needs a JSON Schema mapping, not a text",
        ),
        (
            {"type": "is_json", "value": 3},
            "graders[0].value: is_json takes no value (or a JSON Schema mapping)",
        ),
        (["contains"], "graders[0]: a grader is a mapping with a type, not a list"),
        ({"value": "x"}, "graders[0].type: give the grader's type"),
    ]
    for spec, message in cases:
        with pytest.raises(GraderError) as exc:
            check_graders([spec])
        assert str(exc.value).startswith(message), (spec, str(exc.value))
    with pytest.raises(GraderError, match=r"^prompt x\.graders: a list of graders, not a mapping$"):
        check_graders({"type": "contains"}, "prompt x.graders")
    with pytest.raises(GraderError) as exc:
        check_graders(["is_json", {"type": "json_schema", "value": {"type": "objekt"}}])
    assert exc.value.index == 1 and exc.value.field == "value"
    assert "'objekt' is not" in exc.value.reason


def test_check_graders_shorthands_and_defaults():
    specs = check_graders(
        [
            "is_json",
            {"not_contains": "90 days"},
            {"llm-rubric": "polite", "model": "gpt-4o"},
            {"type": "is-json", "value": {"type": "object"}},
            {"type": "pairwise"},
        ]
    )
    assert specs[0] == {"type": "is_json", "name": "is_json"}
    assert specs[1] == {
        "type": "not_contains",
        "value": "90 days",
        "ignore_case": False,
        "name": 'not_contains "90 days"',
    }
    assert specs[2] == {
        "type": "llm_judge",
        "rubric": "polite",
        "provider": None,
        "model": "gpt-4o",
        "threshold": 0.5,
        "name": "llm_judge",
    }
    assert specs[3]["type"] == "json_schema"
    assert specs[4]["rubric"] == g.DEFAULT_PAIRWISE_RUBRIC and specs[4]["both_orders"] is False
    assert check_graders(specs) == specs  # normalizing is idempotent


# -- item assertions and the overall verdict --------------------------------------------------


async def test_item_assertions_apply_on_top_of_the_prompts_graders():
    item = {
        **ITEM,
        "assertions": [
            {"type": "contains", "value": "30 days"},
            {"type": "not_contains", "value": "gift card"},
            {"type": "regex", "value": r"deliver(y|ed)"},
        ],
    }
    grades = await grade(
        [{"type": "not_contains", "value": "90 days"}], item, "Within 30 days, as a gift card."
    )
    assert [(x.grader, x.passed) for x in grades] == [
        ('not_contains "90 days"', True),
        ('contains "30 days" (item)', True),
        ('not_contains "gift card" (item)', False),
        ('regex "deliver(y|ed)" (item)', False),
    ]
    assert overall(grades) == (False, 0.5)
    assert overall([]) == (None, None)
    assert overall([Grade("a", True, 1.0, ""), Grade("b", True, 0.5, "")]) == (True, 0.75)


def test_item_assertions_of_every_type():
    item = {
        "assertions": [
            {"type": "contains", "value": "a"},
            {"type": "not_contains", "value": "b"},
            {"type": "icontains", "value": "c"},
            {"type": "regex", "value": "d+"},
            {"type": "json_schema", "value": {"type": "object"}},
            {"type": "equals", "value": "e"},
            {"type": "is_json", "value": None},
        ]
    }
    specs = item_assertions(item)
    assert [s["type"] for s in specs] == [
        "contains", "not_contains", "icontains", "regex", "json_schema", "equals", "is_json",
    ]  # fmt: skip
    assert all(s["name"].endswith(" (item)") for s in specs)
    with pytest.raises(GraderError, match=r"item q/1 assertions\[0\]\.type: not an assertion type"):
        item_assertions({"id": "q/1", "assertions": [{"type": "llm_judge", "value": "r"}]})


def test_grade_round_trips_as_a_dict():
    one_grade = Grade('contains "x"', True, 1.0, 'found "x"')
    assert Grade.from_dict(one_grade.to_dict()) == one_grade
