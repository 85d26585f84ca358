"""Methods that call methods: `p = self.sigmoid(X @ w)` in `def loss(self, w, X, y)`.

Class-based code splits a model into methods.  A method called through the instance the
function was given (`self.forward(X)`, `self.sigmoid(z)`) is inlined like a helper of the
file, its first parameter bound to that instance, so the members it reads (`self.reg`,
`self.params['W1']`) are the caller's (members.find walks the methods a function calls this
way, and the stager reads them through the binding).  A static method is inlined with
nothing bound; a class method, or a method of another object, is not inlined.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from adgen.params import positional_params


def class_of(parsed, fn) -> Optional[cst.ClassDef]:
    """The top-level class of the file that defines `fn`, or None."""
    for stmt in parsed.module.body:
        if isinstance(stmt, cst.ClassDef) and isinstance(stmt.body, cst.IndentedBlock):
            if any(item is fn for item in stmt.body.body):
                return stmt
    return None


def method_called(parsed, fn, func: cst.BaseExpression) -> Optional[cst.FunctionDef]:
    """The method `func` names when it is `self.name` -- `self` being `fn`'s first
    parameter, `fn` a method of a top-level class -- and the class defines `name` as a plain
    method; else None."""
    if not isinstance(func, cst.Attribute) or not isinstance(func.value, cst.Name) or \
            not isinstance(fn, cst.FunctionDef):
        return None
    first = positional_params(fn)[:1]
    if not first or func.value.value != first[0].name.value:
        return None
    cls = class_of(parsed, fn)
    if cls is None:
        return None
    for item in cls.body.body:
        if isinstance(item, cst.FunctionDef) and item.name.value == func.attr.value and (
                (not item.decorators and positional_params(item)) or is_static_method(item)):
            return item
    return None


def is_static_method(method: cst.FunctionDef) -> bool:
    """`@staticmethod`: called through `self` (`self.sigmoid(z)`), nothing is bound to its
    first parameter."""
    return len(method.decorators) == 1 and \
        isinstance(method.decorators[0].decorator, cst.Name) and \
        method.decorators[0].decorator.value == "staticmethod"


def called_methods(parsed, fn: cst.FunctionDef) -> list[cst.FunctionDef]:
    """The methods `fn` calls through `self`, and those they call, each once, whose first
    parameter has `fn`'s first parameter's name (so a member path reads the same there)."""
    from adgen.children import children

    first = positional_params(fn)[:1]
    if not first or class_of(parsed, fn) is None:
        return []
    name = first[0].name.value
    found: list = []
    pending: list = [fn]
    while pending:
        current = pending.pop()
        nodes: list = [current.body]
        while nodes:
            node = nodes.pop()
            if isinstance(node, cst.Call):
                method = method_called(parsed, current, node.func)
                if method is not None and method is not fn and not is_static_method(method) and \
                        all(method is not m for m in found) and \
                        positional_params(method)[0].name.value == name:
                    found.append(method)
                    pending.append(method)
            nodes.extend(children(node))
    return found
