"""The eval runner: a prompt on a dataset version, with one or several models, concurrently.

`run_eval(engine, prompt, prompt_text, dataset, models=..., concurrency=8)` renders every
item, answers it from the response cache or by calling the model, grades the answer
(`graders.grade`: the prompt's graders, then the item's assertions) and records an
`EvalResult` per item and model as answers arrive; it returns one `RunOutcome` per model.

- One `EvalRun` per model. Its `key` hashes the prompt hash, the dataset version hash, the
  provider, the model, the params and the grader specs (and the split, for a run on one split
  of the dataset: `split=`): a run started again with the same key
  continues the earlier one (unfinished, or finished when the cache is on). Items that have a
  result are not called again, so a killed run started again calls only what is missing; an
  item whose result was an error is tried again.
- Several models run side by side: their jobs are interleaved and share one concurrency limit
  (every model call, judges included, holds one of `concurrency` slots).
- Responses are cached in `response_cache` by a hash of (provider, model, params, rendered
  messages); keys and rows never hold an API key. Identical requests in flight are made once.
- The event loop never blocks: database reads and writes run in threads
  (`asyncio.to_thread`); results are committed in small batches (every 0.2 s, or 200 rows).
- Cancelling the task marks the runs cancelled and keeps the results so far.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import threading
import time
from collections.abc import AsyncIterator, Callable, Collection, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Table, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel

from reviewer.evals import graders
from reviewer.evals.compare import baseline_for, output_text, run_summary
from reviewer.evals.prices import PriceTable
from reviewer.evals.prompts import PromptError, PromptFile, prompt_hash, render
from reviewer.evals.providers import (
    DEFAULT_TIMEOUT,
    PROVIDERS,
    Completion,
    Provider,
    ProviderError,
    RetryPolicy,
    get_provider,
)
from reviewer.evals.strategies import (
    SINGLE,
    Attempt,
    Context,
    Strategy,
    answer,
    combine,
    strategy_of,
)
from reviewer.store import schema  # noqa: F401  (registers the tables)
from reviewer.store.events import stamp, utc_now

RUNS: Table = SQLModel.metadata.tables["eval_runs"]
RESULTS: Table = SQLModel.metadata.tables["eval_results"]
CACHE: Table = SQLModel.metadata.tables["response_cache"]

Progress = Callable[[int, int], None]
FLUSH_SECONDS = 0.2
FLUSH_ROWS = 200
#: The longest answer kept for a case (as JSON text): a larger one is an error, not stored.
MAX_OUTPUT_CHARS = 1024 * 1024
PAGE = 500
#: Parameters of judge calls (deterministic as far as the provider allows).
JUDGE_PARAMS: dict[str, Any] = {"temperature": 0}


@dataclass(slots=True)
class RunOutcome:
    """What one model's run did. `summary` holds n, passed, graded, pass_rate, errors,
    cost_usd, p50_ms, p95_ms, cached, input/output tokens, resumed and called."""

    run_id: int
    provider: str
    model: str
    status: str  # done | cancelled | failed
    resumed: bool  # an earlier run with the same key was continued
    summary: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_model(value: str, default_provider: str) -> tuple[str, str]:
    """`anthropic:claude-haiku-4-5` -> (anthropic, claude-haiku-4-5); a name without a known
    provider prefix (`gpt-4o`, `llama3:8b`) keeps the prompt's provider."""
    prefix, sep, rest = value.partition(":")
    if sep and prefix in PROVIDERS and rest:
        return prefix, rest
    return default_provider, value


def _digest(value: Any) -> str:
    data = orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def cache_key(provider: str, model: str, params: dict[str, Any], messages: list[Any]) -> str:
    """The response cache key of a request (no secret is part of a request's identity)."""
    return _digest(["response/v1", provider, model, params, messages])


def draw_key(key: str, draw: int) -> str:
    """The cache key of another answer to the same request (a sample of a strategy): draw 0 is
    the request's own key, so a plain run's answers serve as every strategy's first sample."""
    return key if draw == 0 else _digest(["response/v1/draw", key, draw])


