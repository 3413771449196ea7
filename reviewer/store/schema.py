"""The database tables. JSON-valued columns hold JSON text (portable across SQLite and PostgreSQL,
and written in bulk without a per-row conversion)."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Column, Field, SQLModel

from reviewer.messages import Message


def _text() -> Any:
    return Field(default=None, sa_column=Column(Text, nullable=True))


class RecordRow(SQLModel, table=True):
    """One imported call (see `reviewer.records.Record`)."""

    __tablename__ = "records"
    __table_args__ = (
        Index("ix_records_timestamp", "timestamp"),
        Index("ix_records_model", "model"),
        Index("ix_records_trace_id", "trace_id"),
        Index("ix_records_import_id", "import_id"),  # queue sync looks at what is new
        Index("ix_records_session_id", "session_id"),  # a chat log's trace is its session
    )

    id: str = Field(primary_key=True)
    source_path: str = ""
    source_line: int = 0
    source_format: str = ""
    timestamp: str | None = None
    provider: str | None = None
    model: str | None = None
    params: str | None = _text()
    messages: str | None = _text()
    output: str | None = _text()
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_ms: float | None = None
    cost_usd: float | None = None
    user_id: str | None = None
    session_id: str | None = None
    trace_id: str | None = None
    prompt_name: str | None = None
    prompt_version: str | None = None
    feedback_score: float | None = None
    feedback_comment: str | None = _text()
    error: str | None = _text()
    metadata_: str | None = Field(default=None, sa_column=Column("metadata", Text, nullable=True))
    raw: str | None = _text()
    import_id: int | None = None
    parent_id: str | None = None
    kind: str = Field(default="llm", sa_column_kwargs={"server_default": "llm"})
    name: str | None = None
    inputs: str | None = _text()
    outputs: str | None = _text()

    def message_list(self) -> list[Message]:
        return orjson.loads(self.messages) if self.messages else []

    def output_message(self) -> Message | None:
        return orjson.loads(self.output) if self.output else None

    def params_dict(self) -> dict[str, Any]:
        return orjson.loads(self.params) if self.params else {}

    def metadata_dict(self) -> dict[str, Any]:
        return orjson.loads(self.metadata_) if self.metadata_ else {}


class TraceRow(SQLModel, table=True):
    """One trace's totals (see `reviewer.store.traces`): rebuilt from its steps by each import."""

    __tablename__ = "traces"
    __table_args__ = (Index("ix_traces_started", "started"), Index("ix_traces_anchor", "anchor_id"))

    key: str = Field(primary_key=True)
    anchor_id: str = ""
    steps: int = 0
    llm_calls: int = 0
    tool_calls: int = 0
    errors: int = 0
    tool_errors: int = 0
    started: str | None = None
    ended: str | None = None
    duration_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    tools: str | None = _text()
    final_output: str | None = _text()


#: Column order used by the bulk writer (the database names, not the attribute names).
RECORD_COLUMNS: tuple[str, ...] = (
    "id", "source_path", "source_line", "source_format", "timestamp", "provider", "model",
    "params", "messages", "output", "input_tokens", "output_tokens", "latency_ms", "cost_usd",
    "user_id", "session_id", "trace_id", "prompt_name", "prompt_version", "feedback_score",
    "feedback_comment", "error", "metadata", "raw", "import_id", "parent_id", "kind", "name",
    "inputs", "outputs",
)  # fmt: skip


class ImportRun(SQLModel, table=True):
    """One `reviewer import` call and its report."""

    __tablename__ = "imports"

    id: int | None = Field(default=None, primary_key=True)
    started_at: str
    finished_at: str | None = None
    report: str | None = _text()


