"""Generated test cases without a network: the plan of requests, the de-duplication rule and its
counts, the messages of a new case, the options; then keep and drop in the triage queue (a
provider of the test's own writes the cases), where nothing enters the dataset without a key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, text

from reviewer.datasets.promote import PromotingSession
from reviewer.datasets.store import bulk_promote, dataset_items, import_items
from reviewer.evals.generate import (
    KINDS,
    GeneratedCase,
    GenerateError,
    Parent,
    case_messages,
    deduplicate,
    find_duplicate,
    generate_cases_sync,
    normalized,
    parents_from_item,
    parents_from_theme,
    parse_kinds,
    plan,
    queue_name,
    similarity,
)
from reviewer.evals.providers import Completion, Provider
from reviewer.messages import make
from reviewer.review.queues import load_queue_file
from reviewer.store.events import ReviewError

CASES = [
    {
        "id": "c1",
        "messages": [
            {"role": "system", "content": "You are Clara, support for Cobbler & Co."},
            {"role": "user", "content": "Can I return shoes after 60 days?"},
            {"role": "assistant", "content": "Let me check."},
        ],
        "expected": "Returns are accepted within 30 days of delivery.",
        "themes": ["invented-policy"],
    },
    {
        "id": "c2",
        "messages": [{"role": "user", "content": "Do you price match?"}],
        "expected": "We do not price match.",
        "themes": ["invented-policy"],
    },
    {"id": "c3", "messages": [{"role": "user", "content": "Wo ist meine Bestellung A-10423?"}]},
]


def parent(ref: str = "c1", question: str = "Can I return shoes after 60 days?") -> Parent:
    return Parent(ref, [{"role": "user", "content": question}])


# -- the plan ------------------------------------------------------------------------------------


def test_n_is_spread_over_the_parents_and_the_kinds_taken_in_turn():
    parents = [parent("a"), parent("b"), parent("c")]
    assert plan(parents, 10, list(KINDS)) == [
        [{"paraphrase": 1, "language": 1, "edge": 1, "adversarial": 1}],  # cases 1-4
        [{"paraphrase": 1, "language": 1, "edge": 1}],  # cases 5-7: p l e
        [{"paraphrase": 1, "language": 1, "adversarial": 1}],  # cases 8-10: a p l
    ]
    assert plan(parents, 2, ["edge"]) == [[{"edge": 1}], [{"edge": 1}], []]


def test_a_parent_asked_for_more_than_a_batch_takes_several_requests():
    (requests,) = plan([parent()], 23, ["paraphrase", "edge"])
    assert [sum(r.values()) for r in requests] == [10, 10, 3]
    assert requests[2] == {"paraphrase": 2, "edge": 1}


# -- de-duplication --------------------------------------------------------------------------------


def test_normalised_text_and_word_overlap():
    assert (
        normalized("  Can I RETURN shoes,   after 60 days?!") == "can i return shoes after 60 days"
    )
    assert normalized("Straße ＡＢＣ") == "strasse abc"  # casefold and NFKC
    assert normalized("?!") == "?!"  # no words: the folded text itself
    a = frozenset(["can", "i", "return", "my", "shoes"])
    b = frozenset(["can", "i", "return", "these", "shoes"])
    assert similarity(a, b) == pytest.approx(4 / 6)
    assert similarity(frozenset(), frozenset()) == 0.0


def test_duplicates_of_the_dataset_and_of_each_other_are_dropped_with_exact_counts():
    dataset = [
        ("c1", "Can I return shoes after 60 days?"),
        ("c2", "Do you price match?"),
    ]
    earlier = [("gen:old", "Is there a restocking fee for returns over 30 days?")]
    inputs = [
        "Could I send back sneakers I bought two months ago?",  # new
        "can i RETURN shoes after 60 days",  # the same as c1, once normalised
        "Do you price-match??",  # c2 again
        "Could I send back the sneakers I bought two months ago?",  # near the first: 9/10 words
        "Is there a restocking fee for returns over 30 days",  # the earlier generated case
        "¿Puedo devolver zapatos después de 60 días?",  # new
        "Is there a restocking fee for returns over thirty days?",  # near the earlier one
        "Could I send back sneakers I bought two months ago?",  # the first, exactly
    ]
    cases = [GeneratedCase(f"gen:{i}", "paraphrase", "c1", t, None) for i, t in enumerate(inputs)]
    cases.append(GeneratedCase("gen:old", "edge", "c1", "anything", None))  # the same case again
    deduplicate(cases, dataset, earlier)
    assert [(c.status, c.duplicate_of) for c in cases] == [
        ("new", None),
        ("duplicate", "c1"),
        ("duplicate", "c2"),
        ("duplicate", "gen:0"),
        ("duplicate", "gen:old"),
        ("new", None),
        ("duplicate", "gen:old"),
        ("duplicate", "gen:0"),
        ("already", None),
    ]
    assert [c.similarity for c in cases if c.status == "duplicate"] == [
        1.0,
        1.0,
        0.9,
        1.0,
        pytest.approx(0.818, abs=1e-3),
        1.0,
    ]


def test_the_near_duplicate_threshold_is_the_word_overlap():
    seen = [GeneratedCase("x", "edge", "p", "one two three four five", None)]
    from reviewer.evals.generate import Seen

    pool = [Seen.of(c.id, c.input) for c in seen]
    assert find_duplicate("one two three four five six", pool) is not None  # 5/6 = 0.83
    assert find_duplicate("one two three four six seven", pool) is None  # 4/7 = 0.57
    assert find_duplicate("one two three four five six", pool, threshold=0.9) is None


# -- the new case --------------------------------------------------------------------------------


def test_a_new_case_replaces_the_last_user_message_and_drops_what_followed():
    p = Parent(
        "c1",
        [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Where is A-1?"},
            {"role": "assistant", "content": "", "tool_calls": [{"id": "1", "name": "lookup"}]},
            {"role": "tool", "content": "{}", "tool_call_id": "1"},
        ],
    )
    assert case_messages(p, "Wo ist A-1?") == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Wo ist A-1?"},
    ]
    assert case_messages(Parent("v", [{"role": "system", "content": "S"}]), "Q") == [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "Q"},
    ]


def test_options_and_names():
    assert parse_kinds(" Edge, paraphrase,edge ") == ["edge", "paraphrase"]
    assert parse_kinds("") == list(KINDS)
    with pytest.raises(GenerateError, match="unknown kind 'rhyme': the kinds are paraphrase"):
        parse_kinds("edge, rhyme")
    assert queue_name("support regressions/v2") == "generated-support-regressions-v2"


# -- keep and drop ----------------------------------------------------------------------------------


class Writer(Provider):
    """Writes the cases a request asks for, as the fake server's `generated_cases` does: a
    provider of the test's own (no SDK, no network)."""

    name = "openai"
    uses_sdk = False

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def _call(
        self, messages: list[Any], model: str, params: dict[str, Any], timeout: float
    ) -> Completion:
        from tests.fake_llm import generated_cases

        self.calls += 1
        body = {"messages": messages, **params}
        return Completion(make("assistant", str(generated_cases(body))), 100, 50, 0.0)


