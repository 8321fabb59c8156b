"""c08.6 (hidden): Retry-After is capped by the policy's maximum delay; retries stop at max_retries."""

from __future__ import annotations

import httpx
import pytest

from c08_serving_ops.tools.client import ResilientClient, RetryPolicy

pytestmark = pytest.mark.task("c08.6")


def test_retry_after_is_capped_and_retries_are_bounded() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        return httpx.Response(429, headers={"Retry-After": "3600"}, json={"error": "x", "error_type": "rate_limited"})

    sleeps: list[float] = []
    policy = RetryPolicy(max_retries=2, max_delay_s=0.5)
    with ResilientClient("http://127.0.0.1:1", policy=policy, sleep=sleeps.append,
                         transport=httpx.MockTransport(handler)) as client:
        answer = client.request("GET", "/x")
    assert answer.status_code == 429 and calls == ["GET"] * 3 and sleeps == [0.5, 0.5]
