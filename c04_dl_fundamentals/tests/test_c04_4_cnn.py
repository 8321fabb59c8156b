"""c04.4: random-shift augmentation in torch and the CNN.

Oracle for the shifts: numpy, image by image (np.roll, then zero the rows and
columns that wrapped around). The accuracy metric trains the CNN with
:data:`CNN_RECIPE` (under 10 s of CPU on one thread).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from c04_dl_fundamentals import CNN, CNN_RECIPE, fit_classifier, load_digits_split, random_shift, seed_everything
from c04_dl_fundamentals import shift_images as shift

pytestmark = pytest.mark.task("c04.4")


def numpy_shift(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """(C, H, W) image moved down dy and right dx, zero-filled."""
    out = np.roll(image, (dy, dx), axis=(1, 2))
    if dy > 0:
        out[:, :dy] = 0
    elif dy < 0:
        out[:, dy:] = 0
    if dx > 0:
        out[:, :, :dx] = 0
    elif dx < 0:
        out[:, :, dx:] = 0
    return out


def test_one_pixel_moves_by_the_offset():
    images = torch.zeros(3, 1, 8, 8)
    images[:, 0, 4, 4] = 1.0
    out = shift(images, torch.tensor([1, -2, 0]), torch.tensor([0, 3, -1]))
    assert out.shape == images.shape and out.dtype == images.dtype
    for i, (row, col) in enumerate([(5, 4), (2, 7), (4, 3)]):
        assert out[i, 0, row, col] == 1.0 and float(out[i].sum()) == 1.0


def test_matches_numpy_for_random_offsets():
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(16, 3, 6, 7, generator=generator)
    dy = torch.randint(-5, 6, (16,), generator=generator)
    dx = torch.randint(-6, 7, (16,), generator=generator)
    out = shift(images, dy, dx).numpy()
    for i in range(16):
        np.testing.assert_array_equal(out[i], numpy_shift(images[i].numpy(), int(dy[i]), int(dx[i])))


def test_zero_offsets_copy_and_empty_batch():
    images = torch.rand(4, 1, 8, 8)
    zeros = torch.zeros(4, dtype=torch.int64)
    out = shift(images, zeros, zeros)
    assert torch.equal(out, images) and out.data_ptr() != images.data_ptr()
    assert random_shift(images, 0).equal(images)
    empty = torch.zeros(0, 1, 8, 8)
    assert shift(empty, torch.zeros(0, dtype=torch.int64), torch.zeros(0, dtype=torch.int64)).shape == (0, 1, 8, 8)


def test_random_shift_is_reproducible_and_stays_in_range():
    images = torch.rand(64, 1, 8, 8)
    a = random_shift(images, 2, torch.Generator().manual_seed(5))
    b = random_shift(images, 2, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    assert not torch.equal(a, random_shift(images, 2, torch.Generator().manual_seed(6)))
    # Every output is the input shifted by some offset in [-2, 2] on each axis.
    for i in range(64):
        candidates = [numpy_shift(images[i].numpy(), dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)]
        assert any(np.array_equal(a[i].numpy(), c) for c in candidates)


def test_shift_bad_input():
    ok = torch.zeros(2, dtype=torch.int64)
    with pytest.raises(ValueError, match=r"\(B, C, H, W\) tensor, got \(2, 8, 8\)"):
        shift(torch.zeros(2, 8, 8), ok, ok)
    with pytest.raises(ValueError, match=r"got ndarray"):
        random_shift(np.zeros((2, 1, 8, 8)), 1)
    with pytest.raises(TypeError, match=r"floating point, got torch.int64"):
        shift(torch.zeros(2, 1, 8, 8, dtype=torch.int64), ok, ok)
    with pytest.raises(ValueError, match=r"dy must be a \(2,\) integer tensor"):
        shift(torch.zeros(2, 1, 8, 8), torch.zeros(3, dtype=torch.int64), ok)
    with pytest.raises(ValueError, match=r"dx must be a \(2,\) integer tensor, got \(2,\) torch.float32"):
        shift(torch.zeros(2, 1, 8, 8), ok, torch.zeros(2))
    with pytest.raises(ValueError, match=r"\|dy\| must be smaller than the image size 8, got 8"):
        shift(torch.zeros(2, 1, 8, 8), torch.tensor([0, -8]), ok)
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="max_shift must be an integer >= 0"):
            random_shift(torch.zeros(2, 1, 8, 8), bad)


def test_cnn_architecture_and_modes():
    seed_everything(0)
    model = CNN()
    x = torch.rand(6, 1, 8, 8)
    assert model(x).shape == (6, 10)
    kinds = [type(m) for m in model.modules()]
    assert kinds.count(nn.Conv2d) == 3 and kinds.count(nn.BatchNorm2d) == 3
    assert kinds.count(nn.MaxPool2d) == 2 and kinds.count(nn.Dropout) == 1
    assert all(m.bias is None for m in model.modules() if isinstance(m, nn.Conv2d))  # batch norm's shift replaces it
    model.eval()
    with torch.no_grad():
        first, second = model(x), model(x)
    assert torch.equal(first, second)  # eval: running statistics, no dropout
    model.train()
    assert not torch.equal(model(x), first)  # train: batch statistics and dropout
    assert CNN(channels=(4, 4, 8), image_shape=(3, 12, 16), n_classes=3)(torch.rand(2, 3, 12, 16)).shape == (2, 3)


def test_cnn_bad_input():
    model = CNN(channels=(2, 2, 2))
    with pytest.raises(ValueError, match=r"expected a batch of shape \(B, 1, 8, 8\), got \(2, 3, 8, 8\)"):
        model(torch.zeros(2, 3, 8, 8))
    with pytest.raises(TypeError, match=r"torch.float64"):
        model(torch.zeros(2, 1, 8, 8, dtype=torch.float64))
    for kwargs, message in (({"channels": (4, 4)}, "three positive"), ({"channels": (4, 0, 4)}, "three positive"),
                            ({"dropout": -0.1}, r"\[0, 1\)"), ({"image_shape": (1, 6, 8)}, "divisible by 4")):
        with pytest.raises(ValueError, match=message):
            CNN(**kwargs)


def test_cnn_test_accuracy(metric):
    split = load_digits_split()
    seed_everything(CNN_RECIPE.seed)
    model = CNN()
    result = fit_classifier(model, split, CNN_RECIPE)
    assert CNN_RECIPE.max_shift >= 1 and len(result.history) == CNN_RECIPE.epochs
    metric("cnn_test_accuracy", result.test.accuracy)
