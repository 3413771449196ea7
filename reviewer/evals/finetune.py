"""Fine-tuning on a dataset: its reviewed cases uploaded as a training file, a job started
through the provider's SDK, followed until it gives a tuned model to evaluate.

    start(engine, "support-regressions", "gpt-4o-mini", split="train", method="sft")
    refresh(engine, "ftjob-abc")  # status, trained tokens, error; the tuned model id

- The file is the dataset's own export for the method (`openai-chat` lines for supervised
  fine-tuning, `openai-dpo` preference pairs for DPO) of the items of one split (train by
  default, so the test split stays held out for the eval that follows), built in a temporary
  file and uploaded with `files.create(purpose="fine-tune")`.
- Only OpenAI's API (api.openai.com, or any server offering its files and fine_tuning endpoints
  at OPENAI_BASE_URL) has one; the other providers get a clear `FinetuneError`.
- Every step is recorded before the next (the `finetune_jobs` table): a start killed after the
  upload resumes with the file already sent, a start killed while the job was being created
  finds that job on the server (by the request id sent as its metadata) instead of making a
  second, and a file with the same content (its SHA-256) is uploaded once.
- Credentials are read from the environment and never stored; the server's URL is kept without
  any user:password part.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Engine, Table, select, update
from sqlmodel import SQLModel

from reviewer.datasets.exporters import LINE_WRITERS
from reviewer.datasets.versions import VersionInfo, iter_version_items, version_info
from reviewer.evals.runner import parse_model
from reviewer.exporting import ExportReport
from reviewer.redact import redact_value
from reviewer.store import schema  # noqa: F401  (registers the tables)
from reviewer.store.events import stamp, utc_now, write_transaction

JOBS: Table = SQLModel.metadata.tables["finetune_jobs"]

#: method -> (the export format of its file, the API's method type)
METHODS: dict[str, tuple[str, str]] = {
    "sft": ("openai-chat", "supervised"),
    "dpo": ("openai-dpo", "dpo"),
}
SPLITS = ("train", "test", "all")
#: OpenAI refuses a training file with fewer examples.
MIN_EXAMPLES = 10
#: The states a job does not leave.
FINAL = ("succeeded", "failed", "cancelled")
#: Before the provider has a job: the file is being uploaded / was uploaded.
LOCAL = ("uploading", "uploaded")
UPLOAD_TIMEOUT = 600.0
CALL_TIMEOUT = 60.0


class FinetuneError(Exception):
    """Fine-tuning that cannot go on: a clear message. `usage` is True when nothing was done
    because the call cannot work (a provider without fine-tuning, no key, too few examples, an
    unknown job); False when the provider refused or failed a request."""

    def __init__(self, message: str, *, usage: bool = True) -> None:
        super().__init__(message)
        self.usage = usage


@dataclass(slots=True)
class JobView:
    """A recorded fine-tuning job."""

    id: int
    job_id: str | None
    provider: str
    base_url: str | None
    base_model: str
    dataset_name: str
    dataset_version: int
    dataset_hash: str
    split: str
    method: str
    suffix: str | None
    examples: int
    file_sha256: str
    file_bytes: int
    file_id: str | None
    status: str
    fine_tuned_model: str | None
    trained_tokens: int | None
    error: str | None
    created_at: str
    updated_at: str
    finished_at: str | None
    created_by: str | None

    @classmethod
    def from_row(cls, row: Any) -> JobView:
        return cls(**{f.name: row._mapping[f.name] for f in fields(cls)})

    @property
    def final(self) -> bool:
        return self.status in FINAL

    @property
    def dataset_label(self) -> str:
        """`support-regressions@3/train`."""
        return f"{self.dataset_name}@{self.dataset_version}/{self.split}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class StartOutcome:
    """What `start` did: the job, and whether it uploaded, reused or resumed anything."""

    job: JobView
    uploaded: bool = False  # the file was sent now
    reused_file: bool = False  # a file with the same content was already on the server
    resumed: bool = False  # an earlier start, cut off after its upload, was completed
    existing: bool = False  # the same job was already started: nothing was done
    items: int = 0  # items of the split
    skipped: dict[str, int] = field(default_factory=dict)  # items left out of the file, by reason

    def to_dict(self) -> dict[str, Any]:
        return {
            "job": self.job.to_dict(),
            "uploaded": self.uploaded,
            "reused_file": self.reused_file,
            "resumed": self.resumed,
            "existing": self.existing,
            "items": self.items,
            "skipped": dict(self.skipped),
        }


# -- the client -----------------------------------------------------------------------------------


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def safe_base_url(url: str | None) -> str | None:
    """The server's URL without any user:password part (what is stored and shown)."""
    if not url:
        return None
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


