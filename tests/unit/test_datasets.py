"""Datasets: promotion (the `d` key and in bulk) without duplicates, the canonical item shape,
edits, imports (round trip into a new workspace, bad lines), theme coverage, the CLI."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from reviewer.cli import app
from reviewer.datasets.items import (
    ItemError,
    assign_split,
    content_hash,
    normalize_assertion,
    normalize_assertions,
    parse_item,
)
from reviewer.datasets.promote import DATASET_ITEMS
from reviewer.datasets.store import (
    DatasetError,
    bulk_promote,
    dataset_items,
    get_item,
    import_items,
    list_datasets,
    remove_item,
    restore_item,
    show_dataset,
    theme_coverage,
    update_item,
)
from reviewer.datasets.versions import VERSIONS, iter_version_items, list_versions, version_info
from reviewer.review.themes import create_theme
from reviewer.store.db import open_engine, sqlite_url
from tests.unit.test_review_session import RUBRIC, events, make_items, make_queue, session

SYSTEM = {"role": "system", "content": "You are the support assistant."}


def question(i: int) -> dict[str, str]:
    return {"role": "user", "content": f"Question {i}?"}


def answer(i: int) -> dict[str, str]:
    return {"role": "assistant", "content": f"Answer {i}."}


def reviewed(engine: Engine, tmp_path: Path) -> list[int]:
    """Four queue items: 0 passed by ana (tone), 1 failed by ana with a correction
    (invented-policy), 2 passed by ben, 3 only scored by ana (not complete)."""
    ids = make_items(engine, tmp_path, 4)
    ana, ben = session(engine, "ana"), session(engine, "ben")
    ana.open(ids[0])
    ana.set_score(ids[0], "helpful", 5)
    ana.set_themes(ids[0], ["tone"])
    ana.set_verdict(ids[0], "pass")
    ana.open(ids[1])
    ana.set_score(ids[1], "helpful", 1)
    ana.set_themes(ids[1], ["Invented policy"])
    ana.set_correction(ids[1], "Returns are accepted within 30 days.")
    ana.set_verdict(ids[1], "fail")
    ben.open(ids[2])
    ben.set_score(ids[2], "helpful", 4)
    ben.set_verdict(ids[2], "pass")
    ana.open(ids[3])
    ana.set_score(ids[3], "helpful", 3)
    return ids


def last_event_id(engine: Engine, queue_item_id: int, reviewer: str, action: str) -> int:
    found = [
        e["id"]
        for e in events(engine, queue_item_id=queue_item_id, reviewer=reviewer)
        if e["action"] == action
    ]
    return found[-1]


def plain(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items without the row facts `dataset_items` adds to the canonical shape."""
    return [{k: v for k, v in item.items() if k not in ("row_id", "removed")} for item in items]


def version_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(VERSIONS)).scalar_one())


# -- promotion ----------------------------------------------------------------------------------


def test_the_d_key_promotes_the_canonical_item_once(engine, tmp_path):
    ids = reviewed(engine, tmp_path)
    s = session(engine, "ana")
    first = s.promote(ids[0])
    verdict_id = last_event_id(engine, ids[0], "ana", "verdict")
    (item,) = dataset_items(engine, "regressions")
    assert item == {
        "id": f"regressions/{first.item_id}",
        "messages": [SYSTEM, question(0)],
        "vars": {},
        "expected": "Answer 0.",  # passed: the logged answer
        "assertions": [],
        "themes": ["tone"],
        "scores": {"helpful": 5},
        "split": assign_split(f"{ids[0]}:ana"),
        "source": {"record_id": "chatcmpl-q0", "review_id": verdict_id},
        "output": answer(0),
        "tools": [],
        "row_id": first.item_id,
        "removed": False,
    }
    assert version_info(engine, "regressions").number == 1

    again = s.promote(ids[0])  # the same review: the same item, nothing new
    assert (again.created, again.item_id) == (False, first.item_id)
    assert len(dataset_items(engine, "regressions")) == 1
    assert [v.number for v in list_versions(engine, "regressions")] == [1]

    s.set_correction(ids[0], "Answer zero.")  # the case follows its review
    assert not s.promote(ids[0]).created
    (item,) = dataset_items(engine, "regressions")
    assert item["expected"] == "Answer zero."
    assert item["source"]["review_id"] == last_event_id(engine, ids[0], "ana", "correct")
    assert [(v.number, v.item_count, v.note, v.created_by) for v in list_versions(engine, "regressions")] == [
        (1, 1, "promoted 1 review", "ana"),
        (2, 1, f"updated item regressions/{first.item_id} (its review changed)", "ana"),
    ]  # fmt: skip


