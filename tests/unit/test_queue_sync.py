"""Queue membership: the shipped queues on the sample logs, idempotent syncs, records that arrive
later, edited filters that keep reviews, stable samples, stratification, orders, counts, CLI."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, func, insert, select, update
from typer.testing import CliRunner

from reviewer.cli import app
from reviewer.review.counts import recount
from reviewer.review.queues import QueueDef, load_queues, parse_queue
from reviewer.review.sync import (
    largest_remainder,
    queue_counts,
    sync_queues,
    sync_workspace,
    unit_hash,
)
from reviewer.store.db import open_engine, sqlite_url
from reviewer.store.schema import Claim, QueueItem, ReviewEvent
from tests.conftest import REPO, SAMPLE_LOGS, records, run_import
from tests.unit.test_queue_filters import _row, add_rows

NOW = datetime(2026, 11, 21, tzinfo=UTC)
QI = QueueItem.__table__  # type: ignore[attr-defined]


def queue(name: str, **kw: Any) -> QueueDef:
    return parse_queue({"name": name, **kw}, f"queues/{name}.yaml")


def members(engine: Engine, name: str, active: bool | None = True) -> list[str]:
    """Record ids of the queue in its order (ORDER BY position, id)."""
    stmt = select(QI.c.record_id).where(QI.c.queue == name).order_by(QI.c.position, QI.c.id)
    if active is not None:
        stmt = stmt.where(QI.c.active == active)
    with engine.connect() as conn:
        return list(conn.execute(stmt).scalars())


def item_rows(engine: Engine, name: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(QI.c.id, QI.c.record_id, QI.c.position, QI.c.active, QI.c.added_at)
                .where(QI.c.queue == name)
                .order_by(QI.c.id)
            )
        ]


def item_id(engine: Engine, name: str, record_id: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(QI.c.id).where(QI.c.queue == name, QI.c.record_id == record_id)
        ).scalar_one()


def review(engine: Engine, name: str, record_id: str) -> int:
    """A reviewer's verdict on the item, as the review core writes it."""
    iid = item_id(engine, name, record_id)
    with engine.begin() as conn:
        conn.execute(
            insert(ReviewEvent.__table__),  # type: ignore[attr-defined]
            {"queue_item_id": iid, "queue": name, "record_id": record_id, "reviewer": "ana",
             "action": "verdict", "verdict": "fail", "complete": True, "created_at": "2026-11-21T00:00:00.000000Z"},
        )  # fmt: skip
    return iid


def events(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(ReviewEvent.__table__)).scalar_one()  # type: ignore[attr-defined]


def synthetic(engine: Engine, prefix: str, n: int, **kw: Any) -> list[str]:
    ids = [f"{prefix}{i:03d}" for i in range(n)]
    add_rows(engine, [_row(rid, **kw) for rid in ids])
    return ids


def lowest(seed: int, ids: list[str], k: int) -> set[str]:
    return set(sorted(ids, key=lambda rid: (unit_hash(seed, rid), rid))[:k])


def _negative(record: dict[str, Any]) -> bool:
    return record["feedback_score"] is not None and record["feedback_score"] < 0.5


def by_model(engine: Engine, name: str) -> dict[str, int]:
    models = {r["id"]: r["model"] for r in records(engine)}
    out: dict[str, int] = {}
    for rid in members(engine, name):
        out[models[rid]] = out.get(models[rid], 0) + 1
    return out


# -- the shipped queues on the sample logs ---------------------------------------------------


