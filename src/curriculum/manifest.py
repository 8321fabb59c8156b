"""The task manifest: each module's ordered list of graded tasks (``tasks.toml``).

The manifest is the single source of truth for points, hints, timeouts, metric
thresholds, coverage minimums and prerequisites; tests look thresholds up here
through the ``metric`` fixture instead of hard-coding them.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

MANIFEST_NAME = "tasks.toml"
MODULE_GLOB = "c[0-9][0-9]_*/" + MANIFEST_NAME
TASK_ID = re.compile(r"^c\d\d\.\d+$")
MODULE_ID = re.compile(r"^c\d\d$")
Direction = Literal["higher", "lower"]


class ManifestError(ValueError):
    """A manifest that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class MetricSpec:
    """A measured value a task must reach: ``higher`` means value >= threshold."""

    name: str
    threshold: float
    direction: Direction

    def met(self, value: float) -> bool:
        if value != value:  # NaN never meets a threshold
            return False
        return value >= self.threshold if self.direction == "higher" else value <= self.threshold

    @property
    def symbol(self) -> str:
        return ">=" if self.direction == "higher" else "<="


@dataclass(frozen=True)
class Task:
    id: str
    title: str
    points: float
    hint: str
    timeout_s: float
    requires: tuple[str, ...] = ()
    metrics: tuple[MetricSpec, ...] = ()
    forbid: tuple[str, ...] = ()  # modules and attributes the task's own files may not use (rules.py)
    minutes: int | None = None  # the time a learner should plan for the task
    read_first: tuple[str, ...] = ()  # two to four pointers: "title <url>" or a book and its chapter

    def metric(self, name: str) -> MetricSpec | None:
        return next((m for m in self.metrics if m.name == name), None)


@dataclass(frozen=True)
class Module:
    id: str
    package: str
    title: str
    status: Literal["built", "planned"]
    root: Path
    coverage_min: float
    timeout_s: float
    memory_mb: int
    prerequisites: tuple[str, ...] = ()
    tasks: tuple[Task, ...] = field(default_factory=tuple)

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def built(self) -> bool:
        return self.status == "built"

    @property
    def max_points(self) -> float:
        return sum(t.points for t in self.tasks)

    def task(self, task_id: str) -> Task:
        for task in self.tasks:
            if task.id == task_id:
                return task
        known = ", ".join(t.id for t in self.tasks) or "none"
        raise KeyError(f"{self.id} has no task {task_id!r} (tasks: {known})")


def duration_text(minutes: int) -> str:
    """A task's planned time for people: 90 -> "1 h 30 min", 120 -> "2 h", 45 -> "45 min"."""
    hours, rest = divmod(minutes, 60)
    return " ".join(part for part in (f"{hours} h" if hours else "", f"{rest} min" if rest else "") if part)