def run_key(
    prompt_hash_: str,
    dataset_hash: str,
    provider: str,
    model: str,
    params: dict[str, Any],
    grader_specs: list[dict[str, Any]],
    *,
    split: str | None = None,
    strategy: dict[str, Any] | None = None,
    cases: list[str] | None = None,
) -> str:
    """What makes two runs the same run (to continue a killed one). A run on one split of the
    dataset, or with a strategy (`Strategy.identity`), is another run than a plain one on all
    of it (which keeps the key it always had); so is a run on chosen `cases` (item ids)."""
    parts: list[Any] = ["run/v1", prompt_hash_, dataset_hash, provider, model, params, grader_specs]
    if split is not None:
        parts.append({"split": split})
    if strategy is not None:
        parts.append({"strategy": strategy})
    if cases is not None:
        parts.append({"cases": sorted(cases)})
    return _digest(parts)


def _now() -> str:
    return stamp(utc_now())


# -- database (called in threads) ------------------------------------------------------------------

_WRITE_LOCK = threading.Lock()  # one writer at a time from this process (SQLite likes that)


def _insert(conn: Connection, table: Table, rows: list[dict[str, Any]], keys: list[str],
            update_cols: list[str] | None) -> None:  # fmt: skip
    """Insert rows; on a key conflict update `update_cols` (None: keep the existing row)."""
    if not rows:
        return
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        mod: Any = sqlite if dialect == "sqlite" else postgresql
        stmt = mod.insert(table)
        if update_cols:
            stmt = stmt.on_conflict_do_update(
                index_elements=keys, set_={c: stmt.excluded[c] for c in update_cols}
            )
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=keys)
        conn.execute(stmt, rows)
        return
    for row in rows:  # other databases: one by one
        where = [table.c[k] == row[k] for k in keys]
        if conn.execute(select(func.count()).select_from(table).where(*where)).scalar():
            if update_cols:
                conn.execute(update(table).where(*where).values({c: row[c] for c in update_cols}))
        else:
            conn.execute(table.insert().values(row))


_RESULT_UPDATE = [
    "output", "passed", "score", "grades", "latency_ms", "input_tokens", "output_tokens",
    "cost_usd", "cached", "error", "created_at", "samples",
]  # fmt: skip


def _write(engine: Engine, results: list[dict[str, Any]], cached: list[dict[str, Any]]) -> None:
    with _WRITE_LOCK, engine.begin() as conn:
        _insert(conn, CACHE, cached, ["key"], None)
        _insert(conn, RESULTS, results, ["run_id", "item_id"], _RESULT_UPDATE)


