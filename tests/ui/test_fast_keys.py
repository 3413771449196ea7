"""Keys typed faster than the database answers: each lands on the item it was typed for."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from reviewer.tui.screens.review import ReviewScreen
from tests.ui.conftest import SIZE, events, item_status, make_app, settle, type_burst

PAIRS = 25  # 50 keys: a score then a pass, 25 times


def queue_order(engine: Any, queue: str) -> list[int]:
    """The queue's items in the order the review screen offers them."""
    with engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT id FROM queue_items WHERE queue = :q AND active = :a "
                    "ORDER BY position, id"
                ),
                {"q": queue, "a": True},
            ).scalars()
        )


@pytest.mark.parametrize("move", ["p", "right"])  # pass (saved, next item) or just next
async def test_a_burst_of_50_keys_applies_each_pair_to_the_item_shown(
    workspace, ws_engine, monkeypatch, move
):
    shown: list[int | None] = []  # every item the screen showed, in order
    show = ReviewScreen._show_item

    def recording(self: ReviewScreen, *args: Any, **kwargs: Any) -> None:
        item = self.item.queue_item_id if self.item is not None else None
        if not shown or shown[-1] != item:
            shown.append(item)
        show(self, *args, **kwargs)

    monkeypatch.setattr(ReviewScreen, "_show_item", recording)
    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_review("thumbs-down")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReviewScreen) and screen.item is not None
        order = queue_order(ws_engine, "thumbs-down")
        assert len(order) > PAIRS and screen.item.queue_item_id == order[0]
        digits = [str(1 + k % 5) for k in range(PAIRS)]  # helpful 1..5, so each pair is its own
        keys = [key for digit in digits for key in (digit, move)]
        assert len(keys) == 50
        type_burst(app, keys)  # no pause between keys: the screen cannot keep up
        await settle(pilot)
        assert screen.item is not None and screen.item.queue_item_id == order[PAIRS]

    # the items shown: the queue's first 26, each once, in order
    assert shown == order[: PAIRS + 1]
    stored = events(ws_engine, reviewer="ana")
    per_pair = ["score", "verdict"] if move == "p" else ["score"]
    assert [e["action"] for e in stored] == per_pair * PAIRS
    for k, digit in enumerate(digits):
        pair = stored[len(per_pair) * k : len(per_pair) * (k + 1)]
        for event in pair:
            assert event["queue_item_id"] == shown[k], (
                f"pair {k}: {event['action']} on another item"
            )
            assert event["scores"] == {"helpful": int(digit)}
        if move == "p":
            assert pair[1]["verdict"] == "pass"
    assert len({e["queue_item_id"] for e in stored}) == PAIRS  # none reviewed twice
    statuses = [item_status(ws_engine, i) for i in order[: PAIRS + 1]]
    if move == "p":  # none skipped, none passed twice, the 26th untouched
        assert statuses == ["done"] * PAIRS + ["pending"]
    else:  # looking and scoring is not finishing
        assert statuses == ["pending"] * (PAIRS + 1)
