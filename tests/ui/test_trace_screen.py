"""The trace screen (a `unit: trace` queue): every key of its own checked by where the selection
goes and by what the database holds, the review's keys stored on the trace's anchor, hostile log
content shown literally, and a trace of 2,000 steps."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import Engine, text
from textual.widgets import Static, TextArea

from reviewer.records import Record
from reviewer.store.db import open_engine, sqlite_url
from reviewer.tui.app import known_binding_ids
from reviewer.tui.screens.help import HelpScreen
from reviewer.tui.screens.modals import TextEditor
from reviewer.tui.screens.trace import TraceScreen
from reviewer.tui.widgets.step_view import StepView
from reviewer.tui.widgets.trace_tree import TraceTree
from tests.ui.conftest import SIZE, events, make_app, press, settle, type_burst
from tests.unit.test_traces import AGENT, store

QUEUE = """name: agent-runs
description: every agent run, oldest first
unit: trace
order: oldest
rubric:
  - {name: helpful, type: scale, min: 1, max: 5}
themes: [wrong-tool, gave-up]
dataset: agent-cases
"""

ESCAPES = "\x1b[2J\x1b]0;pwned\x07"
#: a second trace, later than AGENT's: markup and escape sequences in a tool's name and result
HOSTILE = [
    Record(id="h0", source_format="test", raw="{}", timestamp="2026-11-21T09:00:00.000000Z",
           trace_id="t2", kind="agent", name="agent [bold]x[/bold]", latency_ms=2000.0,
           outputs={"answer": "done"}),
    Record(id="h1", source_format="test", raw="{}", timestamp="2026-11-21T09:00:00.500000Z",
           trace_id="t2", parent_id="h0", kind="tool", name=f"search{ESCAPES}",
           inputs={"q": "[bold red]markup[/]"}, outputs={"result": f"{ESCAPES} [link=x]click[/link]"},
           latency_ms=100.0),
    Record(id="h2", source_format="test", raw="{}", timestamp="2026-11-21T09:00:01.000000Z",
           trace_id="t2", parent_id="h0", kind="retriever", name="policy-search",
           inputs={"query": "refunds"},
           outputs={"documents": [
               {"page_content": "Refunds within 30 days.", "metadata": {"id": "policy/refunds.md"}},
               {"page_content": "[red]Shipping[/red] takes 2-4 days.", "id": "policy/shipping.md"},
           ]},
           latency_ms=80.0),
]  # fmt: skip


@pytest.fixture(autouse=True)
def content_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A step's content is read as soon as it is selected (not once the selection rests), so
    what a test sees after a key does not depend on the machine's speed."""
    monkeypatch.setattr("reviewer.tui.screens.trace.CONTENT_DELAY", 0)