def split_model(value: str) -> tuple[str, str]:
    """`gpt-4o-mini` -> (openai, gpt-4o-mini); `anthropic:claude-haiku-4-5` -> (anthropic, ...):
    a model named as `reviewer eval -m` takes it, OpenAI's when no provider is named."""
    return parse_model(value, "openai")


def check_provider(provider: str) -> None:
    """FinetuneError for a provider without a fine-tuning API (anthropic, echo)."""
    if provider != "openai":
        raise FinetuneError(
            f"{provider} has no fine-tuning API: reviewer fine-tunes through OpenAI's API "
            "(--model gpt-4o-mini, say; OPENAI_BASE_URL for a server offering the same API)"
        )


def openai_client(base_url: str | None = None) -> Any:
    """An `openai.OpenAI` client from the environment (OPENAI_API_KEY, OPENAI_BASE_URL); a
    FinetuneError saying how to configure one when neither is set."""
    base = base_url or _env("OPENAI_BASE_URL")
    key = _env("OPENAI_API_KEY")
    if key is None and base is None:
        raise FinetuneError(
            "OPENAI_API_KEY is not set: export it to fine-tune on the OpenAI API, or set "
            "OPENAI_BASE_URL for a server offering the same fine-tuning API"
        )
    from openai import OpenAI

    return OpenAI(api_key=key or "unused", base_url=base, max_retries=2, timeout=CALL_TIMEOUT)


def _client_url(client: Any) -> str | None:
    return safe_base_url(str(getattr(client, "base_url", "") or "")) or None


def _api_error(exc: Exception, what: str, where: str | None) -> FinetuneError:
    """An SDK error as one line: what was being done, the HTTP status and the server's words."""
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        body = getattr(exc, "body", None)
        message = None
        if isinstance(body, dict):
            err = body.get("error", body)
            if isinstance(err, dict) and isinstance(err.get("message"), str):
                message = err["message"]
        message = message or str(getattr(exc, "message", None) or exc)
        return FinetuneError(f"{what}: HTTP {status}: {message}", usage=False)
    kind = type(exc).__name__
    if "Timeout" in kind:
        return FinetuneError(f"{what}: timed out ({where or 'the OpenAI API'})", usage=False)
    if "Connection" in kind:
        return FinetuneError(f"{what}: cannot connect to {where or 'the OpenAI API'}", usage=False)
    return FinetuneError(f"{what}: {kind}: {exc}", usage=False)


@contextmanager
def _calling(what: str, client: Any) -> Iterator[None]:
    """SDK errors inside become a FinetuneError naming `what`."""
    try:
        yield
    except FinetuneError:
        raise
    except Exception as exc:
        if type(exc).__module__.split(".")[0] != "openai":
            raise
        raise _api_error(exc, what, _client_url(client)) from None


def _not_found(exc: Exception) -> bool:
    return getattr(exc, "status_code", None) == 404


# -- the training file ----------------------------------------------------------------------------


@dataclass(slots=True)
class TrainingFile:
    """The file to upload, written to a temporary path (the caller removes it)."""

    path: Path
    sha256: str
    size: int
    info: VersionInfo
    split: str
    method: str
    items: int  # items of the split
    report: ExportReport

    @property
    def examples(self) -> int:
        return self.report.written


