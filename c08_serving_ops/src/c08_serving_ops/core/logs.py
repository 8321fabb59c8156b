"""Structured logs: one JSON object per line, each carrying the request id.

Plain-text logs are for people; JSON lines are for people *and* the tools that search
them. Every line has ``timestamp``, ``level``, ``event`` and ``request_id``: the id of
the request being handled (``-`` outside any request, e.g. at start-up). The middleware
binds the id in a context variable, so every line logged while a request is handled,
in any function, carries it without passing it around.

*Every* line means the standard library's loggers too: uvicorn reports a malformed request
("Invalid HTTP request received.") and an exception that escaped the app (with its traceback)
through ``logging``, and Python prints uncaught exceptions as many lines of text. All of them are
rendered by the same processors into one JSON object per line (a traceback becomes the
``exception`` field), so a log pipeline never meets a line it cannot parse.
"""

from __future__ import annotations

import logging
import sys
import threading
from types import TracebackType
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def _ensure_request_id(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    event.setdefault("request_id", "-")
    return event


def configure_logging(level: str = "info", stream: TextIO | None = None) -> None:
    """JSON lines to ``stream`` (default stdout) at ``level`` and above: structlog's loggers, the standard
    library's (uvicorn's errors with their tracebacks, asyncio, warnings) and uncaught exceptions alike."""
    # BEGIN SOLUTION c08.7: contextvars first (the request id), level, ISO time, JSON renderer; stdlib too
    if level not in LEVELS:
        raise ValueError(f"unknown log level {level!r}: use one of {', '.join(LEVELS)}")
    out = stream or sys.stdout
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        _ensure_request_id,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(LEVELS[level]),
        logger_factory=structlog.WriteLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    # The standard library's records (uvicorn.error's "Invalid HTTP request received.", its "Exception in ASGI
    # application" with the traceback, asyncio's, warnings) get the same fields and renderer: one JSON line each.
    handler = logging.StreamHandler(out)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name, structlog.stdlib.ExtraAdder({"thread_name"}),
                           structlog.processors.format_exc_info],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, structlog.processors.JSONRenderer()],
    ))
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if not getattr(h, _OURS, False)]
    setattr(handler, _OURS, True)
    root.addHandler(handler)
    root.setLevel(LEVELS[level])
    logging.captureWarnings(False)  # forget an earlier capture (a catch_warnings block may have undone it) ...
    logging.captureWarnings(True)  # ... and route warnings.showwarning to the "py.warnings" logger
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread
    # END SOLUTION


_OURS = "_c08_json_handler"


def _log_uncaught(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    """An exception nobody caught, as one JSON line (not Python's multi-line traceback)."""
    logging.getLogger("c08").critical("uncaught_exception", exc_info=(kind, value, tb))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is not None:
        error = (args.exc_type, args.exc_value, args.exc_traceback)
        logging.getLogger("c08").critical("uncaught_exception_in_thread", exc_info=error,
                                          extra={"thread_name": getattr(args.thread, "name", None)})


def get_logger(**initial: Any) -> Any:
    """A structlog logger (``log.info("event", key=value)``)."""
    return structlog.get_logger("c08", **initial)


def bind_request_id(request_id: str) -> None:
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)


def clear_request_id() -> None:
    structlog.contextvars.clear_contextvars()
