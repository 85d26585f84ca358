"""Run Python scalar code on sympy symbols: the `math` module, builtins and conditionals.

Verification executes two independent pieces of code symbolically — the user's forward function
and the generated gradient — and compares them with `sympy.diff`.  This module supplies what
that needs:

* `MATH` — a stand-in for the `math` module whose functions build sympy expressions;
* `BUILTINS` — `abs`, `max`, `min`, `pow` over sympy expressions;
* `exec_symbolic(source)` — executes generated source after rewriting conditional expressions
  `a if c else b` into `Piecewise((a, c), (b, True))` and comparisons into sympy relations, so
  the kink conventions in the generated code become part of the symbolic result instead of a
  `TypeError` on the truth value of a relation.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import functools
import math
import operator
import types
from typing import Iterator

import numpy as np
import sympy as sp


class _Step(sp.Function):
    """A piecewise-constant function: derivative 0 (where it exists), value on numbers.

    sympy's own floor/ceiling differentiate to unevaluated `Subs(Derivative(...))` terms that
    break its term ordering when combined; these stand-ins keep expressions simple."""

    nargs = 1
    numeric = staticmethod(math.floor)

    @classmethod
    def eval(cls, a):
        if a.is_Number:
            return sp.Integer(cls.numeric(float(a)))
        return None

    def fdiff(self, argindex=1):
        return sp.S.Zero


class floor_step(_Step):
    numeric = staticmethod(math.floor)


class ceil_step(_Step):
    numeric = staticmethod(math.ceil)


class trunc_step(_Step):
    numeric = staticmethod(math.trunc)


class round_step(_Step):
    numeric = staticmethod(round)


def _hypot(*xs):
    return sp.sqrt(sum(x ** 2 for x in xs))


MATH = types.SimpleNamespace(
    exp=sp.exp, log=lambda x, base=None: sp.log(x) if base is None else sp.log(x, base),
    log2=lambda x: sp.log(x, 2), log10=lambda x: sp.log(x, 10), sqrt=sp.sqrt,
    sin=sp.sin, cos=sp.cos, tan=sp.tan, tanh=sp.tanh, sinh=sp.sinh, cosh=sp.cosh,
    asin=sp.asin, acos=sp.acos, atan=sp.atan, asinh=sp.asinh, acosh=sp.acosh, atanh=sp.atanh,
    atan2=sp.atan2, log1p=lambda x: sp.log(1 + x), expm1=lambda x: sp.exp(x) - 1,
    erf=sp.erf, erfc=sp.erfc, hypot=_hypot, pow=lambda a, b: a ** b, fabs=sp.Abs,
    copysign=lambda a, b: sp.Abs(a) * sp.sign(b), gamma=sp.gamma, lgamma=sp.loggamma,
    degrees=lambda a: a * 180 / sp.pi, radians=lambda a: a * sp.pi / 180,
    exp2=lambda a: 2 ** a, cbrt=lambda a: a ** sp.Rational(1, 3),
    fmod=lambda a, b: a - b * trunc_step(a / b), remainder=lambda a, b: a - b * round_step(a / b),
    floor=floor_step, ceil=ceil_step, trunc=trunc_step,
    factorial=math.factorial, comb=math.comb, perm=math.perm,  # of ints: ints
    pi=sp.pi, e=sp.E, tau=2 * sp.pi, inf=sp.oo, nan=sp.nan,
)


def _pow(a, b, mod=None):
    if mod is not None:
        raise TypeError("three-argument pow is not symbolic")
    return a ** b


def _round(a, ndigits=None):
    if ndigits is not None:
        raise TypeError("round with digits is not symbolic")
    return round(a) if isinstance(a, (int, float)) else round_step(a)


def _elementwise(f):
    """`f` applied element by element to object arrays (of sympy expressions), or directly."""
    vectorized = np.vectorize(f, otypes=[object])

    def apply(*args):
        if any(isinstance(a, np.ndarray) for a in args):
            return vectorized(*args)
        return f(*args)

    return apply


def _sign(x):
    return sp.sign(x)


NP = types.SimpleNamespace(
    exp=_elementwise(sp.exp), log=_elementwise(sp.log), sqrt=_elementwise(sp.sqrt),
    square=_elementwise(lambda a: a ** 2), abs=_elementwise(sp.Abs),
    sign=_elementwise(_sign), sin=_elementwise(sp.sin), cos=_elementwise(sp.cos),
    tanh=_elementwise(sp.tanh), maximum=_elementwise(sp.Max), minimum=_elementwise(sp.Min),
    tan=_elementwise(sp.tan), sinh=_elementwise(sp.sinh), cosh=_elementwise(sp.cosh),
    arcsin=_elementwise(sp.asin), arccos=_elementwise(sp.acos), arctan=_elementwise(sp.atan),
    arcsinh=_elementwise(sp.asinh), arccosh=_elementwise(sp.acosh),
    arctanh=_elementwise(sp.atanh), log2=_elementwise(lambda a: sp.log(a, 2)),
    log10=_elementwise(lambda a: sp.log(a, 10)), log1p=_elementwise(lambda a: sp.log(1 + a)),
    expm1=_elementwise(lambda a: sp.exp(a) - 1), exp2=_elementwise(lambda a: 2 ** a),
    reciprocal=_elementwise(lambda a: 1 / a), cbrt=_elementwise(lambda a: a ** sp.Rational(1, 3)),
    rad2deg=_elementwise(lambda a: a * 180 / sp.pi), degrees=_elementwise(lambda a: a * 180 / sp.pi),
    deg2rad=_elementwise(lambda a: a * sp.pi / 180), radians=_elementwise(lambda a: a * sp.pi / 180),
    fmax=_elementwise(sp.Max), fmin=_elementwise(sp.Min),
    logaddexp=_elementwise(lambda a, b: sp.log(sp.exp(a) + sp.exp(b))),
    logaddexp2=_elementwise(lambda a, b: sp.log(2 ** a + 2 ** b, 2)),
    arctan2=_elementwise(sp.atan2), hypot=_elementwise(lambda a, b: sp.sqrt(a ** 2 + b ** 2)),
    floor=_elementwise(floor_step), ceil=_elementwise(ceil_step), trunc=_elementwise(trunc_step),
    sinc=_elementwise(lambda a: sp.sinc(sp.pi * a)), nan_to_num=_elementwise(lambda a: a),
    isfinite=_elementwise(lambda a: sp.Piecewise((0, sp.Eq(sp.Abs(a), sp.oo)), (1, True))),
    fix=_elementwise(trunc_step), rint=_elementwise(round_step), round=_elementwise(round_step),
    around=_elementwise(round_step), subtract=np.subtract, multiply=np.multiply,
    divide=np.divide, true_divide=np.true_divide, power=np.power, negative=np.negative,
    mod=_elementwise(lambda a, b: a - b * floor_step(a / b)),
    remainder=_elementwise(lambda a, b: a - b * floor_step(a / b)),
    absolute=_elementwise(sp.Abs), fabs=_elementwise(sp.Abs),
    sum=np.sum, mean=np.mean, broadcast_to=np.broadcast_to, expand_dims=np.expand_dims,
    shape=np.shape, size=np.size, outer=np.outer, dot=np.dot, matmul=np.matmul,
    transpose=np.transpose, zeros_like=lambda a: np.zeros(np.shape(a), dtype=object),
    ndim=np.ndim, max=np.max, min=np.min, argmax=np.argmax, argmin=np.argmin,
    arange=np.arange, eye=np.eye, moveaxis=np.moveaxis, var=np.var, std=np.std,
    add=np.add, swapaxes=np.swapaxes, ravel=np.ravel, concatenate=np.concatenate,
    stack=np.stack, squeeze=np.squeeze, newaxis=None, index_exp=np.index_exp,
    ones_like=lambda a: np.ones(np.shape(a), dtype=object), put_along_axis=np.put_along_axis,
    full_like=lambda a, v: np.full(np.shape(a), v, dtype=object), copy=np.copy,
    pi=sp.pi, e=sp.E, inf=sp.oo, ndarray=np.ndarray,
    zeros=lambda shape, dtype=None: np.zeros(shape, dtype=object),
    ones=lambda shape, dtype=None: np.ones(shape, dtype=object),
    linalg=types.SimpleNamespace(norm=lambda a, axis=None, keepdims=False: _elementwise(
        sp.sqrt)(np.sum(np.asarray(a, dtype=object) ** 2, axis=axis, keepdims=keepdims))),
    clip=_elementwise(lambda a, lo, hi: sp.Min(sp.Max(a, lo), hi)),
    where=_elementwise(lambda c, a, b: sp.Piecewise((a, sp.Ne(c, 0)), (b, True))),
    polyval=np.polyval, convolve=np.convolve, correlate=np.correlate, linspace=np.linspace,
    tensordot=np.tensordot, vander=np.vander,  # (numpy's own run on object arrays)
)

def _floordiv(a, b):
    if isinstance(a, sp.Basic) or isinstance(b, sp.Basic):
        return floor_step(a / b)
    return a // b


def _mod(a, b):
    if isinstance(a, sp.Basic) or isinstance(b, sp.Basic):
        return a - b * floor_step(a / b)
    return a % b


def _sinc_derivative(a):
    x = sp.Dummy("x", real=True)
    return sp.diff(sp.sinc(sp.pi * x), x).subs(x, a)


def _extremum(f):
    """Python's max/min: of several values, or of one list or tuple of them."""
    def apply(*args):
        if len(args) == 1 and isinstance(args[0], (list, tuple)):
            args = tuple(args[0])
        return f(*args)
    return apply


