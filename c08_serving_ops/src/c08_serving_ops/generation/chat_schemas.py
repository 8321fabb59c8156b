"""The request body of ``POST /v1/chat/completions``: every OpenAI field is honoured, refused, or a stated no-op.

OpenAI's chat API has many fields; a server that accepts a field and then ignores it tells the
client something false (a client that sends ``tools`` believes the model may call them). So each
field is one of three things, and the schema says which:

* **honoured**: ``model``, ``messages`` (roles ``system``, ``developer`` (read as ``system``),
  ``user``, ``assistant``; content a string or a list of ``{"type": "text", "text": ...}`` parts,
  joined with newlines), ``max_tokens`` / ``max_completion_tokens``, ``temperature``, ``top_p``,
  ``seed``, ``stop``, ``stream``, ``stream_options.include_usage``, ``n`` (1 only);
* **refused unless off** (400 ``unsupported_parameter`` naming the field): ``tools``,
  ``tool_choice``, ``functions``, ``function_call``, ``parallel_tool_calls``, ``logprobs`` (false
  only), ``top_logprobs`` (0 only), ``response_format`` (``{"type": "text"}`` only),
  ``frequency_penalty`` / ``presence_penalty`` (0 only), ``logit_bias`` (empty only), ``store``
  (false only), ``audio``, ``modalities`` (``["text"]`` only), ``prediction``, ``reasoning_effort``,
  ``verbosity``, ``web_search_options``;
* **no-ops** (accepted, they change nothing a client can see): ``user``, ``safety_identifier``,
  ``prompt_cache_key``, ``metadata``, ``service_tier`` (``auto`` or ``default``), and
  ``stream_options`` on a request that does not stream.

Any other field is 400 ``unknown_parameter`` naming it. The JSON schema of each refused field
admits only its "off" value, so the published schema says exactly what is accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

from c08_serving_ops.core.schemas import Int, StopString, Strict
from c08_serving_ops.generation.engine import SEED_LIMIT

MAX_MESSAGES = 256
MAX_CONTENT_CHARS = 100_000
MAX_PARTS = 64
ROLES = ("system", "developer", "user", "assistant")


def refused(name: str, allowed: Callable[[Any], bool], why: str) -> BeforeValidator:
    """A validator that lets through only the field's "off" values, naming the field when it refuses."""

    def check(value: Any) -> Any:
        if not allowed(value):
            raise PydanticCustomError("unsupported_parameter", "{name} is not supported by this server: {why}",
                                      {"name": name, "why": why})
        return value

    return BeforeValidator(check)


def _off(value: Any) -> bool:
    return value is None


def _role(value: Any) -> Any:
    if isinstance(value, str) and value not in ROLES:
        raise PydanticCustomError("unsupported_value", "role {role} is not supported: use system, developer, "
                                  "user or assistant", {"role": ascii(value)})
    return value


def _text_parts(value: Any) -> Any:
    if isinstance(value, list):
        for i, part in enumerate(value):
            kind = part.get("type") if isinstance(part, dict) else None
            if isinstance(kind, str) and kind != "text":
                raise PydanticCustomError("unsupported_value", "content part {i} has type {kind}: only 'text' "
                                          "parts are supported", {"i": i, "kind": ascii(kind)})
    return value


class TextPart(Strict):
    type: Literal["text"]
    text: str = Field(max_length=MAX_CONTENT_CHARS)


class ChatMessage(Strict):
    role: Annotated[Literal["system", "developer", "user", "assistant"], BeforeValidator(_role)]
    content: Annotated[Annotated[str, Field(max_length=MAX_CONTENT_CHARS)]
                       | Annotated[list[TextPart], Field(min_length=1, max_length=MAX_PARTS)],
                       BeforeValidator(_text_parts)]

    def text(self) -> str:
        """The content as one string (text parts joined with newlines)."""
        return self.content if isinstance(self.content, str) else "\n".join(p.text for p in self.content)


class StreamOptions(Strict):
    include_usage: bool = False


class TextFormat(Strict):
    type: Annotated[Literal["text"], refused("response_format", lambda v: v == "text",
                                             "only {'type': 'text'}; this model writes free text")]


NoTools = Annotated[None, refused("tools", _off, "no tool or function calling")]


class ChatRequest(Strict):
    # honoured
    model: str = Field(max_length=256)
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    temperature: float = Field(1.0, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    max_tokens: Int | None = Field(None, ge=1)
    max_completion_tokens: Int | None = Field(None, ge=1)  # the newer name of max_tokens
    seed: Int | None = Field(None, ge=0, lt=SEED_LIMIT)
    stop: StopString | list[StopString] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: Annotated[Int, refused("n", lambda v: v == 1, "one choice per request (n=1)")] = Field(1, ge=1, le=1)
    # refused unless off
    tools: NoTools = None
    tool_choice: Annotated[None, refused("tool_choice", _off, "no tool or function calling")] = None
    functions: Annotated[None, refused("functions", _off, "no tool or function calling")] = None
    function_call: Annotated[None, refused("function_call", _off, "no tool or function calling")] = None
    parallel_tool_calls: Annotated[None, refused("parallel_tool_calls", _off, "no tool calling")] = None
    logprobs: Annotated[Literal[False] | None, refused("logprobs", lambda v: v in (None, False),
                                                       "no log-probabilities")] = None
    top_logprobs: Annotated[Literal[0] | None, refused("top_logprobs", lambda v: v in (None, 0),
                                                       "no log-probabilities")] = None
    response_format: TextFormat | None = None
    frequency_penalty: Annotated[float | None, refused("frequency_penalty", lambda v: v in (None, 0),
                                                       "no penalties (0 only)")] = Field(None, ge=0.0, le=0.0)
    presence_penalty: Annotated[float | None, refused("presence_penalty", lambda v: v in (None, 0),
                                                      "no penalties (0 only)")] = Field(None, ge=0.0, le=0.0)
    logit_bias: Annotated[dict[str, Int] | None, refused("logit_bias", lambda v: not v, "no logit bias")] = Field(
        None, max_length=0)
    store: Annotated[Literal[False] | None, refused("store", lambda v: v in (None, False),
                                                    "this server keeps no completions")] = None
    audio: Annotated[None, refused("audio", _off, "text only")] = None
    modalities: Annotated[list[Literal["text"]] | None, refused(
        "modalities", lambda v: v is None or (isinstance(v, list) and bool(v) and set(v) == {"text"}),
        "text only")] = Field(None, min_length=1)
    prediction: Annotated[None, refused("prediction", _off, "no predicted outputs")] = None
    reasoning_effort: Annotated[None, refused("reasoning_effort", _off, "not a reasoning model")] = None
    verbosity: Annotated[None, refused("verbosity", _off, "no verbosity control")] = None
    web_search_options: Annotated[None, refused("web_search_options", _off, "no web search")] = None
    # no-ops: accepted, nothing a client can see depends on them
    user: str | None = Field(None, max_length=256)
    safety_identifier: str | None = Field(None, max_length=256)
    prompt_cache_key: str | None = Field(None, max_length=256)
    metadata: Annotated[dict[Annotated[str, StringConstraints(max_length=64)],
                             Annotated[str, StringConstraints(max_length=512)]], Field(max_length=16)] | None = None
    service_tier: Literal["auto", "default"] | None = None