def _cache_get(engine: Engine, keys: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    unique = sorted(set(keys))
    with engine.connect() as conn:
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            for row in conn.execute(
                select(CACHE.c.key, CACHE.c.response, CACHE.c.latency_ms).where(
                    CACHE.c.key.in_(chunk)
                )
            ):
                found[row.key] = row
    return found


def _open_run(engine: Engine, values: dict[str, Any], cache: bool) -> tuple[int, bool, set[str]]:
    """The run to write into: an earlier run with the same key (unfinished; or finished, when
    the cache is on), else a new one. Returns (run id, continued, items already done)."""
    with _WRITE_LOCK, engine.begin() as conn:
        query = select(RUNS.c.id, RUNS.c.status).where(RUNS.c.key == values["key"])
        rows = list(conn.execute(query.order_by(RUNS.c.id.desc())))
        earlier = next(
            (r for r in rows if cache or r.status != "done"),
            None,
        )
        if earlier is not None:
            run_id = int(earlier.id)
            # errors are tried again: drop them now, so a second kill keeps no stale error
            conn.execute(
                delete(RESULTS).where(RESULTS.c.run_id == run_id, RESULTS.c.error.is_not(None))
            )
            conn.execute(
                update(RUNS).where(RUNS.c.id == run_id).values(status="running", finished_at=None)
            )
            done = set(
                conn.execute(select(RESULTS.c.item_id).where(RESULTS.c.run_id == run_id)).scalars()
            )
            return run_id, True, done
        inserted = conn.execute(RUNS.insert().values(values)).inserted_primary_key
        assert inserted is not None
        return int(inserted[0]), False, set()


def _finish_run(engine: Engine, run_id: int, status: str, extra: dict[str, Any]) -> dict[str, Any]:
    """Mark a run `status` with its summary (computed from its results); returns the summary."""
    s = run_summary(engine, run_id)
    with engine.connect() as conn:
        cached = conn.execute(
            select(func.count())
            .select_from(RESULTS)
            .where(RESULTS.c.run_id == run_id, RESULTS.c.cached.is_(True))
        ).scalar_one()
    summary = {
        "strategy": s.strategy,
        "n": s.cases,
        "passed": s.passed,
        "graded": s.graded,
        "pass_rate": s.pass_rate,
        "errors": s.errors,
        "cost_usd": s.cost_usd,
        "p50_ms": s.p50_ms,
        "p95_ms": s.p95_ms,
        "input_tokens": s.input_tokens,
        "output_tokens": s.output_tokens,
        "cached": int(cached),
        **(s.sampling.to_dict() if s.sampling is not None else {}),
        **extra,
    }
    with _WRITE_LOCK, engine.begin() as conn:
        conn.execute(
            update(RUNS)
            .where(RUNS.c.id == run_id)
            .values(status=status, finished_at=_now(), summary=orjson.dumps(summary).decode())
        )
    return summary


def _record_prompt(
    engine: Engine, prompt: PromptFile, text: str, by: str | None, workspace: Path | None
) -> None:
    """Keep the text a run uses as a version of the workspace's prompt, the file as it was
    first (version 1 is the text before any edit). A prompt file from elsewhere that has the
    same name is not the workspace's prompt: its runs are not versions of it."""
    from reviewer.evals.versions import ensure_current, is_workspace_prompt, record_version

    with _WRITE_LOCK:
        if workspace is not None:
            if not is_workspace_prompt(workspace, prompt.name, prompt.path):
                return
            ensure_current(engine, workspace, prompt.name)
        record_version(engine, prompt.name, text, path=prompt.path, by=by)


# -- the run ---------------------------------------------------------------------------------------


@dataclass(eq=False)
class _Model:
    """One model's run while it goes."""

    provider: str
    model: str
    strategy: Strategy = SINGLE
    run_id: int = 0
    resumed: bool = False
    done: set[str] = field(default_factory=set)
    baseline: dict[str, str] | None = None  # item id -> baseline output text
    called: int = 0
    skipped: int = 0


@dataclass(slots=True, eq=False)
class _Job:
    run: _Model
    item: dict[str, Any]
    messages: list[dict[str, Any]] | None
    key: str | None
    cached: Any = None
    error: str | None = None


class _Writer:
    """Buffers result and cache rows and commits them in small batches from a thread."""

    def __init__(self, engine: Engine, flushed: Callable[[list[str]], None] | None = None) -> None:
        self.engine = engine
        self.flushed = flushed  # told the cache keys now in the database
        self.results: list[dict[str, Any]] = []
        self.cache: list[dict[str, Any]] = []
        self._wake = asyncio.Event()
        self._closed = False

    def add(
        self, result: dict[str, Any] | None = None, cache: dict[str, Any] | None = None
    ) -> None:
        if result is not None:
            self.results.append(result)
        if cache is not None:
            self.cache.append(cache)
        if len(self.results) + len(self.cache) >= FLUSH_ROWS:
            self._wake.set()

    async def flush(self) -> None:
        results, self.results = self.results, []
        cache, self.cache = self.cache, []
        if results or cache:
            # the thread finishes its commit even when this await is cancelled
            await asyncio.to_thread(_write, self.engine, results, cache)
            if self.flushed is not None:
                self.flushed([row["key"] for row in cache])

    async def loop(self) -> None:
        while not self._closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), FLUSH_SECONDS)
            self._wake.clear()
            await self.flush()

    def close(self) -> None:
        self._closed = True
        self._wake.set()


