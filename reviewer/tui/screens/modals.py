"""Small dialogs of the review screen: the theme picker, a text editor (and its question on
unsaved changes), a dataset picker."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from reviewer.tui.literal import literal

CREATE_PREFIX = "\x00create:"


def normalise_theme(name: str) -> str:
    """The form theme names are stored in (the core does the same)."""
    return "-".join(name.strip().lower().split())


class ThemeFilter(Input):
    """The theme filter. Space is the picker's key (theme names have no spaces), not a
    character to type here."""

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return key != "space" and super().check_consume_key(key, character)


class ThemeList(OptionList, can_focus=False):
    """The picker's list. The filter keeps the focus; the picker's keys and the mouse drive
    the list."""


def _theme_row(name: str, ticked: bool) -> Text:
    """A row of the theme picker: `[x]` or `[ ]`, readable without colour."""
    return Text.assemble(
        ("[x] " if ticked else "[ ] ", "bold" if ticked else "dim"),
        (literal(name), "bold" if ticked else ""),
    )


class ThemePicker(ModalScreen[list[str] | None]):
    """Pick failure themes: type to filter, space toggles, enter saves, esc cancels.

    Enter saves what the reviewer evidently means: the ticked themes, plus the highlighted one
    when a filter was typed (or the highlight moved) and that row was not toggled since (typing
    `refus` then enter ticks refused-harmless; an exact name is listed, and highlighted, first).
    When the typed text is not a theme yet, the last entry offers to create it. Theme names
    have no spaces: space toggles the highlighted theme, or, on the "+ create" entry, types a
    dash in the filter (so "too long" becomes too-long).
    """

    BINDINGS = [
        Binding("escape", "cancel", "cancel", id="themes.cancel"),
        # priority: before the filter, which would type it
        Binding(
            "space",
            "space",
            "toggle the highlighted theme (a dash in a new name)",
            show=False,
            id="themes.toggle",
            priority=True,
        ),
        Binding("enter", "save", "save", id="themes.save"),
        Binding("down", "move(1)", "down", show=False, id="themes.down"),
        Binding("up", "move(-1)", "up", show=False, id="themes.up"),
    ]

    def __init__(self, themes: list[str], selected: list[str]) -> None:
        super().__init__()
        self.themes = list(dict.fromkeys([*themes, *selected]))
        self.selected = list(dict.fromkeys(selected))
        self._filter_text = ""
        self._touched: set[str] = set()  # rows toggled since the filter last changed
        self._moved = False  # the highlight was moved since the filter last changed

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(
                Text(
                    "Themes — type to filter (dashes for spaces) · ↑↓ move · space toggles · "
                    "esc cancels\nenter saves the ticked [x] themes and the highlighted one"
                )
            )
            yield ThemeFilter(placeholder="filter or new theme", id="theme-filter")
            yield ThemeList(id="theme-list")

    def on_mount(self) -> None:
        self._refill("")
        self.query_one(Input).focus()

    def _refill(self, text: str) -> None:
        self._filter_text = text
        self._touched.clear()
        self._moved = False
        wanted = normalise_theme(text)
        shown = [t for t in self.themes if wanted in t] if wanted else list(self.themes)
        if wanted in shown:  # the exact name first, so enter takes it
            shown.remove(wanted)
            shown.insert(0, wanted)
        options = [Option(_theme_row(t, t in self.selected), id=t) for t in shown]
        if wanted and wanted not in self.themes:  # last, so space on a match toggles the match
            options.append(
                Option(
                    Text(f"+ create “{literal(wanted)}”", style="italic"), id=CREATE_PREFIX + wanted
                )
            )
        lst = self.query_one(ThemeList)
        lst.set_options(options)
        if options:
            lst.highlighted = 0

    @on(Input.Changed, "#theme-filter")
    def _filter(self, event: Input.Changed) -> None:
        self._current_list()

    @on(Input.Submitted, "#theme-filter")
    def _submitted(self) -> None:
        self.action_save()

    @on(OptionList.OptionSelected, "#theme-list")
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        self._toggle_highlighted()

    def _current_list(self) -> ThemeList:
        """The list for what the filter holds now (keys can arrive before Input.Changed)."""
        text = self.query_one(Input).value
        if text != self._filter_text:
            self._refill(text)
        return self.query_one(ThemeList)

    def _highlighted(self) -> str | None:
        lst = self._current_list()
        if lst.highlighted is None:
            return None
        return lst.get_option_at_index(lst.highlighted).id

    def action_move(self, step: int) -> None:
        lst = self._current_list()
        if lst.option_count:
            current = lst.highlighted if lst.highlighted is not None else -1
            lst.highlighted = max(0, min(lst.option_count - 1, current + step))
            self._moved = True

    def action_space(self) -> None:
        if self.space_types_dash():
            self.query_one(Input).insert_text_at_cursor("-")
        else:
            self._toggle_highlighted()

    def space_types_dash(self) -> bool:
        """True when the highlighted entry is the offer to create what is being typed."""
        value = self._highlighted()
        if value is None:
            return bool(self.query_one(Input).value)
        return value.startswith(CREATE_PREFIX)

    def _toggle_highlighted(self) -> None:
        value = self._highlighted()
        if value is None:
            return
        if value.startswith(CREATE_PREFIX):
            name = value[len(CREATE_PREFIX) :]
            self.themes.append(name)
            self.selected.append(name)
            self.query_one(Input).value = ""  # shows every theme again, the new one ticked
            self._refill("")
            return
        if value in self.selected:
            self.selected.remove(value)
        else:
            self.selected.append(value)
        self._touched.add(value)
        lst = self.query_one(ThemeList)
        if lst.highlighted is not None:
            lst.replace_option_prompt_at_index(
                lst.highlighted, _theme_row(value, value in self.selected)
            )

    def action_save(self) -> None:
        value = self._highlighted()
        if value is not None:
            if value.startswith(CREATE_PREFIX):
                self._toggle_highlighted()  # enter on "+ create": create it, tick it, and save
            elif (self._filter_text.strip() or self._moved) and value not in self._touched:
                self.selected.append(value)  # what was typed (or moved to) is meant
        self.dismiss(list(dict.fromkeys(self.selected)))

    def action_cancel(self) -> None:
        self.dismiss(None)


class KeepOrDrop(ModalScreen[str]):
    """Esc on changed text: save it, discard it, or keep editing (answers "save", "discard",
    "keep")."""

    BINDINGS = [
        Binding("s,ctrl+s", "answer('save')", "save", id="unsaved.save"),
        Binding("d", "answer('discard')", "discard", id="unsaved.discard"),
        Binding("escape,k", "answer('keep')", "keep editing", id="unsaved.keep"),
    ]

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog ask"):
            yield Static(Text(f"Unsaved changes: {literal(self.what)}", style="bold"))
            yield Static(Text("s save  ·  d discard  ·  esc keep editing"))
        yield Footer()

    def action_answer(self, answer: str) -> None:
        self.dismiss(answer)


#: What the corrected answer is written beside: the record's messages, output and error.
ConversationContext = tuple[list[dict[str, Any]], dict[str, Any] | None, str | None]


class TextEditor(ModalScreen[str | None]):
    """A text editor in a dialog: ctrl+s saves, esc cancels (asking first when the text was
    changed), ctrl+a selects all. The text is loaded literally.

    With `beside`, the conversation being corrected is shown on the left of the editor, so
    what is rewritten stays in view while it is.
    """

    BINDINGS = [
        Binding("ctrl+s", "save", "save", id="editor.save", priority=True),
        # priority: the text area would otherwise keep escape (and ctrl+a, line start) for itself
        Binding("escape", "cancel", "cancel", id="editor.cancel", priority=True),
        Binding("ctrl+a", "select_all", "select all", id="editor.select_all", priority=True),
    ]

    def __init__(
        self,
        title: str,
        text: str,
        language: str | None = None,
        beside: ConversationContext | None = None,
        what: str | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.what = what or title
        # log text is edited as shown: a control character is its escape (`\x1b`), saved as typed
        self.text = literal(text)
        self.language = language
        self.beside = beside

    def compose(self) -> ComposeResult:
        area = TextArea(
            self.text,
            id="editor",
            soft_wrap=True,
            show_line_numbers=False,
            tab_behavior="indent",
        )
        title = Static(
            Text.assemble(
                (literal(self.title_text), "bold"),
                ("  ctrl+s saves · esc cancels (asks if changed) · ctrl+a selects all", "dim"),
            )
        )
        if self.beside is None:
            with Vertical(classes="dialog editor"):
                yield title
                yield area
        else:
            from reviewer.tui.widgets.conversation import Conversation

            with Horizontal(classes="dialog editor beside"):
                yield Conversation(id="editor-conversation")
                with Vertical(id="editor-pane"):
                    yield title
                    yield area
        yield Footer()

    def on_mount(self) -> None:
        area = self.query_one(TextArea)
        if self.language:
            try:
                area.language = self.language
            except Exception:  # the language's highlighter is not installed: plain text is fine
                area.language = None
        if self.beside is not None:
            from reviewer.tui.widgets.conversation import Conversation

            self.query_one(Conversation).show(*self.beside)
        area.focus()

    @property
    def changed(self) -> bool:
        return self.query_one(TextArea).text != self.text

    def action_save(self) -> None:
        self.dismiss(self.query_one(TextArea).text)

    def action_select_all(self) -> None:
        self.query_one(TextArea).select_all()

    def action_cancel(self) -> None:
        if not self.changed:
            self.dismiss(None)
            return

        def answered(answer: str | None) -> None:
            if answer == "save":
                self.action_save()
            elif answer == "discard":
                self.dismiss(None)
            else:
                self.query_one(TextArea).focus()

        self.app.push_screen(KeepOrDrop(self.what), answered)


class DatasetPicker(ModalScreen[str | None]):
    """Choose the dataset to promote into, or type a new name."""

    BINDINGS = [Binding("escape", "cancel", "cancel", id="datasets.cancel")]

    def __init__(self, names: list[str], default: str | None) -> None:
        super().__init__()
        self.names = names
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Promote to dataset — enter picks, or type a new name")
            yield Input(value=literal(self.default), placeholder="dataset name", id="dataset-name")
            yield OptionList(
                *(Option(Text(literal(n)), id=n) for n in self.names), id="dataset-list"
            )

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _typed(self, event: Input.Submitted) -> None:
        name = event.value.strip()
        if name:
            self.dismiss(name)

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
