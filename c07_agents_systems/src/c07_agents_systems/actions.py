"""Structured actions: what a policy decides, as JSON with a schema, and the parser for model output.

Every decision of every agent is one of three JSON objects, each with a JSON Schema:

* a **plan** (the Planner): ``{"steps": [{"tool": "calculator", "input": {"expression": "3 * 4"}}, ...]}``;
  a string in a later step's input may refer to the result of step ``k`` as ``{sk}`` (1-based);
* an **action** (a lone Executor): ``{"action": "call", "tool": ..., "input": {...}}`` or
  ``{"action": "finish", "answer": 42.0}``;
* a **verdict** (the Reviewer): ``{"verdict": "accept" | "retry" | "replan" | "reject", "reason": "..."}``.

A model's text is untrusted: :func:`extract_json` takes the first JSON object in it
(skipping prose and code fences), the schema is checked with ``jsonschema``, and
anything else raises :class:`MalformedOutputError` naming what is wrong. The agent turns
that into an ``error`` reply, which the coordinator treats as a failed step to
review or a reason to end the run: malformed output never crashes the system.

Tokens are what a chat model is billed for. Rule-based policies render the same
prompt an LLM would get and count it with :func:`count_tokens` (a word-and-symbol
estimate, about what a BPE tokenizer gives on English), so costs are comparable.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Generic, Literal, Protocol, TypeVar

import jsonschema

T = TypeVar("T")
TOOL_NAMES: tuple[str, ...] = ("calculator", "table", "lookup", "python")
MAX_PLAN_STEPS = 12

PLAN_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["steps"],
    "properties": {"steps": {"type": "array", "minItems": 1, "maxItems": MAX_PLAN_STEPS, "items": {
        "type": "object", "required": ["tool", "input"],
        "properties": {"tool": {"enum": list(TOOL_NAMES)}, "input": {"type": "object"}}}}},
}
ACTION_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["action"],
    "oneOf": [
        {"properties": {"action": {"const": "call"}, "tool": {"enum": list(TOOL_NAMES)},
                        "input": {"type": "object"}}, "required": ["action", "tool", "input"]},
        {"properties": {"action": {"const": "finish"}, "answer": {"type": "number"}},
         "required": ["action", "answer"]},
    ],
}
VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["verdict"],
    "properties": {"verdict": {"enum": ["accept", "retry", "replan", "reject"]}, "reason": {"type": "string"}},
}


class PolicyError(RuntimeError):
    """A policy that could not decide: a task it cannot parse, an unreachable model, bad output."""

    tokens: int = 0  # tokens the failed decision still cost (a malformed reply was generated and billed)


class MalformedOutputError(PolicyError):
    """Model output that is not a JSON object matching the expected schema."""


@dataclass(frozen=True)
class Step:
    tool: str
    input: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"tool": self.tool, "input": self.input}


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]

    def to_json(self) -> dict[str, Any]:
        return {"steps": [s.to_json() for s in self.steps]}


@dataclass(frozen=True)
class Action:
    kind: Literal["call", "finish"]
    step: Step | None = None
    answer: float | None = None

    def to_json(self) -> dict[str, Any]:
        if self.kind == "finish":
            return {"action": "finish", "answer": self.answer}
        assert self.step is not None
        return {"action": "call", "tool": self.step.tool, "input": self.step.input}


@dataclass(frozen=True)
class Verdict:
    decision: Literal["accept", "retry", "replan", "reject"]
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.decision, "reason": self.reason}


@dataclass(frozen=True)
class Decision(Generic[T]):
    """A policy's decision and what it cost."""

    value: T
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class StepOutcome:
    """What executing one step gave: a value or an error."""

    step: Step
    value: float | None
    error: str | None = None
    detail: Any = None  # the tool's full output (e.g. the evidence sentence of a lookup)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step.to_json(), "value": self.value, "error": self.error}


class Policy(Protocol):
    """Where every agent's decisions come from (rule-based or a chat model)."""

    name: str

    async def plan(self, task: str) -> Decision[Plan]: ...
    async def next_action(self, task: str, history: list[StepOutcome]) -> Decision[Action]: ...
    async def review_plan(self, task: str, plan: Plan) -> Decision[Verdict]: ...
    async def review_step(self, task: str, outcome: StepOutcome, check: StepOutcome | None) -> Decision[Verdict]: ...
    async def review_final(self, task: str, answer: float | None, history: list[StepOutcome]) -> Decision[Verdict]: ...


_TOKEN = re.compile(r"\w+|[^\w\s]")


def count_tokens(text: str) -> int:
    """An estimate of a BPE token count: words and single symbols."""
    return len(_TOKEN.findall(text))  # SOLUTION c07.3: count words and single symbols


def extract_json(text: str) -> Any:
    """The first JSON object in ``text`` (prose and ```json fences around it are skipped).

    Raises:
        MalformedOutputError: no JSON object in the text.
    """
    # BEGIN SOLUTION c07.3: try raw_decode at every '{' until one parses
    if not isinstance(text, str):
        raise MalformedOutputError(f"model output is a str, got {type(text).__name__}")
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    raise MalformedOutputError(f"no JSON object in the model output: {text[:120]!r}")
    # END SOLUTION


def _validated(text: str, schema: dict[str, Any], what: str) -> dict[str, Any]:
    value = extract_json(text)
    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError as err:
        where = "/".join(str(p) for p in err.absolute_path) or "top level"
        raise MalformedOutputError(f"{what} does not match its schema at {where}: {err.message}") from err
    return dict(value)


def parse_plan(text: str) -> Plan:
    """A :class:`Plan` from model output (MalformedOutputError otherwise)."""
    # BEGIN SOLUTION c07.3: validate against PLAN_SCHEMA; build the steps
    value = _validated(text, PLAN_SCHEMA, "the plan")
    return Plan(tuple(Step(s["tool"], dict(s["input"])) for s in value["steps"]))
    # END SOLUTION


def parse_action(text: str) -> Action:
    """An :class:`Action` from model output (MalformedOutputError otherwise)."""
    # BEGIN SOLUTION c07.3: validate against ACTION_SCHEMA; a call or a finish
    value = _validated(text, ACTION_SCHEMA, "the action")
    if value["action"] == "finish":
        return Action("finish", answer=float(value["answer"]))
    return Action("call", step=Step(value["tool"], dict(value["input"])))
    # END SOLUTION


def parse_verdict(text: str) -> Verdict:
    """A :class:`Verdict` from model output (MalformedOutputError otherwise)."""
    # BEGIN SOLUTION c07.3: validate against VERDICT_SCHEMA
    value = _validated(text, VERDICT_SCHEMA, "the verdict")
    return Verdict(value["verdict"], str(value.get("reason", "")))
    # END SOLUTION
