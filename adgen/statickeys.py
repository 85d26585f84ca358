"""Dict keys computed from constants (`parameters['W' + str(l)]`), and a dict's views.

deeplearning.ai's networks keep their weights in one dict and read layer l's as
`parameters['W' + str(l)]` in `for l in range(1, L)`, with `L = len(parameters) // 2`.  The
loop is written out (its count is known when compiling: stage_containers.unrolled), so in
each copy `l` is a constant and so is the key.  This module reads such keys:

* `key_form(node)` (the fence): whether an index has the form of a computed key -- `+` of
  strings, `str(...)`, an f-string, `'W%d' % l`, `'W{}'.format(l)` -- and its parts that are
  not strings (`l`), which the fence checks as expressions;
* `key_value(node, count)` (the stager): the key, when every part is a string literal or an
  integer `count(part)` knows (stage_containers.constant_count), else None.
"""

from __future__ import annotations

from typing import Callable, Optional

import libcst as cst


def key_form(node: cst.BaseExpression) -> Optional[list]:
    """The parts of a computed key that are not strings (to check), or None when `node` is
    not one."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        return []
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        left, right = key_form(node.left), key_form(node.right)
        if left is None or right is None or not (_stringy(node.left) or
                                                 _stringy(node.right)):
            return None
        return left + right
    if isinstance(node, cst.FormattedString):
        parts = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringExpression):
                if part.conversion is not None or part.format_spec:
                    return None
                parts.append(part.expression)
        return parts
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Modulo) and \
            isinstance(node.left, cst.SimpleString):
        right = node.right
        return [el.value for el in right.elements] if isinstance(right, cst.Tuple) else [right]
    if _str_call(node):
        return [node.args[0].value]
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and \
            node.func.attr.value == "format" and isinstance(node.func.value, cst.SimpleString) \
            and all(a.keyword is None and not a.star for a in node.args):
        return [a.value for a in node.args]
    return None


def key_value(node: cst.BaseExpression, count: Callable) -> Optional[str]:
    """The key `node` computes, each integer part given by `count` (None if unknown)."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        left, right = key_value(node.left, count), key_value(node.right, count)
        return None if left is None or right is None else left + right
    if _str_call(node):
        number = count(node.args[0].value)
        return None if number is None else str(number)
    values = key_form(node)
    if values is None or not values:
        return None
    numbers = [count(v) for v in values]
    if any(n is None for n in numbers):
        return None
    if isinstance(node, cst.FormattedString):
        numbers_left = iter(numbers)
        return "".join(part.value if isinstance(part, cst.FormattedStringText)
                       else str(next(numbers_left)) for part in node.parts)
    template = node.left.evaluated_value if isinstance(node, cst.BinaryOperation) \
        else node.func.value.evaluated_value
    try:
        return template % tuple(numbers) if isinstance(node, cst.BinaryOperation) \
            else template.format(*numbers)
    except (TypeError, ValueError, IndexError, KeyError):
        return None


def _stringy(node: cst.BaseExpression) -> bool:
    return isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)) \
        or _str_call(node) or (isinstance(node, cst.BinaryOperation) and
                               key_form(node) is not None)


def _str_call(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and \
        node.func.value == "str" and len(node.args) == 1 and node.args[0].keyword is None \
        and not node.args[0].star


DICT_VIEWS = ("keys", "values", "items")


def dict_view(node: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    """The dict of `params.keys()`, `params.values()` or `params.items()` (a loop or a
    comprehension over it is written out: the keys are known when compiling), else None."""
    if isinstance(node, cst.Call) and not node.args and isinstance(node.func, cst.Attribute) \
            and node.func.attr.value in DICT_VIEWS:
        return node.func.value
    return None
