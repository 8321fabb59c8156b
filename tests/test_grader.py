"""The grader end to end on the toy course: scores, hangs, crashes, reports, batches."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from curriculum.cli import main
from curriculum.grade import grade_batch, grade_submission, submission_status
from curriculum.manifest import discover_modules
from curriculum.results import SCHEMA_PATH

SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def outcomes(results: dict) -> dict[str, str]:
    return {case["nodeid"].split("::")[-1]: case["outcome"] for t in results["tests"] for case in t["cases"]}


def test_reference_gets_full_marks_and_valid_reports(course: Path, tmp_path: Path):
    out = tmp_path / "out"
    results = grade_submission(discover_modules(course), course, out)
    jsonschema.validate(results, SCHEMA)
    assert (results["score"], results["max_score"]) == (20, 20)
    assert results["shortfalls"] == []
    assert results["coverage"]["c01"] == {"percent": 100.0, "minimum": 80.0, "met": True}
    assert [m["status"] for m in results["modules"]] == ["built", "planned"]
    add = results["tests"][0]
    assert add["number"] == "c01.1" and add["status"] == "passed" and add["tags"] == ["c01"]
    assert add["metrics"] == [{"name": "add_error", "value": 0.0, "threshold": 1e-12,
                               "direction": "lower", "met": True}]
    # the hidden test is graded too
    assert "test_add_negative" in outcomes(results)
    on_disk = json.loads((out / "results.json").read_text())
    jsonschema.validate(on_disk, SCHEMA)
    report = (out / "report.md").read_text()
    assert "**20 / 20 points**" in report and "add_error = 0 (needs <= 1e-12) ok" in report
    suites = ET.parse(out / "junit.xml").getroot()
    assert suites.find("testsuite").get("tests") == "6"  # type: ignore[union-attr]
    assert json.loads((out / "progress.json").read_text())["c01.3"]["status"] == "passed"


def test_hang_and_crash_are_recorded_and_grading_goes_on(course: Path, submissions: Path, tmp_path: Path):
    modules = discover_modules(course)
    bob = grade_submission(modules, submissions / "bob_loops", tmp_path / "bob")
    carol = grade_submission(modules, submissions / "carol_segfaults", tmp_path / "carol")
    dave = grade_submission(modules, submissions / "dave_stuck", tmp_path / "dave")
    for results in (bob, carol, dave):
        jsonschema.validate(results, SCHEMA)
    # bob: pytest-timeout interrupts the pure-Python loop
    assert outcomes(bob)["test_count_to_ten"] == "timeout"
    # dave: signals blocked, so only the grader's watchdog can end it; it kills and restarts
    assert outcomes(dave)["test_count_to_ten"] == "timeout"
    assert "did not return" in dave["tests"][1]["output"]
    # carol: the interpreter dies inside test_checksum; the next test still runs (and dies too)
    assert outcomes(carol)["test_checksum"] == "crashed"
    assert outcomes(carol)["test_checksum_empty"] == "crashed"
    assert "SIGSEGV" in carol["tests"][2]["output"] and "test_checksum" in carol["tests"][2]["output"]
    # the rest of each report is complete
    for results in (bob, carol, dave):
        assert results["tests"][0]["score"] == 10 and results["tests"][0]["outcome"] == "passed"
        assert results["score"] == 15
    assert (submission_status(bob), submission_status(carol), submission_status(dave)) == (
        "timeout", "crashed", "timeout")


def test_batch_writes_one_row_per_submission(course: Path, submissions: Path, tmp_path: Path):
    for name in ("carol_segfaults", "dave_stuck"):  # keep the batch quick; both are covered above
        for path in sorted((submissions / name).rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        (submissions / name).rmdir()
    path = grade_batch(discover_modules(course), submissions, tmp_path / "batch")
    rows = list(csv.DictReader(path.open()))
    assert [r["learner"] for r in rows] == ["alice", "bob_loops"]
    assert rows[0] == {"learner": "alice", "c01.1": "10.0", "c01.2": "5.0", "c01.3": "5.0", "total": "20.0",
                       "max_total": "20.0", "percent": "100.0", "status": "complete"}
    assert rows[1]["status"] == "timeout" and rows[1]["c01.2"] == "0.0" and rows[1]["percent"] == "75.0"
    for learner in ("alice", "bob_loops"):
        jsonschema.validate(json.loads((tmp_path / "batch/submissions" / learner / "results.json").read_text()),
                            SCHEMA)


def test_empty_batch_is_a_clear_error(course: Path, tmp_path: Path):
    (tmp_path / "none").mkdir()
    with pytest.raises(ValueError, match="holds no submission folders"):
        grade_batch(discover_modules(course), tmp_path / "none", tmp_path / "out")


def test_one_task_is_graded_alone(course: Path, tmp_path: Path):
    results = grade_submission(discover_modules(course), course, tmp_path / "out", task_id="c01.3")
    assert [t["number"] for t in results["tests"]] == ["c01.3"]
    assert results["coverage"] == {}  # coverage of a part says nothing about the module
    assert not (tmp_path / "out" / "results.json").exists()  # a check never replaces the full report


def test_missing_source_is_reported(course: Path, tmp_path: Path):
    (tmp_path / "empty").mkdir()
    results = grade_submission(discover_modules(course), tmp_path / "empty", tmp_path / "out")
    assert results["score"] == 0
    assert any("no source folder" in s for s in results["shortfalls"])


def test_broken_import_is_an_error_with_its_traceback(course: Path, tmp_path: Path):
    broken = tmp_path / "broken" / "c01_toy" / "src" / "c01_toy"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("def oops(:\n")
    results = grade_submission(discover_modules(course), tmp_path / "broken", tmp_path / "out")
    assert {t["outcome"] for t in results["tests"]} == {"error"}
    assert "SyntaxError" in results["tests"][0]["output"]


def test_missed_metric_fails_the_task(course: Path, tmp_path: Path):
    arith = course / "c01_toy/src/c01_toy/arith.py"
    arith.write_text(arith.read_text().replace("return a + b  #", "return a + b + 1e-9  #"))
    results = grade_submission(discover_modules(course), course, tmp_path / "out")
    metric = results["tests"][0]["metrics"][0]
    assert metric["met"] is False and metric["value"] == pytest.approx(1e-9, rel=1e-3)
    assert any("metric add_error" in s for s in results["shortfalls"])
    assert "misses its threshold <= 1e-12" in results["tests"][0]["output"]


def test_shadowed_package_voids_the_results(course: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # A copy of the package earlier on sys.path than the submission is graded instead: the grader notices.
    shadow = tmp_path / "shadow" / "c01_toy"
    shadow.mkdir(parents=True)
    for name in ("__init__.py", "arith.py"):
        (shadow / name).write_text((course / "c01_toy/src/c01_toy" / name).read_text())
    (tmp_path / "sitecustomize.py").write_text(f"import sys\nsys.path.insert(0, {str(shadow.parent)!r})\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    results = grade_submission(discover_modules(course), course, tmp_path / "out")
    assert results["score"] == 0
    assert any("results void" in s for s in results["shortfalls"])


def test_cli_strict_exit_codes(course: Path, tmp_path: Path):
    assert main(["--course", str(course), "grade", "--out", str(tmp_path / "a"), "--strict"]) == 0
    arith = course / "c01_toy/src/c01_toy/arith.py"
    arith.write_text(arith.read_text().replace("return a + b  #", "return a - b  #"))
    # a report with shortfalls is still a report: exit 0, unless --strict
    assert main(["--course", str(course), "grade", "--out", str(tmp_path / "b")]) == 0
    assert main(["--course", str(course), "grade", "--out", str(tmp_path / "c"), "--strict"]) == 1
    assert main(["--course", str(course), "grade", "--module", "c09"]) == 2


def test_memory_limit_is_enforced(course: Path, tmp_path: Path):
    # The toy module's manifest caps the test process at 2048 MiB of memory (RLIMIT_DATA, soft = hard), and
    # a test cannot lift the cap: raising the hard limit needs privileges the grader's child does not use.
    (course / "c01_toy/tests/test_c01_3_memory.py").write_text(
        'import resource\n\nimport pytest\n\npytestmark = pytest.mark.task("c01.3")\n\n\n'
        "def test_greedy():\n    block = bytearray(3 << 30)  # 3 GiB\n    assert block\n\n\n"
        "def test_lifting_the_cap():\n"
        "    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)\n"
        "    resource.setrlimit(resource.RLIMIT_DATA, (hard, hard))  # allowed, and no gain: soft == hard\n"
        "    block = bytearray(3 << 30)\n    assert block\n"
    )
    results = grade_submission(discover_modules(course), course, tmp_path / "out", task_id="c01.3")
    assert outcomes(results)["test_greedy"] == "failed"
    assert outcomes(results)["test_lifting_the_cap"] == "failed"
    assert "MemoryError" in results["tests"][0]["output"]
    assert outcomes(results)["test_checksum"] == "passed"  # the rest of the module is unaffected


# CPython before 3.11.8 (gh-106905): ast.parse fails at random with this SystemError while another thread
# parses too, e.g. pytest showing a failure's source while a test's in-process server logs a traceback.
RACING_PARSE = '''
import ast

import pytest

pytestmark = pytest.mark.task("c01.1")
PARSE = ast.parse


def parse_failing(times):
    left = [times]

    def parse(*args, **kwargs):
        left[0] -= 1
        if left[0] == 0:
            ast.parse = PARSE
        raise SystemError("AST constructor recursion depth mismatch (before=132, after=90)")

    return parse


def test_showing_the_failure_races_once():
    ast.parse = parse_failing(1)
    assert 1 + 1 == 3


def test_showing_the_failure_races_twice():
    ast.parse = parse_failing(2)
    assert 2 + 2 == 5
'''


def test_a_failure_pytest_cannot_show_is_still_a_failure(course: Path, tmp_path: Path):
    # Unhandled, the SystemError is a pytest INTERNALERROR: the run ends there (exit status 3).
    (course / "c01_toy/tests/test_c01_1_race.py").write_text(RACING_PARSE)
    results = grade_submission(discover_modules(course), course, tmp_path / "out")
    found = outcomes(results)
    assert found.pop("test_showing_the_failure_races_once") == "failed"
    assert found.pop("test_showing_the_failure_races_twice") == "failed"
    assert set(found.values()) == {"passed"} and len(found) == 6  # the tests after them ran too
    assert not any(m["problems"] for m in results["modules"])
    shown = next(t["output"] for t in results["tests"] if t["number"] == "c01.1")
    assert "assert (1 + 1) == 3" in shown  # pytest's own report, made once more
    assert shown.count("pytest could not show this failure's source: SystemError") == 1  # a plain traceback
    assert "AssertionError: assert (2 + 2) == 5" in shown
