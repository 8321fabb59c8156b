"""c08.8: every line the real server process writes is JSON: uvicorn's own errors ("Invalid HTTP request
received.", "Exception in ASGI application" with its traceback), an exception no one caught in a thread, a Python
warning (c08.7's logging, as the process really runs it)."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import START_TIMEOUT_S

from c08_serving_ops.tools.process import ServerProcess

pytestmark = pytest.mark.task("c08.8")

TESTS = Path(__file__).parent


@pytest.fixture(scope="module")
def failing_process() -> Iterator[ServerProcess]:
    """The real server (serve.main) plus three routes that fail on purpose (``raising_server.py``)."""
    path = os.pathsep.join(p for p in (str(TESTS), os.environ.get("PYTHONPATH", "")) if p)
    server = ServerProcess(["--in-memory"], env={"C08_RERANK": "false", "PYTHONPATH": path}, module="raising_server")
    server.start(START_TIMEOUT_S)
    yield server
    server.stop()


def by_event(records: list[dict[str, Any]], event: str) -> dict[str, Any]:
    found = [r for r in records if str(r.get("event", "")).strip() == event]
    assert found, f"no {event!r} line in {[r.get('event') for r in records]}"
    return found[-1]


def test_every_line_of_the_process_is_json(failing_process: ServerProcess) -> None:
    host, port = "127.0.0.1", int(failing_process.url.rsplit(":", 1)[1])
    with socket.create_connection((host, port), timeout=10) as raw:
        raw.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        assert raw.recv(1024).startswith(b"HTTP/1.1 400 ")
    failed = httpx.get(f"{failing_process.url}/raise", timeout=30)  # one connection each: uvicorn closes this one
    assert failed.status_code == 500 and failed.json()["error_type"] == "internal_error"
    assert httpx.get(f"{failing_process.url}/raise-in-thread", timeout=30).status_code == 200
    assert httpx.get(f"{failing_process.url}/warn", timeout=30).status_code == 200
    assert failing_process.stop(timeout_s=90) == 0  # a graceful exit; a busy machine needs more than the default
    lines = [line for line in failing_process.lines if line.strip()]
    not_json = []
    for line in lines:
        try:
            assert isinstance(json.loads(line), dict)
        except (json.JSONDecodeError, AssertionError):
            not_json.append(line)
    assert not not_json, f"{len(not_json)} of {len(lines)} lines are not JSON objects: {not_json[:5]}"
    records = [json.loads(line) for line in lines]
    assert all({"event", "level", "timestamp", "request_id"} <= set(r) for r in records)
    invalid = by_event(records, "Invalid HTTP request received.")
    assert invalid["logger"] == "uvicorn.error" and invalid["level"] == "warning"
    escaped = by_event(records, "Exception in ASGI application")
    assert escaped["level"] == "error" and "RuntimeError: raised on purpose\nacross two lines" in escaped["exception"]
    assert "Traceback (most recent call last)" in escaped["exception"]  # the whole traceback, in one line's field
    in_thread = by_event(records, "uncaught_exception_in_thread")
    assert "ValueError: a thread failed on purpose" in in_thread["exception"]
    assert in_thread["thread_name"] == "failing-thread"
    assert any(r.get("logger") == "py.warnings" and "a warning on purpose" in r["event"] for r in records)
