"""c05.10: LoRA adapters (against the peft library), SQuAD metrics, and a quick XQuAD fine-tune.

Oracle for LoRA: peft's ``LoraConfig`` on transformers' model, given the same adapter weights
(loaded from our safetensors file under peft's key names): logits within 1e-4 (same tolerance as
c05.7's base model). The graded fine-tune is a shortened schedule (24 steps, the answer's sentence
as context, 8 held-out questions, answers of at most 12 tokens); the full run and its figures are in the README.
"""

from __future__ import annotations

import copy
import random
from pathlib import Path

import pytest
import torch

from c05_nlp_transformers.finetune import FinetuneConfig, answer, evaluate, main, train_lora, training_pair
from c05_nlp_transformers.lora import (
    LoRALinear,
    apply_lora,
    load_lora,
    lora_layers,
    merge_and_unload,
    merge_lora,
    save_lora,
    trainable_parameters,
    unmerge_lora,
)
from c05_nlp_transformers.squad import (
    QAExample,
    answer_sentence,
    exact_match,
    f1_score,
    messages_for,
    normalize_answer,
    split_by_article,
)

pytestmark = pytest.mark.task("c05.10")

PEFT_ATOL = 1e-4
QUICK = FinetuneConfig(steps=24, lr=2e-3, short_context=True)
QUICK_QUESTIONS = 8
QUICK_ANSWER_TOKENS = 12


