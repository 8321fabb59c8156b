"""c04.6: device selection, the profiler, throughput and the CPU vs GPU table.

Speeds are never asserted (the machine is shared): only the structure of the
results, their sanity, and the arithmetic on an injected clock.
"""

from __future__ import annotations

import itertools
import json
import math

import pytest
import torch

from c04_dl_fundamentals import (
    CNN,
    MLP,
    available_devices,
    cuda_note,
    device_table,
    devices,
    measure_throughput,
    profile_training,
    profiling,
    seed_everything,
    synchronize,
)

pytestmark = pytest.mark.task("c04.6")

HAS_CUDA = torch.cuda.is_available()


def test_devices_cpu_first_then_cuda(monkeypatch):
    devices = available_devices()
    assert devices[0] == torch.device("cpu")
    assert all(d.type == "cuda" for d in devices[1:]) and len(devices) == 1 + torch.cuda.device_count() * HAS_CUDA
    synchronize(torch.device("cpu"))  # a no-op on the CPU
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Fake GPU")
    assert [str(d) for d in available_devices()] == ["cpu", "cuda:0", "cuda:1"]
    assert cuda_note() == "CUDA available: cuda:0 (Fake GPU), cuda:1 (Fake GPU)"


def test_the_note_says_when_cuda_is_absent(monkeypatch):
    if HAS_CUDA:
        assert cuda_note().startswith("CUDA available: cuda:0")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    note = cuda_note()
    assert note.startswith("CUDA is not available (") and note.endswith("only CPU rows are shown")
    assert torch.__version__ in note
    assert devices.device_name(torch.device("cpu")) == f"cpu ({torch.get_num_threads()} threads)"


def test_profile_training(tmp_path):
    seed_everything(0)
    x, y = torch.rand(32, 1, 8, 8), torch.randint(0, 10, (32,))
    result = profile_training(CNN(channels=(4, 4, 8)), x, y, tmp_path / "trace" / "cnn.json", steps=2, warmup=1,
                              row_limit=8)
    assert result.steps == 2 and "Self CPU" in result.table and "aten::" in result.table
    assert 0 < len(result.top_ops) <= 8
    names = [op.name for op in result.top_ops]
    assert any("conv" in name for name in names) and all(name.startswith("aten::") for name in names)
    times = [op.self_cpu_us for op in result.top_ops]
    assert times == sorted(times, reverse=True) and all(op.calls >= 1 for op in result.top_ops)
    assert all(op.total_cpu_us >= op.self_cpu_us >= 0 for op in result.top_ops)
    trace = json.loads(result.trace_path.read_text())  # a Chrome trace: chrome://tracing or ui.perfetto.dev
    spans = [e for e in trace["traceEvents"] if e.get("name") == "train_step"]
    assert len([e for e in spans if e.get("ph") == "X"]) == 2


def test_profile_bad_arguments(tmp_path):
    x, y = torch.rand(4, 1, 8, 8), torch.randint(0, 10, (4,))
    for kwargs in ({"steps": 0}, {"warmup": -1}, {"row_limit": 0}):
        with pytest.raises(ValueError, match="need steps >= 1"):
            profile_training(MLP(), x, y, tmp_path / "t.json", **kwargs)


def test_throughput_arithmetic_on_a_fake_clock():
    ticks = itertools.count(0.0, 0.5)  # every reading of the clock is 0.5 s after the last
    rows = measure_throughput(MLP(hidden=(8,)), "inference", [1, 4], iters=5, warmup=1, clock=lambda: next(ticks),
                              name="tiny")
    assert [(r.model, r.device, r.mode, r.batch_size) for r in rows] == [("tiny", "cpu", "inference", 1),
                                                                           ("tiny", "cpu", "inference", 4)]
    for r in rows:  # one 0.5 s interval for 5 batches: 0.1 s per batch
        assert r.latency_ms == pytest.approx(100.0) and r.samples_per_s == pytest.approx(r.batch_size / 0.1)


@pytest.mark.parametrize("mode", ["train", "inference"])
def test_throughput_real_clock(mode):
    model = CNN(channels=(2, 2, 2))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rows = measure_throughput(model, mode, [2, 8], iters=2, warmup=1)
    assert [r.batch_size for r in rows] == [2, 8]
    for r in rows:
        assert math.isfinite(r.samples_per_s) and r.samples_per_s > 0 and r.latency_ms > 0
    changed = any(not torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert changed == (mode == "train")  # inference never updates the weights


def test_throughput_bad_arguments():
    model = MLP(hidden=(4,))
    with pytest.raises(ValueError, match=r"mode must be one of \('train', 'inference'\)"):
        measure_throughput(model, "predict", [1])
    for sizes in ([], [0], [2, -1], [1.5], [True]):
        with pytest.raises(ValueError, match="batch_sizes must be positive integers"):
            measure_throughput(model, "train", sizes)
    with pytest.raises(ValueError, match="iters >= 1"):
        measure_throughput(model, "train", [1], iters=0)


def test_device_table_and_rendering(monkeypatch):
    factories = {"mlp": lambda: MLP(hidden=(8,)), "cnn": lambda: CNN(channels=(2, 2, 2))}
    rows, note = device_table(factories, [1, 4], iters=1)
    devices = [str(d) for d in available_devices()]
    expected = {(d, m, mode, b) for d in devices for m in factories for mode in ("train", "inference") for b in (1, 4)}
    assert {(r.device, r.model, r.mode, r.batch_size) for r in rows} == expected and len(rows) == len(expected)
    assert note == cuda_note()
    text = profiling.render_throughput(rows, note, title="c04 throughput")
    for piece in ("c04 throughput", "samples/s", "latency (ms)", "x CPU", "mlp", "cnn", "inference"):
        assert piece in text
    assert ("only CPU rows are shown" in text) != HAS_CUDA
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Fake GPU")
    cpu_rate = next(r.samples_per_s for r in rows if (r.device, r.model, r.mode, r.batch_size) == ("cpu", "mlp",
                                                                                                   "train", 1))
    gpu = profiling.ThroughputRow("mlp", "cuda:0", "train", 1, 4.0 * cpu_rate, 0.01)  # a made-up GPU row
    with_gpu = profiling.render_throughput([*rows, gpu], note)
    assert "Fake GPU" in with_gpu and " 4.00 " in with_gpu  # its speed-up over the CPU row
    rows_cpu, _ = device_table(factories, [2], devices=[torch.device("cpu")], modes=("inference",), iters=1)
    assert {(r.model, r.mode) for r in rows_cpu} == {("mlp", "inference"), ("cnn", "inference")}
