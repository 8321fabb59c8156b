"""Scores and the results document (a superset of Gradescope's ``results.json``).

Gradescope's fields (``score``, ``max_score``, ``execution_time``, ``tests[]``
with ``name``, ``number``, ``score``, ``max_score``, ``status``, ``output``,
``tags``, ``visibility``) are kept as Gradescope defines them, one test entry
per task; the grader adds ``outcome``, ``duration_s``, ``metrics`` and
``cases`` to each entry, and ``modules``, ``coverage``, ``environment`` and
``grader_version`` at the top. The schema is ``schemas/results.schema.json``.
"""

from __future__ import annotations

import datetime as dt
import platform
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from curriculum import __version__
from curriculum.manifest import Module, Task
from curriculum.runner import ModuleRun, TestResult

# When a task's tests end differently, the most serious outcome names the task.
SEVERITY = ("crashed", "timeout", "error", "not_implemented", "failed", "not_run", "skipped", "passed")
# Outcomes of a whole task that its tests do not decide: evidence of tampering in its module, or a
# use of something the task may not use (rules.py). Either scores the task 0.
TAMPERED, FORBIDDEN = "tampered", "forbidden"
SCHEMA_PATH = Path(__file__).parent / "schemas" / "results.schema.json"
RESULTS_FORMAT = "curriculum-results/1"
FAILURES_SHOWN = 5  # failure details kept per task in results.json


@dataclass(frozen=True)
class TaskScore:
    task: Task
    score: float
    outcome: str
    cases: list[TestResult]
    metrics: list[dict[str, Any]]

    @property
    def complete(self) -> bool:
        return self.outcome == "passed" and self.score >= self.task.points - 1e-9


def score_task(task: Task, run: ModuleRun) -> TaskScore:
    """Points in proportion to the task's passing tests; none when results are void."""
    cases = [t for t in run.tests if t.task == task.id]
    if not cases:
        # Nothing collected for the task: a file failed to import, or the tests are missing.
        detail = "\n\n".join(e["output"] for e in run.collect_errors) or "no test of this task was collected"
        cases = [TestResult(nodeid=f"{task.id} (collection)", task=task.id, outcome="error", output=detail)]
    passed = sum(c.outcome == "passed" for c in cases)
    outcome = min((c.outcome for c in cases), key=SEVERITY.index)
    score = 0.0 if run.shadowed else round(task.points * passed / len(cases), 4)
    if run.tampered or run.violations.get(task.id):
        outcome, score = (TAMPERED if run.tampered else FORBIDDEN), 0.0
    metrics = [m for c in cases for m in c.metrics]
    return TaskScore(task=task, score=score, outcome=outcome, cases=cases, metrics=metrics)


@dataclass(frozen=True)
class ModuleScore:
    module: Module
    run: ModuleRun | None  # None: planned, or filtered out of this grading run
    tasks: list[TaskScore]

    @property
    def score(self) -> float:
        return round(sum(t.score for t in self.tasks), 4)

    @property
    def max_score(self) -> float:
        return sum(t.task.points for t in self.tasks)

    @property
    def coverage_met(self) -> bool | None:
        """None where coverage says nothing: not graded, or only some tasks were run."""
        if self.run is None or len(self.tasks) < len(self.module.tasks):
            return None
        return self.run.coverage is not None and self.run.coverage >= self.module.coverage_min


def score_module(module: Module, run: ModuleRun | None, task_id: str | None = None) -> ModuleScore:
    if run is None:
        return ModuleScore(module, None, [])
    tasks = [t for t in module.tasks if task_id is None or t.id == task_id]
    return ModuleScore(module, run, [score_task(t, run) for t in tasks])


def shortfalls(modules: list[ModuleScore]) -> list[str]:
    """Everything that keeps a grading run from full marks, one line each."""
    lines = []
    for ms in modules:
        for ts in ms.tasks:
            if not ts.complete:
                lines.append(f"{ts.task.id}: {ts.outcome} ({ts.score:g}/{ts.task.points:g} points)")
            lines += [
                f"{ts.task.id}: metric {m['name']} = {m['value']:.6g} misses {m['threshold']:.6g}"
                for m in ts.metrics if not m["met"]
            ]
        if ms.coverage_met is False and ms.run is not None:
            lines.append(f"{ms.module.id}: coverage {ms.run.coverage}% < {ms.module.coverage_min:g}%")
        if ms.run is not None:
            lines += [f"{ms.module.id}: {p}" for p in ms.run.problems]
            lines += [f"{ms.module.id}: tampered: {e}" for e in ms.run.tampered]
            lines += [f"{task}: forbidden: {v.message}" for task, vs in ms.run.violations.items()
                      if any(t.task.id == task for t in ms.tasks) for v in vs]
    return lines


