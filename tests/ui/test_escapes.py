"""Terminal escape sequences in the logs never reach the terminal.

A record carries OSC 52 (set the clipboard), OSC 0 (set the title), CSI (clear the screen,
colour) and C1 controls in every field the app shows: messages, output, tool calls, model,
ids, feedback, metadata, the error, and the reviews, themes, notes, corrections and dataset
items made from it. The app is driven through every screen and editor while a driver records
every byte it writes to the terminal; none of those sequences may be in it, and their visible
escapes (`\\x1b]52;...`) must be.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from textual.drivers.headless_driver import HeadlessDriver
from textual.widgets import DataTable, TextArea

from reviewer.datasets.promote import PromotingSession
from reviewer.review.queues import load_queues
from reviewer.store.db import open_engine, sqlite_url
from reviewer.tui.screens.datasets import DatasetsScreen, ExportDialog
from reviewer.tui.screens.help import HelpScreen
from reviewer.tui.screens.insights import InsightsScreen
from reviewer.tui.screens.lab import CaseScreen, HistoryScreen, PromptLabScreen
from reviewer.tui.screens.modals import DatasetPicker, TextEditor, ThemePicker
from reviewer.tui.screens.review import ReviewScreen
from reviewer.tui.screens.search import RecordScreen, SearchScreen
from reviewer.tui.screens.stats import StatsScreen
from reviewer.tui.screens.suggestions import SuggestionsScreen
from tests.conftest import run_import
from tests.fake_llm import FakeLLM
from tests.ui.conftest import SIZE, make_app, press, settle

# each control is followed by a marker, so a leak shows as the control right before its marker
OSC52 = "\x1b]52;c;aGVsbG8=\x07M52"
OSC0 = "\x1b]0;pwned\x07M00"
CLEAR = "\x1b[2JM2J"
RED = "\x1b[31mM31"
C1_CSI = "\x9b2JMC1"
C1_OSC = "\x9d0;x\x9cMOS"
BIDI = "\u202eMBI"
PAYLOAD = f"zebra {OSC52} {OSC0} {CLEAR} {RED} {C1_CSI} {C1_OSC} {BIDI} end"

QUEUE = """\
name: all
description: "every call \\e]0;pwned\\aM00"
rubric:
  - {name: quality, type: scale, min: 1, max: 5}
  - {name: why, type: text}
themes: [invented-policy]
dataset: regressions
"""

PROMPT = """\
name: support
provider: openai
model: gpt-4o-mini
system: You are the support assistant of a shoe shop.
graders:
  - {type: not_contains, value: "zebra"}
"""


def log_line(n: int, *, failed: bool = False) -> dict[str, Any]:
    messages = [
        {"role": "system", "content": f"system {PAYLOAD}"},
        {"role": "user", "content": f"question {n} {PAYLOAD}"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": f"call_{n}",
                    "type": "function",
                    "function": {
                        "name": f"lookup{OSC0}",
                        "arguments": orjson.dumps({"q": PAYLOAD}).decode(),
                    },
                }
            ],
        },
        {"role": "tool", "tool_call_id": f"call_{n}{OSC52}", "content": f"result {PAYLOAD}"},
    ]
    line: dict[str, Any] = {
        "timestamp": f"2026-11-0{n + 1}T10:00:00Z",
        "latency_ms": 700,
        "user_id": f"u{n}{OSC0}",
        "session_id": f"s{n}{OSC52}",
        "trace_id": f"t{n}{CLEAR}",
        "prompt_name": f"support{RED}",
        "feedback": {"score": 0, "comment": f"bad {PAYLOAD}"},
        "metadata": {"tags": [PAYLOAD], "endpoint": PAYLOAD},
        "request": {"model": f"gpt-4o-mini{OSC0}", "messages": messages},
    }
    if failed:
        line["error"] = {"message": f"upstream {PAYLOAD}", "code": f"500{OSC52}"}
        return line
    line["response"] = {
        "id": f"chatcmpl-{n}",
        "object": "chat.completion",
        "created": 1763630000 + n,
        "model": f"gpt-4o-mini{OSC0}",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": f"answer {n}\n\n{PAYLOAD}"},
                "finish_reason": "stop",
            }
        ],
    }
    return line


def assert_no_escape_from_the_log(out: str, where: str) -> None:
    """`out`: what the app wrote to the terminal. The app's own sequences are fine; the log's
    are not, and the log's text is there with its escapes made visible."""
    assert "\x1b]52" not in out, f"{where}: OSC 52 (clipboard) reached the terminal"
    assert "\x1b]0;" not in out, f"{where}: OSC 0 (title) reached the terminal"
    assert not re.search(r"\x1b\[2J(M2J|m2j)", out), f"{where}: CSI 2J reached the terminal"
    assert not re.search(r"\x1b\[31m(M31|m31)", out), f"{where}: CSI 31m reached the terminal"
    own = re.sub(r"\x1b\]22;[a-z-]*\x07", "", out)  # the app's own: the mouse pointer's shape
    for ch in "\x07\x9b\x9c\x9d\u202e":
        assert ch not in own, f"{where}: {ch!r} reached the terminal"
    assert "\\x1b]52;c;" in out, f"{where}: the log text is not on screen"


