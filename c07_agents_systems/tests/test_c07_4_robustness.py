"""c07.4: budgets, per-step timeouts, fault injection, the coordinator.

Oracles: the budget arithmetic itself (a run never spends past a limit by more than the charge
that crossed it), the binomial distribution for fault rates (4-sigma bounds), and the bad-input
table of the exercise sheet, each ending a run with a reason.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

import pytest

from c07_agents_systems import (
    Budget,
    BudgetExceededError,
    FaultInjector,
    FaultyPolicy,
    Meter,
    Plan,
    RulePolicy,
    Step,
    StepOutcome,
    SystemConfig,
    ToolBox,
    ToolError,
    Trace,
    run_task,
)

pytestmark = pytest.mark.task("c07.4")

TASK = "A field is 10 m long and 20 m wide. Its length grows by 50 percent. What is its new area in square metres?"
DRAWS = 20_000


def test_budget_validation_and_meter_charges() -> None:
    for field in ("steps", "tokens", "tool_calls", "wall_s", "cost"):
        with pytest.raises(ValueError, match=field):
            Budget(**{field: -1})
    with pytest.raises(ValueError, match="price"):
        Budget(price_per_1k_tokens=-0.1)
    clock = iter(range(100)).__next__
    meter = Meter(Budget(steps=2, tool_calls=1, tokens=1000, cost=0.5, wall_s=50, price_per_1k_tokens=1.0),
                  clock=lambda: float(clock()))
    meter.charge_step()
    meter.charge_step()
    with pytest.raises(BudgetExceededError, match="steps 3 > 2") as info:
        meter.charge_step()
    assert (info.value.resource, meter.steps) == ("steps", 2)
    meter.charge_tool_call()
    with pytest.raises(BudgetExceededError, match="tool_calls 2 > 1"):
        meter.charge_tool_call()
    with pytest.raises(BudgetExceededError, match=r"cost 0\.6 > 0\.5"):
        meter.charge_tokens(600)
    assert meter.tokens == 600 and math.isclose(meter.cost, 0.6)
    with pytest.raises(ValueError, match="cannot charge"):
        meter.charge_tokens(-1)
    unlimited = Meter(Budget(steps=None, tool_calls=None, wall_s=None))
    for _ in range(1000):
        unlimited.charge_step()
    assert unlimited.remaining_s() is None


@pytest.mark.parametrize("rate", [0.0, 0.05, 0.2, 0.5, 1.0])
def test_fault_rates_match_their_probabilities(rate: float) -> None:
    faults = FaultInjector(rate, rate, seed=3)
    drawn = [faults.tool_fault("calculator") for _ in range(DRAWS)]
    sigma = math.sqrt(DRAWS * rate * (1 - rate))
    assert abs(sum(d is not None for d in drawn) - DRAWS * rate) <= 4 * sigma + 1e-9
    errors = sum(d == "error" for d in drawn)
    assert abs(errors - DRAWS * rate / 2) <= 4 * math.sqrt(DRAWS * rate / 2 * (1 - rate / 2)) + 1e-9
    policy = sum(faults.policy_fault() for _ in range(DRAWS))
    assert abs(policy - DRAWS * rate) <= 4 * sigma + 1e-9
    assert faults.counts == {"error": errors, "corrupt": sum(d == "corrupt" for d in drawn), "policy": policy}


def test_faults_are_seeded_and_corrupt_by_5_to_50_percent() -> None:
    a, b = FaultInjector(0.3, seed=11), FaultInjector(0.3, seed=11)
    assert [a.tool_fault("t") for _ in range(200)] == [b.tool_fault("t") for _ in range(200)]
    for _ in range(200):
        value = a.corrupt(100.0)
        assert 50.0 <= value <= 150.0 and abs(value - 100.0) >= 5.0
    assert a.corrupt({"value": 10, "doc_id": "d"})["doc_id"] == "d"
    assert a.corrupt(0.0) == 1.0 and a.corrupt("text") == "text"
    with pytest.raises(ValueError, match="tool_rate"):
        FaultInjector(1.5)
    step = Step("calculator", {"expression": "12 * 3"})
    bumped = a.perturb_step(step).input["expression"]
    assert bumped != "12 * 3" and bumped.endswith(" * 3")
    assert a.perturb_step(Step("table", {"agg": "max", "column": "x"})).input["agg"] == "min"
    assert a.perturb_step(Step("lookup", {"query": "elevation of X"})).input["query"] == "population of nowhere"


def test_faulty_policy_answers_wrongly() -> None:
    trace = Trace()
    policy = FaultyPolicy(RulePolicy(), FaultInjector(0.0, 1.0, seed=0), trace)
    plan = Plan((Step("calculator", {"expression": "10 * (1 + 50 / 100)"}),
                 Step("calculator", {"expression": "{s1} * 20"})))

    async def main() -> None:
        assert (await policy.plan(TASK)).value != plan
        action = (await policy.next_action(TASK, [])).value
        assert action.step != plan.steps[0]
        done = [StepOutcome(plan.steps[0], 15.0), StepOutcome(plan.steps[1], 300.0)]
        assert (await policy.next_action(TASK, done)).value.answer != 300.0
        assert (await policy.review_plan(TASK, plan)).value.decision == "replan"
        assert (await policy.review_step(TASK, done[0], done[0])).value.decision == "retry"
        assert (await policy.review_final(TASK, 300.0, done)).value.decision == "reject"
        honest = FaultyPolicy(RulePolicy(), FaultInjector(0.0, 0.0))
        assert (await honest.plan(TASK)).value == plan
        assert (await honest.review_final(TASK, 300.0, done)).value.decision == "accept"
        assert (await honest.next_action(TASK, [])).value.step == plan.steps[0]

    asyncio.run(main())
    assert len(trace.of_type("fault")) == 6


def test_zero_budgets_end_the_run_at_once(tools: ToolBox) -> None:
    for budget, resource in ((Budget(steps=0), "steps 1 > 0"), (Budget(tool_calls=0), "tool_calls 1 > 0"),
                             (Budget(tokens=0), "tokens"), (Budget(cost=0.0), "cost"), (Budget(wall_s=0.0), "wall_s")):
        for mode in ("executor", "plan_execute", "plan_execute_review"):
            result = run_task(TASK, RulePolicy(), tools, SystemConfig(mode=mode, budget=budget))  # type: ignore[arg-type]
            assert result.reason.startswith("budget exceeded: ") and resource in result.reason, (mode, result.reason)
            assert result.answer is None and result.trace.events[-1]["reason"] == result.reason


def test_a_spent_budget_keeps_the_partial_result(tools: ToolBox) -> None:
    result = run_task(TASK, RulePolicy(), tools, SystemConfig(mode="plan_execute", budget=Budget(tool_calls=1)))
    assert result.reason == "budget exceeded: tool_calls 2 > 1" and result.answer == 15.0
    assert result.tool_calls == 1 and result.steps == 2
    lone = run_task(TASK, RulePolicy(), tools, SystemConfig(mode="executor", budget=Budget(steps=2)))
    assert lone.reason == "budget exceeded: steps 3 > 2" and lone.answer == 300.0  # finished its steps, not the run
    tokens = run_task(TASK, RulePolicy(), tools, SystemConfig(mode="plan_execute_review", budget=Budget(tokens=800)))
    assert tokens.reason.startswith("budget exceeded: tokens") and tokens.tokens > 800


def always_failing(request: dict[str, Any]) -> float:
    raise RuntimeError("the tool is down")


def test_a_failing_tool_ends_the_run_with_its_error(tools: ToolBox) -> None:
    broken = ToolBox(tools.tools | {"calculator": always_failing})
    ended = {mode: run_task(TASK, RulePolicy(), broken, SystemConfig(mode=mode, budget=Budget(steps=8)))  # type: ignore[arg-type]
             for mode in ("executor", "plan_execute", "plan_execute_review")}
    assert ended["plan_execute"].reason == "step 1 failed: calculator: RuntimeError: the tool is down"
    assert ended["plan_execute"].tool_calls == 3  # the executor's three attempts
    assert ended["plan_execute_review"].reason.startswith("step 1 failed review 5 times: calculator: RuntimeError")
    assert ended["plan_execute_review"].tool_calls == 15  # 1 + 4 retries, 3 attempts each
    assert ended["executor"].reason == "budget exceeded: steps 9 > 8"  # it kept trying until the budget ended it
    assert all(r.answer is None for r in ended.values())


def test_the_step_timeout_ends_a_hung_step(tools: ToolBox) -> None:
    def hang(request: dict[str, Any]) -> float:
        time.sleep(0.6)
        return 1.0

    slow = ToolBox(tools.tools | {"calculator": hang})
    result = run_task(TASK, RulePolicy(), slow, SystemConfig(mode="plan_execute", step_timeout_s=0.1))
    assert result.reason.startswith("timeout: 'executor' did not reply to 'execute' within 0.1 s")
    timed = run_task(TASK, RulePolicy(), slow, SystemConfig(mode="plan_execute", budget=Budget(wall_s=0.1)))
    assert timed.reason.startswith(("timeout:", "budget exceeded: wall_s"))


def test_an_unparseable_task_ends_with_the_reason(tools: ToolBox) -> None:
    for mode in ("executor", "plan_execute", "plan_execute_review"):
        result = run_task("Please do my taxes.", RulePolicy(), tools, SystemConfig(mode=mode))  # type: ignore[arg-type]
        assert not result.finished and "cannot parse the task" in result.reason
        assert result.reason.split(":")[0] in ("planner failed", "executor failed")


def test_system_config_validation() -> None:
    with pytest.raises(ValueError, match="mode"):
        SystemConfig(mode="solo")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="step_timeout_s"):
        SystemConfig(step_timeout_s=0)


def test_tool_calls_are_charged_before_they_run(tools: ToolBox) -> None:
    trace, meter = Trace(), Meter(Budget(tool_calls=0))
    box = tools.bind(trace, meter)
    with pytest.raises(BudgetExceededError):
        asyncio.run(box.call("calculator", {"expression": "1"}))
    faulty = tools.bind(Trace(), None, FaultInjector(1.0, error_share=1.0))
    with pytest.raises(ToolError, match="injected fault"):
        asyncio.run(faulty.call("calculator", {"expression": "1"}))
