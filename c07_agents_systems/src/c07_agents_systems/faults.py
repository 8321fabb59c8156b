"""Fault injection: tools that fail with probability p, policies that answer wrongly with probability q.

Faults make robustness measurable. A tool call faults with probability
``tool_rate``; a fault is, with equal odds,

* an **error** (the call raises: loud, the executor sees it and retries with back-off), or
* a **corruption** (the call returns a wrong number, off by 5 % to 50 %: silent, only a check
  can catch it).

A policy decision is wrong with probability ``policy_rate``: a plan or action with one number
changed, a verdict flipped (accept <-> retry). Both streams come from their own seeded generator,
so two configurations evaluated with the same seed meet the same faults on the same calls as long
as they make the same calls (common random numbers make the comparison fairer).
"""

from __future__ import annotations

import random
import re
from dataclasses import replace
from typing import Any, Literal

from c07_agents_systems.actions import Action, Decision, Plan, Policy, Step, StepOutcome, Verdict
from c07_agents_systems.messages import Trace

ToolFault = Literal["error", "corrupt"]
_NUMBER = re.compile(r"\{s\d+\}|\d+")  # a step reference {sK} is matched whole, so it is never changed


class FaultInjector:
    """Seeded draws of tool and policy faults, and the corruptions themselves."""

    def __init__(self, tool_rate: float = 0.0, policy_rate: float = 0.0, *, seed: int = 0,
                 error_share: float = 0.5) -> None:
        self.tool_rate, self.policy_rate, self.error_share = tool_rate, policy_rate, error_share
        self._tool_rng = random.Random(seed)
        self._policy_rng = random.Random(seed + 1_000_003)
        self.counts: dict[str, int] = {"error": 0, "corrupt": 0, "policy": 0}
        self._check_rates()

    def _check_rates(self) -> None:
        # BEGIN SOLUTION c07.4: every rate is a probability in [0, 1]
        for name in ("tool_rate", "policy_rate", "error_share"):
            p = getattr(self, name)
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} is a probability in [0, 1], got {p}")
        # END SOLUTION

    def tool_fault(self, tool: str) -> ToolFault | None:
        """Whether this call of ``tool`` faults, and how."""
        # BEGIN SOLUTION c07.4: one draw for whether, one for which kind
        if self._tool_rng.random() >= self.tool_rate:
            return None
        kind: ToolFault = "error" if self._tool_rng.random() < self.error_share else "corrupt"
        self.counts[kind] += 1
        return kind
        # END SOLUTION

    def corrupt(self, output: Any) -> Any:
        """A wrong version of a tool's output: its number scaled by 1 +- (5 % to 50 %)."""
        # BEGIN SOLUTION c07.4: scale a float, or the 'value' of a dict (a copy); leave anything else as is
        factor = 1.0 + self._tool_rng.choice((-1.0, 1.0)) * self._tool_rng.uniform(0.05, 0.5)
        if isinstance(output, float | int) and not isinstance(output, bool):
            return float(output) * factor if output != 0 else 1.0
        if isinstance(output, dict) and isinstance(output.get("value"), float | int):
            value = float(output["value"])
            return output | {"value": value * factor if value != 0 else 1.0}
        return output
        # END SOLUTION

    def policy_fault(self) -> bool:
        if self._policy_rng.random() >= self.policy_rate:
            return False
        self.counts["policy"] += 1
        return True

    def perturb_step(self, step: Step) -> Step:
        """The step with one number in its inputs changed (or, without numbers, another aggregate)."""
        # BEGIN SOLUTION c07.4: bump the first number of a string input by 1..9; else change the aggregate
        for key, value in step.input.items():
            numbers = [m for m in _NUMBER.finditer(value) if m.group()[0] != "{"] if isinstance(value, str) else []
            if numbers:
                m = numbers[0]
                bumped = f"{value[:m.start()]}{int(m.group()) + self._policy_rng.randint(1, 9)}{value[m.end():]}"
                return replace(step, input=step.input | {key: bumped})
        if "agg" in step.input:
            return replace(step, input=step.input | {"agg": "max" if step.input["agg"] != "max" else "min"})
        return replace(step, input=step.input | {"query": "population of nowhere"})
        # END SOLUTION


class FaultyPolicy:
    """A policy whose decisions are wrong with the injector's ``policy_rate``."""

    def __init__(self, inner: Policy, faults: FaultInjector, trace: Trace | None = None) -> None:
        self.inner, self.faults, self.trace = inner, faults, trace
        self.name = inner.name

    def _note(self, what: str) -> None:
        if self.trace is not None:
            self.trace.record("fault", target="policy", text=f"wrong {what} injected")

    async def plan(self, task: str) -> Decision[Plan]:
        decision = await self.inner.plan(task)
        if not self.faults.policy_fault():
            return decision
        self._note("plan")
        steps = list(decision.value.steps)
        i = self.faults._policy_rng.randrange(len(steps))
        steps[i] = self.faults.perturb_step(steps[i])
        return replace(decision, value=Plan(tuple(steps)))

    async def next_action(self, task: str, history: list[StepOutcome]) -> Decision[Action]:
        decision = await self.inner.next_action(task, history)
        if not self.faults.policy_fault():
            return decision
        self._note("action")
        action = decision.value
        if action.kind == "finish":
            return replace(decision, value=Action("finish", answer=(action.answer or 0.0) * 1.1 + 1.0))
        assert action.step is not None
        return replace(decision, value=Action("call", step=self.faults.perturb_step(action.step)))

    def _flip(self, decision: Decision[Verdict]) -> Decision[Verdict]:
        if not self.faults.policy_fault():
            return decision
        self._note("verdict")
        flipped = "retry" if decision.value.decision == "accept" else "accept"
        return replace(decision, value=Verdict(flipped, "injected wrong verdict"))  # type: ignore[arg-type]

    async def review_plan(self, task: str, plan: Plan) -> Decision[Verdict]:
        decision = self._flip(await self.inner.review_plan(task, plan))
        if decision.value.decision == "retry":  # a plan is redone, not retried
            return replace(decision, value=Verdict("replan", decision.value.reason))
        return decision

    async def review_step(self, task: str, outcome: StepOutcome, check: StepOutcome | None) -> Decision[Verdict]:
        return self._flip(await self.inner.review_step(task, outcome, check))

    async def review_final(self, task: str, answer: float | None, history: list[StepOutcome]) -> Decision[Verdict]:
        decision = await self.inner.review_final(task, answer, history)
        if self.faults.policy_fault() and decision.value.decision == "accept":
            self._note("verdict")
            return replace(decision, value=Verdict("reject", "injected wrong verdict"))
        return decision
