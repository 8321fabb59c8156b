"""Solution regions: how one reference source becomes the learner's exercise.

Two forms, both inside a function body::

    # BEGIN SOLUTION c01.3: tile the loops so a block of B stays in cache
    ...reference code...
    # END SOLUTION

    return np.matmul(a, b)  # SOLUTION c01.2: multiply one row block

Each becomes ``raise NotImplementedError("c01.3: tile the loops ...")`` at the
indentation of the marker, so signatures, type hints and docstrings stay. The
task id is required; the text after the colon is what the learner reads.
Nested, unterminated or stray markers raise :class:`MarkerError` naming the
file and line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

_TAIL = r"(?:\s+(?P<task>\S+?))?(?:\s*:\s*(?P<text>.*?))?\s*$"
BEGIN = re.compile(r"^(?P<indent>[ \t]*)#\s*BEGIN SOLUTION" + _TAIL)
END = re.compile(r"^[ \t]*#\s*END SOLUTION\s*$")
INLINE = re.compile(r"^(?P<indent>[ \t]*)(?P<code>[^#\s].*?)\s+#\s*SOLUTION" + _TAIL)
ANY_MARKER = re.compile(r"#\s*(BEGIN SOLUTION|END SOLUTION|SOLUTION\b)")
TASK_ID = re.compile(r"^c\d\d\.\d+$")
DEFAULT_TEXT = "implement this"


class MarkerError(ValueError):
    """A malformed solution marker; the message starts with ``file:line``."""


@dataclass(frozen=True)
class Region:
    """One solution region: 1-based first and last line (markers included)."""

    task: str
    text: str
    start: int
    end: int

    @property
    def message(self) -> str:
        return f"{self.task}: {self.text}"


def _task_and_text(match: re.Match[str], where: str) -> tuple[str, str]:
    task = match.group("task")
    if task is None or not TASK_ID.match(task):
        raise MarkerError(f"{where}: a solution marker needs a task id, e.g. '# BEGIN SOLUTION c01.2: ...'")
    return task, (match.group("text") or DEFAULT_TEXT).strip()


def find_regions(source: str, path: str = "<string>") -> list[Region]:
    """Every region in ``source``, in order; MarkerError on any malformed marker."""
    regions: list[Region] = []
    open_at: tuple[int, str, str] | None = None
    for number, line in enumerate(source.splitlines(), start=1):
        where = f"{path}:{number}"
        if not ANY_MARKER.search(line):
            continue
        if begin := BEGIN.match(line):
            if open_at is not None:
                raise MarkerError(
                    f"{where}: nested BEGIN SOLUTION (the region opened at line {open_at[0]} is not closed)"
                )
            open_at = (number, *_task_and_text(begin, where))
        elif END.match(line):
            if open_at is None:
                raise MarkerError(f"{where}: END SOLUTION without a BEGIN SOLUTION before it")
            start, task, text = open_at
            regions.append(Region(task, text, start, number))
            open_at = None
        elif inline := INLINE.match(line):
            if open_at is not None:
                raise MarkerError(f"{where}: a one-line SOLUTION inside the region opened at line {open_at[0]}")
            regions.append(Region(*_task_and_text(inline, where), number, number))
        else:
            raise MarkerError(f"{where}: malformed solution marker: {line.strip()!r}")
    if open_at is not None:
        raise MarkerError(f"{path}:{open_at[0]}: BEGIN SOLUTION is never closed by END SOLUTION")
    return regions


def strip_solutions(source: str, path: str = "<string>", keep: Collection[str] = ()) -> str:
    """The learner's version of ``source``: each region replaced by a NotImplementedError.

    The regions of the tasks in ``keep`` stay as the reference wrote them (the journey check solves
    a workspace one task at a time with it).
    """
    regions = [r for r in find_regions(source, path) if r.task not in keep]
    if not regions:
        return source
    lines = source.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    out: list[str] = []
    cursor = 0
    for region in regions:
        out += lines[cursor : region.start - 1]
        first = lines[region.start - 1]
        indent = first[: len(first) - len(first.lstrip(" \t"))]
        out.append(f"{indent}raise NotImplementedError({json.dumps(region.message, ensure_ascii=False)}){newline}")
        cursor = region.end
    out += lines[cursor:]
    return "".join(out)


def leftover_markers(text: str) -> list[int]:
    """Line numbers that still carry a marker (a generated workspace must have none)."""
    return [n for n, line in enumerate(text.splitlines(), start=1) if ANY_MARKER.search(line)]


def regions_in_tree(root: Path) -> dict[Path, list[Region]]:
    """The regions of every ``.py`` file under ``root`` (files without regions left out)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        regions = find_regions(path.read_text(encoding="utf-8"), str(path))
        if regions:
            found[path] = regions
    return found


STUB = re.compile(r"raise NotImplementedError\(\"(?P<task>c\d\d\.\d+):")


def task_files_in_tree(src: Path) -> dict[str, list[Path]]:
    """Per task id, the ``.py`` files under ``src`` (relative to it) that the task's learner edits.

    Read from the solution regions of a reference tree, or from the ``NotImplementedError`` stubs
    of a generated workspace (a learner's solved task leaves no stub; the workspace's record of
    the generation keeps the full map, see ``learner.task_files``).
    """
    found: dict[str, set[Path]] = {}
    for path in sorted(src.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        tasks = {r.task for r in find_regions(text, str(path))} | {m["task"] for m in STUB.finditer(text)}
        for task in tasks:
            found.setdefault(task, set()).add(path.relative_to(src))
    return {task: sorted(paths) for task, paths in sorted(found.items())}
