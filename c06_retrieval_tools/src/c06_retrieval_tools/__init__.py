"""c06: retrieval with tantivy BM25 and Qdrant vectors, fused, reranked and evaluated on Cranfield.

One concept per file, in the order of the tasks:

* c06.1 :mod:`~c06_retrieval_tools.datahome` (where data lives, sha256), :mod:`~c06_retrieval_tools.collection`
  (the in-memory type), :mod:`~c06_retrieval_tools.loaders` (Cranfield, BEIR);
* c06.2 :mod:`~c06_retrieval_tools.metrics` (nDCG, MAP, recall, MRR, P), :mod:`~c06_retrieval_tools.trec`
  (run files);
* c06.3 :mod:`~c06_retrieval_tools.bm25_tantivy` (the engine), :mod:`~c06_retrieval_tools.bm25_scratch`
  (the formula over a sparse matrix);
* c06.4 :mod:`~c06_retrieval_tools.bert` (the forward pass), :mod:`~c06_retrieval_tools.encoder` (MiniLM),
  :mod:`~c06_retrieval_tools.embedding_cache`, :mod:`~c06_retrieval_tools.vector_store` (Qdrant, numpy);
* c06.5 :mod:`~c06_retrieval_tools.fusion` (RRF, convex), :mod:`~c06_retrieval_tools.pipeline` (all modes);
* c06.6 :mod:`~c06_retrieval_tools.features`, :mod:`~c06_retrieval_tools.rerank` (learned ranker, k-fold);
* c06.7 :mod:`~c06_retrieval_tools.evaluate` (``python -m c06_retrieval_tools.evaluate``),
  :mod:`~c06_retrieval_tools.ablation` (K / K′), :mod:`~c06_retrieval_tools.bench` (``make bench``).

The two command-line modules are not imported here, so ``python -m`` runs them cleanly.
"""

from c06_retrieval_tools.ablation import AblationRow, AblationTable, plot_ablation, run_ablation, write_ablation
from c06_retrieval_tools.bert import BertConfig, BertEncoder
from c06_retrieval_tools.bm25_scratch import FIELDNORM_TABLE, ScratchBM25, quantize_length
from c06_retrieval_tools.bm25_tantivy import MAX_QUERY_TERMS, BadIndexError, Snippet, TantivyBM25, make_analyzer
from c06_retrieval_tools.collection import Collection, Document, Hit, Qrels, Run
from c06_retrieval_tools.datahome import (
    CRANFIELD_FILES,
    DataFile,
    DataFileError,
    cache_home,
    data_home,
    fetch_file,
    sha256_of,
    verify,
)
from c06_retrieval_tools.embedding_cache import EmbeddingCache, text_key
from c06_retrieval_tools.encoder import (
    MAX_SEQ_LENGTH,
    MiniLMEncoder,
    check_texts,
    length_buckets,
    load_tokenizer,
    mean_pool,
    model_folder,
)
from c06_retrieval_tools.features import FEATURE_NAMES, FeatureExtractor, rank_feature, term_features
from c06_retrieval_tools.fusion import (
    CANDIDATE_FACTOR,
    RRF_CONSTANT,
    convex_combination,
    normalise,
    reciprocal_rank_fusion,
    top_k,
)
from c06_retrieval_tools.loaders import (
    CRANFIELD_GAINS,
    load_beir,
    load_collection,
    load_cranfield,
    parse_cranfield_qrels,
    parse_smart,
    write_beir,
)
from c06_retrieval_tools.metrics import (
    Measure,
    average_precision_at_k,
    evaluate_run,
    ndcg_at_k,
    per_query,
    precision_at_k,
    recall_at_k,
    reciprocal_rank_at_k,
)
from c06_retrieval_tools.pipeline import FUSIONS, MODES, Candidates, RetrievalSystem
from c06_retrieval_tools.rerank import (
    DEFAULT_RERANK_DEPTH,
    TRAIN_DEPTH,
    LinearRanker,
    QueryExamples,
    cross_validated_rerank,
    kfold,
    rerank,
)
from c06_retrieval_tools.trec import ranking, read_qrels, read_run, write_qrels, write_run
from c06_retrieval_tools.vector_store import NumpyStore, QdrantStore, close_clients, qdrant_client_for

__all__ = [
    "CANDIDATE_FACTOR",
    "CRANFIELD_FILES",
    "CRANFIELD_GAINS",
    "DEFAULT_RERANK_DEPTH",
    "FEATURE_NAMES",
    "FIELDNORM_TABLE",
    "FUSIONS",
    "MAX_QUERY_TERMS",
    "MAX_SEQ_LENGTH",
    "MODES",
    "RRF_CONSTANT",
    "TRAIN_DEPTH",
    "AblationRow",
    "AblationTable",
    "BadIndexError",
    "BertConfig",
    "BertEncoder",
    "Candidates",
    "Collection",
    "DataFile",
    "DataFileError",
    "Document",
    "EmbeddingCache",
    "FeatureExtractor",
    "Hit",
    "LinearRanker",
    "Measure",
    "MiniLMEncoder",
    "NumpyStore",
    "QdrantStore",
    "Qrels",
    "QueryExamples",
    "RetrievalSystem",
    "Run",
    "ScratchBM25",
    "Snippet",
    "TantivyBM25",
    "average_precision_at_k",
    "cache_home",
    "check_texts",
    "close_clients",
    "convex_combination",
    "cross_validated_rerank",
    "data_home",
    "evaluate_run",
    "fetch_file",
    "kfold",
    "length_buckets",
    "load_beir",
    "load_collection",
    "load_cranfield",
    "load_tokenizer",
    "make_analyzer",
    "mean_pool",
    "model_folder",
    "ndcg_at_k",
    "normalise",
    "parse_cranfield_qrels",
    "parse_smart",
    "per_query",
    "plot_ablation",
    "precision_at_k",
    "qdrant_client_for",
    "quantize_length",
    "rank_feature",
    "ranking",
    "read_qrels",
    "read_run",
    "recall_at_k",
    "reciprocal_rank_at_k",
    "reciprocal_rank_fusion",
    "rerank",
    "run_ablation",
    "sha256_of",
    "term_features",
    "text_key",
    "top_k",
    "verify",
    "write_ablation",
    "write_beir",
    "write_qrels",
    "write_run",
]
