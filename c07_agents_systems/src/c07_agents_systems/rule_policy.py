"""The rule-based policy: deterministic decisions from regular expressions over the task templates.

It reads a task with one regular expression per template of
:mod:`~c07_agents_systems.suite` and writes the plan a careful person would:
for "17 crates of 24 bottles, 130 shipped, split among 4 shops" the steps
``17 * 24``, ``{s1} - 130``, ``{s2} / 4``. A task that matches no template is a
:class:`~c07_agents_systems.actions.PolicyError` ("cannot parse the task"), which ends
the run with that reason. The same parser lets the reviewer check a plan (it plans
independently and compares), and the lone executor pick its next step.

Its step review is where redundancy pays: a step's result is accepted only when an
independent re-run of the same step (the Reviewer's check) agrees with it. A tool
that silently returns a wrong number is caught unless it returns the *same* wrong
number twice. Tokens are charged as if the prompts of :mod:`~c07_agents_systems.prompts`
had been sent to a model.
"""

from __future__ import annotations

import json
import math
import re

from c07_agents_systems.actions import (
    Action,
    Decision,
    Plan,
    PolicyError,
    Step,
    StepOutcome,
    Verdict,
    count_tokens,
)
from c07_agents_systems.prompts import (
    action_messages,
    plan_messages,
    prompt_tokens,
    review_final_messages,
    review_plan_messages,
    review_step_messages,
)
from c07_agents_systems.retrieval_tool import ATTRIBUTES

AGREEMENT_RTOL = 1e-9  # two runs of the same deterministic tool agree to the last bits
_OPS = {"times": "*", "plus": "+", "minus": "-", "divided by": "/"}
_PHRASES = "|".join(re.escape(p) for p, _, _ in ATTRIBUTES.values())
_N = r"(\d+(?:\.\d+)?)"
_TEMPLATES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"holds {_N} crates of {_N} bottles each\. {_N} bottles are shipped out .* among {_N} shops"),
     "warehouse"),
    (re.compile(rf"saves {_N} dollars a week for {_N} weeks and then spends {_N} dollars\. What percentage"),
     "savings"),
    (re.compile(rf"travels {_N} km at {_N} km/h and then {_N} km at {_N} km/h\. What is its average speed"), "train"),
    (re.compile(rf"is {_N} m long and {_N} m wide\. Its length grows by {_N} percent"), "field"),
    (re.compile(rf"the (mean|median|min|max|sum|std) of '([^']+)' over (?:the (\S+)|all) rows of the (\w+) data set, "
                rf"(times|plus|minus|divided by) {_N}\?"), "data"),
    (re.compile(rf"the ({_PHRASES}) of (\w+) plus the ({_PHRASES}) of (\w+)\?"), "lookup2"),
    (re.compile(rf"the ({_PHRASES}) of (\w+), (times|plus|minus|divided by) {_N}\?"), "lookup1"),
]


def _calc(expression: str) -> Step:
    return Step("calculator", {"expression": expression})


