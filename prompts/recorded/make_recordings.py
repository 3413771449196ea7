"""Write the recorded answers the `returns-demo` prompt replays (prompts/recorded/MODEL.jsonl).

    python prompts/recorded/make_recordings.py

The requests are built by reviewer itself (the prompt rendered for each case of
prompts/returns-demo.cases.jsonl; the critique, revision and judge requests of the strategies),
so the replay provider finds an answer for every call of these strategies: single,
samples=5, self-critique and best-of=3, for gpt-4o-mini and gpt-4o. The answers are the ones
the two models gave, kept short; latencies and token counts are as measured (tokens about four
characters each).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import orjson

from reviewer.evals.prompts import load_prompt, render
from reviewer.evals.strategies import critique_request, pick_request, revision_request

HERE = Path(__file__).resolve().parent
PROMPT = HERE.parent / "returns-demo.yaml"
CASES = HERE.parent / "returns-demo.cases.jsonl"
SAMPLES = 5

GOOD_1 = [
    "You have 30 days from delivery to send them back. Start the return in your account and"
    " we refund your original payment method.",
    "30 days from delivery. Start the return in your account; the refund goes to the way you paid.",
]
GOOD_2 = "Your money back: refunds go to your original payment method within 5 business days."
GOOD_3 = (
    "Yes: sale items can be returned within 30 days of delivery like everything else, so you"
    " are still in time."
)
BAD_3 = "Yes, sale items have an extended return window of 90 days, so there is no rush."
BAD_4 = "Of course! You can drop them off at our store in Berlin-Mitte, Rosenthaler Str. 12."
FIXED_4 = (
    "We are online only, so there is no store to visit. Please send the shoes back by post"
    " within 30 days of delivery with the free label from your account."
)

#: What each model answered, per case and draw (the n-th answer to the same request).
ANSWERS: dict[str, dict[str, list[str]]] = {
    "gpt-4o-mini": {
        "returns-demo/1": [GOOD_1[d % 2] for d in range(SAMPLES)],
        "returns-demo/2": [GOOD_2] * SAMPLES,
        # right three times out of five: the flaky case
        "returns-demo/3": [GOOD_3, BAD_3, GOOD_3, BAD_3, GOOD_3],
        "returns-demo/4": [BAD_4] * SAMPLES,
    },
    "gpt-4o": {
        "returns-demo/1": [
            "Within 30 days of delivery. Start the return from your account; the refund goes to"
            " your original payment method."
        ]
        * SAMPLES,
        "returns-demo/2": [
            "You get your money back, to your original payment method, within 5 business days."
        ]
        * SAMPLES,
        "returns-demo/3": [
            "Yes. Sale items follow the normal 30-day return window, so you can still return them."
        ]
        * SAMPLES,
        "returns-demo/4": [
            "We are an online-only shop, so there is no store in Berlin. Send the boots back by"
            " post within 30 days of delivery using the label in your account."
        ]
        * SAMPLES,
    },
}

NO_PROBLEM = {"problems": [], "advice": "Correct and brief: keep it."}
CRITIQUES = {
    BAD_4: {
        "problems": ["Invents a store in Berlin: Cobbler & Co is online only."],
        "advice": "Say there are no stores and explain the return by post.",
    },
    BAD_3: {
        "problems": ["Invents a 90-day window for sale items: returns are 30 days."],
        "advice": "Give the 30-day window.",
    },
}
REVISED = {BAD_4: FIXED_4, BAD_3: GOOD_3}

#: Typical latency (ms) of each model for an answer, a critique and a judgement.
LATENCY = {"gpt-4o-mini": (780, 540, 450), "gpt-4o": (1450, 980, 820)}


def tokens(value: Any) -> int:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return max(1, len(text) // 4)


def line(
    messages: list[dict[str, Any]], sample: int, output: str, latency: float
) -> dict[str, Any]:
    return {
        "messages": messages,
        "sample": sample,
        "output": output,
        "latency_ms": round(latency),
        "input_tokens": tokens(messages),
        "output_tokens": tokens(output),
    }


def build() -> dict[str, bytes]:
    """The recordings, by file name."""
    files: dict[str, bytes] = {}
    prompt = load_prompt(PROMPT)
    cases = [orjson.loads(raw) for raw in CASES.read_bytes().splitlines() if raw.strip()]
    for model, answers in ANSWERS.items():
        jitter = random.Random(f"returns-demo/{model}")
        answer_ms, critique_ms, judge_ms = LATENCY[model]

        def ms(base: float, jitter: random.Random = jitter) -> float:
            return base * jitter.uniform(0.7, 1.5)

        lines: list[dict[str, Any]] = []
        for case in cases:
            messages = render(prompt, case)
            drawn = answers[case["id"]]
            # single and samples=5 (draw k), best-of=3's candidates (draws 0, 1, 2)
            for draw, text in enumerate(drawn):
                lines.append(line(messages, draw, text, ms(answer_ms)))
            # self-critique, sample 0: a critique of draw 0, then the revision
            draft = drawn[0]
            critique = CRITIQUES.get(draft, NO_PROBLEM)
            lines.append(
                line(critique_request(messages, draft), 0, json.dumps(critique), ms(critique_ms))
            )
            revised = REVISED.get(draft, draft)
            lines.append(
                line(revision_request(messages, draft, critique), 0, revised, ms(answer_ms))
            )
            # best-of=3, sample 0: the judge, when the three candidates differ
            candidates = drawn[:3]
            if len(set(candidates)) > 1:
                best = next((i for i, t in enumerate(candidates, 1) if t not in CRITIQUES), 1)
                verdict = {"best": best, "reason": "States the real policy."}
                lines.append(
                    line(pick_request(messages, candidates), 0, json.dumps(verdict), ms(judge_ms))
                )
        files[f"{model}.jsonl"] = b"".join(orjson.dumps(x) + b"\n" for x in lines)
    return files


def main() -> None:
    for name, data in build().items():
        (HERE / name).write_bytes(data)
        print(f"prompts/recorded/{name}: {len(data.splitlines())} recorded answers")


if __name__ == "__main__":
    main()
