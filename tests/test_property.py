"""Property test: random straight-line programs, differentiated three ways.

A hypothesis strategy writes random forward functions of 1-4 parameters over adgen's rule
vocabulary -- the operators + - * / ** and unary minus and plus, `math` functions, abs/max/min
(2-4 arguments)/pow, math.pow, hypot, atan2, the composite gates (sigmoid, softplus), math and
module-level constants -- in 1-8 statements: assignment, re-assignment (of parameters too),
augmented assignment (+= -= *= /= **=), tuple assignment, annotated assignment, then a return.
`math` is imported plainly, under an alias, or function by function; trailing parameters may
have defaults; `wrt` is the default, one name, or a list.  Names are chosen to collide with
the names adgen invents (`dx`, `df`, `grad_x`, `xpy`, `sum1`, `x_1`, the function's own name).
Every expression carries an interval bound on its value, and the generator only applies a
function where the bound keeps it in the function's domain (log and sqrt only of positive
things, division only by things bounded away from 0, exp only of bounded things, fractional
powers only of positive bases), so almost every program evaluates everywhere in the test box.

Each program is compiled by adgen, and the generated `NAME_grad` is checked at 1-3 points
against

1. `sympy.diff` of the forward function, run on sympy symbols with `adgen.symbolic`'s
   stand-ins for `math` and the builtins, evaluated at the point to 30 digits -- relative
   tolerance 1e-8;
2. central differences of the forward function in floating point -- loose tolerance;

and `NAME_value_and_grad` (when asked for) must agree with the function and `NAME_grad`
exactly.  The generated module must be deterministic (the same text compiles to
byte-identical output, also in processes with other hash seeds) and standalone (it imports
nothing but `math`, and runs with every other import blocked).  Points within a small
neighbourhood of a kink (abs at 0, a max/min tie, hypot at the origin), found by running the
forward function with tracing stand-ins for the kinked functions, are skipped: there the
gradient is a convention, which tests/test_kinks.py checks.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import json
import math
import os
import subprocess
import sys
import types
from typing import Optional, Union

import sympy as sp
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

from adgen import symbolic
from adgen.compiler import compile_source
from property_settings import DERANDOMIZE, examples

# ---------------------------------------------------------------- tolerances and limits

SYMBOLIC_RTOL = 1e-8  # generated gradient (float) vs sympy.diff (evaluated to DIGITS digits)
DIGITS = 30
FD_RTOL = 1e-4  # generated gradient vs central differences of the float forward function
POINT_LOW, POINT_HIGH = -2.0, 2.0  # the box the test points are drawn from
LIMIT = 1e2  # an expression whose bound exceeds this is squashed before it is used further
KINK_MARGIN = 1e-6  # closest (relative) an abs/max/min/hypot argument may come to a kink

# ---------------------------------------------------------------- names

# Names that collide with what adgen invents: gradient names (d<x>, grad_<x>), versions of
# re-assigned variables (x_1), derived and numbered intermediates (xpy, sum1, sigx), outputs.
PARAM_POOL = ("x", "y", "z", "w", "a", "b", "t", "dx", "dy", "df", "grad_x", "x_1",
              "xpy", "sum1", "out", "f", "sum", "input", "exp", "e", "m", "C")
LOCAL_POOL = ("h", "a", "b", "c", "v", "u", "tmp", "dx", "dy", "df", "dh", "da", "grad_x",
              "grad_h", "x_1", "h_1", "xpy", "xsqr", "sigx", "expx", "sum1", "prod1",
              "quot1", "neg1", "out", "f", "loss", "g", "sum", "log", "pi", "m", "K", "w_1")
FUNCTION_NAMES = ("f", "f", "f", "loss", "g")

CONSTANTS = (  # (text as written, value); negative ones are written with a unary minus
    ("2", 2), ("3", 3), ("1", 1), ("0.5", 0.5), ("1.5", 1.5), ("0.25", 0.25), (".75", 0.75),
    ("2.", 2.0), ("1e-1", 0.1), ("10", 10), ("0.0", 0.0), ("0.3", 0.3), ("1_0", 10),
)
MODULE_CONSTANTS = (  # (name, text, value); text may use the math module's alias ({m})
    ("C", "0.5", 0.5), ("K", "-1.25", -1.25), ("TWO_PI", "2 * {m}.pi", 2 * math.pi),
    ("EPS", "1e-3", 1e-3), ("SCALE", "3 / 4", 0.75),
)
MATH_CONSTANTS = (("pi", math.pi), ("e", math.e), ("tau", math.tau))


# ---------------------------------------------------------------- expressions with bounds


@dataclasses.dataclass(frozen=True)
class X:
    """An expression (a Python AST) and an interval guaranteed to contain its value."""

    node: ast.expr
    lo: float
    hi: float

    @property
    def mag(self) -> float:
        return max(abs(self.lo), abs(self.hi))


def lit(text: str, value: float) -> X:
    # A Name node prints its id verbatim, so literals keep the spelling we chose ("2.", "1_0").
    return X(ast.Name(text), value, value)


def neg(a: X) -> X:
    return X(ast.UnaryOp(ast.USub(), a.node), -a.hi, -a.lo)


def bin_op(op: ast.operator, a: X, b: X, lo: float, hi: float) -> X:
    return X(ast.BinOp(a.node, op, b.node), lo, hi)


def add(a: X, b: X) -> X:
    return bin_op(ast.Add(), a, b, a.lo + b.lo, a.hi + b.hi)


def sub(a: X, b: X) -> X:
    return bin_op(ast.Sub(), a, b, a.lo - b.hi, a.hi - b.lo)


def _products(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    ps = [p * q for p in a for q in b]
    return min(ps), max(ps)


def mul(a: X, b: X) -> X:
    return bin_op(ast.Mult(), a, b, *_products((a.lo, a.hi), (b.lo, b.hi)))


def div(a: X, d: X) -> X:
    assert d.lo >= 0.1 or d.hi <= -0.1, "denominator not bounded away from 0"
    return bin_op(ast.Div(), a, d, *_products((a.lo, a.hi), (1 / d.hi, 1 / d.lo)))


def square_bounds(a: X) -> tuple[float, float]:
    low = 0.0 if a.lo <= 0 <= a.hi else min(a.lo ** 2, a.hi ** 2)
    return low, a.mag ** 2


def square(a: X) -> X:
    """a * a, with the tight bounds interval multiplication would miss."""
    return X(ast.BinOp(a.node, ast.Mult(), a.node), *square_bounds(a))


def int_power_bounds(a: X, k: int) -> tuple[float, float]:
    if k % 2 == 0:
        lo, hi = square_bounds(a)
        return lo ** (k // 2), hi ** (k // 2)
    return a.lo ** k, a.hi ** k


def real_power_bounds(base: X, exponent: X) -> tuple[float, float]:
    assert base.lo > 0
    vals = [b ** e for b in (base.lo, base.hi) for e in (exponent.lo, exponent.hi)]
    return min(vals), max(vals)


def _sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v))


def _softplus(v: float) -> float:
    return math.log1p(math.exp(v))


# Monotone functions: the image of an interval is the interval between the endpoints' images.
INCREASING = {
    "exp": math.exp, "expm1": math.expm1, "sinh": math.sinh, "log": math.log,
    "log2": math.log2, "log10": math.log10, "sqrt": math.sqrt, "tanh": math.tanh,
    "atan": math.atan, "asinh": math.asinh, "erf": math.erf, "tan": math.tan,
    "asin": math.asin, "atanh": math.atanh, "acosh": math.acosh, "log1p": math.log1p,
}
DECREASING = {"erfc": math.erfc, "acos": math.acos}


# What an expression node can be, weighted (by repetition) roughly by how many rules each
# kind covers, so that every rule turns up in a few hundred programs.
OPERATIONS = ("add", "sub", "mul", "div", "neg", "plus", "intpow", "realpow", "realpow",
              "constpow", "exp", "exp", "log", "log", "log1p", "trig", "trig", "trig",
              "invtrig", "invtrig", "atan2", "hypot", "abs", "extremum", "extremum", "gate")


class Program:
    """Writes one random program; `draw` is hypothesis's."""

    def __init__(self, draw, style: str):
        self.draw = draw
        self.style = style  # "math": import math; "m": import math as m; "from": from math import
        self.from_imports: set[str] = set()
        self.needs_math_module = style == "math"
        self.env: dict[str, tuple[float, float]] = {}  # bound local name -> interval
        self.recent: list[str] = []  # bound names, the most recently assigned last
        self.params: list[str] = []
        self.varied: set[str] = set()  # bound names whose value depends on a parameter
        self.module_consts: dict[str, float] = {}
        # Names a program must not bind: the builtins it calls, the math module's names, and
        # the names adgen reserves for the modules generated code may use (AD205).
        self.forbidden: set[str] = {"abs", "max", "min", "pow", "math", "np", "numpy"}
        if style == "m":
            self.forbidden.add("m")
        if style == "from":  # functions imported by name must not be shadowed
            self.forbidden |= {n for n in dir(math) if not n.startswith("_")}

    # ------------------------------------------------------------ helpers

    def is_varied(self, node: ast.expr) -> bool:
        """Whether the expression reads a name whose value depends on a parameter."""
        return any(isinstance(n, ast.Name) and n.id in self.varied for n in ast.walk(node))

    def bind(self, name: str, value: X) -> None:
        self.env[name] = (value.lo, value.hi)
        if self.is_varied(value.node):
            self.varied.add(name)
        else:
            self.varied.discard(name)
        if name in self.recent:
            self.recent.remove(name)
        self.recent.append(name)

    def variable(self) -> str:
        """A bound name, preferring recent ones (so later statements use earlier results)."""
        return self.recent[-1 - self.draw(st.integers(0, len(self.recent) - 1))]

    def pick(self, options):
        return self.draw(st.sampled_from(options))

    def coin(self) -> bool:
        return self.draw(st.booleans())

    def module_name(self) -> str:
        return "m" if self.style == "m" else "math"

    def math_attr(self, name: str) -> ast.expr:
        if self.style == "from":
            self.needs_math_module = True
        return ast.Attribute(ast.Name(self.module_name()), name)

    def callee(self, name: str) -> ast.expr:
        if name in ("abs", "max", "min", "pow"):
            return ast.Name(name)
        if self.style == "from":
            self.from_imports.add(name)
            return ast.Name(name)
        return ast.Attribute(ast.Name(self.module_name()), name)

    def call(self, name: str, args: list[X], lo: float, hi: float) -> X:
        return X(ast.Call(self.callee(name), [a.node for a in args], []), lo, hi)

    def unary_call(self, name: str, a: X) -> X:
        if name in INCREASING:
            fn = INCREASING[name]
            return self.call(name, [a], fn(a.lo), fn(a.hi))
        if name in DECREASING:
            fn = DECREASING[name]
            return self.call(name, [a], fn(a.hi), fn(a.lo))
        if name == "cosh":
            low = 0.0 if a.lo <= 0 <= a.hi else min(abs(a.lo), abs(a.hi))
            return self.call(name, [a], math.cosh(low), math.cosh(a.mag))
        if name in ("sin", "cos"):
            return self.call(name, [a], -1.0, 1.0)
        if name in ("abs", "fabs"):
            low = 0.0 if a.lo <= 0 <= a.hi else min(abs(a.lo), abs(a.hi))
            return self.call(name, [a], low, a.mag)
        raise AssertionError(name)

    def constant(self) -> X:
        text, value = self.pick(CONSTANTS)
        c = lit(text, value)
        return neg(c) if value and self.draw(st.integers(0, 4)) == 0 else c

    # ------------------------------------------------------------ shaping

    def squash(self, a: X) -> X:
        """A bounded function of `a` (|value| <= pi/2)."""
        # (not sin or cos: of a large argument, they oscillate too fast for finite differences)
        kind = self.pick(("tanh", "atan", "erf", "ratio", "hypot_ratio"))
        if kind == "ratio":  # a / (1 + a * a) lies in [-1/2, 1/2]
            d = add(lit("1", 1), mul(a, a))
            return X(ast.BinOp(a.node, ast.Div(), d.node), -0.5, 0.5)
        if kind == "hypot_ratio":  # a / hypot(1, a) lies in (-1, 1)
            h = self.call("hypot", [lit("1", 1), a], 1.0, math.hypot(1, a.mag))
            return X(ast.BinOp(a.node, ast.Div(), h.node), -1.0, 1.0)
        return self.unary_call(kind, a)

    def bounded(self, a: X, bound: float) -> X:
        return a if a.mag <= bound else self.squash(a)

    def positive(self, a: X) -> X:
        """An expression of `a` with value >= 0.2."""
        if a.lo >= 0.2 and self.coin():
            return a
        kind = self.pick(("one_plus_sq", "one_plus_pow", "two_plus_trig", "exp", "hypot",
                          "abs", "cosh", "one_plus_exp", "tanh"))
        if kind == "one_plus_sq":
            return add(lit("1", 1), square(a))
        if kind == "one_plus_pow":
            lo, hi = square_bounds(a)
            return add(lit("1", 1), bin_op(ast.Pow(), a, lit("2", 2), lo, hi))
        if kind == "two_plus_trig":
            return add(lit("2", 2), self.unary_call(self.pick(("sin", "cos")), a))
        if kind == "exp":
            return self.unary_call("exp", self.bounded(a, 1.5))
        if kind == "hypot":
            return self.call("hypot", [a, lit("1", 1)], 1.0, math.hypot(a.mag, 1))
        if kind == "abs":
            return add(lit("0.5", 0.5), self.unary_call(self.pick(("abs", "fabs")), a))
        if kind == "cosh":
            return self.unary_call("cosh", self.bounded(a, 5))
        if kind == "one_plus_exp":
            return add(lit("1", 1), self.unary_call("exp", self.bounded(a, 5)))
        return add(lit("1.5", 1.5), self.unary_call("tanh", a))

    def nonzero(self, a: X) -> X:
        """An expression of `a` bounded away from zero (either sign)."""
        if (a.lo >= 0.2 or a.hi <= -0.2) and self.coin():
            return a
        p = self.positive(a)
        return neg(p) if self.draw(st.integers(0, 3)) == 0 else p

    def unit(self, a: X) -> X:
        """An expression of `a` with |value| <= 0.9."""
        if a.mag <= 0.9 and self.coin():
            return a
        kind = self.pick(("tanh", "sin", "ratio"))
        if kind == "tanh":
            return mul(lit("0.9", 0.9), self.unary_call("tanh", a))
        if kind == "sin":
            return div(self.unary_call("sin", a), lit("2", 2))
        d = add(lit("1", 1), mul(a, a))
        return X(ast.BinOp(a.node, ast.Div(), d.node), -0.5, 0.5)

    # ------------------------------------------------------------ expressions

    def leaf(self) -> X:
        kind = self.draw(st.integers(0, 9))
        if kind <= 6 and self.env:
            name = self.variable()
            return X(ast.Name(name), *self.env[name])
        if kind <= 7:
            return self.constant()
        if kind == 8 and self.module_consts:
            name = self.pick(sorted(self.module_consts))
            value = self.module_consts[name]
            return X(ast.Name(name), value, value)
        name, value = self.pick(MATH_CONSTANTS)
        return X(self.math_attr(name), value, value)

    def expr(self, depth: int) -> X:
        if depth <= 0 or self.draw(st.integers(0, 4)) == 0:
            return self.leaf()
        kind = self.pick(OPERATIONS)
        x = getattr(self, "op_" + kind)(depth - 1)
        if x.mag > LIMIT:
            x = self.squash(x)
        return x

    def op_add(self, d):
        return add(self.expr(d), self.expr(d))

    def op_sub(self, d):
        return sub(self.expr(d), self.expr(d))

    def op_mul(self, d):
        return mul(self.expr(d), self.expr(d))

    def op_div(self, d):
        return div(self.expr(d), self.nonzero(self.expr(d)))

    def op_neg(self, d):
        return neg(self.expr(d))

    def op_plus(self, d):
        a = self.expr(d)
        return X(ast.UnaryOp(ast.UAdd(), a.node), a.lo, a.hi)

    def op_intpow(self, d):
        a = self.expr(d)
        k = self.pick((2, 3, 2, 4))
        lo, hi = int_power_bounds(a, k)
        kind = self.pick(("op", "pow", "mathpow", "square"))
        if kind == "op":
            return bin_op(ast.Pow(), a, lit(str(k), k), lo, hi)
        if kind == "pow":
            return self.call("pow", [a, lit(str(k), k)], lo, hi)
        if kind == "mathpow":
            return X(ast.Call(self._math_pow_callee(), [a.node, ast.Name(str(k))], []), lo, hi)
        if k == 2:
            return square(a)
        return bin_op(ast.Pow(), a, lit(str(k), k), lo, hi)

    def _math_pow_callee(self) -> ast.expr:
        # `math.pow` through the module even in the from-import style: `from math import pow`
        # would shadow the builtin `pow`, which programs use too.
        return self.math_attr("pow")

    def op_realpow(self, d):
        base = self.positive(self.expr(d))
        if self.coin():
            text, value = self.pick((("0.5", 0.5), ("1.5", 1.5), ("-1", -1), ("-0.5", -0.5),
                                     ("2.5", 2.5), ("-2", -2)))
            exponent = neg(lit(text[1:], -value)) if value < 0 else lit(text, value)
        else:
            exponent = self.bounded(self.expr(d), 2)
        if base.hi > 50:
            base = self.positive(self.squash(base))
        lo, hi = real_power_bounds(base, exponent)
        kind = self.pick(("op", "pow", "mathpow"))
        if kind == "op":
            return bin_op(ast.Pow(), base, exponent, lo, hi)
        if kind == "pow":
            return self.call("pow", [base, exponent], lo, hi)
        return X(ast.Call(self._math_pow_callee(), [base.node, exponent.node], []), lo, hi)

    def op_constpow(self, d):
        exponent = self.bounded(self.expr(d), 8)
        name = self.pick(("2", "0.5", "3", "e", "C"))
        if name == "e":
            base = X(self.math_attr("e"), math.e, math.e)
        elif name == "C" and "C" in self.module_consts:
            base = X(ast.Name("C"), 0.5, 0.5)
        else:
            base = lit("2", 2) if name == "C" else lit(name, float(name))
        lo, hi = real_power_bounds(base, exponent)
        return bin_op(ast.Pow(), base, exponent, lo, hi)

    def op_exp(self, d):
        a = self.bounded(self.expr(d), 5)
        return self.unary_call(self.pick(("exp", "expm1", "sinh", "cosh")), a)

    def op_log(self, d):
        return self.unary_call(self.pick(("log", "log2", "log10", "sqrt")),
                               self.positive(self.expr(d)))

    def op_log1p(self, d):
        a = self.expr(d)
        if a.lo < -0.5:
            a = self.positive(a) if self.coin() else self.unit(a)
        return self.unary_call("log1p", a)

    def op_trig(self, d):
        a = self.expr(d)
        name = self.pick(("sin", "cos", "tanh", "atan", "asinh", "erf", "erfc", "tan"))
        if name == "tan":
            a = self.unit(a)
        return self.unary_call(name, a)

    def op_invtrig(self, d):
        a = self.expr(d)
        name = self.pick(("asin", "acos", "atanh", "acosh"))
        if name == "acosh":
            arg = a if a.lo >= 1.2 else add(lit("1.5", 1.5), square(a))
            return self.unary_call("acosh", arg)
        return self.unary_call(name, self.unit(a))

    def op_atan2(self, d):
        a, b = self.expr(d), self.positive(self.expr(d))
        args = [a, b] if self.coin() else [b, a]  # smooth in the right and upper half-planes
        return self.call("atan2", args, -math.pi, math.pi)

    def op_hypot(self, d):
        args = [self.expr(d) for _ in range(self.draw(st.integers(2, 3)))]
        return self.call("hypot", args, 0.0, math.sqrt(sum(a.mag ** 2 for a in args)))

    def op_abs(self, d):
        return self.unary_call(self.pick(("abs", "fabs")), self.expr(d))

    def op_extremum(self, d):
        args = [self.expr(d) for _ in range(self.draw(st.integers(2, 4)))]
        if self.coin():
            return self.call("max", args, max(a.lo for a in args), max(a.hi for a in args))
        return self.call("min", args, min(a.lo for a in args), min(a.hi for a in args))

    def op_gate(self, d):
        z = self.bounded(self.expr(d), 30)
        kind = self.pick(("sigmoid", "sigmoid_float", "sigmoid_swapped", "softplus",
                          "softplus_swapped", "softplus1p"))
        exp_ = self.callee("exp")
        if kind.startswith("sigmoid"):
            e = ast.Call(exp_, [ast.UnaryOp(ast.USub(), z.node)], [])
            one = ast.Name("1.0" if kind == "sigmoid_float" else "1")
            den = ast.BinOp(e, ast.Add(), ast.Name("1")) if kind == "sigmoid_swapped" \
                else ast.BinOp(ast.Name("1"), ast.Add(), e)
            return X(ast.BinOp(one, ast.Div(), den), _sigmoid(z.lo), _sigmoid(z.hi))
        e = ast.Call(exp_, [z.node], [])
        lo, hi = _softplus(z.lo), _softplus(z.hi)
        if kind == "softplus1p":
            return X(ast.Call(self.callee("log1p"), [e], []), lo, hi)
        arg = ast.BinOp(e, ast.Add(), ast.Name("1")) if kind == "softplus_swapped" \
            else ast.BinOp(ast.Name("1"), ast.Add(), e)
        return X(ast.Call(self.callee("log"), [arg], []), lo, hi)

    # ------------------------------------------------------------ statements

    def fresh_target(self, taken: set[str]) -> str:
        options = [n for n in LOCAL_POOL if n not in self.forbidden and n not in taken]
        if self.draw(st.integers(0, 2)) == 0:  # re-assign a local, or (rarely) a parameter
            bound = [n for n in self.recent if n not in taken and
                     (n not in self.params or self.draw(st.integers(0, 3)) == 0)]
            if bound:
                return self.pick(bound)
        return self.pick(options)

    def statement(self) -> str:
        kind = self.pick(("assign", "assign", "aug", "tuple", "annotated"))
        depth = self.draw(st.integers(1, 4))
        if kind in ("assign", "annotated"):
            target = self.fresh_target(set())
            value = self.expr(depth)
            self.bind(target, value)
            sep = ": float = " if kind == "annotated" else " = "
            return f"{target}{sep}{ast.unparse(value.node)}"
        if kind == "aug":
            target = self.variable()
            cur = X(ast.Name(target), *self.env[target])
            op = self.pick(("+=", "-=", "*=", "/=", "**="))
            if op == "/=":
                value = self.nonzero(self.expr(depth))
                new = div(cur, value)
            elif op == "**=":
                k = self.pick((2, 3))
                value = lit(str(k), k)
                new = X(cur.node, *int_power_bounds(cur, k))
            else:
                value = self.expr(depth)
                new = {"+=": add, "-=": sub, "*=": mul}[op](cur, value)
            if new.mag > LIMIT ** 2:  # keep re-assigned values from growing without bound
                op, value = "+=", self.bounded(self.expr(depth), 1)
                new = add(cur, value)
            self.bind(target, new)
            return f"{target} {op} {ast.unparse(value.node)}"
        # tuple assignment: values are computed before any target is bound
        n = self.draw(st.integers(2, 3))
        targets: list[str] = []
        for _ in range(n):
            targets.append(self.fresh_target(set(targets)))
        values = [self.expr(max(depth - 1, 0)) for _ in targets]
        for t, v in zip(targets, values):
            self.bind(t, v)
        return f"{', '.join(targets)} = {', '.join(ast.unparse(v.node) for v in values)}"


