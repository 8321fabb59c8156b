"""c08.8: the load generator (percentiles against numpy), a short load run, the bench helpers (fuzz: test_c08_8_schema).

The full figures (concurrency 1, 8, 32 per endpoint, batching on vs off, a soak of minutes, a
longer fuzz) come from ``python -m c08_serving_ops.bench``: see the README. Here the runs are
seconds long, against the real server process, with thresholds in tasks.toml.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import numpy as np
import pytest
from conftest import AppServer, assert_every_call_answered
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from c06_retrieval_tools import load_cranfield
from c08_serving_ops import bench
from c08_serving_ops.tools import soak
from c08_serving_ops.tools.loadgen import BodyFn, LoadResult, check_loopback, percentile, run_load, run_rate
from c08_serving_ops.tools.process import ServerProcess

pytestmark = pytest.mark.task("c08.8")



@settings(deadline=None, max_examples=50)
@given(values=st.lists(st.floats(0, 1e4, allow_nan=False), min_size=1, max_size=60), q=st.floats(0, 100))
def test_percentile_equals_numpy(values: list[float], q: float) -> None:
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)), rel=1e-9, abs=1e-9)


def test_percentile_and_target_checks() -> None:
    assert np.isnan(percentile([], 50))
    with pytest.raises(ValueError):
        percentile([1.0], 101)
    for url in ("http://127.0.0.1:1", "http://localhost:2", "http://[::1]:3"):
        check_loopback(url)
    for url in ("http://10.0.0.1:80", "http://example.com", "http://0.0.0.0:1"):
        with pytest.raises(ValueError, match="loopback"):
            check_loopback(url)
    with pytest.raises(ValueError):
        asyncio.run(run_load("http://127.0.0.1:9", "/", lambda i: None, concurrency=0, max_requests=1,
                             max_seconds=1))
    with pytest.raises(ValueError):
        asyncio.run(run_rate("http://127.0.0.1:9", "/", lambda i: None, rate_per_s=0, seconds=1))


def batch_totals(url: str) -> tuple[float, float]:
    """(inputs, batches) the server has run so far, from its /metrics."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    values = {s.name: s.value for family in text_string_to_metric_families(text) for s in family.samples}
    return values["c08_batch_size_sum"], values["c08_batch_size_count"]


def test_short_load_run(smoke_server: ServerProcess, metric: Callable[..., None]) -> None:
    """Closed-loop load on the real server process for a few seconds per cell; the README has the full table."""
    queries = list(load_cranfield().queries.values())
    embed_path, embed_body = bench.endpoints(queries)["embed"]
    search_path, search_body = bench.endpoints(queries)["search_hybrid"]

    def load(path: str, body: BodyFn, concurrency: int) -> LoadResult:
        return asyncio.run(run_load(smoke_server.url, path, body, concurrency=concurrency, max_requests=80,
                                    max_seconds=3.0, headers={"Authorization": "Bearer load"}))

    embed_1 = load(embed_path, embed_body, 1)
    before = batch_totals(smoke_server.url)
    embed_8 = load(embed_path, embed_body, 8)
    after = batch_totals(smoke_server.url)
    search_8 = load(search_path, search_body, 8)
    runs = (embed_1, embed_8, search_8)
    assert all(r.requests == sum(r.statuses.values()) and r.requests > 0 for r in runs)
    metric("load_error_rate", sum(r.errors for r in runs) / sum(r.requests for r in runs))
    metric("embed_qps_ratio_c8_vs_c1", embed_8.qps / embed_1.qps)
    metric("embed_mean_batch_size_c8", (after[0] - before[0]) / max(1.0, after[1] - before[1]))
    metric("search_p99_latency_ms_c8", search_8.p(99))
    row = search_8.row()
    assert row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"] and row["statuses"] == {200: search_8.requests}


