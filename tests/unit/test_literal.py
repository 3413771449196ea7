"""`literal`: the one function that makes log text safe to show on a terminal."""

from __future__ import annotations

import io

from rich.console import Console

from reviewer.tui.literal import literal, markdown, short


def test_control_characters_become_visible_escapes_but_newline_and_tab_stay():
    assert literal("a\x1b]52;c;aGVsbG8=\x07b") == "a\\x1b]52;c;aGVsbG8=\\x07b"
    assert literal("\x1b[2J\x1b[31m") == "\\x1b[2J\\x1b[31m"
    assert literal("\x9b2J \x9d0;x\x9c \x85") == "\\x9b2J \\x9d0;x\\x9c \\x85"
    assert literal("cr\r vt\x0b ff\x0c nul\x00 del\x7f") == (
        "cr\\x0d vt\\x0b ff\\x0c nul\\x00 del\\x7f"
    )
    assert literal("line\nnext\tcell") == "line\nnext\tcell"
    assert literal(None) == "" and literal("") == ""


def test_characters_that_reorder_or_hide_text_become_visible_escapes():
    # bidi embeddings, overrides and isolates (Trojan Source), separators, zero-width, tags
    assert literal("abc\u202edcba\u202c") == "abc\\u202edcba\\u202c"
    for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069":
        assert literal(ch) == f"\\u{ord(ch):04x}"
    assert literal("a\u2028b\u2029c") == "a\\u2028b\\u2029c"
    assert literal("zero\u200bwidth\u200e\u200f\u2060\ufeff\u061c") == (
        "zero\\u200bwidth\\u200e\\u200f\\u2060\\ufeff\\u061c"
    )
    assert literal("hi\U000e0041\U000e007f") == "hi\\U000e0041\\U000e007f"


def test_ordinary_text_is_left_alone():
    text = "Grüße, 日本語, émoji 👨\u200d👩\u200d👧, فارسی\u200cها, a\u00a0b, [bold]x[/]"
    assert literal(text) == text


def test_literal_is_idempotent():
    once = literal("\x1b[2J\u202e\x9b")
    assert literal(once) == once


def test_short_flattens_and_shows_controls():
    assert short("a\x0bb\x1cc\u2028d", 80) == "a\\x0bb\\x1cc\\u2028d"
    assert short("one\n two", 80) == "one two"


def test_markdown_character_references_cannot_bring_them_back():
    source = "x &#x202e;abc &#x2066; &#13; `&#x202e;` [a](http://x/&#x202e;) \x1b[2J"
    console = Console(file=io.StringIO(), width=200, color_system=None, force_terminal=True)
    console.print(markdown(source, hyperlinks=False))
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "\u202e" not in out and "\u2066" not in out and "\r" not in out
    assert "\x1b[2J" not in out and "\\x1b[2J" in out
    assert "\\u202eabc" in out
