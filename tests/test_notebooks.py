"""Companion notebooks: generated from each module's sheet, manifest and demo.py, valid nbformat."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import nbformat

from curriculum.manifest import discover_modules
from curriculum.notebooks import build_notebook, demo_cells, sheet_introduction, write_notebooks

REPO = Path(__file__).resolve().parent.parent


def test_percent_cells_are_split_into_code_and_text():
    source = ('"""docstring: not a cell"""\n\n# %% [markdown]\n# ### A title\n# some *text*\n\n'
              "# %%\nx = 1\nprint(x)\n\n# %%\n\n# %% [markdown]\n#\n# more\n")
    assert demo_cells(source) == [("markdown", "### A title\nsome *text*"), ("code", "x = 1\nprint(x)"),
                                  ("markdown", "more")]


def test_the_introduction_stops_at_the_first_section():
    assert sheet_introduction("# c09 title\n\nIntro.\n\n## Tasks\nno\n") == "# c09 title\n\nIntro."


def test_every_module_gets_a_valid_notebook(tmp_path: Path):
    modules = discover_modules(REPO)
    written = write_notebooks(modules, tmp_path)
    assert [p.name for p in written] == [f"{m.name}.ipynb" for m in modules]
    for module, path in zip(modules, written, strict=True):
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        text = "\n".join(cell.source for cell in notebook.cells)
        assert text.startswith(f"# {module.id}")
        assert all(task.id in text for task in module.tasks)  # the task table lists every task
        assert sum(cell.cell_type == "code" for cell in notebook.cells) >= 2
        assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")


def test_regenerating_gives_the_same_bytes(tmp_path: Path):
    modules = discover_modules(REPO)
    first = [p.read_bytes() for p in write_notebooks(modules, tmp_path / "a")]
    second = [p.read_bytes() for p in write_notebooks(modules, tmp_path / "b")]
    assert first == second


def test_a_module_without_a_demo_is_named(tmp_path: Path):
    module = discover_modules(REPO)[0]
    fake = replace(module, root=tmp_path)
    (tmp_path / "README.md").write_text("# c01\n")
    try:
        build_notebook(fake)
    except FileNotFoundError as err:
        assert "demo.py" in str(err)
    else:
        raise AssertionError("a module without demo.py built a notebook")
