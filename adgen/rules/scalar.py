"""Derivative rules for scalar Python: arithmetic operators, `math`, builtins, composite gates.

One declaration per primitive.  Templates are Python over the operands (`a`, `b`; `x0, x1, ...`
for variadic rules), the forward value `out` and the upstream gradient `g`.  Conventions at
non-differentiable points (docs/non-differentiable.md) are written into the templates:

* `abs'(0) = 0`  (the gradient is `g` for a > 0, `-g` for a < 0, `0.0` at 0);
* `max`/`min` ties go to the first of the tied arguments (as `max` itself returns it);
* `hypot` at the origin has gradient 0;
* `floor`, `ceil`, `trunc`, `round` are piecewise constant: zero gradient (their results are
  constants for the backward pass).
"""

from __future__ import annotations

import math
from typing import Callable, Optional, Sequence

from adgen import shapes
from adgen.lazy import LazyModule
from adgen.rules.registry import REGISTRY, Context, Rule, slot_names
from adgen.shapes import VType

# Imported on first use only (verification and the rule tests): see registry.py.
sp = LazyModule("sympy")
symbolic = LazyModule("adgen.symbolic")

DEFAULT_DOMAIN = (-2.0, 2.0)
POSITIVE = (0.2, 4.0)
UNIT = (-0.9, 0.9)

Stem = Callable[[Sequence[Optional[str]]], Optional[str]]


def _fmt(pattern: str) -> Stem:
    """A stem from a format string over operand fragments; None if any fragment is unnamed."""

    def stem(frags: Sequence[Optional[str]]) -> Optional[str]:
        if any(f is None for f in frags):
            return None
        return pattern.format(*frags)

    return stem


def _fixed(*intervals: tuple[float, float]) -> Callable[[int], tuple]:
    return lambda n: tuple(intervals)


def _sign(v: float) -> int:
    return (v > 0) - (v < 0)


def unary(name, forward, grad, *, spellings=(), sympy, stem=None, noun=None,
          domain=DEFAULT_DOMAIN, branch=None, doc="", infer=None):
    """A one-operand rule, slot `a`."""
    return REGISTRY.add(Rule(
        name=name, spellings=tuple(spellings), arity=1,
        build=lambda n: (forward, [grad]),
        stem=stem or _fmt(name + "{0}"), noun=noun or name, sympy=sympy,
        domain=_fixed(domain), branch=branch, doc=doc, infer=infer,
    ))


def binary(name, forward, grad_a, grad_b, *, spellings=(), sympy, stem, noun,
           domain=(DEFAULT_DOMAIN, DEFAULT_DOMAIN), doc="", shaped=None, branch=None,
           infer=None):
    """A two-operand rule, slots `a` and `b`."""
    return REGISTRY.add(Rule(
        name=name, spellings=tuple(spellings), arity=2,
        build=lambda n: (forward, [grad_a, grad_b]),
        stem=stem, noun=noun, sympy=sympy, domain=_fixed(*domain), doc=doc, shaped=shaped,
        branch=branch, infer=infer,
    ))


def variadic(name, build, *, spellings, sympy, stem, noun, minimum=2, branch=None, doc="",
             infer=None):
    """A rule over any number (at least `minimum`) of operands, slots `x0, x1, ...`."""
    return REGISTRY.add(Rule(
        name=name, spellings=tuple(spellings), arity=minimum, variadic=True, build=build,
        stem=stem, noun=noun, sympy=sympy, domain=lambda n: (DEFAULT_DOMAIN,) * n,
        branch=branch, doc=doc, infer=infer,
    ))


def integer_closed(ctx: Context) -> VType:
    """The type of `+ - * // %`, negation, abs, max and min: an integer of integers (sizes:
    `x.shape[0] - w.shape[0] + 1` can bound a range), else the element-wise type."""
    if ctx.types and all(t is not None and t.kind == "int" for t in ctx.types):
        return shapes.INT
    from adgen.rules.elementwise import elementwise_type  # (it imports this module)

    return elementwise_type(ctx)


