"""Benchmark every estimator against its scikit-learn counterpart: ``python -m c03_ml_basics.bench``.

For each estimator and each size n (n_samples x 20 features, synthetic data from
``make_regression`` / ``make_classification`` with seed 0) it times ``fit`` and
``predict`` of ours and of scikit-learn's, keeps the best of ``--repeats`` runs
(the least disturbed by other processes) and reports the ratio ours / theirs:
1.0 is parity, 5.0 means five times slower.

Timing is fair to both sides: ours and scikit-learn's run alternately, so a
burst of load from other processes hits both; each cell keeps the best of up to
``--repeats`` runs within a time budget; and BLAS and OpenMP are limited to
``--threads`` threads (default 1, with threadpoolctl) for both, so a busy machine
does not punish scikit-learn's OpenMP loops or our BLAS calls for
oversubscription, and the ratio compares algorithms, not thread counts.

Both sides use their defaults, which are not always the same amount of work:
our logistic regression's Newton solver stops at a gradient of 1e-10 where
scikit-learn's lbfgs stops at 1e-4, and our gradient descent converges to the
least-squares answer where ``SGDRegressor`` stops at its own looser rule. The
trees are grown to full depth on both sides, the hardest case for ours (one
Python iteration per node). Every estimator is fitted once, untimed, on a small
input first, so imports and first-call costs are excluded.

Run it on an otherwise idle machine, and read small differences as noise.
"""

from __future__ import annotations

import argparse
import importlib
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge, SGDRegressor
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from c03_ml_basics.gradient_descent import MiniBatchGDRegressor
from c03_ml_basics.linear import LeastSquaresRegressor, RidgeRegressor
from c03_ml_basics.logistic import LogisticClassifier
from c03_ml_basics.tree import CARTClassifier, CARTRegressor

DEFAULT_SIZES = (1_000, 10_000, 50_000)
QUICK_SIZES = (500, 2_000)
N_FEATURES = 20
WARMUP_SAMPLES = 60
# threadpoolctl ships with scikit-learn but has no type information: import it untyped.
threadpool_limits: Any = importlib.import_module("threadpoolctl").threadpool_limits
CELL_BUDGET_S = 4.0  # stop repeating a cell once ours and theirs together took this long (after 2 runs each)


@dataclass(frozen=True)
class Case:
    """One estimator and its scikit-learn counterpart on one kind of data."""

    name: str
    data: str  # "regression", "binary" or "3-class"
    ours: Callable[[], Any]
    theirs: Callable[[], Any]


CASES = (
    Case("least squares (QR) / LinearRegression", "regression", LeastSquaresRegressor, LinearRegression),
    Case("ridge (Cholesky) / Ridge", "regression", RidgeRegressor, Ridge),
    Case("mini-batch GD / SGDRegressor", "regression", lambda: MiniBatchGDRegressor(random_state=0),
         lambda: SGDRegressor(random_state=0)),
    Case("logistic Newton / LogisticRegression", "binary", LogisticClassifier,
         lambda: LogisticRegression(max_iter=1000)),
    Case("logistic Newton, 3 classes / LogisticRegression", "3-class", LogisticClassifier,
         lambda: LogisticRegression(max_iter=1000)),
    Case("CART classifier / DecisionTreeClassifier", "binary", CARTClassifier,
         lambda: DecisionTreeClassifier(random_state=0)),
    Case("CART regressor / DecisionTreeRegressor", "regression", CARTRegressor,
         lambda: DecisionTreeRegressor(random_state=0)),
)


@dataclass(frozen=True)
class Row:
    """One line of the table: one estimator at one size, best times in seconds."""

    estimator: str
    n_samples: int
    fit_ours: float
    fit_sklearn: float
    predict_ours: float
    predict_sklearn: float

    @property
    def fit_ratio(self) -> float:
        return self.fit_ours / self.fit_sklearn

    @property
    def predict_ratio(self) -> float:
        return self.predict_ours / self.predict_sklearn