@dataclasses.dataclass
class Case:
    text: str
    function: str
    params: list[str]
    points: list[list[float]]  # where to check the gradient
    wrt: Union[None, str, list[str]]
    expected_wrt: list[str]
    single: bool
    value_and_grad: bool


point_values = st.integers(-1999, 1999).map(lambda k: (k + 0.3183) / 1000)


@st.composite
def cases(draw) -> Case:
    style = draw(st.sampled_from(("math", "m", "from")))
    prog = Program(draw, style)
    fname = draw(st.sampled_from(FUNCTION_NAMES))
    module_lines: list[str] = []
    for name, text, value in draw(st.lists(st.sampled_from(MODULE_CONSTANTS), max_size=2,
                                           unique=True)):
        if "{m}" in text:
            prog.needs_math_module = True
        module_lines.append(f"{name} = {text.format(m=prog.module_name())}")
        prog.module_consts[name] = value
    prog.forbidden |= set(prog.module_consts)
    nparams = draw(st.integers(1, 4))
    allowed = [p for p in PARAM_POOL if p not in prog.forbidden]
    params = draw(st.lists(st.sampled_from(allowed), min_size=nparams, max_size=nparams,
                           unique=True))
    ndefaults = draw(st.integers(0, nparams - 1))  # trailing parameters with defaults
    prog.params = params
    prog.varied = set(params)
    for p in params:
        prog.bind(p, X(ast.Name(p), POINT_LOW, POINT_HIGH))
    body = []
    if draw(st.integers(0, 9)) == 0:
        body.append('"""A docstring."""')
    for _ in range(draw(st.integers(1, 8))):
        body.append(prog.statement())
    result = prog.expr(draw(st.integers(0, 3)))
    # Mostly, return something that depends on the inputs and on several of the statements
    # (an unread statement is dead code: it tests the compiler, but not the gradient).
    unread = [n for n in reversed(prog.recent) if n in prog.varied and
              n not in {node.id for node in ast.walk(result.node) if isinstance(node, ast.Name)}]
    for v in unread[:draw(st.integers(0 if prog.is_varied(result.node) else 1, 3))]:
        term = X(ast.Name(v), *prog.env[v])
        result = term if draw(st.integers(0, 5)) == 0 else \
            add(result, term) if prog.coin() else sub(result, term)
    body.append(f"return {ast.unparse(result.node)}")
    assert not (set(params) | set(prog.env)) & prog.forbidden

    points = draw(st.lists(st.lists(point_values, min_size=nparams, max_size=nparams),
                           min_size=1, max_size=3))
    point = points[0]
    signature = []
    for i, p in enumerate(params):
        if i >= nparams - ndefaults:
            signature.append(f"{p}={point[i]!r}" if draw(st.booleans()) else f"{p}=0.5")
        else:
            signature.append(p)
    header = []
    if style == "math" or prog.needs_math_module:
        header.append("import math")
    if style == "m":
        header.append("import math as m")
    if prog.from_imports:
        header.append(f"from math import {', '.join(sorted(prog.from_imports))}")
    lines = header + [""] + module_lines + ["", ""]
    lines.append(f"def {fname}({', '.join(signature)}):")
    lines += ["    " + s for s in body]
    text = "\n".join(lines) + "\n"

    wrt_kind = draw(st.sampled_from(("default", "default", "one", "some")))
    no_default = params[:nparams - ndefaults]
    if wrt_kind == "default":
        wrt, expected, single = None, no_default, len(no_default) == 1
    elif wrt_kind == "one":
        wrt = draw(st.sampled_from(params))
        expected, single = [wrt], True
    else:
        chosen = draw(st.lists(st.sampled_from(params), min_size=1, unique=True))
        wrt = chosen
        expected, single = [p for p in params if p in chosen], False
    return Case(text, fname, params, points, wrt, expected, single, draw(st.booleans()))