# ---------------------------------------------------------------- operators

binary("add", "a + b", "g", "g", spellings=("+", "numpy.add"), sympy=lambda a, b: a + b,
       stem=_fmt("{0}p{1}"), noun="sum", doc="add gate: passes the gradient to both inputs",
       infer=integer_closed)
binary("sub", "a - b", "g", "-g", spellings=("-", "numpy.subtract"), sympy=lambda a, b: a - b,
       stem=_fmt("{0}m{1}"), noun="diff", infer=integer_closed)
binary("mul", "a * b", "b * g", "a * g", spellings=("*", "numpy.multiply"), sympy=lambda a, b: a * b,
       stem=_fmt("{0}{1}"), noun="prod",
       doc="multiply gate: each input gets the other input times the gradient",
       infer=integer_closed)


def _div_stem(frags):
    a, b = frags
    if b is None:
        return None
    if a == "1":
        return "inv" + b
    return None if a is None else f"{a}over{b}"


binary("div", "a / b", "g / b", "-out * g / b", spellings=("/", "numpy.divide", "numpy.true_divide"),
       sympy=lambda a, b: a / b,
       stem=_div_stem, noun="quot", domain=(DEFAULT_DOMAIN, POSITIVE),
       doc="d(a/b)/db = -(a/b)/b, reusing the forward value")


def _pow_stem(frags):
    a, b = frags
    if a is None:
        return None
    named = {"2": "sqr", "3": "cube"}
    if b in named:
        return a + named[b]
    return None if b is None else f"{a}pow{b}"


def _pow_shaped(ctx):
    """`a ** b`: the exponent's gradient takes the log of the base, np.log on arrays."""
    scalar = all(t.kind in ("float", "int") for t in ctx.types)
    log = "math.log" if scalar else "np.log"
    if not scalar:  # numpy's IEEE arithmetic: 0 ** -0.5 is inf, log(0) is -inf
        return "a ** b", ["b * a ** (b - 1) * g", "out * np.log(a) * g"]
    return "a ** b", [_POW_BASE.format(p="a ** (b - 1)"), _POW_EXPONENT.format(log=log)]


# At a == 0 Python raises where IEEE arithmetic gives inf (0.0 ** -0.5) or the limit is 0
# (out * log(a) with out == 0): the derivative is written out there, as numpy computes it.
_POW_BASE = "b * {p} * g if a else (g if b == 1 else (math.inf * g if 0 < b < 1 else 0.0))"
_POW_EXPONENT = "out * {log}(a) * g if a else 0.0"
binary("pow", "a ** b", _POW_BASE.format(p="a ** (b - 1)"), _POW_EXPONENT.format(log="math.log"),
       spellings=("**", "pow", "numpy.power"), sympy=lambda a, b: a ** b, stem=_pow_stem, noun="pow",
       domain=(POSITIVE, DEFAULT_DOMAIN), shaped=_pow_shaped,
       doc="with a constant exponent only the base gets a gradient: 2 * x * g for x**2")
binary("fpow", "math.pow(a, b)", _POW_BASE.format(p="math.pow(a, b - 1)"),
       _POW_EXPONENT.format(log="math.log"),
       spellings=("math.pow",), sympy=lambda a, b: a ** b, stem=_pow_stem, noun="pow",
       domain=(POSITIVE, DEFAULT_DOMAIN))
unary("neg", "-a", "-g", spellings=("u-", "numpy.negative"), sympy=lambda a: -a, stem=_fmt("neg{0}"),
      infer=integer_closed)
unary("copy", "a", "g", spellings=("u+",), sympy=lambda a: a, stem=lambda f: None, noun="t",
      doc="a = b: the gradient passes through unchanged")

# ---------------------------------------------------------------- math

