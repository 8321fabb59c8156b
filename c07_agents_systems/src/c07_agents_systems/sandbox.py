"""The Python-snippet tool: code runs only in a child process, with a timeout and resource limits.

What this does enforce:

* a separate process (``python -I``: isolated mode, no user site-packages, no
  ``PYTHON*`` environment variables, the script's directory not on ``sys.path``),
  started with an empty environment and a fresh temporary working directory;
* ``RLIMIT_AS`` (address space) and ``RLIMIT_CPU`` (CPU seconds) set in the child
  before it runs, ``RLIMIT_FSIZE`` so it cannot write large files, ``RLIMIT_NPROC``
  is *not* set (it counts every process of the user, shared with the parent);
* a wall-clock timeout (the child is killed, its process group too);
* output bounded: at most ``max_output`` bytes of stdout and of stderr are kept,
  read incrementally, so a huge print cannot exhaust the parent's memory.

What it does **not** enforce: no network isolation (that needs namespaces or a
container), no file-system isolation beyond the working directory (the child can
read what the user can read). Treat it as protection against accidents and
runaway code, not against a determined attacker.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from typing import IO, Any

DEFAULT_TIMEOUT_S = 5.0
DEFAULT_MEMORY_BYTES = 256 * 1024 * 1024
DEFAULT_MAX_OUTPUT = 64 * 1024
MAX_CODE_CHARS = 20_000


class SandboxError(RuntimeError):
    """A snippet that timed out, ran out of memory or CPU, or exited with an error."""


@dataclass(frozen=True)
class SnippetResult:
    stdout: str
    stderr: str
    returncode: int
    truncated: bool  # True when some output was dropped at max_output


def _limits(memory_bytes: int, cpu_seconds: int) -> None:  # runs in the child, before exec
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024 * 1024, 1024 * 1024))
    os.setsid()  # its own process group, so a kill reaches any grandchildren


def _drain(stream: IO[bytes], limit: int, out: list[bytes], flags: list[bool]) -> None:
    kept = 0
    while chunk := stream.read(8192):
        if kept < limit:
            out.append(chunk[: limit - kept])
        if kept + len(chunk) > limit:
            flags[0] = True
        kept += len(chunk)


def run_snippet(code: str, *, timeout_s: float = DEFAULT_TIMEOUT_S, memory_bytes: int = DEFAULT_MEMORY_BYTES,
                max_output: int = DEFAULT_MAX_OUTPUT) -> SnippetResult:
    """Run ``code`` in a limited child Python process and return its (bounded) output.

    Raises:
        SandboxError: the wall-clock timeout or the CPU limit was hit, or the code failed
            (memory exhausted, an exception: the last line of its stderr is in the message).
        ValueError: bad arguments (code not a str or too long, a non-positive limit).
    """
    # BEGIN SOLUTION c07.2: spawn python -I with limits; drain bounded output; kill on timeout
    if not isinstance(code, str) or len(code) > MAX_CODE_CHARS:
        raise ValueError(f"code must be a str of at most {MAX_CODE_CHARS} characters")
    if timeout_s <= 0 or memory_bytes <= 0 or max_output <= 0:
        raise ValueError("timeout_s, memory_bytes and max_output must be positive")
    cpu_seconds = max(1, int(timeout_s + 0.999))
    with tempfile.TemporaryDirectory(prefix="c07-snippet-") as workdir:
        child = subprocess.Popen(
            [sys.executable, "-I", "-c", code], cwd=workdir, env={"PATH": "/usr/bin:/bin"},
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            preexec_fn=lambda: _limits(memory_bytes, cpu_seconds))
        assert child.stdout is not None and child.stderr is not None
        outputs: list[list[bytes]] = [[], []]
        truncated = [False]
        readers = [threading.Thread(target=_drain, args=(s, max_output, o, truncated), daemon=True)
                   for s, o in zip((child.stdout, child.stderr), outputs, strict=True)]
        for reader in readers:
            reader.start()
        try:
            returncode = child.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            raise SandboxError(f"snippet timed out after {timeout_s} s (killed)") from None
        finally:
            for reader in readers:
                reader.join(timeout=2.0)
            child.stdout.close()
            child.stderr.close()
    stdout, stderr = (b"".join(o).decode("utf-8", "replace") for o in outputs)
    if returncode == -signal.SIGXCPU or returncode == -signal.SIGKILL:
        raise SandboxError(f"snippet exceeded its CPU limit of {cpu_seconds} s (signal {-returncode})")
    if returncode != 0:
        last = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit status {returncode}"
        raise SandboxError(f"snippet failed: {last}")
    return SnippetResult(stdout, stderr, returncode, truncated[0])
    # END SOLUTION


def python_tool(request: dict[str, Any]) -> dict[str, Any]:
    """The tool form: ``{"code": ...}`` -> the stdout and, when it is a number, its ``value``."""
    code = request.get("code") if isinstance(request, dict) else None
    if not isinstance(code, str):
        raise ValueError(f"a snippet call is {{'code': <python source>}}, got {request!r}")
    result = run_snippet(code)
    out: dict[str, Any] = {"stdout": result.stdout, "truncated": result.truncated}
    with contextlib.suppress(ValueError):  # output that is not one number has no value
        out["value"] = float(result.stdout.strip())
    return out
