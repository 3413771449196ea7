"""Progress bars (rich), on standard error: shown by the commands only on a terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class FileProgress:
    """A bar over the bytes of each file."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.bar = Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(),
            console=Console(stderr=True), transient=True,
        )  # fmt: skip
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> FileProgress:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)  # type: ignore[arg-type]

    def update(self, path: str, done: int, total: int) -> None:
        task = self.tasks.get(path)
        if task is None:
            from rich.markup import escape

            task = self.tasks[path] = self.bar.add_task(
                escape(Path(path).name), total=total or None
            )
        self.bar.update(task, completed=done)


class CountBar:
    """A bar over a number of items."""

    def __init__(self, label: str, total: int | None) -> None:
        from rich.console import Console
        from rich.markup import escape
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            console=Console(stderr=True), transient=True,
        )  # fmt: skip
        self.task = self.bar.add_task(escape(label), total=total)

    def __enter__(self) -> CountBar:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)  # type: ignore[arg-type]

    def update(self, done: int, total: int | None = None) -> None:
        if total is None:
            self.bar.update(self.task, completed=done)
        else:
            self.bar.update(self.task, completed=done, total=total)