def test_bench_helpers_on_tiny_sizes(live: AppServer) -> None:
    texts = ["shock waves", "flutter of wings", "heat transfer"]
    rows = bench.load_table(live.url, texts, [1, 2], max_requests=6, max_seconds=2.0, names=["health", "embed"])
    assert [(r["endpoint"], r["concurrency"]) for r in rows] == [("health", 1), ("health", 2), ("embed", 1),
                                                                 ("embed", 2)]
    assert all(r["errors"] == 0 and r["requests"] == 6 for r in rows)
    table = bench.markdown(rows)
    assert table.count("\n") == len(rows) + 1 and table.startswith("| endpoint |") and bench.markdown([]) == ""
    throughput = bench.embed_throughput(live.url, texts, 2, 4, 2.0)
    assert throughput.requests == 4 and throughput.qps > 0
    args = bench.parse_args(["--soak-minutes", "0", "--concurrency", "1,8"])
    assert args.soak_minutes == 0 and args.concurrency == "1,8"
    assert bench.parse_args([]).soak_minutes == soak.DEFAULT_MINUTES  # make bench: a bounded soak


@settings(deadline=None, max_examples=40)
@given(points=st.lists(st.tuples(st.integers(0, 1200).map(lambda n: n / 2), st.integers(0, 2**34)), min_size=2,
                       max_size=50), start=st.floats(0, 300))
def test_rss_slope_equals_least_squares(points: list[tuple[float, int]], start: float) -> None:
    kept = [(t, rss) for t, rss in points if t >= start]
    times = np.array([t / 60 for t, _ in kept])
    slope = soak.rss_slope_mib_per_min(points, start)
    if len(kept) < 2 or np.ptp(times) == 0:
        assert np.isnan(slope)
        return
    expected = np.polyfit(times, np.array([rss / 2**20 for _, rss in kept]), 1)[0]
    assert slope == pytest.approx(expected, rel=1e-6, abs=1e-6 * (1 + abs(expected)))


def test_rss_slope_of_a_leak_and_a_flat_line() -> None:
    leak = [(t, 500 * 2**20 + int(t / 60 * 12 * 2**20)) for t in np.arange(0.0, 120.0, 0.5)]  # 12 MiB/min
    assert soak.rss_slope_mib_per_min(leak) == pytest.approx(12.0, rel=1e-6)
    warm_then_flat = [(t, (400 if t < 20 else 600) * 2**20) for t in np.arange(0.0, 120.0, 0.5)]
    assert soak.rss_slope_mib_per_min(warm_then_flat, start_s=20.0) == pytest.approx(0.0, abs=1e-9)
    assert soak.rss_slope_mib_per_min(warm_then_flat) > 50  # with the warm-up left in, it looks like a leak


def test_a_short_authenticated_soak_over_every_route(smoke_server: ServerProcess, metric: Callable[..., None]) -> None:
    """Every route with a key, real 200s, bad inputs refused as documented, the server's RSS sampled."""
    # without the keyless call: the smoke server throttles an address after 20 failed authentications across
    # the whole session (the 401 itself is tested in http_smoke.py)
    # paced: 12 rounds over about 25 s (part 1's rounds take a fraction of a second; the key's burst is 300),
    # after 3 warm-up rounds (a fresh process grows by tens of MiB over its first rounds: first touches, not a leak)
    report = soak.run_soak(smoke_server.url, smoke_server.pid, api_key="soak", seconds=90.0, concurrency=2,
                           max_rounds=12, warmup_rounds=3, interval_s=0.25, settle_s=1.0, anonymous=False,
                           generation=False, pause_s=4.0)
    calls = soak.round_of_calls(0, "any", anonymous=False, generation=False)
    every = soak.round_of_calls(0, "any", generation=False)
    assert {call.name for call in every} - {call.name for call in calls} == {"bad_no_key"}
    assert not any(call.generation for call in every)  # part 2's routes are soaked in c08.13
    assert_every_call_answered(report, calls, rounds=12, warmup_rounds=3)
    assert report.samples >= 8  # sampled all along, not once at each end
    metric("soak_rss_slope_mib_per_min", report.slope_mib_per_min)  # a leak detector (tasks.toml), not a size
