"""The task suite: seeded templates with checkable answers, in three families.

* **arithmetic**: multi-step word problems (four templates), all-integer inputs;
* **data**: an aggregate of one column of a scikit-learn data set, optionally over one class,
  then one arithmetic operation ("... over the setosa rows of the iris data set, times 3?");
* **lookup**: facts about the fictional towns of :mod:`~c07_agents_systems.retrieval_tool`, one or
  two lookups combined by arithmetic.

Each answer is computed here by an *oracle* that shares no code with the tools: plain Python
arithmetic, numpy over scikit-learn's arrays (not polars), the town records themselves (not the
index). A run succeeds when its answer is within ``ANSWER_RTOL`` of the oracle's.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn import datasets

from c07_agents_systems.retrieval_tool import ATTRIBUTES, Town, make_towns

FAMILIES: tuple[str, ...] = ("arithmetic", "data", "lookup")
ANSWER_RTOL = 1e-6  # float64 arithmetic in a different order than the oracle's: ~1e-12 apart
_AGGREGATES = ("mean", "median", "min", "max", "sum", "std")
_OPERATIONS: dict[str, Callable[[float, float], float]] = {
    "times": lambda x, k: x * k, "plus": lambda x, k: x + k, "minus": lambda x, k: x - k,
    "divided by": lambda x, k: x / k}
_DATASETS = {"iris": datasets.load_iris, "wine": datasets.load_wine,
             "breast_cancer": datasets.load_breast_cancer, "diabetes": datasets.load_diabetes}


@dataclass(frozen=True)
class SuiteTask:
    task_id: str
    family: str
    text: str
    answer: float

    def is_correct(self, answer: float | None) -> bool:
        return answer is not None and math.isfinite(answer) and math.isclose(
            answer, self.answer, rel_tol=ANSWER_RTOL, abs_tol=ANSWER_RTOL)


def arithmetic_task(rng: random.Random) -> tuple[str, float]:
    """One word problem and its answer."""
    # BEGIN SOLUTION c07.5: pick a template; draw inputs so every answer is well defined
    template = rng.randrange(4)
    if template == 0:
        d = rng.randint(2, 9)
        a, b = rng.randint(5, 40), rng.randint(6, 48)
        c = a * b - d * rng.randint(1, a * b // d - 1)  # so each shop gets a whole number
        return (f"A warehouse holds {a} crates of {b} bottles each. {c} bottles are shipped out and the rest "
                f"are split equally among {d} shops. How many bottles does each shop get?", (a * b - c) / d)
    if template == 1:
        a, b = rng.randint(5, 90), rng.randint(2, 52)
        c = rng.randint(1, a * b - 1)
        return (f"Mia saves {a} dollars a week for {b} weeks and then spends {c} dollars. "
                f"What percentage of her savings is left?", (a * b - c) / (a * b) * 100)
    if template == 2:
        a, b, c, d = rng.randint(20, 400), rng.randint(30, 160), rng.randint(20, 400), rng.randint(30, 160)
        return (f"A train travels {a} km at {b} km/h and then {c} km at {d} km/h. What is its average speed "
                f"in km/h over the whole trip?", (a + c) / (a / b + c / d))
    a, b, c = rng.randint(3, 200), rng.randint(3, 200), rng.randint(1, 80)
    return (f"A field is {a} m long and {b} m wide. Its length grows by {c} percent. What is its new area "
            f"in square metres?", a * (1 + c / 100) * b)
    # END SOLUTION


def data_task(rng: random.Random) -> tuple[str, float]:
    """One question over a bundled data set and its answer (numpy over the raw arrays)."""
    # BEGIN SOLUTION c07.5: data set, column, optional class, aggregate, operation; the numpy oracle
    name = rng.choice(sorted(_DATASETS))
    bunch = _DATASETS[name]()
    j = rng.randrange(len(bunch.feature_names))
    column, values = str(bunch.feature_names[j]), np.asarray(bunch.data[:, j], dtype=np.float64)
    names = getattr(bunch, "target_names", None)
    rows = "all"
    if names is not None and rng.random() < 0.75:
        k = rng.randrange(len(names))
        rows, values = str(names[k]), values[np.asarray(bunch.target) == k]
    agg = rng.choice(_AGGREGATES)
    value = float(np.std(values, ddof=1)) if agg == "std" else float(getattr(np, agg)(values))
    op, k = rng.choice(sorted(_OPERATIONS)), rng.randint(2, 12)
    text = (f"What is the {agg} of '{column}' over {rows} rows of the {name} data set, {op} {k}?"
            if rows == "all" else
            f"What is the {agg} of '{column}' over the {rows} rows of the {name} data set, {op} {k}?")
    return text, float(_OPERATIONS[op](value, k))
    # END SOLUTION


def lookup_task(rng: random.Random, towns: list[Town]) -> tuple[str, float]:
    """One question about the towns and its answer (from the town records)."""
    # BEGIN SOLUTION c07.5: one lookup and an operation, or two lookups added
    first, second = rng.sample(towns, 2)
    attr1, attr2 = rng.choice(sorted(ATTRIBUTES)), rng.choice(sorted(ATTRIBUTES))
    phrase1, phrase2 = ATTRIBUTES[attr1][0], ATTRIBUTES[attr2][0]
    if rng.random() < 0.5:
        return (f"What is the {phrase1} of {first.name} plus the {phrase2} of {second.name}?",
                float(first.facts[attr1] + second.facts[attr2]))
    op, k = rng.choice(sorted(_OPERATIONS)), rng.randint(2, 12)
    return f"What is the {phrase1} of {first.name}, {op} {k}?", float(_OPERATIONS[op](first.facts[attr1], k))
    # END SOLUTION


def make_suite(n: int = 120, *, seed: int = 0, towns: list[Town] | None = None) -> list[SuiteTask]:
    """``n`` tasks, the families in turn, reproducible from ``seed`` (towns: the retrieval tool's)."""
    # BEGIN SOLUTION c07.5: one generator; round-robin over the families; ids by family and index
    if n < 1:
        raise ValueError(f"a suite needs at least one task, got n={n}")
    rng = random.Random(seed)
    towns = towns if towns is not None else make_towns()
    tasks = []
    for i in range(n):
        family = FAMILIES[i % len(FAMILIES)]
        if family == "arithmetic":
            text, answer = arithmetic_task(rng)
        elif family == "data":
            text, answer = data_task(rng)
        else:
            text, answer = lookup_task(rng, towns)
        tasks.append(SuiteTask(f"{family}-{i:03d}", family, text, answer))
    return tasks
    # END SOLUTION
