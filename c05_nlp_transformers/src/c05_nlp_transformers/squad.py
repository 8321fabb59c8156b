"""XQuAD (English) for extractive question answering: loading, a split by article, prompts, EM and F1.

XQuAD holds 240 paragraphs of 48 Wikipedia articles with 1190 questions whose answers are spans of
the paragraph (SQuAD v1.1 format). Train and test are split **by article** (seeded shuffle of the
titles), never by question, so no paragraph is seen on both sides.

Scoring follows the official SQuAD v1.1 script: both strings are *normalised* (lower case,
punctuation removed, the articles a / an / the removed, whitespace collapsed); **exact match** is
1 when they are equal; **F1** is the harmonic mean of precision and recall of the bag of
normalised tokens. A question's score is the maximum over its gold answers.
"""

from __future__ import annotations

import collections
import json
import random
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from c05_nlp_transformers.data import DataFile, fetch

XQUAD_EN = DataFile(
    folder="xquad_en",
    name="xquad.en.json",
    sha256="e4c57d1c9143aaa1c5d265ba5987a65f4e69528d2a98f29d6e75019b10344f29",
    url="https://raw.githubusercontent.com/google-deepmind/xquad/7d30520c717524000f0d9d2f9c10a069acd9d285/xquad.en.json",
)
INSTRUCTION = "Answer the question with the shortest span copied from the context."


@dataclass(frozen=True)
class QAExample:
    article: str
    context: str
    question: str
    answers: tuple[str, ...]


def load_xquad(home: Path | None = None, *, url: str | None = "default") -> list[QAExample]:
    """Every question of XQuAD English, in file order."""
    data = json.loads(fetch(XQUAD_EN, home, url=url).read_text(encoding="utf-8"))
    return [
        QAExample(article["title"], paragraph["context"], qa["question"], tuple(a["text"] for a in qa["answers"]))
        for article in data["data"]
        for paragraph in article["paragraphs"]
        for qa in paragraph["qas"]
    ]


def split_by_article(
    examples: Sequence[QAExample], test_articles: int = 12, seed: int = 0
) -> tuple[list[QAExample], list[QAExample]]:
    """(train, test): the titles shuffled with ``random.Random(seed)``, the first ``test_articles`` held out."""
    # BEGIN SOLUTION c05.10: shuffle the distinct titles, hold out whole articles
    titles = sorted({e.article for e in examples})
    if not 0 < test_articles < len(titles):
        raise ValueError(f"test_articles must be in 1..{len(titles) - 1}, got {test_articles}")
    random.Random(seed).shuffle(titles)
    held_out = set(titles[:test_articles])
    return [e for e in examples if e.article not in held_out], [e for e in examples if e.article in held_out]
    # END SOLUTION


def answer_sentence(example: QAExample) -> str:
    """The sentence of the context that holds the first answer (a short context for quick runs)."""
    answer = example.answers[0]
    for sentence in re.split(r"(?<=[.!?])\s+", example.context):
        if answer in sentence:
            return sentence
    return example.context


def messages_for(example: QAExample, *, short_context: bool = False) -> list[dict[str, str]]:
    """The chat messages that ask the question about the context."""
    context = answer_sentence(example) if short_context else example.context
    return [
        {"role": "system", "content": INSTRUCTION},
        {"role": "user", "content": f"Context: {context}\nQuestion: {example.question}"},
    ]


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    # BEGIN SOLUTION c05.10: lower, strip punctuation, drop a/an/the, collapse whitespace
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())
    # END SOLUTION


def exact_match(prediction: str, answers: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals a normalised gold answer."""
    return float(any(normalize_answer(prediction) == normalize_answer(a) for a in answers))


def f1_score(prediction: str, answers: Sequence[str]) -> float:
    """Token F1 against the best-matching gold answer (SQuAD v1.1)."""
    # BEGIN SOLUTION c05.10: common token counts, precision, recall, harmonic mean; the max over answers
    if not answers:
        raise ValueError("a question needs at least one gold answer")
    best = 0.0
    predicted = normalize_answer(prediction).split()
    for answer in answers:
        gold = normalize_answer(answer).split()
        common = sum((collections.Counter(predicted) & collections.Counter(gold)).values())
        if common == 0:
            continue
        precision, recall = common / len(predicted), common / len(gold)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best
    # END SOLUTION
