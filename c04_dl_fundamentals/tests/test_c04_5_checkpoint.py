"""c04.5: safetensors checkpoints, their checks, and the JSON-lines log and plot.

A checkpoint must bring back everything (weights, buffers, optimizer, scheduler,
generators), must never be a pickle, and must refuse, with a clear message,
a file from another architecture or a corrupt or truncated file.
"""

from __future__ import annotations

import json
import struct

import pytest
import torch
from torch import nn

from c04_dl_fundamentals import (
    CNN,
    MLP,
    SGD,
    AdamW,
    CheckpointError,
    WarmupCosine,
    append_jsonl,
    load_checkpoint,
    plot_history,
    read_checkpoint,
    read_jsonl,
    save_checkpoint,
    seed_everything,
    write_jsonl,
)

pytestmark = pytest.mark.task("c04.5")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def trained_setup(steps: int = 3):
    """A small CNN (with batch-norm buffers) after a few AdamW + schedule steps."""
    generator = seed_everything(0)
    model = CNN(channels=(2, 3, 4))
    optimizer = AdamW(model.parameters(), lr=1e-2)
    scheduler = WarmupCosine(optimizer, 2, 10)
    x, y = torch.rand(8, 1, 8, 8), torch.randint(0, 10, (8,))
    for _ in range(steps):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        scheduler.step()
    return model, optimizer, scheduler, generator


def fresh_setup():
    seed_everything(123)  # other initial weights: loading must overwrite them
    model = CNN(channels=(2, 3, 4))
    optimizer = AdamW(model.parameters(), lr=1e-2)
    return model, optimizer, WarmupCosine(optimizer, 2, 10), torch.Generator()


def test_round_trip_restores_everything(tmp_path):
    model, optimizer, scheduler, generator = trained_setup()
    path = save_checkpoint(tmp_path / "ckpt.safetensors", model, optimizer, scheduler,
                           generators={"data": generator}, extra={"epoch": 3, "note": "hello"})
    expected_draws = (torch.rand(5), torch.rand(5, generator=generator))  # what comes next after saving
    model2, optimizer2, scheduler2, generator2 = fresh_setup()
    extra = load_checkpoint(path, model2, optimizer2, scheduler2, generators={"data": generator2})
    assert extra == {"epoch": 3, "note": "hello"}
    for (name, a), (_, b) in zip(model.state_dict().items(), model2.state_dict().items(), strict=True):
        assert torch.equal(a, b), name  # weights and batch-norm buffers, bit for bit
    s1, s2 = optimizer.state_dict(), optimizer2.state_dict()
    assert s1["param_groups"] == s2["param_groups"]
    for index, entries in s1["state"].items():
        for key, value in entries.items():
            assert torch.equal(value, s2["state"][index][key]), (index, key)
    assert scheduler2.state_dict() == scheduler.state_dict()
    assert torch.equal(torch.rand(5), expected_draws[0])  # torch's global generator restored
    assert torch.equal(torch.rand(5, generator=generator2), expected_draws[1])


def test_the_file_is_safetensors_not_a_pickle(tmp_path):
    model, optimizer, scheduler, _generator = trained_setup(1)
    path = save_checkpoint(tmp_path / "c.safetensors", model, optimizer, scheduler)
    raw = path.read_bytes()
    (header_size,) = struct.unpack("<Q", raw[:8])  # safetensors: u64 header length, then a JSON header
    header = json.loads(raw[8 : 8 + header_size])
    assert not raw.startswith(b"PK") and b"\x80\x04" not in raw[:2]  # neither a torch.save zip nor a pickle
    meta = header["__metadata__"]
    assert meta["format"] == "c04-checkpoint/1" and meta["architecture"] == "CNN"
    assert "model/features.1.running_mean" in header and "rng/torch" in header
    assert any(name.startswith("optimizer/") for name in header)
    tensors, metadata = read_checkpoint(path)
    assert metadata["sha256"] == meta["sha256"] and tensors["model/features.0.weight"].shape == (2, 1, 3, 3)
    assert not list(tmp_path.glob("*.partial"))  # written to a temporary name, then renamed


