"""Trace screen benchmark: one agent trace of N steps, reviewed with Pilot.

    python bench/bench_trace.py [N]   # default 10,000 steps

Builds (once, cached in bench/out/) a workspace whose database holds one trace of N steps
(an agent whose turns are LLM calls, tool calls, retrievals and sub-agents, one tool call in 50
failing), written with the BulkWriter and the traces table rebuilt, and a `unit: trace` queue.
Then measures, in a fresh app: launch to the trace's tree on screen, the time from a key to the
tree repainted for 500 moves between steps (j) and for the jumps to the next error (E), and the
process's peak memory.
"""

from __future__ import annotations

import asyncio
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
QUEUE = """name: agent-runs
description: every agent run
unit: trace
order: newest
rubric:
  - {name: helpful, type: scale, min: 1, max: 5}
themes: [wrong-tool, gave-up]
dataset: agent-cases
"""


def agent_steps(n: int, trace_id: str = "run-1") -> list[Any]:
    """A trace of `n` steps: an agent whose turns are an LLM call asking for two tools (one a
    sub-agent with a retrieval and an LLM call of its own), then the tools' steps."""
    from reviewer.records import Record

    def at(i: int) -> str:
        return f"2026-11-20T10:{i // 6000 % 60:02d}:{i // 100 % 60:02d}.{i % 100:02d}0000Z"

    records = [
        Record(id=f"{trace_id}-0", source_format="bench", raw="{}", timestamp=at(0),
               trace_id=trace_id, kind="agent", name="support-agent",
               inputs={"request": "Where is my order A-1?"}, outputs={"answer": "It shipped."},
               latency_ms=n * 40.0)
    ]  # fmt: skip
    i, turn = 1, 0
    while i < n:
        turn += 1
        llm = f"{trace_id}-{i}"
        records.append(
            Record(
                id=llm,
                source_format="bench",
                raw="{}",
                timestamp=at(i),
                trace_id=trace_id,
                parent_id=f"{trace_id}-0",
                model="gpt-4o-mini",
                messages=[
                    {"role": "system", "content": "You are the support agent."},
                    {"role": "user", "content": f"Turn {turn}: where is order A-{turn}?"},
                ],
                output={
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {
                            "id": f"c{turn}",
                            "name": "lookup_order",
                            "arguments": f'{{"order_id": "A-{turn}"}}',
                        }
                    ],
                },
                input_tokens=900 + turn % 50,
                output_tokens=40,
                cost_usd=0.0002,
                latency_ms=700.0,
            )  # fmt: skip
        )
        i += 1
        kids = [
            ("tool", "lookup_order", llm, {"order_id": f"A-{turn}"}, {"status": "shipped"}),
            ("agent", "billing-agent", llm, {"question": "refund?"}, {"answer": "no refund"}),
            ("retriever", "policy-search", "@agent", {"query": "refund policy"},
             {"documents": [{"page_content": "Refunds within 30 days.", "metadata": {"id": "p1"}}]}),
            ("llm", None, "@agent", None, None),
        ]  # fmt: skip
        agent = None
        for kind, name, parent, inputs, outputs in kids:
            if i >= n:
                break
            rid = f"{trace_id}-{i}"
            parent_id = agent if parent == "@agent" else parent
            fails = kind == "tool" and turn % 50 == 0
            records.append(
                Record(
                    id=rid,
                    source_format="bench",
                    raw="{}",
                    timestamp=at(i),
                    trace_id=trace_id,
                    parent_id=parent_id,
                    kind=kind,
                    name=name,
                    model="gpt-4o-mini" if kind == "llm" else None,
                    messages=[{"role": "user", "content": "Is a refund possible?"}]
                    if kind == "llm"
                    else [],
                    output={"role": "assistant", "content": "No."} if kind == "llm" else None,
                    input_tokens=300 if kind == "llm" else None,
                    output_tokens=5 if kind == "llm" else None,
                    inputs=inputs,
                    outputs=None if fails else outputs,
                    error="timeout after 5 s" if fails else None,
                    latency_ms=5000.0 if fails else 120.0,
                )  # fmt: skip
            )
            if kind == "agent":
                agent = rid
            i += 1
    return records


