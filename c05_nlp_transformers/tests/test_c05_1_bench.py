"""c05.1: the tokenizer benchmark (given code in ``bench.py``) times your BPE; without the
``tokenizers`` library installed it still runs, with no baseline column.
"""

from __future__ import annotations

import sys

import pytest

from c05_nlp_transformers import bench

pytestmark = pytest.mark.task("c05.1")


def test_without_the_tokenizers_library_the_baseline_is_missing(corpus, monkeypatch):
    monkeypatch.setitem(sys.modules, "tokenizers", None)
    rows = bench.bench_tokenizer(corpus[:3000], 260, repeats=1)
    assert all(r.baseline is None and r.baseline_label == "-" for r in rows)
