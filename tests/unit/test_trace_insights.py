"""Insights per trace: every figure checked against a hand-counted set of traces (the agent
traces of test_traces.py and a third one two days later), a chat session that is no agent run,
a trace made here, and trace reviews that mark where failing traces went wrong.

    trace  started      steps  tokens in+out  cost    tools called (error)
    t1     2026-11-20   5      250+30 = 280   0.003   lookup_order (timeout), lookup_order
    t2     2026-11-20   2      10+2 = 12      -       -
    t3     2026-11-22   6      100+20 = 120   0.002   search, lookup_order, refund (HTTP 500)
    s-1    2026-11-21   a chat session of 2 calls: no agent run, left out
    g1     2026-11-22   made here (generated): left out, its failing tool too

Reviews in the `unit: trace` queue q (by the anchor's day):
    ana  t1 fail, marks tool1 (tool lookup_order)     ben  t2 fail, marks nothing
    ana  t2 pass                                       ben  t3 fail, marks f3 (tool refund)
    ana  t3 fail, marks l3b (llm)
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from reviewer.cli import app
from reviewer.insights.metrics import format_lines, insights, record_ids_for
from reviewer.insights.traces import TraceBucket
from reviewer.records import Record
from reviewer.review.session import ReviewSession
from reviewer.store.db import open_engine, sqlite_url
from tests.unit.test_insights import _close
from tests.unit.test_traces import AGENT, SECOND, members, queue, step, store


def later(record: Record, ts: str, **fields: Any) -> Record:
    return replace(record, timestamp=ts, **fields)


THIRD = [
    later(step("r3", "", trace_id="t3", kind="agent", name="support-agent", latency_ms=4000.0),
          "2026-11-22T09:00:00.000000Z"),
    later(step("l3a", "", trace_id="t3", parent_id="r3", model="gpt-4o-mini",
               output={"role": "assistant", "content": ""}, input_tokens=40, output_tokens=5,
               cost_usd=0.0005, latency_ms=400.0), "2026-11-22T09:00:00.100000Z"),
    later(step("s3", "", trace_id="t3", parent_id="r3", kind="tool", name="search",
               latency_ms=100.0), "2026-11-22T09:00:00.600000Z"),
    later(step("o3", "", trace_id="t3", parent_id="r3", kind="tool", name="lookup_order",
               latency_ms=100.0), "2026-11-22T09:00:00.800000Z"),
    later(step("f3", "", trace_id="t3", parent_id="r3", kind="tool", name="refund",
               error="HTTP 500", latency_ms=100.0), "2026-11-22T09:00:01.000000Z"),
    later(step("l3b", "", trace_id="t3", parent_id="r3", model="gpt-4o-mini",
               output={"role": "assistant", "content": "Sorry."}, input_tokens=60,
               output_tokens=15, cost_usd=0.0015, latency_ms=900.0),
          "2026-11-22T09:00:02.000000Z"),
]  # fmt: skip

CHAT = [
    later(step("c1", "", session_id="s-1", output={"role": "assistant", "content": "A"}),
          "2026-11-21T08:00:00.000000Z"),
    later(step("c2", "", session_id="s-1", output={"role": "assistant", "content": "B"}),
          "2026-11-21T08:05:00.000000Z"),
]  # fmt: skip

MADE_HERE = [
    later(step("g1", "", trace_id="g1", kind="agent"), "2026-11-22T12:00:00.000000Z",
          source_format="generated"),
    later(step("g2", "", trace_id="g1", parent_id="g1", kind="tool", name="refund",
               error="boom"), "2026-11-22T12:00:01.000000Z", source_format="generated"),
]  # fmt: skip

DAYS = ["2026-11-20", "2026-11-21", "2026-11-22"]


def _item(engine: Engine, record_id: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT id FROM queue_items WHERE queue = 'q' AND record_id = :r"),
                {"r": record_id},
            ).scalar_one()
        )


def _review(engine: Engine) -> None:
    q = queue(unit="trace", reviews_per_item=2)
    assert members(engine, q) == ["c2", "r2", "r3", "root"]
    ana, ben = ReviewSession(engine, q, "ana"), ReviewSession(engine, q, "ben")
    root, r2, r3 = (_item(engine, rid) for rid in ("root", "r2", "r3"))
    ana.set_verdict(root, "fail")
    ana.set_step(root, "tool2")
    ana.set_step(root, "tool1")  # changed its mind: the latest mark counts
    ana.set_verdict(r2, "pass")
    ana.set_verdict(r3, "fail")
    ana.set_step(r3, "l3b")
    ben.set_verdict(r2, "fail")
    ben.set_verdict(r3, "fail")
    ben.set_step(r3, "f3")


def fill(engine: Engine) -> Engine:
    store(engine, [*AGENT, *SECOND, *THIRD, *CHAT, *MADE_HERE])
    _review(engine)
    return engine


@pytest.fixture
def traced(engine: Engine) -> Engine:
    return fill(engine)


def test_every_trace_figure_over_the_whole_range(traced: Engine) -> None:
    result = insights(traced, bucket="week", trace_queues=["q"])
    assert result.buckets == ["2026-11-16"]
    traces = result.traces
    assert traces is not None
    t = traces.totals
    assert (t.traces, t.steps, t.steps_max) == (3, 13, 6)  # t1 5, t2 2, t3 6
    assert (t.steps_p50, t.steps_p95) == (5.0, pytest.approx(5.9))
    assert (t.tokens, t.tokens_p50, t.tokens_p95) == (412, 120.0, pytest.approx(264.0))
    assert t.cost_usd == pytest.approx(0.005)  # t2 has no cost: left out of the percentiles
    assert (t.cost_p50, t.cost_p95) == (pytest.approx(0.0025), pytest.approx(0.00295))
    assert (t.tool_calls, t.tool_errors, t.tool_error_rate) == (5, 2, pytest.approx(0.4))
    assert (t.reviews_n, t.reviews_fail, t.marked) == (5, 4, 3)
    assert [(r.name, r.calls, r.errors, r.error_rate) for r in traces.tools] == [
        ("lookup_order", 3, 1, pytest.approx(1 / 3)),
        ("refund", 1, 1, 1.0),
        ("search", 1, 0, 0.0),
    ]
    assert [(m.key, m.total) for m in traces.marked_kinds] == [("tool", 2), ("llm", 1)]
    assert [(m.key, m.total) for m in traces.marked_tools] == [("lookup_order", 1), ("refund", 1)]
    # the call figures count the LLM calls: 2 + 1 + 2 + the 2 chat calls, no agent or tool step
    (series,) = result.series
    assert (series.totals.records, series.totals.errors) == (7, 0)
    # and a period's records are its calls
    assert record_ids_for(traced, bucket_start="2026-11-20") == ["llm1", "llm2", "l2"]


def test_trace_figures_per_day(traced: Engine) -> None:
    result = insights(traced, bucket="day", trace_queues=["q"])
    assert result.buckets == DAYS
    traces = result.traces
    assert traces is not None
    first, chat_day, third = traces.buckets
    assert first == TraceBucket(
        start="2026-11-20", traces=2, steps=7, steps_p50=3.5, steps_p95=pytest.approx(4.85),
        steps_max=5, tokens=292, tokens_p50=146.0, tokens_p95=pytest.approx(266.6),
        cost_usd=pytest.approx(0.003), cost_p50=pytest.approx(0.003),
        cost_p95=pytest.approx(0.003), tool_calls=2, tool_errors=1, tool_error_rate=0.5,
        reviews_n=3, reviews_fail=2, marked=1,
    )  # fmt: skip
    assert chat_day == TraceBucket(start="2026-11-21")  # the chat session is no agent run
    assert (third.traces, third.steps_max, third.tokens, third.tool_calls, third.tool_errors) == (
        1, 6, 120, 3, 1,
    )  # fmt: skip
    assert (third.reviews_n, third.reviews_fail, third.marked) == (2, 2, 2)
    lookup = next(t for t in traces.tools if t.name == "lookup_order")
    assert (lookup.calls_per_bucket, lookup.errors_per_bucket) == ([2, 0, 1], [1, 0, 0])
    kinds = {m.key: m.per_bucket for m in traces.marked_kinds}
    assert kinds == {"tool": [1, 0, 1], "llm": [0, 0, 1]}
    assert {m.key: m.per_bucket for m in traces.marked_tools} == {
        "lookup_order": [1, 0, 0], "refund": [0, 0, 1],
    }  # fmt: skip


def test_trace_reviews_are_those_of_trace_queues_or_marking_a_step(traced: Engine) -> None:
    """Without the queue names only the reviews that marked a step are known as trace reviews;
    the marked-step figures do not need the names."""
    traces = insights(traced, bucket="week").traces
    assert traces is not None
    assert (traces.totals.reviews_n, traces.totals.reviews_fail, traces.totals.marked) == (3, 3, 3)
    assert [(m.key, m.total) for m in traces.marked_kinds] == [("tool", 2), ("llm", 1)]


def test_since_and_until_bound_the_traces(traced: Engine) -> None:
    traces = insights(traced, since="2026-11-21", until="2026-11-22", trace_queues=["q"]).traces
    assert traces is not None
    assert [b.start for b in traces.buckets] == ["2026-11-21", "2026-11-22"]
    t = traces.totals
    assert (t.traces, t.steps, t.tool_calls, t.reviews_n, t.marked) == (1, 6, 3, 2, 2)
    assert [m.key for m in traces.marked_tools] == ["refund"]


def test_chat_sessions_alone_say_nothing(engine: Engine) -> None:
    lone = later(step("one", "", trace_id="t9", output={"role": "assistant", "content": "x"}),
                 "2026-11-21T09:00:00.000000Z")  # fmt: skip
    store(engine, [*CHAT, lone, *MADE_HERE])
    result = insights(engine, bucket="day")
    assert result.traces is None and result.to_dict()["traces"] is None
    assert not any(line.startswith("traces") for line in format_lines(result))
    # a review of a chat session in a trace queue is a trace review: the section shows it
    q = queue(unit="trace")
    assert members(engine, q) == ["c2", "one"]
    ReviewSession(engine, q, "ana").set_verdict(_item(engine, "c2"), "fail")
    traces = insights(engine, bucket="day", trace_queues=["q"]).traces
    assert traces is not None
    assert (traces.totals.traces, traces.totals.reviews_n, traces.totals.reviews_fail) == (0, 1, 1)
    assert traces.tools == [] and traces.marked_kinds == []


def test_format_lines_and_json(traced: Engine) -> None:
    result = insights(traced, bucket="week", trace_queues=["q"])
    doc = result.to_dict()
    assert orjson.loads(orjson.dumps(doc)) == doc
    assert doc["traces"]["totals"]["steps_max"] == 6
    assert doc["traces"]["tools"][0] == {
        "name": "lookup_order", "calls": 3, "errors": 1, "error_rate": pytest.approx(1 / 3),
        "calls_per_bucket": [3], "errors_per_bucket": [1],
    }  # fmt: skip
    lines = format_lines(result)
    start = lines.index("traces (agent runs, by the day they started)")
    total = next(line for line in lines[start:] if line.startswith("total"))
    assert total.split() == [
        "total", "3", "5.0", "5.9", "6", "120", "264", "412", "$0.0025", "$0.0029", "$0.0050",
        "2/5", "40%", "4/5", "3",
    ]  # fmt: skip
    assert "  lookup_order       3       1    33%" in lines
    assert "  by kind: tool 2, llm 1" in lines
    assert "  by tool: lookup_order 1, refund 1" in lines


def test_cli_stats_reads_the_trace_queues_of_the_workspace(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    (ws / "queues").mkdir(parents=True)
    (ws / "queues" / "q.yaml").write_text("name: q\nunit: trace\nreviews_per_item: 2\n")
    engine = open_engine(sqlite_url(ws / ".reviewer" / "reviewer.db"))
    fill(engine)
    hostile = later(
        step("x1", "", trace_id="t8", kind="tool", name="rm\x1b[31m", error="denied"),
        "2026-11-22T10:00:00.000000Z",
    )
    store(engine, [hostile])
    engine.dispose()
    runner = CliRunner()
    out = runner.invoke(app, ["--workspace", str(ws), "stats", "--bucket", "week", "--json"])
    assert out.exit_code == 0, out.output
    traces = orjson.loads(out.stdout)["traces"]
    assert (traces["totals"]["reviews_n"], traces["totals"]["tool_calls"]) == (5, 6)
    assert [t["name"] for t in traces["tools"]] == [
        "lookup_order", "refund", "rm\x1b[31m", "search",
    ]  # fmt: skip
    shown = runner.invoke(app, ["--workspace", str(ws), "stats", "--bucket", "week"])
    assert shown.exit_code == 0, shown.output
    assert "\x1b" not in shown.stdout and "rm\\x1b[31m" in shown.stdout
    assert "  by kind: tool 2, llm 1" in shown.stdout.splitlines()
    page = tmp_path / "report.html"
    made = runner.invoke(app, ["--workspace", str(ws), "report", "-o", str(page)])
    assert made.exit_code == 0, made.output
    html = page.read_text()
    assert '<section id="traces">' in html
    assert '<td class="num">4 of 5</td>' in html  # the trace queue's reviews, read from q.yaml


def test_postgres_gives_the_same_trace_figures(pg_engine: Engine, tmp_path: Path) -> None:
    lite = open_engine(sqlite_url(tmp_path / "lite" / "reviewer.db"))
    try:
        for eng in (lite, pg_engine):
            fill(eng)
        for kwargs in (
            {"bucket": "week", "trace_queues": ["q"]},
            {"bucket": "day", "by": "model"},
            {"bucket": "day", "since": "2026-11-21", "trace_queues": ["q"]},
        ):
            got = insights(pg_engine, **kwargs).to_dict()  # type: ignore[arg-type]
            want = insights(lite, **kwargs).to_dict()  # type: ignore[arg-type]
            assert got["traces"] is not None
            assert _close(got, want), kwargs
        pg = insights(pg_engine, bucket="week", trace_queues=["q"]).traces
        assert pg is not None
        assert (pg.totals.steps_p95, pg.totals.tokens_p95) == (
            pytest.approx(5.9), pytest.approx(264.0),
        )  # fmt: skip
        assert [(m.key, m.total) for m in pg.marked_kinds] == [("tool", 2), ("llm", 1)]
    finally:
        lite.dispose()


def test_the_report_has_a_trace_section_only_with_agent_traces(traced: Engine) -> None:
    import re

    from reviewer.insights.report import TRACE_CHARTS, render_report

    data = insights(traced, bucket="day", trace_queues=["q"]).to_dict()
    page = render_report(data, title="t", generated_at="now")
    section = page[page.index('<section id="traces">') :]
    for ident in TRACE_CHARTS:
        assert f'id="{ident}"' in section
    totals = re.search(r'<table id="table-trace-totals">.*?<tbody>(.*?)</tbody>', section)
    assert totals is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", totals.group(1))
    assert [re.sub(r"<[^>]+>", "", c) for c in cells] == [
        "3", "5 / 5.9 / 6", "120 / 264", "412", "$0.0025 / $0.0029", "$0.0050",
        "2 of 5 40%", "4 of 5", "3",
    ]  # fmt: skip
    tools = re.findall(r'<tr><th scope="row">([^<]*)</th><td class="num">(\d+)</td>'
                       r'<td class="num">(\d+)</td><td class="num">([^<]*)</td>', section)  # fmt: skip
    assert tools == [("lookup_order", "3", "1", "33%"), ("refund", "1", "1", "100%"),
                     ("search", "1", "0", "0%")]  # fmt: skip
    marked = re.findall(r'<tr><td>(kind|tool)</td><th scope="row">([^<]*)</th>'
                        r'<td class="num">(\d+)</td>', section)  # fmt: skip
    assert marked == [("kind", "tool", "2"), ("kind", "llm", "1"), ("tool", "lookup_order", "1"),
                      ("tool", "refund", "1")]  # fmt: skip
    # three days on the steps chart: p50, p95 and max have a point where a trace started
    steps = section[section.index('id="chart-trace-steps"') : section.index("</svg>")]
    assert steps.count('class="point"') == 6  # 2 days with traces x (p50, p95, max)
    data["traces"] = None
    assert 'id="traces"' not in render_report(data, title="t", generated_at="now")