# ---------------------------------------------------------------- checks


def _load_forward(text: str, name: str):
    namespace: dict = {"__name__": "prop"}
    exec(compile(text, "prop.py", "exec"), namespace)
    return namespace[name]


def _evaluate(fn, args) -> Optional[float]:
    """The forward value, or None where the program does not evaluate to a finite float."""
    try:
        value = fn(*args)
    except (ArithmeticError, ValueError):
        return None
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _standalone_import(name, globals=None, locals=None, fromlist=(), level=0):
    if name != "math":
        raise ImportError(f"generated module imports {name!r}: it must import only math")
    return builtins.__import__(name, globals, locals, fromlist, level)


def _load_generated(source: str) -> dict:
    """Execute the generated module with every import but `math` blocked."""
    restricted = dict(vars(builtins))
    restricted["__import__"] = _standalone_import
    namespace: dict = {"__name__": "prop_grad", "__builtins__": restricted}
    exec(compile(source, "prop_grad.py", "exec"), namespace)
    return namespace


def _imports(source: str) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append(node.module or "")
    return names


class _KinkTrace:
    """Stand-ins for abs, max, min, math.fabs and math.hypot that compute the same values and
    record, for every call, which smooth piece it is on and how far its arguments are from a
    kink (|a| for abs, the smallest gap between arguments for max/min, the norm for hypot),
    relative to the size of the arguments."""

    def __init__(self) -> None:
        self.branches: list[int] = []
        self.margin = math.inf

    def _record(self, branch: int, gap: float, args) -> None:
        self.branches.append(branch)
        self.margin = min(self.margin, gap / max(1.0, *(abs(a) for a in args)))

    def abs(self, a):
        self._record((a > 0) - (a < 0), abs(a), (a,))
        return abs(a)

    def fabs(self, a):
        self._record((a > 0) - (a < 0), abs(a), (a,))
        return math.fabs(a)

    def max(self, *args):
        result = max(*args)
        gaps = [abs(p - q) for i, p in enumerate(args) for q in args[i + 1:]]
        self._record(args.index(result), min(gaps), args)
        return result

    def min(self, *args):
        result = min(*args)
        gaps = [abs(p - q) for i, p in enumerate(args) for q in args[i + 1:]]
        self._record(args.index(result), min(gaps), args)
        return result

    def hypot(self, *args):
        result = math.hypot(*args)
        self._record(0, result, args)
        return result


