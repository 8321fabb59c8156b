"""The journey check: walk a module task by task, the way a learner does.

The author check proves the two ends of the course: the reference passes every
test, and the learner workspace fails every test through ``NotImplementedError``.
This check proves the path between. From the generated workspace it applies the
reference solution regions of one task at a time, in manifest order, and after
each step asks:

* does the task just solved pass (all its tests, hidden ones included)?
* does every later task still fail, and only through ``NotImplementedError``?
* did the task's tests need code of a task that comes later (its listed files
  are not all it needs), or of an earlier task its ``requires`` does not name?

It stays affordable by running only the tests that can have changed. A failing
test stops at the first stub it reaches, whose message names a task
(``NotImplementedError("c01.3: ...")``); until that task's regions are applied,
the test runs the same code and fails the same way, so it is run again only at
that task's step. A passing test reached no stub, so later steps cannot change
it. (The limit: a test that catches ``NotImplementedError`` itself, e.g. with
``pytest.raises(Exception)``, hides which stub it reached; ``exhaustive=True``
runs every test at every step for that case.) One workspace copy is used
throughout; each step rewrites only the files that hold the task's regions.

The exercise sheet's task table (``| c01.1 | title | points | files |``) is
compared with the files that hold each task's regions, too.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from curriculum.learner import build_workspace
from curriculum.manifest import Module
from curriculum.markers import Region, regions_in_tree, strip_solutions
from curriculum.runner import TestResult, run_module

# The assertion line pytest prints for the stub a test reached: "E   NotImplementedError: c01.3: ..."
STUB_RAISED = re.compile(r"^E\s+NotImplementedError: (c\d\d\.\d+):", re.MULTILINE)
STUB_ANYWHERE = re.compile(r"NotImplementedError\W{0,3}(c\d\d\.\d+):")
SHEET_ROW = re.compile(r"^\|\s*(c\d\d\.\d+)\s*\|(.*)\|\s*$")
BACKTICKED = re.compile(r"`([^`]+)`")


def apply_tasks(source: str, solved: Collection[str], path: str = "<string>") -> str:
    """``source`` as the workspace has it, with the regions of ``solved`` tasks kept as the reference.

    With nothing solved this equals :func:`curriculum.markers.strip_solutions`; with every task
    solved it is ``source`` itself (the markers are comments).
    """
    return strip_solutions(source, path, keep=solved)


def stubs_reached(output: str) -> set[str]:
    """The task ids of the stubs named in a failure's output (empty: it failed some other way)."""
    found = set(STUB_RAISED.findall(output))
    return found or set(STUB_ANYWHERE.findall(output))


def sheet_files(readme: Path) -> dict[str, set[str]]:
    """Per task, the files the sheet's task table lists (names in parentheses are given, not edited)."""
    if not readme.is_file():
        return {}
    listed: dict[str, set[str]] = {}
    for line in readme.read_text(encoding="utf-8").splitlines():
        row = SHEET_ROW.match(line)
        if row is None:
            continue
        cells = row.group(2).split("|")
        if len(cells) < 3:  # not the task table (title | points | files)
            continue
        edited = re.sub(r"\([^)]*\)", "", cells[-1])
        names = set(BACKTICKED.findall(edited))
        if names and all(n.endswith(".py") for n in names):
            listed[row.group(1)] = names
    return listed


@dataclass
class Step:
    task: str
    files: list[str]
    ran: list[str]  # tasks whose tests ran at this step
    tests_run: int
    elapsed_s: float
    problems: list[str] = field(default_factory=list)


@dataclass
class Journey:
    module: str
    steps: list[Step] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    needs: dict[str, list[str]] = field(default_factory=dict)  # task -> other tasks whose code its tests ran
    files: dict[str, list[str]] = field(default_factory=dict)  # task -> files holding its regions
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems and all(not s.problems for s in self.steps)

    def to_json(self) -> dict[str, object]:
        return {**asdict(self), "ok": self.ok}


def _rel(path: Path, package: Path) -> str:
    return (path.relative_to(package) if path.is_relative_to(package) else path.relative_to(package.parent)).as_posix()


def _closure(module: Module, task_id: str) -> set[str]:
    """Every task ``task_id`` requires, directly or through other tasks."""
    by_id = {t.id: t for t in module.tasks}
    seen: set[str] = set()
    todo = list(by_id[task_id].requires)
    while todo:
        current = todo.pop()
        if current in seen or current not in by_id:
            continue
        seen.add(current)
        todo += by_id[current].requires
    return seen


