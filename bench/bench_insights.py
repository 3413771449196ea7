"""Insights benchmark: `insights()` over a database of N imported records.

    python bench/bench_insights.py [N] [--repeat 3]        # default 1,000,000 records

Uses the workspace bench_review.py prepares (bench/out/review-N/, with a queue over every
record) when its database exists; else writes N log lines with make_logs.py and imports them
into bench/out/insights-N/. Then times, in this process, `insights()` by day, by week, split
by model and split by queue (the first call of each reads the database file cold or warm, as
the page cache has it; the best of `--repeat` calls is the warm figure), and `record_ids_for`
for one day. Prints seconds per call and the peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def database(n: int) -> Path:
    review = HERE / "out" / f"review-{n}" / ".reviewer" / "reviewer.db"
    if review.exists():
        return review
    ws = HERE / "out" / f"insights-{n}"
    db = ws / ".reviewer" / "reviewer.db"
    if db.exists():
        return db
    logs = HERE / "out" / f"logs-{n}.jsonl"
    if not logs.exists():
        subprocess.run([sys.executable, str(HERE / "make_logs.py"), str(n), str(logs)], check=True)
    ws.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "reviewer.cli", "--workspace", str(ws), "import", str(logs)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"  imported {n:,} records in {time.perf_counter() - t:.1f} s")
    return db


def catch_up(engine: object) -> None:
    """A database made by an older build of this branch lacks the columns added since: add
    them (nullable), so the bench runs on it without importing a million records again."""
    from sqlalchemy import Engine, inspect, text
    from sqlmodel import SQLModel

    from reviewer.store import schema  # noqa: F401  (registers the tables)

    assert isinstance(engine, Engine)
    inspector = inspect(engine)
    with engine.begin() as conn:
        for table in SQLModel.metadata.sorted_tables:
            have = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if have and column.name not in have:
                    kind = column.type.compile(engine.dialect)
                    conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}"))
                    print(f"  added column {table.name}.{column.name} (older bench database)")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from sqlalchemy import func, select

    from reviewer.insights.metrics import insights, record_ids_for
    from reviewer.store.db import open_engine, sqlite_url
    from reviewer.store.events import RECORDS

    db = database(args.n)
    engine = open_engine(sqlite_url(db))
    catch_up(engine)
    with engine.connect() as conn:
        records = conn.execute(select(func.count()).select_from(RECORDS)).scalar_one()
    print(f"database {db} ({db.stat().st_size / 1e9:.1f} GB, {records:,} records)")
    print(f"peak RSS before: {peak_rss_mb():.0f} MB")

    cases = [
        ("by day", {}),
        ("by week", {"bucket": "week"}),
        ("by day, split by model", {"by": "model"}),
        ("by week, split by queue", {"bucket": "week", "by": "queue"}),
    ]
    result = None
    for label, kwargs in cases:
        times = []
        for _ in range(max(1, args.repeat)):
            t = time.perf_counter()
            result = insights(engine, **kwargs)  # type: ignore[arg-type]
            times.append(time.perf_counter() - t)
        assert result is not None
        counted = sum(s.totals.records for s in result.series)
        print(
            f"insights {label:<26} first {times[0]:.2f} s, best {min(times):.2f} s  "
            f"({len(result.buckets)} buckets, {len(result.series)} series, "
            f"{counted:,} records counted)"
        )
    assert result is not None
    day = insights(engine).buckets[-2] if records else None
    if day is not None:
        t = time.perf_counter()
        ids = record_ids_for(engine, bucket_start=day)
        print(
            f"record_ids_for one day ({day}): {len(ids):,} ids in {time.perf_counter() - t:.2f} s"
        )
    print(f"peak RSS: {peak_rss_mb():.0f} MB")
    engine.dispose()


if __name__ == "__main__":
    main()
