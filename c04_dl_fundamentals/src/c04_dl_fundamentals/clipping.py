"""Gradient clipping by global norm (task c04.2).

One bad batch can produce a gradient hundreds of times larger than usual, and one
step along it undoes much of training. Clipping by the *global* norm treats all
gradients of the model as one long vector g: when ``||g||`` exceeds ``max_norm``,
every gradient is scaled by the same ``max_norm / ||g||``. The direction of the
update is kept, only its length is capped (clipping each tensor separately would
change the direction).

:func:`clip_grad_norm` matches ``torch.nn.utils.clip_grad_norm_``: it returns the
norm *before* clipping (worth logging: a spike in it is the first sign of
trouble) and divides by ``||g|| + 1e-6`` so a zero gradient never divides by 0.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

CLIP_EPS = 1e-6  # added to the norm before dividing, exactly as torch does


def clip_grad_norm(
    parameters: Iterable[torch.Tensor] | torch.Tensor, max_norm: float, *, error_if_nonfinite: bool = False
) -> torch.Tensor:
    """Scale the gradients of ``parameters`` in place so their global 2-norm is at most ``max_norm``.

    Args:
        parameters: tensors whose ``.grad`` to clip (those without a gradient are skipped).
        max_norm: the largest allowed global norm, > 0.
        error_if_nonfinite: raise a RuntimeError when the norm is NaN or infinite
            (otherwise the gradients become NaN, as in torch).

    Returns:
        The global norm of the gradients before clipping, as a 0-d tensor.
    """
    # BEGIN SOLUTION c04.2: validate, norm of the per-tensor norms, scale by min(1, max_norm / (norm + eps))
    if isinstance(max_norm, bool) or not isinstance(max_norm, int | float) or not max_norm > 0:
        raise ValueError(f"max_norm must be a positive number, got {max_norm!r}")
    params = [parameters] if isinstance(parameters, torch.Tensor) else list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    total: torch.Tensor = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    if error_if_nonfinite and not torch.isfinite(total):
        raise RuntimeError(f"the total gradient norm is {total.item()}: cannot clip a non-finite gradient")
    scale = torch.clamp(max_norm / (total + CLIP_EPS), max=1.0)
    for grad in grads:
        grad.mul_(scale.to(grad.dtype))
    return total
    # END SOLUTION