def _traced(fn, trace: _KinkTrace):
    """`fn` rebound to globals where the kinked functions report to `trace` (the `math`
    module under any alias, and its functions imported by name, as in `symbolic_function`)."""
    traced_math = types.SimpleNamespace(**{k: getattr(math, k) for k in dir(math)
                                           if not k.startswith("_")})
    traced_math.fabs, traced_math.hypot = trace.fabs, trace.hypot
    env = dict(fn.__globals__)
    for key, value in list(env.items()):
        if value is math:
            env[key] = traced_math
        elif value is math.fabs or value is math.hypot:
            env[key] = getattr(trace, value.__name__)
    env_builtins = dict(vars(builtins))
    env_builtins.update(abs=trace.abs, max=trace.max, min=trace.min)
    env["__builtins__"] = env_builtins
    return types.FunctionType(fn.__code__, env, fn.__name__, fn.__defaults__, fn.__closure__)


def _near_kink(forward, point: list[float]) -> bool:
    """True if a kinked function's arguments are within KINK_MARGIN of a kink at the point,
    or a finite-difference step along any input changes the piece some call is on."""
    def branches(args):
        trace = _KinkTrace()
        if _evaluate(_traced(forward, trace), args) is None:
            return None, 0.0
        return trace.branches, trace.margin

    base, margin = branches(point)
    if base is None or margin < KINK_MARGIN:
        return True
    for i in range(len(point)):
        for move in (1, -1, 2, -2):  # the steps of both difference quotients
            moved = list(point)
            moved[i] += move * _step(point[i])
            if branches(moved)[0] != base:
                return True
    return False