def test_model_only_and_no_rng(tmp_path):
    model, *_ = trained_setup(1)
    path = save_checkpoint(tmp_path / "m.safetensors", model)
    model2, *_ = fresh_setup()
    state = torch.get_rng_state()
    assert load_checkpoint(path, model2, restore_rng=False) == {}
    assert torch.equal(torch.get_rng_state(), state)
    pairs = zip(model.state_dict().values(), model2.state_dict().values(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)
    with pytest.raises(CheckpointError, match=r"no saved state for the generator\(s\) \['data'\]"):
        load_checkpoint(path, model2, generators={"data": torch.Generator()})


def test_another_architecture_is_refused_and_nothing_changes(tmp_path):
    model, *_ = trained_setup(1)
    path = save_checkpoint(tmp_path / "cnn.safetensors", model)
    seed_everything(0)
    mlp = MLP()
    before = {k: v.clone() for k, v in mlp.state_dict().items()}
    with pytest.raises(CheckpointError, match=r"holds a CNN but the model is a MLP: another architecture"):
        load_checkpoint(path, mlp)
    assert all(torch.equal(before[k], v) for k, v in mlp.state_dict().items())
    wider = CNN(channels=(2, 3, 5))
    with pytest.raises(CheckpointError, match=r"does not fit this CNN.*features\.7\.weight: checkpoint \[4, 3, 3, 3\]"):
        load_checkpoint(path, wider)
    mlp_path = save_checkpoint(tmp_path / "mlp.safetensors", MLP(hidden=(16, 8)))
    with pytest.raises(CheckpointError, match=r"missing in the checkpoint: net\.10\.weight.*net\.7\.weight: checkpoint "
                                              r"\[10, 8\] float32, model \[8, 8\] float32; and 1 more"):
        load_checkpoint(mlp_path, MLP(hidden=(16, 8, 8, 8)))


def test_optimizer_and_scheduler_mismatches(tmp_path):
    model, optimizer, scheduler, _ = trained_setup(1)
    path = save_checkpoint(tmp_path / "c.safetensors", model, optimizer, scheduler)
    model2, *_ = fresh_setup()
    with pytest.raises(CheckpointError, match=r"holds AdamW state but the optimizer is a SGD"):
        load_checkpoint(path, model2, SGD(model2.parameters(), lr=0.1))
    other = AdamW(list(model2.parameters())[:2])
    with pytest.raises(CheckpointError, match=r"optimizer state does not fit"):
        load_checkpoint(path, model2, other)
    sched = torch.optim.lr_scheduler.StepLR(AdamW(model2.parameters()), 3)
    with pytest.raises(CheckpointError, match=r"holds WarmupCosine state but the scheduler is a StepLR"):
        load_checkpoint(path, model2, scheduler=sched)
    bare = save_checkpoint(tmp_path / "bare.safetensors", model)
    with pytest.raises(CheckpointError, match=r"metadata field 'optimizer' is missing"):
        load_checkpoint(bare, model2, AdamW(model2.parameters()))
    with pytest.raises(TypeError, match=r"cannot store the extra training state .* not JSON-serialisable"):
        save_checkpoint(tmp_path / "x.safetensors", model, extra={"when": object()})
    assert not (tmp_path / "x.safetensors").exists()


@pytest.mark.parametrize("damage", ["truncate", "garbage", "flip", "empty", "header"])
def test_corrupt_or_truncated_files_are_refused(tmp_path, damage):
    model, optimizer, scheduler, _ = trained_setup(1)
    path = save_checkpoint(tmp_path / "c.safetensors", model, optimizer, scheduler)
    raw = bytearray(path.read_bytes())
    if damage == "truncate":
        path.write_bytes(raw[: len(raw) - 100])
        message = r"not a readable safetensors file \(corrupt or truncated\?\)"
    elif damage == "garbage":
        path.write_bytes(b"\x00" * 64 + b"not a checkpoint")
        message = r"not a readable safetensors file"
    elif damage == "flip":
        raw[-20] ^= 0xFF  # one byte of tensor data
        path.write_bytes(bytes(raw))
        message = r"is corrupt: the tensor data does not match the checksum"
    elif damage == "empty":
        path.write_bytes(b"")
        message = r"not a readable safetensors file"
    else:
        raw[10] = ord("!")  # break the JSON header
        path.write_bytes(bytes(raw))
        message = r"not a readable safetensors file"
    model2, optimizer2, scheduler2, _ = fresh_setup()
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path, model2, optimizer2, scheduler2)


def test_missing_file_and_foreign_safetensors(tmp_path):
    model, *_ = trained_setup(1)
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "nope.safetensors", model)
    from safetensors.torch import save_file

    save_file({"weight": torch.zeros(2)}, str(tmp_path / "foreign.safetensors"))  # valid, but not ours
    with pytest.raises(CheckpointError, match=r"is not a c04-checkpoint/1 checkpoint \(format None\)"):
        read_checkpoint(tmp_path / "foreign.safetensors")


def test_jsonl_log(tmp_path):
    path = tmp_path / "logs" / "metrics.jsonl"
    append_jsonl(path, {"epoch": 1, "train_loss": 0.5})
    append_jsonl(path, {"epoch": 2, "train_loss": 0.25})
    assert read_jsonl(path) == [{"epoch": 1, "train_loss": 0.5}, {"epoch": 2, "train_loss": 0.25}]
    assert path.read_text().count("\n") == 2
    write_jsonl(path, [{"epoch": 1}])
    assert read_jsonl(path) == [{"epoch": 1}]
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        append_jsonl(path, {"epoch": 3, "loss": float("nan")})
    path.write_text('{"epoch": 1}\n\nnot json\n')
    with pytest.raises(ValueError, match=r"metrics.jsonl:3: not a JSON line"):
        read_jsonl(path)
    path.write_text("[1, 2]\n")
    with pytest.raises(ValueError, match=r":1: expected a JSON object, got list"):
        read_jsonl(path)


def test_plot_history(tmp_path):
    records = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e, "train_accuracy": 1 - 0.5 / e,
                "val_accuracy": 1 - 0.6 / e} for e in range(1, 5)]
    png = plot_history(records, tmp_path / "plots" / "history.png")
    assert png.read_bytes().startswith(PNG_SIGNATURE) and png.stat().st_size > 1000
    with pytest.raises(ValueError, match="no records"):
        plot_history([], tmp_path / "x.png")
    with pytest.raises(ValueError, match="'epoch'"):
        plot_history([{"loss": 1.0}], tmp_path / "x.png")
