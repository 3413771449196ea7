"""The `where:` expression language of queue filters, parsed into SQLAlchemy expressions.

    latency_ms > 5000 and metadata.endpoint = 'support-chat'
    model in ('gpt-4o', 'gpt-4o-mini') or not (feedback_score is null)
    output contains 'sorry' and timestamp >= '7d'

Comparisons `= != < <= > >=` (also `==`, `<>`), `contains` / `not contains` (case-insensitive
substring), `in (...)` / `not in (...)`, `is null` / `is not null`, combined with `and`, `or`,
`not` and parentheses. Operands are the fields below and literals: numbers, 'strings' or
"strings" (backslash escapes), true, false. A `timestamp` literal is an ISO date/time or a
duration back from now (`'7d'`, `'12h'`, `'30m'`).

`metadata.KEY` reads the record's metadata JSON. An unquoted dotted path (`metadata.service.name`)
matches the flat key `service.name` or else the nested path service -> name (OpenTelemetry keys
are flat and dotted); a quoted segment (`metadata."service.name"`) is taken exactly. A metadata
value compares only with a literal of its own JSON type (a string with a string, a number with a
number), the same on SQLite and PostgreSQL.

Logic is two-valued: a comparison with a missing value is false, and `not` and `!=` are its exact
complement (`model != 'gpt-4o'` includes records with no model). Text is never pasted into SQL:
every literal becomes a bound parameter.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Float, Text, and_, case, cast, extract, false, func, not_, or_
from sqlalchemy.ext.compiler import compiles

from reviewer.records import TIMESTAMP_FORMAT, iso_timestamp

# -- fields ------------------------------------------------------------------------------------

NUMBER_FIELDS = ("latency_ms", "input_tokens", "output_tokens", "cost_usd", "feedback_score")
TEXT_FIELDS = (
    "id",
    "model",
    "provider",
    "source_format",
    "source_path",
    "user_id",
    "session_id",
    "trace_id",
    "parent_id",
    "kind",
    "name",
    "prompt_name",
    "prompt_version",
    "feedback_comment",
    "error",
)
#: JSON text columns searched as text: only `contains` and `is [not] null` apply to them.
CONTENT_FIELDS = {"input": "messages", "output": "output", "inputs": "inputs", "outputs": "outputs"}
TIME_FIELD = "timestamp"
KNOWN_FIELDS = (
    *TEXT_FIELDS,
    *NUMBER_FIELDS,
    TIME_FIELD,
    *CONTENT_FIELDS,
    "metadata.KEY",
)
_PLAIN_FIELDS = (*TEXT_FIELDS, *NUMBER_FIELDS, TIME_FIELD, *CONTENT_FIELDS)
#: Fields a sample can be stratified by (besides metadata.KEY).
STRATIFY_FIELDS = (
    "model",
    "provider",
    "source_format",
    "user_id",
    "session_id",
    "prompt_name",
    "prompt_version",
)


class WhereError(ValueError):
    """A mistake in a `where:` expression; `column` is 1-based."""

    def __init__(self, column: int, message: str) -> None:
        super().__init__(f"at column {column}: {message}")
        self.column = column
        self.reason = message


def records_table() -> Any:
    from reviewer.store.schema import RecordRow

    return RecordRow.__table__  # type: ignore[attr-defined]


# -- times -------------------------------------------------------------------------------------

_DURATION = re.compile(r"^\s*((?:\d+(?:\.\d+)?\s*[smhdw]\s*)+)$", re.IGNORECASE)
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TIME_HELP = "expected an ISO date or date/time (2026-11-01, 2026-11-01T09:00:00Z) or a duration back from now (7d, 12h, 30m)"


@dataclass(frozen=True, slots=True)
class When:
    """A point in time as written: fixed (`at`, stored timestamp text) or `ago` back from now."""

    at: str | None = None
    ago: timedelta | None = None
    date_only: bool = False

    def resolve(self, now: datetime, *, end_of_day: bool = False) -> str:
        """The timestamp text to compare with; a date-only `until` means the end of that day."""
        if self.ago is not None:
            return (now.astimezone(UTC) - self.ago).strftime(TIMESTAMP_FORMAT)
        assert self.at is not None
        if end_of_day and self.date_only:
            day = datetime.strptime(self.at, TIMESTAMP_FORMAT).replace(tzinfo=UTC)
            return (day + timedelta(days=1)).strftime(TIMESTAMP_FORMAT)
        return self.at


def parse_when(text: str) -> When:
    """A time as written in a queue file; ValueError with what was expected."""
    raw = text.strip()
    m = _DURATION.match(raw)
    if m:
        seconds = sum(float(n) * _UNITS[u.lower()] for n, u in _DURATION_PART.findall(raw))
        return When(ago=timedelta(seconds=seconds))
    if not raw or raw.lstrip("-").replace(".", "", 1).isdigit():
        raise ValueError(f"{TIME_HELP}, not {text!r}")
    at = iso_timestamp(raw)
    if at is None:
        raise ValueError(f"{TIME_HELP}, not {text!r}")
    return When(at=at, date_only=bool(_DATE_ONLY.match(raw)))


# -- portable JSON access ----------------------------------------------------------------------


class _PerDialect(ColumnElement[Any]):
    """One expression written twice: PostgreSQL's and everyone else's (SQLite's)."""

    inherit_cache = False

    def __init__(self, default: ColumnElement[Any], postgresql: ColumnElement[Any]) -> None:
        self.default = default
        self.postgresql = postgresql
        self.type = default.type

    @property
    def _from_objects(self) -> list[Any]:  # type: ignore[override]
        return self.default._from_objects

    def get_children(self, **kw: Any) -> Any:
        return (self.default, self.postgresql)


@compiles(_PerDialect)
def _compile_default(element: _PerDialect, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.default, **kw))


