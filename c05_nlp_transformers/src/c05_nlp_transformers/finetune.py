"""LoRA instruction fine-tune of SmolLM2 on XQuAD: short, extractive answers.

``python -m c05_nlp_transformers.finetune`` (the full run; see the README for its figures) trains
rank-8 adapters on the attention projections with AdamW, one example per step, the loss **only on
the answer tokens** (the prompt's labels are -100), then measures exact match and F1 on held-out
articles before and after, and saves the adapter under ``build/c05_lora/adapter.safetensors``
(``python -m c05_nlp_transformers.chat --adapter ...`` loads it).

Determinism: the seed fixes the adapter's initialisation and the order of the examples; there is
no dropout, so two runs with one seed give identical losses.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F  # noqa: N812

from c05_nlp_transformers.bpe import BPETokenizer
from c05_nlp_transformers.inference import generate_tokens
from c05_nlp_transformers.llama import Llama, load_llama
from c05_nlp_transformers.llama_tokenizer import END_OF_TURN, apply_chat_template, tokenizer_from_gguf
from c05_nlp_transformers.lora import apply_lora, save_lora, trainable_parameters
from c05_nlp_transformers.squad import QAExample, exact_match, f1_score, load_xquad, messages_for, split_by_article

DEFAULT_OUT = Path("build/c05_lora/adapter.safetensors")


@dataclass(frozen=True)
class FinetuneConfig:
    steps: int = 120
    lr: float = 1e-3
    r: int = 8
    alpha: float = 16.0
    seed: int = 0
    short_context: bool = False  # the answer's sentence instead of the paragraph (quick graded runs)
    max_answer_tokens: int = 24


def training_pair(tokenizer: BPETokenizer, example: QAExample, short_context: bool) -> tuple[list[int], list[int]]:
    """(input ids, labels): the prompt and the first answer with its end-of-turn token; labels -100 on the prompt."""
    # BEGIN SOLUTION c05.10: prompt ids labelled -100, then the answer ids and <|im_end|> as targets
    prompt = tokenizer.encode(apply_chat_template(messages_for(example, short_context=short_context)))
    answer = tokenizer.encode(example.answers[0] + END_OF_TURN)
    ids = prompt + answer
    labels = [-100] * (len(prompt) - 1) + answer + [-100]  # position t predicts token t + 1
    return ids, labels
    # END SOLUTION


def train_lora(
    model: Llama, tokenizer: BPETokenizer, examples: Sequence[QAExample], config: FinetuneConfig
) -> list[float]:
    """Apply LoRA to ``model`` (in place) and train it for ``config.steps`` steps; the loss of each step."""
    # BEGIN SOLUTION c05.10: seed, apply LoRA, AdamW on the adapters, one shuffled example per step
    if config.steps < 1 or not examples:
        raise ValueError("training needs at least one step and one example")
    torch.manual_seed(config.seed)
    apply_lora(model, config.r, config.alpha)
    order = list(range(len(examples)))
    random.Random(config.seed).shuffle(order)
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=config.lr, weight_decay=0.0)
    model.train()
    losses = []
    for step in range(config.steps):
        ids, labels = training_pair(tokenizer, examples[order[step % len(order)]], config.short_context)
        logits = model(torch.tensor([ids]))  # (1, T, V)
        loss: torch.Tensor = F.cross_entropy(logits[0], torch.tensor(labels), ignore_index=-100)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        losses.append(float(loss.detach()))
    model.eval()
    return losses
    # END SOLUTION


def answer(model: Llama, tokenizer: BPETokenizer, example: QAExample, *, short_context: bool = False,
           max_new_tokens: int = 24) -> str:
    """The model's greedy answer to one question."""
    prompt = tokenizer.encode(apply_chat_template(messages_for(example, short_context=short_context)))
    eos = tokenizer.token_to_id(END_OF_TURN)
    ids = generate_tokens(model, prompt, max_new_tokens, eos_ids=[eos])
    return tokenizer.decode([i for i in ids if i != eos]).strip()


def evaluate(model: Llama, tokenizer: BPETokenizer, examples: Sequence[QAExample], *,
             short_context: bool = False, max_new_tokens: int = 24) -> tuple[float, float]:
    """Mean exact match and mean F1 over ``examples`` (greedy answers of at most ``max_new_tokens``)."""
    em = f1 = 0.0
    for example in examples:
        prediction = answer(model, tokenizer, example, short_context=short_context, max_new_tokens=max_new_tokens)
        em += exact_match(prediction, example.answers)
        f1 += f1_score(prediction, example.answers)
    return em / len(examples), f1 / len(examples)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m c05_nlp_transformers.finetune", description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=FinetuneConfig.steps)
    parser.add_argument("--lr", type=float, default=FinetuneConfig.lr)
    parser.add_argument("--r", type=int, default=FinetuneConfig.r)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-questions", type=int, default=None,
                        help="score a seeded sample of this many held-out questions (default: all of them)")
    parser.add_argument("--short-context", action="store_true", help="the answer's sentence as context")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    start = time.perf_counter()
    model, gguf = load_llama()
    tokenizer = tokenizer_from_gguf(gguf.metadata)
    train, test = split_by_article(load_xquad(), seed=args.seed)
    if args.eval_questions is not None:
        test = random.Random(args.seed).sample(test, min(args.eval_questions, len(test)))
    print(f"train {len(train)} questions, held-out sample {len(test)} (split by article, seed {args.seed})")
    before = evaluate(model, tokenizer, test, short_context=args.short_context)
    print(f"before: EM {before[0]:.3f}  F1 {before[1]:.3f}  ({time.perf_counter() - start:.0f} s)")
    config = FinetuneConfig(steps=args.steps, lr=args.lr, r=args.r, seed=args.seed, short_context=args.short_context)
    t0 = time.perf_counter()
    losses = train_lora(model, tokenizer, train, config)
    print(f"trained {config.steps} steps in {time.perf_counter() - t0:.0f} s; {trainable_parameters(model):,} "
          f"trainable parameters; loss first 10 {sum(losses[:10]) / 10:.3f}, last 10 {sum(losses[-10:]) / 10:.3f}")
    after = evaluate(model, tokenizer, test, short_context=args.short_context)
    print(f"after:  EM {after[0]:.3f}  F1 {after[1]:.3f}  (F1 {after[1] - before[1]:+.3f})")
    print(f"adapter: {save_lora(model, args.out)}; total {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":  # pragma: no cover - the CLI entry point
    raise SystemExit(main())
