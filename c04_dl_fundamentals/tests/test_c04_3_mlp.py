"""c04.3: the digits split, the MLP and the basic training loop.

Oracle for the split: scikit-learn's ``train_test_split`` with ``stratify``. The
accuracy metric trains the MLP with :data:`MLP_RECIPE` (about 2 s of CPU).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.model_selection import train_test_split
from torch import nn

from c04_dl_fundamentals import (
    MLP,
    MLP_RECIPE,
    AdamW,
    check_images,
    evaluate,
    fit_classifier,
    load_digits_arrays,
    load_digits_split,
    minibatches,
    seed_everything,
    stratified_split,
    train_epoch,
)

pytestmark = pytest.mark.task("c04.3")

N_IMAGES, N_TEST = 1797, 450  # 25 % of 1797, rounded up by scikit-learn


@pytest.fixture(scope="module")
def split():
    return load_digits_split()


def test_split_is_sklearns_stratified_split(split):
    _, labels = load_digits_arrays()
    rows = np.arange(N_IMAGES)
    train, test = train_test_split(rows, test_size=0.25, stratify=labels, random_state=0)
    np.testing.assert_array_equal(split.train_index, train)
    np.testing.assert_array_equal(split.test_index, test)
    assert split.train_index.dtype == np.int64 and len(split.test_index) == N_TEST
    assert sorted(np.concatenate([split.train_index, split.test_index]).tolist()) == rows.tolist()
    # Stratified: every class keeps its share in the test part (within one image).
    counts, test_counts = np.bincount(labels), np.bincount(labels[split.test_index])
    assert np.all(np.abs(test_counts - counts * 0.25) <= 1)


def test_split_tensors(split):
    images, labels = load_digits_arrays()
    assert split.x_train.shape == (N_IMAGES - N_TEST, 1, 8, 8) and split.x_test.shape == (N_TEST, 1, 8, 8)
    assert split.x_train.dtype == torch.float32 and split.y_train.dtype == torch.int64
    assert float(split.x_train.min()) >= 0.0 and float(split.x_train.max()) == 1.0
    np.testing.assert_array_equal(split.x_test[:, 0].numpy(), images[split.test_index])
    np.testing.assert_array_equal(split.y_test.numpy(), labels[split.test_index])
    again = load_digits_split()
    again.x_train[0] = -1.0  # fresh tensors: changing one split never changes another
    assert float(split.x_train.min()) >= 0.0


def test_split_seed_and_fraction():
    _, labels = load_digits_arrays()
    _a_train, a_test = stratified_split(labels, 0.2, seed=1)
    _b_train, b_test = stratified_split(labels, 0.2, seed=1)
    np.testing.assert_array_equal(a_test, b_test)
    assert len(a_test) == 360 and not np.array_equal(a_test, stratified_split(labels, 0.2, seed=2)[1])


@pytest.mark.parametrize(
    ("labels", "fraction", "message"),
    [(np.zeros((4, 2), int), 0.5, r"1-D integer array"), (np.array([0.0, 1.0, 0.0, 1.0]), 0.5, r"1-D integer"),
     (np.array([0, 0, 1, 1]), 0.0, r"strictly between 0 and 1"), (np.array([0, 0, 1, 1]), 1.0, r"strictly"),
     (np.array([0, 0, 0, 1]), 0.5, r"at least 2 rows.*too few: \[1\]")],
)
def test_split_bad_input(labels, fraction, message):
    with pytest.raises(ValueError, match=message):
        stratified_split(labels, fraction)


def test_mlp_shapes_and_layers():
    seed_everything(0)
    model = MLP(hidden=(32, 16), dropout=0.1)
    assert model(torch.zeros(5, 1, 8, 8)).shape == (5, 10)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(64, 32), (32, 16), (16, 10)]
    assert sum(isinstance(m, nn.Dropout) for m in model.modules()) == 2
    assert MLP(image_shape=(3, 4, 4), n_classes=5)(torch.zeros(2, 3, 4, 4)).shape == (2, 5)


BAD_BATCHES = [
    (np.zeros((2, 1, 8, 8), np.float32), TypeError, r"expected a torch.Tensor batch, got ndarray"),
    (torch.zeros(2, 1, 8, 8, dtype=torch.float64), TypeError, r"expected a torch.float32 batch, got torch.float64"),
    (torch.zeros(2, 1, 8, 8, dtype=torch.int64), TypeError, r"got torch.int64 \(convert it"),
    (torch.zeros(2, 64), ValueError, r"expected a batch of shape \(B, 1, 8, 8\), got a 2-D tensor of shape \(2, 64\)"),
    (torch.zeros(2, 1, 7, 8), ValueError, r"expected a batch of shape \(B, 1, 8, 8\), got \(2, 1, 7, 8\)"),
    (torch.zeros(1, 8, 8), ValueError, r"got a 3-D tensor"),
]


@pytest.mark.parametrize(("batch", "error", "message"), BAD_BATCHES)
def test_bad_batches_raise_clear_errors(batch, error, message):
    with pytest.raises(error, match=message):
        MLP()(batch)
    with pytest.raises(error, match=message):
        check_images(batch)


@pytest.mark.parametrize(("kwargs", "message"), [({"hidden": ()}, "non-empty"), ({"hidden": (8, 0)}, "positive"),
                                                 ({"dropout": 1.0}, r"\[0, 1\)"), ({"hidden": (8.5,)}, "integers")])
def test_bad_mlp_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MLP(**kwargs)


def test_minibatches():
    generator = torch.Generator().manual_seed(0)
    batches = minibatches(10, 4, generator)
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(torch.cat(batches).tolist()) == list(range(10))
    again = minibatches(10, 4, torch.Generator().manual_seed(0))
    assert all(torch.equal(a, b) for a, b in zip(batches, again, strict=True))
    assert torch.cat(minibatches(5, 2, shuffle=False)).tolist() == [0, 1, 2, 3, 4]
    assert minibatches(0, 3) == []
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match="batch_size must be a positive integer"):
            minibatches(10, bad)
    with pytest.raises(ValueError, match="n must be >= 0"):
        minibatches(-1, 2)


def test_train_epoch_lowers_the_loss_and_reports_each_batch(split):
    generator = seed_everything(1)
    model = MLP(hidden=(32,))
    optimizer = AdamW(model.parameters(), lr=1e-2)
    x, y = split.x_train[:256], split.y_train[:256]
    before = evaluate(model, x, y)
    seen = []
    stats = train_epoch(model, x, y, optimizer, batch_size=64, generator=generator, clip_norm=1.0,
                        on_batch=lambda n, loss, acc: seen.append((n, loss, acc)))
    after = evaluate(model, x, y)
    assert [n for n, _, _ in seen] == [1, 2, 3, 4]
    assert seen[-1][1] == pytest.approx(stats.loss) and seen[-1][2] == pytest.approx(stats.accuracy)
    assert after.loss < before.loss and 0.0 <= after.accuracy <= 1.0


def test_evaluate_uses_eval_mode_and_no_graph(split):
    seed_everything(2)
    model = MLP(dropout=0.5)
    x, y = split.x_test[:100], split.y_test[:100]
    first, second = evaluate(model, x, y, batch_size=7), evaluate(model, x, y)  # dropout off: same numbers
    assert first.loss == pytest.approx(second.loss, rel=1e-6) and first.accuracy == second.accuracy
    assert not model.training
    logits = model(x)
    expected = nn.functional.cross_entropy(logits, y).item()
    assert first.loss == pytest.approx(expected, rel=1e-5)


def test_loop_bad_labels(split):
    model, generator = MLP(), torch.Generator()
    optimizer = AdamW(model.parameters())
    x = split.x_train[:8]
    with pytest.raises(TypeError, match=r"labels must be a 1-D int64 tensor, got \(8,\) torch.float32"):
        train_epoch(model, x, split.y_train[:8].float(), optimizer, batch_size=4, generator=generator)
    with pytest.raises(ValueError, match="8 images but 5 labels"):
        evaluate(model, x, split.y_train[:5])
    with pytest.raises(ValueError, match="empty"):
        evaluate(model, x[:0], split.y_train[:0])
    with pytest.raises(ValueError, match="empty"):
        train_epoch(model, x[:0], split.y_train[:0], optimizer, batch_size=4, generator=generator)


def test_seed_everything_repeats_runs():
    generator = seed_everything(7)
    a = (torch.rand(3), torch.rand(3, generator=generator), np.random.rand())
    generator = seed_everything(7)
    b = (torch.rand(3), torch.rand(3, generator=generator), np.random.rand())
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and a[2] == b[2]


def test_mlp_test_accuracy(split, metric):
    seed_everything(MLP_RECIPE.seed)
    model = MLP()
    result = fit_classifier(model, split, MLP_RECIPE)
    assert len(result.history) == MLP_RECIPE.epochs
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    assert result.as_dict()["config"]["epochs"] == MLP_RECIPE.epochs
    metric("mlp_test_accuracy", result.test.accuracy)


def test_fit_classifier_rejects_zero_epochs(split):
    from dataclasses import replace

    with pytest.raises(ValueError, match="epochs must be >= 1"):
        fit_classifier(MLP(), split, replace(MLP_RECIPE, epochs=0))
