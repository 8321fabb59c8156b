"""c07.6: visual logs: the HTML sequence diagram of a run, the success-vs-cost plot, the trace PNG.

Oracle: the trace itself. The page must show one arrow per message and per tool call, mark
failures and corrupted results, carry the run's reason, load nothing from outside, and escape
untrusted text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from c07_agents_systems import (
    RulePolicy,
    SystemConfig,
    ToolBox,
    Trace,
    plot_success_vs_cost,
    plot_trace,
    render_html,
    run_task,
    write_html,
)
from c07_agents_systems.evaluate import summarise
from c07_agents_systems.html_trace import COLOURS, rows
from c07_agents_systems.records import TaskRecord

pytestmark = pytest.mark.task("c07.6")

TASK = "What is the population of Varnholt, times 2?"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def faulty_run(tools: ToolBox) -> Trace:
    task = next(t for t in __import__("c07_agents_systems").make_suite(30) if t.family == "lookup")
    for seed in range(50):  # the first seed whose run meets both kinds of fault
        result = run_task(task.text, RulePolicy(), tools, SystemConfig(tool_fault_rate=0.5, seed=seed))
        faults = {c["fault"] for c in result.trace.of_type("tool_call")}
        if {"error", "corrupt"} <= faults:
            return result.trace
    raise AssertionError("no seed gave both faults")


def test_html_page_draws_every_message_and_tool_call(tools: ToolBox, tmp_path: Path) -> None:
    trace = faulty_run(tools)
    page = write_html(trace, tmp_path / "run.html", title="a <faulty> run").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and "</html>" in page
    drawn = len(trace.of_type("message")) + len(trace.of_type("tool_call"))
    assert page.count("<line") - page.count('stroke="#d1d5db"') == drawn  # one arrow each (lane lines aside)
    for lane in ("coordinator", "planner", "executor", "reviewer", "tools"):
        assert f">{lane}</text>" in page
    assert COLOURS["tool_error"] in page and COLOURS["corrupt"] in page and "(corrupted)" in page
    assert "injected fault" in page and trace.events[-1]["reason"] in page
    assert "a &lt;faulty&gt; run" in page
    assert not re.search(r"<script|src=|href=\"http|@import|url\(http", page)  # self-contained


def test_html_escapes_untrusted_tool_output() -> None:
    def evil(request: dict[str, Any]) -> dict[str, Any]:
        return {"value": 1.0, "note": "<script>alert(1)</script>"}

    box = ToolBox({"lookup": evil, "calculator": lambda q: 2.0})
    result = run_task(TASK, RulePolicy(), box, SystemConfig(mode="plan_execute"))
    page = render_html(result.trace)
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_a_failed_run_shows_its_reason(tools: ToolBox) -> None:
    result = run_task("Please do my taxes.", RulePolicy(), tools, SystemConfig())
    page = render_html(result.trace)
    assert 'class="end bad"' in page and "cannot parse the task" in page
    assert 'class="end ok"' in render_html(run_task(TASK.replace("Varnholt", "Quelbangar"), RulePolicy(), tools,
                                                    SystemConfig()).trace)
    empty = render_html(Trace())
    assert "no run_end event" in empty


def test_rows_follow_the_trace(tools: ToolBox) -> None:
    trace = run_task("What is the population of Quelbangar, minus 10?", RulePolicy(), tools, SystemConfig()).trace
    drawn = rows(trace)
    kinds = [e["type"] for e in trace.events if e["type"] in ("message", "tool_call", "policy", "fault")]
    assert len(drawn) == len(kinds)
    assert drawn[0]["src"] == "coordinator" and drawn[0]["dst"] == "planner" and drawn[0]["label"] == "plan"
    assert any(r["dst"] == "tools" and r["label"].startswith("lookup →") for r in drawn)
    assert any(r["label"].startswith("verdict: accept") for r in drawn)
    times = [float(r["time"]) for r in drawn if r["dst"] != r["src"]]
    assert times == sorted(times) or max(times) < 60


def test_trace_file_renders_the_same_page(tools: ToolBox, tmp_path: Path) -> None:
    trace = run_task(TASK.replace("Varnholt", "Quelbangar"), RulePolicy(), tools, SystemConfig()).trace
    again = Trace.from_jsonl(trace.to_jsonl(tmp_path / "t.jsonl"))
    assert render_html(again) == render_html(trace)


def test_pngs(rule_records: list[TaskRecord], tools: ToolBox, tmp_path: Path) -> None:
    plot = plot_success_vs_cost(summarise(rule_records), tmp_path / "plot.png")
    assert plot.read_bytes()[:8] == PNG_MAGIC and plot.stat().st_size > 10_000
    picture = plot_trace(faulty_run(tools), tmp_path / "trace.png", title="sample")
    assert picture.read_bytes()[:8] == PNG_MAGIC and picture.stat().st_size > 10_000
    with pytest.raises(ValueError, match="nothing to plot"):
        plot_success_vs_cost([], tmp_path / "none.png")