class _Walker:
    """The state of one walk: the workspace, what is applied, the last result of every test."""

    def __init__(self, module: Module, workspace: Path, workdir: Path, exhaustive: bool) -> None:
        self.module, self.workspace, self.workdir, self.exhaustive = module, workspace, workdir, exhaustive
        self.order = [t.id for t in module.tasks]
        self.regions: dict[Path, list[Region]] = regions_in_tree(module.root / "src")
        # Files are named as the sheet names them: relative to the package folder.
        self.package = module.root / "src" / module.package
        self.solved: set[str] = set()
        self.last: dict[str, TestResult] = {}
        self.collect_errors: list[str] = []  # of the latest run
        self.reported: set[tuple[str, str]] = set()  # (nodeid, kind of problem) already named

    def region_text(self, task: str, message: str) -> str:
        """``file:line`` of the region whose stub raised ``message`` (for the report)."""
        for path, regions in self.regions.items():
            for region in regions:
                if region.task == task and message.startswith(region.message[:60]):
                    return f"{_rel(path, self.package)}:{region.start}"
        return next((f"{_rel(p, self.package)}:{r.start}" for p, rs in self.regions.items()
                     for r in rs if r.task == task), "?")

    def files_of(self, task: str) -> list[str]:
        return sorted(_rel(p, self.package) for p, rs in self.regions.items()
                      if any(r.task == task for r in rs))

    def apply(self, task: str) -> list[str]:
        self.solved.add(task)
        for path, regions in self.regions.items():
            if any(r.task == task for r in regions):
                target = self.workspace / path.relative_to(self.module.root.parent)
                text = apply_tasks(path.read_text(encoding="utf-8"), self.solved, str(path))
                target.write_text(text, encoding="utf-8", newline="")
        return self.files_of(task)

    def run(self, tasks: list[str] | None) -> int:
        """Run the tests of ``tasks`` (None: the whole module); remember each result."""
        runs = [run_module(self.module, self.workspace, self.workdir)] if tasks is None else [
            run_module(self.module, self.workspace, self.workdir, task=t) for t in tasks]
        count = 0
        self.collect_errors = []
        for run in runs:
            for test in run.tests:
                self.last[test.nodeid] = test
                count += 1
            self.collect_errors += [f"{e['nodeid']}: {_last_line(e['output'])}" for e in run.collect_errors]
            self.collect_errors += run.problems
        return count

    def stale(self, task: str) -> list[str]:
        """Tasks with a test the new regions of ``task`` may change (in manifest order)."""
        if self.exhaustive:
            return self.order
        wanted = {task}
        for test in self.last.values():
            if test.outcome == "passed" or test.task is None:
                continue
            stubs = stubs_reached(test.output) if test.outcome == "not_implemented" else set()
            if not stubs or task in stubs:
                wanted.add(test.task)
        return [t for t in self.order if t in wanted]


def _judge(walker: _Walker, task: str, ran: set[str]) -> list[str]:
    """The problems visible after ``task``'s step among the tests that ran (each named once per walk)."""
    problems = [f"after applying {task}: {error}" for error in walker.collect_errors]
    position = walker.order.index(task)
    for nodeid, test in walker.last.items():
        if test.task not in ran:
            continue
        mine_or_earlier = walker.order.index(test.task) <= position
        if mine_or_earlier and test.outcome != "passed":
            later = sorted(stubs_reached(test.output) - walker.solved, key=walker.order.index)
            if test.outcome == "not_implemented" and later:
                where = ", ".join(f"{t} ({walker.region_text(t, _message(test.output, t))})" for t in later)
                kind, text = f"later {later}", f"{nodeid} ({test.task}) needs code of a later task: {where}"
            else:
                kind = f"fails {test.outcome}"
                text = (f"{nodeid} ({test.task}) {test.outcome} after applying tasks up to {task}: "
                        f"{_last_line(test.output)}")
        elif not mine_or_earlier and test.outcome == "passed":
            kind = "passes early"
            text = (f"{nodeid} ({test.task}) passes before {test.task} is solved (tasks up to {task} applied): "
                    "it checks none of its own task's code")
        elif not mine_or_earlier and test.outcome != "not_implemented":
            kind = f"fails {test.outcome}"
            text = (f"{nodeid} ({test.task}) fails through {test.outcome}, not NotImplementedError, "
                    f"after applying tasks up to {task}: {_last_line(test.output)}")
        else:
            continue
        if (nodeid, kind) not in walker.reported:
            walker.reported.add((nodeid, kind))
            problems.append(text)
    return problems


def _message(output: str, task: str) -> str:
    match = re.search(rf"NotImplementedError\W{{0,3}}({re.escape(task)}:[^\n\"']*)", output)
    return match.group(1) if match else task


def _last_line(output: str) -> str:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    return lines[-1].strip()[:200] if lines else "(no output)"


