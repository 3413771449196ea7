"""The command palette (ctrl+p): open a queue, a prompt's lab, the datasets, the insights;
search, sync."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import Hit, Hits, Provider

from reviewer.tui.literal import literal

if TYPE_CHECKING:
    from reviewer.tui.app import ReviewerApp


class ReviewerCommands(Provider):
    """Commands of reviewer itself, beside Textual's own."""

    def _commands(self) -> list[tuple[str, str, object]]:
        app: ReviewerApp = self.app  # type: ignore[assignment]
        cmds: list[tuple[str, str, object]] = [
            ("Search all records", "full-text search (/)", app.action_search),
            ("Sync queues", "add records that match the queue filters", app.sync_queues),
            ("Datasets", "the eval datasets: items, versions, export", app.open_datasets),
            ("Insights", "figures per period, themes, coverage", app.open_insights),
        ]
        prompts = app.ctx.workspace / "prompts"
        for path in (
            sorted([*prompts.glob("*.yaml"), *prompts.glob("*.yml")]) if prompts.is_dir() else []
        ):
            cmds.append(
                (
                    literal(f"Prompt lab {path.stem}"),
                    "edit the prompt and rerun its evals",
                    partial(app.open_lab, path),
                )
            )
        for queue in app.ctx.queues:
            cmds.append(
                (
                    literal(f"Open queue {queue.name}"),
                    literal(queue.description) or "review this queue",
                    partial(app.open_review, queue.name),
                )
            )
        return cmds

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield Hit(1.0, name, callback, help=help_text)  # type: ignore[arg-type]

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)  # type: ignore[arg-type]
