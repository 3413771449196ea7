"""Shared fixtures: a temporary workspace and database; nothing touches the user's home."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, text

from reviewer.ingest.pipeline import Importer, ImportReport
from reviewer.store.db import open_engine, sqlite_url

REPO = Path(__file__).resolve().parent.parent
REAL_LOGS = Path(__file__).resolve().parent / "fixtures" / "real_logs"
SAMPLE_LOGS = REPO / "sample_logs"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def kill_when(args: list[str], ready: Callable[[], bool], timeout: float = 120.0) -> None:
    """`reviewer ARGS` in a process of its own (this process's environment, the repository on
    its path), killed with SIGKILL as soon as `ready()` holds; it must still be running then."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-c", "from reviewer.cli import main; main()", *args]
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + timeout
        while not ready():
            assert time.monotonic() < deadline, f"not ready after {timeout} s"
            assert child.poll() is None, child.stderr.read().decode()  # type: ignore[union-attr]
            time.sleep(0.05)
        assert child.poll() is None, "the command ended before it could be killed"
    finally:
        child.kill()
        child.wait()


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("REVIEWER_DATABASE_URL", "REVIEWER_WORKSPACE", "REVIEWER_NAME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = open_engine(sqlite_url(tmp_path / "ws" / ".reviewer" / "reviewer.db"))
    yield eng
    eng.dispose()


def run_import(engine: Engine, *paths: str | Path, **kwargs: Any) -> ImportReport:
    return Importer(engine, **kwargs).run([str(p) for p in paths])


def records(engine: Engine, where: str = "1=1", **params: Any) -> list[dict[str, Any]]:
    """Stored records with their JSON columns decoded, in source order."""
    with engine.connect() as conn:
        rows = (
            conn.execute(
                text(f"SELECT * FROM records WHERE {where} ORDER BY source_path, source_line, id"),
                params,
            )
            .mappings()
            .all()
        )
    out = []
    for row in rows:
        r = dict(row)
        for key in ("params", "messages", "output", "metadata"):
            r[key] = orjson.loads(r[key]) if r[key] else None
        out.append(r)
    return out


def rejects(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(text("SELECT * FROM rejected_lines ORDER BY path, line"))
            .mappings()
            .all()
        ]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test on the PostgreSQL server carries the `postgres` mark (`-m postgres` selects them)."""
    for item in items:
        if "pg_engine" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


def postgres_url() -> str | None:
    return os.environ.get("REVIEWER_TEST_POSTGRES_URL")


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    """An engine on a fresh schema of the PostgreSQL server named by REVIEWER_TEST_POSTGRES_URL."""
    url = postgres_url()
    if not url:
        pytest.skip("PostgreSQL tests need REVIEWER_TEST_POSTGRES_URL (set by .ci/run)")
    import uuid

    from sqlalchemy import create_engine

    schema = f"t_{uuid.uuid4().hex[:12]}"
    base = url.replace("postgresql://", "postgresql+psycopg://", 1)
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in url else "?"
    eng = open_engine(f"{url}{sep}options=-csearch_path%3D{schema}")
    try:
        yield eng
    finally:
        eng.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
