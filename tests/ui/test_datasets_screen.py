"""The datasets screen: items, editing (each change a version), removal, coverage, export."""

from __future__ import annotations

import orjson
from textual.widgets import DataTable, Input, OptionList, TextArea

from reviewer.datasets.store import dataset_items
from reviewer.datasets.versions import list_versions
from reviewer.tui.screens.datasets import DatasetsScreen, ExportDialog
from reviewer.tui.screens.home import HomeScreen
from reviewer.tui.screens.modals import TextEditor
from tests.ui.conftest import SIZE, make_app, press, settle


async def promote_two(pilot):
    app = pilot.app
    await settle(pilot)
    app.open_review("thumbs-down")
    await settle(pilot)
    await press(pilot, "2", "t")
    for ch in "invent":
        await pilot.press(ch)
    await press(pilot, "space", "enter", "f", "h", "d")  # failed, back to it, promoted
    await press(pilot, "right", "4", "p", "h", "d")  # passed, back to it, promoted
    await press(pilot, "escape")
    assert isinstance(app.screen, HomeScreen)


async def open_datasets(pilot):
    await press(pilot, "d")
    screen = pilot.app.screen
    assert isinstance(screen, DatasetsScreen)
    await press(pilot, "enter")  # the first dataset's items
    return screen


async def test_items_coverage_and_edits_make_versions(workspace, ws_engine):
    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE) as pilot:
        await promote_two(pilot)
        screen = await open_datasets(pilot)
        assert screen.current == "support-regressions"
        assert screen.query_one("#items", DataTable).row_count == 2
        coverage = {
            str(r[0]): str(r[1])
            for r in (
                screen.query_one("#coverage", DataTable).get_row_at(i)
                for i in range(screen.query_one("#coverage", DataTable).row_count)
            )
        }
        assert coverage["invented-policy"] == "1"
        assert coverage["wrong-language"] == "0 · no cases"  # a theme with no test case is flagged
        before = len(list_versions(ws_engine, "support-regressions"))

        await press(pilot, "e")
        assert isinstance(app.screen, TextEditor)
        app.screen.query_one(TextArea).load_text("Returns are accepted within 30 days of delivery.")
        await press(pilot, "ctrl+s")
        edited = next(
            i
            for i in dataset_items(ws_engine, "support-regressions")
            if i["row_id"] == screen._selected_item()["row_id"]
        )
        assert edited["expected"] == "Returns are accepted within 30 days of delivery."

        await press(pilot, "a")
        app.screen.query_one(TextArea).load_text(
            "- {type: contains, value: 30 days}\n- {type: not_contains, value: gift card}\n"
        )
        await press(pilot, "ctrl+s")
        edited = next(
            i
            for i in dataset_items(ws_engine, "support-regressions")
            if i["row_id"] == edited["row_id"]
        )
        assert edited["assertions"] == [
            {"type": "contains", "value": "30 days"},
            {"type": "not_contains", "value": "gift card"},
        ]

        split = edited["split"]
        await press(pilot, "s")
        edited = next(
            i
            for i in dataset_items(ws_engine, "support-regressions")
            if i["row_id"] == edited["row_id"]
        )
        assert edited["split"] == ("train" if split == "test" else "test")

        await press(pilot, "x")
        assert len(dataset_items(ws_engine, "support-regressions")) == 1
        await press(pilot, "x")  # restore
        assert len(dataset_items(ws_engine, "support-regressions")) == 2
        assert len(list_versions(ws_engine, "support-regressions")) == before + 5


async def test_bad_assertions_are_refused_without_a_new_version(workspace, ws_engine):
    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE) as pilot:
        await promote_two(pilot)
        await open_datasets(pilot)
        before = len(list_versions(ws_engine, "support-regressions"))
        await press(pilot, "a")
        app.screen.query_one(TextArea).load_text("- {type: regex, value: '(unclosed'}\n")
        await press(pilot, "ctrl+s")
        assert len(list_versions(ws_engine, "support-regressions")) == before
        assert all(not i["assertions"] for i in dataset_items(ws_engine, "support-regressions"))


async def test_export_from_the_app(workspace, ws_engine):
    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE) as pilot:
        await promote_two(pilot)
        await open_datasets(pilot)
        await press(pilot, "E")
        dialog = app.screen
        assert isinstance(dialog, ExportDialog)
        options = dialog.query_one(OptionList)
        options.highlighted = [
            options.get_option_at_index(i).id for i in range(options.option_count)
        ].index("openai-chat")
        await settle(pilot)
        path = dialog.query_one(Input).value
        assert path == "exports/support-regressions.openai-chat.jsonl"
        await press(pilot, "enter")  # format chosen: to the path
        await press(pilot, "enter")  # go
        await settle(pilot)
        status = str(dialog.query_one("#export-status").render())
        assert "1 item written (1 skipped: 1 no expected answer)" in status
    (line,) = [orjson.loads(x) for x in (workspace / path).read_bytes().splitlines()]
    assert set(line) == {"messages", "tools"}  # the logged call offered tools
    assert [t["function"]["name"] for t in line["tools"]] == [
        "lookup_order",
        "check_stock",
        "create_return",
    ]
    assert line["messages"][-1]["role"] == "assistant" and line["messages"][-1]["content"]