def _randomise(model: torch.nn.Module, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    for layer in lora_layers(model).values():
        with torch.no_grad():
            layer.lora_B.weight.copy_(torch.randn(layer.lora_B.weight.shape, generator=generator) * 0.02)


def test_squad_normalisation_and_scores():
    assert normalize_answer("The  Cat, sat!") == "cat sat"
    assert normalize_answer("An apple a day") == "apple day"
    assert normalize_answer("theatre") == "theatre"  # only whole-word articles go
    assert exact_match("the Eiffel Tower.", ["Eiffel tower"]) == 1.0
    assert exact_match("Eiffel", ["Eiffel tower"]) == 0.0
    assert f1_score("Eiffel", ["Eiffel tower"]) == pytest.approx(2 / 3)
    assert f1_score("in Paris France", ["Paris", "Lyon France"]) == pytest.approx(0.5)  # max(2/4, 2/5)
    assert f1_score("nothing", ["Paris"]) == 0.0
    with pytest.raises(ValueError, match="gold answer"):
        f1_score("x", [])


def test_split_by_article_and_prompts(xquad):
    train, test = split_by_article(xquad, test_articles=12, seed=0)
    assert len(train) + len(test) == 1190
    assert not {e.article for e in train} & {e.article for e in test}
    assert len({e.article for e in test}) == 12
    assert split_by_article(xquad, seed=0) == (train, test) and split_by_article(xquad, seed=1) != (train, test)
    with pytest.raises(ValueError, match="test_articles"):
        split_by_article(xquad, test_articles=48)
    example = train[0]
    assert example.answers[0] in answer_sentence(example)
    assert example.context in messages_for(example)[1]["content"]
    odd = QAExample("t", "One. Two.", "q?", ("missing",))
    assert answer_sentence(odd) == "One. Two."


def test_lora_layers_merge_unmerge_save_load(smollm, tmp_path, metric):
    model = copy.deepcopy(smollm[0])
    base_params = model.num_parameters()
    ids = torch.tensor([[1, 4093, 198, 19556, 2, 198]])
    with torch.inference_mode():
        before = model(ids)
    apply_lora(model, r=8, alpha=16)
    with torch.inference_mode():
        torch.testing.assert_close(model(ids), before, atol=0, rtol=0)  # B = 0: the base model exactly
    trainable = trainable_parameters(model)
    assert trainable == 30 * 8 * (4 * 576 + 576 + 192 + 192 + 576)
    metric("lora_trainable_fraction", trainable / base_params)
    _randomise(model, 0)
    q_proj = model.layers[0].self_attn.q_proj
    assert isinstance(q_proj, LoRALinear)
    original = q_proj.base.weight.detach().clone()
    with torch.inference_mode():
        adapted = model(ids)
    merge_lora(model)
    merge_lora(model)  # idempotent
    with torch.inference_mode():
        merged = model(ids)
    torch.testing.assert_close(merged, adapted, atol=1e-4, rtol=0)
    assert not torch.equal(q_proj.base.weight, original)
    unmerge_lora(model)
    unmerge_lora(model)
    assert torch.equal(q_proj.base.weight, original)  # exact, bit for bit
    path = save_lora(model, tmp_path / "adapter.safetensors")
    fresh = load_lora(copy.deepcopy(smollm[0]), path)
    with torch.inference_mode():
        torch.testing.assert_close(fresh(ids), adapted, atol=0, rtol=0)
    merge_and_unload(fresh)  # for deployment: plain nn.Linear layers with the adapter in their weights
    assert not lora_layers(fresh) and type(fresh.layers[0].self_attn.q_proj) is torch.nn.Linear
    with torch.inference_mode():
        torch.testing.assert_close(fresh(ids), adapted, atol=1e-4, rtol=0)
    with pytest.raises(ValueError, match="rank r"):
        LoRALinear(torch.nn.Linear(4, 4, bias=False), 0, 1.0)
    with pytest.raises(ValueError, match="alpha"):
        LoRALinear(torch.nn.Linear(4, 4, bias=False), 2, 0.0)
    with pytest.raises(ValueError, match="targets"):
        apply_lora(copy.deepcopy(smollm[0]), targets=["embed"])
    with pytest.raises(ValueError, match="no LoRA layers"):
        save_lora(smollm[0], tmp_path / "none.safetensors")
    with pytest.raises(FileNotFoundError, match="no LoRA adapter"):
        load_lora(smollm[0], tmp_path / "missing.safetensors")


def test_lora_equals_peft(smollm, oracle, tmp_path, metric):
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict
    from safetensors.torch import load_file

    model = apply_lora(copy.deepcopy(smollm[0]), r=4, alpha=8, targets=["q_proj", "v_proj", "down_proj"])
    for layer in lora_layers(model).values():
        torch.nn.init.normal_(layer.lora_B.weight, std=0.02)
    path = save_lora(model, tmp_path / "adapter.safetensors")
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"], lora_dropout=0.0)
    peft_model = get_peft_model(oracle[0], config)
    try:
        result = set_peft_model_state_dict(peft_model, load_file(str(path)))
        assert not [k for k in result.unexpected_keys if "lora" in k]
        ids = torch.tensor([[1, 4093, 198, 19556, 28, 638, 359, 346, 47, 2, 198]])
        with torch.inference_mode():
            ours, theirs = model(ids), peft_model(ids).logits
        base = smollm[0](ids).detach()
        assert float((ours - base).abs().max()) > 1e-2, "the adapter must change the logits for the test to mean much"
        metric("lora_logits_max_abs_error_vs_peft", float((ours - theirs).abs().max()))
    finally:
        peft_model.unload()  # the oracle is shared by the session: take the adapters out again


def test_training_pairs_mask_the_prompt(smollm_tokenizer, xquad):
    ids, labels = training_pair(smollm_tokenizer, xquad[0], short_context=True)
    assert len(ids) == len(labels)
    answer_ids = smollm_tokenizer.encode(xquad[0].answers[0] + "<|im_end|>")
    assert [t for t in labels if t != -100] == answer_ids  # the loss sees the answer (and end of turn) only
    assert ids[-len(answer_ids):] == answer_ids
    with pytest.raises(ValueError, match="at least one step"):
        train_lora(smollm_tokenizer, smollm_tokenizer, [], QUICK)  # type: ignore[arg-type]


def test_same_seed_same_losses(smollm, smollm_tokenizer, xquad):
    train = split_by_article(xquad)[0]
    config = FinetuneConfig(steps=3, lr=2e-3, short_context=True, seed=7)
    first = train_lora(copy.deepcopy(smollm[0]), smollm_tokenizer, train, config)
    second = train_lora(copy.deepcopy(smollm[0]), smollm_tokenizer, train, config)
    assert first == second and len(first) == 3


def test_quick_finetune_improves_f1(smollm, smollm_tokenizer, xquad, metric):
    train, test = split_by_article(xquad)
    questions = random.Random(0).sample(test, QUICK_QUESTIONS)
    model = copy.deepcopy(smollm[0])
    em_before, f1_before = evaluate(model, smollm_tokenizer, questions, short_context=True,
                                    max_new_tokens=QUICK_ANSWER_TOKENS)
    losses = train_lora(model, smollm_tokenizer, train, QUICK)
    assert len(losses) == QUICK.steps and all(loss > 0 for loss in losses)
    em_after, f1_after = evaluate(model, smollm_tokenizer, questions, short_context=True,
                                  max_new_tokens=QUICK_ANSWER_TOKENS)
    assert em_after >= em_before
    assert answer(model, smollm_tokenizer, questions[0], short_context=True)
    metric("lora_f1_gain_quick", f1_after - f1_before)


def test_the_command_line_scores_trains_and_saves(smollm, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "adapter.safetensors"
    assert main(["--steps", "2", "--eval-questions", "2", "--short-context", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "train 889 questions, held-out sample 2 (split by article, seed 0)" in printed
    assert "trained 2 steps" in printed and "F1 " in printed
    layers = lora_layers(load_lora(copy.deepcopy(smollm[0]), out))
    assert len(layers) == 4 * len(smollm[0].layers)  # q, k, v and o in every block
    assert any(float(layer.lora_B.weight.abs().max()) > 0 for layer in layers.values())  # B starts at 0: trained
