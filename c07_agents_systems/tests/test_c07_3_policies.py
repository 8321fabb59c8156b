"""c07.3: rule-based and LLM policies, structured actions with schemas, and the chat backends.

Oracles: the plans a careful person writes for each template; the JSON Schemas (every malformed
reply is refused with the path named); a real HTTP server on 127.0.0.1 that speaks OpenAI's
chat-completions format from a script. Whole runs of these policies are c07.4's and c07.5's tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from c07_agents_systems import (
    TOOL_NAMES,
    BackendError,
    BackendUnavailableError,
    LLMPolicy,
    MalformedOutputError,
    OpenAIBackend,
    Plan,
    PolicyError,
    RulePolicy,
    ScriptedBackend,
    SmolLMBackend,
    Step,
    StepOutcome,
    count_tokens,
    extract_json,
    parse_action,
    parse_plan,
    parse_task,
    parse_verdict,
)

pytestmark = pytest.mark.task("c07.3")

CALC = {"tool": "calculator", "input": {"expression": "6 * 7"}}


def plan_json(*expressions: str) -> str:
    return json.dumps({"steps": [{"tool": "calculator", "input": {"expression": e}} for e in expressions]})


ACCEPT = '{"verdict": "accept", "reason": "ok"}'


def test_rule_policy_decisions() -> None:
    policy = RulePolicy()
    task = "A field is 10 m long and 20 m wide. Its length grows by 50 percent. What is its new area in square metres?"

    async def main() -> None:
        plan = (await policy.plan(task)).value
        assert [s.input["expression"] for s in plan.steps] == ["10 * (1 + 50 / 100)", "{s1} * 20"]
        decision = await policy.next_action(task, [])
        assert decision.value.step == plan.steps[0] and decision.prompt_tokens > 50
        done = [StepOutcome(plan.steps[0], 15.0), StepOutcome(plan.steps[1], 300.0)]
        assert (await policy.next_action(task, done)).value.answer == 300.0
        assert (await policy.review_plan(task, plan)).value.decision == "accept"
        other = Plan((Step("calculator", {"expression": "1"}),))
        assert (await policy.review_plan(task, other)).value.decision == "replan"
        assert (await policy.review_plan("gibberish", plan)).value.decision == "reject"
        step = plan.steps[0]
        verdicts = [(await policy.review_step(task, outcome, check)).value.decision for outcome, check in (
            (StepOutcome(step, 15.0), StepOutcome(step, 15.0)), (StepOutcome(step, 15.0), StepOutcome(step, 16.0)),
            (StepOutcome(step, None, "boom"), None), (StepOutcome(step, 15.0), None),
            (StepOutcome(step, 15.0), StepOutcome(step, None, "down")))]
        assert verdicts == ["accept", "retry", "retry", "accept", "retry"]
        finals = [(await policy.review_final(task, answer, done)).value.decision
                  for answer in (300.0, 301.0, None, float("nan"))]
        assert finals == ["accept", "reject", "reject", "reject"]

    asyncio.run(main())


@pytest.mark.parametrize("task", ["", "What is love?", "A warehouse holds many crates.", 42])
def test_rule_policy_cannot_parse_is_a_policy_error(task: Any) -> None:
    with pytest.raises(PolicyError, match=r"cannot parse|is a str"):
        parse_task(task)


def test_extract_json_skips_prose_and_fences() -> None:
    assert extract_json('Sure! ```json\n{"verdict": "accept"}\n``` done') == {"verdict": "accept"}
    assert extract_json('{bad} then {"a": {"b": 1}} and {"c": 2}') == {"a": {"b": 1}}
    for text in ("no json here", "[1, 2, 3]", "{'single': 'quotes'}", ""):
        with pytest.raises(MalformedOutputError, match="no JSON object"):
            extract_json(text)
    with pytest.raises(MalformedOutputError, match="str"):
        extract_json(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("text, where", [
    ('{"steps": []}', "steps"),
    ('{"steps": [{"tool": "shell", "input": {}}]}', "steps/0/tool"),
    ('{"steps": [{"tool": "calculator"}]}', "steps/0"),
    ('{"steps": [{"tool": "calculator", "input": "6*7"}]}', "steps/0/input"),
    ('{"plan": "compute it"}', "top level"),
    ('{"steps": "6 * 7"}', "steps"),
])
def test_parse_plan_names_the_schema_violation(text: str, where: str) -> None:
    with pytest.raises(MalformedOutputError, match=f"at {where}:"):
        parse_plan(text)


def test_parse_action_and_verdict() -> None:
    assert parse_action('{"action": "finish", "answer": 4}').answer == 4.0
    call = parse_action(json.dumps({"action": "call"} | CALC))
    assert call.step == Step("calculator", {"expression": "6 * 7"})
    for bad in ('{"action": "finish"}', '{"action": "call", "tool": "calculator"}', '{"action": "dance"}',
                '{"action": "finish", "answer": "four"}'):
        with pytest.raises(MalformedOutputError, match="schema"):
            parse_action(bad)
    assert parse_verdict('{"verdict": "retry", "reason": "r"}').decision == "retry"
    assert parse_verdict('{"verdict": "accept"}').reason == ""
    with pytest.raises(MalformedOutputError, match="verdict"):
        parse_verdict('{"verdict": "maybe"}')


@settings(deadline=None, max_examples=100, database=None)
@given(st.lists(st.tuples(st.sampled_from(TOOL_NAMES), st.dictionaries(
    st.text(min_size=1, max_size=8), st.text(max_size=20) | st.integers() | st.floats(allow_nan=False), max_size=3)),
    min_size=1, max_size=12))
def test_plan_json_round_trips(steps: list[tuple[str, dict[str, Any]]]) -> None:
    plan = Plan(tuple(Step(tool, inputs) for tool, inputs in steps))
    assert parse_plan("Here is my plan:\n" + json.dumps(plan.to_json())) == plan


def test_count_tokens() -> None:
    assert count_tokens("What is 6 * 7?") == 6
    assert count_tokens("") == 0


TASK = "A field is 10 m long and 20 m wide. Its length grows by 50 percent. What is its new area in square metres?"


class ScriptedOpenAIServer:
    """A real HTTP server on a free 127.0.0.1 port answering /v1/chat/completions from a script."""

    def __init__(self, replies: list[Any]) -> None:
        self.replies, self.requests = list(replies), []  # type: list[Any], list[dict[str, Any]]
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                reply = outer.replies.pop(0) if outer.replies else "no more replies"
                if isinstance(reply, tuple):  # (status, raw body) or ("sleep", seconds)
                    if reply[0] == "sleep":
                        time.sleep(reply[1])
                        status, raw = 200, b"{}"
                    else:
                        status, raw = reply[0], reply[1].encode()
                else:
                    status, raw = 200, json.dumps({
                        "id": "x", "object": "chat.completion", "model": body["model"],
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply},
                                     "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                    self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedOpenAIServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_openai_backend_against_a_local_server() -> None:
    replies = [plan_json("10 * (1 + 50 / 100)", "{s1} * 20"), ACCEPT]
    with ScriptedOpenAIServer(replies) as server:
        backend = OpenAIBackend(server.url + "/", api_key="sk-test", model="tiny", timeout_s=5)
        policy = LLMPolicy(backend)
        plan = asyncio.run(policy.plan(TASK))
        verdict = asyncio.run(policy.review_plan(TASK, plan.value))
        backend.close()
    assert plan.value == Plan((Step("calculator", {"expression": "10 * (1 + 50 / 100)"}),
                               Step("calculator", {"expression": "{s1} * 20"})))
    assert verdict.value.decision == "accept"
    assert (plan.prompt_tokens, plan.completion_tokens) == (100, 20)  # from the server's usage, not estimated
    assert policy.spent_tokens == 2 * 120
    first = server.requests[0]
    assert first["path"] == "/v1/chat/completions" and first["auth"] == "Bearer sk-test"
    assert first["body"]["model"] == "tiny" and first["body"]["temperature"] == 0.0
    roles = [m["role"] for m in first["body"]["messages"]]
    assert roles == ["system", "user", "assistant", "user"]  # the plan prompt has one worked example


def test_openai_backend_failures_are_backend_errors() -> None:
    messages = [{"role": "user", "content": "hi"}]
    with ScriptedOpenAIServer([(500, "internal error"), (200, "not json"), (200, '{"choices": []}'),
                               ("sleep", 1.0), (200, '{"choices": [{"message": {"content": 5}}]}')]) as server:
        backend = OpenAIBackend(server.url, timeout_s=0.3)
        with pytest.raises(BackendError, match="HTTP 500: internal error"):
            backend.complete(messages)
        for _ in range(2):
            with pytest.raises(BackendError, match="not a chat completion"):
                backend.complete(messages)
        with pytest.raises(BackendError, match="did not answer in time"):
            backend.complete(messages)
        with pytest.raises(BackendError, match="not a chat completion"):
            backend.complete(messages)
        backend.close()
    with pytest.raises(ValueError, match="http"):
        OpenAIBackend("127.0.0.1:8000")


def test_llm_policy_timeout_and_arguments() -> None:
    class Slow:
        name = "slow"

        def complete(self, messages: Any, *, max_new_tokens: int = 1, temperature: float = 0.0) -> Any:
            time.sleep(0.5)
            raise AssertionError("never used")

    with pytest.raises(PolicyError, match=r"did not reply within 0\.05 s"):
        asyncio.run(LLMPolicy(Slow(), timeout_s=0.05).plan("t"))
    with pytest.raises(ValueError, match="max_new_tokens"):
        LLMPolicy(Slow(), max_new_tokens=0)
    script = ScriptedBackend(lambda messages: '{"verdict": "accept"}')
    assert script.complete([{"role": "user", "content": "a b"}]).prompt_tokens == 2


def test_smollm2_backend_maps_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "c05_nlp_transformers.chat", None)  # import fails as if c05 part 2 were absent
    with pytest.raises(BackendUnavailableError, match="c05 part 2"):
        SmolLMBackend.load()

    class Result:
        text, prompt_tokens, completion_tokens = '{"verdict": "accept"}', 7, 3

    class Model:
        def __init__(self, fail: bool) -> None:
            self.fail = fail

        def generate_chat(self, messages: Any, **kwargs: Any) -> Result:
            if self.fail:
                raise RuntimeError("out of memory")
            assert kwargs["temperature"] == 0.0 and kwargs["max_new_tokens"] == 12
            return Result()

    reply = SmolLMBackend(Model(False)).complete([{"role": "user", "content": "x"}], max_new_tokens=12)
    assert (reply.text, reply.prompt_tokens, reply.completion_tokens) == ('{"verdict": "accept"}', 7, 3)
    with pytest.raises(BackendError, match="RuntimeError: out of memory"):
        SmolLMBackend(Model(True)).complete([])