class _Eval:
    """The state shared by the workers of one `run_eval` call."""

    def __init__(
        self,
        engine: Engine,
        prompt: PromptFile,
        *,
        concurrency: int,
        cache: bool,
        timeout: float,
        retry: RetryPolicy | None,
        prices: PriceTable,
        progress: Progress | None,
        workspace: Path | None = None,
    ) -> None:
        self.engine = engine
        self.workspace = workspace
        self.prompt = prompt
        self.params = dict(prompt.params)
        self.cache = cache
        self.timeout = timeout
        self.retry = retry
        self.prices = prices
        self.progress = progress
        self.slots = asyncio.Semaphore(max(1, concurrency))
        self.providers: dict[str, Provider] = {}
        self.inflight: dict[str, asyncio.Future[tuple[Completion, bool]]] = {}
        # answers of this eval not yet committed to the cache: a request made again before the
        # writer commits (two strategies sharing a first answer) is answered from here
        self.recent: dict[str, Completion] = {}
        self._evict: list[str] = []
        self.writer = _Writer(engine, self._committed)
        self.done = 0
        self.total = 0

    def provider(self, name: str) -> Provider:
        found = self.providers.get(name)
        if found is None:
            base_url = self.prompt.base_url if name == self.prompt.provider else None
            if name == "replay" and base_url and self.workspace is not None:
                base_url = str(self.workspace / base_url)  # relative: to the workspace
            found = self.providers[name] = get_provider(name, base_url, retry=self.retry)
        return found

    def _committed(self, keys: list[str]) -> None:
        """Forget the answers committed one flush before these (a cache lookup started before
        their commit may still miss them in the database)."""
        self._evict, keys = keys, self._evict
        for key in keys:
            self.recent.pop(key, None)

    def tick(self, n: int = 1) -> None:
        self.done += n
        if self.progress is not None:
            self.progress(self.done, self.total)

    async def close(self) -> None:
        for provider in self.providers.values():
            with contextlib.suppress(Exception):  # closing must not hide the outcome
                await provider.aclose()

    # -- calls -----------------------------------------------------------------------------

    async def call(
        self,
        provider: str,
        model: str,
        params: dict[str, Any],
        messages: list[dict[str, Any]],
        key: str,
        cached: Any = None,
        *,
        look_up: bool = False,
        draw: int = 0,
        check: Callable[[Completion], str | None] | None = None,
    ) -> tuple[Completion, bool]:
        """The answer to a request, and whether it came from the cache (or from the same
        request made by another case of this eval). Identical requests are made once; answers
        are cached. `draw` says which answer to a repeated
        request this is (a provider replaying recorded answers reads it); an answer `check`
        rejects (with its reason) is a ProviderError, neither used nor cached."""
        if cached is None and look_up and self.cache:
            cached = (await asyncio.to_thread(_cache_get, self.engine, [key])).get(key)
        if cached is not None:
            completion = _from_cache(cached)
            problem = check(completion) if check is not None else None
            if problem is None:
                return completion, True
        # from here on no await until the request is in `inflight`: no duplicate call
        if self.cache and key in self.recent:
            completion = self.recent[key]
            if check is None or check(completion) is None:
                return completion, True
        pending = self.inflight.get(key)
        if pending is not None:  # the same request, asked by another case: no call of its own
            completion, _ = await asyncio.shield(pending)
            return completion, True
        future: asyncio.Future[tuple[Completion, bool]] = asyncio.get_running_loop().create_future()
        self.inflight[key] = future
        try:
            client = self.provider(provider)
            await client.prepare()  # the SDK's import, once, outside the slots
            async with self.slots:
                completion = await client.complete(
                    messages, model, params, self.timeout, sample=draw
                )
            size = len(orjson.dumps(completion.output))
            if size > MAX_OUTPUT_CHARS:
                raise ProviderError(
                    f"the answer is {size:,} bytes, over the limit of {MAX_OUTPUT_CHARS:,} kept "
                    "for a case: not stored"
                )
            problem = check(completion) if check is not None else None
            if problem is not None:
                raise ProviderError(f"{provider} {model}: {problem}")
        except BaseException as exc:
            if not future.done():
                if isinstance(exc, asyncio.CancelledError):
                    future.cancel()
                else:
                    future.set_exception(exc)
                    future.exception()  # retrieved: no "never retrieved" warning
            raise
        finally:
            self.inflight.pop(key, None)
        future.set_result((completion, False))
        if self.cache:
            self.recent[key] = completion
        self.writer.add(cache=_cache_row(key, provider, model, completion))
        return completion, False

    async def step(
        self,
        provider: str,
        model: str,
        params: dict[str, Any],
        messages: list[dict[str, Any]],
        draw: int,
        check: Callable[[Completion], str | None] | None = None,
    ) -> tuple[Completion, bool]:
        """One call of a strategy (`strategies.Caller`): cached under its draw's key."""
        key = draw_key(cache_key(provider, model, params, messages), draw)
        return await self.call(
            provider, model, params, messages, key, look_up=True, draw=draw, check=check
        )

    def context(self) -> Context:
        """What the strategies need: the cached call, the params, model specs, prices."""
        return Context(
            call=self.step,
            params=self.params,
            resolve=lambda spec: parse_model(spec, self.prompt.provider),
            cost=lambda p, m, c: self.prices.cost(p, m, c.input_tokens, c.output_tokens),
        )

    async def judge(self, messages: list[dict[str, Any]], model: str, provider: str | None) -> str:
        """The judge function given to the graders: a cached model call, its text."""
        name = provider or ("anthropic" if model.startswith("claude") else "openai")
        key = cache_key(name, model, JUDGE_PARAMS, messages)
        completion, _ = await self.call(name, model, JUDGE_PARAMS, messages, key, look_up=True)
        return str(completion.output.get("content") or "")

    # -- one job ---------------------------------------------------------------------------

    async def work(self, job: _Job) -> None:
        run = job.run
        if not run.strategy.plain:
            await self.work_strategy(job)
            return
        row: dict[str, Any] = {
            "run_id": run.run_id,
            "item_id": str(job.item["id"]),
            "output": None,
            "passed": None,
            "score": None,
            "grades": None,
            "latency_ms": None,
            "input_tokens": None,
            "output_tokens": None,
            "cost_usd": None,
            "cached": False,
            "error": job.error,
            "created_at": "",
            "samples": None,  # every row of a batch has the same keys
        }
        if job.error is None and job.messages is not None and job.key is not None:
            try:
                completion, cached = await self.call(
                    run.provider, run.model, self.params, job.messages, job.key, job.cached
                )
            except ProviderError as exc:
                row["error"] = str(exc)
            else:
                if not cached:
                    run.called += 1
                row.update(
                    output=orjson.dumps(completion.output).decode(),
                    latency_ms=completion.latency_ms,
                    input_tokens=completion.input_tokens,
                    output_tokens=completion.output_tokens,
                    cost_usd=self.prices.cost(
                        run.provider, run.model, completion.input_tokens, completion.output_tokens
                    ),
                    cached=cached,
                )
                await self.grade(job, completion, row)
        row["created_at"] = _now()
        self.writer.add(result=row)
        self.tick()

    async def grade(self, job: _Job, completion: Completion, row: dict[str, Any]) -> None:
        try:
            passed, score, grades = await self.grade_output(job, completion.output)
        except (ProviderError, graders.GraderError) as exc:
            row["error"] = f"grading failed: {exc}"
            return
        row.update(
            passed=passed,
            score=score,
            grades=orjson.dumps(grades).decode(),  # Grade dataclasses, as objects
        )

    async def grade_output(
        self, job: _Job, output: dict[str, Any]
    ) -> tuple[bool | None, float | None, list[Any]]:
        """(passed, score, grades) of an output for the job's item."""
        run = job.run
        item_id = str(job.item["id"])
        baseline = run.baseline.get(item_id) if run.baseline is not None else None
        grades = await graders.grade(
            self.prompt.graders,
            job.item,
            output_text(output),
            baseline=baseline,
            judge=self.judge,
            judge_model=self.prompt.model or None,
            judge_provider=self.prompt.provider,
        )
        passed, score = graders.overall(grades)
        return passed, score, grades

    async def work_strategy(self, job: _Job) -> None:
        """A case of a strategy run: its samples made (concurrently) and graded, the row
        summing them up (`strategies.combine`) with every sample and step kept."""
        run = job.run
        row: dict[str, Any] = {
            "run_id": run.run_id, "item_id": str(job.item["id"]), "output": None,
            "passed": None, "score": None, "grades": None, "latency_ms": None,
            "input_tokens": None, "output_tokens": None, "cost_usd": None, "cached": False,
            "error": job.error, "created_at": "", "samples": None,
        }  # fmt: skip
        if job.error is None and job.messages is not None:
            context = self.context()
            attempts = await asyncio.gather(
                *(
                    answer(run.strategy, context, run.provider, run.model, job.messages, k)
                    for k in range(run.strategy.samples)
                )
            )
            samples = [await self.grade_attempt(job, a) for a in attempts]
            run.called += sum(a.called for a in attempts)
            fields = combine(samples)
            for key in ("output", "grades"):
                if fields[key] is not None:
                    fields[key] = orjson.dumps(fields[key]).decode()
            row.update(fields, samples=orjson.dumps(samples).decode())
        row["created_at"] = _now()
        self.writer.add(result=row)
        self.tick()

    async def grade_attempt(self, job: _Job, attempt: Attempt) -> dict[str, Any]:
        """One sample as stored: its answer, grades, figures and steps."""
        sample: dict[str, Any] = {
            "sample": attempt.sample, "output": attempt.output, "passed": None, "score": None,
            "grades": None, "latency_ms": attempt.latency_ms,
            "input_tokens": attempt.input_tokens, "output_tokens": attempt.output_tokens,
            "cost_usd": attempt.cost_usd, "cached": attempt.cached, "error": attempt.error,
            "steps": attempt.steps,
        }  # fmt: skip
        if attempt.error is None and attempt.output is not None:
            try:
                passed, score, grades = await self.grade_output(job, attempt.output)
            except (ProviderError, graders.GraderError) as exc:
                sample["error"] = f"grading failed: {exc}"
            else:
                sample.update(passed=passed, score=score, grades=orjson.loads(orjson.dumps(grades)))
        return sample


