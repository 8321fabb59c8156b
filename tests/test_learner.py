"""The learner workspace: stripped, hidden tests left out, byte-identical, graded to zero."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curriculum.cli import main
from curriculum.grade import grade_submission
from curriculum.learner import WORKSPACE_FILE, build_workspace, course_files, tree_digest
from curriculum.manifest import discover_modules
from curriculum.markers import MarkerError

REPO = Path(__file__).resolve().parent.parent


def test_workspace_strips_solutions_and_hides_tests(course: Path, tmp_path: Path):
    modules = discover_modules(course)
    dest = tmp_path / "learner"
    build_workspace(course, dest, modules)
    arith = (dest / "c01_toy/src/c01_toy/arith.py").read_text()
    assert 'raise NotImplementedError("c01.2: count with a loop")' in arith
    assert 'raise NotImplementedError("c01.3: implement this")' in arith
    assert "sum(data)" not in arith and '"""The sum of the bytes modulo 256."""' in arith
    assert not (dest / "c01_toy/tests/hidden").exists()
    assert (dest / "c01_toy/tests/test_c01_1_add.py").read_text() == (
        course / "c01_toy/tests/test_c01_1_add.py").read_text()
    assert json.loads((dest / WORKSPACE_FILE).read_text())["solved"] == []


def test_regenerating_is_byte_identical(course: Path, tmp_path: Path):
    modules = discover_modules(course)
    build_workspace(course, tmp_path / "a", modules)
    build_workspace(course, tmp_path / "b", modules)
    first = tree_digest(tmp_path / "a")
    assert first == tree_digest(tmp_path / "b")
    build_workspace(course, tmp_path / "a", modules)  # over an earlier workspace
    assert tree_digest(tmp_path / "a") == first


def test_workspace_scores_zero_through_not_implemented(course: Path, tmp_path: Path):
    modules = discover_modules(course)
    build_workspace(course, tmp_path / "learner", modules)
    results = grade_submission(modules, tmp_path / "learner", tmp_path / "out")
    assert results["score"] == 0
    assert {c["outcome"] for t in results["tests"] for c in t["cases"]} == {"not_implemented"}


def test_solved_modules_ship_their_reference(course: Path, tmp_path: Path):
    modules = discover_modules(course)
    build_workspace(course, tmp_path / "learner", modules, solved=frozenset({"c01"}))
    assert "sum(data) % 256" in (tmp_path / "learner/c01_toy/src/c01_toy/arith.py").read_text()
    assert json.loads((tmp_path / "learner" / WORKSPACE_FILE).read_text())["solved"] == ["c01"]
    with pytest.raises(ValueError, match="unknown modules"):
        build_workspace(course, tmp_path / "x", modules, solved=frozenset({"c42"}))


def test_refuses_to_overwrite_other_folders(course: Path, tmp_path: Path):
    modules = discover_modules(course)
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.txt").write_text("years of work")
    with pytest.raises(ValueError, match="not a generated workspace"):
        build_workspace(course, precious, modules)
    assert (precious / "thesis.txt").exists()
    with pytest.raises(ValueError, match="over the course itself"):
        build_workspace(course, course, modules)


def test_bad_marker_stops_the_build_naming_file_and_line(course: Path, tmp_path: Path):
    arith = course / "c01_toy/src/c01_toy/arith.py"
    arith.write_text(arith.read_text().replace("    # END SOLUTION\n", "", 1))
    with pytest.raises(MarkerError, match=r"c01_toy/src/c01_toy/arith\.py:\d+: nested BEGIN SOLUTION"):
        build_workspace(course, tmp_path / "learner", discover_modules(course))


def test_course_files_use_git_and_leave_author_files_out():
    files = {str(f) for f in course_files(REPO)}
    assert "Makefile" in files and "c01_base/tasks.toml" in files and "src/curriculum/cli.py" in files
    assert not any(f.startswith((".ci/", "tests/", "build/")) or "/tests/hidden/" in f for f in files)


def test_cli_learner_command(course: Path, tmp_path: Path):
    out = tmp_path / "ws"
    assert main(["--course", str(course), "learner", "--out", str(out), "--solved", "c01"]) == 0
    assert (out / WORKSPACE_FILE).exists()
