"""Checkpoints in safetensors: model, optimizer, scheduler and RNG state, no pickle (task c04.5).

A checkpoint that only holds the weights can restart *inference*; restarting
*training* so that it continues exactly as if it had never stopped also needs:

* the optimizer state (Adam's moment estimates and step counts; SGD's velocities),
* the scheduler state (which step of warm-up / cosine we are at),
* every random generator the loop draws from (data order, augmentation, dropout),
* the loop's own bookkeeping (epoch, best validation loss, history), passed as ``extra``.

``torch.save`` would store all of that with pickle, and *loading* a pickle runs
arbitrary code from the file. This format never does: it is one
`safetensors <https://huggingface.co/docs/safetensors>`_ file whose tensors are

* ``model/<name>``                 every entry of ``model.state_dict()`` (weights and buffers),
* ``optimizer/<index>/<key>``      every tensor in ``optimizer.state_dict()["state"]``,
* ``rng/torch``, ``rng/<name>``    torch's global generator and each named generator,

and whose header metadata (a str -> str map) holds JSON for everything else: the
format name, the model's class and (shape, dtype) signature, the optimizer's
class, parameter groups and non-tensor state, the scheduler's ``state_dict``,
``extra``, and a sha256 over all tensor bytes. Loading checks, in order, that
the file parses, that it is this format, that the checksum matches (a flipped
bit is caught), that the model has the same class and the same names and
shapes, and only then copies anything into the live objects, so a bad file
leaves them untouched and raises :class:`CheckpointError` saying what is wrong.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

FORMAT = "c04-checkpoint/1"
MAX_LISTED = 5  # problems named in one error message


class CheckpointError(ValueError):
    """A checkpoint that cannot be used here; the message names the file and the problem."""


def _signature(state: Mapping[str, torch.Tensor]) -> dict[str, list[Any]]:
    """name -> [shape, dtype] of a state_dict: what must match for a checkpoint to fit a model."""
    return {name: [list(t.shape), str(t.dtype).removeprefix("torch.")] for name, t in state.items()}


def _digest(tensors: Mapping[str, torch.Tensor]) -> str:
    """sha256 over every tensor's name, dtype, shape and bytes, in name order."""
    sha = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        sha.update(f"{name}|{tensor.dtype}|{list(tensor.shape)}|".encode())
        sha.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return sha.hexdigest()


def _to_json(value: Any, what: str) -> str:
    try:
        return json.dumps(value)
    except TypeError as err:
        raise TypeError(f"cannot store the {what} in a checkpoint: it is not JSON-serialisable ({err})") from None


