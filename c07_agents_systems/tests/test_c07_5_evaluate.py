"""c07.5: the seeded task suite and the evaluation of the configurations side by side.

The graded figures come from the rule-based policies on the 120-task suite (seed 0) with tool
faults at p = 0.2: plan + execute + review must succeed on >= 98 % of the tasks and beat plan +
execute by >= 15 points. Without faults every rule-based configuration must solve every task
(the policies are exact on the templates), which also checks the suite's oracle answers.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from c07_agents_systems import FAMILIES, SuiteTask, make_suite
from c07_agents_systems.evaluate import (
    _per_family,
    build_parser,
    format_table,
    main,
    standard_specs,
    summarise,
)
from c07_agents_systems.records import TaskRecord
from c07_agents_systems.suite import arithmetic_task

pytestmark = pytest.mark.task("c07.5")

FAULT_RATE = 0.2
PE, PER = "plan + execute | rule | faults p=0.2", "plan + execute + review | rule | faults p=0.2"


def test_suite_is_seeded_balanced_and_large_enough(suite: list[SuiteTask], metric) -> None:  # type: ignore[no-untyped-def]
    metric("suite_tasks", len(suite))
    assert make_suite(len(suite), seed=0) == suite
    assert make_suite(len(suite), seed=1) != suite
    assert len({t.task_id for t in suite}) == len({t.text for t in suite}) == len(suite)
    counts = {f: sum(t.family == f for t in suite) for f in FAMILIES}
    assert counts == {f: len(suite) // 3 for f in FAMILIES}
    assert all(math.isfinite(t.answer) for t in suite)
    assert suite[0].is_correct(suite[0].answer) and not suite[0].is_correct(suite[0].answer * 1.001)
    assert not suite[0].is_correct(None) and not suite[0].is_correct(math.inf)
    with pytest.raises(ValueError, match="at least one"):
        make_suite(0)


def test_arithmetic_templates_have_whole_or_exact_answers() -> None:
    import random

    rng = random.Random(5)
    for _ in range(200):
        text, answer = arithmetic_task(rng)
        if text.startswith("A warehouse"):
            assert answer == int(answer) and answer >= 1


def test_rule_configurations_without_faults_solve_everything(rule_records: list[TaskRecord]) -> None:
    for summary in summarise(rule_records):
        if "no faults" in summary.config:
            assert summary.success_rate == 1.0, summary


def test_review_meets_the_thresholds_under_tool_faults(rule_records: list[TaskRecord], metric) -> None:  # type: ignore[no-untyped-def]
    by_config = {s.config: s for s in summarise(rule_records)}
    metric("review_success_rate_faults_0_2", by_config[PER].success_rate)
    metric("review_lift_points_faults_0_2", 100 * (by_config[PER].success_rate - by_config[PE].success_rate))
    # The faults are real: without review a good share of runs is wrong, and review pays in calls and tokens.
    assert by_config[PE].success_rate < 0.9
    assert by_config[PER].mean_tool_calls > by_config[PE].mean_tool_calls
    assert by_config[PER].mean_cost > by_config[PE].mean_cost
    failures = [r for r in rule_records if r.config == PE and not r.success]
    assert all(r.reason == "done" or r.reason.startswith("step") for r in failures)


def test_summaries_match_numpy(rule_records: list[TaskRecord]) -> None:
    summaries = summarise(rule_records)
    assert [s.config for s in summaries] == [s.label for s in standard_specs(FAULT_RATE)]
    for s in summaries:
        rows = [r for r in rule_records if r.config == s.config]
        assert s.tasks == len(rows)
        assert s.p95_steps == pytest.approx(np.percentile([r.steps for r in rows], 95))
        assert s.mean_cost == pytest.approx(np.mean([r.cost for r in rows]))
        assert s.mean_tokens == pytest.approx(np.mean([r.tokens for r in rows]))
        for family, rate in s.by_family.items():
            assert rate == pytest.approx(np.mean([r.success for r in rows if r.family == family]))
    table = format_table(summaries)
    assert table.count("\n") == len(summaries) + 1 and "| p95 steps |" in table


@pytest.mark.parametrize("argv, message", [
    (["--tasks", "0"], "--tasks"), (["--fault-rate", "1.5"], "--fault-rate"),
    (["--policy-fault-rate", "-1"], "--policy-fault-rate"), (["--llm-tasks", "0"], "--llm-tasks"),
    (["--llm", "--llm-url", "ftp://x"], "http"),
])
def test_the_command_refuses_bad_arguments(argv: list[str], message: str, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*argv, "--tasks" if "--tasks" not in argv else "--seed", "3" if "--tasks" not in argv else "0",
                 "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and message in err and "\n" not in err


def test_llm_task_selection_takes_families_in_turn(suite: list[SuiteTask]) -> None:
    picked = _per_family(suite, 5)
    assert [t.family for t in picked] == ["arithmetic", "data", "lookup", "arithmetic", "data"]
    assert len(_per_family(suite[:3], 10)) == 3
    assert build_parser().parse_args([]).tasks == 120
