"""The service's benchmark report: ``python -m c08_serving_ops.report [--out DIR] [--window S] ...``.

Starts the real server as ``make serve`` does (XQuAD, SmolLM2 generation on, two torch threads;
quotas lifted), measures it through HTTP (:mod:`c08_serving_ops.tools.report_measure`) and writes, into
``c08_serving_ops/docs/`` by default:

* ``report.md``: the command and the UTC date; latency p50/p95/p99 per route (/search, /embed, /rag
  extractive, /rag generate) at each concurrency over a stated window after a stated warm-up;
  steady and peak QPS with concurrency and batch size; TTFT and inter-token latency of streamed
  /generate; the server's RSS; the cost per 1000 generated tokens from the server's CPU-seconds,
  retrieval's share separated; the RAG quality rows of ``evaluate_rag`` when they exist;
* ``latency.png`` (percentiles against concurrency, one panel per route) and ``throughput.png``;
* ``report.json``: every figure and every latency sample the percentiles were computed from.

Nothing on the page is typed by hand: rerun the command to refresh it. The defaults take about
three minutes on two cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from c08_serving_ops.tools import report_measure as rm
from c08_serving_ops.tools.process import ServerProcess
from c08_serving_ops.tools.soak import LIFTED, MAKE_SERVE_ARGS, MIB, RssSampler

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "docs"
RAG_EVAL = Path("build/c08_rag_eval/rag_eval.json")  # written by `python -m c08_serving_ops.rag.evaluate`
# AWS EC2 on-demand, c7i.large (2 vCPU, Linux, us-east-1): $0.08925 per hour, i.e. per vCPU-hour:
# https://aws.amazon.com/ec2/pricing/on-demand/ (list price; --usd-per-vcpu-hour for another)
USD_PER_VCPU_HOUR = 0.08925 / 2
PRICE_SOURCE = "AWS EC2 on-demand c7i.large (2 vCPU, Linux, us-east-1), $0.08925 per hour"
# Concurrency 32 on /rag generate: 4 generations run, the rest must wait for a slot rather than get 429
SERVER_ENV = {**LIFTED, "C08_MAX_WAITING_GENERATIONS": "64"}
PNG_NAMES = ("latency.png", "throughput.png")


@dataclass(frozen=True)
class Options:
    """What the run measures; every field is stated on the page."""

    concurrencies: tuple[int, ...] = (1, 8, 32)
    window_s: float = 4.0
    warmup_s: float = 1.0
    generation_requests_per_client: int = 1
    top_k: int = 5
    rag_top_k: int = 2
    max_new_tokens: int = 8
    stream_concurrencies: tuple[int, ...] = (1, 4)
    stream_requests: int = 2
    stream_tokens: int = 16
    slo_ms: float = 250.0  # p99 objective of the retrieval routes (search, embed, /rag extractive)
    generation_slo_ms: float = 15_000.0  # p99 objective of /rag generate
    usd_per_vcpu_hour: float = USD_PER_VCPU_HOUR


def throughput(rows: Sequence[dict[str, Any]], options: Options) -> list[dict[str, Any]]:
    """Per route: the peak QPS over the concurrencies, and the steady QPS (the best whose p99 meets the SLO)."""
    out = []
    for name in dict.fromkeys(r["route"] for r in rows):
        cells = [r for r in rows if r["route"] == name]
        slo = options.generation_slo_ms if name == "/rag generate" else options.slo_ms
        peak = max(cells, key=lambda r: r["qps"])
        within = [r for r in cells if r["p99"] <= slo and r["non_200"] == 0]
        steady = max(within, key=lambda r: r["qps"]) if within else None
        out.append({"route": name, "slo_p99_ms": slo, "steady": steady and _brief(steady), "peak": _brief(peak)})
    return out


def _brief(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("qps", "concurrency", "p99", "mean_batch_size")}


def cost(rows: Sequence[dict[str, Any]], options: Options) -> dict[str, Any]:
    """The cost of /rag generate per request and per 1000 generated tokens, retrieval's share separated."""
    split = rm.cost_split(rm.per_request(rows, "/rag extractive", "server_cpu_s"),
                          rm.per_request(rows, "/rag generate", "server_cpu_s"),
                          rm.per_request(rows, "/rag generate", "generated_tokens"), options.usd_per_vcpu_hour)
    return {**asdict(split), "retrieval_share": split.retrieval_share, "usd_per_request": split.usd_per_request,
            "usd_per_1k_tokens": split.usd_per_1k_tokens, "price_source": PRICE_SOURCE}