def parse_task(task: str) -> Plan:
    """The plan for a task of the suite's templates.

    Raises:
        PolicyError: the task matches no template.
    """
    # BEGIN SOLUTION c07.3: first matching template -> its steps; no match is a PolicyError naming the task
    if not isinstance(task, str):
        raise PolicyError(f"a task is a str, got {type(task).__name__}")
    for pattern, kind in _TEMPLATES:
        m = pattern.search(task)
        if m is None:
            continue
        g = m.groups()
        if kind == "warehouse":
            return Plan((_calc(f"{g[0]} * {g[1]}"), _calc(f"{{s1}} - {g[2]}"), _calc(f"{{s2}} / {g[3]}")))
        if kind == "savings":
            return Plan((_calc(f"{g[0]} * {g[1]}"), _calc(f"{{s1}} - {g[2]}"), _calc("{s2} / {s1} * 100")))
        if kind == "train":
            return Plan((_calc(f"{g[0]} / {g[1]}"), _calc(f"{g[2]} / {g[3]}"),
                         _calc(f"({g[0]} + {g[2]}) / ({{s1}} + {{s2}})")))
        if kind == "field":
            return Plan((_calc(f"{g[0]} * (1 + {g[2]} / 100)"), _calc(f"{{s1}} * {g[1]}")))
        if kind == "data":
            agg, column, rows, dataset, op, k = g
            query: dict[str, object] = {"dataset": dataset, "column": column, "agg": agg}
            if rows is not None:
                query["where"] = {"column": "target", "equals": rows}
            return Plan((Step("table", query), _calc(f"{{s1}} {_OPS[op]} {k}")))
        if kind == "lookup2":
            return Plan((Step("lookup", {"query": f"{g[0]} of {g[1]}"}),
                         Step("lookup", {"query": f"{g[2]} of {g[3]}"}), _calc("{s1} + {s2}")))
        return Plan((Step("lookup", {"query": f"{g[0]} of {g[1]}"}), _calc(f"{{s1}} {_OPS[g[2]]} {g[3]}")))
    raise PolicyError(f"cannot parse the task (no template matches): {task[:120]!r}")
    # END SOLUTION


def _decision(value: Plan | Action | Verdict, messages: list[dict[str, str]]) -> Decision:  # type: ignore[type-arg]
    return Decision(value, prompt_tokens(messages), count_tokens(json.dumps(value.to_json())))


class RulePolicy:
    """Deterministic decisions for every agent (see the module docstring)."""

    name = "rule"

    async def plan(self, task: str) -> Decision[Plan]:
        return _decision(parse_task(task), plan_messages(task))

    async def next_action(self, task: str, history: list[StepOutcome]) -> Decision[Action]:
        # BEGIN SOLUTION c07.3: the next unfinished step of the plan, or finish with the last good value
        plan = parse_task(task)
        done = [h for h in history if h.ok]
        if len(done) < len(plan.steps):
            action = Action("call", step=plan.steps[len(done)])
        else:
            action = Action("finish", answer=done[-1].value)
        return _decision(action, action_messages(task, history))
        # END SOLUTION

    async def review_plan(self, task: str, plan: Plan) -> Decision[Verdict]:
        # BEGIN SOLUTION c07.3: plan independently and compare
        try:
            own = parse_task(task)
        except PolicyError as err:
            verdict = Verdict("reject", str(err))
        else:
            fits = own == plan
            verdict = Verdict("accept", "matches") if fits else Verdict("replan", "the plan does not fit the task")
        return _decision(verdict, review_plan_messages(task, plan))
        # END SOLUTION

    async def review_step(self, task: str, outcome: StepOutcome, check: StepOutcome | None) -> Decision[Verdict]:
        # BEGIN SOLUTION c07.3: retry a failed step; accept only when an independent check agrees
        if not outcome.ok or outcome.value is None:
            verdict = Verdict("retry", f"the step failed: {outcome.error}")
        elif check is None:
            verdict = Verdict("accept", "no check to compare with")
        elif not check.ok or check.value is None:
            verdict = Verdict("retry", f"could not confirm the result: {check.error}")
        elif math.isclose(outcome.value, check.value, rel_tol=AGREEMENT_RTOL, abs_tol=AGREEMENT_RTOL):
            verdict = Verdict("accept", "confirmed by a second run")
        else:
            verdict = Verdict("retry", f"result {outcome.value:g} disagrees with a second run ({check.value:g})")
        return _decision(verdict, review_step_messages(task, outcome, check))
        # END SOLUTION

    async def review_final(self, task: str, answer: float | None, history: list[StepOutcome]) -> Decision[Verdict]:
        # BEGIN SOLUTION c07.3: a finite number that is the last accepted step's value
        if answer is None or not math.isfinite(answer):
            verdict = Verdict("reject", f"the answer {answer!r} is not a finite number")
        elif history and history[-1].value != answer:
            verdict = Verdict("reject", "the answer is not the result of the last step")
        else:
            verdict = Verdict("accept", "a finite number from the last step")
        return _decision(verdict, review_final_messages(task, answer, history))
        # END SOLUTION