def dataset_of_three(engine: Engine, tmp_path: Path) -> Path:
    workspace = tmp_path / "shop"
    (workspace / "queues").mkdir(parents=True)
    path = tmp_path / "cases.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(c) for c in CASES) + b"\n")
    assert import_items(engine, "support", path, by="ana").ok
    return workspace


def triage(engine: Engine, workspace: Path, n: int = 4) -> tuple[Any, Any]:
    writer = Writer()
    report = generate_cases_sync(
        engine, workspace, "support", parents_from_item(engine, "support", "c1"),
        n=n, provider=writer,
    )  # fmt: skip
    queue = load_queue_file(workspace / "queues" / "generated-support.yaml")
    return report, queue


def test_parents_are_named_items_or_the_items_of_a_theme(engine, tmp_path):
    dataset_of_three(engine, tmp_path)
    assert [p.ref for p in parents_from_item(engine, "support", "support/2")] == ["c2"]
    assert [p.ref for p in parents_from_theme(engine, "support", "Invented Policy")] == [
        "c1",
        "c2",
    ]
    with pytest.raises(GenerateError, match="no item 'c9' in dataset support"):
        parents_from_item(engine, "support", "c9")
    with pytest.raises(GenerateError, match="no item of dataset support carries theme rambling"):
        parents_from_theme(engine, "support", "rambling")
    with pytest.raises(GenerateError, match="no dataset named 'nope'"):
        parents_from_item(engine, "nope", "c1")


