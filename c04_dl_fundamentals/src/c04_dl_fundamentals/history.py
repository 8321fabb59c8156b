"""Per-epoch metrics: a JSON-lines log and a PNG plot of it (task c04.5).

One JSON object per line and per epoch (``{"epoch": 3, "train_loss": 0.21, ...}``)
is the simplest durable log: appending a line never rewrites what is already
there, a crash loses at most the line being written, any tool reads it
(``pandas.read_json(path, lines=True)``, ``jq``), and a resumed run rewrites it
from the history stored in its checkpoint, so the log never shows an epoch
that the restored weights have not seen.

:func:`plot_history` draws loss and accuracy against the epoch (train and
validation side by side), with matplotlib's non-interactive Agg backend so it
works on a machine without a display.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

Record = Mapping[str, Any]


def append_jsonl(path: str | os.PathLike[str], record: Record) -> None:
    """Append ``record`` as one JSON line (creating the file and its folder), flushed to disk."""
    # BEGIN SOLUTION c04.5: one json.dumps per line (reject NaN/inf: not JSON), append mode, flush + fsync
    path = Path(path)
    line = json.dumps(dict(record), allow_nan=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    # END SOLUTION


def write_jsonl(path: str | os.PathLike[str], records: Iterable[Record]) -> None:
    """Replace the file at ``path`` with one JSON line per record."""
    # BEGIN SOLUTION c04.5: write to a temporary file, then os.replace
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text("".join(json.dumps(dict(r), allow_nan=False) + "\n" for r in records), encoding="utf-8")
    os.replace(partial, path)
    # END SOLUTION


def read_jsonl(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every record of a JSON-lines file; a ValueError names the first bad line."""
    # BEGIN SOLUTION c04.5: skip blank lines, json.loads the rest, name the line number on error
    records = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as err:
            raise ValueError(f"{path}:{number}: not a JSON line ({err})") from None
        if not isinstance(record, dict):
            raise ValueError(f"{path}:{number}: expected a JSON object, got {type(record).__name__}")
        records.append(record)
    return records
    # END SOLUTION


def plot_history(
    records: Sequence[Record], png_path: str | os.PathLike[str], *, title: str = "training history"
) -> Path:
    """Plot ``*_loss`` and ``*_accuracy`` columns of ``records`` against ``epoch`` into a PNG; return its path."""
    # BEGIN SOLUTION c04.5: Agg backend, two panels (loss, accuracy), one line per train_/val_ column
    if not records:
        raise ValueError("no records to plot")
    if any("epoch" not in r for r in records):
        raise ValueError("every record needs an 'epoch' field")
    import matplotlib

    matplotlib.use("Agg")  # no display needed; safe to call repeatedly
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in records]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    try:
        for ax, suffix in zip(axes, ("loss", "accuracy"), strict=True):
            columns = sorted({key for r in records for key in r if key.endswith("_" + suffix)})
            for column in columns:
                values = [float(r.get(column, math.nan)) for r in records]
                ax.plot(epochs, values, marker="o", label=column)
            ax.set_xlabel("epoch")
            ax.set_ylabel(suffix)
            ax.grid(alpha=0.3)
            if columns:
                ax.legend()
        fig.suptitle(title)
        fig.tight_layout()
        png = Path(png_path)
        png.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(png, dpi=80)
    finally:
        plt.close(fig)
    return png
    # END SOLUTION
