"""Dataset exporters: canonical dataset items written in the formats other tools read.

Every exporter takes an iterable of canonical items (the `jsonl` line, see below) and writes
as it iterates, so a dataset of any size is exported in constant memory. Each returns an
`ExportReport`: how many items were written and, by reason, how many were skipped (an item
without an expected answer has no place in a fine-tuning file, for instance).

The canonical item::

    {"id": "support-regressions/17",
     "messages": [{"role": "system"|"user"|"assistant"|"tool", "content": "...",
                   "tool_calls"?: [{"id", "name", "arguments"}], "tool_call_id"?: "..."}],
     "vars": {}, "expected": "..." | null,
     "assertions": [{"type": "contains", "value": "..."}],
     "themes": [...], "scores": {...}, "split": "train"|"test",
     "source": {"record_id": "...", "review_id": 12} | null,
     "output": {"role": "assistant", "content": "the logged output"} | null,
     "tools": [{"type": "function", "function": {"name", "description", "parameters"}}]}

Formats: jsonl (the canonical items), csv, openai-chat (supervised fine-tuning), openai-dpo
(preference fine-tuning), openai-evals, promptfoo (a tests file), inspect (Inspect AI dataset
JSONL) and hf (a folder the Hugging Face `datasets` library loads).

An item's `tools` (the tool definitions its model was offered) go where each format has a place
for them: top-level `tools` of an openai-chat line and of an openai-evals sample, `input.tools` of
an openai-dpo line, a `tools` column (JSON text) in csv and hf, `metadata.tools` in promptfoo and
inspect (neither has a field a test's tools are read from); jsonl keeps them as they are.
"""

from __future__ import annotations

import contextlib
import csv
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson
import yaml

from reviewer.datasets.items import ITEM_KEYS  # the canonical keys, in order (the CSV header)
from reviewer.exporting import ExportReport, TextStream
from reviewer.messages import last_user_text

Item = dict[str, Any]


# reasons an item is left out of a format
NO_EXPECTED = "no expected answer"
NO_OUTPUT = "no logged output"
SAME_OUTPUT = "the logged output is the expected answer"
NO_INPUT = "no input messages"


# -- small helpers --------------------------------------------------------------------------------


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def _json_text(value: Any) -> str:
    return _dumps(value).decode()


def _content(message: dict[str, Any] | None) -> str:
    if not message:
        return ""
    content = message.get("content")
    if content is None:
        return ""
    return content if isinstance(content, str) else _json_text(content)


def output_text(item: Item) -> str | None:
    """The text of the logged output, or None when there is none (or it is empty)."""
    text = _content(item.get("output"))
    return text if text.strip() else None


def _arguments(value: Any) -> str:
    if value is None:
        return "{}"
    return value if isinstance(value, str) else _json_text(value)


def openai_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Canonical messages as OpenAI chat messages: content always a string, assistant tool
    calls as `{"id", "type": "function", "function": {"name", "arguments"}}`, tool results with
    the `tool_call_id` of their call (calls without an id get one, and results without one are
    matched to the oldest unanswered call); image and thinking parts are left out."""
    out: list[dict[str, Any]] = []
    pending: list[str] = []  # ids of calls not answered yet, in order
    generated = 0
    for m in messages:
        role = m.get("role") or "user"
        msg: dict[str, Any] = {"role": role, "content": _content(m)}
        if role == "assistant" and m.get("tool_calls"):
            calls = []
            for call in m["tool_calls"]:
                call_id = call.get("id")
                if not call_id:
                    generated += 1
                    call_id = f"call_{generated}"
                pending.append(call_id)
                calls.append(
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {
                            "name": call.get("name") or "",
                            "arguments": _arguments(call.get("arguments")),
                        },
                    }
                )
            msg["tool_calls"] = calls
        if role == "tool":
            call_id = m.get("tool_call_id")
            if call_id and call_id in pending:
                pending.remove(call_id)
            elif not call_id:
                if pending:
                    call_id = pending.pop(0)
                else:
                    generated += 1
                    call_id = f"call_{generated}"
            msg["tool_call_id"] = call_id
        elif m.get("name") and role in ("system", "user", "assistant"):
            msg["name"] = m["name"]
        out.append(msg)
    return out


def _parse_arguments(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip():
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError:
            return {"arguments": value}
        return parsed if isinstance(parsed, dict) else {"arguments": parsed}
    return {}


def inspect_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Canonical messages as Inspect AI chat messages: tool calls as `{"id", "function",
    "arguments": {...}, "type": "function"}`, tool results with `tool_call_id` and `function`."""
    out: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # call id -> function name
    for m, o in zip(messages, openai_messages(messages), strict=True):
        msg: dict[str, Any] = {"role": o["role"], "content": o["content"]}
        if o.get("tool_calls"):
            msg["tool_calls"] = []
            for call in o["tool_calls"]:
                names[call["id"]] = call["function"]["name"]
                msg["tool_calls"].append(
                    {
                        "id": call["id"],
                        "function": call["function"]["name"],
                        "arguments": _parse_arguments(call["function"]["arguments"]),
                        "type": "function",
                    }
                )
        if o["role"] == "tool":
            msg["tool_call_id"] = o["tool_call_id"]
            function = m.get("name") or names.get(o["tool_call_id"])
            if function:
                msg["function"] = function
        out.append(msg)
    return out


