"""c08_serving_ops.

Serving and operations: rate limits, batching, health, metrics, tracing, and the RAG service.

Planned module: see README.md for what is coming. It holds no graded tasks yet.
"""