def test_undoing_a_promotion_makes_a_version_without_the_item(engine, tmp_path):
    ids = reviewed(engine, tmp_path)
    s = session(engine, "ana")
    s.promote(ids[1])
    result = s.promote(ids[0])
    s.undo()
    assert [i["id"] for i in dataset_items(engine, "regressions")] == [
        f"regressions/{result.item_id - 1}"
    ]
    latest = version_info(engine, "regressions")
    assert (latest.number, latest.item_count, latest.created_by) == (3, 1, "ana")
    assert latest.note == f"removed item regressions/{result.item_id} (promotion undone)"
    assert latest.hash == version_info(engine, "regressions", 1).hash  # the same items as v1


def test_bulk_promote_takes_complete_reviews_matching_the_filters(engine, tmp_path):
    ids = reviewed(engine, tmp_path)
    queue = make_queue()
    passed = bulk_promote(engine, "golden", queue, verdict="pass", by="lead")
    assert (passed.created, passed.updated, passed.skipped) == (2, 0, 0)
    assert passed.version is not None and passed.version.number == 1
    assert passed.version.note == "promoted 2 reviews from queue q"
    assert passed.version.created_by == "lead"
    items = dataset_items(engine, "golden")
    assert [(i["source"]["record_id"], i["expected"]) for i in items] == [
        ("chatcmpl-q0", "Answer 0."),
        ("chatcmpl-q2", "Answer 2."),
    ]
    assert items[1]["source"]["review_id"] == last_event_id(engine, ids[2], "ben", "verdict")
    with engine.connect() as conn:
        rows = conn.execute(
            select(DATASET_ITEMS.c.created_by, DATASET_ITEMS.c.review_event_id).order_by(
                DATASET_ITEMS.c.id
            )
        ).all()
    assert [tuple(r) for r in rows] == [("lead", None), ("lead", None)]  # no promote events

    again = bulk_promote(engine, "golden", queue, verdict="pass")
    assert (again.created, again.updated, again.skipped, again.version) == (0, 0, 2, None)

    themed = bulk_promote(engine, "golden", queue, themes=["invented policy"])
    assert (themed.created, themed.updated, themed.skipped) == (1, 0, 0)
    assert dataset_items(engine, "golden")[-1]["expected"] == "Returns are accepted within 30 days."
    assert dataset_items(engine, "golden")[-1]["themes"] == ["invented-policy"]

    everything = bulk_promote(engine, "golden", queue)  # item 3 has no verdict: not complete
    assert (everything.created, everything.updated, everything.skipped) == (0, 0, 3)
    only_ben = bulk_promote(engine, "bens", queue, reviewer="ben")
    assert [i["source"]["record_id"] for i in dataset_items(engine, "bens")] == ["chatcmpl-q2"]
    assert only_ben.created == 1
    assert bulk_promote(engine, "nothing", queue, themes=["no-such"]).created == 0
    assert [d.name for d in list_datasets(engine)] == ["bens", "golden"]  # none made for nothing


def test_bulk_promote_after_the_d_key_does_not_duplicate_and_updates_changed_reviews(
    engine, tmp_path
):
    ids = reviewed(engine, tmp_path)
    s = session(engine, "ana")
    promoted = s.promote(ids[0])
    summary = bulk_promote(engine, "regressions", make_queue(), verdict="pass", test_share=1.0)
    assert (summary.created, summary.updated, summary.skipped) == (1, 0, 1)
    items = dataset_items(engine, "regressions")
    assert [i["row_id"] for i in items] == [promoted.item_id, promoted.item_id + 1]
    assert items[0]["split"] == assign_split(f"{ids[0]}:ana")  # kept
    assert items[1]["split"] == "test"  # share 1.0: every new item is a test case

    s.set_correction(ids[0], "Better answer 0.")  # the case follows at once
    assert dataset_items(engine, "regressions")[0]["expected"] == "Better answer 0."
    changed = bulk_promote(engine, "regressions", make_queue(), verdict="pass")
    assert (changed.created, changed.updated, changed.skipped) == (0, 0, 2)
    assert dataset_items(engine, "regressions")[0]["expected"] == "Better answer 0."
    s.undo()  # the correction
    s.undo()  # the d-key promotion: its item goes out, whoever updated it since
    assert [i["row_id"] for i in dataset_items(engine, "regressions")] == [promoted.item_id + 1]