def prepare(n: int) -> Path:
    from reviewer.review.queues import load_queues
    from reviewer.review.sync import sync_queues
    from reviewer.store.db import open_engine, sqlite_url
    from reviewer.store.traces import rebuild_traces
    from reviewer.store.writer import BulkWriter

    ws = HERE / "out" / f"trace-{n}"
    db = ws / ".reviewer" / "reviewer.db"
    (ws / "queues").mkdir(parents=True, exist_ok=True)
    (ws / "queues" / "agent-runs.yaml").write_text(QUEUE)
    if not db.exists():
        engine = open_engine(sqlite_url(db))
        t = time.perf_counter()
        writer = BulkWriter(engine, None, lambda _key, _new: None)
        for record in agent_steps(n):
            writer.add(record, "bench")
        writer.close()
        rebuild_traces(engine)
        sync_queues(engine, load_queues(ws)[0])
        print(f"  wrote a trace of {n:,} steps in {time.perf_counter() - t:.1f} s")
        engine.dispose()
    return ws


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def measure(ws: Path, moves: int) -> None:
    from reviewer.store.db import open_engine, sqlite_url
    from reviewer.tui.app import ReviewerApp
    from reviewer.tui.screens.trace import TraceScreen
    from reviewer.tui.widgets.trace_tree import TraceTree

    engine = open_engine(sqlite_url(ws / ".reviewer" / "reviewer.db"))
    start, start_cpu = time.perf_counter(), time.process_time()
    app = ReviewerApp(engine, ws, "bench", open_queue="agent-runs", sync_on_start=False)
    async with app.run_test(size=(160, 48)) as pilot:
        while not (isinstance(app.screen, TraceScreen) and app.screen.trace is not None):
            await asyncio.sleep(0.002)
        await pilot.pause()
        opened, opened_cpu = time.perf_counter() - start, time.process_time() - start_cpu
        tree = app.screen.query_one(TraceTree)
        steps = len(tree.steps)

        # from the key's action starting to the tree repainted (measured inside the app: Pilot's
        # own round trip adds its waiting)
        # (and the process's CPU time over the same span: on a busy machine the wall clock
        # also counts the time other processes had the CPU)
        stamps: dict[str, float] = {}
        moved = TraceTree.select_row

        def shown() -> None:
            stamps["shown"], stamps["shown_cpu"] = time.perf_counter(), time.process_time()

        def stamped(self: TraceTree, *args: Any, **kwargs: Any) -> Any:
            result = moved(self, *args, **kwargs)
            self.call_after_refresh(shown)
            return result

        TraceTree.select_row = stamped  # type: ignore[method-assign]
        for name in ("action_step", "action_next_error"):
            original = getattr(TraceScreen, name)

            def started(self: TraceScreen, *args: object, _original: object = original) -> None:
                stamps["key"], stamps["key_cpu"] = time.perf_counter(), time.process_time()
                _original(self, *args)  # type: ignore[operator]

            setattr(TraceScreen, name, started)

        cpu: dict[str, list[float]] = {"j": [], "E": []}

        async def timed(key: str) -> float:
            stamps.clear()
            await pilot.press(key)
            while "shown" not in stamps:
                await asyncio.sleep(0.001)
            cpu[key].append((stamps["shown_cpu"] - stamps["key_cpu"]) * 1000)
            return (stamps["shown"] - stamps["key"]) * 1000

        step_moves = [await timed("j") for _ in range(moves)]
        errors = [await timed("E") for _ in range(20)]
        where = tree.cursor
    engine.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"  launch to the trace's tree on screen ({steps:,} steps): {opened * 1000:.0f} ms"
        f" (CPU {opened_cpu * 1000:.0f} ms)"
    )
    print(
        f"  next step (j), {len(step_moves)} moves: p50 {pct(step_moves, 0.5):.1f} ms,"
        f" p95 {pct(step_moves, 0.95):.1f} ms (CPU p50 {pct(cpu['j'], 0.5):.1f} ms,"
        f" p95 {pct(cpu['j'], 0.95):.1f} ms)"
    )
    print(
        f"  next error (E), {len(errors)} jumps: p50 {pct(errors, 0.5):.1f} ms,"
        f" p95 {pct(errors, 0.95):.1f} ms (CPU p50 {pct(cpu['E'], 0.5):.1f} ms,"
        f" p95 {pct(cpu['E'], 0.95):.1f} ms; row {where:,} after them)"
    )
    print(f"  machine load while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"  peak memory (RSS): {peak:.0f} MB")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    print(f"trace screen over one trace of {n:,} steps")
    ws = prepare(n)
    asyncio.run(measure(ws, moves=500))


if __name__ == "__main__":
    main()
