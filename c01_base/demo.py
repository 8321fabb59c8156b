"""c01's demonstration, turned into the module's companion notebook by ``make notebooks``."""

# %% [markdown]
# ### c01.1: the kernels against numpy
# Every variant must agree with `numpy.matmul` to round-off. The first call of a numba kernel
# compiles it; time the second.

# %%
import time
from collections.abc import Callable

import numpy as np

from c01_base import matmul_blocked, matmul_naive

rng = np.random.default_rng(0)


def timed(run: Callable[[], object]) -> float:
    """Seconds one call of ``run`` takes."""
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


a, b = rng.standard_normal((256, 192)), rng.standard_normal((192, 128))
for kernel in (matmul_naive, matmul_blocked):
    kernel(a, b)  # compile
    seconds = timed(lambda: kernel(a, b))  # noqa: B023 (called at once)
    product = kernel(a, b)
    error = np.abs(product - a @ b).max() / np.abs(a @ b).max()
    print(f"{kernel.__name__:15} {seconds * 1e3:7.2f} ms   max relative error {error:.1e}")

# %% [markdown]
# ### c01.7 and c01.8: GEMM the BLAS way
# Packed panels and a register-blocked micro-kernel, against numpy's BLAS at n = 512 (the first
# call compiles, which takes a while).

# %%
from c01_base import matmul_packed

n = 512
x, y = rng.standard_normal((n, n)), rng.standard_normal((n, n))
matmul_packed(x, y)
for name, run in [("packed micro-kernel", lambda: matmul_packed(x, y)), ("numpy (BLAS)", lambda: x @ y)]:
    best = min(timed(run) for _ in range(3))
    print(f"{name:20} {2 * n**3 / best / 1e9:6.1f} GFLOP/s")

# %% [markdown]
# ### c01.2 to c01.4: threads, processes and `prange` over row blocks
# One preallocated output, each worker writing its own rows.

# %%
from c01_base import matmul_prange, matmul_processes, matmul_threaded

for name, run in [("threads", lambda: matmul_threaded(a, b, n_workers=2)),
                  ("processes", lambda: matmul_processes(a, b, n_workers=2)),
                  ("prange", lambda: matmul_prange(a, b))]:
    print(f"{name:10} equal to numpy: {np.allclose(run(), a @ b)}")

# %% [markdown]
# ### c01.6: a buffer pool
# Reusing buffers of the same shape and dtype instead of allocating new ones.

# %%
from c01_base import BufferPool

pool = BufferPool()
for _ in range(10):
    with pool.borrow((128, 128), np.float64) as scratch:
        scratch[:] = 1.0
print(f"hit rate after 10 borrows of one shape: {pool.hit_rate:.2f}")
