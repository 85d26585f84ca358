"""Optimize: algebraic clean-up of gradient expressions after template expansion.

Only rewrites that give the same floating-point result as the expression before them (or that a
reader could not tell from hand-written code): constant folding of small exact arithmetic,
`1 * e` -> `e`, `e ** 1` -> `e`, `e ** 0` -> `1`, `e / 1` -> `e`, `-1 * e` -> `-e`, `-(-e)` -> `e`,
`-(constant)` -> a negative constant.  Applied bottom-up until nothing changes.
"""

from __future__ import annotations

import math

from adgen import ir
from adgen.rules.registry import rebuild


def _num(expr: ir.Expr):
    return expr.value if isinstance(expr, ir.Num) else None


def _fold(op: str, a, b):
    """Fold constant arithmetic: IEEE arithmetic is deterministic, so the folded constant is
    exactly what the generated code would compute at run time (and repr round-trips it)."""
    try:
        if op == "+":
            result = a + b
        elif op == "-":
            result = a - b
        elif op == "*":
            result = a * b
        elif op == "/" and b != 0:
            result = a / b
        elif op == "**" and abs(b) <= 64 and (a > 0 or float(b).is_integer()):
            result = a ** b
        else:
            return None
    except ArithmeticError:
        return None
    if isinstance(result, float) and not math.isfinite(result):
        return None
    return result


def simplify(expr: ir.Expr) -> ir.Expr:
    while True:
        new = _simplify(expr)
        if new == expr:
            return new
        expr = new


def _simplify(expr: ir.Expr) -> ir.Expr:
    if isinstance(expr, ir.Neg):
        inner = _simplify(expr.operand)
        if isinstance(inner, ir.Neg):
            return inner.operand
        if isinstance(inner, ir.Num):
            return ir.Num(-inner.value)
        return ir.Neg(inner)
    if not isinstance(expr, ir.BinOp):
        return rebuild(expr, _simplify)
    left, right = _simplify(expr.left), _simplify(expr.right)
    a, b, op = _num(left), _num(right), expr.op
    if a is not None and b is not None:
        folded = _fold(op, a, b)
        if folded is not None:
            return ir.Num(folded)
    if op == "*":
        if a == 1:
            return right
        if b == 1:
            return left
        if a == -1:
            return ir.Neg(right)
        if isinstance(left, ir.Neg) and isinstance(left.operand, ir.Num) and left.operand.value == 1:
            return ir.Neg(right)
    if op == "/" and b == 1:
        return left
    if op == "**" and b == 1:
        return left
    if op == "**" and b == 0:
        return ir.Num(1)
    return ir.BinOp(op, left, right)
