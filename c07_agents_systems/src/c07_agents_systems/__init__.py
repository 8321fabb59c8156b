"""c07: a multi-agent plan / execute / review system over an asyncio message bus, measured.

One concept per file, in the order of the tasks:

* c07.1 :mod:`~c07_agents_systems.messages` (typed messages, the JSON-lines trace),
  :mod:`~c07_agents_systems.bus` (mailboxes, back-pressure, topics, request/reply with timeouts);
* c07.2 tools: :mod:`~c07_agents_systems.calculator` (a safe parser), :mod:`~c07_agents_systems.table_tool`
  (polars), :mod:`~c07_agents_systems.retrieval_tool` (c06's BM25), :mod:`~c07_agents_systems.sandbox`
  (Python in a limited child process), :mod:`~c07_agents_systems.tools` (the tool box);
  agents: :mod:`~c07_agents_systems.agents` (Planner, Executor, Reviewer) and
  :mod:`~c07_agents_systems.retry` (retries with exponential back-off);
* c07.3 :mod:`~c07_agents_systems.actions` (structured actions, schemas, parsing),
  :mod:`~c07_agents_systems.prompts`, :mod:`~c07_agents_systems.rule_policy`,
  :mod:`~c07_agents_systems.backends` (scripted, OpenAI-compatible, SmolLM2 via c05),
  :mod:`~c07_agents_systems.llm_policy`;
* c07.4 :mod:`~c07_agents_systems.budget` (budgets), :mod:`~c07_agents_systems.faults`,
  :mod:`~c07_agents_systems.system` (the coordinator: one task, one run, one reason);
* c07.5 :mod:`~c07_agents_systems.suite` (the task suite), :mod:`~c07_agents_systems.evaluate`
  (``python -m c07_agents_systems.evaluate``) and :mod:`~c07_agents_systems.records` (what it records);
* c07.6 :mod:`~c07_agents_systems.html_trace` (a run as HTML), :mod:`~c07_agents_systems.plots` (PNGs).

The command-line module is not imported here, so ``python -m`` runs it cleanly.
"""

from c07_agents_systems.actions import (
    ACTION_SCHEMA,
    PLAN_SCHEMA,
    TOOL_NAMES,
    VERDICT_SCHEMA,
    Action,
    Decision,
    MalformedOutputError,
    Plan,
    Policy,
    PolicyError,
    Step,
    StepOutcome,
    Verdict,
    count_tokens,
    extract_json,
    parse_action,
    parse_plan,
    parse_verdict,
)
from c07_agents_systems.agents import Agent, Executor, Planner, Reviewer, resolve
from c07_agents_systems.backends import (
    BackendError,
    BackendUnavailableError,
    ChatBackend,
    ChatReply,
    OpenAIBackend,
    ScriptedBackend,
    SmolLMBackend,
)
from c07_agents_systems.budget import Budget, BudgetExceededError, Meter
from c07_agents_systems.bus import MailboxFullError, MessageBus, RequestTimeoutError, UnknownRecipientError
from c07_agents_systems.calculator import CalculatorError, calculate
from c07_agents_systems.faults import FaultInjector, FaultyPolicy
from c07_agents_systems.html_trace import render_html, write_html
from c07_agents_systems.llm_policy import LLMPolicy
from c07_agents_systems.messages import Message, Trace
from c07_agents_systems.plots import plot_success_vs_cost, plot_trace
from c07_agents_systems.retrieval_tool import RetrievalError, RetrievalTool, Town, make_towns
from c07_agents_systems.retry import retry_with_backoff
from c07_agents_systems.rule_policy import RulePolicy, parse_task
from c07_agents_systems.sandbox import SandboxError, SnippetResult, run_snippet
from c07_agents_systems.suite import FAMILIES, SuiteTask, make_suite
from c07_agents_systems.system import MODES, RunResult, SystemConfig, run_task, run_task_async
from c07_agents_systems.table_tool import TableError, TableTool, bundled_frame
from c07_agents_systems.tools import ToolBox, ToolError, numeric_value

__all__ = [
    "ACTION_SCHEMA", "FAMILIES", "MODES", "PLAN_SCHEMA", "TOOL_NAMES", "VERDICT_SCHEMA",
    "Action", "Agent", "BackendError", "BackendUnavailableError", "Budget", "BudgetExceededError", "CalculatorError",
    "ChatBackend", "ChatReply", "Decision", "Executor", "FaultInjector", "FaultyPolicy", "LLMPolicy",
    "MailboxFullError", "MalformedOutputError", "Message", "MessageBus", "Meter", "OpenAIBackend", "Plan", "Planner",
    "Policy", "PolicyError", "RequestTimeoutError", "RetrievalError", "RetrievalTool", "Reviewer", "RulePolicy",
    "RunResult", "SandboxError", "ScriptedBackend", "SmolLMBackend", "SnippetResult", "Step", "StepOutcome",
    "SuiteTask", "SystemConfig", "TableError", "TableTool", "ToolBox", "ToolError", "Town", "Trace",
    "UnknownRecipientError", "Verdict", "bundled_frame", "calculate", "count_tokens", "extract_json",
    "make_suite", "make_towns", "numeric_value", "parse_action", "parse_plan", "parse_task", "parse_verdict",
    "plot_success_vs_cost", "plot_trace", "render_html", "resolve", "retry_with_backoff", "run_snippet",
    "run_task", "run_task_async", "write_html",
]