def screen_text(app: Any) -> str:
    """What the terminal shows, line by line (the text of the screen's strips)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)


def trace_workspace(tmp_path: Path, records: list[Record]) -> tuple[Path, Engine]:
    ws = tmp_path / "agents"
    (ws / "queues").mkdir(parents=True)
    (ws / "prompts").mkdir()
    (ws / "queues" / "agent-runs.yaml").write_text(QUEUE)
    engine = open_engine(sqlite_url(ws / ".reviewer" / "reviewer.db"))
    store(engine, records)
    return ws, engine


@pytest.fixture
def traces(tmp_path: Path) -> Iterator[tuple[Path, Engine]]:
    ws, engine = trace_workspace(tmp_path, [*AGENT, *HOSTILE])
    yield ws, engine
    engine.dispose()


def item_of(engine: Engine, record_id: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT id FROM queue_items WHERE queue = 'agent-runs' AND record_id = :r"),
            {"r": record_id},
        ).scalar_one()


async def open_traces(pilot: Any) -> TraceScreen:
    await settle(pilot)
    pilot.app.open_review("agent-runs")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, TraceScreen)
    assert screen.item is not None
    return screen


def tree(screen: TraceScreen) -> TraceTree:
    return screen.query_one(TraceTree)


def selected(screen: TraceScreen) -> str:
    step = tree(screen).selected
    assert step is not None
    return step.id


def visible(screen: TraceScreen) -> list[str]:
    t = tree(screen)
    return [t.steps[i].id for i in t.rows]


async def test_a_trace_queue_shows_the_trace_its_totals_and_the_selected_steps_content(traces):
    ws, engine = traces
    app = make_app(engine, ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_traces(pilot)
        assert screen.item.record_id == "root"  # the anchor: the trace's one root
        assert visible(screen) == ["root", "llm1", "tool1", "tool2", "llm2"]
        assert selected(screen) == "root"
        shown = screen_text(app)
        assert "trace t1 · 5 steps: 2 llm, 2 tool · ✗ 1 error (1 tool) · 9.0s" in shown
        assert "250→30 tok · $0.0030 · tools lookup_order" in shown
        assert "support-agent" in shown and '"answer": "Your order shipped."' in shown
        # the failing step is marked by a character, not by colour alone
        line = next(row for row in shown.splitlines() if "lookup_order" in row and "5.0s" in row)
        assert "✗" in line
        await press(pilot, "j", "j")  # the failing tool call: its inputs and its error
        assert selected(screen) == "tool1"
        shown = screen_text(app)
        assert "tool lookup_order  ✗ error" in shown
        assert '"id": "A-1"' in shown and "timeout after 5 s" in shown
        await press(pilot, "k")  # an LLM call: its messages and output, as on the review screen
        assert selected(screen) == "llm1"
        shown = screen_text(app)
        assert "Where is A-1?" in shown and "⚙ tool lookup_order" in shown


async def test_moving_between_steps_errors_llm_and_tool_calls(traces):
    ws, engine = traces
    app = make_app(engine, ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_traces(pilot)
        await press(pilot, "down")
        assert selected(screen) == "llm1"
        await press(pilot, "up", "k")  # stays on the first step
        assert selected(screen) == "root"
        await press(pilot, "E")  # next error: the failing tool step
        assert selected(screen) == "tool1"
        await press(pilot, "L")  # next LLM call after it
        assert selected(screen) == "llm2"
        await press(pilot, "L")  # past the last one: from the top
        assert selected(screen) == "llm1"
        await press(pilot, "T", "T")  # next tool call, twice
        assert selected(screen) == "tool2"
        await press(pilot, "end")
        assert selected(screen) == "llm2"
        await press(pilot, "home")
        assert selected(screen) == "root"
        await press(pilot, "E", "E")  # one error: it stays there
        assert selected(screen) == "tool1"


async def test_fold_hides_a_steps_children_and_unfold_shows_them(traces):
    ws, engine = traces
    app = make_app(engine, ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_traces(pilot)
        await press(pilot, "j", "space")  # fold the first LLM call: its tool call is hidden
        assert visible(screen) == ["root", "llm1", "tool2", "llm2"]
        assert "▸ llm" in screen_text(app)
        await press(pilot, "j")  # the next visible step
        assert selected(screen) == "tool2"
        await press(pilot, "k", "space")
        assert visible(screen) == ["root", "llm1", "tool1", "tool2", "llm2"]
        await press(pilot, "z")  # fold all: the root alone, selected
        assert visible(screen) == ["root"] and selected(screen) == "root"
        await press(pilot, "E")  # a jump into folded steps unfolds the way to it
        assert selected(screen) == "tool1"
        assert visible(screen) == ["root", "llm1", "tool1", "tool2", "llm2"]
        await press(pilot, "z", "Z")  # unfold all
        assert visible(screen) == ["root", "llm1", "tool1", "tool2", "llm2"]


async def test_marking_where_it_went_wrong_is_stored_cleared_and_undone(traces):
    ws, engine = traces
    app = make_app(engine, ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_traces(pilot)
        anchor = item_of(engine, "root")
        await press(pilot, "E", "m")
        (marked,) = events(engine, queue_item_id=anchor)
        assert (marked["action"], marked["step_id"], marked["reviewer"]) == ("step", "tool1", "ana")
        assert tree(screen).marked == "tool1"
        assert "◆ tool lookup_order" in screen_text(app)  # the review says which step
        await press(pilot, "m")  # again on the same step: cleared
        assert [(e["action"], e["step_id"]) for e in events(engine, queue_item_id=anchor)] == [
            ("step", "tool1"),
            ("step", None),
        ]
        assert tree(screen).marked is None
        await press(pilot, "j", "m")  # another step: the mark moves there
        assert events(engine, queue_item_id=anchor)[-1]["step_id"] == "tool2"
        await press(pilot, "u")  # undo: the mark as it was before (cleared)
        last = events(engine, queue_item_id=anchor)[-1]
        assert (last["action"], last["step_id"]) == ("undo", None)
        assert tree(screen).marked is None


async def test_a_note_on_the_selected_step_is_saved_cancelled_and_undone(traces):
    ws, engine = traces
    app = make_app(engine, ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_traces(pilot)
        anchor = item_of(engine, "root")
        await press(pilot, "E", "c")
        assert isinstance(app.screen, TextEditor)
        app.screen.query_one(TextArea).insert("retrying would have worked")
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, TraceScreen)
        (noted,) = events(engine, queue_item_id=anchor)
        assert noted["action"] == "step_note"
        assert noted["step_notes"] == '{"tool1":"retrying would have worked"}'
        assert tree(screen).noted == {"tool1"}
        assert "✎ retrying would have worked" in screen_text(app)
        await press(pilot, "j", "c", "escape")  # esc cancels: nothing saved
        assert isinstance(app.screen, TraceScreen)
        assert len(events(engine, queue_item_id=anchor)) == 1
        await press(pilot, "u")
        last = events(engine, queue_item_id=anchor)[-1]
        assert (last["action"], last["step_notes"]) == ("undo", None)
        assert tree(screen).noted == set()


async def test_the_review_keys_work_on_the_trace_and_are_stored_on_its_anchor(traces):
    ws, engine = traces
    app = make_app(engine, ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_traces(pilot)
        anchor = item_of(engine, "root")
        await press(pilot, "E", "m", "4", "f")  # the wrong step, a score, the verdict
        verdict = events(engine, queue_item_id=anchor)[-1]
        assert (verdict["action"], verdict["verdict"], verdict["scores"]) == (
            "verdict",
            "fail",
            {"helpful": 4},
        )
        assert verdict["step_id"] == "tool1"  # the review's state carries the mark
        # then the next trace, its own tree
        assert screen.item.record_id == "h0"
        assert visible(screen) == ["h0", "h1", "h2"] and selected(screen) == "h0"
        await press(pilot, "s")  # skip it: the queue is done
        assert screen.item is None
        await press(pilot, "left", "left")  # back to the first trace: it opens at its mark
        assert screen.item.record_id == "root"
        assert selected(screen) == "tool1"
        await press(pilot, "u")  # undo the skip of the second trace
        assert [e["action"] for e in events(engine, queue_item_id=item_of(engine, "h0"))] == [
            "skip",
            "undo",
        ]
        assert screen.item.record_id == "h0"


async def test_keys_typed_after_next_apply_to_the_next_trace(traces):
    ws, engine = traces
    app = make_app(engine, ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_traces(pilot)
        type_burst(app, ["right", "j", "j", "m"])
        await settle(pilot)
        assert events(engine, queue_item_id=item_of(engine, "root")) == []
        (marked,) = events(engine, queue_item_id=item_of(engine, "h0"))
        assert marked["step_id"] == "h2"
        assert selected(screen) == "h2"


async def test_hostile_names_and_results_are_shown_literally(traces):
    ws, engine = traces
    app = make_app(engine, ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_traces(pilot)
        await press(pilot, "right", "j")
        assert selected(screen) == "h1"
        shown = screen_text(app)
        assert "agent [bold]x[/bold]" in shown  # markup in a name: not interpreted
        assert "search\\x1b[2J\\x1b]0;pwned\\x07" in shown  # the tree: escapes made visible
        assert '"q": "[bold red]markup[/]"' in shown
        assert "[link=x]click[/link]" in shown
        assert "\x1b" not in shown and "\x07" not in shown
        await press(pilot, "j")  # the retriever: its documents listed
        shown = screen_text(app)
        assert "documents (2)" in shown
        assert "1. policy/refunds.md" in shown and "2. policy/shipping.md" in shown
        assert "[red]Shipping[/red] takes 2-4 days." in shown


def long_trace(n: int) -> list[Record]:
    """A root agent over `n - 1` steps: LLM calls each followed by a tool call, one tool call in
    100 failing."""
    records = [
        Record(id="s0", source_format="test", raw="{}", trace_id="big", kind="agent",
               name="agent", timestamp="2026-11-20T10:00:00.000000Z", latency_ms=60000.0)
    ]  # fmt: skip
    for i in range(1, n):
        at = f"2026-11-20T10:00:{i // 100 % 60:02d}.{i % 100:02d}0000Z"
        tool = i % 2 == 0
        records.append(
            Record(
                id=f"s{i}",
                source_format="test",
                raw="{}",
                trace_id="big",
                parent_id="s0",
                timestamp=at,
                kind="tool" if tool else "llm",
                name=f"tool-{i}" if tool else None,
                model=None if tool else "gpt-4o-mini",
                error="boom" if tool and i % 100 == 0 else None,
                latency_ms=10.0,
            )  # fmt: skip
        )
    return records


async def test_a_trace_of_two_thousand_steps_opens_and_is_navigated(tmp_path):
    ws, engine = trace_workspace(tmp_path, long_trace(2000))
    app = make_app(engine, ws)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_traces(pilot)
            assert len(tree(screen).steps) == 2000
            assert "2000 steps: 1000 llm, 999 tool · ✗ 19 errors (19 tool)" in screen_text(app)
            for _ in range(30):
                await pilot.press("j")
            await settle(pilot)
            assert selected(screen) == "s30"
            await press(pilot, "E", "E", "E")
            assert selected(screen) == "s300"
            assert "tool-300" in screen_text(app)  # scrolled into view
            await press(pilot, "end")
            assert selected(screen) == "s1999"
            await press(pilot, "z")
            assert visible(screen) == ["s0"]
            await press(pilot, "E")
            assert selected(screen) == "s100" and len(tree(screen).rows) == 2000
    finally:
        engine.dispose()


async def test_the_help_lists_the_trace_keys_with_the_review_keys(traces):
    ws, engine = traces
    assert {"trace.mark", "trace.note", "trace.next_error", "trace.fold"} <= known_binding_ids()
    app = make_app(engine, ws)
    async with app.run_test(size=SIZE) as pilot:
        await open_traces(pilot)
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        console = Console(width=200, record=True, file=io.StringIO())
        for static in app.screen.query(Static):
            console.print(static.content)
        shown = console.export_text()
        for line in ("trace.next_error", "trace.mark", "trace.note", "review.pass", "review.undo"):
            assert line in shown
        assert "mark the selected step as where it went wrong" in shown


async def test_the_mark_key_is_remappable(traces):
    ws, engine = traces
    app = make_app(engine, ws, keymap={"trace.mark": "w"})
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_traces(pilot)
        await press(pilot, "E", "m")
        assert events(engine) == []
        await press(pilot, "w")
        assert events(engine)[-1]["step_id"] == "tool1"
        assert screen.query_one(StepView) is not None


async def test_at_100_columns_the_tree_is_above_the_step_beside_the_review(traces):
    ws, engine = traces
    app = make_app(engine, ws)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_traces(pilot)
        await press(pilot, "E")
        tree_box = tree(screen).region
        step_box = screen.query_one(StepView).region
        side_box = screen.query_one("#side").region
        assert step_box.y >= tree_box.bottom and step_box.x == tree_box.x
        assert side_box.x >= tree_box.right and side_box.width >= 34
        shown = screen_text(app)
        assert "$0.0030" in shown and "tools lookup_order" in shown  # the totals, wrapped
        assert "tool lookup_order  ✗ error" in shown and "timeout after 5 s" in shown
        assert "verdict" in shown and "went wrong" in shown


async def test_promoting_a_trace_from_its_screen_makes_the_case_up_to_the_marked_step(traces):
    """`E` `m` marks the failing tool, `e` writes the answer the agent should have given, `f`
    fails the trace, `d` promotes it: the dataset's case is the conversation of the LLM call that
    ran before the marked tool, with that call's tools, and the corrected answer as expected."""
    from reviewer.datasets.store import dataset_items

    ws, engine = traces
    app = make_app(engine, ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_traces(pilot)
        anchor = item_of(engine, "root")
        await press(pilot, "E", "m", "e")
        assert isinstance(app.screen, TextEditor)
        app.screen.query_one(TextArea).load_text("Order A-1 shipped on Monday.")
        await press(pilot, "ctrl+s")
        assert screen.item is not None and screen.item.record_id == "root"
        await press(pilot, "d")
        await settle(pilot)
        actions = [e["action"] for e in events(engine, queue_item_id=anchor)]
        assert actions[:3] == ["step", "correct", "promote"]
    (case,) = dataset_items(engine, "agent-cases")
    assert [(m["role"], m["content"]) for m in case["messages"]] == [("user", "Where is A-1?")]
    assert case["expected"] == "Order A-1 shipped on Monday."
    assert case["source"]["trace"] == {"id": "t1", "step_id": "tool1", "step_kind": "tool"}