def test_bulk_promote_respects_a_removal(engine, tmp_path):
    reviewed(engine, tmp_path)
    bulk_promote(engine, "golden", make_queue(), verdict="pass")
    first = dataset_items(engine, "golden")[0]
    remove_item(engine, first["row_id"], by="lead")
    summary = bulk_promote(engine, "golden", make_queue(), verdict="pass")
    assert (summary.created, summary.updated, summary.skipped) == (0, 0, 2)
    assert len(dataset_items(engine, "golden")) == 1


def test_bulk_promote_checks_its_arguments(engine, tmp_path):
    reviewed(engine, tmp_path)
    with pytest.raises(DatasetError, match="the verdict is pass or fail, not 'maybe'"):
        bulk_promote(engine, "golden", make_queue(), verdict="maybe")
    with pytest.raises(DatasetError, match="the test share is between 0 and 1, not 1.5"):
        bulk_promote(engine, "golden", make_queue(), test_share=1.5)
    with pytest.raises(DatasetError, match="a dataset needs a name"):
        bulk_promote(engine, " ", make_queue())
    assert list_datasets(engine) == []


def test_promotion_keeps_logged_template_variables(engine, tmp_path):
    path = tmp_path / "tests.csv"
    path.write_text("question,city,__expected\nWhere do you ship?,Hamburg,contains: EU\n")
    from tests.conftest import run_import

    run_import(engine, path)
    from sqlalchemy import insert

    from reviewer.store.events import QUEUE_ITEMS, RECORDS

    with engine.begin() as conn:
        record_id = conn.execute(select(RECORDS.c.id)).scalar_one()
        conn.execute(insert(QUEUE_ITEMS).values(queue="q", record_id=record_id, added_at=""))
        item_id = conn.execute(select(QUEUE_ITEMS.c.id)).scalar_one()
    s = session(engine)
    s.open(item_id)
    s.set_score(item_id, "helpful", 2)
    s.set_verdict(item_id, "fail")
    s.promote(item_id)
    (item,) = dataset_items(engine, "regressions")
    assert item["vars"] == {"question": "Where do you ship?", "city": "Hamburg"}
    assert item["expected"] is None  # failed, nothing corrected


def test_splits_are_stable_and_follow_the_share():
    keys = [f"{i}:ana" for i in range(2000)]
    splits = [assign_split(k) for k in keys]
    assert splits == [assign_split(k) for k in keys]
    assert set(splits) == {"train", "test"}
    assert 320 <= splits.count("test") <= 480  # about 20 % of 2000
    assert {assign_split(k, 0.0) for k in keys} == {"train"}
    assert {assign_split(k, 1.0) for k in keys} == {"test"}


# -- the canonical shape and assertions ---------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ({"type": "contains", "value": "30 days"}, {"type": "contains", "value": "30 days"}),
    ({"type": "must_contain", "value": "x"}, {"type": "contains", "value": "x"}),
    ({"type": "must_not_contain", "value": "x"}, {"type": "not_contains", "value": "x"}),
    ({"type": "not-contains", "value": "x"}, {"type": "not_contains", "value": "x"}),
    ({"type": "ICONTAINS", "value": "x"}, {"type": "icontains", "value": "x"}),
    ({"type": "regex", "value": r"^\d+ days$"}, {"type": "regex", "value": r"^\d+ days$"}),
    ({"type": "is-json"}, {"type": "is_json", "value": None}),
    ({"type": "is-json", "value": {"type": "object"}}, {"type": "json_schema", "value": {"type": "object"}}),
    ({"type": "json-schema", "value": {"required": ["id"]}}, {"type": "json_schema", "value": {"required": ["id"]}}),
    ({"type": "equals", "value": ""}, {"type": "equals", "value": ""}),
])  # fmt: skip
def test_assertion_spellings_are_normalised(raw, expected):
    assert normalize_assertion(raw) == expected


