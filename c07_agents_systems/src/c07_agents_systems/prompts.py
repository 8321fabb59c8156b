"""The prompts a chat-model policy sends (and a rule-based policy is charged for, see ``actions``).

One system prompt describes the tools and the three JSON formats; each decision
adds one user message with the task and what is known so far. Small models
follow a format far better with an example, so each request ends with one.
"""

from __future__ import annotations

import json

from c07_agents_systems.actions import Plan, StepOutcome
from c07_agents_systems.tools import TOOL_DESCRIPTIONS

ChatMessages = list[dict[str, str]]

SYSTEM = ("You are one agent of a team that answers questions with tools. Reply with ONE JSON object and "
          "nothing else.\nTools and their input:\n" +
          "\n".join(f"- {name}: {example}" for name, example in TOOL_DESCRIPTIONS.items()))


def _history(history: list[StepOutcome]) -> str:
    if not history:
        return "No step has run yet."
    return "\n".join(f"step {i}: {json.dumps(h.step.to_json())} -> "
                     f"{h.value if h.ok else 'ERROR ' + str(h.error)}" for i, h in enumerate(history, start=1))


EXAMPLE_TASK = "A box holds 4 bags of 6 apples. 5 apples are eaten. How many apples are left?"
EXAMPLE_PLAN = {"steps": [{"tool": "calculator", "input": {"expression": "4 * 6"}},
                          {"tool": "calculator", "input": {"expression": "{s1} - 5"}}]}


def plan_messages(task: str) -> ChatMessages:
    """System, one worked example as a previous turn (small models copy its format), then the task."""
    instruction = "Write the plan as JSON: the tool steps whose last result is the answer.\nTask: "
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": instruction + EXAMPLE_TASK},
            {"role": "assistant", "content": json.dumps(EXAMPLE_PLAN)},
            {"role": "user", "content": instruction + task}]


def action_messages(task: str, history: list[StepOutcome]) -> ChatMessages:
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Task: {task}\n{_history(history)}\nNext action: "
                                        '{"action": "call", "tool": "calculator", "input": {"expression": "2 + 2"}} '
                                        'or, when the last result answers the task, {"action": "finish", "answer": 4}'}]


def review_plan_messages(task: str, plan: Plan) -> ChatMessages:
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Task: {task}\nPlan: {json.dumps(plan.to_json())}\nDoes the plan compute "
                                        'the answer? Reply {"verdict": "accept"} or {"verdict": "replan", '
                                        '"reason": "..."}'}]


def review_step_messages(task: str, outcome: StepOutcome, check: StepOutcome | None) -> ChatMessages:
    checked = "" if check is None else f"\nThe same step run again gave: {check.value if check.ok else check.error}"
    result = outcome.value if outcome.ok else f"ERROR {outcome.error}"
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Task: {task}\nStep: {json.dumps(outcome.step.to_json())}\nResult: "
                                        f"{result}{checked}\nIs the result right? Reply "
                                        '{"verdict": "accept"} or {"verdict": "retry", "reason": "..."}'}]


def review_final_messages(task: str, answer: float | None, history: list[StepOutcome]) -> ChatMessages:
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Task: {task}\n{_history(history)}\nFinal answer: {answer}\nReply "
                                        '{"verdict": "accept"} or {"verdict": "reject", "reason": "..."}'}]


def prompt_tokens(messages: ChatMessages) -> int:
    from c07_agents_systems.actions import count_tokens

    return sum(count_tokens(m["content"]) + 4 for m in messages)  # ~4 tokens of chat template per message
