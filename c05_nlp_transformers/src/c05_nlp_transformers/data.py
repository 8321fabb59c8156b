"""Tiny Shakespeare through the data home, a character vocabulary, a fixed split and batches.

Data sets are never copied into the repository. A loader looks for the file in the
*data home*: the folder named by the environment variable ``CURRICULUM_DATA_HOME``
(the Makefile and CI point it at the course's shared data folder), or, when that is
unset or empty, a user cache folder (``$XDG_CACHE_HOME/curriculum``, by default
``~/.cache/curriculum``). The file is always checked against the sha256 this module
embeds (copied from the data set's ``SHA256SUMS``), so a truncated or edited copy is
refused instead of silently training on something else. Where the file is missing,
it is downloaded from the data set's public source into the data home, written to a
temporary name, verified, and only then renamed into place.

The language model of c05.4 reads characters: :class:`CharTokenizer` maps each of
the 65 distinct characters of the corpus to an id (sorted, so the ids do not depend
on the order the text happens to use them in). :func:`train_val_split` keeps the first
90 % for training and the last 10 % for held-out evaluation (a fixed split, as in
nanoGPT), and :func:`get_batch` cuts random windows out of a split.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

DATA_HOME_ENV = "CURRICULUM_DATA_HOME"
TRAIN_FRACTION = 0.9  # the fixed 90/10 split of c05.4


@dataclass(frozen=True)
class DataFile:
    """One file of a public data set: where it lives in the data home and what it must hash to."""

    folder: str  # sub-folder of the data home
    name: str
    sha256: str
    url: str  # the public source, used only when the file is not in the data home

    def path_in(self, home: Path) -> Path:
        return home / self.folder / self.name


TINYSHAKESPEARE = DataFile(
    folder="tinyshakespeare",
    name="input.txt",
    sha256="86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
    url=(
        "https://raw.githubusercontent.com/karpathy/char-rnn/"
        "6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/data/tinyshakespeare/input.txt"
    ),
)


class ChecksumError(ValueError):
    """A data file whose sha256 differs from the one this module expects."""


Fetch = Callable[[str, Path], None]  # (url, destination) -> None: writes the downloaded bytes


def _urllib_fetch(url: str, destination: Path) -> None:
    """Download ``url`` (https:// or file://) to ``destination``."""
    with urllib.request.urlopen(url, timeout=60) as response, destination.open("wb") as out:
        while chunk := response.read(1 << 20):
            out.write(chunk)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def data_home() -> Path:
    """The data home: ``$CURRICULUM_DATA_HOME``, else ``$XDG_CACHE_HOME/curriculum`` or ``~/.cache/curriculum``."""
    # BEGIN SOLUTION c05.1: the environment variable when set and non-empty, else the user cache folder
    configured = os.environ.get(DATA_HOME_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(cache).expanduser() if cache else Path.home() / ".cache") / "curriculum"
    # END SOLUTION


def fetch(
    spec: DataFile, home: Path | None = None, *, url: str | None = "default", fetcher: Fetch = _urllib_fetch
) -> Path:
    """The verified path of ``spec`` in the data home, downloading it first if it is missing.

    Args:
        spec: the file and its expected sha256.
        home: the data home (default: :func:`data_home`).
        url: where to download from when the file is missing: ``"default"`` is the data set's
            public source, ``None`` means do not download (a missing file is an error).
        fetcher: ``fetcher(url, destination)`` writes the downloaded bytes (tests pass a fake).

    Raises:
        FileNotFoundError: the file is missing and there is no source; the message names the
            file and the data home it was looked for in.
        ChecksumError: the file (present or downloaded) does not hash to ``spec.sha256``; a
            downloaded file that fails is deleted.
    """
    # BEGIN SOLUTION c05.1: look in the data home, else download to a temporary file, verify, rename
    home = data_home() if home is None else home
    path = spec.path_in(home)
    if not path.is_file():
        source = spec.url if url == "default" else url
        if source is None:
            raise FileNotFoundError(
                f"{spec.folder}/{spec.name} is not in the data home {home} (looked for {path}) "
                f"and no download source was given; set {DATA_HOME_ENV} to the folder that holds it"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{spec.name}.", dir=path.parent)
        os.close(handle)
        partial = Path(temporary)
        try:
            fetcher(source, partial)
            _verify(partial, spec, f"downloaded from {source}")
            partial.replace(path)  # atomic: a reader never sees a half-written file
        finally:
            partial.unlink(missing_ok=True)
        return path
    _verify(path, spec, f"found in the data home {home}")
    return path
    # END SOLUTION


def _verify(path: Path, spec: DataFile, where: str) -> None:
    actual = sha256_of(path)
    if actual != spec.sha256:
        raise ChecksumError(
            f"{path} ({where}) has sha256 {actual}, expected {spec.sha256}: "
            "the file is corrupt or a different version; delete it and load again"
        )


def load_tinyshakespeare(home: Path | None = None, *, url: str | None = "default") -> str:
    """The full Tiny Shakespeare corpus (1,115,394 characters), verified (see :func:`fetch`)."""
    return fetch(TINYSHAKESPEARE, home, url=url).read_text(encoding="utf-8")


class CharTokenizer:
    """Characters to ids and back: id ``i`` is the ``i``-th character in sorted order."""

    chars: tuple[str, ...]
    char_to_id: dict[str, int]

    def __init__(self, chars: Iterable[str]) -> None:
        # BEGIN SOLUTION c05.4: sorted unique characters, a lookup table, reject an empty vocabulary
        self.chars = tuple(sorted(set(chars)))
        if not self.chars:
            raise ValueError("empty vocabulary: a CharTokenizer needs at least one character")
        if any(len(c) != 1 for c in self.chars):
            raise ValueError("every entry of a character vocabulary must be a single character")
        self.char_to_id = {c: i for i, c in enumerate(self.chars)}
        # END SOLUTION

    @classmethod
    def from_text(cls, text: str) -> CharTokenizer:
        return cls(text)

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        # BEGIN SOLUTION c05.4: look up every character; an unknown one is a ValueError naming it
        try:
            return [self.char_to_id[c] for c in text]
        except KeyError as err:
            raise ValueError(f"character {err.args[0]!r} is not in the vocabulary") from None
        # END SOLUTION

    def decode(self, ids: Sequence[int]) -> str:
        # BEGIN SOLUTION c05.4: map ids back to characters; an out-of-range id is a ValueError
        size = len(self.chars)
        bad = [i for i in ids if not 0 <= int(i) < size]
        if bad:
            raise ValueError(f"token id {bad[0]} is outside the vocabulary of {size} characters")
        return "".join(self.chars[int(i)] for i in ids)
        # END SOLUTION


def train_val_split(data: torch.Tensor, train_fraction: float = TRAIN_FRACTION) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``train_fraction`` of the token ids for training, the rest held out (no shuffling)."""
    # BEGIN SOLUTION c05.4: one cut at int(train_fraction * len(data)); both parts non-empty
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction}")
    cut = int(train_fraction * len(data))
    if cut == 0 or cut == len(data):
        raise ValueError(f"{len(data)} tokens are too few to split {train_fraction:.0%} / {1 - train_fraction:.0%}")
    return data[:cut], data[cut:]
    # END SOLUTION


def get_batch(
    data: torch.Tensor, batch_size: int, block_size: int, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch_size`` random windows: inputs ``x`` (B, T) and targets ``y`` (B, T), ``y`` = ``x`` shifted by one."""
    # BEGIN SOLUTION c05.4: random start offsets, stack the windows, targets shifted by one position
    if len(data) <= block_size:
        raise ValueError(f"a split of {len(data)} tokens has no window of {block_size} + 1 tokens")
    starts = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    x = torch.stack([data[i : i + block_size] for i in starts.tolist()])  # (B, T)
    y = torch.stack([data[i + 1 : i + 1 + block_size] for i in starts.tolist()])  # (B, T)
    return x, y
    # END SOLUTION
