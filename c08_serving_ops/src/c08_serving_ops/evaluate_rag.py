"""``python -m c08_serving_ops.evaluate_rag``: the RAG service's quality, latency and cost, per configuration.

On XQuAD-en's held-out articles (:mod:`~c08_serving_ops.xquad`: all 240 paragraphs indexed, the
12 held-out articles' questions asked) every configuration answers the same seeded sample of
questions through the service's own pieces (c06 hybrid retrieval, :mod:`~c08_serving_ops.rag`'s
budgeted prompt and citations, c05's SmolLM2):

* ``extractive``: the best sentence of the top passage, no generation (cost 0 tokens);
* ``generate-fp32`` / ``-int8`` / ``-q8_0`` / ``-q4_1``: SmolLM2 as shipped, float32 or on c05.11's
  kernels (per-channel int8, Q8_0 blocks, or the GGUF file's own Q4_1 blocks);
* ``lora-fp32`` / ``lora-int8`` / ``lora-q8_0``: with c05's LoRA adapter merged (``--adapter``);
* ``router``: the extractive route when retrieval is confident, else the best generation route.

Measured per configuration: retrieval recall@1/@5 of the gold paragraph, exact match and token F1
(SQuAD v1.1; the ``[k]`` markers removed first), citation rate (the answer cites the gold
paragraph; uncited answers are attributed after generation as /rag does, and the share so cited is
reported), end-to-end latency p50/p95 and tokens per answer; cost per 1000 questions from the
prompt and generated tokens at ``--usd-per-1k-tokens``. The table goes to standard output
(Markdown) and, with the Pareto front of cost against F1, to ``--out`` (JSON and PNG).

``--url http://127.0.0.1:8008`` measures a running server over XQuAD instead (``make serve``):
the same questions and scores through ``/search`` and ``/rag``, as a client sees them
(:mod:`~c08_serving_ops.evaluate_served`).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from c06_retrieval_tools.fusion import RRF_CONSTANT  # the service's hybrid search fuses with c06's default
from c08_serving_ops.rag import Passage, attribute, build_prompt, citations, extractive_answer
from c08_serving_ops.rag_report import markdown, plot
from c08_serving_ops.xquad import RagQuestion

if TYPE_CHECKING:
    from c05_nlp_transformers.chat import ChatModel
    from c08_serving_ops.service import Components

MARKER = re.compile(r"\s*\[\d{1,3}\]")
PRICE = 0.0001  # USD per 1000 prompt + generated tokens (about what small hosted models cost)


@dataclass(frozen=True)
class Retrieved:
    """The top passages of one question (hybrid RRF), the retrieval's seconds and its confidence in [0, 1]."""

    passages: list[Passage]
    seconds: float
    confidence: float


@dataclass(frozen=True)
class Answer:
    text: str
    cited_ids: list[str]
    seconds: float
    prompt_tokens: int
    completion_tokens: int
    route: str
    attributed: bool = False  # the citation was appended by :func:`~c08_serving_ops.rag.attribute`


@dataclass(frozen=True)
class Row:
    config: str
    questions: int
    recall_at_1: float
    recall_at_5: float
    exact_match: float
    f1: float
    citation_rate: float
    p50_ms: float
    p95_ms: float
    tokens_per_answer: float  # generated tokens
    usd_per_1k_questions: float
    generated_share: float  # the share of questions answered by generation (the router's mix)
    attributed_share: float  # the share of answers cited by attribution, not by the model


def confidence(passages: Sequence[Passage]) -> float:
    """The top passage's RRF score over its maximum (both retrievers rank it first): 1.0 means they agree."""
    # BEGIN SOLUTION c08.15: top score / (2 / (K + 1)), 0 without passages
    return passages[0].score / (2 / (RRF_CONSTANT + 1)) if passages else 0.0
    # END SOLUTION


def retrieve_all(components: Components, questions: Sequence[RagQuestion], depth: int = 5) -> list[Retrieved]:
    """Each question's hybrid top ``depth`` with full texts, as the service's /rag retrieves them."""
    results: list[Retrieved] = []
    for question in questions:
        started = time.perf_counter()
        vector = components.embedder.embed([question.question])[0]  # (384,) unit vector
        hits = components.engine.search(question.question, vector, top_k_=depth, mode="hybrid", fusion="rrf")
        texts = components.store.bm25.texts([h.id for h in hits])
        passages = [Passage(h.id, h.title, texts.get(h.id, ""), h.score) for h in hits]
        results.append(Retrieved(passages, time.perf_counter() - started, confidence(passages)))
    return results


def answer_extractive(question: RagQuestion, retrieved: Retrieved) -> Answer:
    """The extractive route: the top passage's best sentence, citing it as [1]."""
    started = time.perf_counter()
    top = retrieved.passages[:1]
    text = f"{extractive_answer(question.question, top[0].text)} [1]" if top else ""
    return Answer(text, [top[0].doc_id] if top else [], retrieved.seconds + time.perf_counter() - started,
                  0, 0, "extractive")


