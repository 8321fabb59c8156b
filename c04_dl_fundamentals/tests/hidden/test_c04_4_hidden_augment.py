"""c04.4 (hidden): shifts of non-contiguous and float64 batches, many channels."""

from __future__ import annotations

import pytest
import torch

from c04_dl_fundamentals import random_shift, shift_images

pytestmark = pytest.mark.task("c04.4")


def test_non_contiguous_and_float64_inputs():
    base = torch.rand(4, 8, 8, 3, dtype=torch.float64).permute(0, 3, 1, 2)  # a channels-last view
    assert not base.is_contiguous()
    dy, dx = torch.tensor([1, 0, -1, 2]), torch.tensor([0, -2, 1, 2])
    out = shift_images(base, dy, dx)
    assert out.dtype == torch.float64 and out.is_contiguous()
    expected = shift_images(base.contiguous(), dy, dx)
    assert torch.equal(out, expected)
    assert torch.equal(out[0, :, 1:, :], base[0, :, :-1, :])  # moved down one row
    assert float(out[0, :, 0, :].abs().sum()) == 0.0


def test_shift_keeps_channels_together():
    images = torch.arange(2 * 5 * 4 * 4, dtype=torch.float32).reshape(2, 5, 4, 4)
    out = random_shift(images, 1, torch.Generator().manual_seed(1))
    for i in range(2):
        # every channel of one image moves by the same offset: the non-zero masks agree
        masks = (out[i] != 0) | (images[i] == 0)
        assert torch.equal(masks[1:], masks[1:2].expand(4, 4, 4))