def environment() -> dict[str, Any]:
    versions = {}
    for dist in ("numpy", "numba", "scipy", "torch", "pytest", "hypothesis"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": _cpu_count(),
        "packages": versions,
    }


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _case(case: TestResult) -> dict[str, Any]:
    return {"nodeid": case.nodeid, "outcome": case.outcome, "duration_s": case.duration_s}


def _task_output(ts: TaskScore, run: ModuleRun | None = None) -> str:
    """One line per test, then the details of the first few failures (the rest would only repeat)."""
    lines = []
    if run is not None and run.tampered:
        lines += ["0 points: the module's reporting was tampered with:", *(f"  {e}" for e in run.tampered), ""]
    if run is not None and run.violations.get(ts.task.id):
        lines += [f"0 points: {ts.task.id} uses what it may not use:",
                  *(f"  {v.message}" for v in run.violations[ts.task.id]), ""]
    lines += [f"{c.outcome:16} {c.nodeid}" for c in ts.cases]
    failing = [c for c in ts.cases if c.outcome not in ("passed", "skipped") and c.output]
    for c in failing[:FAILURES_SHOWN]:
        lines += ["", f"--- {c.nodeid} ---", c.output.strip()]
    if len(failing) > FAILURES_SHOWN:
        lines += ["", f"(+{len(failing) - FAILURES_SHOWN} more failing tests, listed above)"]
    return "\n".join(lines)


def build_results(modules: list[ModuleScore], submission: Path, elapsed_s: float) -> dict[str, Any]:
    """The results document for one submission (validated by ``schemas/results.schema.json``)."""
    tests = []
    for ms in modules:
        for ts in ms.tasks:
            tests.append({
                "name": f"{ts.task.id} {ts.task.title}",
                "number": ts.task.id,
                "score": ts.score,
                "max_score": ts.task.points,
                "status": "passed" if ts.complete else "failed",
                "output": _task_output(ts, ms.run),
                "tags": [ms.module.id],
                "visibility": "visible",
                "outcome": ts.outcome,
                "duration_s": round(sum(c.duration_s for c in ts.cases), 3),
                "metrics": ts.metrics,
                "cases": [_case(c) for c in ts.cases],
                "violations": [v.as_dict() for v in (ms.run.violations.get(ts.task.id, []) if ms.run else [])],
            })
    module_entries = []
    coverage = {}
    for ms in modules:
        entry: dict[str, Any] = {
            "id": ms.module.id, "name": ms.module.name, "title": ms.module.title,
            "status": ms.module.status if ms.run is not None or not ms.module.built else "not_graded",
            "score": ms.score, "max_score": ms.max_score,
            "elapsed_s": ms.run.elapsed_s if ms.run else 0.0,
            "problems": ms.run.problems if ms.run else [],
            "coverage_percent": ms.run.coverage if ms.run else None,
            "tampered": ms.run.tampered if ms.run else [],
            "left_out": ms.run.notes if ms.run else [],
        }
        module_entries.append(entry)
        if ms.coverage_met is not None and ms.run is not None:
            coverage[ms.module.id] = {
                "percent": ms.run.coverage, "minimum": ms.module.coverage_min, "met": bool(ms.coverage_met),
            }
    score = round(sum(ms.score for ms in modules), 4)
    max_score = sum(ms.max_score for ms in modules)
    return {
        "format": RESULTS_FORMAT,
        "score": score,
        "max_score": max_score,
        "execution_time": round(elapsed_s, 2),
        "output": f"{score:g} / {max_score:g} points",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "modules": module_entries,
        "coverage": coverage,
        "shortfalls": shortfalls(modules),
        "submission": str(submission),
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "environment": environment(),
        "grader_version": __version__,
    }
