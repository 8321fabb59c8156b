"""The grader's side of the plugin's event stream: signed JSON lines, read as they are appended.

Each line is ``seq hmac json`` (``tamper.signed_line``). A line whose number or signature is
wrong was not written by the plugin: it is dropped and kept as evidence of tampering.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from curriculum import tamper


class EventFollower:
    """Reads the signed JSON lines the plugin appends, remembering where it stopped.

    A line whose number or signature is wrong was not written by the plugin: it is dropped
    and kept as evidence.
    """

    def __init__(self, path: Path, key: bytes) -> None:
        self.path = path
        self.key = key
        self.forged: list[str] = []
        self._offset = 0
        self._seq = 0
        self._partial = b""

    def new_events(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as handle:
            handle.seek(self._offset)
            chunk = handle.read()
        self._offset += len(chunk)
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()  # an unfinished last line waits for the next read
        events = []
        for raw in lines:
            line = raw.decode("utf-8", "replace")
            payload = tamper.verify_line(self.key, self._seq, line)
            event = _parse(payload) if payload is not None else None
            if event is None:
                self.forged.append(f"event line {self._seq + len(self.forged)} was not written by the grader's "
                                   f"plugin: {line[:160]!r}")
                continue
            self._seq += 1
            events.append(event)
        return events


def _parse(payload: str) -> dict[str, Any] | None:
    try:
        event = json.loads(payload)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None
