"""Rules for polynomials, convolutions and ranges: np.polyval, np.convolve, np.linspace.

* `np.polyval(p, x)` is differentiable in its coefficients (a vector, highest power first,
  as numpy takes them) and in x (a number or an array): dp[i] sums g * x ** (n - 1 - i)
  over x's elements (the columns of `np.vander(x, n)` are those powers), and dx is g times
  the derivative polynomial at x.
* `np.convolve(a, v, mode)` of two vectors: the full convolution's gradient with respect
  to one operand is the upstream gradient correlated with the other (`np.correlate(g, v,
  'valid')`).  numpy's 'same' and 'valid' are slices of the full convolution whose place
  depends only on the shorter length (numpy puts the longer operand first; the full
  convolution is the same in either order), so their gradient puts g back in its place in
  the full one first (`_unconvolve`, adgen/prelude.py): right whichever operand is longer.
* `np.linspace(start, stop, num)` between two numbers: element i is start * (1 - t_i) +
  stop * t_i with t = np.linspace(0.0, 1.0, num) (numpy sets the last element to stop
  exactly, which this also gives), so the gradients are sums of g weighted by t and 1 - t.
  `num` and `endpoint` are constants of the call (Rule.statics).
"""

from __future__ import annotations

from adgen import shapes
from adgen.rules.registry import REGISTRY, Context, Rule, RuleError
from adgen.rules.scalar import DEFAULT_DOMAIN
from adgen.shapes import VType, unknown_dim

# The operands whose unknown rank a rule asks the command line's inference for, and the
# rank it asks (stage_types.check_types; others ask for matrices): np.polyval's
# coefficients are a vector, np.convolve's operands are vectors, np.linspace's ends numbers.
REQUESTED_RANKS = {"np_polyval": ((0,), 1), "np_convolve": ((0, 1), 1),
                   "np_linspace": ((0, 1), 0)}


def _declare(name, shaped, doc, *, arity, infer, samples, noun, keywords=(), statics=()):
    return REGISTRY.add(Rule(
        name=name, spellings=(f"numpy.{name[3:]}",), arity=arity,
        build=lambda n: shaped(Context(n, samples[0][0], _types(samples[0][1]))),
        shaped=shaped, stem=lambda f: None, noun=noun, sympy=lambda *a: a[0],
        domain=lambda n: (DEFAULT_DOMAIN,) * n, elementwise=False, keywords=keywords,
        statics=statics, infer=infer, doc=doc, samples=tuple(samples),
    ))


def _types(operands) -> tuple:
    """The operand types of a sample: a shape tuple (() a number), a list (an integer
    array), an int."""
    return tuple(shapes.array(op) if isinstance(op, tuple) and op else shapes.FLOAT
                 if isinstance(op, tuple) else VType("intarray", (len(op),))
                 if isinstance(op, list) else shapes.INT for op in operands)


# ---------------------------------------------------------------- np.polyval


def _polyval_shaped(ctx: Context):
    tp, tx = ctx.types
    if tp is None or tp.rank is None:
        raise RuleError("np.polyval needs to know that its coefficients are a vector "
                        "(their rank is not known)")
    if tp.rank != 1:
        raise RuleError("np.polyval is supported with a vector of coefficients (highest "
                        "power first)")
    x = "b * 1.0" if tx is not None and tx.kind in ("int", "intarray") else "b"
    rank = None if tx is None else tx.rank
    if rank == 0:  # each coefficient gets g times its power of x
        dp = f"g * ({x}) ** np.arange(len(a) - 1, -1, -1)" if x != "b" else \
            "g * b ** np.arange(len(a) - 1, -1, -1)"
    elif rank == 1:  # ... summed over x's elements: np.vander's columns are the powers
        dp = f"g @ np.vander({x}, len(a))"
    else:
        dp = f"np.ravel(g) @ np.vander(np.ravel({x}), len(a))"
    dx = "g * np.polyval(a[:-1] * np.arange(len(a) - 1, 0, -1), b)"
    return "np.polyval(a, b)", [dp, dx]


def _polyval_type(ctx: Context) -> VType:
    tx = ctx.types[1] if len(ctx.types) > 1 else None
    if tx is None:
        return shapes.array(None)
    if tx.kind == "int":
        return shapes.FLOAT
    if tx.kind == "intarray":
        return shapes.array(tx.shape)
    return tx