@compiles(_PerDialect, "postgresql")
def _compile_pg(element: _PerDialect, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.postgresql, **kw))


def check_json_key(segment: str) -> None:
    """Metadata keys go into a SQLite JSON path in double quotes: those cannot hold a quote."""
    if not segment:
        raise ValueError("a metadata key cannot be empty")
    if '"' in segment:
        raise ValueError(f"a metadata key cannot contain a double quote: {segment!r}")


def _sqlite_path(path: tuple[str, ...]) -> str:
    return "$" + "".join(f'."{seg}"' for seg in path)


def _pg_json(col: Any) -> Any:
    from sqlalchemy.dialects.postgresql import JSONB

    return cast(col, JSONB)


def json_text(col: Any, path: tuple[str, ...]) -> ColumnElement[Any]:
    """The value at `path` of a JSON text column as text (NULL when missing or JSON null)."""
    return _PerDialect(
        func.json_extract(col, _sqlite_path(path), type_=Text),
        func.jsonb_extract_path_text(_pg_json(col), *path, type_=Text),
    )


def _json_kind_is(col: Any, path: tuple[str, ...], kind: str) -> ColumnElement[bool]:
    """Whether the value at `path` is a JSON string, number or boolean."""
    sqlite_kinds = {
        "string": ("text",),
        "number": ("integer", "real"),
        "boolean": ("true", "false"),
    }
    return _PerDialect(
        func.coalesce(func.json_type(col, _sqlite_path(path)), "").in_(sqlite_kinds[kind]),
        func.coalesce(func.jsonb_typeof(func.jsonb_extract_path(_pg_json(col), *path)), "") == kind,
    )


_OPS = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def json_compare(col: Any, path: tuple[str, ...], op: str, value: Any) -> ColumnElement[bool]:
    """`value at path <op> value`, true only for a JSON value of the literal's type; never NULL."""
    if op == "!=":
        return not_(json_compare(col, path, "=", value))
    if isinstance(value, bool):
        kind = "boolean"
        sqlite_val: ColumnElement[Any] = func.json_extract(col, _sqlite_path(path))
        pg_val: ColumnElement[Any] = func.jsonb_extract_path_text(_pg_json(col), *path)
        sqlite_cmp = _OPS[op](sqlite_val, 1 if value else 0)
        pg_cmp = _OPS[op](pg_val, "true" if value else "false")
    elif isinstance(value, int | float):
        kind = "number"
        sqlite_val = func.json_extract(col, _sqlite_path(path), type_=Float)
        pg_val = cast(func.jsonb_extract_path_text(_pg_json(col), *path), Float)
        sqlite_cmp = _OPS[op](sqlite_val, value)
        pg_cmp = _OPS[op](pg_val, value)
    else:
        kind = "string"
        sqlite_val = func.json_extract(col, _sqlite_path(path), type_=Text)
        pg_val = func.jsonb_extract_path_text(_pg_json(col), *path, type_=Text)
        sqlite_cmp = _OPS[op](sqlite_val, str(value))
        pg_cmp = _OPS[op](pg_val, str(value))
    guard = _json_kind_is(col, path, kind)
    # CASE, not AND: PostgreSQL must not cast a string to a number before the guard says no
    return case((guard, _PerDialect(sqlite_cmp, pg_cmp)), else_=false())


