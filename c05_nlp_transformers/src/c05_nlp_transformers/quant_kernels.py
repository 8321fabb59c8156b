"""Quantised matrix-vector kernels for decoding: int8 per channel, and GGUF's Q8_0 and Q4_1 blocks in place.

At batch 1 a decode step multiplies one activation row by every weight matrix, so its time is the
time to read the weights. c05.9's ``Int8Linear`` stores int8 but converts the whole matrix to float32
on every call: it reads 1 byte and writes and reads 4 more per weight, slower than float32. These
kernels (numba, compiled with LLVM's vectoriser; ``fastmath`` lets it reorder the sums into SIMD
lanes) read the quantised bytes once and convert them in registers:

* **int8 per output channel** (c05.9's format): ``y[m, n] = s[n] * sum_k q[n, k] * x[m, k]``;
  1 byte per weight.
* **Q8_0** (34-byte blocks of 32 weights: float16 ``d``, 32 int8 ``q``): ``w = d * q``;
  8.5 bits per weight. ``y = sum_blocks d * (q . x_block)``.
* **Q4_1** (20-byte blocks: float16 ``d`` and ``m``, 16 bytes of nibbles, low nibble weight j, high
  nibble weight j + 16): ``w = d * q + m``; 5 bits per weight.
  ``y = sum_blocks d * (q . x_block) + m * sum(x_block)``: the minimum needs only the block sum of
  x, computed once per call and shared by every output row.

The block kernels take the file's bytes as they are (a row-major (N, K / 32 * block bytes) view of
the memory map) and read the float16 scales through a 65,536-entry float32 table, as ggml does. The
activations stay float32 (llama.cpp also quantises x to 8 bits to use integer dot products; that
adds a rounding of x, which we avoid). The outer loop over output rows is a ``prange``: numba's
threads follow torch's thread count.

For a prefill (many rows of x) a matrix-vector kernel recomputes each weight per row; there the
weights are dequantised once per call into float32 (one parallel pass) and multiplied with torch's
BLAS matmul: :data:`KERNEL_MAX_ROWS` chooses between the two.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F  # noqa: N812
from numba import njit, prange

BLOCK = 32  # weights per Q8_0 / Q4_1 block
Q8_0_BYTES, Q4_1_BYTES = 34, 20
KERNEL_MAX_ROWS = 8  # up to this many rows of x the matrix-vector kernels run; above, dequantise + BLAS

F16_TABLE: npt.NDArray[np.float32] = np.arange(65536, dtype=np.uint16).view(np.float16).astype(np.float32)

Float32s = npt.NDArray[np.float32]
Bytes = npt.NDArray[np.uint8]


def _int8_matmul(x: Float32s, q: npt.NDArray[np.int8], scale: Float32s, out: Float32s) -> None:
    """out (M, N) = (x (M, K) @ q (N, K)^T) * scale (N,), q read as int8."""
    # BEGIN SOLUTION c05.11: four rows a quarter of the matrix apart at once; convert each int8 in registers
    m_rows, k_dim = x.shape
    n_dim = q.shape[0]
    quarter = n_dim // 4
    # Four far-apart rows are four sequential streams from memory, which the prefetcher fetches in
    # parallel: measured 1.5 x faster than one row at a time on a loaded machine (memory latency, not
    # arithmetic, bounds one stream), where four adjacent rows were no faster.
    for i in prange(quarter):
        r0, r1, r2, r3 = i, i + quarter, i + 2 * quarter, i + 3 * quarter
        for m in range(m_rows):
            a0 = a1 = a2 = a3 = np.float32(0.0)
            for k in range(k_dim):
                xk = x[m, k]
                a0 += np.float32(q[r0, k]) * xk
                a1 += np.float32(q[r1, k]) * xk
                a2 += np.float32(q[r2, k]) * xk
                a3 += np.float32(q[r3, k]) * xk
            out[m, r0], out[m, r1] = a0 * scale[r0], a1 * scale[r1]
            out[m, r2], out[m, r3] = a2 * scale[r2], a3 * scale[r3]
    for r in range(4 * quarter, n_dim):  # the last N % 4 rows
        for m in range(m_rows):
            acc = np.float32(0.0)
            for k in range(k_dim):
                acc += np.float32(q[r, k]) * x[m, k]
            out[m, r] = acc * scale[r]
    # END SOLUTION


def _q8_0_matmul(x: Float32s, raw: Bytes, signed: npt.NDArray[np.int8], table: Float32s,
                       out: Float32s) -> None:
    """out (M, N) = x (M, K) @ W^T for W in Q8_0 blocks: ``raw`` (N, K / 32 * 34) and its int8 view ``signed``."""
    # BEGIN SOLUTION c05.11: two rows half the matrix apart; per block d from the table, then d * (q . x)
    m_rows, k_dim = x.shape
    n_dim, n_blocks = raw.shape[0], k_dim // 32
    size = raw.shape[1] // n_blocks  # 34, read from the shape: a trip count LLVM cannot unroll fully
    width = size - 2  # ... so it vectorises the 32-weight dot product instead (measured 4 x faster)
    half = n_dim - n_dim // 2
    for i in prange(half):  # two memory streams, as in the int8 kernel; an odd N computes its last row twice
        r0, r1 = i, min(i + half, n_dim - 1)
        for m in range(m_rows):
            acc0 = acc1 = np.float32(0.0)
            for b in range(n_blocks):
                base = b * size
                d0 = table[int(raw[r0, base]) | (int(raw[r0, base + 1]) << 8)]
                d1 = table[int(raw[r1, base]) | (int(raw[r1, base + 1]) << 8)]
                part0 = part1 = np.float32(0.0)
                for j in range(width):
                    xj = x[m, b * 32 + j]
                    part0 += np.float32(signed[r0, base + 2 + j]) * xj
                    part1 += np.float32(signed[r1, base + 2 + j]) * xj
                acc0 += d0 * part0
                acc1 += d1 * part1
            out[m, r0], out[m, r1] = acc0, acc1
    # END SOLUTION


def _q4_1_matmul(x: Float32s, words: npt.NDArray[np.uint32], table: Float32s, out: Float32s) -> None:
    """out (M, N) = x (M, K) @ W^T for W in Q4_1 blocks, read as little-endian words (N, K / 32 * 5).

    Word 0 of a block holds d (low 16 bits) and m (high 16 bits); words 1 to 4 hold its 16 bytes of
    nibbles, byte i of word w being weight 4w + i (low nibble) and 4w + i + 16 (high nibble).
    """
    # BEGIN SOLUTION c05.11: block sums of x once; per block d * (q . x) + m * sum(x), 8 nibbles per word
    m_rows, k_dim = x.shape
    n_blocks = k_dim // 32
    per_block = words.shape[1] // n_blocks  # 5 words; nibble bytes one word at a time: 8 weights per load
    sums = np.zeros((m_rows, n_blocks), dtype=np.float32)
    for m in range(m_rows):
        for b in range(n_blocks):
            total = np.float32(0.0)
            for j in range(32):
                total += x[m, b * 32 + j]
            sums[m, b] = total
    n_dim = words.shape[0]
    half = n_dim - n_dim // 2
    for i in prange(half):  # rows i and i + half in turn (an odd N computes its last row twice)
        for t in range(2):
            r = np.int64(i) if t == 0 else min(np.int64(i) + half, n_dim - 1)  # prange indices are unsigned
            for m in range(m_rows):
                acc = np.float32(0.0)
                for b in range(n_blocks):
                    head = words[r, b * per_block]
                    d, low = table[head & 0xFFFF], table[head >> 16]
                    part = np.float32(0.0)
                    for k in range(per_block - 1):
                        w = words[r, b * per_block + 1 + k]
                        j = b * 32 + 4 * k
                        part += (np.float32(w & 15) * x[m, j] + np.float32((w >> 8) & 15) * x[m, j + 1]
                                 + np.float32((w >> 16) & 15) * x[m, j + 2]
                                 + np.float32((w >> 24) & 15) * x[m, j + 3]
                                 + np.float32((w >> 4) & 15) * x[m, j + 16]
                                 + np.float32((w >> 12) & 15) * x[m, j + 17]
                                 + np.float32((w >> 20) & 15) * x[m, j + 18] + np.float32(w >> 28) * x[m, j + 19])
                    acc += d * part + low * sums[m, b]
                out[m, r] = acc
    # END SOLUTION


def _dequantize_rows(raw: Bytes, signed: npt.NDArray[np.int8], kind: int, table: Float32s,
                           out: Float32s) -> None:
    """out (N, K) float32 from Q8_0 (``kind`` 8) or Q4_1 (``kind`` 3) rows, one pass, in parallel over rows."""
    # BEGIN SOLUTION c05.11: the block formulas of gguf.dequantize, row by row
    n_blocks = out.shape[1] // 32
    size = 34 if kind == 8 else 20
    for n in prange(raw.shape[0]):
        for b in range(n_blocks):
            base = b * size
            d = table[int(raw[n, base]) | (int(raw[n, base + 1]) << 8)]
            if kind == 8:
                for j in range(32):
                    out[n, b * 32 + j] = d * np.float32(signed[n, base + 2 + j])
            else:
                low = table[int(raw[n, base + 2]) | (int(raw[n, base + 3]) << 8)]
                for j in range(16):
                    byte = raw[n, base + 4 + j]
                    out[n, b * 32 + j] = d * np.float32(byte & 15) + low
                    out[n, b * 32 + 16 + j] = d * np.float32(byte >> 4) + low
    # END SOLUTION


# Each kernel compiled twice: serial, and with ``prange`` split over numba's threads. On one thread
# the serial one avoids handing the loop to a worker thread, which on an oversubscribed machine
# costs a scheduler wake-up (measured: 0.3 ms kernels taking 28 ms in the median at a load of 10).
int8_matmul_kernel = njit(fastmath=True, cache=True, nogil=True)(_int8_matmul)
q8_0_matmul_kernel = njit(fastmath=True, cache=True, nogil=True)(_q8_0_matmul)
q4_1_matmul_kernel = njit(fastmath=True, cache=True, nogil=True)(_q4_1_matmul)
dequantize_rows_kernel = njit(cache=True, nogil=True)(_dequantize_rows)
# The parallel builds are not cached: numba's cache is keyed by function, not by compile options.
_PARALLEL: dict[Any, Any] = {
    int8_matmul_kernel: njit(parallel=True, fastmath=True, nogil=True)(_int8_matmul),
    q8_0_matmul_kernel: njit(parallel=True, fastmath=True, nogil=True)(_q8_0_matmul),
    q4_1_matmul_kernel: njit(parallel=True, fastmath=True, nogil=True)(_q4_1_matmul),
    dequantize_rows_kernel: njit(parallel=True, nogil=True)(_dequantize_rows),
}


def _pick(kernel: Any) -> Any:
    """The serial kernel on one torch thread; otherwise the parallel one on as many numba threads."""
    threads = min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
    if threads <= 1:
        return kernel
    if numba.get_num_threads() != threads:
        numba.set_num_threads(threads)
    return _PARALLEL[kernel]


def int8_linear(x: torch.Tensor, q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``x (..., K) @ (q (N, K) int8 * scale (N,)[:, None])^T`` in float32, without a float copy of q for few rows."""
    # BEGIN SOLUTION c05.11: validate; the kernel for few rows, dequantise + F.linear for a prefill
    if q.dtype != torch.int8 or q.dim() != 2 or x.shape[-1] != q.shape[1] or scale.shape != (q.shape[0],):
        raise ValueError(f"need x (..., K), int8 q (N, K) and scale (N,); got {tuple(x.shape)}, "
                         f"{q.dtype} {tuple(q.shape)}, {tuple(scale.shape)}")
    lead = x.shape[:-1]
    flat = x.reshape(-1, q.shape[1]).float().contiguous()  # (M, K)
    if flat.shape[0] > KERNEL_MAX_ROWS:
        return (F.linear(flat, q.float()) * scale).reshape(*lead, q.shape[0])  # scale the (M, N) output, not W
    out = torch.empty(flat.shape[0], q.shape[0], dtype=torch.float32)
    _pick(int8_matmul_kernel)(flat.numpy(), q.contiguous().numpy(), scale.float().contiguous().numpy(), out.numpy())
    return out.reshape(*lead, q.shape[0])
    # END SOLUTION


