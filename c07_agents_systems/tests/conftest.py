"""Shared fixtures: the standard tool box, the seeded suite, and the rule-based evaluation, once per session.

Everything here is deterministic: the suite, the towns and the fault draws come from fixed seeds.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from c07_agents_systems import RulePolicy, SuiteTask, ToolBox, make_suite
from c07_agents_systems.evaluate import evaluate_async, standard_specs
from c07_agents_systems.records import TaskRecord

SUITE_SIZE = 120
SUITE_SEED = 0
FAULT_RATE = 0.2  # the tools' fault rate the graded thresholds are stated for (tasks.toml)


@pytest.fixture(scope="session", autouse=True)
def _offline() -> None:
    """Nothing may download at run time (c05's model comes inside a wheel)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def tools() -> ToolBox:
    return ToolBox.standard()


@pytest.fixture(scope="session")
def suite() -> list[SuiteTask]:
    return make_suite(SUITE_SIZE, seed=SUITE_SEED)


@pytest.fixture(scope="session")
def rule_records(suite: list[SuiteTask], tools: ToolBox) -> list[TaskRecord]:
    """Every task under the six rule-based configurations (3 modes x without / with tool faults)."""
    records, _ = asyncio.run(evaluate_async(suite, standard_specs(FAULT_RATE), {"rule": RulePolicy()}, tools,
                                            seed=SUITE_SEED))
    return records
