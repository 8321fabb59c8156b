"""c06.7 (hidden): the command on awkward BEIR folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from c06_retrieval_tools import Collection, Document, write_beir
from c06_retrieval_tools.evaluate import main

pytestmark = pytest.mark.task("c06.7")


def test_missing_split_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    folder = write_beir(Collection("c", [Document("1", "", "x")], {"q": "x"}, {"q": {"1": 1}}), tmp_path / "b")
    assert main(["--collection", str(folder), "--split", "dev"]) == 2
    assert "split 'dev' not found" in capsys.readouterr().err


def test_too_few_judged_queries_for_the_folds(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    docs = [Document(str(i), "", f"text number {i}") for i in range(5)]
    folder = write_beir(Collection("c", docs, {"q": "text"}, {"q": {"1": 1}}), tmp_path / "b")
    assert main(["--collection", str(folder)]) == 2
    assert "fewer than --folds 5" in capsys.readouterr().err