BUILTINS = {"abs": sp.Abs, "max": _extremum(sp.Max), "min": _extremum(sp.Min), "pow": _pow,
            "round": _round,
            "float": lambda a: a,  # float(x) of a number: the same value
            "_digamma": lambda a: sp.polygamma(0, a),
            "_sinc_grad": lambda a, out: _sinc_derivative(a)}
# Helpers a generated module defines (adgen/prelude.py) that have a sympy counterpart in
# BUILTINS: their definitions are dropped when the module runs on symbols.
SYMBOLIC_HELPERS = frozenset({"_digamma", "_sinc_grad"})


def _int(a):
    return trunc_step(a) if isinstance(a, sp.Basic) else int(a)


def _select(test, body, orelse):
    if test is True or test is False or isinstance(test, bool):
        return body if test else orelse
    if test == sp.true:
        return body
    if test == sp.false:
        return orelse
    if not isinstance(test, sp.Basic):  # a number used as a truth value: `x if out else 0.0`
        return body if test else orelse
    if isinstance(test, sp.Piecewise) and len(test.args) == 2 and test.args[0][0] == 1 \
            and test.args[1] == (0, True):  # a comparison (_compare's 1 or 0): its condition
        test = test.args[0][1]
    if isinstance(test, sp.Symbol) or not isinstance(
            test, (sp.core.relational.Relational, sp.logic.boolalg.Boolean)):
        test = sp.Ne(test, 0)  # a number as a truth value (a Symbol is a Boolean to sympy)
    return sp.Piecewise((body, test), (orelse, True))


