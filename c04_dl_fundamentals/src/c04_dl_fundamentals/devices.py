"""Which devices this machine can run on: the one place that asks about CUDA (task c04.6).

Everything else in this module takes a ``torch.device`` and never checks for a
GPU itself, so the same code runs on a laptop, a CPU-only CI machine and a GPU
server, and the CPU path (which every test runs) exercises all of the logic.

:func:`resolve_device` turns what a user asks for (``--device auto|cpu|cuda`` on
a command line, or the ``device`` argument of ``fit_classifier`` and ``Trainer``)
into a ``torch.device``: ``auto`` takes the first CUDA device when there is one,
else the CPU; ``cuda`` on a machine without one is a :class:`DeviceUnavailableError`
that says why, before any work starts, not torch's assertion deep inside the
first ``.to("cuda")``. Asking for ``cpu`` never touches CUDA, so a CPU run needs
nothing of this task.

GPU work is *asynchronous*: a CUDA kernel launch returns at once and the GPU
runs it later. A timer around GPU code therefore measures the launch, not the
work, unless it waits for the device first: :func:`synchronize` before reading
the clock. On the CPU, work is done when the call returns and it does nothing.
"""

from __future__ import annotations

import torch
from torch import nn

DEVICE_CHOICES = ("auto", "cpu", "cuda")  # the --device values of the command lines; "cuda:N" works too


class DeviceUnavailableError(RuntimeError):
    """A device was requested that this machine (or this torch build) does not have."""


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


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """The ``torch.device`` to train on: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or a ``torch.device``.

    ``"auto"`` is the first CUDA device of :func:`available_devices` when there is
    one, else the CPU; ``"cuda"`` means ``cuda:0``.

    Raises:
        DeviceUnavailableError: CUDA (or that CUDA index) was asked for and is absent.
        ValueError: anything that is not a CPU or CUDA device (``"gpu"``, ``"meta"``, an int).
    """
    if isinstance(device, str) and device == "auto":
        return next((d for d in available_devices() if d.type == "cuda"), torch.device("cpu"))
    if not isinstance(device, str | torch.device):
        raise ValueError(f"device must be one of {DEVICE_CHOICES}, 'cuda:N' or a torch.device, got {device!r}")
    try:
        requested = torch.device(device)
    except RuntimeError:  # torch's "Expected one of cpu, cuda, ... device type at start of device string"
        raise ValueError(f"device must be one of {DEVICE_CHOICES} or 'cuda:N', got {device!r}") from None
    if requested.type == "cpu":
        return torch.device("cpu")  # no question about CUDA for a CPU run
    if requested.type != "cuda":
        raise ValueError(f"training runs on the CPU or a CUDA GPU; got device {device!r}")
    cuda = [d for d in available_devices() if d.type == "cuda"]
    index = 0 if requested.index is None else requested.index
    if not cuda:
        why = "this torch build has no CUDA support" if torch.version.cuda is None else "no CUDA device is visible"
        raise DeviceUnavailableError(
            f"device {str(device)!r} was requested but CUDA is not available ({why}, torch {torch.__version__}); "
            "use device 'cpu', or 'auto' to take a GPU only when there is one"
        )
    if index >= len(cuda):
        raise DeviceUnavailableError(
            f"device {str(device)!r} was requested but only {len(cuda)} CUDA device(s) are visible: "
            + ", ".join(str(d) for d in cuda)
        )
    return torch.device("cuda", index)


def module_device(module: nn.Module) -> torch.device:
    """Where ``module``'s parameters (or buffers) live; the CPU for a module without any."""
    for parameter in module.parameters():
        return parameter.device
    for buffer in module.buffers():
        return buffer.device
    return torch.device("cpu")
