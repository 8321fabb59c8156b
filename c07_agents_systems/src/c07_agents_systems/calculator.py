"""A safe calculator: arithmetic expressions parsed with ``ast`` and evaluated over a whitelist.

Model output is untrusted text. ``eval("__import__('os').system(...)")`` runs
anything, and even "harmless" Python such as ``9**9**9**9`` never finishes.
So the expression is parsed (``ast.parse(mode="eval")``, which only builds a
tree and runs nothing) and the tree is walked by our own evaluator that knows a
handful of node types: numbers, ``+ - * / // % **``, unary signs and calls of
whitelisted functions by name. Everything else (names, attributes, subscripts,
strings, lambdas, comprehensions...) is refused with a message naming it.

All arithmetic is in float (IEEE double), so no integer can grow without
bound; a result that overflows or is not finite is an error, and exponents are
limited to ``MAX_EXPONENT`` in magnitude.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable

MAX_EXPRESSION_CHARS = 2000
MAX_EXPONENT = 1000.0
MAX_DEPTH = 60  # nesting of the tree; deeper expressions are refused (and never hit the recursion limit)


class CalculatorError(ValueError):
    """An expression that is refused (unsafe, malformed) or whose value is undefined or too large."""


_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: math.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[float], float]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}
FUNCTIONS: dict[str, Callable[..., float]] = {
    "abs": abs, "sqrt": math.sqrt, "log": math.log, "exp": math.exp, "round": round,
    "min": min, "max": max, "floor": math.floor, "ceil": math.ceil,
}


def _finite(value: float, what: str) -> float:
    if not math.isfinite(value):
        raise CalculatorError(f"{what} is not a finite number")
    return value


def _evaluate(node: ast.AST, depth: int) -> float:
    # BEGIN SOLUTION c07.2: numbers, whitelisted operators and functions; refuse every other node by name
    if depth > MAX_DEPTH:
        raise CalculatorError(f"expression nested deeper than {MAX_DEPTH} levels")
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise CalculatorError(f"only numbers are allowed, not {type(node.value).__name__} {node.value!r}")
        return _finite(float(node.value), f"the constant {node.value!r}")
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand, depth + 1))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left, depth + 1), _evaluate(node.right, depth + 1)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise CalculatorError(f"exponent {right:g} is larger than {MAX_EXPONENT:g} in magnitude")
        try:
            value = _BINARY[type(node.op)](left, right)
        except ZeroDivisionError as err:
            raise CalculatorError("division by zero") from err
        except (OverflowError, ValueError) as err:
            raise CalculatorError(f"{type(node.op).__name__} of {left:g} and {right:g} is undefined or too large: "
                                  f"{err}") from err
        return _finite(value, f"{type(node.op).__name__} of {left:g} and {right:g}")
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = node.func.id if isinstance(node.func, ast.Name) else type(node.func).__name__
            raise CalculatorError(f"function {name!r} is not allowed (allowed: {', '.join(sorted(FUNCTIONS))})")
        if node.keywords:
            raise CalculatorError("keyword arguments are not allowed")
        args = [_evaluate(arg, depth + 1) for arg in node.args]
        try:
            return _finite(float(FUNCTIONS[node.func.id](*args)), f"{node.func.id}(...)")
        except (TypeError, ValueError, OverflowError) as err:
            if isinstance(err, CalculatorError):
                raise
            raise CalculatorError(f"{node.func.id}{tuple(args)}: {err}") from err
    raise CalculatorError(f"{type(node).__name__} is not allowed in an expression")
    # END SOLUTION


def calculate(expression: str) -> float:
    """The value of an arithmetic ``expression`` as a float.

    Raises:
        CalculatorError: anything that is not plain arithmetic, a syntax error, division by zero,
            an exponent beyond ``MAX_EXPONENT``, a value that is not finite, a too-long expression.
    """
    # BEGIN SOLUTION c07.2: check type and length; parse (mode="eval") without running anything; evaluate
    if not isinstance(expression, str):
        raise CalculatorError(f"an expression is a str, got {type(expression).__name__}")
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise CalculatorError(f"expression longer than {MAX_EXPRESSION_CHARS} characters")
    if not expression.strip():
        raise CalculatorError("empty expression")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, RecursionError, MemoryError) as err:
        raise CalculatorError(f"cannot parse {expression[:80]!r}: {err}") from err
    return _evaluate(tree.body, 0)
    # END SOLUTION
