"""Structured logs: one JSON object per line, each carrying the request id.

Plain-text logs are for people; JSON lines are for people *and* the tools that search
them. Every line has ``timestamp``, ``level``, ``event`` and ``request_id``: the id of
the request being handled (``-`` outside any request, e.g. at start-up). The middleware
binds the id in a context variable, so every line logged while a request is handled,
in any function, carries it without passing it around.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, WrappedLogger

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def _ensure_request_id(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    event.setdefault("request_id", "-")
    return event


def configure_logging(level: str = "info", stream: TextIO | None = None) -> None:
    """JSON lines to ``stream`` (default stdout) at ``level`` and above, for every structlog logger."""
    # BEGIN SOLUTION c08.7: contextvars first (the request id), level, ISO time, JSON renderer
    if level not in LEVELS:
        raise ValueError(f"unknown log level {level!r}: use one of {', '.join(LEVELS)}")
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            _ensure_request_id,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(LEVELS[level]),
        logger_factory=structlog.WriteLoggerFactory(stream or sys.stdout),
        cache_logger_on_first_use=False,
    )
    # END SOLUTION


def get_logger(**initial: Any) -> Any:
    """A structlog logger (``log.info("event", key=value)``)."""
    return structlog.get_logger("c08", **initial)


def bind_request_id(request_id: str) -> None:
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)


def clear_request_id() -> None:
    structlog.contextvars.clear_contextvars()
