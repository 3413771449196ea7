"""`reviewer import` against `sqlite-utils insert --nl --alter`, on the same file, in one run.

    python bench/bench_import_vs.py [--lines 100000] [--rounds 3] [--postgres URL]

Generates the file once (bench/out/, see make_logs.py), then runs the two imports one after the
other, ROUNDS times each, alternating, each into a fresh SQLite database in a child process, and
prints the medians, lines/s, CPU seconds (the process and its workers), peak RSS (the importing
process, and the largest parsing worker) and the ratio. Other load on the machine changes the
times a lot: the load average is printed, and the CPU seconds vary much less. With --postgres URL (or REVIEWER_TEST_POSTGRES_URL) it also imports the file into a
fresh schema of that PostgreSQL database, ROUNDS times.

sqlite-utils is only needed here: `pip install sqlite-utils`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _descendants(pid: int) -> list[int]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _hwm_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


Run = tuple[float, float, float, float]


def run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[Run, str]:
    """((seconds, CPU seconds of the process and the children it waited for, peak RSS of the
    process in MB, largest peak RSS of its descendants), stdout)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    workers: dict[int, float] = {}
    done = threading.Event()

    def watch() -> None:  # the parsing workers' peaks (wait4 sees only the direct child)
        while not done.wait(0.2):
            for pid in _descendants(proc.pid):
                workers[pid] = max(workers.get(pid, 0.0), _hwm_mb(pid))

    watcher = threading.Thread(target=watch, daemon=True)
    if Path("/proc").is_dir():
        watcher.start()
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    done.set()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd[:4])} ... failed:\n{err}")
    cpu = usage.ru_utime + usage.ru_stime
    return (seconds, cpu, usage.ru_maxrss / 1024, max(workers.values(), default=0.0)), out


def reviewer_cmd(db_url: str, path: Path) -> list[str]:
    return [sys.executable, "-m", "reviewer.cli", "--db", db_url, "import", str(path), "--json"]


def check_totals(out: str, lines: int) -> None:
    totals = json.loads(out)["totals"]
    if (totals["imported"], totals["rejected"]) != (lines, 0):
        sys.exit(f"unexpected import totals: {totals}")


def median_line(name: str, runs: list[Run], lines: int) -> tuple[float, float]:
    secs = statistics.median(r[0] for r in runs)
    cpu = statistics.median(r[1] for r in runs)
    rss = max(r[2] for r in runs)
    wrk = max(r[3] for r in runs)
    times = ", ".join(f"{r[0]:.2f}" for r in runs)
    extra = f", largest worker {wrk:.0f} MB" if wrk else ""
    print(
        f"  {name:<34} median {secs:6.2f} s  {lines / secs:7,.0f} lines/s  CPU {cpu:5.2f} s"
        f"  peak RSS {rss:.0f} MB{extra}   ({times})"
    )
    return secs, cpu


def postgres_round(url: str, path: Path, lines: int) -> Run:
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        sep = "&" if "?" in url else "?"
        result, out = run(reviewer_cmd(f"{url}{sep}options=-csearch_path%3D{schema}", path))
        check_totals(out, lines)
        return result
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--postgres", default=os.environ.get("REVIEWER_TEST_POSTGRES_URL"))
    args = ap.parse_args()
    sqlite_utils = shutil.which("sqlite-utils") or str(Path(sys.executable).parent / "sqlite-utils")
    if not Path(sqlite_utils).exists():
        sys.exit(
            "sqlite-utils is not installed: pip install sqlite-utils (for this benchmark only)"
        )
    n = args.lines
    path = HERE / "out" / f"logs-{n}.jsonl"
    if not path.exists():
        subprocess.run([sys.executable, str(HERE / "make_logs.py"), str(n), str(path)], check=True)
    size = path.stat().st_size
    print(
        f"{n:,} lines ({size / 1e6:.0f} MB), {args.rounds} rounds alternating,"
        f" {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start"
    )
    ours: list[Run] = []
    theirs: list[Run] = []
    tmp = Path(tempfile.mkdtemp(prefix="reviewer-bench-vs-"))
    try:
        for i in range(args.rounds):
            db = tmp / f"reviewer-{i}.db"
            result, out = run(reviewer_cmd(f"sqlite:///{db}", path))
            check_totals(out, n)
            ours.append(result)
            db_size = db.stat().st_size
            shutil.rmtree(tmp)
            tmp.mkdir()
            other = tmp / f"sqlite-utils-{i}.db"
            result, _ = run(
                [sqlite_utils, "insert", str(other), "logs", str(path), "--nl", "--alter"]
            )
            theirs.append(result)
            other_size = other.stat().st_size
            shutil.rmtree(tmp)
            tmp.mkdir()
        ours_s, ours_cpu = median_line("reviewer import", ours, n)
        theirs_s, theirs_cpu = median_line("sqlite-utils insert --nl --alter", theirs, n)
        print(
            f"  database size: reviewer {db_size / 1e6:.0f} MB, sqlite-utils {other_size / 1e6:.0f} MB"
        )
        print(
            f"  RATIO: reviewer import is {theirs_s / ours_s:.2f}x as fast as sqlite-utils"
            f" (CPU: {ours_cpu / theirs_cpu:.2f}x sqlite-utils' CPU time)"
        )
        print(f"  load average {os.getloadavg()[0]:.1f} at the end")
        if args.postgres:
            pg = [postgres_round(args.postgres, path, n) for _ in range(args.rounds)]
            median_line("reviewer import, PostgreSQL", pg, n)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
