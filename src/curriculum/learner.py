"""Generate the learner workspace from the reference course (``make learner``).

The workspace is the course with every solution region of every module's
``src/`` replaced by a ``NotImplementedError`` (see ``markers.py``), hidden
tests and author-only files left out. Modules named in ``solved`` ship their
reference code, for a learner who starts later in the course. The output is a
pure function of the input files: regenerating gives byte-identical files.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path, PurePosixPath

from curriculum import __version__
from curriculum.manifest import Module
from curriculum.markers import strip_solutions, task_files_in_tree

WORKSPACE_FILE = ".curriculum-workspace.json"
AUTHOR_ONLY_TOP = frozenset({"build", ".ci", "tests", ".venv", ".git"})  # course-level folders
LEARNER_README = Path(__file__).parent / "templates" / "learner_README.md"  # the workspace's front door
HIDDEN_TESTS = ("tests", "hidden")  # <module>/tests/hidden/ holds graded tests learners never see
CACHES = frozenset({"__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis"})


def is_author_only(path: PurePosixPath) -> bool:
    parts = path.parts
    hidden = any(parts[i : i + 2] == HIDDEN_TESTS for i in range(len(parts) - 1))
    cached = any(part in CACHES or part.endswith(".egg-info") for part in parts)
    return parts[0] in AUTHOR_ONLY_TOP or hidden or cached


def course_files(root: Path) -> list[PurePosixPath]:
    """Files of the course: git's view (tracked or not ignored) where it is a git checkout."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=root, capture_output=True, check=True,
        ).stdout.decode("utf-8").split("\0")
        files = [PurePosixPath(f) for f in listed if f and (root / f).is_file()]
    except (OSError, subprocess.CalledProcessError):
        files = [PurePosixPath(p.relative_to(root).as_posix()) for p in root.rglob("*") if p.is_file()]
    return sorted(f for f in files if not is_author_only(f))


def _is_module_source(path: PurePosixPath, modules: list[Module]) -> Module | None:
    for module in modules:
        if path.suffix == ".py" and path.is_relative_to(f"{module.name}/src"):
            return module
    return None


def build_workspace(
    course_root: Path, dest: Path, modules: list[Module], solved: frozenset[str] = frozenset()
) -> list[Path]:
    """Write the workspace to ``dest`` (replacing an earlier workspace there); return its files."""
    unknown = solved - {m.id for m in modules} - {m.name for m in modules}
    if unknown:
        raise ValueError(f"cannot ship unknown modules solved: {sorted(unknown)}")
    course_root, dest = course_root.resolve(), dest.resolve()
    if dest == course_root or course_root.is_relative_to(dest):
        raise ValueError(f"refusing to write the workspace over the course itself ({dest})")
    if dest.exists():
        if any(dest.iterdir()) and not (dest / WORKSPACE_FILE).is_file():
            raise ValueError(f"{dest} exists and is not a generated workspace: refusing to replace it")
        shutil.rmtree(dest)
    written = []
    for rel in course_files(course_root):
        source, target = course_root / rel, dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        module = _is_module_source(rel, modules)
        if rel == PurePosixPath("README.md"):  # the course's README speaks to instructors and authors
            shutil.copyfile(LEARNER_README, target)
        elif module is not None and module.id not in solved and module.name not in solved:
            text = source.read_text(encoding="utf-8")
            target.write_text(strip_solutions(text, str(rel)), encoding="utf-8", newline="")
        else:
            shutil.copyfile(source, target)
        shutil.copymode(source, target)
        written.append(target)
    info = {
        "generated_by": f"curriculum {__version__}",
        "solved": sorted(m.id for m in modules if m.id in solved or m.name in solved),
        "modules": [m.id for m in modules],
        # Stripped files no longer say which task they belong to; the grader's rules and
        # `curriculum next` read it here.
        "task_files": {task: [f"{m.name}/src/{p.as_posix()}" for p in paths]
                       for m in modules if m.built
                       for task, paths in task_files_in_tree(course_root / m.name / "src").items()},
    }
    (dest / WORKSPACE_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    written.append(dest / WORKSPACE_FILE)
    return written


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` by relative path (to compare two generations)."""
    import hashlib

    digests = {}
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            if "__pycache__" in path.parts:
                continue
            digests[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return dict(sorted(digests.items()))


def task_files(module: Module) -> dict[str, list[Path]]:
    """Per task of ``module``, the files its learner edits, relative to ``module.root / "src"``.

    In the reference they come from the solution markers; in a generated workspace from the
    record written at generation (a solved task leaves no stub behind), else from the stubs.
    """
    src = module.root / "src"
    found = {task: set(paths) for task, paths in task_files_in_tree(src).items()} if src.is_dir() else {}
    try:
        record = json.loads((module.root.parent / WORKSPACE_FILE).read_text(encoding="utf-8"))
        recorded = record.get("task_files", {}) if isinstance(record, dict) else {}
    except (OSError, ValueError):
        recorded = {}
    prefix = f"{module.name}/src/"
    for task, paths in recorded.items():
        if task.startswith(module.id + ".") and isinstance(paths, list):
            found.setdefault(task, set()).update(Path(p.removeprefix(prefix)) for p in paths
                                                 if isinstance(p, str) and p.startswith(prefix))
    return {task: sorted(paths) for task, paths in sorted(found.items())}
