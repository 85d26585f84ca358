"""Reading calls on arrays: methods and attributes of values, and static arguments.

Shared by the fence (which checks them) and the stager (which stages them): `x.sum(axis=0)`
is a method of a value, `np.sum` a module function; `axis=(0, 1)` and `keepdims=True` are
static arguments that become part of the staged statement, not operands.
"""

from __future__ import annotations

import math

import libcst as cst

from adgen.source import literal_value


def is_value_attribute(node: cst.BaseExpression, scope, local_names) -> bool:
    """`x.T` / `x.sum` on a value, as opposed to `np.exp` / `math.pi` on a module."""
    if not isinstance(node, cst.Attribute):
        return False
    base = node.value
    while isinstance(base, cst.Attribute):
        base = base.value
    if not isinstance(base, cst.Name):
        return True
    return base.value in local_names or base.value in scope.consts or (
        base.value not in scope.modules and base.value not in scope.imported)


def _is_inf(node: cst.BaseExpression) -> bool:
    """`np.inf` / `numpy.inf` / `math.inf` (np.linalg.norm's ord)."""
    return isinstance(node, cst.Attribute) and node.attr.value == "inf" and \
        isinstance(node.value, cst.Name) and node.value.value in ("np", "numpy", "math")


def static_value(node: cst.BaseExpression):
    """A static argument's value: an int, a string, a tuple of them, True, False, None,
    infinity (`np.inf`, `math.inf`, negated or not), or a dtype's name (`float`,
    `np.float64`: "float", "float64")."""
    if _is_inf(node):
        return math.inf
    if isinstance(node, cst.Name) and node.value in ("float", "int", "bool", "complex"):
        return node.value  # a dtype: .astype(float)
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and \
            node.value.value in ("np", "numpy") and node.attr.value != "newaxis":
        return node.attr.value  # a dtype: .astype(np.float64)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus) \
            and _is_inf(node.expression):
        return -math.inf
    if isinstance(node, cst.SimpleString):  # np.einsum's subscripts, a mode
        return node.evaluated_value
    if isinstance(node, cst.Integer):
        return literal_value(node)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus) \
            and isinstance(node.expression, cst.Integer):
        return -literal_value(node.expression)
    if isinstance(node, cst.Name) and node.value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[node.value]
    if isinstance(node, (cst.Tuple, cst.List)):  # np.split(x, [2, 5]): a tuple
        return tuple(static_value(el.value) for el in node.elements)
    raise ValueError(f"not a static argument: {type(node).__name__}")


def is_static(node: cst.BaseExpression) -> bool:
    """Whether an argument is a static value (static_value reads it)."""
    try:
        static_value(node)
    except ValueError:
        return False
    return True


def shape_index(node: cst.Subscript):
    """k for `value.shape[k]` with a constant int k, else None."""
    if not (isinstance(node.value, cst.Attribute) and node.value.attr.value == "shape"
            and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index)):
        return None
    try:
        k = static_value(node.slice[0].slice.value)
    except ValueError:
        return None
    return k if isinstance(k, int) and not isinstance(k, bool) else None


def is_newaxis(node: cst.BaseExpression, scope) -> bool:
    """`None` or `np.newaxis` inside an index."""
    if isinstance(node, cst.Name) and node.value == "None":
        return True
    return isinstance(node, cst.Attribute) and scope.qualify(node) == "numpy.newaxis"


JOINERS = frozenset({"numpy.concatenate", "numpy.stack", "numpy.hstack", "numpy.vstack",
                     "numpy.column_stack", "numpy.zeros", "numpy.ones", "numpy.array",
                     "numpy.asarray"})


def joined_operands(node: cst.Call, scope):
    """The operands given as a list or tuple literal: the arrays of `np.concatenate([a, b],
    ...)`, the sizes of `np.zeros((N, D))`; else None."""
    if scope.qualify(node.func) not in JOINERS or not node.args:
        return None
    first = node.args[0]
    if first.keyword is not None or not isinstance(first.value, (cst.List, cst.Tuple)):
        return None
    return [el.value for el in first.value.elements]


def is_shape(node: cst.BaseExpression) -> bool:
    """`value.shape` (to unpack: N, D = x.shape)."""
    return isinstance(node, cst.Attribute) and node.attr.value == "shape"


def static_positionals(rule, positional: list, attrs: tuple) -> tuple[list, tuple]:
    """A call's positional arguments that its rule takes as static values (`Rule.statics`:
    the reps of `np.tile(a, (2, 1))`): moved from the operands to the attributes."""
    if not rule.statics:
        return positional, attrs
    statics = dict(rule.statics)
    kept = [a for i, a in enumerate(positional) if i not in statics]
    moved = tuple((statics[i], static_value(a)) for i, a in enumerate(positional)
                  if i in statics)
    return kept, moved + attrs
