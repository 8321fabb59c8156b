"""c06.1: the data home, sha256 verification, the Cranfield loader (with its quirks) and BEIR folders.

Cranfield is read from the data home; downloads are tested with file:// URLs and fake fetchers,
never with the network. BEIR-layout folders are generated here from a slice of Cranfield.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from c06_retrieval_tools import (
    CRANFIELD_FILES,
    CRANFIELD_GAINS,
    Collection,
    DataFile,
    DataFileError,
    Document,
    cache_home,
    data_home,
    fetch_file,
    load_beir,
    load_collection,
    load_cranfield,
    parse_cranfield_qrels,
    parse_smart,
    sha256_of,
    write_beir,
)

pytestmark = pytest.mark.task("c06.1")

N_DOCS, N_QUERIES, N_JUDGMENTS = 1400, 225, 1837  # Cranfield 1400, as published


def shared_file(name: str) -> Path:
    return data_home() / "cranfield" / name


def crlf_copy(name: str, folder: Path) -> Path:
    """The file as the public source serves it: CRLF line endings."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    target.write_bytes(shared_file(name).read_bytes().replace(b"\n", b"\r\n"))
    return target


def test_cranfield_sizes_and_gains(cranfield: Collection):
    assert len(cranfield) == N_DOCS and len(cranfield.queries) == N_QUERIES
    assert sum(len(j) for j in cranfield.qrels.values()) == N_JUDGMENTS
    assert cranfield.doc_ids[:3] == ["1", "2", "3"] and cranfield.doc_ids[-1] == "1400"
    # cranqrel holds 225 x code -1, 128 x 1, 387 x 2, 734 x 3, 363 x 4; gain = 5 - code, -1 -> 0.
    gains = Counter(g for judged in cranfield.qrels.values() for g in judged.values())
    assert gains == {0: 225, 4: 128, 3: 387, 2: 734, 1: 363}
    assert CRANFIELD_GAINS == {1: 4, 2: 3, 3: 2, 4: 1, -1: 0}
    assert cranfield.qrels["1"]["184"] == 3  # "1 184 2": a highly relevant document
    assert cranfield.qrels["1"]["486"] == 0  # "1 486 -1": judged, not relevant
    assert len(cranfield.judged_queries()) == N_QUERIES


def test_query_ids_are_positions_not_dot_i_numbers(cranfield: Collection):
    raw = parse_smart(shared_file("cran.qry").read_text(encoding="utf-8"))
    numbers = [number for number, _ in raw]
    assert numbers[:4] == ["001", "002", "004", "008"] and numbers[-1] == "365"  # gaps in the .I ids
    assert list(cranfield.queries) == [str(i) for i in range(1, N_QUERIES + 1)]
    assert cranfield.queries["1"].startswith("what similarity laws must be obeyed")
    assert cranfield.queries["3"].startswith("what problems of heat conduction in composite slabs")  # .I 004
    assert cranfield.queries["225"] == raw[-1][1]["W"]  # .I 365 is query 225 in cranqrel
    assert set(cranfield.qrels) == set(cranfield.queries)
    assert "\n" not in cranfield.queries["4"] and "  " not in cranfield.queries["4"]


def test_damaged_records_are_repaired(cranfield: Collection):
    assert cranfield.document("471").text == "" and cranfield.document("995").text == ""
    doc = cranfield.document("240")
    assert "application to turbulent separations" in doc.body  # after a stray ".A" line
    assert "unity in low-speed flow" in doc.body  # after a stray ".B" line
    assert doc.title.startswith("a theoretical analysis of heat transfer")
    assert "limit characteristics" in cranfield.document("576").body  # after a second ".W"
    assert not any(line in doc.body.split() for doc in cranfield.documents for line in (".A", ".B", ".W", ".T"))
    first = cranfield.documents[0]
    assert first.title == "experimental investigation of the aerodynamics of a wing in a slipstream ."
    assert first.text == first.title + "\n" + first.body


def test_verification_catches_a_modified_file(tmp_path: Path):
    home = tmp_path / "home"
    (home / "cranfield").mkdir(parents=True)
    shutil.copy(shared_file("cran.qry"), home / "cranfield" / "cran.qry")
    assert fetch_file(CRANFIELD_FILES["cran.qry"], home) == home / "cranfield" / "cran.qry"
    with (home / "cranfield" / "cran.qry").open("a") as handle:
        handle.write(" ")
    with pytest.raises(DataFileError, match=r"cran\.qry does not match its checksum: expected sha256 dd9b14"):
        fetch_file(CRANFIELD_FILES["cran.qry"], home)


def test_missing_file_without_a_source_names_file_and_place(tmp_path: Path):
    spec = DataFile("cranfield/cranqrel.readme", "0" * 64)
    message = rf"cranfield/cranqrel\.readme not found: looked for {tmp_path}/cranfield/cranqrel\.readme"
    with pytest.raises(DataFileError, match=message):
        fetch_file(spec, tmp_path)


def test_download_from_a_file_url_normalises_and_verifies(tmp_path: Path):
    source = crlf_copy("cran.qry", tmp_path / "mirror")
    spec = DataFile("cranfield/cran.qry", CRANFIELD_FILES["cran.qry"].sha256, source.as_uri(), crlf_to_lf=True)
    home = tmp_path / "home"
    path = fetch_file(spec, home)
    assert path == home / "cranfield" / "cran.qry"
    assert sha256_of(path) == spec.sha256
    assert sorted(p.name for p in path.parent.iterdir()) == ["cran.qry"]  # no temporary file left


def test_a_corrupt_download_is_refused_and_not_kept(tmp_path: Path):
    def fake_fetch(url: str, destination: Path) -> None:
        destination.write_text("not cranfield\n")

    with pytest.raises(DataFileError, match="does not match its checksum"):
        fetch_file(CRANFIELD_FILES["cranqrel"], tmp_path, fetch=fake_fetch)
    assert not any((tmp_path / "cranfield").iterdir())