def test_shipped_queues_on_the_sample_logs(engine):
    run_import(engine, SAMPLE_LOGS)
    recs = records(engine)
    queues, errors = load_queues(REPO)
    assert errors == []
    results = sync_queues(engine, queues, NOW)

    thumbs = {r["id"] for r in recs if _negative(r)}
    assert len(thumbs) == 30  # sample_logs/README.md: 30 thumbs down
    assert set(members(engine, "thumbs-down")) == thumbs
    newest = sorted(thumbs, key=lambda rid: next(r["timestamp"] for r in recs if r["id"] == rid))
    assert members(engine, "thumbs-down") == newest[::-1]

    slow = [
        r
        for r in recs
        if r["kind"] == "llm" and r["latency_ms"] is not None and r["latency_ms"] >= 8000
    ]
    assert len(slow) == 18  # README: 18 calls took more than 8 s
    slowest = [r["id"] for r in sorted(slow, key=lambda r: -r["latency_ms"])]
    assert members(engine, "slow-calls") == slowest

    extract = {
        r["id"]
        for r in recs
        if r["source_format"] == "otlp" and r["metadata"].get("service.name") == "extract-order"
    }
    assert len(extract) == 100  # README: 100 extract-order calls
    assert set(members(engine, "extract-order-json")) == extract

    support = [r for r in recs if r["metadata"].get("endpoint") == "support-chat"]
    per_model: dict[str, list[str]] = {}
    for r in support:
        per_model.setdefault(r["model"], []).append(r["id"])
    assert {m: len(v) for m, v in per_model.items()} == {
        "gpt-4o-mini": 227, "gpt-4o": 25, "claude-sonnet-4-5": 50, "claude-haiku-4-5": 29,
    }  # fmt: skip
    # 10 % of 331 is 33.1 -> 33, split by model: 22.63, 2.49, 4.98, 2.89 -> floors 22, 2, 4, 2
    # and the 3 left to the largest remainders (.98 sonnet, .89 haiku, .63 mini)
    assert by_model(engine, "daily-sample") == {
        "gpt-4o-mini": 23, "gpt-4o": 2, "claude-sonnet-4-5": 5, "claude-haiku-4-5": 3,
    }  # fmt: skip
    seed = 20261120
    expected = set().union(*(lowest(seed, per_model[m], k) for m, k in
                             {"gpt-4o-mini": 23, "gpt-4o": 2, "claude-sonnet-4-5": 5, "claude-haiku-4-5": 3}.items()))  # fmt: skip
    assert set(members(engine, "daily-sample")) == expected
    assert members(engine, "daily-sample") == sorted(expected, key=lambda rid: unit_hash(seed, rid))

    assert {n: (r.added, r.total) for n, r in results.items()} == {
        "thumbs-down": (30, 30), "slow-calls": (18, 18), "extract-order-json": (100, 100),
        "daily-sample": (33, 33), "agent-traces": (12, 12),
    }  # fmt: skip
    assert queue_counts(engine, ["thumbs-down", "slow-calls", "nope"]) == {
        "thumbs-down": {"total": 30, "pending": 30, "done": 0, "skipped": 0},
        "slow-calls": {"total": 18, "pending": 18, "done": 0, "skipped": 0},
        "nope": {"total": 0, "pending": 0, "done": 0, "skipped": 0},
    }


def test_sync_is_idempotent(engine):
    run_import(engine, SAMPLE_LOGS)
    queues, _ = load_queues(REPO)
    sync_queues(engine, queues, NOW)
    before = {q.name: item_rows(engine, q.name) for q in queues}
    again = sync_queues(engine, queues, datetime(2026, 11, 22, tzinfo=UTC))
    assert all(
        (r.added, r.removed, r.reactivated, r.deactivated) == (0, 0, 0, 0) for r in again.values()
    )
    assert {q.name: item_rows(engine, q.name) for q in queues} == before
    with engine.connect() as conn:
        assert (
            conn.execute(select(func.count()).select_from(QI)).scalar_one()
            == 30 + 18 + 100 + 33 + 12
        )


def test_records_imported_later_join_on_the_next_sync(engine):
    thumbs = queue("thumbs", filter={"feedback": "negative"})
    run_import(engine, SAMPLE_LOGS / "support-chat.openai.jsonl")
    first = sync_queues(engine, [thumbs], NOW)["thumbs"]
    negative = {r["id"] for r in records(engine) if _negative(r)}
    assert (first.added, first.total) == (len(negative), len(negative)) == (23, 23)
    run_import(engine, SAMPLE_LOGS / "support-chat.anthropic.jsonl")
    later = {r["id"] for r in records(engine) if _negative(r)} - negative
    second = sync_queues(engine, [thumbs], NOW)["thumbs"]
    assert (second.added, second.removed, second.total) == (len(later), 0, 30)
    assert set(members(engine, "thumbs")) == negative | later