def _cache_row(key: str, provider: str, model: str, completion: Completion) -> dict[str, Any]:
    response = {
        "output": completion.output,
        "input_tokens": completion.input_tokens,
        "output_tokens": completion.output_tokens,
        "raw_id": completion.raw_id,
        "finish_reason": completion.finish_reason,
    }
    return {
        "key": key,
        "provider": provider,
        "model": model,
        "response": orjson.dumps(response).decode(),
        "latency_ms": completion.latency_ms,
        "created_at": _now(),
    }


def _from_cache(row: Any) -> Completion:
    data = orjson.loads(row.response)
    return Completion(
        output=data.get("output") or {"role": "assistant", "content": ""},
        input_tokens=data.get("input_tokens"),
        output_tokens=data.get("output_tokens"),
        latency_ms=float(row.latency_ms or 0.0),
        raw_id=data.get("raw_id"),
        finish_reason=data.get("finish_reason"),
        attempts=0,
    )


def cache_lookup(engine: Engine, key: str) -> Completion | None:
    """The cached answer to the request `key` (`cache_key`), or None."""
    found = _cache_get(engine, [key])
    return _from_cache(found[key]) if key in found else None


def cache_store(
    engine: Engine, key: str, provider: str, model: str, completion: Completion
) -> None:
    """Keep an answer, so the same request never costs twice."""
    row = _cache_row(key, provider, model, completion)
    with _WRITE_LOCK, engine.begin() as conn:
        _insert(conn, CACHE, [row], ["key"], None)