def metadata_paths(key: str) -> list[tuple[str, ...]]:
    """The paths an unquoted dotted metadata key stands for: the flat key, then the nested path."""
    parts = tuple(key.split("."))
    return [(key,)] if len(parts) == 1 else [(key,), parts]


def metadata_equals(key: str, value: Any) -> ColumnElement[bool]:
    """The `metadata: {key: value}` filter: equality (a list: any of them; None: missing)."""
    col = records_table().c.metadata
    paths = metadata_paths(key)
    if value is None:
        return and_(*(json_text(col, p).is_(None) for p in paths))
    values = value if isinstance(value, list) else [value]
    return or_(*(json_compare(col, p, "=", v) for p in paths for v in values))


def contains_text(expr: Any, text: str) -> ColumnElement[bool]:
    """Case-insensitive substring, with % and _ in the text taken literally; never NULL."""
    return and_(expr.is_not(None), expr.icontains(text, autoescape=True))


def epoch_seconds(ts: Any) -> ColumnElement[Any]:
    """Seconds since 1970 of a stored timestamp text (NULL for NULL)."""
    return _PerDialect(
        (func.julianday(ts, type_=Float) - 2440587.5) * 86400.0,
        cast(extract("epoch", cast(ts, _timestamptz())), Float),
    )


def _timestamptz() -> Any:
    from sqlalchemy.dialects.postgresql import TIMESTAMP

    return TIMESTAMP(timezone=True)


# -- syntax ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Field:
    """A field operand; for metadata, `paths` are the JSON paths it may stand for."""

    name: str
    column: int
    paths: tuple[tuple[str, ...], ...] = ()

    @property
    def kind(self) -> str:
        if self.name == "metadata":
            return "json"
        if self.name in NUMBER_FIELDS:
            return "number"
        if self.name == TIME_FIELD:
            return "time"
        if self.name in CONTENT_FIELDS:
            return "content"
        return "text"

    @property
    def label(self) -> str:
        return self.name if self.name != "metadata" else "metadata." + ".".join(self.paths[-1])


@dataclass(frozen=True, slots=True)
class Value:
    value: Any  # str, int, float, bool, None or When
    column: int
    text: str


@dataclass(frozen=True, slots=True)
class Compare:
    op: str
    left: Field
    right: Field | Value


@dataclass(frozen=True, slots=True)
class Contains:
    field: Field
    text: str
    negate: bool = False


@dataclass(frozen=True, slots=True)
class In:
    field: Field
    values: tuple[Value, ...]
    negate: bool = False


@dataclass(frozen=True, slots=True)
class IsNull:
    field: Field
    negate: bool = False


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Node


Node = Compare | Contains | In | IsNull | And | Or | Not


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # num str ident op ( ) , end
    text: str
    column: int
    value: Any = None


_KEYWORDS = {"and", "or", "not", "in", "is", "null", "true", "false", "contains"}
_OPERATORS = ("<=", ">=", "!=", "<>", "==", "=", "<", ">")
_NUMBER = re.compile(r"-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", "'": "'", '"': '"'}


