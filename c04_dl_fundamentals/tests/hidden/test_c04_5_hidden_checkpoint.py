"""c04.5 (hidden): more damaged and mismatched checkpoints, SGD momentum state, extending a config."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from c04_dl_fundamentals import (
    MLP,
    SGD,
    CheckpointError,
    load_checkpoint,
    read_checkpoint,
    save_checkpoint,
    seed_everything,
)

pytestmark = pytest.mark.task("c04.5")


def test_sgd_momentum_state_round_trip(tmp_path):
    seed_everything(40)
    model = MLP(hidden=(8,), dropout=0.0)  # no dropout: both copies see the same forward pass
    optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    x, y = torch.rand(6, 1, 8, 8), torch.randint(0, 10, (6,))
    for _ in range(2):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    path = save_checkpoint(tmp_path / "sgd.safetensors", model, optimizer)
    twin = MLP(hidden=(8,), dropout=0.0)
    twin_opt = SGD(twin.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    load_checkpoint(path, twin, twin_opt)
    for m, opt in ((model, optimizer), (twin, twin_opt)):
        opt.zero_grad()
        nn.functional.cross_entropy(m(x), y).backward()
        opt.step()
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), twin.parameters(), strict=True))


def test_broken_metadata_is_named(tmp_path):
    seed_everything(41)
    model = MLP(hidden=(4,))
    path = save_checkpoint(tmp_path / "ok.safetensors", model)
    tensors, metadata = read_checkpoint(path)
    metadata["model_signature"] = "{not json"
    save_file(tensors, str(tmp_path / "bad.safetensors"), metadata=metadata)
    with pytest.raises(CheckpointError, match=r"metadata field 'model_signature' is missing or not valid JSON"):
        load_checkpoint(tmp_path / "bad.safetensors", model)
    metadata = dict(read_checkpoint(path)[1])
    del tensors["model/net.1.bias"]  # a tensor missing, and the checksum no longer matches
    save_file(tensors, str(tmp_path / "short.safetensors"), metadata=metadata)
    with pytest.raises(CheckpointError, match="checksum"):
        load_checkpoint(tmp_path / "short.safetensors", model)


def test_same_names_other_dtype_is_refused(tmp_path):
    seed_everything(42)
    model = MLP(hidden=(4,))
    path = save_checkpoint(tmp_path / "f32.safetensors", model)
    with pytest.raises(CheckpointError, match=r"float32, model \[4, 64\] float64"):
        load_checkpoint(path, MLP(hidden=(4,)).double())


def test_header_only_file(tmp_path):
    header = json.dumps({"__metadata__": {"format": "c04-checkpoint/1"}, "w": {"dtype": "F32", "shape": [4],
                                                                                 "data_offsets": [0, 16]}}).encode()
    path = tmp_path / "header.safetensors"
    path.write_bytes(len(header).to_bytes(8, "little") + header)  # promises 16 bytes of data, has none
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        read_checkpoint(path)