def test_a_failed_download_names_the_url(tmp_path: Path):
    def offline(url: str, destination: Path) -> None:
        raise OSError("network is unreachable")

    with pytest.raises(DataFileError, match=r"downloading it from https://\S+cran\.all\.1400 failed: network"):
        fetch_file(CRANFIELD_FILES["cran.all.1400"], tmp_path, fetch=offline)


def test_load_cranfield_downloads_into_an_empty_home(tmp_path: Path):
    fetched: list[str] = []

    def mirror(url: str, destination: Path) -> None:
        fetched.append(url.rsplit("/", 1)[-1])
        shutil.copy(crlf_copy(fetched[-1], tmp_path / "mirror"), destination)

    collection = load_cranfield(tmp_path / "home", fetch=mirror)
    assert sorted(fetched) == ["cran.all.1400", "cran.qry", "cranqrel"]
    assert len(collection) == N_DOCS and len(collection.queries) == N_QUERIES
    load_cranfield(tmp_path / "home", fetch=mirror)  # the second time nothing is fetched
    assert len(fetched) == 3


def test_data_and_cache_home_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("CURRICULUM_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("CURRICULUM_CACHE_HOME", str(tmp_path / "cache"))
    assert data_home() == tmp_path / "data" and cache_home() == tmp_path / "cache"
    monkeypatch.setenv("CURRICULUM_DATA_HOME", "")
    monkeypatch.delenv("CURRICULUM_CACHE_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data_home() == tmp_path / "xdg" / "curriculum"
    assert cache_home() == tmp_path / "xdg" / "curriculum" / "cache"


@pytest.fixture
def beir_folder(cranfield: Collection, tmp_path: Path) -> Path:
    """A BEIR-layout folder: Cranfield's first 300 documents and the queries judged on them."""
    docs = cranfield.documents[:300]
    ids = {d.doc_id for d in docs}
    qrels = {q: {d: g for d, g in judged.items() if d in ids} for q, judged in cranfield.qrels.items()}
    qrels = {q: judged for q, judged in qrels.items() if judged}
    return write_beir(Collection("slice", docs, dict(cranfield.queries), qrels), tmp_path / "cran-slice")


def test_beir_round_trip(beir_folder: Path, cranfield: Collection):
    collection = load_beir(beir_folder)
    assert collection.name == "cran-slice"
    assert collection.documents == cranfield.documents[:300]
    assert set(collection.queries) == set(collection.qrels)  # only queries judged in the split
    assert list(collection.queries) == [q for q in cranfield.queries if q in collection.qrels]  # file order
    assert collection.qrels["1"]["184"] == 3
    assert load_collection(beir_folder).documents == collection.documents


def test_beir_layout_errors(beir_folder: Path):
    with pytest.raises(DataFileError, match=r"split 'dev' not found: looked for .*qrels/dev\.tsv .*\['test'\]"):
        load_beir(beir_folder, split="dev")
    (beir_folder / "queries.jsonl").rename(beir_folder / "queries.bak")
    with pytest.raises(DataFileError, match=r"queries\.jsonl not found: looked for .*cran-slice/queries\.jsonl"):
        load_beir(beir_folder)
    (beir_folder / "queries.bak").rename(beir_folder / "queries.jsonl")
    with (beir_folder / "corpus.jsonl").open("a") as handle:
        handle.write("{not json\n")
    with pytest.raises(ValueError, match=r"corpus\.jsonl:301: not valid JSON"):
        load_beir(beir_folder)


def test_beir_judgment_for_an_unknown_document(tmp_path: Path):
    folder = write_beir(Collection("x", [Document("d1", "", "text")], {"q1": "text"}, {"q1": {"d1": 1}}), tmp_path)
    with (folder / "qrels" / "test.tsv").open("a") as handle:
        handle.write("q1\tmissing\t1\n")
    with pytest.raises(ValueError, match=r"test\.tsv:3: judgment for unknown document 'missing'"):
        load_beir(folder)


def test_unknown_collection_is_a_clear_error(tmp_path: Path):
    with pytest.raises(ValueError, match=r"unknown collection 'msmarco': use one of cranfield or the path of a folder"):
        load_collection("msmarco")
    with pytest.raises(ValueError, match="unknown collection"):
        load_collection(tmp_path / "does-not-exist")


def test_cranqrel_errors_name_the_line():
    with pytest.raises(ValueError, match=r"line 2 .*query number must be a position 1\.\.225"):
        parse_cranfield_qrels("1 184 2\n226 184 2\n", 225, {"184"})
    with pytest.raises(ValueError, match="unknown relevance code '5'"):
        parse_cranfield_qrels("1 184 5\n", 225, {"184"})
    with pytest.raises(ValueError, match="unknown document '9999'"):
        parse_cranfield_qrels("1 9999 1\n", 225, {"184"})
    with pytest.raises(ValueError, match="expected 'query doc code'"):
        parse_cranfield_qrels("1 184\n", 225, {"184"})


def test_beir_corpus_fields(tmp_path: Path):
    (tmp_path / "qrels").mkdir()
    (tmp_path / "corpus.jsonl").write_text(json.dumps({"_id": 7, "text": "body only"}) + "\n\n")
    (tmp_path / "queries.jsonl").write_text(json.dumps({"_id": "q", "text": "body"}) + "\n")
    (tmp_path / "qrels" / "test.tsv").write_text("q\t7\t2\n")  # no header line
    collection = load_beir(tmp_path)
    assert collection.documents == [Document("7", "", "body only")]
    assert collection.qrels == {"q": {"7": 2}}
