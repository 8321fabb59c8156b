"""c08.13: POST /rag: hybrid retrieval, a cited prompt within the context budget, generation or the extractive route.

Oracles: ``/search`` (hybrid, RRF) for the passages and their scores; the model's own tokenizer for
the prompt budget; ``ChatModel.generate_chat`` on the same messages for the answer.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import AppServer, generation_loader, make_settings, skip_all_but, start_app

from c05_nlp_transformers.llama_tokenizer import apply_chat_template
from c08_serving_ops.core.sse import parse_sse
from c08_serving_ops.rag.prompt import Passage, attribute, build_prompt, citations, extractive_answer, sentences
from c08_serving_ops.tools import bench_generation
from c08_serving_ops.tools.fuzz import fuzz

pytestmark = pytest.mark.task("c08.13")

QUERY = "what similarity laws must be obeyed when constructing aeroelastic models of heated high speed aircraft"


@pytest.fixture(scope="module")
def rag_server(live: AppServer, llm: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    server = start_app(make_settings(tmp_path_factory.mktemp("rag"), generation=True, generate_context=1024),
                       generation_loader(live, llm))
    yield server
    server.stop()


def counter(llm: Any) -> Any:
    return lambda messages: llm.count_tokens(apply_chat_template(messages))


def test_sentences_extractive_answer_and_citations() -> None:
    passage = "The wing flutters at Mach 2. Heated models need similarity laws for stiffness! Nothing else?"
    assert sentences(passage) == ["The wing flutters at Mach 2.", "Heated models need similarity laws for stiffness!",
                                  "Nothing else?"]
    assert extractive_answer("which similarity laws hold for heated models", passage) == sentences(passage)[1]
    assert extractive_answer("zebra", passage) == sentences(passage)[0]  # no overlap anywhere: the first sentence
    assert extractive_answer("anything", "   ") == ""
    assert citations("As [2] and [1] say, and [2] again; [7] and [0] do not exist.", 3) == [2, 1]


def test_an_uncited_answer_is_attributed_to_the_first_passage_holding_it() -> None:
    passages = ["Tesla died in 1943 in New York.", "Marconi sent radio waves across the Atlantic in 1901."]
    assert attribute("Marconi", passages) == ("Marconi [2]", True)
    assert attribute("in 1943, in New York ", passages) == ("in 1943, in New York [1]", True)  # punctuation ignored
    assert attribute("radio WAVES", passages) == ("radio WAVES [2]", True)  # case ignored
    assert attribute("1901", passages[:1]) == ("1901", False)  # in no passage: left uncited
    assert attribute("Marco", passages) == ("Marco", False)  # whole words only
    assert attribute("Tesla [1]", passages) == ("Tesla [1]", False)  # the model cited: unchanged
    assert attribute("", passages) == ("", False)
    assert attribute("...", passages) == ("...", False)  # no words


def test_the_prompt_fits_its_budget(llm: Any) -> None:
    count = counter(llm)
    passages = [Passage(str(i), "", f"Passage number {i} says " + "many words here " * 20, 1.0 / i)
                for i in range(1, 6)]
    messages, kept = build_prompt("What do the passages say?", passages, 200, count)
    assert [p.doc_id for p in kept] == [p.doc_id for p in passages[: len(kept)]] and 1 <= len(kept) < 5
    assert count(messages) <= 200
    with_next, _ = build_prompt("What do the passages say?", passages[: len(kept) + 1], 10_000, count)
    assert count(with_next) > 200  # one more passage would not have fitted
    assert "[1] Passage number 1" in messages[1]["content"]
    tight, cut = build_prompt("What do the passages say?", passages, 90, count)
    assert len(cut) == 1 and cut[0].text != passages[0].text and passages[0].text.startswith(cut[0].text)
    assert count(tight) <= 90
    with pytest.raises(ValueError, match="prompt budget"):
        build_prompt("What do the passages say? " * 30, passages, 60, count)


def search_hits(server: AppServer, k: int) -> list[dict[str, Any]]:
    with server.client() as http:
        hits: list[dict[str, Any]] = http.post("/search", json={"query": QUERY, "top_k": k}).json()["hits"]
    return hits


def test_the_extractive_route(rag_server: AppServer) -> None:
    with rag_server.client() as http:
        body = http.post("/rag", json={"query": QUERY, "route": "extractive"}).json()
        metrics = http.get("/metrics").text
    top = search_hits(rag_server, 1)[0]
    assert body["route"] == "extractive" and body["finish_reason"] == "extractive"
    assert body["usage"] == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    assert [(p["id"], p["score"]) for p in body["passages"]] == [(top["id"], top["score"])]
    assert body["answer"].endswith(" [1]") and body["answer"][:-4] in sentences(body["passages"][0]["text"])
    assert body["citations"] == [1] and body["cited"] == body["passages"]
    assert 'c08_generated_tokens_total{route="/rag"}' not in metrics  # nothing generated


def test_the_extractive_route_needs_no_language_model(live: AppServer) -> None:
    with live.client() as http:
        extractive = http.post("/rag", json={"query": QUERY, "route": "extractive"})
        generate = http.post("/rag", json={"query": QUERY})
    assert extractive.status_code == 200 and extractive.json()["citations"] == [1]
    assert generate.status_code == 503 and generate.json()["error_type"] == "not_ready"


def test_the_generate_route_matches_the_chat_model(rag_server: AppServer, llm: Any) -> None:
    with rag_server.client() as http:
        body = http.post("/rag", json={"query": QUERY, "top_k": 3, "max_new_tokens": 12}).json()
    hits = search_hits(rag_server, 3)
    assert [(p["id"], p["score"]) for p in body["passages"]] == [(h["id"], h["score"]) for h in hits]
    passages = [Passage(p["id"], p["title"], p["text"], p["score"]) for p in body["passages"]]
    messages, kept = build_prompt(QUERY, passages, 1024 - 12, counter(llm))
    assert len(kept) == 3
    reference = llm.generate_chat(messages, max_new_tokens=12)
    answer, attributed = attribute(reference.text, [p.text for p in passages])
    assert body["answer"] == answer and body["attributed"] == attributed and body["route"] == "generate"
    assert body["finish_reason"] == reference.finish_reason
    assert body["citations"] == citations(answer, 3)
    assert body["usage"] == {"prompt_tokens": reference.prompt_tokens, "completion_tokens": reference.completion_tokens,
                             "total_tokens": reference.prompt_tokens + reference.completion_tokens}
    assert [c["index"] for c in body["cited"]] == body["citations"]


def test_streaming_rag_and_its_spans(rag_server: AppServer) -> None:
    rag_server.spans.clear()
    with rag_server.client() as http, http.stream("POST", "/rag", json={
            "query": QUERY, "top_k": 2, "max_new_tokens": 6, "stream": True}) as response:
        text = response.read().decode()
    events = parse_sse(text)
    assert events[-1] == ("message", "[DONE]")
    tokens = [json.loads(data) for _, data in events[:-1]]
    final = tokens[-1]
    assert "".join(t["token"]["text"] for t in tokens) == final["generated_text"]
    texts = [p["text"] for p in final["details"]["passages"]]
    assert final["details"]["answer"] == attribute(final["generated_text"], texts)[0]
    assert final["details"]["usage"]["completion_tokens"] == len(tokens)  # one event per token read
    assert len(final["details"]["passages"]) == 2 and final["details"]["route"] == "generate"
    spans = {s.name: s for s in rag_server.finished_spans("request", "retrieve", "prompt", "generate")}
    request = spans["request"]
    for name in ("retrieve", "prompt", "generate"):
        assert spans[name].parent is not None and spans[name].parent.span_id == request.context.span_id
    assert spans["retrieve"].end_time <= spans["prompt"].start_time <= spans["generate"].start_time


@pytest.mark.parametrize(("change", "field"), [
    ({"top_k": 0}, "top_k"), ({"top_k": 11}, "top_k"), ({"query": ""}, "query"), ({"query": "   "}, "query"),
    ({"route": "abstractive"}, "route"), ({"max_new_tokens": 0}, "max_new_tokens"),
    ({"max_new_tokens": 600}, "max_new_tokens"), ({"temperature": 3.0}, "temperature"),
    ({"query": "why " * 1000}, "prompt budget")])
def test_bad_requests_are_422(rag_server: AppServer, change: dict[str, Any], field: str) -> None:
    with rag_server.client() as http:
        response = http.post("/rag", json={"query": QUERY, **change})
        assert response.status_code == 422, response.text
        assert field in response.json()["error"]
        assert_answers(http)  # refused, and the route still answers a good request


def assert_answers(http: Any) -> None:
    """A good request on the extractive route (no generation: cheap) gets its cited answer."""
    response = http.post("/rag", json={"query": QUERY, "route": "extractive"})
    assert response.status_code == 200 and response.json()["passages"], response.text


def test_fuzzing_rag_finds_nothing(gen_server: Any) -> None:
    """Every schemathesis check on /rag (2 new tokens at most; a context that holds any generated query)."""
    server: AppServer = gen_server(max_new_tokens_limit=2, generate_context=2048)
    report = fuzz(server.url, max_examples=6, skip_paths=skip_all_but("/rag"))
    assert report.operations == 1 and report.cases >= 8 and {200, 422} <= set(report.statuses)
    assert report.server_errors == [] and report.failures == [], report.failures[:10]


@pytest.mark.parametrize("surrogate", ["\ud800", "\udbff", "\udc00", "\udfff"])
def test_a_lone_surrogate_is_422(rag_server: AppServer, surrogate: str) -> None:
    for route in ("generate", "extractive"):
        body = json.dumps({"query": f"what {surrogate} laws", "route": route}).encode()  # the escape, as JSON has it
        with rag_server.client() as http:
            response = http.post("/rag", content=body, headers={"content-type": "application/json"})
            assert response.status_code == 422, response.text
            assert response.json()["error_type"] == "validation_error" and "query" in response.json()["error"]
            assert_answers(http)


def test_the_benchmark_times_each_rag_stage(gen_server: Any) -> None:
    server: AppServer = gen_server()
    stages = bench_generation.rag_stages(server.url, 1, 2)  # /search, then /rag on both routes
    assert set(stages) == {"search_ms", "rag_extractive_ms", "rag_generate_ms", "max_new_tokens"}