def _get(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in table:
        raise ManifestError(f"{where}: missing field {key!r}")
    value = table[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ManifestError(f"{where}: field {key!r} has the wrong type ({type(value).__name__})")
    return value


def _parse_metric(raw: Any, where: str) -> MetricSpec:
    if not isinstance(raw, dict):
        raise ManifestError(f"{where}: each metric is a table with name, threshold, direction")
    direction = _get(raw, "direction", str, where)
    if direction not in ("higher", "lower"):
        raise ManifestError(f"{where}: direction must be 'higher' or 'lower', not {direction!r}")
    return MetricSpec(
        name=_get(raw, "name", str, where),
        threshold=float(_get(raw, "threshold", (int, float), where)),
        direction=direction,
    )


def _parse_task(raw: Any, module_id: str, where: str) -> Task:
    if not isinstance(raw, dict):
        raise ManifestError(f"{where}: each [[tasks]] entry must be a table")
    task_id = _get(raw, "id", str, where)
    where = f"{where} task {task_id}"
    if not TASK_ID.match(task_id) or not task_id.startswith(module_id + "."):
        raise ManifestError(f"{where}: task id must look like '{module_id}.1'")
    points = float(_get(raw, "points", (int, float), where))
    timeout_s = float(_get(raw, "timeout_s", (int, float), where))
    if points <= 0 or timeout_s <= 0:
        raise ManifestError(f"{where}: points and timeout_s must be positive")
    metrics = tuple(_parse_metric(m, where) for m in raw.get("metrics", []))
    if len({m.name for m in metrics}) != len(metrics):
        raise ManifestError(f"{where}: metric names must be unique")
    forbid = tuple(_get(raw, "forbid", list, where)) if "forbid" in raw else ()
    for rule in forbid:
        if not isinstance(rule, str) or not rule or not all(p.isidentifier() for p in rule.split(".")):
            raise ManifestError(f"{where}: forbid entry {rule!r} is not a dotted module or attribute name")
    minutes = _get(raw, "minutes", int, where) if "minutes" in raw else None
    if minutes is not None and minutes <= 0:
        raise ManifestError(f"{where}: minutes must be positive")
    read_first = tuple(_get(raw, "read_first", list, where)) if "read_first" in raw else ()
    if not all(isinstance(item, str) and item.strip() for item in read_first):
        raise ManifestError(f"{where}: read_first holds non-empty strings")
    return Task(
        id=task_id,
        title=_get(raw, "title", str, where),
        points=points,
        hint=_get(raw, "hint", str, where),
        timeout_s=timeout_s,
        requires=tuple(_get(raw, "requires", list, where)) if "requires" in raw else (),
        metrics=metrics,
        forbid=forbid,
        minutes=minutes,
        read_first=read_first,
    )


def load_module(root: Path) -> Module:
    """Read and check ``root/tasks.toml``; raise ManifestError naming what is wrong."""
    path = root / MANIFEST_NAME
    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"{where}: no task manifest here") from None
    except tomllib.TOMLDecodeError as err:
        raise ManifestError(f"{where}: not valid TOML: {err}") from None
    meta = data.get("module")
    if not isinstance(meta, dict):
        raise ManifestError(f"{where}: missing the [module] table")
    module_id = _get(meta, "id", str, where)
    if not MODULE_ID.match(module_id):
        raise ManifestError(f"{where}: module id must look like 'c01', not {module_id!r}")
    status = _get(meta, "status", str, where)
    if status not in ("built", "planned"):
        raise ManifestError(f"{where}: status must be 'built' or 'planned', not {status!r}")
    tasks = tuple(_parse_task(t, module_id, where) for t in data.get("tasks", []))
    ids = [t.id for t in tasks]
    if len(set(ids)) != len(ids):
        raise ManifestError(f"{where}: duplicate task ids in {ids}")
    for task in tasks:
        for req in task.requires:
            if req.startswith(module_id + ".") and req not in ids[: ids.index(task.id)]:
                raise ManifestError(f"{where} task {task.id}: requires {req}, which is not an earlier task")
    if status == "planned" and tasks:
        raise ManifestError(f"{where}: a planned module holds no graded tasks")
    if status == "built" and not tasks:
        raise ManifestError(f"{where}: a built module needs at least one [[tasks]] entry")
    return Module(
        id=module_id,
        package=_get(meta, "package", str, where),
        title=_get(meta, "title", str, where),
        status=status,
        root=root,
        coverage_min=float(_get(meta, "coverage_min", (int, float), where)),
        timeout_s=float(_get(meta, "timeout_s", (int, float), where)),
        memory_mb=int(_get(meta, "memory_mb", int, where)),
        prerequisites=tuple(_get(meta, "prerequisites", list, where)),
        tasks=tasks,
    )


def discover_modules(course_root: Path) -> list[Module]:
    """Every module under ``course_root``, in course order (c01, c02, ...)."""
    modules = [load_module(p.parent) for p in sorted(course_root.glob(MODULE_GLOB))]
    ids = [m.id for m in modules]
    for module in modules:
        for prereq in module.prerequisites:
            if prereq not in ids[: ids.index(module.id)]:
                raise ManifestError(
                    f"{module.root / MANIFEST_NAME}: prerequisite {prereq!r} is not an earlier module"
                )
    return modules


def find_course_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` that holds module manifests."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if any(folder.glob(MODULE_GLOB)):
            return folder
    raise ManifestError(f"no course found at or above {start} (looked for {MODULE_GLOB})")


def find_task(modules: list[Module], task_id: str) -> tuple[Module, Task]:
    """The module and task for an id such as ``c01.3``; KeyError names the known ids."""
    for module in modules:
        if task_id.startswith(module.id + "."):
            return module, module.task(task_id)
    raise KeyError(f"no module for task {task_id!r} (modules: {', '.join(m.id for m in modules)})")


def find_module(modules: list[Module], module_id: str) -> Module:
    for module in modules:
        if module_id in (module.id, module.name):
            return module
    raise KeyError(f"no module {module_id!r} (modules: {', '.join(m.id for m in modules)})")
