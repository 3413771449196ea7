"""Queue filters and the `where:` language: which records each condition selects, on a small set
of records made for it; and the exact errors of bad expressions. The same cases run on
PostgreSQL in tests/integration/test_postgres_queues.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, insert, inspect, select

from reviewer.review.filters import filter_clause
from reviewer.review.queues import QueueFileError, QueueFilter, parse_queue
from reviewer.review.where import WhereError, parse_when, parse_where, records_table

NOW = datetime(2026, 11, 21, 0, 0, tzinfo=UTC)
INJECTION = "x'; DROP TABLE records; --"


def _msg(text: str) -> str:
    return orjson.dumps([{"role": "user", "content": text}]).decode()


def _out(text: str) -> str:
    return orjson.dumps({"role": "assistant", "content": text}).decode()


def _row(rid: str, **kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": rid, "source_path": "t.jsonl", "source_line": 1, "source_format": "openai-chat",
        "timestamp": None, "provider": None, "model": None, "messages": _msg("hello"),
        "output": _out("hi"), "input_tokens": None, "output_tokens": None, "latency_ms": None,
        "cost_usd": None, "user_id": None, "feedback_score": None, "error": None, "metadata": None,
    }  # fmt: skip
    for key, value in kw.items():
        row[key] = orjson.dumps(value).decode() if key == "metadata" else value
    return row


ROWS = [
    _row("r1", model="gpt-4o-mini", provider="openai", timestamp="2026-11-20T10:00:00.000000Z",
         latency_ms=1200.0, input_tokens=100, output_tokens=50, feedback_score=0.0,
         messages=_msg("Where is my REFUND?"), output=_out("Your refund of 50% is on its way"),
         metadata={"endpoint": "support-chat", "locale": "de-DE", "app": {"version": "2.1"},
                   "retries": 2, "beta": True}),
    _row("r2", model="gpt-4o", provider="openai", timestamp="2026-11-19T09:00:00.000000Z",
         latency_ms=9500.0, input_tokens=80, output_tokens=600, feedback_score=1.0,
         output=_out("I'm sorry, but I can't help with that."),
         metadata={"endpoint": "support-chat", "locale": "en-GB", "retries": 0, "beta": False}),
    _row("r3", model="claude-sonnet-4-5", provider="anthropic", source_format="anthropic",
         timestamp="2026-11-10T08:00:00.000000Z", latency_ms=3000.0, error="OverloadedError",
         output=None, metadata={"endpoint": "support-chat", "retries": "2"}),
    _row("r4", model="gpt-4o-mini", provider="openai", source_format="otlp",
         timestamp="2026-10-25T12:00:00.000000Z", latency_ms=8000.0, input_tokens=300,
         output_tokens=20, output=_out('{"order_id": "A-1"}'),
         metadata={"service.name": "extract-order", "server.port": 443}),
    _row("r5", model="gpt-4o-mini", provider="openai", source_format="otlp",
         timestamp="2026-11-01T12:00:00.000000Z", latency_ms=200.0, output=_out("100_percent"),
         metadata={"service": {"name": "extract-order"}}),
    _row("r6", feedback_score=0.4, user_id=INJECTION),
    # a generated test input: in no queue but one whose format names it
    _row("r7", source_format="generated", output=None, timestamp="2026-11-20T11:00:00.000000Z",
         metadata={"endpoint": "support-chat", "dataset": "regressions"}),
]  # fmt: skip
ALL = {"r1", "r2", "r3", "r4", "r5", "r6"}

#: (filter as written in a queue file, the ids it selects)
FILTER_CASES: list[tuple[dict[str, Any], set[str]]] = [
    ({}, ALL),
    ({"feedback": "negative"}, {"r1", "r6"}),
    ({"feedback": "positive"}, {"r2"}),
    ({"feedback": "none"}, {"r3", "r4", "r5"}),
    ({"feedback": "any"}, ALL),
    ({"provider": "openai"}, {"r1", "r2", "r4", "r5"}),
    ({"model": ["gpt-4o", "claude-sonnet-4-5"]}, {"r2", "r3"}),
    ({"format": "otlp"}, {"r4", "r5"}),
    ({"format": "generated", "metadata": {"dataset": "regressions"}}, {"r7"}),
    ({"format": ["otlp", "generated"]}, {"r4", "r5", "r7"}),
    ({"since": "2026-11-10"}, {"r1", "r2", "r3"}),
    ({"until": "2026-11-10"}, {"r3", "r4", "r5"}),  # a date: to the end of that day
    ({"until": "2026-11-10T00:00:00Z"}, {"r4", "r5"}),
    ({"since": "2026-11-01", "until": "2026-11-19T09:00:00Z"}, {"r3", "r5"}),
    ({"since": "7d"}, {"r1", "r2"}),
    ({"since": "30d", "until": "2w"}, {"r4", "r5"}),
    ({"has_error": True}, {"r3"}),
    ({"has_error": False}, ALL - {"r3"}),
    ({"min_latency_ms": 8000}, {"r2", "r4"}),
    ({"max_latency_ms": 1200}, {"r1", "r5"}),
    ({"min_input_tokens": 90, "max_input_tokens": 300}, {"r1", "r4"}),
    ({"min_output_tokens": 100}, {"r2"}),
    ({"max_output_tokens": 50}, {"r1", "r4"}),
    ({"metadata": {"endpoint": "support-chat"}}, {"r1", "r2", "r3"}),
    ({"metadata": {"service.name": "extract-order"}}, {"r4", "r5"}),  # flat key, or nested
    ({"metadata": {"retries": 2}}, {"r1"}),  # the number, not the text "2"
    ({"metadata": {"retries": "2"}}, {"r3"}),
    ({"metadata": {"beta": False}}, {"r2"}),
    ({"metadata": {"locale": ["de-DE", "en-GB"]}}, {"r1", "r2"}),
    ({"metadata": {"locale": None}}, {"r3", "r4", "r5", "r6"}),
    ({"metadata": {"app.version": "2.1"}}, {"r1"}),
    ({"metadata": {"endpoint": "support-chat", "locale": "en-GB"}}, {"r2"}),
    ({"contains": "refund"}, {"r1"}),
    ({"contains": "50%"}, {"r1"}),
    ({"contains": "%"}, {"r1"}),  # % is a character, not a wildcard
    ({"contains": "_"}, {"r4", "r5"}),  # so is _
    ({"contains": "SORRY"}, {"r2"}),
    ({"feedback": "negative", "provider": "openai"}, {"r1"}),
    ({"provider": "openai", "where": "latency_ms > 1000", "has_error": False}, {"r1", "r2", "r4"}),
]

#: (where expression, the ids it selects)
WHERE_CASES: list[tuple[str, set[str]]] = [
    ("latency_ms > 5000 and metadata.endpoint = 'support-chat'", {"r2"}),
    ("5000 < latency_ms", {"r2", "r4"}),
    ("latency_ms >= 8000", {"r2", "r4"}),
    ("latency_ms <= 1200", {"r1", "r5"}),
    ("latency_ms = 3000", {"r3"}),
    ("latency_ms == 3000.0", {"r3"}),
    ("model = 'gpt-4o' or provider = 'anthropic'", {"r2", "r3"}),
    ("model = \"gpt-4o\" OR provider = 'anthropic'", {"r2", "r3"}),
    ("model in ('gpt-4o', 'claude-sonnet-4-5')", {"r2", "r3"}),
    ("model not in ('gpt-4o-mini')", {"r2", "r3", "r6"}),
    ("model != 'gpt-4o-mini'", {"r2", "r3", "r6"}),
    ("model <> 'gpt-4o-mini'", {"r2", "r3", "r6"}),
    ("not (model = 'gpt-4o-mini')", {"r2", "r3", "r6"}),
    ("not model = 'gpt-4o-mini' and not provider = 'anthropic'", {"r2", "r6"}),
    ("not not model = 'gpt-4o'", {"r2"}),
    ("feedback_score is null", {"r3", "r4", "r5"}),
    ("feedback_score is not null and feedback_score < 0.5", {"r1", "r6"}),
    ("feedback_score < 0.5 or latency_ms >= 9000", {"r1", "r2", "r6"}),
    ("(feedback_score < 0.5 or latency_ms >= 9000) and provider = 'openai'", {"r1", "r2"}),
    ("feedback_score < 0.5 or latency_ms >= 9000 and provider = 'anthropic'", {"r1", "r6"}),
    ("error is not null", {"r3"}),
    ("error contains 'overloaded'", {"r3"}),
    ("cost_usd is null", ALL),
    ("source_format = 'otlp'", {"r4", "r5"}),
    ("output_tokens < input_tokens", {"r1", "r4"}),
    ("output_tokens > input_tokens", {"r2"}),
    ("metadata.retries >= 1", {"r1"}),  # r3 holds the text "2": not a number
    ("metadata.retries = '2'", {"r3"}),
    ("metadata.retries in (0, 2)", {"r1", "r2"}),
    ("metadata.beta = true", {"r1"}),
    ("metadata.beta != true", ALL - {"r1"}),
    ("metadata.beta = false", {"r2"}),
    ("metadata.service.name = 'extract-order'", {"r4", "r5"}),
    ("metadata.\"service.name\" = 'extract-order'", {"r4"}),
    ("metadata.service.\"name\" = 'extract-order'", {"r5"}),
    ("metadata.server.port > 400", {"r4"}),
    ("metadata.app.version = '2.1'", {"r1"}),
    ("metadata.locale contains 'DE'", {"r1"}),
    ("metadata.locale not contains 'de'", ALL - {"r1"}),
    ("metadata.locale is null", {"r3", "r4", "r5", "r6"}),
    ("metadata.locale is not null", {"r1", "r2"}),
    ("metadata.locale > 'de'", {"r1", "r2"}),
    ("output contains 'SORRY'", {"r2"}),
    ("output is null", {"r3"}),
    ("input contains 'refund'", {"r1"}),
    ("input contains 'refund' or output contains '100_'", {"r1", "r5"}),
    ("output contains '_'", {"r4", "r5"}),
    ("timestamp >= '2026-11-19' and timestamp < '2026-11-20'", {"r2"}),
    ("timestamp > '7d'", {"r1", "r2"}),
    ("timestamp < '2026-11-01T12:00:00Z'", {"r4"}),
    ("timestamp is null", {"r6"}),
    (f"user_id = '{INJECTION.replace(chr(39), chr(92) + chr(39))}'", {"r6"}),
    ('user_id = "x\'; DROP TABLE records; --"', {"r6"}),
    ("model = '1 OR 1=1'", set()),
    ("model = 'gpt-4o'' OR ''1''=''1'", set()),
]


def add_rows(engine: Engine, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        conn.execute(insert(records_table()), rows)


def selected(engine: Engine, f: QueueFilter) -> set[str]:
    t = records_table()
    with engine.connect() as conn:
        return set(conn.execute(select(t.c.id).where(filter_clause(f, NOW))).scalars())


@pytest.fixture
def db(engine: Engine) -> Engine:
    add_rows(engine, ROWS)
    return engine


def check_filter_cases(engine: Engine) -> None:
    for spec, expected in FILTER_CASES:
        f = parse_queue({"name": "q", "filter": spec}, "q.yaml").filter
        assert selected(engine, f) == expected, spec


def check_where_cases(engine: Engine) -> None:
    for text, expected in WHERE_CASES:
        if "''" in text:  # doubled quotes are not an escape: two strings side by side
            with pytest.raises(WhereError):
                parse_where(text)
            continue
        f = parse_queue({"name": "q", "filter": {"where": text}}, "q.yaml").filter
        assert selected(engine, f) == expected, text
    assert "records" in inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert len(conn.execute(select(records_table().c.id)).all()) == len(ROWS)


def test_filter_conditions_select_the_right_records(db):
    check_filter_cases(db)


def test_where_expressions_select_the_right_records(db):
    check_where_cases(db)


def test_injection_text_stays_a_bound_literal(db):
    f = parse_queue(
        {"name": "q", "filter": {"where": 'user_id = "x\'; DROP TABLE records; --"'}}, "q"
    )
    clause = filter_clause(f.filter, NOW)
    compiled = select(records_table().c.id).where(clause).compile(db)
    assert "DROP" not in str(compiled)
    assert INJECTION in compiled.params.values()
    contains = parse_queue({"name": "q", "filter": {"contains": "'; DELETE FROM records; --"}}, "q")
    assert selected(db, contains.filter) == set()
    assert len(selected(db, QueueFilter())) == len(ALL)  # the records are all there


def test_durations_and_dates():
    assert parse_when("7d").resolve(NOW) == "2026-11-14T00:00:00.000000Z"
    assert parse_when("12h").resolve(NOW) == "2026-11-20T12:00:00.000000Z"
    assert parse_when("30m").resolve(NOW) == "2026-11-20T23:30:00.000000Z"
    assert parse_when("1w2d").resolve(NOW) == "2026-11-12T00:00:00.000000Z"
    assert parse_when("2026-11-01").resolve(NOW) == "2026-11-01T00:00:00.000000Z"
    assert parse_when("2026-11-01").resolve(NOW, end_of_day=True) == "2026-11-02T00:00:00.000000Z"
    assert parse_when("2026-11-01T10:00:00+01:00").resolve(NOW) == "2026-11-01T09:00:00.000000Z"
    for bad in ("yesterday", "7", "7x", "", "2026-02-30"):
        with pytest.raises(ValueError, match="expected an ISO date"):
            parse_when(bad)


def _where_error(text: str) -> str:
    with pytest.raises(QueueFileError) as info:
        parse_queue({"name": "slow", "filter": {"where": text}}, "queues/slow.yaml")
    return str(info.value)


KNOWN = (
    "id, model, provider, source_format, source_path, user_id, session_id, trace_id, parent_id, "
    "kind, name, prompt_name, prompt_version, feedback_comment, error, latency_ms, input_tokens, "
    "output_tokens, cost_usd, feedback_score, timestamp, input, output, inputs, outputs, "
    "metadata.KEY"
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "latency_ms >",
            "at column 13: expected a value after '>', found the end of the expression",
        ),
        ("latency_ms > and model = 'x'", "at column 14: expected a value after '>', found 'and'"),
        (
            "latency_ms > 'slow'",
            "at column 14: latency_ms is a number: expected a number, found 'slow'",
        ),
        ("latency_ms > 5s", "at column 14: '5s' is not a number; quote text: '5s'"),
        ("colour = 'red'", f"at column 1: unknown field 'colour'; known fields: {KNOWN}"),
        ("metadata = 'x'", "at column 1: metadata needs a key: metadata.KEY"),
        (
            "model = gpt",
            "at column 9: unknown field 'gpt' after '='; to compare with text, quote it: 'gpt'",
        ),
        ("model = 4", "at column 9: model is text: quote the value, '4'"),
        ("model = null", "at column 9: use 'is null' or 'is not null' to test for a missing value"),
        (
            "model = 'a' model",
            "at column 13: expected 'and', 'or' or the end of the expression, found 'model'",
        ),
        (
            "model = 'a' and",
            "at column 16: expected a field name or a value, found the end of the expression",
        ),
        (
            "model 'a'",
            "at column 7: expected an operator (= != < <= > >= contains in is) after 'model', found \"'a'\"",
        ),
        ("model = 'a", "at column 9: unterminated string: no closing ' for the one here"),
        (
            "model = 'a' and (provider = 'b'",
            "at column 32: expected ')' to close the '(' at column 17, found the end of the expression",
        ),
        (
            "model = 'a')",
            "at column 12: expected 'and', 'or' or the end of the expression, found ')'",
        ),
        ("model = 'a' & provider = 'b'", "at column 13: unexpected character '&' (write 'and')"),
        ("model in 'a'", "at column 10: expected '(' after 'in', found \"'a'\""),
        ("model in ('a' 'b')", "at column 15: expected ',' or ')' in the list, found \"'b'\""),
        (
            "model in ('a', provider)",
            "at column 16: expected a value in the list, found a field name",
        ),
        ("model is 'x'", "at column 10: expected 'null' after 'is', found \"'x'\""),
        ("model is not 3", "at column 14: expected 'null' after 'is not', found '3'"),
        (
            "latency_ms contains 'x'",
            "at column 1: latency_ms is a number: 'contains' works on text",
        ),
        ("model contains 3", "at column 16: expected a quoted text after 'contains'"),
        ("'a' = 'b'", "at column 1: a comparison needs a field name on one side"),
        ("3 contains 'x'", "at column 1: expected a field name before 'contains', found '3'"),
        (
            "latency_ms > model",
            "at column 14: cannot compare latency_ms (number) with model (text)",
        ),
        (
            "metadata.a = model",
            "at column 14: metadata.a can only be compared with a value, not with model",
        ),
        ("metadata.flag > true", "at column 17: true/false can only be compared with = or !="),
        ("model = true", "at column 9: model is text: true/false do not apply"),
        (
            "timestamp > 'last week'",
            "at column 13: expected an ISO date or date/time (2026-11-01, 2026-11-01T09:00:00Z) or a duration back from now (7d, 12h, 30m), not 'last week'",
        ),
        (
            "timestamp > 5",
            "at column 13: timestamp is a time: expected an ISO date or date/time (2026-11-01, 2026-11-01T09:00:00Z) or a duration back from now (7d, 12h, 30m)",
        ),
        ("input = 'x'", "at column 1: input holds the messages: use 'contains' or 'is null'"),
        ('metadata."a', 'at column 10: unterminated string: no closing " for the one here'),
        ("metadata.a. = 1", "at column 12: expected a key after '.'"),
        ("", "at column 1: the expression is empty"),
        ("()", "at column 2: expected a field name or a value, found ')'"),
    ],
)
def test_where_errors_name_file_key_column_and_what_was_expected(text, message):
    assert _where_error(text) == f"queues/slow.yaml: filter.where: {message}"


def test_where_error_carries_the_column():
    with pytest.raises(WhereError) as info:
        parse_where("latency_ms > 5000 and model =")
    assert (info.value.column, info.value.reason) == (
        30,
        "expected a value after '=', found the end of the expression",
    )