@pytest.fixture
def poisoned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    ws = tmp_path / "ws"
    (ws / "queues").mkdir(parents=True)
    (ws / "prompts").mkdir()
    (ws / "queues" / "all.yaml").write_text(QUEUE)
    (ws / "prompts" / "support.yaml").write_text(PROMPT)
    (ws / "prompts" / "raw.yaml").write_text(f"# {PAYLOAD}\n{PROMPT}")  # not even YAML
    log = tmp_path / "poisoned.jsonl"
    lines = [log_line(0), log_line(1), log_line(2), log_line(3, failed=True)]
    log.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    engine = open_engine(sqlite_url(ws / ".reviewer" / "reviewer.db"))
    report = run_import(engine, log)
    assert report.ok and report.total("imported") == 4, report.to_dict()
    queue = next(q for q in load_queues(ws)[0] if q.name == "all")
    from reviewer.review.sync import sync_queues

    sync_queues(engine, [queue])
    # reviews made of the log's text: a note, a correction, themes, a text score, a dataset
    # item, and failing reviews with notes and no theme (for the suggested themes)
    for who in (f"bob{OSC0}", f"eve{OSC52}"):
        session = PromotingSession(engine, queue, who)
        item = session.next_item()
        assert item is not None
        session.set_verdict(item.queue_item_id, "fail")
        session.set_note(item.queue_item_id, f"made up policy {PAYLOAD}")
        session.close()
    session = PromotingSession(engine, queue, "ana")
    item = session.next_item()
    assert item is not None
    session.set_verdict(item.queue_item_id, "fail")
    session.set_score(item.queue_item_id, "why", f"because {PAYLOAD}")
    session.set_themes(item.queue_item_id, ["invented-policy", f"t{OSC52}"])
    session.set_note(item.queue_item_id, f"note {PAYLOAD}")
    session.set_correction(item.queue_item_id, f"corrected {PAYLOAD}")
    session.promote(item.queue_item_id, "regressions")
    session.close()
    with FakeLLM(responder=lambda body: f"eval answer {PAYLOAD}") as fake:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.openai_url)
        yield ws, engine, item.queue_item_id, item.record_id
    engine.dispose()


