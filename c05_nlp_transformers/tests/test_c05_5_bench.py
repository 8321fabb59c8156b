"""c05.5: the benchmark harness measures every row and prints one well-formed table.

It needs the tokenizer, the model and generation, so it is graded with the last task. Tiny sizes
and one repeat; only the table's structure and the sanity of its numbers are checked, never speed.
"""

from __future__ import annotations

import math
import sys

import pytest

from c05_nlp_transformers import bench
from c05_nlp_transformers import train as train_module

TINY_TRAIN = train_module.TrainConfig(n_layer=1, n_head=2, n_embd=16, block_size=8, batch_size=2)
PREFIXES = [8, 16]

pytestmark = pytest.mark.task("c05.5")


@pytest.fixture(scope="module")
def rows(corpus) -> list[bench.Row]:
    return bench.run_benchmark(text=corpus[:20_000], bpe_vocab=300, train_config=TINY_TRAIN, train_iters=2,
                               prefixes=PREFIXES, new_tokens=3, repeats=1)


def test_every_measurement_has_one_row(rows):
    keys = [(r.benchmark, r.setting, r.label) for r in rows]
    assert len(keys) == len(set(keys)) == 4 + 2 * len(PREFIXES) - 2
    assert [r.benchmark for r in rows] == ["BPE train", "BPE encode", "BPE encode", "GPT training", "generation",
                                           "generation"]
    assert [r.setting for r in rows[-2:]] == ["prefix 8, 3 new", "prefix 16, 3 new"]


def test_numbers_are_finite_and_positive(rows):
    for r in rows:
        assert math.isfinite(r.value) and r.value > 0
        if r.benchmark in ("BPE encode", "generation"):
            assert r.baseline is not None and r.baseline > 0 and r.ratio == pytest.approx(r.value / r.baseline)
        else:
            assert r.baseline is None and r.ratio is None


def test_tables_plain_and_rich(rows, monkeypatch):
    plain = bench.render_table(rows, plain=True)
    fancy = bench.render_table(rows)
    for table in (plain, fancy):
        assert "tokenizers (MB/s)" in table and "KV cache (tokens/s)" in table and "ratio" in table
    assert len(plain.splitlines()) == len(rows) + 3  # header, rule, rows, note
    monkeypatch.setitem(sys.modules, "rich.table", None)  # as if rich were not installed
    assert bench.render_table(rows) == plain


def test_command_line_and_bad_arguments(capsys, monkeypatch, corpus):
    monkeypatch.setattr(bench, "load_tinyshakespeare", lambda: corpus[:5000])
    arguments = ["--repeats", "1", "--train-iters", "1", "--prefixes", "4", "--new-tokens", "2", "--bpe-vocab", "260",
                 "--plain", "--threads", "1", "--part", "1"]
    assert bench.main(arguments) == 0
    printed = capsys.readouterr().out
    assert "GPT training" in printed and "prefix 4, 2 new" in printed
    with pytest.raises(ValueError, match="repeats"):
        bench.run_benchmark(text="abc", repeats=0)
    with pytest.raises(ValueError, match="at least 2 new tokens"):
        bench.bench_generation([4], new_tokens=1)
    calls = []
    monkeypatch.setattr(bench, "run_benchmark", lambda **kwargs: calls.append(kwargs) or [])
    bench.main(["--quick", "--plain", "--part", "1"])
    assert calls[0]["repeats"] == 1 and calls[0]["prefixes"] == [64, 256] and calls[0]["train_iters"] == 5
