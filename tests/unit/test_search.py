"""Full-text search: every word must appear, a term can be scoped to a field (`system:`,
`user:`, `assistant:`/`other:`, `output:`) or filter the model (`model:`), and each hit says
which queues hold it. The same queries give the same hits on SQLite (FTS5) and PostgreSQL."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import insert

from reviewer.search import Query, Term, ensure_search_index, fts_query, parse_query, search
from reviewer.store.events import QUEUE_ITEMS
from tests.conftest import run_import

SYSTEM = "You sell gift cards. Never promise refunds."


def line(i: int, question: str, answer: str, model: str = "gpt-4o-mini") -> bytes:
    return orjson.dumps(
        {
            "timestamp": f"2026-11-{1 + i:02d}T10:00:00Z",
            "request": {
                "model": model,
                "messages": [
                    {"role": "system", "content": SYSTEM},
                    {"role": "user", "content": question},
                ],
            },
            "response": {
                "id": f"chatcmpl-s{i}",
                "object": "chat.completion",
                "created": 1732000000 + i,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": answer},
                        "finish_reason": "stop",
                    }
                ],
            },
        }
    )


def records(engine, tmp_path):
    path = tmp_path / "calls.jsonl"
    path.write_bytes(
        b"\n".join(
            [
                line(0, "Can I get a refund for my gift card?", "Yes, a full refund."),
                line(1, "Where is my order?", "Your gift card ships today.", "gpt-4o"),
                line(2, "Do you sell vouchers?", "We sell gift cards.", "claude-3-5-haiku"),
            ]
        )
        + b"\n"
    )
    assert run_import(engine, path).total("rejected") == 0
    with engine.begin() as conn:
        conn.execute(
            insert(QUEUE_ITEMS),
            [
                {"queue": "refunds", "record_id": "chatcmpl-s0", "position": 0.0, "added_at": "x"},
                {"queue": "all", "record_id": "chatcmpl-s0", "position": 0.0, "added_at": "x"},
            ],
        )
    ensure_search_index(engine)


def ids(hits):
    return [h.record_id for h in hits]


def test_parse_query_scopes_terms_to_fields():
    assert parse_query('refund output:"gift card" model:mini Assistant:ships note:x') == Query(
        terms=(
            Term("refund"),
            Term("gift card", "output"),
            Term("ships", "other"),
            Term("note x"),  # not a field: searched as words
        ),
        models=("mini",),
    )
    assert fts_query('user:refund "gift card"') == 'user : "refund"* "gift card"*'
    assert fts_query('AND OR NOT "(*') == '"AND"* "OR"* "NOT"*'  # operators are words


@pytest.fixture(params=["sqlite", "postgres"])
def any_engine(request):
    if request.param == "sqlite":
        return request.getfixturevalue("engine")
    return request.getfixturevalue("pg_engine")


def test_a_word_of_every_system_prompt_is_told_apart_by_its_field(any_engine, tmp_path):
    records(any_engine, tmp_path)
    assert ids(search(any_engine, "gift")) == ["chatcmpl-s2", "chatcmpl-s1", "chatcmpl-s0"]
    assert ids(search(any_engine, "output:gift")) == ["chatcmpl-s2", "chatcmpl-s1"]
    assert ids(search(any_engine, "user:gift")) == ["chatcmpl-s0"]
    assert ids(search(any_engine, "system:refunds")) == ids(search(any_engine, "gift"))
    assert ids(search(any_engine, "user:refund output:refund")) == ["chatcmpl-s0"]
    assert ids(search(any_engine, "output:vouchers")) == []
    assert ids(search(any_engine, "model:gpt-4o")) == ["chatcmpl-s1", "chatcmpl-s0"]
    assert ids(search(any_engine, "gift model:CLAUDE")) == ["chatcmpl-s2"]
    assert search(any_engine, "   ") == []


def test_a_hit_says_which_queues_hold_it(any_engine, tmp_path):
    records(any_engine, tmp_path)
    hits = {h.record_id: h for h in search(any_engine, "gift")}
    assert hits["chatcmpl-s0"].queues == ("all", "refunds")
    assert hits["chatcmpl-s1"].queues == ()
    assert "refund" in hits["chatcmpl-s0"].snippet.lower()


def test_an_index_of_the_older_layout_is_built_again(engine, tmp_path):
    from sqlalchemy import text

    with engine.begin() as conn:  # what an older reviewer left: one `body` column
        conn.execute(text("CREATE VIRTUAL TABLE records_fts USING fts5(body, content='')"))
        conn.execute(text("INSERT INTO meta (key, value) VALUES ('fts_rowid', '999')"))
    records(engine, tmp_path)
    assert ids(search(engine, "output:gift")) == ["chatcmpl-s2", "chatcmpl-s1"]


def test_blinded_pairs_are_never_hits(any_engine, tmp_path):
    """A pairwise queue's records copy a case's input and two runs' answers under an id that
    names the runs: search leaves them out, the logged calls it holds are still found."""
    from reviewer.evals.pairwise import make_pairwise_queue
    from tests.pairwise_runs import make_runs

    records(any_engine, tmp_path)
    run_a, run_b = make_runs(any_engine, tmp_path, 3)
    (tmp_path / "ws" / "queues").mkdir(parents=True)
    made = make_pairwise_queue(any_engine, tmp_path / "ws", run_a, run_b, "ab")
    assert made.new_pairs == 3
    ensure_search_index(any_engine)  # what `/` does before it searches
    assert search(any_engine, "question") == []
    assert search(any_engine, "answer") == []
    assert ids(search(any_engine, "gift")) == ["chatcmpl-s2", "chatcmpl-s1", "chatcmpl-s0"]