def _step(x: float) -> float:
    return 2.0 ** -20 * max(1.0, abs(x))


def _symbolic_gradient(forward, text: str, params: list[str], wrt: list[str],
                       point: list[float]) -> list[sp.Expr]:
    """The gradient of the forward function at the point by sympy.diff, to 30 digits.

    The program runs statement by statement on sympy symbols (`adgen.symbolic`'s stand-ins for
    `math` and the builtins): every binding of a name -- parameter, assignment, re-assignment,
    augmented assignment, tuple element -- is a fresh symbol, each statement's right-hand side
    is differentiated by sympy.diff with respect to the symbols it reads, and the partial
    derivatives, evaluated at the point, are chained forward to derivatives with respect to
    the parameters.  Chaining per statement, rather than differentiating the whole program as
    one expression, keeps sympy's work linear in the program: a variable re-used in every
    statement makes the single expression exponentially large, and sympy's automatic
    simplification of it can take minutes."""
    namespace = symbolic.symbolic_function(forward).__globals__
    (fn,) = [n for n in ast.parse(text).body
             if isinstance(n, ast.FunctionDef) and n.name == forward.__name__]
    values: dict[sp.Symbol, sp.Expr] = {}  # binding -> its value at the point
    grads: dict[sp.Symbol, list[sp.Expr]] = {}  # binding -> d(binding)/d(wrt)
    scope: dict[str, sp.Symbol] = {}  # name -> its current binding

    def evaluate(node: ast.expr) -> tuple[sp.Expr, list[sp.Expr]]:
        code = compile(ast.fix_missing_locations(ast.Expression(node)), "prop.py", "eval")
        expr = sp.sympify(eval(code, namespace, dict(scope)))
        at_point = {b: values[b] for b in expr.free_symbols}
        value = expr.xreplace(at_point).evalf(DIGITS)
        grad = [sp.Integer(0)] * len(wrt)
        for b in sorted(expr.free_symbols, key=str):
            partial = sp.diff(expr, b).xreplace(at_point).evalf(DIGITS)
            grad = [g + partial * d for g, d in zip(grad, grads[b])]
        return value, grad

    def bind(name: str, value: sp.Expr, grad: list[sp.Expr]) -> None:
        binding = sp.Symbol(f"b{len(values)}", real=True)
        values[binding], grads[binding] = value, grad
        scope[name] = binding

    for p, v in zip(params, point):
        bind(p, sp.Float(v, DIGITS), [sp.Integer(int(w == p)) for w in wrt])
    for stmt in fn.body:
        if isinstance(stmt, ast.Return):
            return evaluate(stmt.value)[1]
        if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Tuple):
            results = [evaluate(v) for v in stmt.value.elts]  # all read the old bindings
            for target, result in zip(stmt.targets[0].elts, results):
                bind(target.id, *result)
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            target = stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.target
            bind(target.id, *evaluate(stmt.value))
        elif isinstance(stmt, ast.AugAssign):
            bind(stmt.target.id, *evaluate(ast.BinOp(ast.Name(stmt.target.id, ast.Load()),
                                                     stmt.op, stmt.value)))
        else:
            assert isinstance(stmt, ast.Expr)  # the docstring
    raise AssertionError("no return statement")


