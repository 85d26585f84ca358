"""Element-wise numpy functions: `np.exp(a)`, `np.arctan2(a, b)`, `np.floor(a)`.

Each is one declaration.  Being element-wise, each is also a function of numbers, so the
scalar rule table (tests/test_rules.py) checks it against sympy and finite differences, and
the array table (tests/test_rules_arrays.py) runs it on arrays of several shapes (and, for two
operands, on shapes that broadcast: the reverse pass sums each operand's gradient back to its
own shape).  Templates are written for arrays: no Python `if` on a value (numpy's IEEE
arithmetic gives inf where the derivative is infinite, as numpy's own function does).

The numpy spellings of the arithmetic operators (`np.add`, `np.multiply`, `np.power`, ...)
are spellings of the operator rules in adgen/rules/scalar.py.
"""

from __future__ import annotations

from adgen import shapes
from adgen.lazy import LazyModule
from adgen.rules.registry import REGISTRY, Context, Rule
from adgen.rules.scalar import DEFAULT_DOMAIN, POSITIVE, UNIT, _fixed, _fmt
from adgen.shapes import VType

# Imported on first use only (verification and the rule tests): see registry.py.
np = LazyModule("numpy")
sp = LazyModule("sympy")
symbolic = LazyModule("adgen.symbolic")


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


def np_unary(name, forward, grad, *, sympy, domain=DEFAULT_DOMAIN, doc="", stem=None,
             spellings=()):
    """An element-wise numpy function of one array: `np.exp(a)`."""
    return REGISTRY.add(Rule(
        name=f"np_{name}", spellings=(f"numpy.{name}", *spellings), arity=1,
        build=lambda n: (forward, [grad]), stem=stem or _fmt(name + "{0}"), noun=name,
        sympy=sympy, domain=_fixed(domain), doc=doc, infer=elementwise_type,
    ))


np_unary("exp", "np.exp(a)", "out * g", sympy="exp")
np_unary("log", "np.log(a)", "g / a", sympy="log", domain=POSITIVE)
np_unary("sqrt", "np.sqrt(a)", "g / (2 * out)", sympy="sqrt", domain=POSITIVE)
np_unary("square", "np.square(a)", "2 * a * g", sympy=lambda a: a ** 2,
         stem=_fmt("{0}sqr"))
np_unary("abs", "np.abs(a)", "np.sign(a) * g", sympy="Abs", doc="abs'(0) = 0 (np.sign)",
         spellings=("numpy.absolute", "numpy.fabs"))
np_unary("sin", "np.sin(a)", "np.cos(a) * g", sympy="sin")
np_unary("cos", "np.cos(a)", "-np.sin(a) * g", sympy="cos")
np_unary("tanh", "np.tanh(a)", "(1 - out ** 2) * g", sympy="tanh")
np_unary("tan", "np.tan(a)", "(1 + out ** 2) * g", sympy="tan", domain=(-1.2, 1.2))
np_unary("sinh", "np.sinh(a)", "np.cosh(a) * g", sympy="sinh")
np_unary("cosh", "np.cosh(a)", "np.sinh(a) * g", sympy="cosh")
np_unary("arcsin", "np.arcsin(a)", "g / np.sqrt(1 - a ** 2)", sympy="asin", domain=UNIT,
         doc="inf at -1 and 1, as numpy computes it")
np_unary("arccos", "np.arccos(a)", "-g / np.sqrt(1 - a ** 2)", sympy="acos", domain=UNIT,
         doc="-inf at -1 and 1, as numpy computes it")
np_unary("arctan", "np.arctan(a)", "g / (1 + a ** 2)", sympy="atan")
np_unary("arcsinh", "np.arcsinh(a)", "g / np.sqrt(a ** 2 + 1)", sympy="asinh")
np_unary("arccosh", "np.arccosh(a)", "g / (np.sqrt(a - 1) * np.sqrt(a + 1))", sympy="acosh",
         domain=(1.2, 4.0), doc="inf at 1, as numpy computes it")
np_unary("arctanh", "np.arctanh(a)", "g / (1 - a ** 2)", sympy="atanh", domain=UNIT)
np_unary("log2", "np.log2(a)", "g / (a * np.log(2))", sympy=lambda a: sp.log(a, 2),
         domain=POSITIVE)
np_unary("log10", "np.log10(a)", "g / (a * np.log(10))", sympy=lambda a: sp.log(a, 10),
         domain=POSITIVE)
np_unary("log1p", "np.log1p(a)", "g / (1 + a)", sympy=lambda a: sp.log(1 + a),
         domain=(-0.8, 3.0))
np_unary("expm1", "np.expm1(a)", "(out + 1) * g", sympy=lambda a: sp.exp(a) - 1)
np_unary("exp2", "np.exp2(a)", "out * np.log(2) * g", sympy=lambda a: 2 ** a)
np_unary("reciprocal", "np.reciprocal(a)", "-(out ** 2) * g", sympy=lambda a: 1 / a,
         domain=POSITIVE, doc="of a float array (numpy's reciprocal of integers truncates)")
np_unary("cbrt", "np.cbrt(a)", "g / (3 * out ** 2)", sympy=lambda a: a ** sp.Rational(1, 3),
         domain=POSITIVE, doc="inf at 0, as numpy computes it")
for _name in ("rad2deg", "degrees"):
    np_unary(_name, f"np.{_name}(a)", "180 / math.pi * g", sympy=lambda a: a * 180 / sp.pi)
