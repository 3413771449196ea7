"""Insights: every figure checked against a hand-counted fixture of 12 records over three weeks
(with empty days, records without feedback or latency, errors, two models, two queues),
reviews made through the review session (with themes, an undone verdict and a review without
a verdict), one promotion into a dataset and eval runs on it.

The fixture, timestamps in March 2026 (the 2nd is a Monday); `-` is unknown:

    id   day    model  latency  feedback  error  tokens in/out  cost  prompt       queue   review
    r01  04 We  A        100     1.0       -      10/5          .01   support@v1   sample  ben pass
    r02  04 We  B        300     0.0       -      20/10         .02   support@v1   fails   ana fail [wrong-language]
    r03  05 Th  A        200     -         yes    -             -     support@v1   fails   ana fail
    r04  06 Fr  A        400     0.5       -      30/15         .03   support@v2   sample  -
    r05  09 Mo  B        -       0.2       -      40/20         .04   support@v2   fails   ana fail [invented-policy], promoted
    r06  10 Tu  A       1000     -         -      50/25         .05   support@v2   sample  ben fail [invented-policy]
    r07  10 Tu  A         50     0.9       -      60/30         .06   -            -       -
    r08  12 Th  B        700     -         yes    70/35         .07   support@v2   fails   ana fail [invented-policy, wrong-language]
    r09  16 Mo  A        250     0.0       -      80/40         .08   support@v2   fails   ana pass
    r10  16 Mo  B        150     -         -      90/45         .09   support@v2   sample  ben fail, undone
    r11  19 Th  A        600     1.0       -      100/50        .10   support@v2   sample  ben [rude-tone], no verdict
    r12  19 Th  B        350     0.4       -      110/55        .11   support@v2   -       -
    r13  no timestamp (left out everywhere)
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, insert, select
from typer.testing import CliRunner

from reviewer.cli import app
from reviewer.datasets.promote import PromotingSession
from reviewer.insights.metrics import (
    DATASET_ITEMS,
    RESULTS,
    RUNS,
    Bucket,
    InsightsError,
    format_lines,
    insights,
    percentile,
    record_ids_for,
)
from reviewer.review.counts import recount
from reviewer.review.queues import parse_queue
from reviewer.review.themes import create_theme
from reviewer.store.events import QUEUE_ITEMS, RECORDS, stamp

T0 = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)

# id, timestamp, model, latency, feedback, error, tokens in, tokens out, cost, prompt, queue
ROWS: list[tuple[Any, ...]] = [
    ("r01", "2026-03-04T09:00:00", "A", 100, 1.0, None, 10, 5, 0.01, ("support", "v1"), "sample"),
    ("r02", "2026-03-04T15:00:00", "B", 300, 0.0, None, 20, 10, 0.02, ("support", "v1"), "fails"),
    ("r03", "2026-03-05T10:00:00", "A", 200, None, "timeout", None, None, None, ("support", "v1"), "fails"),
    ("r04", "2026-03-06T11:00:00", "A", 400, 0.5, None, 30, 15, 0.03, ("support", "v2"), "sample"),
    ("r05", "2026-03-09T08:00:00", "B", None, 0.2, None, 40, 20, 0.04, ("support", "v2"), "fails"),
    ("r06", "2026-03-10T09:00:00", "A", 1000, None, None, 50, 25, 0.05, ("support", "v2"), "sample"),
    ("r07", "2026-03-10T18:00:00", "A", 50, 0.9, None, 60, 30, 0.06, (None, None), None),
    ("r08", "2026-03-12T12:00:00", "B", 700, None, "boom", 70, 35, 0.07, ("support", "v2"), "fails"),
    ("r09", "2026-03-16T07:00:00", "A", 250, 0.0, None, 80, 40, 0.08, ("support", "v2"), "fails"),
    ("r10", "2026-03-16T20:00:00", "B", 150, None, None, 90, 45, 0.09, ("support", "v2"), "sample"),
    ("r11", "2026-03-19T10:00:00", "A", 600, 1.0, None, 100, 50, 0.10, ("support", "v2"), "sample"),
    ("r12", "2026-03-19T23:59:59", "B", 350, 0.4, None, 110, 55, 0.11, ("support", "v2"), None),
    ("r13", None, "A", 999, 0.0, "lost", 1000, 1000, 9.0, ("support", "v2"), "fails"),
]  # fmt: skip

WEEKS = ["2026-03-02", "2026-03-09", "2026-03-16"]
DAYS = [f"2026-03-{d:02d}" for d in range(4, 20)]


def _records(engine: Engine) -> None:
    values = []
    for i, (rid, ts, model, lat, fb, err, tin, tout, cost, prompt, _queue) in enumerate(ROWS):
        values.append(
            {
                "id": rid,
                "source_path": "fixture.jsonl",
                "source_line": i + 1,
                "source_format": "openai-chat",
                "timestamp": f"{ts}.000000Z" if ts else None,
                "provider": "openai",
                "model": model,
                "messages": orjson.dumps([{"role": "user", "content": f"q {rid}"}]).decode(),
                "output": orjson.dumps({"role": "assistant", "content": f"a {rid}"}).decode(),
                "latency_ms": lat,
                "feedback_score": fb,
                "error": err,
                "input_tokens": tin,
                "output_tokens": tout,
                "cost_usd": cost,
                "prompt_name": prompt[0],
                "prompt_version": prompt[1],
            }
        )
    with engine.begin() as conn:
        conn.execute(insert(RECORDS), values)
        for queue in ("fails", "sample"):
            members = [row[0] for row in ROWS if row[-1] == queue]
            conn.execute(
                insert(QUEUE_ITEMS),
                [
                    {"queue": queue, "record_id": rid, "position": float(n), "added_at": stamp(T0)}
                    for n, rid in enumerate(members)
                ],
            )
            recount(conn, queue)


def _item(engine: Engine, queue: str, record_id: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(QUEUE_ITEMS.c.id).where(
                    QUEUE_ITEMS.c.queue == queue, QUEUE_ITEMS.c.record_id == record_id
                )
            ).scalar_one()
        )


def _session(engine: Engine, queue: str, reviewer: str) -> PromotingSession:
    qdef = parse_queue({"name": queue, "dataset": "regressions"}, f"queues/{queue}.yaml")
    return PromotingSession(engine, qdef, reviewer, clock=lambda: T0, timer=lambda: 0.0)


def _reviews(engine: Engine) -> int:
    """The reviews of the fixture; returns the dataset item's row id."""
    ana = _session(engine, "fails", "ana")
    for rid, verdict, themes in [
        ("r02", "fail", ["wrong-language"]),
        ("r03", "fail", []),
        ("r05", "fail", ["Invented policy"]),
        ("r08", "fail", ["invented-policy", "wrong-language"]),
        ("r09", "pass", []),
    ]:
        item = _item(engine, "fails", rid)
        if themes:
            ana.set_themes(item, themes)
        ana.set_verdict(item, verdict)
    promoted = ana.promote(_item(engine, "fails", "r05"))
    ben = _session(engine, "sample", "ben")
    ben.set_verdict(_item(engine, "sample", "r01"), "pass")
    ben.set_themes(_item(engine, "sample", "r06"), ["invented-policy"])
    ben.set_verdict(_item(engine, "sample", "r06"), "fail")
    ben.set_themes(_item(engine, "sample", "r11"), ["rude-tone"])  # no verdict: not complete
    ben.set_verdict(_item(engine, "sample", "r10"), "fail")
    assert ben.undo() is not None  # the fail on r10 is no longer current
    create_theme(engine, "pricing")  # a theme nobody used
    return int(promoted.item_id)