_RELATIONS = {ast.Lt: sp.Lt, ast.LtE: sp.Le, ast.Gt: sp.Gt, ast.GtE: sp.Ge,
              ast.Eq: sp.Eq, ast.NotEq: sp.Ne,
              ast.Is: lambda a, b: a is b, ast.IsNot: lambda a, b: a is not b}


_PYTHON_RELATIONS = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt,
                     ast.GtE: operator.ge, ast.Eq: operator.eq, ast.NotEq: operator.ne,
                     ast.Is: operator.is_, ast.IsNot: operator.is_not}

_CONCRETE: list[dict] = []  # the points of enclosing `concrete_branches` blocks


@contextlib.contextmanager
def concrete_branches(point: dict) -> Iterator[None]:
    """Run symbolic code along the path the numbers at `point` (symbol -> value) take: every
    data-dependent `if`, `while` and `a if c else b` is decided by substituting the point
    into its condition.  The expressions built are then those of the smooth piece the point
    lies on -- exactly what the derivative at the point is about."""
    relational = sp.core.relational.Relational
    original = relational.__bool__

    def decide(self) -> bool:
        return _decided(self, point)

    relational.__bool__ = decide
    _CONCRETE.append(point)
    try:
        yield
    finally:
        relational.__bool__ = original
        _CONCRETE.pop()


def _decided(condition, point: dict) -> bool:
    condition = sp.sympify(condition)
    # Only the symbols the condition reads (`subs` with the whole point is slow), and
    # xreplace: the point maps symbols to numbers, which is all `subs` would do here.
    value = condition.xreplace({s: point[s] for s in condition.free_symbols if s in point})
    if value in (sp.true, sp.false):
        return value == sp.true
    value = sp.N(value, 30)
    if value in (sp.true, sp.false):
        return value == sp.true
    raise TypeError(f"cannot decide {condition} at the point")