def _items_of(
    engine: Engine, dataset: str, number: int, split: str, seen: Counter[str]
) -> Iterator[dict[str, Any]]:
    for item in iter_version_items(engine, dataset, number):
        seen[item.get("split") or "test"] += 1
        if split == "all" or (item.get("split") or "test") == split:
            yield item


def build_training_file(
    engine: Engine,
    dataset: str,
    *,
    version: int | None = None,
    split: str = "train",
    method: str = "sft",
    redact: bool = False,
) -> TrainingFile:
    """The training file of a dataset version's split for `method`; FinetuneError when it would
    hold no example or fewer than OpenAI takes (nothing is kept then)."""
    if method not in METHODS:
        raise FinetuneError(f"unknown method {method!r} (methods: {', '.join(METHODS)})")
    if split not in SPLITS:
        raise FinetuneError(f"unknown split {split!r} (splits: {', '.join(SPLITS)})")
    info = version_info(engine, dataset, version)
    fmt = METHODS[method][0]
    seen: Counter[str] = Counter()
    items: Any = _items_of(engine, dataset, info.number, split, seen)
    if redact:
        items = (redact_value(item) for item in items)
    handle, name = tempfile.mkstemp(prefix="reviewer-finetune-", suffix=".jsonl")
    path = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            report = LINE_WRITERS[fmt](items, out)
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        in_split = sum(seen.values()) if split == "all" else seen[split]
        _check_examples(info, split, method, in_split, seen, report)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return TrainingFile(
        path, digest.hexdigest(), path.stat().st_size, info, split, method, in_split, report
    )


def _check_examples(
    info: VersionInfo,
    split: str,
    method: str,
    in_split: int,
    seen: Counter[str],
    report: ExportReport,
) -> None:
    where = f"dataset {info.dataset} v{info.number}"
    items = "items" if split == "all" else f"{split} items"
    if in_split == 0:
        others = ", ".join(f"{n} {s}" for s, n in sorted(seen.items())) or "none"
        hint = " (--split all takes every item)" if seen else ""
        raise FinetuneError(f"{where} has no {items} (its items by split: {others}){hint}")
    why = ""
    if report.skipped:
        reasons = ", ".join(f"{n} {r}" for r, n in sorted(report.skipped.items()))
        why = f" ({report.total_skipped} left out: {reasons})"
    if report.written == 0:
        raise FinetuneError(
            f"{where}: none of its {in_split} {items} can train {method}{why}; "
            + (
                "DPO needs an expected answer that differs from the logged output"
                if method == "dpo"
                else "supervised fine-tuning needs an expected answer"
            )
        )
    if report.written < MIN_EXAMPLES:
        raise FinetuneError(
            f"{where}: {report.written} of its {in_split} {items} can train {method}{why}, and "
            f"OpenAI needs at least {MIN_EXAMPLES} examples: promote more reviewed cases"
            + ("" if split == "all" else " or use --split all")
        )


# -- the records ----------------------------------------------------------------------------------


def _now() -> str:
    return stamp(utc_now())


def _from_epoch(value: Any) -> str | None:
    if not isinstance(value, int | float) or value <= 0:
        return None
    return stamp(datetime.fromtimestamp(value, UTC))


def _view(engine: Engine, row_id: int) -> JobView:
    with engine.connect() as conn:
        row = conn.execute(select(JOBS).where(JOBS.c.id == row_id)).one()
    return JobView.from_row(row)


def _set(engine: Engine, row_id: int, **values: Any) -> JobView:
    with write_transaction(engine) as conn:
        conn.execute(update(JOBS).where(JOBS.c.id == row_id).values(updated_at=_now(), **values))
    return _view(engine, row_id)


def list_jobs(engine: Engine) -> list[JobView]:
    """Every recorded job, newest first."""
    with engine.connect() as conn:
        rows = conn.execute(select(JOBS).order_by(JOBS.c.id.desc())).all()
    return [JobView.from_row(r) for r in rows]


