"""The workspace's README is the learner's front door, not the course's (which speaks to instructors)."""

from __future__ import annotations

from pathlib import Path

import pytest

from curriculum.cli import build_parser
from curriculum.learner import LEARNER_README, build_workspace
from curriculum.manifest import discover_modules


def test_the_workspace_readme_is_written_for_learners(course: Path, tmp_path: Path):
    (course / "README.md").write_text("# The course\n\n## For instructors\n\ncurriculum grade --submissions\n")
    dest = tmp_path / "learner"
    build_workspace(course, dest, discover_modules(course))
    readme = (dest / "README.md").read_text(encoding="utf-8")
    assert readme == LEARNER_README.read_text(encoding="utf-8")
    assert "For instructors" not in readme and "--submissions" not in readme
    for command in ("make grade", "curriculum next", "curriculum check", "curriculum hint", "--solved"):
        assert command in readme, command


def test_the_learner_readme_names_only_commands_that_exist(capsys: pytest.CaptureFixture[str]):
    text = LEARNER_README.read_text(encoding="utf-8")
    named = {word.split()[1] for word in text.split("`") if word.startswith("curriculum ")}
    assert {"next", "hint", "check", "watch", "status"} <= named
    for command in sorted(named):
        with pytest.raises(SystemExit) as exit_info:
            build_parser().parse_args([command, "--help"])  # an unknown command exits 2
        assert exit_info.value.code == 0, command
    capsys.readouterr()