unary("exp", "math.exp(a)", "out * g", spellings=("math.exp",), sympy="exp",
      doc="reuses the forward value: d exp(a) = exp(a)")
unary("log", "math.log(a)", "g / a", spellings=("math.log",), sympy="log", domain=POSITIVE)
unary("log2", "math.log2(a)", "g / (a * math.log(2))", spellings=("math.log2",),
      sympy=lambda a: sp.log(a, 2), domain=POSITIVE)
unary("log10", "math.log10(a)", "g / (a * math.log(10))", spellings=("math.log10",),
      sympy=lambda a: sp.log(a, 10), domain=POSITIVE)
unary("sqrt", "math.sqrt(a)", "g / (2 * out) if out else math.inf * g", spellings=("math.sqrt",), sympy="sqrt",
      domain=POSITIVE)
unary("sin", "math.sin(a)", "math.cos(a) * g", spellings=("math.sin",), sympy="sin")
unary("cos", "math.cos(a)", "-math.sin(a) * g", spellings=("math.cos",), sympy="cos")
unary("tan", "math.tan(a)", "(1 + out ** 2) * g", spellings=("math.tan",), sympy="tan",
      domain=(-1.2, 1.2))
unary("tanh", "math.tanh(a)", "(1 - out ** 2) * g", spellings=("math.tanh",), sympy="tanh",
      doc="tanh gate: 1 - t**2 from the forward value")
unary("sinh", "math.sinh(a)", "math.cosh(a) * g", spellings=("math.sinh",), sympy="sinh")
unary("cosh", "math.cosh(a)", "math.sinh(a) * g", spellings=("math.cosh",), sympy="cosh")
unary("asin", "math.asin(a)", "g / math.sqrt(1 - a ** 2) if abs(a) != 1 else math.inf * g", spellings=("math.asin",),
      sympy="asin", domain=UNIT)
unary("acos", "math.acos(a)", "-g / math.sqrt(1 - a ** 2) if abs(a) != 1 else -math.inf * g", spellings=("math.acos",),
      sympy="acos", domain=UNIT)
unary("atan", "math.atan(a)", "g / (1 + a ** 2)", spellings=("math.atan",), sympy="atan")
unary("asinh", "math.asinh(a)", "g / math.sqrt(a ** 2 + 1)", spellings=("math.asinh",),
      sympy="asinh")
unary("acosh", "math.acosh(a)", "g / math.sqrt(a ** 2 - 1) if a != 1 else math.inf * g", spellings=("math.acosh",),
      sympy="acosh", domain=(1.2, 4.0))
unary("atanh", "math.atanh(a)", "g / (1 - a ** 2)", spellings=("math.atanh",),
      sympy="atanh", domain=UNIT)
unary("log1p", "math.log1p(a)", "g / (1 + a)", spellings=("math.log1p",),
      sympy=lambda a: sp.log(1 + a), domain=(-0.8, 3.0))
unary("expm1", "math.expm1(a)", "(out + 1) * g", spellings=("math.expm1",),
      sympy=lambda a: sp.exp(a) - 1)
unary("erf", "math.erf(a)", "2 / math.sqrt(math.pi) * math.exp(-a ** 2) * g",
      spellings=("math.erf",), sympy="erf")
unary("erfc", "math.erfc(a)", "-2 / math.sqrt(math.pi) * math.exp(-a ** 2) * g",
      spellings=("math.erfc",), sympy="erfc")
unary("gamma", "math.gamma(a)", "out * _digamma(a) * g", spellings=("math.gamma",),
      sympy="gamma", domain=POSITIVE,
      doc="gamma(a) * digamma(a); digamma is a helper of the generated module (math has none)")
unary("lgamma", "math.lgamma(a)", "_digamma(a) * g", spellings=("math.lgamma",),
      sympy="loggamma", domain=POSITIVE, doc="digamma(a), a helper of the generated module")
