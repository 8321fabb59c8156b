"""The error-analysis report: ``python -m c03_ml_basics.report [--out DIR] [--quick]``.

Writes ``report.md`` and three PNG plots (matplotlib's Agg backend, no display
needed) into ``c03_ml_basics/docs/report/`` by default:

* ``residuals.png``: diabetes, least squares on the fixed split: residual
  against prediction, and standardised residual against leverage (Cook's
  distance as marker size), the worst-predicted patients labelled;
* ``confusion_matrices.png``: breast cancer with logistic regression, wine
  with a CART tree, on the fixed split;
* ``learning_curves.png``: breast cancer, training and validation accuracy
  of logistic regression and a CART tree against the training-set size.

The Markdown names the worst-predicted examples by their row in the data set,
with the likely reason (``error_analysis.py``), and tabulates cross-validated
scores of every estimator next to its scikit-learn counterpart.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from matplotlib.figure import Figure
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from c03_ml_basics.datasets import holdout_split, load
from c03_ml_basics.error_analysis import WorstExample, worst_classified, worst_regressed
from c03_ml_basics.evaluation import (
    confusion_matrix,
    cross_val_scores,
    learning_curve,
    precision_recall_f1,
    r2,
    residual_analysis,
)
from c03_ml_basics.linear import LeastSquaresRegressor
from c03_ml_basics.logistic import LogisticClassifier
from c03_ml_basics.tree import CARTClassifier, CARTRegressor

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "docs" / "report"
# threadpoolctl ships with scikit-learn but has no type information: import it untyped.
threadpool_limits: Any = importlib.import_module("threadpoolctl").threadpool_limits
TREE_DEPTH = 4  # the trees in the report: shallow enough to read, deep enough to fit


@dataclass(frozen=True)
class ReportResult:
    """What the report wrote, and the worst examples it named."""

    markdown: Path
    plots: tuple[Path, ...]
    worst_regression: tuple[WorstExample, ...]
    worst_classification: tuple[WorstExample, ...]


def _logistic(ours: bool) -> Any:
    model = LogisticClassifier(C=1.0) if ours else LogisticRegression(C=1.0, max_iter=10_000)
    return make_pipeline(StandardScaler(), model)


def _worst_table(examples: Sequence[WorstExample], rows: np.ndarray, number: str, loss: str) -> list[str]:
    lines = [f"| data-set row | true | predicted | {loss} | likely reason |", "|---:|---|---|---:|---|"]
    for e in examples:
        true, pred = (f"{e.true:{number}}", f"{e.predicted:{number}}") if number else (str(e.true), str(e.predicted))
        lines.append(f"| {rows[e.index]} | {true} | {pred} | {e.loss:.2f} | {e.reason} |")
    return lines


def _regression_section(out: Path, top: int) -> tuple[list[str], tuple[WorstExample, ...]]:
    data = load("diabetes")
    split = holdout_split(data)
    model = LeastSquaresRegressor().fit(split.x_train, split.y_train)
    pred = model.predict(split.x_test)
    analysis = residual_analysis(split.x_test, split.y_test, pred)
    worst = tuple(worst_regressed(analysis, split.y_test, pred, split.x_test, split.x_train, split.y_train,
                                  data.feature_names, k=top))
    influential = worst_regressed(analysis, split.y_test, pred, split.x_test, split.x_train, split.y_train,
                                  data.feature_names, k=min(3, top), by="influence")
    figure = Figure(figsize=(11, 4.2), layout="constrained")
    left, right = figure.subplots(1, 2)
    left.scatter(pred, analysis.residuals, s=14, alpha=0.7)
    left.axhline(0.0, color="grey", lw=1)
    left.set(xlabel="predicted disease progression", ylabel="residual y - ŷ", title="Residuals (held-out 30 %)")
    right.scatter(analysis.leverage, analysis.standardized, s=8 + 400 * analysis.cooks_distance, alpha=0.6)
    right.axhline(0.0, color="grey", lw=1)
    right.set(xlabel="leverage h_ii", ylabel="standardised residual", title="Leverage (size: Cook's distance)")
    for e in worst:
        left.annotate(f"row {split.test_rows[e.index]}", (pred[e.index], analysis.residuals[e.index]), fontsize=8)
        right.annotate(f"row {split.test_rows[e.index]}", (analysis.leverage[e.index],
                                                             analysis.standardized[e.index]), fontsize=8)
    figure.savefig(out / "residuals.png", dpi=110)
    rmse = float(np.sqrt(np.mean(analysis.residuals**2)))
    lines = ["## Regression: diabetes, least squares", "",
             f"Held-out R² = {r2(split.y_test, pred):.3f}, RMSE = {rmse:.1f} on {len(pred)} patients "
             f"(train {len(split.y_train)}).", "", "![residuals](residuals.png)", "",
             f"Worst-predicted patients (largest |standardised residual|, top {top}):", "",
             *_worst_table(worst, split.test_rows, ".0f", "abs. std. residual"), "",
             "Most influential patients (largest Cook's distance: leaving one out moves the fit most):", "",
             *_worst_table(influential, split.test_rows, ".0f", "abs. std. residual"), ""]
    return lines, worst


def _classification_section(out: Path, top: int) -> tuple[list[str], tuple[WorstExample, ...]]:
    cancer, wine = load("breast_cancer"), load("wine")
    cancer_split, wine_split = holdout_split(cancer), holdout_split(wine)
    logistic = _logistic(ours=True).fit(cancer_split.x_train, cancer_split.y_train)
    tree = CARTClassifier(max_depth=TREE_DEPTH).fit(wine_split.x_train, wine_split.y_train)
    figure = Figure(figsize=(10, 4.2), layout="constrained")
    lines = ["## Classification: breast cancer (logistic regression) and wine (CART tree)", ""]
    for axes, (name, data, split, model) in zip(figure.subplots(1, 2), (
            ("breast cancer, logistic", cancer, cancer_split, logistic),
            (f"wine, CART depth {TREE_DEPTH}", wine, wine_split, tree)), strict=True):
        pred = model.predict(split.x_test)
        labels = np.unique(data.y)
        matrix = confusion_matrix(split.y_test, pred, list(labels))
        axes.imshow(matrix, cmap="Blues")
        for (i, j), count in np.ndenumerate(matrix):
            axes.text(j, i, str(count), ha="center", va="center", color="black")
        names = [data.target_names[int(k)] for k in labels]
        axes.set(xticks=range(len(labels)), yticks=range(len(labels)), xticklabels=names, yticklabels=names,
                 xlabel="predicted", ylabel="true", title=name)
        scores = precision_recall_f1(split.y_test, pred, list(labels))
        lines += [f"**{name}**: held-out accuracy {np.mean(pred == split.y_test):.3f}", "",
                  "| class | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
        lines += [f"| {names[k]} | {scores.precision[k]:.3f} | {scores.recall[k]:.3f} | {scores.f1[k]:.3f} | "
                  f"{scores.support[k]} |" for k in range(len(labels))]
        lines.append("")
    figure.savefig(out / "confusion_matrices.png", dpi=110)
    proba = logistic.predict_proba(cancer_split.x_test)
    named_y = np.asarray(cancer.target_names)[cancer_split.y_test]
    worst = tuple(worst_classified(proba, named_y, np.asarray(cancer.target_names), cancer_split.x_test,
                                   cancer_split.x_train, np.asarray(cancer.target_names)[cancer_split.y_train],
                                   cancer.feature_names, k=top))
    lines += ["![confusion matrices](confusion_matrices.png)", "",
              f"Worst-classified breast-cancer cases (largest log-loss, top {top}):", "",
              *_worst_table(worst, cancer_split.test_rows, "", "log-loss"), ""]
    return lines, worst


def _learning_curve_section(out: Path, folds: int, n_sizes: int) -> list[str]:
    data = load("breast_cancer")
    sizes = tuple(np.linspace(0.1, 1.0, n_sizes))
    figure = Figure(figsize=(6.5, 4.2), layout="constrained")
    axes = figure.subplots()
    lines = ["## Learning curves: breast cancer", "", "![learning curves](learning_curves.png)", "",
             "| model | train size | train accuracy | validation accuracy |", "|---|---:|---:|---:|"]
    for (name, model), color in zip((("logistic", _logistic(ours=True)),
                                     (f"CART depth {TREE_DEPTH}", CARTClassifier(max_depth=TREE_DEPTH))),
                                    ("tab:blue", "tab:orange"), strict=True):
        curve = learning_curve(model, data.x, data.y, sizes, cv=folds, random_state=0)
        train, test = curve.train_scores.mean(axis=1), curve.test_scores.mean(axis=1)
        axes.plot(curve.train_sizes, train, "--o", color=color, label=f"{name} (train)")
        axes.plot(curve.train_sizes, test, "-o", color=color, label=f"{name} (validation)")
        lines += [f"| {name} | {n} | {a:.3f} | {b:.3f} |" for n, a, b in zip(curve.train_sizes, train, test,
                                                                             strict=True)]
    axes.set(xlabel="training samples", ylabel="accuracy", title=f"{folds}-fold stratified CV")
    axes.legend(fontsize=8)
    figure.savefig(out / "learning_curves.png", dpi=110)
    return [*lines, ""]


def _cv_section(folds: int) -> list[str]:
    pairs: list[tuple[str, str, Any, Any]] = [
        ("diabetes", "least squares", LeastSquaresRegressor(), LinearRegression()),
        ("diabetes", f"CART regressor depth {TREE_DEPTH}", CARTRegressor(max_depth=TREE_DEPTH),
         DecisionTreeRegressor(max_depth=TREE_DEPTH, random_state=0)),
    ]
    for name in ("breast_cancer", "iris", "wine"):
        pairs.append((name, "logistic (scaled)", _logistic(ours=True), _logistic(ours=False)))
        pairs.append((name, f"CART depth {TREE_DEPTH}", CARTClassifier(max_depth=TREE_DEPTH),
                      DecisionTreeClassifier(max_depth=TREE_DEPTH, random_state=0)))
    lines = [f"## Cross-validation ({folds} folds; R² for diabetes, accuracy otherwise)", "",
             "| data set | model | ours | scikit-learn |", "|---|---|---:|---:|"]
    for name, label, ours, theirs in pairs:
        data = load(name)
        a, b = (cross_val_scores(m, data.x, data.y, cv=folds, random_state=0) for m in (ours, theirs))
        lines.append(f"| {name} | {label} | {a.mean():.3f} ± {a.std():.3f} | {b.mean():.3f} ± {b.std():.3f} |")
    return [*lines, ""]


def write_report(out: Path = DEFAULT_OUT, *, folds: int = 5, n_sizes: int = 6, top: int = 5) -> ReportResult:
    """Write report.md and the PNG plots into ``out``; returns what was written."""
    out.mkdir(parents=True, exist_ok=True)
    regression, worst_regression = _regression_section(out, top)
    classification, worst_classification = _classification_section(out, top)
    header = ["# c03 error-analysis report", "",
              f"Generated by `python -m c03_ml_basics.report` on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, "
              f"Python {platform.python_version()}, numpy {np.__version__}, scikit-learn {sklearn.__version__}. "
              "Fixed split: 30 % held out, stratified, seed 0.", ""]
    text = [*header, *regression, *classification, *_learning_curve_section(out, folds, n_sizes),
            *_cv_section(folds)]
    markdown = out / "report.md"
    markdown.write_text("\n".join(text), encoding="utf-8")
    plots = tuple(out / name for name in ("residuals.png", "confusion_matrices.png", "learning_curves.png"))
    return ReportResult(markdown, plots, worst_regression, worst_classification)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(prog="python -m c03_ml_basics.report", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds")
    parser.add_argument("--top", type=int, default=5, help="worst examples named per task")
    parser.add_argument("--quick", action="store_true", help="3 folds and 3 training sizes (for tests)")
    args = parser.parse_args(argv)
    folds, n_sizes = (3, 3) if args.quick else (args.folds, 6)
    with threadpool_limits(limits=1):  # tiny problems: one BLAS/OpenMP thread is as fast and never spin-waits
        result = write_report(args.out, folds=folds, n_sizes=n_sizes, top=args.top)
    print(f"wrote {result.markdown} and {len(result.plots)} plots")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