def _messages(item: Item) -> list[dict[str, Any]]:
    return list(item.get("messages") or [])


def _source(item: Item) -> dict[str, Any]:
    return item.get("source") or {}


def _tools(item: Item) -> list[dict[str, Any]]:
    """The item's tool definitions (OpenAI's shape), [] for none."""
    tools = item.get("tools")
    return list(tools) if isinstance(tools, list) else []


def _with_tools(line: dict[str, Any], item: Item) -> dict[str, Any]:
    """`line` with the item's `tools` at its top level, when it has any."""
    tools = _tools(item)
    if tools:
        line["tools"] = tools
    return line


class _Lines:
    """Binary output, one JSON object a line."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out

    def write(self, obj: Any) -> None:
        self.out.write(_dumps(obj))
        self.out.write(b"\n")


def with_progress(
    items: Iterable[Item], callback: Callable[[int], None], every: int = 500
) -> Iterator[Item]:
    """`items`, calling `callback(count)` every `every` items and at the end."""
    n = 0
    for n, item in enumerate(items, 1):  # noqa: B007
        yield item
        if n % every == 0:
            callback(n)
    callback(n)


# -- line formats -----------------------------------------------------------------------------------


def write_jsonl(items: Iterable[Item], out: IO[bytes]) -> ExportReport:
    """The canonical items, one JSON object a line, exactly as given (lossless)."""
    report, lines = ExportReport("jsonl"), _Lines(out)
    for item in items:
        lines.write(item)
        report.written += 1
    return report


def chat_line(item: Item) -> dict[str, Any]:
    """The OpenAI supervised fine-tuning line of an item with an expected answer: the input
    conversation, then the expected answer as the last (assistant) message. Assistant turns of
    the input are logged model output nobody reviewed: they carry `"weight": 0`, so only the
    expected answer is trained on. The tools the model was offered are the top-level `tools`,
    as OpenAI's function-calling fine-tuning reads them."""
    messages = openai_messages(_messages(item))
    for m in messages:
        if m["role"] == "assistant":
            m["weight"] = 0
    messages.append({"role": "assistant", "content": item["expected"]})
    return _with_tools({"messages": messages}, item)


def write_openai_chat(items: Iterable[Item], out: IO[bytes]) -> ExportReport:
    """OpenAI fine-tuning (SFT) lines `{"messages": [...]}` ending in the expected answer;
    items without one are skipped."""
    report, lines = ExportReport("openai-chat"), _Lines(out)
    for item in items:
        if not item.get("expected"):
            report.skipped[NO_EXPECTED] += 1
        elif not item.get("messages"):
            report.skipped[NO_INPUT] += 1
        else:
            lines.write(chat_line(item))
            report.written += 1
    return report


