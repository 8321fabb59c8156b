"""The pytest side of the grader: task tags, the ``metric`` fixture, and an event stream.

Loaded in every pytest run through the ``pytest11`` entry point, so ``make test``
and the grader apply the same rules:

* in a built module every test carries ``@pytest.mark.task("c01.2")`` (usually as
  ``pytestmark``) naming a task of the module's ``tasks.toml``;
* each test gets the timeout of its task (pytest-timeout);
* ``metric(name, value)`` looks the threshold up in the manifest, records the
  value and fails the test when the threshold is missed;
* with ``--curriculum-events FILE`` every collected test, start and result is
  appended to FILE as one JSON line and flushed at once, so the grader knows
  which test was running when a process hangs or dies. In a grading run the
  lines are signed, canary tests are added, and the session ends with an
  integrity check of pytest's reporting (see ``tamper.py``).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

from curriculum import tamper
from curriculum.manifest import MANIFEST_NAME, ManifestError, Module, Task, load_module

OUTPUT_LIMIT = 4000  # characters of a failure kept per test
_MODULE_CACHE: dict[Path, Module | None] = {}


def _module_for(path: Path) -> Module | None:
    """The module whose manifest is the nearest one above ``path`` (cached)."""
    for folder in path.resolve().parents:
        if folder in _MODULE_CACHE:
            return _MODULE_CACHE[folder]
        if (folder / MANIFEST_NAME).is_file():
            _MODULE_CACHE[folder] = load_module(folder)
            return _MODULE_CACHE[folder]
    return None


def _task_of(item: pytest.Item) -> tuple[Module | None, Task | None]:
    module = _module_for(Path(str(item.path)))
    marks = list(item.iter_markers("task"))
    if module is None or not module.built:
        return module, None
    if not marks or not marks[0].args:
        raise pytest.UsageError(
            f"{item.nodeid}: every test of built module {module.id} needs "
            f'@pytest.mark.task("{module.id}.N") (or pytestmark = pytest.mark.task(...))'
        )
    task_id = str(marks[0].args[0])
    try:
        return module, module.task(task_id)
    except KeyError as err:
        raise pytest.UsageError(f"{item.nodeid}: {err.args[0]}") from None


@dataclass
class _TestRecord:
    """What the plugin learns about one test across its setup, call and teardown."""

    outcome: str = "passed"
    output: str = ""
    duration_s: float = 0.0
    metrics: list[dict[str, Any]] = field(default_factory=list)


_RECORD_KEY = pytest.StashKey[_TestRecord]()
_TASK_KEY = pytest.StashKey[str]()
_CANARY_KEY = pytest.StashKey[str]()
# Taken at import, before pytest collects (and so imports) any learner code.
_EVENTS_KEY = tamper.read_key_from_env()


def _is_not_implemented(excinfo: pytest.ExceptionInfo[BaseException]) -> bool:
    """True when the failure comes from a learner stub (also through chained errors)."""
    err: BaseException | None = excinfo.value
    seen = 0
    while err is not None and seen < 20:
        if isinstance(err, NotImplementedError):
            return True
        err = err.__cause__ or err.__context__
        seen += 1
    return False


def _classify(report: pytest.TestReport, call: pytest.CallInfo[None]) -> str:
    if report.passed:
        return "passed"
    if report.skipped:
        return "skipped"
    excinfo = call.excinfo
    if excinfo is not None:
        if _is_not_implemented(excinfo):
            return "not_implemented"
        if excinfo.typename == "Failed" and str(excinfo.value).startswith("Timeout"):
            return "timeout"
    return "failed" if report.when == "call" else "error"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("curriculum")
    group.addoption("--curriculum-events", default=None, help="append test events as JSON lines")
    group.addoption("--curriculum-task", default=None, help="run only the tests of this task id")
    group.addoption("--curriculum-skip", default=None,
                    help="a file of node ids (one a line) not to run again; exact, unlike --deselect")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "task(id): the manifest task this test grades")
    events = config.getoption("--curriculum-events")
    if events:
        config.pluginmanager.register(EventStream(Path(events), _EVENTS_KEY), "curriculum-events")
    _load_hypothesis_profile()


def _load_hypothesis_profile() -> None:
    """Deterministic hypothesis everywhere: fixed seed, no deadline, no example database."""
    try:
        from hypothesis import settings
    except ImportError:  # pragma: no cover - hypothesis is a grader dependency
        return
    settings.register_profile("curriculum", deadline=None, derandomize=True, database=None)
    settings.load_profile("curriculum")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tag each test with its task and timeout; drop what ``--curriculum-task/-skip`` exclude."""
    only = config.getoption("--curriculum-task")
    skip_file = config.getoption("--curriculum-skip")
    skip = set(Path(skip_file).read_text(encoding="utf-8").splitlines()) if skip_file else set()
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        try:
            _, task = _task_of(item)
        except ManifestError as err:
            raise pytest.UsageError(str(err)) from None
        if task is not None:
            item.stash[_TASK_KEY] = task.id
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(task.timeout_s))
        unwanted = only and (task is None or task.id != only)
        (dropped if unwanted or item.nodeid in skip else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    try:
        report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    except Exception as error:
        report = _report_despite(error, item, call)
        outcome.force_result(report)  # type: ignore[attr-defined]
    if call.excinfo is not None and report.passed:
        # An exception with a passing report: something rewrote the report after pytest made it.
        stream = item.config.pluginmanager.get_plugin("curriculum-events")
        if isinstance(stream, EventStream):
            stream.emit(event="tamper", evidence=f"{item.nodeid} raised {call.excinfo.typename} in {call.when} "
                                                 "but was reported as passed")
    record = item.stash.setdefault(_RECORD_KEY, _TestRecord())
    record.duration_s += report.duration
    kind = _classify(report, call)
    # The first phase that does not pass decides the outcome, so a teardown error
    # after a failed call does not hide the failure.
    if record.outcome == "passed" and kind != "passed":
        record.outcome = kind
        record.output = str(report.longreprtext or "")[-OUTPUT_LIMIT:]


def _report_despite(error: Exception, item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    """The report of a failure pytest could not show: pytest's once more, else one with a plain traceback.

    To show a failure pytest parses the source of each frame. On CPython before 3.11.8 that parse
    fails at random with ``SystemError: AST constructor recursion depth mismatch`` while another
    thread parses too (CPython gh-106905), e.g. a test's in-process server formatting the traceback
    of an error it logs; a source file edited during the run can break it as well. Escaping pytest,
    the error would be an INTERNALERROR that ends the whole run at that test.
    """
    excinfo = call.excinfo
    if excinfo is None or isinstance(excinfo.value, pytest.skip.Exception):
        raise error  # not a failure being shown: nothing to stand in for
    with contextlib.suppress(Exception):
        return pytest.TestReport.from_item_and_call(item, call)  # the race is rare: once more is enough
    when = call.when
    assert when != "collect"  # makereport is only called for a test's phases
    text = "".join(traceback.format_exception(excinfo.value))
    sections = [(f"Captured {key} {phase}", content) for phase, key, content in item._report_sections]
    return pytest.TestReport(
        item.nodeid, item.location, dict.fromkeys(item.keywords, 1), "failed",
        f"{text}\n(pytest could not show this failure's source: {type(error).__name__}: {error})",
        when, sections, call.duration, call.start, call.stop, item.user_properties,
    )


class EventStream:
    """Writes one flushed JSON line per event, so nothing is lost if the process dies.

    With a key from the grader each line is ``seq hmac json``: a line written by anything
    else, or a line left out, is noticed by the grader.
    """

    def __init__(self, path: Path, key: bytes | None = None) -> None:
        self._file: IO[str] = path.open("a", encoding="utf-8")
        self._items: dict[str, pytest.Item] = {}
        self._key = key
        self._seq = 0
        self._canary_dir = path.parent / f"{path.name}.canary"
        self._hookimpls: dict[str, list[tuple[str, Any]]] = {}

    def emit(self, **event: Any) -> None:
        event["time"] = time.time()
        payload = json.dumps(event, default=str)
        line = payload + "\n" if self._key is None else tamper.signed_line(self._key, self._seq, payload)
        self._seq += 1
        self._file.write(line)
        self._file.flush()
        os.fsync(self._file.fileno())

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> None:
        # Before collection imports the graded package: the hooks as pytest and the course set them.
        self._hookimpls = _hookimpls(session.config)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, session: pytest.Session, items: list[pytest.Item]) -> None:
        """Add canary tests first and last: they must fail and error, whatever the learner's code does."""
        nonces = [secrets.token_hex(4), secrets.token_hex(4)]
        self._canary_dir.mkdir(parents=True, exist_ok=True)
        path = self._canary_dir / f"curriculum_canary_{nonces[0]}.py"
        path.write_text(tamper.canary_source(nonces), encoding="utf-8")
        canaries = [c for c in pytest.Module.from_parent(session, path=path).collect() if isinstance(c, pytest.Item)]
        for canary in canaries:
            kind = tamper.canary_kind(canary.name)
            if kind is not None:
                canary.stash[_CANARY_KEY] = kind
        first = [c for c in canaries if nonces[0] in c.name]
        last = [c for c in canaries if nonces[1] in c.name]
        items[:] = first + items + last

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self._items = {item.nodeid: item for item in session.items}
        tests = [{"nodeid": i.nodeid, "task": i.stash.get(_TASK_KEY, None), "canary": i.stash.get(_CANARY_KEY, None)}
                 for i in session.items]
        self.emit(event="collected", tests=tests)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.emit(event="collect_error", nodeid=report.nodeid, output=report.longreprtext[-OUTPUT_LIMIT:])

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self.emit(event="start", nodeid=nodeid)

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        item = self._items.get(nodeid)
        if item is None:
            return
        record = item.stash.get(_RECORD_KEY, _TestRecord())
        self.emit(
            event="result",
            nodeid=nodeid,
            task=item.stash.get(_TASK_KEY, None),
            outcome=record.outcome,
            duration_s=round(record.duration_s, 4),
            output=record.output,
            metrics=record.metrics,
            canary=item.stash.get(_CANARY_KEY, None),
        )

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        # Which files were imported tells the grader whether it graded the intended code.
        packages: dict[str, str | None] = {}
        for item in session.items:
            module = _module_for(Path(str(item.path)))
            if module is not None and module.package in sys.modules:
                packages[module.package] = getattr(sys.modules[module.package], "__file__", None)
        integrity = {"checked": len(_BASELINE), "changed": _integrity_changes(self._hookimpls, session.config)}
        self.emit(event="finished", exitstatus=int(exitstatus), packages=packages, integrity=integrity)
        self._file.close()


def _hookimpls(config: pytest.Config) -> dict[str, list[tuple[str, Any]]]:
    return {name: [(impl.plugin_name, impl.function) for impl in getattr(config.hook, name).get_hookimpls()]
            for name in tamper.WATCHED_HOOKS}


def _trusted_code(function: Any, roots: tuple[str, ...]) -> bool:
    code = getattr(getattr(function, "__func__", function), "__code__", None)
    filename = os.path.realpath(code.co_filename) if code is not None else ""
    return any(filename.startswith(root) for root in roots)


def _integrity_changes(before_hooks: dict[str, list[tuple[str, Any]]], config: pytest.Config) -> list[str]:
    """What changed since the plugin loaded: pytest's objects, the plugin's functions, the hooks."""
    found = [f"{name} was replaced" for name in tamper.changed(_BASELINE, _current())]
    # Hooks added during the session must come from the course or installed packages (conftests).
    roots = tuple(os.path.realpath(p) + os.sep for p in {
        str(config.rootpath), sys.prefix, sys.base_prefix, str(Path(__file__).parent)})
    after = _hookimpls(config)
    for name, impls in after.items():
        earlier = before_hooks.get(name, [])
        for plugin, function in impls:
            if (plugin, function) not in earlier and not _trusted_code(function, roots):
                found.append(f"hook {name} implemented by {plugin} from outside the course")
        for plugin, function in earlier:
            if (plugin, function) not in impls:
                found.append(f"hook {name} of {plugin} was removed or replaced")
    return found


MetricRecorder = Callable[[str, float], None]


@pytest.fixture
def metric(request: pytest.FixtureRequest) -> MetricRecorder:
    """Record a measured value against its threshold in the task manifest.

    ``metric("pool_hit_rate", 0.95)`` finds the threshold of ``pool_hit_rate`` in
    the manifest entry of this test's task, records name, value, threshold and
    direction for the report, and fails the test when the threshold is missed.
    """
    item = request.node
    module, task = _task_of(item)
    record = item.stash.setdefault(_RECORD_KEY, _TestRecord())

    def record_metric(name: str, value: float) -> None:
        if task is None or module is None:
            raise pytest.UsageError(f"{item.nodeid}: metric() needs a test tagged with a task")
        spec = task.metric(name)
        if spec is None:
            known = ", ".join(m.name for m in task.metrics) or "none"
            raise pytest.UsageError(
                f"{item.nodeid}: task {task.id} declares no metric {name!r} in "
                f"{module.root / MANIFEST_NAME} (declared: {known})"
            )
        value = float(value)
        met = spec.met(value)
        record.metrics.append(
            {
                "name": name,
                "value": value,
                "threshold": spec.threshold,
                "direction": spec.direction,
                "met": met,
            }
        )
        item.user_properties.append((f"metric:{name}", value))
        if not met:
            pytest.fail(
                f"metric {name} = {value:.6g} misses its threshold {spec.symbol} "
                f"{spec.threshold:.6g} (task {task.id})",
                pytrace=False,
            )

    return record_metric


def _own_functions() -> dict[str, Any]:
    """The plugin's own functions and methods (a patch of any of them changes what is reported)."""
    own: dict[str, Any] = {f"curriculum.pytest_plugin.{n}": v for n, v in globals().items()
                           if callable(v) and getattr(v, "__module__", None) == __name__}
    own |= {f"curriculum.pytest_plugin.EventStream.{n}": v for n, v in vars(EventStream).items() if callable(v)}
    own |= {f"curriculum.tamper.{n}": v for n, v in vars(tamper).items()
            if callable(v) and getattr(v, "__module__", None) == tamper.__name__}
    return own


def _current() -> dict[str, Any]:
    return tamper.pytest_objects() | _own_functions()


_BASELINE = _current()
