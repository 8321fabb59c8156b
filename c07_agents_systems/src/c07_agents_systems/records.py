"""What an evaluation run records: one :class:`TaskRecord` per task run, one :class:`Summary` per configuration.

:mod:`~c07_agents_systems.evaluate` produces them and :mod:`~c07_agents_systems.plots` draws them;
both import them from here, so neither needs the other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TaskRecord:
    """One task run once under one configuration: the outcome and what it cost."""

    config: str
    task_id: str
    family: str
    success: bool
    answer: float | None
    expected: float
    reason: str
    steps: int
    tokens: int
    tool_calls: int
    wall_s: float
    cost: float


@dataclass(frozen=True)
class Summary:
    """One configuration over the whole suite: rates, means and the success rate per task family."""

    config: str
    tasks: int
    success_rate: float
    mean_steps: float
    p95_steps: float
    mean_tokens: float
    mean_tool_calls: float
    mean_wall_s: float
    mean_cost: float
    by_family: dict[str, float]
