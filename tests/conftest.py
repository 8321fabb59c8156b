"""Shared fixtures for the grader's own tests: a toy course and learner submissions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parent.parent
IGNORE = shutil.ignore_patterns("build", "__pycache__", ".pytest_cache")


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A private copy of the toy course (c01 built with three tasks, c02 planned)."""
    return Path(shutil.copytree(FIXTURES / "course", tmp_path / "course", ignore=IGNORE))


@pytest.fixture
def submissions(tmp_path: Path) -> Path:
    """alice (right), bob (loops forever), carol (segfaults), dave (stuck with signals blocked)."""
    return Path(shutil.copytree(FIXTURES / "submissions", tmp_path / "submissions", ignore=IGNORE))


@pytest.fixture(autouse=True)
def short_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    """The watchdog's grace past a task timeout, short so the hang tests stay quick."""
    monkeypatch.setenv("CURRICULUM_GRACE_S", "2")
