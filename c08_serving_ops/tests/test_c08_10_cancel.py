"""c08.10: a client that disconnects stops its generation within one token step and frees its KV cache.

Observed three ways: the ``c08_generation_active`` gauge falls to 0 and
``c08_generation_cancelled_total`` counts the request; the generation's token generator (whose
frame holds the KV cache) is closed; and a server with a single slot takes the next request.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from conftest import UNOBSERVED, AppServer, generation_loader, make_settings, start_app

from c05_nlp_transformers.chat import ChatModel
from c08_serving_ops.core.sse import parse_sse
from c08_serving_ops.generation.engine import Generation, GenerationEngine, GenerationParams

pytestmark = pytest.mark.task("c08.10")

PROMPT = "Once upon a time"
LONG = 300  # far more tokens than a test waits for: only a cancellation ends these early
WAIT_S = 30.0  # a bound for the server to notice, generous for a loaded 2-core machine


def metric(server: AppServer, name: str) -> float:
    text = httpx.get(f"{server.url}/metrics").text
    match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert match is not None, name
    return float(match.group(1))


def wait_until(condition: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "not within the bound"
        time.sleep(0.02)


def recording(server: AppServer) -> list[Generation]:
    """Make the app's engine (with one request) and record every generation it starts from now on."""
    with server.client() as http:
        assert http.post("/generate", json={"inputs": PROMPT, "parameters": {"max_new_tokens": 1}}).status_code == 200
    engine: GenerationEngine = server.app.state.generation
    made: list[Generation] = []
    new = engine.new

    def record(prompt: list[int], params: GenerationParams) -> Generation:
        made.append(new(prompt, params))
        return made[-1]

    engine.new = record  # type: ignore[method-assign]
    return made


def test_disconnect_mid_stream_stops_and_frees(gen_server: Any) -> None:
    server: AppServer = gen_server(max_active_generations=1, max_waiting_generations=0)
    made = recording(server)
    with server.client() as http:
        with http.stream("POST", "/generate", json={"inputs": PROMPT, "stream": True,
                                                    "parameters": {"max_new_tokens": LONG}}) as response:
            lines = response.iter_lines()  # held: dropping the iterator would close the connection
            events = [line for line in itertools.islice(lines, 6) if line.startswith("data:")]
            assert len(events) == 3
            assert metric(server, "c08_generation_active") == 1
        # the response is closed: the client is gone
        wait_until(lambda: metric(server, "c08_generation_active") == 0)
        assert metric(server, "c08_generation_cancelled_total") == 1
        generation = made[-1]
        assert generation.released and generation.finish_reason is None
        assert generation.generated_tokens < LONG
        tokens = generation.generated_tokens
        time.sleep(0.3)  # several decode steps: none may run any more
        assert generation.generated_tokens == tokens
        after = http.post("/generate", json={"inputs": PROMPT, "parameters": {"max_new_tokens": 2}})
    assert after.status_code == 200  # the only slot was given back


def test_disconnect_while_waiting_for_a_json_answer(gen_server: Any) -> None:
    server: AppServer = gen_server()
    made = recording(server)
    with server.client() as http, pytest.raises(httpx.ReadTimeout):
        http.post("/generate", json={"inputs": PROMPT, "parameters": {"max_new_tokens": LONG}}, timeout=0.5)
    wait_until(lambda: metric(server, "c08_generation_active") == 0)
    assert metric(server, "c08_generation_cancelled_total") == 1
    assert made[-1].released and made[-1].generated_tokens < LONG


class FailingModel:
    """The real model, until its ``fail_at``-th call raises (a fault in the middle of a generation)."""

    def __init__(self, model: Any, fail_at: int) -> None:
        self.model, self.fail_at, self.calls = model, fail_at, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == self.fail_at:
            raise RuntimeError("the accelerator fell over")
        return self.model(*args, **kwargs)


def test_an_error_after_streaming_began_is_an_error_event(live: AppServer, llm: Any, tmp_path: Any) -> None:
    broken = ChatModel(FailingModel(llm.model, fail_at=3), llm.tokenizer, llm.vocab_size, llm.context)
    server = start_app(make_settings(tmp_path, generation=True, max_active_generations=1, **UNOBSERVED),
                       generation_loader(live, broken))
    try:
        with server.client() as http:
            with http.stream("POST", "/generate", json={"inputs": PROMPT, "stream": True,
                                                        "parameters": {"max_new_tokens": 8}}) as response:
                text = response.read().decode()
            plain = http.post("/generate", json={"inputs": PROMPT, "parameters": {"max_new_tokens": 8}})
        events = parse_sse(text)
        assert response.status_code == 200
        assert [e for e, _ in events] == ["message", "message", "error"]  # two tokens, then the error, no [DONE]
        assert "accelerator fell over" in events[-1][1] and "generation_error" in events[-1][1]
        assert plain.status_code == 200  # the slot was freed; this generation runs to the end
        broken.model.fail_at = broken.model.calls + 2
        failed = httpx.post(f"{server.url}/generate", json={"inputs": PROMPT, "parameters": {"max_new_tokens": 8}},
                            timeout=60)
        assert failed.status_code == 500 and failed.json()["error_type"] == "generation_error"
        assert metric(server, "c08_generation_active") == 0
    finally:
        server.stop()
