"""Optimize: algebraic clean-up of gradient expressions after template expansion.

Only rewrites that give the same floating-point result as the expression before them (or that a
reader could not tell from hand-written code): constant folding of small exact arithmetic,
`1 * e` -> `e`, `e ** 1` -> `e`, `e ** 0` -> `1`, `e / 1` -> `e`, `-1 * e` -> `-e`, `-(-e)` -> `e`,
`-(constant)` -> a negative constant, `x if <constant> else y` -> the branch taken, and
`x if c else x` -> `x`.  Applied bottom-up until nothing changes.
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
    if isinstance(expr, ir.IfExp):
        return _simplify_ifexp(expr)
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


_COMPARE = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b}


def _constant_truth(test: ir.Expr):
    """True or False when a condition is decided by constants (a rule's edge case for a
    constant exponent, `b >= 1` with b = 2), else None."""
    if isinstance(test, ir.Num):
        return bool(test.value)
    if isinstance(test, ir.Compare):
        values = [_num(test.left)] + [_num(c) for c in test.comparators]
        if any(v is None for v in values):
            return None
        return all(_COMPARE[op](a, b) for op, a, b in zip(test.ops, values, values[1:]))
    return None


def _simplify_ifexp(expr: ir.IfExp) -> ir.Expr:
    test, body, orelse = _simplify(expr.test), _simplify(expr.body), _simplify(expr.orelse)
    truth = _constant_truth(test)
    if truth is not None:
        return body if truth else orelse
    if body == orelse:
        return body
    if isinstance(test, ir.Name) and _num(orelse) == 0 and _has_factor(body, test):
        return body  # `2 * x * g if x else 0.0`: the product is 0 at x == 0 anyway
    return ir.IfExp(test, body, orelse)


def _has_factor(expr: ir.Expr, name: ir.Name) -> bool:
    """Whether `expr` is a product of names, numbers and positive constant powers with
    `name` (or a power of it) among its factors, so that it is 0 wherever `name` is."""
    factors = _factors(expr)
    return factors is not None and any(
        f == name or isinstance(f, ir.BinOp) and f.left == name for f in factors)


def _factors(expr: ir.Expr):
    if isinstance(expr, (ir.Name, ir.Num)):
        return [expr]
    if isinstance(expr, ir.Neg):
        return _factors(expr.operand)
    if isinstance(expr, ir.BinOp) and expr.op == "*":
        left, right = _factors(expr.left), _factors(expr.right)
        return None if left is None or right is None else left + right
    if isinstance(expr, ir.BinOp) and expr.op == "**" and isinstance(expr.left, ir.Name):
        power = _num(expr.right)
        return [expr] if power is not None and power > 0 else None
    return None
