"""c08's tests name the stub a server reached (``c08_serving_ops/tests/server_stubs.py``).

A learner's unsolved task raises inside the server, and the test only sees a 500 or an error
event; the c08 conftest turns that into the stub's ``NotImplementedError``. These checks hold the
helper to what the logs and errors really print.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path
from types import ModuleType

import pytest

HELPER = Path(__file__).resolve().parent.parent / "c08_serving_ops" / "tests" / "server_stubs.py"


@pytest.fixture(scope="module")
def stubs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("server_stubs", HELPER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def raise_stub() -> None:
    raise NotImplementedError("c08.10: watch receive() for http.disconnect")


def test_a_stub_is_found_in_a_json_log_line_and_in_an_error_body(stubs: ModuleType) -> None:
    try:
        raise_stub()
    except NotImplementedError:
        import traceback

        line = json.dumps({"event": "Exception in ASGI application", "exception": traceback.format_exc()})
    assert stubs.first_stub(["nothing here", line]) == "c08.10: watch receive() for http.disconnect"
    body = 'Error code: 500 - {"error": "generation failed: NotImplementedError: c08.9: take a slot"}'
    assert stubs.first_stub([body]) == "c08.9: take a slot"
    assert stubs.first_stub(["AssertionError: 500 != 200", "NotImplementedError"]) is None


def test_only_a_chain_holding_a_stub_counts_as_reached(stubs: ModuleType) -> None:
    try:
        try:
            raise_stub()
        except NotImplementedError as err:
            raise RuntimeError("wrapped") from err
    except RuntimeError as wrapped:
        assert stubs.reached_stub(wrapped)
        assert "NotImplementedError: c08.10" in " ".join(stubs.error_texts(wrapped))
    assert not stubs.reached_stub(AssertionError("500 != 200"))


def test_the_recorder_keeps_logged_exceptions_and_survives_a_reconfiguration(stubs: ModuleType) -> None:
    recorder = stubs.StubRecorder()
    root = logging.getLogger()
    saved = list(root.handlers)
    try:
        recorder.attach()
        root.handlers = []  # what reconfiguring the logs does
        recorder.attach()
        mark = len(recorder.texts)
        try:
            raise_stub()
        except NotImplementedError:
            logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
        logging.getLogger("x").warning("no exception here")
        found = recorder.since(mark)
        assert len(found) == 1 and stubs.first_stub(found) == "c08.10: watch receive() for http.disconnect"
    finally:
        root.handlers = saved
