"""Prompt versions: every saved text of a prompt file, content-hashed, with its eval runs.

`save_version` checks a prompt's new text (`prompts.parse_prompt`: a prompt with errors is not
saved), writes `prompts/NAME.yaml`, records a `PromptVersion` (the same text twice is one
version) and, asked to, commits that one file with git (`prompt NAME: version N`).
`history` lists the versions newest first, each with its diff against the version before and
the eval runs of its text (runs are linked by the prompt hash, `prompts.prompt_hash` of the
exact text, which the runner records on each run).

Versions are numbered 1, 2, ... per prompt in the order they were first recorded; a text saved
again later is still its first number (the file can go back to an older version).
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from reviewer.evals.prompts import PromptError, parse_prompt, prompt_hash
from reviewer.store import schema  # noqa: F401  (registers the tables)
from reviewer.store.events import stamp, utc_now, write_transaction

VERSIONS: Table = SQLModel.metadata.tables["prompt_versions"]
RUNS: Table = SQLModel.metadata.tables["eval_runs"]
RESULTS: Table = SQLModel.metadata.tables["eval_results"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
GIT_TIMEOUT = 60.0


class VersionError(Exception):
    """A version that cannot be saved or committed; the message says why."""


@dataclass(slots=True)
class SavedVersion:
    """A version of a prompt (the `PromptVersion` row and its number). `created`: this call
    added it; `committed`: this call made a git commit; `git_note` says why there was none
    when a commit was asked for (not a git repository, nothing changed)."""

    name: str
    number: int
    hash: str
    path: str
    content: str
    created_at: str
    created_by: str | None
    git_commit: str | None
    note: str | None
    created: bool = False
    committed: bool = False
    git_note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class VersionRun:
    """An eval run of a version: its dataset, model and pass rate."""

    run_id: int
    dataset: str
    dataset_version: int
    provider: str
    model: str
    status: str
    started_at: str
    cases: int
    passed: int
    graded: int
    pass_rate: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __getitem__(self, key: str) -> Any:
        """Mapping-style reading too (`run["pass_rate"]`)."""
        if key not in self.__dataclass_fields__:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in self.__dataclass_fields__ else default


@dataclass(slots=True)
class VersionEntry:
    """One version in a prompt's history."""

    name: str
    number: int
    hash: str
    created_at: str
    by: str | None  # who saved it
    git_commit: str | None
    note: str | None
    diff: str  # unified diff against the previous version (against nothing for version 1)
    current: bool  # the file holds this text now (False when the file was not looked at)
    runs: list[VersionRun] = field(default_factory=list)  # newest first

    @property
    def pass_rates(self) -> dict[str, float | None]:
        """The pass rate of the latest finished run per dataset (per dataset and model when
        several models ran: `dataset (model)`)."""
        out: dict[str, float | None] = {}
        models: dict[str, set[str]] = {}
        for run in self.runs:
            models.setdefault(run.dataset, set()).add(run.model)
        for run in self.runs:  # newest first: the first one seen wins
            if run.status != "done":
                continue
            key = run.dataset if len(models[run.dataset]) == 1 else f"{run.dataset} ({run.model})"
            out.setdefault(key, run.pass_rate)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            **{k: getattr(self, k) for k in ("name", "number", "hash", "created_at", "by",
                                             "git_commit", "note", "diff", "current")},
            "runs": [r.to_dict() for r in self.runs],
            "pass_rates": self.pass_rates,
        }  # fmt: skip


# -- files ----------------------------------------------------------------------------------------


def check_name(name: str) -> str:
    """A prompt name usable as a file name; VersionError otherwise."""
    if not _NAME.match(name or "") or ".." in name:
        raise VersionError(
            f"{name!r} is not a prompt name: letters, digits, '.', '_' and '-', "
            "starting with a letter or digit"
        )
    return name


def prompt_path(workspace: Path, name: str) -> Path:
    """prompts/NAME.yaml (prompts/NAME.yml when only that exists)."""
    folder = Path(workspace) / "prompts"
    yaml_path = folder / f"{check_name(name)}.yaml"
    yml_path = folder / f"{name}.yml"
    return yml_path if yml_path.exists() and not yaml_path.exists() else yaml_path


