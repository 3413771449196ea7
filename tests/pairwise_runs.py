"""Two finished eval runs on one dataset, for the pairwise queue's tests: run A (prompt
`support-terse`, model `model-alpha-7`) and run B (`support-warm`, `model-beta-9`) answered the
same cases; A's answers say "A-answer N", B's "B-answer N"."""

from __future__ import annotations

from pathlib import Path

import orjson
from sqlalchemy import Engine, insert

from reviewer.datasets.store import import_items
from reviewer.datasets.versions import version_info
from reviewer.evals.judges_check import RESULTS, RUNS

MODEL_A, MODEL_B = "model-alpha-7", "model-beta-9"
PROMPT_A, PROMPT_B = "support-terse", "support-warm"


def make_runs(
    engine: Engine,
    tmp_path: Path,
    cases: int = 20,
    *,
    missing_in_b: tuple[int, ...] = (),
    prompts: tuple[str, str] = (PROMPT_A, PROMPT_B),
) -> tuple[int, int]:
    """A dataset `returns` of `cases` questions and the two runs on it (B has no answer to the
    cases in `missing_in_b`). Returns (run A, run B)."""
    lines = [
        {"id": f"c{i:02d}", "messages": [{"role": "user", "content": f"Question {i}?"}]}
        for i in range(cases)
    ]
    path = tmp_path / "pair-items.jsonl"
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    assert import_items(engine, "returns", path).ok
    version = version_info(engine, "returns").number
    ids = []
    with engine.begin() as conn:
        for label, model, prompt in (("A", MODEL_A, prompts[0]), ("B", MODEL_B, prompts[1])):
            run_id = conn.execute(
                insert(RUNS).values(
                    key=f"k{label}",
                    prompt_name=prompt,
                    prompt_hash=f"h{label}" * 8,
                    dataset_name="returns",
                    dataset_version=version,
                    dataset_hash="dh",
                    provider="openai",
                    model=model,
                    status="done",
                    started_at="2026-11-20T10:00:00.000000Z",
                )  # fmt: skip
            ).inserted_primary_key[0]
            ids.append(int(run_id))
            for i in range(cases):
                if label == "B" and i in missing_in_b:
                    continue
                message = {"role": "assistant", "content": f"{label}-answer {i}"}
                conn.execute(
                    insert(RESULTS).values(
                        run_id=run_id,
                        item_id=f"c{i:02d}",
                        output=orjson.dumps(message).decode(),
                        passed=True,
                        score=1.0,
                        created_at="2026-11-20T10:00:01.000000Z",
                    )  # fmt: skip
                )
    return ids[0], ids[1]
