"""Run one module's tests in a subprocess with time, memory and output limits.

The grader never imports graded code. It copies the submission's package into a
grading sandbox (``tamper.py``: nothing else of the submission is importable),
checks the task rules (``rules.py``), starts ``python -s -m pytest`` on the
course's own tests (hidden ones included) with the sandbox first on
``PYTHONPATH``, and follows the plugin's signed event stream:

* a test that outlives its task timeout (plus a grace period) is killed with
  its whole process group and recorded as ``timeout``;
* a process that dies while a test is running records that test as ``crashed``
  (with the signal's name);
* either way the run restarts with the finished tests deselected, so one bad
  test never hides the rest of the report;
* a forged event line, a canary test reported as passing, or a changed report
  class or hook is evidence of tampering (``ModuleRun.tampered``).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curriculum import tamper
from curriculum.events import EventFollower
from curriculum.learner import task_files
from curriculum.manifest import Module
from curriculum.rules import Violation, check_files, grader_violations

GRACE_S = float(os.environ.get("CURRICULUM_GRACE_S", "10"))  # past pytest-timeout, for code signals cannot reach
LOG_TAIL_BYTES = 20_000  # capped output kept per module
MAX_RESTARTS = 25  # one per hung or crashed test, then the module gives up
FILE_SIZE_LIMIT = 2 << 30  # no test process writes a file over 2 GiB
POLL_S = 0.1


@dataclass
class TestResult:
    nodeid: str
    task: str | None
    outcome: str  # passed failed error skipped not_implemented timeout crashed not_run
    duration_s: float = 0.0
    output: str = ""
    metrics: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ModuleRun:
    module: Module
    source: Path
    tests: list[TestResult] = field(default_factory=list)
    coverage: float | None = None
    collect_errors: list[dict[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    log_tail: str = ""
    elapsed_s: float = 0.0
    shadowed: bool = False  # the tests imported another copy of the package: results void
    tampered: list[str] = field(default_factory=list)  # evidence; any at all scores the module 0
    violations: dict[str, list[Violation]] = field(default_factory=dict)  # per task: its forbid rules broken
    notes: list[str] = field(default_factory=list)  # what of the submission was left out of the sandbox


def _limits(memory_mb: int) -> None:
    """Run in the child before exec: cap memory, file size, core dumps (soft = hard: the tests cannot lift them)."""
    memory = memory_mb << 20
    # RLIMIT_DATA counts what a process writes to (heap, anonymous and private writable mappings), not
    # address space it only reserves: Chromium (c08's browser test) reserves tens of GB of PROT_NONE
    # address space at start and dies under any RLIMIT_AS a grader would set, but runs under this one.
    resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _tail(path: Path, limit: int = LOG_TAIL_BYTES) -> str:
    if not path.exists():
        return ""
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - limit))
        return handle.read().decode("utf-8", "replace")


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@dataclass
class _Attempt:
    """What one pytest process told us before it ended."""

    running: str | None = None
    running_since: float = 0.0
    finished: bool = False
    exitstatus: int | None = None
    packages: dict[str, str | None] = field(default_factory=dict)
    integrity: dict[str, Any] | None = None
    canaries: dict[str, str] = field(default_factory=dict)  # nodeid -> kind (fail, error)
    canary_outcomes: dict[str, str] = field(default_factory=dict)


def _command(module: Module, events: Path, cov_json: Path, skip_file: Path, task: str | None,
             append: bool) -> list[str]:
    cmd = [
        # -s: no user site-packages; the sandbox on PYTHONPATH comes before the installed packages
        sys.executable, "-s", "-m", "pytest", str(module.root / "tests"),
        "--rootdir", str(module.root), "-q", "--no-header", "-p", "no:cacheprovider",
        "--curriculum-events", str(events), "--timeout-method=signal",
        f"--cov={module.package}", "--cov-report=", f"--cov-report=json:{cov_json}",
    ]
    if append:
        cmd.append("--cov-append")
    if task:
        cmd += ["--curriculum-task", task]
    if append:
        cmd += ["--curriculum-skip", str(skip_file)]
    return cmd


def run_module(module: Module, source_root: Path, workdir: Path, task: str | None = None) -> ModuleRun:
    """Grade ``module``'s tests against ``source_root/<module>/src``; never raises on bad code."""
    source = (source_root / module.name / "src").resolve()
    workdir = workdir.resolve()  # the test process runs in the module's folder
    run = ModuleRun(module=module, source=source)
    if not source.is_dir():
        run.problems.append(f"no source folder {source}")
        return run
    workdir.mkdir(parents=True, exist_ok=True)
    cov_json, log = (workdir / f"{module.id}.{n}" for n in ("coverage.json", "log"))
    for stale in (cov_json, log, workdir / f"{module.id}.coverage", *workdir.glob(f"{module.id}.events*")):
        if stale.is_dir():
            shutil.rmtree(stale)
        else:
            stale.unlink(missing_ok=True)
    sandbox, evidence, run.notes = tamper.prepare_sandbox(source, module.package, workdir / f"{module.id}.sandbox")
    run.tampered += evidence
    run.tampered += [f"{v.message.replace('this task may not use', 'no learner file may use')}"
                     for v in grader_violations(sandbox / module.package)]
    run.violations = check_rules(module, sandbox, task)
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join([str(sandbox), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        PYTHONNOUSERSITE="1",
        COVERAGE_FILE=str(workdir / f"{module.id}.coverage"),
        PYTHONHASHSEED="0",
        PYTHONFAULTHANDLER="1",  # a crash prints the Python stack of the test that died
    )
    collected: dict[str, str | None] = {}
    results: dict[str, TestResult] = {}
    module_start = time.monotonic()
    timed_out_module = False

    for attempt in range(MAX_RESTARTS):
        skip_file = workdir / f"{module.id}.skip"
        skip_file.write_text("".join(f"{nodeid}\n" for nodeid in sorted(results)), encoding="utf-8")
        events = workdir / f"{module.id}.events.{attempt}.jsonl"  # one per process: no torn line carries over
        cmd = _command(module, events, cov_json, skip_file, task, append=attempt > 0)
        state = _Attempt()
        key_fd, key = tamper.new_key_pipe()
        follower = EventFollower(events, key)
        with log.open("ab") as log_handle:
            try:
                proc = subprocess.Popen(
                    cmd, cwd=module.root, env=env | {tamper.KEY_FD_ENV: str(key_fd)}, stdout=log_handle,
                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                    preexec_fn=lambda: _limits(module.memory_mb), pass_fds=(key_fd,),
                )
            finally:
                os.close(key_fd)
            killed_reason = ""
            while True:
                _absorb(follower.new_events(), state, collected, results, run)
                if proc.poll() is not None:
                    break
                now = time.monotonic()
                if state.running is not None:
                    limit = _test_timeout(module, collected.get(state.running)) + GRACE_S
                    if now - state.running_since > limit:
                        killed_reason = f"killed after {limit:.0f} s: the test did not return"
                if now - module_start > module.timeout_s:
                    killed_reason = f"module time limit of {module.timeout_s:.0f} s reached"
                    timed_out_module = True
                if killed_reason:
                    _kill_group(proc)
                    break
                time.sleep(POLL_S)
        _absorb(follower.new_events(), state, collected, results, run)
        if state.running is not None and state.running not in results and state.running not in state.canaries:
            # The process ended (or was ended) in the middle of a test.
            if killed_reason:
                outcome, why = "timeout", killed_reason
            else:
                outcome, why = "crashed", _describe_exit(proc.returncode)
            results[state.running] = TestResult(
                nodeid=state.running, task=collected.get(state.running), outcome=outcome,
                duration_s=round(time.monotonic() - state.running_since, 3),
                output=f"{why}\n\n{_tail(log, 4000)}",
            )
        if state.packages:
            _check_imported_from(state.packages, module, sandbox, run)
        run.tampered += follower.forged + _attempt_evidence(state)
        if not state.finished and not killed_reason and state.running is None:
            run.problems.append(f"the test process ended outside any test before pytest finished: "
                                f"{_describe_exit(proc.returncode).replace(' in the middle of the test', '')}")
        if state.finished and state.exitstatus not in (0, 1, 5):
            run.problems.append(f"pytest ended with exit status {state.exitstatus}")
        remaining = set(collected) - set(results)
        if timed_out_module or not remaining or (state.finished and not killed_reason):
            break
    else:
        run.problems.append(f"gave up after {MAX_RESTARTS} restarts")

    for nodeid, task_id in collected.items():
        if nodeid not in results:
            why = "module time limit reached before this test ran" if timed_out_module else "not run"
            results[nodeid] = TestResult(nodeid, task_id, "timeout" if timed_out_module else "not_run",
                                         output=why)
    run.tests = [results[n] for n in collected] + [r for n, r in results.items() if n not in collected]
    run.tampered = list(dict.fromkeys(run.tampered))
    # Tracebacks name the sandbox copy; the learner knows (and two gradings share) the submission's paths.
    for test in run.tests:
        test.output = _unsandbox(test.output, sandbox, source, module.root)
    for error in run.collect_errors:
        error["output"] = _unsandbox(error["output"], sandbox, source, module.root)
    run.coverage = _read_coverage(cov_json)
    run.log_tail = _unsandbox(_tail(log), sandbox, source, module.root)
    run.elapsed_s = round(time.monotonic() - module_start, 2)
    return run


def _absorb(events: list[dict[str, Any]], state: _Attempt, collected: dict[str, str | None],
            results: dict[str, TestResult], run: ModuleRun) -> None:
    for event in events:
        kind = event.get("event")
        if kind == "collected":
            for test in event["tests"]:
                if test.get("canary"):
                    state.canaries[test["nodeid"]] = test["canary"]
                else:
                    collected.setdefault(test["nodeid"], test["task"])
        elif kind == "start":
            state.running, state.running_since = event["nodeid"], time.monotonic()
        elif kind == "result" and event["nodeid"] in state.canaries:
            state.canary_outcomes[event["nodeid"]] = event["outcome"]
            state.running = None
        elif kind == "result":
            if event["nodeid"] in results and results[event["nodeid"]].outcome not in ("timeout", "crashed"):
                run.tampered.append(f"{event['nodeid']} was reported twice")
            results[event["nodeid"]] = TestResult(
                nodeid=event["nodeid"], task=event.get("task"), outcome=event["outcome"],
                duration_s=event.get("duration_s", 0.0), output=event.get("output", ""),
                metrics=event.get("metrics", []),
            )
            state.running = None
        elif kind == "collect_error":
            if all(e["nodeid"] != event["nodeid"] for e in run.collect_errors):
                run.collect_errors.append({"nodeid": event["nodeid"], "output": event.get("output", "")})
        elif kind == "finished":
            state.finished, state.exitstatus = True, event.get("exitstatus")
            state.packages = event.get("packages", {})
            state.integrity = event.get("integrity")
        elif kind == "tamper":
            run.tampered.append(str(event.get("evidence")))


def _attempt_evidence(state: _Attempt) -> list[str]:
    """What one finished (or ended) pytest process proves about its own reporting."""
    evidence = []
    for nodeid, kind in state.canaries.items():
        expected, got = tamper.CANARY_EXPECTED.get(kind), state.canary_outcomes.get(nodeid)
        if got is not None and got != expected:
            evidence.append(f"the canary test {nodeid}, which always ends {expected}, was reported {got}")
        elif got is None and state.finished and state.exitstatus in (0, 1):
            evidence.append(f"the canary test {nodeid} was never reported")
    if state.finished:
        if not state.canaries and state.exitstatus in (0, 1):  # 2: interrupted (collection errors)
            evidence.append("the run ended without its canary tests")
        if state.integrity is None:
            evidence.append("the run ended without the integrity check of pytest's reporting")
        else:
            evidence += [f"integrity: {change}" for change in state.integrity.get("changed", [])]
    return evidence


def check_rules(module: Module, sandbox: Path, task: str | None = None) -> dict[str, list[Violation]]:
    """Per task with a ``forbid`` list, its violations in the files its solution regions live in."""
    files = task_files(module)
    found = {}
    for spec in module.tasks:
        if spec.forbid and task in (None, spec.id):
            violations = check_files(sandbox, files.get(spec.id, []), spec.forbid)
            if violations:
                found[spec.id] = violations
    return found


def _unsandbox(text: str, sandbox: Path, source: Path, cwd: Path) -> str:
    """``text`` with the sandbox's paths, absolute or relative to the test process, as the submission's."""
    text = text.replace(str(sandbox), str(source))
    return text.replace(os.path.relpath(sandbox, cwd.resolve()), os.path.relpath(source, cwd.resolve()))


def _test_timeout(module: Module, task_id: str | None) -> float:
    for task in module.tasks:
        if task.id == task_id:
            return task.timeout_s
    return module.timeout_s


def _describe_exit(returncode: int | None) -> str:
    if returncode is not None and returncode < 0:
        name = signal.Signals(-returncode).name
        return f"the test process died with signal {name}"
    return f"the test process exited with status {returncode} in the middle of the test"


def _check_imported_from(packages: dict[str, str | None], module: Module, source: Path,
                         run: ModuleRun) -> None:
    imported = packages.get(module.package)
    if imported and not Path(imported).resolve().is_relative_to(source):
        problem = f"the tests imported {imported}, not the submission's {source}: results void"
        if not run.shadowed:
            run.shadowed = True
            run.problems.append(problem)


def _read_coverage(path: Path) -> float | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return round(float(data["totals"]["percent_covered"]), 2)
    except (OSError, ValueError, KeyError):
        return None
