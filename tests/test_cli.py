"""Learner commands: status, next, hint, check and watch, driven by the last results."""

from __future__ import annotations

from pathlib import Path

import pytest

from curriculum import cli
from curriculum.learner import build_workspace
from curriculum.manifest import discover_modules


def run(capsys: pytest.CaptureFixture[str], course: Path, *args: str) -> tuple[int, str]:
    code = cli.main(["--course", str(course), *args])
    return code, capsys.readouterr().out


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "console", cli.Console(width=200, highlight=False))


def test_progress_follows_the_results(course: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    workspace = tmp_path / "ws"
    build_workspace(course, workspace, discover_modules(course))
    code, text = run(capsys, workspace, "status")
    assert code == 0 and "No results yet" in text and "Next: c01.1 Add two numbers" in text

    code, text = run(capsys, workspace, "next")
    assert "Hint: Use +." in text and "Run:  curriculum check c01.1" in text

    code, text = run(capsys, workspace, "check", "c01.1")
    assert code == 1 and "not_implemented" in text and "NotImplementedError" in text

    arith = workspace / "c01_toy/src/c01_toy/arith.py"
    stub = 'raise NotImplementedError("c01.1: add the two numbers")'
    arith.write_text(arith.read_text().replace(stub, "return a + b"))
    code, text = run(capsys, workspace, "check", "c01.1")
    assert code == 0 and "c01.1 passed: 10/10 points" in text and "metric add_error = 0" in text, text
    assert "Next: c01.2 Count to n" in text

    code, text = run(capsys, workspace, "status")
    assert "c01 c01_toy" in text and "1/3 tasks  10/20 points" in text and "c02 c02_later" in text


def test_hint_and_unknown_task(course: Path, capsys: pytest.CaptureFixture[str]):
    code, text = run(capsys, course, "hint", "c01.1")
    assert code == 0 and "Hint: Use +." in text and "add_error <= 1e-12" in text
    code, text = run(capsys, course, "hint", "c01.7")
    assert code == 2 and "c01 has no task 'c01.7'" in text


def test_watch_rechecks_on_every_change(course: Path, monkeypatch: pytest.MonkeyPatch):
    checked: list[str] = []
    monkeypatch.setattr(cli, "check_task", lambda root, modules, task: checked.append(task) or True)
    changes = iter([{"saved"}, {"saved"}])
    runs = cli.watch_loop(course, discover_modules(course), "c01.2", changes)
    assert runs == 3 and checked == ["c01.2"] * 3


def test_no_course_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["status"]) == 2
    assert "no course found" in capsys.readouterr().out
