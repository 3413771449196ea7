"""The core never imports Textual or Rich, heavy SDKs are imported only where first needed, and the
layers in pyproject.toml (checked by import-linter) hold."""

from __future__ import annotations

import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import reviewer
from tests.conftest import REPO

FACES = ("reviewer.tui", "reviewer.cli")


def core_modules() -> list[str]:
    """Every module of the package outside the two faces (found by walking it, not listed)."""
    names = [
        info.name
        for info in pkgutil.walk_packages(reviewer.__path__, prefix="reviewer.")
        if not info.name.startswith(FACES)
    ]
    assert len(names) > 60  # the walk found the package
    return names


def loaded_after_import(modules: list[str], then: str = "") -> set[str]:
    """The modules loaded in a fresh interpreter after importing `modules` (and running `then`)."""
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + then
    code += "\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


def _of(package: str, loaded: set[str]) -> set[str]:
    return {m for m in loaded if m == package or m.startswith(package + ".")}


def test_no_core_module_imports_textual_or_rich():
    modules = core_modules()
    loaded = loaded_after_import(modules)
    assert set(modules) <= loaded
    assert not _of("textual", loaded)
    assert not _of("rich", loaded)


def test_import_and_startup_do_not_load_the_sdks():
    loaded = loaded_after_import(
        ["reviewer.cli", "reviewer.ingest.pipeline"],
        "from reviewer.ingest.formats import all_formats\nall_formats()",
    )
    assert "reviewer.ingest.formats.otlp" in loaded
    assert not _of("openai", loaded)
    assert not _of("anthropic", loaded)
    assert not _of("textual", loaded)


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("lint-imports")
    if exe is None:
        pytest.skip("import-linter is a dev extra: pip install -e '.[dev]'")
    return subprocess.run(
        [exe, "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(root), "PATH": str(Path(exe).parent)},
    )


def test_the_layers_hold():
    result = _lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_a_core_module_importing_textual_breaks_the_contract(tmp_path):
    shutil.copytree(
        REPO / "reviewer", tmp_path / "reviewer", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    queues = tmp_path / "reviewer" / "review" / "queues.py"
    queues.write_text(queues.read_text() + "\nimport textual  # noqa\n")
    result = _lint_imports(tmp_path)
    assert result.returncode == 1
    assert "reviewer.review is not allowed to import textual" in result.stdout


def test_a_lower_layer_importing_a_higher_one_breaks_the_contract(tmp_path):
    shutil.copytree(
        REPO / "reviewer", tmp_path / "reviewer", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    counts = tmp_path / "reviewer" / "review" / "counts.py"
    counts.write_text(counts.read_text() + "\nimport reviewer.datasets.promote  # noqa\n")
    result = _lint_imports(tmp_path)
    assert result.returncode == 1
    assert "reviewer.review is not allowed to import reviewer.datasets" in result.stdout
