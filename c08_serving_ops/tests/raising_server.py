"""``python -m raising_server``: the real server (``serve.main``) with three routes that fail on purpose.

Not a test module: ``test_c08_8_process_logs.py`` runs it as a child process to check that what the
process writes when things go wrong (an exception escaping a route, an uncaught exception in a
thread, a Python warning) is JSON like every other line.
"""

from __future__ import annotations

import sys
import threading
import warnings

from fastapi import APIRouter

from c08_serving_ops.server import app, serve

failing = APIRouter()


@failing.get("/raise")
async def raise_in_route() -> None:
    raise RuntimeError("raised on purpose\nacross two lines")


@failing.get("/raise-in-thread")
async def raise_in_thread() -> dict[str, str]:
    def fail() -> None:
        raise ValueError("a thread failed on purpose")

    thread = threading.Thread(target=fail, name="failing-thread")
    thread.start()
    thread.join()
    return {"status": "raised"}


@failing.get("/warn")
async def warn() -> dict[str, str]:
    warnings.warn("a warning on purpose", UserWarning, stacklevel=1)
    return {"status": "warned"}


app.ALL_ROUTERS.append(failing)

if __name__ == "__main__":
    sys.exit(serve.main())