def find_job(engine: Engine, job: str) -> JobView:
    """The recorded job with the provider's id `job` (or, for a start cut off before its job
    was created, its record number); FinetuneError when there is none."""
    with engine.connect() as conn:
        row = conn.execute(select(JOBS).where(JOBS.c.job_id == job)).first()
        if row is None and job.isdigit():
            row = conn.execute(select(JOBS).where(JOBS.c.id == int(job))).first()
    if row is None:
        raise FinetuneError(
            f"no fine-tuning job {job!r} is recorded here (reviewer finetune status lists them)"
        )
    return JobView.from_row(row)


def _same_start(engine: Engine, values: dict[str, Any]) -> list[JobView]:
    keys = ("provider", "base_url", "base_model", "method", "suffix", "file_sha256")
    where = [JOBS.c[k].is_(None) if values[k] is None else JOBS.c[k] == values[k] for k in keys]
    with engine.connect() as conn:
        rows = conn.execute(select(JOBS).where(*where).order_by(JOBS.c.id.desc())).all()
    return [JobView.from_row(r) for r in rows]


def _uploaded_files(engine: Engine, sha256: str, base_url: str | None) -> list[str]:
    """File ids on this server with this content, newest first."""
    where = JOBS.c.base_url.is_(None) if base_url is None else JOBS.c.base_url == base_url
    with engine.connect() as conn:
        rows = conn.execute(
            select(JOBS.c.file_id)
            .where(JOBS.c.file_sha256 == sha256, JOBS.c.file_id.is_not(None), where)
            .order_by(JOBS.c.id.desc())
        ).all()
    return list(dict.fromkeys(r.file_id for r in rows))


def _job_values(job: Any) -> dict[str, Any]:
    """What a retrieved job changes in its record."""
    error = getattr(job, "error", None)
    text = None
    if error is not None and (getattr(error, "message", None) or getattr(error, "code", None)):
        code = getattr(error, "code", None)
        text = f"{code}: {error.message}" if code else str(error.message)
    values: dict[str, Any] = {
        "job_id": job.id,
        "status": str(job.status),
        "fine_tuned_model": getattr(job, "fine_tuned_model", None),
        "trained_tokens": getattr(job, "trained_tokens", None),
        "error": text,
        "finished_at": _from_epoch(getattr(job, "finished_at", None)),
    }
    return values


# -- starting -------------------------------------------------------------------------------------


def _upload_name(training: TrainingFile) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", training.info.dataset).strip("-") or "dataset"
    return f"{stem}-v{training.info.number}-{training.split}.{training.method}.jsonl"


def _file_on_server(client: Any, file_id: str) -> bool:
    """Whether the server still has the file (a 404: it was deleted, or another server)."""
    try:
        client.files.retrieve(file_id)
    except Exception as exc:
        if _not_found(exc):
            return False
        if type(exc).__module__.split(".")[0] != "openai":
            raise
        raise _api_error(
            exc, f"checking the uploaded file {file_id}", _client_url(client)
        ) from None
    return True


def _find_created(client: Any, file_id: str, request_id: str, recorded: set[str]) -> Any | None:
    """The job an earlier, cut-off start created from this file, if the server has it."""
    with _calling("listing fine-tuning jobs", client):
        page = client.fine_tuning.jobs.list(limit=100)
    for job in page.data:
        if job.id in recorded or job.training_file != file_id:
            continue
        metadata = getattr(job, "metadata", None) or {}
        if metadata.get("reviewer_request") == request_id:
            return job
    return None


