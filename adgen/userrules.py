"""Rules users declare: a function of their own, marked with its backward.

    import adgen

    @adgen.primitive
    def logsumexp(x):
        m = np.max(x)
        return m + np.log(np.sum(np.exp(x - m)))

    @logsumexp.backward
    def logsumexp_backward(g, out, x):
        return g * np.exp(x - out)

adgen does not read a primitive's code: a call `logsumexp(z)` is one statement, and its
gradient calls the backward, `dz = logsumexp_backward(dy, y, z)` -- `g` the gradient of the
result, `out` the result, then the arguments; it returns the gradient of each argument (a
tuple when there are several; None, or anything, for one that gets no gradient).  The
generated module imports both by name from the user's module (`from model import logsumexp,
logsumexp_backward`), never adgen.  `adgen.check_grad(logsumexp, x)` checks the backward
against finite differences (docs/rules.md, "Adding your own rule").

Everything here is read from the source, as the rest of adgen is: the decorators are
recognised by name (`adgen.primitive`, `NAME.backward`), nothing is imported or run.
"""

from __future__ import annotations

import os
import re
import weakref
from typing import Optional

import libcst as cst

from adgen import ir, shapes
from adgen.params import positional_params
from adgen.rules.registry import REGISTRY, Rule, slot_names

DECORATOR = "adgen.primitive"


def primitive(fn):
    """Mark `fn` as a primitive whose derivative you declare with `@fn.backward`: adgen
    calls it rather than reading its code, and differentiates it with the backward."""
    def backward(bwd):
        fn.__adgen_backward__ = bwd
        return bwd
    fn.backward = backward
    return fn


_DECLARED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def primitives_of(parsed) -> dict[str, Optional[str]]:
    """The primitives of a parsed module: function name -> its backward's name (None when
    none is declared)."""
    found = _DECLARED.get(parsed)
    if found is not None:
        return found
    found = {}
    functions = parsed.scope.functions
    for name, node in functions.items():
        if any(_decorator(parsed, d) == DECORATOR for d in node.decorators):
            found[name] = None
    for name, node in functions.items():
        for dec in node.decorators:
            d = dec.decorator
            if isinstance(d, cst.Attribute) and d.attr.value == "backward" and \
                    isinstance(d.value, cst.Name) and d.value.value in found:
                found[d.value.value] = name
    _DECLARED[parsed] = found
    return found


def backward_names(parsed) -> set[str]:
    return {b for b in primitives_of(parsed).values() if b is not None}


def _decorator(parsed, dec: cst.Decorator) -> Optional[str]:
    expr = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
    return parsed.scope.qualify(expr) if isinstance(expr, (cst.Name, cst.Attribute)) else None


def called_primitive(parsed, scope, func: cst.BaseExpression, local: set):
    """(the parsed module that declares it, its name) when `func` names a primitive of this
    file or of a user module; else None."""
    if isinstance(func, cst.Name) and func.value in scope.functions and func.value not in local:
        return (parsed, func.value) if func.value in primitives_of(parsed) else None
    if not isinstance(func, (cst.Name, cst.Attribute)):
        return None
    elsewhere = parsed.user_function(scope.qualify(func))
    if elsewhere is not None and elsewhere[1] in primitives_of(elsewhere[0]):
        return elsewhere
    return None


def module_of(parsed) -> str:
    """The module the generated code imports a primitive from."""
    return getattr(parsed, "import_name", None) or parsed.module_name or \
        os.path.splitext(os.path.basename(parsed.path))[0]


def params_of(node: cst.FunctionDef) -> list[str]:
    return [p.name.value for p in positional_params(node)]


class DeclarationError(Exception):
    """A primitive that cannot be used as declared (reported as a diagnostic)."""


