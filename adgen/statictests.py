"""Branches on static values: `if activation == "relu":` in a helper called with a literal.

Real code picks a layer's activation, a mode or an option by comparing a string (or `None`, or
a flag) it was passed: `linear_activation_forward(A, W, b, activation="relu")`.  Called with a
literal, the helper's test is known when adgen compiles, so only the path it takes is staged:
the generated code says `A = np.maximum(0, Z)`, not `cond1 = "relu" == "sigmoid"` and both
paths, and a name only the other path assigns (an `if`/`elif` with no `else`) is never read
unassigned.  With a value known only when the function runs (the function's own parameter),
the test stays an ordinary branch.

Two questions, one per stage:

* `may_be_static(test)` (the fence, which checks a helper once for all its callers): whether
  the test compares with a string, `None`, `True` or `False` literal (through `not`, `and`,
  `or`), so that its truth may be known where the helper is inlined.  The fence then leaves
  names assigned on only some paths of that `if` to the stager, which knows.
* `truth(test, env)` (the stager): True or False when every operand is such a literal or a
  name bound to one (`ir.Lit`, or the `ir.Num` of True or False), else None.
"""

from __future__ import annotations

import ast
from typing import Optional

import libcst as cst

from adgen import ir

_NAMED = {"None": None, "True": True, "False": False}
_MISSING = object()


def string_test(test: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    """The string of `name.startswith('W')` / `.endswith(...)` with literal arguments (a
    key of a dict being written out: `for name, W in params.items()`), else None."""
    if isinstance(test, cst.Call) and isinstance(test.func, cst.Attribute) and \
            test.func.attr.value in _STRING_TESTS and len(test.args) == 1 and \
            test.args[0].keyword is None and not test.args[0].star and \
            _literal_strings(test.args[0].value) is not None:
        return test.func.value
    return None


_STRING_TESTS = ("startswith", "endswith")


def _literal_strings(node: cst.BaseExpression):
    """A string literal's value, or a tuple of them; else None."""
    if isinstance(node, cst.Tuple):
        values = tuple(_literal(el.value) for el in node.elements)
        return values if all(isinstance(v, str) for v in values) else None
    value = _literal(node)
    return value if isinstance(value, str) else None


def is_literal(node: cst.BaseExpression) -> bool:
    """A string, None, True or False: a static value (a default, a compared operand)."""
    return _literal(node) is not _MISSING


def may_be_static(test: cst.BaseExpression) -> bool:
    if string_test(test) is not None:
        return True
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return may_be_static(test.expression)
    if isinstance(test, cst.BooleanOperation):
        return may_be_static(test.left) and may_be_static(test.right)
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1 and \
            isinstance(test.comparisons[0].operator, _OPERATORS):
        return any(is_literal(side) for side in (test.left, test.comparisons[0].comparator))
    return False


def truth(test: cst.BaseExpression, env: dict) -> Optional[bool]:
    if string_test(test) is not None:
        value = _value(string_test(test), env)
        if not isinstance(value, str):
            return None
        return getattr(value, test.func.attr.value)(_literal_strings(test.args[0].value))
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        inner = truth(test.expression, env)
        return None if inner is None else not inner
    if isinstance(test, cst.BooleanOperation):
        is_and = isinstance(test.operator, cst.And)
        left = truth(test.left, env)
        if left is not None and left != is_and:
            return left  # False and ..., True or ...: decided by the left side alone
        right = truth(test.right, env)
        return None if left is None or right is None else right
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        op = test.comparisons[0].operator
        if not isinstance(op, _OPERATORS):
            return None
        left = _value(test.left, env)
        right = _value(test.comparisons[0].comparator, env)
        if left is _MISSING or right is _MISSING:
            return None
        return _OPERATORS_BY_TYPE[type(op)](left, right)
    value = _value(test, env)  # if verbose: a flag given a literal
    return None if value is _MISSING else bool(value)


_OPERATORS_BY_TYPE = {
    cst.Equal: lambda a, b: a == b, cst.NotEqual: lambda a, b: a != b,
    cst.Is: lambda a, b: a is b, cst.IsNot: lambda a, b: a is not b,
}
_OPERATORS = tuple(_OPERATORS_BY_TYPE)


def _literal(node: cst.BaseExpression):
    """The value of a string, None, True or False literal, else _MISSING."""
    if isinstance(node, cst.SimpleString):
        return node.evaluated_value
    if isinstance(node, cst.Name) and node.value in _NAMED:
        return _NAMED[node.value]
    return _MISSING


def _value(node: cst.BaseExpression, env: dict):
    """A literal, or a name bound to one (a helper's parameter given a literal)."""
    value = _literal(node)
    if value is not _MISSING or not isinstance(node, cst.Name):
        return value
    bound = env.get(node.value)
    if isinstance(bound, ir.Num) and bound.text in _NAMED:  # True, False: staged as numbers
        return _NAMED[bound.text]
    if not isinstance(bound, ir.Lit):
        return _MISSING
    try:
        value = ast.literal_eval(bound.text)
    except (ValueError, SyntaxError):
        return _MISSING
    return value if value is None or isinstance(value, (str, bool)) else _MISSING
