"""The three agents: a Planner, an Executor and a Reviewer, each a loop over its mailbox.

An agent is a coroutine (:meth:`Agent.serve`) that takes requests from its
mailbox, asks its *policy* what to do (:mod:`~c07_agents_systems.actions`),
acts (the Executor calls tools, the Reviewer may re-run one to check it) and
replies. It never dies of a bad request: any failure (the policy could not
decide, a tool failed, the budget ran out) becomes an ``error`` reply naming the
error type, which the coordinator (:mod:`~c07_agents_systems.system`) turns
into a retry, a re-plan or the end of the run with a reason.

Requests (the ``op`` of the payload):

* Planner: ``plan {task}`` -> ``{plan}``
* Executor: ``execute {step, results}`` -> ``{value}``; ``act {task, history}`` -> ``{action, value?}``
* Reviewer: ``review_plan {task, plan}``, ``review_step {task, outcome}``, ``review_final {task, answer,
  history}`` -> ``{verdict, reason}``
"""

from __future__ import annotations

import random
import re
from typing import Any

from c07_agents_systems.actions import Decision, Plan, Policy, Step, StepOutcome
from c07_agents_systems.budget import BudgetExceededError, Meter
from c07_agents_systems.bus import MessageBus
from c07_agents_systems.messages import Message
from c07_agents_systems.retry import retry_with_backoff
from c07_agents_systems.tools import ToolBox, ToolError, numeric_value

_REFERENCE = re.compile(r"\{s(\d+)\}")


def plan_from_json(value: dict[str, Any]) -> Plan:
    return Plan(tuple(Step(s["tool"], dict(s["input"])) for s in value["steps"]))


def outcome_from_json(value: dict[str, Any]) -> StepOutcome:
    step = value["step"]
    return StepOutcome(Step(step["tool"], dict(step["input"])), value.get("value"), value.get("error"))


def resolve(step: Step, results: list[float]) -> Step:
    """``step`` with every ``{sK}`` in its string inputs replaced by the result of step K (1-based).

    Raises:
        ToolError: a reference to a step that has no result.
    """
    # BEGIN SOLUTION c07.2: substitute recursively; negatives in parentheses; name a dangling reference
    def number(match: re.Match[str]) -> str:
        k = int(match.group(1))
        if not 1 <= k <= len(results):
            raise ToolError(f"step input refers to {{s{k}}} but only {len(results)} step result(s) exist")
        value = results[k - 1]
        return f"({value!r})" if value < 0 else repr(value)

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return _REFERENCE.sub(number, value)
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return Step(step.tool, walk(step.input))
    # END SOLUTION


class Agent:
    """A named mailbox on the bus, a policy, and the loop that serves requests."""

    def __init__(self, name: str, bus: MessageBus, policy: Policy, *, meter: Meter | None = None) -> None:
        self.name, self.bus, self.policy, self.meter = name, bus, policy, meter
        bus.register(name)

    async def handle(self, message: Message) -> dict[str, Any]:
        raise NotImplementedError  # each agent answers its own requests

    def charge(self, decision: Decision[Any], what: str) -> None:
        """Trace one policy decision and charge its tokens to the run."""
        self.bus.trace.record("policy", at=self.bus.now(), agent=self.name, decision=what, policy=self.policy.name,
                              prompt_tokens=decision.prompt_tokens, completion_tokens=decision.completion_tokens)
        if self.meter is not None:
            self.meter.charge_tokens(decision.tokens)

    async def serve(self) -> None:
        """Answer requests forever (the coordinator cancels the task at the end of the run)."""
        # BEGIN SOLUTION c07.2: receive; skip non-requests; reply with the result or an error reply
        while True:
            message = await self.bus.receive(self.name)
            if message.kind != "request":
                continue
            try:
                payload = await self.handle(message)
                await self.bus.reply(message, self.name, {"ok": True} | payload)
            except BudgetExceededError as err:
                await self.bus.reply(message, self.name, {
                    "ok": False, "error": f"budget exceeded: {err}", "error_type": "BudgetExceededError",
                    "budget": {"resource": err.resource, "used": err.used, "limit": err.limit}}, kind="error")
            except Exception as err:  # any failure is a reply, never a dead agent
                spent = int(getattr(err, "tokens", 0))
                if spent and self.meter is not None:
                    self.meter.tokens += spent  # billed; the next charge checks the limits
                await self.bus.reply(message, self.name, {"ok": False, "error": str(err),
                                                          "error_type": type(err).__name__}, kind="error")
        # END SOLUTION


class Planner(Agent):
    """Turns a task into a plan of tool steps."""

    async def handle(self, message: Message) -> dict[str, Any]:
        # BEGIN SOLUTION c07.2: ask the policy for a plan; charge it; reply with its JSON
        if message.payload.get("op") != "plan":
            raise ValueError(f"the planner answers 'plan', not {message.payload.get('op')!r}")
        decision = await self.policy.plan(str(message.payload["task"]))
        self.charge(decision, "plan")
        return {"plan": decision.value.to_json(), "tokens": decision.tokens}
        # END SOLUTION


