"""Render a grading run: terminal table, ``report.md``, JUnit XML, and the ``Next:`` line."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from curriculum.manifest import Module, Task

MARK = {"passed": "✓", "failed": "✗", "not_implemented": "·", "timeout": "⧗", "crashed": "☠",
        "error": "!", "not_run": "-", "skipped": "s", "tampered": "⚠", "forbidden": "⊘"}


def metric_text(metric: dict[str, Any]) -> str:
    symbol = ">=" if metric["direction"] == "higher" else "<="
    status = "ok" if metric["met"] else "MISSED"
    return f"{metric['name']} = {metric['value']:.4g} (needs {symbol} {metric['threshold']:.4g}) {status}"


def next_task(modules: list[Module], progress: dict[str, dict[str, Any]]) -> tuple[Module, Task] | None:
    """The first task in course order whose last result is not full marks."""
    for module in modules:
        for task in module.tasks:
            if progress.get(task.id, {}).get("status") != "passed":
                return module, task
    return None


def next_line(modules: list[Module], progress: dict[str, dict[str, Any]]) -> str:
    found = next_task(modules, progress)
    if found is None:
        planned = [m.id for m in modules if not m.built]
        more = f"; coming next: {', '.join(planned)}" if planned else ""
        return f"Next: every built task passes{more}."
    _, task = found
    return f"Next: {task.id} {task.title}. Run: curriculum check {task.id}   (hint: curriculum hint {task.id})"


def coverage_line(module: Module, results: dict[str, Any], last_full: Path | None = None) -> str:
    """The module's coverage beside its minimum, for ``curriculum check``.

    A check runs one task's tests, so its coverage is partial; the last full grade (if any)
    says whether the module meets its minimum.
    """
    entry: dict[str, Any] = next((m for m in results["modules"] if m["id"] == module.id), {})
    measured = entry.get("coverage_percent")
    text = f"coverage of {module.id}: "
    text += f"{measured}% by these tests" if measured is not None else "not measured"
    text += f"; the module needs {module.coverage_min:g}% from all its tests"
    try:
        full = json.loads(last_full.read_text(encoding="utf-8"))["coverage"][module.id] if last_full else None
    except (OSError, ValueError, KeyError):
        full = None
    if full:
        text += f" (last full grade: {full['percent']}%, {'met' if full['met'] else 'MISSED'})"
    else:
        text += f" (run `curriculum grade --module {module.id}` to measure it)"
    return text


def print_report(results: dict[str, Any], modules: list[Module], progress: dict[str, dict[str, Any]],
                 console: Console | None = None) -> None:
    console = console or Console()
    by_task = {t["number"]: t for t in results["tests"]}
    table = Table(title=f"Grade: {results['score']:g} / {results['max_score']:g} points", title_justify="left")
    for column in ("task", "title", "points", "result", "metrics"):
        table.add_column(column, overflow="fold")
    for module, entry in zip(modules, results["modules"], strict=True):
        coverage = results["coverage"].get(module.id)
        cov_text = ""
        if coverage:
            cov_text = f"coverage {coverage['percent']}% (needs {coverage['minimum']:g}%)"
            cov_text += " ok" if coverage["met"] else " MISSED"
        if entry["status"] != "built":
            table.add_row(f"[dim]{module.id}[/]", f"[dim]{module.name}[/]", f"[dim]{entry['status']}[/]", "", "")
            continue
        table.add_row(f"[bold]{module.id}[/]", f"[bold]{module.name}[/] {cov_text}",
                      f"{entry['score']:g}/{entry['max_score']:g}", "", "")
        for task in module.tasks:
            test = by_task.get(task.id)
            if test is None:
                continue
            passed = sum(c["outcome"] == "passed" for c in test["cases"])
            result = f"{MARK.get(test['outcome'], '?')} {test['outcome']} {passed}/{len(test['cases'])}"
            metrics = "\n".join(metric_text(m) for m in test["metrics"])
            table.add_row(task.id, task.title, f"{test['score']:g}/{test['max_score']:g}", result, metrics)
        for problem in entry["problems"]:
            table.add_row("", f"[red]{escape(problem)}[/]", "", "", "")
        for evidence in entry.get("tampered", []):
            table.add_row("", f"[red]tampered: {escape(evidence)}[/]", "", "", "")
        table.add_section()
    console.print(table)
    for line in results["shortfalls"]:
        console.print(f"  shortfall: {line}")
    console.print(next_line(modules, progress))


def write_markdown(results: dict[str, Any], path: Path) -> None:
    lines = [
        "# Grade report",
        "",
        f"**{results['score']:g} / {results['max_score']:g} points** for `{results['submission']}` "
        f"({results['generated_at']}, grader {results['grader_version']}, {results['execution_time']} s).",
        "",
        "| module | status | points | coverage |",
        "|---|---|---|---|",
    ]
    for entry in results["modules"]:
        cov = results["coverage"].get(entry["id"])
        cov_text = f"{cov['percent']}% (min {cov['minimum']:g}%)" if cov else "—"
        lines.append(f"| {entry['id']} {entry['name']} | {entry['status']} | "
                     f"{entry['score']:g}/{entry['max_score']:g} | {cov_text} |")
    lines += ["", "| task | title | points | outcome | metrics |", "|---|---|---|---|---|"]
    for test in results["tests"]:
        metrics = "<br>".join(metric_text(m) for m in test["metrics"]) or "—"
        title = test["name"].split(" ", 1)[1]
        lines.append(f"| {test['number']} | {title} | {test['score']:g}/{test['max_score']:g} | "
                     f"{test['outcome']} | {metrics} |")
    tampered = [(e["id"], x) for e in results["modules"] for x in e.get("tampered", [])]
    if tampered:
        lines += ["", "## Tampering", "", "Each module below scores 0: its grading was altered.", ""]
        lines += [f"- {module}: {evidence}" for module, evidence in tampered]
    violations = [v for t in results["tests"] for v in t.get("violations", [])]
    if violations:
        lines += ["", "## What a task may not use", ""] + [f"- {v['message']}" for v in violations]
    if results["shortfalls"]:
        lines += ["", "## Shortfalls", ""] + [f"- {s}" for s in results["shortfalls"]]
    failing = [t for t in results["tests"] if t["status"] != "passed"]
    if failing:
        lines += ["", "## Details", ""]
        for test in failing:
            lines += [f"### {test['name']}", "", "```", test["output"][-6000:], "```", ""]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_junit(results: dict[str, Any], path: Path) -> None:
    """One <testsuite> per module, one <testcase> per test, failures with their output."""
    suites = ET.Element("testsuites", name="curriculum", time=str(results["execution_time"]))
    by_module: dict[str, list[dict[str, Any]]] = {}
    for test in results["tests"]:
        by_module.setdefault(test["tags"][0], []).append(test)
    for module_id, tests in by_module.items():
        cases = [(t, c) for t in tests for c in t["cases"]]
        counts = {k: sum(c["outcome"] in kinds for _, c in cases) for k, kinds in (
            ("failures", ("failed", "not_implemented")),
            ("errors", ("error", "timeout", "crashed")),
            ("skipped", ("skipped", "not_run")),
        )}
        attributes = {"name": module_id, "tests": str(len(cases))} | {k: str(v) for k, v in counts.items()}
        suite = ET.SubElement(suites, "testsuite", attributes)
        for test, case in cases:
            element = ET.SubElement(suite, "testcase", classname=test["number"], name=case["nodeid"],
                                    time=str(case["duration_s"]))
            outcome = case["outcome"]
            if outcome in ("failed", "not_implemented"):
                ET.SubElement(element, "failure", message=outcome).text = test["output"][-4000:]
            elif outcome in ("error", "timeout", "crashed"):
                ET.SubElement(element, "error", message=outcome).text = test["output"][-4000:]
            elif outcome in ("skipped", "not_run"):
                ET.SubElement(element, "skipped", message=outcome)
    ET.indent(suites)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)
