"""c07.2 hidden: the sandbox kills a whole process group, refuses big files; more calculator attacks."""

from __future__ import annotations

import pytest

from c07_agents_systems import CalculatorError, SandboxError, calculate, run_snippet

pytestmark = pytest.mark.task("c07.2")


def test_timeout_kills_grandchildren_too() -> None:
    code = ("import subprocess, sys\n"
            "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
            "print(child.pid, flush=True)\n"
            "import time; time.sleep(60)\n")
    with pytest.raises(SandboxError, match="timed out"):
        run_snippet(code, timeout_s=1.0)


def test_large_files_are_refused() -> None:
    with pytest.raises(SandboxError, match=r"failed|File size|signal"):
        run_snippet("open('big', 'wb').write(b'x' * (8 * 1024 * 1024))")


@pytest.mark.parametrize("expression", [
    "__builtins__", "globals()", "getattr(1, 'real')", "(1).real", "{1: 2}", "{1, 2}", "f'{1}'", "1 if 1 else 2",
    "[x for x in (1,)]", "1 < 2", "not 1", "1 & 2", "1 << 1000", "b'1'", "...", "(x := 1)", "*[1]",
])
def test_more_unsafe_expressions_are_refused(expression: str) -> None:
    with pytest.raises(CalculatorError):
        calculate(expression)
