"""c05.6: the GGUF reader: header, metadata, tensor descriptors, memory map, dequantisation, errors.

Oracle: the ``gguf`` package (llama.cpp's own Python reader) on the same file. Dequantised values
must be bit-identical (tolerance 0): both do the same float32 operations in the same order.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from c05_nlp_transformers.gguf import GGMLType, GGUFError, GGUFFile, dequantize

pytestmark = pytest.mark.task("c05.6")


def _string(text: str) -> bytes:
    raw = text.encode("utf-8")
    return struct.pack("<Q", len(raw)) + raw


def write_gguf(path: Path, tensors: list[tuple[str, tuple[int, ...], int, bytes]], *, magic: bytes = b"GGUF",
               version: int = 3, extra_kv: bytes = b"", n_extra: int = 0) -> Path:
    """A minimal GGUF file: one string, one u32 and one float-array key, then the tensors (dims in torch order)."""
    kv = _string("general.architecture") + struct.pack("<I", 8) + _string("llama")
    kv += _string("answer") + struct.pack("<I", 4) + struct.pack("<I", 42)
    kv += _string("floats") + struct.pack("<IIQ", 9, 6, 2) + struct.pack("<2f", 1.5, -2.0)
    kv += _string("names") + struct.pack("<IIQ", 9, 8, 2) + _string("a") + _string("bc")
    kv += extra_kv
    infos, blobs, offset = b"", b"", 0
    for name, shape, type_id, blob in tensors:
        infos += _string(name) + struct.pack("<I", len(shape)) + struct.pack(f"<{len(shape)}Q", *reversed(shape))
        infos += struct.pack("<IQ", type_id, offset)
        padded = blob + b"\0" * (-len(blob) % 32)
        blobs, offset = blobs + padded, offset + len(padded)
    header = magic + struct.pack("<IQQ", version, len(tensors), 4 + n_extra) + kv + infos
    header += b"\0" * (-len(header) % 32)
    path.write_bytes(header + blobs)
    return path


def test_header_and_metadata_of_smollm(smollm_gguf):
    gguf = smollm_gguf
    assert gguf.version == 3
    assert len(gguf.tensors) == 272
    meta = gguf.metadata
    assert meta["general.architecture"] == "llama"
    assert meta["llama.block_count"] == 30 and meta["llama.attention.head_count_kv"] == 3
    assert meta["llama.rope.freq_base"] == 100000.0
    assert len(meta["tokenizer.ggml.tokens"]) == 49152 and len(meta["tokenizer.ggml.merges"]) == 48900
    assert gguf.tensors["token_embd.weight"].shape == (49152, 576)
    assert gguf.tensors["blk.0.ffn_down.weight"].shape == (576, 1536)
    kinds = {info.ggml_type for info in gguf.tensors.values()}
    assert kinds == {GGMLType.Q4_1, GGMLType.Q8_0, GGMLType.F32}


def test_matches_the_gguf_package_and_maps_without_copy(smollm_gguf, metric):
    import gguf as gguf_package

    ours = smollm_gguf
    reader = gguf_package.GGUFReader(ours.path)
    assert {t.name for t in reader.tensors} == set(ours.tensors)
    worst = 0.0
    checked = set()
    for tensor in reader.tensors:
        info = ours.tensors[tensor.name]
        assert info.offset == tensor.data_offset and info.n_bytes == tensor.n_bytes
        assert info.ggml_type.value == int(tensor.tensor_type)
        if info.ggml_type in checked and not tensor.name.startswith("blk.0."):
            continue  # every type, and every tensor of block 0 (the whole file takes ~10 s)
        checked.add(info.ggml_type)
        expected = gguf_package.quants.dequantize(tensor.data, tensor.tensor_type).reshape(info.shape)
        got = ours.dequantize(tensor.name)
        assert got.dtype == np.float32 and got.shape == expected.shape
        assert np.array_equal(got.view(np.uint32), expected.view(np.uint32)), tensor.name  # bit-identical
        worst = max(worst, float(np.abs(got - expected).max()))
    raw = ours.raw("blk.0.attn_q.weight")
    assert np.shares_memory(raw, ours.data), "raw() must be a view of the memory map, not a copy"
    assert isinstance(ours.data, np.memmap)
    metric("gguf_dequant_max_abs_diff_vs_gguf", worst)


def test_small_file_metadata_f16_and_f32(tmp_path):
    f16 = np.arange(32, dtype=np.float16) / 4
    f32 = np.linspace(-1, 1, 6, dtype=np.float32)
    path = write_gguf(tmp_path / "tiny.gguf", [("a", (4, 8), 1, f16.tobytes()), ("b", (2, 3), 0, f32.tobytes())])
    gguf = GGUFFile(path)
    assert gguf.metadata == {"general.architecture": "llama", "answer": 42, "floats": [1.5, -2.0], "names": ["a", "bc"]}
    assert np.array_equal(gguf.dequantize("a"), f16.astype(np.float32).reshape(4, 8))
    assert np.array_equal(gguf.dequantize("b"), f32.reshape(2, 3))
    with pytest.raises(KeyError, match="no tensor 'c'"):
        gguf.dequantize("c")


def test_q8_0_and_q4_1_blocks_by_hand():
    d = np.float16(0.5)
    q = np.arange(-16, 16, dtype=np.int8)
    block = d.tobytes() + q.tobytes()
    assert np.array_equal(dequantize(np.frombuffer(block, np.uint8), GGMLType.Q8_0), q.astype(np.float32) * 0.5)
    low, high = np.arange(16, dtype=np.uint8), np.full(16, 15, dtype=np.uint8)
    block = np.float16(2.0).tobytes() + np.float16(-1.0).tobytes() + (low | (high << 4)).tobytes()
    expected = np.concatenate([low, high]).astype(np.float32) * 2.0 - 1.0  # weight j: low nibble, j + 16: high
    assert np.array_equal(dequantize(np.frombuffer(block, np.uint8), GGMLType.Q4_1), expected)


def test_bad_magic(tmp_path):
    path = write_gguf(tmp_path / "bad.gguf", [], magic=b"GGML")
    with pytest.raises(GGUFError, match="not a GGUF file: magic"):
        GGUFFile(path)


def test_truncated_files(tmp_path, smollm_gguf):
    source = smollm_gguf.path
    with source.open("rb") as handle:
        head = handle.read(4096)
    for size in (10, 100, 4096):  # shorter than a header; inside the metadata; tensors past the end
        path = tmp_path / f"cut{size}.gguf"
        path.write_bytes(head[:size])
        with pytest.raises(GGUFError, match="truncated"):
            GGUFFile(path)
    path = write_gguf(tmp_path / "short_data.gguf", [("a", (64,), 0, np.zeros(64, np.float32).tobytes())])
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(GGUFError, match="truncated: tensor 'a'"):
        GGUFFile(path)


def test_unknown_types_and_versions(tmp_path):
    path = write_gguf(tmp_path / "type.gguf", [("a", (32,), 99, bytes(128))])
    with pytest.raises(GGUFError, match="unknown ggml type 99"):
        GGUFFile(path)
    path = write_gguf(tmp_path / "q40.gguf", [("a", (32,), 2, bytes(18))])
    with pytest.raises(GGUFError, match="dequantisation of Q4_0 is not implemented"):
        GGUFFile(path).dequantize("a")
    path = write_gguf(tmp_path / "v9.gguf", [], version=9)
    with pytest.raises(GGUFError, match="version 9"):
        GGUFFile(path)
    path = write_gguf(tmp_path / "kv.gguf", [], extra_kv=_string("odd") + struct.pack("<I", 77), n_extra=1)
    with pytest.raises(GGUFError, match="unknown metadata value type 77"):
        GGUFFile(path)
    path = write_gguf(tmp_path / "blocks.gguf", [("a", (33,), 8, bytes(68))])
    with pytest.raises(GGUFError, match="not whole blocks"):
        GGUFFile(path)
    path = write_gguf(tmp_path / "utf.gguf", [], extra_kv=struct.pack("<Q", 2) + b"\xff\xfe", n_extra=1)
    with pytest.raises(GGUFError, match="invalid UTF-8"):
        GGUFFile(path)
    with pytest.raises(FileNotFoundError, match="no GGUF file"):
        GGUFFile(tmp_path / "missing.gguf")
