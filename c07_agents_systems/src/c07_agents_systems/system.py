"""The coordinator: one task through the agents, under a budget, ending with an answer or a reason.

Three configurations, the ones the evaluation compares:

* ``executor``: the Executor alone decides action after action (ReAct style) until it finishes;
* ``plan_execute``: the Planner writes a plan, the Executor runs each step; a step that still fails
  after the Executor's retries ends the run;
* ``plan_execute_review``: as above, and the Reviewer checks the plan (re-plan when it does not
  fit the task), every step (retry when a step failed or an independent re-run disagrees) and the
  final answer.

Whatever happens, :func:`run_task` returns a :class:`RunResult` whose ``reason`` says how the run
ended ("done", "budget exceeded: tool_calls 61 > 60", "planner failed: ...", "timeout: ...") and
whose trace ends with a ``run_end`` event: no input makes it raise or hang (every wait on the bus
has a timeout, every loop is bounded by a budget or a retry limit).
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from c07_agents_systems.actions import Policy, Step, StepOutcome
from c07_agents_systems.agents import Executor, Planner, Reviewer, plan_from_json
from c07_agents_systems.budget import Budget, BudgetExceededError, Meter
from c07_agents_systems.bus import MessageBus, RequestTimeoutError
from c07_agents_systems.faults import FaultInjector, FaultyPolicy
from c07_agents_systems.messages import Trace
from c07_agents_systems.tools import ToolBox

Mode = Literal["executor", "plan_execute", "plan_execute_review"]
MODES: tuple[Mode, ...] = ("executor", "plan_execute", "plan_execute_review")
COORDINATOR = "coordinator"


@dataclass(frozen=True)
class SystemConfig:
    """How one run is set up. Fault rates 0 mean no injection."""

    mode: Mode = "plan_execute_review"
    budget: Budget = field(default_factory=Budget)
    tool_fault_rate: float = 0.0
    policy_fault_rate: float = 0.0
    seed: int = 0
    step_timeout_s: float = 30.0  # the longest the coordinator waits for any one agent's reply
    tool_attempts: int = 3  # tries of one tool call by the Executor (exponential back-off between)
    backoff_base_s: float = 0.001
    max_step_retries: int = 4  # re-executions of one step the Reviewer may ask for
    max_replans: int = 2

    def __post_init__(self) -> None:
        # BEGIN SOLUTION c07.4: a known mode, a positive step timeout, non-negative retry limits
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.step_timeout_s <= 0 or self.tool_attempts < 1 or self.max_step_retries < 0 or self.max_replans < 0:
            raise ValueError("need step_timeout_s > 0, tool_attempts >= 1, max_step_retries >= 0, max_replans >= 0")
        # END SOLUTION


@dataclass
class RunResult:
    """The outcome of one run: the answer (possibly partial), why it ended, and what it spent."""

    task: str
    answer: float | None
    reason: str
    steps: int
    tokens: int
    tool_calls: int
    wall_s: float
    cost: float
    trace: Trace

    @property
    def finished(self) -> bool:
        return self.reason == "done"


class RunEndedError(Exception):
    """Ends a run early with a reason (and the partial answer)."""

    def __init__(self, reason: str, answer: float | None = None) -> None:
        super().__init__(reason)
        self.reason, self.answer = reason, answer


class Coordinator:
    """Drives one task through the agents over the bus."""

    def __init__(self, task: str, bus: MessageBus, meter: Meter, config: SystemConfig) -> None:
        self.task, self.bus, self.meter, self.config = task, bus, meter, config
        self.partial: float | None = None

    async def ask(self, agent: str, payload: dict[str, Any]) -> dict[str, Any]:
        """A request with the step timeout (and never past the wall-time budget)."""
        # BEGIN SOLUTION c07.4: bound the wait by the time left; re-raise an agent's budget error here
        self.meter.check_time()
        left = self.meter.remaining_s()
        timeout = self.config.step_timeout_s if left is None else min(self.config.step_timeout_s, left)
        if timeout <= 0:
            raise BudgetExceededError("wall_s", self.meter.wall_s, self.config.budget.wall_s or 0.0)
        reply = await self.bus.request(COORDINATOR, agent, payload, timeout=timeout)
        if reply.payload.get("error_type") == "BudgetExceededError":
            spent = reply.payload["budget"]
            raise BudgetExceededError(spent["resource"], spent["used"], spent["limit"])
        return reply.payload
        # END SOLUTION

    async def get_plan(self, review: bool) -> list[Step]:
        """A plan from the Planner, re-planned while the Reviewer says so (at most ``max_replans``)."""
        # BEGIN SOLUTION c07.4: plan; on a planner error or a 'replan' verdict try again within the limit
        for attempt in range(self.config.max_replans + 1):
            last = attempt == self.config.max_replans
            reply = await self.ask("planner", {"op": "plan", "task": self.task})
            if not reply["ok"]:
                if review and not last:
                    continue  # a failed plan is reviewed like a failed step: ask again
                raise RunEndedError(f"planner failed: {reply['error_type']}: {reply['error']}")
            if not review:
                return list(plan_from_json(reply["plan"]).steps)
            verdict = await self.ask("reviewer", {"op": "review_plan", "task": self.task, "plan": reply["plan"]})
            decision = verdict.get("verdict") if verdict["ok"] else "replan"
            if decision == "accept":
                return list(plan_from_json(reply["plan"]).steps)
            if decision == "reject":
                raise RunEndedError(f"reviewer rejected the task: {verdict.get('reason', '')}")
        raise RunEndedError(f"no acceptable plan after {self.config.max_replans + 1} attempts")
        # END SOLUTION

    async def plan_and_execute(self, review: bool) -> float:
        """Plan, run every step; with review, retry or re-plan on the verdicts (all bounded)."""
        # BEGIN SOLUTION c07.4: run the steps; with review, retry/replan on verdicts; review the answer
        steps, results, history = await self.get_plan(review), list[float](), list[dict[str, Any]]()
        i, retries, replans = 0, 0, 0
        while True:
            while i < len(steps):
                self.meter.charge_step()
                reply = await self.ask("executor", {"op": "execute", "step": steps[i].to_json(), "results": results})
                outcome = StepOutcome(Step(**reply["step"]) if reply["ok"] else steps[i],
                                      reply.get("value"), None if reply["ok"] else reply["error"])
                if not review:
                    if not outcome.ok:
                        raise RunEndedError(f"step {i + 1} failed: {outcome.error}", self.partial)
                    verdict = "accept"
                else:
                    review_reply = await self.ask("reviewer", {"op": "review_step", "task": self.task,
                                                               "outcome": outcome.to_json()})
                    verdict = review_reply["verdict"] if review_reply["ok"] else "retry"
                if verdict == "accept" and outcome.value is not None:
                    results.append(outcome.value)
                    history.append(outcome.to_json())
                    self.partial, i, retries = outcome.value, i + 1, 0
                elif verdict == "replan" and replans < self.config.max_replans:
                    replans += 1
                    steps, results, history, i, retries = await self.get_plan(review), [], [], 0, 0
                elif retries < self.config.max_step_retries:
                    retries += 1
                else:
                    raise RunEndedError(f"step {i + 1} failed review {retries + 1} times: {outcome.error or verdict}",
                                   self.partial)
            answer = results[-1]
            if not review:
                return answer
            final = await self.ask("reviewer", {"op": "review_final", "task": self.task, "answer": answer,
                                                "history": history})
            if final["ok"] and final["verdict"] == "accept":
                return answer
            if replans >= self.config.max_replans:
                raise RunEndedError(f"final answer rejected: {final.get('reason') or final.get('error')}", answer)
            replans += 1  # a rejected answer is redone from a fresh plan
            steps, results, history, i, retries = await self.get_plan(review), [], [], 0, 0
        # END SOLUTION

    async def executor_alone(self) -> float:
        # BEGIN SOLUTION c07.4: act until the executor finishes; every action is a step of the budget
        history: list[dict[str, Any]] = []
        while True:
            self.meter.charge_step()
            reply = await self.ask("executor", {"op": "act", "task": self.task, "history": history})
            if not reply["ok"]:
                raise RunEndedError(f"executor failed: {reply['error_type']}: {reply['error']}", self.partial)
            if reply["action"] == "finish":
                return float(reply["answer"])
            history.append({"step": reply["step"], "value": reply.get("value"), "error": reply.get("error")})
            if reply.get("value") is not None:
                self.partial = float(reply["value"])
        # END SOLUTION


async def run_task_async(task: str, policy: Policy, tools: ToolBox, config: SystemConfig | None = None) -> RunResult:
    """Run one task to an answer or a reason (never raises for a bad task, tool, policy or budget)."""
    # BEGIN SOLUTION c07.4: wire bus, meter, faults, agents; drive; every ending -> a reason
    config = config or SystemConfig()
    trace = Trace()
    bus = MessageBus(trace, send_timeout=config.step_timeout_s)
    meter = Meter(config.budget, clock=bus.now)
    faults = FaultInjector(config.tool_fault_rate, config.policy_fault_rate, seed=config.seed)
    if config.policy_fault_rate > 0:
        policy = FaultyPolicy(policy, faults, trace)
    box = tools.bind(trace, meter, faults if config.tool_fault_rate > 0 else None, clock=bus.now)
    agents: list[Planner | Executor | Reviewer] = [
        Executor("executor", bus, policy, box, meter=meter, attempts=config.tool_attempts,
                 base_delay_s=config.backoff_base_s, seed=config.seed)]
    if config.mode != "executor":
        agents.append(Planner("planner", bus, policy, meter=meter))
    if config.mode == "plan_execute_review":
        agents.append(Reviewer("reviewer", bus, policy, box, meter=meter, attempts=config.tool_attempts,
                               base_delay_s=config.backoff_base_s, seed=config.seed + 1))
    serving = [asyncio.create_task(agent.serve(), name=agent.name) for agent in agents]
    coordinator = Coordinator(task, bus, meter, config)
    answer: float | None = None
    try:
        if config.mode == "executor":
            answer = await coordinator.executor_alone()
        else:
            answer = await coordinator.plan_and_execute(review=config.mode == "plan_execute_review")
        reason = "done"
    except RunEndedError as end:
        answer, reason = end.answer, end.reason
    except BudgetExceededError as err:
        answer, reason = coordinator.partial, f"budget exceeded: {err}"
    except RequestTimeoutError as err:
        answer, reason = coordinator.partial, f"timeout: {err}"
    finally:
        for job in serving:
            job.cancel()
        await asyncio.gather(*serving, return_exceptions=True)
    if answer is not None and not math.isfinite(answer):
        answer, reason = None, f"{reason} (the answer was not finite)"
    trace.record("run_end", at=bus.now(), reason=reason, answer=answer, steps=meter.steps, tokens=meter.tokens,
                 tool_calls=meter.tool_calls, cost=meter.cost, mode=config.mode, policy=policy.name,
                 faults=faults.counts)
    return RunResult(task, answer, reason, meter.steps, meter.tokens, meter.tool_calls, meter.wall_s,
                     meter.cost, trace)
    # END SOLUTION


def run_task(task: str, policy: Policy, tools: ToolBox, config: SystemConfig | None = None) -> RunResult:
    """:func:`run_task_async` in a fresh event loop."""
    return asyncio.run(run_task_async(task, policy, tools, config))
