"""Companion notebooks: one per module, generated, never edited by hand (``make notebooks``).

A module's notebook is put together from three sources that already exist for other reasons:

* its exercise sheet (``README.md``): the title and the introduction above the first ``##`` heading;
* its manifest (``tasks.toml``) and solution markers: a table of the tasks in order, with the files
  each task edits and the command that checks it;
* its demonstration script, ``demo.py`` in the module folder: plain Python in the "percent" format
  that Jupyter tools share (``# %%`` starts a code cell, ``# %% [markdown]`` a text cell whose lines
  are comments). Being Python, it is linted like the rest of the course, and ``make notebooks``
  turns it into cells.

In a learner's workspace the cells of a task raise ``NotImplementedError`` until that task is solved:
the notebook is a place to try the module's public API, the tests stay the judge.
:func:`execute_notebook` runs a notebook top to bottom with ``nbclient`` (CI runs some, so they
cannot rot).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

from curriculum.learner import task_files
from curriculum.manifest import Module

DEMO_NAME = "demo.py"
CELL = re.compile(r"^# %%(?P<markdown> \[markdown\])?[^\n]*$", re.M)
KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}


def sheet_introduction(readme: str) -> str:
    """The sheet's title and introduction: everything above its first ``##`` heading."""
    head = re.split(r"^## ", readme, maxsplit=1, flags=re.M)[0]
    return head.strip()


def demo_cells(source: str) -> list[tuple[str, str]]:
    """(kind, text) for each cell of a percent-format script; text before the first marker is dropped."""
    cells: list[tuple[str, str]] = []
    marks = list(CELL.finditer(source))
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(source)
        body = source[mark.end() : end].strip("\n")
        if mark.group("markdown"):
            lines = [re.sub(r"^# ?", "", line) for line in body.splitlines()]
            cells.append(("markdown", "\n".join(lines).strip()))
        elif body.strip():
            cells.append(("code", body.rstrip()))
    return cells


def task_table(module: Module) -> str:
    """The module's tasks in order: id, title, points, the files to edit and how to check one."""
    files = task_files(module)
    rows = ["| task | what you build | points | files you edit |", "|---|---|---|---|"]
    for task in module.tasks:
        edited = ", ".join(f"`{p}`" for p in files.get(task.id, [])) or "-"
        rows.append(f"| {task.id} | {task.title} | {task.points:g} | {edited} |")
    return "\n".join(rows) + "\n\nCheck a task from a terminal in your workspace: `curriculum check cNN.K`; " \
        "`curriculum hint cNN.K` gives its hint."


def build_notebook(module: Module) -> NotebookNode:
    """The companion notebook of ``module`` (needs ``demo.py`` in its folder)."""
    demo = module.root / DEMO_NAME
    if not demo.is_file():
        raise FileNotFoundError(f"{module.name}: no {DEMO_NAME} to build its notebook from")
    readme = (module.root / "README.md").read_text(encoding="utf-8")
    cells = [nbformat.v4.new_markdown_cell(sheet_introduction(readme)),
             nbformat.v4.new_markdown_cell("## The tasks\n\n" + task_table(module)),
             nbformat.v4.new_markdown_cell("## Try it\n\nThe cells below use the module's public API. A cell "
                                           "raises `NotImplementedError` naming its task until you have "
                                           "solved that task in your workspace.")]
    for kind, text in demo_cells(demo.read_text(encoding="utf-8")):
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        cells.append(make(text))
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = KERNEL
    notebook.metadata["language_info"] = {"name": "python"}
    for index, cell in enumerate(notebook.cells):  # stable ids: regenerating gives the same bytes
        cell["id"] = f"{module.id}-{index:02d}"
    return notebook


def write_notebooks(modules: list[Module], out: Path) -> list[Path]:
    """Write ``out/<module>.ipynb`` for every built module that has a demo; return the paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for module in modules:
        if not module.built or not (module.root / DEMO_NAME).is_file():
            continue
        path = out / f"{module.name}.ipynb"
        notebook = build_notebook(module)
        nbformat.validate(notebook)
        path.write_text(nbformat.writes(notebook) + "\n", encoding="utf-8")
        written.append(path)
    return written


def execute_notebook(path: Path, working_dir: Path, timeout_s: int = 600) -> NotebookNode:
    """Run every cell of ``path`` in a fresh kernel with ``working_dir`` as its folder; raise on an error."""
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    # The kernel listens on the loopback interface only; a busy machine may need minutes to start it.
    client = NotebookClient(notebook, timeout=timeout_s, startup_timeout=300, kernel_name=KERNEL["name"],
                            resources={"metadata": {"path": str(working_dir)}})
    client.execute()
    return notebook