def _items(
    engine: Engine,
    dataset: str,
    number: int,
    split: str | None,
    cases: frozenset[str] | None = None,
) -> Iterator[dict[str, Any]]:
    """The version's items (of one split, or among `cases`, when given), in order."""
    from reviewer.datasets.versions import iter_version_items

    items = iter_version_items(engine, dataset, number, batch=PAGE)
    if cases is not None:
        return (i for i in items if str(i["id"]) in cases)
    return items if split is None else (i for i in items if i.get("split") == split)


def count_items(
    engine: Engine, dataset: str, number: int, split: str | None,
    cases: frozenset[str] | None = None,
) -> int:  # fmt: skip
    """How many items of the version a run on `split` (None: all) or on `cases` has."""
    return sum(1 for _item in _items(engine, dataset, number, split, cases))


async def _pages(
    engine: Engine,
    dataset: str,
    number: int,
    split: str | None = None,
    cases: frozenset[str] | None = None,
) -> AsyncIterator[list[dict[str, Any]]]:
    """The version's items (of `split`, or among `cases`), a page at a time, each page read in
    a thread."""
    items = _items(engine, dataset, number, split, cases)
    while True:
        page = await asyncio.to_thread(lambda: list(itertools.islice(items, PAGE)))
        if not page:
            return
        yield page


def _runs(
    specs: list[tuple[str, str]], strategies: list[Strategy], default_provider: str
) -> list[_Model]:
    """One run per model and strategy (strategies outside, models inside); an ensemble's
    models are its own, so it runs once, named after them (`a+b+c`)."""
    runs: list[_Model] = []
    seen: set[tuple[str, str, Strategy]] = set()
    for strategy in dict.fromkeys(strategies):
        if strategy.method == "ensemble":
            first = parse_model(strategy.models[0], default_provider)[0]
            targets = [(first, "+".join(strategy.models))]
        else:
            targets = specs
        for provider, model in targets:
            if (provider, model, strategy) not in seen:
                seen.add((provider, model, strategy))
                runs.append(_Model(provider, model, strategy))
    return runs


