"""c08.13: the whole service soaked on the real process: part 1's routes and the generation service's.

c08.8 soaks part 1's routes on a server without the language model; once ``/rag`` exists every
route is soaked together, with a key, on a server with generation on: ``/generate`` as JSON and as a
stream, ``/v1/models``, ``/v1/chat/completions`` and ``/rag`` on both routes, beside the search
routes and the bad inputs. The real process also streams the model's own tokens, one event each.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from conftest import SMOKE_KEYS, assert_every_call_answered

from c05_nlp_transformers.inference import generate_tokens
from c08_serving_ops.core.sse import parse_sse
from c08_serving_ops.tools import soak
from c08_serving_ops.tools.process import ServerProcess

pytestmark = pytest.mark.task("c08.13")


def test_a_short_authenticated_soak_over_every_route(generation_process: ServerProcess) -> None:
    assert "soak" in SMOKE_KEYS
    report = soak.run_soak(generation_process.url, generation_process.pid, api_key="soak", seconds=120.0,
                           concurrency=2, max_rounds=3, interval_s=0.25, settle_s=1.0, anonymous=False)
    calls = soak.round_of_calls(0, "any", anonymous=False)
    assert {call.name for call in calls if call.generation} == {
        "generate", "generate_stream", "models", "chat", "rag_extractive", "rag_generate", "bad_max_new_tokens"}
    assert_every_call_answered(report, calls, rounds=3, warmup_rounds=1)


def test_streaming_over_the_real_server_process(generation_process: ServerProcess, llm: Any) -> None:
    """The real process streams the model's own greedy tokens, one event each, with a key."""
    prompt = "The capital of France is"
    assert "gen" in SMOKE_KEYS
    body = {"inputs": prompt, "stream": True, "parameters": {"max_new_tokens": 4}}
    with httpx.Client(base_url=generation_process.url, timeout=60.0, headers={"Authorization": "Bearer gen"}) as http, \
            http.stream("POST", "/generate", json=body) as response:
        text = response.read().decode()
    assert response.status_code == 200
    events = parse_sse(text)
    assert events[-1] == ("message", "[DONE]")
    expected = generate_tokens(llm.model, llm.tokenizer.encode(prompt), 4, eos_ids=[llm.eos_id])
    assert [json.loads(data)["token"]["id"] for _, data in events[:-1]] == expected
