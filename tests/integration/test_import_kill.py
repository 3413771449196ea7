"""Parsing workers do not outlive a `reviewer import` killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.unit.test_bad_input import good_line

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc (Linux)")


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def descendants(pid: int) -> set[int]:
    tree, found, todo = _children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_workers_exit_when_the_import_is_killed(tmp_path):
    code = (
        "import sys\n"
        "from reviewer.ingest.pipeline import Importer\n"
        "from reviewer.store.db import open_engine, sqlite_url\n"
        f"engine = open_engine(sqlite_url({str(tmp_path / 'r.db')!r}))\n"
        "Importer(engine, workers=2, parallel_min_bytes=0).run(['-'])\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE)
    assert proc.stdin is not None
    try:
        proc.stdin.write(b"".join(good_line(i) for i in range(3000)))
        proc.stdin.flush()  # and stays open: the import waits for more, its workers too
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        while time.monotonic() < deadline and len(workers) < 2:
            time.sleep(0.2)
            workers = descendants(proc.pid)
        assert len(workers) >= 2, "the parsing workers did not start"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(alive(p) for p in workers):
            time.sleep(0.2)
        assert not [p for p in workers if alive(p)]
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in descendants(proc.pid):
            os.kill(pid, signal.SIGKILL)
