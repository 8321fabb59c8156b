"""c02.3 (hidden): the SVD route is a scikit-learn estimator."""

from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import check_estimator

from c02_data import SVDPCA

pytestmark = pytest.mark.task("c02.3")


@pytest.mark.parametrize("estimator", [SVDPCA(), SVDPCA(n_components=1, whiten=True)], ids=repr)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")  # array-api check: no array_api_strict
def test_sklearn_check_estimator(estimator):
    """scikit-learn's own estimator checks (input validation, clone, pickle, set_output, ...), all of them."""
    check_estimator(estimator)  # raises on the first failed check
