"""c08.11: OpenAI's contract, checked with the official ``openai`` SDK as the client.

Errors are OpenAI's error object on every ``/v1`` route (the SDK's typed exceptions carry message,
type, param and code); content as text parts; the developer role; ``GET /v1/models/{id}``;
``stream_options.include_usage``; every request field honoured, refused with a 400 naming it, or a
stated no-op. The oracle for the answers is c05's ``ChatModel.generate_chat`` in process.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from conftest import UNOBSERVED, AppServer, generation_loader, make_settings, skip_all_but, start_app

from c08_serving_ops.tools.fuzz import fuzz

pytestmark = pytest.mark.task("c08.11")

MODEL = "smollm2-135m-instruct"
QUESTION = [{"role": "user", "content": "What is 2+2? Answer with a number only."}]
STORY = [{"role": "system", "content": "You tell short stories."}, {"role": "user", "content": "A story about a cat."}]
KEY = "contract-key"


@pytest.fixture(scope="module")
def server(live: AppServer, llm: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    settings = make_settings(tmp_path_factory.mktemp("contract"), generation=True, **UNOBSERVED)
    running = start_app(settings, generation_loader(live, llm))
    yield running
    running.stop()


@pytest.fixture
def sdk(server: AppServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0, timeout=60.0)


def error_of(response: httpx.Response) -> dict[str, Any]:
    """OpenAI's error object, checked for its four fields."""
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}, body
    error: dict[str, Any] = body["error"]
    return error


def test_sdk_exceptions_carry_message_type_param_and_code(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as bad:
        sdk.chat.completions.create(model=MODEL, messages=QUESTION, temperature=2.5)  # type: ignore[arg-type]
    assert bad.value.status_code == 400 and bad.value.type == "invalid_request_error"
    assert bad.value.param == "temperature" and bad.value.code == "invalid_value"
    assert "temperature" in bad.value.message and "2" in bad.value.message
    with pytest.raises(openai.NotFoundError) as missing:
        sdk.chat.completions.create(model="gpt-4o", messages=QUESTION)  # type: ignore[arg-type]
    assert missing.value.status_code == 404 and missing.value.code == "model_not_found"
    assert missing.value.param == "model" and "gpt-4o" in missing.value.message
    assert missing.value.type == "invalid_request_error"
    with pytest.raises(openai.BadRequestError) as role:
        sdk.chat.completions.create(model=MODEL, messages=[{"role": "tool", "content": "x",  # type: ignore[list-item]
                                                            "tool_call_id": "1"}])
    assert role.value.param is not None and role.value.param.startswith("messages[0]")
    assert "tool" in role.value.message


def test_models_retrieve_and_list(sdk: openai.OpenAI) -> None:
    model = sdk.models.retrieve(MODEL)
    assert model.id == MODEL and model.object == "model" and model.owned_by
    assert [m.id for m in sdk.models.list().data] == [MODEL]
    with pytest.raises(openai.NotFoundError) as missing:
        sdk.models.retrieve("gpt-4o")
    assert missing.value.code == "model_not_found" and missing.value.param == "model"


def test_authentication_and_rate_limit_errors_are_openai_errors(live: AppServer, llm: Any,
                                                                tmp_path_factory: pytest.TempPathFactory) -> None:
    server = start_app(make_settings(tmp_path_factory.mktemp("keys"), generation=True, api_keys=[KEY], **UNOBSERVED,
                                     rate_per_s=0.01, burst=2), generation_loader(live, llm))
    try:
        wrong = openai.OpenAI(base_url=f"{server.url}/v1", api_key="wrong", max_retries=0, timeout=60.0)
        with pytest.raises(openai.AuthenticationError) as denied:
            wrong.models.list()
        assert denied.value.status_code == 401 and denied.value.code == "invalid_api_key"
        assert denied.value.type == "invalid_request_error" and "bearer" in denied.value.message.lower()
        right = openai.OpenAI(base_url=f"{server.url}/v1", api_key=KEY, max_retries=0, timeout=60.0)
        with pytest.raises(openai.RateLimitError) as limited:
            for _ in range(3):  # a burst of 2, then nothing for 100 s
                right.models.list()
        assert limited.value.status_code == 429 and limited.value.code == "rate_limit_exceeded"
        assert limited.value.type == "requests" and limited.value.response.headers["retry-after"]
        with server.client() as http:  # the service's own routes keep the service's shape
            embed = http.post("/embed", json={"inputs": "x"})
        assert embed.status_code == 401 and embed.json()["error_type"] == "unauthorized"
        assert isinstance(embed.json()["error"], str)
    finally:
        server.stop()


def test_route_and_body_errors_have_the_openai_shape(server: AppServer) -> None:
    with server.client() as http:
        unknown = http.get("/v1/embeddings")
        method = http.get("/v1/chat/completions")
        not_json = http.post("/v1/chat/completions", content=b"{nope", headers={"content-type": "application/json"})
        not_utf8 = http.post("/v1/chat/completions", content=b"\xff\xfe", headers={"content-type": "application/json"})
        extra = http.post("/v1/chat/completions", json={"model": MODEL, "messages": QUESTION, "best_of": 2})
        service = http.get("/no-such-route")
    assert unknown.status_code == 404 and error_of(unknown)["code"] == "unknown_url"
    assert method.status_code == 405 and error_of(method)["code"] == "method_not_allowed"
    assert "POST" in method.headers["allow"]
    for response in (not_json, not_utf8):
        assert response.status_code == 400 and error_of(response)["code"] == "invalid_json"
    assert extra.status_code == 400
    assert error_of(extra) == {"message": "unknown parameter: 'best_of'", "type": "invalid_request_error",
                               "param": "best_of", "code": "unknown_parameter"}
    assert service.status_code == 404 and service.json()["error_type"] == "not_found"


def test_text_parts_and_the_developer_role(sdk: openai.OpenAI, llm: Any) -> None:
    reference = llm.generate_chat([{"role": "system", "content": "Answer briefly.\nUse digits."},
                                   {"role": "user", "content": "What is 2+2?"}], max_new_tokens=8)
    parts = sdk.chat.completions.create(model=MODEL, max_tokens=8, temperature=0, messages=[  # type: ignore[misc]
        {"role": "developer", "content": [{"type": "text", "text": "Answer briefly."},
                                          {"type": "text", "text": "Use digits."}]},
        {"role": "user", "content": [{"type": "text", "text": "What is 2+2?"}]}])
    assert parts.choices[0].message.content == reference.text
    assert parts.usage is not None and parts.usage.prompt_tokens == reference.prompt_tokens
    with pytest.raises(openai.BadRequestError) as image:
        sdk.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": [  # type: ignore[misc]
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}])
    assert image.value.param == "messages[0].content" and "image_url" in image.value.message


