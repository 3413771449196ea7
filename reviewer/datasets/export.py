"""Export a dataset version: the one path the CLI and the app both take."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine

from reviewer.datasets.exporters import (
    FOLDER_FORMATS,
    FORMATS,
    ExportReport,
    export_items,
    with_progress,
)
from reviewer.datasets.versions import VersionInfo, iter_version_items, version_info
from reviewer.redact import redact_value

#: file name extension per format, for default paths
EXTENSIONS = {
    "jsonl": ".jsonl",
    "csv": ".csv",
    "openai-chat": ".openai-chat.jsonl",
    "openai-dpo": ".openai-dpo.jsonl",
    "openai-evals": ".openai-evals.jsonl",
    "promptfoo": ".promptfoo.yaml",
    "inspect": ".inspect.jsonl",
    "hf": "",
}


def default_path(workspace: Path, name: str, fmt: str) -> Path:
    """exports/<dataset><ext> in the workspace (a folder for hf)."""
    suffix = "-hf" if fmt == "hf" else EXTENSIONS.get(fmt, f".{fmt}")
    return workspace / "exports" / f"{name}{suffix}"


def export_dataset(
    engine: Engine,
    name: str,
    fmt: str,
    target: str | Path | IO[bytes],
    *,
    version: int | None = None,
    redact: bool = False,
    progress: Callable[[int], None] | None = None,
    **options: Any,
) -> tuple[VersionInfo, ExportReport]:
    """Write version `version` (the latest when None) of dataset `name` in format `fmt`.

    Streams the items (constant memory); `progress(count)` is called as they go. Raises
    ValueError for an unknown format and DatasetError for an unknown dataset or version.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (formats: {', '.join(FORMATS)})")
    info = version_info(engine, name, version)
    items: Any = iter_version_items(engine, name, info.number)
    if redact:
        items = (redact_value(item) for item in items)
    if progress is not None:
        items = with_progress(items, progress)
    if fmt in FOLDER_FORMATS:
        options = {"name": name, "version": info.number, **options}
    if isinstance(target, str | Path):
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    return info, export_items(items, fmt, target, **options)
