"""Profiling and throughput: where the time goes, and how fast training and inference run (task c04.6).

**The profiler.** ``torch.profiler`` records every operator (``aten::addmm``,
``aten::convolution_backward``, ...) that runs inside its ``with`` block, with
its CPU (and CUDA) time, and can export the timeline as a Chrome trace: open
``chrome://tracing`` or https://ui.perfetto.dev and load the JSON to see each
training step as nested bars. :func:`profile_training` profiles a few training
steps after untimed warm-up steps (the first calls allocate memory, pick
kernels and fill caches, and would dominate a short profile).

**Throughput.** :func:`measure_throughput` times training steps (forward,
backward, optimizer step) and inference (forward under ``torch.inference_mode``)
at several batch sizes and reports samples per second and the latency of one
batch. Larger batches amortise the per-call overhead (Python, dispatcher,
kernel launch) over more samples, so samples/s grows with the batch until the
hardware is busy; latency grows with it too.

**CPU vs GPU.** :func:`device_table` runs the same measurements on every device
of :func:`~c04_dl_fundamentals.devices.available_devices` and says in its note
when CUDA is absent. Every timed region ends with
:func:`~c04_dl_fundamentals.devices.synchronize`, or a GPU would only be timed
launching its kernels.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from torch import nn
from torch.nn.functional import cross_entropy
from torch.profiler import ProfilerActivity, profile, record_function

from c04_dl_fundamentals.data import IMAGE_SHAPE, N_CLASSES
from c04_dl_fundamentals.devices import available_devices, cuda_note, device_name, synchronize

Mode = Literal["train", "inference"]
MODES: tuple[Mode, ...] = ("train", "inference")


@dataclass(frozen=True)
class OpStat:
    """One operator in the profile, summed over its calls (times in microseconds)."""

    name: str
    calls: int
    self_cpu_us: float  # time in the operator itself, not in operators it called
    total_cpu_us: float  # including its children


@dataclass(frozen=True)
class ProfileResult:
    """The top-operators table (text), the top operators as data, and the Chrome trace file."""

    table: str
    top_ops: list[OpStat]
    trace_path: Path
    steps: int


@dataclass(frozen=True)
class ThroughputRow:
    """Speed of one model, mode and batch size on one device."""

    model: str
    device: str
    mode: Mode
    batch_size: int
    samples_per_s: float
    latency_ms: float  # mean time of one batch


def _train_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor) -> None:
    loss = cross_entropy(model(x), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()  # type: ignore[no-untyped-call]
    optimizer.step()


def _synthetic_batch(
    batch_size: int, device: torch.device, image_shape: tuple[int, ...], n_classes: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand((batch_size, *image_shape), generator=generator)  # (B, C, H, W)
    y = torch.randint(0, n_classes, (batch_size,), generator=generator)  # (B,)
    return x.to(device), y.to(device)


def profile_training(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    trace_path: str | Path,
    *,
    steps: int = 5,
    warmup: int = 2,
    row_limit: int = 10,
    device: torch.device | None = None,
) -> ProfileResult:
    """Profile ``steps`` SGD training steps on (x, y) after ``warmup`` untimed ones.

    Each step runs inside ``record_function("train_step")`` so it appears as one
    named span in the trace. Returns the operators table sorted by self CPU time
    (``row_limit`` rows), the same top operators as :class:`OpStat` s, and the path
    of the exported Chrome trace.
    """
    # BEGIN SOLUTION c04.6: validate counts, warm up, profile the steps, export the trace, read key_averages
    if steps < 1 or warmup < 0 or row_limit < 1:
        raise ValueError(f"need steps >= 1, warmup >= 0 and row_limit >= 1, got {steps}, {warmup}, {row_limit}")
    device = device if device is not None else torch.device("cpu")
    model = model.to(device)
    x, y = x.to(device), y.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(warmup):
        _train_step(model, optimizer, x, y)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        for _ in range(steps):
            with record_function("train_step"):
                _train_step(model, optimizer, x, y)
        synchronize(device)
    trace = Path(trace_path)
    trace.parent.mkdir(parents=True, exist_ok=True)
    prof.export_chrome_trace(str(trace))
    averages = prof.key_averages()
    ops = sorted(
        (OpStat(e.key, int(e.count), float(e.self_cpu_time_total), float(e.cpu_time_total))
         for e in averages if e.key.startswith("aten::")),
        key=lambda op: op.self_cpu_us,
        reverse=True,
    )
    table = averages.table(sort_by="self_cpu_time_total", row_limit=row_limit)
    return ProfileResult(table=table, top_ops=ops[:row_limit], trace_path=trace, steps=steps)
    # END SOLUTION


def measure_throughput(
    model: nn.Module,
    mode: Mode,
    batch_sizes: Sequence[int],
    *,
    device: torch.device | None = None,
    name: str | None = None,
    image_shape: tuple[int, ...] = IMAGE_SHAPE,
    n_classes: int = N_CLASSES,
    warmup: int = 2,
    iters: int = 10,
    clock: Callable[[], float] = time.perf_counter,
) -> list[ThroughputRow]:
    """Samples/s and mean batch latency of ``model`` in ``mode`` at each batch size on ``device``.

    Each batch size gets ``warmup`` untimed calls, then ``iters`` timed ones,
    synchronised with the device before the clock is read. Training steps use SGD
    on a synthetic batch already on the device; inference runs under ``torch.inference_mode``.
    """
    # BEGIN SOLUTION c04.6: validate, then per batch size: warm up, time iters calls (synchronised), one row
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if not batch_sizes or any(isinstance(b, bool) or not isinstance(b, int) or b < 1 for b in batch_sizes):
        raise ValueError(f"batch_sizes must be positive integers, got {list(batch_sizes)}")
    if iters < 1 or warmup < 0:
        raise ValueError(f"need iters >= 1 and warmup >= 0, got {iters} and {warmup}")
    device = device if device is not None else torch.device("cpu")
    model = model.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    rows = []
    for batch_size in batch_sizes:
        x, y = _synthetic_batch(batch_size, device, image_shape, n_classes)
        if mode == "train":
            model.train()

            def run(x: torch.Tensor = x, y: torch.Tensor = y) -> None:
                _train_step(model, optimizer, x, y)
        else:
            model.eval()

            def run(x: torch.Tensor = x, y: torch.Tensor = y) -> None:
                with torch.inference_mode():
                    model(x)

        for _ in range(warmup):
            run()
        synchronize(device)
        start = clock()
        for _ in range(iters):
            run()
        synchronize(device)
        seconds = max(clock() - start, 1e-9) / iters  # per batch
        rows.append(ThroughputRow(name or type(model).__name__, str(device), mode, batch_size,
                                  batch_size / seconds, seconds * 1e3))
    return rows
    # END SOLUTION


def device_table(
    model_factories: dict[str, Callable[[], nn.Module]],
    batch_sizes: Sequence[int],
    *,
    devices: Sequence[torch.device] | None = None,
    modes: Sequence[Mode] = MODES,
    iters: int = 10,
) -> tuple[list[ThroughputRow], str]:
    """Throughput rows for every model, device and mode, and the note saying which devices ran."""
    # BEGIN SOLUTION c04.6: devices x models x modes (fresh seeded model each); rows and cuda_note()
    devices = list(devices) if devices is not None else available_devices()
    rows: list[ThroughputRow] = []
    for device in devices:
        for name, factory in model_factories.items():
            for mode in modes:
                torch.manual_seed(0)
                rows += measure_throughput(factory(), mode, batch_sizes, device=device, name=name, iters=iters)
    return rows, cuda_note()
    # END SOLUTION


def render_throughput(rows: Sequence[ThroughputRow], note: str, *, title: str = "throughput") -> str:
    """The rows as one rich table (text), with a GPU/CPU speed-up column and the note under it."""
    from rich.console import Console
    from rich.table import Table

    cpu = {(r.model, r.mode, r.batch_size): r.samples_per_s for r in rows if r.device == "cpu"}
    table = Table(title=title, caption=note)
    for i, header in enumerate(["model", "device", "mode", "batch", "samples/s", "latency (ms)", "x CPU"]):
        table.add_column(header, justify="left" if i < 3 else "right")
    for r in rows:
        base = cpu.get((r.model, r.mode, r.batch_size))
        speedup = "-" if base is None or r.device == "cpu" else f"{r.samples_per_s / base:.2f}"
        table.add_row(r.model, device_name(torch.device(r.device)), r.mode, str(r.batch_size),
                      f"{r.samples_per_s:,.0f}", f"{r.latency_ms:.3f}", speedup)
    console = Console(width=110, record=True)
    with console.capture() as capture:
        console.print(table)
    return capture.get()

