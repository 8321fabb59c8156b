"""The ``curriculum`` command: grading for instructors and CI, progress for learners.

    curriculum grade [PATH] [--module c01] [--task c01.2] [--strict]
    curriculum grade --submissions DIR          # one grades.csv row per learner
    curriculum grade --submissions DIR --jobs 4 --shard 0/8   # in parallel; slice 0 of 8
    curriculum merge OUT SHARD_DIR...           # join the shards' gradebooks
    curriculum gradescope --module c01 --out autograder.zip   # a Gradescope autograder
    curriculum status | next | hint c01.3 | check c01.3 | watch [c01.3]
    curriculum learner [--out build/learner] [--solved c05,c06]
    curriculum check-curriculum                 # the author check
    curriculum check-curriculum --journey [--module c01]   # task by task, from the workspace
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from curriculum import __version__
from curriculum.batch import merge_batches, parse_shard
from curriculum.grade import PROGRESS_NAME, grade_batch, grade_submission, load_progress
from curriculum.manifest import (
    ManifestError,
    Module,
    Task,
    discover_modules,
    duration_text,
    find_course_root,
    find_module,
    find_task,
)
from curriculum.report import MARK, coverage_line, metric_text, next_line, next_task, print_report

# Reports read better wider than the 80 columns rich assumes when output is not a terminal.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 140)


def _course(args: argparse.Namespace) -> tuple[Path, list[Module]]:
    root = Path(args.course).resolve() if args.course else find_course_root(Path.cwd())
    return root, discover_modules(root)


def _grade_dir(root: Path) -> Path:
    return root / "build" / "grade"


def cmd_grade(args: argparse.Namespace) -> int:
    root, modules = _course(args)
    if args.module:
        find_module(modules, args.module)  # a clear error for an unknown module
    if args.task:
        find_task(modules, args.task)
    if args.submissions:
        out = Path(args.out) if args.out else _grade_dir(root) / "batch"
        shard = parse_shard(args.shard) if args.shard else None
        path = grade_batch(modules, Path(args.submissions), out, args.module,
                           on_submission=lambda name: console.print(f"grading submission {name} ..."),
                           jobs=args.jobs, shard=shard)
        console.print(path.read_text(encoding="utf-8"), markup=False)
        console.print(f"wrote {path}")
        return 0
    submission = Path(args.path).resolve() if args.path else root
    out = Path(args.out) if args.out else _grade_dir(submission)
    results = grade_submission(modules, submission, out, args.module, args.task,
                               on_module=lambda m: console.print(f"grading {m.id} {m.name} ..."))
    progress = load_progress(out / PROGRESS_NAME)
    print_report(results, modules, progress, console)
    if not args.task:
        console.print(f"wrote {out / 'results.json'}, {out / 'report.md'}, {out / 'junit.xml'}")
    if args.strict and results["shortfalls"]:
        console.print(f"[red]strict: {len(results['shortfalls'])} shortfall(s)[/]")
        return 1
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    path = merge_batches(Path(args.out), [Path(d) for d in args.shards])
    console.print(path.read_text(encoding="utf-8"), markup=False)
    console.print(f"wrote {path}")
    return 0


def cmd_gradescope(args: argparse.Namespace) -> int:
    from curriculum.gradescope import build_autograder

    root, modules = _course(args)
    module = find_module(modules, args.module)
    path = build_autograder(root, module, Path(args.out))
    console.print(f"wrote {path}: upload it as the assignment's autograder (Ubuntu base image)")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    root, modules = _course(args)
    progress = load_progress(_grade_dir(root) / PROGRESS_NAME)
    if not progress:
        console.print("No results yet: run `curriculum check <task>` or `make grade`.")
    for module in modules:
        if not module.built:
            console.print(f"{module.id} {module.name:22} planned")
            continue
        done = [t for t in module.tasks if progress.get(t.id, {}).get("status") == "passed"]
        points = sum(progress.get(t.id, {}).get("score", 0.0) for t in module.tasks)
        marks = " ".join(MARK.get(progress.get(t.id, {}).get("outcome", "not_run"), "?") for t in module.tasks)
        console.print(f"{module.id} {module.name:22} {len(done)}/{len(module.tasks)} tasks  "
                      f"{points:g}/{module.max_points:g} points  {marks}")
    console.print(next_line(modules, progress))
    return 0


def cmd_next(args: argparse.Namespace) -> int:
    root, modules = _course(args)
    progress = load_progress(_grade_dir(root) / PROGRESS_NAME)
    found = next_task(modules, progress)
    if found is None:
        console.print(next_line(modules, progress))
        return 0
    module, task = found
    console.print(f"[bold]{task.id}[/] {task.title}  ({task.points:g} points, module {module.name})")
    console.print(f"Hint: {task.hint}")
    _print_task_files(module, task)
    console.print(f"Run:  curriculum check {task.id}")
    return 0


def _print_task_files(module: Module, task: Task) -> None:
    """The files the task's learner edits (from the solution markers), and what it may not use."""
    from curriculum.learner import task_files

    files = task_files(module).get(task.id, [])
    if files:
        console.print("Files: " + ", ".join(f"{module.name}/src/{p.as_posix()}" for p in files), markup=False)
    if task.forbid:
        console.print("May not use: " + ", ".join(task.forbid), markup=False)
    if task.minutes:
        console.print(f"Time: about {duration_text(task.minutes)}", markup=False)
    if task.read_first:
        console.print("Read first:\n" + "\n".join(f"  - {item}" for item in task.read_first), markup=False)


