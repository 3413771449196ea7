"""Who may log in to `reviewer serve`: `<workspace>/.reviewer/reviewers.yaml`.

Each reviewer has a name and a token. The token is made here (256 random bits), shown once by
`reviewer serve add-reviewer`, and never stored: the file keeps its SHA-256 hash. (A slow
password hash would add nothing: a token of 256 random bits cannot be guessed from its hash.)
The file sits beside the database and the local config, outside git (`.reviewer/` is ignored):
it belongs to the machine that runs the server, and revoking a reviewer is one command there,
effective at once, with no commit to push. It is written with mode 0600.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HEADER = (
    "# Who may log in to `reviewer serve` (written by `reviewer serve add-reviewer`).\n"
    "# Only the SHA-256 hash of each reviewer's token is kept; the token was shown once.\n"
)
TOKEN_PREFIX = "rvw_"
#: A reviewer's name: what the app records as the reviewer (claims, reviews, statistics).
NAME = re.compile(r"^[\w][\w .@+-]{0,63}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class ReviewersError(Exception):
    """The reviewers file cannot be used: its path and what is wrong."""


@dataclass(frozen=True, slots=True)
class Reviewer:
    """One reviewer who may log in."""

    name: str
    token_sha256: str
    added: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "added": self.added}


def reviewers_path(workspace: Path) -> Path:
    """The reviewers file of a workspace."""
    return workspace / ".reviewer" / "reviewers.yaml"


def token_hash(token: str) -> str:
    """The SHA-256 of a token, in hex: what the file keeps."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def check_name(name: str) -> str:
    """`name` stripped, or ValueError saying what a name may hold."""
    cleaned = name.strip()
    if not NAME.match(cleaned):
        raise ValueError(
            f"{name!r} is not a reviewer name: 1 to 64 letters, digits, spaces and . @ + - _, "
            "starting with a letter or digit"
        )
    return cleaned


def load_reviewers(path: Path) -> dict[str, Reviewer]:
    """The reviewers in `path` by name ({} when the file does not exist)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ReviewersError(f"{path}: cannot read it: {exc}") from None
    import yaml

    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ReviewersError(f"{path}: not valid YAML: {exc}") from None
    entries = data.get("reviewers", {}) if isinstance(data, dict) else None
    if entries is None:
        entries = {}
    if not isinstance(entries, dict):
        raise ReviewersError(f"{path}: reviewers: expected a mapping of names to entries")
    found: dict[str, Reviewer] = {}
    for name, entry in entries.items():
        where = f"{path}: reviewers: {name!r}"
        if not isinstance(name, str) or not NAME.match(name):
            raise ReviewersError(f"{where}: not a reviewer name")
        digest = entry.get("token_sha256") if isinstance(entry, dict) else None
        if not isinstance(digest, str) or not _HEX64.match(digest):
            raise ReviewersError(f"{where}: token_sha256: expected 64 hex digits")
        added = entry.get("added", "")
        found[name] = Reviewer(name, digest, str(added or ""))
    return found


def _write(path: Path, reviewers: dict[str, Reviewer]) -> None:
    """Write the file whole, atomically, readable by its owner only."""
    import yaml

    body = {
        "reviewers": {
            r.name: {"token_sha256": r.token_sha256, "added": r.added}
            for r in sorted(reviewers.values(), key=lambda r: r.name)
        }
    }
    text = HEADER + yaml.safe_dump(body, sort_keys=False, allow_unicode=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".reviewers-", suffix=".yaml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def add_reviewer(path: Path, name: str) -> str:
    """Add `name` with a new token; the token is returned (it is not kept anywhere).

    ValueError for a bad name or a name already there."""
    name = check_name(name)
    reviewers = load_reviewers(path)
    if name in reviewers:
        raise ValueError(
            f"{name} is already a reviewer: `reviewer serve revoke {name}` first to give a new token"
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    added = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    reviewers[name] = Reviewer(name, token_hash(token), added)
    _write(path, reviewers)
    return token


def revoke_reviewer(path: Path, name: str) -> bool:
    """Remove `name` (its token stops working; a running server ends its sessions). False when
    there was no such reviewer."""
    reviewers = load_reviewers(path)
    if reviewers.pop(name.strip(), None) is None:
        return False
    _write(path, reviewers)
    return True


class ReviewerFile:
    """The reviewers file as a running server sees it: read again whenever it changes, so an
    added or revoked reviewer counts at once. A file that turns bad lets nobody in (its error
    is kept in `error`) until it is fixed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.error: str | None = None
        self._stamp: tuple[int, int, int] | None = None
        self._reviewers: dict[str, Reviewer] = {}
        self.current()

    def current(self) -> dict[str, Reviewer]:
        try:
            st = self.path.stat()
            stamp: tuple[int, int, int] | None = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            stamp = None
        if stamp != self._stamp or self.error is not None:
            try:
                self._reviewers = load_reviewers(self.path)
                self.error = None
            except ReviewersError as exc:
                self._reviewers = {}
                self.error = str(exc)
            self._stamp = stamp
        return self._reviewers

    def who(self, token: str) -> Reviewer | None:
        """The reviewer whose token this is, or None."""
        digest = token_hash(token.strip())
        found = None
        for reviewer in self.current().values():
            if hmac.compare_digest(digest, reviewer.token_sha256):
                found = reviewer
        return found

    def still_valid(self, name: str, token_sha256: str) -> bool:
        """Whether `name` may still log in with the token of that hash (not revoked, not
        given a new token)."""
        reviewer = self.current().get(name)
        return reviewer is not None and hmac.compare_digest(reviewer.token_sha256, token_sha256)
