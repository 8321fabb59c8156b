"""c03: linear and logistic regression and decision trees, from scratch, checked against scikit-learn.

Every estimator follows scikit-learn's conventions (``get_params`` / ``set_params``,
``fit`` returns self, ``NotFittedError`` before fit, clear errors on bad input), so
it drops into a ``Pipeline`` or ``cross_val_score``. One concept per file:

* :mod:`~c03_ml_basics.validation` - input and hyper-parameter checks shared by every estimator;
* :mod:`~c03_ml_basics.linear` - least squares by QR or lstsq, and ridge in closed form;
* :mod:`~c03_ml_basics.gradient_descent` - least squares by mini-batch gradient descent;
* :mod:`~c03_ml_basics.logistic` - binary and multinomial logistic regression, Newton or L-BFGS;
* :mod:`~c03_ml_basics.splitter`, :mod:`~c03_ml_basics.tree` - CART trees with a vectorised split search;
* :mod:`~c03_ml_basics.evaluation` - cross-validation, confusion matrix, per-class scores,
  residual analysis, learning curves;
* :mod:`~c03_ml_basics.error_analysis` - the worst-predicted examples and a likely reason for each;
* :mod:`~c03_ml_basics.datasets` - the bundled public data sets and the fixed split;
* :mod:`~c03_ml_basics.report` - the Markdown + PNG report (``python -m c03_ml_basics.report``);
* :mod:`~c03_ml_basics.bench` - fit and predict time against scikit-learn (``python -m c03_ml_basics.bench``).
"""

from c03_ml_basics.datasets import Dataset, Split, holdout_split, load
from c03_ml_basics.error_analysis import WorstExample, worst_classified, worst_regressed
from c03_ml_basics.evaluation import (
    LearningCurve,
    PerClassScores,
    ResidualAnalysis,
    accuracy,
    confusion_matrix,
    cross_val_scores,
    k_fold,
    learning_curve,
    precision_recall_f1,
    r2,
    residual_analysis,
    stratified_k_fold,
)
from c03_ml_basics.gradient_descent import MiniBatchGDRegressor
from c03_ml_basics.linear import LeastSquaresRegressor, RidgeRegressor
from c03_ml_basics.logistic import LogisticClassifier
from c03_ml_basics.tree import CARTClassifier, CARTRegressor

__all__ = [
    "CARTClassifier",
    "CARTRegressor",
    "Dataset",
    "LearningCurve",
    "LeastSquaresRegressor",
    "LogisticClassifier",
    "MiniBatchGDRegressor",
    "PerClassScores",
    "ResidualAnalysis",
    "RidgeRegressor",
    "Split",
    "WorstExample",
    "accuracy",
    "confusion_matrix",
    "cross_val_scores",
    "holdout_split",
    "k_fold",
    "learning_curve",
    "load",
    "precision_recall_f1",
    "r2",
    "residual_analysis",
    "stratified_k_fold",
    "worst_classified",
    "worst_regressed",
]
