"""Queue files: each kind of mistake gives one exact message naming the file and the key; the
shipped queues load cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewer.review.queues import QueueFileError, load_queue_file, load_queues, parse_queue
from tests.conftest import REPO

TIME_HELP = (
    "expected an ISO date or date/time (2026-11-01, 2026-11-01T09:00:00Z) "
    "or a duration back from now (7d, 12h, 30m)"
)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "x", "colour": "red"}, "colour: unknown key"),
        ({"name": "x", "filter": {"colour": "red"}}, "filter.colour: unknown key"),
        ({"name": "x y"}, "name: String should match pattern '^[A-Za-z0-9][A-Za-z0-9_.-]*$'"),
        (
            {"name": "x", "filter": {"since": "yesterday"}},
            f"filter.since: {TIME_HELP}, not 'yesterday'",
        ),
        ({"name": "x", "filter": {"since": "7x"}}, f"filter.since: {TIME_HELP}, not '7x'"),
        (
            {"name": "x", "filter": {"since": 20261101}},
            f"filter.since: {TIME_HELP}, not '20261101'",
        ),
        (
            {"name": "x", "filter": {"until": "2026-13-01"}},
            f"filter.until: {TIME_HELP}, not '2026-13-01'",
        ),
        (
            {"name": "x", "filter": {"since": "2026-11-20", "until": "2026-11-01"}},
            "filter: since (2026-11-20) is not before until (2026-11-01)",
        ),
        (
            {"name": "x", "filter": {"feedback": "bad"}},
            "filter.feedback: Input should be 'negative', 'positive', 'none' or 'any'",
        ),
        (
            {"name": "x", "filter": {"has_error": "maybe"}},
            "filter.has_error: Input should be a valid boolean, unable to interpret input",
        ),
        (
            {"name": "x", "filter": {"min_latency_ms": "slow"}},
            "filter.min_latency_ms: Input should be a valid number, unable to parse string as a number",
        ),
        (
            {"name": "x", "filter": {"contains": "  "}},
            "filter.contains: give the text to look for (or leave contains out)",
        ),
        (
            {"name": "x", "filter": {"metadata": {"a": {"b": 1}}}},
            "filter.metadata: a: expected a text, number, true/false or null (or a list of them), not {'b': 1}",
        ),
        (
            {"name": "x", "filter": {"metadata": {"a": []}}},
            "filter.metadata: a: the list of values is empty",
        ),
        (
            {"name": "x", "filter": {"metadata": {'say"hi': 1}}},
            "filter.metadata: say\"hi: a metadata key cannot contain a double quote: 'say\"hi'",
        ),
        (
            {"name": "x", "filter": {"where": "latency_ms >"}},
            "filter.where: at column 13: expected a value after '>', found the end of the expression",
        ),
        ({"name": "x", "sample": {"size": 5, "rate": 0.1}}, "sample: give either size or rate"),
        ({"name": "x", "sample": {"seed": 5}}, "sample: give either size or rate"),
        (
            {"name": "x", "sample": {"rate": 1.5}},
            "sample.rate: Input should be less than or equal to 1",
        ),
        ({"name": "x", "sample": {"size": 0}}, "sample.size: Input should be greater than 0"),
        (
            {"name": "x", "sample": {"size": 5, "stratify": "colour"}},
            "sample.stratify: cannot stratify by 'colour'; use one of model, provider, source_format, "
            "user_id, session_id, prompt_name, prompt_version or metadata.KEY",
        ),
        (
            {"name": "x", "order": "fastest"},
            "order: Input should be 'newest', 'oldest', 'random' or 'slowest'",
        ),
        (
            {"name": "x", "reviews_per_item": 0},
            "reviews_per_item: Input should be greater than or equal to 1",
        ),
        (
            {"name": "x", "rubric": [{"name": "h", "type": "scale", "min": 1, "max": 1}]},
            "rubric[0]: max (1) must be greater than min (1)",
        ),
    ],
)
def test_each_mistake_names_file_and_key(data, message):
    with pytest.raises(QueueFileError) as info:
        parse_queue(data, "queues/x.yaml")
    assert str(info.value) == f"queues/x.yaml: {message}"


def test_several_mistakes_are_all_reported():
    with pytest.raises(QueueFileError) as info:
        parse_queue({"name": "x", "order": "up", "filter": {"since": "soon"}}, "q.yaml")
    assert str(info.value).splitlines() == [
        f"q.yaml: filter.since: {TIME_HELP}, not 'soon'",
        "q.yaml: order: Input should be 'newest', 'oldest', 'random' or 'slowest'",
    ]


def test_valid_values_are_kept():
    q = parse_queue(
        {"name": "x", "filter": {"since": "7d", "until": "2026-11-20", "where": "model = 'a'",
                                 "metadata": {"service.name": "extract-order", "n": [1, 2]}},
         "sample": {"size": 5, "stratify": "metadata.locale"}},
        "q.yaml",
    )  # fmt: skip
    assert (q.filter.since, q.filter.until, q.filter.where) == ("7d", "2026-11-20", "model = 'a'")
    assert q.sample is not None and q.sample.stratify == "metadata.locale"


def test_load_queues_keeps_the_good_files_and_reports_the_bad(tmp_path: Path):
    folder = tmp_path / "queues"
    folder.mkdir()
    (folder / "good.yaml").write_text("name: good\nfilter: {feedback: negative}\n")
    (folder / "slow.yaml").write_text("name: slow\nfilter:\n  where: latency_ms > \n")
    (folder / "broken.yaml").write_text("name: [unclosed\n")
    (folder / "list.yml").write_text("- a\n- b\n")
    (folder / "again.yaml").write_text("name: good\n")
    queues, errors = load_queues(tmp_path)
    assert [(q.name, Path(q.path or "").name) for q in queues] == [("good", "again.yaml")]
    assert errors == [
        f"{folder / 'broken.yaml'}: line 2: not valid YAML: expected ',' or ']', but got '<stream end>'",
        f"{folder / 'good.yaml'}: name: queue 'good' is already defined in {folder / 'again.yaml'}",
        f"{folder / 'list.yml'}: a queue file must be a YAML mapping of keys, not list",
        f"{folder / 'slow.yaml'}: filter.where: at column 13: expected a value after '>', found the end of the expression",
    ]


SHIPPED = REPO / "queues"


def test_shipped_queues_load_cleanly():
    queues, errors = load_queues(REPO)
    assert errors == []
    by_name = {q.name: q for q in queues}
    assert set(by_name) == {
        "thumbs-down", "daily-sample", "slow-calls", "extract-order-json", "agent-traces",
    }  # fmt: skip
    agent = by_name["agent-traces"]
    assert (agent.unit, agent.order, agent.filter.metadata) == (
        "trace",
        "newest",
        {"service.name": "support-agent"},
    )
    for q in queues:
        assert q.dataset, q.name
        assert q.description, q.name
        assert Path(q.path or "").name == f"{q.name}.yaml"
    thumbs = by_name["thumbs-down"]
    assert thumbs.filter.feedback == "negative" and thumbs.order == "newest"
    helpful = thumbs.score("helpful")
    assert helpful is not None and helpful.required and (helpful.min, helpful.max) == (1, 5)
    assert set(thumbs.themes) >= {"invented-policy", "wrong-language", "ignored-constraint",
                                  "refused-harmless", "rambling", "broken-json", "other"}  # fmt: skip
    sample = by_name["daily-sample"].sample
    assert (
        sample is not None
        and sample.stratify == "model"
        and by_name["daily-sample"].order == "random"
    )
    assert by_name["slow-calls"].order == "slowest"
    valid = by_name["extract-order-json"].score("valid-json")
    assert valid is not None and valid.type == "pass_fail"
    assert load_queue_file(SHIPPED / "thumbs-down.yaml") == thumbs


def test_guidelines_beside_the_queue_file(tmp_path: Path):
    folder = tmp_path / "queues"
    folder.mkdir()
    (folder / "refunds-file.yaml").write_text("name: refunds\n")
    (folder / "plain.yaml").write_text("name: plain\n")
    queues = {q.name: q for q in load_queues(tmp_path)[0]}
    assert queues["refunds"].guidelines() is None and queues["refunds"].guidelines_path is None
    (folder / "refunds.md").write_text("# Refunds\nFail invented policies.\n")
    assert queues["refunds"].guidelines() == "# Refunds\nFail invented policies.\n"
    (folder / "refunds-file.md").write_bytes(b"\xef\xbb\xbfnamed like the file wins\xff")
    assert queues["refunds"].guidelines() == "named like the file wins\ufffd"
    big = folder / "plain.md"
    big.write_text("x" * (300 * 1024))
    text = queues["plain"].guidelines()
    assert text is not None and text.endswith("(cut: the file is longer than 256 KiB)")


def test_a_shipped_queue_has_guidelines():
    queues = {q.name: q for q in load_queues(REPO)[0]}
    assert (queues["thumbs-down"].guidelines() or "").startswith("# Reviewing thumbs-down")