def dpo_line(item: Item) -> dict[str, Any]:
    """The OpenAI preference fine-tuning line: the expected answer preferred over the logged
    output; the tools the model was offered in `input.tools`."""
    return {
        "input": _with_tools({"messages": openai_messages(_messages(item))}, item),
        "preferred_output": [{"role": "assistant", "content": item["expected"]}],
        "non_preferred_output": [{"role": "assistant", "content": output_text(item)}],
    }


def write_openai_dpo(items: Iterable[Item], out: IO[bytes]) -> ExportReport:
    """OpenAI preference fine-tuning (DPO) lines; only items whose expected answer differs from
    a logged output."""
    report, lines = ExportReport("openai-dpo"), _Lines(out)
    for item in items:
        expected, logged = item.get("expected"), output_text(item)
        if not expected:
            report.skipped[NO_EXPECTED] += 1
        elif logged is None:
            report.skipped[NO_OUTPUT] += 1
        elif logged.strip() == expected.strip():
            report.skipped[SAME_OUTPUT] += 1
        elif not item.get("messages"):
            report.skipped[NO_INPUT] += 1
        else:
            lines.write(dpo_line(item))
            report.written += 1
    return report


def write_openai_evals(items: Iterable[Item], out: IO[bytes]) -> ExportReport:
    """OpenAI Evals samples `{"input": [chat messages], "ideal": expected, "tools"?: [...]}`;
    items without an expected answer are skipped."""
    report, lines = ExportReport("openai-evals"), _Lines(out)
    for item in items:
        if not item.get("expected"):
            report.skipped[NO_EXPECTED] += 1
        elif not item.get("messages"):
            report.skipped[NO_INPUT] += 1
        else:
            sample = {"input": openai_messages(_messages(item)), "ideal": item["expected"]}
            lines.write(_with_tools(sample, item))
            report.written += 1
    return report


def _metadata(item: Item) -> dict[str, Any]:
    """What an item says beyond its input and expected answer, for a tool's metadata field."""
    source = _source(item)
    out = {
        "split": item.get("split") or "test",
        "themes": list(item.get("themes") or []),
        "scores": dict(item.get("scores") or {}),
        "record_id": source.get("record_id"),
        "review_id": source.get("review_id"),
    }
    if source.get("trace"):
        out["trace"] = source["trace"]
    return _with_tools(out, item)


def inspect_line(item: Item) -> dict[str, Any]:
    """The Inspect AI sample: `input` is the user's text when the conversation is one user
    message, else the chat messages; `target` is the expected answer ("" when there is none)."""
    messages = _messages(item)
    if len(messages) == 1 and messages[0].get("role") == "user":
        input_: str | list[dict[str, Any]] = _content(messages[0])
    else:
        input_ = inspect_messages(messages)
    metadata = _metadata(item)
    metadata.update(
        vars=item.get("vars") or {},
        assertions=item.get("assertions") or [],
        output=output_text(item),
    )
    return {
        "id": str(item.get("id")),
        "input": input_,
        "target": item.get("expected") or "",
        "metadata": metadata,
    }


def write_inspect(items: Iterable[Item], out: IO[bytes]) -> ExportReport:
    """Inspect AI dataset JSONL (`json_dataset(path)` reads it); items without input messages
    are skipped (Inspect refuses an empty input)."""
    report, lines = ExportReport("inspect"), _Lines(out)
    for item in items:
        messages = _messages(item)
        if not messages or not any(_content(m) or m.get("tool_calls") for m in messages):
            report.skipped[NO_INPUT] += 1
            continue
        lines.write(inspect_line(item))
        report.written += 1
    return report


# -- CSV --------------------------------------------------------------------------------------------


def csv_row(item: Item) -> list[Any]:
    """An item as a CSV row: text and numbers as they are, the rest as JSON text, none as ""."""
    row: list[Any] = []
    for key in ITEM_KEYS:
        value = item.get(key)
        if value is None:
            row.append("")
        elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
            row.append(value)
        else:
            row.append(_json_text(value))
    return row


def write_csv(items: Iterable[Item], out: IO[bytes]) -> ExportReport:
    """One row per item under a header of the canonical keys; messages, vars, assertions,
    themes, scores, source, output and tools are JSON text; an empty cell is none."""
    report = ExportReport("csv")
    with TextStream(out) as text:
        writer = csv.writer(text)
        writer.writerow(ITEM_KEYS)
        for item in items:
            writer.writerow(csv_row(item))
            report.written += 1
    return report


