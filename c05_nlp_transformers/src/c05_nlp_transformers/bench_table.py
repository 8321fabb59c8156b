"""The benchmark's table: one :class:`Row` per measurement, rendered with rich or as plain text.

Every part of ``python -m c05_nlp_transformers.bench`` (:mod:`~c05_nlp_transformers.bench`,
:mod:`~c05_nlp_transformers.bench_llm`, :mod:`~c05_nlp_transformers.bench_decode`) returns rows of
this one shape, so that the entry script only concatenates and prints them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

HEADERS = ["benchmark", "setting", "ours", "value", "baseline", "value ", "ratio"]


@dataclass(frozen=True)
class Row:
    """One line of the table: a measurement of ours, optionally against a baseline."""

    benchmark: str
    setting: str
    label: str  # what "value" measures, e.g. "cold cache (MB/s)"
    value: float
    baseline_label: str = "-"
    baseline: float | None = None

    @property
    def ratio(self) -> float | None:
        return None if self.baseline is None else self.value / self.baseline


def best_of(fn: Callable[[], float], repeats: int) -> float:
    """The best (largest) of ``repeats`` calls of ``fn``, which returns a rate."""
    return max(fn() for _ in range(repeats))


def format_rows(rows: Sequence[Row]) -> list[list[str]]:
    def number(value: float | None, digits: int = 2) -> str:
        return "-" if value is None else f"{value:,.{digits}f}"

    return [[r.benchmark, r.setting, r.label, number(r.value), r.baseline_label, number(r.baseline), number(r.ratio)]
            for r in rows]


def render_table(rows: Sequence[Row], *, plain: bool = False) -> str:
    """One table, with rich unless ``plain`` (or rich is missing)."""
    cells = format_rows(rows)
    note = (f"torch threads: {torch.get_num_threads()}; ratio = ours / baseline (generation: the cache's speed-up; "
            "first token: a latency, lower is better)")
    if not plain:
        try:
            from rich.console import Console
            from rich.table import Table
        except ImportError:
            plain = True
    if not plain:
        table = Table(title="c05 tokenizer, training and generation benchmark", caption=note)
        for i, header in enumerate(HEADERS):
            table.add_column(header, justify="right" if i in (3, 5, 6) else "left")
        for line in cells:
            table.add_row(*line)
        console = Console(width=130, record=True)
        with console.capture() as capture:
            console.print(table)
        return capture.get()
    widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, h in enumerate(HEADERS)]
    lines = [" | ".join(h.ljust(w) for h, w in zip(HEADERS, widths, strict=True))]
    lines.append("-+-".join("-" * w for w in widths))
    lines += [" | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in cells]
    return "\n".join([*lines, note]) + "\n"
