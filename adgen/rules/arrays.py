"""Derivative rules for numpy arrays: element-wise functions, reductions, matrix products.

The arithmetic operators are the scalar rules (adgen/rules/scalar.py) applied element-wise;
when their operands broadcast, the reverse pass sums each operand's gradient back to its own
shape (reverse.py).  The rules here are spelled as numpy functions (`numpy.exp` is what
`np.exp` resolves to), as methods (`.sum`) or as attributes (`.T`); those whose gradient
depends on ranks or static arguments (`axis`, `keepdims`) are `shaped`: their templates are
built for each combination, and checked like any other template when first built.

Conventions (docs/non-differentiable.md): `np.abs'(0) = 0` (np.sign), `np.maximum`/`np.minimum`
ties go to the first argument, `np.clip` passes the gradient on the closed interval.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import sympy as sp

from adgen import shapes
from adgen.rules.registry import REGISTRY, Context, Rule, RuleError
from adgen.rules.scalar import DEFAULT_DOMAIN, POSITIVE, _fixed, _fmt
from adgen.shapes import VType


def elementwise_type(ctx: Context) -> VType:
    """The type of an element-wise result: broadcast of the operands."""
    types = [t for t in ctx.types if t is not None]
    if not types or all(t.kind in ("float", "int") for t in types):
        return shapes.FLOAT
    if any(t.is_array for t in types):
        known = [t.shape if t.is_array else () for t in types if t.kind != "unknown"]
        unknown = any(t.kind == "unknown" for t in types)
        return shapes.array(None if unknown else shapes.broadcast(*known))
    return shapes.UNKNOWN


def np_unary(name, forward, grad, *, sympy, domain=DEFAULT_DOMAIN, doc="", stem=None):
    """An element-wise numpy function of one array: `np.exp(a)`."""
    return REGISTRY.add(Rule(
        name=f"np_{name}", spellings=(f"numpy.{name}",), arity=1,
        build=lambda n: (forward, [grad]), stem=stem or _fmt(name + "{0}"), noun=name,
        sympy=sympy, domain=_fixed(domain), doc=doc, infer=elementwise_type,
    ))


np_unary("exp", "np.exp(a)", "out * g", sympy=sp.exp)
np_unary("log", "np.log(a)", "g / a", sympy=sp.log, domain=POSITIVE)
np_unary("sqrt", "np.sqrt(a)", "g / (2 * out)", sympy=sp.sqrt, domain=POSITIVE)
np_unary("square", "np.square(a)", "2 * a * g", sympy=lambda a: a ** 2,
         stem=_fmt("{0}sqr"))
np_unary("abs", "np.abs(a)", "np.sign(a) * g", sympy=sp.Abs, doc="abs'(0) = 0 (np.sign)")
np_unary("sin", "np.sin(a)", "np.cos(a) * g", sympy=sp.sin)
np_unary("cos", "np.cos(a)", "-np.sin(a) * g", sympy=sp.cos)
np_unary("tanh", "np.tanh(a)", "(1 - out ** 2) * g", sympy=sp.tanh)

REGISTRY.add(Rule(
    name="np_sigmoid", spellings=(), arity=1,
    build=lambda n: ("1.0 / (1 + np.exp(-a))", ["(1 - out) * out * g"]),
    stem=_fmt("sig{0}"), noun="sig", sympy=lambda a: 1 / (1 + sp.exp(-a)),
    domain=_fixed(DEFAULT_DOMAIN), infer=elementwise_type,
    doc="sigmoid gate on arrays: (1 - s) * s from the forward value",
))


def _np_binary(name, forward, grad_a, grad_b, sympy, doc):
    return REGISTRY.add(Rule(
        name=f"np_{name}", spellings=(f"numpy.{name}",), arity=2,
        build=lambda n: (forward, [grad_a, grad_b]), stem=_fmt(name + "{0}{1}"), noun=name,
        sympy=sympy, domain=_fixed(DEFAULT_DOMAIN, DEFAULT_DOMAIN), doc=doc,
        infer=elementwise_type, branch=lambda a, b: (np.sign(np.subtract(a, b)),),
    ))


_np_binary("maximum", "np.maximum(a, b)", "g * (a >= b)", "g * (a < b)", sp.Max,
           "element-wise max gate: ties go to the first argument")
_np_binary("minimum", "np.minimum(a, b)", "g * (a <= b)", "g * (a > b)", sp.Min,
           "element-wise min gate: ties go to the first argument")


# ---------------------------------------------------------------- reductions


def _axes(ctx: Context, rank: Optional[int]) -> Optional[tuple[int, ...]]:
    axis = ctx.attr("axis")
    if axis is None:
        return None
    axes = axis if isinstance(axis, tuple) else (axis,)
    if rank is None:
        if any(a < 0 for a in axes):
            raise RuleError("negative axes need a known rank")
        return tuple(sorted(axes))
    return tuple(sorted(a % rank for a in axes))


def _reduce_type(ctx: Context) -> VType:
    (t,) = ctx.types
    keep = ctx.attr("keepdims", False)
    if (not t.is_array and t.kind != "unknown") or (ctx.attr("axis") is None and not keep):
        return shapes.FLOAT  # a full reduction is a scalar, whatever its operand
    if t.shape is None:
        return shapes.array(None)
    axes = _axes(ctx, len(t.shape))
    if axes is None:
        return shapes.array((1,) * len(t.shape)) if keep else shapes.FLOAT
    dims = [1 if i in axes else d for i, d in enumerate(t.shape)] if keep else \
        [d for i, d in enumerate(t.shape) if i not in axes]
    return shapes.array(tuple(dims)) if dims else shapes.FLOAT


def _reduce_call(func: str, ctx: Context) -> str:
    parts = ["a"]
    if ctx.attr("axis") is not None:
        parts.append(f"axis={ctx.attr('axis')!r}")
    if ctx.attr("keepdims", False):
        parts.append("keepdims=True")
    return f"np.{func}({', '.join(parts)})"


def _spread(ctx: Context, g: str) -> str:
    """`g` (the reduced gradient) expanded back over the reduced axes and broadcast to the
    operand's shape."""
    axis = ctx.attr("axis")
    if axis is not None and not ctx.attr("keepdims", False):
        g = f"np.expand_dims({g}, {axis!r})"
    return f"np.broadcast_to({g}, np.shape(a))"


