"""Stubs reached inside a server, reported by the test that reached them.

A test that talks to a server over HTTP never sees the server's exceptions: a handler that
reaches an unsolved task's stub answers 500 (or ends its stream with an error event) and the
test fails on an assertion about the status. For a learner that hides the one useful fact:
which task is missing. The conftest's hooks therefore look, when a test fails, at what the
servers logged while it ran (the in-process servers' JSON log buffer, the standard library's
records, the output of each real server process the test uses) and at the text of the error
itself; if a stub's ``NotImplementedError("c08.N: ...")`` is there, the test fails with that
``NotImplementedError`` instead, chained to the original failure. A solved course has no stubs,
so with the reference nothing here ever fires.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

# "NotImplementedError: c08.10: stop within one token step" as a traceback, a log field or an error body prints it
STUB = re.compile(r"NotImplementedError\W{0,3}(c\d\d\.\d+): ([^\"\\\n]{0,200})")


def reached_stub(error: BaseException | None) -> bool:
    """True when ``error`` or an exception it was raised from is a stub's ``NotImplementedError``."""
    seen = 0
    while error is not None and seen < 20:
        if isinstance(error, NotImplementedError):
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False


def first_stub(texts: Iterable[str]) -> str | None:
    """``"c08.N: what to do"`` of the first stub named in ``texts``."""
    for text in texts:
        match = STUB.search(text)
        if match:
            return f"{match.group(1)}: {match.group(2).rstrip()}"
    return None


def error_texts(error: BaseException) -> list[str]:
    """The message of ``error`` and of every exception it was raised from (an SDK error carries the body)."""
    out, seen, current = [], 0, error
    while current is not None and seen < 20:
        out.append(f"{type(current).__name__}: {current}")
        current, seen = current.__cause__ or current.__context__, seen + 1
    return out


class StubRecorder(logging.Handler):
    """Keeps the exception messages of every log record that carries one (uvicorn's 500s, thread errors)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.texts: list[str] = []
        self.guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            # the messages of the chain, not a formatted traceback: formatting one parses source lines, which
            # races with pytest's own parsing in the main thread on CPython 3.11 before 3.11.8 (gh-106905)
            text = "\n".join(error_texts(record.exc_info[1]))
            with self.guard:
                self.texts.append(text)

    def attach(self) -> None:
        """On the root logger (again: reconfiguring the logs replaces the root's handlers)."""
        root = logging.getLogger()
        if self not in root.handlers:
            root.addHandler(self)

    def since(self, mark: int) -> list[str]:
        with self.guard:
            return self.texts[mark:]
