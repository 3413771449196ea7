"""Pairwise queues on a real PostgreSQL server: the same blinded pairs, idempotent, the same
win rate and the call and trace queues without pair records."""

from __future__ import annotations

from pathlib import Path

from tests.unit import test_pairwise as unit


def _ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "queues").mkdir(parents=True)
    return root


def test_pairs_blinded_and_idempotent_on_postgres(pg_engine, tmp_path):
    assert pg_engine.dialect.name == "postgresql"
    unit.test_the_order_is_seeded_mixed_stable_and_kept_apart_from_the_record(
        pg_engine, _ws(tmp_path), tmp_path
    )


def test_call_and_trace_queues_without_pairs_on_postgres(pg_engine, tmp_path):
    unit.test_call_and_trace_queues_never_hold_pair_records(pg_engine, _ws(tmp_path), tmp_path)


def test_win_rate_on_postgres(pg_engine, tmp_path):
    unit.test_the_win_rate_maps_left_and_right_back_to_the_runs(pg_engine, _ws(tmp_path), tmp_path)