def _read_string(text: str, start: int) -> tuple[str, int]:
    """A quoted string starting at `start`; returns the value and the index after it."""
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(_ESCAPES.get(text[i + 1], "\\" + text[i + 1]))
            i += 2
            continue
        if ch == quote:
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise WhereError(start + 1, f"unterminated string: no closing {quote} for the one here")


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        col = i + 1
        if ch in "(),":
            out.append(_Token(ch, ch, col))
            i += 1
            continue
        op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
        if op:
            out.append(_Token("op", op, col, {"==": "=", "<>": "!="}.get(op, op)))
            i += len(op)
            continue
        if ch in "'\"":
            value, end = _read_string(text, i)
            out.append(_Token("str", text[i:end], col, value))
            i = end
            continue
        m = _NUMBER.match(text, i)
        if m and (ch != "-" or m.end() > i + 1):
            if m.end() < len(text) and (text[m.end()].isalpha() or text[m.end()] == "_"):
                tail = _IDENT.match(text, m.end())
                word = text[i : tail.end() if tail else m.end()]
                raise WhereError(col, f"{word!r} is not a number; quote text: '{word}'")
            num = m.group(0)
            number = float(num) if any(c in num for c in ".eE") else int(num)
            if isinstance(number, int) and not INT_MIN <= number <= INT_MAX:
                raise WhereError(
                    col, f"{num} is out of range: whole numbers go from {INT_MIN} to {INT_MAX}"
                )
            if isinstance(number, float) and not math.isfinite(number):
                raise WhereError(col, f"{num} is out of range for a number")
            out.append(_Token("num", num, col, number))
            i = m.end()
            continue
        m = _IDENT.match(text, i)
        if m:
            segments: list[str] = [m.group(0)]
            quoted = False
            j = m.end()
            while j < len(text) and text[j] == ".":
                if j + 1 < len(text) and text[j + 1] in "'\"":
                    seg, j = _read_string(text, j + 1)
                    quoted = True
                else:
                    m2 = re.compile(r"[A-Za-z0-9_\-]+").match(text, j + 1)
                    if not m2:
                        raise WhereError(j + 2, "expected a key after '.'")
                    seg, j = m2.group(0), m2.end()
                segments.append(seg)
            out.append(_Token("ident", text[i:j], col, (tuple(segments), quoted)))
            i = j
            continue
        hint = {"&": " (write 'and')", "|": " (write 'or')", "!": " (write 'not' or '!=')"}.get(
            ch, ""
        )
        raise WhereError(col, f"unexpected character {ch!r}{hint}")
    out.append(_Token("end", "", len(text) + 1))
    return out


def _describe(tok: _Token) -> str:
    return "the end of the expression" if tok.kind == "end" else repr(tok.text)