def _central_difference(forward, point: list[float], index: int,
                        scale: float = 1.0) -> Optional[float]:
    """(f(x + h) - f(x - h)) / 2h along input `index`, with h = `scale` times the step."""
    x = point[index]
    h = scale * _step(x)
    plus, minus = list(point), list(point)
    plus[index], minus[index] = x + h, x - h
    fp, fm = _evaluate(forward, plus), _evaluate(forward, minus)
    if fp is None or fm is None:
        return None
    return (fp - fm) / (plus[index] - minus[index])


def _close(a: float, b: float, rtol: float, atol: float) -> bool:
    return abs(a - b) <= rtol * max(abs(a), abs(b)) + atol


def check_case(case: Case) -> None:
    """Compile one program and check its gradient at each of the case's points; points where
    the program does not evaluate, or that are near a kink, are skipped, and a case with no
    point left is discarded (`assume`)."""
    note(case.text)
    note(f"points={case.points} wrt={case.wrt!r}")
    compiled = compile_source(case.text, "prop.py", wrt=case.wrt,
                              value_and_grad=case.value_and_grad)
    note(compiled.source)
    again = compile_source(case.text, "prop.py", wrt=case.wrt,
                           value_and_grad=case.value_and_grad)
    assert again.source == compiled.source, "compiling the same text twice differs"
    assert all("adgen" not in name for name in _imports(compiled.source))
    assert set(_imports(compiled.source)) <= {"math"}
    generated = _load_generated(compiled.source)

    forward = _load_forward(case.text, case.function)
    checked = 0
    for point in case.points:
        value = _evaluate(forward, point)
        if value is None or abs(value) > 1e8 or _near_kink(forward, point):
            continue
        _check_point(case, forward, generated, point, value)
        checked += 1
    assume(checked > 0)


