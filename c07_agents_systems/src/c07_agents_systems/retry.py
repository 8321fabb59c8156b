"""Retries with exponential back-off: how the agents survive a tool that fails now and then.

:func:`retry_with_backoff` awaits a coroutine until it succeeds, with delays
``base, base*factor, base*factor**2...`` between tries (capped at ``max_delay``),
plus deterministic jitter from a seeded generator, so that many clients retrying
at once do not retry in lock-step. The Executor retries its tool calls with it,
and the Reviewer its independent checks.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def retry_with_backoff(attempt: Callable[[], Awaitable[T]], *, attempts: int = 3, base_delay_s: float = 0.001,
                             factor: float = 2.0, max_delay_s: float = 1.0, jitter: float = 0.1,
                             retry_on: tuple[type[BaseException], ...] = (Exception,),
                             rng: random.Random | None = None,
                             on_retry: Callable[[int, BaseException, float], None] | None = None) -> tuple[T, int]:
    """Await ``attempt()`` until it succeeds, at most ``attempts`` times; return (result, attempts used).

    Between tries it sleeps ``min(max_delay_s, base_delay_s * factor**i) * (1 + jitter * u)``, u in [0, 1).
    An exception not in ``retry_on`` propagates at once; after the last try the last error propagates.
    """
    # BEGIN SOLUTION c07.2: validate; loop; sleep with exponential, capped, jittered delays
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