unary("degrees", "math.degrees(a)", "180 / math.pi * g", spellings=("math.degrees",),
      sympy=lambda a: a * 180 / sp.pi)
unary("radians", "math.radians(a)", "math.pi / 180 * g", spellings=("math.radians",),
      sympy=lambda a: a * sp.pi / 180)
if hasattr(math, "exp2"):  # Python 3.11
    unary("exp2", "math.exp2(a)", "out * math.log(2) * g", spellings=("math.exp2",),
          sympy=lambda a: 2 ** a)
    unary("cbrt", "math.cbrt(a)", "g / (3 * out ** 2) if out else math.inf * g",
          spellings=("math.cbrt",), sympy=lambda a: a ** sp.Rational(1, 3), domain=POSITIVE)
binary("atan2", "math.atan2(a, b)", "b * g / (a ** 2 + b ** 2) if abs(a) + abs(b) else math.nan",
       "-a * g / (a ** 2 + b ** 2) if abs(a) + abs(b) else math.nan",
       spellings=("math.atan2",), sympy="atan2", stem=_fmt("atan2{0}{1}"), noun="angle",
       domain=(DEFAULT_DOMAIN, POSITIVE))

unary("float", "float(a)", "g", spellings=("float",), sympy=lambda a: a, stem=lambda f: None,
      noun="value", infer=lambda ctx: shapes.FLOAT,
      doc="float(x) of a number (`return float(loss)`): the same value, the gradient passes "
          "through; of an array, refused (AD304)")

# ---------------------------------------------------------------- kinks

_ABS_GRAD = "g if a > 0 else -g if a < 0 else 0.0"
unary("abs", "abs(a)", _ABS_GRAD, spellings=("abs",), sympy="Abs",
      branch=lambda a: (_sign(a),), doc="abs'(0) = 0")
unary("fabs", "math.fabs(a)", _ABS_GRAD, spellings=("math.fabs",), sympy="Abs",
      stem=_fmt("abs{0}"), noun="abs", branch=lambda a: (_sign(a),), doc="abs'(0) = 0")


def _extremum_build(func: str, strict: str, loose: str):
    """max/min of n operands: operand i gets g when it beats every earlier operand strictly
    and no later operand beats it, i.e. when it is the first of the winners."""

    def build(n: int):
        xs = [f"x{i}" for i in range(n)]

        def group(items):
            return items[0] if len(items) == 1 else f"{func}({', '.join(items)})"

        grads = []
        for i in range(n):
            before, after = xs[:i], xs[i + 1:]
            if n == 2:
                cond = f"x0 {loose} x1" if i == 0 else f"x0 {strict} x1"
            elif not before:
                cond = f"x0 {loose} {group(after)}"
            elif not after:
                cond = f"{group(before)} {strict} x{i}"
            else:
                cond = f"{group(before)} {strict} x{i} {loose} {group(after)}"
            grads.append(f"g if {cond} else 0.0")
        return f"{func}({', '.join(xs)})", grads

    return build


def _pairwise_signs(*xs: float) -> tuple:
    return tuple(_sign(xs[i] - xs[j]) for i in range(len(xs)) for j in range(i + 1, len(xs)))


def _joined(prefix: str) -> Stem:
    """`max` of x, y, z -> "maxxyz": every operand, for variadic rules."""
    return lambda frags: None if any(f is None for f in frags) else prefix + "".join(frags)


variadic("max", _extremum_build("max", "<", ">="), spellings=("max",), sympy="Max",
         stem=_joined("max"), noun="max", branch=_pairwise_signs,
         doc="max gate: routes the gradient to the largest input (ties: the first)",
         infer=integer_closed)
variadic("min", _extremum_build("min", ">", "<="), spellings=("min",), sympy="Min",
         stem=_joined("min"), noun="min", branch=_pairwise_signs,
         doc="min gate: routes the gradient to the smallest input (ties: the first)",
         infer=integer_closed)