# -- promptfoo --------------------------------------------------------------------------------------

#: Canonical assertion types and their promptfoo names (others: "_" becomes "-").
PROMPTFOO_ASSERTIONS = {
    "contains": "contains",
    "not_contains": "not-contains",
    "icontains": "icontains",
    "not_icontains": "not-icontains",
    "contains_any": "contains-any",
    "contains_all": "contains-all",
    "regex": "regex",
    "not_regex": "not-regex",
    "equals": "equals",
    "exact": "equals",
    "not_equals": "not-equals",
    "starts_with": "starts-with",
    "json_valid": "is-json",
    "is_json": "is-json",
    "json": "is-json",
    "json_schema": "is-json",
    "similar": "similar",
    "llm_judge": "llm-rubric",
    "llm_rubric": "llm-rubric",
    "javascript": "javascript",
    "python": "python",
}

#: How the expected answer is checked in promptfoo (the `expected` option).
PROMPTFOO_EXPECTED = ("similar", "factuality", "equals", "none")


def promptfoo_assertion(assertion: dict[str, Any]) -> dict[str, Any]:
    """A canonical assertion as a promptfoo one (`json_schema` becomes `is-json` with the
    schema as its value)."""
    kind = str(assertion.get("type") or "")
    out: dict[str, Any] = {"type": PROMPTFOO_ASSERTIONS.get(kind, kind.replace("_", "-"))}
    value = assertion.get("value")
    if kind == "json_schema" and isinstance(value, str):
        with contextlib.suppress(orjson.JSONDecodeError):
            value = orjson.loads(value)
    if value is not None:
        out["value"] = value
    for key in ("threshold", "weight", "metric"):
        if assertion.get(key) is not None:
            out[key] = assertion[key]
    return out


def _json_value(text: str) -> Any | None:
    """The parsed JSON object or array `text` holds, else None."""
    stripped = text.strip()
    if not stripped or stripped[0] not in "{[":
        return None
    try:
        return orjson.loads(stripped)
    except orjson.JSONDecodeError:
        return None


def promptfoo_test(
    item: Item, expected: str = "similar", threshold: float = 0.75
) -> dict[str, Any]:
    """A promptfoo test case.

    vars: the item's own template variables, plus `messages` (the conversation as OpenAI chat
    messages in JSON text: a prompt of `{{ messages }}` sends it as it was logged) and
    `question` (the last user message), unless the item's vars already use those names.
    assert: the item's assertions, then the expected answer: JSON (an object or an array) is
    compared with `equals` on its value; text with `similar` at `threshold` (promptfoo's
    embedding similarity), or as `expected` says (`factuality`, `equals`, `none`).
    """
    messages = _messages(item)
    vars_: dict[str, Any] = dict(item.get("vars") or {})
    vars_.setdefault("messages", _json_text(openai_messages(messages)))
    vars_.setdefault("question", last_user_text(messages))
    asserts = [promptfoo_assertion(a) for a in item.get("assertions") or []]
    answer = item.get("expected")
    if answer and expected != "none":
        parsed = _json_value(answer)
        if parsed is not None and expected in ("similar", "equals"):
            asserts.append({"type": "equals", "value": parsed})
        elif expected == "similar":
            asserts.append({"type": "similar", "value": answer, "threshold": threshold})
        else:
            asserts.append({"type": expected, "value": answer})
    question = " ".join(last_user_text(messages).split())
    description = f"{item.get('id')}: {question[:80]}" if question else str(item.get("id"))
    metadata = {"id": str(item.get("id")), **_metadata(item)}
    return {"description": description, "vars": vars_, "assert": asserts, "metadata": metadata}


_SafeDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when there


class _YamlDumper(_SafeDumper):  # type: ignore[misc]
    """Multi-line strings as literal blocks, so a tests file reads like the conversation."""


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_YamlDumper.add_representer(str, _str_representer)


