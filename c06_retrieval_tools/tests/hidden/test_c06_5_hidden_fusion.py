"""c06.5 (hidden): fusion invariances."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from c06_retrieval_tools import convex_combination, normalise, reciprocal_rank_fusion, top_k

pytestmark = pytest.mark.task("c06.5")

# integer-valued scores: an affine map then keeps every order and every tie exactly
lists = st.dictionaries(st.sampled_from([f"d{i}" for i in range(15)]), st.integers(-100, 100).map(float), min_size=1)


@settings(deadline=None, max_examples=60, derandomize=True, database=None)
@given(first=lists, second=lists, scale=st.floats(0.1, 10), shift=st.floats(-50, 50))
def test_rank_and_scale_invariance(first, second, scale, shift):
    moved = {d: s * scale + shift for d, s in first.items()}
    assert reciprocal_rank_fusion([moved, second]) == reciprocal_rank_fusion([first, second])  # ranks only
    a = convex_combination([first, second])
    b = convex_combination([moved, second])
    assert a == pytest.approx(b, abs=1e-6)  # min-max removes any positive affine map
    assert reciprocal_rank_fusion([first, second], weights=[2, 2]) == pytest.approx(
        {d: 2 * v for d, v in reciprocal_rank_fusion([first, second]).items()})


def test_one_list_and_zero_weight():
    only = {"a": 3.0, "b": 2.0, "c": 1.0}
    other = {"z": 9.0}
    assert top_k(reciprocal_rank_fusion([only, other], weights=[1.0, 0.0]), 3)[:3] == [
        ("a", pytest.approx(1 / 61)), ("b", pytest.approx(1 / 62)), ("c", pytest.approx(1 / 63))]
    assert normalise({"a": -1.0}, "minmax") == {"a": 1.0}
    with pytest.raises(ValueError, match="at least one weight must be positive"):
        convex_combination([])