def test_an_edited_filter_keeps_the_reviewed_items(engine):
    run_import(engine, SAMPLE_LOGS)
    negative = queue("q", filter={"feedback": "negative"})
    sync_queues(engine, [negative], NOW)
    first, second, claimed = members(engine, "q")[:3]
    reviewed_ids = {review(engine, "q", first), review(engine, "q", second)}
    with engine.begin() as conn:
        conn.execute(
            insert(Claim.__table__),  # type: ignore[attr-defined]
            {"queue_item_id": item_id(engine, "q", claimed), "reviewer": "ben",
             "claimed_at": "2026-11-21T00:00:00.000000Z", "expires_at": "2026-11-21T00:30:00.000000Z"},
        )  # fmt: skip

    positive = queue("q", filter={"feedback": "positive"})
    edited = sync_queues(engine, [positive], NOW)["q"]
    assert (edited.added, edited.removed, edited.deactivated, edited.total) == (17, 30, 2, 17)
    assert members(engine, "q", active=False) == [first, second]
    assert {item_id(engine, "q", first), item_id(engine, "q", second)} == reviewed_ids
    assert events(engine) == 2
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Claim.__table__)).scalar_one() == 0  # type: ignore[attr-defined]
    assert queue_counts(engine, ["q"])["q"]["total"] == 17

    back = sync_queues(engine, [negative], NOW)["q"]
    assert (back.added, back.reactivated, back.removed, back.total) == (28, 2, 17, 30)
    assert members(engine, "q")[:2] == [first, second]
    assert {item_id(engine, "q", first), item_id(engine, "q", second)} == reviewed_ids
    assert members(engine, "q", active=False) == []


def test_a_queue_whose_file_is_gone_is_left_alone(engine):
    run_import(engine, SAMPLE_LOGS)
    a, b = queue("a", filter={"feedback": "negative"}), queue("b", filter={"min_latency_ms": 8000})
    sync_queues(engine, [a, b], NOW)
    before = item_rows(engine, "b")
    assert set(sync_queues(engine, [a], NOW)) == {"a"}
    assert item_rows(engine, "b") == before and len(before) == 18


# -- samples ---------------------------------------------------------------------------------


def test_a_size_sample_is_stable_and_new_records_join_only_below_the_size(engine):
    first = synthetic(engine, "a", 100, model="m")
    q = queue("s", sample={"size": 10, "seed": 1})
    assert sync_queues(engine, [q], NOW)["s"].added == 10
    sample = set(members(engine, "s"))
    assert sample == lowest(1, first, 10)
    more = synthetic(engine, "b", 100, model="m")
    assert lowest(1, first + more, 10) != sample  # a fresh draw would differ...
    again = sync_queues(engine, [q], NOW)["s"]
    assert (again.added, again.removed, again.total) == (0, 0, 10)
    assert set(members(engine, "s")) == sample  # ...but the sample stays

    grown = sync_queues(engine, [queue("s", sample={"size": 15, "seed": 1})], NOW)["s"]
    assert (grown.added, grown.total) == (5, 15)
    added = set(members(engine, "s")) - sample
    assert added == lowest(1, [r for r in first + more if r not in sample], 5)

    worst = max(sample, key=lambda rid: unit_hash(1, rid))
    review(engine, "s", worst)
    shrunk = sync_queues(engine, [queue("s", sample={"size": 3, "seed": 1})], NOW)["s"]
    assert (shrunk.removed, shrunk.deactivated, shrunk.total) == (12, 0, 3)
    assert set(members(engine, "s")) == {worst} | lowest(1, list(sample - {worst}), 2)


def test_a_rate_sample_is_stable_per_record(engine):
    first = synthetic(engine, "a", 150)
    q = queue("r", sample={"rate": 0.3, "seed": 5})
    sync_queues(engine, [q], NOW)
    assert set(members(engine, "r")) == {rid for rid in first if unit_hash(5, rid) < 0.3}
    more = synthetic(engine, "b", 150)
    sync_queues(engine, [q], NOW)
    expected = {rid for rid in first + more if unit_hash(5, rid) < 0.3}
    assert set(members(engine, "r")) == expected
    assert 60 <= len(expected) <= 120  # about 30 % of 300