def write_promptfoo(
    items: Iterable[Item], out: IO[bytes], *, expected: str = "similar", threshold: float = 0.75
) -> ExportReport:
    """A promptfoo tests file: a YAML list of test cases (`tests: file://tests.yaml`)."""
    if expected not in PROMPTFOO_EXPECTED:
        raise ValueError(f"expected is one of {', '.join(PROMPTFOO_EXPECTED)}, not {expected!r}")
    report = ExportReport("promptfoo")
    for item in items:
        test = promptfoo_test(item, expected, threshold)
        text = yaml.dump(
            [test], Dumper=_YamlDumper, allow_unicode=True, sort_keys=False, width=1 << 30
        )
        out.write(text.encode())
        report.written += 1
    if report.written == 0:
        out.write(b"[]\n")
    return report


# -- Hugging Face -----------------------------------------------------------------------------------

#: The features of an `hf` row, in the card's `dataset_info` notation.
HF_FEATURES: list[dict[str, Any]] = [
    {"name": "id", "dtype": "string"},
    {
        "name": "messages",
        "list": [
            {"name": "role", "dtype": "string"},
            {"name": "content", "dtype": "string"},
            {
                "name": "tool_calls",
                "list": [
                    {"name": "id", "dtype": "string"},
                    {"name": "type", "dtype": "string"},
                    {
                        "name": "function",
                        "struct": [
                            {"name": "name", "dtype": "string"},
                            {"name": "arguments", "dtype": "string"},
                        ],
                    },
                ],
            },
            {"name": "tool_call_id", "dtype": "string"},
            {"name": "name", "dtype": "string"},
        ],
    },
    {"name": "expected", "dtype": "string"},
    {"name": "output", "dtype": "string"},
    {"name": "assertions", "dtype": "string"},
    {"name": "vars", "dtype": "string"},
    {"name": "themes", "list": "string"},
    {"name": "scores", "dtype": "string"},
    {"name": "record_id", "dtype": "string"},
    {"name": "review_id", "dtype": "int64"},
    {"name": "tools", "dtype": "string"},
]

HF_FIELDS = """\
| field | type | what it is |
| --- | --- | --- |
| `id` | string | the item's stable id |
| `messages` | list of messages | the input conversation in OpenAI chat form, system prompt first: `role` (system, user, assistant, tool), `content`, `tool_calls` (`id`, `type`, `function.name`, `function.arguments` as JSON text) on assistant turns that called tools, `tool_call_id` on tool results, `name` |
| `expected` | string or null | the answer the model should give: the reviewer's corrected answer, else the logged answer of a review that passed it |
| `output` | string or null | what the model answered when the call was logged |
| `assertions` | string (JSON) | a list of `{"type", "value"}` checks, such as `contains` or `json_schema` |
| `vars` | string (JSON) | the prompt template's variables, when known |
| `themes` | list of strings | failure themes the reviewer tagged |
| `scores` | string (JSON) | rubric scores, by name |
| `record_id` | string or null | the logged call the item came from |
| `review_id` | int or null | the review event that promoted it |
| `tools` | string (JSON) | the tool definitions the model was offered, in OpenAI's `{"type": "function", "function": {"name", "description", "parameters"}}` shape (`[]`: none) |
"""


def hf_row(item: Item) -> dict[str, Any]:
    """An item as a row of the `hf` export (fixed types: free-form fields are JSON text)."""
    messages = []
    for m in openai_messages(_messages(item)):
        messages.append(
            {
                "role": m["role"],
                "content": m["content"],
                "tool_calls": m.get("tool_calls"),
                "tool_call_id": m.get("tool_call_id"),
                "name": m.get("name"),
            }
        )
    source = _source(item)
    review_id = source.get("review_id")
    return {
        "id": str(item.get("id")),
        "messages": messages,
        "expected": item.get("expected"),
        "output": output_text(item),
        "assertions": _json_text(item.get("assertions") or []),
        "vars": _json_text(item.get("vars") or {}),
        "themes": [str(t) for t in item.get("themes") or []],
        "scores": _json_text(item.get("scores") or {}),
        "record_id": source.get("record_id"),
        "review_id": int(review_id) if isinstance(review_id, int) else None,
        "tools": _json_text(_tools(item)),
    }


