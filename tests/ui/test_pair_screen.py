"""The pairwise review screen: each key stores its choice for the pair on screen, the screen never
tells which run is which, and the win rate maps the keys back to the runs."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
from sqlalchemy import Engine, select

from reviewer.evals.pairwise import PAIRS, make_pairwise_queue
from reviewer.review.queues import load_queue_file
from reviewer.review.stats import queue_stats
from reviewer.store.db import open_engine, sqlite_url
from reviewer.tui.screens.pair import PairScreen
from tests.pairwise_runs import MODEL_A, MODEL_B, PROMPT_A, PROMPT_B, make_runs
from tests.ui.conftest import SIZE, events, make_app, press, screen_text, settle

KEYS = {
    "left_square_bracket": "left",
    "right_square_bracket": "right",
    "equals_sign": "tie",
    "b": "both-bad",
}


def pair_workspace(tmp_path: Path, cases: int = 20, per_item: int = 1) -> tuple[Path, Engine]:
    ws = tmp_path / "ws"
    (ws / "queues").mkdir(parents=True)
    engine = open_engine(sqlite_url(ws / ".reviewer" / "reviewer.db"))
    run_a, run_b = make_runs(engine, tmp_path, cases)
    make_pairwise_queue(engine, ws, run_a, run_b, "ab", seed=7, reviews_per_item=per_item)
    return ws, engine


def left_run(engine: Engine, record_id: str) -> str:
    with engine.connect() as conn:
        return conn.execute(select(PAIRS.c.left).where(PAIRS.c.record_id == record_id)).scalar_one()


async def open_pairs(pilot) -> PairScreen:
    await settle(pilot)
    pilot.app.open_review("ab")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, PairScreen) and screen.item is not None
    return screen


async def test_each_key_stores_its_choice_for_the_pair_on_screen_and_undo(tmp_path):
    ws, engine = pair_workspace(tmp_path, 6)
    app = make_app(engine, ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_pairs(pilot)
        for key, choice in KEYS.items():
            item = screen.item.queue_item_id
            await press(pilot, key)
            (event,) = [e for e in events(engine, queue_item_id=item) if e["action"] == "verdict"]
            assert (event["verdict"], event["complete"], event["reviewer"]) == (choice, 1, "ana")
            assert screen.item.queue_item_id != item
        # p and f are no verdicts here: nothing stored, the pair stays
        item = screen.item.queue_item_id
        await press(pilot, "p", "f")
        assert events(engine, queue_item_id=item) == []
        # undo takes back the last choice (both bad), and the pair is back on screen
        await press(pilot, "u")
        undone = events(engine, action="undo")
        assert len(undone) == 1 and undone[0]["verdict"] is None
        assert screen.item.queue_item_id == undone[0]["queue_item_id"]
        await press(pilot, "n")
        for ch in "too long":
            await pilot.press(ch)
        await press(pilot, "ctrl+s", "equals_sign")
        last = events(engine, queue_item_id=undone[0]["queue_item_id"])[-1]
        assert (last["verdict"], last["note"]) == ("tie", "too long")
    engine.dispose()


async def test_the_screen_never_tells_which_run_is_which(tmp_path):
    ws, engine = pair_workspace(tmp_path, 4)
    app = make_app(engine, ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_pairs(pilot)
        shown = screen_text(app)
        record_id = screen.item.record_id
        outputs = screen.item.record["outputs"]
        for secret in (MODEL_A, MODEL_B, PROMPT_A, PROMPT_B, record_id, "run 1", "run 2"):
            assert secret not in shown
        assert "left" in shown and "right" in shown and "Question" in shown
        assert outputs["left"]["content"] in shown and outputs["right"]["content"] in shown
        for label in ("[ left better", "] right better", "= tie", "b both bad"):
            assert label in shown  # the footer
        assert "pass" not in shown.split("better")[0]  # no pass/fail chips
    engine.dispose()


async def test_hostile_answers_are_shown_literally(tmp_path):
    ws, engine = pair_workspace(tmp_path, 2)
    with engine.begin() as conn:
        from reviewer.store.events import RECORDS

        bad = {"role": "assistant", "content": "\x1b[31mred\x1b]0;title\x07 end"}
        conn.execute(
            RECORDS.update().values(outputs=orjson.dumps({"left": bad, "right": bad}).decode())
        )
    app = make_app(engine, ws)
    async with app.run_test(size=SIZE) as pilot:
        await open_pairs(pilot)
        shown = screen_text(app)
        assert "\x1b" not in shown and "\\x1b[31mred" in shown
    engine.dispose()


async def test_the_win_rate_comes_from_the_keys_pressed(tmp_path):
    """The reviewer always presses the key of A's side on even pairs and B's on odd ones (reading
    the truth behind the screen's back): the rate is A's wins over the judged pairs."""
    ws, engine = pair_workspace(tmp_path, 20)
    app = make_app(engine, ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_pairs(pilot)
        for n in range(20):
            left = left_run(engine, screen.item.record_id)
            wants_a = n % 4 != 3  # A better on 15 of 20, B on 5
            side = "left" if (left == "a") == wants_a else "right"
            if n == 10:
                side = "tie"
            key = {v: k for k, v in KEYS.items()}[side]
            await press(pilot, key)
    queue = load_queue_file(ws / "queues" / "ab.yaml")
    pair = queue_stats(engine, queue)["pair"]
    assert (pair["a_wins"], pair["b_wins"], pair["ties"], pair["both_bad"]) == (14, 5, 1, 0)
    assert pair["win_rate_a"] == 0.725  # (14 + 0.5) / 20
    assert pair["interval_95"] == [0.506, 0.872]  # Wilson: centre 0.689, half-width 0.183
    engine.dispose()


async def test_claims_give_two_reviewers_different_pairs(tmp_path):
    """ana on the screen, ben in a session of his own (another process, say)."""
    from reviewer.review.session import ReviewSession

    ws, engine = pair_workspace(tmp_path, 3)
    queue = load_queue_file(ws / "queues" / "ab.yaml")
    ben = ReviewSession(engine, queue, "ben")
    his = ben.next_item()
    app = make_app(engine, ws, "ana")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_pairs(pilot)
        assert screen.item.queue_item_id != his.queue_item_id
        await press(pilot, "left_square_bracket")
        assert screen.item.queue_item_id != his.queue_item_id  # the third pair, not ben's
    ben.set_verdict(his, "right")
    ben.close()
    verdicts = {(e["reviewer"], e["verdict"]) for e in events(engine, action="verdict")}
    assert verdicts == {("ana", "left"), ("ben", "right")}
    assert len({e["queue_item_id"] for e in events(engine, action="verdict")}) == 2
    engine.dispose()


async def test_two_reviews_per_pair_with_two_reviewers(tmp_path):
    from reviewer.review.session import ReviewSession

    ws, engine = pair_workspace(tmp_path, 3, per_item=2)
    queue = load_queue_file(ws / "queues" / "ab.yaml")
    app = make_app(engine, ws, "ana")
    async with app.run_test(size=SIZE) as pilot:
        await open_pairs(pilot)
        for _ in range(3):
            await press(pilot, "equals_sign")
    ben = ReviewSession(engine, queue, "ben")
    while (item := ben.next_item()) is not None:
        ben.set_verdict(item, "both-bad")
    ben.close()
    by_item: dict[int, set[str]] = {}
    for e in events(engine, action="verdict"):
        by_item.setdefault(e["queue_item_id"], set()).add(e["reviewer"])
    assert len(by_item) == 3 and all(v == {"ana", "ben"} for v in by_item.values())
    stats = queue_stats(engine, queue)
    assert stats["done"] == 3 and stats["pair"]["both_bad"] == 3 and stats["pair"]["ties"] == 3
    engine.dispose()


async def test_the_pair_keys_are_remappable_by_id(tmp_path):
    from reviewer.config import load_keymap

    ws, engine = pair_workspace(tmp_path, 2)
    (ws / ".reviewer" / "config.yaml").write_text("keymap:\n  pair.left: z\n")
    app = make_app(engine, ws, keymap=load_keymap(ws))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_pairs(pilot)
        first = screen.item.queue_item_id
        await press(pilot, "left_square_bracket")  # no longer left better
        assert events(engine, queue_item_id=first) == []
        await press(pilot, "z")
        assert events(engine, queue_item_id=first)[-1]["verdict"] == "left"
    engine.dispose()


async def test_the_lab_writes_the_pairwise_queue_of_its_run_and_the_baseline(tmp_path):
    from reviewer.evals.pairwise import pairwise_queue_name
    from reviewer.tui.screens.lab import PromptLabScreen

    ws = tmp_path / "ws"
    (ws / "queues").mkdir(parents=True)
    (ws / "prompts").mkdir()
    (ws / "prompts" / "support.yaml").write_text("name: support\nprovider: echo\nsystem: Hi.\n")
    engine = open_engine(sqlite_url(ws / ".reviewer" / "reviewer.db"))
    baseline, run = make_runs(engine, tmp_path, 4, prompts=("support", "support"))
    app = make_app(engine, ws)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_lab(ws / "prompts" / "support.yaml", "returns")
        await settle(pilot)
        lab = app.screen
        assert isinstance(lab, PromptLabScreen) and lab.comparison.run_id == run
        await press(pilot, "ctrl+b")
        name = pairwise_queue_name("support", run, baseline)
        queue = load_queue_file(ws / "queues" / f"{name}.yaml")
        assert (queue.unit, queue.runs) == ("pair", [run, baseline])
        assert app.ctx.queue(name) is not None
        assert re.fullmatch(r"support-pairwise-[0-9a-f]{6}", name)  # no run id in the name
        app.open_review(name)
        await settle(pilot)
        assert isinstance(app.screen, PairScreen) and app.screen.progress.total == 4
    engine.dispose()


async def test_help_lists_the_pair_keys(tmp_path):
    from reviewer.tui.screens.help import HelpScreen

    ws, engine = pair_workspace(tmp_path, 1)
    app = make_app(engine, ws)
    async with app.run_test(size=SIZE) as pilot:
        await open_pairs(pilot)
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        shown = screen_text(app)
        for text in ("pair.left", "pair.right", "pair.tie", "pair.both_bad", "never shown"):
            assert text in shown
        # the review keys that are off on a pair are not offered
        # (the remapping hint below the keys names review.pass: and review.fail: as examples)
        off_keys = ("pass", "fail", "promote", "accept", "stats")
        for off in (f"review.{key}" for key in off_keys):
            assert not re.search(re.escape(off) + r"\b(?!:)", shown), off
        for kept in ("review.undo", "review.note", "review.skip", "review.themes"):
            assert kept in shown
    engine.dispose()


async def test_the_app_statistics_give_the_win_rate(tmp_path):
    from reviewer.tui.screens.stats import StatsScreen

    ws, engine = pair_workspace(tmp_path, 2)
    queue = load_queue_file(ws / "queues" / "ab.yaml")
    app = make_app(engine, ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_pairs(pilot)
        a_side = "left" if left_run(engine, screen.item.record_id) == "a" else "right"
        await press(pilot, {"left": "left_square_bracket", "right": "right_square_bracket"}[a_side])
        await press(pilot, "equals_sign")
        await press(pilot, "a")  # off on the pair screen: no statistics while judging
        assert isinstance(app.screen, PairScreen)
        await press(pilot, "q")
        app.push_screen(StatsScreen(queue))  # as `a` on the home screen opens it
        await settle(pilot)
        shown = screen_text(app)
        assert "win rate of A over B 75.0% (95% interval" in shown
        assert "2 reviews of 2 pairs: A better 1, B better 0, tie 1, both bad 0" in shown
    engine.dispose()


async def test_o_does_nothing_on_a_pair(tmp_path):
    """The answers are shown whole: the review screen's unfold key is off there (it was a
    crash: the pair screen has no conversation pane)."""
    ws, engine = pair_workspace(tmp_path, 1)
    app = make_app(engine, ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_pairs(pilot)
        await press(pilot, "o")
        assert app.screen is screen and app.is_running
        await press(pilot, "question_mark")
        shown = screen_text(app)
        assert "review.fold" not in shown
        assert "left_square_bracket" not in shown and "equals_sign" not in shown  # as typed
    engine.dispose()


def test_the_chosen_answer_is_marked_without_brackets():
    """The keys are brackets: a chosen `[ left better` is not put in brackets again."""
    from reviewer.tui.screens.pair import CHOICES, MARKS
    from reviewer.tui.screens.review import _choices

    assert _choices(CHOICES[:2], "left", marks=MARKS).plain == "» [ left better «  ] right better"
    assert _choices(CHOICES[2:], "tie", marks=MARKS).plain == "» = tie «  b both bad"
    assert _choices(CHOICES[2:], None, marks=MARKS).plain == "= tie  b both bad"


async def test_the_theme_picker_offers_the_workspaces_themes(tmp_path):
    """A pairwise queue names no themes: its picker offers those of the other queues."""
    ws, engine = pair_workspace(tmp_path, 2)
    (ws / "queues" / "calls.yaml").write_text("name: calls\nthemes: [rambling, too-formal]\n")
    app = make_app(engine, ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_pairs(pilot)
        item = screen.item.queue_item_id
        await press(pilot, "t")
        for ch in "rambl":
            await pilot.press(ch)
        await press(pilot, "enter")
        assert events(engine, queue_item_id=item)[-1]["themes"] == ["rambling"]
    engine.dispose()