def make_data(kind: str, n_samples: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic (X, y) of ``kind`` with N_FEATURES features, 10 of them informative."""
    if kind == "regression":
        x, y = make_regression(n_samples=n_samples, n_features=N_FEATURES, n_informative=10, noise=10.0,
                               random_state=seed)
        return x, y
    classes = 2 if kind == "binary" else 3
    x, y = make_classification(n_samples=n_samples, n_features=N_FEATURES, n_informative=10, n_classes=classes,
                               random_state=seed)
    return x, y


def best_times(ours: Callable[[], Any], theirs: Callable[[], Any], repeats: int,
               budget_s: float = CELL_BUDGET_S) -> tuple[float, float, Any, Any]:
    """Best wall-clock times (s) of ``ours()`` and ``theirs()`` called alternately, and their last results.

    At least 2 runs each (1 if ``repeats`` is 1), at most ``repeats``; stops early once the
    runs so far took ``budget_s`` in all.
    """
    best = [np.inf, np.inf]
    results: list[Any] = [None, None]
    spent = 0.0
    for run in range(repeats):
        for side, fn in enumerate((ours, theirs)):
            start = time.perf_counter()
            results[side] = fn()
            elapsed = time.perf_counter() - start
            best[side] = min(best[side], elapsed)
            spent += elapsed
        if run >= 1 and spent > budget_s:
            break
    return best[0], best[1], results[0], results[1]


def run_benchmark(sizes: Sequence[int] = DEFAULT_SIZES, repeats: int = 5, cases: Sequence[Case] = CASES,
                  threads: int = 1) -> list[Row]:
    """Time every case at every size and return the table rows (no printing)."""
    if repeats < 1 or not sizes or min(sizes) < WARMUP_SAMPLES:
        raise ValueError(f"need repeats >= 1 and at least one size, every size >= {WARMUP_SAMPLES}")
    rows = []
    with warnings.catch_warnings(), threadpool_limits(limits=threads):
        warnings.simplefilter("ignore", ConvergenceWarning)  # SGDRegressor's defaults warn on some sizes
        for case in cases:
            x, y = make_data(case.data, WARMUP_SAMPLES)
            for factory in (case.ours, case.theirs):
                factory().fit(x, y).predict(x)
            for n in sizes:
                x, y = make_data(case.data, n)
                fit_ours, fit_theirs, ours, theirs = best_times(
                    lambda: case.ours().fit(x, y), lambda: case.theirs().fit(x, y), repeats)  # noqa: B023
                predict_ours, predict_theirs, _, _ = best_times(
                    lambda: ours.predict(x), lambda: theirs.predict(x), repeats)  # noqa: B023
                rows.append(Row(case.name, n, fit_ours, fit_theirs, predict_ours, predict_theirs))
    return rows


HEADERS = ["estimator (ours / scikit-learn)", "n", "fit ours (ms)", "fit sklearn (ms)", "fit ratio",
           "predict ours (ms)", "predict sklearn (ms)", "predict ratio"]


def format_rows(rows: Sequence[Row]) -> list[list[str]]:
    """The table cells as strings."""
    return [[r.estimator, f"{r.n_samples:,}", f"{r.fit_ours * 1e3:.2f}", f"{r.fit_sklearn * 1e3:.2f}",
             f"{r.fit_ratio:.2f}", f"{r.predict_ours * 1e3:.3f}", f"{r.predict_sklearn * 1e3:.3f}",
             f"{r.predict_ratio:.2f}"] for r in rows]


def render_table(rows: Sequence[Row], *, plain: bool = False) -> str:
    """One table of all rows, with rich unless ``plain``; ratios are ours / scikit-learn's."""
    cells = format_rows(rows)
    title = f"c03 estimators vs scikit-learn (n x {N_FEATURES} features; ratio = ours / sklearn, lower is better)"
    if not plain:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title)
        for i, header in enumerate(HEADERS):
            table.add_column(header, justify="left" if i == 0 else "right")
        for line in cells:
            table.add_row(*line)
        console = Console(width=200, record=True)
        with console.capture() as capture:
            console.print(table)
        return capture.get()
    widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, h in enumerate(HEADERS)]

    def join(line: Sequence[str]) -> str:
        return " | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths,
                                                                                               strict=True)))

    return "\n".join([title, join(HEADERS), "-+-".join("-" * w for w in widths), *map(join, cells)]) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(prog="python -m c03_ml_basics.bench",
                                     description="Time fit and predict of every estimator against scikit-learn.")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES), help="numbers of samples")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per cell at most (the best is kept)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS / OpenMP threads for both sides")
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES} and 1 repeat")
    parser.add_argument("--plain", action="store_true", help="plain-text table instead of rich")
    args = parser.parse_args(argv)
    sizes, repeats = (QUICK_SIZES, 1) if args.quick else (args.sizes, args.repeats)
    print(render_table(run_benchmark(sizes, repeats, threads=args.threads), plain=args.plain), end="")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
