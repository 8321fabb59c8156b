"""Retrieval-augmented answers: a prompt within a token budget, citations, and an extractive fallback.

The prompt numbers the retrieved passages ``[1]``, ``[2]``, ... in rank order and asks the model
to answer from them and cite them. It must fit the model's context with room for the answer:
passages are added in rank order while the whole prompt (chat template included, counted with
the model's own tokenizer) stays within ``budget`` tokens; one that does not fit is cut at a word
boundary if it is the first, else left out (a lower-ranked passage is worth less than room).

The extractive fallback generates nothing: the answer is the sentence of the top passage that
shares the most words with the question (ties: the earlier sentence). It costs no decode steps,
so a router can take it when retrieval is confident and the question is a lookup.

Small models rarely write ``[k]`` themselves (SmolLM2-135M as shipped cited in 2 of 60 XQuAD answers;
the LoRA-tuned one answers with a bare span). :func:`attribute` cites for them *after* generation: an answer that cites
nothing and appears word for word in a passage gets that passage's marker appended (the response
says so: ``"attributed": true``); an answer found in no passage stays uncited.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

SYSTEM = ("Answer the question using only the numbered passages. Cite the passages you use as [1], [2]. "
          "If the passages do not contain the answer, say so.")
_WORD = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_CITATION = re.compile(r"\[(\d{1,3})\]")


@dataclass(frozen=True)
class Passage:
    doc_id: str
    title: str
    text: str
    score: float


def words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def sentences(text: str) -> list[str]:
    """The text split after ``.``, ``!`` or ``?`` followed by white space; empty pieces dropped."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def extractive_answer(question: str, passage: str) -> str:
    """The sentence of ``passage`` sharing the most words with ``question`` (the first on a tie)."""
    # BEGIN SOLUTION c08.13: split into sentences; count shared lower-cased words; first best
    asked = words(question)
    candidates = sentences(passage)
    if not candidates:
        return ""
    return max(candidates, key=lambda s: (len(asked & words(s)), -candidates.index(s)))
    # END SOLUTION


def citations(answer: str, n_passages: int) -> list[int]:
    """The passage numbers cited as ``[k]`` in ``answer`` (1 <= k <= n), each once, in order of first use."""
    # BEGIN SOLUTION c08.13: every [k] in range, first occurrence order, no repeats
    seen: list[int] = []
    for match in _CITATION.finditer(answer):
        k = int(match.group(1))
        if 1 <= k <= n_passages and k not in seen:
            seen.append(k)
    return seen
    # END SOLUTION


def attribute(answer: str, passages: Sequence[str]) -> tuple[str, bool]:
    """(answer, attributed): an uncited answer found word for word in a passage, with `` [k]`` of the first such.

    Words are compared lower-cased, punctuation ignored; an answer that already cites, is empty, or
    appears in no passage comes back unchanged with ``False``.
    """
    # BEGIN SOLUTION c08.13: keep cited or empty answers; else the first passage holding its word sequence
    said = [w.lower() for w in _WORD.findall(answer)]
    if not said or citations(answer, len(passages)):
        return answer, False
    for k, text in enumerate(passages, start=1):
        held = [w.lower() for w in _WORD.findall(text)]
        if any(held[i : i + len(said)] == said for i in range(len(held) - len(said) + 1)):
            return f"{answer.rstrip()} [{k}]", True
    return answer, False
    # END SOLUTION


def user_message(question: str, passages: Sequence[str]) -> str:
    blocks = "\n\n".join(f"[{i}] {text}" for i, text in enumerate(passages, start=1))
    return f"Passages:\n{blocks}\n\nQuestion: {question}"


def build_prompt(question: str, passages: Sequence[Passage], budget: int,
                 count: Callable[[list[dict[str, str]]], int]) -> tuple[list[dict[str, str]], list[Passage]]:
    """Chat messages citing as many passages (in rank order) as fit ``budget`` prompt tokens, and those passages.

    ``count(messages)`` is the prompt's length in tokens (chat template included). ValueError when
    not even the question fits.
    """
    # BEGIN SOLUTION c08.13: add passages while the prompt fits; cut the first at a word boundary if needed
    def messages(texts: Sequence[str]) -> list[dict[str, str]]:
        return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user_message(question, texts)}]

    if count(messages([])) > budget:
        raise ValueError(f"the question alone is over the prompt budget of {budget} tokens")
    kept: list[Passage] = []
    for passage in passages:
        if count(messages([p.text for p in kept] + [passage.text])) <= budget:
            kept.append(passage)
        elif not kept:  # the best passage alone is too long: keep as many of its words as fit
            cut = passage.text.split()
            low, high = 0, len(cut)
            while low < high:  # the longest prefix that fits (binary search over word counts)
                mid = (low + high + 1) // 2
                if count(messages([" ".join(cut[:mid])])) <= budget:
                    low = mid
                else:
                    high = mid - 1
            if low:
                kept.append(Passage(passage.doc_id, passage.title, " ".join(cut[:low]), passage.score))
            break
        else:
            break
    return messages([p.text for p in kept]), kept
    # END SOLUTION
