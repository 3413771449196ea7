"""What the app tells its screens: typed messages, handled on the event loop.

Workers read and write the database off the event loop and never touch a screen's state; what
they found travels in a message, and the handler of the screen (or of the app) shows it. The
messages of one screen are nested in it; those here go from the app to every screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from reviewer.review.sync import SyncResult


@dataclass
class QueuesSynced(Message):
    """A sync of the queues finished (posted by the app's sync worker to the app)."""

    results: dict[str, SyncResult]
    announce: bool = False  # the reviewer asked for it: say when it is done


@dataclass
class QueuesChanged(Message):
    """The membership or figures of the queues may have changed: sent to every screen, which
    looks again at what it shows. `sync_errors` names the queues whose last sync failed."""

    sync_errors: dict[str, str] = field(default_factory=dict)
