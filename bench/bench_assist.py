"""Assistant benchmark: pre-grading a queue against a judge with 200 ms latency.

    python bench/bench_assist.py [N]          # default 1,000 items

Imports N generated calls into a fresh workspace, puts them in a queue whose judge is a fake
OpenAI-compatible server (tests/fake_llm.py, in a thread of this process) answering every
request after 200 ms, and runs `reviewer assist QUEUE --concurrency 16` in a child process, as a
user runs it. Little's law bounds the rate at 16 / 0.2 s = 80 requests/s; the figure is
requests/s from the first request the server received to the last answer it sent. A second
run measures the rerun with nothing changed (no request).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from tests.fake_llm import FakeLLM  # noqa: E402

LATENCY = 0.2
CONCURRENCY = 16
QUEUE = """name: everything
rubric:
  - {name: helpful, type: scale, min: 1, max: 5, required: true}
themes: [invented-policy, wrong-language]
assist: {judge: bench-judge, blind: 0.1}
"""
JUDGE = """name: bench-judge
kind: judge
provider: openai
model: gpt-4o-mini
instructions: Grade the answers of a shoe shop's support assistant.
"""


def answer(_body: dict[str, Any]) -> str:
    return json.dumps(
        {
            "verdict": "pass",
            "scores": {"helpful": 4},
            "themes": [],
            "reason": "ok",
            "confidence": 0.8,
        }
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    logs = HERE / "out" / f"logs-{n}.jsonl"
    if not logs.exists():
        logs.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(HERE / "make_logs.py"), str(n), str(logs)], check=True)
    ws = Path(tempfile.mkdtemp(prefix="reviewer-assist-"))
    (ws / "queues").mkdir()
    (ws / "prompts").mkdir()
    (ws / "queues" / "everything.yaml").write_text(QUEUE)
    (ws / "prompts" / "bench-judge.yaml").write_text(JUDGE)
    cli = [sys.executable, "-m", "reviewer.cli", "--workspace", str(ws)]
    subprocess.run([*cli, "import", str(logs)], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([*cli, "queues", "sync"], check=True, stdout=subprocess.DEVNULL)
    with FakeLLM(responder=answer, latency=LATENCY) as fake:
        env = {**os.environ, "OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": fake.openai_url}
        for label in ("first run", "rerun, nothing changed"):
            before = fake.count
            start = time.perf_counter()
            out = subprocess.run(
                [*cli, "assist", "everything", "--concurrency", str(CONCURRENCY), "--json"],
                env=env, capture_output=True, text=True, check=False,
            )  # fmt: skip
            wall = time.perf_counter() - start
            report = json.loads(out.stdout)
            log = fake.log()[before:]
            print(f"{label}: {report['suggested']} suggested, {report['cached']} cached, "
                  f"{len(log)} requests, {wall:.1f} s wall")  # fmt: skip
            if log:
                span = max(r.answered_at or 0 for r in log) - min(r.received_at for r in log)
                rate = len(log) / span
                bound = CONCURRENCY / LATENCY
                print(f"  {rate:.1f} requests/s from the first request to the last answer "
                      f"({rate / bound * 100:.0f} % of the Little's-law bound {bound:.0f}/s)")  # fmt: skip


if __name__ == "__main__":
    main()
