"""Grade one submission or a folder of them, and write every report.

A submission is a folder laid out like the course (``c01_base/src/...``): the
course itself, a learner workspace, or a learner's copy of one. Tests always
come from the course the grader runs in, so a learner's edits to tests (or
missing hidden tests) change nothing.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from curriculum.batch import SUBMISSIONS_DIR, learner_folders, shard_slice, write_gradebook
from curriculum.manifest import Module
from curriculum.report import write_junit, write_markdown
from curriculum.results import ModuleScore, build_results, score_module
from curriculum.runner import run_module

PROGRESS_NAME = "progress.json"


def grade_submission(
    modules: list[Module],
    submission: Path,
    out_dir: Path,
    module_id: str | None = None,
    task_id: str | None = None,
    on_module: Callable[[Module], None] | None = None,
) -> dict[str, Any]:
    """Run the graded tests of every built module (or one module, or one task)."""
    start = time.monotonic()
    out_dir = out_dir.resolve()  # the test processes run in the module's folder: a relative path would move
    out_dir.mkdir(parents=True, exist_ok=True)
    work = out_dir / "runs"
    scores: list[ModuleScore] = []
    for module in modules:
        wanted = (module_id in (None, module.id, module.name)) and (
            task_id is None or task_id.startswith(module.id + ".")
        )
        if not module.built or not wanted:
            scores.append(score_module(module, None))
            continue
        if on_module is not None:
            on_module(module)
        run = run_module(module, submission, work, task=task_id)
        scores.append(score_module(module, run, task_id))
    results = build_results(scores, submission, time.monotonic() - start)
    if task_id is None:
        (out_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        write_markdown(results, out_dir / "report.md")
        write_junit(results, out_dir / "junit.xml")
    update_progress(out_dir / PROGRESS_NAME, results)
    return results


def load_progress(path: Path) -> dict[str, dict[str, Any]]:
    """Per task, the outcome of its most recent grading (from ``grade`` or ``check``)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def update_progress(path: Path, results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    progress = load_progress(path)
    for test in results["tests"]:
        progress[test["number"]] = {
            "status": test["status"], "outcome": test["outcome"], "score": test["score"],
            "max_score": test["max_score"], "graded_at": results["generated_at"],
        }
    path.write_text(json.dumps(progress, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return progress


def submission_status(results: dict[str, Any]) -> str:
    """One word for a batch row: the most serious thing that happened while grading."""
    if any(m.get("tampered") for m in results["modules"]):
        return "tampered"  # the evidence is in results.json and report.md
    outcomes = {t["outcome"] for t in results["tests"]}
    for word in ("crashed", "timeout"):
        if word in outcomes:
            return word
    if any(m["problems"] for m in results["modules"]):
        return "error"
    return "complete"


def _grade_row(modules: list[Module], learner: Path, out_dir: Path, module_id: str | None,
               task_ids: list[str]) -> dict[str, Any]:
    """Grade one learner folder into ``out_dir``; its gradebook row (runs in a worker process too)."""
    results = grade_submission(modules, learner, out_dir, module_id)
    by_task = {t["number"]: t["score"] for t in results["tests"]}
    percent = 100.0 * results["score"] / results["max_score"] if results["max_score"] else 0.0
    return {"learner": learner.name, **{t: by_task.get(t, 0.0) for t in task_ids},
            "total": results["score"], "max_total": results["max_score"],
            "percent": round(percent, 2), "status": submission_status(results)}


def grade_batch(
    modules: list[Module],
    submissions: Path,
    out_dir: Path,
    module_id: str | None = None,
    on_submission: Callable[[str], None] | None = None,
    jobs: int = 1,
    shard: tuple[int, int] | None = None,
) -> Path:
    """Grade every folder in ``submissions``; write ``grades.csv`` with a row per learner.

    ``jobs`` > 1 grades that many submissions at once, each in its own worker process (every
    module of a submission still runs in its own sandboxed pytest process, as in a serial run).
    ``shard=(K, N)`` grades only slice K of N (see :mod:`curriculum.batch`); an empty slice writes
    an empty gradebook, so an array job with more shards than learners still succeeds.
    """
    everyone = learner_folders(submissions)
    if not everyone:
        raise ValueError(f"{submissions} holds no submission folders")
    learners = shard_slice(everyone, shard)
    task_ids = [t.id for m in modules if m.built and module_id in (None, m.id, m.name) for t in m.tasks]
    targets = {learner.name: out_dir / SUBMISSIONS_DIR / learner.name for learner in learners}
    rows: list[dict[str, Any]] = []
    if jobs <= 1 or len(learners) <= 1:
        for learner in learners:
            if on_submission is not None:
                on_submission(learner.name)
            rows.append(_grade_row(modules, learner, targets[learner.name], module_id, task_ids))
    else:
        # spawn, not fork: a fresh interpreter per worker, nothing inherited but the arguments.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = []
            for learner in learners:
                if on_submission is not None:
                    on_submission(learner.name)
                futures.append(pool.submit(_grade_row, modules, learner, targets[learner.name], module_id, task_ids))
            rows = [future.result() for future in futures]
    meta = {"shard": f"{shard[0]}/{shard[1]}" if shard else None, "learners_total": len(everyone)}
    return write_gradebook(out_dir, task_ids, rows, meta)
