"""Browser sessions and the failed-login limit of `reviewer serve`.

A successful login makes a session: a random id (the only thing in the browser's cookie)
mapped, in the server's memory, to the reviewer and the hash of the token used. A session ends
when its reviewer is revoked or given a new token, after `IDLE` seconds without a request,
on logout, and when the server stops.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

#: A session ends after this long without a request or a key (12 hours).
IDLE = 12 * 3600.0
#: Failed logins allowed from one address per `WINDOW` seconds; past it, 429 until the
#: oldest failure is `WINDOW` seconds old.
FAILURES = 5
WINDOW = 60.0


@dataclass(slots=True)
class Session:
    """One logged-in browser."""

    id: str
    reviewer: str
    token_sha256: str
    started: float
    seen: float


class Sessions:
    """The sessions of a running server, by id."""

    def __init__(self, idle: float = IDLE, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle = idle
        self.clock = clock
        self._by_id: dict[str, Session] = {}

    def start(self, reviewer: str, token_sha256: str) -> Session:
        now = self.clock()
        session = Session(secrets.token_urlsafe(32), reviewer, token_sha256, now, now)
        self._by_id[session.id] = session
        return session

    def get(self, session_id: str | None, valid: Callable[[str, str], bool]) -> Session | None:
        """The live session of this id, touched; None (and the session ended) when it is
        unknown, idle too long, or `valid(reviewer, token_sha256)` says its token is gone."""
        if not session_id:
            return None
        session = self._by_id.get(session_id)
        if session is None:
            return None
        now = self.clock()
        if now - session.seen > self.idle or not valid(session.reviewer, session.token_sha256):
            del self._by_id[session_id]
            return None
        session.seen = now
        return session

    def end(self, session_id: str | None) -> None:
        if session_id:
            self._by_id.pop(session_id, None)

    def sweep(self, valid: Callable[[str, str], bool]) -> list[Session]:
        """End the sessions that are no longer valid or idle too long; they are returned."""
        now = self.clock()
        gone = [
            s
            for s in self._by_id.values()
            if now - s.seen > self.idle or not valid(s.reviewer, s.token_sha256)
        ]
        for s in gone:
            del self._by_id[s.id]
        return gone

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._by_id

    def __len__(self) -> int:
        return len(self._by_id)


class LoginLimit:
    """Failed logins per client address in a sliding window."""

    def __init__(
        self,
        failures: int = FAILURES,
        window: float = WINDOW,
        clock: Callable[[], float] = time.monotonic,
        addresses: int = 10_000,
    ) -> None:
        self.failures = failures
        self.window = window
        self.clock = clock
        self.addresses = addresses  # how many addresses are remembered at most
        self._failed: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, address: str, now: float) -> deque[float]:
        times = self._failed.get(address)
        if times is None:
            return deque()
        while times and now - times[0] >= self.window:
            times.popleft()
        if not times:
            del self._failed[address]
        return times

    def retry_after(self, address: str) -> int:
        """Seconds this address must wait before it may try again (0: it may now)."""
        now = self.clock()
        times = self._recent(address, now)
        if len(times) < self.failures:
            return 0
        return max(1, int(times[0] + self.window - now + 0.999))

    def failed(self, address: str) -> None:
        now = self.clock()
        times = self._failed.setdefault(address, deque())
        times.append(now)
        self._failed.move_to_end(address)
        while len(times) > self.failures:
            times.popleft()
        while len(self._failed) > self.addresses:
            self._failed.popitem(last=False)
