"""Planted attacks on the grader: a stub workspace that tries to grade itself scores 0 or is marked tampered.

Each attack is planted in a learner workspace of the toy course (every task a stub, so an honest
grade is 0/20). The patch that turns failures into passes is the one a learner would write first.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from curriculum.grade import grade_batch, grade_submission, submission_status
from curriculum.learner import build_workspace
from curriculum.manifest import discover_modules
from curriculum.results import SCHEMA_PATH

SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
PACKAGE = "c01_toy/src/c01_toy"

# Wraps TestReport.__init__ so every failure is reported as a pass.
REPORT_PATCH = '''
import {how}
_reports = {module}
_init = _reports.TestReport.__init__


def _passing(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    if self.outcome != "passed":
        self.outcome, self.longrepr = "passed", None


_reports.TestReport.__init__ = _passing
'''
PLAIN = REPORT_PATCH.format(how="_pytest.reports", module="_pytest.reports")
# The same, out of the static check's sight: the name is computed.
HIDDEN = REPORT_PATCH.format(how="importlib", module='importlib.import_module("_py" + "test.reports")')

CALL_AND_REPORT = '''
import importlib

_runner = importlib.import_module("_py" + "test.runner")
_original = _runner.call_and_report


def _call_and_report(item, when, log=True, **kwargs):
    report = _original(item, when, log=False, **kwargs)
    report.outcome, report.longrepr = "passed", None
    if log:
        item.ihook.pytest_runtest_logreport(report=report)
    return report


_runner.call_and_report = _call_and_report
'''

FORGE_EVENTS = '''
import json, sys

if "--curriculum-events" in sys.argv:
    _path = sys.argv[sys.argv.index("--curriculum-events") + 1]
    with open(_path, "a") as _f:
        for _test in ("test_c01_1_add.py::test_add_integers", "test_c01_3_checksum.py::test_checksum"):
            _f.write(json.dumps({"event": "result", "nodeid": "tests/" + _test, "task": "c01.1",
                                 "outcome": "passed"}) + "\\n")
'''

# A plugin registered from learner code through the garbage collector: no patch, a new hook.
HOOKWRAPPER = '''
import gc
import importlib

_pytest_mod = importlib.import_module("py" + "test")


class _Rewriter:
    @_pytest_mod.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        report.outcome, report.longrepr = "passed", None


for _obj in gc.get_objects():
    if type(_obj).__name__ == "Config" and hasattr(_obj, "pluginmanager"):
        _obj.pluginmanager.register(_Rewriter(), "rewriter")
        break
'''

EXIT_AT_IMPORT = "\nimport os\nos._exit(0)\n"
BUILTINS = "\nimport builtins\nbuiltins.NotImplementedError = AssertionError\n"


@pytest.fixture
def stub(course: Path, tmp_path: Path) -> Path:
    """A learner workspace of the toy course: every task raises NotImplementedError."""
    workspace = tmp_path / "stub"
    build_workspace(course, workspace, discover_modules(course))
    return workspace


def grade(course: Path, submission: Path, out: Path) -> dict[str, Any]:
    results = grade_submission(discover_modules(course), submission, out)
    jsonschema.validate(results, SCHEMA)
    return results


def tampered(results: dict[str, Any]) -> list[str]:
    return [e for m in results["modules"] for e in m.get("tampered", [])]


def plant(workspace: Path, rel: str, text: str, append: bool = False) -> None:
    path = workspace / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text((path.read_text() if append else "") + text)


def test_honest_submissions_are_never_marked(course: Path, stub: Path, tmp_path: Path):
    reference = grade(course, course, tmp_path / "ref")
    assert reference["score"] == 20 and tampered(reference) == []
    assert {t["outcome"] for t in reference["tests"]} == {"passed"}
    empty = grade(course, stub, tmp_path / "stub")
    assert empty["score"] == 0 and tampered(empty) == [] and submission_status(empty) == "complete"
    assert {t["outcome"] for t in empty["tests"]} == {"not_implemented"}
    # the sandbox holds the package alone, and the canary tests never reach the results
    assert not any("canary" in c["nodeid"] for t in empty["tests"] for c in t["cases"])


@pytest.mark.parametrize(("name", "rel", "text", "append", "words"), [
    ("sitecustomize", "c01_toy/src/sitecustomize.py", PLAIN, False, "start-up hook file src/sitecustomize.py"),
    ("usercustomize", "c01_toy/src/usercustomize.py", PLAIN, False, "start-up hook file src/usercustomize.py"),
    ("pth", "c01_toy/src/zz_patch.pth", "import sitecustomize\n", False, "start-up hook file src/zz_patch.pth"),
    ("conftest", "c01_toy/src/conftest.py", PLAIN, False, "start-up hook file src/conftest.py"),
    ("package_plain", f"{PACKAGE}/__init__.py", PLAIN, True, "no learner file may use (rule: _pytest)"),
    ("package_hidden", f"{PACKAGE}/__init__.py", HIDDEN, True, "was reported passed"),
    ("call_and_report", f"{PACKAGE}/arith.py", CALL_AND_REPORT, True, "_pytest.runner.call_and_report was replaced"),
    ("forged_events", f"{PACKAGE}/__init__.py", FORGE_EVENTS, True, "was not written by the grader's plugin"),
    ("hookwrapper", f"{PACKAGE}/__init__.py", HOOKWRAPPER, True, "implemented by rewriter from outside the course"),
    ("builtins", f"{PACKAGE}/arith.py", BUILTINS, True, "rule: builtins (assignment)"),
])
def test_planted_attack_is_marked_tampered_with_zero_points(course: Path, stub: Path, tmp_path: Path, name: str,
                                                            rel: str, text: str, append: bool, words: str):
    plant(stub, rel, text, append)
    results = grade(course, stub, tmp_path / "out")
    evidence = tampered(results)
    assert results["score"] == 0, (name, results["tests"])
    assert any(words in e for e in evidence), (name, evidence)
    assert {t["outcome"] for t in results["tests"]} == {"tampered"}
    assert submission_status(results) == "tampered"
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## Tampering" in report and words.split(" (")[0] in report


def test_runtime_detection_alone_catches_the_report_patch(course: Path, stub: Path, tmp_path: Path):
    # The hidden patch gets past the static check; the canaries and the identity check see it.
    plant(stub, f"{PACKAGE}/__init__.py", HIDDEN, append=True)
    evidence = tampered(grade(course, stub, tmp_path / "out"))
    assert any("integrity: _pytest.reports.TestReport.__init__ was replaced" in e for e in evidence)
    assert any("canary test" in e and "always ends failed, was reported passed" in e for e in evidence)
    assert any("raised AssertionError in call but was reported as passed" in e for e in evidence)


def test_exit_at_import_scores_zero(course: Path, stub: Path, tmp_path: Path):
    plant(stub, f"{PACKAGE}/__init__.py", EXIT_AT_IMPORT, append=True)
    results = grade(course, stub, tmp_path / "out")
    assert results["score"] == 0
    assert any("ended outside any test before pytest finished" in p for m in results["modules"]
               for p in m["problems"])


def test_only_the_package_is_importable(course: Path, tmp_path: Path):
    # A solved submission whose package imports a helper beside it in src/: the helper is left out.
    submission = tmp_path / "sub"
    (submission / "c01_toy").mkdir(parents=True)
    src = submission / "c01_toy" / "src"
    import shutil

    shutil.copytree(course / PACKAGE, src / "c01_toy")
    (src / "helper.py").write_text("VALUE = 1\n")
    plant(submission, f"{PACKAGE}/__init__.py", "\nimport helper  # noqa\n", append=True)
    results = grade(course, submission, tmp_path / "out")
    assert results["score"] == 0 and tampered(results) == []
    assert "left out src/helper.py: only the package c01_toy/ is graded" in results["modules"][0]["left_out"]
    assert "ModuleNotFoundError: No module named 'helper'" in results["tests"][0]["output"]


def test_batch_row_says_tampered(course: Path, stub: Path, tmp_path: Path):
    batch = tmp_path / "batch"
    batch.mkdir()
    stub.rename(batch / "mallory")
    plant(batch / "mallory", "c01_toy/src/sitecustomize.py", PLAIN)
    path = grade_batch(discover_modules(course), batch, tmp_path / "out")
    row = next(csv.DictReader(path.open()))
    assert row["status"] == "tampered" and row["total"] == "0.0"
