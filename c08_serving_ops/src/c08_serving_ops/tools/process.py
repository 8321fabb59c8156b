"""Run the real server as a child process: start, find its port, wait until ready, stop.

The smoke tests and the benchmark talk to the server exactly as a user would: a
separate process (``python -m c08_serving_ops.server.serve --port 0``) on a loopback port.
:class:`ServerProcess` reads the child's JSON log lines (stdout) to learn the port,
polls ``/ready`` with a bounded wait, and always stops the child: SIGTERM (graceful
drain), then SIGKILL if it has not exited in time. Everything the child logged is kept
in ``lines`` for the tests to inspect.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

import httpx

START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 20.0


class ServerProcess:
    """``python -m c08_serving_ops.server.serve --port 0 ARGS`` with ``env`` added to this process's environment.

    ``module`` runs another module instead, one that ends in ``serve.main()`` (a test adds a route to the app).
    """

    def __init__(self, args: Sequence[str] = (), env: dict[str, str] | None = None,
                 module: str = "c08_serving_ops.server.serve") -> None:
        self.args, self.env, self.module = list(args), env or {}, module
        self.proc: subprocess.Popen[str] | None = None
        self.lines: list[str] = []  # stdout and stderr lines (JSON logs, every one of them)
        self.port: int | None = None
        self._port_known = threading.Event()
        self._reader: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def logs(self) -> list[dict[str, Any]]:
        """The JSON log lines so far (other lines skipped)."""
        out = []
        for line in list(self.lines):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                out.append(record)
        return out

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if self.port is None and '"listening"' in line:
                self.port = int(json.loads(line)["port"])
                self._port_known.set()
        self._port_known.set()  # the child ended

    def start(self, timeout_s: float = START_TIMEOUT_S) -> ServerProcess:
        """Start the child and return once ``/ready`` answers 200.

        Raises:
            NotImplementedError: the child died of a NotImplementedError (an unfinished task).
            RuntimeError: the child died or did not get ready within ``timeout_s``.
        """
        # BEGIN SOLUTION c08.8: spawn; port from the logs; poll /ready until 200; explain failures
        cmd = [sys.executable, "-m", self.module, "--host", "127.0.0.1", "--port", "0", *self.args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     env={**os.environ, **self.env})
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout_s
        self._port_known.wait(timeout_s)
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None or self.port is None:
                    break
                try:
                    response = client.get(f"{self.url}/ready")
                    if response.status_code == 200:
                        return self
                    if client.get(f"{self.url}/health").status_code == 503:
                        break  # broken: loading failed
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
        self.stop()
        output = "\n".join(self.lines[-40:])
        if "NotImplementedError" in output:
            raise NotImplementedError(f"the server could not start:\n{output}")
        raise RuntimeError(f"the server did not get ready within {timeout_s:.0f} s:\n{output}")
        # END SOLUTION

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> int:
        """SIGTERM, wait up to ``timeout_s``, then SIGKILL; return the exit status."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._reader is not None:
            self._reader.join(5.0)
        return int(self.proc.returncode)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *args: object) -> None:
        self.stop()
