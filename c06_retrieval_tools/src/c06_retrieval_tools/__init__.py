"""c06_retrieval_tools.

Retrieval: tantivy BM25, Qdrant vectors, hybrid fusion and reranking, evaluated on Cranfield.

Planned module: see README.md for what is coming. It holds no graded tasks yet.
"""