#: Whole numbers a database column holds (64-bit signed).
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
#: How deep parentheses and `not` may nest, and how many conditions one expression may hold: far
#: beyond what a person writes, well within what the databases accept.
MAX_DEPTH = 64
MAX_CONDITIONS = 256


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0
        self.depth = 0
        self.conditions = 0

    def deeper(self, tok: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise WhereError(
                tok.column,
                f"nested too deeply: at most {MAX_DEPTH} levels of parentheses and 'not'",
            )

    def peek(self) -> _Token:
        return self.toks[self.i]

    def next(self) -> _Token:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def keyword(self, word: str) -> bool:
        tok = self.peek()
        if tok.kind == "ident" and tok.text.lower() == word:
            self.i += 1
            return True
        return False

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise WhereError(1, "the expression is empty")
        node = self.or_()
        tok = self.peek()
        if tok.kind != "end":
            raise WhereError(
                tok.column,
                f"expected 'and', 'or' or the end of the expression, found {_describe(tok)}",
            )
        return node

    def or_(self) -> Node:
        items = [self.and_()]
        while self.keyword("or"):
            items.append(self.and_())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_(self) -> Node:
        items = [self.not_()]
        while self.keyword("and"):
            items.append(self.not_())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_(self) -> Node:
        tok = self.peek()
        if self.keyword("not"):
            self.deeper(tok)
            node: Node = Not(self.not_())
            self.depth -= 1
            return node
        if tok.kind == "(":
            self.next()
            self.deeper(tok)
            node = self.or_()
            close = self.peek()
            if close.kind != ")":
                raise WhereError(
                    close.column,
                    f"expected ')' to close the '(' at column {tok.column}, found {_describe(close)}",
                )
            self.next()
            self.depth -= 1
            return node
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise WhereError(
                tok.column,
                f"too many conditions: at most {MAX_CONDITIONS} in one expression "
                "(a list in 'in (...)' counts each value)",
            )
        return self.condition()

    def operand(self, after: str | None = None) -> Field | Value:
        tok = self.next()
        if tok.kind == "num":
            return Value(tok.value, tok.column, tok.text)
        if tok.kind == "str":
            return Value(tok.value, tok.column, tok.text)
        if tok.kind == "ident":
            segments, quoted = tok.value
            word = tok.text.lower()
            if len(segments) == 1 and word in ("true", "false"):
                return Value(word == "true", tok.column, tok.text)
            if len(segments) == 1 and word == "null":
                return Value(None, tok.column, tok.text)
            if len(segments) == 1 and word in _KEYWORDS:
                raise WhereError(tok.column, self._expected(after) + f", found {_describe(tok)}")
            if after and segments[0] != "metadata" and segments[0] not in _PLAIN_FIELDS:
                raise WhereError(
                    tok.column,
                    f"unknown field {tok.text!r} after {after!r}; to compare with text, quote it: '{tok.text}'",
                )
            return self.field(tok, segments, quoted)
        raise WhereError(tok.column, self._expected(after) + f", found {_describe(tok)}")

    @staticmethod
    def _expected(after: str | None) -> str:
        return f"expected a value after {after!r}" if after else "expected a field name or a value"

    def field(self, tok: _Token, segments: tuple[str, ...], quoted: bool) -> Field:
        head = segments[0]
        if head == "metadata":
            keys = segments[1:]
            if not keys:
                raise WhereError(tok.column, "metadata needs a key: metadata.KEY")
            for key in keys:
                try:
                    check_json_key(key)
                except ValueError as exc:
                    raise WhereError(tok.column, str(exc)) from None
            if quoted or len(keys) == 1:
                paths: tuple[tuple[str, ...], ...] = (tuple(keys),)
            else:
                paths = ((".".join(keys),), tuple(keys))
            return Field("metadata", tok.column, paths)
        if len(segments) > 1 or head not in _PLAIN_FIELDS:
            raise WhereError(
                tok.column, f"unknown field {tok.text!r}; known fields: {', '.join(KNOWN_FIELDS)}"
            )
        return Field(head, tok.column)

    def condition(self) -> Node:
        start = self.peek()
        left = self.operand()
        tok = self.peek()
        negate = False
        if tok.kind == "ident" and tok.text.lower() == "not":
            nxt = self.toks[self.i + 1]
            if nxt.kind == "ident" and nxt.text.lower() in ("in", "contains"):
                self.next()
                negate = True
                tok = self.peek()
        if tok.kind == "op":
            self.next()
            right = self.operand(after=tok.text)
            return self.compare(tok, left, right)
        word = tok.text.lower() if tok.kind == "ident" else ""
        if word == "contains":
            self.next()
            field = self.need_field(left, start, "contains")
            value = self.operand(after=tok.text)
            if not isinstance(value, Value) or not isinstance(value.value, str):
                col = value.column
                raise WhereError(col, "expected a quoted text after 'contains'")
            if field.kind in ("number", "time"):
                raise WhereError(
                    start.column, f"{field.label} is a {field.kind}: 'contains' works on text"
                )
            return Contains(field, value.value, negate)
        if word == "in":
            self.next()
            field = self.need_field(left, start, "in")
            open_ = self.next()
            if open_.kind != "(":
                raise WhereError(open_.column, f"expected '(' after 'in', found {_describe(open_)}")
            values: list[Value] = []
            while True:
                v = self.operand(after="(" if not values else ",")
                if not isinstance(v, Value):
                    raise WhereError(v.column, "expected a value in the list, found a field name")
                values.append(self.check_value(field, "=", v))
                self.conditions += 1
                if self.conditions > MAX_CONDITIONS:
                    raise WhereError(
                        v.column,
                        f"too many conditions: at most {MAX_CONDITIONS} in one expression "
                        "(a list in 'in (...)' counts each value)",
                    )
                sep = self.next()
                if sep.kind == ")":
                    break
                if sep.kind != ",":
                    raise WhereError(
                        sep.column, f"expected ',' or ')' in the list, found {_describe(sep)}"
                    )
            return In(field, tuple(values), negate)
        if word == "is":
            self.next()
            field = self.need_field(left, start, "is")
            neg = self.keyword("not")
            null = self.next()
            if not (null.kind == "ident" and null.text.lower() == "null"):
                after = "is not" if neg else "is"
                raise WhereError(
                    null.column, f"expected 'null' after {after!r}, found {_describe(null)}"
                )
            return IsNull(field, neg)
        what = left.label if isinstance(left, Field) else left.text
        raise WhereError(
            tok.column,
            f"expected an operator (= != < <= > >= contains in is) after {what!r}, found {_describe(tok)}",
        )

    @staticmethod
    def need_field(left: Field | Value, start: _Token, op: str) -> Field:
        if not isinstance(left, Field):
            raise WhereError(
                start.column, f"expected a field name before {op!r}, found {start.text!r}"
            )
        return left

    def compare(self, op_tok: _Token, left: Field | Value, right: Field | Value) -> Node:
        op = op_tok.value
        if isinstance(left, Value) and isinstance(right, Value):
            raise WhereError(left.column, "a comparison needs a field name on one side")
        if isinstance(left, Value):  # 5000 < latency_ms  ->  latency_ms > 5000
            assert isinstance(right, Field)
            flipped = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}.get(op, op)
            return self.compare(_Token("op", op_tok.text, op_tok.column, flipped), right, left)
        if isinstance(right, Field):
            kinds = {left.kind, right.kind}
            if "json" in kinds or "content" in kinds:
                raise WhereError(
                    right.column,
                    f"{left.label} can only be compared with a value, not with {right.label}",
                )
            if left.kind != right.kind:
                raise WhereError(
                    right.column,
                    f"cannot compare {left.label} ({left.kind}) with {right.label} ({right.kind})",
                )
            return Compare(op, left, right)
        return Compare(op, left, self.check_value(left, op, right))

    @staticmethod
    def check_value(field: Field, op: str, v: Value) -> Value:
        """The literal fits the field: a number for a number, a time for the timestamp..."""
        if v.value is None:
            raise WhereError(v.column, "use 'is null' or 'is not null' to test for a missing value")
        kind = field.kind
        if kind == "content":
            raise WhereError(
                field.column, f"{field.label} holds the messages: use 'contains' or 'is null'"
            )
        if isinstance(v.value, bool):
            if kind != "json":
                what = {"number": "a number", "text": "text", "time": "a time"}[kind]
                raise WhereError(v.column, f"{field.label} is {what}: true/false do not apply")
            if op not in ("=", "!="):
                raise WhereError(v.column, "true/false can only be compared with = or !=")
            return v
        if kind == "number" and not isinstance(v.value, int | float):
            raise WhereError(
                v.column, f"{field.label} is a number: expected a number, found {v.text}"
            )
        if kind == "text" and not isinstance(v.value, str):
            raise WhereError(v.column, f"{field.label} is text: quote the value, '{v.text}'")
        if kind == "time":
            if not isinstance(v.value, str):
                raise WhereError(v.column, f"timestamp is a time: {TIME_HELP}")
            try:
                when = parse_when(v.value)
            except ValueError as exc:
                raise WhereError(v.column, str(exc)) from None
            return Value(when, v.column, v.text)
        return v