def dataset_card(
    name: str,
    counts: dict[str, int],
    sizes: dict[str, int] | None = None,
    description: str | None = None,
    version: Any = None,
) -> str:
    """The README.md of an `hf` export: YAML front matter (configs, dataset_info) and the
    fields."""
    splits = sorted(counts)
    front = {
        "configs": [
            {
                "config_name": "default",
                "data_files": [{"split": s, "path": f"data/{s}.jsonl"} for s in splits],
            }
        ],
        "dataset_info": {
            "features": HF_FEATURES,
            "splits": [
                {"name": s, "num_bytes": (sizes or {}).get(s, 0), "num_examples": counts[s]}
                for s in splits
            ],
        },
        "pretty_name": name,
    }
    head = yaml.safe_dump(front, sort_keys=False, allow_unicode=True)
    title = f"{name} (version {version})" if version is not None else name
    split_sizes = ", ".join(f"{counts[s]} {s}" for s in splits) or "no items"
    lines = [
        "---",
        head.rstrip(),
        "---",
        "",
        f"# {title}",
        "",
        description or "An eval dataset of reviewed LLM calls, exported by reviewer.",
        "",
        f'Splits: {split_sizes}. Load it with `datasets.load_dataset("path/to/this/folder")`.',
        "",
        "## Fields",
        "",
        HF_FIELDS,
    ]
    return "\n".join(lines)


def write_hf(
    items: Iterable[Item],
    folder: str | Path,
    *,
    name: str | None = None,
    description: str | None = None,
    version: Any = None,
) -> ExportReport:
    """A Hugging Face dataset folder: data/<split>.jsonl for each split present and a README.md
    dataset card describing the schema."""
    root = Path(folder)
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    report = ExportReport("hf")
    files: dict[str, IO[bytes]] = {}
    counts: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    try:
        for item in items:
            split = str(item.get("split") or "test")
            if split not in files:
                if not split.replace("-", "").replace("_", "").isalnum():
                    raise ValueError(f"item {item.get('id')}: bad split name {split!r}")
                files[split] = open(data / f"{split}.jsonl", "wb")  # noqa: SIM115
            line = _dumps(hf_row(item)) + b"\n"
            files[split].write(line)
            counts[split] += 1
            sizes[split] += len(line)
            report.written += 1
    finally:
        for fh in files.values():
            fh.close()
    card = root / "README.md"
    card.write_text(
        dataset_card(name or root.name, dict(counts), dict(sizes), description, version),
        encoding="utf-8",
    )
    report.files = [str(data / f"{s}.jsonl") for s in sorted(counts)] + [str(card)]
    return report


# -- dispatch ---------------------------------------------------------------------------------------

LINE_WRITERS: dict[str, Callable[..., ExportReport]] = {
    "jsonl": write_jsonl,
    "csv": write_csv,
    "openai-chat": write_openai_chat,
    "openai-dpo": write_openai_dpo,
    "openai-evals": write_openai_evals,
    "promptfoo": write_promptfoo,
    "inspect": write_inspect,
}
#: Every format, the folder ones (which need a path) last.
FORMATS: tuple[str, ...] = (*LINE_WRITERS, "hf")
FOLDER_FORMATS = ("hf",)


def export_items(
    items: Iterable[Item],
    fmt: str,
    target: str | Path | IO[bytes],
    **options: Any,
) -> ExportReport:
    """Write `items` in format `fmt` to `target`: a binary stream, or a path (a file; a folder
    for `hf`). Options go to the format's writer (hf: name, description, version; promptfoo:
    expected, threshold)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (formats: {', '.join(FORMATS)})")
    if fmt in FOLDER_FORMATS:
        if not isinstance(target, (str, Path)):
            raise ValueError(f"the {fmt} format writes a folder: give a path")
        return write_hf(items, target, **options)
    writer = LINE_WRITERS[fmt]
    if isinstance(target, (str, Path)):
        with open(target, "wb") as fh:
            report = writer(items, fh, **options)
        report.files = [str(target)]
        return report
    return writer(items, target, **options)