def measure(url: str, pid: int, texts: Sequence[str], options: Options) -> dict[str, Any]:
    """Every figure of the page from the server at ``url`` (process ``pid``), RSS sampled all along."""
    plan = rm.CellPlan(options.window_s, options.warmup_s, options.generation_requests_per_client)
    chosen = rm.routes(options.top_k, options.rag_top_k, options.max_new_tokens)
    load_start = os.getloadavg()
    with RssSampler(pid) as sampler:
        rows = rm.latency_table(url, pid, chosen, options.concurrencies, texts, plan)
        streaming = [rm.streaming_row(url, c, options.stream_requests, options.stream_tokens)
                     for c in options.stream_concurrencies]
    peak = max(rss for _, rss in sampler.samples)
    return {"options": asdict(options), "loadavg_start": list(load_start), "loadavg_end": list(os.getloadavg()),
            "cpus": os.cpu_count(), "python": platform.python_version(), "latency": rows, "streaming": streaming,
            "throughput": throughput(rows, options), "cost": cost(rows, options),
            "rss_mib": {"start": sampler.samples[0][1] / MIB, "peak_sampled": peak / MIB,
                        "end": sampler.samples[-1][1] / MIB, "samples": len(sampler.samples),
                        "high_water_mark": (sampler.high_water_mark() or 0) / MIB}}


