"""What a task may use: a static check of the learner's files against the task's ``forbid`` list.

A task's manifest entry may say ``forbid = ["sklearn.decomposition", "numpy.linalg.inv"]``:
dotted names of modules or attributes a from-scratch task must not call. Before the task's
tests run, the grader reads every file the task's solution regions live in and reports each
use of a forbidden name, with its file, line and rule. It sees, through ``ast``:

* imports, with aliases: ``import sklearn.decomposition as d``, ``from sklearn import decomposition``,
  ``from torch.nn.functional import scaled_dot_product_attention as sdpa``, star imports;
* attribute chains through those names: ``import torch.nn.functional as F; F.scaled_dot_product_attention``,
  also as ``getattr(F, "scaled_dot_product_attention")`` with a literal name;
* ``importlib.import_module("...")`` and ``__import__("...")`` with literal names (and the names they
  are bound to), and ``sys.modules["..."]``;
* the ``@`` operator, as a use of ``operator.matmul``.

What it cannot see (and the README says so): names computed at run time (``getattr(F, "sc" + "aled")``,
``importlib.import_module(name)``), ``eval``/``exec`` of strings, and calls through objects whose type
is only known at run time (``tensor.backward()``). The check keeps honest learners honest and makes a
shortcut visible to the instructor; the tests, which compare against the oracle, stay the judge.

The same machinery flags code that reaches into the grader (``GRADER_RULES``): imports of pytest,
its internals or pluggy, and assignments to ``builtins``, in any of the package's files.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# No learner file has a reason to touch the test machinery or the interpreter's builtins.
GRADER_RULES = ("pytest", "_pytest", "pluggy")
BUILTINS_RULE = "builtins (assignment)"
IMPORT_FUNCTIONS = ("importlib.import_module", "__import__")
MATMUL = "operator.matmul"  # the rule that also forbids the `@` operator
_BUILTIN_NAMES = frozenset({"__import__", "getattr", "setattr", "delattr", "__builtins__"})


@dataclass(frozen=True)
class Violation:
    """One use of a forbidden name: where, which rule, and what the code used."""

    path: str
    line: int
    rule: str
    used: str

    @property
    def message(self) -> str:
        return f"{self.path}:{self.line}: uses {self.used}, which this task may not use (rule: {self.rule})"

    def as_dict(self) -> dict[str, str | int]:
        return {"path": self.path, "line": self.line, "rule": self.rule, "used": self.used,
                "message": self.message}


def matches(name: str, rule: str) -> bool:
    """True when ``name`` is ``rule`` or lies inside it (``sklearn.decomposition.PCA`` in ``sklearn``)."""
    return name == rule or name.startswith(rule + ".")


class _Uses(ast.NodeVisitor):
    """Collects (line, fully qualified dotted name) for every name the code takes from a module."""

    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}  # local name -> qualified name it stands for
        self.uses: list[tuple[int, str]] = []
        self.stars: list[tuple[int, str]] = []  # from X import *
        self.builtins_writes: list[tuple[int, str]] = []

    # -- names bound by imports -------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.uses.append((node.lineno, alias.name))
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:  # `import a.b.c` binds `a`, and `a.b.c` is reachable through it
                top = alias.name.split(".")[0]
                self.aliases.setdefault(top, top)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level or node.module is None:  # relative imports stay inside the learner's package
            return
        for alias in node.names:
            if alias.name == "*":
                self.stars.append((node.lineno, node.module))
                continue
            qualified = f"{node.module}.{alias.name}"
            self.uses.append((node.lineno, qualified))
            self.aliases[alias.asname or alias.name] = qualified

    # -- names bound by importlib / __import__ with a literal --------------------------------
    def visit_Assign(self, node: ast.Assign) -> None:
        imported = self._imported_name(node.value)
        if imported is not None:
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self.aliases[target.id] = imported
        for target in node.targets:
            self._check_builtins_target(target, node.lineno)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.op, ast.MatMult):
            self.uses.append((node.lineno, MATMUL))
        self._check_builtins_target(node.target, node.lineno)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._check_builtins_target(target, node.lineno)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        imported = self._imported_name(node) if _literal_getattr(node) is None else self.qualified(node)
        if imported is not None:
            self.uses.append((node.lineno, imported))
        function = self.qualified(node.func)
        if function in ("setattr", "delattr", "builtins.setattr", "builtins.delattr") and node.args:
            target = self.qualified(node.args[0])
            if target in ("builtins", "__builtins__"):
                self.builtins_writes.append((node.lineno, f"{function}(builtins, ...)"))
        self.generic_visit(node)

    # -- uses ------------------------------------------------------------------------------
    def visit_Attribute(self, node: ast.Attribute) -> None:
        name = self.qualified(node)
        if name is not None:
            self.uses.append((node.lineno, name))
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if isinstance(node.op, ast.MatMult):  # `a @ b` is operator.matmul (numpy.matmul on arrays)
            self.uses.append((node.lineno, MATMUL))
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        # sys.modules["x.y"] reaches a module without an import statement
        key = node.slice
        if self.qualified(node.value) == "sys.modules" and isinstance(key, ast.Constant) and isinstance(
                key.value, str):
            self.uses.append((node.lineno, key.value))
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in self.aliases:
            self.uses.append((node.lineno, self.aliases[node.id]))

    def qualified(self, node: ast.expr) -> str | None:
        """The dotted name an expression stands for, through import aliases; None if unknown."""
        if isinstance(node, ast.Name):
            # Only names bound by an import mean a module; any other name is a local value.
            return self.aliases.get(node.id, node.id if node.id in _BUILTIN_NAMES else None)
        if isinstance(node, ast.Attribute):
            base = self.qualified(node.value)
            return None if base is None else f"{base}.{node.attr}"
        if isinstance(node, ast.Call):
            literal = _literal_getattr(node)
            if literal is not None:
                base = self.qualified(literal[0])
                return None if base is None else f"{base}.{literal[1]}"
            return self._imported_name(node)
        return None

    def _imported_name(self, node: ast.expr) -> str | None:
        """``importlib.import_module("x.y")`` or ``__import__("x.y")``: the literal module name."""
        if not isinstance(node, ast.Call) or not node.args:
            return None
        first = node.args[0]
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            return None
        function = self.qualified(node.func) if isinstance(node.func, ast.Name | ast.Attribute) else None
        if function in IMPORT_FUNCTIONS or function == "sys.modules.get":
            return first.value
        return None

    def _check_builtins_target(self, target: ast.expr, line: int) -> None:
        node = target
        while isinstance(node, ast.Attribute | ast.Subscript):
            node = node.value
        if node is target:
            return
        base = self.qualified(node)
        if base in ("builtins", "__builtins__"):
            self.builtins_writes.append((line, ast.unparse(target)))


def _literal_getattr(node: ast.Call) -> tuple[ast.expr, str] | None:
    if (isinstance(node.func, ast.Name) and node.func.id == "getattr" and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
        return node.args[0], node.args[1].value
    return None


def _uses(source: str, path: str) -> _Uses:
    tree = ast.parse(source, filename=path)
    visitor = _Uses()
    # Aliases first (an import may sit below the function that uses it), then every use.
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            visitor.visit(node)
    visitor.uses.clear()
    visitor.stars.clear()
    visitor.visit(tree)
    return visitor


def check_source(source: str, path: str, rules: Iterable[str], builtins: bool = False) -> list[Violation]:
    """Every use of a name under one of ``rules`` in ``source`` (one violation per line and rule)."""
    rules = tuple(rules)
    try:
        found = _uses(source, path)
    except SyntaxError:
        return []  # the tests report a file that does not parse; this check has nothing to add
    seen: set[tuple[int, str]] = set()
    out: list[Violation] = []

    def add(line: int, rule: str, used: str) -> None:
        if (line, rule) not in seen:
            seen.add((line, rule))
            out.append(Violation(path, line, rule, used))

    for line, name in found.uses:
        for rule in rules:
            if matches(name, rule):
                add(line, rule, name)
    for line, module in found.stars:
        for rule in rules:
            if matches(rule, module) or matches(module, rule):
                add(line, rule, f"from {module} import *")
    if builtins:
        for line, what in found.builtins_writes:
            add(line, BUILTINS_RULE, what)
    return sorted(out, key=lambda v: (v.line, v.rule))


def check_files(root: Path, files: Iterable[Path], rules: Iterable[str], builtins: bool = False) -> list[Violation]:
    """Check ``files`` (relative to ``root``); a missing file is skipped (the tests report it)."""
    rules = tuple(rules)
    out: list[Violation] = []
    for rel in files:
        path = root / rel
        if path.is_file():
            out += check_source(path.read_text(encoding="utf-8", errors="replace"), rel.as_posix(), rules, builtins)
    return out


def grader_violations(package_dir: Path) -> list[Violation]:
    """Imports of the test machinery or writes to builtins anywhere in a learner's package."""
    files = sorted(p.relative_to(package_dir.parent) for p in package_dir.rglob("*.py"))
    return check_files(package_dir.parent, files, GRADER_RULES, builtins=True)