def user_rule(parsed, name: str) -> Rule:
    """The rule of a primitive (registered on first use, replaced when it changed)."""
    backward = primitives_of(parsed)[name]
    module = module_of(parsed)
    if backward is None:
        raise DeclarationError(f"'{name}' is an @adgen.primitive with no backward")
    n = len(params_of(parsed.scope.functions[name]))
    rule_name = "user_" + re.sub(r"\W", "_", f"{module}_{name}")
    existing = REGISTRY.get(rule_name)
    key = (module, name, backward, n)
    if existing is not None and existing.declared_in == key:
        return existing
    slots = ", ".join(slot_names(n, False))
    call = f"{backward}(g, out, {slots})"
    grads = [call] if n == 1 else [f"shared[{i}]" for i in range(n)]
    rule = Rule(
        name=rule_name, spellings=(), arity=n,
        build=lambda k: (f"{name}({slots})", grads), stem=lambda f: None, noun=name,
        sympy=lambda *a: a[0], domain=lambda k: ((-2.0, 2.0),) * k, elementwise=False,
        infer=_result_type(parsed.scope.functions[name]),
        doc=f"declared in {module}: backward {backward}", declared_in=key,
        functions=frozenset({name, backward}), shared=None if n == 1 else call,
    )
    REGISTRY.declare(rule)
    return rule


def _result_type(node: cst.FunctionDef):
    """The primitive's result type: its return annotation (`-> float`, `-> "N D"`), else
    a number when every operand is one, else not known (a number or an array)."""
    annotation = node.returns.annotation if node.returns is not None else None
    declared = None
    if isinstance(annotation, cst.Name) and annotation.value == "float":
        declared = shapes.FLOAT
    elif isinstance(annotation, cst.SimpleString):
        declared = shapes.parse_annotation(annotation.evaluated_value)

    def infer(ctx):
        if declared is not None:
            return declared
        if all(t.kind in ("float", "int") for t in ctx.types):
            return shapes.FLOAT
        return shapes.UNKNOWN
    return infer


def _prims(stmts):
    for stmt in stmts:
        if isinstance(stmt, ir.Assign):
            yield stmt.prim
        for field in ("body", "orelse", "header"):
            yield from _prims(getattr(stmt, field, ()))


def import_lines(grads) -> list[str]:
    """`from model import f, f_backward` for the primitives the gradients call."""
    by_module: dict[str, set] = {}
    where: dict[str, str] = {}
    for grad in grads:
        for prim in _prims(grad.forward):
            declared = REGISTRY[prim].declared_in
            if declared is None:
                continue
            module, name, backward, _ = declared
            for function in (name, backward):
                if where.setdefault(function, module) != module:
                    raise DeclarationError(f"two modules declare a primitive named "
                                           f"'{function}': {where[function]} and {module}")
                by_module.setdefault(module, set()).add(function)
    return [f"from {m} import {', '.join(sorted(names))}"
            for m, names in sorted(by_module.items())]


def stage_primitive(stager, node: cst.Call, target, user, parsed, name: str):
    """A call to a primitive: one statement of its rule."""
    try:
        rule = user_rule(parsed, name)
    except DeclarationError as exc:
        stager.report("AD301", node, str(exc), "declare its backward with "
                      f"@{name}.backward (docs/rules.md#adding-your-own-rule)")
        return ir.Num(0.0)
    args = tuple(stager.stage_expr(a.value) for a in node.args)
    return stager.add(rule.name, args, node, target, user)


def stage_own_primitive(stager) -> bool:
    """Differentiating a primitive itself (`adgen model.py -f logsumexp`,
    `adgen.check_grad(logsumexp, x)`): its body is the one call of its rule, so that the
    gradient is its declared backward.  False for any other function."""
    name = stager.fn.name.value
    if stager.callers or name not in primitives_of(stager.parsed):
        return False
    try:
        rule = user_rule(stager.parsed, name)
    except DeclarationError as exc:
        stager.report("AD301", stager.fn.name, str(exc), f"declare it with @{name}.backward")
        return True
    args = tuple(stager.lookup(p, stager.fn) for p in params_of(stager.fn))
    # (the output is not named after the function: the generated code calls it by name)
    stager.env["<return>"] = stager.add(  # stage_env.RETURN
        rule.name, args, stager.fn.name, stager.names.fresh("out"))
    return True


def declared_backwards(grad) -> list[str]:
    """`f (f_backward)` for each declared primitive a gradient calls, in order."""
    found = []
    for prim in _prims(grad.forward):
        declared = REGISTRY[prim].declared_in
        if declared is not None and f"{declared[1]} ({declared[2]})" not in found:
            found.append(f"{declared[1]} ({declared[2]})")
    return found
