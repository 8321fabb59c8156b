"""Two classifiers for 8 x 8 digits: an MLP (task c04.3) and a small CNN (task c04.4).

**MLP.** Flatten each (1, 8, 8) image to 64 numbers and apply Linear -> ReLU ->
Dropout blocks, then a Linear layer to 10 logits. It treats pixel 0 and pixel
63 as unrelated inputs: it must learn from data that neighbouring pixels go
together, and that a stroke one pixel to the left is the same stroke.

**CNN.** Convolutions build that knowledge in: a 3 x 3 filter looks at a pixel
and its neighbours, and the *same* filter slides over the whole image (weight
sharing), so a stroke detector works anywhere. Each block is
Conv (no bias: batch norm's shift replaces it) -> BatchNorm -> ReLU, and max
pooling halves the resolution (8 -> 4 -> 2) so later filters see larger parts
of the digit. Dropout before the classifier regularises; batch norm normalises
each channel by its batch statistics while training and by running averages
in ``eval()`` mode, which is why the training loop must switch modes.

Both models check their input first (:func:`check_images`): a wrong shape or
dtype becomes a clear error naming what was expected, not a cryptic message
from deep inside a matmul.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from c04_dl_fundamentals.data import IMAGE_SHAPE, N_CLASSES


def check_images(x: torch.Tensor, expected: tuple[int, ...] = IMAGE_SHAPE, dtype: torch.dtype = torch.float32) -> None:
    """Raise unless ``x`` is a (B, *expected) tensor of ``dtype``.

    TypeError for something that is not a tensor or has another dtype (the
    message suggests the fix); ValueError for the wrong number of dimensions or
    the wrong per-image shape, naming both shapes.
    """
    # BEGIN SOLUTION c04.3: type, dtype, ndim and per-sample shape, each with its own message
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor batch, got {type(x).__name__}")
    if x.dtype != dtype:
        raise TypeError(f"expected a {dtype} batch, got {x.dtype} (convert it, e.g. with x.to({dtype}))")
    want = "(B, " + ", ".join(str(size) for size in expected) + ")"
    if x.ndim != len(expected) + 1:
        raise ValueError(f"expected a batch of shape {want}, got a {x.ndim}-D tensor of shape {tuple(x.shape)}")
    if tuple(x.shape[1:]) != tuple(expected):
        raise ValueError(f"expected a batch of shape {want}, got {tuple(x.shape)}")
    # END SOLUTION


class MLP(nn.Module):
    """Flatten -> [Linear -> ReLU -> Dropout] per hidden width -> Linear to ``n_classes`` logits.

    Args:
        hidden: the widths of the hidden layers, e.g. (256, 128).
        dropout: the drop probability after each hidden layer, in [0, 1).
        image_shape: the (C, H, W) of one input image.
        n_classes: the number of output logits.
    """

    net: nn.Sequential
    image_shape: tuple[int, ...]

    def __init__(
        self,
        hidden: Sequence[int] = (256, 128),
        dropout: float = 0.2,
        image_shape: tuple[int, ...] = IMAGE_SHAPE,
        n_classes: int = N_CLASSES,
    ) -> None:
        super().__init__()
        # BEGIN SOLUTION c04.3: validate the widths and dropout, then build self.net as one nn.Sequential
        if not hidden or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in hidden):
            raise ValueError(f"hidden must be a non-empty sequence of positive integers, got {hidden!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout}")
        self.image_shape = tuple(image_shape)
        in_features = 1
        for size in self.image_shape:
            in_features *= size
        layers: list[nn.Module] = [nn.Flatten()]  # (B, C, H, W) -> (B, C*H*W)
        for width in hidden:
            layers += [nn.Linear(in_features, width), nn.ReLU(), nn.Dropout(dropout)]
            in_features = width
        layers.append(nn.Linear(in_features, n_classes))  # (B, n_classes) logits
        self.net = nn.Sequential(*layers)
        # END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) float32 images -> (B, n_classes) logits."""
        # BEGIN SOLUTION c04.3: check the input, then run self.net
        check_images(x, self.image_shape)
        out: torch.Tensor = self.net(x)
        return out
        # END SOLUTION


class CNN(nn.Module):
    """Three conv blocks (the last two followed by 2 x 2 max pooling), dropout, a linear classifier.

    For (1, 8, 8) inputs and ``channels=(32, 32, 64)``::

        conv3x3(1->32)  BN ReLU             (B, 32, 8, 8)
        conv3x3(32->32) BN ReLU maxpool2    (B, 32, 4, 4)
        conv3x3(32->64) BN ReLU maxpool2    (B, 64, 2, 2)
        flatten dropout linear(256->10)     (B, 10)

    Args:
        channels: output channels of the three conv blocks.
        dropout: the drop probability before the classifier, in [0, 1).
        image_shape: the (C, H, W) of one input image; H and W divisible by 4.
        n_classes: the number of output logits.
    """

    features: nn.Sequential
    classifier: nn.Sequential
    image_shape: tuple[int, ...]

    def __init__(
        self,
        channels: tuple[int, int, int] = (32, 32, 64),
        dropout: float = 0.3,
        image_shape: tuple[int, ...] = IMAGE_SHAPE,
        n_classes: int = N_CLASSES,
    ) -> None:
        super().__init__()
        # BEGIN SOLUTION c04.4: validate; self.features = conv blocks, self.classifier = dropout + linear
        if len(channels) != 3 or any(isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in channels):
            raise ValueError(f"channels must be three positive integers, got {channels!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout}")
        in_channels, height, width = image_shape
        if height % 4 or width % 4:
            raise ValueError(f"image height and width must be divisible by 4 (two 2x2 poolings), got {image_shape}")
        self.image_shape = tuple(image_shape)

        def block(c_in: int, c_out: int) -> list[nn.Module]:
            # bias=False: batch norm subtracts the channel mean, which would cancel a bias anyway
            return [nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]

        c1, c2, c3 = channels
        self.features = nn.Sequential(
            *block(in_channels, c1),  # (B, c1, H, W)
            *block(c1, c2),
            nn.MaxPool2d(2),  # (B, c2, H/2, W/2)
            *block(c2, c3),
            nn.MaxPool2d(2),  # (B, c3, H/4, W/4)
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),  # (B, c3 * H/4 * W/4)
            nn.Dropout(dropout),
            nn.Linear(c3 * (height // 4) * (width // 4), n_classes),  # (B, n_classes)
        )
        # END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) float32 images -> (B, n_classes) logits."""
        # BEGIN SOLUTION c04.4: check the input, features, classifier
        check_images(x, self.image_shape)
        out: torch.Tensor = self.classifier(self.features(x))
        return out
        # END SOLUTION


def count_parameters(model: nn.Module) -> int:
    """The number of trainable scalars in ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
