"""Lists built while the function runs (adgen/runlists.py): `hs = []`, `hs.append(h)` in a
loop whose count is known only at run time, then `np.stack(hs)`, `sum(hs)`, `hs[-1]`.

The generated forward pass builds each version of such a list as a new list (`hs_1 = hs +
[h]`), so no version ever changes after it is made.  The gradient of a list is one array,
the entries' gradients stacked along a new first axis (`dhs[k]` is the gradient of
`hs[k]`): appending reads its last row, stacking passes it through, indexing scatters into
it (the `getitem` rule of arrays.py), and accumulation is numpy's.  The entries must
therefore have one shape, as `np.stack` needs (a ragged list fails loudly when the gradient
is formed, never silently).
"""

from __future__ import annotations

from typing import Optional

from adgen import shapes
from adgen.rules.registry import REGISTRY, Context, Rule, RuleError
from adgen.rules.scalar import DEFAULT_DOMAIN, _fixed
from adgen.shapes import VType, entry_type, list_of, unknown_dim

LIST_RULES = ("list_of", "list_append", "list_stack", "list_concat", "list_sum")


def joined_entry(*types: Optional[VType]) -> Optional[VType]:
    """The entry type of a list holding entries of all these types: one shape, or unknown."""
    known = [t for t in types if t is not None]
    if not known or any(t.shape is None for t in known):
        return None
    first = known[0]
    if any(len(t.shape) != len(first.shape) for t in known):
        return None
    dims = tuple(d if all(t.shape[i] == d for t in known) else unknown_dim()
                 for i, d in enumerate(first.shape))
    return shapes.array(dims) if dims else shapes.FLOAT


def _list_of_build(n: int):
    items = ", ".join(f"x{i}" for i in range(n))
    return f"[{items}]", [f"g[{i}]" for i in range(n)]


REGISTRY.add(Rule(
    name="list_of", spellings=(), arity=0, variadic=True, build=_list_of_build,
    stem=lambda f: None, noun="list", sympy=lambda *a: list(a),
    domain=lambda n: (DEFAULT_DOMAIN,) * n, elementwise=False,
    infer=lambda ctx: list_of(joined_entry(*ctx.types)) if ctx.types else VType("list", None),
    doc="a list made before a loop that appends to it, [a, b]: entry k's gradient is dlist[k]",
))
REGISTRY.add(Rule(
    name="list_append", spellings=(), arity=2, build=lambda n: ("a + [b]", ["g[:-1]", "g[-1]"]),
    stem=lambda f: None, noun="list", sympy=lambda a, b: a + [b],
    domain=_fixed(DEFAULT_DOMAIN, DEFAULT_DOMAIN), elementwise=False,
    infer=lambda ctx: list_of(joined_entry(entry_type(ctx.types[0]), ctx.types[1])
                              if ctx.types[0].shape is not None or ctx.types[0].kind != "list"
                              else ctx.types[1]),
    doc="hs.append(h), a new list hs + [h]: dh is the last row of dhs, the list before it "
        "gets the rows before",
))


def _axis(ctx: Context, extra: int) -> int:
    """The static axis, made non-negative with the entries' rank (+ extra)."""
    k = ctx.attr("axis", 0)
    if k < 0:
        entry = entry_type(ctx.types[0]) if ctx.types else None
        if entry is None:
            raise RuleError("a negative axis needs the list's entries of known rank")
        k += (entry.rank or 0) + extra
    return k


def _stack_shaped(ctx: Context):
    k = _axis(ctx, 1)
    forward = "np.stack(a)" if k == 0 else f"np.stack(a, axis={k})"
    return forward, ["g" if k == 0 else f"np.moveaxis(g, {k}, 0)"]


def _stack_type(ctx: Context) -> VType:
    t = ctx.types[0]
    if t.shape is None:
        return shapes.array(None)
    k = _axis(ctx, 1)
    dims = list(t.shape[1:])
    dims.insert(k, t.shape[0])
    return shapes.array(tuple(dims))


REGISTRY.add(Rule(
    name="list_stack", spellings=(), arity=1, build=lambda n: ("np.stack(a)", ["g"]),
    shaped=_stack_shaped, stem=lambda f: None, noun="stack", sympy=lambda a: a,
    domain=_fixed(DEFAULT_DOMAIN), elementwise=False, keywords=("axis",), infer=_stack_type,
    doc="np.stack(hs, axis=k), np.array(hs): the list's gradient is g with axis k moved first",
))


def _concat_shaped(ctx: Context):
    k = _axis(ctx, 0)
    forward = "np.concatenate(a)" if k == 0 else f"np.concatenate(a, axis={k})"
    return forward, [f"_unconcatenate(g, a, {k})"]


def _concat_type(ctx: Context) -> VType:
    t = ctx.types[0]
    if t.shape is None or len(t.shape) < 2:
        return shapes.array(None)
    k = _axis(ctx, 0)
    dims = list(t.shape[1:])
    dims[k] = unknown_dim()
    return shapes.array(tuple(dims))


REGISTRY.add(Rule(
    name="list_concat", spellings=(), arity=1,
    build=lambda n: ("np.concatenate(a)", ["_unconcatenate(g, a, 0)"]),
    shaped=_concat_shaped, stem=lambda f: None, noun="cat", sympy=lambda a: a,
    domain=_fixed(DEFAULT_DOMAIN), elementwise=False, keywords=("axis",), infer=_concat_type,
    doc="np.concatenate(hs, axis=k), np.vstack(hs), np.hstack(hs) of equal-shaped entries: "
        "g split into one part per entry, stacked (entries of one shape)",
))
REGISTRY.add(Rule(
    name="list_sum", spellings=(), arity=1,
    build=lambda n: ("_list_sum(a)", ["np.broadcast_to(g, np.shape(a))"]),
    stem=lambda f: None, noun="sum", sympy=lambda a: sum(a), domain=_fixed(DEFAULT_DOMAIN),
    elementwise=False,
    infer=lambda ctx: entry_type(ctx.types[0]) or shapes.UNKNOWN,
    doc="sum(hs), the builtin: every entry's gradient is g (np.shape(hs) checks that the "
        "entries have one shape)",
))