def _providers(runs: list[_Model], default_provider: str) -> set[str]:
    """Every provider the runs will call: their models, critics, judges, ensembles."""
    names: set[str] = set()
    for run in runs:
        s = run.strategy
        if s.method != "ensemble":
            names.add(run.provider)
        for spec in (*s.models, s.critic, s.judge):
            if spec:
                names.add(parse_model(spec, default_provider)[0])
    return names


def _judge_providers(prompt: PromptFile) -> set[str]:
    """The providers the prompt's judges will call (to check their keys up front)."""
    import os

    names: set[str] = set()
    for spec in prompt.graders:
        if spec.get("type") not in ("llm_judge", "pairwise"):
            continue
        name = spec.get("provider") or os.environ.get("REVIEWER_JUDGE_PROVIDER")
        names.add(name or prompt.provider)
    return names


async def run_eval(
    engine: Engine,
    prompt: PromptFile,
    prompt_text: str,
    dataset: str,
    *,
    models: list[str] | None = None,
    concurrency: int = 8,
    version: int | None = None,
    progress: Progress | None = None,
    cache: bool = True,
    workspace: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    retry: RetryPolicy | None = None,
    by: str | None = None,
    split: str | None = None,
    strategies: list[Strategy] | None = None,
    cases: Collection[str] | None = None,
    part: str | None = None,
) -> list[RunOutcome]:
    """Run `prompt` on a dataset version (the latest when None) with each of `models` (the
    prompt's model when None; `provider:model` picks another provider) and each of
    `strategies` (the prompt file's when None; `reviewer.evals.strategies`). One outcome per
    run, models within strategies, in the order given; an ensemble (its own models) runs once.
    `split` (train or test) runs on that split's items only; it is part of the run's identity,
    as the strategy is. `cases` (item ids) runs on those items only, a part of the dataset the
    caller chose (the optimizer's train or test cases), recorded as the run's split under the
    name `part`; the ids are part of the run's identity. Raises DatasetError (unknown dataset or version, a bad split) and
    ProviderError (unknown provider, missing API key) before anything is called."""

    from reviewer.datasets.items import SPLITS, DatasetError
    from reviewer.datasets.versions import version_info

    if split is not None and split not in SPLITS:
        raise DatasetError(f"the split is {' or '.join(SPLITS)}, not {split!r}")
    chosen = None if cases is None else frozenset(str(c) for c in cases)
    if chosen is not None and split is not None:
        raise DatasetError("a run is on a split or on chosen cases, not both")
    info = await asyncio.to_thread(version_info, engine, dataset, version)
    if any(g.get("judge") for g in prompt.graders):  # judge files: filled in, noted in the run
        from reviewer.evals.assist import resolve_judge_graders

        graders_ = await asyncio.to_thread(resolve_judge_graders, engine, workspace, prompt.graders)
        prompt = prompt.model_copy(update={"graders": graders_})
    prices = await asyncio.to_thread(PriceTable.load, workspace)
    default_model = prompt.model or prompt.provider
    specs = [parse_model(m, prompt.provider) for m in (models or [default_model])]
    specs = list(dict.fromkeys(specs))  # the same model twice runs once
    state = _Eval(
        engine, prompt, concurrency=concurrency, cache=cache, timeout=timeout, retry=retry,
        prices=prices, progress=progress, workspace=workspace,
    )  # fmt: skip
    runs = _runs(specs, strategies or [strategy_of(prompt)], prompt.provider)
    for name in sorted(_providers(runs, prompt.provider) | _judge_providers(prompt)):
        state.provider(name)  # ProviderError now, before any run is recorded
    p_hash = prompt_hash(prompt_text)
    await asyncio.to_thread(_record_prompt, engine, prompt, prompt_text, by, workspace)
    resolve = state.context().resolve
    for run in runs:
        identity = run.strategy.identity(resolve, run.provider, run.model)
        values = {
            "key": run_key(
                p_hash,
                info.hash,
                run.provider,
                run.model,
                state.params,
                prompt.graders,
                split=split if chosen is None else part,
                strategy=identity,
                cases=None if chosen is None else sorted(chosen),
            ),
            "prompt_name": prompt.name,
            "prompt_hash": p_hash,
            "dataset_name": dataset,
            "dataset_version": info.number,
            "dataset_hash": info.hash,
            "provider": run.provider,
            "model": run.model,
            "params": orjson.dumps(state.params).decode(),
            "graders": orjson.dumps(prompt.graders).decode(),
            "status": "running",
            "started_at": _now(),
            "created_by": by,
            "split": split if chosen is None else (part or "cases"),
            "strategy": (
                None if identity is None else orjson.dumps(run.strategy.to_dict()).decode()
            ),
        }
        run.run_id, run.resumed, run.done = await asyncio.to_thread(
            _open_run, engine, values, cache
        )
        if any(s.get("type") == "pairwise" for s in prompt.graders):
            base = await asyncio.to_thread(baseline_for, engine, run.run_id)
            run.baseline = {k: side.text for k, side in base.cases.items() if side.output}
    count = info.item_count
    if split is not None or chosen is not None:
        count = await asyncio.to_thread(count_items, engine, dataset, info.number, split, chosen)
    state.total = count * len(runs)
    started = time.perf_counter()
    status = "failed"
    flusher = asyncio.create_task(state.writer.loop())
    try:
        try:
            await _drive(state, runs, dataset, info.number, concurrency, split, chosen)
        except BaseExceptionGroup as group:  # a worker failed: raise what went wrong
            raise group.exceptions[0] from None
        status = "done"
    except asyncio.CancelledError:
        status = "cancelled"
        raise
    finally:
        state.writer.close()
        await asyncio.gather(flusher, return_exceptions=True)
        await state.writer.flush()
        await state.close()
        outcomes = []
        for run in runs:
            extra = {
                "resumed": len(run.done),
                "called": run.called,
                "seconds": round(time.perf_counter() - started, 3),
            }
            summary = await asyncio.to_thread(_finish_run, engine, run.run_id, status, extra)
            outcomes.append(
                RunOutcome(run.run_id, run.provider, run.model, status, run.resumed, summary)
            )
    return outcomes