def _compare(left, *pairs):
    """A (chained) comparison as 1 where it holds and 0 elsewhere: usable both as a condition
    (`_select` tests it against 0) and as a number, as numpy's booleans are (`g * (a >= b)`).
    Element by element for arrays."""
    if any(isinstance(x, np.ndarray) for x in (left, *pairs[1::2])):
        return np.vectorize(lambda l, *r: _compare(l, *[v for pair in zip(pairs[::2], r)
                                                         for v in pair]),
                            otypes=[object])(left, *pairs[1::2])
    if any(isinstance(x, (str, type(None))) for x in (left, *pairs[1::2])):
        # strings and None (activation == "relu"): Python's own comparison, a constant
        current, holds = left, True
        for op_name, right in zip(pairs[::2], pairs[1::2]):
            holds = holds and _PYTHON_RELATIONS[getattr(ast, op_name)](current, right)
            current = right
        return sp.Integer(1 if holds else 0)
    terms, current = [], left
    for op_name, right in zip(pairs[::2], pairs[1::2]):
        terms.append(_RELATIONS[getattr(ast, op_name)](current, right))
        current = right
    condition = sp.And(*terms) if len(terms) > 1 else terms[0]
    if _CONCRETE and condition not in (sp.true, sp.false):
        return sp.Integer(1 if _decided(condition, _CONCRETE[-1]) else 0)
    if condition in (sp.true, sp.false):
        return sp.Integer(1 if condition == sp.true else 0)
    return sp.Piecewise((1, condition), (0, True))


class _Symbolize(ast.NodeTransformer):
    def visit_FunctionDef(self, node: ast.FunctionDef):
        """A helper with a sympy counterpart (`_digamma`): the counterpart, not its loop."""
        if node.name in SYMBOLIC_HELPERS:
            return None
        self.generic_visit(node)
        return node

    def visit_Import(self, node: ast.Import):
        """`import math` would replace the symbolic stand-in: drop it (generated modules import
        nothing else)."""
        kept = [a for a in node.names if a.name not in ("math", "numpy")]
        return ast.copy_location(ast.Import(kept), node) if kept else None

    def visit_IfExp(self, node: ast.IfExp) -> ast.AST:
        self.generic_visit(node)
        return ast.copy_location(ast.Call(
            func=ast.Name("__adgen_select__", ast.Load()),
            args=[node.test, node.body, node.orelse], keywords=[]), node)

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        """`a // b` and `a % b` as piecewise-constant steps (floor_step), whose derivative
        is 0, not sympy's unevaluated Derivative(floor(...))."""
        self.generic_visit(node)
        name = {ast.FloorDiv: "__adgen_floordiv__", ast.Mod: "__adgen_mod__"}.get(type(node.op))
        if name is None:
            return node
        return ast.copy_location(ast.Call(func=ast.Name(name, ast.Load()),
                                          args=[node.left, node.right], keywords=[]), node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        """`int(a)` of generated code: a truncation step (the builtin `int` itself stays, for
        `isinstance(v, int)`)."""
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == "int":
            node.func = ast.copy_location(ast.Name("__adgen_int__", ast.Load()), node.func)
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        args = [node.left]
        for op, comp in zip(node.ops, node.comparators):
            args += [ast.Constant(type(op).__name__), comp]
        return ast.copy_location(ast.Call(
            func=ast.Name("__adgen_compare__", ast.Load()), args=args, keywords=[]), node)


def namespace() -> dict:
    """Globals for executing code symbolically."""
    env_builtins = dict(vars(builtins))
    env_builtins.update(BUILTINS)
    return {"math": MATH, "np": NP, "__builtins__": env_builtins,
            "__adgen_select__": _select, "__adgen_compare__": _compare,
            "__adgen_floordiv__": _floordiv, "__adgen_mod__": _mod, "__adgen_int__": _int}


def exec_symbolic(source: str, filename: str = "<adgen symbolic>") -> dict:
    """Execute generated source with sympy semantics; returns its namespace."""
    tree = _Symbolize().visit(ast.parse(source))
    ast.fix_missing_locations(tree)
    env = namespace()
    exec(compile(tree, filename, "exec"), env)
    return env


def symbolic_function(fn: types.FunctionType) -> types.FunctionType:
    """The user's own function, rebound to globals where `math` (under any alias, or its
    functions imported by name), `numpy` (as a module alias) and the builtins `abs max min
    pow` build sympy expressions -- and so are the functions it calls from its own file and
    from user modules (which adgen inlines)."""
    return _rebound(fn, {})


def _rebound(fn: types.FunctionType, done: dict) -> types.FunctionType:
    env = done.get(id(fn.__globals__))
    if env is None:
        env = done[id(fn.__globals__)] = dict(fn.__globals__)
        for key, value in list(env.items()):
            if value is math:
                env[key] = MATH
            elif value is np:
                env[key] = NP
            elif callable(value) and getattr(value, "__module__", None) == "math" \
                    and hasattr(MATH, getattr(value, "__name__", "")):
                env[key] = getattr(MATH, value.__name__)
            elif isinstance(value, types.FunctionType) and _user_code(value):
                env[key] = _rebound(value, done)
            elif isinstance(value, types.ModuleType) and _user_code(value):
                env[key] = types.SimpleNamespace(**{
                    k: _rebound(v, done) if isinstance(v, types.FunctionType) else v
                    for k, v in vars(value).items()})
        env_builtins = dict(vars(builtins))
        env_builtins.update(BUILTINS)
        env["__builtins__"] = env_builtins
    rebound = types.FunctionType(_silenced(fn), env, fn.__name__, fn.__defaults__,
                                 fn.__closure__)
    rebound.__kwdefaults__ = fn.__kwdefaults__  # def f(x, *, k=2.0): k keeps its default
    return rebound


def _silenced(fn: types.FunctionType) -> types.CodeType:
    """`fn`'s code with its report statements (`print(...)`, `logging.info(...)`,
    `warnings.warn(...)`: adgen/reports.py) made `pass`, as the generated code leaves them
    out: on sympy values `f"{loss:.4f}"` raises and `print(loss)` prints an expression.
    Compiled from the function's source at its own lines, never run; its own code when it
    has none, reports nothing, or closes over names."""
    import inspect
    import textwrap

    code = fn.__code__
    if code.co_freevars or code.co_name == "<lambda>":
        return code
    try:
        lines, first = inspect.getsourcelines(fn)
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError):
        return code
    found = []
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if isinstance(block, list):
                for i, stmt in enumerate(block):
                    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and \
                            _reporter(stmt.value.func, fn.__globals__):
                        block[i] = ast.copy_location(ast.Pass(), stmt)
                        found.append(stmt)
    if not found:
        return code
    ast.increment_lineno(tree, first - 1)
    try:
        module = compile(tree, code.co_filename, "exec")
    except (SyntaxError, ValueError):
        return code
    new = next((c for c in module.co_consts if isinstance(c, types.CodeType) and
                c.co_name == code.co_name), None)
    same = new is not None and not new.co_freevars and \
        (new.co_argcount, new.co_kwonlyargcount, new.co_varnames[:new.co_argcount]) == \
        (code.co_argcount, code.co_kwonlyargcount, code.co_varnames[:code.co_argcount])
    return new if same else code


