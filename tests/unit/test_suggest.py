"""Suggested themes: untagged failing reviews grouped by their notes (TF-IDF and spherical
k-means, no network), named after their top terms, stable, accepted or discarded."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, text, update

from reviewer.insights.suggest import (
    SuggestError,
    accept,
    compute_suggestions,
    discard,
    fold,
    suggest_themes,
    tokens,
    untagged_failures,
)
from reviewer.review.themes import theme_counts
from reviewer.store.events import RECORDS
from tests.unit.test_review_session import Clock, make_items, session

REFUND = [
    "Invented a refund policy: we never promised 30-day refunds.",
    "Made up a refund policy that does not exist.",
    "Hallucinated policy: promised a full refund on gift cards, which are not refundable.",
    "Refund-Policy erfunden: laut Antwort gibt es 60 Tage Geld zurück.",
    "Invented refund policy again, told the customer refunds take 2 days.",
]
LANGUAGE = [
    "Wrong language: the user wrote in German, the reply is in English.",
    "Answered in English although the question was in Spanish - wrong language.",
    "Switched to English mid-conversation; should have stayed in the user's language (French).",
    "Wrong language – Antwort auf Englisch, obwohl der Kunde Deutsch geschrieben hat.",
    "Reply language wrong: English instead of German.",
]
REFUSED = [
    "Refused a harmless request about opening hours.",
    "Refuses to help with a simple, harmless question about a recipe.",
    "Over-refusal: declined a harmless request to summarise an article.",
    None,  # no note: the output text is used
    "Refused harmless request, claimed it was against policy.",
]
REFUSAL_OUTPUT = "I'm sorry, but I refuse to help with that request."
NOISE = [
    "Too verbose: three paragraphs for a yes/no question.",
    "Quoted the wrong order number.",
    "Markdown table is broken in the output.",
]
FAILING = REFUND + LANGUAGE + REFUSED + NOISE  # items 0..17


def build(engine: Engine, tmp_path: Path) -> list[int]:
    """18 failing reviews by ana (items 0..17), then: item 18 failing but already themed,
    item 19 passing with a note, item 20 with a note and no verdict yet."""
    ids = make_items(engine, tmp_path, 21)
    clock = Clock()
    ana = session(engine, "ana", clock, rubric=[])
    with engine.begin() as conn:
        conn.execute(
            update(RECORDS)
            .where(RECORDS.c.id == "chatcmpl-q13")
            .values(output=orjson.dumps({"role": "assistant", "content": REFUSAL_OUTPUT}).decode())
        )
    for item, note in zip(ids, FAILING, strict=False):
        if note is not None:
            ana.set_note(item, note)
        ana.set_verdict(item, "fail")
    ana.set_note(ids[18], "Invented a refund policy about gift cards")
    ana.set_verdict(ids[18], "fail")
    ana.set_themes(ids[18], ["invented-policy"])
    ana.set_note(ids[19], "Great answer about the refund policy")
    ana.set_verdict(ids[19], "pass")
    ana.set_note(ids[20], "Refund policy invented, wrong language")
    return ids


def groups(suggestions, ids):
    index = {item: i for i, item in enumerate(ids)}
    return [sorted(index[m.item] for m in s.members) for s in suggestions]


def test_text_folding():
    assert fold("policies") == "policy"
    assert fold("refused") == fold("refuses") == fold("refuse") == "refus"
    assert fold("harmless") == "harmless"
    assert fold("made") == "made"
    # stop words of several languages, and words every review uses (answer, user) go
    words = tokens("Die Antwort ist auf Englisch, not in the user's language!")
    assert words == [("englisch", "englisch"), ("languag", "language")]


def test_failing_untagged_reviews_are_the_input(engine, tmp_path):
    ids = build(engine, tmp_path)
    with engine.connect() as conn:
        members = untagged_failures(conn)
    assert [m.item for m in members] == ids[:18]
    assert members[13].text == REFUSAL_OUTPUT  # no note: the output's text
    assert members[0].text == REFUND[0] and members[0].reviewer == "ana"


def test_groups_names_and_members(engine, tmp_path):
    ids = build(engine, tmp_path)
    found = suggest_themes(engine)
    assert groups(found, ids) == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11, 12, 13, 14]]
    assert [s.name for s in found] == [
        "refund-policy-invented",
        "wrong-language-english",
        "refused-harmless-request",
    ]
    assert [s.terms for s in found] == [
        ["refund policy", "invented refund", "promised"],
        ["wrong language", "english", "german"],
        ["refused harmless", "harmless request", "refuse help"],
    ]
    assert [s.example for s in found] == [REFUND[0], LANGUAGE[0], REFUSED[4]]
    assert all(len(s.id) == 8 and s.key.startswith(s.id) for s in found)
    # more groups asked for: the parts of one theme are merged back
    assert [s.id for s in suggest_themes(engine, k=8)] == [s.id for s in found]


def test_same_input_same_suggestions(engine, tmp_path):
    build(engine, tmp_path)
    first = suggest_themes(engine)
    again = suggest_themes(engine)
    assert [s.to_dict() for s in first] == [s.to_dict() for s in again]
    with engine.connect() as conn:
        members = untagged_failures(conn)
    pure = compute_suggestions(list(reversed(members)))  # order of the input does not matter
    assert [s.id for s in pure] != [] and {s.id for s in pure} == {s.id for s in first}
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT COUNT(*) FROM theme_suggestions")).scalar_one()
    assert stored == 3


def test_accept_tags_exactly_the_members(engine, tmp_path):
    ids = build(engine, tmp_path)
    refund = suggest_themes(engine)[0]
    with engine.connect() as conn:
        before = conn.execute(text("SELECT COUNT(*) FROM review_events")).scalar_one()
    result = accept(engine, refund.id, name="Invented Refund Policy", by="ben")
    assert (result.theme.name, result.theme.created_by, result.tagged) == (
        "invented-refund-policy",
        "ben",
        5,
    )
    with engine.connect() as conn:
        events = conn.execute(
            text(
                "SELECT queue_item_id, reviewer, action, themes, verdict, note, complete "
                "FROM review_events WHERE id > :b ORDER BY id"
            ),
            {"b": before},
        ).all()
        status = conn.execute(
            text("SELECT status, theme, decided_by FROM theme_suggestions WHERE key = :k"),
            {"k": refund.key},
        ).one()
    assert [e.queue_item_id for e in events] == ids[:5]
    assert {(e.reviewer, e.action, e.themes, e.verdict, bool(e.complete)) for e in events} == {
        ("ana", "themes", '["invented-refund-policy"]', "fail", True)
    }
    assert [e.note for e in events] == REFUND
    assert tuple(status) == ("accepted", "invented-refund-policy", "ben")
    assert theme_counts(engine) == {"invented-refund-policy": 5, "invented-policy": 1}
    # tagged now: no longer suggested; accepting twice is refused
    assert all(not set(s.members) & set(refund.members) for s in suggest_themes(engine))
    with pytest.raises(SuggestError, match="accepted already"):
        accept(engine, refund.id, by="ben")


def test_discard_hides_it(engine, tmp_path):
    ids = build(engine, tmp_path)
    found = suggest_themes(engine)
    discard(engine, found[1].id, by="ben")
    after = suggest_themes(engine)
    assert [s.id for s in after] == [found[0].id, found[2].id]
    assert groups(after, ids) == [[0, 1, 2, 3, 4], [10, 11, 12, 13, 14]]
    with pytest.raises(SuggestError, match="no suggested theme"):
        discard(engine, "ffffffffff")


def test_themed_reviews_are_not_suggested(engine, tmp_path):
    ids = make_items(engine, tmp_path, 4)
    ana = session(engine, "ana", rubric=[])
    for item in ids:
        ana.set_note(item, "Invented a refund policy")
        ana.set_verdict(item, "fail")
    assert groups(suggest_themes(engine), ids) == [[0, 1, 2, 3]]
    for item in ids[:3]:
        ana.set_themes(item, ["invented-policy"])
    assert suggest_themes(engine) == []  # one left: no group of two
    ana.undo()  # item 3's theme is gone again
    assert groups(suggest_themes(engine), ids) == [[2, 3]]


def test_too_few_texts(engine):
    assert suggest_themes(engine) == []
    with pytest.raises(SuggestError, match="at least 1"):
        suggest_themes(engine, k=0)


def test_themes_commands(engine, tmp_path):
    from typer.testing import CliRunner

    from reviewer.cli import app

    ids = build(engine, tmp_path)
    ws = ["--workspace", str(tmp_path / "ws"), "--reviewer", "cy"]
    runner = CliRunner()
    listed = runner.invoke(app, [*ws, "themes", "suggest", "--json"])
    assert listed.exit_code == 0, listed.output
    doc = orjson.loads(listed.stdout)
    assert [(s["name"], s["size"]) for s in doc] == [
        ("refund-policy-invented", 5),
        ("wrong-language-english", 5),
        ("refused-harmless-request", 5),
    ]
    assert doc[0]["members"][0] == {
        "event": doc[0]["members"][0]["event"],
        "item": ids[0],
        "queue": "q",
        "record": "chatcmpl-q0",
        "reviewer": "ana",
    }
    plain = runner.invoke(app, [*ws, "themes", "suggest"])
    assert plain.exit_code == 0, plain.output
    assert plain.stdout.splitlines()[0] == f"{doc[0]['id']}  refund-policy-invented  (5 reviews)"
    ok = runner.invoke(app, [*ws, "themes", "accept", doc[1]["id"], "--name", "Wrong Language"])
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.strip() == "theme wrong-language: 5 reviews tagged"
    gone = runner.invoke(app, [*ws, "themes", "discard", doc[2]["id"]])
    assert gone.stdout.strip() == f"discarded {doc[2]['id']} refused-harmless-request"
    again = runner.invoke(app, [*ws, "themes", "accept", doc[1]["id"]])
    assert again.exit_code == 2 and "accepted already, as wrong-language" in again.output
    unknown = runner.invoke(app, [*ws, "themes", "discard", "zzzz"])
    assert unknown.exit_code == 2 and "no suggested theme 'zzzz'" in unknown.output
    left = orjson.loads(runner.invoke(app, [*ws, "themes", "suggest", "--json"]).stdout)
    assert [s["id"] for s in left] == [doc[0]["id"]]
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT created_by FROM themes WHERE name = 'wrong-language'")
            ).scalar_one()
            == "cy"
        )


def test_postgres(pg_engine, tmp_path):
    ids = build(pg_engine, tmp_path)
    found = suggest_themes(pg_engine)
    assert groups(found, ids) == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11, 12, 13, 14]]
    assert [s.id for s in suggest_themes(pg_engine)] == [s.id for s in found]
    assert accept(pg_engine, found[0].id, by="ben").tagged == 5
    assert theme_counts(pg_engine)["refund-policy-invented"] == 5
    discard(pg_engine, found[1].id)
    assert groups(suggest_themes(pg_engine), ids) == [[10, 11, 12, 13, 14]]