def test_a_new_seed_draws_a_new_sample_but_keeps_reviewed_items(engine):
    ids = synthetic(engine, "a", 100)
    sync_queues(engine, [queue("s", sample={"size": 10, "seed": 1})], NOW)
    kept = sorted(members(engine, "s"))[0]
    review(engine, "s", kept)
    result = sync_queues(engine, [queue("s", sample={"size": 10, "seed": 2})], NOW)["s"]
    assert set(members(engine, "s")) == {kept} | lowest(2, [r for r in ids if r != kept], 9)
    assert result.repositioned is False  # the order is newest: positions do not depend on the seed


def test_stratified_samples_are_proportional(engine):
    synthetic(engine, "a", 60, model="A")
    synthetic(engine, "b", 30, model="B")
    synthetic(engine, "c", 10, model="C")
    qs = [
        queue("ten", sample={"size": 10, "stratify": "model"}),
        queue("seven", sample={"size": 7, "stratify": "model"}),
        queue("quarter", sample={"rate": 0.25, "stratify": "model", "seed": 3}),
    ]
    results = sync_queues(engine, qs, NOW)
    assert by_model(engine, "ten") == {"A": 6, "B": 3, "C": 1}
    # 4.2, 2.1, 0.7: floors 4, 2, 0 and the one left to the largest remainder (C)
    assert by_model(engine, "seven") == {"A": 4, "B": 2, "C": 1}
    # 25 of 100: 15, 7.5, 2.5: floors 15, 7, 2; a tie of remainders goes to the first by name
    assert by_model(engine, "quarter") == {"A": 15, "B": 8, "C": 2}
    assert [results[n].total for n in ("ten", "seven", "quarter")] == [10, 7, 25]


def test_stratify_by_a_metadata_key_with_a_missing_stratum(engine):
    synthetic(engine, "d", 20, metadata={"locale": "de-DE"})
    synthetic(engine, "e", 10, metadata={"locale": "en-GB"})
    synthetic(engine, "n", 10, metadata={"other": 1})
    sync_queues(engine, [queue("loc", sample={"size": 8, "stratify": "metadata.locale"})], NOW)
    got = members(engine, "loc")
    assert sorted({rid[0]: sum(1 for r in got if r[0] == rid[0]) for rid in got}.items()) == [
        ("d", 4), ("e", 2), ("n", 2),
    ]  # fmt: skip


def test_a_stratified_sample_fills_new_strata_only_when_there_is_room(engine):
    synthetic(engine, "a", 20, model="A")
    small = queue("s", sample={"size": 10, "stratify": "model"})
    sync_queues(engine, [small], NOW)
    sample = set(members(engine, "s"))
    synthetic(engine, "b", 20, model="B")
    full = sync_queues(engine, [small], NOW)["s"]
    assert (full.added, full.removed, set(members(engine, "s"))) == (0, 0, sample)
    bigger = sync_queues(engine, [queue("s", sample={"size": 20, "stratify": "model"})], NOW)["s"]
    assert (bigger.added, bigger.removed) == (10, 0)
    assert by_model(engine, "s") == {"A": 10, "B": 10}
    assert sample <= set(members(engine, "s"))


def test_largest_remainder():
    assert largest_remainder(10, {"a": 60, "b": 30, "c": 10}) == {"a": 6, "b": 3, "c": 1}
    assert largest_remainder(7, {"a": 60, "b": 30, "c": 10}) == {"a": 4, "b": 2, "c": 1}
    assert largest_remainder(3, {"a": 1, "b": 1, "c": 1, None: 1}) == {
        "a": 1,
        "b": 1,
        "c": 1,
        None: 0,
    }
    assert largest_remainder(0, {"a": 5}) == {"a": 0}
    assert largest_remainder(5, {}) == {}


# -- orders ----------------------------------------------------------------------------------

ORDER_ROWS = [
    _row("o1", timestamp="2026-11-01T10:00:00.000000Z", latency_ms=100.0),
    _row("o2", timestamp="2026-11-03T10:00:00.000000Z", latency_ms=300.0),
    _row("o3", timestamp="2026-11-02T10:00:00.500000Z", latency_ms=None),
    _row("o4", timestamp=None, latency_ms=200.0),
    _row("o5", timestamp="2026-11-02T10:00:00.000000Z", latency_ms=5000.0),
]


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("newest", ["o2", "o3", "o5", "o1", "o4"]),
        ("oldest", ["o1", "o5", "o3", "o2", "o4"]),
        ("slowest", ["o5", "o2", "o4", "o1", "o3"]),
        ("random", sorted(["o1", "o2", "o3", "o4", "o5"], key=lambda rid: unit_hash(0, rid))),
    ],
)
def test_orders(engine, order, expected):
    add_rows(engine, ORDER_ROWS)
    sync_queues(engine, [queue("q", order=order)], NOW)
    assert members(engine, "q") == expected


