"""One way for every command to print its result: a plain-text table with lines of text, or
JSON (`--json`): one document, or one JSON object a line.

    emit(result, json=json_out, columns=[Column("queue", "name"), Column("total", "total",
         align="right", width=7)], rows=rows, empty="no queues")

The JSON is the result itself: objects with a `to_dict()` method are turned into dicts (inside
lists and dicts too), then written by orjson on one line. The table is for people: columns
two spaces apart, each as wide as its title, its widest cell and its `width`; the last column
is not padded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import typer

#: The lines of text printed after the table: a list, or a function giving them (called only
#: when the text is printed, never for --json).
Text = Iterable[str] | Callable[[], Iterable[str]]


@dataclass(frozen=True, slots=True)
class Column:
    """A table column: its title, how to get a cell from a row (a key of a dict row, an
    attribute name, or a function of the row) and how to lay it out."""

    title: str
    key: str | Callable[[Any], Any]
    align: Literal["left", "right"] = "left"
    width: int = 0

    def cell(self, row: Any) -> str:
        if callable(self.key):
            value = self.key(row)
        elif isinstance(row, dict):
            value = row.get(self.key)
        else:
            value = getattr(row, self.key, None)
        return "" if value is None else str(value)


def to_json_value(value: Any) -> Any:
    """`value` with every object that has a `to_dict()` turned into its dict."""
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return value.to_dict()
    if isinstance(value, dict):
        return {k: to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    return value


def json_text(value: Any) -> str:
    """`value` as one line of JSON."""
    import orjson

    return orjson.dumps(to_json_value(value)).decode()


def table_lines(columns: Sequence[Column], rows: Iterable[Any]) -> list[str]:
    """A header line and one line per row."""
    cells = [[c.cell(row) for c in columns] for row in rows]
    widths = [
        max([c.width, len(c.title), *(len(line[i]) for line in cells)])
        for i, c in enumerate(columns)
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if c.align == "right" else v.ljust(w)
            for c, v, w in zip(columns, values, widths, strict=True)
        ]
        return "  ".join(parts).rstrip()

    return [line([c.title for c in columns]), *(line(values) for values in cells)]


def emit(
    result: Any,
    *,
    json: bool,
    json_lines: bool = False,
    columns: Sequence[Column] = (),
    rows: Iterable[Any] | None = None,
    text: Text | None = None,
    empty: str | None = None,
    row_style: Callable[[Any], str | None] | None = None,
    err: bool = False,
) -> None:
    """Print `result` as JSON when `json` (each item of it on its own line when `json_lines`),
    else the table of `rows` with `columns`, then the lines of `text`; `empty` when that leaves
    nothing to print. `row_style` may name a style for a row, shown on a terminal only: `red`,
    `bold` or `dim`."""
    if json:
        if json_lines:
            for item in result:
                typer.echo(json_text(item), err=err)
        else:
            typer.echo(json_text(result), err=err)
        return
    printed = False
    if rows is not None and columns:
        rows = list(rows)
        if rows:
            header, *lines = table_lines(columns, rows)
            typer.echo(header, err=err)
            for row, line in zip(rows, lines, strict=True):
                _styled(line, row_style(row) if row_style else None, err)
            printed = True
    lines_of_text = list(text() if callable(text) else text) if text is not None else []
    for line in lines_of_text:
        typer.echo(line, err=err)
    if not printed and not lines_of_text and empty is not None:
        typer.echo(empty, err=err)


def _styled(line: str, style: str | None, err: bool) -> None:
    if style == "red":
        typer.secho(line, fg="red", err=err)
    elif style == "bold":
        typer.secho(line, bold=True, err=err)
    elif style == "dim":
        typer.secho(line, dim=True, err=err)
    else:
        typer.echo(line, err=err)
