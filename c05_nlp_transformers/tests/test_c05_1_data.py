"""c05.1: the data home, a verified Tiny Shakespeare, and clear errors when the file is missing or wrong.

Nothing downloads here (no network): the download path is exercised with a file:// URL and with
a fake fetcher, exactly as a real download would run it (temporary file, checksum, rename).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from c05_nlp_transformers import DATA_HOME_ENV, TINYSHAKESPEARE, ChecksumError, data_home, fetch, load_tinyshakespeare

pytestmark = pytest.mark.task("c05.1")

CORPUS_CHARS = 1_115_394  # characters in Tiny Shakespeare (data README)
CORPUS_DISTINCT = 65


def test_data_home_from_environment_or_user_cache(monkeypatch, tmp_path):
    monkeypatch.setenv(DATA_HOME_ENV, str(tmp_path / "data"))
    assert data_home() == tmp_path / "data"
    monkeypatch.setenv(DATA_HOME_ENV, "")  # empty counts as unset
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data_home() == tmp_path / "xdg" / "curriculum"
    monkeypatch.delenv(DATA_HOME_ENV)
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data_home() == tmp_path / "home" / ".cache" / "curriculum"


def test_the_shared_corpus_loads_and_verifies(corpus):
    assert len(corpus) == CORPUS_CHARS
    assert len(set(corpus)) == CORPUS_DISTINCT
    assert corpus.startswith("First Citizen:")
    path = fetch(TINYSHAKESPEARE, url=None)  # the data home of this run: no download allowed
    assert hashlib.sha256(path.read_bytes()).hexdigest() == TINYSHAKESPEARE.sha256


def test_missing_file_without_a_source_names_file_and_data_home(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        load_tinyshakespeare(tmp_path, url=None)
    message = str(err.value)
    assert "tinyshakespeare/input.txt" in message and str(tmp_path) in message
    assert DATA_HOME_ENV in message


def test_a_corrupt_file_is_refused(tmp_path, corpus):
    path = TINYSHAKESPEARE.path_in(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(corpus[:-1], encoding="utf-8")  # one character short
    with pytest.raises(ChecksumError) as err:
        load_tinyshakespeare(tmp_path)
    message = str(err.value)
    assert str(path) in message and TINYSHAKESPEARE.sha256 in message and "data home" in message
    assert isinstance(err.value, ValueError)
    assert path.read_text(encoding="utf-8") == corpus[:-1]  # a file the user put there is never deleted


def test_download_from_a_file_url_verifies_and_stores(tmp_path, corpus):
    source = tmp_path / "mirror" / "input.txt"
    source.parent.mkdir()
    source.write_bytes(corpus.encode("utf-8"))
    home = tmp_path / "home"
    text = load_tinyshakespeare(home, url=source.as_uri())
    assert text == corpus
    stored = TINYSHAKESPEARE.path_in(home)
    assert stored.is_file() and os.listdir(stored.parent) == ["input.txt"]  # no temporary file left
    assert load_tinyshakespeare(home, url=None) == corpus  # now found locally


def test_default_source_is_the_public_url(tmp_path, corpus):
    seen = []

    def fake_download(url: str, destination: Path) -> None:
        seen.append(url)
        destination.write_bytes(corpus.encode("utf-8"))

    path = fetch(TINYSHAKESPEARE, tmp_path, fetcher=fake_download)
    assert seen == [TINYSHAKESPEARE.url] and "karpathy/char-rnn" in seen[0]
    assert path == TINYSHAKESPEARE.path_in(tmp_path)


def test_a_bad_download_is_deleted_and_reported(tmp_path):
    def bad_download(url: str, destination: Path) -> None:
        destination.write_bytes(b"<html>rate limited</html>")

    with pytest.raises(ChecksumError, match="downloaded from https://"):
        fetch(TINYSHAKESPEARE, tmp_path, fetcher=bad_download)
    folder = TINYSHAKESPEARE.path_in(tmp_path).parent
    assert os.listdir(folder) == []  # neither the bad file nor a temporary one


def test_a_failed_download_leaves_nothing_behind(tmp_path):
    def broken(url: str, destination: Path) -> None:
        destination.write_bytes(b"partial")
        raise OSError("connection reset")

    with pytest.raises(OSError, match="connection reset"):
        fetch(TINYSHAKESPEARE, tmp_path, fetcher=broken)
    assert os.listdir(TINYSHAKESPEARE.path_in(tmp_path).parent) == []
