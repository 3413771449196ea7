"""`reviewer prompts improve` and `reviewer.evals.improve` against the fake server over real HTTP:
the fake optimizer adds a sentence to the system prompt and the fake application answers the
themed cases right when the sentence is there (`SentenceWorld`), so a round fixes them on the
train cases and the held-out test cases confirm it, or (with cases the sentence breaks) not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from reviewer.cli import app
from reviewer.datasets.store import import_items
from reviewer.evals.compare import latest_run
from reviewer.evals.improve import ImproveReport, improve_sync, split_cases
from reviewer.evals.optimize import OptimizeError
from reviewer.store.db import open_engine, sqlite_url
from tests.conftest import kill_when
from tests.fake_llm import FIX_SENTENCE, FakeLLM, SentenceWorld, is_proposal_request, proposing

PROMPT = """\
name: support
provider: openai
model: gpt-4o-mini
optimizer: {model: optimizer-1}
system: You are the support assistant of a shoe shop.
graders:
  - {type: not_contains, value: "90 days"}
"""

IDS = [f"case-{i}" for i in range(12)]
TRAIN = ["case-1", "case-2", "case-4", "case-5", "case-6", "case-7", "case-8", "case-10", "case-11"]
TEST = ["case-0", "case-3", "case-9"]
POLICY = {2, 3, 5}  # theme invented-policy: answered wrong by the original prompt
TONE = {8}  # theme tone: answered wrong too


def question(i: int) -> str:
    return f"Question {i}?"


def world(**kwargs: set[str]) -> SentenceWorld:
    return SentenceWorld(wrong={question(i) for i in POLICY | TONE}, **kwargs)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLM]:
    with FakeLLM(responder=proposing(world())) as fake:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.openai_url)
        for var in ("REVIEWER_OPTIMIZER_MODEL", "REVIEWER_OPTIMIZER_PROVIDER"):
            monkeypatch.delenv(var, raising=False)
        yield fake


@pytest.fixture
def ws(tmp_path: Path, engine: Engine) -> Path:
    root = tmp_path / "ws"
    (root / "prompts").mkdir(parents=True)
    (root / "queues").mkdir()
    (root / "prompts" / "support.yaml").write_text(PROMPT)
    (root / "prices.yaml").write_text(
        "gpt-4o-mini: {input: 0.15, output: 0.6}\noptimizer-1: {input: 2.5, output: 10}\n"
    )
    load_cases(engine, tmp_path)
    return root


def load_cases(engine: Engine, folder: Path) -> None:
    lines = []
    for i in range(12):
        themes = ["invented-policy"] if i in POLICY else ["tone"] if i in TONE else []
        lines.append(
            {
                "id": IDS[i],
                "messages": [{"role": "user", "content": question(i)}],
                "themes": themes,
                "expected": "Returns within 30 days.",
            }  # fmt: skip
        )
    path = folder / "cases.jsonl"
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    assert import_items(engine, "cases", path, by="ana").ok


def proposals(server: FakeLLM) -> list[str]:
    """The user text of every optimizer request the server received."""
    out = []
    for r in server.log():
        if is_proposal_request(r.body):
            out.append(r.body["messages"][-1]["content"])
    return out


def run(engine: Engine, ws: Path, **kwargs: object) -> ImproveReport:
    return improve_sync(engine, ws, "support", "cases", by="ana", **kwargs)


def test_the_split_is_by_case_id() -> None:
    assert split_cases(IDS) == (TRAIN, TEST)
    assert split_cases(list(reversed(IDS))) == (
        list(reversed(TRAIN)), list(reversed(TEST)),
    )  # fmt: skip
    assert split_cases(["a", "b"])[0] and split_cases(["a", "b"])[1]


def test_a_round_fixes_the_theme_on_train_and_test_confirms(
    engine: Engine, ws: Path, server: FakeLLM
) -> None:
    before = (ws / "prompts" / "support.yaml").read_bytes()
    report = run(engine, ws, rounds=3, candidates=2)
    assert (sorted(report.train_ids), sorted(report.test_ids)) == (sorted(TRAIN), TEST)
    rates = [(r.number, r.train.passed, r.train.graded, r.kept) for r in report.rounds]
    assert rates == [(0, 6, 9, False), (1, 9, 9, True)]
    assert report.stop == "no failures left"
    assert (report.test_before.passed, report.test_before.graded) == (2, 3)  # type: ignore[union-attr]
    assert (report.test_after.passed, report.test_after.graded) == (3, 3)  # type: ignore[union-attr]
    assert report.fixed == ["case-3"] and report.regressed == []
    assert report.verdict == "improved"
    assert FIX_SENTENCE in report.winner and "+system: You are the support" in report.diff
    # two candidates of round 1 asked for, the failing train cases given (never a test case)
    asked = proposals(server)
    assert len(asked) == 2 and report.optimizer_calls == 2
    assert "candidate 1 of 2" in asked[0] and "candidate 2 of 2" in asked[1]
    for text in asked:
        assert [f"### Case case-{i}" in text for i in (2, 5, 8, 3)] == [True, True, True, False]
    assert report.optimizer_cost_usd > 0 and report.eval_cost_usd > 0
    assert (ws / "prompts" / "support.yaml").read_bytes() == before  # nothing saved
    assert report.saved_version is None
    # its runs on parts of the dataset are not the lab's "last run" of the prompt
    assert latest_run(engine, "support", "cases") is None


def test_rerunning_makes_no_new_request(engine: Engine, ws: Path, server: FakeLLM) -> None:
    first = run(engine, ws, rounds=2, candidates=2)
    made = server.count
    assert made > 0 and first.requests == made
    server.reset()
    again = run(engine, ws, rounds=2, candidates=2)
    assert server.count == 0 and again.requests == 0
    assert again.to_dict()["rounds"] == first.to_dict()["rounds"]
    assert (again.verdict, again.fixed, again.winner) == (first.verdict, first.fixed, first.winner)
    assert again.cost_usd == pytest.approx(first.cost_usd)


def test_an_overfitting_candidate_is_reported(engine: Engine, ws: Path, server: FakeLLM) -> None:
    server.responder = proposing(world(breaks={question(0), question(9)}))
    report = run(engine, ws, rounds=1, candidates=1)
    assert [(r.train.passed, r.train.graded) for r in report.rounds] == [(6, 9), (9, 9)]
    assert report.test_before.passed == 2 and report.test_after.passed == 1  # type: ignore[union-attr]
    assert report.fixed == ["case-3"] and report.regressed == ["case-0", "case-9"]
    assert report.verdict == "overfit"
    assert report.stop == "rounds done"


def test_a_fix_the_held_out_cases_cannot_confirm_is_said_so(
    engine: Engine, ws: Path, server: FakeLLM
) -> None:
    # only train cases fail: the held-out ones pass before and after the fix
    server.responder = proposing(SentenceWorld(wrong={question(i) for i in (2, 5, 8)}))
    report = run(engine, ws, rounds=1, candidates=1)
    assert [(r.train.passed, r.train.graded) for r in report.rounds] == [(6, 9), (9, 9)]
    assert report.test_before.passed == report.test_after.passed == 3  # type: ignore[union-attr]
    assert report.fixed == report.regressed == []
    assert report.verdict == "unconfirmed"


def test_the_budget_stops_the_search(
    engine: Engine, ws: Path, server: FakeLLM, tmp_path: Path
) -> None:
    server.responder = proposing(world(fix="a sentence the optimizer never proposes"))
    (ws / "prices.yaml").write_text(  # the evals free: the spend is the optimizer's
        "gpt-4o-mini: {input: 0, output: 0}\noptimizer-1: {input: 2.5, output: 10}\n"
    )
    free = run(engine, ws, rounds=3, candidates=2)  # no budget: 6 proposals, none helps
    costs = [c.cost_usd for r in free.rounds for c in r.candidates]
    assert len(costs) == 6 and free.stop == "rounds done" and free.verdict == "no change"
    assert all(c > 0 for c in costs) and free.eval_cost_usd == 0
    # the same search in a fresh database, with a budget the third proposal reaches
    budget = sum(costs[:3]) - 1e-9
    other = open_engine(sqlite_url(tmp_path / "other.db"))
    try:
        load_cases(other, tmp_path)
        server.reset()
        report = improve_sync(other, ws, "support", "cases", rounds=3, candidates=2,
                              budget_usd=budget)  # fmt: skip
    finally:
        other.dispose()
    assert len(proposals(server)) == 3 and report.optimizer_calls == 3
    assert report.stop == "budget reached"
    assert report.cost_usd == pytest.approx(sum(costs[:3]))
    assert report.test_before is not None  # the held-out check still ran


def test_a_killed_search_resumes_asking_only_what_is_missing(
    engine: Engine, ws: Path, server: FakeLLM, tmp_path: Path
) -> None:
    # the whole search, in a fresh database: how many requests it makes
    other = open_engine(sqlite_url(tmp_path / "other.db"))
    try:
        load_cases(other, tmp_path)
        whole = improve_sync(other, ws, "support", "cases", rounds=1, candidates=2)
    finally:
        other.dispose()
    assert whole.requests == server.count and whole.verdict == "improved"
    # killed (-9) once round 0's 9 train answers and the first proposal are in: the next hangs
    server.reset()
    server.answer_first(10)
    args = [
        "--workspace", str(ws), "prompts", "improve", "support", "--dataset", "cases",
        "--rounds", "1", "--candidates", "2",
    ]  # fmt: skip
    kill_when(args, lambda: server.count >= 11)  # the 11th is sent once the 10th answer is kept
    assert len(proposals(server)) in (1, 2)  # the hanging eleventh may be the second proposal
    assert (ws / "prompts" / "support.yaml").read_text() == PROMPT
    # started again: only the requests that were never answered are made
    server.reset()
    resumed = run(engine, ws, rounds=1, candidates=2)
    assert server.count == resumed.requests == whole.requests - 10
    assert (resumed.verdict, resumed.fixed, resumed.regressed, resumed.winner) == (
        whole.verdict, whole.fixed, whole.regressed, whole.winner,
    )  # fmt: skip
    assert [(r.train.passed, r.train.graded) for r in resumed.rounds] == [
        (r.train.passed, r.train.graded) for r in whole.rounds
    ]


def test_models_without_a_price_are_said_not_counted_as_free(
    engine: Engine, ws: Path, server: FakeLLM
) -> None:
    from reviewer.evals.improve import summary_lines

    (ws / "prices.yaml").write_text("gpt-4o-mini: {input: 0.15, output: 0.6}\n")
    report = run(engine, ws, rounds=1, candidates=1)
    assert report.optimizer_calls == 1 and report.unpriced == ["optimizer-1"]
    assert report.optimizer_cost_usd == 0 and report.eval_cost_usd > 0
    assert [c.cost_usd for c in report.rounds[1].candidates] == [None]  # unknown, not $0
    [cost] = [line for line in summary_lines(report) if line.startswith("cost:")]
    assert cost.endswith(
        "; no price for optimizer-1 (add it to prices.yaml): its calls are not counted"
    )
    assert report.to_dict()["unpriced"] == ["optimizer-1"]
    # the model under test without a price, in a fresh database (nothing cached)
    (ws / "prompts" / "support.yaml").write_text(PROMPT.replace("gpt-4o-mini", "house-model-1"))
    other = open_engine(sqlite_url(ws.parent / "other.db"))
    try:
        load_cases(other, ws.parent)
        again = improve_sync(other, ws, "support", "cases", rounds=1, candidates=1)
    finally:
        other.dispose()
    assert again.unpriced == ["house-model-1", "optimizer-1"] and again.eval_cost_usd == 0


def test_save_writes_a_new_version(engine: Engine, ws: Path, server: FakeLLM) -> None:
    from reviewer.evals.versions import history

    report = run(engine, ws, rounds=1, candidates=1, save=True)
    text = (ws / "prompts" / "support.yaml").read_text()
    assert text == report.winner and FIX_SENTENCE in text
    entries = history(engine, "support", ws)
    assert report.saved_version == entries[0].number == 2


def test_a_theme_gives_only_its_cases(engine: Engine, ws: Path, server: FakeLLM) -> None:
    report = run(engine, ws, rounds=1, candidates=1, theme="tone")
    [asked] = proposals(server)
    assert "### Case case-8" in asked and "Failing cases with theme tone (1 of 1 shown)" in asked
    assert "case-2" not in asked and "case-5" not in asked
    assert report.theme == "tone"


def test_errors_are_plain(engine: Engine, ws: Path, server: FakeLLM) -> None:
    with pytest.raises(OptimizeError, match="no case of dataset cases has theme 'nope'"):
        run(engine, ws, theme="nope")
    with pytest.raises(OptimizeError, match="no dataset|unknown dataset|no such dataset"):
        improve_sync(engine, ws, "support", "nothing")
    with pytest.raises(OptimizeError, match="no prompt file prompts/other.yaml"):
        improve_sync(engine, ws, "other", "cases")
    (ws / "prompts" / "support.yaml").write_text(
        PROMPT.replace("optimizer: {model: optimizer-1}\n", "")
    )
    with pytest.raises(OptimizeError, match="no optimizer model configured for prompt support"):
        run(engine, ws)
    assert server.count == 0


def cli(ws: Path, *args: str) -> object:
    return CliRunner().invoke(app, ["--workspace", str(ws), "prompts", "improve", *args])


def test_cli_report(engine: Engine, ws: Path, server: FakeLLM) -> None:
    result = cli(ws, "support", "--dataset", "cases", "--rounds", "2", "--candidates", "1")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    out = result.output  # type: ignore[attr-defined]
    assert "held-out: 67% (2/3) -> 100% (3/3)" in out
    assert "fixed: case-3" in out and "verdict: improved" in out
    assert "stopped: no failures left" in out
    assert f"+system: You are the support assistant of a shoe shop. {FIX_SENTENCE}" in out
    assert "nothing was saved; rerun with --save" in out
    js = cli(ws, "support", "--dataset", "cases", "--rounds", "2", "--candidates", "1", "--json")
    doc = orjson.loads(js.output)  # type: ignore[attr-defined]
    assert doc["verdict"] == "improved" and doc["fixed"] == ["case-3"] and doc["requests"] == 0
    assert [r["train"]["pass_rate"] for r in doc["rounds"]] == [6 / 9, 1.0]


def test_cli_errors(engine: Engine, ws: Path, server: FakeLLM) -> None:
    for args, message in [
        (["nope", "--dataset", "cases"], "no prompt file prompts/nope.yaml"),
        (["support", "--dataset", "cases", "--theme", "x"], "has theme 'x'"),
        (["support", "--dataset", "missing"], "missing"),
    ]:
        result = cli(ws, *args)
        assert result.exit_code != 0  # type: ignore[attr-defined]
        assert message in result.output and "Traceback" not in result.output  # type: ignore[attr-defined]
    (ws / "prompts" / "support.yaml").write_text(
        PROMPT.replace("optimizer: {model: optimizer-1}\n", "")
    )
    result = cli(ws, "support", "--dataset", "cases")
    assert result.exit_code != 0  # type: ignore[attr-defined]
    assert "no optimizer model configured" in result.output  # type: ignore[attr-defined]


def test_an_unusable_answer_is_a_candidate_left_out(
    engine: Engine, ws: Path, server: FakeLLM
) -> None:
    from reviewer.evals.improve import round_rows

    app = world()
    server.responder = lambda body: (
        "I would rather not." if is_proposal_request(body) else app(body)
    )
    report = run(engine, ws, rounds=1, candidates=2)
    assert len(proposals(server)) == 4  # each candidate asked twice (the second with the reason)
    [first, second] = report.rounds[1].candidates
    assert first.problem is not None and "cannot be used" in first.problem
    assert first.train is None and second.train is None
    assert round_rows(report)[1] == ["1", "67% (6/9)", "#1 unusable, #2 unusable", "no"]
    assert (report.verdict, report.stop, report.diff) == ("no change", "rounds done", "")
