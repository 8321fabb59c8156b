"""c07.2: the Planner, Executor and Reviewer as agents on the bus.

The agents are driven here by a tiny fixed policy defined in this file (the real policies are
c07.3), so these tests check only the agents: requests in, policy consulted, tools called with
retries, replies out, and errors as error replies that leave the agent serving.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from c07_agents_systems import (
    Action,
    Decision,
    Executor,
    MessageBus,
    Plan,
    Planner,
    PolicyError,
    Reviewer,
    Step,
    StepOutcome,
    ToolBox,
    ToolError,
    Verdict,
    resolve,
)

pytestmark = pytest.mark.task("c07.2")

PLAN = Plan((Step("calculator", {"expression": "6 * 7"}), Step("calculator", {"expression": "{s1} - 2"})))


class FixedPolicy:
    """Always the same plan; the lone executor walks it; the reviewer accepts when the check agrees."""

    name = "fixed"

    async def plan(self, task: str) -> Decision[Plan]:
        if task == "unparseable":
            raise PolicyError("cannot parse the task")
        return Decision(PLAN, 10, 5)

    async def next_action(self, task: str, history: list[StepOutcome]) -> Decision[Action]:
        done = [h for h in history if h.ok]
        if len(done) < len(PLAN.steps):
            return Decision(Action("call", step=PLAN.steps[len(done)]), 3, 2)
        return Decision(Action("finish", answer=done[-1].value), 3, 2)

    async def review_plan(self, task: str, plan: Plan) -> Decision[Verdict]:
        return Decision(Verdict("accept" if plan == PLAN else "replan"))

    async def review_step(self, task: str, outcome: StepOutcome, check: StepOutcome | None) -> Decision[Verdict]:
        agree = outcome.ok and check is not None and check.ok and check.value == outcome.value
        return Decision(Verdict("accept" if agree else "retry", "checked"))

    async def review_final(self, task: str, answer: float | None, history: list[StepOutcome]) -> Decision[Verdict]:
        return Decision(Verdict("accept" if answer == 40.0 else "reject"))


def calculator_box(**extra: Any) -> ToolBox:
    from c07_agents_systems import calculate

    return ToolBox({"calculator": lambda q: calculate(q["expression"]), **extra})


def with_agents(test: Any) -> None:
    async def main() -> None:
        bus = MessageBus()
        box = calculator_box(flaky=Flaky(2), broken=Flaky(99)).bind(bus.trace, clock=bus.now)
        agents = [Planner("planner", bus, FixedPolicy()), Executor("executor", bus, FixedPolicy(), box, attempts=3),
                  Reviewer("reviewer", bus, FixedPolicy(), box)]
        serving = [asyncio.create_task(a.serve(), name=a.name) for a in agents]
        checking = asyncio.create_task(test(bus))
        try:
            # An agent's loop never ends by itself. One that does has raised, and that error is the
            # failure to report, not the request timeouts that follow because nobody answers.
            done, _ = await asyncio.wait([checking, *serving], return_when=asyncio.FIRST_COMPLETED)
            for job in serving:
                if job in done:
                    job.result()  # re-raises what ended the loop
                    raise AssertionError(f"agent {job.get_name()!r} stopped serving")
            checking.result()
        finally:
            for job in [checking, *serving]:
                job.cancel()
            await asyncio.gather(checking, *serving, return_exceptions=True)

    asyncio.run(main())


class Flaky:
    """Fails its first ``failures`` calls, then returns 5."""

    def __init__(self, failures: int) -> None:
        self.failures, self.calls = failures, 0

    def __call__(self, request: dict[str, Any]) -> float:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError(f"flaky failure {self.calls}")
        return 5.0


def test_resolve_substitutes_step_results() -> None:
    step = Step("calculator", {"expression": "{s1} + {s2} * {s1}", "nested": ["{s2}", {"k": "{s1}"}], "n": 3})
    resolved = resolve(step, [1.5, -2.0])
    assert resolved.input == {"expression": "1.5 + (-2.0) * 1.5", "nested": ["(-2.0)", {"k": "1.5"}], "n": 3}
    with pytest.raises(ToolError, match=r"\{s3\} but only 2"):
        resolve(Step("calculator", {"expression": "{s3}"}), [1.0, 2.0])


def test_planner_replies_with_the_policy_plan() -> None:
    async def test(bus: MessageBus) -> None:
        reply = await bus.request("coordinator", "planner", {"op": "plan", "task": "anything"}, timeout=5)
        assert reply.kind == "reply" and reply.payload["ok"]
        assert reply.payload["plan"] == PLAN.to_json() and reply.payload["tokens"] == 15
        failed = await bus.request("coordinator", "planner", {"op": "plan", "task": "unparseable"}, timeout=5)
        assert failed.kind == "error" and failed.payload["error_type"] == "PolicyError"
        assert "cannot parse" in failed.payload["error"]
        wrong = await bus.request("coordinator", "planner", {"op": "dance"}, timeout=5)
        assert wrong.kind == "error" and "'dance'" in wrong.payload["error"]
        again = await bus.request("coordinator", "planner", {"op": "plan", "task": "x"}, timeout=5)
        assert again.payload["ok"]  # still serving after errors
        assert [e["decision"] for e in bus.trace.of_type("policy")] == ["plan", "plan"]

    with_agents(test)


def test_executor_runs_steps_with_references_and_retries() -> None:
    async def test(bus: MessageBus) -> None:
        reply = await bus.request("c", "executor", {"op": "execute", "step": PLAN.steps[1].to_json(),
                                                    "results": [42.0]}, timeout=5)
        assert reply.payload["value"] == 40.0 and reply.payload["step"]["input"]["expression"] == "42.0 - 2"
        flaky = await bus.request("c", "executor", {"op": "execute", "step": {"tool": "flaky", "input": {}}}, timeout=5)
        assert flaky.payload["ok"] and flaky.payload["value"] == 5.0 and flaky.payload["attempts"] == 3
        retries = [n for n in bus.trace.of_type("note") if n.get("level") == "retry"]
        assert len(retries) == 2 and "flaky failure 1" in retries[0]["text"]
        broken = await bus.request("c", "executor", {"op": "execute", "step": {"tool": "broken", "input": {}}},
                                   timeout=5)
        assert broken.kind == "error" and broken.payload["error_type"] == "ToolError"
        assert "flaky failure 3" in broken.payload["error"]  # three attempts, the last error reported
        dangling = {"tool": "calculator", "input": {"expression": "{s9}"}}
        bad = await bus.request("c", "executor", {"op": "execute", "step": dangling}, timeout=5)
        assert bad.kind == "error" and "{s9}" in bad.payload["error"]

    with_agents(test)


def test_lone_executor_acts_until_it_finishes() -> None:
    async def test(bus: MessageBus) -> None:
        history: list[dict[str, Any]] = []
        for _ in range(3):
            reply = await bus.request("c", "executor", {"op": "act", "task": "t", "history": history}, timeout=5)
            if reply.payload["action"] == "finish":
                break
            history.append({"step": reply.payload["step"], "value": reply.payload["value"], "error": None})
        assert reply.payload == {"ok": True, "action": "finish", "answer": 40.0, "tokens": 5}
        assert [h["value"] for h in history] == [42.0, 40.0]

    with_agents(test)


def test_reviewer_checks_by_running_the_step_again() -> None:
    async def test(bus: MessageBus) -> None:
        good = StepOutcome(Step("calculator", {"expression": "6 * 7"}), 42.0)
        wrong = StepOutcome(Step("calculator", {"expression": "6 * 7"}), 41.0)
        failed = StepOutcome(Step("calculator", {"expression": "6 * 7"}), None, "boom")
        verdicts = []
        for outcome in (good, wrong, failed):
            reply = await bus.request("c", "reviewer", {"op": "review_step", "task": "t",
                                                        "outcome": outcome.to_json()}, timeout=5)
            verdicts.append(reply.payload["verdict"])
        assert verdicts == ["accept", "retry", "retry"]
        checks = [c for c in bus.trace.of_type("tool_call") if c["caller"] == "reviewer"]
        assert len(checks) == 2  # no check for a step that already failed
        plan = await bus.request("c", "reviewer", {"op": "review_plan", "task": "t", "plan": PLAN.to_json()},
                                 timeout=5)
        final = await bus.request("c", "reviewer", {"op": "review_final", "task": "t", "answer": 40.0,
                                                    "history": [good.to_json()]}, timeout=5)
        assert (plan.payload["verdict"], final.payload["verdict"]) == ("accept", "accept")
        bad = await bus.request("c", "reviewer", {"op": "review_everything"}, timeout=5)
        assert bad.kind == "error" and "review_plan" in bad.payload["error"]

    with_agents(test)


def test_reviewer_check_reports_a_failing_tool() -> None:
    async def main() -> None:
        bus = MessageBus()
        box = ToolBox({"broken": Flaky(99)}).bind(bus.trace)
        reviewer = Reviewer("reviewer", bus, FixedPolicy(), box)
        check = await reviewer.check(StepOutcome(Step("broken", {}), 5.0))
        assert check is not None and not check.ok and "flaky failure 3" in str(check.error)  # retried 3 times
        assert await Reviewer("r2", bus, FixedPolicy()).check(StepOutcome(Step("broken", {}), 5.0)) is None

    asyncio.run(main())
