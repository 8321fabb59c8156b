"""The tool box: named tools behind one async call with a timeout, budgets, faults and a trace.

A *tool* is a plain function ``dict -> result``. Agents never call one
directly: they go through :meth:`ToolBox.call`, which

1. charges the run's budget for one tool call (:mod:`~c07_agents_systems.budget`),
2. asks the fault injector whether this call fails (:mod:`~c07_agents_systems.faults`),
3. runs the function in a worker thread under a timeout, so a slow tool cannot block the event
   loop (the thread is abandoned on timeout: Python cannot kill a thread; the sandbox tool kills
   its own child process),
4. records a ``tool_call`` event with input, output or error, duration and any fault,

and turns every failure into a :class:`ToolError` with a message naming the tool.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from c07_agents_systems.calculator import calculate
from c07_agents_systems.messages import Trace
from c07_agents_systems.retrieval_tool import RetrievalTool, make_towns
from c07_agents_systems.sandbox import python_tool
from c07_agents_systems.table_tool import TableTool

if TYPE_CHECKING:
    from c07_agents_systems.budget import Meter
    from c07_agents_systems.faults import FaultInjector

ToolFunction = Callable[[dict[str, Any]], Any]
DEFAULT_TOOL_TIMEOUT_S = 10.0
TOOL_DESCRIPTIONS: dict[str, str] = {
    "calculator": '{"expression": "<arithmetic, e.g. (3 + 4) * 2; {s1} is the result of step 1>"}',
    "table": '{"dataset": "iris", "column": "petal length (cm)", "agg": "mean", '
             '"where": {"column": "target", "equals": "setosa"}} (where is optional)',
    "lookup": '{"query": "population of Varnholt"} (facts about towns)',
    "python": '{"code": "print(sum(range(10)))"} (runs in a sandbox, prints the answer)',
}


class ToolError(RuntimeError):
    """A tool call that failed: unknown tool, bad input, the tool raised, timed out, or an injected fault."""

    def __init__(self, message: str, *, injected: bool = False) -> None:
        super().__init__(message)
        self.injected = injected


def numeric_value(output: Any) -> float:
    """The number a tool's output stands for (a float, or the ``value`` of a dict)."""
    value = output.get("value") if isinstance(output, dict) else output
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ToolError(f"tool output {output!r} holds no finite number")
    return float(value)


class ToolBox:
    """Named tools plus what every call needs: trace, budget meter, fault injector, timeout."""

    def __init__(self, tools: dict[str, ToolFunction], *, trace: Trace | None = None,
                 timeout_s: float = DEFAULT_TOOL_TIMEOUT_S) -> None:
        self.tools = dict(tools)
        self.trace = trace if trace is not None else Trace()
        self.timeout_s = timeout_s
        self.meter: Meter | None = None
        self.faults: FaultInjector | None = None
        self.clock: Callable[[], float] = time.perf_counter

    @classmethod
    def standard(cls, *, towns: int = 40, seed: int = 7) -> ToolBox:
        """calculator, table (scikit-learn's data sets), lookup (fact documents) and python."""
        return cls({"calculator": lambda q: calculate(q["expression"]) if isinstance(q, dict) and
                    "expression" in q else calculate(q),  # type: ignore[arg-type]
                    "table": TableTool.bundled(), "lookup": RetrievalTool(make_towns(towns, seed)),
                    "python": python_tool})

    def bind(self, trace: Trace, meter: Meter | None = None, faults: FaultInjector | None = None,
             clock: Callable[[], float] | None = None) -> ToolBox:
        """A tool box over the same tools for one run (its own trace, meter and faults)."""
        box = ToolBox(self.tools, trace=trace, timeout_s=self.timeout_s)
        box.meter, box.faults = meter, faults
        if clock is not None:
            box.clock = clock
        return box

    async def call(self, name: str, request: dict[str, Any], *, caller: str = "executor",
                   timeout_s: float | None = None) -> Any:
        """Run tool ``name`` on ``request`` and return its output.

        Raises:
            ToolError: every failure, with the tool's name and the cause.
            BudgetExceededError: the run's tool-call budget is spent (raised before the call).
        """
        # BEGIN SOLUTION c07.2: charge; draw a fault; run in a thread under a timeout; trace; wrap errors
        if self.meter is not None:
            self.meter.charge_tool_call()
        start = self.clock()
        fault = self.faults.tool_fault(name) if self.faults is not None else None
        output: Any = None
        error: str | None = None
        try:
            if name not in self.tools:
                raise ToolError(f"unknown tool {name!r} (known: {', '.join(self.tools)})")
            if fault == "error":
                raise ToolError(f"{name}: injected fault (the tool failed)", injected=True)
            try:
                output = await asyncio.wait_for(asyncio.to_thread(self.tools[name], request),
                                                timeout=timeout_s or self.timeout_s)
            except TimeoutError as err:
                raise ToolError(f"{name}: timed out after {timeout_s or self.timeout_s} s") from err
            except ToolError:
                raise
            except Exception as err:  # the tool's own error, whatever its type
                raise ToolError(f"{name}: {type(err).__name__}: {err}") from err
            if fault == "corrupt" and self.faults is not None:
                output = self.faults.corrupt(output)
            return output
        except ToolError as err:
            error = str(err)
            raise
        finally:
            self.trace.record("tool_call", caller=caller, tool=name, input=request, output=output,
                              error=error, fault=fault, start=start, duration=self.clock() - start)
        # END SOLUTION
