"""The CLI's one way to print a result: a plain-text table with lines of text, or JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import pytest

from reviewer.cli.output import Column, emit, json_text, table_lines, to_json_value


@dataclass
class Thing:
    name: str
    count: int
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "count": self.count, "kind": "thing"}


COLUMNS = [
    Column("name", "name", width=5),
    Column("count", "count", align="right", width=7),
    Column("note", lambda row: row.note or "-"),
]


def test_columns_are_as_wide_as_title_width_and_widest_cell() -> None:
    lines = table_lines(COLUMNS, [Thing("a", 1, "first"), Thing("a-long-name", 12345678)])
    assert lines == [
        "name            count  note",
        "a                   1  first",
        "a-long-name  12345678  -",
    ]


def test_cells_from_dicts_attributes_and_functions_and_none_is_blank() -> None:
    columns = [Column("k", "k"), Column("attr", "count"), Column("f", lambda r: 2)]
    assert table_lines(columns, [{"k": None}]) == ["k  attr  f", "         2"]
    assert table_lines(columns[1:], [Thing("x", 3)]) == ["attr  f", "3     2"]


def test_the_last_column_is_not_padded() -> None:
    lines = table_lines([Column("a", "a"), Column("description", "d")], [{"a": "x", "d": ""}])
    assert lines == ["a  description", "x"]


def test_emit_prints_the_table_then_the_text(capsys: pytest.CaptureFixture[str]) -> None:
    emit([], json=False, columns=COLUMNS, rows=[Thing("a", 1)], text=["done"])
    assert capsys.readouterr().out == "name     count  note\na            1  -\ndone\n"


def test_emit_prints_empty_when_there_is_nothing_else(capsys: pytest.CaptureFixture[str]) -> None:
    emit([], json=False, columns=COLUMNS, rows=[], empty="nothing here")
    assert capsys.readouterr().out == "nothing here\n"
    emit({}, json=False, text=lambda: [], empty="no lines")
    assert capsys.readouterr().out == "no lines\n"
    emit({}, json=False, text=["a line"], empty="not shown")
    assert capsys.readouterr().out == "a line\n"


def test_emit_text_is_computed_only_for_text(capsys: pytest.CaptureFixture[str]) -> None:
    def boom() -> list[str]:
        raise AssertionError("the text of a --json call is never made")

    emit({"a": 1}, json=True, text=boom)
    assert orjson.loads(capsys.readouterr().out) == {"a": 1}


def test_emit_json_is_one_line_with_to_dict_objects_inside(
    capsys: pytest.CaptureFixture[str],
) -> None:
    emit(
        {"items": [Thing("a", 1)], "by": {"x": Thing("b", 2)}, "n": None},
        json=True,
        columns=COLUMNS,
        rows=[Thing("a", 1)],
    )
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert orjson.loads(out) == {
        "items": [{"name": "a", "count": 1, "kind": "thing"}],
        "by": {"x": {"name": "b", "count": 2, "kind": "thing"}},
        "n": None,
    }


def test_emit_json_lines_prints_one_object_a_line(capsys: pytest.CaptureFixture[str]) -> None:
    emit([Thing("a", 1), {"b": 2}], json=True, json_lines=True, empty="not for json")
    lines = capsys.readouterr().out.splitlines()
    assert [orjson.loads(line) for line in lines] == [
        {"name": "a", "count": 1, "kind": "thing"},
        {"b": 2},
    ]
    emit([], json=True, json_lines=True, empty="not for json")
    assert capsys.readouterr().out == ""


def test_row_styles_are_plain_text_off_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    emit(
        None,
        json=False,
        columns=[Column("n", "n")],
        rows=[{"n": 1}, {"n": 2}, {"n": 3}],
        row_style=lambda row: {1: "red", 2: "bold"}.get(row["n"]),
    )
    assert capsys.readouterr().out == "n\n1\n2\n3\n"


def test_emit_to_standard_error(capsys: pytest.CaptureFixture[str]) -> None:
    emit({"a": 1}, json=True, err=True)
    captured = capsys.readouterr()
    assert captured.out == "" and orjson.loads(captured.err) == {"a": 1}


def test_to_json_value_and_json_text() -> None:
    assert to_json_value((Thing("a", 1), 2)) == [{"name": "a", "count": 1, "kind": "thing"}, 2]
    assert json_text({"é": [1, 2.5, "x"]}) == '{"é":[1,2.5,"x"]}'
