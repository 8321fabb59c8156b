"""Budgets per task: steps, tokens, tool calls, wall time and cost.

A run may spend at most so many *steps* (executions of a plan step or actions
of a lone executor), *tokens* (prompt + completion, what a model would be billed
for), *tool calls*, seconds of *wall time* and units of *cost* (tokens at a
price per 1000). The :class:`Meter` counts what was spent and raises
:class:`BudgetExceededError` the moment a charge would go past a limit; the
coordinator catches it and ends the run with the partial result and the reason
(``"budget exceeded: tool_calls 12 > 12"``). A limit of None is unlimited; a
limit of 0 ends the run before its first step.

Retries with exponential back-off live in :mod:`~c07_agents_systems.retry`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

RESOURCES: tuple[str, ...] = ("steps", "tokens", "tool_calls", "wall_s", "cost")


class BudgetExceededError(RuntimeError):
    """A charge that would exceed the run's budget; ``resource`` names which limit."""

    def __init__(self, resource: str, used: float, limit: float) -> None:
        super().__init__(f"{resource} {used:g} > {limit:g}")
        self.resource, self.used, self.limit = resource, used, limit


@dataclass(frozen=True)
class Budget:
    """Limits of one run (None = unlimited) and the price of tokens."""

    steps: int | None = 40
    tokens: int | None = None
    tool_calls: int | None = 60
    wall_s: float | None = 60.0
    cost: float | None = None
    price_per_1k_tokens: float = 0.002

    def __post_init__(self) -> None:
        for name in RESOURCES:
            limit = getattr(self, name)
            if limit is not None and limit < 0:
                raise ValueError(f"budget {name} must be >= 0 or None, got {limit}")
        if self.price_per_1k_tokens < 0:
            raise ValueError(f"price_per_1k_tokens must be >= 0, got {self.price_per_1k_tokens}")


@dataclass
class Meter:
    """What one run has spent against its :class:`Budget`."""

    budget: Budget
    clock: Callable[[], float] = time.perf_counter
    steps: int = 0
    tokens: int = 0
    tool_calls: int = 0
    started: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.started = self.clock()

    @property
    def wall_s(self) -> float:
        return self.clock() - self.started

    @property
    def cost(self) -> float:
        return self.tokens / 1000.0 * self.budget.price_per_1k_tokens

    def _check(self, resource: str, used: float) -> None:
        limit = getattr(self.budget, resource)
        if limit is not None and used > limit:
            raise BudgetExceededError(resource, used, limit)

    def charge_step(self) -> None:
        """One more step (raises before counting it if none is left)."""
        # BEGIN SOLUTION c07.4: check the step and the wall time first, then count
        self._check("steps", self.steps + 1)
        self.check_time()
        self.steps += 1
        # END SOLUTION

    def charge_tool_call(self) -> None:
        # BEGIN SOLUTION c07.4: check, then count
        self._check("tool_calls", self.tool_calls + 1)
        self.check_time()
        self.tool_calls += 1
        # END SOLUTION

    def charge_tokens(self, n: int) -> None:
        """Count ``n`` tokens (already spent: counted, then checked against tokens and cost)."""
        # BEGIN SOLUTION c07.4: tokens were spent whatever the budget: count, then check tokens and cost
        if n < 0:
            raise ValueError(f"cannot charge {n} tokens")
        self.tokens += n
        self._check("tokens", self.tokens)
        self._check("cost", self.cost)
        # END SOLUTION

    def check_time(self) -> None:
        self._check("wall_s", self.wall_s)

    def remaining_s(self) -> float | None:
        """Seconds of wall time left (None when unlimited)."""
        return None if self.budget.wall_s is None else max(0.0, self.budget.wall_s - self.wall_s)