class RejectedLine(SQLModel, table=True):
    """A line (or document) that could not be imported, kept with its text and the reason."""

    __tablename__ = "rejected_lines"
    __table_args__ = (UniqueConstraint("key", name="uq_rejected_lines_key"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str  # hash of path, line and text: re-importing the same bad file adds nothing
    import_id: int | None = None
    path: str
    line: int
    format: str | None = None
    reason: str = Field(sa_column=Column(Text, nullable=False))
    raw: str | None = _text()
    raw_size: int = 0
    created_at: str = ""


class BatchRequest(SQLModel, table=True):
    """A line of an OpenAI Batch input file, kept to join with its output line by custom_id."""

    __tablename__ = "batch_requests"

    custom_id: str = Field(primary_key=True)
    path: str = ""
    line: int = 0
    body: str | None = _text()


class Meta(SQLModel, table=True):
    """Key/value facts about the database itself, such as the schema version."""

    __tablename__ = "meta"

    key: str = Field(primary_key=True)
    value: str


# -- review (schema version 2) ------------------------------------------------------------------


class Theme(SQLModel, table=True):
    """A failure theme, shared by the whole workspace (queues offer a subset)."""

    __tablename__ = "themes"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    description: str | None = _text()
    created_by: str | None = None
    created_at: str = ""


class QueueItem(SQLModel, table=True):
    """A record's membership in a review queue, materialized by `queues sync`.

    `status` and `reviews_done` are a cache of what the review history says (kept in the same
    transaction as each review event); `active` is false for items that no longer match an
    edited filter but keep the reviews made on them.
    """

    __tablename__ = "queue_items"
    __table_args__ = (
        UniqueConstraint("queue", "record_id", name="uq_queue_items_queue_record"),
        Index("ix_queue_items_queue_position", "queue", "position"),
        Index("ix_queue_items_queue_status", "queue", "status", "position"),
    )

    id: int | None = Field(default=None, primary_key=True)
    queue: str
    record_id: str = Field(foreign_key="records.id")
    position: float = 0.0  # the queue's order (newest, oldest, random, slowest)
    status: str = "pending"  # pending | done | skipped
    reviews_done: int = 0
    active: bool = True
    added_at: str = ""


class Claim(SQLModel, table=True):
    """A reviewer holding an item for a while, so two reviewers do not get the same one."""

    __tablename__ = "claims"
    __table_args__ = (
        UniqueConstraint("queue_item_id", "reviewer", name="uq_claims_item_reviewer"),
        Index("ix_claims_expires", "expires_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    queue_item_id: int = Field(foreign_key="queue_items.id")
    reviewer: str
    claimed_at: str
    expires_at: str


class ReviewEvent(SQLModel, table=True):
    """One action of a reviewer on an item, append-only.

    Each event carries the whole state of that reviewer's review of the item after the action
    (verdict, scores, themes, note, corrected answer, skipped), so the current state is the
    latest event of the (item, reviewer), and undo is a new event restoring an earlier state.
    """

    __tablename__ = "review_events"
    __table_args__ = (
        Index("ix_review_events_item_reviewer", "queue_item_id", "reviewer", "id"),
        Index("ix_review_events_queue_reviewer", "queue", "reviewer", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    queue_item_id: int = Field(foreign_key="queue_items.id")
    queue: str
    record_id: str = Field(foreign_key="records.id")
    reviewer: str
    action: (
        str  # verdict | score | themes | note | correct | skip | undo | promote | step | step_note
    )
    verdict: str | None = None  # pass | fail
    scores: str | None = _text()  # JSON object: rubric score name -> value
    themes: str | None = _text()  # JSON list of theme names
    note: str | None = _text()
    corrected: str | None = _text()
    skipped: bool = False
    complete: bool = False  # the review meets the rubric's required scores
    seconds: float = 0.0  # time spent on the item by this reviewer so far
    undoes: int | None = None  # the event an undo reverts
    created_at: str = ""
    # how this review relates to an assistant's suggestion (schema 3): `accepted` whole with
    # `y`, `edited` after accepting, `shown` beside the reviewer's own grading, `blind` hidden
    # until the verdict was given; None when the item had no suggestion
    suggestion_id: int | None = None
    suggestion: str | None = None
    # a trace's review (schema 5): the step marked as where it went wrong (a record id of the
    # trace), and notes on single steps (JSON object: step record id -> note)
    step_id: str | None = None
    step_notes: str | None = _text()


class Dataset(SQLModel, table=True):
    """A named eval dataset; its items are promoted from reviews or imported."""

    __tablename__ = "datasets"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    description: str | None = _text()
    created_at: str = ""


class DatasetItem(SQLModel, table=True):
    """A test case: the input, the expected output, assertions and where it came from."""

    __tablename__ = "dataset_items"
    __table_args__ = (
        Index("ix_dataset_items_dataset", "dataset_id"),
        UniqueConstraint("dataset_id", "source_key", name="uq_dataset_items_source"),
        UniqueConstraint("dataset_id", "ref", name="uq_dataset_items_ref"),
    )

    id: int | None = Field(default=None, primary_key=True)
    dataset_id: int = Field(foreign_key="datasets.id")
    source_key: str  # what makes a promotion unique: the queue item and reviewer, or a hash
    record_id: str | None = Field(default=None, foreign_key="records.id")
    review_event_id: int | None = None
    messages: str | None = _text()  # JSON: the input conversation
    tools: str | None = _text()  # JSON: the tool definitions offered (OpenAI's shape); None: none
    vars: str | None = _text()  # JSON object of template variables
    expected: str | None = _text()
    assertions: str | None = _text()  # JSON list of {type, value}
    themes: str | None = _text()  # JSON list
    scores: str | None = _text()  # JSON object
    split: str = "test"
    removed: bool = False
    created_by: str | None = None
    created_at: str = ""
    # the item's id as an imported file gave it; None: the id is "<dataset name>/<row id>"
    ref: str | None = None
    # JSON: the source as an imported file gave it; None: this workspace's record and review
    # (record_id, review_event_id), or none
    source: str | None = _text()
    output: str | None = _text()  # JSON: the logged output message (rejected or approved)
    content_hash: str | None = None  # of the canonical content (see reviewer.datasets.items)
    updated_at: str = ""


class DatasetItemContent(SQLModel, table=True):
    """The canonical content of a dataset item (JSON), once per content hash: versions share
    identical contents."""

    __tablename__ = "dataset_item_contents"

    content_hash: str = Field(primary_key=True)
    content: str = Field(sa_column=Column(Text, nullable=False))


class DatasetVersion(SQLModel, table=True):
    """An immutable, content-hashed state of a dataset: made by every change to its items."""

    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "number", name="uq_dataset_versions_number"),)

    id: int | None = Field(default=None, primary_key=True)
    dataset_id: int = Field(foreign_key="datasets.id")
    number: int  # 1, 2, ... per dataset
    hash: str  # over the ordered (item id, content hash) pairs
    item_count: int = 0
    created_at: str = ""
    created_by: str | None = None
    note: str | None = _text()  # what changed: "promoted 1 review", "edited item ds/17", ...


class DatasetVersionItem(SQLModel, table=True):
    """An item's content during a run of versions: in versions `since_version` up to, not
    including, `until_version` (None: still in the latest). Rows are only ever added and
    `until_version` is set once, so every version stays readable as it was, while a change
    writes only what changed."""

    __tablename__ = "dataset_version_items"
    __table_args__ = (
        Index("ix_dataset_version_items_item", "dataset_id", "item_id"),
        Index("ix_dataset_version_items_open", "dataset_id", "until_version"),
    )

    id: int | None = Field(default=None, primary_key=True)
    dataset_id: int = Field(foreign_key="datasets.id")
    item_id: int = Field(foreign_key="dataset_items.id")  # position: versions list by item id
    item_ref: str  # the item's canonical id
    content_hash: str = Field(foreign_key="dataset_item_contents.content_hash")
    since_version: int  # the first version number holding it
    until_version: int | None = None  # the first version number no longer holding it


class QueueCount(SQLModel, table=True):
    """Active items per queue and status, kept up to date with every status change, so the
    counts shown on each key press do not mean counting a million rows."""

    __tablename__ = "queue_counts"

    queue: str = Field(primary_key=True)
    status: str = Field(primary_key=True)
    n: int = 0


class ThemeSuggestion(SQLModel, table=True):
    """A group of untagged failing reviews `reviewer.insights.suggest` proposes as a theme;
    kept so what a reviewer saw is what they accept, and so a discarded one stays hidden."""

    __tablename__ = "theme_suggestions"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)  # hash of its members (reviews and their texts)
    name: str
    terms: str | None = _text()  # JSON list of its top terms
    members: str | None = _text()  # JSON list of {event, item, queue, record, reviewer}
    example: str | None = _text()
    status: str = "suggested"  # suggested | accepted | discarded
    theme: str | None = None  # the theme it became (accepted)
    created_at: str = ""
    decided_at: str | None = None
    decided_by: str | None = None


class PairRow(SQLModel, table=True):
    """A pair record of a pairwise queue (schema 6): which of its two runs is shown on the left.

    The truth of a blinded comparison, kept apart from the record the reviewer sees (whose
    outputs are only "left" and "right"). Written before the record (so no foreign key): a
    second `judges pairwise` finds it and writes the same record again, the same way round."""

    __tablename__ = "pairs"
    __table_args__ = (Index("ix_pairs_runs", "run_a", "run_b"),)

    record_id: str = Field(primary_key=True)  # pair:<run a>:<run b>:<item id>
    run_a: int
    run_b: int
    item_id: str
    left: str  # a | b: the run whose output is on the left
    seed: int = 0
    created_at: str = ""


# -- evals ----------------------------------------------------------------------------------------


class PromptVersion(SQLModel, table=True):
    """A saved version of a prompt file: its exact text, content-hashed."""

    __tablename__ = "prompt_versions"
    __table_args__ = (UniqueConstraint("name", "hash", name="uq_prompt_versions_name_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    hash: str
    path: str = ""
    content: str = Field(sa_column=Column(Text, nullable=False))
    created_at: str = ""
    created_by: str | None = None
    git_commit: str | None = None
    note: str | None = _text()


class EvalRun(SQLModel, table=True):
    """One run of a prompt version on a dataset version with one model."""

    __tablename__ = "eval_runs"
    __table_args__ = (Index("ix_eval_runs_prompt_dataset", "prompt_name", "dataset_name", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True)  # what makes two runs the same run (to resume a killed one)
    prompt_name: str
    prompt_hash: str
    dataset_name: str
    dataset_version: int
    dataset_hash: str
    provider: str
    model: str
    params: str | None = _text()  # JSON
    graders: str | None = _text()  # JSON
    status: str = "running"  # running | done | cancelled | failed
    started_at: str = ""
    finished_at: str | None = None
    created_by: str | None = None
    summary: str | None = _text()  # JSON: pass rate, cost, latency percentiles...
    split: str | None = None  # train | test: the run used only that split's items (schema 4)
    # JSON: how the answers were made (reviewer.evals.strategies: label, method, samples...);
    # None for one plain call per case (schema 4)
    strategy: str | None = _text()


class EvalResult(SQLModel, table=True):
    """The outcome of one dataset item in a run: the output and every grade."""

    __tablename__ = "eval_results"
    __table_args__ = (UniqueConstraint("run_id", "item_id", name="uq_eval_results_run_item"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="eval_runs.id")
    item_id: str
    output: str | None = _text()  # JSON message
    passed: bool | None = None
    score: float | None = None
    grades: str | None = _text()  # JSON list of {grader, passed, score, reason}
    latency_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    cached: bool = False
    error: str | None = _text()
    created_at: str = ""
    # JSON list, one entry per answer of a strategy run (schema 4): each sample's output,
    # passed, score, grades, latency, tokens, cost, cached, error and its steps (the calls
    # that made it). The row's own fields then sum it up (`strategies.combine`): `passed` is
    # the majority verdict of the samples. None for one plain call.
    samples: str | None = _text()


class ResponseCache(SQLModel, table=True):
    """Model answers by (provider, model, params, rendered messages): a rerun with nothing
    changed calls no model."""

    __tablename__ = "response_cache"

    key: str = Field(primary_key=True)
    provider: str
    model: str
    response: str = Field(sa_column=Column(Text, nullable=False))  # JSON: output message, usage
    latency_ms: float | None = None
    created_at: str = ""


class Suggestion(SQLModel, table=True):
    """A judge's suggested review of a queue item (schema 3): never counted as a review.

    One per (item, judge text, model): the judge file's hash names the version it came from.
    A call that failed or whose answer could not be read keeps `error` and the raw answer."""

    __tablename__ = "suggestions"
    __table_args__ = (
        UniqueConstraint("queue_item_id", "judge", "judge_hash", "model", name="uq_suggestion"),
        Index("ix_suggestions_queue", "queue", "queue_item_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    queue_item_id: int = Field(foreign_key="queue_items.id")
    queue: str
    record_id: str
    judge: str
    judge_hash: str
    judge_version: int | None = None
    provider: str
    model: str
    verdict: str | None = None
    scores: str | None = _text()  # JSON object
    themes: str | None = _text()  # JSON list
    reason: str | None = _text()
    confidence: float | None = None
    raw: str | None = _text()
    error: str | None = _text()
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    created_at: str = ""


# -- fine-tuning ----------------------------------------------------------------------------------


class FinetuneJob(SQLModel, table=True):
    """A fine-tuning job started on a dataset (schema 4): what was uploaded and what came of it.

    The row exists from before the upload (`status` uploading, then uploaded), so a start
    killed part-way is resumed with the file it already sent; once the provider has the job,
    `status` is the provider's (validating_files, queued, running, succeeded, failed,
    cancelled). No credential is stored: `base_url` is the server without any user:password."""

    __tablename__ = "finetune_jobs"
    __table_args__ = (
        Index("ix_finetune_jobs_file", "file_sha256"),
        UniqueConstraint("job_id", name="uq_finetune_jobs_job_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    job_id: str | None = None  # the provider's id (ftjob-...), None until the job is created
    provider: str
    base_url: str | None = None
    base_model: str
    dataset_name: str
    dataset_version: int
    dataset_hash: str
    split: str  # train | test | all
    method: str  # sft | dpo
    suffix: str | None = None
    examples: int = 0  # lines in the uploaded file
    file_sha256: str
    file_bytes: int = 0
    file_id: str | None = None  # the provider's id of the uploaded file
    request_id: str  # sent as job metadata: finds a job whose creation was cut off
    status: str = "uploading"
    fine_tuned_model: str | None = None
    trained_tokens: int | None = None
    error: str | None = _text()
    created_at: str = ""
    updated_at: str = ""
    finished_at: str | None = None
    created_by: str | None = None