def parse_where(text: str) -> Node:
    """Parse a `where:` expression; WhereError names the column and what was expected."""
    return _Parser(text).parse()


# -- to SQL ------------------------------------------------------------------------------------


def _column(field: Field) -> Any:
    t = records_table()
    if field.name in CONTENT_FIELDS:
        return t.c[CONTENT_FIELDS[field.name]]
    return t.c[field.name]


def _literal(v: Value, now: datetime) -> Any:
    return v.value.resolve(now) if isinstance(v.value, When) else v.value


def to_clause(node: Node, now: datetime) -> ColumnElement[bool]:
    """The SQLAlchemy condition of a parsed expression (literals become bound parameters)."""
    if isinstance(node, And):
        return and_(*(to_clause(n, now) for n in node.items))
    if isinstance(node, Or):
        return or_(*(to_clause(n, now) for n in node.items))
    if isinstance(node, Not):
        return not_(to_clause(node.item, now))
    if isinstance(node, IsNull):
        if node.field.kind == "json":
            col = records_table().c.metadata
            missing = and_(*(json_text(col, p).is_(None) for p in node.field.paths))
        else:
            missing = _column(node.field).is_(None)
        return not_(missing) if node.negate else missing
    if isinstance(node, Contains):
        if node.field.kind == "json":
            col = records_table().c.metadata
            found = or_(*(contains_text(json_text(col, p), node.text) for p in node.field.paths))
        else:
            found = contains_text(_column(node.field), node.text)
        return not_(found) if node.negate else found
    if isinstance(node, In):
        inside = or_(*(_compare(node.field, "=", v, now) for v in node.values))
        return not_(inside) if node.negate else inside
    return _compare(node.left, node.op, node.right, now)


def _compare(left: Field, op: str, right: Field | Value, now: datetime) -> ColumnElement[bool]:
    if op == "!=":
        return not_(_compare(left, "=", right, now))
    if left.kind == "json":
        assert isinstance(right, Value)
        col = records_table().c.metadata
        return or_(*(json_compare(col, p, op, right.value) for p in left.paths))
    a = _column(left)
    if isinstance(right, Field):
        b = _column(right)
        return and_(a.is_not(None), b.is_not(None), _OPS[op](a, b))
    return and_(a.is_not(None), _OPS[op](a, _literal(right, now)))


def where_clause(text: str, now: datetime) -> ColumnElement[bool]:
    """Parse and translate a `where:` expression."""
    return to_clause(parse_where(text), now)