def cmd_hint(args: argparse.Namespace) -> int:
    _, modules = _course(args)
    module, task = find_task(modules, args.task)
    console.print(f"[bold]{task.id}[/] {task.title}\nHint: {task.hint}")
    _print_task_files(module, task)
    if task.metrics:
        console.print("Acceptance: " + "; ".join(f"{m.name} {m.symbol} {m.threshold:g}" for m in task.metrics))
    return 0


def check_task(root: Path, modules: list[Module], task_id: str) -> bool:
    """Grade one task of the course at ``root``, print a compact verdict; True when it passes."""
    module, task = find_task(modules, task_id)
    results = grade_submission(modules, root, _grade_dir(root), task_id=task_id)
    entry = next(t for t in results["tests"] if t["number"] == task_id)
    for case in entry["cases"]:
        console.print(f"  {MARK.get(case['outcome'], '?')} {case['outcome']:16} {case['nodeid']}", markup=False)
    _print_integrity(results, module, entry)
    for metric in entry["metrics"]:
        console.print(f"  metric {metric_text(metric)}", markup=False)
    failing = entry["output"].split("\n--- ")[1:2]
    if failing:
        console.print("\nFirst failure:\n--- " + failing[0][-3000:], markup=False)
    passed: bool = entry["status"] == "passed"
    verdict = "[green]passed[/]" if passed else "[red]not yet[/]"
    console.print(f"{task.id} {verdict}: {entry['score']:g}/{entry['max_score']:g} points")
    console.print(coverage_line(module, results, _grade_dir(root) / "results.json"), markup=False)
    console.print(next_line(modules, load_progress(_grade_dir(root) / PROGRESS_NAME)))
    return passed


def _print_integrity(results: dict[str, Any], module: Module, entry: dict[str, Any]) -> None:
    """Rule violations of the task and tampering evidence of its module: each costs the points."""
    for violation in entry.get("violations", []):
        console.print(f"  {MARK['forbidden']} forbidden        {violation['message']}", markup=False)
    for graded in results["modules"]:
        if graded["id"] == module.id:
            for evidence in graded.get("tampered", []):
                console.print(f"  {MARK['tampered']} tampered         {evidence}", markup=False)


def cmd_check(args: argparse.Namespace) -> int:
    root, modules = _course(args)
    return 0 if check_task(root, modules, args.task) else 1


def watch_loop(root: Path, modules: list[Module], task_id: str | None, changes: Iterable[Any]) -> int:
    """Check the task now and again after every batch of saved files in ``changes``."""
    runs = 0

    def current() -> str | None:
        if task_id:
            return task_id
        found = next_task(modules, load_progress(_grade_dir(root) / PROGRESS_NAME))
        return found[1].id if found else None

    target = current()
    while target is not None:
        console.rule(f"checking {target}")
        check_task(root, modules, target)
        runs += 1
        if next(iter(changes), None) is None:
            break
        target = current()
    return runs


def cmd_watch(args: argparse.Namespace) -> int:
    from watchfiles import PythonFilter, watch

    root, modules = _course(args)
    folders = [m.root for m in modules if m.built]
    console.print(f"watching {', '.join(str(f.relative_to(root)) for f in folders)} (Ctrl-C to stop)")
    with contextlib.suppress(KeyboardInterrupt):
        watch_loop(root, modules, args.task, watch(*folders, watch_filter=PythonFilter()))
    return 0


def cmd_learner(args: argparse.Namespace) -> int:
    from curriculum.learner import build_workspace

    root, modules = _course(args)
    solved = frozenset(s.strip() for s in args.solved.split(",") if s.strip()) if args.solved else frozenset()
    out = Path(args.out) if args.out else root / "build" / "learner"
    files = build_workspace(root, out, modules, solved)
    console.print(f"wrote the learner workspace to {out} ({len(files)} files"
                  + (f"; solved: {', '.join(sorted(solved))}" if solved else "") + ")")
    return 0


