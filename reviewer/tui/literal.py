"""Log content is data: make it safe to show as it is.

Rich/Textual markup in log text is never parsed (we build `Text` objects, not markup strings),
and characters that act on the terminal or on how text reads are shown as visible escapes
instead of reaching the terminal: control characters (C0 but newline and tab, DEL, C1) as
`\\x1b`, and the invisible characters that reorder or hide text (bidi overrides, embeddings and
isolates, zero-width spaces, line and paragraph separators, tag characters) as `\\u202e`.

Every widget that shows or edits log text gets it through `literal` (or `plain` and
`markdown`, built on it). An editor loads the escaped text, so what the user saves holds the
escape as typed characters (`\\x1b`, four characters), never the control itself.
"""

from __future__ import annotations

import re
from typing import Any

from rich.markdown import Markdown
from rich.text import Text

_UNSAFE = re.compile(
    "["
    "\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 but \t and \n (so \r too), DEL, C1
    "\u061c"  # Arabic letter mark
    "\u200b\u200e\u200f"  # zero-width space, left-to-right and right-to-left marks
    "\u2028\u2029"  # line and paragraph separators
    "\u202a-\u202e"  # bidi embeddings and overrides
    "\u2060-\u2064"  # word joiner, invisible operators
    "\u2066-\u2069"  # bidi isolates
    "\ufeff"  # zero-width no-break space (BOM)
    "\U000e0000-\U000e007f"  # tag characters (invisible ASCII)
    "]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def literal(text: str | None) -> str:
    """`text` with control and invisible formatting characters written as visible escapes
    (`\\x1b`, `\\u202e`); newlines and tabs stay."""
    if not text:
        return ""
    return _UNSAFE.sub(_escape, text)


def plain(text: str | None, style: str = "") -> Text:
    """A rich Text showing `text` literally: no markup, no escape sequences."""
    return Text(literal(text), style=style)


def markdown(text: str | None, **kwargs: Any) -> Markdown:
    """`text` rendered as Markdown, each piece of it shown literally.

    The source is escaped first, and so is what the parser made of it: a character reference
    such as `&#x202e;` becomes its character only when parsed.
    """
    md = Markdown(literal(text), **kwargs)
    stack = list(md.parsed)
    while stack:
        token = stack.pop()
        token.content = literal(token.content)
        token.info = literal(token.info)
        for key, value in list(token.attrs.items()):
            if isinstance(value, str):
                token.attrs[key] = literal(value)
        stack.extend(token.children or ())
    return md


def short(text: str | None, width: int) -> str:
    """`text` on one line, cut to `width` with an ellipsis, shown literally (a control
    character is an escape, not a space)."""
    flat = " ".join(literal(text).split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
