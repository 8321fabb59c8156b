"""c08.3: quotas that cannot be dodged: per address without keys, no entries for unknown tokens, failed
authentication throttled per address, keys compared in constant time, a bounded table newcomers cannot churn."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from conftest import GUARDED, AppServer

from c08_serving_ops.core.limiter import EVICTION_SCAN, RateLimiter
from c08_serving_ops.core.settings import Settings
from c08_serving_ops.server import middleware
from c08_serving_ops.server.middleware import client_address, key_matches, parse_networks

pytestmark = pytest.mark.task("c08.3")



class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_full_table_of_active_clients_refuses_newcomers_instead_of_evicting() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=1.0, burst=5, max_clients=3, clock=clock)
    for key in "abc":
        assert limiter.check(key).allowed  # each active: 4 of 5 tokens left
    churn = [limiter.check(f"random-{i}") for i in range(100)]  # a flood of new keys
    assert not any(d.allowed for d in churn) and limiter.refused_new == 100
    assert churn[0].retry_after_s == pytest.approx(1.0)  # until the oldest bucket is full again
    assert len(limiter) == 3 and [limiter.check(k).remaining for k in "abc"] == [3, 3, 3]  # nobody got a fresh quota
    clock.now += 2.0  # every bucket is full again: idle clients may go, oldest first
    assert limiter.check("newcomer").allowed and len(limiter) == 3
    assert limiter.wait_s("a") == 0.0  # "a" was full, so it was evicted: it comes back with a full bucket...
    assert limiter.check("b").remaining == 4  # ... and "b" kept its own bucket


def test_eviction_looks_only_at_the_least_recently_seen() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=1.0, burst=2, max_clients=EVICTION_SCAN + 1, clock=clock)
    for i in range(EVICTION_SCAN + 1):
        limiter.check(f"k{i}")
    clock.now += 10.0
    for i in range(EVICTION_SCAN):  # the oldest EVICTION_SCAN drain their buckets: active
        limiter.check(f"k{i}")
        limiter.check(f"k{i}")
    # the LRU order is now k32, k0..k31: k32 (full, least recent) is the one evicted
    assert limiter.check("new").allowed and limiter.wait_s("k32") == 0.0 and len(limiter) == EVICTION_SCAN + 1
    assert limiter.wait_s("k0") == pytest.approx(1.0)  # not evicted: still empty


def test_wait_s_looks_without_creating() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=0.5, burst=1, clock=clock)
    assert limiter.wait_s("x") == 0.0 and len(limiter) == 0
    limiter.check("x")
    assert limiter.wait_s("x") == pytest.approx(2.0) and len(limiter) == 1
    clock.now += 2.0
    assert limiter.wait_s("x") == 0.0


def test_keys_are_compared_in_constant_time_over_every_key(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    compare = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return compare(a, b)

    monkeypatch.setattr(middleware.hmac, "compare_digest", spy)
    keys = ["alpha-key", "beta", "gamma-long-key"]
    assert key_matches("alpha-key", keys) == "alpha-key"
    assert len(calls) == 3  # a match on the first key still compares all of them: no early exit
    assert all(len(a) == len(b) == 32 for a, b in calls)  # digests: equal lengths, the key's length is not leaked
    assert calls[0][0] == hashlib.sha256(b"alpha-key").digest()
    calls.clear()
    assert key_matches("wrong", keys) is None and len(calls) == 3
    assert key_matches(None, keys) is None and key_matches("beta", []) is None
    assert key_matches("gamma-long-key", keys) == "gamma-long-key"


def scope(peer: str, forwarded: list[str] | None = None) -> dict[str, Any]:
    headers = [(b"x-forwarded-for", f.encode()) for f in forwarded or []]
    return {"type": "http", "client": (peer, 5000), "headers": headers}


def test_client_address_believes_forwarded_for_only_from_trusted_proxies() -> None:
    trusted = parse_networks(["10.0.0.0/8", "192.168.1.1"])
    assert client_address(scope("203.0.113.9", ["1.2.3.4"]), trusted) == "203.0.113.9"  # not a proxy: ignored
    assert client_address(scope("203.0.113.9", ["1.2.3.4"]), []) == "203.0.113.9"
    # behind our proxies: the right-most hop they did not add; hops left of it may be forged by the client
    assert client_address(scope("10.1.1.1", ["6.6.6.6, 198.51.100.7, 10.2.2.2"]), trusted) == "198.51.100.7"
    assert client_address(scope("10.1.1.1", ["6.6.6.6", "198.51.100.7"]), trusted) == "198.51.100.7"  # 2 headers
    assert client_address(scope("192.168.1.1", ["10.3.3.3, 10.2.2.2"]), trusted) == "10.3.3.3"  # all ours
    assert client_address(scope("10.1.1.1"), trusted) == "10.1.1.1"  # a proxy's own request
    assert client_address(scope("10.1.1.1", ["not-an-ip"]), trusted) == "10.1.1.1"
    assert client_address(scope("10.1.1.1", ["2001:db8::1"]), trusted) == "2001:db8::1"
    assert client_address({"type": "http", "headers": []}, trusted) == "unknown"
    with pytest.raises(ValueError, match="trusted_proxies"):
        Settings(trusted_proxies=["not a network"])


def test_without_keys_a_made_up_token_buys_no_quota(app_server: Callable[..., AppServer]) -> None:
    server = app_server(guard=True, rate_per_s=0.01, burst=2)
    with server.client() as client:
        statuses = [client.get(GUARDED, headers={"Authorization": f"Bearer {uuid.uuid4()}"}).status_code
                    for _ in range(6)]
    assert statuses == [200, 200, 429, 429, 429, 429]
    assert len(server.app.state.limiter) == 1  # one entry: the address; the tokens created none


def test_unknown_tokens_never_create_entries_and_failures_are_throttled(
        app_server: Callable[..., AppServer]) -> None:
    server = app_server(guard=True, api_keys=["right-key"], auth_failure_burst=5, auth_failure_rate_per_s=0.01)
    good = {"Authorization": "Bearer right-key"}
    with server.client() as client:
        assert client.get(GUARDED, headers=good).status_code == 200
        guesses = [client.get(GUARDED, headers={"Authorization": f"Bearer {uuid.uuid4()}"})
                   for _ in range(8)]
        assert [g.status_code for g in guesses] == [401] * 5 + [429] * 3  # 429 after auth_failure_burst failures
        assert guesses[5].json()["error_type"] == "rate_limited" and int(guesses[5].headers["retry-after"]) >= 1
        # a blocked address is refused before any key is compared: the answer says nothing about a guess
        assert client.get(GUARDED, headers=good).status_code == 429
        assert client.get("/health").status_code == 200  # probes are never limited
    assert len(server.app.state.limiter) == 1  # only the real key has a bucket
    assert len(server.app.state.auth_failures) == 1  # one address


def test_a_trusted_proxy_forwards_each_clients_address(app_server: Callable[..., AppServer]) -> None:
    server = app_server(guard=True, rate_per_s=0.01, burst=1, trusted_proxies=["127.0.0.1"])
    with server.client() as client:
        def embed(forwarded: str) -> int:
            return client.get(GUARDED, headers={"X-Forwarded-For": forwarded}).status_code

        assert [embed("198.51.100.1"), embed("198.51.100.1"), embed("198.51.100.2")] == [200, 429, 200]
        # a client that prepends a fake hop is still keyed by the hop the proxy appended
        assert embed("203.0.113.5, 198.51.100.1") == 429
    untrusted = app_server(guard=True, rate_per_s=0.01, burst=1)  # no trusted proxy: the header is ignored
    with untrusted.client() as client:
        statuses = [client.get(GUARDED, headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code
                    for i in range(3)]
    assert statuses == [200, 429, 429]