@pytest.mark.parametrize(("raw", "message"), [
    ({"type": "regex", "value": "(unclosed"}, "assertions[0].value: the regex does not compile: missing ), unterminated subpattern at position 0"),
    ({"type": "json_schema", "value": "{}"}, "assertions[0].value: json_schema needs a JSON Schema object, not a text"),
    ({"type": "llm-rubric", "value": "polite"}, "assertions[0].type: llm_judge needs a model or code, so it is a grader of the prompt file, not an assertion of an item (items take contains, not_contains, icontains, regex, json_schema, equals, is_json)"),
    ({"type": "contains-maybe", "value": "x"}, "assertions[0].type: unknown assertion type 'contains-maybe' (known: contains, not_contains, icontains, regex, json_schema, equals, is_json; also exact, equal, json-valid, valid-json, jsonschema, contains-json-schema, regexp, matches, must-contain, must-not-contain, not-contain)"),
    ({"type": "json_schema", "value": {"type": "strin"}}, "assertions[0].value: not a valid JSON Schema: $.type: 'strin' is not valid under any of the given schemas"),
    ({"type": "contains", "value": ""}, "assertions[0].value: contains needs a text to look for, not an empty text"),
    ({"type": "contains", "value": 3}, "assertions[0].value: contains needs a text to look for, not a number"),
    ({"type": "is_json", "value": "yes"}, "assertions[0].value: is_json takes no value (or a JSON Schema object)"),
    ({"type": "contains", "value": "x", "weight": 2}, "assertions[0]: unknown key 'weight' (an assertion has type and value)"),
    ({"value": "x"}, "assertions[0].type: give the assertion's type (contains, not_contains, icontains, regex, json_schema, equals, is_json)"),
    ("contains: x", 'assertions[0]: an assertion is an object {"type", "value"}, not a text'),
])  # fmt: skip
def test_bad_assertions_say_what_is_wrong(raw, message):
    with pytest.raises(ItemError) as info:
        normalize_assertions([raw])
    assert str(info.value) == message


def test_parse_item_fills_defaults_and_normalises():
    parsed = parse_item(
        {
            "id": 7,
            "messages": [{"role": "user", "content": None, "tool_calls": [], "name": ""}],
            "themes": ["Invented Policy", "invented-policy"],
            "output": "the answer",
        }
    )
    assert parsed.id == "7"
    assert parsed.content == {
        "messages": [{"role": "user", "content": ""}],
        "vars": {},
        "expected": None,
        "assertions": [],
        "themes": ["invented-policy"],
        "scores": {},
        "split": None,
        "source": None,
        "output": {"role": "assistant", "content": "the answer"},
        "tools": [],
    }


# -- edits --------------------------------------------------------------------------------------


def test_edits_remove_and_restore(engine, tmp_path):
    reviewed(engine, tmp_path)
    bulk_promote(engine, "golden", make_queue(), verdict="pass")
    row_id = dataset_items(engine, "golden")[0]["row_id"]
    edited = update_item(
        engine,
        row_id,
        expected="Answer 0, politely.",
        assertions=[{"type": "must_contain", "value": "politely"}],
        split="test",
        by="lead",
    )
    assert edited["expected"] == "Answer 0, politely."
    assert edited["assertions"] == [{"type": "contains", "value": "politely"}]
    assert (edited["split"], edited["dataset"], edited["id"]) == (
        "test", "golden", f"golden/{row_id}",
    )  # fmt: skip
    assert get_item(engine, row_id) == edited
    latest = version_info(engine, "golden")
    assert (latest.number, latest.note, latest.created_by) == (
        2,
        f"edited item golden/{row_id}",
        "lead",
    )

    with pytest.raises(DatasetError, match=r"assertions\[0\].value: the regex does not compile"):
        update_item(engine, row_id, assertions=[{"type": "regex", "value": "["}])
    with pytest.raises(DatasetError, match="the split is train or test, not 'dev'"):
        update_item(engine, row_id, split="dev")
    with pytest.raises(DatasetError, match="no dataset item 999"):
        update_item(engine, 999, expected="x")
    assert update_item(engine, row_id, expected="  ")["expected"] is None  # empty clears it

    assert remove_item(engine, row_id, by="lead")["removed"] is True
    assert [i["row_id"] for i in dataset_items(engine, "golden")] == [row_id + 1]
    assert [i["row_id"] for i in dataset_items(engine, "golden", include_removed=True)] == [
        row_id, row_id + 1,
    ]  # fmt: skip
    assert remove_item(engine, row_id)["removed"] is True  # again: nothing changes
    assert restore_item(engine, row_id, by="lead")["removed"] is False
    notes = [v.note for v in list_versions(engine, "golden")]
    assert notes == [
        "promoted 2 reviews from queue q",
        f"edited item golden/{row_id}",
        f"edited item golden/{row_id}",
        f"removed item golden/{row_id}",
        f"restored item golden/{row_id}",
    ]


