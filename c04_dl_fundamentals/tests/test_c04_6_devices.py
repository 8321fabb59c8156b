"""c04.6: resolving the device a run asks for (``auto``, ``cpu``, ``cuda``), without a GPU.

CUDA's presence is faked by monkeypatching ``torch.cuda.is_available`` and
``torch.cuda.device_count`` (what :func:`available_devices` asks), so every branch
runs on a CPU-only machine: ``auto`` picks the first GPU when there is one and the
CPU otherwise, and ``cuda`` without one is a clear error, raised before any work.
"""

from __future__ import annotations

import pytest
import torch

from c04_dl_fundamentals.devices import DeviceUnavailableError, module_device, resolve_device

pytestmark = pytest.mark.task("c04.6")


def fake_cuda(monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: count > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)


def test_without_cuda_auto_is_the_cpu_and_cuda_is_a_clear_error(monkeypatch):
    fake_cuda(monkeypatch, 0)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device() == torch.device("cpu")  # auto is the default
    assert resolve_device("cpu") == resolve_device(torch.device("cpu")) == torch.device("cpu")
    for asked in ("cuda", "cuda:0", "cuda:1", torch.device("cuda")):
        with pytest.raises(DeviceUnavailableError, match=r"was requested but CUDA is not available \(.*torch 2"):
            resolve_device(asked)
    assert issubclass(DeviceUnavailableError, RuntimeError)


def test_with_cuda_auto_is_the_first_gpu(monkeypatch):
    fake_cuda(monkeypatch, 2)
    assert resolve_device("auto") == torch.device("cuda", 0)
    assert resolve_device("cuda") == torch.device("cuda", 0)  # an index, so devices compare equal
    assert resolve_device("cuda:1") == resolve_device(torch.device("cuda", 1)) == torch.device("cuda", 1)
    assert resolve_device("cpu") == torch.device("cpu")  # asking for the CPU still gets it
    with pytest.raises(DeviceUnavailableError, match=r"'cuda:2' was requested but only 2 CUDA device\(s\)"):
        resolve_device("cuda:2")


@pytest.mark.parametrize("asked", ["gpu", "meta", "", 0, None])
def test_anything_else_is_refused(monkeypatch, asked):
    fake_cuda(monkeypatch, 1)
    assert resolve_device("auto") == torch.device("cuda", 0)
    with pytest.raises(ValueError, match=r"device must be one of|training runs on the CPU or a CUDA GPU"):
        resolve_device(asked)


def test_module_device_follows_the_parameters(monkeypatch):
    fake_cuda(monkeypatch, 0)
    model = torch.nn.Linear(2, 3)
    assert module_device(model) == resolve_device("auto") == torch.device("cpu")
    assert module_device(torch.nn.BatchNorm1d(3, affine=False)) == torch.device("cpu")  # buffers only
    assert module_device(torch.nn.ReLU()) == torch.device("cpu")  # nothing at all
    assert module_device(model.to("meta")) == torch.device("meta")
