"""Pairwise queues: two eval runs' answers side by side, blinded; the win rate from the choices."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select, text

from reviewer.evals.pairwise import PAIRS, PairwiseError, left_of, make_pairwise_queue
from reviewer.measures import wilson_interval
from reviewer.review.queues import QueueFileError, load_queue_file, parse_queue
from reviewer.review.session import ReviewSession
from reviewer.review.stats import queue_stats, stats_lines
from reviewer.review.sync import sync_queues
from reviewer.store.db import SCHEMA_VERSION, open_engine, sqlite_url
from reviewer.store.events import QUEUE_ITEMS, ReviewError
from tests.conftest import records
from tests.pairwise_runs import MODEL_A, MODEL_B, PROMPT_A, PROMPT_B, make_runs


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "queues").mkdir(parents=True)
    return root


def truth(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(select(PAIRS.c.item_id, PAIRS.c.left)).all())


def members(engine: Engine, queue: str) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        return [
            (int(i), r)
            for i, r in conn.execute(
                select(QUEUE_ITEMS.c.id, QUEUE_ITEMS.c.record_id)
                .where(QUEUE_ITEMS.c.queue == queue)
                .order_by(QUEUE_ITEMS.c.id)
            )
        ]


def test_the_order_is_seeded_mixed_stable_and_kept_apart_from_the_record(engine, ws, tmp_path):
    run_a, run_b = make_runs(engine, tmp_path, 20)
    result = make_pairwise_queue(engine, ws, run_a, run_b, "ab", seed=7)
    assert (result.pairs, result.new_pairs, result.in_queue, result.queue_created) == (
        20, 20, 20, True,
    )  # fmt: skip
    order = truth(engine)
    assert order == {f"c{i:02d}": left_of(7, f"c{i:02d}") for i in range(20)}
    assert sorted(order.values()).count("a") == 11  # both orders occur (seed 7: 11 A left, 9 B)
    assert sum(1 for i in range(20) if left_of(0, f"c{i:02d}") == "a") == 7  # seed 0: 7 / 13

    stored = {r["id"]: r for r in records(engine, "kind = 'pair'")}
    assert len(stored) == 20
    for item, left in order.items():
        record = stored[f"pair:{run_a}:{run_b}:{item}"]
        import orjson

        outputs = orjson.loads(record["outputs"])
        shown_left = outputs["left"]["content"]
        assert shown_left.startswith("A-answer" if left == "a" else "B-answer")
        assert outputs["right"]["content"].startswith("B-answer" if left == "a" else "A-answer")
        assert record["messages"] == [{"role": "user", "content": f"Question {int(item[1:])}?"}]
        # nothing of the record but its id names a run, a model or a prompt
        blob = orjson.dumps({k: v for k, v in record.items() if k != "id"}).decode()
        for secret in (MODEL_A, MODEL_B, PROMPT_A, PROMPT_B, '"a"', '"b"'):
            assert secret not in blob
        assert (record["model"], record["provider"], record["prompt_name"]) == (None, None, None)

    queue = load_queue_file(ws / "queues" / "ab.yaml")
    assert (queue.unit, queue.runs, queue.reviews_per_item) == ("pair", [run_a, run_b], 1)

    # again, even with another seed: nothing added, the order kept
    again = make_pairwise_queue(engine, ws, run_a, run_b, "ab", seed=8)
    assert (again.pairs, again.new_pairs, again.in_queue, again.added_to_queue) == (20, 0, 20, 0)
    assert again.queue_created is False
    assert truth(engine) == order
    assert len(records(engine, "kind = 'pair'")) == 20


def test_cases_of_one_run_only_are_left_out_and_bad_input_is_said(engine, ws, tmp_path):
    run_a, run_b = make_runs(engine, tmp_path, 5, missing_in_b=(1, 3))
    result = make_pairwise_queue(engine, ws, run_a, run_b, "ab", reviews_per_item=2)
    assert (result.pairs, result.only_one, result.in_queue) == (3, 2, 3)
    assert load_queue_file(ws / "queues" / "ab.yaml").reviews_per_item == 2
    with pytest.raises(PairwiseError, match="no eval run 99"):
        make_pairwise_queue(engine, ws, run_a, 99, "other")
    with pytest.raises(PairwiseError, match="two different runs"):
        make_pairwise_queue(engine, ws, run_a, run_a, "other")
    # the queue file of other runs is in the way
    with pytest.raises(PairwiseError, match="not the pairwise queue of runs"):
        make_pairwise_queue(engine, ws, run_b, run_a, "ab")
    with pytest.raises(QueueFileError, match="runs: \\[RUN_A, RUN_B\\]"):
        parse_queue({"name": "x", "unit": "pair", "runs": [1]}, "queues/x.yaml")
    with pytest.raises(QueueFileError, match="has no filter"):
        parse_queue(
            {"name": "x", "unit": "pair", "runs": [1, 2], "filter": {"model": "m"}}, "q.yaml"
        )
    with pytest.raises(QueueFileError, match="belongs to a `unit: pair` queue"):
        parse_queue({"name": "x", "runs": [1, 2]}, "queues/x.yaml")


def test_call_and_trace_queues_never_hold_pair_records(engine, ws, tmp_path):
    run_a, run_b = make_runs(engine, tmp_path, 4)
    make_pairwise_queue(engine, ws, run_a, run_b, "ab")
    calls = parse_queue({"name": "calls", "filter": {"content": "any"}}, "q.yaml")
    every = parse_queue(
        {"name": "every", "filter": {"content": "any", "format": ["pair", "eval"]}}, "q.yaml"
    )
    traces = parse_queue({"name": "traces", "unit": "trace"}, "q.yaml")
    results = sync_queues(engine, [calls, every, traces])
    assert {k: v.total for k, v in results.items()} == {"calls": 0, "every": 0, "traces": 0}
    assert len(members(engine, "ab")) == 4


def test_the_win_rate_maps_left_and_right_back_to_the_runs(engine, ws, tmp_path):
    run_a, run_b = make_runs(engine, tmp_path, 10)
    make_pairwise_queue(engine, ws, run_a, run_b, "ab", seed=3, reviews_per_item=2)
    queue = load_queue_file(ws / "queues" / "ab.yaml")
    order = truth(engine)
    ana, ben = ReviewSession(engine, queue, "ana"), ReviewSession(engine, queue, "ben")
    with pytest.raises(ReviewError, match="left or right or tie or both-bad, not 'pass'"):
        ana.set_verdict(members(engine, "ab")[0][0], "pass")
    # ana prefers A on items 0-5, calls 6 and 7 ties, 8 both bad, prefers B on 9;
    # ben agrees on 0-4 and prefers B on 5-9
    for n, (item_id, record_id) in enumerate(members(engine, "ab")):
        item = record_id.rsplit(":", 1)[1]
        a_side = "left" if order[item] == "a" else "right"
        b_side = "right" if a_side == "left" else "left"
        ana_says = a_side if n <= 5 else "tie" if n in (6, 7) else "both-bad" if n == 8 else b_side
        ben_says = a_side if n <= 4 else b_side
        ana.set_verdict(item_id, ana_says)
        ben.set_verdict(item_id, ben_says)
    stats = queue_stats(engine, queue)
    pair = stats["pair"]
    # A: 6 (ana) + 5 (ben) = 11, B: 1 + 5 = 6, ties 2, both bad 1 -> (11 + 1) / 19
    assert (pair["a_wins"], pair["b_wins"], pair["ties"], pair["both_bad"]) == (11, 6, 2, 1)
    assert pair["win_rate_a"] == round(12 / 19, 3) == 0.632
    low, high = wilson_interval(12, 19)
    assert pair["interval_95"] == [round(low, 3), round(high, 3)] == [0.41, 0.809]
    assert pair["agreement"]["items"] == 10 and pair["agreement"]["reviewers"] == ["ana", "ben"]
    # observed 6/10 agree, by chance (6*5 + 1*5) / 100: (0.6 - 0.35) / 0.65
    assert pair["agreement"]["kappa"] == 0.385
    lines = stats_lines(stats)
    assert "win rate of A over B 63.2% (95% interval 41.0-80.9%)" in lines
    assert "20 reviews of 10 pairs: A better 11, B better 6, tie 2, both bad 1" in lines


def test_wilson_interval() -> None:
    low, high = wilson_interval(8, 10)  # type: ignore[misc]
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)
    assert wilson_interval(0, 0) is None


def test_a_schema_5_database_gets_the_pairs_table(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "v5.db")
    engine = open_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE pairs"))
        conn.execute(text("UPDATE meta SET value = '5' WHERE key = 'schema_version'"))
    engine.dispose()
    engine = open_engine(url)
    with engine.connect() as conn:
        assert inspect(conn).has_table("pairs")
        assert (
            conn.execute(text("SELECT value FROM meta WHERE key = 'schema_version'")).scalar_one()
            == str(SCHEMA_VERSION)
            == "6"
        )
    engine.dispose()


def cli(ws: Path, *args: str):
    from typer.testing import CliRunner

    from reviewer.cli import app

    return CliRunner().invoke(app, ["--workspace", str(ws), *args])


def test_cli_pairwise_and_queue_stats(engine, ws, tmp_path):
    import orjson

    run_a, run_b = make_runs(engine, tmp_path, 6, missing_in_b=(5,))
    made = cli(ws, "judges", "pairwise", str(run_a), str(run_b), "--queue", "ab", "--seed", "3")
    assert made.exit_code == 0, made.output
    assert made.output.splitlines() == [
        f"runs {run_a} (A) and {run_b} (B): 5 cases answered by both (5 new pairs, 1 answered"
        " by one run only, left out) · queues/ab.yaml written · 5 in queue ab",
        "judge them: reviewer review ab · then: reviewer queues stats ab",
    ]
    again = cli(ws, "judges", "pairwise", str(run_a), str(run_b), "-q", "ab", "--json")
    assert again.exit_code == 0
    doc = orjson.loads(again.output)
    assert (doc["pairs"], doc["new_pairs"], doc["in_queue"], doc["queue_created"]) == (
        5, 0, 5, False,
    )  # fmt: skip
    bad = cli(ws, "judges", "pairwise", str(run_a), "99", "--queue", "other")
    assert bad.exit_code == 2 and "no eval run 99" in bad.output
    assert not (ws / "queues" / "other.yaml").exists()

    queue = load_queue_file(ws / "queues" / "ab.yaml")
    order = truth(engine)
    ana = ReviewSession(engine, queue, "ana")
    for n, (item_id, record_id) in enumerate(members(engine, "ab")):
        a_side = "left" if order[record_id.rsplit(":", 1)[1]] == "a" else "right"
        choice = [a_side, a_side, a_side, "tie", "both-bad"][n]
        ana.set_verdict(item_id, choice)
    ana.close()
    shown = cli(ws, "queues", "stats", "ab")
    assert shown.exit_code == 0, shown.output
    assert "win rate of A over B 87.5% (95% interval 39.6-98.7%)" in shown.output
    assert "5 reviews of 5 pairs: A better 3, B better 0, tie 1, both bad 1" in shown.output
    assert "'both bad' reviews are left out of the rate" in shown.output
    stats = orjson.loads(cli(ws, "queues", "stats", "ab", "--json").output)
    assert stats["pair"]["win_rate_a"] == 0.875 and stats["pair"]["interval_95"] == [0.396, 0.987]
    assert stats["pair"]["agreement"]["items"] == 0


def judge_responder(body: dict) -> str:
    """The fake pairwise judge: the answer from run A is better, except on questions 0 and 5
    (a tie); it reads the answers, so it is right whichever order they come in."""
    import json
    import re

    user = body["messages"][-1]["content"]
    first = user.split("<answer_a>")[1].split("</answer_a>")[0]
    question = int(re.search(r"Question (\d+)", user).group(1))  # type: ignore[union-attr]
    if question in (0, 5):
        return json.dumps({"winner": "tie", "reason": "as good as each other"})
    return json.dumps({"winner": "A" if "A-answer" in first else "B", "reason": "run A's"})


def test_the_pairwise_grader_against_the_reviewers(engine, ws, tmp_path, monkeypatch):
    import orjson

    from tests.fake_llm import FakeLLM

    run_a, run_b = make_runs(engine, tmp_path, 10)
    make_pairwise_queue(engine, ws, run_a, run_b, "ab", seed=5)
    queue = load_queue_file(ws / "queues" / "ab.yaml")
    order = truth(engine)
    ana = ReviewSession(engine, queue, "ana")
    # ana: A better everywhere but question 3 (B) and question 8 (both bad)
    for item_id, record_id in members(engine, "ab"):
        item = record_id.rsplit(":", 1)[1]
        a_side = "left" if order[item] == "a" else "right"
        b_side = "right" if a_side == "left" else "left"
        ana.set_verdict(item_id, {"c03": b_side, "c08": "both-bad"}.get(item, a_side))
    ana.close()
    with FakeLLM(responder=judge_responder) as fake:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.openai_url)
        shown = cli(ws, "judges", "agreement", "ab", "--model", "gpt-4o-mini")
        assert shown.exit_code == 0, shown.output
        asked = len(fake.requests)
        again = orjson.loads(cli(ws, "judges", "agreement", "ab", "--json").output)
        assert len(fake.requests) == asked  # every answer from the cache
    assert asked == 18  # 9 pairs with a choice (both bad asks nothing), both orders each
    # the grader: A on 7, tie on 0 and 5; ana: A on 8, B on 1 -> 6 of 9 agree
    lines = shown.output.splitlines()
    assert lines[0] == (
        "ab: pairwise grader openai/gpt-4o-mini against 9 human review(s): "
        "agreement 67% · kappa -0.080"
    )
    assert lines[1].startswith("  1 'both bad' review(s) left out · 0 unreadable answer(s) · 18")
    assert sorted(lines[2:]) == [
        "  c00: ana says A, the grader tie",
        "  c03: ana says B, the grader A",
        "  c05: ana says A, the grader tie",
    ]
    assert (again["compared"], again["agreed"], again["kappa"], again["called"]) == (9, 6, -0.08, 0)


def test_the_pairwise_grader_without_a_model_says_so(engine, ws, tmp_path, monkeypatch):
    run_a, run_b = make_runs(engine, tmp_path, 2)
    make_pairwise_queue(engine, ws, run_a, run_b, "ab")
    queue = load_queue_file(ws / "queues" / "ab.yaml")
    ana = ReviewSession(engine, queue, "ana")
    ana.set_verdict(members(engine, "ab")[0][0], "tie")
    ana.close()
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    shown = cli(ws, "judges", "agreement", "ab")
    assert shown.exit_code == 2
    assert "the pairwise grader cannot run" in shown.output and "Traceback" not in shown.output


def test_a_pairwise_queue_has_nothing_to_promote(engine, ws, tmp_path):
    from reviewer.datasets.items import DatasetError
    from reviewer.datasets.store import bulk_promote

    run_a, run_b = make_runs(engine, tmp_path, 2)
    make_pairwise_queue(engine, ws, run_a, run_b, "ab")
    queue = load_queue_file(ws / "queues" / "ab.yaml")
    with pytest.raises(DatasetError, match="ab is a pairwise queue"):
        bulk_promote(engine, "support", queue)
