"""What parsing one line of a log gives, passed from the parsing workers to the writer.

`parse_item` returns one of these per line (None for a blank line); the main process counts and
writes it (`Importer._apply`), or counts what a parsing worker wrote (`Stored`). They cross process boundaries, so they are plain picklable
dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Parsed:
    """Records, as rows in `RECORD_COLUMNS` order. A row's raw text is None when it is the
    line itself (a worker does not send back the text the main process has)."""

    format: str
    rows: list[tuple[Any, ...]]


@dataclass(slots=True)
class Stored:
    """Records a parsing worker wrote itself: how many were new, how many already there, for
    `lines` lines in a row of one format (a worker sends one for a run of such lines)."""

    format: str
    imported: int
    duplicates: int
    without_content: int = 0  # calls logged without their content (see `Parsed`)
    lines: int = 1


@dataclass(slots=True)
class Skipped:
    """A line that holds no LLM call (a non-GenAI span, say)."""

    format: str


@dataclass(slots=True)
class BatchRequest:
    """An OpenAI or Anthropic Batch request line, kept to be joined with its result."""

    format: str
    custom_id: str
    body: str  # the request as JSON text


@dataclass(slots=True)
class Refused:
    """A line that cannot be imported, and why (kept with the rejected lines)."""

    format: str | None
    reason: str


Outcome = Parsed | Stored | Skipped | BatchRequest | Refused
