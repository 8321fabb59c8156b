"""Smoke test for the planned module: it installs and imports (no graded tasks yet)."""

import importlib


def test_package_imports() -> None:
    module = importlib.import_module("c07_agents_systems")
    assert module.__doc__ and "Planned module" in module.__doc__