async def test_no_escape_sequence_from_the_log_reaches_the_terminal(poisoned):
    ws, engine, reviewed_item, record_id = poisoned
    written: list[str] = []

    class RecordingDriver(HeadlessDriver):
        """The test driver, but the app renders to it and every byte is kept."""

        @property
        def is_headless(self) -> bool:
            return False

        def write(self, data: str) -> None:
            written.append(data)

    app = make_app(engine, ws, sync_on_start=False)
    app.driver_class = RecordingDriver
    seen: list[str] = []

    async def check(pilot: Any, where: str, screen_type: type | None = None) -> None:
        await settle(pilot)
        if screen_type is not None:
            assert isinstance(app.screen, screen_type), (where, app.screen)
        out = "".join(written)
        written.clear()
        assert_no_escape_from_the_log(out, where)
        seen.append(where)

    async with app.run_test(headless=False, size=SIZE, notifications=True) as pilot:
        await check(pilot, "home")
        app.notify(f"a message with {PAYLOAD}", title=f"title {OSC0}")
        await check(pilot, "notification")

        # review: the conversation, the rubric and the facts; then every editor and picker
        app.open_review("all")
        await check(pilot, "review", ReviewScreen)
        await press(pilot, "e")
        assert isinstance(app.screen, TextEditor)
        await check(pilot, "corrected-answer editor (model output)")
        await press(pilot, "escape")
        await press(pilot, "o")  # unfolded
        await check(pilot, "review unfolded", ReviewScreen)
        app.open_review("all", reviewed_item)
        await check(pilot, "review of a reviewed item", ReviewScreen)
        await press(pilot, "e")
        await check(pilot, "corrected-answer editor (a correction)", TextEditor)
        await press(pilot, "escape", "n")
        await check(pilot, "note editor", TextEditor)
        await press(pilot, "escape", "tab", "enter")
        await check(pilot, "text score editor", TextEditor)
        await press(pilot, "escape", "t")
        await check(pilot, "theme picker", ThemePicker)
        await press(pilot, "escape", "D")
        await check(pilot, "dataset picker", DatasetPicker)
        await press(pilot, "escape", "a")
        await check(pilot, "agreement", StatsScreen)
        await press(pilot, "escape", "question_mark")
        await check(pilot, "help", HelpScreen)
        await press(pilot, "escape", "escape", "escape")

        # search, its results, and a record read on its own
        await press(pilot, "slash")
        for ch in "zebra":
            await pilot.press(ch)
        await check(pilot, "search results", SearchScreen)
        assert app.screen.query_one(DataTable).row_count == 4
        await press(pilot, "enter", "enter")  # to the hits, then open the first
        await check(pilot, "a search hit opened", ReviewScreen)
        await press(pilot, "escape")
        app.push_screen(RecordScreen(record_id))
        await check(pilot, "record", RecordScreen)
        await press(pilot, "escape", "escape")

        # datasets: the items, the expected-answer and assertions editors, the export dialog
        await press(pilot, "d")
        await press(pilot, "enter")
        await check(pilot, "datasets", DatasetsScreen)
        await press(pilot, "e")
        area = app.screen.query_one(TextArea)
        assert "\\x1b]52;c;aGVsbG8=\\x07M52" in area.text and "\x1b" not in area.text
        await check(pilot, "expected-answer editor", TextEditor)
        await press(pilot, "escape", "a")
        await check(pilot, "assertions editor", TextEditor)
        await press(pilot, "escape", "E")
        await check(pilot, "export dialog", ExportDialog)
        await press(pilot, "escape", "escape")

        # insights, split by model, prompt and queue; suggested themes
        await press(pilot, "i")
        await check(pilot, "insights", InsightsScreen)
        for split in ("model", "prompt", "queue"):
            await press(pilot, "s")
            await check(pilot, f"insights by {split}", InsightsScreen)
        await press(pilot, "g")
        await check(pilot, "suggested themes", SuggestionsScreen)
        assert app.screen.suggestions, "no suggestion to show"
        await press(pilot, "escape", "escape")

        # the Prompt Lab: an eval on the dataset, a case, the history; a prompt file with raw
        # controls in the editor
        app.open_lab(ws / "prompts" / "support.yaml", "regressions")
        await check(pilot, "prompt lab", PromptLabScreen)
        await press(pilot, "ctrl+r")
        await settle(pilot)
        assert app.screen.query_one("#lab-results", DataTable).row_count == 1
        await check(pilot, "prompt lab results")
        await press(pilot, "ctrl+o", "enter")  # to the results (the run leaves the focus), a case
        await check(pilot, "eval case", CaseScreen)
        await press(pilot, "escape", "ctrl+h")
        await check(pilot, "prompt history", HistoryScreen)
        await press(pilot, "escape", "escape")
        app.open_lab(ws / "prompts" / "raw.yaml")
        await check(pilot, "prompt lab, a prompt file holding controls", PromptLabScreen)
        await press(pilot, "escape")

    assert len(seen) == 30
