"""Softmax cross-entropy for the numpy autograd engine, as one fused op (task c04.1).

Classification losses start from *logits*, unnormalised scores z of shape (B, C).
Softmax turns a row into probabilities p = exp(z) / sum(exp(z)) and the loss of
row i is -log p[i, y_i] = logsumexp(z_i) - z[i, y_i]. Written as softmax, then
log, then indexing, it overflows (exp(1000) is inf) and loses precision; written
as one op it is stable: subtract each row's maximum first (the loss does not
change, the exponentials can no longer overflow), and its gradient with respect
to the logits has the famous simple form ``(softmax(z) - one_hot(y)) / B``.
This is what ``torch.nn.functional.cross_entropy`` computes, and why torch fuses
``log_softmax`` and ``nll_loss``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from c04_dl_fundamentals.autograd import FloatArray, Tensor


def softmax_cross_entropy(logits: Tensor, targets: ArrayLike) -> Tensor:
    """Mean cross-entropy of softmax(logits) against integer class targets (torch's ``F.cross_entropy``).

    Args:
        logits: (B, C) unnormalised scores.
        targets: (B,) integer class indices in [0, C).

    Returns:
        A one-element Tensor: mean over the batch of ``logsumexp(logits[i]) - logits[i, targets[i]]``.
        Its gradient with respect to the logits is ``(softmax(logits) - one_hot(targets)) / B``.
    """
    # BEGIN SOLUTION c04.1: validate, stable log-softmax (subtract the row max), fused backward
    if not isinstance(logits, Tensor):
        raise TypeError(f"logits must be a Tensor, got {type(logits).__name__}")
    if logits.ndim != 2 or logits.shape[0] == 0 or logits.shape[1] == 0:
        raise ValueError(f"logits must be a non-empty (B, C) tensor, got shape {logits.shape}")
    labels = np.asarray(targets)
    batch, classes = logits.shape
    if labels.dtype.kind not in "iu":
        raise TypeError(f"targets must be integer class indices, got dtype {labels.dtype}")
    if labels.shape != (batch,):
        raise ValueError(f"targets must have shape ({batch},) to match logits {logits.shape}, got {labels.shape}")
    if labels.min() < 0 or labels.max() >= classes:
        raise ValueError(f"targets must lie in [0, {classes}), got values from {labels.min()} to {labels.max()}")
    shifted = logits.data - logits.data.max(axis=1, keepdims=True)  # (B, C), max 0 per row: exp cannot overflow
    log_norm = np.log(np.exp(shifted).sum(axis=1))  # (B,)
    rows = np.arange(batch)
    loss = np.mean(log_norm - shifted[rows, labels])
    out = logits._child(np.asarray(loss), (logits,), "softmax_cross_entropy")

    def backward(grad: FloatArray) -> None:
        probs = np.exp(shifted - log_norm[:, None])  # (B, C) softmax
        probs[rows, labels] -= 1.0
        Tensor._accumulate(logits, probs * (grad / batch))

    out._backward = backward
    return out
    # END SOLUTION