# -- import -------------------------------------------------------------------------------------


def write_jsonl(path: Path, items: list[Any]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(i) + b"\n" for i in items))
    return path


FAQ = {
    "id": "faq-1",
    "messages": [{"role": "user", "content": "Do you ship to Norway?"}],
    "vars": {"country": "Norway"},
    "expected": "No: we ship to the EU, the UK and Switzerland.",
    "assertions": [{"type": "not-contains", "value": "yes"}, {"type": "is-json"}],
    "themes": ["shipping"],
    "scores": {"helpful": 3},
    "split": "train",
    "source": None,
    "output": None,
}


def test_import_round_trip_into_a_new_workspace(engine, tmp_path):
    ids = reviewed(engine, tmp_path)
    s = session(engine, "ana")
    s.promote(ids[1])
    bulk_promote(engine, "regressions", make_queue(), verdict="pass")
    first = dataset_items(engine, "regressions")[0]["row_id"]
    update_item(engine, first, assertions=[{"type": "regex", "value": r"\b30 days\b"}])
    summary = import_items(engine, "regressions", write_jsonl(tmp_path / "faq.jsonl", [FAQ]))
    assert (summary.created, summary.rejected) == (1, [])
    remove_item(engine, dataset_items(engine, "regressions")[1]["row_id"])
    info = version_info(engine, "regressions")

    exported = tmp_path / "regressions.jsonl"
    with exported.open("wb") as fh:
        for item in iter_version_items(engine, "regressions"):
            fh.write(orjson.dumps(item) + b"\n")
    written = [orjson.loads(line) for line in exported.read_bytes().splitlines()]
    assert len(written) == info.item_count == 3
    assert written[2] == {**FAQ, "tools": [], "assertions": [
        {"type": "not_contains", "value": "yes"}, {"type": "is_json", "value": None},
    ]}  # fmt: skip
    assert written == plain(dataset_items(engine, "regressions"))

    other = open_engine(sqlite_url(tmp_path / "other" / "reviewer.db"))
    try:
        result = import_items(other, "regressions", exported, by="ben")
        assert (result.items, result.created, result.updated, result.unchanged) == (3, 3, 0, 0)
        assert result.rejected == [] and result.ok
        assert plain(dataset_items(other, "regressions")) == written
        copied = version_info(other, "regressions")
        assert (copied.number, copied.hash, copied.item_count) == (1, info.hash, 3)
        assert copied.note == "imported 3 items from regressions.jsonl (3 new, 0 updated)"
        assert list(iter_version_items(other, "regressions")) == written

        again = import_items(other, "regressions", exported)  # nothing new, no new version
        assert (again.created, again.updated, again.unchanged, again.version) == (0, 0, 3, None)
        assert len(dataset_items(other, "regressions")) == 3
    finally:
        other.dispose()

    back = import_items(engine, "regressions", exported)  # into the workspace it came from
    assert (back.created, back.updated, back.unchanged, back.version) == (0, 0, 3, None)