def block_linear(x: torch.Tensor, raw: Bytes, kind: int) -> torch.Tensor:
    """``x (..., K) @ W^T`` for W (N, K) stored as GGUF blocks ``raw`` (N, K / 32 * block bytes), kind 8 or 3."""
    # BEGIN SOLUTION c05.11: validate; the block kernel for few rows, one dequantising pass + F.linear above
    if kind not in (8, 3):
        raise ValueError(f"block kind must be 8 (Q8_0) or 3 (Q4_1), not {kind}")
    size = Q8_0_BYTES if kind == 8 else Q4_1_BYTES
    if raw.ndim != 2 or raw.dtype != np.uint8 or raw.shape[1] % size or x.shape[-1] != raw.shape[1] // size * BLOCK:
        raise ValueError(f"need x (..., K) and uint8 blocks (N, K / 32 * {size}); got {tuple(x.shape)}, "
                         f"{raw.dtype} {raw.shape}")
    k_dim, lead = x.shape[-1], x.shape[:-1]
    flat = x.reshape(-1, k_dim).float().contiguous()  # (M, K)
    if flat.shape[0] > KERNEL_MAX_ROWS:
        weight = np.empty((raw.shape[0], k_dim), dtype=np.float32)
        _pick(dequantize_rows_kernel)(raw, raw.view(np.int8), kind, F16_TABLE, weight)
        return F.linear(flat, torch.from_numpy(weight)).reshape(*lead, raw.shape[0])
    out = torch.empty(flat.shape[0], raw.shape[0], dtype=torch.float32)
    if kind == 8:
        _pick(q8_0_matmul_kernel)(flat.numpy(), raw, raw.view(np.int8), F16_TABLE, out.numpy())
    else:
        _pick(q4_1_matmul_kernel)(flat.numpy(), raw.view(np.uint32), F16_TABLE, out.numpy())
    return out.reshape(*lead, raw.shape[0])
    # END SOLUTION


