"""The module layering holds on the course, and the check catches each kind of planted violation."""

from __future__ import annotations

from pathlib import Path

import pytest
from course_layering import (
    check_import_circles,
    check_layering,
    check_module_layers,
    check_package_circles,
    check_package_layers,
)

from curriculum.manifest import discover_modules

REPO = Path(__file__).resolve().parent.parent
PLANTED = Path(__file__).resolve().parent / "fixtures" / "layering"


def test_the_course_keeps_its_layers():
    violations = check_layering(REPO)
    assert not violations, "\n".join(map(str, violations))


def test_planted_violations_are_each_caught():
    rules = sorted(f"{v.path.relative_to(PLANTED)}:{v.line}: {v.rule}" for v in check_layering(PLANTED))
    assert rules == [
        # c01 reaches up to c03, inside a function (lazy imports count too)
        "c01_low/src/c01_low/__init__.py:6: c01 imports c03 (c03_top), a later module",
        # c03 imports c01 without declaring it anywhere, and c02 without making it a prerequisite
        "c03_top/src/c03_top/__init__.py:3: c03 imports c01_low but its pyproject.toml does not declare c01-low",
        "c03_top/src/c03_top/__init__.py:3: c03 imports c01_low but its tasks.toml does not list c01 among its "
        "prerequisites",
        "c03_top/tests/test_top.py:3: c03 imports c02_mid but its tasks.toml does not list c02 among its "
        "prerequisites",
        # the grader must never import what it grades
        "src/grader/__init__.py:3: the grader imports module code (c02_mid)",
    ]


@pytest.mark.parametrize("module_id", [m.id for m in discover_modules(REPO)])
def test_no_import_circles_inside_a_module(module_id: str) -> None:
    """No module of a package imports, directly or through others, a module that imports it back (function-level
    imports count; ``if TYPE_CHECKING:`` imports never run, so they do not)."""
    module = next(m for m in discover_modules(REPO) if m.id == module_id)
    violations = check_import_circles(module)
    assert not violations, "\n".join(map(str, violations))


def test_no_import_circles_inside_the_grader():
    packages = [p for p in sorted((REPO / "src").iterdir()) if (p / "__init__.py").is_file()]
    assert packages, "the grader's packages were not found under src/"
    violations = [v for package in packages for v in check_package_circles(package, "the grader")]
    assert not violations, "\n".join(map(str, violations))


def test_planted_circles_are_each_caught():
    found = sorted(f"{v.path.relative_to(PLANTED)}:{v.line}: {v.rule}"
                   for m in discover_modules(PLANTED) for v in check_import_circles(m))
    assert found == [
        # relative imports are resolved: ``from . import right`` and ``from ..parts import left``
        "c02_mid/src/c02_mid/parts/left.py:3: c02 has an import circle among parts/left.py, parts/right.py: "
        "parts/left.py:3 -> parts/right.py:3 -> parts/left.py",
        # the entry script imports the row type, whose file imports the script back inside a method
        "c02_mid/src/c02_mid/report.py:3: c02 has an import circle among report.py, rows.py: "
        "report.py:3 -> rows.py:9 -> report.py",
        # typed_a <-> typed_b is not reported: typed_a's import of typed_b is under ``if TYPE_CHECKING:``
    ]


@pytest.mark.parametrize("module_id", [m.id for m in discover_modules(REPO)])
def test_subpackages_form_layers(module_id: str) -> None:
    """A package split into parts (c08: core < search < generation < rag < server < tools) never imports upwards."""
    module = next(m for m in discover_modules(REPO) if m.id == module_id)
    violations = check_module_layers(module)
    assert not violations, "\n".join(map(str, violations))


def test_a_planted_upward_import_and_an_undeclared_part_are_caught(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    for part, source in {"low": "from pkg.high import thing\n", "high": "thing = 1\n", "extra": ""}.items():
        (package / part).mkdir(parents=True)
        (package / part / "__init__.py").write_text("")
        (package / part / "mod.py").write_text(source)
    (package / "__init__.py").write_text("from pkg.low import mod\n")  # the top may import any part
    (package / "high" / "mod.py").write_text("from pkg.low.mod import x\nthing = 1\n")  # downwards: allowed
    (package / "low" / "mod.py").write_text("x = 0\n\n\ndef later():\n    from pkg.high.mod import thing\n"
                                            "    return thing\n")
    found = sorted(str(v.rule) for v in check_package_layers(package, ("low", "high"), "c99"))
    assert found == [
        "c99's part 'extra' is not in its declared layers ['low', 'high']",
        "c99: pkg.low.mod (part 'low') imports pkg.high.mod ('high'), a later part",
    ]