def _check_point(case: Case, forward, generated: dict, point: list[float],
                 value: float) -> None:
    result = generated[f"{case.function}_grad"](*point)
    if case.single:
        assert isinstance(result, float), f"expected one float, got {result!r}"
        grads = [result]
    else:
        assert isinstance(result, tuple) and len(result) == len(case.expected_wrt), result
        grads = list(result)
    assert all(isinstance(g, float) and math.isfinite(g) for g in grads), grads
    if case.value_and_grad:
        v, g2 = generated[f"{case.function}_value_and_grad"](*point)
        assert v == value, f"value_and_grad's value {v!r}, the function's {value!r}"
        assert (g2 if not case.single else (g2,)) == tuple(grads)

    expected = _symbolic_gradient(forward, case.text, case.params, case.expected_wrt, point)
    for w, g, e in zip(case.expected_wrt, grads, expected):
        e = complex(e)
        assert abs(e.imag) <= 1e-12 * max(1.0, abs(e.real)), (w, e)
        assert _close(g, e.real, SYMBOLIC_RTOL, 1e-12), \
            f"at {point}, d/d{w}: adgen {g!r}, sympy.diff {e.real!r}"

    for w, g in zip(case.expected_wrt, grads):
        numeric = _central_difference(forward, point, case.params.index(w))
        coarse = _central_difference(forward, point, case.params.index(w), scale=2.0)
        if numeric is None or coarse is None:  # a step leaves the domain: sympy has checked
            continue
        # The truncation error of the difference quotient is about (coarse - numeric) / 3:
        # allow for it where the function curves fast (sin of a large argument, say).
        atol = 1e-6 * max(1.0, abs(value)) + abs(coarse - numeric)
        assert _close(g, numeric, FD_RTOL, atol), \
            f"at {point}, d/d{w}: adgen {g!r}, central differences {numeric!r} (h), " \
            f"{coarse!r} (2h)"