def cmd_notebooks(args: argparse.Namespace) -> int:
    from curriculum.notebooks import execute_notebook, write_notebooks

    root, modules = _course(args)
    if args.module:
        modules = [find_module(modules, args.module)]
    out = Path(args.out) if args.out else root / "build" / "notebooks"
    written = write_notebooks(modules, out)
    console.print(f"wrote {len(written)} notebooks to {out}")
    for module_id in [m.strip() for m in (args.execute or "").split(",") if m.strip()]:
        module = find_module(modules, module_id)
        path = out / f"{module.name}.ipynb"
        execute_notebook(path, working_dir=module.root)
        console.print(f"ran {path.name}: every cell without error")
    return 0


def cmd_check_curriculum(args: argparse.Namespace) -> int:
    from curriculum.authorcheck import run_author_check

    root, modules = _course(args)
    if args.module:
        find_module(modules, args.module)
    if args.journey:
        from curriculum.journey import run_journeys

        return 0 if run_journeys(root, modules, console, args.module, args.exhaustive) else 1
    reuse = Path(args.reference_results) if args.reference_results else None
    return 0 if run_author_check(root, modules, console, args.module, reuse) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="curriculum", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"curriculum {__version__}")
    parser.add_argument("--course", help="the course root (default: found above the current folder)")
    sub = parser.add_subparsers(dest="command", required=True)

    grade = sub.add_parser("grade", help="grade a submission (default: this course) or a batch")
    grade.add_argument("path", nargs="?", help="the submission folder (default: the course)")
    grade.add_argument("--module", help="grade one module, e.g. c01")
    grade.add_argument("--task", help="grade one task, e.g. c01.2")
    grade.add_argument("--submissions", help="grade every learner folder in DIR, write grades.csv")
    grade.add_argument("--out", help="report folder (default: PATH/build/grade)")
    grade.add_argument("--strict", action="store_true", help="exit 1 on any shortfall")
    grade.add_argument("--jobs", type=int, default=1, help="with --submissions: grade N submissions at once")
    grade.add_argument("--shard", help="with --submissions: grade slice K of N (K/N, 0-based, round-robin)")
    grade.set_defaults(func=cmd_grade)

    merge = sub.add_parser("merge", help="join the outputs of --shard runs into one gradebook")
    merge.add_argument("out", help="the merged output folder")
    merge.add_argument("shards", nargs="+", help="the --out folders of the shards")
    merge.set_defaults(func=cmd_merge)

    gradescope = sub.add_parser("gradescope", help="build a Gradescope autograder zip for one module")
    gradescope.add_argument("--module", required=True, help="the module, e.g. c01")
    gradescope.add_argument("--out", default="autograder.zip", help="the zip to write (default: autograder.zip)")
    gradescope.set_defaults(func=cmd_gradescope)

    sub.add_parser("status", help="progress per module").set_defaults(func=cmd_status)
    sub.add_parser("next", help="the first unfinished task").set_defaults(func=cmd_next)
    for name, func, text in (("hint", cmd_hint, "show a task's hint"), ("check", cmd_check, "grade one task")):
        command = sub.add_parser(name, help=text)
        command.add_argument("task", help="a task id, e.g. c01.3")
        command.set_defaults(func=func)
    watch = sub.add_parser("watch", help="re-check the current task whenever a file is saved")
    watch.add_argument("task", nargs="?", help="the task (default: the next unfinished one)")
    watch.set_defaults(func=cmd_watch)

    learner = sub.add_parser("learner", help="generate the learner workspace")
    learner.add_argument("--out", help="default: build/learner")
    learner.add_argument("--solved", help="modules shipped solved, e.g. c05,c06")
    learner.set_defaults(func=cmd_learner)
    notebooks = sub.add_parser("notebooks", help="write a companion notebook per module (build/notebooks)")
    notebooks.add_argument("--module", help="one module, e.g. c01")
    notebooks.add_argument("--out", help="default: build/notebooks")
    notebooks.add_argument("--execute", help="run these notebooks top to bottom after writing, e.g. c01,c03")
    notebooks.set_defaults(func=cmd_notebooks)

    author = sub.add_parser("check-curriculum", help="the author check")
    author.add_argument("--module", help="check one module, e.g. c02")
    author.add_argument("--reference-results", help="reuse this results.json of a full grade of the course")
    author.add_argument("--journey", action="store_true",
                        help="solve the workspace one task at a time: each step passes, later tasks stub out")
    author.add_argument("--exhaustive", action="store_true", help="with --journey: run every test at every step")
    author.set_defaults(func=cmd_check_curriculum)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (ManifestError, KeyError, ValueError) as err:
        message = err.args[0] if isinstance(err, KeyError) else str(err)
        console.print(f"[red]error:[/] {escape(message)}")
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