def _count(ctx: Context) -> str:
    axis = ctx.attr("axis")
    if axis is None:
        return "np.size(a)"
    axes = axis if isinstance(axis, tuple) else (axis,)
    return " * ".join(f"np.shape(a)[{a}]" for a in axes)


def _sum_shaped(ctx: Context):
    return _reduce_call("sum", ctx), [_spread(ctx, "g")]


def _mean_shaped(ctx: Context):
    return _reduce_call("mean", ctx), [_spread(ctx, f"g / ({_count(ctx)})")]


def _reduction(name, shaped, sympy, doc):
    return REGISTRY.add(Rule(
        name=f"np_{name}", spellings=(f"numpy.{name}", f".{name}"), arity=1,
        build=lambda n: shaped(Context(1)), shaped=shaped, stem=_fmt(name + "{0}"),
        noun=name, sympy=sympy, domain=_fixed(DEFAULT_DOMAIN), elementwise=False,
        keywords=("axis", "keepdims"), infer=_reduce_type, doc=doc,
    ))


_reduction("sum", _sum_shaped, lambda a: a, "the gradient is broadcast back over the summed axes")
_reduction("mean", _mean_shaped, lambda a: a,
           "the gradient is broadcast back over the averaged axes, divided by their size")


# ---------------------------------------------------------------- linear algebra


def _rank(t: VType) -> Optional[int]:
    return t.rank if t is not None else None


def _matmul_shaped(ctx: Context):
    """Gradients of a @ b by ranks: the shapes say which transpose."""
    ra, rb = (_rank(t) for t in ctx.types) if ctx.types else (2, 2)
    if ra == 2 and rb == 2:
        return "a @ b", ["g @ b.T", "a.T @ g"]
    if ra == 1 and rb == 1:
        return "a @ b", ["g * b", "g * a"]
    if ra == 2 and rb == 1:
        return "a @ b", ["np.outer(g, b)", "a.T @ g"]
    if ra == 1 and rb == 2:
        return "a @ b", ["b @ g", "np.outer(a, g)"]
    raise RuleError("a @ b needs operands of known rank 1 or 2")


def _matmul_type(ctx: Context) -> VType:
    a, b = ctx.types
    if a.shape is None or b.shape is None:
        return shapes.array(None)
    out = a.shape[:-1] + b.shape[1:] if len(b.shape) == 2 else a.shape[:-1]
    return shapes.array(out) if out else shapes.FLOAT


REGISTRY.add(Rule(
    name="matmul", spellings=("@", "numpy.dot", "numpy.matmul", ".dot"), arity=2,
    build=lambda n: _matmul_shaped(Context(2)), shaped=_matmul_shaped,
    stem=_fmt("{0}{1}"), noun="prod", sympy=lambda a, b: a * b,
    domain=_fixed(DEFAULT_DOMAIN, DEFAULT_DOMAIN), elementwise=False, infer=_matmul_type,
    doc="D = W @ X: dW = dD @ X.T, dX = W.T @ dD (the shapes tell which transpose)",
))


def _transpose_type(ctx: Context) -> VType:
    (t,) = ctx.types
    return shapes.array(None if t.shape is None else tuple(reversed(t.shape)))


REGISTRY.add(Rule(
    name="transpose", spellings=(".T", "numpy.transpose"), arity=1,
    build=lambda n: ("a.T", ["g.T"]), stem=_fmt("{0}T"), noun="trans",
    sympy=lambda a: a, domain=_fixed(DEFAULT_DOMAIN), elementwise=False,
    infer=_transpose_type, doc="the gradient of a transpose is the transposed gradient",
))