for _name in ("deg2rad", "radians"):
    np_unary(_name, f"np.{_name}(a)", "math.pi / 180 * g", sympy=lambda a: a * sp.pi / 180)

np_unary("sinc", "np.sinc(a)", "_sinc_grad(a, out) * g", sympy=lambda a: sp.sinc(sp.pi * a),
         doc="(cos(pi a) - sinc(a)) / a; its Taylor series for |a| < 0.01, where that "
             "cancels (0 at 0): the helper _sinc_grad")
np_unary("nan_to_num", "np.nan_to_num(a)", "np.where(np.isfinite(a), g, 0.0)",
         sympy=lambda a: a, stem=_fmt("{0}num"),
         doc="the gradient where a is finite, 0 where nan or inf was replaced (a constant)")

REGISTRY.add(Rule(
    name="np_sigmoid", spellings=(), arity=1,
    build=lambda n: ("1.0 / (1 + np.exp(-a))", ["(1 - out) * out * g"]),
    stem=_fmt("sig{0}"), noun="sig", sympy=lambda a: 1 / (1 + sp.exp(-a)),
    domain=_fixed(DEFAULT_DOMAIN), infer=elementwise_type,
    doc="sigmoid gate on arrays: (1 - s) * s from the forward value",
))


def np_binary(name, forward, grad_a, grad_b, sympy, doc="", domain=(DEFAULT_DOMAIN,) * 2,
              branch=None, stem=None):
    """An element-wise numpy function of two arrays (broadcast): `np.arctan2(a, b)`."""
    return REGISTRY.add(Rule(
        name=f"np_{name}", spellings=(f"numpy.{name}",), arity=2,
        build=lambda n: (forward, [grad_a, grad_b]), stem=stem or _fmt(name + "{0}{1}"),
        noun=name, sympy=sympy, domain=_fixed(*domain), doc=doc, infer=elementwise_type,
        branch=branch,
    ))


def _ordered(a, b):
    return (np.sign(np.subtract(a, b)),)


np_binary("maximum", "np.maximum(a, b)", "g * (a >= b)", "g * (a < b)", "Max",
          "element-wise max gate: ties go to the first argument", branch=_ordered)
np_binary("minimum", "np.minimum(a, b)", "g * (a <= b)", "g * (a > b)", "Min",
          "element-wise min gate: ties go to the first argument", branch=_ordered)
np_binary("fmax", "np.fmax(a, b)", "g * (a >= b)", "g * (a < b)", "Max",
          "np.maximum that ignores nan: ties go to the first argument", branch=_ordered)
np_binary("fmin", "np.fmin(a, b)", "g * (a <= b)", "g * (a > b)", "Min",
          "np.minimum that ignores nan: ties go to the first argument", branch=_ordered)
np_binary("logaddexp", "np.logaddexp(a, b)", "np.exp(a - out) * g", "np.exp(b - out) * g",
          lambda a, b: sp.log(sp.exp(a) + sp.exp(b)),
          "log(exp(a) + exp(b)) without overflow: the softmax weights exp(a - out), "
          "exp(b - out)")
np_binary("logaddexp2", "np.logaddexp2(a, b)", "2.0 ** (a - out) * g", "2.0 ** (b - out) * g",
          lambda a, b: sp.log(2 ** a + 2 ** b, 2), "log2(2**a + 2**b): weights 2**(a - out)")
np_binary("arctan2", "np.arctan2(a, b)", "b * g / (a ** 2 + b ** 2)",
          "-a * g / (a ** 2 + b ** 2)", "atan2", "nan at the origin, where it jumps",
          domain=(DEFAULT_DOMAIN, POSITIVE))
np_binary("hypot", "np.hypot(a, b)", "a * g / np.where(out == 0, 1.0, out)",
          "b * g / np.where(out == 0, 1.0, out)", lambda a, b: sp.sqrt(a ** 2 + b ** 2),
          "gradient 0 at the origin (as math.hypot)",
          branch=lambda a, b: (bool(np.all(np.equal(a, 0)) and np.all(np.equal(b, 0))),))


def np_step(name, step: str, numeric):
    """A piecewise-constant numpy function: no gradient (its result is never active)."""
    return REGISTRY.add(Rule(
        name=f"np_{name}", spellings=(f"numpy.{name}",), arity=1,
        build=lambda n: (f"np.{name}(a)", ["0.0"]), stem=_fmt(name + "{0}"), noun=name,
        sympy=lambda a: getattr(symbolic, step)(a), domain=_fixed((-3.0, 3.0)),
        branch=lambda a: (numeric(a),), infer=elementwise_type, nondifferentiable=True,
        doc="piecewise constant: no gradient",
    ))


REGISTRY.add(Rule(
    name="np_sign", spellings=("numpy.sign",), arity=1, build=lambda n: ("np.sign(a)", ["0.0"]),
    stem=_fmt("sign{0}"), noun="sign", sympy="sign", branch=lambda a: (np.sign(a),),
    domain=_fixed(DEFAULT_DOMAIN), infer=elementwise_type, nondifferentiable=True,
    doc="piecewise constant: no gradient",
))
np_step("floor", "floor_step", lambda a: np.floor(a))
np_step("ceil", "ceil_step", lambda a: np.ceil(a))
np_step("trunc", "trunc_step", lambda a: np.trunc(a))
np_step("fix", "trunc_step", lambda a: np.trunc(a))
np_step("rint", "round_step", lambda a: np.rint(a))
np_step("round", "round_step", lambda a: np.rint(a))
np_step("around", "round_step", lambda a: np.rint(a))
