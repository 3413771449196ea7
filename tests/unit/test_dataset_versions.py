"""Dataset versions: every change makes an immutable, content-hashed version; no change makes
none; old versions read back exactly as they were; contents are shared between versions."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, func, select

from reviewer.datasets.items import content_hash, digest
from reviewer.datasets.store import (
    DatasetError,
    dataset_items,
    import_items,
    remove_item,
    restore_item,
    update_item,
)
from reviewer.datasets.versions import (
    CONTENTS,
    VERSION_ITEMS,
    iter_version_items,
    list_versions,
    version_hash,
    version_info,
)
from tests.unit.test_datasets import FAQ, write_jsonl


def item(i: int, **extra: object) -> dict[str, object]:
    return {
        "id": f"case-{i}",
        "messages": [{"role": "user", "content": f"Question {i}?"}],
        "expected": f"Answer {i}.",
        "split": "test",
        **extra,
    }


def seed(engine: Engine, tmp_path: Path, n: int = 5, name: str = "cases") -> list[int]:
    """A dataset of n imported items (version 1); returns their row ids."""
    import_items(engine, name, write_jsonl(tmp_path / f"{name}.jsonl", [item(i) for i in range(n)]))
    return [i["row_id"] for i in dataset_items(engine, name)]


def count(engine: Engine, table) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_an_edit_makes_a_new_version_with_a_new_hash(engine, tmp_path):
    rows = seed(engine, tmp_path)
    v1 = version_info(engine, "cases")
    assert (v1.number, v1.item_count, v1.note) == (
        1, 5, "imported 5 items from cases.jsonl (5 new, 0 updated)",
    )  # fmt: skip
    update_item(engine, rows[2], expected="A better answer.", by="ana")
    v2 = version_info(engine, "cases")
    assert (v2.number, v2.item_count, v2.created_by, v2.note) == (2, 5, "ana", "edited item case-2")
    assert v2.hash != v1.hash
    assert version_info(engine, "cases", 1) == v1  # unchanged


def test_no_change_makes_no_version(engine, tmp_path):
    rows = seed(engine, tmp_path)
    update_item(engine, rows[0], expected="Answer 0.")  # the value it has
    update_item(engine, rows[0], split="test")
    restore_item(engine, rows[0])  # not removed
    import_items(engine, "cases", write_jsonl(tmp_path / "again.jsonl", [item(0), item(1)]))
    assert [v.number for v in list_versions(engine, "cases")] == [1]


def test_old_versions_stay_readable_with_their_old_content(engine, tmp_path):
    rows = seed(engine, tmp_path)
    first = list(iter_version_items(engine, "cases"))
    assert [i["expected"] for i in first] == [f"Answer {i}." for i in range(5)]

    update_item(
        engine, rows[1], expected="Changed 1.", assertions=[{"type": "contains", "value": "1"}]
    )
    remove_item(engine, rows[3])
    import_items(
        engine,
        "cases",
        write_jsonl(tmp_path / "more.jsonl", [item(5), {**item(0), "split": "train"}]),
    )
    restore_item(engine, rows[3])
    assert [v.number for v in list_versions(engine, "cases")] == [1, 2, 3, 4, 5]

    assert list(iter_version_items(engine, "cases", 1)) == first
    v2 = list(iter_version_items(engine, "cases", 2))
    assert [i["expected"] for i in v2] == [
        "Answer 0.",
        "Changed 1.",
        "Answer 2.",
        "Answer 3.",
        "Answer 4.",
    ]
    assert v2[1]["assertions"] == [{"type": "contains", "value": "1"}]
    v3 = list(iter_version_items(engine, "cases", 3))
    assert [i["id"] for i in v3] == ["case-0", "case-1", "case-2", "case-4"]  # 3 removed
    v4 = list(iter_version_items(engine, "cases", 4))
    assert [(i["id"], i["split"]) for i in v4] == [
        ("case-0", "train"), ("case-1", "test"), ("case-2", "test"), ("case-4", "test"), ("case-5", "test"),
    ]  # fmt: skip
    latest = list(iter_version_items(engine, "cases"))
    assert [i["id"] for i in latest] == [f"case-{i}" for i in range(6)]
    assert latest == [
        {k: v for k, v in i.items() if k not in ("row_id", "removed")}
        for i in dataset_items(engine, "cases")
    ]
    assert [v.item_count for v in list_versions(engine, "cases")] == [5, 5, 4, 5, 6]


def test_the_item_list_at_a_version_is_reproducible(engine, tmp_path):
    rows = seed(engine, tmp_path, 7)
    update_item(engine, rows[4], expected="Four.")
    at_v2 = list(iter_version_items(engine, "cases"))
    info = version_info(engine, "cases")
    for row in rows[:3]:
        remove_item(engine, row)
    update_item(engine, rows[4], expected="Four again.")
    restore_item(engine, rows[0])
    assert list(iter_version_items(engine, "cases", info.number)) == at_v2
    assert list(iter_version_items(engine, "cases", info.number, batch=2)) == at_v2  # paged
    assert version_info(engine, "cases", info.number) == info
    # the hash is the ordered (id, content hash) pairs of exactly those items
    pairs = [(i["id"], content_hash(i)) for i in at_v2]
    assert info.hash == version_hash(pairs)


def test_removing_and_restoring_gives_back_the_same_hash(engine, tmp_path):
    rows = seed(engine, tmp_path)
    before = version_info(engine, "cases")
    remove_item(engine, rows[0])
    restore_item(engine, rows[0])
    after = version_info(engine, "cases")
    assert after.number == before.number + 2 and after.hash == before.hash


def test_versions_share_identical_contents_and_write_only_what_changed(engine, tmp_path):
    rows = seed(engine, tmp_path, 10)
    assert (count(engine, CONTENTS), count(engine, VERSION_ITEMS)) == (10, 10)
    update_item(engine, rows[0], expected="Changed.")
    # one new content, one new run; the nine others are shared with version 1
    assert (count(engine, CONTENTS), count(engine, VERSION_ITEMS)) == (11, 11)
    update_item(engine, rows[0], expected="Answer 0.")  # back: the content exists already
    assert (count(engine, CONTENTS), count(engine, VERSION_ITEMS)) == (11, 12)
    assert version_info(engine, "cases", 3).hash == version_info(engine, "cases", 1).hash


def test_the_content_hash_covers_the_content_not_the_id_or_key_order():
    a = {"id": "x", **{k: v for k, v in FAQ.items() if k != "id"}}
    b = {"id": "y", **dict(reversed(list(FAQ.items())))}
    assert content_hash(a) == content_hash(b)
    for key, value in [("expected", "other"), ("split", "test"), ("themes", []), ("vars", {}),
                       ("output", {"role": "assistant", "content": "x"}), ("scores", {"helpful": 1}),
                       ("source", {"record_id": "r", "review_id": 1}), ("assertions", []),
                       ("messages", [{"role": "user", "content": "x"}])]:  # fmt: skip
        assert content_hash({**a, key: value}) != content_hash(a), key
    assert content_hash(a) == digest(
        orjson.dumps({k: a[k] for k in FAQ if k != "id"}, option=orjson.OPT_SORT_KEYS)
    )


def test_datasets_have_their_own_versions(engine, tmp_path):
    seed(engine, tmp_path, 2, "a")
    rows_b = seed(engine, tmp_path, 3, "b")
    update_item(engine, rows_b[0], expected="x")
    assert [v.number for v in list_versions(engine, "a")] == [1]
    assert [v.number for v in list_versions(engine, "b")] == [1, 2]
    assert [i["id"] for i in iter_version_items(engine, "a")] == ["case-0", "case-1"]
    # the same items in two datasets: the same version hash
    assert version_info(engine, "a").hash == version_hash(
        [(i["id"], content_hash(i)) for i in iter_version_items(engine, "b", 1)][:2]
    )


def test_unknown_datasets_and_versions_are_clear_errors(engine, tmp_path):
    seed(engine, tmp_path, 1)
    with pytest.raises(DatasetError, match=r"no dataset named 'nope' \(datasets: cases\)"):
        version_info(engine, "nope")
    with pytest.raises(DatasetError, match=r"dataset 'cases' has no version 4 \(versions 1 to 1\)"):
        list(iter_version_items(engine, "cases", 4))
    from reviewer.datasets.promote import ensure_dataset
    from reviewer.store.events import write_transaction

    with write_transaction(engine) as conn:
        ensure_dataset(conn, "empty", now="")
    with pytest.raises(
        DatasetError, match=r"dataset 'empty' has no version yet \(it has no items\)"
    ):
        version_info(engine, "empty")
    assert list_versions(engine, "empty") == []
