"""Prompt files: parsing with file/line errors, rendering with the item's conversation or its
variables, undefined variables named with their line, and the shipped prompts on real items
from the sample logs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from reviewer.evals.graders import grade
from reviewer.evals.prompts import (
    PromptError,
    PromptFile,
    load_prompt,
    load_prompts,
    parse_prompt,
    prompt_hash,
    render,
)
from reviewer.ingest.base import ParseContext
from reviewer.ingest.formats import by_name

REPO = Path(__file__).resolve().parents[2]

BASIC = """\
name: support
description: the support assistant
provider: openai
model: gpt-4o-mini
params:
  temperature: 0.3
system: |
  You are Clara.
  {% if customer is defined %}
  The customer is {{ customer }}.
  {% endif %}
graders:
  - {type: not_contains, value: "90 days"}
"""

ITEM: dict[str, Any] = {
    "id": "d/1",
    "messages": [
        {"role": "system", "content": "The logged system prompt"},
        {"role": "user", "content": "Where is A-10423?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_1", "name": "lookup_order", "arguments": '{"order_id": "A-10423"}'}]},
        {"role": "tool", "content": '{"status": "delivered"}', "tool_call_id": "call_1"},
    ],
    "vars": {"customer": "Emma"},
    "expected": "It was delivered.",
}  # fmt: skip


def error_of(text: str, item: dict[str, Any] | None = None) -> str:
    with pytest.raises(PromptError) as exc:
        prompt = parse_prompt(text, "prompts/support.yaml")
        render(prompt, item if item is not None else ITEM)
    return str(exc.value)


# -- parsing ----------------------------------------------------------------------------------


def test_parse_a_prompt_file():
    prompt = parse_prompt(BASIC, "prompts/support.yaml")
    assert isinstance(prompt, PromptFile)
    assert (prompt.name, prompt.provider, prompt.model) == ("support", "openai", "gpt-4o-mini")
    assert prompt.params == {"temperature": 0.3}
    assert prompt.base_url is None and prompt.messages is None
    assert prompt.graders == [
        {
            "type": "not_contains",
            "value": "90 days",
            "ignore_case": False,
            "name": 'not_contains "90 days"',
        }
    ]
    assert (prompt.path, prompt.text) == ("prompts/support.yaml", BASIC)
    assert prompt.hash == prompt_hash(BASIC)
    assert prompt.line_of("system") == 8


def test_prompt_hash_is_of_the_exact_text():
    assert prompt_hash(BASIC) == prompt_hash(BASIC)
    assert prompt_hash(BASIC) != prompt_hash(BASIC + "\n")
    assert len(prompt_hash(BASIC)) == 32


def test_the_name_defaults_to_the_file_stem():
    prompt = parse_prompt("provider: echo\nsystem: hi\n", "prompts/dry-run.yaml")
    assert (prompt.name, prompt.model) == ("dry-run", "")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "name: s\nprovider: azure\nmodel: m\n",
            "prompts/support.yaml: line 2: provider: Input should be 'openai', 'anthropic', 'echo' or 'replay', not 'azure'",
        ),
        (
            "name: s\nprovider: openai\nmodel: m\nsytem: hi\n",
            "prompts/support.yaml: line 4: unknown key 'sytem' (a prompt file has name, description, "
            "provider, model, params, base_url, system, messages, graders, kind, instructions, examples, samples, self_critique, best_of, ensemble, optimizer)",
        ),
        (
            "name: s\nprovider: openai\nsystem: hi\n",
            "prompts/support.yaml: model: missing (provider openai needs a model)",
        ),
        ("name: s\nmodel: m\n", "prompts/support.yaml: provider: missing (required)"),
        (
            "name: s\nprovider: openai\n  model: m\n",
            "prompts/support.yaml: line 3: invalid YAML: mapping values are not allowed here",
        ),
        (
            "name: s\nprovider: openai\nmodel: m\nmodel: n\n",
            "prompts/support.yaml: line 4: duplicate key 'model'",
        ),
        (
            "- name: s\n",
            "prompts/support.yaml: line 1: a prompt file is a mapping (name, provider, model, ...), not a list",
        ),
        ("", "prompts/support.yaml: the file is empty (a prompt has name, provider, model...)"),
        (
            "name: s\nprovider: openai\nmodel: m\nparams:\n  temperature: 0\n  model: x\n",
            "prompts/support.yaml: line 4: params: 'model' is not a parameter here (set it at the top level)",
        ),
        (
            "name: s\nprovider: openai\nmodel: m\nparams: [1]\n",
            "prompts/support.yaml: line 4: params: Input should be a valid dictionary, not [1]",
        ),
        (
            "name: s\nprovider: openai\nmodel: m\nmessages:\n  - role: user\n    content: hi\n  - role: tool\n    content: x\n",
            "prompts/support.yaml: line 7: messages[1].role: Input should be 'system', 'user' or 'assistant', not 'tool'",
        ),
        (
            "name: s\nprovider: openai\nmodel: m\nmessages:\n  - role: user\n    text: hi\n",
            "prompts/support.yaml: line 5: messages[0].content: missing (required)",
        ),
        (
            "name: s\nprovider: openai\nmodel: m\ngraders:\n  - is_json\n  - type: regex\n    value: '('\n",
            "prompts/support.yaml: line 7: graders[1].value: the regex does not compile: "
            "missing ), unterminated subpattern at position 0",
        ),
        (
            "name: s\nprovider: openai\nmodel: m\ngraders:\n  - type: containz\n    value: x\n",
            "prompts/support.yaml: line 5: graders[0].type: unknown grader type 'containz'",
        ),
    ],
)
def test_bad_files_name_the_line_and_the_problem(text, message):
    with pytest.raises(PromptError) as exc:
        parse_prompt(text, "prompts/support.yaml")
    assert str(exc.value).startswith(message), str(exc.value)


def test_several_problems_are_all_listed_first_line_first():
    with pytest.raises(PromptError) as exc:
        parse_prompt("name: s\nprovider: azure\nmodel: m\nsytem: x\n", "p.yaml")
    assert str(exc.value).splitlines() == [
        "p.yaml: line 2: provider: Input should be 'openai', 'anthropic', 'echo' or 'replay', not 'azure'",
        "p.yaml: line 4: unknown key 'sytem' (a prompt file has name, description, provider, "
        "model, params, base_url, system, messages, graders, kind, instructions, examples, samples, self_critique, best_of, ensemble, optimizer)",
    ]
    assert (exc.value.path, exc.value.line) == ("p.yaml", 2)


def test_template_syntax_errors_show_at_load_time_with_their_line():
    text = "name: s\nprovider: openai\nmodel: m\nsystem: |\n  Hello\n  {% if %}\n"
    assert error_of(text) == (
        "prompts/support.yaml: line 6: template error in system: "
        "Expected an expression, got 'end of statement block'"
    )


# -- rendering --------------------------------------------------------------------------------


def test_render_the_prompts_system_then_the_items_conversation():
    prompt = parse_prompt(BASIC, "prompts/support.yaml")
    messages = render(prompt, ITEM)
    assert messages[0] == {"role": "system", "content": "You are Clara.\nThe customer is Emma."}
    assert messages[1:] == ITEM["messages"][1:]  # the item's own system message is replaced
    assert messages[1] is not ITEM["messages"][1]  # copies: rendering never changes the item
    without_vars = render(prompt, {"messages": ITEM["messages"][1:2]})
    assert without_vars == [
        {"role": "system", "content": "You are Clara."},
        {"role": "user", "content": "Where is A-10423?"},
    ]


def test_render_message_templates_with_the_items_variables():
    text = """\
