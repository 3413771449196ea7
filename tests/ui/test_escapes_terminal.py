"""The reported case, on a real terminal: `reviewer review` under a pseudo-terminal, a model
output holding OSC 52 (set the clipboard), OSC 0 (set the title), CSI and C1 controls; the
review screen, then the corrected-answer editor (`e`). Every byte the app writes is read; none
of the log's sequences may be among them."""

from __future__ import annotations

import codecs
import contextlib
import fcntl
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import orjson
import pytest

from reviewer.store.db import open_engine, sqlite_url
from tests.conftest import run_import
from tests.ui.test_escapes import PAYLOAD, log_line

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")

COLUMNS, ROWS = 140, 44


class Terminal:
    """A process on a pseudo-terminal: type keys, read all it writes."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
        )
        os.close(slave)
        self.output = bytearray()
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self.text = ""

    def read(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            ready, _, _ = select.select([self.master], [], [], min(left, 0.1))
            if not ready:
                continue
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # the process is gone
                return
            if not chunk:
                return
            self.output += chunk
            self.text += self._decoder.decode(chunk)

    def wait_for(self, pattern: str, since: int = 0, timeout: float = 30.0) -> None:
        """Until `pattern` is in what was written from offset `since` on."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pattern in self.text[since:]:
                return
            if self.proc.poll() is not None:
                self.read(0.2)
                break
            self.read(0.2)
        tail = self.text[-3000:]
        raise AssertionError(f"{pattern!r} never appeared on the terminal; last output: {tail!r}")

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        os.close(self.master)


def reviewer_command() -> list[str]:
    script = Path(sys.executable).parent / "reviewer"
    if script.exists():
        return [str(script)]
    found = shutil.which("reviewer")
    if found:
        return [found]
    return [sys.executable, "-c", "from reviewer.cli import main; main()"]


def test_the_review_screen_and_the_editor_write_no_escape_from_the_log(tmp_path: Path):
    ws = tmp_path / "ws"
    (ws / "queues").mkdir(parents=True)
    (ws / "queues" / "all.yaml").write_text("name: all\ndescription: every call\n")
    log = tmp_path / "poisoned.jsonl"
    log.write_bytes(orjson.dumps(log_line(0)) + b"\n")
    db = ws / ".reviewer" / "reviewer.db"
    engine = open_engine(sqlite_url(db))
    assert run_import(engine, log).ok
    engine.dispose()

    env = {k: v for k, v in os.environ.items() if not k.startswith(("REVIEWER_", "TEXTUAL"))}
    env.update(TERM="xterm-256color", COLUMNS=str(COLUMNS), LINES=str(ROWS), LANG="C.UTF-8")
    argv = [*reviewer_command(), "-w", str(ws), "--db", sqlite_url(db), "-r", "ana"]
    term = Terminal([*argv, "review", "all"], env)
    try:
        term.wait_for("model output")  # the review screen, the output in view
        term.wait_for("M52")
        term.read(0.5)
        shown = len(term.text)
        term.type("e")  # the corrected-answer editor, loaded with the model output
        term.wait_for("corrected answer", since=shown)
        term.wait_for("M52", since=shown)
        term.read(0.5)
        editor = term.text[shown:]
        term.type("\x1b")  # esc closes the editor
        term.read(0.5)
        term.type("\x11")  # ctrl+q
        term.read(3)
    finally:
        term.close()

    out = term.output
    assert b"\x1b]52" not in out, "OSC 52 (clipboard) reached the terminal"
    assert b"\x1b]0;" not in out and b"pwned\x07" not in out, "OSC 0 (title) reached the terminal"
    assert not re.search(rb"\x1b\[2JM2J|\x1b\[31mM31", out), "CSI reached the terminal"
    text = term.text
    for ch in "\x9b\x9c\x9d\u202e":
        assert ch not in text, f"{ch!r} reached the terminal"
    assert "\x07" not in re.sub(r"\x1b\]22;[a-z-]*\x07", "", text), "BEL reached the terminal"
    assert "\\x1b]52;c;aGVsbG8=\\x07M52" in editor  # the editor shows the escapes
    assert PAYLOAD.split()[0] in text