def answer_generate(chat: ChatModel, question: RagQuestion, retrieved: Retrieved, *, top_k: int = 3,
                    max_new_tokens: int = 48) -> Answer:
    """The generate route: a budgeted prompt over the top ``top_k`` passages, greedy decoding, citations."""
    from c05_nlp_transformers.llama_tokenizer import apply_chat_template

    started = time.perf_counter()

    def count(messages: list[dict[str, str]]) -> int:
        return chat.count_tokens(apply_chat_template(messages))

    messages, kept = build_prompt(question.question, retrieved.passages[:top_k], chat.context - max_new_tokens, count)
    result = chat.generate_chat(messages, max_new_tokens=max_new_tokens)
    text, attributed = attribute(result.text, [p.text for p in kept])  # as /rag answers
    cited = [kept[k - 1].doc_id for k in citations(text, len(kept))]
    return Answer(text, cited, retrieved.seconds + time.perf_counter() - started, result.prompt_tokens,
                  result.completion_tokens, "generate", attributed)


def score(config: str, questions: Sequence[RagQuestion], retrieved: Sequence[Retrieved],
          answers: Sequence[Answer], usd_per_1k_tokens: float = PRICE) -> Row:
    """One table row: the answers of ``config`` against the gold answers and paragraphs."""
    # BEGIN SOLUTION c08.15: recall@1/5 of the gold id; EM, F1 without [k]; cites gold; p50/p95; cost
    from c05_nlp_transformers.squad import exact_match, f1_score

    if not questions or not len(questions) == len(retrieved) == len(answers):
        raise ValueError("score needs one retrieval and one answer per question, and at least one question")
    ranks = [[p.doc_id for p in r.passages] for r in retrieved]
    clean = [MARKER.sub("", a.text).strip() for a in answers]
    latencies = np.array([a.seconds for a in answers]) * 1000
    tokens = [a.prompt_tokens + a.completion_tokens for a in answers]
    return Row(
        config, len(questions),
        recall_at_1=float(np.mean([q.gold_id in r[:1] for q, r in zip(questions, ranks, strict=True)])),
        recall_at_5=float(np.mean([q.gold_id in r[:5] for q, r in zip(questions, ranks, strict=True)])),
        exact_match=float(np.mean([exact_match(t, q.answers) for q, t in zip(questions, clean, strict=True)])),
        f1=float(np.mean([f1_score(t, q.answers) for q, t in zip(questions, clean, strict=True)])),
        citation_rate=float(np.mean([q.gold_id in a.cited_ids for q, a in zip(questions, answers, strict=True)])),
        p50_ms=float(np.percentile(latencies, 50)), p95_ms=float(np.percentile(latencies, 95)),
        tokens_per_answer=float(np.mean([a.completion_tokens for a in answers])),
        usd_per_1k_questions=float(np.mean(tokens)) * usd_per_1k_tokens,
        generated_share=float(np.mean([a.route == "generate" for a in answers])),
        attributed_share=float(np.mean([a.attributed for a in answers])),
    )
    # END SOLUTION


def route(retrieved: Retrieved, threshold: float) -> str:
    """The router: ``extractive`` when retrieval is confident (``confidence >= threshold``), else ``generate``."""
    return "extractive" if retrieved.confidence >= threshold else "generate"


def pareto_front(rows: Sequence[Row]) -> list[str]:
    """The configurations no other one beats on both cost (lower) and F1 (higher), cheapest first."""
    # BEGIN SOLUTION c08.15: keep a row unless another is no worse on both and better on one
    def dominated(row: Row) -> bool:
        return any(o.usd_per_1k_questions <= row.usd_per_1k_questions and o.f1 >= row.f1
                   and (o.usd_per_1k_questions < row.usd_per_1k_questions or o.f1 > row.f1) for o in rows)

    return [r.config for r in sorted(rows, key=lambda r: (r.usd_per_1k_questions, -r.f1)) if not dominated(r)]
    # END SOLUTION


def evaluate(components: Components, questions: Sequence[RagQuestion], models: dict[str, ChatModel], *,
             router_threshold: float = 1.0, top_k: int = 3, max_new_tokens: int = 48,
             usd_per_1k_tokens: float = PRICE, progress: Callable[[str], None] = lambda _: None) -> list[Row]:
    """The table: ``extractive``, one row per model in ``models`` (name -> chat model), and the router.

    The router answers confident questions extractively and sends the others to the generation
    configuration with the best F1 (named in its row).
    """
    retrieved = retrieve_all(components, questions)  # depth 5: recall@5 and the router's confidence
    # the answers retrieve as /rag does, top_k deep (RRF's candidate depth follows k, so the top 3 of a
    # depth-5 search may differ from a depth-3 one); their latency includes this retrieval
    prompted = retrieve_all(components, questions, depth=top_k)
    extractive = [answer_extractive(q, r) for q, r in zip(questions, prompted, strict=True)]
    rows = [score("extractive", questions, retrieved, extractive, usd_per_1k_tokens)]
    generated: dict[str, list[Answer]] = {}
    for name, chat in models.items():
        progress(name)
        generated[name] = [answer_generate(chat, q, r, top_k=top_k, max_new_tokens=max_new_tokens)
                           for q, r in zip(questions, prompted, strict=True)]
        rows.append(score(name, questions, retrieved, generated[name], usd_per_1k_tokens))
    if generated:  # unconfident questions go to the generation configuration with the best F1
        best = max(rows[1:], key=lambda r: r.f1).config
        routed = [e if route(r, router_threshold) == "extractive" else g
                  for r, e, g in zip(retrieved, extractive, generated[best], strict=True)]
        rows.append(score(f"router ({best})", questions, retrieved, routed, usd_per_1k_tokens))
    return rows


