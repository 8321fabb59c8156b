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


# --- import circles inside a package ------------------------------------------------------------------------------
#
# Within one package, module A importing module B that (directly or through others) imports A is a circle: which
# one runs first depends on who is imported first, and a name one of them needs may not exist yet. Shared types
# belong to the file that owns them; entry scripts import them, never the reverse. Imports inside functions count
# (a lazy import hides a circle, it does not remove it); imports under ``if TYPE_CHECKING:`` do not, because they
# never run. An import names the module it reaches (``from pkg.a import X``: ``pkg.a``, or ``pkg.a.X`` when that is
# a module); the parent packages that Python initialises on the way (``pkg/__init__.py``) are not counted as edges,
# or every package whose ``__init__`` re-exports its submodules would be one big circle.


@dataclass(frozen=True)
class ImportEdge:
    """``source`` imports ``target`` (dotted module names) at ``line`` of ``path``."""

    source: str
    target: str
    path: Path
    line: int


def _is_type_checking(test: ast.expr) -> bool:
    """``TYPE_CHECKING`` or ``typing.TYPE_CHECKING`` (any alias of the module)."""
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement that can run: all of them but those in the body of ``if TYPE_CHECKING:``."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)  # the else branch runs
            continue
        stack.extend(ast.iter_child_nodes(node))


def package_modules(package_dir: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file of the package at ``package_dir``."""
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def import_edges(package_dir: Path) -> list[ImportEdge]:
    """Every import of one of the package's modules by another, relative imports resolved."""
    modules = package_modules(package_dir)
    edges = []
    for source, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:  # relative: from the package that holds ``source``
                    anchor = source.split(".")
                    anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                    base = ".".join([*anchor, *([base] if base else [])])
                for alias in node.names:  # ``from pkg import sub`` reaches the submodule when there is one
                    targets.append(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
            for target in targets:
                while target and target not in modules:  # ``import pkg.a.B``-like names: the nearest module
                    target = target.rpartition(".")[0]
                if target and target != source:
                    edges.append(ImportEdge(source, target, path, node.lineno))
    return edges


def import_circles(package_dir: Path) -> list[tuple[list[str], list[ImportEdge]]]:
    """Each group of modules that import each other (Tarjan's strongly connected components): its members,
    sorted, and one circle through them, as the edges that close it: ``a -> b -> ... -> a``."""
    edges = import_edges(package_dir)
    graph: dict[str, list[ImportEdge]] = {}
    for edge in edges:
        graph.setdefault(edge.source, []).append(edge)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for edge in graph.get(node, []):
            if edge.target not in index:
                connect(edge.target)
                low[node] = min(low[node], low[edge.target])
            elif edge.target in stack:
                low[node] = min(low[node], index[edge.target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return [(component, _circle_through(component, graph)) for component in sorted(components)]


def _circle_through(component: list[str], graph: dict[str, list[ImportEdge]]) -> list[ImportEdge]:
    """The shortest circle from the component's first module back to itself (breadth first)."""
    members, start = set(component), component[0]
    came_by: dict[str, ImportEdge] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for edge in sorted(graph.get(node, []), key=lambda e: (e.target, e.line)):
                if edge.target not in members or edge.target in came_by:
                    continue
                came_by[edge.target] = edge
                following.append(edge.target)
        if start in came_by:
            break
        frontier = following
    circle, node = [], start
    while True:  # walk back from the edge that returned to the start
        edge = came_by[node]
        circle.append(edge)
        node = edge.source
        if node == start:
            return circle[::-1]


def describe_circle(circle: list[ImportEdge], package_dir: Path) -> str:
    """``bench.py:241 -> bench_llm.py:29 -> bench.py``: each file and the line of its import."""
    files = [f"{edge.path.relative_to(package_dir)}:{edge.line}" for edge in circle]
    return " -> ".join([*files, str(circle[0].path.relative_to(package_dir))])


def check_package_circles(package_dir: Path, owner: str) -> list[Violation]:
    """One violation per import circle among the modules of the package at ``package_dir``, named after ``owner``
    (a module id, or "the grader"): the files in the circle, and one way round it with the line of each import."""
    found = []
    for members, circle in import_circles(package_dir):
        files = ", ".join(str(modules_path) for modules_path in _member_files(members, package_dir))
        found.append(Violation(circle[0].path, circle[0].line, f"{owner} has an import circle among {files}: "
                               f"{describe_circle(circle, package_dir)}"))
    return found


def _member_files(members: list[str], package_dir: Path) -> list[Path]:
    files = package_modules(package_dir)
    return sorted(files[member].relative_to(package_dir) for member in members)


def check_import_circles(module: Module) -> list[Violation]:
    """Every import circle inside ``module``'s package (none when it has no ``src/<package>`` yet)."""
    package_dir = module.root / "src" / module.package
    return check_package_circles(package_dir, module.id) if package_dir.is_dir() else []


# A module whose package has subpackages declares them here, lowest first: a part may import the parts before
# it, never one after it. Top-level modules (the entry points: ``__init__``, ``bench``, ``report``) sit above
# every part. A package with subpackages that are not declared is itself a violation, so new parts are covered.
PACKAGE_LAYERS: dict[str, tuple[str, ...]] = {
    "c08": ("core", "search", "generation", "rag", "server", "tools"),
}


def subpackages(package_dir: Path) -> list[str]:
    return sorted(p.name for p in package_dir.iterdir() if (p / "__init__.py").is_file())


def check_package_layers(package_dir: Path, layers: tuple[str, ...], owner: str) -> list[Violation]:
    """Every import from a part into a later (higher) part, and every subpackage missing from ``layers``."""
    found = [Violation(package_dir / part / "__init__.py", 1, f"{owner}'s part {part!r} is not in its declared "
                       f"layers {list(layers)}") for part in subpackages(package_dir) if part not in layers]
    rank = {part: i for i, part in enumerate(layers)}
    top = package_dir.name

    def part_of(dotted: str) -> int:
        parts = dotted.split(".")
        if len(parts) > 2 and parts[0] == top and parts[1] in rank:
            return rank[parts[1]]
        return len(layers)  # a top-level module: above every part

    for edge in import_edges(package_dir):
        source, target = part_of(edge.source), part_of(edge.target)
        if target > source:
            lower = layers[source]
            higher = layers[target] if target < len(layers) else "the top-level modules"
            found.append(Violation(edge.path, edge.line, f"{owner}: {edge.source} (part {lower!r}) imports "
                                   f"{edge.target} ({higher!r}), a later part"))
    return found


def check_module_layers(module: Module) -> list[Violation]:
    """The layers of ``module``'s subpackages (none to check for a flat package)."""
    package_dir = module.root / "src" / module.package
    if not package_dir.is_dir():
        return []
    layers = PACKAGE_LAYERS.get(module.id)
    if layers is None:
        return [Violation(package_dir / part / "__init__.py", 1, f"{module.id} has subpackages but no declared "
                          "layers (tests/course_layering.py PACKAGE_LAYERS)") for part in subpackages(package_dir)]
    return check_package_layers(package_dir, layers, module.id)