def test_a_changed_order_repositions_the_items(engine):
    add_rows(engine, ORDER_ROWS)
    sync_queues(engine, [queue("q", order="newest")], NOW)
    for order, expected in [
        ("slowest", ["o5", "o2", "o4", "o1", "o3"]),
        ("random", sorted(["o1", "o2", "o3", "o4", "o5"], key=lambda rid: unit_hash(0, rid))),
        ("oldest", ["o1", "o5", "o3", "o2", "o4"]),
    ]:
        result = sync_queues(engine, [queue("q", order=order)], NOW)["q"]
        assert result.repositioned and result.added == 0
        assert members(engine, "q") == expected
    seeded = queue("q", order="random", sample={"rate": 1.0, "seed": 9})
    assert sync_queues(engine, [seeded], NOW)["q"].repositioned
    assert members(engine, "q") == sorted(
        ["o1", "o2", "o3", "o4", "o5"], key=lambda r: unit_hash(9, r)
    )
    assert not sync_queues(engine, [seeded], NOW)["q"].repositioned


# -- counts ----------------------------------------------------------------------------------


def test_queue_counts_count_active_items_by_status(engine):
    add_rows(engine, ORDER_ROWS)
    sync_queues(engine, [queue("q")], NOW)
    with engine.begin() as conn:
        conn.execute(update(QI).where(QI.c.record_id.in_(["o1", "o2"])).values(status="done"))
        conn.execute(update(QI).where(QI.c.record_id == "o3").values(status="skipped"))
        conn.execute(update(QI).where(QI.c.record_id == "o4").values(active=False, status="done"))
        recount(conn, "q")  # statuses written behind the core's back: count again
    assert queue_counts(engine, ["q"]) == {"q": {"total": 4, "pending": 1, "done": 2, "skipped": 1}}
    assert queue_counts(engine, []) == {}


def test_counts_follow_reviews_undo_and_sync_exactly(engine):
    """The kept counts always equal a fresh count of the items."""
    from reviewer.review.session import ReviewSession

    add_rows(engine, ORDER_ROWS)
    q = queue("q")
    sync_queues(engine, [q], NOW)

    def fresh() -> dict[str, int]:
        with engine.connect() as conn:
            rows = conn.execute(
                select(QI.c.status, func.count())
                .where(QI.c.queue == "q", QI.c.active)
                .group_by(QI.c.status)
            ).all()
        out = {"pending": 0, "done": 0, "skipped": 0, **{s: n for s, n in rows}}
        out["total"] = sum(n for s, n in rows)
        return out

    session = ReviewSession(engine, q, "ana")
    first = session.next_item()
    session.set_verdict(first, "pass")
    second = session.next_item()
    session.skip(second)
    assert (
        queue_counts(engine, ["q"])["q"]
        == fresh()
        == {"total": 5, "pending": 3, "done": 1, "skipped": 1}
    )
    session.undo()
    assert (
        queue_counts(engine, ["q"])["q"]
        == fresh()
        == {"total": 5, "pending": 4, "done": 1, "skipped": 0}
    )
    sync_queues(
        engine, [queue("q", filter={"model": "nothing-matches"})], NOW
    )  # reviewed item stays, inactive
    assert (
        queue_counts(engine, ["q"])["q"]
        == fresh()
        == {"total": 0, "pending": 0, "done": 0, "skipped": 0}
    )


def test_sync_workspace_syncs_the_good_files_and_returns_the_errors(engine, tmp_path):
    add_rows(engine, ORDER_ROWS)
    (tmp_path / "queues").mkdir()
    (tmp_path / "queues" / "all.yaml").write_text("name: all\norder: oldest\n")
    (tmp_path / "queues" / "bad.yaml").write_text("name: bad\norder: sideways\n")
    results, errors = sync_workspace(engine, tmp_path, NOW)
    assert {n: r.total for n, r in results.items()} == {"all": 5}
    assert errors == [
        f"{tmp_path / 'queues' / 'bad.yaml'}: order: Input should be 'newest', 'oldest', 'random' or 'slowest'"
    ]


