"""Loaders: Cranfield from its raw files, and any collection in the BEIR layout.

**Cranfield** (``<data home>/cranfield/``) comes in three files in the SMART
format of the 1960s-90s, with quirks that each loader of it must handle:

* ``cran.all.1400``: records ``.I <id>`` followed by fields ``.T`` (title),
  ``.A`` (authors), ``.B`` (bibliography) and ``.W`` (the abstract, which
  repeats the title). A few records are damaged: documents 471 and 995 are
  empty, and stray ``.A``/``.B``/``.W`` lines sit inside the abstracts of
  documents 240, 576 and 578. Once ``.W`` has begun, only ``.I`` ends it: a stray
  marker line is dropped and the lines after it stay in the abstract.
* ``cran.qry``: records ``.I <number>`` and ``.W``. The numbers run 001..365
  *with gaps*, but ``cranqrel`` numbers the queries 1..225 by their *position*
  in this file. So a query's id here is its position, and ``.I 365`` is query 225.
* ``cranqrel``: lines ``query doc code``. Cleverdon's codes are 1 (a complete
  answer) to 4 (minimum interest); -1 marks a judged, non-relevant document.
  Gains must grow with relevance, so the gain is ``5 - code`` and -1 becomes 0.

**BEIR** (Thakur et al., 2021) is the layout most IR data sets are shared in
today: ``corpus.jsonl`` (``{"_id", "title", "text"}`` per line),
``queries.jsonl`` (``{"_id", "text"}``) and ``qrels/<split>.tsv`` (a header, then
``query-id  corpus-id  score``). Only the queries judged in the split are kept.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from c06_retrieval_tools.collection import Collection, Document, Qrels
from c06_retrieval_tools.datahome import CRANFIELD_FILES, DataFileError, Fetcher, fetch_file, urllib_fetch

KNOWN_COLLECTIONS = ("cranfield",)
CRANFIELD_GAINS = {1: 4, 2: 3, 3: 2, 4: 1, -1: 0}  # Cleverdon's code -> gain (higher = more relevant)
_RECORD = re.compile(r"^\.I\s+(\S+)\s*$")
_FIELD = re.compile(r"^\.([TABW])\s*$")


def _squash(lines: list[str]) -> str:
    """Lines of a field as one string with single spaces."""
    return " ".join(" ".join(lines).split())


def parse_smart(text: str) -> list[tuple[str, dict[str, str]]]:
    """Parse SMART-format records into ``(record id, {field letter: text})`` in file order.

    Fields come in the order T, A, B, W; a field marker that repeats or comes out of
    order after ``.W`` has begun is damage in the file, not a new field: it is dropped
    and the abstract continues.
    """
    # BEGIN SOLUTION c06.1: one record per .I line; a field per marker; once in .W only .I ends it
    records: list[tuple[str, dict[str, list[str]]]] = []
    field: str | None = None
    for line in text.splitlines():
        if match := _RECORD.match(line):
            records.append((match.group(1), {}))
            field = None
            continue
        if not records:
            if line.strip():
                raise ValueError(f"text before the first .I record: {line[:60]!r}")
            continue
        fields = records[-1][1]
        marker = _FIELD.match(line)
        if marker and field != "W" and marker.group(1) not in fields:
            field = marker.group(1)
            fields[field] = []
        elif marker:
            continue  # a stray marker inside the abstract
        elif field is not None:
            fields[field].append(line)
    return [(rid, {name: _squash(lines) for name, lines in fields.items()}) for rid, fields in records]
    # END SOLUTION


def parse_cranfield_qrels(text: str, n_queries: int, doc_ids: set[str]) -> Qrels:
    """``cranqrel`` as gains; query numbers are 1-based positions in ``cran.qry``.

    Raises:
        ValueError: a malformed line, a query number outside 1..n_queries, an unknown
            document or an unknown relevance code (the message names the line).
    """
    # BEGIN SOLUTION c06.1: split each line, check query position, doc id and code, map code -> gain
    qrels: Qrels = {}
    for number, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        where = f"cranqrel line {number} ({line.strip()!r})"
        if len(parts) != 3:
            raise ValueError(f"{where}: expected 'query doc code'")
        query, doc, code = parts
        if not query.isdigit() or not 1 <= int(query) <= n_queries:
            raise ValueError(f"{where}: query number must be a position 1..{n_queries} in cran.qry")
        if doc not in doc_ids:
            raise ValueError(f"{where}: unknown document {doc!r}")
        try:
            gain = CRANFIELD_GAINS[int(code)]
        except (ValueError, KeyError):
            raise ValueError(f"{where}: unknown relevance code {code!r}") from None
        qrels.setdefault(str(int(query)), {})[doc] = gain
    return qrels
    # END SOLUTION


def load_cranfield(home: Path | None = None, fetch: Fetcher = urllib_fetch) -> Collection:
    """Cranfield 1400 from the data home, verified by sha256 (downloaded if missing).

    Documents keep their ``.I`` ids ("1".."1400"); queries get ids "1".."225" by
    position (see the module docstring); qrels hold gains 0..4.
    """
    # BEGIN SOLUTION c06.1: fetch and verify the three files, parse them, number queries by position
    paths = {name: fetch_file(spec, home, fetch) for name, spec in CRANFIELD_FILES.items()}
    documents = [
        Document(doc_id, fields.get("T", ""), fields.get("W", ""))
        for doc_id, fields in parse_smart(paths["cran.all.1400"].read_text(encoding="utf-8"))
    ]
    raw_queries = parse_smart(paths["cran.qry"].read_text(encoding="utf-8"))
    queries = {str(position): fields.get("W", "") for position, (_, fields) in enumerate(raw_queries, start=1)}
    doc_ids = {doc.doc_id for doc in documents}
    qrels = parse_cranfield_qrels(paths["cranqrel"].read_text(encoding="utf-8"), len(queries), doc_ids)
    return Collection("cranfield", documents, queries, qrels)
    # END SOLUTION


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise DataFileError(f"BEIR file {path.name} not found: looked for {path}")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}:{number}: not valid JSON ({err.msg})") from None
        if not isinstance(row, dict) or "_id" not in row:
            raise ValueError(f"{path}:{number}: each line must be a JSON object with an '_id'")
        rows.append(row)
    return rows


def load_beir(folder: Path | str, split: str = "test") -> Collection:
    """A collection in the BEIR layout; keeps the queries judged in ``split``, in file order.

    Raises:
        DataFileError: a file of the layout is missing (the message names it and the folder).
        ValueError: a malformed line, or a judgment for an unknown document or query.
    """
    # BEGIN SOLUTION c06.1: read corpus and queries (jsonl), the split's qrels (tsv with header), check ids
    folder = Path(folder)
    qrels_path = folder / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        found = sorted(p.stem for p in (folder / "qrels").glob("*.tsv"))
        raise DataFileError(
            f"BEIR qrels for split {split!r} not found: looked for {qrels_path} (splits there: {found})"
        )
    documents = [
        Document(str(row["_id"]), str(row.get("title") or ""), str(row.get("text") or ""))
        for row in _read_jsonl(folder / "corpus.jsonl")
    ]
    all_queries = {str(row["_id"]): str(row.get("text") or "") for row in _read_jsonl(folder / "queries.jsonl")}
    doc_ids = {doc.doc_id for doc in documents}
    qrels: Qrels = {}
    for number, line in enumerate(qrels_path.read_text(encoding="utf-8").splitlines(), start=1):
        parts = line.split("\t")
        if number == 1 and not parts[-1].strip().lstrip("-").isdigit():
            continue  # the header
        if not line.strip():
            continue
        if len(parts) != 3 or not parts[2].strip().lstrip("-").isdigit():
            raise ValueError(f"{qrels_path}:{number}: expected 'query-id<TAB>corpus-id<TAB>score'")
        query, doc, score = (p.strip() for p in parts)
        if query not in all_queries or doc not in doc_ids:
            what = f"query {query!r}" if query not in all_queries else f"document {doc!r}"
            raise ValueError(f"{qrels_path}:{number}: judgment for unknown {what}")
        qrels.setdefault(query, {})[doc] = int(score)
    queries = {qid: text for qid, text in all_queries.items() if qid in qrels}
    return Collection(folder.resolve().name, documents, queries, qrels)
    # END SOLUTION


def write_beir(collection: Collection, folder: Path | str, split: str = "test") -> Path:
    """Write ``collection`` in the BEIR layout (the inverse of :func:`load_beir`)."""
    folder = Path(folder)
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    with (folder / "corpus.jsonl").open("w", encoding="utf-8") as out:
        for doc in collection.documents:
            out.write(json.dumps({"_id": doc.doc_id, "title": doc.title, "text": doc.body}) + "\n")
    with (folder / "queries.jsonl").open("w", encoding="utf-8") as out:
        for qid, text in collection.queries.items():
            out.write(json.dumps({"_id": qid, "text": text}) + "\n")
    with (folder / "qrels" / f"{split}.tsv").open("w", encoding="utf-8") as out:
        out.write("query-id\tcorpus-id\tscore\n")
        for qid, judged in collection.qrels.items():
            out.writelines(f"{qid}\t{doc}\t{gain}\n" for doc, gain in judged.items())
    return folder


def load_collection(name_or_path: str | Path, split: str = "test", home: Path | None = None) -> Collection:
    """``"cranfield"``, or the path of a folder in the BEIR layout.

    Raises:
        ValueError: neither a known name nor an existing folder (the message lists both options).
    """
    # BEGIN SOLUTION c06.1: dispatch on a known name or an existing folder; else a clear ValueError
    if str(name_or_path).lower() == "cranfield":
        return load_cranfield(home)
    path = Path(name_or_path)
    if path.is_dir():
        return load_beir(path, split)
    raise ValueError(
        f"unknown collection {str(name_or_path)!r}: use one of {', '.join(KNOWN_COLLECTIONS)} or the path "
        "of a folder in the BEIR layout (corpus.jsonl, queries.jsonl, qrels/<split>.tsv)"
    )
    # END SOLUTION