def _evals(engine: Engine, item_id: int) -> None:
    """Runs on the dataset: an older finished one failing the item, the latest finished one
    passing it, and a later one still running (not counted)."""
    ref = f"regressions/{item_id}"
    with engine.begin() as conn:
        for n, (status, finished, passed) in enumerate(
            [
                ("done", "2026-03-18T10:00:00.000000Z", False),
                ("done", "2026-03-19T10:00:00.000000Z", True),
                ("running", None, False),
            ]
        ):
            run_id = conn.execute(
                insert(RUNS).values(
                    key=f"k{n}",
                    prompt_name="support",
                    prompt_hash=f"h{n}",
                    dataset_name="regressions",
                    dataset_version=1,
                    dataset_hash="d",
                    provider="openai",
                    model="A",
                    status=status,
                    started_at="2026-03-18T09:00:00.000000Z",
                    finished_at=finished,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            conn.execute(insert(RESULTS).values(run_id=run_id, item_id=ref, passed=passed))


@pytest.fixture
def fixture(engine: Engine) -> Engine:
    _records(engine)
    item_id = _reviews(engine)
    _evals(engine, item_id)
    return engine


def b(start: str, **values: Any) -> Bucket:
    return Bucket(start=start, **values)


# -- the figures ------------------------------------------------------------------------------


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 95) == 7.0
    assert percentile([100, 200, 300, 400], 50) == 250
    assert percentile([100, 200, 300, 400], 95) == pytest.approx(385)


def test_weeks_every_figure(fixture: Engine) -> None:
    result = insights(fixture, bucket="week")
    assert result.buckets == WEEKS
    assert (result.bucket, result.by, result.since, result.until) == ("week", None, None, None)
    (series,) = result.series
    assert series.key == "all"
    w1, w2, w3 = series.buckets
    assert w1 == b(
        "2026-03-02", records=4, feedback_n=3, feedback_positive=2, feedback_negative=1,
        satisfaction=pytest.approx(2 / 3), reviews_n=3, reviews_pass=1, reviews_fail=2,
        pass_rate=pytest.approx(1 / 3), errors=1, error_rate=0.25, latency_p50=250,
        latency_p95=pytest.approx(385), input_tokens=60, output_tokens=30,
        cost_usd=pytest.approx(0.06),
    )  # fmt: skip
    assert w2 == b(
        "2026-03-09", records=4, feedback_n=2, feedback_positive=1, feedback_negative=1,
        satisfaction=0.5, reviews_n=3, reviews_pass=0, reviews_fail=3, pass_rate=0.0,
        errors=1, error_rate=0.25, latency_p50=700, latency_p95=pytest.approx(970),
        input_tokens=220, output_tokens=110, cost_usd=pytest.approx(0.22),
    )  # fmt: skip
    assert w3 == b(
        "2026-03-16", records=4, feedback_n=3, feedback_positive=1, feedback_negative=2,
        satisfaction=pytest.approx(1 / 3), reviews_n=1, reviews_pass=1, reviews_fail=0,
        pass_rate=1.0, errors=0, error_rate=0.0, latency_p50=300,
        latency_p95=pytest.approx(562.5), input_tokens=380, output_tokens=190,
        cost_usd=pytest.approx(0.38),
    )  # fmt: skip
    assert series.totals == b(
        "2026-03-02", records=12, feedback_n=8, feedback_positive=4, feedback_negative=4,
        satisfaction=0.5, reviews_n=7, reviews_pass=2, reviews_fail=5,
        pass_rate=pytest.approx(2 / 7), errors=2, error_rate=pytest.approx(1 / 6),
        latency_p50=300, latency_p95=pytest.approx(850), input_tokens=660, output_tokens=330,
        cost_usd=pytest.approx(0.66),
    )  # fmt: skip


def test_days_list_empty_days(fixture: Engine) -> None:
    result = insights(fixture, bucket="day")
    assert result.buckets == DAYS  # the 4th to the 19th, the 7th, 8th, 11th... included
    (series,) = result.series
    by_day = {x.start: x for x in series.buckets}
    assert [x.records for x in series.buckets] == [2, 1, 1, 0, 0, 1, 2, 0, 1, 0, 0, 0, 2, 0, 0, 2]
    assert by_day["2026-03-07"] == b("2026-03-07")  # empty: zeros, and None for every rate
    assert by_day["2026-03-07"].satisfaction is None and by_day["2026-03-07"].latency_p50 is None
    assert by_day["2026-03-04"] == b(
        "2026-03-04", records=2, feedback_n=2, feedback_positive=1, feedback_negative=1,
        satisfaction=0.5, reviews_n=2, reviews_pass=1, reviews_fail=1, pass_rate=0.5,
        errors=0, error_rate=0.0, latency_p50=200, latency_p95=pytest.approx(290),
        input_tokens=30, output_tokens=15, cost_usd=pytest.approx(0.03),
    )  # fmt: skip
    # no feedback, an error, no tokens or cost
    assert by_day["2026-03-05"] == b(
        "2026-03-05", records=1, reviews_n=1, reviews_fail=1, pass_rate=0.0, errors=1,
        error_rate=1.0, latency_p50=200, latency_p95=200,
    )  # fmt: skip
    assert by_day["2026-03-05"].cost_usd is None  # unknown, not $0.00
    day_lines = [line for line in format_lines(result) if line.startswith("2026-03-05")]
    assert day_lines[0].rstrip().endswith("—") and "$0.00" not in day_lines[0]
    # no latency known: no percentiles
    assert (by_day["2026-03-09"].latency_p50, by_day["2026-03-09"].latency_p95) == (None, None)
    assert by_day["2026-03-09"].satisfaction == 0.0
    assert by_day["2026-03-10"].latency_p50 == 525
    assert by_day["2026-03-10"].latency_p95 == pytest.approx(952.5)
    # the undone verdict (r10) and the review without a verdict (r11) are not reviews
    assert [by_day[d].reviews_n for d in ("2026-03-16", "2026-03-19")] == [1, 0]
    assert by_day["2026-03-19"].pass_rate is None
    assert by_day["2026-03-19"].latency_p95 == pytest.approx(587.5)
    assert series.totals.records == 12  # r13 has no timestamp


def test_split_by_model(fixture: Engine) -> None:
    result = insights(fixture, bucket="week", by="model")
    assert [s.key for s in result.series] == ["A", "B"]  # most records first
    a, bm = result.series
    assert [x.records for x in a.buckets] == [3, 2, 2]
    assert a.buckets[0] == b(
        "2026-03-02", records=3, feedback_n=2, feedback_positive=2, feedback_negative=0,
        satisfaction=1.0, reviews_n=2, reviews_pass=1, reviews_fail=1, pass_rate=0.5, errors=1,
        error_rate=pytest.approx(1 / 3), latency_p50=200, latency_p95=pytest.approx(380),
        input_tokens=40, output_tokens=20, cost_usd=pytest.approx(0.04),
    )  # fmt: skip
    assert (a.buckets[2].latency_p50, a.buckets[2].latency_p95) == (425, pytest.approx(582.5))
    assert [x.records for x in bm.buckets] == [1, 2, 2]
    assert [x.satisfaction for x in bm.buckets] == [0.0, 0.0, 0.0]
    assert [x.reviews_fail for x in bm.buckets] == [1, 2, 0]
    assert bm.buckets[2].pass_rate is None
    assert [x.error_rate for x in bm.buckets] == [0.0, 0.5, 0.0]
    assert (bm.buckets[1].latency_p50, bm.buckets[1].latency_p95) == (700, 700)
    assert (a.totals.records, bm.totals.records) == (7, 5)
    assert (a.totals.reviews_n, bm.totals.reviews_n) == (4, 3)


def test_split_by_queue(fixture: Engine) -> None:
    result = insights(fixture, bucket="week", by="queue")
    assert [s.key for s in result.series] == ["fails", "sample"]  # 5 records each: by name
    fails, sample = result.series
    assert [x.records for x in fails.buckets] == [2, 2, 1]
    assert fails.buckets[0] == b(
        "2026-03-02", records=2, feedback_n=1, feedback_positive=0, feedback_negative=1,
        satisfaction=0.0, reviews_n=2, reviews_pass=0, reviews_fail=2, pass_rate=0.0, errors=1,
        error_rate=0.5, latency_p50=250, latency_p95=pytest.approx(295), input_tokens=20,
        output_tokens=10, cost_usd=pytest.approx(0.02),
    )  # fmt: skip
    assert (fails.totals.reviews_pass, fails.totals.reviews_fail) == (1, 4)
    assert [x.records for x in sample.buckets] == [2, 1, 2]
    assert [x.reviews_n for x in sample.buckets] == [1, 1, 0]
    assert [x.satisfaction for x in sample.buckets] == [1.0, None, 1.0]
    assert sample.buckets[2].latency_p95 == pytest.approx(577.5)


def test_split_by_prompt(fixture: Engine) -> None:
    result = insights(fixture, bucket="week", by="prompt")
    assert [(s.key, s.totals.records) for s in result.series] == [
        ("support@v2", 8),
        ("support@v1", 3),
        ("(none)", 1),
    ]


def test_since_and_until(fixture: Engine) -> None:
    days = insights(fixture, since="2026-03-09", until="2026-03-12")
    assert days.buckets == ["2026-03-09", "2026-03-10", "2026-03-11", "2026-03-12"]
    assert (days.since, days.until) == (
        "2026-03-09T00:00:00.000000Z",
        "2026-03-13T00:00:00.000000Z",
    )
    assert [x.records for x in days.series[0].buckets] == [1, 2, 0, 1]
    weeks = insights(fixture, bucket="week", since="2026-03-10", until="2026-03-17")
    assert weeks.buckets == ["2026-03-09", "2026-03-16"]
    assert [x.records for x in weeks.series[0].buckets] == [3, 2]
    assert [(t.theme, t.per_bucket) for t in weeks.themes] == [
        ("invented-policy", [2, 0]),  # r05 (the 9th) is before the 10th
        ("wrong-language", [1, 0]),
    ]
    # a duration back from `now`
    recent = insights(fixture, since="4d", now=datetime(2026, 3, 20, 0, 0, tzinfo=UTC))
    assert recent.buckets == ["2026-03-16", "2026-03-17", "2026-03-18", "2026-03-19"]
    assert recent.series[0].totals.records == 4
    # nothing in range: the periods are still listed
    empty = insights(fixture, bucket="week", since="2026-04-01", until="2026-04-10")
    assert empty.buckets == ["2026-03-30", "2026-04-06"]
    assert empty.series[0].buckets == [b("2026-03-30"), b("2026-04-06")]
    assert empty.themes == []


def test_theme_trends(fixture: Engine) -> None:
    weeks = insights(fixture, bucket="week")
    assert [(t.theme, t.total, t.per_bucket) for t in weeks.themes] == [
        ("invented-policy", 3, [0, 3, 0]),
        ("wrong-language", 2, [1, 1, 0]),
        ("rude-tone", 1, [0, 0, 1]),  # a review without a verdict still carries its theme
    ]
    days = insights(fixture)
    trend = {t.theme: t.per_bucket for t in days.themes}
    assert trend["invented-policy"] == [0] * 5 + [1, 1, 0, 1] + [0] * 7
    assert sum(trend["wrong-language"]) == 2 and trend["wrong-language"][0] == 1


def test_theme_coverage_flags_gaps(fixture: Engine) -> None:
    coverage = insights(fixture, since="2026-04-01").coverage  # coverage ignores the period
    assert [c.to_dict() for c in coverage] == [
        {"theme": "invented-policy", "reviewed": 3, "dataset_items": 1, "eval_pass_rate": 1.0,
         "gap": False},
        {"theme": "wrong-language", "reviewed": 2, "dataset_items": 0, "eval_pass_rate": None,
         "gap": True},
        {"theme": "rude-tone", "reviewed": 1, "dataset_items": 0, "eval_pass_rate": None,
         "gap": True},
        {"theme": "pricing", "reviewed": 0, "dataset_items": 0, "eval_pass_rate": None,
         "gap": False},
    ]  # fmt: skip


def test_a_removed_item_no_longer_covers(fixture: Engine) -> None:
    from reviewer.datasets.store import remove_item

    with fixture.connect() as conn:
        item_id = conn.execute(select(DATASET_ITEMS.c.id)).scalar_one()
    remove_item(fixture, int(item_id))
    row = insights(fixture).coverage[0]
    assert (row.theme, row.dataset_items, row.eval_pass_rate, row.gap) == (
        "invented-policy", 0, None, True,
    )  # fmt: skip


def test_nothing_imported(engine: Engine) -> None:
    result = insights(engine, bucket="week", by="model")
    assert (result.buckets, result.series, result.themes, result.coverage) == ([], [], [], [])
    (series,) = insights(engine).series
    assert (series.key, series.buckets, series.totals) == ("all", [], b(""))


def test_bad_requests() -> None:
    with pytest.raises(InsightsError, match="day or week"):
        insights(None, bucket="month")  # type: ignore[arg-type]
    with pytest.raises(InsightsError, match="model, prompt or queue"):
        insights(None, by="user")  # type: ignore[arg-type]
    with pytest.raises(InsightsError, match="a series key needs the split"):
        record_ids_for(None, key="A")  # type: ignore[arg-type]


def test_bad_date(engine: Engine) -> None:
    with pytest.raises(InsightsError, match="since: expected an ISO date"):
        insights(engine, since="yesterday")


# -- the records behind a figure --------------------------------------------------------------


def test_record_ids_for(fixture: Engine) -> None:
    ids = record_ids_for
    assert ids(fixture, theme="invented-policy") == ["r05", "r06", "r08"]
    assert ids(fixture, theme="wrong-language", bucket_start="2026-03-09", bucket="week") == ["r08"]
    assert ids(fixture, theme="rude-tone") == ["r11"]
    assert ids(fixture, theme="pricing") == []
    assert ids(fixture, bucket_start="2026-03-10") == ["r06", "r07"]
    assert ids(fixture, bucket_start="2026-03-07") == []
    # any day of a week names the week
    assert ids(fixture, bucket_start="2026-03-11", bucket="week") == ["r05", "r06", "r07", "r08"]
    assert ids(fixture, bucket_start="2026-03-09", bucket="week", by="model", key="B") == [
        "r05",
        "r08",
    ]
    assert ids(fixture, by="prompt", key="(none)") == ["r07"]
    assert ids(fixture, by="queue", key="sample") == ["r01", "r04", "r06", "r10", "r11"]
    # the bad ones: negative feedback, an error, or a current failed review
    assert ids(fixture, bucket_start="2026-03-02", bucket="week", negative_only=True) == [
        "r02",
        "r03",
    ]
    assert ids(fixture, bucket_start="2026-03-16", bucket="week", negative_only=True) == [
        "r09",
        "r12",
    ]  # r10's fail was undone
    assert ids(fixture, by="queue", key="sample", negative_only=True) == ["r06"]
    assert ids(fixture, theme="invented-policy", by="queue", key="sample") == ["r06"]
    assert ids(fixture, theme="invented-policy", by="model", key="B") == ["r05", "r08"]
    assert ids(fixture, theme="invented-policy", since="2026-03-10", until="2026-03-11") == ["r06"]
    assert ids(fixture, since="2026-03-19") == ["r11", "r12"]  # r13 has no timestamp
    assert ids(fixture, negative_only=True, until="2026-03-05") == ["r02", "r03"]


def test_every_bucket_opens_its_records(fixture: Engine) -> None:
    """The records behind each bucket are as many as the bucket counts."""
    result = insights(fixture, bucket="week", by="model")
    for series in result.series:
        for bucket in series.buckets:
            found = record_ids_for(
                fixture, bucket_start=bucket.start, bucket="week", by="model", key=series.key
            )
            assert len(found) == bucket.records


# -- output -----------------------------------------------------------------------------------


def test_to_dict_is_json(fixture: Engine) -> None:
    doc = insights(fixture, bucket="week", by="model").to_dict()
    assert orjson.loads(orjson.dumps(doc)) == doc
    assert doc["buckets"] == WEEKS
    assert doc["series"][0]["key"] == "A" and doc["series"][0]["totals"]["records"] == 7
    assert doc["themes"][0] == {"theme": "invented-policy", "total": 3, "per_bucket": [0, 3, 0]}


def test_format_lines(fixture: Engine) -> None:
    lines = format_lines(insights(fixture, bucket="week"))
    assert lines[0] == "insights per week: 2026-03-02 .. 2026-03-16"
    total = next(line for line in lines if line.startswith("total"))
    assert total.split()[:8] == ["total", "12", "50%", "of", "8", "29%", "of", "7"]
    assert any("wrong-language" in line and "gap: no dataset item" in line for line in lines)


def test_cli_stats(fixture: Engine, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    runner = CliRunner()
    result = runner.invoke(
        app, ["--workspace", str(ws), "stats", "--bucket", "week", "--by", "queue", "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = orjson.loads(result.stdout)
    assert doc["bucket"] == "week" and doc["by"] == "queue" and doc["buckets"] == WEEKS
    assert [(s["key"], s["totals"]["records"]) for s in doc["series"]] == [
        ("fails", 5),
        ("sample", 5),
    ]
    assert [c["theme"] for c in doc["coverage"] if c["gap"]] == ["wrong-language", "rude-tone"]
    since = runner.invoke(
        app, ["--workspace", str(ws), "stats", "--since", "2026-03-16", "--until", "2026-03-16"]
    )
    assert since.exit_code == 0, since.output
    assert since.stdout.splitlines()[0] == "insights per day: 2026-03-16 .. 2026-03-16"
    bad = runner.invoke(app, ["--workspace", str(ws), "stats", "--bucket", "month"])
    assert bad.exit_code == 2
    assert "the bucket is day or week, not 'month'" in bad.stderr


# -- PostgreSQL -------------------------------------------------------------------------------


def _close(a: Any, b: Any) -> bool:
    """Equal, floats within rounding (the two databases sum in different orders)."""
    if isinstance(a, float) or isinstance(b, float):
        return a == pytest.approx(b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_close, a, b))
    return bool(a == b)


def test_postgres_gives_the_same_figures(pg_engine: Engine, tmp_path: Path) -> None:
    from reviewer.store.db import open_engine, sqlite_url

    lite = open_engine(sqlite_url(tmp_path / "lite" / "reviewer.db"))
    try:
        for eng in (lite, pg_engine):
            _records(eng)
            _evals(eng, _reviews(eng))
        for kwargs in (
            {"bucket": "week"},
            {"bucket": "day", "by": "model"},
            {"bucket": "week", "by": "prompt"},
            {"bucket": "week", "by": "queue", "since": "2026-03-05"},
        ):
            got = insights(pg_engine, **kwargs).to_dict()  # type: ignore[arg-type]
            want = insights(lite, **kwargs).to_dict()  # type: ignore[arg-type]
            assert _close(got, want), kwargs
        pg = insights(pg_engine, bucket="week")
        assert pg.series[0].totals.latency_p95 == pytest.approx(850)
        assert [c.theme for c in pg.coverage if c.gap] == ["wrong-language", "rude-tone"]
        queries: list[dict[str, Any]] = [
            {"theme": "invented-policy"},
            {"bucket_start": "2026-03-16", "bucket": "week", "negative_only": True},
            {"by": "prompt", "key": "support@v1"},
            {"by": "queue", "key": "sample", "theme": "invented-policy"},
        ]
        for query in queries:
            assert record_ids_for(pg_engine, **query) == record_ids_for(lite, **query)
    finally:
        lite.dispose()


def test_records_made_here_are_not_production_calls(fixture: Engine) -> None:
    """Generated test inputs and outputs sent to reviewers to check a judge are records too, but
    no figure counts them: the totals are the fixture's."""
    made = [
        {
            "id": f"made-{fmt}",
            "source_path": "",
            "source_line": 0,
            "source_format": fmt,
            "timestamp": "2026-03-10T12:00:00.000000Z",
            "model": "A",
            "latency_ms": 5000,
            "feedback_score": 0.0,
            "error": "boom",
            "cost_usd": 1.0,
        }
        for fmt in ("generated", "eval")
    ]
    with fixture.begin() as conn:
        conn.execute(insert(RECORDS), made)
    (series,) = insights(fixture, bucket="week").series
    assert (series.totals.records, series.totals.errors) == (12, 2)
    assert series.totals.cost_usd == pytest.approx(0.66)
    assert "made-generated" not in record_ids_for(fixture, bucket="week", negative_only=True)