def _reporter(func: ast.expr, scope: dict) -> bool:
    """Whether a call's callee is one of the report functions the generated code leaves out
    (reports.REPORTERS: `print`, `logging.info`, `warnings.warn`), as the function's globals
    resolve it."""
    import importlib

    from adgen.reports import REPORTERS

    path = []
    while isinstance(func, ast.Attribute):
        path.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        return False
    if func.id not in scope:
        value = getattr(builtins, func.id, None)
    else:
        value = scope[func.id]
    for attr in reversed(path):
        value = getattr(value, attr, None)
    if value is None:
        return False
    for name in REPORTERS:
        module, _, function = name.rpartition(".")
        if value is getattr(importlib.import_module(module) if module else builtins,
                            function, None):
            return True
    return False


def _user_code(obj) -> bool:
    """Whether a function or module comes from a user's file (not the standard library or
    an installed package)."""
    import os

    path = getattr(obj, "__file__", None) or getattr(getattr(obj, "__code__", None),
                                                     "co_filename", None)
    if not path or not path.endswith(".py"):
        return False
    real = os.path.realpath(path)
    return not any(real.startswith(root + os.sep) for root in _library_roots())


@functools.lru_cache(maxsize=None)
def _library_roots() -> frozenset[str]:
    """The standard library's and installed packages' directories, computed once:
    `sysconfig.get_paths()` takes about a millisecond, and `_rebound` asks about every
    function and module the user's globals reach, for every symbolic check."""
    import os
    import sysconfig

    return frozenset(os.path.realpath(sysconfig.get_paths()[k]) for k in
                     ("stdlib", "platstdlib", "purelib", "platlib"))


def rationalize(expr):
    """Floats in an expression as exact rationals (1.0 -> 1), so that simplification can
    cancel `1.0*x - x`.

    `sympy.nsimplify(expr, rational=True)` does this, but slowly on large expressions (most
    of the time of verifying array code): it converts every Float of each expression anew,
    then substitutes them with `subs`.  Each distinct Float is converted here by that same
    call, once per process, and put in place with `xreplace`."""
    expr = sp.sympify(expr)
    return expr.xreplace({f: _rational(f, f._prec) for f in expr.atoms(sp.Float)})


@functools.lru_cache(maxsize=4096)
def _rational(number, precision: int):
    # The precision is part of the key: Floats of one value and different precisions are
    # equal, but nsimplify may convert them differently.
    return sp.nsimplify(number, rational=True)