@settings(max_examples=examples(300), deadline=None, derandomize=DERANDOMIZE,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=cases())
def test_generated_gradient_matches_sympy_and_finite_differences(case: Case) -> None:
    check_case(case)


_COMPILE_IN_SUBPROCESS = """
import json, sys
from adgen.compiler import compile_source
batch = json.load(sys.stdin)
json.dump([compile_source(c["text"], "prop.py", wrt=c["wrt"],
                          value_and_grad=c["value_and_grad"]).source for c in batch],
          sys.stdout)
"""


@settings(max_examples=2, deadline=None, derandomize=DERANDOMIZE,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(batch=st.lists(cases(), min_size=12, max_size=12))
def test_generated_module_does_not_depend_on_hash_seed(batch: list[Case]) -> None:
    """Byte-identical output in processes with different string hashing (set and dict
    iteration order over names is the usual way non-determinism gets in)."""
    expected = [compile_source(c.text, "prop.py", wrt=c.wrt,
                               value_and_grad=c.value_and_grad).source for c in batch]
    payload = json.dumps([{"text": c.text, "wrt": c.wrt, "value_and_grad": c.value_and_grad}
                          for c in batch])
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run([sys.executable, "-c", _COMPILE_IN_SUBPROCESS], input=payload,
                             capture_output=True, text=True, env=env, check=False)
        assert run.returncode == 0, run.stderr
        for case, mine, theirs in zip(batch, expected, json.loads(run.stdout)):
            assert theirs == mine, f"PYTHONHASHSEED={seed} changes the output for\n{case.text}"
