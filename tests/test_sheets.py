"""Each task of the course states its time and reading, and each sheet shows them (written, not typed)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from curriculum.manifest import discover_modules

REPO = Path(__file__).resolve().parent.parent


def sheets() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sheets", REPO / "tools" / "sheets.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("sheets", module)
    spec.loader.exec_module(module)
    return module


def test_every_task_states_its_time_and_two_to_four_readings():
    for module in discover_modules(REPO):
        for task in module.tasks:
            assert task.minutes and 15 <= task.minutes <= 8 * 60, f"{task.id}: minutes {task.minutes}"
            assert 2 <= len(task.read_first) <= 4, f"{task.id}: {len(task.read_first)} readings"


def test_every_sheet_shows_the_current_guide():
    stale = sheets().stale_sheets(discover_modules(REPO), write=False)
    assert not stale, f"run `python tools/sheets.py`: stale guides in {stale}"


def test_every_task_section_has_time_files_reading_and_rules():
    for module in discover_modules(REPO):
        readme = (module.root / "README.md").read_text(encoding="utf-8")
        for task in module.tasks:
            start = readme.index(f"### {task.id} · ")
            section = readme[start : readme.find("\n### ", start + 1)]
            for part in ("**Time:** about", "**Files you edit:**", "**Read first:**",
                         f"**What you may use ({task.id}):**"):
                assert part in section, f"{module.name}/README.md, {task.id}: no {part}"


def test_the_guide_is_written_under_its_heading_and_replaced_in_place(tmp_path: Path):
    tool = sheets()
    module = discover_modules(REPO)[0]
    task = module.tasks[0]
    text = f"# {module.id}\n\n### {task.id} · A title (1 points)\n\nBody.\n"
    once = tool.refreshed_sheet(module, text)
    assert once.startswith(f"# {module.id}\n\n### {task.id} · A title (1 points)\n\n- **Time:** about ")
    assert once.endswith("\n\nBody.\n")
    assert tool.refreshed_sheet(module, once) == once  # idempotent: an old guide is replaced, not doubled
    assert tool.reading_text("A paper <https://example.org/a>") == "[A paper](https://example.org/a)"
    assert tool.reading_text("A book, chapter 2") == "A book, chapter 2"