def quantize_q8_0(weight: torch.Tensor) -> Bytes:
    """(N, K) float -> Q8_0 blocks (N, K / 32 * 34) uint8, as llama.cpp's reference ``quantize_row_q8_0``."""
    # BEGIN SOLUTION c05.11: per block d = max|w| / 127 (stored as float16), q = round(w / d)
    if weight.dim() != 2 or weight.shape[1] % BLOCK:
        raise ValueError(f"Q8_0 needs a 2-D weight with a multiple of 32 columns, got {tuple(weight.shape)}")
    w = weight.detach().float().numpy().reshape(weight.shape[0], -1, BLOCK)  # (N, K / 32, 32)
    d = np.abs(w).max(axis=2) / 127.0  # (N, K / 32)
    inverse = np.divide(1.0, d, out=np.zeros_like(d), where=d > 0)
    q = np.round(w * inverse[:, :, None]).clip(-127, 127).astype(np.int8)
    blocks = np.empty((w.shape[0], w.shape[1], Q8_0_BYTES), dtype=np.uint8)
    blocks[:, :, :2] = d.astype(np.float16)[:, :, None].view(np.uint8)
    blocks[:, :, 2:] = q.view(np.uint8)
    return blocks.reshape(weight.shape[0], -1)
    # END SOLUTION