_declare("np_polyval", _polyval_shaped,
         "a (the coefficients, a vector, highest power first): g times each power of b, "
         "summed over b's elements; b: g times the derivative polynomial at b", arity=2,
         infer=_polyval_type, noun="poly",
         samples=[((), [(4,), ()]), ((), [(4,), (5,)]), ((), [(3,), (2, 3)]),
                  ((), [(1,), (3,)]), ((), [(5,), 3]), ((), [(3,), [1, -2, 4]])])


# ---------------------------------------------------------------- np.convolve

_MODES = ("full", "same", "valid")


def _convolve_shaped(ctx: Context):
    mode = ctx.attr("mode", "full")
    if mode not in _MODES:
        raise RuleError(f"np.convolve's mode is 'full', 'same' or 'valid', not {mode!r}")
    for t in ctx.types:
        if t is None or t.rank is None:
            raise RuleError("np.convolve needs to know that its operands are vectors (their "
                            "rank is not known)")
        if t.rank == 0:
            raise RuleError("np.convolve of a number is a product: write a * v")
        if t.rank != 1:
            raise RuleError("np.convolve takes vectors")
    if mode == "full":
        call = "np.convolve(a, b)" if ctx.attr("mode") is None else \
            "np.convolve(a, b, 'full')"
        return call, ["np.correlate(g, b, 'valid')", "np.correlate(g, a, 'valid')"]
    return f"np.convolve(a, b, {mode!r})", [f"_unconvolve(g, a, b, {mode!r})",
                                            f"_unconvolve(g, b, a, {mode!r})"]


def _convolve_type(ctx: Context) -> VType:
    a, b = ctx.types
    mode = ctx.attr("mode", "full")
    if a is not None and b is not None and a.shape and b.shape and \
            all(isinstance(t.shape[0], int) for t in (a, b)):
        n, m = a.shape[0], b.shape[0]
        size = {"full": n + m - 1, "same": max(n, m), "valid": max(n, m) - min(n, m) + 1}
        return shapes.array((size.get(mode, unknown_dim()),))
    return shapes.array((unknown_dim(),))


_declare("np_convolve", _convolve_shaped,
         "g correlated with the other operand (np.correlate); 'same' and 'valid' first put "
         "g back in its place in the full convolution (_unconvolve), in either length order",
         arity=2, infer=_convolve_type, noun="conv", keywords=("mode",),
         statics=((2, "mode"),),
         samples=[(attrs, operands) for attrs in ((), (("mode", "full"),), (("mode", "same"),),
                                                  (("mode", "valid"),))
                  for operands in ([(5,), (3,)], [(3,), (5,)], [(6,), (4,)], [(4,), (6,)],
                                   [(4,), (4,)], [(1,), (4,)], [(7,), (2,)])])


# ---------------------------------------------------------------- np.linspace


def _linspace_shaped(ctx: Context):
    num, endpoint = ctx.attr("num", 50), ctx.attr("endpoint", True)
    if not isinstance(num, int) or isinstance(num, bool) or num < 0:
        raise RuleError(f"np.linspace's num is a non-negative int, not {num!r}")
    if endpoint not in (True, False):
        raise RuleError("np.linspace's endpoint is True or False")
    for t in ctx.types:
        if t is None or t.rank is None:
            raise RuleError("np.linspace needs to know that its end points are numbers")
        if t.rank != 0:
            raise RuleError("np.linspace is supported between two numbers (array end "
                            "points are not)")
    tail = f"{num}" if endpoint else f"{num}, endpoint=False"
    return f"np.linspace(a, b, {tail})", [f"np.sum(g * np.linspace(1.0, 0.0, {tail}))",
                                          f"np.sum(g * np.linspace(0.0, 1.0, {tail}))"]


_declare("np_linspace", _linspace_shaped,
         "between two numbers: element i is a * (1 - t[i]) + b * t[i] with t = "
         "np.linspace(0.0, 1.0, num), so each end gets g summed with its weights; num a "
         "constant", arity=2, noun="grid", keywords=("num", "endpoint"),
         statics=((2, "num"),),
         infer=lambda ctx: shapes.array((ctx.attr("num", 50),)) if isinstance(
             ctx.attr("num", 50), int) else shapes.array((unknown_dim(),)),
         samples=[((("num", 7),), [(), ()]), ((("num", 1),), [(), ()]),
                  ((("num", 5), ("endpoint", False)), [(), ()]), ((), [(), ()]),
                  ((("num", 2),), [(), 1])])