name: s
provider: anthropic
model: claude-haiku-4-5
system: Answer {{ customer }} in {{ language | default("English") }}.
messages:
  - role: user
    content: "Last question: {{ question }} ({{ messages | length }} messages)"
  - role: assistant
    content: "{% for m in messages if m.role == 'tool' %}{{ m.content }}{% endfor %}"
"""
    prompt = parse_prompt(text, "prompts/s.yaml")
    assert render(prompt, ITEM) == [
        {"role": "system", "content": "Answer Emma in English."},
        {"role": "user", "content": "Last question: Where is A-10423? (4 messages)"},
        {"role": "assistant", "content": '{"status": "delivered"}'},
    ]


def test_a_prompt_without_a_system_template_keeps_the_items_system_message():
    prompt = parse_prompt("name: s\nprovider: openai\nmodel: gpt-4o\n", "prompts/s.yaml")
    assert render(prompt, ITEM) == ITEM["messages"]


def test_the_expected_answer_is_not_exposed():
    text = "name: s\nprovider: openai\nmodel: m\nsystem: |\n  Hi\n  The answer is {{ expected }}\n"
    assert error_of(text) == "prompts/support.yaml: line 6: undefined variable 'expected' in system"


def test_an_undefined_variable_names_the_prompt_the_line_and_the_variable():
    text = """\
