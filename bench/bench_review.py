"""Review screen benchmark: drives the app with Pilot over a database of N records.

    python bench/bench_review.py [N] [--suggestions]   # default 1,000,000 records

Prepares (once, cached in bench/out/) a workspace whose database holds N imported records,
a queue over all of them, and the search index. Then measures, in a fresh app each time:
launch to the first item on screen, the time from a key press (next item, and a verdict
that saves and moves on) to the next item rendered, and search results.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
QUEUE = """name: everything
description: every call, newest first
order: newest
rubric:
  - {name: helpful, type: scale, min: 1, max: 5}
themes: [invented-policy, wrong-language]
dataset: bench-cases
"""


def prepare(n: int) -> Path:
    ws = HERE / "out" / f"review-{n}"
    db = ws / ".reviewer" / "reviewer.db"
    (ws / "queues").mkdir(parents=True, exist_ok=True)
    (ws / "queues" / "everything.yaml").write_text(QUEUE)
    if not db.exists():
        logs = HERE / "out" / f"logs-{n}.jsonl"
        if not logs.exists():
            subprocess.run(
                [sys.executable, str(HERE / "make_logs.py"), str(n), str(logs)], check=True
            )
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "reviewer.cli", "--workspace", str(ws), "import", str(logs)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(f"  imported {n:,} records in {time.perf_counter() - t:.1f} s")
    from reviewer.review.queues import load_queues
    from reviewer.review.sync import sync_queues
    from reviewer.search import ensure_search_index
    from reviewer.store.db import open_engine, sqlite_url

    engine = open_engine(sqlite_url(db))
    t = time.perf_counter()
    sync_queues(engine, load_queues(ws)[0])
    print(f"  queue sync: {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    indexed = ensure_search_index(engine)
    print(f"  search index: {indexed:,} records indexed in {time.perf_counter() - t:.1f} s")
    engine.dispose()
    return ws


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def measure(ws: Path, presses: int) -> None:
    from reviewer.store.db import open_engine, sqlite_url
    from reviewer.tui.app import ReviewerApp
    from reviewer.tui.screens.review import ReviewScreen

    engine = open_engine(sqlite_url(ws / ".reviewer" / "reviewer.db"))
    shown: list[float] = []

    start = time.perf_counter()
    app = ReviewerApp(engine, ws, "bench", open_queue="everything")
    async with app.run_test(size=(160, 48)) as pilot:
        while not (isinstance(app.screen, ReviewScreen) and app.screen.item is not None):
            await asyncio.sleep(0.002)
        await pilot.pause()
        launch = time.perf_counter() - start

        # time from the key's action starting to the screen repainted with the next item
        # (measured inside the app: Pilot's own round trip adds a fixed ~60 ms of its waiting)
        stamps: dict[str, float] = {}
        show = ReviewScreen._show_item

        def stamped_show(self: ReviewScreen, *args: Any, **kwargs: Any) -> None:
            show(self, *args, **kwargs)
            self.call_after_refresh(lambda: stamps.__setitem__("shown", time.perf_counter()))

        ReviewScreen._show_item = stamped_show  # type: ignore[method-assign]
        for name in ("action_next_item", "action_verdict"):
            original = getattr(ReviewScreen, name)

            def started(self: ReviewScreen, *args: object, _original: object = original) -> None:
                stamps["key"] = time.perf_counter()
                _original(self, *args)  # type: ignore[operator]

            setattr(ReviewScreen, name, started)

        async def timed(key: str) -> float:
            stamps.clear()
            await pilot.press(key)
            while "shown" not in stamps:
                await asyncio.sleep(0.001)
            return (stamps["shown"] - stamps["key"]) * 1000

        for _ in range(presses):
            shown.append(await timed("right"))
        verdicts = [await timed("p") for _ in range(presses // 2)]

        from reviewer.search import search

        searches = []
        for words in [
            "return boots",
            "arrived damaged",
            "Bestellung",
            "suede brush",
            "exchange size",
        ]:
            t = time.perf_counter()
            hits = await asyncio.to_thread(search, engine, words)
            searches.append((time.perf_counter() - t) * 1000)
            assert hits, words
    engine.dispose()
    print(f"  launch to first item on screen: {launch * 1000:.0f} ms")
    print(
        f"  next item (→), {len(shown)} presses: p50 {pct(shown, 0.5):.1f} ms, p95 {pct(shown, 0.95):.1f} ms"
    )
    print(
        f"  verdict (p) saves and shows the next item, {len(verdicts)} presses: p50 {pct(verdicts, 0.5):.1f} ms, p95 {pct(verdicts, 0.95):.1f} ms"
    )
    print(
        f"  search, {len(searches)} queries: median {statistics.median(searches):.0f} ms, max {max(searches):.0f} ms"
    )


JUDGE = """name: bench-judge
kind: judge
provider: openai
model: gpt-4o-mini
instructions: Grade the answers of a shoe shop's support assistant.
"""


def with_suggestions(ws: Path, count: int) -> None:
    """The queue assisted by a judge, and a suggestion for each of its first `count` items (as
    `reviewer assist` leaves them), so the review screen shows one on every item it visits."""
    from reviewer.evals.assist import find_judge, judge_hash, pending_items
    from reviewer.review.queues import load_queues
    from reviewer.store.db import open_engine, sqlite_url
    from reviewer.store.events import write_transaction
    from reviewer.store.suggestions import save_suggestion

    (ws / "prompts").mkdir(exist_ok=True)
    (ws / "prompts" / "bench-judge.yaml").write_text(JUDGE)
    (ws / "queues" / "everything.yaml").write_text(QUEUE + "assist: {judge: bench-judge}\n")
    queue = load_queues(ws)[0][0]
    engine = open_engine(sqlite_url(ws / ".reviewer" / "reviewer.db"))
    digest = judge_hash(find_judge(ws, "bench-judge"), queue, queue.guidelines())
    with write_transaction(engine) as conn:
        for item_id, record_id in pending_items(engine, queue, count):
            save_suggestion(conn, {
                "queue_item_id": item_id, "queue": queue.name, "record_id": record_id,
                "judge": "bench-judge", "judge_hash": digest, "provider": "openai",
                "model": "gpt-4o-mini", "verdict": "fail", "scores": {"helpful": 2},
                "themes": ["invented-policy"], "reason": "states a policy the shop lacks",
                "confidence": 0.8, "created_at": "2026-11-20T10:00:00Z",
            })  # fmt: skip
    engine.dispose()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    print(f"review screen over {n:,} records")
    ws = prepare(n)
    asyncio.run(measure(ws, presses=200))
    if "--suggestions" in sys.argv:  # the same with the assistant's suggestion on every item
        print("with a suggestion shown on every item (a queue with assist:)")
        with_suggestions(ws, 2000)
        try:
            asyncio.run(measure(ws, presses=200))
        finally:
            (ws / "queues" / "everything.yaml").write_text(QUEUE)


if __name__ == "__main__":
    main()