def test_import_updates_known_ids_and_matches_items_without_one(engine, tmp_path):
    bare = {"messages": [{"role": "user", "content": "Hi"}], "expected": "Hello!"}
    path = write_jsonl(tmp_path / "a.jsonl", [FAQ, bare])
    first = import_items(engine, "faq", path)
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    items = dataset_items(engine, "faq")
    assert items[0]["id"] == "faq-1"
    assert items[1]["id"] == f"faq/{items[1]['row_id']}"
    assert items[1]["split"] == assign_split(f"hash:{content_hash(parse_item(bare).content)}")
    assert import_items(engine, "faq", path).unchanged == 2  # the same file: nothing added

    remove_item(engine, items[0]["row_id"])
    changed = {**FAQ, "expected": "No, sorry."}
    own = {**bare, "id": items[1]["id"], "expected": "Hello there!"}
    second = import_items(engine, "faq", write_jsonl(tmp_path / "b.jsonl", [changed, own]))
    assert (second.created, second.updated, second.unchanged) == (0, 2, 0)
    after = dataset_items(engine, "faq")
    assert [(i["id"], i["expected"], i["removed"]) for i in after] == [
        ("faq-1", "No, sorry.", False),  # restored too
        (items[1]["id"], "Hello there!", False),
    ]
    assert after[1]["split"] == items[1]["split"]  # no split given: the item keeps its own
    assert version_info(engine, "faq").note == "imported 2 items from b.jsonl (0 new, 2 updated)"


def test_bad_import_lines_are_reported_and_the_good_ones_imported(engine, tmp_path):
    good = {"id": "ok-1", "messages": [{"role": "user", "content": "Hi"}]}
    path = tmp_path / "mixed.jsonl"
    lines = [
        orjson.dumps(good),
        b"{not json",
        b"[1, 2]",
        b"",
        orjson.dumps({"id": "x", "messages": []}),
        orjson.dumps({"messages": [{"role": "robot", "content": "beep"}]}),
        orjson.dumps({"messages": [{"role": "user", "content": "x"}], "assertions": [{"type": "regex", "value": "(a"}]}),
        orjson.dumps({"messages": [{"role": "user", "content": "x"}], "expectd": "typo"}),
        orjson.dumps({"messages": [{"role": "user", "content": "x"}], "split": "dev"}),
        b'{"messages": [{"role": "user", "content": "caf\xe9"}]}',
        orjson.dumps({**good, "expected": "again"}),
        orjson.dumps({"messages": [{"role": "user", "content": "x"}], "expected": {"a": 1}}),
        orjson.dumps({"id": "ok-2", "messages": [{"role": "user", "content": "Bye"}], "split": "test"}),
    ]  # fmt: skip
    path.write_bytes(b"\n".join(lines) + b"\n")
    summary = import_items(engine, "mixed", path)
    assert summary.rejected == [
        (2, "not valid JSON: unexpected character, expected a string key: line 1 column 2 (char 1)"),
        (3, "an item is a JSON object, not a list"),
        (5, 'messages: the input conversation, a non-empty list of {"role", "content"} objects, not an empty list'),
        (6, "messages[0].role: one of system, user, assistant, tool, not 'robot'"),
        (7, "assertions[0].value: the regex does not compile: missing ), unterminated subpattern at position 0"),
        (8, "unknown key 'expectd' (an item has id, messages, vars, expected, assertions, themes, scores, split, source, output, tools)"),
        (9, "split: train or test (or leave it out), not 'dev'"),
        (10, "not UTF-8 text: byte 0xe9 at column 47"),
        (11, "id 'ok-1' is also on line 1: ids must be different"),
        (12, "expected: the expected answer as text, or null, not an object (write expected JSON as a string)"),
    ]  # fmt: skip
    assert (summary.items, summary.created, summary.updated, summary.unchanged) == (12, 2, 0, 0)
    assert summary.items == summary.created + summary.updated + summary.unchanged + len(
        summary.rejected
    )
    assert [(i["id"], i["split"]) for i in dataset_items(engine, "mixed")] == [
        ("ok-1", assign_split("id:ok-1")),
        ("ok-2", "test"),
    ]
    assert not summary.ok


def test_import_reads_gzip_and_a_bom_and_refuses_a_missing_file(engine, tmp_path):
    path = tmp_path / "items.jsonl.gz"
    path.write_bytes(gzip.compress(b"\xef\xbb\xbf" + orjson.dumps(FAQ) + b"\n"))
    assert import_items(engine, "faq", path).created == 1
    with pytest.raises(DatasetError, match="nope.jsonl: no such file"):
        import_items(engine, "faq", tmp_path / "nope.jsonl")
    only_bad = write_jsonl(tmp_path / "bad.jsonl", [{"messages": "hi"}])
    summary = import_items(engine, "never", only_bad)
    assert summary.rejected == [
        (
            1,
            'messages: the input conversation, a non-empty list of {"role", "content"} objects, not a text',
        )
    ]
    assert [d.name for d in list_datasets(engine)] == ["faq"]  # nothing good: no dataset made


