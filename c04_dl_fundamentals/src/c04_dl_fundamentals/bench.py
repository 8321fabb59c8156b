"""Benchmark the c04 pieces: ``python -m c04_dl_fundamentals.bench`` (one table).

Three parts:

* **Models.** Training throughput (samples/s of forward + backward + SGD step)
  and inference latency (one forward under ``torch.inference_mode``) at batch 1
  and 256, for the MLP and the CNN, on the CPU with torch's default thread count
  (``--threads`` to change it).
* **Optimizers.** The time of one ``step()`` of our SGD (Nesterov), Adam and
  AdamW over ~0.6 M parameters, as a ratio to ``torch.optim``'s with its
  default settings (the per-tensor loop on the CPU). Both run the same
  arithmetic; the ratio is the cost of the Python around it.
* **DDP.** The training-loop time of :func:`~c04_dl_fundamentals.ddp.train_data_parallel`
  with 1 and 2 processes on the same global batch (process start-up excluded;
  each rank runs one thread), and the speed-up from 1 to 2.

Every timing is the best of several short runs (5 per ``--repeats``) after
untimed warm-up calls: on a shared machine the shortest run is the one least
disturbed by other processes. The variants being compared take turns, so a burst
of load from elsewhere hits all of them. Run it on an idle machine and read differences of a few percent as noise.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from c04_dl_fundamentals.ddp import DDPConfig, check_config, train_data_parallel
from c04_dl_fundamentals.devices import cuda_note
from c04_dl_fundamentals.models import CNN, MLP, count_parameters
from c04_dl_fundamentals.optimizers import SGD, Adam, AdamW
from c04_dl_fundamentals.profiling import measure_throughput

BATCHES = (1, 256)
OPTIMIZER_SHAPES = ((1024, 512), (512,), (512, 256), (256,), (256, 10), (10,))  # ~0.66 M parameters
DDP_BENCH = DDPConfig(steps=40, global_batch=1536, hidden=256, lr=0.01)  # big batches: compute >> all-reduce
QUICK_DDP = DDPConfig(steps=5, global_batch=64, hidden=32)
HEADERS = ["part", "what", "setting", "value", "unit"]
SHORT_RUNS = 5  # timed runs per repeat for the short measurements (models, optimizers)


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    part: str
    what: str
    setting: str
    value: float | None
    unit: str


def bench_models(quick: bool = False, repeats: int = 3) -> list[Row]:
    """Training samples/s and inference latency of the MLP and the CNN at batch 1 and 256."""
    iters = 2 if quick else 5  # short timed runs, many of them: the best one is the least disturbed
    batches = (1, 8) if quick else BATCHES
    rows = []
    for name, factory in (("MLP", MLP), ("CNN", CNN)):
        torch.manual_seed(0)
        model: nn.Module = factory()
        label = f"{name} ({count_parameters(model):,} params)"
        train: dict[int, float] = {}  # batch -> best samples/s
        latency: dict[int, float] = {}  # batch -> best ms
        for _ in range(repeats * SHORT_RUNS):
            for r in measure_throughput(model, "train", batches, iters=iters):
                train[r.batch_size] = max(r.samples_per_s, train.get(r.batch_size, 0.0))
            for r in measure_throughput(model, "inference", batches, iters=iters):
                latency[r.batch_size] = min(r.latency_ms, latency.get(r.batch_size, float("inf")))
        rows += [Row("model", f"{label} training", f"batch {b}", v, "samples/s") for b, v in train.items()]
        rows += [Row("model", f"{label} inference latency", f"batch {b}", v, "ms") for b, v in latency.items()]
        rows += [Row("model", f"{label} inference", f"batch {b}", b / (v / 1e3), "samples/s")
                 for b, v in latency.items() if b > 1]
    return rows


def _make_params(shapes: Sequence[tuple[int, ...]]) -> list[nn.Parameter]:
    """Parameters of ``shapes`` with fixed random values and gradients (the same for every optimizer)."""
    generator = torch.Generator().manual_seed(0)
    params = [nn.Parameter(torch.randn(shape, generator=generator)) for shape in shapes]
    for p in params:
        p.grad = torch.randn(p.shape, generator=generator) * 1e-2
    return params


def _step_times(makers: Sequence[Callable[[list[nn.Parameter]], torch.optim.Optimizer]],
                shapes: Sequence[tuple[int, ...]], steps: int, repeats: int) -> list[float]:
    """Seconds per ``step()`` for each optimizer, best of ``repeats``; the optimizers take turns,
    so a burst of load from elsewhere hits all of them, not just one."""
    optimizers = [make(_make_params(shapes)) for make in makers]
    best = [float("inf")] * len(optimizers)
    for optimizer in optimizers:  # warm-up: creates the state (moment buffers) untimed
        optimizer.step()
    for _ in range(max(repeats, 1)):
        for k, optimizer in enumerate(optimizers):
            start = time.perf_counter()
            for _ in range(steps):
                optimizer.step()
            best[k] = min(best[k], (time.perf_counter() - start) / steps)
    return best


def bench_optimizers(quick: bool = False, repeats: int = 3) -> list[Row]:
    """Our optimizers' step time as a ratio to torch.optim's (same hyperparameters)."""
    shapes = ((64, 32), (32,)) if quick else OPTIMIZER_SHAPES
    steps = 2 if quick else 10
    n_params = sum(torch.Size(s).numel() for s in shapes)
    pairs: list[tuple[str, Callable[[list[nn.Parameter]], torch.optim.Optimizer],
                      Callable[[list[nn.Parameter]], torch.optim.Optimizer]]] = [
        ("SGD (Nesterov)", lambda p: SGD(p, lr=0.01, momentum=0.9, nesterov=True),
         lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, nesterov=True)),
        ("Adam", lambda p: Adam(p, lr=1e-3), lambda p: torch.optim.Adam(p, lr=1e-3)),
        ("AdamW", lambda p: AdamW(p, lr=1e-3), lambda p: torch.optim.AdamW(p, lr=1e-3)),
    ]
    rows = []
    for name, ours, theirs in pairs:
        t_ours, t_torch = _step_times([ours, theirs], shapes, steps, repeats * SHORT_RUNS)
        setting = f"{n_params:,} params, {len(shapes)} tensors"
        rows.append(Row("optimizer", f"{name} step, ours", setting, t_ours * 1e3, "ms"))
        rows.append(Row("optimizer", f"{name} step, ours / torch.optim", setting, t_ours / t_torch, "x"))
    return rows


def bench_ddp(config: DDPConfig = DDP_BENCH, repeats: int = 1) -> list[Row]:
    """Training-loop seconds with 1 and 2 processes (start-up excluded) and the speed-up."""
    check_config(config, 2)  # fail here, not after a first run of several seconds
    seconds = {1: float("inf"), 2: float("inf")}
    for _ in range(max(repeats, 1)):
        for world_size in (1, 2):  # alternate, so that load from elsewhere hits both
            seconds[world_size] = min(seconds[world_size], train_data_parallel(config, world_size).seconds)
    setting = f"{config.steps} steps, global batch {config.global_batch}, hidden {config.hidden}"
    return [
        Row("ddp", "1 process (gloo)", setting, seconds[1], "s"),
        Row("ddp", "2 processes (gloo)", setting, seconds[2], "s"),
        Row("ddp", "speed-up 1 -> 2 processes", setting, seconds[1] / seconds[2], "x"),
    ]


def run_benchmark(*, quick: bool = False, ddp: bool = True, repeats: int = 3) -> list[Row]:
    """Every row of the table (no printing)."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    rows = bench_models(quick, repeats) + bench_optimizers(quick, repeats)
    if ddp:
        rows += bench_ddp(QUICK_DDP if quick else DDP_BENCH, 1 if quick else repeats)
    return rows


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "samples/s":
        return f"{value:,.0f}"
    return f"{value:.3f}" if unit in ("ms", "s") else f"{value:.2f}"


