"""TREC run and qrels files: the plain-text formats every IR evaluation tool reads.

A *run* file has one line per retrieved document::

    query_id  Q0  doc_id  rank  score  tag
    1         Q0  184     1     23.51  bm25

trec_eval (and pytrec_eval, ir-measures) ignore the rank column and rank by
*score*, breaking ties by doc id in *descending* string order. :func:`ranking`
applies that rule, so our metrics see the same order the tools see, and
:func:`write_run` writes scores with full float precision (rounding to 4
decimals would create ties that reorder documents).

A *qrels* file has ``query_id  0  doc_id  gain`` per judged document.
"""

from __future__ import annotations

import math
from pathlib import Path

from c06_retrieval_tools.collection import Qrels, Run


def ranking(scores: dict[str, float], depth: int | None = None) -> list[str]:
    """Doc ids by score, highest first, ties by doc id descending (trec_eval's order).

    Raises:
        ValueError: a score is NaN (it has no place in any order).
    """
    # BEGIN SOLUTION c06.2: refuse NaN; sort by (score, doc id), both descending; cut at depth
    for doc_id, score in scores.items():
        if math.isnan(score):
            raise ValueError(f"document {doc_id!r} has a NaN score")
    ordered = [doc_id for doc_id, _ in sorted(scores.items(), key=lambda item: (item[1], item[0]), reverse=True)]
    return ordered if depth is None else ordered[:depth]
    # END SOLUTION


def write_run(run: Run, path: Path | str, tag: str = "c06", depth: int | None = None) -> Path:
    """Write ``run`` in TREC format, each query's documents in :func:`ranking` order.

    Raises:
        ValueError: a query or doc id is empty or holds whitespace (it would split the
            line), or the tag holds whitespace.
    """
    # BEGIN SOLUTION c06.2: check ids and tag; a 'qid Q0 doc rank score tag' line per doc, full precision
    if not tag or any(c.isspace() for c in tag):
        raise ValueError(f"run tag must be a non-empty word, got {tag!r}")
    lines = []
    for query_id, scores in run.items():
        for name in (query_id, *scores):
            if not name or any(c.isspace() for c in name):
                raise ValueError(f"ids in a TREC run must be non-empty words, got {name!r} (query {query_id!r})")
        for rank, doc_id in enumerate(ranking(scores, depth), start=1):
            lines.append(f"{query_id} Q0 {doc_id} {rank} {float(scores[doc_id])!r} {tag}\n")
    path = Path(path)
    path.write_text("".join(lines), encoding="utf-8")
    return path
    # END SOLUTION


def read_run(path: Path | str) -> Run:
    """Read a TREC run file (the rank column is ignored, as trec_eval does).

    Raises:
        ValueError: a line without six columns, a score that is not a finite number, or
            a document listed twice for one query (the message names file and line).
    """
    # BEGIN SOLUTION c06.2: six columns per line; parse the score; refuse duplicates; keep file order
    run: Run = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        where = f"{path}:{number}"
        if len(parts) != 6:
            raise ValueError(f"{where}: expected 'query Q0 doc rank score tag', got {len(parts)} columns")
        query_id, _, doc_id, _, score_text, _ = parts
        try:
            score = float(score_text)
        except ValueError:
            raise ValueError(f"{where}: score {score_text!r} is not a number") from None
        if not math.isfinite(score):
            raise ValueError(f"{where}: score {score_text!r} is not finite")
        scores = run.setdefault(query_id, {})
        if doc_id in scores:
            raise ValueError(f"{where}: document {doc_id!r} listed twice for query {query_id!r}")
        scores[doc_id] = score
    return run
    # END SOLUTION


def write_qrels(qrels: Qrels, path: Path | str) -> Path:
    """Write judgments as ``query 0 doc gain`` lines."""
    path = Path(path)
    path.write_text(
        "".join(f"{q} 0 {d} {g}\n" for q, judged in qrels.items() for d, g in judged.items()), encoding="utf-8"
    )
    return path


def read_qrels(path: Path | str) -> Qrels:
    """Read a TREC qrels file (``query iteration doc gain``)."""
    qrels: Qrels = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 4 or not parts[3].lstrip("-").isdigit():
            raise ValueError(f"{path}:{number}: expected 'query iteration doc gain'")
        qrels.setdefault(parts[0], {})[parts[2]] = int(parts[3])
    return qrels
