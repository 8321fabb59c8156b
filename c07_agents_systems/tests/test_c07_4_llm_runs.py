"""c07.4: the LLM policy in whole runs under the coordinator, from scripted replies and a dead endpoint.

Oracles: the task's answer (300 square metres) when the replies are right; otherwise the run's
reason. Malformed output is a reviewed failure, never a crash, and an unreachable chat server ends
every mode with a reason that names it.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from c07_agents_systems import LLMPolicy, OpenAIBackend, ScriptedBackend, SystemConfig, ToolBox, run_task

pytestmark = pytest.mark.task("c07.4")

ACCEPT = '{"verdict": "accept", "reason": "ok"}'
TASK = "A field is 10 m long and 20 m wide. Its length grows by 50 percent. What is its new area in square metres?"


def plan_json(*expressions: str) -> str:
    return json.dumps({"steps": [{"tool": "calculator", "input": {"expression": e}} for e in expressions]})


def scripted_llm(*replies: str) -> LLMPolicy:
    return LLMPolicy(ScriptedBackend(list(replies)), max_new_tokens=64, timeout_s=5)


@pytest.fixture
def free_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    yield port  # closed again: nothing listens there


def test_llm_policy_runs_a_task_from_scripted_replies(tools: ToolBox) -> None:
    policy = scripted_llm(plan_json("10 * (1 + 50 / 100)", "{s1} * 20"), ACCEPT, ACCEPT, ACCEPT, ACCEPT)
    result = run_task(TASK, policy, tools, SystemConfig(mode="plan_execute_review"))
    assert result.finished and result.answer == 300.0
    assert result.tokens == policy.spent_tokens > 0
    executor = scripted_llm(json.dumps({"action": "call", "tool": "calculator", "input": {"expression": "15 * 20"}}),
                            '```json\n{"action": "finish", "answer": 300}\n```')
    result = run_task(TASK, executor, tools, SystemConfig(mode="executor"))
    assert result.finished and result.answer == 300.0


def test_malformed_output_is_a_reviewed_failure_not_a_crash(tools: ToolBox) -> None:
    alone = run_task(TASK, scripted_llm("The answer is 300."), tools, SystemConfig(mode="plan_execute"))
    assert not alone.finished and alone.reason.startswith("planner failed: MalformedOutputError: no JSON object")
    assert alone.trace.events[-1]["type"] == "run_end" and alone.tokens > 0  # the bad reply was still billed
    reviewed = run_task(TASK, scripted_llm('{"steps": "all at once"}', plan_json("10 * 1.5", "{s1} * 20"),
                                           ACCEPT, ACCEPT, ACCEPT, ACCEPT), tools,
                        SystemConfig(mode="plan_execute_review"))
    assert reviewed.finished and reviewed.answer == 300.0  # the malformed plan was asked for again
    bad_verdict = run_task(TASK, scripted_llm(plan_json("10 * 1.5", "{s1} * 20"), ACCEPT, "yes", ACCEPT, ACCEPT,
                                              ACCEPT), tools, SystemConfig(mode="plan_execute_review"))
    assert bad_verdict.finished and bad_verdict.answer == 300.0  # a malformed verdict means: run the step again
    exhausted = run_task(TASK, scripted_llm(plan_json("1 + 1")), tools, SystemConfig(mode="plan_execute_review"))
    assert not exhausted.finished and "only 1 replies" in exhausted.reason


def test_unreachable_endpoint_ends_the_run_with_a_reason(tools: ToolBox, free_port: int) -> None:
    backend = OpenAIBackend(f"http://127.0.0.1:{free_port}", timeout_s=2)
    for mode in ("plan_execute", "plan_execute_review", "executor"):
        result = run_task(TASK, LLMPolicy(backend), tools, SystemConfig(mode=mode))  # type: ignore[arg-type]
        assert not result.finished and f"cannot reach http://127.0.0.1:{free_port}" in result.reason
        assert "chat backend failed" in result.reason and result.trace.events[-1]["type"] == "run_end"
    backend.close()
