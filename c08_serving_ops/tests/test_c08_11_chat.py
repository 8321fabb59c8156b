"""c08.11: the OpenAI-compatible POST /v1/chat/completions (JSON and chunk streaming) and GET /v1/models.

Two oracles: c05's ``ChatModel.generate_chat`` in process (same text and token counts), and the
official ``openai`` SDK as the client (if it parses the answers, existing clients work unchanged).
"""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from conftest import UNOBSERVED, AppServer, generation_loader, make_settings, start_app

from c08_serving_ops.core.sse import parse_sse

pytestmark = pytest.mark.task("c08.11")

MODEL = "smollm2-135m-instruct"
QUESTION = [{"role": "user", "content": "What is 2+2? Answer with a number only."}]
STORY = [{"role": "system", "content": "You tell short stories."}, {"role": "user", "content": "A story about a cat."}]


@pytest.fixture(scope="module")
def chat_server(live: AppServer, llm: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    server = start_app(make_settings(tmp_path_factory.mktemp("chat"), generation=True, **UNOBSERVED),
                       generation_loader(live, llm))
    yield server
    server.stop()


@pytest.fixture
def sdk(chat_server: AppServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{chat_server.url}/v1", api_key="unused", max_retries=0, timeout=60.0)


def test_completion_matches_the_chat_model(chat_server: AppServer, llm: Any) -> None:
    reference = llm.generate_chat(QUESTION, max_new_tokens=12)
    assert reference.finish_reason == "eos_token"
    with chat_server.client() as http:
        body = http.post("/v1/chat/completions", json={"model": MODEL, "messages": QUESTION, "max_tokens": 12,
                                                       "temperature": 0, "frequency_penalty": 0}).json()
    assert body["object"] == "chat.completion" and body["model"] == MODEL and body["id"].startswith("chatcmpl-")
    choice = body["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": reference.text}
    assert choice["finish_reason"] == "stop"
    assert body["usage"] == {"prompt_tokens": reference.prompt_tokens, "completion_tokens": reference.completion_tokens,
                             "total_tokens": reference.prompt_tokens + reference.completion_tokens}


def test_the_official_sdk_works_unchanged(sdk: openai.OpenAI, llm: Any) -> None:
    reference = llm.generate_chat(STORY, max_new_tokens=6)
    models = sdk.models.list()
    assert [m.id for m in models.data] == [MODEL]
    completion = sdk.chat.completions.create(model=MODEL, messages=STORY, max_tokens=6, temperature=0)  # type: ignore[arg-type]
    assert completion.choices[0].message.content == reference.text
    assert completion.choices[0].finish_reason == "length"
    chunks = list(sdk.chat.completions.create(model=MODEL, messages=STORY, max_tokens=6, temperature=0,  # type: ignore[arg-type]
                                              stream=True))
    assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == reference.text
    assert [c.choices[0].finish_reason for c in chunks][-1] == "length"
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])


def test_stream_chunks_stop_strings_and_done(chat_server: AppServer, llm: Any) -> None:
    reference = llm.generate_chat(STORY, max_new_tokens=10, stop=[" was a"])
    assert reference.finish_reason == "stop_sequence"  # the stop string occurs within the 10 tokens
    with chat_server.client() as http, http.stream("POST", "/v1/chat/completions", json={
            "model": MODEL, "messages": STORY, "max_tokens": 10, "temperature": 0, "stop": " was a",
            "stream": True}) as response:
        text = response.read().decode()
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(text)
    assert events[-1] == ("message", "[DONE]")
    chunks = [json.loads(data) for _, data in events[:-1]]
    content = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert content == reference.text
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_sampling_with_a_seed_repeats(sdk: openai.OpenAI) -> None:
    def ask() -> str | None:
        out = sdk.chat.completions.create(model=MODEL, messages=STORY, max_tokens=6, temperature=0.9,  # type: ignore[arg-type]
                                          top_p=0.9, seed=7)
        return out.choices[0].message.content

    assert ask() == ask()


@pytest.mark.parametrize(("change", "param"), [
    ({"temperature": 2.5}, "temperature"), ({"top_p": 0}, "top_p"), ({"max_tokens": 0}, "max_tokens"),
    ({"max_tokens": 600}, "max_tokens"), ({"n": 2}, "n"), ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
    ({"messages": []}, "messages"), ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].role"),
    ({"seed": -1}, "seed"), ({"stream": "yes"}, "stream")])
def test_bad_requests_are_400_naming_the_field(chat_server: AppServer, change: dict[str, Any], param: str) -> None:
    with chat_server.client() as http:
        response = http.post("/v1/chat/completions", json={"model": MODEL, "messages": QUESTION, **change})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param and param in error["message"]


def test_an_unknown_model_is_404(chat_server: AppServer) -> None:
    with chat_server.client() as http:
        response = http.post("/v1/chat/completions", json={"model": "gpt-4", "messages": QUESTION})
    assert response.status_code == 404 and response.json()["error"]["code"] == "model_not_found"


def test_generation_off_is_503_for_models(live: AppServer) -> None:
    with live.client() as http:
        assert http.get("/v1/models").status_code == 503
