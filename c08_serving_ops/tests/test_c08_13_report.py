"""c08.13: the service's benchmark report (``python -m c08_serving_ops.report``) on tiny sizes.

The report measures every route through HTTP, /rag on both of its routes included, so it is graded
with /rag's task. Here it runs against an app in this process (live's Cranfield components and
SmolLM2, generation on) for fractions of a second per cell, and the page is written into a
temporary folder. Oracles: ``numpy.percentile`` over the latency samples the report keeps,
hand-computed percentiles and costs, and the rows themselves for the throughput and cost
summaries. No figure is checked against a speed: the machine's load decides those.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import AppServer, generation_loader, make_settings, start_app

from c08_serving_ops import report
from c08_serving_ops.rag.scores import Row
from c08_serving_ops.tools import report_measure as rm

pytestmark = pytest.mark.task("c08.13")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TEXTS = ["shock waves on a wedge", "heat transfer in hypersonic flow", "flutter of a swept wing",
         "boundary layer transition"]
# Seconds, not less: each client of the load generator opens its own connection first, and on a busy machine
# that can eat a window of a tenth of a second before any request is sent
TINY = report.Options(concurrencies=(1, 2), window_s=1.0, warmup_s=0.5, top_k=3, rag_top_k=1, max_new_tokens=2,
                      stream_concurrencies=(1,), stream_requests=1, stream_tokens=3)
ROUTES = ("/search hybrid", "/embed", "/rag extractive", "/rag generate")
HEADINGS = ["# c08 service benchmark report", "## Latency per route", "## Steady and peak QPS",
            "## Streamed generation: TTFT and inter-token latency", "## Memory",
            "## Cost per 1000 tokens, retrieval's share included", "## RAG quality"]
EXACT = 1e-9  # the report's percentiles are numpy's over the very samples it stores: equal but for float printing


@pytest.fixture(scope="module")
def run(live: AppServer, llm: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """The measured figures and the folder the page was written to (no RAG evaluation there)."""
    server = start_app(make_settings(tmp_path_factory.mktemp("report-app"), generation=True),
                       generation_loader(live, llm))
    try:
        results = report.measure(server.url, os.getpid(), TEXTS, TINY)  # in process: the server is this process
    finally:
        server.stop()
    results.update(date="2026-01-01 00:00", server="an app in the test process")
    out = tmp_path_factory.mktemp("report")
    report.write(results, out, "python -m c08_serving_ops.report --tiny", rag_eval=out / "absent.json")
    return results, out


def table_rows(text: str, heading: str) -> list[list[str]]:
    """The body rows (cells stripped) of the first table under ``heading``."""
    section = text.split(heading, 1)[1]
    lines = [line for line in section.split("\n## ", 1)[0].splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]


def test_the_page_states_command_date_window_and_links_its_plots(run: tuple[dict[str, Any], Path]) -> None:
    results, out = run
    text = (out / "report.md").read_text(encoding="utf-8")
    positions = [text.index(heading) for heading in HEADINGS]
    assert positions == sorted(positions)
    assert "`python -m c08_serving_ops.report --tiny` on 2026-01-01 00:00 UTC" in text
    assert "**1 s window**" in text and "0.5 s of the same load (discarded)" in text
    assert re.search(r"load average \d+\.\d\d at the start and \d+\.\d\d at the end", text)
    for name in report.PNG_NAMES:
        assert (out / name).read_bytes().startswith(PNG_SIGNATURE) and f"]({name})" in text
    assert (out / "report.json").read_text(encoding="utf-8") == json.dumps(results, indent=1) + "\n"
    assert "python -m c08_serving_ops.rag.evaluate" in text.split("## RAG quality")[1]  # how to get the rows
    assert re.search(r"\*\*\$\d+\.\d{5} per 1000 generated tokens\*\*", text)
    rss = results["rss_mib"]
    assert 0 < rss["start"] <= rss["peak_sampled"] and rss["end"] <= rss["peak_sampled"] and rss["samples"] >= 2


def test_every_percentile_row_is_numpy_over_its_window(run: tuple[dict[str, Any], Path]) -> None:
    results, out = run
    rows = results["latency"]
    assert [(r["route"], r["concurrency"]) for r in rows] == [(n, c) for n in ROUTES for c in TINY.concurrencies]
    for row in rows:
        samples = row["samples_ms"]
        assert len(samples) == row["requests"] > 0 and row["non_200"] == 0
        expected = np.percentile(samples, [50, 95, 99])
        assert [row["p50"], row["p95"], row["p99"]] == pytest.approx(expected, rel=EXACT, abs=EXACT)
        assert row["p50"] <= row["p95"] <= row["p99"]
        assert row["server_cpu_s"] >= 0 and row["qps"] == pytest.approx(row["requests"] / row["window_s"], rel=1e-2)
        if row["route"] == "/rag generate":  # a generating window is bounded by one request per client
            assert row["requests"] == row["concurrency"] and 0 < row["generated_tokens"] <= 2 * row["requests"]
        else:
            assert row["generated_tokens"] == 0 and row["mean_batch_size"] >= 1, row
    text = (out / "report.md").read_text(encoding="utf-8")
    printed = table_rows(text, "## Latency per route")
    assert len(printed) == len(rows)
    for cells, row in zip(printed, rows, strict=True):
        assert cells[:2] == [row["route"], str(row["concurrency"])]
        p50, p95, p99 = (float(c) for c in cells[6:9])
        assert p50 <= p95 <= p99 and cells[6:9] == [f"{row[k]:.1f}" for k in ("p50", "p95", "p99")]
    for stream in results["streaming"]:
        for kind in ("ttft", "itl"):
            values = [stream[f"{kind}_p{q}"] for q in (50, 95, 99)]
            assert values == pytest.approx(np.percentile(stream[f"{kind}_samples_ms"], [50, 95, 99]), rel=EXACT)
            assert values == sorted(values)
        assert stream["requests"] == 1 and len(stream["itl_samples_ms"]) == stream["tokens"] - 1
    # the helper by hand: 1..100 -> 50.5, 95.05, 99.01 (linear interpolation between order statistics)
    assert rm.percentiles([float(v) for v in range(1, 101)]) == pytest.approx({"p50": 50.5, "p95": 95.05,
                                                                               "p99": 99.01})
    assert rm.percentiles([7.0]) == {"p50": 7.0, "p95": 7.0, "p99": 7.0}
    assert all(math.isnan(v) for v in rm.percentiles([]).values())


def test_throughput_and_cost_follow_from_the_rows(run: tuple[dict[str, Any], Path]) -> None:
    results, out = run
    rows = results["latency"]
    for summary in results["throughput"]:
        cells = [r for r in rows if r["route"] == summary["route"]]
        assert summary["peak"]["qps"] == max(r["qps"] for r in cells)
        within = [r["qps"] for r in cells if r["p99"] <= summary["slo_p99_ms"]]
        assert (summary["steady"] or {}).get("qps") == (max(within) if within else None)

    def per_request(route: str, key: str) -> float:
        chosen = [r for r in rows if r["route"] == route]
        return sum(r[key] for r in chosen) / sum(r["requests"] for r in chosen)

    cost = results["cost"]
    retrieval, whole = per_request("/rag extractive", "server_cpu_s"), per_request("/rag generate", "server_cpu_s")
    tokens = per_request("/rag generate", "generated_tokens")
    assert cost["retrieval_cpu_s"] == pytest.approx(retrieval)
    assert cost["generation_cpu_s"] == pytest.approx(max(whole - retrieval, 0.0))
    assert cost["usd_per_1k_tokens"] == pytest.approx(
        max(whole, retrieval) * report.USD_PER_VCPU_HOUR / 3600 / tokens * 1000)
    # the helper by hand: 0.51 CPU-s per request, 0.01 of it retrieval, 10 tokens, $3.60 per vCPU-hour ($0.001/s)
    split = rm.cost_split(0.01, 0.51, 10, 3.6)
    assert (split.generation_cpu_s, split.usd_per_request) == pytest.approx((0.5, 0.00051))
    assert split.usd_per_1k_tokens == pytest.approx(0.051) and split.retrieval_share == pytest.approx(1 / 51)
    assert rm.cost_split(0.2, 0.1, 5, 1.0).generation_cpu_s == 0.0  # noise never makes generation negative
    assert math.isnan(rm.cost_split(0.0, 0.0, 0, 1.0).usd_per_1k_tokens)
    with pytest.raises(ValueError, match="negative"):
        rm.cost_split(-0.1, 0.5, 10, 1.0)
    printed = table_rows((out / "report.md").read_text(encoding="utf-8"), "## Cost per 1000 tokens")
    assert [cells[0] for cells in printed] == ["retrieval (measured on /rag extractive)",
                                               "generation (the rest of /rag generate)", "/rag generate, whole"]


def test_rag_quality_rows_probe_and_options(run: tuple[dict[str, Any], Path], live: AppServer,
                                            tmp_path: Path) -> None:
    results, _ = run
    row = Row("extractive", 10, 0.9, 1.0, 0.0, 0.17, 0.9, 12.0, 20.0, 0.0, 0.0, 0.0, 0.0)
    evaluation = tmp_path / "rag_eval.json"
    evaluation.write_text(json.dumps([asdict(row)]), encoding="utf-8")
    text = report.page(results, "python -m c08_serving_ops.report", evaluation)
    quality = text.split("## RAG quality")[1]
    assert "| configuration | n | recall@1 |" in quality and "| extractive | 10 | 0.900 | 1.000 |" in quality
    assert [rm.distinct_query(["a", "b"], n) for n in range(5)] == ["a", "b", "a 1", "b 1", "a 2"]
    with pytest.raises(RuntimeError, match="answered 422"):  # a refused request never fills a latency table
        rm.probe(live.url, rm.Route("blank", "/search", lambda q: {"query": " "}), "x")
    args = report.parse_args(["--window", "2", "--concurrency", "1,4", "--out", str(tmp_path)])
    assert (args.window, args.concurrency, args.out) == (2.0, "1,4", tmp_path)
    assert report.parse_args([]).concurrency == "1,8,32"