def is_workspace_prompt(workspace: Path, name: str, path: str) -> bool:
    """Whether a prompt read from `path` (relative to the workspace or the current folder) is
    the workspace's prompt `name`, whose versions the workspace keeps; a copy elsewhere with
    the same name is not."""
    if not path:
        return False
    given = Path(path)
    if given.is_absolute():
        found = given
    elif (Path(workspace) / given).exists():
        found = Path(workspace) / given
    else:
        found = Path.cwd() / given
    try:
        return found.resolve() == prompt_path(workspace, name).resolve()
    except (OSError, VersionError):
        return False


def _relative(workspace: Path, path: Path) -> str:
    try:
        return str(path.relative_to(workspace))
    except ValueError:
        return str(path)


def _write_atomically(path: Path, text: str) -> None:
    """Replace the file's content in one step (a crash leaves the old or the new file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- git ------------------------------------------------------------------------------------------


def _git(workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", *args],
            cwd=workspace,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
        )
    except FileNotFoundError:
        raise VersionError("git is not installed (or not on PATH)") from None
    except (OSError, subprocess.SubprocessError) as exc:
        raise VersionError(f"git {args[0]} failed: {exc}") from None


def _git_error(result: subprocess.CompletedProcess[str], what: str) -> VersionError:
    detail = (result.stderr or result.stdout or "").strip().splitlines()
    reason = "; ".join(line.strip() for line in detail[-3:] if line.strip()) or (
        f"exit status {result.returncode}"
    )
    return VersionError(f"{what}: {reason}")


def is_git_repository(workspace: Path) -> bool:
    """Whether the workspace is inside a git work tree (False when git is missing)."""
    try:
        result = _git(workspace, "rev-parse", "--is-inside-work-tree")
    except VersionError:
        return False
    return result.returncode == 0 and result.stdout.strip() == "true"


def last_commit_of(workspace: Path, path: Path) -> str | None:
    """The last commit holding the file exactly as it is now, or None (not a repository, not
    tracked, or changed since)."""
    if not is_git_repository(workspace):
        return None
    rel = _relative(workspace, path)
    tracked = _git(workspace, "ls-files", "--error-unmatch", "--", rel)
    if tracked.returncode != 0:
        return None
    if _git(workspace, "diff", "--quiet", "HEAD", "--", rel).returncode != 0:
        return None
    found = _git(workspace, "log", "-1", "--format=%H", "--", rel)
    if found.returncode != 0:
        return None
    return found.stdout.strip() or None


def commit_file(workspace: Path, path: Path, message: str) -> str | None:
    """`git add` + `git commit` of this one file (other changes, staged or not, stay out of
    the commit); returns the new commit, or None when the file has nothing to commit.
    VersionError with git's message when git fails."""
    rel = _relative(workspace, path)
    added = _git(workspace, "add", "--", rel)
    if added.returncode != 0:
        raise _git_error(added, f"git add {rel} failed")
    has_head = _git(workspace, "rev-parse", "--verify", "--quiet", "HEAD").returncode == 0
    if (
        has_head
        and _git(workspace, "diff", "--cached", "--quiet", "HEAD", "--", rel).returncode == 0
    ):
        return None
    committed = _git(workspace, "commit", "--quiet", "-m", message, "--only", "--", rel)
    if committed.returncode != 0:
        raise _git_error(committed, f"git commit of {rel} failed")
    head = _git(workspace, "rev-parse", "HEAD")
    if head.returncode != 0:
        raise _git_error(head, "git rev-parse HEAD failed")
    return head.stdout.strip()


# -- versions -------------------------------------------------------------------------------------


def _number(conn: Connection, name: str, version_id: int) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(VERSIONS)
            .where(VERSIONS.c.name == name, VERSIONS.c.id <= version_id)
        ).scalar_one()
    )


def _saved(conn: Connection, row: Any, **extra: Any) -> SavedVersion:
    return SavedVersion(
        name=row.name,
        number=_number(conn, row.name, int(row.id)),
        hash=row.hash,
        path=row.path,
        content=row.content,
        created_at=row.created_at,
        created_by=row.created_by,
        git_commit=row.git_commit,
        note=row.note,
        **extra,
    )


