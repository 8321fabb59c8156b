"""c06.1 (hidden): more damaged input for the SMART parser, the qrels parser and BEIR folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from c06_retrieval_tools import (
    CRANFIELD_FILES,
    Collection,
    DataFile,
    DataFileError,
    Document,
    fetch_file,
    load_beir,
    load_collection,
    parse_cranfield_qrels,
    parse_smart,
    verify,
    write_beir,
)

pytestmark = pytest.mark.task("c06.1")


def test_smart_parser_edge_cases():
    text = ".I 1\n.T\ntitle  one\n.W\nbody\n.T\n.W\nmore body\n.I 2\n.W\n\n.I 3\n"
    records = parse_smart(text)
    assert records == [("1", {"T": "title one", "W": "body more body"}), ("2", {"W": ""}), ("3", {})]
    assert parse_smart("\n\n.I 7\n.W\nx\n") == [("7", {"W": "x"})]
    with pytest.raises(ValueError, match=r"text before the first \.I record"):
        parse_smart("garbage\n.I 1\n")


def test_qrels_blank_lines_and_repeated_judgments():
    qrels = parse_cranfield_qrels("\n1 5 4\n\n1 5 1\n2 6 -1\n", 2, {"5", "6"})
    assert qrels == {"1": {"5": 4}, "2": {"6": 0}}  # a repeated judgment: the later line wins
    with pytest.raises(ValueError, match="query number must be a position"):
        parse_cranfield_qrels("0 5 1\n", 2, {"5"})
    with pytest.raises(ValueError, match="query number must be a position"):
        parse_cranfield_qrels("a 5 1\n", 2, {"5"})


def test_verify_names_both_digests(tmp_path: Path):
    path = tmp_path / "f"
    path.write_text("x")
    with pytest.raises(DataFileError, match=r"expected sha256 0{64}, got 2d711642"):
        verify(path, DataFile("set/f", "0" * 64))


def test_an_unwritable_home_is_a_clear_error(tmp_path: Path):
    home = tmp_path / "home"
    home.write_text("a file, not a folder")
    with pytest.raises(DataFileError, match=r"cranfield/cran\.qry not found at .* is not writable"):
        fetch_file(CRANFIELD_FILES["cran.qry"], home)


def test_beir_with_splits_numbers_and_empty_titles(tmp_path: Path):
    docs = [Document("10", "", "first"), Document("11", "T", "second")]
    folder = write_beir(Collection("c", docs, {"a": "q a", "b": "q b", "c": "q c"}, {"a": {"10": 1}}), tmp_path / "b",
                        split="dev")
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nb\t11\t2\n\nc\t10\t0\n")
    dev, test = load_beir(folder, "dev"), load_beir(folder, "test")
    assert list(dev.queries) == ["a"] and dev.qrels == {"a": {"10": 1}}
    assert list(test.queries) == ["b", "c"] and test.qrels == {"b": {"11": 2}, "c": {"10": 0}}
    assert test.judged_queries() == ["b"]
    assert load_collection(str(folder), split="dev").name == "b"
    (folder / "qrels" / "bad.tsv").write_text("a\t10\n")
    with pytest.raises(ValueError, match=r"bad\.tsv:1: expected 'query-id<TAB>corpus-id<TAB>score'"):
        load_beir(folder, "bad")
    (folder / "qrels" / "unknown.tsv").write_text("zz\t10\t1\n")
    with pytest.raises(ValueError, match="judgment for unknown query 'zz'"):
        load_beir(folder, "unknown")


def test_beir_rows_need_an_id(tmp_path: Path):
    folder = write_beir(Collection("c", [Document("1", "", "x")], {"q": "x"}, {"q": {"1": 1}}), tmp_path / "b")
    (folder / "corpus.jsonl").write_text(json.dumps({"title": "no id"}) + "\n")
    with pytest.raises(ValueError, match=r"corpus\.jsonl:1: each line must be a JSON object with an '_id'"):
        load_beir(folder)
    (folder / "corpus.jsonl").unlink()
    with pytest.raises(DataFileError, match=r"corpus\.jsonl not found"):
        load_beir(folder)
