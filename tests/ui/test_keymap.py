"""Keys are remappable from the workspace config, by binding id."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from reviewer.cli import app as cli
from reviewer.config import load_keymap
from tests.ui.conftest import SIZE, events, make_app, press, record_notices, settle


async def test_remapped_verdict_key(workspace, ws_engine):
    (workspace / ".reviewer" / "config.yaml").write_text("keymap:\n  review.pass: y\n")
    app = make_app(ws_engine, workspace, keymap=load_keymap(workspace))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_review("thumbs-down")
        await settle(pilot)
        first = app.screen.item.queue_item_id
        await press(pilot, "3", "p")  # p no longer passes
        assert [e["action"] for e in events(ws_engine, queue_item_id=first)] == ["score"]
        await press(pilot, "y")
        assert events(ws_engine, queue_item_id=first)[-1]["verdict"] == "pass"


def test_bad_keymap_file_is_a_clear_error(tmp_path):
    (tmp_path / ".reviewer").mkdir()
    (tmp_path / ".reviewer" / "config.yaml").write_text("keymap: [y]\n")
    with pytest.raises(
        ValueError, match=r"config.yaml: keymap: expected a mapping of binding ids to keys"
    ):
        load_keymap(tmp_path)


def test_review_of_an_unknown_queue_exits_2(workspace, monkeypatch):
    monkeypatch.chdir(workspace)
    result = CliRunner().invoke(cli, ["review", "nope"])
    assert result.exit_code == 2
    assert "no queue named 'nope'" in result.stderr and "thumbs-down" in result.stderr


async def test_an_unknown_binding_id_is_reported_at_start(workspace, ws_engine):
    (workspace / ".reviewer" / "config.yaml").write_text(
        "keymap:\n  review.pas: y\n  review.fail: x\n  lab.nope: z\n"
    )
    app = make_app(ws_engine, workspace, keymap=load_keymap(workspace))
    shown = record_notices(app, titled=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert (
            "keymap in .reviewer/config.yaml",
            "unknown binding ids: lab.nope, review.pas (ignored; ? lists every key with its id)",
        ) in shown


async def test_the_palette_opens_datasets_and_insights(workspace, ws_engine):
    from textual.command import CommandPalette
    from textual.widgets import Input

    from reviewer.tui.screens.datasets import DatasetsScreen
    from reviewer.tui.screens.insights import InsightsScreen

    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for word, screen_type in (("Datasets", DatasetsScreen), ("Insights", InsightsScreen)):
            await press(pilot, "ctrl+p")
            assert isinstance(app.screen, CommandPalette)
            app.screen.query_one(Input).value = word
            await pilot.pause(0.3)
            await press(pilot, "enter")
            await settle(pilot)
            assert isinstance(app.screen, screen_type)
            await press(pilot, "escape")
