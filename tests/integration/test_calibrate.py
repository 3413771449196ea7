"""`reviewer judges calibrate`: a fake judge that only recognises an invented policy when it
has seen an example of it learns from the reviewers' disagreements; the held-out agreement
rises, the rerun calls no model, and --save keeps the calibrated judge as a new version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import yaml
from typer.testing import CliRunner

from reviewer.cli import app
from reviewer.datasets.promote import PromotingSession
from reviewer.review.queues import load_queues
from reviewer.store.db import open_engine, sqlite_url
from tests.fake_llm import FakeLLM
from tests.integration.test_assist import ws  # noqa: F401

MARKERS = ("refund the difference", "as a Cobbler & Co gift card")


def _texts(body: dict[str, Any]) -> list[str]:
    return [
        c if isinstance(c, str) else "".join(part.get("text", "") for part in c)
        for c in (m["content"] for m in body["messages"] if m["role"] == "user")
    ]


def _marker(text: str) -> str | None:
    answer = text.split("Answer to grade:", 1)[-1]
    return next((m for m in MARKERS if m in answer), None)


def learner(body: dict[str, Any]) -> str:
    """Pass, unless the answer holds a marker an example (an earlier user turn) showed."""
    *examples, case = _texts(body)
    marker = _marker(case)
    seen = marker is not None and any(_marker(e) == marker for e in examples)
    return orjson.dumps(
        {"verdict": "fail" if seen else "pass", "scores": {"helpful": 3, "tone": None},
         "themes": [], "reason": "r", "confidence": 0.7}
    ).decode()  # fmt: skip


def review_all(root: Path) -> dict[str, int]:
    """Reviewers fail every answer with an invented policy, pass the rest."""
    engine = open_engine(sqlite_url(root / ".reviewer" / "reviewer.db"))
    queue = next(q for q in load_queues(root)[0] if q.name == "thumbs-down")
    session = PromotingSession(engine, queue, "ana")
    verdicts = {"pass": 0, "fail": 0}
    while (item := session.next_item()) is not None:
        output = (item.record.get("output") or {}).get("content") or ""
        verdict = "fail" if any(m in output for m in MARKERS) else "pass"
        verdicts[verdict] += 1
        session.set_score(item, "helpful", 2 if verdict == "fail" else 4)
        session.set_verdict(item, verdict)
    engine.dispose()
    return verdicts


def test_calibration_raises_the_held_out_agreement(ws, monkeypatch):  # noqa: F811
    verdicts = review_all(ws)
    assert verdicts["fail"] >= 3 and verdicts["pass"] >= 3
    judge = ws / "prompts" / "support-judge.yaml"
    data = yaml.safe_load(judge.read_text())
    data["examples"] = []  # start from a judge that has seen nothing
    judge.write_text(yaml.safe_dump(data, sort_keys=False))
    with FakeLLM(responder=learner) as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.openai_url)
        result = CliRunner().invoke(
            app, ["judges", "calibrate", "support-judge", "--queue", "thumbs-down", "--json"]
        )
        assert result.exit_code == 0, result.output
        report = orjson.loads(result.stdout)
        assert report["learn"] + report["held_out"] == 30 and report["held_out"] > 0
        before, after = report["before"], report["after"]
        assert before["accuracy"] < after["accuracy"]
        assert (before["kappa"] or 0.0) < after["kappa"]
        assert report["improved"] and report["examples_added"]
        assert all(e["verdict"] == "fail" for e in report["examples_added"])
        assert report["saved_version"] is None  # not asked to save
        asked = fake.count

        again = CliRunner().invoke(
            app, ["judges", "calibrate", "support-judge", "--queue", "thumbs-down", "--save"]
        )
        assert again.exit_code == 0, again.output
        assert fake.count == asked  # every call from the cache
        assert "held out, before:" in again.stdout and "saved as version 2" in again.stdout
    saved = yaml.safe_load(judge.read_text())
    assert len(saved["examples"]) == len(report["examples_added"])
    assert saved["kind"] == "judge"
