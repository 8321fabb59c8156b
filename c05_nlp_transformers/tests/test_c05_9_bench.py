"""c05.9: the LLM benchmark's rows (given code in ``bench_llm.py``), which time float32 and int8 decoding.

The benchmark runs the fast generation of c05.8 and the int8 model of c05.9 against transformers;
here it runs on a tiny prompt and only the rows are checked (names, positive values, the oracle
baseline present or absent), never speed.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.task("c05.9")


def test_benchmark_rows(smollm, oracle, monkeypatch, capsys):
    import sys

    from c05_nlp_transformers import bench, bench_llm

    rows = bench_llm.bench_llm([8], new_tokens=3, repeats=1, model=smollm[0], oracle=oracle[0])
    assert [r.benchmark for r in rows] == ["SmolLM2 decode", "SmolLM2 first token", "SmolLM2 int8", "SmolLM2 int8"]
    assert all(r.value > 0 and r.baseline is not None and r.baseline > 0 for r in rows)
    alone = bench_llm.bench_llm([8], new_tokens=2, repeats=1, model=smollm[0], oracle=None)
    assert alone[0].baseline is None and alone[0].baseline_label == "-"
    with pytest.raises(ValueError, match="at least 2 new tokens"):
        bench_llm.bench_llm([8], new_tokens=1)
    with pytest.raises(ValueError, match="oracle"):
        bench_llm.bench_llm([8], model=smollm[0])
    monkeypatch.setitem(sys.modules, "transformers", None)
    assert bench_llm.load_oracle(smollm[1].path) is None
    monkeypatch.setattr(bench_llm, "bench_llm", lambda prompts, new, repeats: rows)
    assert bench.main(["--part", "2", "--plain"]) == 0
    assert "SmolLM2 first token" in capsys.readouterr().out
