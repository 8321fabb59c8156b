"""c08.15: the RAG evaluation: retrieval recall, EM/F1, citations, latency, cost, the router and the Pareto front.

Oracles: hand-computed rows for :func:`score` (SQuAD scores from c05, whose own tests check them
against the official definitions), brute force for the Pareto front, and the XQuAD file itself for
the collection (every paragraph once; the held-out articles' questions never among the queries).
The graded figures: retrieval and the extractive route over all 301 held-out questions, and a
LoRA-tuned SmolLM2 (c05's shortened 24-step fine-tune) against the untuned one on 10 questions.
"""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import pytest
from conftest import AppServer

from c08_serving_ops.core.settings import Settings
from c08_serving_ops.rag import evaluate as evaluate_rag
from c08_serving_ops.rag.evaluate import evaluate, sample
from c08_serving_ops.rag.evaluate_served import evaluate_served
from c08_serving_ops.rag.prompt import Passage
from c08_serving_ops.rag.scores import Answer, Retrieved, Row, confidence, pareto_front, route, score
from c08_serving_ops.rag.tables import markdown, plot
from c08_serving_ops.search.components import Components, load_search_components
from c08_serving_ops.search.xquad import RagQuestion, held_out_questions, load_named_collection, load_xquad_collection

pytestmark = pytest.mark.task("c08.15")

GENERATED_QUESTIONS = 10  # seeded sample of the held-out questions answered by SmolLM2 (about 2 s each)


@pytest.fixture(scope="module")
def questions() -> list[RagQuestion]:
    return held_out_questions()


@pytest.fixture(scope="module")
def xquad_components() -> Any:
    components = load_search_components(Settings(collection="xquad", in_memory=True, rerank=False))
    yield components
    components.close()


def row_of(rows: list[Row], name: str) -> Row:
    return next(r for r in rows if r.config == name)


def test_the_xquad_collection_holds_every_paragraph_and_no_held_out_question(questions: list[RagQuestion]) -> None:
    collection = load_xquad_collection()
    assert len(collection) == 240 and len({d.text for d in collection.documents}) == 240
    assert len(questions) == 301 and len(collection.queries) == 1190 - 301
    held_out_articles = {q.article.replace("_", " ") for q in questions}
    assert len(held_out_articles) == 12
    for query_id, gains in collection.qrels.items():  # one judged paragraph each, never a held-out one
        (doc_id, gain), = gains.items()
        assert gain == 1 and collection.document(doc_id).title not in held_out_articles, query_id
    assert not {q.question for q in questions} & set(collection.queries.values())
    for q in questions:  # every gold answer is a span of its gold paragraph
        assert any(a in collection.document(q.gold_id).body for a in q.answers)
    assert load_named_collection("XQuAD").doc_ids == collection.doc_ids
    with pytest.raises(ValueError, match="unknown collection"):
        load_named_collection("no-such-collection")


def test_score_by_hand() -> None:
    qs = [RagQuestion("who?", ("Marie Curie",), "a", "x"), RagQuestion("when?", ("1903", "in 1903"), "b", "x")]
    retrieved = [Retrieved([Passage("a", "", "", 0.03), Passage("b", "", "", 0.02)], 0.01, 1.0),
                 Retrieved([Passage("c", "", "", 0.03)] * 4 + [Passage("b", "", "", 0.01)], 0.01, 0.5)]
    answers = [Answer("Marie Curie [1]", ["a"], 0.1, 500, 4, "generate", attributed=True),
               Answer("It was 1903 or 1904 [2]", ["c"], 0.3, 700, 10, "generate")]
    row = score("cfg", qs, retrieved, answers, usd_per_1k_tokens=0.5)
    assert (row.recall_at_1, row.recall_at_5) == (0.5, 1.0)
    # F1: 1 for the first; the second: 1 of 5 predicted tokens in "1903" (1 token) -> P 0.2, R 1 -> 1/3
    assert row.exact_match == 0.5 and row.f1 == pytest.approx((1 + 1 / 3) / 2)
    assert row.citation_rate == 0.5 and row.attributed_share == 0.5 and row.generated_share == 1.0
    assert row.p50_ms == pytest.approx(200) and row.p95_ms == pytest.approx(290)
    assert row.tokens_per_answer == 7 and row.usd_per_1k_questions == pytest.approx((504 + 710) / 2 * 0.5)
    with pytest.raises(ValueError, match="one retrieval and one answer per question"):
        score("cfg", qs, retrieved[:1], answers)
    with pytest.raises(ValueError, match="at least one question"):
        score("cfg", [], [], [])


