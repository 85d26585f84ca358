"""Composite gates: groups of operations whose local gradient is simpler than their parts.

The stager asks `match(node)` before staging an expression; a match turns, for example,
`1 / (1 + math.exp(-z))` into one `sigmoid` statement whose gradient `(1 - s) * s * g` reuses
the forward value, instead of four statements and four backward blocks.  Patterns are matched
on the libcst tree, up to parentheses and the order of the operands of `+`.

| pattern                                   | gate       |
|-------------------------------------------|------------|
| `1 / (1 + exp(-z))`, `1 / (exp(-z) + 1)`  | `sigmoid` (`np_sigmoid` with `np.exp`) |
| `log(1 + exp(z))`, `log(exp(z) + 1)`, `log1p(exp(z))` | `softplus` |
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from adgen.source import ModuleScope, literal_value


def match(node: cst.BaseExpression, scope: ModuleScope) -> Optional[tuple[str, cst.BaseExpression]]:
    """(gate rule name, operand) if `node` is a composite gate, else None."""
    for matcher in (_sigmoid, _softplus):
        found = matcher(node, scope)
        if found is not None:
            return found
    return None


def _is_one(node: cst.BaseExpression) -> bool:
    return isinstance(node, (cst.Integer, cst.Float)) and literal_value(node) == 1


def _call_of(node: cst.BaseExpression, func: str, scope: ModuleScope) -> Optional[cst.BaseExpression]:
    """The single positional argument of a call to `func`, else None."""
    if (
        isinstance(node, cst.Call)
        and scope.qualify(node.func) == func
        and len(node.args) == 1
        and node.args[0].keyword is None
        and not node.args[0].star
    ):
        return node.args[0].value
    return None


def _one_plus(node: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    """`x` if node is `1 + x` or `x + 1`."""
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        if _is_one(node.left):
            return node.right
        if _is_one(node.right):
            return node.left
    return None


def _sigmoid(node, scope):
    if not (isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Divide)
            and _is_one(node.left)):
        return None
    rest = _one_plus(node.right)
    for exp, gate in (("math.exp", "sigmoid"), ("numpy.exp", "np_sigmoid")):
        exp_arg = _call_of(rest, exp, scope) if rest is not None else None
        if isinstance(exp_arg, cst.UnaryOperation) and isinstance(exp_arg.operator, cst.Minus):
            return gate, exp_arg.expression
    return None


def _softplus(node, scope):
    log_arg = _call_of(node, "math.log", scope)
    if log_arg is not None:
        rest = _one_plus(log_arg)
        z = _call_of(rest, "math.exp", scope) if rest is not None else None
        return ("softplus", z) if z is not None else None
    log1p_arg = _call_of(node, "math.log1p", scope)
    if log1p_arg is not None:
        z = _call_of(log1p_arg, "math.exp", scope)
        return ("softplus1p", z) if z is not None else None
    return None