def _hypot_build(n: int):
    xs = [f"x{i}" for i in range(n)]
    return f"math.hypot({', '.join(xs)})", [f"{x} / out * g if out else 0.0" for x in xs]


variadic("hypot", _hypot_build, spellings=("math.hypot",),
         sympy=lambda *xs: sp.sqrt(sum(x ** 2 for x in xs)), stem=_joined("hyp"),
         noun="norm", branch=lambda *xs: (0 if all(x == 0 for x in xs) else 1,),
         doc="gradient 0 at the origin")

binary("copysign", "math.copysign(a, b)",
       "((a > 0) - (a < 0)) * math.copysign(1, b) * g", "0.0",
       spellings=("math.copysign",), sympy=lambda a, b: sp.Abs(a) * sp.sign(b),
       stem=_fmt("copysign{0}{1}"), noun="signed", branch=lambda a, b: (_sign(a), _sign(b)),
       doc="|a| with the sign of b: the sign's gradient is 0 (it jumps at 0); abs'(0) = 0")
binary("fmod", "math.fmod(a, b)", "g", "-math.trunc(a / b) * g", spellings=("math.fmod",),
       sympy=lambda a, b: a - b * symbolic.trunc_step(a / b), stem=_fmt("{0}fmod{1}"),
       noun="rem", domain=((-3.0, 3.0), (0.5, 2.0)), branch=lambda a, b: (math.trunc(a / b),),
       doc="a - b * trunc(a / b): 1 for a, -trunc(a / b) for b, between its jumps")
binary("remainder", "math.remainder(a, b)", "g", "-round(a / b) * g",
       spellings=("math.remainder",), sympy=lambda a, b: a - b * symbolic.round_step(a / b),
       stem=_fmt("{0}rem{1}"), noun="rem", domain=((-3.0, 3.0), (0.5, 2.0)),
       branch=lambda a, b: (round(a / b),),
       doc="a - b * round(a / b): 1 for a, -round(a / b) for b, between its jumps")

# ---------------------------------------------------------------- piecewise constant


def nondifferentiable(name, forward, *, spellings, sympy):
    """A piecewise-constant function: its derivative is 0 wherever it exists, so its result
    is treated as a constant (like JAX and autograd's non-differentiable functions)."""
    return REGISTRY.add(Rule(
        name=name, spellings=tuple(spellings), arity=1, build=lambda n: (forward, ["0.0"]),
        stem=_fmt(name + "{0}"), noun=name, sympy=sympy, domain=_fixed((-3.0, 3.0)),
        branch=lambda a: (math.floor(a) if name != "round" else round(a),),
        nondifferentiable=True, doc="piecewise constant: zero gradient", infer=_integral,
    ))


def _integral(ctx: Context) -> VType:
    """int(x), math.floor(x), round(x) of a number are Python ints (`H_out = int(1 + (H -
    HH) / stride)` bounds a range); of anything else, the element-wise type."""
    if ctx.types and all(t is not None and t.kind in ("float", "int") for t in ctx.types):
        return shapes.INT
    from adgen.rules.elementwise import elementwise_type  # (it imports this module)

    return elementwise_type(ctx)


nondifferentiable("floor", "math.floor(a)", spellings=("math.floor",),
                  sympy=lambda a: symbolic.floor_step(a))
nondifferentiable("ceil", "math.ceil(a)", spellings=("math.ceil",),
                  sympy=lambda a: symbolic.ceil_step(a))
nondifferentiable("trunc", "math.trunc(a)", spellings=("math.trunc",),
                  sympy=lambda a: symbolic.trunc_step(a))
nondifferentiable("round", "round(a)", spellings=("round",),
                  sympy=lambda a: symbolic.round_step(a))
