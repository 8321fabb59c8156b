"""XQuAD (English) as the RAG service's collection: every paragraph a document, questions with their gold paragraph.

The service's default collection for ``make serve`` and the collection of the RAG evaluation.
XQuAD has 240 paragraphs of 48 Wikipedia articles and 1190 questions (c05 reads it and splits it
by article, seed 0: 36 training articles, 12 held out). Here

* the **documents** are all 240 paragraphs (id ``xquad-<article>-<paragraph>``, numbered in file
  order; title = the article's title with spaces): the 48 articles compete with each other, so
  retrieving the gold paragraph is a real task;
* the collection's **queries** are the training articles' questions only, with their gold
  paragraph as the one relevant document: what the service's reranker may learn from. The held-out
  articles' questions (:func:`held_out_questions`) are kept for the evaluation, never trained on
  by the reranker or by c05's LoRA fine-tune.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from c06_retrieval_tools.collection import Collection, Document

if TYPE_CHECKING:
    from c05_nlp_transformers.squad import QAExample

NAME = "xquad"


@dataclass(frozen=True)
class RagQuestion:
    """A held-out question, its gold answers (spans of the gold paragraph) and the gold paragraph's id."""

    question: str
    answers: tuple[str, ...]
    gold_id: str
    article: str


def _paragraph_ids(examples: Sequence[QAExample]) -> tuple[list[Document], dict[tuple[str, str], str]]:
    """Every distinct paragraph as a document, and each (article, paragraph) pair's document id."""
    documents: list[Document] = []
    ids: dict[tuple[str, str], str] = {}  # (article, paragraph text) -> document id
    articles: dict[str, int] = {}  # article -> its number, in file order
    paragraphs: dict[str, int] = {}  # article -> paragraphs numbered so far
    for example in examples:
        key = (example.article, example.context)
        if key in ids:
            continue
        article_no = articles.setdefault(example.article, len(articles))
        paragraph_no = paragraphs[example.article] = paragraphs.get(example.article, -1) + 1
        ids[key] = f"xquad-{article_no:02d}-{paragraph_no}"
        documents.append(Document(ids[key], example.article.replace("_", " "), example.context))
    return documents, ids


def load_xquad_collection(home: Path | None = None) -> Collection:
    """The 240 paragraphs as documents; the training articles' questions as judged queries."""
    from c05_nlp_transformers.squad import load_xquad, split_by_article

    # BEGIN SOLUTION c08.15: every paragraph a document; queries q0, q1, ... from c05's training split only
    examples = load_xquad(home)
    documents, ids = _paragraph_ids(examples)
    train, _ = split_by_article(examples)
    queries = {f"q{i}": e.question for i, e in enumerate(train)}
    qrels = {f"q{i}": {ids[(e.article, e.context)]: 1} for i, e in enumerate(train)}
    return Collection(NAME, documents, queries, qrels)
    # END SOLUTION


def held_out_questions(home: Path | None = None) -> list[RagQuestion]:
    """The 301 questions of the 12 held-out articles (c05's split, seed 0), in file order."""
    from c05_nlp_transformers.squad import load_xquad, split_by_article

    examples = load_xquad(home)
    _, ids = _paragraph_ids(examples)
    _, test = split_by_article(examples)
    return [RagQuestion(e.question, e.answers, ids[(e.article, e.context)], e.article) for e in test]


def load_named_collection(name: str) -> Collection:
    """``"xquad"`` (this module), else whatever c06 knows (``"cranfield"`` or a BEIR folder)."""
    if name.lower() == NAME:
        return load_xquad_collection()
    from c06_retrieval_tools import load_collection

    return load_collection(name)
