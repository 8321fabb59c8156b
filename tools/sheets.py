"""The task guide under each task heading of the exercise sheets, written from the manifests.

Every task section of a module's ``README.md`` (``### c01.1 · Title (15 points)``) opens with a
short list that the learner reads before starting::

    - **Time:** about 2 h 30 min
    - **Files you edit:** `c01_base/src/c01_base/kernels.py`, `c01_base/src/c01_base/validation.py`
    - **Read first:** [numba: a ~5 minute guide](https://...); ...

Time and reading live in ``tasks.toml`` (``minutes``, ``read_first``), the files come from the
solution markers, so the list is written, never typed: ``python tools/sheets.py`` refreshes every
sheet and ``python tools/sheets.py --check`` (a course test) fails on a stale one. The task's
"What you may use" paragraph, which follows, states its ``forbid`` rules.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from curriculum.learner import task_files
from curriculum.manifest import Module, Task, discover_modules, duration_text

REPO = Path(__file__).resolve().parent.parent
GUIDE_START = "- **Time:**"
LINK = re.compile(r"^(?P<title>.+?) <(?P<url>https?://[^>]+)>$")


def reading_text(item: str) -> str:
    """``"title <url>"`` as a Markdown link; a book and its chapter stays as written."""
    match = LINK.match(item.strip())
    return f"[{match['title']}]({match['url']})" if match else item.strip()


def guide_block(module: Module, task: Task, files: list[Path]) -> list[str]:
    """The guide's lines for one task (no trailing blank line)."""
    edited = ", ".join(f"`{module.name}/src/{p.as_posix()}`" for p in files) or "none (the task is about running)"
    lines = [f"{GUIDE_START} about {duration_text(task.minutes)}" if task.minutes else f"{GUIDE_START} not stated",
             f"- **Files you edit:** {edited}"]
    if task.read_first:
        lines.append("- **Read first:** " + "; ".join(reading_text(item) for item in task.read_first))
    return lines


def refreshed_sheet(module: Module, text: str) -> str:
    """``text`` (a module README) with the guide under every task heading written anew."""
    files = task_files(module)
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        out.append(lines[i])
        heading = re.match(r"^### (c\d\d\.\d+) · ", lines[i])
        i += 1
        if not heading or heading.group(1) not in {t.id for t in module.tasks}:
            continue
        task = module.task(heading.group(1))
        # Drop an earlier guide (the blank line, then its list), then write the current one.
        if i + 1 < len(lines) and lines[i] == "" and lines[i + 1].startswith(GUIDE_START):
            i += 1
            while i < len(lines) and lines[i].startswith("- **"):
                i += 1
        out.extend(["", *guide_block(module, task, files.get(task.id, []))])
    return "\n".join(out)


def stale_sheets(modules: list[Module], *, write: bool) -> list[str]:
    """Names of the sheets whose guide is out of date (written anew when ``write``)."""
    stale = []
    for module in modules:
        if not module.built:
            continue
        path = module.root / "README.md"
        text = path.read_text(encoding="utf-8")
        fresh = refreshed_sheet(module, text)
        if fresh != text:
            stale.append(str(path.relative_to(module.root.parent)))
            if write:
                path.write_text(fresh, encoding="utf-8")
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="write the task guides of the exercise sheets")
    parser.add_argument("--check", action="store_true", help="only report stale sheets (exit 1 if any)")
    args = parser.parse_args(argv)
    stale = stale_sheets(discover_modules(REPO), write=not args.check)
    verb = "stale" if args.check else "rewritten"
    for name in stale:
        print(f"{verb}: {name}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
