"""Task manifests: loading, and a clear error naming the file and field for bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from curriculum.manifest import ManifestError, MetricSpec, discover_modules, find_task, load_module

GOOD = """
[module]
id = "c01"
package = "c01_x"
title = "X"
status = "built"
coverage_min = 90
timeout_s = 60
memory_mb = 1024
prerequisites = []

[[tasks]]
id = "c01.1"
title = "one"
points = 5
timeout_s = 10
hint = "h"
metrics = [{ name = "acc", threshold = 0.9, direction = "higher" }]
"""


def write(tmp_path: Path, text: str, name: str = "c01_x") -> Path:
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    (folder / "tasks.toml").write_text(text)
    return folder


def test_good_manifest_loads(tmp_path: Path):
    module = load_module(write(tmp_path, GOOD))
    assert module.id == "c01" and module.max_points == 5 and module.built
    assert module.tasks[0].metric("acc") == MetricSpec("acc", 0.9, "higher")
    assert find_task([module], "c01.1")[1].title == "one"


@pytest.mark.parametrize(("value", "threshold", "direction", "met"), [
    (0.95, 0.9, "higher", True), (0.85, 0.9, "higher", False), (1e-13, 1e-12, "lower", True),
    (1e-11, 1e-12, "lower", False), (float("nan"), 0.0, "higher", False),
])
def test_metric_directions(value, threshold, direction, met):
    assert MetricSpec("m", threshold, direction).met(value) is met


@pytest.mark.parametrize(("old", "new", "words"), [
    ('id = "c01.1"', 'id = "c02.1"', "task id must look like 'c01.1'"),
    ("points = 5", "points = 0", "must be positive"),
    ('direction = "higher"', 'direction = "up"', "direction must be 'higher' or 'lower'"),
    ('hint = "h"', "", "missing field 'hint'"),
    ('status = "built"', 'status = "planned"', "a planned module holds no graded tasks"),
    ("timeout_s = 60", 'timeout_s = "60"', "field 'timeout_s' has the wrong type"),
    ('title = "one"', 'title = "one"\nrequires = ["c01.2"]', "requires c01.2, which is not an earlier task"),
    ("[module]", "[modul]", "missing the [module] table"),
    ("coverage_min = 90", "coverage_min = ", "not valid TOML"),
])
def test_bad_manifests_name_the_problem(tmp_path: Path, old: str, new: str, words: str):
    folder = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ManifestError, match=r"c01_x/tasks\.toml.*" + pytest.importorskip("re").escape(words)):
        load_module(folder)


def test_prerequisites_must_come_earlier(tmp_path: Path):
    write(tmp_path, GOOD.replace("prerequisites = []", 'prerequisites = ["c02"]'))
    write(tmp_path, GOOD.replace('"c01', '"c02').replace("c01_x", "c02_y"), "c02_y")
    with pytest.raises(ManifestError, match="prerequisite 'c02' is not an earlier module"):
        discover_modules(tmp_path)


def test_missing_manifest(tmp_path: Path):
    with pytest.raises(ManifestError, match="no task manifest here"):
        load_module(tmp_path)