def table_note() -> str:
    return f"torch {torch.__version__}, {torch.get_num_threads()} intra-op threads; {cuda_note()}"


def render_table(rows: Sequence[Row], *, plain: bool = False) -> str:
    """One table of all rows: rich unless ``plain``, else aligned plain text."""
    cells = [[r.part, r.what, r.setting, _fmt(r.value, r.unit), r.unit] for r in rows]
    if not plain:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="c04 benchmark (CPU)", caption=table_note())
        for i, header in enumerate(HEADERS):
            table.add_column(header, justify="right" if i == 3 else "left")
        for line in cells:
            table.add_row(*line)
        console = Console(width=120, record=True)
        with console.capture() as capture:
            console.print(table)
        return capture.get()
    widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, h in enumerate(HEADERS)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(HEADERS, widths, strict=True)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in cells]
    return "\n".join([*lines, table_note()]) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m c04_dl_fundamentals.bench", description="The c04 benchmark table.")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat (a smoke test)")
    parser.add_argument("--no-ddp", action="store_true", help="skip the data-parallel rows (they spawn processes)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--plain", action="store_true", help="plain text instead of a rich table")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads for the model rows")
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    rows = run_benchmark(quick=args.quick, ddp=not args.no_ddp, repeats=1 if args.quick else args.repeats)
    print(render_table(rows, plain=args.plain), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
