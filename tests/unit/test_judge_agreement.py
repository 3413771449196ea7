"""Judge vs human agreement against hand-computed figures: accuracy, Cohen's kappa, weighted
kappa for a scale, the blind/shown split, the accept rate and the anchoring gap; an all-agree
field has no kappa (undefined), a judge that always answers the majority class has kappa 0."""

from __future__ import annotations

import orjson
import pytest
from typer.testing import CliRunner

from reviewer.evals.judge_agreement import judge_agreement
from reviewer.review.agreement import weighted_kappa
from tests.unit.test_review_session import make_items, session
from tests.unit.test_suggestions import suggest

ASSIST = {"judge": "support-judge", "blind": 0.5, "seed": 3}


def test_weighted_kappa_by_hand():
    # 3 pairs on a 1..3 scale: (1,1) (2,3) (3,3); w = d^2/4
    # observed mean weight = (0 + 1/4 + 0) / 3 = 1/12
    # marginals human {1:1, 2:1, 3:1}, judge {1:1, 3:2}; expected = sum n_i m_j w_ij / 9
    #  = [1*1*0 + 1*2*1 + 1*1*1/4 + 1*2*1/4 + 1*1*1 + 1*2*0] / 9 = (2 + .25 + .5 + 1) / 9
    expected = (2 + 0.25 + 0.5 + 1) / 9
    assert weighted_kappa([(1, 1), (2, 3), (3, 3)], [1, 2, 3]) == pytest.approx(
        1 - (1 / 12) / expected
    )
    assert weighted_kappa([(2, 2), (2, 2)], [1, 2, 3]) is None  # no variation: undefined


def test_agreement_by_hand(engine, tmp_path):
    ids = make_items(engine, tmp_path, 8)
    # judge: fail on the first four, pass on the rest; helpful 2 or 4
    for n, i in enumerate(ids):
        suggest(engine, i, "fail" if n < 4 else "pass", scores={"helpful": 2 if n < 4 else 4})
    s = session(engine, assist=ASSIST)
    queue = s.queue
    human = ["fail", "fail", "pass", "pass", "pass", "pass", "pass", "fail"]
    for n, i in enumerate(ids):
        s.set_score(i, "helpful", 2 if human[n] == "fail" else 4)
        s.set_verdict(i, human[n])
    blind = [i for i in ids if queue.assist.is_blind(i)]
    result = judge_agreement(engine, queue)
    # verdict pairs (human, judge): ff ff pf pf pp pp pp fp -> 5 of 8 agree
    assert (result.verdict.n, result.verdict.accuracy) == (8, 5 / 8)
    # p_o = 5/8; human f=3 p=5, judge f=4 p=4: p_e = (3*4 + 5*4) / 64 = 0.5
    assert result.verdict.kappa == pytest.approx((5 / 8 - 0.5) / 0.5)
    assert result.verdict.confusion == {
        "fail": {"fail": 2, "pass": 1},
        "pass": {"fail": 2, "pass": 3},
    }
    assert result.verdict.blind.n == len(blind) and result.verdict.shown.n == 8 - len(blind)
    assert result.accept_rate == 0.0  # shown, never taken with y
    gap = result.verdict.shown.accuracy - result.verdict.blind.accuracy
    assert result.anchoring_gap == pytest.approx(gap)
    assert result.scores["helpful"].accuracy == 5 / 8  # the scores follow the verdicts here
    data = result.to_dict()
    assert set(data["verdict"]) == {"n", "accuracy", "kappa", "blind", "shown", "confusion"}
    assert set(data) >= {"verdict", "scores", "accept_rate", "anchoring_gap"}


def test_all_agree_has_no_kappa_and_a_majority_judge_has_kappa_zero(engine, tmp_path):
    ids = make_items(engine, tmp_path, 6)
    for i in ids:
        suggest(engine, i, "pass", scores={"helpful": 4})
    s = session(engine, assist={"judge": "support-judge"})
    for n, i in enumerate(ids[:3]):
        s.accept_suggestion(i, n + 1)  # everyone agrees, by accepting
    first = judge_agreement(engine, s.queue)
    assert (first.verdict.n, first.verdict.accuracy, first.verdict.kappa) == (3, 1.0, None)
    assert first.accept_rate == 1.0
    for i in ids[3:]:  # the judge always says pass; these humans say fail
        s.set_score(i, "helpful", 1)
        s.set_verdict(i, "fail")
    second = judge_agreement(engine, s.queue)
    assert second.verdict.accuracy == 0.5 and second.verdict.kappa == pytest.approx(0.0)
    assert second.accept_rate == 0.5


def test_cli_agreement_json(engine, tmp_path, monkeypatch):
    from reviewer.cli import app

    ws = tmp_path / "ws"
    (ws / "queues").mkdir(parents=True, exist_ok=True)
    (ws / "queues" / "q.yaml").write_text(
        "name: q\nrubric:\n  - {name: helpful, type: scale, min: 1, max: 5, required: true}\n"
        "assist: {judge: support-judge}\n"
    )
    ids = make_items(engine, tmp_path, 2)
    for i in ids:
        suggest(engine, i, "fail", scores={"helpful": 2})
    s = session(engine, assist={"judge": "support-judge"})
    s.accept_suggestion(ids[0], 1)
    monkeypatch.chdir(ws)
    result = CliRunner().invoke(app, ["judges", "agreement", "q", "--json"])
    assert result.exit_code == 0, result.output
    data = orjson.loads(result.stdout)
    assert data["verdict"]["n"] == 1 and data["accept_rate"] == 1.0
    text = CliRunner().invoke(app, ["judges", "agreement", "q"])
    assert "judge support-judge on queue q: 1 of 1 human reviews" in text.stdout