def record_version(
    engine: Engine,
    name: str,
    text: str,
    *,
    path: str = "",
    by: str | None = None,
    note: str | None = None,
    git_commit: str | None = None,
) -> SavedVersion:
    """Keep `text` as a version of prompt `name` unless that text is one already (then that
    version is returned, `created` False). Writes no file: for texts an eval ran with."""
    digest = prompt_hash(text)
    for _attempt in range(2):
        try:
            with write_transaction(engine) as conn:
                row = conn.execute(
                    select(VERSIONS).where(VERSIONS.c.name == name, VERSIONS.c.hash == digest)
                ).first()
                if row is not None:
                    return _saved(conn, row)
                conn.execute(
                    VERSIONS.insert().values(
                        name=name,
                        hash=digest,
                        path=path,
                        content=text,
                        created_at=stamp(utc_now()),
                        created_by=by,
                        git_commit=git_commit,
                        note=note,
                    )
                )
                row = conn.execute(
                    select(VERSIONS).where(VERSIONS.c.name == name, VERSIONS.c.hash == digest)
                ).one()
                return _saved(conn, row, created=True)
        except IntegrityError:  # another writer recorded the same text meanwhile
            continue
    raise VersionError(f"could not record a version of {name}")  # pragma: no cover


def _set_commit(engine: Engine, name: str, digest: str, commit: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(VERSIONS)
            .where(VERSIONS.c.name == name, VERSIONS.c.hash == digest)
            .values(git_commit=commit)
        )


def save_version(
    engine: Engine,
    workspace: Path,
    name: str,
    text: str,
    *,
    by: str | None,
    commit: bool = False,
    note: str | None = None,
) -> SavedVersion:
    """Check `text`, write it to prompts/NAME.yaml, record it as a version (the same text
    twice is one version) and, with `commit` in a git repository, commit that one file.

    PromptError (file, line, reason) when the text is not a usable prompt: nothing is written.
    VersionError when the name is not usable or git fails (the file and version are saved by
    then; the message says so)."""
    workspace = Path(workspace)
    path = prompt_path(workspace, name)
    rel = _relative(workspace, path)
    prompt = parse_prompt(text, rel)
    if prompt.name != name:
        raise PromptError(
            rel, None, f"the prompt's name is {prompt.name!r}; a file {rel} holds prompt {name!r}"
        )
    try:
        before = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        before = None
    if before is not None and before != text:
        ensure_current(engine, workspace, name)  # the file as it was, before this save
    _write_atomically(path, text)
    saved = record_version(engine, name, text, path=rel, by=by, note=note)
    if not commit:
        return saved
    if not is_git_repository(workspace):
        saved.git_note = f"{workspace} is not a git repository: saved, not committed"
        return saved
    try:
        made = commit_file(workspace, path, f"prompt {name}: version {saved.number}")
    except VersionError as exc:
        raise VersionError(f"saved as version {saved.number} of {name}, but {exc}") from None
    if made is None:
        saved.git_note = "git: nothing to commit (the file is committed as it is)"
        made = saved.git_commit or last_commit_of(workspace, path)
    else:
        saved.committed = True
    if made and made != saved.git_commit:
        _set_commit(engine, name, saved.hash, made)
        saved.git_commit = made
    return saved


def ensure_current(engine: Engine, workspace: Path, name: str) -> SavedVersion | None:
    """Record the prompt file as version 1 when the prompt has no version yet (with its git
    commit when it is committed as it is); None when it has versions or there is no file."""
    with engine.connect() as conn:
        known = conn.execute(
            select(func.count()).select_from(VERSIONS).where(VERSIONS.c.name == name)
        ).scalar_one()
    if known:
        return None
    workspace = Path(workspace)
    path = prompt_path(workspace, name)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    return record_version(
        engine,
        name,
        text,
        path=_relative(workspace, path),
        note="the file as it was",
        git_commit=last_commit_of(workspace, path),
    )


# -- history --------------------------------------------------------------------------------------


def unified_diff(before: str, after: str, from_label: str, to_label: str) -> str:
    """A unified diff of two texts ("" when they are equal)."""
    lines = difflib.unified_diff(
        before.splitlines(), after.splitlines(), fromfile=from_label, tofile=to_label, lineterm=""
    )
    return "\n".join(lines)