# -- command line ----------------------------------------------------------------------------


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    ws = tmp_path / "ws"
    (ws / "queues").mkdir(parents=True)
    for path in (REPO / "queues").glob("*.yaml"):
        (ws / "queues" / path.name).write_text(path.read_text())
    monkeypatch.chdir(ws)
    eng = open_engine(sqlite_url(ws / ".reviewer" / "reviewer.db"))
    run_import(eng, SAMPLE_LOGS)
    eng.dispose()
    return ws


def test_cli_sync_and_list(workspace):
    runner = CliRunner()
    listed = runner.invoke(app, ["queues", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [(q["name"], q["total"]) for q in orjson.loads(listed.stdout)] == [
        ("agent-traces", 0), ("daily-sample", 0), ("extract-order-json", 0), ("slow-calls", 0),
        ("thumbs-down", 0),
    ]  # fmt: skip

    synced = runner.invoke(app, ["queues", "sync"])
    assert synced.exit_code == 0, synced.output
    assert synced.stdout.splitlines() == [
        "queue                 added  removed    total",
        "agent-traces             12        0       12",
        "daily-sample             33        0       33",
        "extract-order-json      100        0      100",
        "slow-calls               18        0       18",
        "thumbs-down              30        0       30",
    ]
    again = runner.invoke(app, ["queues", "sync", "--json"])
    assert again.exit_code == 0
    doc = orjson.loads(again.stdout)
    assert doc["errors"] == []
    assert doc["queues"]["thumbs-down"] == {
        "added": 0, "removed": 0, "reactivated": 0, "deactivated": 0, "total": 30, "repositioned": False,
    }  # fmt: skip

    eng = open_engine(sqlite_url(workspace / ".reviewer" / "reviewer.db"))
    with eng.begin() as conn:
        first = (
            conn.execute(
                select(QI.c.id).where(QI.c.queue == "slow-calls").order_by(QI.c.position).limit(2)
            )
            .scalars()
            .all()
        )
        conn.execute(update(QI).where(QI.c.id == first[0]).values(status="done"))
        conn.execute(update(QI).where(QI.c.id == first[1]).values(status="skipped"))
        recount(conn, "slow-calls")
    eng.dispose()
    listed = runner.invoke(app, ["queues", "list", "--json"])
    rows = {q["name"]: q for q in orjson.loads(listed.stdout)}
    assert rows["slow-calls"] == {
        "name": "slow-calls", "description": "Calls that took 8 s or more (timeouts included), slowest first",
        "file": str(workspace / "queues" / "slow-calls.yaml"),
        "total": 18, "pending": 16, "done": 1, "skipped": 1,
    }  # fmt: skip
    text = runner.invoke(app, ["queues", "list"])
    assert text.exit_code == 0
    assert text.stdout.splitlines()[0].split() == [
        "queue",
        "total",
        "pending",
        "done",
        "skipped",
        "description",
    ]
    assert text.stdout.splitlines()[4].split()[:5] == ["slow-calls", "18", "16", "1", "1"]


def test_cli_bad_queue_file_exit_1_and_the_good_ones_are_synced(workspace):
    (workspace / "queues" / "slow.yaml").write_text("name: slow\nfilter:\n  where: latency_ms >\n")
    runner = CliRunner()
    result = runner.invoke(app, ["queues", "sync"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"reviewer: {workspace / 'queues' / 'slow.yaml'}: filter.where: at column 13: expected a value after '>', found the end of the expression"
    ]
    assert "thumbs-down              30        0       30" in result.stdout.splitlines()
    listed = runner.invoke(app, ["queues", "list", "--json"])
    assert listed.exit_code == 1
    assert len(orjson.loads(listed.stdout)) == 5


def test_cli_without_queue_files(tmp_path, monkeypatch):
    (tmp_path / "queues").mkdir()
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, ["queues", "sync"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"no queue files in {tmp_path / 'queues'}"
    assert runner.invoke(app, ["queues", "list", "--json"]).stdout.strip() == "[]"
