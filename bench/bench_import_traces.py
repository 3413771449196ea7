"""Import benchmark for agent traces: steps/s, the traces rebuild and peak memory.

    python bench/bench_import_traces.py [N]      # default 100,000 traces

Writes (once, into bench/out/) an agent log of N traces as Inspect eval samples, one per line
(each sample is a trace: the sample as its root step, a solver span, model calls and tool calls),
one of them of 10,000 steps; and a plain-record file (OpenAI request + response pairs,
bench/make_logs.py) of about the same byte size. Imports each into a fresh SQLite database in a
child process, like bench_import.py, and prints lines/s, steps/s, MB/s and peak RSS, the agent
log's rate as a share of the plain file's (same bytes, same way), and the time of rebuilding every
trace's totals alone (`rebuild_traces` over the whole database, in a child process).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
from bench_import import import_child as run_import  # bench/ is on the path when run

HERE = Path(__file__).resolve().parent
BIG_STEPS = 10_000
TOOLS = ["lookup_order", "check_stock", "issue_refund", "create_return"]
SYSTEM = (
    "You are Clara, the support agent of Cobbler & Co, an online shoe shop. Use the tools to look "
    "orders up, check stock, refund and create returns; never say an action was done unless its "
    "tool call succeeded. Returns within 30 days of delivery; refunds within 5 business days."
)


def _ts(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e6):06d}+00:00"


def sample(n: int, rng: random.Random, rounds: int) -> dict:
    """One Inspect sample: `rounds` model calls that call a tool, then the answer."""
    t = 1_790_000_000.0 + n * 37.0
    order = f"A-{10000 + n % 90000}"
    messages = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": f"Where is my order {order}? It should be here by now."},
    ]
    events = [
        {"uuid": f"s{n}-g", "span_id": f"s{n}-g", "timestamp": _ts(t), "event": "span_begin",
         "id": f"s{n}-g", "type": "solver", "name": "generate"},
    ]  # fmt: skip
    for k in range(rounds + 1):
        t += 0.4 + rng.random()
        final = k == rounds
        if final:
            out = {"role": "assistant", "content": f"Your order {order} is on its way with DHL."}
        else:
            call = {"id": f"c{k}", "function": rng.choice(TOOLS), "arguments": {"order_id": order}}
            out = {"role": "assistant", "content": "", "tool_calls": [call]}
        lo = max(0, len(messages) - 6)
        events.append(
            {"uuid": f"s{n}-m{k}", "span_id": f"s{n}-g", "timestamp": _ts(t), "event": "model",
             "model": "openai/gpt-4o-mini", "input": [], "input_refs": [[0, 1], [max(1, lo), len(messages)]],
             "tools": [], "tool_choice": "auto", "config": {},
             "output": {"model": "gpt-4o-mini", "choices": [{"message": out, "stop_reason": "stop" if final else "tool_calls"}],
                        "usage": {"input_tokens": 300 + 40 * min(k, 6), "output_tokens": 25}},
             "working_time": 0.8}
        )  # fmt: skip
        messages.append(out)
        if final:
            break
        t += 0.1
        failed = rng.random() < 0.05
        result = "" if failed else json.dumps({"order_id": order, "status": "shipped"})
        tool = {"uuid": f"s{n}-t{k}", "span_id": f"s{n}-g", "timestamp": _ts(t), "event": "tool",
                "type": "function", "id": f"c{k}", "function": call["function"],
                "arguments": call["arguments"], "result": result, "working_time": 0.2}  # fmt: skip
        if failed:
            tool["error"] = {"type": "timeout", "message": "Command timed out before completing."}
        events.append(tool)
        messages.append(
            {
                "role": "tool",
                "content": result,
                "tool_call_id": f"c{k}",
                "function": call["function"],
            }
        )
    events.append({"uuid": f"s{n}-ge", "span_id": f"s{n}-g", "timestamp": _ts(t + 0.01),
                   "event": "span_end", "id": f"s{n}-g"})  # fmt: skip
    return {
        "id": n, "epoch": 1, "uuid": f"bench-{n}",
        "input": messages[1]["content"], "target": "", "messages": messages[:2],
        "output": {"model": "gpt-4o-mini", "choices": [], "completion": messages[-1]["content"]},
        "scores": {}, "events": events, "events_data": {"messages": messages},
        "model_usage": {}, "attachments": {}, "total_time": round(t - 1_790_000_000.0 - n * 37.0, 3),
    }  # fmt: skip


def steps_of(rounds: int) -> int:
    """Records a sample of `rounds` tool rounds gives: root, span, rounds+1 calls, rounds tools."""
    return 2 + (rounds + 1) + rounds


def write_agent_log(n: int, path: Path) -> int:
    """N samples, one of BIG_STEPS steps, the others 1-3 tool rounds; returns the steps."""
    rng = random.Random(n)
    steps = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    big_rounds = (BIG_STEPS - 3) // 2
    with path.open("wb") as fh:
        for i in range(n):
            rounds = big_rounds if i == n // 2 else rng.randint(1, 3)
            steps += steps_of(rounds)
            fh.write(orjson.dumps(sample(i, rng, rounds)) + b"\n")
    return steps


REBUILD = """
import sys, time
from reviewer.store.db import open_engine
from reviewer.store.traces import rebuild_traces
engine = open_engine(sys.argv[1])
start = time.perf_counter()
n = rebuild_traces(engine)
print(n, time.perf_counter() - start)
"""


def rebuild(db: Path) -> tuple[int, float, float]:
    """(traces, seconds, peak RSS in MB) of rebuilding every trace's totals, in a child."""
    proc = subprocess.Popen(
        [sys.executable, "-c", REBUILD, f"sqlite:///{db}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _pid, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"rebuild failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    traces, seconds = (proc.stdout.read().decode() if proc.stdout else "0 0").split()
    return int(traces), float(seconds), usage.ru_maxrss / 1024


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    agent = HERE / "out" / f"traces-{n}.jsonl"
    steps_file = agent.with_suffix(".steps")
    if not agent.exists() or not steps_file.exists():
        steps_file.write_text(str(write_agent_log(n, agent)))
    steps = int(steps_file.read_text())
    size = agent.stat().st_size
    plain_lines = max(1, round(size / 1740))  # make_logs.py lines are about 1.74 KB
    plain = HERE / "out" / f"logs-{plain_lines}.jsonl"
    if not plain.exists():
        subprocess.run(
            [sys.executable, str(HERE / "make_logs.py"), str(plain_lines), str(plain)], check=True
        )
    plain_size = plain.stat().st_size
    tmp = Path(tempfile.mkdtemp(prefix="reviewer-bench-"))
    try:
        print(f"agent log: {n:,} traces, {steps:,} steps (one trace of {BIG_STEPS:,}), {size / 1e6:.0f} MB; "
              f"plain file: {plain_lines:,} records, {plain_size / 1e6:.0f} MB; {os.cpu_count()} cores")  # fmt: skip
        sec, rss, totals = run_import(agent, tmp / "agent.db")
        print(f"  agent log import: {sec:.1f} s, {n / sec:,.0f} lines/s, {totals['imported'] / sec:,.0f} steps/s, "
              f"{size / sec / 1e6:.1f} MB/s, peak RSS {rss:.0f} MB  ({totals})")  # fmt: skip
        psec, prss, ptotals = run_import(plain, tmp / "plain.db")
        print(f"  plain import: {psec:.1f} s, {plain_lines / psec:,.0f} lines/s, "
              f"{plain_size / psec / 1e6:.1f} MB/s, peak RSS {prss:.0f} MB")  # fmt: skip
        share = (size / sec) / (plain_size / psec)
        print(f"  agent log rate (MB/s) as a share of the plain file's: {share:.0%}")
        traces, rsec, rrss = rebuild(tmp / "agent.db")
        print(f"  traces rebuild alone: {traces:,} traces in {rsec:.1f} s, peak RSS {rrss:.0f} MB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
