"""Cross-module checks of the real course: layout, manifests, pins, independent packages."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from curriculum.manifest import discover_modules

REPO = Path(__file__).resolve().parent.parent
MODULES = discover_modules(REPO)
NAMES = ["c01_base", "c02_data", "c03_ml_basics", "c04_dl_fundamentals", "c05_nlp_transformers",
         "c06_retrieval_tools", "c07_agents_systems", "c08_serving_ops"]


def pins() -> dict[str, str]:
    found = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            found[re.sub(r"[-_.]+", "-", name).lower()] = version
    return found


def test_eight_modules_in_order():
    assert [m.name for m in MODULES] == NAMES
    assert [m.id for m in MODULES] == [f"c0{i}" for i in range(1, 9)]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.id)
def test_module_layout(module):
    root = module.root
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert project["name"] == module.name.replace("_", "-")
    assert (root / "src" / module.package / "__init__.py").is_file()
    assert (root / "tests").is_dir()
    readme = (root / "README.md").read_text()
    assert readme.startswith(f"# {module.id}")
    if module.built:
        for task in module.tasks:
            assert task.id in readme, f"{module.name}/README.md does not describe {task.id}"
        assert any((root / "tests").glob(f"test_{module.id}_*.py"))


@pytest.mark.parametrize("pyproject", [*sorted(REPO.glob("*/pyproject.toml")), REPO / "pyproject.toml"],
                         ids=lambda p: p.parent.name)
def test_every_dependency_is_pinned(pyproject: Path):
    project = tomllib.loads(pyproject.read_text())["project"]
    requirements = project.get("dependencies", []) + [
        r for extra in project.get("optional-dependencies", {}).values() for r in extra]
    pinned = pins()
    for requirement in requirements:
        name = re.sub(r"[-_.]+", "-", re.split(r"[<>=!~\[; ]", requirement)[0]).lower()
        assert name in pinned, f"{pyproject}: {name} is not pinned in constraints.txt"


def test_torch_is_the_local_cpu_wheel():
    assert pins()["torch"] == "2.13.0"


def test_ci_runs_the_readme_test_command():
    readme, ci = (REPO / "README.md").read_text(), (REPO / ".ci/run").read_text()
    assert "make test" in readme and "make test" in ci
    assert "make check-curriculum" in ci and "--reference-results build/grade/results.json" in ci
    # the grade CI's author check reuses is make test's own: a strict one, so any shortfall fails CI
    recipe = (REPO / "Makefile").read_text().split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "$(BIN)/curriculum grade --strict" in recipe
