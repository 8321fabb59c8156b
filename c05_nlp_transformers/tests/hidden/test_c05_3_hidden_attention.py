"""c05.3 (hidden): masks of other shapes, an explicit scale, strided inputs and long key sequences."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from c05_nlp_transformers import causal_mask
from c05_nlp_transformers import scaled_dot_product_attention as sdpa

pytestmark = pytest.mark.task("c05.3")

ATOL = 1e-6  # float32 against torch, as in the public tests


def test_a_2d_mask_an_explicit_scale_and_long_keys():
    generator = torch.Generator().manual_seed(0)
    q = torch.randn(1, 2, 3, 8, generator=generator)
    k = torch.randn(1, 2, 300, 8, generator=generator)
    v = torch.randn(1, 2, 300, 8, generator=generator)
    mask = torch.rand(3, 300, generator=generator) > 0.3
    got = sdpa(q, k, v, mask=mask, scale=0.1)
    torch.testing.assert_close(got, F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=0.1),
                               rtol=0, atol=ATOL)


def test_strided_inputs():
    generator = torch.Generator().manual_seed(1)
    base = torch.randn(2, 6, 4, 16, generator=generator)
    q, k, v = base.transpose(2, 3)[..., :5, :4], base[:, ::2, :, :4], base[:, 1::2, :, :4]  # non-contiguous views
    q = q[:, :, :4]
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=causal_mask(4, 4), enable_gqa=True)
    torch.testing.assert_close(sdpa(q, k, v, is_causal=True), expected, rtol=0, atol=ATOL)


def test_large_scores_do_not_overflow():
    q = torch.full((1, 1, 2, 4), 100.0)
    k = torch.full((1, 1, 2, 4), 100.0)
    v = torch.tensor([[[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]]])
    out = sdpa(q, k, v, is_causal=True)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[0, 0, 1], torch.tensor([3.0, 4.0, 5.0, 6.0]))
