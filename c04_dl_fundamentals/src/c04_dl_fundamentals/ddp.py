"""Data-parallel training with torch.distributed: two processes, one model (task c04.7).

Data parallelism is how training grows past one device or one machine: every
process (a *rank*) holds a full copy of the model and takes a different slice
of each global batch. After the backward pass the ranks average their
gradients with an *all-reduce*, so every rank applies the same update and the
copies never drift apart. With the loss a mean over the local slice and equal
slices, the average of the ranks' gradients is exactly the gradient of the mean
loss over the whole global batch: N processes compute what one process would
on the full batch, up to floating-point rounding (tests: within 1e-5).

``torch.nn.parallel.DistributedDataParallel`` does the all-reduce for you,
bucketing gradients and overlapping communication with the rest of the
backward pass. The ranks find each other through a *rendezvous*: here a TCP
address (127.0.0.1 and a free port) that rank 0 listens on. The "gloo" backend
runs on CPUs (NCCL is the one for GPUs). On a cluster the same code runs with
``torchrun --nnodes=... --nproc-per-node=...`` setting RANK, WORLD_SIZE and
MASTER_ADDR for each process; here :func:`train_data_parallel` spawns the
processes itself (``multiprocessing`` with the "spawn" start method, which is
what ``torch.multiprocessing.spawn`` does too) and always reaps them, also when
one fails or hangs.

Every rank draws the same global batch indices from the same seed and keeps its
own contiguous slice; each process uses one intra-op thread so that two
processes on two cores do not fight over them.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import os
import socket
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from multiprocessing.queues import SimpleQueue
from pathlib import Path

import torch
import torch.distributed as dist
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn
from torch.nn.functional import cross_entropy
from torch.nn.parallel import DistributedDataParallel

from c04_dl_fundamentals.data import N_CLASSES, load_digits_arrays

State = dict[str, torch.Tensor]


@dataclass(frozen=True)
class DDPConfig:
    """One data-parallel run: the same for every rank."""

    steps: int = 20
    global_batch: int = 64  # rows per step over all ranks; divisible by the world size
    lr: float = 0.05
    momentum: float = 0.9
    hidden: int = 64
    seed: int = 0


@dataclass(frozen=True)
class DDPResult:
    """The trained weights (rank 0's copy) and the seconds rank 0 spent in the training loop."""

    state: State
    seconds: float
    world_size: int


def make_model(config: DDPConfig) -> nn.Sequential:
    """A small MLP for the flattened 8 x 8 digits, initialised from ``config.seed`` (no dropout: no RNG)."""
    torch.manual_seed(config.seed)
    return nn.Sequential(nn.Linear(64, config.hidden), nn.ReLU(), nn.Linear(config.hidden, N_CLASSES))


def load_data() -> tuple[torch.Tensor, torch.Tensor]:
    """All digits as (N, 64) float32 and (N,) int64."""
    images, labels = load_digits_arrays()
    return torch.from_numpy(images.reshape(len(images), -1).copy()), torch.from_numpy(labels.copy())


def global_batches(config: DDPConfig, n_rows: int) -> list[torch.Tensor]:
    """The row indices of every step's global batch: the same list in every process.

    Each step draws ``global_batch`` distinct rows (the first of a fresh permutation)
    from one generator seeded with ``config.seed``, so every rank agrees without talking.
    """
    # BEGIN SOLUTION c04.7: one Generator seeded with config.seed; per step a prefix of randperm(n_rows)
    if config.global_batch > n_rows:
        raise ValueError(f"global_batch {config.global_batch} is larger than the {n_rows} rows of data")
    generator = torch.Generator().manual_seed(config.seed)
    return [torch.randperm(n_rows, generator=generator)[: config.global_batch] for _ in range(config.steps)]
    # END SOLUTION


class MomentumSGD:
    """``torch.optim.SGD(params, lr, momentum)``'s update in five lines (same arithmetic, same order).

    Written out here rather than imported because constructing any
    ``torch.optim.Optimizer`` imports ``torch._dynamo`` (seconds of start-up in
    every spawned rank), and because it shows how little an optimizer is.
    """

    def __init__(self, params: list[nn.Parameter], lr: float, momentum: float) -> None:
        self.params, self.lr, self.momentum = params, lr, momentum
        self.velocity: list[torch.Tensor | None] = [None] * len(params)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            v = self.velocity[i]
            if v is None:
                v = self.velocity[i] = p.grad.detach().clone()  # first step: the velocity is the gradient
            else:
                v.mul_(self.momentum).add_(p.grad)
            p.add_(v, alpha=-self.lr)


def check_config(config: DDPConfig, world_size: int) -> None:
    """ValueError unless steps >= 1, 1 <= world_size <= global_batch and the batch splits evenly."""
    # BEGIN SOLUTION c04.7: positive steps and world size; global_batch a multiple of world_size
    if config.steps < 1:
        raise ValueError(f"steps must be >= 1, got {config.steps}")
    if isinstance(world_size, bool) or not isinstance(world_size, int) or world_size < 1:
        raise ValueError(f"world_size must be an integer >= 1, got {world_size!r}")
    if config.global_batch < world_size or config.global_batch % world_size:
        raise ValueError(
            f"global_batch {config.global_batch} must be a positive multiple of world_size {world_size} "
            "so that every rank gets an equal slice (unequal slices would weight the ranks' means wrongly)"
        )
    # END SOLUTION


def train_single_process(config: DDPConfig) -> State:
    """The reference: the same steps on one process, each on the whole global batch."""
    # BEGIN SOLUTION c04.7: one model, MomentumSGD, mean cross-entropy over each global batch
    check_config(config, 1)
    x, y = load_data()
    model = make_model(config)
    optimizer = MomentumSGD(list(model.parameters()), lr=config.lr, momentum=config.momentum)
    for rows in global_batches(config, len(x)):
        loss = cross_entropy(model(x[rows]), y[rows])
        optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
    return {name: t.detach().clone() for name, t in model.state_dict().items()}
    # END SOLUTION


def find_free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (bind to port 0 and let the OS choose)."""
    # BEGIN SOLUTION c04.7: bind a socket to ("127.0.0.1", 0), read the port, close it
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
    # END SOLUTION


def ddp_worker(
    rank: int,
    world_size: int,
    port: int,
    config: DDPConfig,
    data: tuple[torch.Tensor, torch.Tensor],
    result_path: str | None,
    fail_rank: int | None = None,
) -> float:
    """One rank: join the gloo group, train its slice of every global batch under DDP, leave the group.

    ``data`` is (x, y) from :func:`load_data` (the parent sends it, so no rank
    imports scikit-learn). Rank 0 writes its final weights (and the loop's seconds, as metadata) to
    ``result_path`` as safetensors. ``fail_rank`` makes that rank raise after
    joining (a test hook for the clean-up path). Returns the training-loop seconds.
    """
    # BEGIN SOLUTION c04.7: 1 thread, gloo group on tcp://127.0.0.1:port, DDP, own slice, always destroy
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one core per rank
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size,
        timeout=dt.timedelta(seconds=60),
    )
    try:
        if rank == fail_rank:
            raise RuntimeError(f"injected failure in rank {rank}")
        x, y = data
        model = DistributedDataParallel(make_model(config))  # broadcasts rank 0's weights to every rank
        optimizer = MomentumSGD(list(model.parameters()), lr=config.lr, momentum=config.momentum)
        local = config.global_batch // world_size
        batches = global_batches(config, len(x))
        dist.barrier()  # start the clock together
        start = time.perf_counter()
        for rows in batches:
            mine = rows[rank * local : (rank + 1) * local]  # this rank's contiguous slice
            loss = cross_entropy(model(x[mine]), y[mine])
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]  # DDP all-reduces (averages) the gradients here
            optimizer.step()
        seconds = time.perf_counter() - start
        if rank == 0 and result_path is not None:
            state = {name: t.detach().clone() for name, t in model.module.state_dict().items()}
            save_file(state, result_path, metadata={"seconds": repr(seconds), "world_size": str(world_size)})
        dist.barrier()  # leave together: no rank closes its gloo sockets while a peer still uses them
        return seconds
    finally:
        dist.destroy_process_group()
        torch.set_num_threads(threads)
    # END SOLUTION


def _spawned_worker(
    rank: int,
    world_size: int,
    port: int,
    config: DDPConfig,
    data: tuple[torch.Tensor, torch.Tensor],
    result_path: str,
    fail_rank: int | None,
    errors: SimpleQueue[str],
) -> None:
    """The entry point of each spawned process: run the rank, report any error to the parent.

    A rank that finished leaves with ``os._exit(0)``, skipping interpreter finalisation: gloo's C++
    threads can still be alive there (the DDP reducer keeps the process group after
    ``destroy_process_group``), and tearing them down with the interpreter aborted a rank in CI twice
    (SIGABRT, "terminate called without an active exception"). Its result file is closed by then.
    """
    try:
        ddp_worker(rank, world_size, port, config, data, result_path, fail_rank)
    except BaseException:
        errors.put(f"rank {rank}: {traceback.format_exc()}")
        raise SystemExit(1) from None
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def read_result(path: str | Path) -> DDPResult:
    """The weights and timing rank 0 wrote."""
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
        state = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118 - not a dict
    return DDPResult(state=state, seconds=float(metadata["seconds"]), world_size=int(metadata["world_size"]))


def train_data_parallel(
    config: DDPConfig, world_size: int = 2, *, timeout_s: float = 120.0, fail_rank: int | None = None
) -> DDPResult:
    """Spawn ``world_size`` processes running :func:`ddp_worker`; return rank 0's weights and timing.

    Use the "spawn" start method; each process runs :func:`_spawned_worker` (given), which
    reports an exception to the parent through a ``SimpleQueue``. The parent sends every
    rank the data (:func:`load_data`), a port from :func:`find_free_port` and a result path
    in a temporary directory, waits for the processes' sentinels until the deadline, and
    reads rank 0's file with :func:`read_result`; :func:`_stop` kills and reaps.

    Raises:
        ValueError: a bad config (before anything is started).
        RuntimeError: a worker failed (its error is in the message); the others are stopped.
        TimeoutError: the workers did not finish within ``timeout_s``; all are killed.
    No process outlives this call, whatever happens.
    """
    # BEGIN SOLUTION c04.7: validate, spawn a process per rank, wait with a deadline, kill + join in finally
    check_config(config, world_size)
    context = mp.get_context("spawn")  # a fresh interpreter per rank: forking a process with torch threads can hang
    errors: SimpleQueue[str] = context.SimpleQueue()
    with tempfile.TemporaryDirectory(prefix="c04-ddp-") as folder:
        result_path = str(Path(folder) / "rank0.safetensors")
        port = find_free_port()
        data = load_data()  # sent to every rank (a 460 kB pickle)
        processes: list[BaseProcess] = [
            context.Process(
                target=_spawned_worker,
                args=(rank, world_size, port, config, data, result_path, fail_rank, errors),
                name=f"c04-ddp-rank{rank}",
            )
            for rank in range(world_size)
        ]
        try:
            for process in processes:
                process.start()
            deadline = time.monotonic() + timeout_s
            running = {process.sentinel: process for process in processes}
            while running:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"the {world_size} DDP workers did not finish within {timeout_s:.0f} s")
                ready = wait(list(running), timeout=min(left, 1.0))  # returns as soon as any rank exits
                for sentinel in [s for s in running if s in ready]:
                    process = running.pop(sentinel)
                    process.join()
                    if process.exitcode != 0:
                        _stop(processes)
                        reports = []
                        while not errors.empty():
                            reports.append(errors.get())
                        detail = "\n".join(reports) or f"exit code {process.exitcode}"
                        raise RuntimeError(f"DDP worker {process.name} failed:\n{detail}")
        finally:
            _stop(processes)  # no rank outlives this call, whatever happened
        return read_result(result_path)
    # END SOLUTION


def _stop(processes: list[BaseProcess]) -> None:
    """Kill every started process that is still alive and reap them all."""
    for process in processes:
        if process.pid is None:  # never started
            continue
        if process.is_alive():
            process.kill()
        process.join()


def max_weight_difference(a: State, b: State) -> float:
    """The largest absolute difference between two state dicts with the same names and shapes."""
    if a.keys() != b.keys():
        raise ValueError(f"different parameter names: {sorted(a)} vs {sorted(b)}")
    return max(float((a[k].double() - b[k].double()).abs().max()) if a[k].numel() else 0.0 for k in a)
