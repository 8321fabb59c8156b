"""Tamper resistance: what the grader prevents, and how it notices what it cannot prevent.

Prevented (before the test process starts):

* only the graded package reaches the test process: ``src/<package>/`` is copied into a grading
  sandbox, and the sandbox (not the submission's ``src/``) is put first on ``PYTHONPATH``;
* start-up hooks in the submission (``sitecustomize.py``, ``usercustomize.py``, ``*.pth``,
  ``conftest.py``) are never copied, and their presence is evidence;
* compiled files (``*.pyc``, ``*.so``) and links are left out, so what runs is the source that
  the static checks read.

Detected (the test process is the learner's, so code there can always do harm):

* canary tests that must fail and must error, injected by the plugin in every run; reported as
  passing, they prove the reporting was altered;
* the identity of pytest's report classes and hooks, and of the plugin's own functions, recorded
  when the plugin loads (before any learner code is imported) and compared at session end;
* every event line carries a sequence number and an HMAC under a key handed over through a pipe,
  so lines written by anything but the plugin are noticed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
from pathlib import Path
from typing import Any

STARTUP_HOOKS = frozenset({"sitecustomize.py", "usercustomize.py", "conftest.py"})
LEFT_OUT_SUFFIXES = (".pyc", ".pyo", ".so", ".pyd", ".dylib")
SKIPPED_DIRS = frozenset({"__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis"})
KEY_FD_ENV = "CURRICULUM_EVENTS_KEY_FD"  # the fd of a pipe that holds the key the plugin signs with


def is_startup_hook(name: str) -> bool:
    return name in STARTUP_HOOKS or name.endswith(".pth")


def startup_hooks(src: Path) -> list[str]:
    """Start-up hook files anywhere under a submission's ``src/`` (relative paths)."""
    found = []
    for folder, dirs, names in os.walk(src):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        found += [(Path(folder) / n).relative_to(src).as_posix() for n in sorted(names) if is_startup_hook(n)]
    return found


def prepare_sandbox(src: Path, package: str, dest: Path) -> tuple[Path, list[str], list[str]]:
    """Copy ``src/<package>`` into ``dest/<package>``; return (dest, evidence, notes).

    ``evidence`` names the start-up hooks found anywhere in ``src`` (never copied); ``notes``
    names what else was left out (other top-level entries of ``src``, compiled files, links).
    """
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    evidence = [f"start-up hook file {src.name}/{p} in the submission (never run by the grader)"
                for p in startup_hooks(src)]
    notes: list[str] = []
    package_dir = src / package
    for entry in sorted(src.iterdir()):
        if entry.name != package and not entry.name.endswith(".egg-info") and entry.name not in SKIPPED_DIRS \
                and not is_startup_hook(entry.name):
            notes.append(f"left out {src.name}/{entry.name}: only the package {package}/ is graded")
    if package_dir.is_dir() and not package_dir.is_symlink():
        _copy_tree(package_dir, dest / package, src, notes)
    return dest, evidence, notes


def _copy_tree(source: Path, target: Path, src: Path, notes: list[str]) -> None:
    target.mkdir()
    for entry in sorted(source.iterdir()):
        rel = entry.relative_to(src).as_posix()
        if entry.is_symlink():
            notes.append(f"left out {rel}: a link (only plain files are graded)")
        elif entry.is_dir():
            if entry.name not in SKIPPED_DIRS:
                _copy_tree(entry, target / entry.name, src, notes)
        elif is_startup_hook(entry.name):
            continue  # already evidence
        elif entry.name.endswith(LEFT_OUT_SUFFIXES):
            notes.append(f"left out {rel}: compiled files are never graded, only source")
        elif entry.is_file():
            shutil.copyfile(entry, target / entry.name)


# ---- signed event lines -------------------------------------------------------------------

def sign(key: bytes, seq: int, payload: str) -> str:
    return hmac.new(key, f"{seq}\n{payload}".encode(), hashlib.sha256).hexdigest()


def signed_line(key: bytes, seq: int, payload: str) -> str:
    return f"{seq} {sign(key, seq, payload)} {payload}\n"


