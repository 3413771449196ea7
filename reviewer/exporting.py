"""What every export shares, datasets and reviews alike: the report of what it wrote and a
text view of the binary stream it writes to."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field
from typing import IO, Any


@dataclass(slots=True)
class ExportReport:
    """What an export wrote: items written, items skipped by reason, and the files."""

    format: str
    written: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    files: list[str] = field(default_factory=list)

    @property
    def total_skipped(self) -> int:
        return sum(self.skipped.values())

    def summary(self) -> str:
        """`12 items written (3 skipped: 3 no expected answer)`."""
        noun = "item" if self.written == 1 else "items"
        text = f"{self.written} {noun} written"
        if self.skipped:
            reasons = ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items()))
            text += f" ({self.total_skipped} skipped: {reasons})"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "written": self.written,
            "skipped": dict(self.skipped),
            "files": list(self.files),
        }


class TextStream:
    """A text view of a binary stream for the csv module (detached again at the end, so the
    caller's stream stays open)."""

    def __init__(self, out: IO[bytes]) -> None:
        self.wrapper = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)  # type: ignore[type-var]

    def __enter__(self) -> io.TextIOWrapper:
        return self.wrapper

    def __exit__(self, *exc: object) -> None:
        self.wrapper.flush()
        self.wrapper.detach()
