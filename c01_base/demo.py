"""c01's demonstration, turned into the module's companion notebook by ``make notebooks``."""

# %% [markdown]
# ### c01.1: the kernels against numpy
# Every variant must agree with `numpy.matmul` to round-off. The first call of a numba kernel
# compiles it; time the second.

# %%
import time

import numpy as np

from c01_base import matmul_blocked, matmul_naive

rng = np.random.default_rng(0)
a, b = rng.standard_normal((256, 192)), rng.standard_normal((192, 128))
for kernel in (matmul_naive, matmul_blocked):
    kernel(a, b)  # compile
    start = time.perf_counter()
    product = kernel(a, b)
    seconds = time.perf_counter() - start
    error = np.abs(product - a @ b).max() / np.abs(a @ b).max()
    print(f"{kernel.__name__:15} {seconds * 1e3:7.2f} ms   max relative error {error:.1e}")

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
