"""Parallel and sharded batches grade exactly what a serial batch grades."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from curriculum.batch import merge_batches, parse_shard, shard_slice, without_time, write_gradebook
from curriculum.cli import main
from curriculum.grade import grade_batch
from curriculum.learner import build_workspace
from curriculum.manifest import discover_modules

ADDRESS = re.compile(r"0x[0-9a-f]{6,}")


@pytest.fixture
def batch(course: Path, submissions: Path) -> Path:
    """alice (right), bob_loops (one task times out) and stub (the learner workspace: nothing solved)."""
    for name in ("carol_segfaults", "dave_stuck"):  # crashes and hangs are covered in test_grader.py
        shutil.rmtree(submissions / name)
    build_workspace(course, submissions / "stub", discover_modules(course))
    return submissions


def results_of(out: Path) -> dict[str, dict]:
    """Each learner's results.json without time-like fields, and without object addresses (pytest
    prints a fixture's repr, ``<function ... at 0x7f...>``, which differs between any two runs)."""
    return {p.parent.name: without_time(json.loads(ADDRESS.sub("0x?", p.read_text())))
            for p in sorted((out / "submissions").glob("*/results.json"))}


def test_parse_shard():
    assert parse_shard("0/3") == (0, 3) and parse_shard(" 2/3 ") == (2, 3)
    for bad in ("3/3", "1/0", "-1/2", "1", "a/b"):
        with pytest.raises(ValueError, match="0-based"):
            parse_shard(bad)


def test_shards_are_round_robin_disjoint_and_cover_the_batch():
    names = [Path(f"learner{i:02d}") for i in range(11)]
    slices = [shard_slice(names, (k, 4)) for k in range(4)]
    assert slices[1] == [names[1], names[5], names[9]]
    assert sorted(p for s in slices for p in s) == names
    assert shard_slice(names, None) == names


def test_parallel_and_sharded_batches_equal_the_serial_one(course: Path, batch: Path, tmp_path: Path):
    modules = discover_modules(course)
    serial = grade_batch(modules, batch, tmp_path / "serial")
    rows = serial.read_text().splitlines()
    assert [r.split(",")[0] for r in rows] == ["learner", "alice", "bob_loops", "stub"]
    assert rows[3].endswith(",0.0,20.0,0.0,complete")  # the stub scores nothing

    parallel = grade_batch(modules, batch, tmp_path / "parallel", jobs=2)
    # grades.csv has no time-like column: byte for byte the same
    assert parallel.read_text() == serial.read_text()
    assert results_of(tmp_path / "parallel") == results_of(tmp_path / "serial")

    shards = [tmp_path / "shard0", tmp_path / "shard1"]
    for k, out in enumerate(shards):
        assert main(["--course", str(course), "grade", "--submissions", str(batch), "--out", str(out),
                     "--shard", f"{k}/2", "--jobs", "2"]) == 0
    assert [r.split(",")[0] for r in (shards[0] / "grades.csv").read_text().splitlines()] == [
        "learner", "alice", "stub"]
    assert main(["merge", str(tmp_path / "merged"), *map(str, shards)]) == 0
    assert (tmp_path / "merged/grades.csv").read_text() == serial.read_text()
    assert results_of(tmp_path / "merged") == results_of(tmp_path / "serial")
    assert (tmp_path / "merged/submissions/bob_loops/report.md").is_file()

    # A shard missing or given twice is refused: a merged gradebook is complete.
    with pytest.raises(ValueError, match=r"shards missing: \[1\]"):
        merge_batches(tmp_path / "partial", shards[:1])
    with pytest.raises(ValueError, match=r"given twice: \[0\]"):
        merge_batches(tmp_path / "twice", [shards[0], shards[0], shards[1]])


def test_an_empty_shard_writes_an_empty_gradebook(course: Path, tmp_path: Path):
    (tmp_path / "subs" / "only").mkdir(parents=True)
    path = grade_batch(discover_modules(course), tmp_path / "subs", tmp_path / "out", shard=(1, 2))
    assert path.read_text().splitlines() == ["learner,c01.1,c01.2,c01.3,total,max_total,percent,status"]
    assert json.loads((tmp_path / "out/batch.json").read_text())["learners_total"] == 1


def test_merge_refuses_other_batches_and_unsharded_runs(tmp_path: Path):
    row = {"learner": "a", "c01.1": 1.0, "total": 1.0, "max_total": 1.0, "percent": 100.0, "status": "complete"}
    write_gradebook(tmp_path / "s0", ["c01.1"], [row], {"shard": "0/2", "learners_total": 2})
    other = {"learner": "b", "c01.2": 1.0, "total": 1.0, "max_total": 1.0, "percent": 100.0, "status": "complete"}
    write_gradebook(tmp_path / "s1", ["c01.2"], [other], {"shard": "1/2", "learners_total": 2})
    with pytest.raises(ValueError, match="belongs to another batch: its columns differ"):
        merge_batches(tmp_path / "m", [tmp_path / "s0", tmp_path / "s1"])
    write_gradebook(tmp_path / "whole", ["c01.1"], [row], {"shard": None, "learners_total": 1})
    with pytest.raises(ValueError, match="is not a shard"):
        merge_batches(tmp_path / "m", [tmp_path / "whole"])
    with pytest.raises(ValueError, match=r"no readable batch\.json"):
        merge_batches(tmp_path / "m", [tmp_path / "nowhere"])


def test_a_relative_out_folder_is_read_back(course: Path, submissions: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch):
    # The test processes run in the module's folder; the grader must still find their events.
    monkeypatch.chdir(tmp_path)
    only_alice = tmp_path / "one"
    shutil.copytree(submissions / "alice", only_alice / "alice")
    assert main(["--course", str(course), "grade", "--submissions", "one", "--out", "relative"]) == 0
    grades = (tmp_path / "relative/grades.csv").read_text().splitlines()
    assert grades[1] == "alice,10.0,5.0,5.0,20.0,20.0,100.0,complete"