name: support
provider: openai
model: gpt-4o-mini
system: |
  You are Clara.

  The customer is {{ customer_name }}.
"""
    assert (
        error_of(text)
        == "prompts/support.yaml: line 7: undefined variable 'customer_name' in system"
    )


def test_undefined_in_a_message_template_and_an_attribute():
    text = """\
name: s
provider: openai
model: m
messages:
  - role: user
    content: "{{ question }}"
  - role: user
    content: |
      first line
      {{ order.id }}
"""
    assert (
        error_of(text)
        == "prompts/support.yaml: line 10: undefined variable 'order' in messages[1].content"
    )
    item = {**ITEM, "vars": {"order": {}}}
    assert error_of(text, item) == (
        "prompts/support.yaml: line 10: undefined attribute 'id' in messages[1].content"
    )


def test_the_sandbox_refuses_unsafe_attributes():
    text = 'name: s\nprovider: openai\nmodel: m\nsystem: "{{ messages.__class__.__mro__ }}"\n'
    message = error_of(text)
    assert message.startswith(
        "prompts/support.yaml: line 4: template error in system: SecurityError: "
    )


def test_templates_are_compiled_once():
    prompt = parse_prompt(BASIC, "prompts/support.yaml")
    first = prompt.templates()
    render(prompt, ITEM)
    assert prompt.templates() is first
    assert first["system"] is prompt.templates()["system"]


def test_a_prompt_built_in_code_renders_too():
    prompt = PromptFile(name="x", provider="echo", system="Hi {{ customer }}")
    assert render(prompt, ITEM)[0] == {"role": "system", "content": "Hi Emma"}
    with pytest.raises(PromptError, match=r"^prompt x: undefined variable 'customer' in system$"):
        render(prompt, {"messages": []})


# -- files in a workspace ---------------------------------------------------------------------


def test_load_prompts_keeps_the_good_files_and_lists_the_bad(tmp_path):
    folder = tmp_path / "prompts"
    folder.mkdir()
    (folder / "a.yaml").write_text(BASIC)
    (folder / "b.yml").write_text("name: b\nprovider: echo\n")
    (folder / "c.yaml").write_text("name: c\nprovider: openai\nmodel: m\nsystem: '{{ x'\n")
    (folder / "d.yaml").write_text(BASIC)  # the same name as a.yaml
    (folder / "e.yaml").write_bytes(b"name: e\nprovider: echo\nsystem: \xff\n")
    (folder / "notes.txt").write_text("not a prompt")
    prompts, errors = load_prompts(tmp_path)
    assert [p.name for p in prompts] == ["support", "b"]
    assert [p.path for p in prompts] == ["prompts/a.yaml", "prompts/b.yml"]
    assert [str(e) for e in errors] == [
        "prompts/c.yaml: line 4: template error in system: unexpected end of template, "
        "expected 'end of print statement'.",
        "prompts/d.yaml: line 1: the name 'support' is already used by prompts/a.yaml",
        "prompts/e.yaml: line 3: the file is not UTF-8 text",
    ]
    assert load_prompts(tmp_path / "nowhere") == ([], [])


def test_load_prompt_reads_a_file(tmp_path):
    path = tmp_path / "support.yaml"
    path.write_text(BASIC)
    assert load_prompt(path).hash == prompt_hash(BASIC)
    with pytest.raises(PromptError, match=r"missing\.yaml: no such file$"):
        load_prompt(tmp_path / "missing.yaml")


# -- the shipped prompts on real items from the sample logs -----------------------------------


def sample_record(file: str, fmt: str, line: int = 1) -> Any:
    path = REPO / "sample_logs" / file
    raw = path.read_bytes().splitlines()[line - 1]
    ctx = ParseContext(path=str(path), line=line, raw=raw.decode())
    parser = by_name(fmt)
    assert parser is not None
    records = list(parser.parse(orjson.loads(raw), ctx))
    return records[0]


def test_the_shipped_prompts_load():
    prompts, errors = load_prompts(REPO)
    assert errors == []
    by_name_ = {p.name: p for p in prompts}
    assert set(by_name_) >= {"support-chat", "extract-order"}
    for prompt in by_name_.values():
        provider = "replay" if prompt.name == "returns-demo" else "openai"
        assert (prompt.provider, prompt.model) == (provider, "gpt-4o-mini")
    support = by_name_["support-chat"]
    assert [t["function"]["name"] for t in support.params["tools"]] == [
        "lookup_order", "check_stock", "create_return",
    ]  # fmt: skip
    assert {g["type"] for g in support.graders} == {"not_contains", "llm_judge"}
    extract = by_name_["extract-order"]
    assert [g["type"] for g in extract.graders] == ["is_json", "json_schema"]
    assert extract.params == {"temperature": 0, "max_tokens": 120}


def test_the_support_prompt_renders_a_logged_chat_and_keeps_its_weaknesses():
    prompt = load_prompt(REPO / "prompts" / "support-chat.yaml")
    record = sample_record("support-chat.openai.jsonl", "openai-chat")
    item = {"id": "x/1", "messages": record.messages, "vars": {}, "expected": None}
    messages = render(prompt, item)
    assert messages[0]["role"] == "system"
    assert messages[0]["content"].startswith("You are Clara, the customer-support assistant")
    assert messages[0]["content"].endswith("true to size")  # no customer line without vars
    assert messages[1:] == [m for m in record.messages if m["role"] != "system"]
    system = messages[0]["content"]
    # version 1: the gaps behind the logged failures
    assert "30 days" not in system
    assert "language" not in system.lower()
    assert "gift card" not in system.lower()
    with_vars = render(
        prompt, {**item, "vars": {"customer": "Katharina Hoffmann", "locale": "de-AT"}}
    )
    assert with_vars[0]["content"].endswith("\n\nCustomer: Katharina Hoffmann | locale: de-AT")


async def test_the_extract_prompt_renders_a_logged_email_and_its_graders_catch_broken_json():
    prompt = load_prompt(REPO / "prompts" / "extract-order.yaml")
    record = sample_record("extract-order.otlp.jsonl", "otlp")
    item = {"id": "x/2", "messages": record.messages, "expected": None}
    messages = render(prompt, item)
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[1]["content"].startswith("From: Tom Hughes")
    assert "Use exactly these keys" not in messages[0]["content"]  # version 1: a vague schema
    good = record.output["content"]
    assert [x.passed for x in await grade(prompt.graders, item, good)] == [True, True]
    fenced = f"```json\n{good}\n```"
    assert [x.passed for x in await grade(prompt.graders, item, fenced)] == [False, False]
    wrong_keys = '{"orderId": "A-10301", "intent": "return", "products": [], "lang": "en"}'
    grades = await grade(prompt.graders, item, wrong_keys)
    assert [x.passed for x in grades] == [True, False]
    assert grades[1].grader == "order schema"


def test_judge_files_need_instructions_and_prompts_do_not_take_them():
    judge = parse_prompt(
        "name: j\nkind: judge\nprovider: openai\nmodel: m\ninstructions: |\n  Grade {{ queue }}.\n",
        "prompts/j.yaml",
    )
    assert (judge.kind, judge.line_of("instructions")) == ("judge", 6)
    with pytest.raises(PromptError, match="a judge \\(kind: judge\\) needs instructions"):
        parse_prompt("name: j\nkind: judge\nprovider: openai\nmodel: m\n", "prompts/j.yaml")
    with pytest.raises(PromptError, match="instructions and examples are for judges"):
        parse_prompt("name: p\nprovider: openai\nmodel: m\ninstructions: x\n", "prompts/p.yaml")
    with pytest.raises(PromptError, match="line 6: template error in instructions"):
        parse_prompt(
            "name: j\nkind: judge\nprovider: openai\nmodel: m\ninstructions: |\n  {{ oops\n",
            "prompts/j.yaml",
        )
