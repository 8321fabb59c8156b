"""Light data augmentation in torch: random shifts of whole images (task c04.4).

A digit moved one pixel to the left is still the same digit, but to a network
that has only seen centred digits it is a new input. Showing each training image
at a random small offset every epoch teaches the network that a shift changes
nothing (convolutions plus pooling make it *nearly* shift-invariant; the
augmentation finishes the job) and acts as a regulariser on a tiny data set.

:func:`shift_images` moves each image by its own (dy, dx) with zero fill, in one
gather: pad every image by ``s`` zeros on each side, then read an H x W window
starting at row ``s - dy`` and column ``s - dx`` of the padded image. No Python
loop over images, so it costs microseconds per batch. :func:`random_shift` draws
the offsets from a ``torch.Generator``, so an augmented run is reproducible.
"""

from __future__ import annotations

import torch
from torch.nn.functional import pad as pad_images


def shift_images(images: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor) -> torch.Tensor:
    """Move image i down by ``dy[i]`` and right by ``dx[i]`` pixels (negative: up / left), zero-filled.

    Args:
        images: (B, C, H, W) floating-point batch.
        dy, dx: (B,) integer offsets with ``|offset|`` smaller than H (for dy) and W (for dx).

    Returns:
        A new (B, C, H, W) tensor; pixels shifted in from outside are 0.
    """
    # BEGIN SOLUTION c04.4: validate, pad by the largest offset, gather one H x W window per image
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images must be a (B, C, H, W) tensor, got {shape}")
    if not images.is_floating_point():
        raise TypeError(f"images must be floating point, got {images.dtype}")
    batch, _, height, width = images.shape
    for name, offsets, size in (("dy", dy, height), ("dx", dx, width)):
        if offsets.shape != (batch,) or offsets.is_floating_point() or offsets.is_complex():
            raise ValueError(f"{name} must be a ({batch},) integer tensor, got {tuple(offsets.shape)} {offsets.dtype}")
        if batch and offsets.abs().max() >= size:
            raise ValueError(f"|{name}| must be smaller than the image size {size}, got {offsets.abs().max().item()}")
    if batch == 0:
        return images.clone()
    pad = int(max(dy.abs().max().item(), dx.abs().max().item()))
    padded = pad_images(images, (pad, pad, pad, pad))  # (B, C, H + 2p, W + 2p), zeros around
    device = images.device
    rows = (pad - dy.to(device))[:, None] + torch.arange(height, device=device)  # (B, H): source row per output row
    cols = (pad - dx.to(device))[:, None] + torch.arange(width, device=device)  # (B, W)
    batch_index = torch.arange(batch, device=device)[:, None, None]  # (B, 1, 1)
    channels_last = padded.permute(0, 2, 3, 1)  # (B, H + 2p, W + 2p, C): index the spatial dims together
    window = channels_last[batch_index, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    return window.permute(0, 3, 1, 2).contiguous()  # (B, C, H, W)
    # END SOLUTION


def random_shift(images: torch.Tensor, max_shift: int = 1, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shift each image by offsets drawn uniformly from {-max_shift, ..., max_shift} (both axes).

    Args:
        images: (B, C, H, W) floating-point batch.
        max_shift: the largest offset, an integer >= 0 (0 returns an unchanged copy).
        generator: where the offsets come from (torch's global generator when omitted).
    """
    # BEGIN SOLUTION c04.4: validate max_shift, draw (B,) offsets for each axis from generator, shift_images
    if isinstance(max_shift, bool) or not isinstance(max_shift, int) or max_shift < 0:
        raise ValueError(f"max_shift must be an integer >= 0, got {max_shift!r}")
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images must be a (B, C, H, W) tensor, got {shape}")
    batch = images.shape[0]
    dy = torch.randint(-max_shift, max_shift + 1, (batch,), generator=generator)
    dx = torch.randint(-max_shift, max_shift + 1, (batch,), generator=generator)
    return shift_images(images, dy, dx)
    # END SOLUTION
