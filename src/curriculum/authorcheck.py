"""The author check (``make check-curriculum``): is every graded test worth its points?

1. Every solution marker is well formed and names a task of its module.
2. The reference passes every graded test, metric threshold and coverage minimum.
3. The learner workspace regenerates byte-identically and keeps no marker.
4. The workspace imports and lints clean (ruff, mypy).
5. On the workspace, every graded test fails through NotImplementedError. A test
   that passes there checks nothing; one that fails some other way (an import or
   name error) would confuse the learner. Both are named.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from curriculum.grade import grade_submission
from curriculum.learner import build_workspace, tree_digest
from curriculum.manifest import Module
from curriculum.markers import MarkerError, leftover_markers, regions_in_tree
from curriculum.report import metric_text

# Learners' stubs leave imports and locals that only the solution used.
WORKSPACE_RUFF_IGNORE = "F401,F841,ARG001,ARG002"


class Check:
    """Collects named problems and prints one line per check."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.failures = 0

    def report(self, title: str, problems: list[str]) -> None:
        mark = "[green]ok[/]" if not problems else f"[red]{len(problems)} problem(s)[/]"
        self.console.print(f"{mark}  {title}")
        for problem in problems[:50]:
            self.console.print(f"      - {escape(problem)}")
        self.failures += bool(problems)


def check_markers(built: list[Module]) -> list[str]:
    problems = []
    for module in built:
        task_ids = {t.id for t in module.tasks}
        try:
            regions = regions_in_tree(module.root / "src")
        except MarkerError as err:
            problems.append(str(err))
            continue
        used = {r.task for rs in regions.values() for r in rs}
        for path, found in regions.items():
            problems += [f"{path}:{r.start}: task {r.task} is not in {module.id}'s manifest"
                         for r in found if r.task not in task_ids]
        problems += [f"{module.id}: task {t} has no solution region: what does the learner write?"
                     for t in sorted(task_ids - used)]
    return problems


def workspace_problems(results: dict[str, Any]) -> list[str]:
    problems = []
    for test in results["tests"]:
        for case in test["cases"]:
            if case["outcome"] == "passed":
                problems.append(f"{case['nodeid']} passes on the learner workspace: it checks nothing")
            elif case["outcome"] != "not_implemented":
                problems.append(f"{case['nodeid']} fails through {case['outcome']}, not NotImplementedError")
        problems += [f"{test['number']}: metric recorded on the workspace: {metric_text(m)}"
                     for m in test["metrics"]]
    return problems


def _run(cmd: list[str], cwd: Path) -> str:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    return "" if done.returncode == 0 else (done.stdout + done.stderr).strip()[-3000:]


def lint_problems(workspace: Path, built: list[Module]) -> list[str]:
    problems = []
    sources = [str(workspace / m.name / "src") for m in built]
    for module in built:
        package = workspace / module.name / "src" / module.package
        names = sorted(
            ".".join(p.relative_to(package.parent).with_suffix("").parts).removesuffix(".__init__")
            for p in package.rglob("*.py")
        )
        script = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
        err = _run([sys.executable, "-c", script, *names], cwd=workspace / module.name / "src")
        if err:
            problems.append(f"{module.id}: the workspace does not import:\n{err}")
    err = _run([sys.executable, "-m", "ruff", "check", "--no-cache", "--extend-ignore", WORKSPACE_RUFF_IGNORE,
                *sources], cwd=workspace)
    if err:
        problems.append(f"ruff on the workspace:\n{err}")
    err = _run([sys.executable, "-m", "mypy", "--no-incremental", *sources], cwd=workspace)
    if err:
        problems.append(f"mypy on the workspace:\n{err}")
    return problems


def reused_reference_problems(path: Path, root: Path, built: list[Module]) -> list[str]:
    """Shortfalls of an earlier full grade of this very tree (CI grades once, then checks).

    The grade counts only if it graded ``root`` itself, every built module, and is newer than
    every file of those modules; otherwise the check says so instead of trusting it.
    """
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        return [f"cannot read {path}: {err}"]
    if Path(results.get("submission", "")).resolve() != root.resolve():
        return [f"{path} grades {results.get('submission')}, not {root}"]
    graded = {t["number"] for t in results.get("tests", [])}
    missing = [t.id for m in built for t in m.tasks if t.id not in graded]
    graded_at = path.stat().st_mtime
    stale = [str(f) for m in built for f in m.root.rglob("*")
             if f.is_file() and "__pycache__" not in f.parts and f.stat().st_mtime > graded_at]
    problems = [f"{path} lacks tasks {', '.join(missing)}"] if missing else []
    problems += [f"{path} is older than {stale[0]} (and {len(stale) - 1} more): grade again"] if stale else []
    return problems + [str(s) for s in results.get("shortfalls", [])]


def run_author_check(root: Path, modules: list[Module], console: Console, module_id: str | None = None,
                     reference_results: Path | None = None,
                     progress: Callable[[str], None] | None = None) -> bool:
    """Every check on every built module (or on ``module_id`` alone); True when all pass.

    ``reference_results`` reuses a full grade of this tree (``results.json``) instead of grading
    the reference again.
    """
    built = [m for m in modules if m.built and module_id in (None, m.id, m.name)]
    check = Check(console)
    say = progress or (lambda text: console.print(f"[dim]{text}[/]"))
    check.report("solution markers are well formed and name manifest tasks", check_markers(built))
    if check.failures:
        return False
    if reference_results is None:
        say("grading the reference ...")
        reference = grade_submission(modules, root, root / "build" / "author-check" / "reference", module_id)
        problems = [str(s) for s in reference["shortfalls"]]
    else:
        say(f"reading the reference's grade from {reference_results} ...")
        problems = reused_reference_problems(reference_results, root, built)
    check.report("the reference passes every graded test, threshold and coverage minimum", problems)
    with tempfile.TemporaryDirectory(prefix="curriculum-learner-") as tmp:
        first, second = Path(tmp) / "a", Path(tmp) / "b"
        build_workspace(root, first, modules)
        build_workspace(root, second, modules)
        same = tree_digest(first) == tree_digest(second)
        check.report("the workspace regenerates byte-identically",
                     [] if same else ["two generations of the workspace differ"])
        left = [f"{p.relative_to(first)}:{n}" for m in built for p in (first / m.name).rglob("*.py")
                for n in leftover_markers(p.read_text(encoding="utf-8"))]
        check.report("no solution marker is left in the workspace", left)
        say("importing and linting the workspace ...")
        check.report("the workspace imports and lints clean (ruff, mypy)", lint_problems(first, built))
        say("grading the workspace with the full test suite ...")
        learner = grade_submission(modules, first, root / "build" / "author-check" / "learner", module_id)
        check.report("every graded test fails on the workspace through NotImplementedError",
                     workspace_problems(learner))
    ok = check.failures == 0
    console.print("[green]author check passed[/]" if ok else f"[red]author check failed: {check.failures} check(s)[/]")
    return ok
