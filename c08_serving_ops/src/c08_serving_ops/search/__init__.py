"""Search: the MiniLM embedder and its micro-batcher, the document store (tantivy BM25 + Qdrant
vectors), the hybrid search engine, the cache, the learned reranker, the collections (XQuAD)
and the loaded search components. Imports only the core.
"""