def start(
    engine: Engine,
    dataset: str,
    model: str,
    *,
    split: str = "train",
    method: str = "sft",
    version: int | None = None,
    suffix: str | None = None,
    redact: bool = False,
    again: bool = False,
    by: str | None = None,
    client: Any = None,
    progress: Callable[[str], None] | None = None,
) -> StartOutcome:
    """Build the training file, upload it (once per content) and create the job, recording each
    step. The same start again (same file content, base model, method and suffix) returns the
    job already started unless `again`, or that job failed or was cancelled."""
    say = progress or (lambda _text: None)
    provider, base_model = split_model(model)
    check_provider(provider)
    if suffix is not None and not 1 <= len(suffix) <= 64:
        raise FinetuneError("--suffix is 1 to 64 characters (it becomes part of the model id)")
    client = client if client is not None else openai_client()
    base_url = _client_url(client)
    training = build_training_file(
        engine, dataset, version=version, split=split, method=method, redact=redact
    )
    try:
        return _start(
            engine, client, training, provider, base_url, base_model, suffix, again, by, say
        )
    finally:
        training.path.unlink(missing_ok=True)


def _start(
    engine: Engine,
    client: Any,
    training: TrainingFile,
    provider: str,
    base_url: str | None,
    base_model: str,
    suffix: str | None,
    again: bool,
    by: str | None,
    say: Callable[[str], None],
) -> StartOutcome:
    values: dict[str, Any] = {
        "provider": provider,
        "base_url": base_url,
        "base_model": base_model,
        "method": training.method,
        "suffix": suffix,
        "file_sha256": training.sha256,
    }
    items, skipped = training.items, dict(training.report.skipped)
    earlier = _same_start(engine, values)
    started = next(
        (j for j in earlier if j.job_id and j.status not in ("failed", "cancelled")), None
    )
    if started is not None and not again:
        return StartOutcome(started, existing=True, items=items, skipped=skipped)
    cut_off = next((j for j in earlier if j.job_id is None), None)
    view = cut_off if cut_off is not None else _record_start(engine, values, training, by)
    resumed = cut_off is not None and cut_off.file_id is not None
    uploaded = reused = False
    if view.file_id is None or not _file_on_server(client, view.file_id):
        resumed = False  # the job cannot have been created from a file the server lacks
        known = _uploaded_files(engine, training.sha256, base_url)
        file_id = next((f for f in known if _file_on_server(client, f)), None)
        if file_id is not None:
            reused = True
            say(f"the same file is already uploaded ({file_id}): not sent again")
        else:
            say(f"uploading {training.examples} examples ({training.size:,} bytes)")
            with _calling("uploading the training file", client), training.path.open("rb") as fh:
                sent = client.files.create(
                    file=(_upload_name(training), fh, "application/jsonl"),
                    purpose="fine-tune",
                    timeout=UPLOAD_TIMEOUT,
                )
            file_id, uploaded = sent.id, True
        view = _set(engine, view.id, file_id=file_id, status="uploaded")
    file_id = view.file_id
    assert file_id is not None
    request_id = _request_id(engine, view.id)
    job = None
    if resumed:  # the job may have been created, its answer lost: look before making another
        recorded = {j.job_id for j in list_jobs(engine) if j.job_id}
        job = _find_created(client, file_id, request_id, recorded)
    if job is None:
        kind = METHODS[training.method][1]
        say(f"creating the job on {base_model} ({kind})")
        kwargs: dict[str, Any] = {
            "training_file": file_id,
            "model": base_model,
            "method": {"type": kind},
            "metadata": {
                "reviewer_request": request_id,
                "reviewer_dataset": view.dataset_label[:512],
            },
        }
        if suffix is not None:
            kwargs["suffix"] = suffix
        with _calling("creating the fine-tuning job", client):
            job = client.fine_tuning.jobs.create(**kwargs)
    view = _set(engine, view.id, **_job_values(job))
    return StartOutcome(
        view, uploaded, reused, resumed, existing=False, items=items, skipped=skipped
    )


def _record_start(
    engine: Engine, values: dict[str, Any], training: TrainingFile, by: str | None
) -> JobView:
    """The record of a new start, committed before anything is sent."""
    now = _now()
    with write_transaction(engine) as conn:
        inserted = conn.execute(
            JOBS.insert().values(
                **values,
                dataset_name=training.info.dataset,
                dataset_version=training.info.number,
                dataset_hash=training.info.hash,
                split=training.split,
                examples=training.examples,
                file_bytes=training.size,
                request_id=uuid.uuid4().hex,
                status="uploading",
                created_at=now,
                updated_at=now,
                created_by=by,
            )
        ).inserted_primary_key
    assert inserted is not None
    return _view(engine, int(inserted[0]))