def test_nothing_generated_enters_the_dataset_without_a_keep(engine, tmp_path):
    workspace = dataset_of_three(engine, tmp_path)
    report, queue = triage(engine, workspace)
    assert (report.made, report.in_queue) == (4, 4)
    assert len(dataset_items(engine, "support")) == 3
    # a bulk promotion of the triage queue takes nothing before a human's key
    assert bulk_promote(engine, "support", queue).created == 0
    session = PromotingSession(engine, queue, "ana")
    first = session.next_item()
    session.drop(first)
    assert bulk_promote(engine, "support", queue).created == 0  # nor a dropped case
    assert len(dataset_items(engine, "support")) == 3


def test_keep_promotes_with_the_parent_and_kind_and_drop_keeps_it_out(engine, tmp_path):
    workspace = dataset_of_three(engine, tmp_path)
    _report, queue = triage(engine, workspace)
    session = PromotingSession(engine, queue, "ana")
    first = session.next_item()
    result = session.keep(first)
    assert result.created and result.dataset == "support"
    (kept,) = [i for i in dataset_items(engine, "support") if i["id"] not in ("c1", "c2", "c3")]
    assert kept["source"]["generated"] == {
        "parent": "c1",
        "kind": "paraphrase",
        "model": "openai:gpt-4o-mini",
    }
    assert kept["source"]["record_id"] == first.record_id
    assert kept["expected"] == first.record["output"]["content"]  # the suggested answer
    assert kept["expected"].startswith("paraphrase 1: Returns are accepted within 30 days")
    assert kept["messages"][0]["role"] == "system" and kept["messages"][-1]["content"].startswith(
        "paraphrase 1: Can I return shoes after 60 days?"
    )
    assert kept["themes"] == ["invented-policy"] and kept["output"] is None
    with engine.connect() as conn:
        actions = conn.execute(
            text("SELECT action, verdict, complete FROM review_events ORDER BY id")
        ).all()
    assert [tuple(a) for a in actions] == [("keep", "pass", 1)]
    assert kept["source"]["review_id"] is not None

    second = session.next_item()
    session.drop(second)
    assert len(dataset_items(engine, "support")) == 4  # the dropped one stays out
    with pytest.raises(ReviewError, match="kept in support: u undoes the keep"):
        session.drop(first)

    third = session.next_item()  # an expected answer written with e is the one kept
    session.set_correction(third, "We accept returns for 30 days.")
    session.keep(third)
    expected = {i["expected"] for i in dataset_items(engine, "support")}
    assert "We accept returns for 30 days." in expected

    session.undo()  # the keep of the third
    session.undo()  # its corrected answer
    session.undo()  # the drop of the second
    session.undo()  # the keep of the first
    assert [i["id"] for i in dataset_items(engine, "support")] == ["c1", "c2", "c3"]
    with engine.connect() as conn:
        pending = conn.execute(
            text("SELECT COUNT(*) FROM queue_items WHERE queue = :q AND status = 'pending'"),
            {"q": queue.name},
        ).scalar_one()
    assert pending == 4


def test_keep_refuses_a_logged_call(engine, tmp_path):
    from tests.unit.test_review_session import make_items, make_queue

    ids = make_items(engine, tmp_path, 1)
    session = PromotingSession(engine, make_queue(), "ana")
    with pytest.raises(ReviewError, match="not a generated case: d promotes it"):
        session.keep(ids[0])
    with pytest.raises(ReviewError, match="not a generated case: f fails it"):
        session.drop(ids[0])


def test_a_rerun_asks_nothing_and_adds_nothing(engine, tmp_path):
    workspace = dataset_of_three(engine, tmp_path)
    writer = Writer()
    parents = parents_from_theme(engine, "support", "invented-policy")
    first = generate_cases_sync(engine, workspace, "support", parents, n=6, provider=writer)
    again = generate_cases_sync(engine, workspace, "support", parents, n=6, provider=writer)
    assert writer.calls == 2  # one request per parent, the first time only
    assert (first.made, first.requests, first.cached) == (6, 2, 0)
    assert (again.made, again.already, again.requests, again.cached) == (0, 6, 0, 2)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM records")).scalar_one() == 6
