"""The digits data set and one fixed, stratified train/test split (task c04.3).

scikit-learn ships 1797 handwritten digits as 8 x 8 grey images with 17 grey
levels (0..16), so the data never needs a download. :func:`load_digits_arrays`
(given) scales them to [0, 1]. Every model in this module is trained and
evaluated on the *same* split, :func:`load_digits_split`, so their held-out
accuracies are comparable: the split is scikit-learn's ``train_test_split``
with ``stratify`` (each class keeps its share in both parts) and a fixed
``random_state``, which gives every learner the same 450 test images.

Images become torch tensors of shape (N, 1, 8, 8): batch, channel, height,
width, the layout every torch vision layer expects; labels are int64, which is
what ``F.cross_entropy`` wants.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray

N_CLASSES = 10
IMAGE_SHAPE = (1, 8, 8)  # (C, H, W)
TEST_FRACTION = 0.25
SPLIT_SEED = 0


@dataclass(frozen=True)
class DigitsSplit:
    """Train and test tensors plus the row indices they came from."""

    x_train: torch.Tensor  # (N_train, 1, 8, 8) float32 in [0, 1]
    y_train: torch.Tensor  # (N_train,) int64
    x_test: torch.Tensor  # (N_test, 1, 8, 8) float32
    y_test: torch.Tensor  # (N_test,) int64
    train_index: NDArray[np.int64]  # rows of load_digits_arrays() in the training part
    test_index: NDArray[np.int64]


@functools.cache
def load_digits_arrays() -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """All 1797 images as (N, 8, 8) float32 in [0, 1] and their (N,) int64 labels (read-only, cached)."""
    from sklearn.datasets import load_digits  # imported here: scikit-learn takes seconds to import

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)  # (N, 8, 8): 16 is the brightest grey level
    labels = digits.target.astype(np.int64)  # (N,)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def stratified_split(
    labels: NDArray[np.integer], test_fraction: float = TEST_FRACTION, seed: int = SPLIT_SEED
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Train and test row indices of a stratified split: exactly ``train_test_split(..., stratify=labels)``.

    Args:
        labels: (N,) integer class labels.
        test_fraction: share of the rows in the test part, strictly between 0 and 1.
        seed: the ``random_state``; one seed, one split.

    Returns:
        ``(train_index, test_index)``: int64 arrays that together hold every row once.
    """
    # BEGIN SOLUTION c04.3: validate (1-D int labels, 0 < fraction < 1, 2+ rows a class), train_test_split
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(f"labels must be a 1-D integer array, got shape {labels.shape} and dtype {labels.dtype}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction}")
    classes, counts = np.unique(labels, return_counts=True)
    if len(classes) == 0 or counts.min() < 2:
        rare = classes[counts < 2].tolist() if len(classes) else []
        raise ValueError(f"every class needs at least 2 rows to appear on both sides of the split; too few: {rare}")
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(labels), dtype=np.int64)
    train_index, test_index = train_test_split(rows, test_size=test_fraction, stratify=labels, random_state=seed)
    return np.asarray(train_index, dtype=np.int64), np.asarray(test_index, dtype=np.int64)
    # END SOLUTION


def load_digits_split(test_fraction: float = TEST_FRACTION, seed: int = SPLIT_SEED) -> DigitsSplit:
    """The digits as torch tensors, split by :func:`stratified_split` (fresh tensors on every call)."""
    # BEGIN SOLUTION c04.3: split the indices, then build (N, 1, 8, 8) float32 images and int64 labels
    images, labels = load_digits_arrays()
    train_index, test_index = stratified_split(labels, test_fraction, seed)

    def images_of(index: NDArray[np.int64]) -> torch.Tensor:
        return torch.from_numpy(images[index]).unsqueeze(1)  # fancy indexing copies: (n, 8, 8) -> (n, 1, 8, 8)

    return DigitsSplit(
        x_train=images_of(train_index),
        y_train=torch.from_numpy(labels[train_index]),
        x_test=images_of(test_index),
        y_test=torch.from_numpy(labels[test_index]),
        train_index=train_index,
        test_index=test_index,
    )
    # END SOLUTION
