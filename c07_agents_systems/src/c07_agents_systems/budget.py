"""Budgets per task, and retries with exponential back-off.

A run may spend at most so many *steps* (executions of a plan step or actions
of a lone executor), *tokens* (prompt + completion, what a model would be billed
for), *tool calls*, seconds of *wall time* and units of *cost* (tokens at a
price per 1000). The :class:`Meter` counts what was spent and raises
:class:`BudgetExceededError` the moment a charge would go past a limit; the
coordinator catches it and ends the run with the partial result and the reason
(``"budget exceeded: tool_calls 12 > 12"``). A limit of None is unlimited; a
limit of 0 ends the run before its first step.

:func:`retry_with_backoff` retries a failing coroutine with delays
``base, base*factor, base*factor**2...`` (capped at ``max_delay``), plus
deterministic jitter from a seeded generator, so that many clients retrying at
once do not retry in lock-step.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")
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


async def retry_with_backoff(attempt: Callable[[], Awaitable[T]], *, attempts: int = 3, base_delay_s: float = 0.001,
                             factor: float = 2.0, max_delay_s: float = 1.0, jitter: float = 0.1,
                             retry_on: tuple[type[BaseException], ...] = (Exception,),
                             rng: random.Random | None = None,
                             on_retry: Callable[[int, BaseException, float], None] | None = None) -> tuple[T, int]:
    """Await ``attempt()`` until it succeeds, at most ``attempts`` times; return (result, attempts used).

    Between tries it sleeps ``min(max_delay_s, base_delay_s * factor**i) * (1 + jitter * u)``, u in [0, 1).
    An exception not in ``retry_on`` propagates at once; after the last try the last error propagates.
    """
    # BEGIN SOLUTION c07.4: validate; loop; sleep with exponential, capped, jittered delays
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, got {attempts}")
    if base_delay_s < 0 or factor < 1 or max_delay_s < 0:
        raise ValueError("need base_delay_s >= 0, factor >= 1 and max_delay_s >= 0")
    rng = rng or random.Random(0)
    for i in range(attempts):
        try:
            return await attempt(), i + 1
        except retry_on as err:
            if i == attempts - 1:
                raise
            delay = min(max_delay_s, base_delay_s * factor**i) * (1.0 + jitter * rng.random())
            if on_retry is not None:
                on_retry(i + 1, err, delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")  # the loop returns or raises
    # END SOLUTION
