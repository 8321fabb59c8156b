"""A GGUF reader: header, metadata, tensor descriptors, and dequantisation of Q4_1, Q8_0 and F32.

GGUF (llama.cpp's file format, version 3) is one little-endian file::

    magic "GGUF" | version u32 | n_tensors u64 | n_kv u64
    n_kv x      key (string) | value type u32 | value
    n_tensors x name (string) | n_dims u32 | dims u64 x n_dims | ggml type u32 | offset u64
    padding to ``general.alignment`` (default 32)
    tensor data: each tensor at data_start + its offset

A string is a u64 length and UTF-8 bytes; an array is an element type u32, a count u64 and the
elements. Dimensions are listed innermost first (``ne0``): a (rows, cols) matrix is stored as
``[cols, rows]``, so the torch shape is the reversed list.

The file is memory-mapped with numpy: parsing reads only the header, and each tensor's bytes stay
on disk (in the page cache) until :meth:`GGUFFile.dequantize` turns them into float32.

Quantised blocks (32 weights each):

* **Q8_0**, 34 bytes: a float16 scale ``d`` and 32 int8 ``q``; ``w = d * q``.
* **Q4_1**, 20 bytes: float16 ``d`` and ``m``, then 16 bytes of 4-bit ``q``: byte j holds weight j in
  its low nibble and weight j + 16 in its high nibble; ``w = d * q + m``.

The arithmetic is done in float32 in the same order as the ``gguf`` package, so the results are
bit-identical to it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32


class GGMLType(IntEnum):
    """The tensor types this reader knows (a subset of ggml's numbering)."""

    F32 = 0
    F16 = 1
    Q4_0 = 2
    Q4_1 = 3
    Q8_0 = 8


# type -> (weights per block, bytes per block)
BLOCK_LAYOUT: dict[GGMLType, tuple[int, int]] = {
    GGMLType.F32: (1, 4),
    GGMLType.F16: (1, 2),
    GGMLType.Q4_0: (32, 18),
    GGMLType.Q4_1: (32, 20),
    GGMLType.Q8_0: (32, 34),
}
DEQUANTIZABLE = (GGMLType.F32, GGMLType.F16, GGMLType.Q4_1, GGMLType.Q8_0)

# metadata value type -> struct format of a scalar (8: string, 9: array are handled apart)
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9


class GGUFError(ValueError):
    """A file that is not a valid GGUF file, or one this reader cannot handle."""


@dataclass(frozen=True)
class TensorInfo:
    """One tensor's descriptor: where its bytes are and how to read them."""

    name: str
    shape: tuple[int, ...]  # torch order (outermost first)
    ggml_type: GGMLType
    offset: int  # absolute byte offset in the file
    n_bytes: int

    @property
    def n_elements(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


class GGUFFile:
    """A parsed GGUF file: ``metadata`` (key -> value), ``tensors`` (name -> :class:`TensorInfo`).

    ``data`` is the read-only memory map of the whole file; :meth:`raw` views a tensor's bytes
    without copying them; :meth:`dequantize` returns float32.
    """

    data: npt.NDArray[np.uint8]  # the read-only memory map of the whole file
    version: int
    metadata: dict[str, Any]
    tensors: dict[str, TensorInfo]
    data_start: int  # absolute offset of the tensor data

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        # BEGIN SOLUTION c05.6: memory-map, parse header, metadata and tensor infos, check bounds
        if not self.path.is_file():
            raise FileNotFoundError(f"no GGUF file at {self.path}")
        size = self.path.stat().st_size
        if size < 24:
            raise GGUFError(f"{self.path} is truncated: {size} bytes, shorter than a GGUF header (24)")
        self.data = np.memmap(self.path, dtype=np.uint8, mode="r")
        reader = _Reader(memoryview(self.data), self.path)  # type: ignore[arg-type]
        magic = reader.take(4)
        if magic != GGUF_MAGIC:
            raise GGUFError(f"{self.path} is not a GGUF file: magic {magic!r}, expected {GGUF_MAGIC!r}")
        self.version = reader.scalar("<I")
        if self.version not in (2, 3):
            raise GGUFError(f"{self.path}: GGUF version {self.version} is not supported (2 or 3)")
        n_tensors, n_kv = reader.scalar("<Q"), reader.scalar("<Q")
        self.metadata = {}
        for _ in range(n_kv):
            key = reader.string()
            self.metadata[key] = reader.value(reader.scalar("<I"))
        descriptors = []
        for _ in range(n_tensors):
            name = reader.string()
            n_dims = reader.scalar("<I")
            dims = [reader.scalar("<Q") for _ in range(n_dims)]
            type_id, offset = reader.scalar("<I"), reader.scalar("<Q")
            try:
                ggml_type = GGMLType(type_id)
            except ValueError:
                raise GGUFError(f"{self.path}: tensor {name!r} has unknown ggml type {type_id}") from None
            descriptors.append((name, tuple(reversed(dims)), ggml_type, offset))
        alignment = int(self.metadata.get("general.alignment", DEFAULT_ALIGNMENT))
        self.data_start = -(-reader.position // alignment) * alignment
        self.tensors = {}
        for name, shape, ggml_type, offset in descriptors:
            per_block, block_bytes = BLOCK_LAYOUT[ggml_type]
            n_elements = int(np.prod(shape, dtype=np.int64))
            if n_elements % per_block:
                raise GGUFError(f"{self.path}: tensor {name!r} of {n_elements} weights is not whole blocks")
            n_bytes = n_elements // per_block * block_bytes
            start = self.data_start + offset
            if start + n_bytes > size:
                raise GGUFError(
                    f"{self.path} is truncated: tensor {name!r} needs bytes {start}..{start + n_bytes}, "
                    f"the file has {size}"
                )
            self.tensors[name] = TensorInfo(name, shape, ggml_type, start, n_bytes)
        # END SOLUTION

    def raw(self, name: str) -> npt.NDArray[np.uint8]:
        """The bytes of tensor ``name``: a view of the memory map, no copy."""
        info = self._info(name)
        return self.data[info.offset : info.offset + info.n_bytes]

    def _info(self, name: str) -> TensorInfo:
        if name not in self.tensors:
            raise KeyError(f"no tensor {name!r} in {self.path} ({len(self.tensors)} tensors)")
        return self.tensors[name]

    def dequantize(self, name: str) -> npt.NDArray[np.float32]:
        """Tensor ``name`` as float32, in its torch shape (a new array)."""
        info = self._info(name)
        return dequantize(self.raw(name), info.ggml_type).reshape(info.shape)


def dequantize(raw: npt.NDArray[np.uint8], ggml_type: GGMLType) -> npt.NDArray[np.float32]:
    """Flat float32 weights of the bytes ``raw`` of one tensor of type ``ggml_type``."""
    # BEGIN SOLUTION c05.6: view the bytes as blocks, scale (and offset) each block in float32
    if ggml_type == GGMLType.F32:
        return raw.view(np.float32).copy()
    if ggml_type == GGMLType.F16:
        return raw.view(np.float16).astype(np.float32)
    if ggml_type == GGMLType.Q8_0:
        blocks = raw.reshape(-1, 34)
        d = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (n, 1)
        q = blocks[:, 2:].view(np.int8).astype(np.float32)  # (n, 32)
        return (q * d).reshape(-1)
    if ggml_type == GGMLType.Q4_1:
        blocks = raw.reshape(-1, 20)
        d = blocks[:, 0:2].copy().view(np.float16).astype(np.float32)  # (n, 1)
        m = blocks[:, 2:4].copy().view(np.float16).astype(np.float32)
        packed = blocks[:, 4:]  # (n, 16)
        q = np.concatenate((packed & np.uint8(0x0F), packed >> np.uint8(4)), axis=1).astype(np.float32)  # (n, 32)
        return ((d * q) + m).reshape(-1)
    raise GGUFError(f"dequantisation of {ggml_type.name} is not implemented (supported: F32, F16, Q4_1, Q8_0)")
    # END SOLUTION


class _Reader:
    """Little-endian values from a buffer, with a clear error when the buffer ends too soon."""

    def __init__(self, buffer: memoryview, path: Path) -> None:
        self.buffer, self.path, self.position = buffer, path, 0

    def take(self, n: int) -> bytes:
        end = self.position + n
        if n < 0 or end > len(self.buffer):
            raise GGUFError(f"{self.path} is truncated: needed {n} bytes at offset {self.position}, "
                            f"the file has {len(self.buffer)}")
        out = bytes(self.buffer[self.position : end])
        self.position = end
        return out

    def scalar(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        raw = self.take(self.scalar("<Q"))
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise GGUFError(f"{self.path}: invalid UTF-8 string at offset {self.position - len(raw)}") from err

    def value(self, value_type: int) -> Any:
        if value_type == _STRING:
            return self.string()
        if value_type == _ARRAY:
            element_type, count = self.scalar("<I"), self.scalar("<Q")
            if element_type in _SCALARS:  # numbers: one unpack for the whole array
                fmt = _SCALARS[element_type]
                width = struct.calcsize(fmt)
                return list(struct.unpack(f"<{count}{fmt[1]}", self.take(width * count)))
            return [self.value(element_type) for _ in range(count)]
        if value_type not in _SCALARS:
            raise GGUFError(f"{self.path}: unknown metadata value type {value_type} at offset {self.position - 4}")
        return self.scalar(_SCALARS[value_type])
