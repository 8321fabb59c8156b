"""``python -m c07_agents_systems.evaluate``: the configurations side by side on the task suite.

For every configuration (executor alone, plan + execute, plan + execute + review; without and
with injected faults; rule-based policies and, with ``--llm``, a chat-model policy) every task of
the suite runs once, and the table reports per configuration: success rate, mean and p95 steps,
mean tokens, tool calls, wall time and cost per task, and the success rate per task family.

Each task uses the same fault seed in every configuration (common random numbers), so the
differences between rows come from the configurations, not from luckier draws.

Outputs (``--out``, default ``c07_eval``): ``results.md`` (the table), ``results.json`` (every run),
``success_vs_cost.png``, and ``trace.html`` / ``trace.jsonl`` / ``trace.png`` of one sample run (the first
plan + execute + review run that meets both a loud and a silent tool fault). Bad arguments exit
with status 2 and one line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from c07_agents_systems.actions import Policy
from c07_agents_systems.budget import Budget
from c07_agents_systems.messages import Trace
from c07_agents_systems.records import Summary, TaskRecord
from c07_agents_systems.rule_policy import RulePolicy
from c07_agents_systems.suite import FAMILIES, SuiteTask, make_suite
from c07_agents_systems.system import MODES, Mode, RunResult, SystemConfig, run_task_async
from c07_agents_systems.tools import ToolBox

LABELS = {"executor": "executor alone", "plan_execute": "plan + execute",
          "plan_execute_review": "plan + execute + review"}


@dataclass(frozen=True)
class ConfigSpec:
    mode: Mode
    policy: str  # a key of the policies given to evaluate()
    tool_fault_rate: float = 0.0
    policy_fault_rate: float = 0.0

    @property
    def label(self) -> str:
        faults = f"faults p={self.tool_fault_rate:g}" + (f" q={self.policy_fault_rate:g}" if self.policy_fault_rate
                                                          else "")
        if not (self.tool_fault_rate or self.policy_fault_rate):
            faults = "no faults"
        return f"{LABELS[self.mode]} | {self.policy} | {faults}"


def standard_specs(tool_fault_rate: float = 0.2, policy_fault_rate: float = 0.0,
                   policies: Sequence[str] = ("rule",)) -> list[ConfigSpec]:
    """Every mode, without and with faults, for each policy."""
    specs = []
    for policy in policies:
        for rates in ((0.0, 0.0), (tool_fault_rate, policy_fault_rate)):
            specs += [ConfigSpec(mode, policy, *rates) for mode in MODES]
    return specs


async def evaluate_async(tasks: Sequence[SuiteTask], specs: Sequence[ConfigSpec], policies: dict[str, Policy],
                         tools: ToolBox, *, seed: int = 0, budget: Budget | None = None,
                         keep_trace: Callable[[ConfigSpec, SuiteTask, RunResult], bool] | None = None,
                         ) -> tuple[list[TaskRecord], tuple[str, Trace] | None]:
    """Run every task under every configuration; return the records and the first run ``keep_trace`` picks.

    The picked run comes back as ``("<configuration>#<task id>", trace)``.
    """
    # BEGIN SOLUTION c07.5: one run per (spec, task), same seed per task; record; keep one trace
    records, kept = [], None
    for spec in specs:
        if spec.policy not in policies:
            raise ValueError(f"configuration {spec.label!r} needs policy {spec.policy!r} (given: {sorted(policies)})")
        for i, task in enumerate(tasks):
            config = SystemConfig(mode=spec.mode, budget=budget or Budget(), tool_fault_rate=spec.tool_fault_rate,
                                  policy_fault_rate=spec.policy_fault_rate, seed=seed * 100_003 + i)
            result = await run_task_async(task.text, policies[spec.policy], tools, config)
            success = result.finished and task.is_correct(result.answer)
            records.append(TaskRecord(spec.label, task.task_id, task.family, success, result.answer, task.answer,
                                      result.reason, result.steps, result.tokens, result.tool_calls,
                                      result.wall_s, result.cost))
            if kept is None and keep_trace is not None and keep_trace(spec, task, result):
                kept = (f"{spec.label}#{task.task_id}", result.trace)
    return records, kept
    # END SOLUTION


def summarise(records: Sequence[TaskRecord]) -> list[Summary]:
    """One summary per configuration, in the order the configurations first appear."""
    # BEGIN SOLUTION c07.5: group by config; means, the 95th percentile of steps, success per family
    summaries = []
    for config in dict.fromkeys(r.config for r in records):
        rows = [r for r in records if r.config == config]
        by_family = {f: float(np.mean([r.success for r in rows if r.family == f]))
                     for f in FAMILIES if any(r.family == f for r in rows)}
        summaries.append(Summary(
            config, len(rows), float(np.mean([r.success for r in rows])), float(np.mean([r.steps for r in rows])),
            float(np.percentile([r.steps for r in rows], 95)), float(np.mean([r.tokens for r in rows])),
            float(np.mean([r.tool_calls for r in rows])), float(np.mean([r.wall_s for r in rows])),
            float(np.mean([r.cost for r in rows])), by_family))
    return summaries
    # END SOLUTION


def format_table(summaries: Sequence[Summary]) -> str:
    """A Markdown table, one row per configuration."""
    head = ("| configuration | policy | faults | tasks | success | " + " | ".join(FAMILIES) +
            " | mean steps | p95 steps | tokens | tool calls | wall ms | cost $ |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for s in summaries:
        families = " | ".join(f"{s.by_family[f]:.1%}" if f in s.by_family else "-" for f in FAMILIES)
        lines.append(f"| {s.config} | {s.tasks} | {s.success_rate:.1%} | {families} | {s.mean_steps:.2f} | "
                     f"{s.p95_steps:.0f} | {s.mean_tokens:.0f} | {s.mean_tool_calls:.2f} | "
                     f"{1000 * s.mean_wall_s:.1f} | {s.mean_cost:.5f} |")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m c07_agents_systems.evaluate", description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=120, help="suite size (>= 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fault-rate", type=float, default=0.2, help="p: probability that a tool call faults")
    parser.add_argument("--policy-fault-rate", type=float, default=0.0, help="q: probability of a wrong decision")
    parser.add_argument("--llm", action="store_true", help="also run the chat-model policy (slow on CPU)")
    parser.add_argument("--llm-tasks", type=int, default=6, help="tasks for the LLM configurations")
    parser.add_argument("--llm-faults", action="store_true", help="also run the LLM configurations with faults")
    parser.add_argument("--llm-url", default=None, help="an OpenAI-compatible server; default: SmolLM2 via c05")
    parser.add_argument("--llm-key", default=None)
    parser.add_argument("--llm-model", default="default")
    parser.add_argument("--max-new-tokens", type=int, default=160)
    parser.add_argument("--out", type=Path, default=Path("c07_eval"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # BEGIN SOLUTION c07.5: check the arguments; run rule (and LLM) configs; write the outputs
    args = build_parser().parse_args(argv)
    problems = [msg for bad, msg in (
        (args.tasks < 1, f"--tasks must be >= 1, got {args.tasks}"),
        (args.llm_tasks < 1, f"--llm-tasks must be >= 1, got {args.llm_tasks}"),
        (not 0 <= args.fault_rate <= 1, f"--fault-rate must be in [0, 1], got {args.fault_rate}"),
        (not 0 <= args.policy_fault_rate <= 1, f"--policy-fault-rate must be in [0, 1], got {args.policy_fault_rate}"),
    ) if bad]
    if problems:
        print(f"error: {problems[0]}", file=sys.stderr)
        return 2
    from c07_agents_systems.html_trace import write_html
    from c07_agents_systems.plots import plot_success_vs_cost, plot_trace

    tools = ToolBox.standard()
    tasks = make_suite(args.tasks, seed=args.seed)
    specs = standard_specs(args.fault_rate, args.policy_fault_rate)
    records, kept = asyncio.run(evaluate_async(tasks, specs, {"rule": RulePolicy()}, tools, seed=args.seed,
                                               keep_trace=_sample))
    if args.llm:
        from c07_agents_systems.backends import BackendError, OpenAIBackend, SmolLMBackend
        from c07_agents_systems.llm_policy import LLMPolicy

        try:
            backend = (OpenAIBackend(args.llm_url, api_key=args.llm_key, model=args.llm_model) if args.llm_url
                       else SmolLMBackend.load())
        except (BackendError, ValueError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        llm_tasks = _per_family(tasks, args.llm_tasks)
        llm_specs = [s for s in standard_specs(args.fault_rate, args.policy_fault_rate, ("llm",))
                     if args.llm_faults or s.tool_fault_rate == 0]
        llm_records, _ = asyncio.run(evaluate_async(llm_tasks, llm_specs, {
            "llm": LLMPolicy(backend, max_new_tokens=args.max_new_tokens)}, tools, seed=args.seed))
        records += llm_records
    summaries = summarise(records)
    args.out.mkdir(parents=True, exist_ok=True)
    table = format_table(summaries)
    (args.out / "results.md").write_text(table + "\n", encoding="utf-8")
    (args.out / "results.json").write_text(json.dumps({"summaries": [asdict(s) for s in summaries],
                                                       "runs": [asdict(r) for r in records]}, indent=1))
    plot_success_vs_cost(summaries, args.out / "success_vs_cost.png")
    if kept is None:  # no run met both kinds of fault (e.g. --fault-rate 0): show the first task reviewed
        result = asyncio.run(run_task_async(tasks[0].text, RulePolicy(), tools, SystemConfig(seed=args.seed)))
        kept = (f"{LABELS['plan_execute_review']} | rule#{tasks[0].task_id}", result.trace)
    if kept is not None:
        sample, trace = kept
        trace.to_jsonl(args.out / "trace.jsonl")
        write_html(trace, args.out / "trace.html", title=sample)
        plot_trace(trace, args.out / "trace.png", title=sample)
    print(table)
    print(f"wrote {args.out}/results.md, results.json, success_vs_cost.png, trace.html, trace.jsonl, trace.png")
    return 0
    # END SOLUTION


def _sample(spec: ConfigSpec, task: SuiteTask, result: RunResult) -> bool:
    """The sample run: the first reviewed run that meets both a loud and a silent tool fault."""
    faults = {e["fault"] for e in result.trace.of_type("tool_call")}
    return spec.mode == "plan_execute_review" and {"error", "corrupt"} <= faults


def _per_family(tasks: Sequence[SuiteTask], n: int) -> list[SuiteTask]:
    """The first ``n`` tasks taking the families in turn (so a short LLM run sees every family)."""
    queues = {f: [t for t in tasks if t.family == f] for f in FAMILIES}
    picked: list[SuiteTask] = []
    while len(picked) < n and any(queues.values()):
        for family in FAMILIES:
            if queues[family] and len(picked) < n:
                picked.append(queues[family].pop(0))
    return picked


if __name__ == "__main__":
    raise SystemExit(main())