class Executor(Agent):
    """Carries out steps with tools, retrying failed calls with exponential back-off."""

    def __init__(self, name: str, bus: MessageBus, policy: Policy, tools: ToolBox, *, meter: Meter | None = None,
                 attempts: int = 3, base_delay_s: float = 0.001, seed: int = 0) -> None:
        super().__init__(name, bus, policy, meter=meter)
        self.tools, self.attempts, self.base_delay_s = tools, attempts, base_delay_s
        self.rng = random.Random(seed)

    async def run_step(self, step: Step, results: list[float]) -> tuple[float, Any, int]:
        """Resolve, call with retries; return (numeric value, tool output, attempts used)."""
        # BEGIN SOLUTION c07.2: resolve references; retry ToolError with back-off; the numeric value
        resolved = resolve(step, results)

        async def attempt() -> Any:
            return await self.tools.call(resolved.tool, resolved.input, caller=self.name)

        def note(i: int, err: BaseException, delay: float) -> None:
            self.bus.trace.record("note", at=self.bus.now(), agent=self.name, level="retry",
                                  text=f"attempt {i} of {resolved.tool} failed ({err}); retrying in {delay:.4f} s")

        output, used = await retry_with_backoff(attempt, attempts=self.attempts, base_delay_s=self.base_delay_s,
                                                retry_on=(ToolError,), rng=self.rng, on_retry=note)
        return numeric_value(output), output, used
        # END SOLUTION

    async def handle(self, message: Message) -> dict[str, Any]:
        # BEGIN SOLUTION c07.2: 'execute' runs a given step; 'act' asks the policy for the next action first
        op = message.payload.get("op")
        results = [float(v) for v in message.payload.get("results", [])]
        if op == "execute":
            step = Step(message.payload["step"]["tool"], dict(message.payload["step"]["input"]))
            value, output, used = await self.run_step(step, results)
            return {"value": value, "output": output, "attempts": used, "step": resolve(step, results).to_json()}
        if op == "act":
            history = [outcome_from_json(h) for h in message.payload.get("history", [])]
            decision = await self.policy.next_action(str(message.payload["task"]), history)
            self.charge(decision, "act")
            action = decision.value
            if action.kind == "finish":
                return {"action": "finish", "answer": action.answer, "tokens": decision.tokens}
            assert action.step is not None
            done = [h.value for h in history if h.ok and h.value is not None]
            try:
                value, output, used = await self.run_step(action.step, done)
            except ToolError as err:
                return {"action": "call", "step": action.step.to_json(), "error": str(err), "tokens": decision.tokens}
            return {"action": "call", "step": resolve(action.step, done).to_json(), "value": value,
                    "output": output, "attempts": used, "tokens": decision.tokens}
        raise ValueError(f"the executor answers 'execute' or 'act', not {op!r}")
        # END SOLUTION


class Reviewer(Agent):
    """Checks plans, step results (re-running the step to compare) and final answers."""

    def __init__(self, name: str, bus: MessageBus, policy: Policy, tools: ToolBox | None = None, *,
                 meter: Meter | None = None, attempts: int = 3, base_delay_s: float = 0.001, seed: int = 1) -> None:
        super().__init__(name, bus, policy, meter=meter)
        self.tools, self.attempts, self.base_delay_s = tools, attempts, base_delay_s
        self.rng = random.Random(seed)

    async def check(self, outcome: StepOutcome) -> StepOutcome | None:
        """Run the (already resolved) step once more, independently: the evidence for the verdict."""
        # BEGIN SOLUTION c07.2: only for a successful step; retried like the executor's calls
        tools = self.tools
        if tools is None or not outcome.ok:
            return None

        async def attempt() -> Any:
            return await tools.call(outcome.step.tool, outcome.step.input, caller=self.name)

        try:
            output, _ = await retry_with_backoff(attempt, attempts=self.attempts, base_delay_s=self.base_delay_s,
                                                 retry_on=(ToolError,), rng=self.rng)
            return StepOutcome(outcome.step, numeric_value(output), detail=output)
        except ToolError as err:  # a check that failed is evidence too: the policy decides
            return StepOutcome(outcome.step, None, str(err))
        # END SOLUTION

    async def handle(self, message: Message) -> dict[str, Any]:
        # BEGIN SOLUTION c07.2: dispatch the three reviews to the policy; reply with the verdict
        op, task = message.payload.get("op"), str(message.payload.get("task", ""))
        if op == "review_plan":
            decision = await self.policy.review_plan(task, plan_from_json(message.payload["plan"]))
        elif op == "review_step":
            outcome = outcome_from_json(message.payload["outcome"])
            decision = await self.policy.review_step(task, outcome, await self.check(outcome))
        elif op == "review_final":
            history = [outcome_from_json(h) for h in message.payload.get("history", [])]
            decision = await self.policy.review_final(task, message.payload.get("answer"), history)
        else:
            raise ValueError(f"the reviewer answers review_plan, review_step or review_final, not {op!r}")
        self.charge(decision, op)
        return decision.value.to_json() | {"tokens": decision.tokens}
        # END SOLUTION