async def _drive(
    state: _Eval,
    runs: list[_Model],
    dataset: str,
    number: int,
    concurrency: int,
    split: str | None = None,
    cases: frozenset[str] | None = None,
) -> None:
    """Feed the jobs to `concurrency` workers (models interleaved) until all are done."""
    queue: asyncio.Queue[_Job | None] = asyncio.Queue(maxsize=max(1, concurrency) * 4)

    async def worker() -> None:
        while True:
            job = await queue.get()
            if job is None:
                return
            await state.work(job)

    async with asyncio.TaskGroup() as group:
        workers = [group.create_task(worker()) for _ in range(max(1, concurrency))]
        async for page in _pages(state.engine, dataset, number, split, cases):
            rendered: list[tuple[dict[str, Any], list[dict[str, Any]] | None, str | None]] = []
            for item in page:
                try:
                    rendered.append((item, render(state.prompt, item), None))
                except PromptError as exc:
                    rendered.append((item, None, str(exc)))
            todo: list[_Job] = []
            for item, messages, error in rendered:
                for run in runs:
                    if str(item["id"]) in run.done:
                        state.tick()
                        continue
                    key = (
                        cache_key(run.provider, run.model, state.params, messages)
                        if messages is not None and run.strategy.plain
                        else None
                    )
                    todo.append(_Job(run, item, messages, key, error=error))
            strategic = [j for j in todo if not j.run.strategy.plain]
            todo = [j for j in todo if j.run.strategy.plain]
            if state.cache:
                keys = [j.key for j in todo if j.key is not None]
                found = await asyncio.to_thread(_cache_get, state.engine, keys) if keys else {}
                for job in todo:
                    if job.key is not None:
                        job.cached = found.get(job.key)
            for job in todo:
                if job.cached is not None:
                    await state.work(job)  # no model call: no worker needed
                else:
                    await queue.put(job)
            for job in strategic:  # their calls find their own answers in the cache
                await queue.put(job)
        for _ in workers:
            await queue.put(None)


def run_eval_sync(*args: Any, **kwargs: Any) -> list[RunOutcome]:
    """`run_eval` for the CLI: its own event loop (Ctrl-C cancels the run, marked cancelled)."""
    return asyncio.run(run_eval(*args, **kwargs))