def _runs(conn: Connection, name: str) -> dict[str, list[VersionRun]]:
    """Every run of the prompt with its figures, by prompt hash, newest first."""
    counts = {
        int(row.run_id): row
        for row in conn.execute(
            select(
                RESULTS.c.run_id,
                func.count().label("cases"),
                func.sum(case((RESULTS.c.passed.is_(True), 1), else_=0)).label("passed"),
                func.sum(
                    case((RESULTS.c.passed.is_(None) & RESULTS.c.error.is_(None), 1), else_=0)
                ).label("ungraded"),
                func.sum(  # could not be graded: not among the graded cases
                    case(
                        (RESULTS.c.error.is_not(None) & RESULTS.c.passed.is_not(True), 1),
                        else_=0,
                    )
                ).label("errors"),
            )
            .where(RESULTS.c.run_id.in_(select(RUNS.c.id).where(RUNS.c.prompt_name == name)))
            .group_by(RESULTS.c.run_id)
        )
    }
    out: dict[str, list[VersionRun]] = {}
    for run in conn.execute(
        select(RUNS).where(RUNS.c.prompt_name == name).order_by(RUNS.c.id.desc())
    ):
        c = counts.get(int(run.id))
        cases = int(c.cases) if c else 0
        passed = int(c.passed or 0) if c else 0
        graded = cases - (int(c.ungraded or 0) + int(c.errors or 0) if c else 0)
        out.setdefault(run.prompt_hash, []).append(
            VersionRun(
                run_id=int(run.id),
                dataset=run.dataset_name,
                dataset_version=int(run.dataset_version),
                provider=run.provider,
                model=run.model,
                status=run.status,
                started_at=run.started_at,
                cases=cases,
                passed=passed,
                graded=graded,
                pass_rate=passed / graded if graded else None,
            )
        )
    return out


def history(engine: Engine, name: str, workspace: Path | None = None) -> list[VersionEntry]:
    """The versions of a prompt, newest first, each with its diff against the version before
    and its eval runs. With `workspace`, `current` marks the version the file holds now."""
    current_hash: str | None = None
    if workspace is not None:
        try:
            current_hash = prompt_hash(
                prompt_path(Path(workspace), name).read_bytes().decode("utf-8-sig")
            )
        except (OSError, UnicodeDecodeError, VersionError):
            current_hash = None
    with engine.connect() as conn:
        rows = list(
            conn.execute(select(VERSIONS).where(VERSIONS.c.name == name).order_by(VERSIONS.c.id))
        )
        runs = _runs(conn, name)
    entries: list[VersionEntry] = []
    previous = ""
    for number, row in enumerate(rows, start=1):
        entries.append(
            VersionEntry(
                name=name,
                number=number,
                hash=row.hash,
                created_at=row.created_at,
                by=row.created_by,
                git_commit=row.git_commit,
                note=row.note,
                diff=unified_diff(
                    previous,
                    row.content,
                    f"{name} v{number - 1}" if number > 1 else "/dev/null",
                    f"{name} v{number}",
                ),
                current=row.hash == current_hash,
                runs=runs.get(row.hash, []),
            )
        )
        previous = row.content
    entries.reverse()
    return entries


def version_text(engine: Engine, name: str, prompt_hash_: str) -> str | None:
    """The exact text of a prompt version by its hash (None when it was never recorded)."""
    with engine.connect() as conn:
        return conn.execute(
            select(VERSIONS.c.content).where(
                VERSIONS.c.name == name, VERSIONS.c.hash == prompt_hash_
            )
        ).scalar()


def format_history(entries: list[VersionEntry]) -> list[str]:
    """History as text lines: one line per version, then its pass rates."""
    lines: list[str] = []
    for e in entries:
        mark = "*" if e.current else " "
        commit = (e.git_commit or "")[:10] or "-"
        rates = ", ".join(
            f"{k} {'-' if v is None else f'{v * 100:.0f}%'}" for k, v in e.pass_rates.items()
        )
        lines.append(
            f"{mark} v{e.number:<3} {e.hash[:12]}  {e.created_at[:19].replace('T', ' ')}  "
            f"{e.by or '-':<12}  {commit:<10}  {e.note or ''}".rstrip()
        )
        if rates:
            lines.append(f"        pass rate: {rates}")
    return lines