def save_checkpoint(
    path: str | os.PathLike[str],
    model: nn.Module,
    optimizer: Optimizer | None = None,
    scheduler: LRScheduler | None = None,
    *,
    generators: Mapping[str, torch.Generator] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write everything needed to resume training to ``path`` (atomically) and return the path.

    Args:
        path: the file to write (conventionally ``*.safetensors``); replaced if it exists.
        model: its ``state_dict()`` (parameters and buffers such as batch-norm statistics).
        optimizer: its ``state_dict()``: tensor state as tensors, the rest as JSON.
        scheduler: its ``state_dict()``, which must be JSON-serialisable.
        generators: named ``torch.Generator``s to save besides torch's global one.
        extra: JSON-serialisable bookkeeping of the training loop, returned by :func:`load_checkpoint`.
    """
    # BEGIN SOLUTION c04.5: tensors + JSON metadata + sha256, write a temp file, os.replace
    path = Path(path)
    tensors: dict[str, torch.Tensor] = {}
    model_state = model.state_dict()
    for name, tensor in model_state.items():
        tensors[f"model/{name}"] = tensor.detach().cpu().contiguous().clone()  # clone: no shared storage
    metadata = {
        "format": FORMAT,
        "architecture": type(model).__qualname__,
        "model_signature": _to_json(_signature(model_state), "model signature"),
    }
    if optimizer is not None:
        state = optimizer.state_dict()
        scalars: dict[str, dict[str, Any]] = {}
        for index, entries in state["state"].items():
            for key, value in entries.items():
                if isinstance(value, torch.Tensor):
                    tensors[f"optimizer/{index}/{key}"] = value.detach().cpu().contiguous().clone()
                else:
                    scalars.setdefault(str(index), {})[key] = value
        metadata["optimizer"] = _to_json(
            {"class": type(optimizer).__qualname__, "param_groups": state["param_groups"], "scalars": scalars},
            "optimizer state",
        )
    if scheduler is not None:
        metadata["scheduler"] = _to_json(
            {"class": type(scheduler).__qualname__, "state": scheduler.state_dict()}, "scheduler state"
        )
    tensors["rng/torch"] = torch.get_rng_state()
    for name, generator in (generators or {}).items():
        tensors[f"rng/{name}"] = generator.get_state()
    metadata["extra"] = _to_json(dict(extra or {}), "extra training state")
    metadata["sha256"] = _digest(tensors)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    save_file(tensors, str(partial), metadata=metadata)
    os.replace(partial, path)  # atomic: a crash mid-write never leaves a half-written checkpoint at path
    return path
    # END SOLUTION


def read_checkpoint(path: str | os.PathLike[str]) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The tensors and metadata of a checkpoint file, after checking its format and checksum.

    Raises:
        FileNotFoundError: no file at ``path``.
        CheckpointError: not a safetensors file (corrupt, truncated), not this format, or a checksum mismatch.
    """
    # BEGIN SOLUTION c04.5: parse with safe_open (wrap its errors), check format and sha256
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = dict(handle.metadata() or {})
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118 - not a dict
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{path} is not a readable safetensors file (corrupt or truncated?): {err}") from None
    if metadata.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a {FORMAT} checkpoint (format {metadata.get('format')!r})")
    if metadata.get("sha256") != _digest(tensors):
        raise CheckpointError(f"{path} is corrupt: the tensor data does not match the checksum stored in it")
    return tensors, metadata
    # END SOLUTION


def _json_field(metadata: Mapping[str, str], key: str, path: Path) -> Any:
    try:
        return json.loads(metadata[key])
    except (KeyError, ValueError) as err:
        raise CheckpointError(f"{path}: metadata field {key!r} is missing or not valid JSON ({err})") from None


def check_model_fits(metadata: Mapping[str, str], model: nn.Module, path: Path) -> None:
    """CheckpointError unless ``model`` has the checkpoint's class, parameter names, shapes and dtypes."""
    # BEGIN SOLUTION c04.5: compare class names, then missing / unexpected names and shape or dtype changes
    saved_class = metadata.get("architecture")
    if saved_class != type(model).__qualname__:
        raise CheckpointError(
            f"{path} holds a {saved_class} but the model is a {type(model).__qualname__}: another architecture"
        )
    saved = _json_field(metadata, "model_signature", path)
    current = _signature(model.state_dict())
    problems = [f"missing in the checkpoint: {name}" for name in current if name not in saved]
    problems += [f"not in the model: {name}" for name in saved if name not in current]
    problems += [
        f"{name}: checkpoint {saved[name][0]} {saved[name][1]}, model {current[name][0]} {current[name][1]}"
        for name in current
        if name in saved and saved[name] != current[name]
    ]
    if problems:
        more = len(problems) - MAX_LISTED
        listed = "; ".join(problems[:MAX_LISTED]) + (f"; and {more} more" if more > 0 else "")
        raise CheckpointError(f"{path} does not fit this {type(model).__qualname__} (another architecture?): {listed}")
    # END SOLUTION


def load_checkpoint(
    path: str | os.PathLike[str],
    model: nn.Module,
    optimizer: Optimizer | None = None,
    scheduler: LRScheduler | None = None,
    *,
    generators: Mapping[str, torch.Generator] | None = None,
    restore_rng: bool = True,
) -> dict[str, Any]:
    """Restore what :func:`save_checkpoint` wrote into the live objects; return its ``extra``.

    Everything is checked before anything is changed. With ``restore_rng``,
    torch's global generator and each generator in ``generators`` get their saved
    state back (each must be in the file).
    """
    # BEGIN SOLUTION c04.5: read and check everything first, then load model, optimizer, scheduler, RNG
    path = Path(path)
    tensors, metadata = read_checkpoint(path)
    check_model_fits(metadata, model, path)
    extra = _json_field(metadata, "extra", path)
    optimizer_state: dict[str, Any] | None = None
    if optimizer is not None:
        saved = _json_field(metadata, "optimizer", path)
        if saved["class"] != type(optimizer).__qualname__:
            raise CheckpointError(
                f"{path} holds {saved['class']} state but the optimizer is a {type(optimizer).__qualname__}"
            )
        state: dict[int, dict[str, Any]] = {}
        for name, tensor in tensors.items():
            if name.startswith("optimizer/"):
                _, index, key = name.split("/", 2)
                state.setdefault(int(index), {})[key] = tensor
        for index, entries in saved["scalars"].items():
            state.setdefault(int(index), {}).update(entries)
        groups = saved["param_groups"]
        for group, live in zip(groups, optimizer.param_groups, strict=False):
            for key, value in group.items():  # JSON turned tuples (Adam's betas) into lists: turn them back
                if isinstance(live.get(key), tuple) and isinstance(value, list):
                    group[key] = tuple(value)
        optimizer_state = {"state": state, "param_groups": groups}
    scheduler_state = None
    if scheduler is not None:
        saved = _json_field(metadata, "scheduler", path)
        if saved["class"] != type(scheduler).__qualname__:
            raise CheckpointError(
                f"{path} holds {saved['class']} state but the scheduler is a {type(scheduler).__qualname__}"
            )
        scheduler_state = saved["state"]
    wanted = {"torch": None, **(generators or {})} if restore_rng else {}
    missing = [name for name in wanted if f"rng/{name}" not in tensors]
    if missing:
        raise CheckpointError(f"{path} has no saved state for the generator(s) {missing}")

    if optimizer_state is not None and optimizer is not None:
        try:  # torch checks the parameter groups before it changes anything
            optimizer.load_state_dict(optimizer_state)
        except (ValueError, KeyError) as err:
            raise CheckpointError(f"{path}: the optimizer state does not fit this optimizer: {err}") from None
    model.load_state_dict({name.removeprefix("model/"): t for name, t in tensors.items() if name.startswith("model/")})
    if scheduler_state is not None and scheduler is not None:
        scheduler.load_state_dict(scheduler_state)
    if restore_rng:
        torch.set_rng_state(tensors["rng/torch"])
        for name, generator in (generators or {}).items():
            generator.set_state(tensors[f"rng/{name}"])
    return dict(extra)
    # END SOLUTION