def sample(questions: Sequence[RagQuestion], n: int, seed: int = 0) -> list[RagQuestion]:
    """``n`` questions drawn with ``random.Random(seed)`` (all of them, in order, when n >= their number)."""
    if n < 1:
        raise ValueError(f"the number of questions must be >= 1, got {n}")
    if n >= len(questions):
        return list(questions)
    picked = sorted(random.Random(seed).sample(range(len(questions)), n))
    return [questions[i] for i in picked]


def in_process_rows(args: argparse.Namespace, configs: list[str], questions: list[RagQuestion]) -> list[Row]:
    """The table of the service's pieces in this process (every configuration loaded here)."""
    from c05_nlp_transformers.chat import load_chat_model
    from c08_serving_ops.service import load_search_components
    from c08_serving_ops.settings import Settings

    settings = Settings.load(collection="xquad", in_memory=True, rerank=False, torch_threads=args.threads)
    components = load_search_components(settings)
    models: dict[str, ChatModel] = {}
    for name in configs:
        kind, _, quantization = name.partition("-")
        if kind == "lora" and not args.adapter.is_file():
            print(f"skipping {name}: no adapter at {args.adapter} (python -m c05_nlp_transformers.finetune)")
            continue
        models[name] = load_chat_model(quantization=quantization, adapter=args.adapter if kind == "lora" else None,
                                       threads=args.threads)
    try:
        return evaluate(components, questions, models, router_threshold=args.router_threshold, top_k=args.top_k,
                        max_new_tokens=args.max_new_tokens, usd_per_1k_tokens=args.usd_per_1k_tokens,
                        progress=lambda name: print(f"answering {len(questions)} questions with {name}", flush=True))
    finally:
        components.close()


def served_rows(args: argparse.Namespace, questions: list[RagQuestion]) -> list[Row]:
    """The table of a running server (``--url``), through HTTP."""
    import httpx

    from c08_serving_ops.evaluate_served import evaluate_served

    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    with httpx.Client(base_url=args.url, timeout=args.timeout, headers=headers) as client:
        return evaluate_served(client, questions, top_k=args.top_k, max_new_tokens=args.max_new_tokens,
                               router_threshold=args.router_threshold, usd_per_1k_tokens=args.usd_per_1k_tokens,
                               progress=lambda name: print(f"{len(questions)} questions: {name}", flush=True))


def main(argv: Sequence[str] | None = None) -> int:
    from c05_nlp_transformers.chat import QUANTIZATIONS
    from c05_nlp_transformers.finetune import DEFAULT_OUT
    from c08_serving_ops.xquad import held_out_questions

    parser = argparse.ArgumentParser(prog="python -m c08_serving_ops.evaluate_rag",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=60, help="held-out questions asked (seeded sample of 301)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--adapter", type=Path, default=DEFAULT_OUT, help="c05's LoRA adapter (rows skipped if absent)")
    parser.add_argument("--configs", default="generate-fp32,generate-int8,generate-q4_1,lora-fp32,lora-int8",
                        help="generation configurations, comma-separated (extractive and router always run)")
    parser.add_argument("--url", help="evaluate a running server over XQuAD instead (e.g. http://127.0.0.1:8008)")
    parser.add_argument("--api-key", help="with --url: a bearer key, when the server wants one")
    parser.add_argument("--timeout", type=float, default=120.0, help="with --url: seconds per request")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--top-k", type=int, default=3, help="passages in the prompt")
    parser.add_argument("--router-threshold", type=float, default=1.0, help="retrieval confidence for extractive")
    parser.add_argument("--usd-per-1k-tokens", type=float, default=PRICE)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("build/c08_rag_eval"))
    args = parser.parse_args(argv)

    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    for name in configs:
        kind, _, quantization = name.partition("-")
        if kind not in ("generate", "lora") or quantization not in QUANTIZATIONS or name == "lora-q4_1":
            parser.error(f"unknown configuration {name!r}: generate-Q or lora-Q with Q one of "
                         f"{', '.join(QUANTIZATIONS)} (q4_1 runs the file's own blocks, so it has no lora row)")
    questions = sample(held_out_questions(), args.questions, args.seed)
    rows = served_rows(args, questions) if args.url else in_process_rows(args, configs, questions)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "rag_eval.json").write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n")
    print(markdown(rows))
    print(f"Pareto front (cost, F1): {', '.join(pareto_front(rows))}")
    print(f"plot: {plot(rows, args.out / 'rag_pareto.png')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
