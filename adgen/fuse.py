"""Fuse: gates that span several staged statements, found in the IR.

`gates.py` recognises a gate written as one expression; a softmax is usually written over
several statements (CS231n's `exp_scores = np.exp(scores); probs = exp_scores /
exp_scores.sum(axis=1, keepdims=True)`), so it is found here, after staging:

    E = np.exp(X); S = np.sum(E, axis=k, keepdims=True); P = E / S

with E and S used nowhere else becomes `P = softmax_div(E, S, X)`: the forward pass is
unchanged (the same statements, the same numbers), and the backward pass goes straight from
P to X with the softmax's local gradient `P * (g - (g * P).sum(axis=k, keepdims=True))`
instead of differentiating the exponential, the sum and the division one by one.  When X is
itself `A - A.max(axis=k, keepdims=True)` (the usual shift), the gradient goes to A: the
softmax does not change under the shift, so the shift's own gradient is exactly zero.
"""

from __future__ import annotations

import collections
import dataclasses

from adgen import ir
from adgen.rules import REGISTRY


def _uses(fn: ir.Function) -> collections.Counter:
    """How often each value feeds a gradient: uses by statements that carry no derivative
    (a shape, a comparison) do not count — the fused forward pass computes the same values,
    only the backward route changes."""
    counts: collections.Counter = collections.Counter()
    for stmt in fn.body:
        if REGISTRY[stmt.prim].nondifferentiable:
            continue
        counts.update(a.id for a in stmt.args if isinstance(a, ir.Name))
    if isinstance(fn.output, ir.Name):
        counts[fn.output.id] += 1
    return counts


def _keepdims_axis(stmt: ir.Assign):
    attrs = dict(stmt.attrs)
    axis = attrs.get("axis")
    if attrs.get("keepdims") is True and isinstance(axis, int) and not isinstance(axis, bool):
        return axis
    return None


def fuse(fn: ir.Function) -> ir.Function:
    """`fn` with every softmax written out over statements turned into a softmax gate."""
    if not fn.types or not ir.is_flat(fn.body):
        return fn
    by_target = {stmt.target: stmt for stmt in fn.body}
    uses = _uses(fn)
    body = list(fn.body)
    for i, stmt in enumerate(body):
        if stmt.prim != "div" or not all(isinstance(a, ir.Name) for a in stmt.args):
            continue
        e, s = (by_target.get(a.id) for a in stmt.args)
        if e is None or s is None or e.prim != "np_exp" or s.prim != "np_sum":
            continue
        axis = _keepdims_axis(s)
        if axis is None or s.args != (ir.Name(e.target),):
            continue
        if uses[e.target] != 2 or uses[s.target] != 1 or not isinstance(e.args[0], ir.Name):
            continue
        source = e.args[0]
        shifted = by_target.get(source.id)
        if shifted is not None and shifted.prim == "sub" and uses[source.id] == 1:
            base, top = shifted.args
            top_stmt = by_target.get(top.id) if isinstance(top, ir.Name) else None
            if (top_stmt is not None and top_stmt.prim == "np_max"
                    and top_stmt.args == (base,) and _keepdims_axis(top_stmt) == axis
                    and uses[top.id] == 1 and isinstance(base, ir.Name)):
                source = base  # the gradient skips the shift: softmax(A - max A) = softmax(A)
        body[i] = dataclasses.replace(
            stmt, prim="softmax_div", args=stmt.args + (source,),
            attrs=(("axis", axis),), types=stmt.types + (fn.types.get(source.id),))
    return dataclasses.replace(fn, body=tuple(body))