def verify_line(key: bytes, expected_seq: int, line: str) -> str | None:
    """The JSON payload of a signed line, or None when its number or signature is wrong."""
    seq, _, rest = line.partition(" ")
    mac, _, payload = rest.partition(" ")
    if seq != str(expected_seq) or not hmac.compare_digest(mac, sign(key, expected_seq, payload)):
        return None
    return payload


def new_key_pipe() -> tuple[int, bytes]:
    """A pipe holding a fresh key: pass the read end to the test process, keep the key."""
    key = os.urandom(32)
    read_fd, write_fd = os.pipe()
    os.write(write_fd, key)
    os.close(write_fd)
    return read_fd, key


def read_key_from_env() -> bytes | None:
    """In the test process, before any learner code: take the key and close the pipe."""
    fd = os.environ.pop(KEY_FD_ENV, None)
    if not fd:
        return None
    try:
        key = os.read(int(fd), 64)
        os.close(int(fd))
    except (OSError, ValueError):
        return None
    return key or None


# ---- canary tests ---------------------------------------------------------------------------

CANARY_EXPECTED = {"fail": "failed", "error": "error"}


def canary_source(nonces: list[str]) -> str:
    """A pair of tests per nonce, one that always fails and one that always errors."""
    text = '"""Canary tests of the grader: they must fail and error; reported otherwise, reporting was altered."""\n'
    text += "\nimport pytest\n"
    for nonce in nonces:
        text += f'''

@pytest.fixture
def broken_{nonce}():
    raise RuntimeError("this fixture always errors")


def test_fail_{nonce}():
    raise AssertionError("this test always fails")


def test_error_{nonce}(broken_{nonce}):
    pass
'''
    return text


def canary_kind(name: str) -> str | None:
    """``fail`` or ``error`` for a canary test function name, else None."""
    for kind in CANARY_EXPECTED:
        if name.startswith(f"test_{kind}_"):
            return kind
    return None


# ---- what must not change while learner code runs ---------------------------------------------

WATCHED_HOOKS = (
    "pytest_runtest_makereport", "pytest_runtest_logreport", "pytest_report_teststatus",
    "pytest_runtest_protocol", "pytest_runtest_call", "pytest_pyfunc_call", "pytest_runtest_logfinish",
    "pytest_runtest_logstart", "pytest_sessionfinish", "pytest_collection_modifyitems", "pytest_runtestloop",
)


def pytest_objects() -> dict[str, Any]:
    """pytest's report classes and runner functions, by dotted name (raw class attributes)."""
    import _pytest.python
    import _pytest.reports
    import _pytest.runner
    import _pytest.skipping
    import pluggy._callers
    import pluggy._hooks
    import pluggy._manager

    report, base, call_info = _pytest.reports.TestReport, _pytest.reports.BaseReport, _pytest.runner.CallInfo
    watched: dict[str, Any] = {
        f"_pytest.reports.TestReport.{n}": vars(report).get(n)
        for n in ("__init__", "from_item_and_call", "_to_json", "_from_json")
    }
    watched |= {f"_pytest.reports.BaseReport.{n}": vars(base).get(n)
                for n in ("passed", "failed", "skipped", "longreprtext", "_to_json")}
    watched |= {f"_pytest.runner.{n}": getattr(_pytest.runner, n, None)
                for n in ("call_and_report", "runtestprotocol", "pytest_runtest_makereport",
                          "pytest_runtest_protocol", "call_and_report", "check_interactive_exception")}
    watched["_pytest.runner.CallInfo.from_call"] = vars(call_info).get("from_call")
    watched["_pytest.skipping.pytest_runtest_makereport"] = _pytest.skipping.pytest_runtest_makereport
    watched["_pytest.python.pytest_pyfunc_call"] = _pytest.python.pytest_pyfunc_call
    watched["pluggy._callers._multicall"] = pluggy._callers._multicall
    watched["pluggy._hooks.HookCaller.__call__"] = vars(pluggy._hooks.HookCaller).get("__call__")
    watched["pluggy._manager.PluginManager._hookexec"] = vars(pluggy._manager.PluginManager).get("_hookexec")
    return watched


def changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Names whose object is no longer the one recorded (identity, not equality)."""
    return sorted(name for name, obj in before.items() if after.get(name) is not obj)