def _f(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def latency_lines(rows: Sequence[dict[str, Any]]) -> list[str]:
    lines = ["| route | concurrency | requests | non-200 | window s | QPS | p50 ms | p95 ms | p99 ms "
             "| server CPU ms / request |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['route']} | {r['concurrency']} | {r['requests']} | {r['non_200']} | {_f(r['window_s'], 2)} "
              f"| {_f(r['qps'])} | {_f(r['p50'])} | {_f(r['p95'])} | {_f(r['p99'])} "
              f"| {_f(1000 * r['server_cpu_s'] / max(r['requests'], 1))} |" for r in rows]
    return lines


def throughput_lines(summary: Sequence[dict[str, Any]]) -> list[str]:
    lines = ["| route | p99 SLO ms | steady QPS | at concurrency | its p99 ms | peak QPS | at concurrency "
             "| its p99 ms | batch size at peak |", "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for s in summary:
        steady, peak = s["steady"] or {}, s["peak"]
        batch = (f"decode 1 (streams interleave); embedding {_f(peak['mean_batch_size'])}"
                 if s["route"] == "/rag generate" else f"embedding {_f(peak['mean_batch_size'])}")
        lines.append(f"| {s['route']} | {_f(s['slo_p99_ms'], 0)} | {_f(steady.get('qps'))} "
                     f"| {steady.get('concurrency', '-')} | {_f(steady.get('p99'))} | {_f(peak['qps'])} "
                     f"| {peak['concurrency']} | {_f(peak['p99'])} | {batch} |")
    return lines


def streaming_lines(rows: Sequence[dict[str, Any]]) -> list[str]:
    lines = ["| concurrency | requests | tokens | TTFT p50 ms | TTFT p95 ms | TTFT p99 ms | ITL p50 ms | ITL p95 ms "
             "| ITL p99 ms | tokens/s (all streams) |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['concurrency']} | {r['requests']} | {r['tokens']} | {_f(r['ttft_p50'])} | {_f(r['ttft_p95'])} "
              f"| {_f(r['ttft_p99'])} | {_f(r['itl_p50'])} | {_f(r['itl_p95'])} | {_f(r['itl_p99'])} "
              f"| {_f(r['tokens_per_s'])} |" for r in rows]
    return lines


def cost_lines(c: dict[str, Any]) -> list[str]:
    total = c["retrieval_cpu_s"] + c["generation_cpu_s"]
    per_1k = 1000 * c["usd_per_vcpu_hour"] / 3600  # $ per 1000 requests of one CPU-second each
    return [f"Priced at **${c['usd_per_vcpu_hour']:.5f} per vCPU-hour** ({c['price_source']}, per vCPU), "
            "one CPU-second of the server process counted as one vCPU-second (a fully used machine; idle "
            "capacity costs extra).", "",
            "| | server CPU ms / request | share | $ / 1k requests |", "|---|---:|---:|---:|",
            f"| retrieval (measured on /rag extractive) | {_f(1000 * c['retrieval_cpu_s'])} "
            f"| {_f(100 * c['retrieval_share'])} % | {_f(c['retrieval_cpu_s'] * per_1k, 5)} |",
            f"| generation (the rest of /rag generate) | {_f(1000 * c['generation_cpu_s'])} "
            f"| {_f(100 * (1 - c['retrieval_share']))} % "
            f"| {_f(c['generation_cpu_s'] * per_1k, 5)} |",
            f"| /rag generate, whole | {_f(1000 * total)} | 100 % | {_f(1000 * c['usd_per_request'], 5)} |", "",
            f"Generated tokens per /rag generate request: {_f(c['tokens'], 2)}, so **${_f(c['usd_per_1k_tokens'], 5)} "
            "per 1000 generated tokens**, retrieval included. The prompt's prefill (passages and question) is "
            "part of the generation share: with few new tokens per answer it is most of it."]


def rag_quality_lines(path: Path) -> list[str]:
    """The rows of ``evaluate_rag``'s JSON as its own table, or how to produce them."""
    if not path.is_file():
        return [f"No RAG evaluation at `{path}` when this page was written. `python -m "
                "c08_serving_ops.rag.evaluate` writes it (recall@1/5, EM/F1, citations, latency, cost per "
                "configuration; see the README's RAG evaluation); `make report` then adds its rows here."]
    from c08_serving_ops.rag.scores import Row
    from c08_serving_ops.rag.tables import markdown

    rows = [Row(**row) for row in json.loads(path.read_text(encoding="utf-8"))]
    written = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    return [f"From `{path}` (written {written:%Y-%m-%d %H:%M} UTC by `python -m c08_serving_ops.rag.evaluate`, "
            "a separate run in process on XQuAD's held-out questions):", "", markdown(rows)]


def plot(results: dict[str, Any], out: Path) -> None:
    """``latency.png``: p50/p95/p99 against concurrency per route; ``throughput.png``: QPS against concurrency."""
    from matplotlib.figure import Figure

    rows = results["latency"]
    names = list(dict.fromkeys(r["route"] for r in rows))
    figure = Figure(figsize=(3.2 * len(names), 3.4), layout="constrained")
    for axes, name in zip(figure.subplots(1, len(names), squeeze=False)[0], names, strict=True):
        cells = [r for r in rows if r["route"] == name]
        for key, style in (("p50", "-o"), ("p95", "--s"), ("p99", ":^")):
            axes.plot([r["concurrency"] for r in cells], [r[key] for r in cells], style, label=key)
        slo = results["options"]["generation_slo_ms" if name == "/rag generate" else "slo_ms"]
        axes.axhline(slo, color="grey", lw=0.8, ls="--", label="p99 SLO")
        axes.set(xscale="log", yscale="log", title=name, xlabel="concurrency", ylabel="latency (ms)")
        axes.set_xticks([r["concurrency"] for r in cells], [str(r["concurrency"]) for r in cells])
        axes.legend(fontsize=8)
    figure.savefig(out / "latency.png", dpi=100)
    figure = Figure(figsize=(5.5, 3.6), layout="constrained")
    axes = figure.subplots()
    for name in names:
        cells = [r for r in rows if r["route"] == name]
        axes.plot([r["concurrency"] for r in cells], [r["qps"] for r in cells], "-o", label=name)
    concurrencies = results["options"]["concurrencies"]
    axes.set(xscale="log", yscale="log", xlabel="concurrency (closed loop)", ylabel="requests / s",
             title="Throughput per cell (requests of the window / its seconds)")
    axes.set_xticks(concurrencies, [str(c) for c in concurrencies])
    axes.legend(fontsize=8)
    figure.savefig(out / "throughput.png", dpi=100)


def page(results: dict[str, Any], command: str, rag_eval: Path) -> str:
    """The Markdown page of ``results`` (see the module docstring)."""
    o, rss = results["options"], results["rss_mib"]
    load = results["loadavg_start"][0], results["loadavg_end"][0]
    concurrencies = ", ".join(str(c) for c in o["concurrencies"])
    return "\n".join([
        "# c08 service benchmark report", "",
        f"Generated by `{command}` on {results['date']} UTC (Python {results['python']}, {results['cpus']} CPUs). "
        f"Server: `{results['server']}`. 1-minute load average {load[0]:.2f} at the start and {load[1]:.2f} at "
        f"the end: the machine is shared with other jobs, and the load generator runs on the same "
        f"{results['cpus']} cores as the server, so these are figures of a busy small machine.", "",
        "## Latency per route", "",
        f"Closed loop (each client sends its next request when the last is answered) at concurrency "
        f"{concurrencies}. Each cell first runs {o['warmup_s']:g} s of the same load (discarded), then records "
        f"the requests sent in the next **{o['window_s']:g} s window** (those in flight at its end are awaited). "
        f"/rag generate (top_k {o['rag_top_k']}, {o['max_new_tokens']} new tokens) is warmed by one request and "
        f"its window also stops after {o['generation_requests_per_client']} request(s) per client. Every query "
        f"is distinct (no cache hits): XQuAD's held-out questions, /search with top_k {o['top_k']}. "
        "p50/p95/p99 are `numpy.percentile` (linear interpolation) over the window's latencies, all kept in "
        "`report.json`.", "", *latency_lines(results["latency"]), "", "![latency per route](latency.png)", "",
        "## Steady and peak QPS", "",
        "Peak: the highest throughput over the concurrencies. Steady: the highest whose p99 stays under the "
        "route's SLO with no refusal. Batch size: inputs per forward pass of the embedding batcher during "
        "that cell (from the server's `c08_batch_size` histogram); decode steps are not batched.", "",
        *throughput_lines(results["throughput"]), "", "![throughput](throughput.png)", "",
        "## Streamed generation: TTFT and inter-token latency", "",
        f"`POST /generate` with `stream: true` ({o['stream_tokens']} new tokens, {o['stream_requests']} requests "
        "per client, one after another), timed at the client as each token event arrives.", "",
        *streaming_lines(results["streaming"]), "",
        "## Memory", "",
        f"Server RSS (psutil, sampled every 0.5 s over the whole run, {rss['samples']} samples): "
        f"{rss['start']:.0f} MiB at the start, {rss['peak_sampled']:.0f} MiB at the peak, {rss['end']:.0f} MiB at "
        f"the end; the kernel's high-water mark since the server started (loading included): "
        f"{rss['high_water_mark']:.0f} MiB.", "",
        "## Cost per 1000 tokens, retrieval's share included", "",
        "CPU-seconds of the server process (psutil `cpu_times`, user + system) over each window, per request: "
        "retrieval from /rag's extractive route (the same retrieval, nothing generated), generation as the "
        "rest of a /rag generate request.", "", *cost_lines(results["cost"]), "",
        "## RAG quality", "", *rag_quality_lines(rag_eval), "",
        "Raw figures: [report.json](report.json).", ""])


def write(results: dict[str, Any], out: Path, command: str, rag_eval: Path = RAG_EVAL) -> Path:
    """``report.md``, the PNGs and ``report.json`` into ``out``; returns the Markdown's path."""
    out.mkdir(parents=True, exist_ok=True)
    plot(results, out)
    (out / "report.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    markdown = out / "report.md"
    markdown.write_text(page(results, command, rag_eval), encoding="utf-8")
    return markdown


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    defaults = Options()
    parser = argparse.ArgumentParser(prog="python -m c08_serving_ops.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    parser.add_argument("--concurrency", default="1,8,32", help="comma-separated concurrency levels")
    parser.add_argument("--window", type=float, default=defaults.window_s, help="seconds recorded per cell")
    parser.add_argument("--warmup", type=float, default=defaults.warmup_s, help="seconds discarded before each")
    parser.add_argument("--max-new-tokens", type=int, default=defaults.max_new_tokens, help="per /rag generate")
    parser.add_argument("--stream-concurrency", default="1,4", help="streaming /generate clients, comma-separated")
    parser.add_argument("--slo-ms", type=float, default=defaults.slo_ms, help="p99 SLO of the retrieval routes")
    parser.add_argument("--usd-per-vcpu-hour", type=float, default=USD_PER_VCPU_HOUR)
    parser.add_argument("--rag-eval", type=Path, default=RAG_EVAL, help="evaluate_rag's JSON (rows when present)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Start the server, measure, write the page; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    options = Options(concurrencies=tuple(int(c) for c in args.concurrency.split(",")), window_s=args.window,
                      warmup_s=args.warmup, max_new_tokens=args.max_new_tokens, slo_ms=args.slo_ms,
                      stream_concurrencies=tuple(int(c) for c in args.stream_concurrency.split(",")),
                      usd_per_vcpu_hour=args.usd_per_vcpu_hour)
    from c08_serving_ops.search.xquad import held_out_questions

    texts = [q.question for q in held_out_questions()]
    date = dt.datetime.now(dt.UTC)
    with ServerProcess(MAKE_SERVE_ARGS, env=SERVER_ENV) as server:
        results = measure(server.url, server.pid, texts, options)
    results["date"] = f"{date:%Y-%m-%d %H:%M}"
    results["server"] = ("python -m c08_serving_ops.server.serve " + " ".join(MAKE_SERVE_ARGS)
                         + " (make serve's flags) with " + " ".join(f"{k}={v}" for k, v in SERVER_ENV.items()))
    markdown = write(results, args.out, " ".join(["python -m c08_serving_ops.report", *argv]), args.rag_eval)
    print(f"wrote {markdown}, {', '.join(PNG_NAMES)} and report.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