@pytest.mark.parametrize("role", ["tool", "function", "bot"])
def test_other_roles_are_refused_by_name(server: AppServer, role: str) -> None:
    with server.client() as http:
        response = http.post("/v1/chat/completions", json={"model": MODEL, "messages": [
            {"role": role, "content": "hello"}]})
    assert response.status_code == 400
    error = error_of(response)
    assert error["param"] == "messages[0].role" and f"'{role}'" in error["message"]


def test_include_usage_sends_the_usage_chunk(sdk: openai.OpenAI, llm: Any) -> None:
    reference = llm.generate_chat(STORY, max_new_tokens=5)
    chunks = list(sdk.chat.completions.create(model=MODEL, messages=STORY, max_completion_tokens=5,  # type: ignore[arg-type]
                                              temperature=0, stream=True, stream_options={"include_usage": True}))
    *content, final = chunks
    assert final.choices == [] and final.usage is not None
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (reference.prompt_tokens,
                                                                         reference.completion_tokens)
    assert final.usage.total_tokens == reference.prompt_tokens + reference.completion_tokens
    assert all(c.usage is None and len(c.choices) == 1 for c in content)
    assert "".join(c.choices[0].delta.content or "" for c in content) == reference.text
    plain = list(sdk.chat.completions.create(model=MODEL, messages=STORY, max_tokens=5, temperature=0,  # type: ignore[arg-type]
                                             stream=True))
    assert all(c.choices for c in plain) and len(plain) == len(content)


REFUSED: list[tuple[str, Any]] = [
    ("tools", [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]),
    ("tool_choice", "auto"), ("functions", [{"name": "f"}]), ("function_call", "auto"),
    ("parallel_tool_calls", True), ("logprobs", True), ("top_logprobs", 2),
    ("response_format", {"type": "json_object"}), ("frequency_penalty", 0.5), ("presence_penalty", -1.0),
    ("logit_bias", {"50256": -100}), ("n", 2), ("store", True), ("audio", {"voice": "alloy", "format": "wav"}),
    ("modalities", ["text", "audio"]), ("prediction", {"type": "content", "content": "x"}),
    ("reasoning_effort", "low"), ("verbosity", "low"), ("web_search_options", {})]


@pytest.mark.parametrize(("field", "value"), REFUSED, ids=[f for f, _ in REFUSED])
def test_unsupported_fields_are_refused_by_name(sdk: openai.OpenAI, field: str, value: Any) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.chat.completions.create(model=MODEL, messages=QUESTION, max_tokens=2,  # type: ignore[arg-type]
                                    extra_body={field: value})
    assert refused.value.param is not None and refused.value.param.split(".")[0] == field
    assert field in refused.value.message and refused.value.code in ("unsupported_parameter", "invalid_value")


