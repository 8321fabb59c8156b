"""c06's demonstration, turned into the module's companion notebook by ``make notebooks``."""

# %% [markdown]
# ### c06.1 to c06.3: Cranfield indexed by tantivy, evaluated with your metrics
# 1400 abstracts, 225 queries with graded judgments; an in-memory BM25 index.

# %%
from c06_retrieval_tools import TantivyBM25, evaluate_run, load_cranfield

cranfield = load_cranfield()
bm25 = TantivyBM25.create()
bm25.add(cranfield.documents)
run = bm25.search_many(cranfield.queries, top_k=100)
print(f"{bm25.num_docs} documents, {len(cranfield.queries)} queries")
for measure, value in evaluate_run(run, cranfield.qrels).items():
    print(f"BM25 {measure:10} {value:.4f}")

# %% [markdown]
# ### One query, its best hits and snippets

# %%
query = cranfield.queries["1"]
hits = bm25.search(query, top_k=3)  # [(doc id, score)], best first
print("query:", query)
for (doc_id, score), snippet in zip(hits, bm25.snippets(query, [doc_id for doc_id, _ in hits]), strict=True):
    print(f"- document {doc_id} (BM25 {score:.2f}): ...{snippet.fragment}...")
