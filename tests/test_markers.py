"""Solution regions: the replacement, and a clear error for every malformed marker."""

from __future__ import annotations

import ast

import pytest

from curriculum.markers import MarkerError, find_regions, leftover_markers, strip_solutions

REFERENCE = '''\
def add(a: int, b: int) -> int:
    """Add."""
    return a + b  # SOLUTION c01.1: add the numbers


def tiled(n: int) -> list[int]:
    """Docstring kept."""
    # BEGIN SOLUTION c01.2: build the list
    out = []
    for i in range(n):
        out.append(i)
    return out
    # END SOLUTION


def plain() -> None:
    # BEGIN SOLUTION c01.3
    pass
    # END SOLUTION
'''


def test_regions_are_found_in_order():
    regions = find_regions(REFERENCE)
    assert [(r.task, r.start, r.end) for r in regions] == [("c01.1", 3, 3), ("c01.2", 8, 13), ("c01.3", 17, 19)]
    assert regions[1].message == "c01.2: build the list"
    assert regions[2].message == "c01.3: implement this"


def test_strip_keeps_signatures_and_docstrings():
    stripped = strip_solutions(REFERENCE)
    assert '    raise NotImplementedError("c01.1: add the numbers")\n' in stripped
    assert '    """Docstring kept."""\n    raise NotImplementedError("c01.2: build the list")\n' in stripped
    assert "out.append" not in stripped and "return a + b" not in stripped
    assert leftover_markers(stripped) == []
    ast.parse(stripped)  # still valid Python


def test_strip_runs_as_stubs():
    namespace: dict[str, object] = {}
    exec(compile(strip_solutions(REFERENCE), "<stripped>", "exec"), namespace)
    with pytest.raises(NotImplementedError, match=r"c01\.2: build the list"):
        namespace["tiled"](3)  # type: ignore[operator]


def test_strip_is_deterministic_and_keeps_crlf():
    crlf = REFERENCE.replace("\n", "\r\n")
    assert strip_solutions(crlf) == strip_solutions(crlf)
    assert strip_solutions(crlf).count("\r\n") == strip_solutions(REFERENCE).count("\n")


def test_quotes_in_the_message_are_escaped():
    source = 'def f() -> str:\n    return "x"  # SOLUTION c01.1: return "x" \\ done\n'
    stripped = strip_solutions(source)
    namespace: dict[str, object] = {}
    exec(stripped, namespace)
    with pytest.raises(NotImplementedError) as info:
        namespace["f"]()  # type: ignore[operator]
    assert str(info.value) == 'c01.1: return "x" \\ done'


def test_source_without_regions_is_unchanged():
    assert strip_solutions("x = 1\n") == "x = 1\n"


@pytest.mark.parametrize(
    ("source", "line", "words"),
    [
        ("# BEGIN SOLUTION c01.1\n# BEGIN SOLUTION c01.1\n# END SOLUTION\n", 2, "nested"),
        ("x = 1\n# BEGIN SOLUTION c01.1\nx = 2\n", 2, "never closed"),
        ("x = 1\n# END SOLUTION\n", 2, "without a BEGIN"),
        ("# BEGIN SOLUTION\n# END SOLUTION\n", 1, "needs a task id"),
        ("# BEGIN SOLUTION: text only\n# END SOLUTION\n", 1, "needs a task id"),
        ("x = 1  # SOLUTION\n", 1, "needs a task id"),
        ("# BEGIN SOLUTION c01.1\ny = 2  # SOLUTION c01.1\n# END SOLUTION\n", 2, "inside the region"),
        ("# SOLUTION c01.1\n", 1, "malformed"),
        ("#BEGIN SOLUTIONS c01.1\n", 1, "malformed"),
    ],
)
def test_malformed_markers_name_file_and_line(source, line, words):
    with pytest.raises(MarkerError, match=rf"^pkg/mod\.py:{line}: .*{words}"):
        find_regions(source, "pkg/mod.py")


def test_leftover_markers_are_found():
    assert leftover_markers("a = 1\n# END SOLUTION\nb = 2  # SOLUTION c01.1\n") == [2, 3]