def test_confidence_route_and_sample() -> None:
    agree = [Passage("a", "", "", 2 / 61), Passage("b", "", "", 1 / 62)]
    assert confidence(agree) == pytest.approx(1.0) and confidence([]) == 0.0
    assert confidence([Passage("a", "", "", 1 / 61)]) == pytest.approx(0.5)  # one retriever only
    assert route(Retrieved(agree, 0.0, 1.0), 1.0) == "extractive"
    assert route(Retrieved(agree, 0.0, 0.99), 1.0) == "generate"
    items = [RagQuestion(str(i), ("a",), "d", "x") for i in range(10)]
    picked = sample(items, 4, seed=3)
    assert picked == sample(items, 4, seed=3) and len(picked) == 4
    assert [int(q.question) for q in picked] == sorted(int(q.question) for q in picked)  # in file order
    assert sample(items, 50) == items
    with pytest.raises(ValueError, match="number of questions"):
        sample(items, 0)


def fake_row(name: str, cost: float, f1: float) -> Row:
    return Row(name, 1, 1, 1, 0, f1, 0, 0, 0, 0, cost, 0, 0)


def test_pareto_front_against_brute_force(tmp_path: Path) -> None:
    rng = random.Random(0)
    for _ in range(200):
        rows = [fake_row(f"r{i}", rng.choice([0.0, 0.1, 0.2, 0.3]), rng.choice([0.1, 0.2, 0.5])) for i in range(6)]
        front = pareto_front(rows)
        for a in rows:
            beaten = any(b.usd_per_1k_questions <= a.usd_per_1k_questions and b.f1 >= a.f1
                         and (b.usd_per_1k_questions, b.f1) != (a.usd_per_1k_questions, a.f1) for b in rows)
            assert (a.config in front) == (not beaten)
        costs = [next(r for r in rows if r.config == n).usd_per_1k_questions for n in front]
        assert costs == sorted(costs)
    rows = [fake_row("cheap", 0.0, 0.2), fake_row("good", 0.06, 0.5), fake_row("worse", 0.07, 0.1)]
    assert pareto_front(rows) == ["cheap", "good"]
    assert plot(rows, tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert markdown(rows).count("\n") == 4 and "| good | 1 |" in markdown(rows)


def test_retrieval_and_the_extractive_route_on_every_held_out_question(
        xquad_components: Components, questions: list[RagQuestion], metric: Any) -> None:
    (extractive,) = evaluate(xquad_components, questions, {})
    assert extractive.config == "extractive" and extractive.questions == 301
    # the extractive route cites the top passage, so it cites the gold paragraph exactly when recall@1 hits
    assert extractive.citation_rate == pytest.approx(extractive.recall_at_1)
    assert extractive.usd_per_1k_questions == 0 and extractive.tokens_per_answer == 0
    metric("rag_recall_at_1", extractive.recall_at_1)
    metric("rag_recall_at_5", extractive.recall_at_5)
    metric("rag_extractive_f1", extractive.f1)


def test_lora_tuned_against_untuned_and_the_router(
        xquad_components: Components, questions: list[RagQuestion], llm: Any, tmp_path: Path, metric: Any) -> None:
    from c05_nlp_transformers.chat import ChatModel
    from c05_nlp_transformers.finetune import FinetuneConfig, train_lora
    from c05_nlp_transformers.squad import load_xquad, split_by_article

    train, _ = split_by_article(load_xquad())
    tuned_model = copy.deepcopy(llm.model)
    train_lora(tuned_model, llm.tokenizer, train, FinetuneConfig(steps=24, lr=2e-3, short_context=True))
    tuned = ChatModel(tuned_model, llm.tokenizer, llm.vocab_size, llm.context)
    asked = sample(questions, GENERATED_QUESTIONS, seed=0)
    rows = evaluate(xquad_components, asked, {"generate-fp32": llm, "lora-fp32": tuned}, max_new_tokens=24,
                    router_threshold=1.0)
    assert [r.config for r in rows][:3] == ["extractive", "generate-fp32", "lora-fp32"]
    untuned, lora, routed = row_of(rows, "generate-fp32"), row_of(rows, "lora-fp32"), rows[3]
    assert routed.config == f"router ({max([untuned, lora], key=lambda r: r.f1).config})"
    for row in (untuned, lora):
        assert 0 < row.tokens_per_answer <= 24 and row.usd_per_1k_questions > 0 and row.p95_ms >= row.p50_ms > 0
    # the router's mix: extractive (free) where both retrievers agree, generation elsewhere
    assert routed.usd_per_1k_questions <= max(untuned.usd_per_1k_questions, lora.usd_per_1k_questions)
    assert 0 <= routed.generated_share <= 1
    front = pareto_front(rows)
    assert front[0] == "extractive" and all(name in [r.config for r in rows] for name in front)
    metric("rag_lora_f1_gain", lora.f1 - untuned.f1)
    metric("rag_lora_citation_rate", lora.citation_rate)


def test_a_served_evaluation_agrees_with_the_in_process_one(
        gen_server: Any, app_server: Any, live: AppServer, llm: Any, questions: list[RagQuestion], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    # live serves Cranfield: XQuAD questions retrieve unrelated passages (recall 0), which is fine for an
    # oracle: over HTTP and in process, the same passages, answers, citations and tokens
    asked = sample(questions, 3, seed=1)
    server: AppServer = gen_server()
    with server.client() as http:
        served = evaluate_served(http, asked, max_new_tokens=16)
    assert live.service.components is not None
    local = evaluate(live.service.components, asked, {"generate-fp32": llm}, max_new_tokens=16)
    assert [r.config for r in served] == ["served-extractive", "served-generate", "served-router"]
    for ours, theirs in zip(served, local, strict=True):
        for field in ("recall_at_1", "recall_at_5", "exact_match", "f1", "citation_rate", "tokens_per_answer",
                      "usd_per_1k_questions", "generated_share", "attributed_share"):
            assert getattr(ours, field) == pytest.approx(getattr(theirs, field)), (ours.config, field)
        assert ours.p95_ms >= ours.p50_ms > 0
    without_generation: AppServer = app_server()  # generation off: the generate route is 503, one row only
    with without_generation.client() as http:
        (only,) = evaluate_served(http, asked)
    assert only.config == "served-extractive" and only.f1 == served[0].f1
    out = tmp_path / "served"
    assert evaluate_rag.main(["--url", without_generation.url, "--questions", "2", "--out", str(out)]) == 0
    assert "| served-extractive | 2 |" in capsys.readouterr().out and (out / "rag_eval.json").is_file()


def test_the_evaluation_answers_as_the_route_does(gen_server: Any, live: AppServer, llm: Any,
                                                  questions: list[RagQuestion]) -> None:
    # one pipeline (rag_pipeline.py): the /rag response and the evaluation's answer, question by question
    assert live.service.components is not None
    server: AppServer = gen_server()
    with server.client() as http:
        for question in sample(questions, 2, seed=3):
            (retrieved,) = evaluate_rag.retrieve_all(live.service.components, [question], depth=3)
            for route_name in ("extractive", "generate"):
                served = http.post("/rag", json={"query": question.question, "top_k": 3, "route": route_name,
                                                 "max_new_tokens": 12})
                assert served.status_code == 200, served.text
                body = served.json()
                ours = (evaluate_rag.answer_extractive(question, retrieved) if route_name == "extractive" else
                        evaluate_rag.answer_generate(llm, question, retrieved, max_new_tokens=12))
                assert ours.text == body["answer"] and ours.attributed == body["attributed"], route_name
                assert ours.cited_ids == [p["id"] for p in body["cited"]], route_name
                assert ours.completion_tokens == body["usage"]["completion_tokens"], route_name


def test_the_command_line_writes_table_json_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert evaluate_rag.main(["--questions", "5", "--configs", "", "--out", str(tmp_path), "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "| extractive | 5 |" in out and "Pareto front (cost, F1): extractive" in out
    assert (tmp_path / "rag_pareto.png").is_file() and (tmp_path / "rag_eval.json").is_file()
    for unknown in ("generate-fp16", "lora-q4_1"):  # q4_1 is the file's blocks: no adapter can be merged into them
        with pytest.raises(SystemExit):
            evaluate_rag.main(["--configs", unknown, "--out", str(tmp_path)])
