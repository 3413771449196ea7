"""The steps of a trace as a tree, one line per step, drawn line by line.

Only the lines on screen are drawn (`render_line` over the rows a fold leaves visible), so a
trace of 10,000 steps costs what 48 lines cost. Each line: the selection, an error marker (✗),
the step marked as where it went wrong (◆), a step with a note (✎), the indentation of its
depth, its fold state (▾ open, ▸ folded), its kind, its name, then its duration, tokens and
cost. Every marker is a character, never a colour alone; names from the log go through
`literal` (via `short`) and are drawn as plain segments, never parsed as markup.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from reviewer.review.traces import Step
from reviewer.tui.literal import short

#: the kind of a step in five columns
KIND = {
    "llm": "llm", "tool": "tool", "retriever": "retr", "agent": "agent", "chain": "chain",
    "embedding": "embed", "reranker": "rrank", "guardrail": "guard", "event": "event",
}  # fmt: skip
#: deeper steps are drawn at this depth's indentation, with their depth written out
MAX_INDENT = 12


def duration(ms: float | None) -> str:
    """`820ms`, `5.0s`, `2m05s`; empty when unknown."""
    if ms is None:
        return ""
    if ms < 1000:
        return f"{ms:.0f}ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f}s"
    seconds = int(ms // 1000)
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def count(n: int | None) -> str:
    """`812`, `12.4k`, `3.1M`; empty when unknown."""
    if n is None:
        return ""
    if n < 10_000:
        return str(n)
    if n < 1_000_000:
        return f"{n / 1000:.1f}k"
    return f"{n / 1_000_000:.1f}M"


def tokens(step: Step) -> str:
    if step.input_tokens is None and step.output_tokens is None:
        return ""
    return count((step.input_tokens or 0) + (step.output_tokens or 0)) + "t"


def cost(usd: float | None) -> str:
    if usd is None:
        return ""
    return f"${usd:.4f}" if usd < 10 else f"${usd:.2f}"


class TraceTree(ScrollView, can_focus=True, inherit_bindings=False):
    """A trace's steps (light `Step`s in depth-first order); the screen owns the keys."""

    COMPONENT_CLASSES = {
        "trace-tree--cursor",
        "trace-tree--error",
        "trace-tree--mark",
        "trace-tree--note",
        "trace-tree--dim",
        "trace-tree--kind",
    }
    DEFAULT_CSS = """
    TraceTree { background: $surface; overflow-x: hidden; }
    TraceTree > .trace-tree--cursor { background: $accent 35%; text-style: bold; }
    TraceTree:blur > .trace-tree--cursor { background: $accent 20%; }
    TraceTree > .trace-tree--error { color: $error; text-style: bold; }
    TraceTree > .trace-tree--mark { color: $warning; text-style: bold; }
    TraceTree > .trace-tree--note { color: $secondary; }
    TraceTree > .trace-tree--dim { color: $text-muted; }
    TraceTree > .trace-tree--kind { color: $text-accent; }
    """

    @dataclass
    class Selected(Message):
        """The selection moved to `step` (None: the trace has no step)."""

        step: Step | None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.steps: list[Step] = []
        self._ends: list[int] = []  # a step's subtree is steps[i:end[i]]
        self._parents: list[int] = []  # the index of a step's parent, -1 for a root
        self.folded: set[int] = set()
        self.rows: list[int] = []  # the visible steps' indices, ascending
        self.cursor = 0  # a row
        self.marked: str | None = None
        self.noted: set[str] = set()

    # -- the data ---------------------------------------------------------------------------------

    def show(self, steps: list[Step], *, marked: str | None, noted: set[str]) -> None:
        """A new trace, everything unfolded, the selection on its first step."""
        self.steps = steps
        self.marked, self.noted = marked, noted
        n = len(steps)
        self._ends = [n] * n
        self._parents = [-1] * n
        stack: list[int] = []
        for i, step in enumerate(steps):
            while stack and steps[stack[-1]].depth >= step.depth:
                self._ends[stack.pop()] = i
            self._parents[i] = stack[-1] if stack else -1
            stack.append(i)
        self.folded = set()
        self._rebuild()
        self.cursor = 0
        self.scroll_to(0, 0, animate=False, immediate=True)
        self.refresh()
        self.post_message(self.Selected(self.selected))

    def set_marks(self, marked: str | None, noted: set[str]) -> None:
        if (marked, noted) != (self.marked, self.noted):
            self.marked, self.noted = marked, set(noted)
            self.refresh()

    @property
    def selected(self) -> Step | None:
        if not self.rows:
            return None
        return self.steps[self.rows[self.cursor]]

    @property
    def selected_index(self) -> int:
        return self.rows[self.cursor] if self.rows else -1

    def index_of(self, step_id: str) -> int:
        for i, step in enumerate(self.steps):
            if step.id == step_id:
                return i
        return -1

    def _rebuild(self) -> None:
        rows: list[int] = []
        i, n = 0, len(self.steps)
        while i < n:
            rows.append(i)
            i = self._ends[i] if i in self.folded else i + 1
        self.rows = rows
        self.virtual_size = Size(0, len(rows))

    # -- moving -----------------------------------------------------------------------------------

    def select_row(self, row: int, *, center: bool = False) -> None:
        """Select a visible row (clamped), keep it in view (with `center`, in the middle when
        it was out of view), and say so."""
        if not self.rows:
            return
        row = max(0, min(row, len(self.rows) - 1))
        if row == self.cursor:
            return
        before = self.cursor
        self.cursor = row
        self._keep_in_view(center=center)
        self._refresh_rows(before, row)
        self.post_message(self.Selected(self.selected))

    def move(self, delta: int) -> None:
        self.select_row(self.cursor + delta)

    def select_step(self, index: int) -> None:
        """Select a step by its index, unfolding the steps it is folded under."""
        parent = self._parents[index]
        unfolded = False
        while parent >= 0:
            if parent in self.folded:
                self.folded.discard(parent)
                unfolded = True
            parent = self._parents[parent]
        if unfolded:
            selected = self.selected_index
            self._rebuild()
            self.cursor = bisect_left(self.rows, selected)
            self.refresh()
        self.select_row(bisect_left(self.rows, index), center=True)

    def find(self, match: Callable[[Step], bool]) -> tuple[int, bool] | None:
        """The index of the next step after the selected one that matches, and whether the
        search went past the last step to the first; None when no step matches."""
        n = len(self.steps)
        start = self.selected_index
        for offset in range(1, n + 1):
            i = (start + offset) % n
            if match(self.steps[i]):
                return i, start + offset >= n
        return None

    # -- folding ----------------------------------------------------------------------------------

    def toggle_fold(self) -> bool:
        """Fold the selected step's children, or unfold them; False when it has none."""
        index = self.selected_index
        if index < 0 or self._ends[index] == index + 1:
            return False
        self.folded ^= {index}
        self._rebuild()
        self._keep_in_view()
        self.refresh()
        return True

    def fold_all(self) -> None:
        """Fold every step with children: the roots show; the selection goes to its root."""
        index = self.selected_index
        self.folded = {i for i in range(len(self.steps)) if self._ends[i] > i + 1}
        self._rebuild()
        root = index
        while root >= 0 and self._parents[root] >= 0:
            root = self._parents[root]
        self.cursor = max(0, bisect_left(self.rows, root))
        self._keep_in_view()
        self.refresh()
        if root != index:
            self.post_message(self.Selected(self.selected))

    def unfold_all(self) -> None:
        index = self.selected_index
        self.folded = set()
        self._rebuild()
        self.cursor = max(0, bisect_left(self.rows, index))
        self._keep_in_view()
        self.refresh()

    # -- drawing ----------------------------------------------------------------------------------

    def _keep_in_view(self, *, center: bool = False) -> None:
        height = self.scrollable_content_region.height or 1
        top = round(self.scroll_offset.y)
        if top <= self.cursor < top + height:
            return
        if center:
            y = self.cursor - height // 2
        elif self.cursor < top:
            y = self.cursor
        else:
            y = self.cursor - height + 1
        self.scroll_to(y=max(0, y), animate=False, immediate=True)

    def _refresh_rows(self, *rows: int) -> None:
        top = round(self.scroll_offset.y)
        width = self.size.width
        for row in rows:
            self.refresh(Region(0, row - top, width, 1))

    def on_resize(self) -> None:
        self.virtual_size = Size(0, len(self.rows))
        self._keep_in_view()

    def render_line(self, y: int) -> Strip:
        row = round(self.scroll_offset.y) + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        if row >= len(self.rows) or width <= 0:
            return Strip.blank(width, base)
        index = self.rows[row]
        step = self.steps[index]
        style = base
        if row == self.cursor:
            style = base + self.get_component_rich_style("trace-tree--cursor")
        return Strip(self._line(index, step, width, style, row == self.cursor)).crop_extend(
            0, width, style
        )

    def _line(
        self, index: int, step: Step, width: int, style: Style, selected: bool
    ) -> list[Segment]:
        def part(name: str) -> Style:
            return style + self.get_component_rich_style(name, partial=True)

        # the figures on the right, as many as the width holds
        figures = [duration(step.latency_ms).rjust(6)]
        if width >= 44:
            figures.append(tokens(step).rjust(7))
        if width >= 56:
            figures.append(cost(step.cost_usd).rjust(8))
        right = " " + " ".join(figures) + " "
        marks = [
            Segment("›" if selected else " ", style),
            Segment("✗", part("trace-tree--error")) if step.error else Segment(" ", style),
            Segment("◆", part("trace-tree--mark"))
            if step.id == self.marked
            else Segment(" ", style),
            Segment("✎", part("trace-tree--note"))
            if step.id in self.noted
            else Segment(" ", style),
            Segment(" ", style),
        ]
        depth = step.depth
        indent = "  " * min(depth, MAX_INDENT)
        if depth > MAX_INDENT:
            indent = indent[: -len(str(depth)) - 1] + f"{depth}·"
        leaf = self._ends[index] == index + 1
        fold = "  " if leaf else ("▸ " if index in self.folded else "▾ ")
        kind = KIND.get(step.kind, step.kind[:5]).ljust(6)
        room = width - 5 - len(indent) - 2 - len(kind) - cell_len(right)
        if room < 4:  # too narrow for the figures: the name first
            right = ""
            room = width - 5 - len(indent) - 2 - len(kind)
        label = short(step.label, 400)
        if cell_len(label) > room:
            label = set_cell_size(label, max(room - 1, 0)) + ("…" if room > 0 else "")
        label = set_cell_size(label, max(room, 0))
        return [
            *marks,
            Segment(indent, part("trace-tree--dim")),
            Segment(fold, style),
            Segment(kind, part("trace-tree--kind")),
            Segment(label, style),
            Segment(right, part("trace-tree--dim")),
        ]
