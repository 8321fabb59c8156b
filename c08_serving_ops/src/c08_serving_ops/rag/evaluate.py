"""``python -m c08_serving_ops.rag.evaluate``: the RAG service's quality, latency and cost, per configuration.

On XQuAD-en's held-out articles (:mod:`~c08_serving_ops.search.xquad`: all 240 paragraphs indexed, the
12 held-out articles' questions asked) every configuration answers the same seeded sample of
questions through the service's own pieces (c06 hybrid retrieval, :mod:`~c08_serving_ops.rag.prompt`'s
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
(:mod:`~c08_serving_ops.rag.evaluate_served`).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from c08_serving_ops.core.settings import Settings
from c08_serving_ops.rag.pipeline import (
    CitedAnswer,
    cite_answer,
    extractive_route,
    generation_prompt,
    retrieve_passages,
)
from c08_serving_ops.rag.scores import PRICE, Answer, Retrieved, Row, confidence, pareto_front, route, score
from c08_serving_ops.rag.tables import markdown, plot
from c08_serving_ops.search.xquad import RagQuestion

if TYPE_CHECKING:
    from c05_nlp_transformers.chat import ChatModel
    from c08_serving_ops.search.components import Components

SERVED_CONTEXT: int = Settings.model_fields["generate_context"].default  # the same prompt budget as /rag


def retrieve_all(components: Components, questions: Sequence[RagQuestion], depth: int = 5) -> list[Retrieved]:
    """Each question's hybrid top ``depth`` with full texts: the pipeline's retrieval, as /rag runs it."""
    results: list[Retrieved] = []
    for question in questions:
        started = time.perf_counter()
        vector = components.embedder.embed([question.question])[0]  # (384,) unit vector
        passages = retrieve_passages(components, question.question, vector, depth)
        results.append(Retrieved(passages, time.perf_counter() - started, confidence(passages)))
    return results


def answer_of(cited: CitedAnswer, seconds: float, prompt_tokens: int = 0, completion_tokens: int = 0) -> Answer:
    return Answer(cited.text, cited.cited_ids, seconds, prompt_tokens, completion_tokens, cited.route, cited.attributed)


def answer_extractive(question: RagQuestion, retrieved: Retrieved) -> Answer:
    """The extractive route: the pipeline's :func:`~c08_serving_ops.rag.pipeline.extractive_route`."""
    started = time.perf_counter()
    cited = extractive_route(question.question, retrieved.passages)
    return answer_of(cited, retrieved.seconds + time.perf_counter() - started)


def answer_generate(chat: ChatModel, question: RagQuestion, retrieved: Retrieved, *, top_k: int = 3,
                    max_new_tokens: int = 48, context: int = SERVED_CONTEXT) -> Answer:
    """The generate route: the pipeline's budgeted prompt over the top ``top_k``, greedy decoding, citations.

    ``context``: prompt + new tokens at most, as the server's ``generate_context`` (and the model's) allow.
    """
    started = time.perf_counter()
    budget = min(context, chat.context) - max_new_tokens  # as the served engine budgets the prompt
    messages, kept = generation_prompt(chat, question.question, retrieved.passages[:top_k], budget)
    result = chat.generate_chat(messages, max_new_tokens=max_new_tokens)
    return answer_of(cite_answer(result.text, kept), retrieved.seconds + time.perf_counter() - started,
                     result.prompt_tokens, result.completion_tokens)


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
    from c08_serving_ops.search.components import load_search_components

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

    from c08_serving_ops.rag.evaluate_served import evaluate_served

    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    with httpx.Client(base_url=args.url, timeout=args.timeout, headers=headers) as client:
        return evaluate_served(client, questions, top_k=args.top_k, max_new_tokens=args.max_new_tokens,
                               router_threshold=args.router_threshold, usd_per_1k_tokens=args.usd_per_1k_tokens,
                               progress=lambda name: print(f"{len(questions)} questions: {name}", flush=True))


def main(argv: Sequence[str] | None = None) -> int:
    from c05_nlp_transformers.chat import QUANTIZATIONS
    from c05_nlp_transformers.finetune import DEFAULT_OUT
    from c08_serving_ops.search.xquad import held_out_questions

    parser = argparse.ArgumentParser(prog="python -m c08_serving_ops.rag.evaluate",
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
