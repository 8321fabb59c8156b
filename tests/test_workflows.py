"""The GitHub Actions workflows that a fork of the course runs, checked by actionlint."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))


def actionlint() -> str:
    """The actionlint binary installed by the dev extra (beside this Python, or on PATH)."""
    beside = Path(sys.executable).parent / "actionlint"
    found = str(beside) if beside.is_file() else shutil.which("actionlint")
    assert found, "actionlint is missing: `make setup` installs it (dev extra)"
    return found


def test_workflows_pass_actionlint():
    assert WORKFLOWS, "no workflow in .github/workflows"
    done = subprocess.run([actionlint(), "-no-color", *map(str, WORKFLOWS)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path):
    """The check can fail: an unknown runner label and a job that needs a missing job are both reported."""
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-nonexistent\n    needs: [missing]\n"
                      "    steps:\n      - run: echo ${{ matrix.nothing }}\n")
    done = subprocess.run([actionlint(), "-no-color", str(broken)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 1
    assert "missing" in done.stdout and "ubuntu-nonexistent" in done.stdout


def test_every_module_has_its_own_job():
    ci = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text())
    modules = sorted(p.parent.name.split("_")[0] for p in REPO.glob("c[0-9][0-9]_*/tasks.toml"))
    assert ci["jobs"]["module"]["strategy"]["matrix"]["module"] == modules
    steps = " ".join(step.get("run", "") for step in ci["jobs"]["module"]["steps"])
    assert "make dist" in steps and "make alone M=${{ matrix.module }}" in steps
    assert "bash .ci/run" in " ".join(step.get("run", "") for step in ci["jobs"]["course"]["steps"])