nondifferentiable("int", "int(a)", spellings=("int",), sympy=lambda a: symbolic.trunc_step(a))
REGISTRY.add(Rule(
    name="floordiv", spellings=("//",), arity=2, build=lambda n: ("a // b", ["0.0", "0.0"]),
    stem=_fmt("{0}div{1}"), noun="quot", sympy=lambda a, b: symbolic.floor_step(a / b),
    domain=_fixed((-3.0, 3.0), (0.5, 2.0)), nondifferentiable=True,
    branch=lambda a, b: (math.floor(a / b),),
    doc="floor division (sizes, indices): piecewise constant, zero gradient",
    infer=integer_closed,
))
binary("mod", "a % b", "g", "-(a // b) * g", spellings=("%", "numpy.mod", "numpy.remainder"),
       sympy=lambda a, b: a - b * symbolic.floor_step(a / b), stem=_fmt("{0}mod{1}"),
       noun="rem", domain=((-3.0, 3.0), (0.5, 2.0)),
       doc="a % b = a - b * (a // b): 1 for a, -(a // b) for b, between its jumps",
       infer=integer_closed)


def integer_function(name, arity, *, sympy, domain, doc, optional=False):
    """A function of integers with an integer result (math.factorial, comb, perm): the
    binomial terms of `math.comb(n, k) * p ** k`, a Taylor series' `x ** k /
    math.factorial(k)`.  Its operands are sizes and counters, never differentiated: its
    result is a constant of the backward pass, and an operand that depends on a
    differentiated input is refused after the activity analysis (AD306, compiler.py;
    Python raises TypeError on a float there anyway).  `optional`: the last operand may be
    left out (`math.perm(n)` is n!)."""
    def build(n: int):
        return f"math.{name}({', '.join(slot_names(n, optional))})", ["0.0"] * n

    return REGISTRY.add(Rule(
        name=name, spellings=(f"math.{name}",), arity=arity - 1 if optional else arity,
        variadic=optional, build=build,
        stem=lambda frags: None if any(f is None for f in frags) else name + "".join(frags),
        noun=name, sympy=sympy, domain=lambda n: (domain,) * n, nondifferentiable=True,
        integer=True, infer=lambda ctx: shapes.INT, doc=doc,
    ))


integer_function("factorial", 1, sympy="factorial", domain=(0, 12),
                 doc="integers only: an integer, no gradient (a differentiable operand: "
                 "AD306)")
integer_function("comb", 2, sympy="binomial", domain=(0, 12),
                 doc="n choose k, integers only: an integer, no gradient (a differentiable "
                 "operand: AD306)")
integer_function("perm", 2, sympy=lambda n, k=None: sp.factorial(n) if k is None else
                 sp.ff(n, k), domain=(0, 12), optional=True,
                 doc="n! / (n - k)!, and n! without k; integers only: an integer, no "
                 "gradient (a differentiable operand: AD306)")

# ---------------------------------------------------------------- composite gates

unary("sigmoid", "1.0 / (1 + math.exp(-a))", "(1 - out) * out * g",
      sympy=lambda a: 1 / (1 + sp.exp(-a)), stem=_fmt("sig{0}"), noun="sig",
      doc="sigmoid gate 1/(1+exp(-z)): local gradient (1 - s) * s from the forward value")
unary("softplus", "math.log(1 + math.exp(a))", "math.exp(a - out) * g",
      sympy=lambda a: sp.log(1 + sp.exp(a)), stem=_fmt("softplus{0}"), noun="softplus",
      doc="softplus gate log(1+exp(z)): its derivative is the sigmoid of z, computed as "
      "exp(z - out) from the forward value (1/(1+exp(-z)) overflows for z << 0)")
unary("softplus1p", "math.log1p(math.exp(a))", "math.exp(a - out) * g",
      sympy=lambda a: sp.log(1 + sp.exp(a)), stem=_fmt("softplus{0}"), noun="softplus",
      doc="softplus written with log1p: the same gate, the user's more accurate forward")
