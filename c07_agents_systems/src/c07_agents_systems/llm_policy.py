"""The LLM policy: every decision is a chat completion parsed into a structured action.

The policy renders the prompt (:mod:`~c07_agents_systems.prompts`), calls the
backend in a worker thread under a timeout (a backend call is blocking I/O or
CPU-bound generation; the event loop keeps serving the bus meanwhile), and
parses the reply with the schema parsers of :mod:`~c07_agents_systems.actions`.

Failures are :class:`~c07_agents_systems.actions.PolicyError`: the backend could
not be reached or timed out, or the reply was malformed
(:class:`~c07_agents_systems.actions.MalformedOutputError`). The agent replies with an
error; the coordinator reviews it like any failed step.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from c07_agents_systems.actions import (
    Action,
    Decision,
    Plan,
    PolicyError,
    StepOutcome,
    Verdict,
    parse_action,
    parse_plan,
    parse_verdict,
)
from c07_agents_systems.backends import BackendError, ChatBackend
from c07_agents_systems.prompts import (
    ChatMessages,
    action_messages,
    plan_messages,
    review_final_messages,
    review_plan_messages,
    review_step_messages,
)

T = TypeVar("T")


class LLMPolicy:
    """Decisions from a chat model behind a :class:`~c07_agents_systems.backends.ChatBackend`."""

    def __init__(self, backend: ChatBackend, *, max_new_tokens: int = 160, timeout_s: float = 120.0) -> None:
        if max_new_tokens < 1 or timeout_s <= 0:
            raise ValueError("max_new_tokens must be >= 1 and timeout_s positive")
        self.backend, self.max_new_tokens, self.timeout_s = backend, max_new_tokens, timeout_s
        self.name = f"llm:{backend.name}"
        self.spent_tokens = 0  # including the tokens of replies that failed to parse

    async def ask(self, messages: ChatMessages, parse: Callable[[str], T]) -> Decision[T]:
        """One completion, parsed (PolicyError / MalformedOutputError on failure)."""
        # BEGIN SOLUTION c07.3: call in a thread with a timeout; map backend errors; parse with the schema
        try:
            reply = await asyncio.wait_for(asyncio.to_thread(
                self.backend.complete, messages, max_new_tokens=self.max_new_tokens, temperature=0.0),
                timeout=self.timeout_s)
        except TimeoutError as err:
            raise PolicyError(f"{self.backend.name} did not reply within {self.timeout_s} s") from err
        except BackendError as err:
            raise PolicyError(f"chat backend failed: {err}") from err
        self.spent_tokens += reply.prompt_tokens + reply.completion_tokens
        try:
            value = parse(reply.text)
        except PolicyError as err:
            err.tokens = reply.prompt_tokens + reply.completion_tokens  # spent, even though unusable
            raise
        return Decision(value, reply.prompt_tokens, reply.completion_tokens)
        # END SOLUTION

    async def plan(self, task: str) -> Decision[Plan]:
        return await self.ask(plan_messages(task), parse_plan)

    async def next_action(self, task: str, history: list[StepOutcome]) -> Decision[Action]:
        return await self.ask(action_messages(task, history), parse_action)

    async def review_plan(self, task: str, plan: Plan) -> Decision[Verdict]:
        return await self.ask(review_plan_messages(task, plan), parse_verdict)

    async def review_step(self, task: str, outcome: StepOutcome, check: StepOutcome | None) -> Decision[Verdict]:
        return await self.ask(review_step_messages(task, outcome, check), parse_verdict)

    async def review_final(self, task: str, answer: float | None, history: list[StepOutcome]) -> Decision[Verdict]:
        return await self.ask(review_final_messages(task, answer, history), parse_verdict)
