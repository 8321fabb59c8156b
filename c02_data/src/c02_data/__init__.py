"""c02_data: Data processing with numpy, scipy and polars: PCA from scratch and via the library.

Planned module: see README.md for what is coming. It holds no graded tasks yet.
"""
