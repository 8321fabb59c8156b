"""Typed messages and the trace that records every one of them as JSON lines.

A multi-agent system is easiest to debug when every interaction is a *message*
with an identity: who sent it, to whom (an agent) or about what (a topic), which
conversation it belongs to (the *correlation id*, shared by a request and its
reply) and what caused it (the *parent id*, the message it answers or follows).
With those four fields a log can be turned back into a sequence diagram
(:mod:`~c07_agents_systems.html_trace`) and a failure traced to its cause.

Ids come from a counter, not from ``uuid4``, so two runs with the same seed write
the same trace (timestamps aside).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

MessageKind = Literal["request", "reply", "error", "event"]
MESSAGE_KINDS: tuple[str, ...] = ("request", "reply", "error", "event")


@dataclass(frozen=True)
class Message:
    """One message on the bus.

    Attributes:
        message_id: unique within a bus ("m000001", ...).
        sender: the agent (or the coordinator) that sent it.
        recipient: the agent it is addressed to, or None when it was published on ``topic``.
        topic: the topic it was published on, or None for a direct message.
        kind: request (expects a reply), reply, error (a reply that reports a failure) or event.
        payload: a JSON-serialisable dict.
        correlation_id: shared by a request and its reply.
        parent_id: the message this one answers or was caused by (None for a root).
        sent_at: seconds since the bus started when it was sent.
    """

    message_id: str
    sender: str
    recipient: str | None
    topic: str | None
    kind: MessageKind
    payload: dict[str, Any]
    correlation_id: str
    parent_id: str | None
    sent_at: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _jsonable(value: Any) -> Any:
    """``value`` with what JSON cannot hold made explicit (nan/inf as strings, unknown objects as repr)."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return repr(value)


class Trace:
    """An append-only list of events (dicts with a ``type``), written as JSON lines.

    Event types used in this module: ``message`` (every message on the bus), ``tool_call``,
    ``policy`` (one decision of a policy, with its tokens), ``fault`` (an injected fault),
    ``note`` and ``run_end`` (the outcome and the reason).
    """

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def record(self, event_type: str, **fields: Any) -> dict[str, Any]:
        # BEGIN SOLUTION c07.1: one JSON-safe dict per event, in order, with its sequence number
        event = {"type": event_type, "seq": len(self.events)} | {k: _jsonable(v) for k, v in fields.items()}
        self.events.append(event)
        return event
        # END SOLUTION

    def of_type(self, event_type: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == event_type]

    def to_jsonl(self, path: Path | str) -> Path:
        """Write one JSON object a line; return the path."""
        # BEGIN SOLUTION c07.1: one json.dumps per line, sorted keys so diffs are stable
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as out:
            for event in self.events:
                out.write(json.dumps(event, sort_keys=True) + "\n")
        return path
        # END SOLUTION

    @classmethod
    def from_jsonl(cls, path: Path | str) -> Trace:
        """Read a trace written by :meth:`to_jsonl`.

        Raises:
            ValueError: a line that is not a JSON object with a ``type``, naming the line.
        """
        # BEGIN SOLUTION c07.1: parse each non-empty line; name the line that is bad
        trace = cls()
        for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{number}: not JSON ({err.msg})") from err
            if not isinstance(event, dict) or "type" not in event:
                raise ValueError(f"{path}:{number}: a trace event is a JSON object with a 'type'")
            trace.events.append(event)
        return trace
        # END SOLUTION
