"""Short pieces of text (a rubric's options) on as few lines as the width allows: a line breaks
only between two pieces, never inside one, so an option's number stays with its label."""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text


class Chips:
    """Pieces of text laid out like words; each starts with its separator from the one before,
    dropped when it starts a line."""

    def __init__(self) -> None:
        self.pieces: list[Text] = []

    def append(self, text: str | Text, style: str = "") -> Chips:
        """A piece (a str gets `style`); its leading spaces separate it from the one before."""
        self.pieces.append(text if isinstance(text, Text) else Text(text, style=style))
        return self

    @property
    def plain(self) -> str:
        return "".join(piece.plain for piece in self.pieces)

    def __str__(self) -> str:
        return self.plain

    def lines(self, width: int) -> list[Text]:
        lines: list[Text] = []
        line = Text()
        for piece in self.pieces:
            if line.cell_len and line.cell_len + piece.cell_len > width:
                lines.append(line)
                line = Text()
            if not line.cell_len:  # the separator of a piece that starts a line goes
                piece = piece[len(piece.plain) - len(piece.plain.lstrip(" ")) :]
            line.append_text(piece)
        if line.cell_len or not lines:
            lines.append(line)
        return lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        text = Text("\n").join(self.lines(options.max_width))
        text.no_wrap = True
        text.overflow = "ellipsis"  # a piece wider than the whole width
        text.end = ""
        yield text

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        widest = max((cell_len(p.plain.lstrip(" ")) for p in self.pieces), default=0)
        return Measurement(widest, max(sum(p.cell_len for p in self.pieces), widest))