def _request_id(engine: Engine, row_id: int) -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(JOBS.c.request_id).where(JOBS.c.id == row_id)).scalar_one())


# -- following ------------------------------------------------------------------------------------


def refresh(engine: Engine, job: str, *, client: Any = None) -> JobView:
    """Retrieve the job from its provider and record its status, trained tokens, error and, once
    it succeeded, the tuned model's id."""
    view = find_job(engine, job)
    if view.job_id is None:
        raise FinetuneError(
            f"record {view.id} has no job yet (its start was cut off while {view.status}): run "
            f"the same reviewer finetune start again to finish it"
        )
    check_provider(view.provider)
    client = client if client is not None else openai_client()
    with _calling(f"retrieving {view.job_id}", client):
        found = client.fine_tuning.jobs.retrieve(view.job_id)
    return _set(engine, view.id, **_job_values(found))


def cancel(engine: Engine, job: str, *, client: Any = None) -> JobView:
    """Ask the provider to cancel the job, and record what it says."""
    view = find_job(engine, job)
    if view.job_id is None:
        raise FinetuneError(f"record {view.id} has no job to cancel (nothing was created)")
    if view.final:
        raise FinetuneError(f"{view.job_id} has already ended ({view.status})")
    check_provider(view.provider)
    client = client if client is not None else openai_client()
    with _calling(f"cancelling {view.job_id}", client):
        found = client.fine_tuning.jobs.cancel(view.job_id)
    return _set(engine, view.id, **_job_values(found))


def wait(
    engine: Engine,
    job: str,
    *,
    interval: float = 30.0,
    client: Any = None,
    on_change: Callable[[JobView], None] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> JobView:
    """Retrieve the job every `interval` seconds until it succeeded, failed or was cancelled;
    `on_change(view)` at the first retrieval and at each change of status or trained tokens.
    KeyboardInterrupt stops the waiting, never the job."""
    client = client if client is not None else openai_client()
    last: tuple[Any, ...] | None = None
    while True:
        view = refresh(engine, job, client=client)
        state = (view.status, view.trained_tokens, view.fine_tuned_model)
        if state != last and on_change is not None:
            on_change(view)
        last = state
        if view.final:
            return view
        (sleep or time.sleep)(interval)


def last_prompt(engine: Engine, dataset: str) -> str | None:
    """The prompt last evaluated on `dataset` (for the eval command to suggest), if any."""
    runs = SQLModel.metadata.tables["eval_runs"]
    with engine.connect() as conn:
        row = conn.execute(
            select(runs.c.prompt_name)
            .where(runs.c.dataset_name == dataset)
            .order_by(runs.c.id.desc())
            .limit(1)
        ).first()
    return None if row is None else str(row.prompt_name)


def eval_command(
    view: JobView, prompt: str | None, prompt_provider: str | None = None
) -> str | None:
    """The command that compares the tuned model with its base on the held-out split. The
    models carry `openai:` when the prompt runs on another provider."""
    if view.fine_tuned_model is None:
        return None
    split = " --split test" if view.split == "train" else ""
    on = f"{view.provider}:" if prompt_provider not in (None, view.provider) else ""
    return (
        f"reviewer eval {prompt or 'PROMPT'} -d {view.dataset_name}{split} "
        f"-m {on}{view.base_model} -m {on}{view.fine_tuned_model}"
    )


def age(created_at: str, now: datetime | None = None) -> str:
    """How long ago a stored timestamp was: `45 s`, `12 min`, `3 h`, `2 d`."""
    try:
        then = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    except ValueError:
        return "-"
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    seconds = max(0.0, ((now or datetime.now(UTC)) - then).total_seconds())
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min"
    if seconds < 86400:
        return f"{seconds // 3600:.0f} h"
    return f"{seconds // 86400:.0f} d"
