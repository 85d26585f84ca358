"""Reductions added with autograd's vocabulary: np.prod, np.cumsum, np.cumprod, np.trace
(np.sum, mean, var, std, max, min are in adgen/rules/arrays.py).

np.prod and np.cumprod never divide by the operand (`_prod_others`, `_cumprod_grad` of
adgen/prelude.py): their gradients are exact where it has zeros.
"""

from __future__ import annotations

from adgen import shapes
from adgen.rules.arrays import _expand, _reduce_call, _reduce_type
from adgen.rules.registry import Context, RuleError
from adgen.rules.shaping import _axis, _rank, _same, rule
from adgen.shapes import VType, unknown_dim


# ---------------------------------------------------------------- reductions


def _prod_shaped(ctx: Context):
    axis = ctx.attr("axis")
    others = "_prod_others(a)" if axis is None else f"_prod_others(a, {axis!r})"
    return _reduce_call("prod", ctx), [f"{others} * {_expand(ctx, 'g')}"]


_AXES = [((), [(3, 4, 2)]), ((("axis", 1),), [(3, 4, 2)]), ((("axis", -1),), [(3, 4, 2)]),
         ((("axis", (0, 2)), ("keepdims", True)), [(3, 4, 2)]),
         ((("axis", 0), ("keepdims", True)), [(3, 4)]), ((), [(5,)])]
rule("np_prod", ("numpy.prod", ".prod"), _prod_shaped,
     "the product of the other elements times the gradient, without dividing (exact at "
     "zeros)", keywords=("axis", "keepdims"), statics=((1, "axis"),), infer=_reduce_type,
     noun="prod",
     samples=_AXES + [((("axis", 1),), [[[1.5, 0.0, 2.0], [0.0, 0.0, 3.0]]])])


def _cumulative(func: str, grad_axis: str, grad_flat: str):
    def shaped(ctx: Context):
        axis = _axis(ctx, f"np.{func}")
        if axis is None:
            return f"np.{func}(a)", [grad_flat]
        return f"np.{func}(a, axis={axis})", [grad_axis.format(k=axis)]
    return shaped


def _flat_type(ctx: Context) -> VType:
    return _same(ctx) if ctx.attr("axis") is not None else shapes.array((unknown_dim(),))


_CUMULATIVE = [((), [(3, 4)]), ((("axis", 0),), [(3, 4)]), ((("axis", -1),), [(2, 3, 4)]),
               ((("axis", 1),), [(2, 3, 4)])]
rule("np_cumsum", ("numpy.cumsum", ".cumsum"),
     _cumulative("cumsum", "np.flip(np.cumsum(np.flip(g, {k}), axis={k}), {k})",
                 "np.flip(np.cumsum(np.flip(g))).reshape(np.shape(a))"),
     "a cumulative sum backwards: the gradient summed from the end", keywords=("axis",),
     statics=((1, "axis"),),
     infer=_flat_type, noun="csum", samples=_CUMULATIVE)
rule("np_cumprod", ("numpy.cumprod", ".cumprod"),
     _cumulative("cumprod", "_cumprod_grad(g, a, {k})", "_cumprod_grad(g, a)"),
     "sum over j >= i of g[j] times the product of a[:j + 1] without a[i]: no division "
     "(exact at zeros), n * n memory along the axis", keywords=("axis",),
     statics=((1, "axis"),), infer=_flat_type,
     noun="cprod", samples=_CUMULATIVE + [((("axis", 1),), [[[1.5, 0.0, 2.0, -1.0]]])])


def _trace_shaped(ctx: Context):
    if _rank(ctx, "np.trace") != 2:
        raise RuleError("np.trace is supported for matrices (rank 2)")
    k = ctx.attr("offset", 0)
    call = "np.trace(a)" if not k else f"np.trace(a, offset={k})"
    return call, [f"np.eye(np.shape(a)[0], np.shape(a)[1], {k}) * g"]


rule("np_trace", ("numpy.trace", ".trace"), _trace_shaped,
     "the identity (shifted by offset) times the gradient", keywords=("offset",),
     infer=lambda ctx: shapes.FLOAT, noun="tr",
     samples=[((), [(3, 3)]), ((("offset", 1),), [(3, 4)]), ((("offset", -1),), [(4, 3)])])