def run_journey(root: Path, modules: list[Module], module: Module, workdir: Path, exhaustive: bool = False,
                say: Callable[[str], None] | None = None) -> Journey:
    """Walk ``module`` from its workspace to its reference, one task at a time."""
    say = say or (lambda _text: None)
    start = time.monotonic()
    journey = Journey(module=module.id)
    workspace = workdir / "workspace"
    build_workspace(root, workspace, modules)
    walker = _Walker(module, workspace, workdir / "runs", exhaustive)
    journey.files = {t: walker.files_of(t) for t in walker.order}

    listed = sheet_files(module.root / "README.md")
    for task in walker.order:
        regions = set(journey.files[task])
        if task in listed and not regions <= listed[task]:
            journey.problems.append(f"{task}: the sheet's task table lists {', '.join(sorted(listed[task]))} "
                                    f"but the task's regions are also in {', '.join(sorted(regions - listed[task]))}")

    say(f"{module.id}: the workspace, nothing solved ...")
    began = time.monotonic()
    count = walker.run(None)
    first = Step(task="(workspace)", files=[], ran=list(walker.order), tests_run=count, elapsed_s=0.0)
    first.problems = [f"on the workspace: {error}" for error in walker.collect_errors]
    for nodeid, test in walker.last.items():
        if test.outcome != "not_implemented":
            first.problems.append(f"{nodeid} ({test.task}) {test.outcome} on the workspace, "
                                  f"not NotImplementedError: {_last_line(test.output)}")
    first.elapsed_s = round(time.monotonic() - began, 2)
    journey.steps.append(first)

    for task in walker.order:
        began = time.monotonic()
        before = {n: set(stubs_reached(t.output)) for n, t in walker.last.items() if t.outcome != "passed"}
        files = walker.apply(task)
        ran = walker.stale(task)
        say(f"{module.id}: applied {task} ({', '.join(files)}); running the tests of {', '.join(ran)} ...")
        count = walker.run(ran)
        step = Step(task=task, files=files, ran=ran, tests_run=count, elapsed_s=0.0)
        step.problems = _judge(walker, task, set(ran))
        # A test that reached this task's stub before and now gets further used this task's code.
        for nodeid, stubs in before.items():
            test = walker.last[nodeid]
            if task in stubs and test.task is not None and test.task != task and test.task in ran:
                journey.needs.setdefault(test.task, [])
                if task not in journey.needs[test.task]:
                    journey.needs[test.task].append(task)
        step.elapsed_s = round(time.monotonic() - began, 2)
        journey.steps.append(step)

    for task in walker.order:
        position = walker.order.index(task)
        missing = [t for t in journey.needs.get(task, [])
                   if walker.order.index(t) < position and t not in _closure(module, task)]
        if missing:
            journey.problems.append(f"{task}'s tests run the code of {', '.join(missing)}, which its requires "
                                    "in tasks.toml does not name")
    reference = {p: p.read_bytes() for p in (module.root / "src").rglob("*.py") if "__pycache__" not in p.parts}
    differ = [str(p.relative_to(module.root)) for p, data in reference.items()
              if (workspace / p.relative_to(root)).read_bytes() != data]
    if differ:
        journey.problems.append(f"after every step the workspace still differs from the reference: {differ}")
    journey.elapsed_s = round(time.monotonic() - start, 2)
    return journey


def run_journeys(root: Path, modules: list[Module], console: Console, module_id: str | None = None,
                 exhaustive: bool = False) -> bool:
    """The journey of every built module (or of ``module_id``); prints each step; True when all pass.

    Each module's walk is also written to ``build/author-check/journey/<id>/journey.json``.
    """
    ok = True
    for module in modules:
        if not module.built or module_id not in (None, module.id, module.name):
            continue
        workdir = root / "build" / "author-check" / "journey" / module.id
        journey = run_journey(root, modules, module, workdir, exhaustive,
                              say=lambda text: console.print(f"[dim]{escape(text)}[/]"))
        for step in journey.steps:
            mark = "[green]ok[/]" if not step.problems else f"[red]{len(step.problems)} problem(s)[/]"
            console.print(f"{mark}  {module.id} {step.task:11} {step.tests_run:4} tests run "
                          f"({', '.join(step.ran) if step.task != '(workspace)' else 'all'}) {step.elapsed_s:7.1f} s")
            for problem in step.problems[:50]:
                console.print(f"      - {escape(problem)}")
        for problem in journey.problems:
            console.print(f"[red]problem[/]  {escape(problem)}")
        verdict = "[green]journey passed[/]" if journey.ok else "[red]journey failed[/]"
        console.print(f"{verdict}: {module.id} in {journey.elapsed_s:.1f} s")
        (workdir / "journey.json").write_text(json.dumps(journey.to_json(), indent=2) + "\n", encoding="utf-8")
        ok &= journey.ok
    return ok
