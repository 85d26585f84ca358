"""A libcst node's direct children, the same as `node.children` but without its cost.

libcst computes `node.children` by running `_visit_and_replace_children` with a collecting
visitor, which rebuilds the node and every child (dataclass construction and validation):
walking a function's tree through `.children` cost about as much as parsing it.  The order
of the children is the order in which that method visits the node's fields, so it is read
once per node type from the method's source (`visit_required(self, "value", ...)`, ...), and
the children are then the fields' values in that order, sequences flattened.  A node type
whose method visits its fields conditionally (f-string parts, `from x import *`) keeps
libcst's own `children`.
"""

from __future__ import annotations

import inspect
import re
from typing import Optional

import libcst as cst

_VISIT = re.compile(r'visit_\w+\(\s*self,\s*"(\w+)",\s*self\.(\w+)\b')
_ORDERS: dict[type, Optional[tuple[str, ...]]] = {}


def _order(cls: type) -> Optional[tuple[str, ...]]:
    """The fields `cls._visit_and_replace_children` visits, in order; None when it does
    anything but visit each of them once (then libcst's own `children` is used)."""
    method = next((c.__dict__["_visit_and_replace_children"] for c in cls.__mro__
                   if "_visit_and_replace_children" in c.__dict__), None)
    if method is None:
        return None
    try:
        body = inspect.getsource(method).split("\n", 1)[1]
    except (OSError, TypeError, IndexError):
        return None
    fields = _VISIT.findall(body)
    if re.search(r"\b(if|for|while|lambda)\b", body) or \
            len(fields) != len(re.findall(r"\bvisit_\w+\(", body)) or \
            any(name != attribute for name, attribute in fields):
        return None
    return tuple(name for name, _ in fields)


def children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """`node.children`: the direct child nodes, in the order they appear in the code."""
    cls = type(node)
    try:
        order = _ORDERS[cls]
    except KeyError:
        order = _ORDERS[cls] = _order(cls)
    if order is None:
        return list(node.children)
    found: list[cst.CSTNode] = []
    for name in order:
        value = getattr(node, name)
        if _is_node(type(value)):
            found.append(value)
        elif isinstance(value, (tuple, list)):
            found.extend(v for v in value if _is_node(type(v)))
    return found


def _is_node(cls: type) -> bool:
    """`issubclass(cls, cst.CSTNode)`, remembered: CSTNode is an abstract base class, and
    `isinstance` against one goes through `ABCMeta.__instancecheck__` every time."""
    known = _NODE_TYPES.get(cls)
    if known is None:
        known = _NODE_TYPES[cls] = issubclass(cls, cst.CSTNode)
    return known


_NODE_TYPES: dict[type, bool] = {}
