"""Import benchmark: lines/s and peak memory of `reviewer import` on N generated lines.

    python bench/bench_import.py [N]          # default 1,000,000 lines (about 1.7 GB)

Generates the file once (bench/out/), imports it into a fresh SQLite database in a child
process, and prints lines/s, MB/s and the child's peak RSS. A second run of the same import
measures the duplicate path (nothing new is written).
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def import_child(path: Path, db: Path) -> tuple[float, float, dict]:
    """(seconds, peak RSS in MB, totals) of one `reviewer import` in a child process."""
    import json

    cmd = [
        sys.executable,
        "-m",
        "reviewer.cli",
        "--db",
        f"sqlite:///{db}",
        "import",
        str(path),
        "--json",
    ]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    out = proc.stdout.read().decode() if proc.stdout else ""
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        sys.exit(f"import failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    return seconds, usage.ru_maxrss / 1024, json.loads(out)["totals"]


def run_import(path: Path, db: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one `reviewer import` in a child process."""
    seconds, rss, totals = import_child(path, db)
    print(f"  totals: {totals}")
    return seconds, rss


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    path = HERE / "out" / f"logs-{n}.jsonl"
    if not path.exists():
        subprocess.run([sys.executable, str(HERE / "make_logs.py"), str(n), str(path)], check=True)
    size = path.stat().st_size
    tmp = Path(tempfile.mkdtemp(prefix="reviewer-bench-"))
    try:
        db = tmp / "bench.db"
        print(
            f"import of {n:,} lines ({size / 1e9:.2f} GB) into a fresh SQLite database, {os.cpu_count()} cores"
        )
        seconds, rss = run_import(path, db)
        print(
            f"  first import: {seconds:.1f} s, {n / seconds:,.0f} lines/s, {size / seconds / 1e6:.0f} MB/s, peak RSS {rss:.0f} MB"
        )
        seconds, rss = run_import(path, db)
        print(
            f"  re-import (all duplicates): {seconds:.1f} s, {n / seconds:,.0f} lines/s, peak RSS {rss:.0f} MB"
        )
        print(f"  database size: {db.stat().st_size / 1e9:.2f} GB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _ = resource  # children's usage is read through wait4


if __name__ == "__main__":
    main()
