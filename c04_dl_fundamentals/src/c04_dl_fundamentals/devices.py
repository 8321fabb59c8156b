"""Which devices this machine can run on: the one place that asks about CUDA (task c04.6).

Everything else in this module takes a ``torch.device`` and never checks for a
GPU itself, so the same code runs on a laptop, a CPU-only CI machine and a GPU
server, and the CPU path (which every test runs) exercises all of the logic.

GPU work is *asynchronous*: a CUDA kernel launch returns at once and the GPU
runs it later. A timer around GPU code therefore measures the launch, not the
work, unless it waits for the device first: :func:`synchronize` before reading
the clock. On the CPU, work is done when the call returns and it does nothing.
"""

from __future__ import annotations

import torch


def available_devices() -> list[torch.device]:
    """The CPU, then every CUDA device torch can use (none on a CPU-only build or machine)."""
    # BEGIN SOLUTION c04.6: cpu first, then cuda:0 .. cuda:N-1 when torch.cuda.is_available()
    devices = [torch.device("cpu")]
    if torch.cuda.is_available():
        devices += [torch.device("cuda", index) for index in range(torch.cuda.device_count())]
    return devices
    # END SOLUTION


def device_name(device: torch.device) -> str:
    """A readable name, e.g. ``cpu (2 threads)`` or ``cuda:0 (NVIDIA H100 80GB HBM3)``."""
    # BEGIN SOLUTION c04.6: cpu with torch's thread count; cuda with torch.cuda.get_device_name
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"{device.type} ({torch.get_num_threads()} threads)"
    # END SOLUTION


def cuda_note() -> str:
    """One line for under a device table: which GPUs ran, or that CUDA is absent and why only CPU rows show."""
    # BEGIN SOLUTION c04.6: name the CUDA devices, or say CUDA is absent (and why): CPU rows only
    cuda = [d for d in available_devices() if d.type == "cuda"]
    if cuda:
        return "CUDA available: " + ", ".join(device_name(d) for d in cuda)
    build = "this torch build has no CUDA support" if torch.version.cuda is None else "no CUDA device is visible"
    return f"CUDA is not available ({build}, torch {torch.__version__}): only CPU rows are shown"
    # END SOLUTION


def synchronize(device: torch.device) -> None:
    """Wait until ``device`` has finished all queued work (a no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
