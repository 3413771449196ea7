"""The schema is versioned: an older database is upgraded in place and keeps its data; a newer
one is refused with a clear message."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from reviewer.store.db import SCHEMA_VERSION, DatabaseError, open_engine, sqlite_url
from tests.conftest import records, run_import
from tests.unit.test_bad_input import good_line

V2_TABLES = [
    "claims",
    "dataset_items",
    "datasets",
    "queue_items",
    "review_events",
    "themes",
    "eval_runs",
    "eval_results",
    "prompt_versions",
    "response_cache",
]


def test_version_one_database_is_upgraded_and_keeps_records(tmp_path):
    url = sqlite_url(tmp_path / "old.db")
    engine = open_engine(url)
    log = tmp_path / "log.jsonl"
    log.write_bytes(good_line(1) + good_line(2))
    run_import(engine, log)
    with engine.begin() as conn:  # make it the database release 1 wrote
        for table in V2_TABLES:
            conn.execute(text(f"DROP TABLE {table}"))
        conn.execute(text("UPDATE meta SET value = '1' WHERE key = 'schema_version'"))
    engine.dispose()

    engine = open_engine(url)
    with engine.connect() as conn:
        assert conn.execute(
            text("SELECT value FROM meta WHERE key = 'schema_version'")
        ).scalar_one() == str(SCHEMA_VERSION)
        assert set(V2_TABLES) <= set(inspect(conn).get_table_names())
    assert [r["id"] for r in records(engine)] == ["chatcmpl-1", "chatcmpl-2"]
    engine.dispose()


def test_version_two_database_gets_suggestions_and_keeps_its_reviews(tmp_path):
    url = sqlite_url(tmp_path / "v2.db")
    engine = open_engine(url)
    log = tmp_path / "log.jsonl"
    log.write_bytes(good_line(1))
    run_import(engine, log)
    with engine.begin() as conn:  # make it the database release 2 wrote
        conn.execute(text("DROP TABLE suggestions"))
        conn.execute(text("ALTER TABLE review_events DROP COLUMN suggestion_id"))
        conn.execute(text("ALTER TABLE review_events DROP COLUMN suggestion"))
        conn.execute(
            text(
                "INSERT INTO queue_items (queue, record_id, position, added_at, active, status,"
                " reviews_done) VALUES ('q', 'chatcmpl-1', 0, 'x', 1, 'done', 1)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO review_events (queue_item_id, queue, record_id, reviewer, action,"
                " verdict, skipped, complete, seconds, created_at)"
                " VALUES (1, 'q', 'chatcmpl-1', 'ana', 'verdict', 'fail', 0, 1, 3.0, 'x')"
            )
        )
        conn.execute(text("UPDATE meta SET value = '2' WHERE key = 'schema_version'"))
    engine.dispose()

    engine = open_engine(url)
    with engine.connect() as conn:
        assert "suggestions" in inspect(conn).get_table_names()
        columns = {c["name"] for c in inspect(conn).get_columns("review_events")}
        assert {"suggestion_id", "suggestion"} <= columns
        assert conn.execute(
            text("SELECT reviewer, verdict, suggestion FROM review_events")
        ).all() == [("ana", "fail", None)]
    engine.dispose()


def test_version_three_database_gets_fine_tuning_jobs_and_keeps_its_records(tmp_path):
    url = sqlite_url(tmp_path / "v3.db")
    engine = open_engine(url)
    log = tmp_path / "log.jsonl"
    log.write_bytes(good_line(1))
    run_import(engine, log)
    with engine.begin() as conn:  # make it the database release 3 wrote
        conn.execute(text("DROP TABLE finetune_jobs"))
        conn.execute(text("UPDATE meta SET value = '3' WHERE key = 'schema_version'"))
    engine.dispose()

    engine = open_engine(url)
    with engine.connect() as conn:
        assert "finetune_jobs" in inspect(conn).get_table_names()
        assert conn.execute(
            text("SELECT value FROM meta WHERE key = 'schema_version'")
        ).scalar_one() == str(SCHEMA_VERSION)
    assert [r["id"] for r in records(engine)] == ["chatcmpl-1"]
    engine.dispose()


def test_newer_database_is_refused(tmp_path):
    url = sqlite_url(tmp_path / "new.db")
    engine = open_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE meta SET value = '99' WHERE key = 'schema_version'"))
    engine.dispose()
    with pytest.raises(
        DatabaseError,
        match=rf"schema version 99, newer than this reviewer knows \({SCHEMA_VERSION}\)",
    ):
        open_engine(url)


def test_unreachable_database_is_a_clear_error():
    with pytest.raises(DatabaseError, match="cannot open database postgresql") as info:
        open_engine("postgresql://nobody:secret@127.0.0.1:1/none")
    assert "secret" not in str(info.value)


def test_version_three_database_gets_the_eval_columns_and_keeps_its_runs(tmp_path):
    url = sqlite_url(tmp_path / "v3.db")
    engine = open_engine(url)
    with engine.begin() as conn:  # make it the database release 3 wrote
        conn.execute(text("ALTER TABLE eval_runs DROP COLUMN split"))
        conn.execute(text("ALTER TABLE eval_runs DROP COLUMN strategy"))
        conn.execute(text("ALTER TABLE eval_results DROP COLUMN samples"))
        conn.execute(
            text(
                "INSERT INTO eval_runs (key, prompt_name, prompt_hash, dataset_name,"
                " dataset_version, dataset_hash, provider, model, status, started_at)"
                " VALUES ('k', 'p', 'h', 'ds', 1, 'dh', 'openai', 'gpt-4o-mini', 'done', 'x')"
            )
        )
        conn.execute(text("UPDATE meta SET value = '3' WHERE key = 'schema_version'"))
    engine.dispose()

    engine = open_engine(url)
    with engine.connect() as conn:
        assert {"split", "strategy"} <= {c["name"] for c in inspect(conn).get_columns("eval_runs")}
        assert "samples" in {c["name"] for c in inspect(conn).get_columns("eval_results")}
        assert conn.execute(text("SELECT model, split, strategy FROM eval_runs")).all() == [
            ("gpt-4o-mini", None, None)
        ]
    engine.dispose()
