"""The course's layering rules, read from the code itself.

Modules are layers in course order: a module may import an earlier module, never a later one, and
only one it declares twice, as a distribution in its ``pyproject.toml`` (a dependency or an extra)
and as a prerequisite in its ``tasks.toml``, so that ``pip install`` of the module alone brings what
it imports. The grader (``src/`` of the course root) imports no module at all: it grades code it
never imports.

Every ``import`` and ``from ... import`` is read with :mod:`ast`, those inside functions included
(a lazy import is still a dependency); relative imports stay inside their package and are skipped.
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from curriculum.manifest import Module, discover_modules


@dataclass(frozen=True)
class Violation:
    """One import that breaks a rule: where it is and which rule."""

    path: Path
    line: int
    rule: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}"


def distribution_name(requirement: str) -> str:
    """``"c06-retrieval-tools>=0.1"`` -> ``"c06-retrieval-tools"`` (PEP 503 normalised)."""
    return re.sub(r"[-_.]+", "-", re.split(r"[<>=!~\[; ]", requirement.strip())[0]).lower()


def declared_distributions(pyproject: Path) -> set[str]:
    """Every distribution a ``pyproject.toml`` asks for, in its dependencies or any extra."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    requirements = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        requirements.extend(extra)
    return {distribution_name(r) for r in requirements}


def imported_names(folder: Path) -> Iterator[tuple[Path, int, str]]:
    """(file, line, top-level package) for every absolute import in the ``.py`` files under ``folder``."""
    for path in sorted(folder.rglob("*.py")):
        if any(part in {"build", ".venv"} or part.endswith(".egg-info") for part in path.parts):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield path, node.lineno, alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                yield path, node.lineno, node.module.split(".")[0]


def check_layering(course_root: Path) -> list[Violation]:
    """Every import in the course's modules and grader that breaks a layering rule."""
    modules = discover_modules(course_root)
    by_package: dict[str, tuple[int, Module]] = {m.package: (i, m) for i, m in enumerate(modules)}
    found: list[Violation] = []
    for position, module in enumerate(modules):
        declared = declared_distributions(module.root / "pyproject.toml")
        for folder in (module.root / "src", module.root / "tests"):
            for path, line, name in imported_names(folder):
                if name not in by_package or name == module.package:
                    continue
                other_position, other = by_package[name]
                if other_position > position:
                    found.append(Violation(path, line, f"{module.id} imports {other.id} ({name}), a later module"))
                    continue
                distribution = other.name.replace("_", "-")
                if distribution not in declared:
                    found.append(Violation(path, line, f"{module.id} imports {name} but its pyproject.toml does "
                                                       f"not declare {distribution}"))
                if other.id not in module.prerequisites:
                    found.append(Violation(path, line, f"{module.id} imports {name} but its tasks.toml does not "
                                                       f"list {other.id} among its prerequisites"))
    for path, line, name in imported_names(course_root / "src"):
        if name in by_package:
            found.append(Violation(path, line, f"the grader imports module code ({name})"))
    return found