def test_an_imported_id_never_collides_with_a_new_items_own_id(engine, tmp_path):
    # an item imported with the id "faq/2" while row 2 does not exist yet in this dataset
    import_items(engine, "faq", write_jsonl(tmp_path / "a.jsonl", [{**FAQ, "id": "faq/2"}]))
    bare = {"messages": [{"role": "user", "content": "Hi"}]}
    import_items(engine, "faq", write_jsonl(tmp_path / "b.jsonl", [bare]))
    ids = [i["id"] for i in dataset_items(engine, "faq")]
    assert ids == ["faq/2", "faq/2-2"]  # row 2 is the new one: its own id was taken


# -- reading ------------------------------------------------------------------------------------


def test_theme_coverage_includes_themes_without_items(engine, tmp_path):
    reviewed(engine, tmp_path)
    create_theme(engine, "broken-json")
    bulk_promote(engine, "golden", make_queue())
    import_items(engine, "faq", write_jsonl(tmp_path / "faq.jsonl", [FAQ]))
    assert theme_coverage(engine, "golden", queue_themes=["Wrong language", "tone"]) == [
        ("invented-policy", 1),
        ("tone", 1),
        ("broken-json", 0),  # a workspace theme no item carries
        ("wrong-language", 0),  # a queue's theme nobody used yet
    ]  # "shipping" is a theme of the faq dataset's items only
    assert theme_coverage(engine) == [
        ("invented-policy", 1), ("shipping", 1), ("tone", 1), ("broken-json", 0),
    ]  # fmt: skip
    with pytest.raises(DatasetError, match="no dataset named 'nope' \\(datasets: faq, golden\\)"):
        theme_coverage(engine, "nope")


def test_list_and_show(engine, tmp_path):
    reviewed(engine, tmp_path)
    bulk_promote(engine, "golden", make_queue(), test_share=0.0)
    row_id = dataset_items(engine, "golden")[0]["row_id"]
    update_item(engine, row_id, split="test", assertions=[{"type": "contains", "value": "0"}])
    (summary,) = list_datasets(engine)
    latest = version_info(engine, "golden")
    assert summary.to_dict() == {
        "name": "golden",
        "description": None,
        "created_at": summary.created_at,
        "items": 3,
        "versions": 2,
        "latest_version": 2,
        "latest_hash": latest.hash,
        "themes": ["invented-policy", "tone"],
    }
    doc = show_dataset(engine, "golden")
    assert doc["version"] == latest.to_dict()
    assert (doc["items"], doc["splits"], doc["themes"]) == (
        3, {"train": 2, "test": 1}, {"invented-policy": 1, "tone": 1},
    )  # fmt: skip
    assert (doc["with_expected"], doc["with_assertions"], doc["with_output"]) == (3, 1, 3)
    assert [v["number"] for v in doc["versions"]] == [1, 2]
    old = show_dataset(engine, "golden", 1)
    assert (old["version"]["number"], old["splits"], old["with_assertions"]) == (
        1, {"train": 3, "test": 0}, 0,
    )  # fmt: skip
    with pytest.raises(
        DatasetError, match=r"dataset 'golden' has no version 9 \(versions 1 to 2\)"
    ):
        show_dataset(engine, "golden", 9)


# -- command line -------------------------------------------------------------------------------


@pytest.fixture
def workspace(engine, tmp_path) -> Path:
    ws = tmp_path / "ws"  # the `engine` fixture's database is this workspace's
    (ws / "queues").mkdir(parents=True)
    (ws / "queues" / "q.yaml").write_text(
        yaml.safe_dump({"name": "q", "rubric": RUBRIC, "dataset": "regressions"})
    )
    return ws