def test_off_values_and_no_ops_change_nothing(sdk: openai.OpenAI, llm: Any) -> None:
    reference = llm.generate_chat(QUESTION, max_new_tokens=6)
    answer = sdk.chat.completions.create(
        model=MODEL, messages=QUESTION, max_tokens=6, temperature=0, n=1, logprobs=False,  # type: ignore[arg-type]
        frequency_penalty=0, presence_penalty=0, response_format={"type": "text"}, logit_bias={}, store=False,
        modalities=["text"], user="u-1", metadata={"team": "c08"}, service_tier="auto", safety_identifier="s",
        prompt_cache_key="k", stream_options=None)
    assert answer.choices[0].message.content == reference.text
    plain = sdk.chat.completions.create(model=MODEL, messages=QUESTION, max_tokens=6, temperature=0)  # type: ignore[arg-type]
    assert plain.choices[0].message.content == reference.text


def test_limits_and_the_context_are_400_naming_the_field(server: AppServer) -> None:
    limit = server.service.settings.max_new_tokens_limit
    with server.client() as http:
        over = http.post("/v1/chat/completions", json={"model": MODEL, "messages": QUESTION,
                                                       "max_completion_tokens": limit + 1})
        stops = http.post("/v1/chat/completions", json={"model": MODEL, "messages": QUESTION,
                                                        "stop": ["a", "b", "c", "d", "e"]})
        long = http.post("/v1/chat/completions", json={"model": MODEL, "max_tokens": limit, "messages": [
            {"role": "user", "content": "word " * 2500}]})
        spec = http.get("/openapi.json").json()
    assert over.status_code == 400 and error_of(over)["param"] == "max_completion_tokens"
    assert stops.status_code == 400 and error_of(stops)["param"] == "stop"
    assert long.status_code == 400 and error_of(long) | {"message": ""} == {
        "message": "", "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}
    request = spec["components"]["schemas"]["ChatRequest"]["properties"]
    assert request["max_completion_tokens"]["anyOf"][0]["maximum"] == limit  # the schema states the limit
    responses = spec["paths"]["/v1/chat/completions"]["post"]["responses"]
    assert {"400", "401", "404", "413", "429", "500", "503"} <= set(responses) and "422" not in responses


def test_a_stream_error_is_an_openai_error_chunk(server: AppServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from c08_serving_ops.generation.engine import GenerationEngine

    async def broken(self: Any, generation: Any) -> Any:
        raise RuntimeError("the model broke")

    monkeypatch.setattr(GenerationEngine, "step", broken)
    with server.client() as http, http.stream("POST", "/v1/chat/completions", json={
            "model": MODEL, "messages": QUESTION, "max_tokens": 2, "stream": True}) as response:
        text = response.read().decode()
    data = [line[5:].strip() for line in text.splitlines() if line.startswith("data:")]
    assert "[DONE]" not in data
    error = json.loads(data[-1])["error"]
    assert error["type"] == "server_error" and "the model broke" in error["message"]


@pytest.mark.parametrize("surrogate", ["\ud800", "\udbff", "\udc00", "\udfff"])
def test_a_lone_surrogate_is_400_naming_the_field(server: AppServer, surrogate: str) -> None:
    text = f"2 {surrogate} 2"
    bodies: list[tuple[dict[str, Any], str]] = [
        ({"messages": [{"role": "user", "content": text}]}, "messages[0].content"),
        ({"messages": [{"role": "user", "content": [{"type": "text", "text": text}]}]}, "messages[0].content"),
        ({"messages": QUESTION, "stop": text}, "stop"), ({"messages": QUESTION, "user": text}, "user"),
        ({"messages": QUESTION, "metadata": {text: "x"}}, "metadata")]
    with server.client() as http:
        for body, param in bodies:
            response = http.post("/v1/chat/completions", content=json.dumps({"model": MODEL, **body}).encode(),
                                 headers={"content-type": "application/json"})  # the escape, as JSON carries it
            assert response.status_code == 400, response.text
            error = error_of(response)
            assert error["param"] is not None and error["param"].startswith(param), (param, error)
            assert error["type"] == "invalid_request_error" and "Unicode" in error["message"]
        retrieve = http.get("/v1/models/x%ED%A0%80")  # not UTF-8 in a path: decoded with replacement, 404
    assert retrieve.status_code == 404 and error_of(retrieve)["code"] == "model_not_found"


def test_fuzzing_the_openai_routes_finds_nothing(gen_server: Any) -> None:
    """Every schemathesis check on the /v1 routes (2 new tokens at most: cheap positive cases)."""
    server: AppServer = gen_server(max_new_tokens_limit=2, generate_context=2048)
    report = fuzz(server.url, max_examples=6,
                  skip_paths=skip_all_but("/v1/chat/completions", "/v1/models", "/v1/models/{model_id}"))
    assert report.operations == 3 and report.cases >= 18 and {200, 400, 404} <= set(report.statuses)
    assert report.server_errors == [] and report.failures == [], report.failures[:10]
