"""Retrieval-augmented answers: the cited prompt, the one RAG pipeline that /rag serves and the
evaluation measures, the evaluation's scores, tables and command line. Imports core, search
and generation.
"""