def run(ws: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--workspace", str(ws), "--reviewer", "lead", *args])


def test_cli_promote_list_show(engine, tmp_path, workspace):
    reviewed(engine, tmp_path)
    result = run(
        workspace, "datasets", "promote", "golden", "--queue", "q", "--verdict", "pass", "--json"
    )
    assert result.exit_code == 0, result.output
    doc = orjson.loads(result.stdout)
    assert (doc["dataset"], doc["created"], doc["updated"], doc["skipped"]) == ("golden", 2, 0, 0)
    assert (doc["version"]["number"], doc["version"]["created_by"]) == (1, "lead")

    text = run(workspace, "datasets", "promote", "golden", "-q", "q", "--theme", "invented-policy")
    assert text.exit_code == 0, text.output
    latest = version_info(engine, "golden")
    assert text.stdout.splitlines() == [
        "golden: 1 new, 0 updated, 0 already there",
        f"version 2  {latest.hash}",
    ]
    by_ben = run(workspace, "datasets", "promote", "bens", "-q", "q", "--reviewer", "ben", "--json")
    assert orjson.loads(by_ben.stdout)["created"] == 1

    listed = run(workspace, "datasets", "list", "--json")
    assert listed.exit_code == 0
    assert [(d["name"], d["items"], d["latest_version"]) for d in orjson.loads(listed.stdout)] == [
        ("bens", 1, 1), ("golden", 3, 2),
    ]  # fmt: skip
    table = run(workspace, "datasets", "list")
    assert table.stdout.splitlines()[0].split() == ["dataset", "items", "version", "hash", "themes"]
    assert table.stdout.splitlines()[2].split() == [
        "golden", "3", "2", latest.hash[:12], "invented-policy,", "tone",
    ]  # fmt: skip

    shown = run(workspace, "datasets", "show", "golden", "--version", "1", "--json")
    assert shown.exit_code == 0
    assert orjson.loads(shown.stdout) == orjson.loads(
        orjson.dumps(show_dataset(engine, "golden", 1))
    )
    human = run(workspace, "datasets", "show", "golden")
    assert human.exit_code == 0
    assert human.stdout.splitlines()[0] == "dataset     golden"
    assert human.stdout.splitlines()[1].startswith(f"version     2 of 2  {latest.hash}")


def test_cli_errors_exit_2(engine, tmp_path, workspace):
    reviewed(engine, tmp_path)
    unknown_queue = run(workspace, "datasets", "promote", "golden", "--queue", "nope")
    assert unknown_queue.exit_code == 2
    assert "no queue named 'nope'" in unknown_queue.stderr
    bad_verdict = run(workspace, "datasets", "promote", "golden", "-q", "q", "--verdict", "ok")
    assert bad_verdict.exit_code == 2
    assert bad_verdict.stderr == "reviewer: --verdict is pass or fail, not 'ok'\n"
    unknown = run(workspace, "datasets", "show", "nope")
    assert unknown.exit_code == 2
    assert unknown.stderr == "reviewer: no dataset named 'nope' (datasets: none)\n"
    missing = run(workspace, "datasets", "import", "faq", str(tmp_path / "nope.jsonl"))
    assert missing.exit_code == 2
    assert missing.stderr == f"reviewer: {tmp_path / 'nope.jsonl'}: no such file\n"
    bad_share = run(
        workspace, "datasets", "promote", "golden", "-q", "q", "--split-test-share", "2"
    )
    assert bad_share.exit_code == 2
    assert bad_share.stderr == "reviewer: the test share is between 0 and 1, not 2.0\n"


def test_cli_import(engine, tmp_path, workspace):
    path = tmp_path / "faq.jsonl"
    path.write_bytes(orjson.dumps(FAQ) + b"\n" + b'{"id": "b"}\n')
    result = run(workspace, "datasets", "import", "faq", str(path))
    assert result.exit_code == 1  # a line was rejected; the other is imported
    assert result.stderr == (
        f"{path}:2: messages: the input conversation, a non-empty list of "
        '{"role", "content"} objects, not null\n'
    )
    assert result.stdout.splitlines() == [
        "faq: 2 items read, 1 new, 0 updated, 0 unchanged, 1 rejected",
        f"version 1  {version_info(engine, 'faq').hash}",
    ]
    path.write_bytes(orjson.dumps({**FAQ, "expected": "No."}) + b"\n")
    again = run(workspace, "datasets", "import", "faq", str(path), "--json")
    assert again.exit_code == 0, again.output
    doc = orjson.loads(again.stdout)
    assert (doc["created"], doc["updated"], doc["rejected"]) == (0, 1, [])
    assert doc["version"]["number"] == 2 and doc["version"]["created_by"] == "lead"
    assert [i["expected"] for i in dataset_items(engine, "faq")] == ["No."]
