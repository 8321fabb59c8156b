"""c07.2: retries with exponential back-off, the way the Executor and the Reviewer call their tools.

Oracle: the delays the back-off formula prescribes (asyncio.sleep is patched, so nothing waits).
"""

from __future__ import annotations

import asyncio
import random

import pytest

from c07_agents_systems import retry_with_backoff

pytestmark = pytest.mark.task("c07.2")


def test_retry_with_backoff_delays_grow_and_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def fake_sleep(delay: float) -> None:
        slept.append(delay)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 5:
            raise ConnectionError(f"failure {calls}")
        return "ok"

    result, used = asyncio.run(retry_with_backoff(flaky, attempts=5, base_delay_s=0.1, factor=2.0, max_delay_s=0.5,
                                                  jitter=0.0))
    assert (result, used) == ("ok", 5)
    assert slept == pytest.approx([0.1, 0.2, 0.4, 0.5])
    slept.clear()
    calls = 0
    with pytest.raises(ConnectionError, match="failure 3"):
        asyncio.run(retry_with_backoff(flaky, attempts=3, base_delay_s=0.1, jitter=0.5, rng=random.Random(1)))
    assert len(slept) == 2 and 0.1 <= slept[0] <= 0.15 and 0.2 <= slept[1] <= 0.3

    async def fatal() -> None:
        raise KeyError("not retryable")

    with pytest.raises(KeyError):
        asyncio.run(retry_with_backoff(fatal, retry_on=(ConnectionError,)))
    for bad in ({"attempts": 0}, {"factor": 0.5}, {"base_delay_s": -1.0}):
        with pytest.raises(ValueError):
            asyncio.run(retry_with_backoff(flaky, **bad))  # type: ignore[arg-type]
