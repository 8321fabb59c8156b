"""c07.2: the tools (safe calculator, polars tables, BM25 lookups, sandboxed Python) and the tool box.

Oracles: Python float arithmetic evaluated alongside the generated expression (calculator), numpy
over scikit-learn's raw arrays (table tool), the town records the documents were written from
(retrieval), the child's observable behaviour (sandbox).
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import datasets

from c07_agents_systems import (
    CalculatorError,
    RetrievalError,
    RetrievalTool,
    SandboxError,
    TableError,
    TableTool,
    ToolBox,
    ToolError,
    Trace,
    bundled_frame,
    calculate,
    make_towns,
    numeric_value,
    run_snippet,
)
from c07_agents_systems.calculator import MAX_EXPONENT
from c07_agents_systems.retrieval_tool import ATTRIBUTES
from c07_agents_systems.sandbox import python_tool

pytestmark = pytest.mark.task("c07.2")

CALC_RTOL = 1e-12  # the same float operations in the same order: equal up to nothing; keep a margin
TABLE_RTOL = 1e-9  # polars and numpy may sum in a different order (pairwise vs sequential)


@st.composite
def expressions(draw: st.DrawFn, depth: int = 0) -> tuple[str, float]:
    """A random arithmetic expression and its value computed with Python floats."""
    if depth > 3 or draw(st.booleans()):
        n = draw(st.integers(-50, 50) | st.floats(-100, 100, allow_nan=False).map(lambda x: round(x, 3)))
        return (f"({n})" if n < 0 else str(n)), float(n)
    (a, va), (b, vb) = draw(expressions(depth + 1)), draw(expressions(depth + 1))
    op = draw(st.sampled_from(["+", "-", "*", "/"]))
    if op == "/" and vb == 0:
        op = "+"
    value = {"+": va + vb, "-": va - vb, "*": va * vb, "/": va / vb if vb else 0.0}[op]
    return f"({a} {op} {b})", value


@settings(deadline=None, max_examples=200, database=None)
@given(expressions())
def test_calculator_matches_float_arithmetic(case: tuple[str, float]) -> None:
    expression, expected = case
    assert math.isclose(calculate(expression), expected, rel_tol=CALC_RTOL, abs_tol=1e-12)


def test_calculator_functions_and_operators() -> None:
    assert calculate("2 ** 10") == 1024.0
    assert calculate("7 // 2 + 7 % 2") == 4.0
    assert calculate("sqrt(16) + abs(-2) + max(1, 5, 3) + min(4, 2) + round(2.6)") == 4 + 2 + 5 + 2 + 3
    assert calculate("floor(2.7) + ceil(2.1) + log(exp(1))") == pytest.approx(6.0)
    assert calculate(" -3 + +4 ") == 1.0


@pytest.mark.parametrize("expression, message", [
    ("__import__('os').system('echo hacked')", "not allowed"),
    ("().__class__.__bases__", "not allowed"),
    ("open('/etc/passwd')", "'open' is not allowed"),
    ("x + 1", "Name is not allowed"),
    ("'ab' * 3", "only numbers"),
    ("[1, 2][0]", "not allowed"),
    ("(lambda: 1)()", "not allowed"),
    ("True + 1", "only numbers"),
    ("9 ** 9 ** 9 ** 9", "exponent"),
    ("2 ** 5000", "exponent"),
    ("10.0 ** 400", "too large"),
    ("1 / 0", "division by zero"),
    ("5 % 0", "division by zero"),
    ("sqrt(-1)", "sqrt"),
    ("max()", "max"),
    ("abs(1, b=2)", "keyword"),
    ("1 +", "cannot parse"),
    ("", "empty"),
    ("1" + " + 1" * 1000, "longer than"),
    ("(" * 300 + "1" + ")" * 300, "cannot parse"),
    ("-(" * 70 + "1" + ")" * 70, "nested deeper"),
    ("1e308 * 10", "not a finite"),
])
def test_calculator_refuses_unsafe_or_undefined_input(expression: str, message: str) -> None:
    with pytest.raises(CalculatorError, match=message):
        calculate(expression)


def test_calculator_refuses_non_strings_and_bounds_exponents() -> None:
    with pytest.raises(CalculatorError, match="str"):
        calculate(12)  # type: ignore[arg-type]
    assert calculate(f"1 ** {MAX_EXPONENT:g}") == 1.0
    assert calculate("(" * 150 + "1" + ")" * 150) == 1.0  # parentheses alone add no depth


def test_table_tool_matches_numpy(tools: ToolBox) -> None:
    table = tools.tools["table"]
    iris = datasets.load_iris()
    setosa = iris.data[iris.target == 0, 2]  # petal length (cm)
    query = {"dataset": "iris", "column": "petal length (cm)", "where": {"column": "target", "equals": "setosa"}}
    for agg, oracle in (("mean", np.mean), ("median", np.median), ("min", np.min), ("max", np.max),
                        ("sum", np.sum), ("std", lambda v: np.std(v, ddof=1)), ("count", len)):
        assert math.isclose(table(query | {"agg": agg}), float(oracle(setosa)), rel_tol=TABLE_RTOL)
    diabetes = datasets.load_diabetes()
    assert math.isclose(table({"dataset": "diabetes", "column": "bmi", "agg": "mean"}),
                        float(np.mean(diabetes.data[:, 2])), rel_tol=TABLE_RTOL, abs_tol=1e-15)
    assert "iris (150 rows)" in table.describe()


@pytest.mark.parametrize("query, message", [
    ({"dataset": "titanic", "column": "age"}, "unknown data set 'titanic'"),
    ({"dataset": "iris", "column": "petal colour"}, "no column 'petal colour'"),
    ({"dataset": "iris", "column": "sepal width (cm)", "agg": "mode"}, "unknown aggregate 'mode'"),
    ({"dataset": "iris", "column": "sepal width (cm)", "where": {"column": "target"}}, "'where' must be"),
    ({"dataset": "iris", "column": "sepal width (cm)", "where": {"column": "target", "equals": "rose"}},
     "no value 'rose'"),
    ({"dataset": "iris", "column": "target", "agg": "mean"}, "not numeric"),
    ("mean of iris", "is a dict"),
])
def test_table_tool_names_what_is_wrong(tools: ToolBox, query: Any, message: str) -> None:
    with pytest.raises(TableError, match=message):
        tools.tools["table"](query)


def test_table_tool_edge_cases() -> None:
    import polars as pl

    table = TableTool({"t": pl.DataFrame({"x": [1.0], "g": ["a"]})})
    with pytest.raises(TableError, match="std over 1 rows"):
        table({"dataset": "t", "column": "x", "agg": "std"})
    assert table({"dataset": "t", "column": "x", "agg": "count", "where": {"column": "g", "equals": "a"}}) == 1.0
    with pytest.raises(TypeError, match="polars DataFrame"):
        table.register("bad", [1, 2])  # type: ignore[arg-type]
    with pytest.raises(TableError, match="no bundled data set"):
        bundled_frame("mnist")
    frame = bundled_frame("wine")
    assert frame.height == 178 and set(frame["target"].unique()) == {"class_0", "class_1", "class_2"}


def test_retrieval_tool_finds_every_fact() -> None:
    towns = make_towns(40, seed=7)
    tool = RetrievalTool(towns)
    assert tool.index.num_docs == 40
    for town in towns:
        for key, (phrase, _, _) in ATTRIBUTES.items():
            found = tool({"query": f"{phrase} of {town.name}"})
            assert found["value"] == town.facts[key], (town.name, phrase, found)
            assert found["doc_id"] == f"town-{town.name.lower()}"
            assert str(town.facts[key]) in found["sentence"]


def test_retrieval_tool_refuses_bad_lookups() -> None:
    tool = RetrievalTool(make_towns(5, seed=1))
    for request in ({}, {"query": ""}, {"query": 3}, "population"):
        with pytest.raises(RetrievalError, match="a lookup is"):
            tool(request)  # type: ignore[arg-type]
    with pytest.raises(RetrievalError, match="no document matches"):
        tool({"query": "zzzqqq xylophone"})
    with pytest.raises(RetrievalError, match="no sentence with a number"):
        tool({"query": "merchants trade market river"})
    with pytest.raises(ValueError, match="at least 2"):
        make_towns(1)
    assert [t.name for t in make_towns(5, seed=1)] == [t.name for t in tool.towns]  # seeded


def test_sandbox_runs_code_in_an_isolated_child() -> None:
    result = run_snippet("import sys, os; print(sum(range(10))); print(sys.flags.isolated, len(os.environ) <= 2)")
    assert result.stdout.split() == ["45", "1", "True"] and result.returncode == 0 and not result.truncated
    assert python_tool({"code": "print(6 * 7)"})["value"] == 42.0
    assert "value" not in python_tool({"code": "print('hello')"})
    with pytest.raises(ValueError, match="code"):
        python_tool({"src": "print(1)"})


def test_sandbox_stops_an_infinite_loop() -> None:
    start = time.perf_counter()
    with pytest.raises(SandboxError, match=r"timed out|CPU limit"):
        run_snippet("while True: pass", timeout_s=1.0)
    assert time.perf_counter() - start < 30  # a hang would be caught by the test timeout anyway


def test_sandbox_stops_a_memory_bomb() -> None:
    with pytest.raises(SandboxError, match=r"MemoryError|failed"):
        run_snippet("x = bytearray(2 * 1024 ** 3)\nprint(len(x))", memory_bytes=256 * 1024 ** 2)


def test_sandbox_bounds_a_huge_print() -> None:
    result = run_snippet("import sys\nfor _ in range(2000): sys.stdout.write('x' * 10000)", max_output=4096)
    assert result.truncated and len(result.stdout) == 4096


def test_sandbox_reports_errors_and_refuses_bad_arguments() -> None:
    with pytest.raises(SandboxError, match="ZeroDivisionError"):
        run_snippet("1 / 0")
    with pytest.raises(SandboxError, match="exit status 3"):
        run_snippet("import sys; sys.exit(3)")
    with pytest.raises(ValueError, match="at most"):
        run_snippet("x" * 30_000)
    with pytest.raises(ValueError, match="positive"):
        run_snippet("print(1)", timeout_s=0)


def test_tool_box_wraps_failures_and_traces_every_call() -> None:
    def boom(request: dict[str, Any]) -> float:
        raise KeyError("missing")

    def slow(request: dict[str, Any]) -> float:
        time.sleep(0.3)
        return 1.0

    trace = Trace()
    box = ToolBox({"boom": boom, "slow": slow, "one": lambda q: 1.0}, trace=trace, timeout_s=0.05)

    async def main() -> None:
        assert await box.call("one", {}) == 1.0
        with pytest.raises(ToolError, match="unknown tool 'nope'"):
            await box.call("nope", {})
        with pytest.raises(ToolError, match="boom: KeyError"):
            await box.call("boom", {})
        with pytest.raises(ToolError, match="slow: timed out"):
            await box.call("slow", {})

    asyncio.run(main())
    calls = trace.of_type("tool_call")
    assert [c["tool"] for c in calls] == ["one", "nope", "boom", "slow"]
    assert calls[0]["error"] is None and all(c["error"] for c in calls[1:])
    assert numeric_value({"value": 2}) == 2.0
    for bad in ("x", {"value": math.nan}, True, None):
        with pytest.raises(ToolError, match="no finite number"):
            numeric_value(bad)


def test_standard_tool_box_calculator_forms(tools: ToolBox) -> None:
    assert tools.tools["calculator"]({"expression": "1 + 2"}) == 3.0
    assert tools.tools["calculator"]("2 * 4") == 8.0
    assert set(tools.tools) == {"calculator", "table", "lookup", "python"}
