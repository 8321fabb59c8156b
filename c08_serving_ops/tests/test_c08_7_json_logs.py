"""c08.7: every record is a JSON line: uvicorn's own errors ("Invalid HTTP request received.", "Exception in ASGI
application" with its traceback), an exception no one caught (main thread or another), a Python warning.

The same, checked on every line a real server process writes, is c08.8's ``test_c08_8_process_logs.py``."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
import warnings
from pathlib import Path

import pytest
from conftest import LOGS

from c08_serving_ops.core.logs import configure_logging

pytestmark = pytest.mark.task("c08.7")

TESTS = Path(__file__).parent


def test_standard_library_records_and_uncaught_exceptions_are_json_lines() -> None:
    stream = io.StringIO()
    hooks = sys.excepthook, threading.excepthook
    try:
        configure_logging("info", stream)
        configure_logging("info", stream)  # configuring twice leaves one handler: no line written twice
        logging.getLogger("uvicorn.error").warning("Invalid HTTP request received.")
        logging.getLogger("some.library").debug("below the level: dropped")
        try:
            raise KeyError("inside")
        except KeyError:
            logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
        sys.excepthook(ZeroDivisionError, ZeroDivisionError("uncaught"), None)
        thread = threading.Thread(target=lambda: 1 / 0, name="doomed")
        thread.start()
        thread.join()
        warnings.showwarning("careful", UserWarning, "somewhere.py", 1)  # what warnings.warn calls (pytest records
        # this test's own warnings, so it is called directly; c08.8's process test warns for real)
        records = [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        sys.excepthook, threading.excepthook = hooks
        logging.captureWarnings(False)
        configure_logging("info", LOGS)
    events = [r["event"] for r in records]
    assert events[:2] == ["Invalid HTTP request received.", "Exception in ASGI application"]
    assert "KeyError: 'inside'" in records[1]["exception"] and records[1]["logger"] == "uvicorn.error"
    assert "uncaught_exception" in events and "uncaught_exception_in_thread" in events
    assert any("careful" in e for e in events) and "below the level: dropped" not in events
    assert all(r["request_id"] == "-" and r["level"] and r["timestamp"] for r in records)
