"""c04_dl_fundamentals.

Deep-learning fundamentals in torch: autograd, optimizers, MLP and CNN, the training loop, profiling.

Planned module: see README.md for what is coming. It holds no graded tasks yet.
"""
