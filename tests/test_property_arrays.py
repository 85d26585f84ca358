"""Property test: random straight-line numpy programs, differentiated and checked numerically.

A hypothesis strategy writes random forward functions over adgen's array vocabulary
(docs/arrays.md): 1-4 array parameters annotated with dimension strings over the symbols N, D
and M ("N D", "D", "N 1", "1 D", "D M", ...; also spelled "N, D" and
`Annotated[np.ndarray, "N D"]`), sometimes a float parameter and an integer index array
(`idx: "int K"`, whose values repeat), and a body of 1-8 statements (more while a parameter is
unused) built from

- element-wise + - * / ** and unary minus, with every broadcast the shapes allow (scalar,
  row, column and rank-promoted operands);
- np.exp log sqrt tanh sin cos abs square maximum minimum clip (constant and array bounds)
  where, the sigmoid gate;
- `@`, np.dot, np.matmul and .dot between 1-D and 2-D operands, .T and np.transpose;
- np.sum mean max min var, as functions and as methods, over every axis (negative ones too,
  and a tuple) with and without keepdims;
- indexing: ints, slices and the integer index array;
- re-assignment, augmented assignment (+= -= *=) and assignment into part of an array
  (`h[:, 0] = v`, `h[1:] += v`, `h[idx] = 0.5`), only into arrays the function owns (writing
  into a parameter or a view of one would change the caller's array);
- a scalar return (np.sum / np.mean of the last value, plus every result nothing has read,
  sometimes divided by a size) or an array one (a layer: the vector-Jacobian product is
  checked with a random upstream gradient).

Shapes are symbolic (N, D-1, K, ...) so that every program is valid for all sizes its
annotations allow, and the sizes (N, D, M, K = 3, 4, 2, 5) are all different, so that a
transposed or wrongly broadcast gradient has the wrong shape.  Every expression carries an
interval bound on its elements, and a function is only applied where the bound keeps it in
its domain: log and sqrt only of things >= 0.2, division only by such things, exp only of
bounded things; large values are squashed.  Inputs are drawn uniformly from [-2, 2].

Each program is compiled by adgen and its `NAME_grad` is checked against element-wise central
finite differences of the forward function (computed here, independently of adgen), and
through the public API from an imported file (`adgen.check_grad` passes, `adgen.vjp` agrees,
`adgen.grad` refuses a layer with AD404).  The generated module must be deterministic (the
same text compiles to byte-identical output, also under another PYTHONHASHSEED), import
nothing but math and numpy, return gradients of the inputs' shapes that are arrays of their
own (writeable, no view of an input, of the upstream gradient or of another gradient), leave
its arguments unchanged, and scale with the seed of a scalar output.  A second test runs the
same programs without array annotations (shapes decided at run time; no matrix products or
negative axes, which need known ranks).

Points where a finite-difference step crosses a kink (abs at 0, a maximum/minimum tie, a clip
bound, a max/min changing its argmax, an np.where condition changing) are discarded: a copy
of the program with those calls routed through a tracer records which piece every call is on,
and the difference quotients must see the same pieces as the point itself.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import importlib.util
import inspect
import itertools
import json
import math
import os
import subprocess
import sys
from typing import Optional, Union

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, note, settings
from hypothesis import strategies as st

import adgen
from adgen import facts
from adgen.compiler import compile_functions, compile_source, declared_types, parse
from property_settings import DERANDOMIZE, examples

# ---------------------------------------------------------------- sizes, tolerances, limits

# The dimension symbols' sizes: all different, so a transposed or mis-broadcast gradient has
# the wrong shape.  K is the length of the index array.
SIZES = {"N": 3, "D": 4, "M": 2, "K": 5, "1": 1}
INDEX_RANGE = 3  # index values are drawn from range(3) (so 5 of them repeat)
ANNOTATIONS = ("N D", "D", "N 1", "1 D", "D M", "N", "M", "N M", "N D", "D")
MAX_SIZE = 25  # largest array a broadcast may create
LIMIT = 50.0  # an expression whose bound exceeds this is squashed before it is used further
POINT_LOW, POINT_HIGH = -2.0, 2.0  # inputs are drawn uniformly from this interval
FD_RTOL = 1e-4  # generated gradient vs central differences of the forward function
FD_ATOL = 1e-6  # times the size of the terms of the (dout-weighted) output

# ---------------------------------------------------------------- names

# Names that collide with what adgen invents (gradients d<x>, versions x_1, intermediates such
# as xw, sum1, part1, mask1, sel1, clip1), with numpy-ish words and with the output's name.
PARAM_POOL = ("x", "w", "b", "y", "z", "a", "W", "col", "row", "dx", "grad_x", "x_1", "xw",
              "h", "out", "input", "sum1", "part1", "t", "dout")
LOCAL_POOL = ("h", "z", "a", "v", "out", "tmp", "dx", "dh", "dz", "dout", "sum1", "xw", "h_1",
              "mask1", "part1", "sel1", "clip1", "loss", "f", "g", "q", "maxq", "negh",
              "layer", "sum", "exp", "mean")
FUNCTION_NAMES = ("f", "f", "loss", "layer", "forward")
INDEX_NAMES = ("idx", "labels", "ix")
SCALAR_NAMES = ("s", "reg", "lam", "alpha")

CONSTANTS = (("2", 2.0), ("0.5", 0.5), ("1.5", 1.5), ("3", 3.0), ("0.1", 0.1), ("1e-1", 0.1),
             ("2.", 2.0), ("0.25", 0.25), ("1", 1.0))
CLIP_BOUNDS = ((-1.0, 1.0), (-0.5, 0.5), (0.0, 1.0), (-1.5, 0.25), (0.1, 2.0))


# ---------------------------------------------------------------- expressions


@dataclasses.dataclass(frozen=True)
class X:
    """An expression (a Python AST), its shape, and an interval containing every element.

    The shape is symbolic, a tuple of dimension labels: "N", "D", "M", "K", "1", and "D-1" for
    a dimension sliced by [1:]; two dimensions broadcast only if their labels say so whatever
    the sizes are, as the annotations promise (not because "M-1" happens to be 1).
    `base` identifies the array the expression's value is (a view of), when it is one: a name
    and its transposes and basic slices share their base; anything computed is a new array."""

    node: ast.expr
    shape: tuple[str, ...]
    lo: float
    hi: float
    base: Optional[int] = None

    @property
    def mag(self) -> float:
        return max(abs(self.lo), abs(self.hi))

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def sizes(self) -> tuple[int, ...]:
        return sizes(self.shape)


def sizes(dims: tuple[str, ...]) -> tuple[int, ...]:
    """The concrete shape of symbolic dimensions ("D-1" is SIZES["D"] - 1)."""
    return tuple(SIZES[d.split("-")[0]] - d.count("-1") for d in dims)


def np_attr(name: str) -> ast.expr:
    return ast.Attribute(ast.Name("np"), name)


def np_call(name: str, *args: ast.expr, **kwargs) -> ast.expr:
    return ast.Call(np_attr(name), list(args),
                    [ast.keyword(k, v) for k, v in kwargs.items()])


def method(obj: ast.expr, name: str, *args: ast.expr, **kwargs) -> ast.expr:
    return ast.Call(ast.Attribute(obj, name), list(args),
                    [ast.keyword(k, v) for k, v in kwargs.items()])


def num(text: str) -> ast.expr:
    return ast.Name(text)  # printed verbatim, so the spelling is kept ("2.", "1e-1")


def const_node(value: float) -> ast.expr:
    text = repr(value)
    return ast.UnaryOp(ast.USub(), num(text[1:])) if value < 0 else num(text)


def broadcast(*shapes: tuple[str, ...]) -> Optional[tuple[str, ...]]:
    """numpy's broadcast of symbolic shapes, or None where the shapes do not broadcast for
    every size of the symbols or the result is larger than the test wants (rank > 2, more than
    MAX_SIZE elements)."""
    ndim = max(len(s) for s in shapes)
    out = []
    for i in range(1, ndim + 1):
        labels = {s[-i] for s in shapes if len(s) >= i} - {"1"}
        if len(labels) > 1:
            return None
        out.append(labels.pop() if labels else "1")
    shape = tuple(reversed(out))
    if len(shape) > 2 or math.prod(sizes(shape)) > MAX_SIZE:
        return None
    return shape


def products(a: X, b: X) -> tuple[float, float]:
    ps = [p * q for p in (a.lo, a.hi) for q in (b.lo, b.hi)]
    return min(ps), max(ps)


def square_bounds(a: X) -> tuple[float, float]:
    low = 0.0 if a.lo <= 0 <= a.hi else min(a.lo ** 2, a.hi ** 2)
    return low, a.mag ** 2


def abs_bounds(a: X) -> tuple[float, float]:
    low = 0.0 if a.lo <= 0 <= a.hi else min(abs(a.lo), abs(a.hi))
    return low, a.mag


def _sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v))


def reduced_shape(shape: tuple[str, ...], axis, keepdims: bool) -> tuple[str, ...]:
    axes = range(len(shape)) if axis is None else axis if isinstance(axis, tuple) else (axis,)
    axes = {a % len(shape) for a in axes}
    return tuple("1" if i in axes else d for i, d in enumerate(shape)
                 if keepdims or i not in axes)


class Program:
    """Writes one random program; `draw` is hypothesis's."""

    def __init__(self, draw, annotated: bool = True):
        self.draw = draw
        # Without shape annotations, matrix products (AD305) and negative axes need ranks
        # adgen does not know: the program does without them.
        self.annotated = annotated
        self.env: dict[str, X] = {}  # bound name -> its value (a Name node)
        self.recent: list[str] = []  # bound names, the most recently assigned last
        self.params: list[str] = []
        self.varied: set[str] = set()  # names whose value depends on a float parameter
        self.index: Optional[str] = None  # the integer index parameter
        self.bases = itertools.count()
        self.external: set[int] = set()  # the bases of the parameters: the caller's arrays
        self.unused: list[str] = []  # float parameters no statement has read yet
        self.pending: list[str] = []  # names assigned and not read since
        self.forbidden = {"np", "numpy", "Annotated", "math", "len"}

    # ------------------------------------------------------------ helpers

    def pick(self, options):
        return self.draw(st.sampled_from(options))

    def coin(self, p_true: int = 1, out_of: int = 2) -> bool:
        return self.draw(st.integers(0, out_of - 1)) < p_true

    def reads_variable(self, node: ast.expr) -> bool:
        return any(isinstance(n, ast.Name) and n.id in self.env for n in ast.walk(node))

    def is_varied(self, node: ast.expr) -> bool:
        return any(isinstance(n, ast.Name) and n.id in self.varied for n in ast.walk(node))

    def bind(self, name: str, value: X) -> None:
        base = value.base if value.base is not None else next(self.bases)
        self.env[name] = X(ast.Name(name), value.shape, value.lo, value.hi, base)
        if self.is_varied(value.node):
            self.varied.add(name)
        else:
            self.varied.discard(name)
        if name in self.recent:
            self.recent.remove(name)
        self.recent.append(name)
        if name not in self.pending:
            self.pending.append(name)

    def var(self, name: str) -> X:
        return self.env[name]

    def variable(self) -> X:
        """A bound name, preferring recent ones (so later statements use earlier results)."""
        return self.var(self.recent[-1 - self.draw(st.integers(0, len(self.recent) - 1))])

    def constant(self) -> X:
        text, value = self.pick(CONSTANTS)
        if self.coin(1, 5):
            return X(ast.UnaryOp(ast.USub(), num(text)), (), -value, -value)
        return X(num(text), (), value, value)

    # ------------------------------------------------------------ shape-changing leaves

    def views_and_reductions(self, v: X) -> list[X]:
        """Cheap expressions of a bound array with other shapes: transposes, sums and means
        along an axis, int and slice indexing, the index array."""
        out = []
        if v.ndim == 2:
            out.append(X(ast.Attribute(v.node, "T"), v.shape[::-1], v.lo, v.hi, v.base))
            out.append(X(ast.Subscript(v.node, ast.Tuple([ast.Slice(), num("0")])),
                         v.shape[:1], v.lo, v.hi, v.base))
        if v.ndim >= 1:
            out.append(X(ast.Subscript(v.node, num("0")), v.shape[1:], v.lo, v.hi, v.base))
            if v.sizes[0] >= 2:
                out.append(X(ast.Subscript(v.node, ast.Slice(num("1"), None)),
                             (v.shape[0] + "-1",) + v.shape[1:], v.lo, v.hi, v.base))
            if v.ndim == 2 and v.sizes[1] >= 2:
                out.append(X(ast.Subscript(v.node, ast.Tuple([ast.Slice(),
                                                              ast.Slice(num("1"), None)])),
                             (v.shape[0], v.shape[1] + "-1"), v.lo, v.hi, v.base))
            for axis in range(v.ndim):
                for keepdims in (False, True):
                    kw = {"axis": num(str(axis))}
                    if keepdims:
                        kw["keepdims"] = num("True")
                    shape = reduced_shape(v.shape, axis, keepdims)
                    out.append(X(np_call("mean", v.node, **kw), shape, v.lo, v.hi))
            if self.index is not None and v.sizes[0] >= INDEX_RANGE:
                out.append(X(ast.Subscript(v.node, ast.Name(self.index)),
                             ("K",) + v.shape[1:], v.lo, v.hi))
        return out

    def derived(self, predicate) -> list[X]:
        """Bound values, and cheap expressions of them, whose shape satisfies `predicate`."""
        found = []
        for name in self.recent:
            v = self.var(name)
            for c in [v] + self.views_and_reductions(v):
                if predicate(c.shape):
                    found.append(c)
        return found

    def fit(self, b: X, shape: tuple[str, ...], into: bool = False) -> X:
        """`b`, or another operand, that broadcasts with `shape` (to `shape` itself if
        `into`, as the value of an augmented assignment must)."""
        def ok(s):
            r = broadcast(shape, s)
            return r is not None and (not into or r == shape)

        if ok(b.shape):
            return b
        if self.coin(2, 3):
            candidates = self.derived(ok)
            if candidates:
                return self.pick(candidates)
        return self.to_scalar(b)

    def to_scalar(self, b: X) -> X:
        if b.ndim == 0:
            return b
        n = math.prod(b.sizes)
        kind = self.pick(("sum", "mean", "method_mean"))
        if kind == "sum":
            return self.bounded(X(np_call("sum", b.node), (), n * b.lo, n * b.hi), LIMIT)
        if kind == "mean":
            return X(np_call("mean", b.node), (), b.lo, b.hi)
        return X(method(b.node, "mean"), (), b.lo, b.hi)

    # ------------------------------------------------------------ domains

    def squash(self, a: X) -> X:
        """A bounded function of `a` (|value| <= 1)."""
        kind = self.pick(("tanh", "ratio", "root"))
        if kind == "tanh":
            return X(np_call("tanh", a.node), a.shape, math.tanh(a.lo), math.tanh(a.hi))
        if kind == "ratio":  # a / (1 + a ** 2) lies in [-1/2, 1/2]
            den = ast.BinOp(num("1"), ast.Add(), ast.BinOp(a.node, ast.Pow(), num("2")))
            return X(ast.BinOp(a.node, ast.Div(), den), a.shape, -0.5, 0.5)
        den = np_call("sqrt", ast.BinOp(num("1"), ast.Add(), np_call("square", a.node)))
        return X(ast.BinOp(a.node, ast.Div(), den), a.shape, -1.0, 1.0)

    def bounded(self, a: X, bound: float) -> X:
        return a if a.mag <= bound else self.squash(a)

    def positive(self, a: X) -> X:
        """An expression of `a`, of its shape, with every element >= 0.2."""
        if a.lo >= 0.2 and self.coin():
            return a
        kind = self.pick(("one_plus_sq", "one_plus_square", "exp", "tanh", "abs", "trig",
                          "root", "one_plus_exp"))
        lo, hi = square_bounds(a)
        if kind == "one_plus_sq":
            return X(ast.BinOp(num("1"), ast.Add(), ast.BinOp(a.node, ast.Pow(), num("2"))),
                     a.shape, 1 + lo, 1 + hi)
        if kind == "one_plus_square":
            return X(ast.BinOp(num("1"), ast.Add(), np_call("square", a.node)), a.shape,
                     1 + lo, 1 + hi)
        if kind == "exp":
            b = self.bounded(a, 3)
            return X(np_call("exp", b.node), a.shape, math.exp(b.lo), math.exp(b.hi))
        if kind == "tanh":
            return X(ast.BinOp(num("1.5"), ast.Add(), np_call("tanh", a.node)), a.shape,
                     1.5 + math.tanh(a.lo), 1.5 + math.tanh(a.hi))
        if kind == "abs":
            low, high = abs_bounds(a)
            return X(ast.BinOp(num("0.5"), ast.Add(), np_call("abs", a.node)), a.shape,
                     0.5 + low, 0.5 + high)
        if kind == "trig":
            b = self.bounded(a, 10)
            return X(ast.BinOp(num("2"), ast.Add(), np_call(self.pick(("sin", "cos")),
                                                            b.node)), a.shape, 1.0, 3.0)
        if kind == "root":
            return X(np_call("sqrt", ast.BinOp(num("1"), ast.Add(),
                                               ast.BinOp(a.node, ast.Mult(), a.node))),
                     a.shape, math.sqrt(1 + lo), math.sqrt(1 + hi))
        b = self.bounded(a, 3)
        return X(ast.BinOp(num("1"), ast.Add(), np_call("exp", b.node)), a.shape,
                 1 + math.exp(b.lo), 1 + math.exp(b.hi))

    # ------------------------------------------------------------ expressions

    def leaf(self) -> X:
        unused = [n for n in self.unused if n in self.recent]
        if unused and self.coin():  # mostly, every parameter gets used
            return self.var(self.pick(unused))
        if self.recent and self.coin(1, 5):  # a transpose, slice, index or mean of one
            return self.pick(self.derived(lambda s: True))
        if self.recent and not self.coin(1, 6):
            return self.variable()
        return self.constant()

    def expr(self, depth: int) -> X:
        if depth <= 0 or self.coin(1, 5):
            return self.leaf()
        kind = self.pick(("arith", "arith", "arith", "div", "neg", "square", "unary", "unary",
                          "extremum", "clip", "where", "matmul", "matmul", "transpose",
                          "reduce", "reduce", "index", "gate"))
        if kind == "matmul" and not self.annotated:
            kind = "arith"
        x = getattr(self, "op_" + kind)(depth - 1)
        if x.mag > LIMIT:
            x = self.squash(x)
        return x

    def array_expr(self, depth: int) -> Optional[X]:
        """An expression with at least one dimension (None if there is no array to use)."""
        a = self.expr(depth)
        if a.ndim >= 1:
            return a
        arrays = self.derived(lambda s: len(s) >= 1)
        return self.pick(arrays) if arrays else None

    def op_arith(self, d):
        a = self.expr(d)
        b = self.fit(self.expr(d), a.shape)
        if self.coin():
            a, b = b, a
        op = self.pick(("+", "-", "*"))
        shape = broadcast(a.shape, b.shape)
        if op == "+":
            return X(ast.BinOp(a.node, ast.Add(), b.node), shape, a.lo + b.lo, a.hi + b.hi)
        if op == "-":
            return X(ast.BinOp(a.node, ast.Sub(), b.node), shape, a.lo - b.hi, a.hi - b.lo)
        return X(ast.BinOp(a.node, ast.Mult(), b.node), shape, *products(a, b))

    def op_div(self, d):
        a = self.expr(d)
        den = self.positive(self.fit(self.expr(d), a.shape))
        inv = X(den.node, den.shape, 1 / den.hi, 1 / den.lo)
        return X(ast.BinOp(a.node, ast.Div(), den.node), broadcast(a.shape, den.shape),
                 *products(a, inv))

    def op_neg(self, d):
        a = self.expr(d)
        return X(ast.UnaryOp(ast.USub(), a.node), a.shape, -a.hi, -a.lo)

    def op_square(self, d):
        a = self.expr(d)
        kind = self.pick(("pow", "square", "mul"))
        if kind == "pow":
            node = ast.BinOp(a.node, ast.Pow(), num("2"))
        elif kind == "square":
            node = np_call("square", a.node)
        else:
            node = ast.BinOp(a.node, ast.Mult(), a.node)
        return X(node, a.shape, *square_bounds(a))

    def op_unary(self, d):
        a = self.expr(d)
        name = self.pick(("exp", "log", "sqrt", "tanh", "sin", "cos", "abs"))
        if name == "exp":
            b = self.bounded(a, 3)
            return X(np_call("exp", b.node), a.shape, math.exp(b.lo), math.exp(b.hi))
        if name in ("log", "sqrt"):
            p = self.positive(a)
            fn = getattr(math, name)
            return X(np_call(name, p.node), a.shape, fn(p.lo), fn(p.hi))
        if name == "tanh":
            return X(np_call("tanh", a.node), a.shape, math.tanh(a.lo), math.tanh(a.hi))
        if name in ("sin", "cos"):  # of a bounded argument: finite differences resolve it
            return X(np_call(name, self.bounded(a, 10).node), a.shape, -1.0, 1.0)
        return X(np_call("abs", a.node), a.shape, *abs_bounds(a))

    def op_gate(self, d):
        """The sigmoid gate 1 / (1 + np.exp(-z))."""
        z = self.bounded(self.expr(d), 30)
        node = ast.BinOp(num(self.pick(("1", "1.0"))), ast.Div(),
                         ast.BinOp(num("1"), ast.Add(),
                                   np_call("exp", ast.UnaryOp(ast.USub(), z.node))))
        return X(node, z.shape, _sigmoid(z.lo), _sigmoid(z.hi))

    def op_extremum(self, d):
        a = self.expr(d)
        name = self.pick(("maximum", "minimum"))
        if self.coin():
            zero = self.pick(("0", "0.0"))
            b = X(num(zero), (), 0.0, 0.0)
        else:
            b = self.fit(self.expr(d), a.shape)
        if self.coin():
            a, b = b, a
        if name == "maximum":
            lo, hi = max(a.lo, b.lo), max(a.hi, b.hi)
        else:
            lo, hi = min(a.lo, b.lo), min(a.hi, b.hi)
        return X(np_call(name, a.node, b.node), broadcast(a.shape, b.shape), lo, hi)

    def op_clip(self, d):
        a = self.expr(d)
        if self.coin(1, 4):  # array bounds: lo <= -0.2 < 0.2 <= hi
            lo_x = self.positive(self.fit(self.expr(d), a.shape, into=True))
            hi_x = self.positive(self.fit(self.expr(d), a.shape, into=True))
            lo = X(ast.UnaryOp(ast.USub(), lo_x.node), lo_x.shape, -lo_x.hi, -lo_x.lo)
            lo_node, hi_node, lo_v, hi_v = lo.node, hi_x.node, lo.lo, hi_x.hi
        else:
            lo_v, hi_v = self.pick(CLIP_BOUNDS)
            lo_node, hi_node = const_node(lo_v), const_node(hi_v)
        if a.ndim >= 1 and self.coin(1, 3):
            node = method(a.node, "clip", lo_node, hi_node)
        else:
            node = np_call("clip", a.node, lo_node, hi_node)
        return X(node, a.shape, lo_v, hi_v)

    def op_where(self, d):
        a = self.expr(d)
        b = self.fit(self.expr(d), a.shape)
        if not self.reads_variable(a.node) and not self.reads_variable(b.node):
            a = self.variable()  # (np.where(1 < 2, 1, 2) is an array of ints)
            b = self.fit(b, a.shape)
        cond = self.pick(("gt0", "lt", "gt_b"))
        if cond == "gt0":
            test = ast.Compare(a.node, [ast.Gt()], [num(self.pick(("0", "0.0")))])
        elif cond == "lt":
            test = ast.Compare(a.node, [ast.Lt()], [num(self.pick(("0.5", "1", "-0.5")))])
        else:
            test = ast.Compare(a.node, [ast.Gt()], [b.node])
        return X(np_call("where", test, a.node, b.node), broadcast(a.shape, b.shape),
                 min(a.lo, b.lo), max(a.hi, b.hi))

    def op_matmul(self, d):
        a = self.array_expr(d)
        if a is None:
            return self.expr(d)
        q = a.shape[-1]

        def ok(s):
            return len(s) in (1, 2) and s[0] == q

        b = self.expr(d)
        if not ok(b.shape):
            if b.ndim == 2 and b.shape[1] == q and self.coin(2, 3):
                b = X(ast.Attribute(b.node, "T"), b.shape[::-1], b.lo, b.hi, b.base)
            else:
                candidates = self.derived(ok)
                if not candidates:
                    return a
                b = self.pick(candidates)
        shape = a.shape[:-1] + b.shape[1:]
        lo, hi = products(a, b)
        n = a.sizes[-1]
        lo, hi = n * lo, n * hi
        kind = self.pick(("@", "@", "dot", "matmul", "method"))
        if kind == "@":
            node = ast.BinOp(a.node, ast.MatMult(), b.node)
        elif kind == "method":
            node = method(a.node, "dot", b.node)
        else:
            node = np_call(kind, a.node, b.node)
        return self.bounded(X(node, shape, lo, hi), LIMIT)

    def op_transpose(self, d):
        a = self.array_expr(d)
        if a is None:
            return self.expr(d)
        if a.ndim == 2 and self.coin(2, 3) or a.ndim == 1 and self.coin(1, 4):
            return X(ast.Attribute(a.node, "T"), a.shape[::-1], a.lo, a.hi, a.base)
        return X(np_call("transpose", a.node), a.shape[::-1], a.lo, a.hi, a.base)

    def op_reduce(self, d):
        a = self.array_expr(d)
        if a is None:
            return self.expr(d)
        name = self.pick(("sum", "sum", "mean", "max", "min", "var"))
        axes = [None] + list(range(a.ndim)) + ([-1] if self.annotated else [])
        if a.ndim == 2 and name in ("sum", "mean"):
            axes.append((0, 1))
        axis = self.pick(axes)
        keepdims = self.coin()
        kw = {}
        if axis is not None:
            kw["axis"] = (ast.Tuple([num(str(i)) for i in axis]) if isinstance(axis, tuple)
                          else const_node(axis))
        if keepdims:
            kw["keepdims"] = num("True")
        if self.coin():
            node = np_call(name, a.node, **kw)
        else:
            node = method(a.node, name, **kw)
        shape = reduced_shape(a.shape, axis, keepdims)
        n = math.prod(a.sizes) // math.prod(sizes(shape))
        if name == "sum":
            lo, hi = n * a.lo, n * a.hi
        elif name == "var":
            lo, hi = 0.0, ((a.hi - a.lo) / 2) ** 2
        else:
            lo, hi = a.lo, a.hi
        return X(node, shape, lo, hi)

    def op_index(self, d):
        a = self.array_expr(d)
        if a is None:
            return self.expr(d)
        options = ["int0", "int-1"]
        if a.sizes[0] >= 2:
            options.append("rows")
        if a.ndim == 2:
            options.append("col0")
            if a.sizes[1] >= 2:
                options.append("cols")
        if self.index is not None and a.sizes[0] >= INDEX_RANGE:
            options += ["fancy", "fancy"]
        kind = self.pick(options)
        if kind == "fancy":  # a copy: a new array
            return X(ast.Subscript(a.node, ast.Name(self.index)), ("K",) + a.shape[1:],
                     a.lo, a.hi)
        if kind == "int0":
            index, shape = num("0"), a.shape[1:]
        elif kind == "int-1":
            index, shape = const_node(-1), a.shape[1:]
        elif kind == "rows":
            index, shape = ast.Slice(num("1"), None), (a.shape[0] + "-1",) + a.shape[1:]
        elif kind == "col0":
            index, shape = ast.Tuple([ast.Slice(), num("0")]), a.shape[:1]
        else:
            index, shape = ast.Tuple([ast.Slice(), ast.Slice(num("1"), None)]), \
                (a.shape[0], a.shape[1] + "-1")
        return X(ast.Subscript(a.node, index), shape, a.lo, a.hi, a.base)

    # ------------------------------------------------------------ statements

    def owned(self, name: str) -> bool:
        """Whether an augmented assignment to `name` writes only into an array of the
        function's own that nothing else refers to, or rebinds a scalar.  (A float parameter
        is immutable, but np.where gives 0-d arrays, which `+=` writes into.)"""
        v = self.var(name)
        shared = sum(1 for n in self.env if self.env[n].base == v.base) > 1
        return not shared and (v.ndim == 0 or v.base not in self.external)

    def fresh_target(self) -> str:
        """A name to assign: never one whose value nothing has read yet (it would be dead)."""
        if self.coin(1, 3):  # re-assign a local, or (rarely) a parameter
            bound = [n for n in self.recent if n not in self.params or self.coin(1, 4)]
            bound = [n for n in bound if n != self.index and n not in self.pending]
            if bound:
                return self.pick(bound)
        return self.pick([n for n in LOCAL_POOL
                          if n not in self.forbidden and n not in self.pending])

    def statement(self) -> str:
        depth = self.draw(st.integers(1, 3))
        targets = [n for n in self.recent if n != self.index and self.owned(n)]
        arrays = [n for n in targets if self.var(n).ndim >= 1]
        if arrays and self.coin(1, 6):
            return self.setitem(self.pick(arrays), depth)
        if targets and self.coin(1, 4):
            name = self.pick(targets)
            cur = self.var(name)
            value = self.fit(self.expr(depth), cur.shape, into=True)
            op = self.pick(("+=", "-=", "*="))
            if op == "*=":
                new = products(cur, value)
                if max(abs(new[0]), abs(new[1])) > LIMIT:
                    op = "+="
            if op == "+=":
                value = self.bounded(value, LIMIT)
                new = (cur.lo + value.lo, cur.hi + value.hi)
            elif op == "-=":
                value = self.bounded(value, LIMIT)
                new = (cur.lo - value.hi, cur.hi - value.lo)
            varied = self.is_varied(value.node) or name in self.varied
            self.read(value.node)
            self.env[name] = X(cur.node, cur.shape, *new, cur.base)
            if varied:
                self.varied.add(name)
            self.recent.remove(name)
            self.recent.append(name)
            if name not in self.pending:
                self.pending.append(name)
            line = f"{name} {op} {ast.unparse(value.node)}"
            if self.env[name].mag > LIMIT:  # keep accumulated values bounded
                v = self.squash(self.env[name])
                self.bind(name, v)
                line += f"\n{name} = {ast.unparse(v.node)}"
            return line
        target = self.fresh_target()
        value = self.expr(depth)
        self.read(value.node)
        self.bind(target, value)
        return f"{target} = {ast.unparse(value.node)}"

    def setitem(self, name: str, depth: int) -> str:
        """An assignment into part of an array of the function's own: `h[:, 0] = v`,
        `h[1:] += v`, or a constant through the index array, `h[idx] = 0.0`."""
        cur = self.var(name)
        options = ["int0", "int-1"]
        if cur.sizes[0] >= 2:
            options.append("rows")
        if cur.ndim == 2:
            options.append("col0")
            if cur.sizes[1] >= 2:
                options.append("cols")
        if self.index is not None and cur.sizes[0] >= INDEX_RANGE:
            options.append("fancy")
        kind = self.pick(options)
        if kind == "fancy":  # constants only: a differentiated value would be AD305
            index, part = ast.Name(self.index), ("K",) + cur.shape[1:]
        elif kind == "int0":
            index, part = num("0"), cur.shape[1:]
        elif kind == "int-1":
            index, part = const_node(-1), cur.shape[1:]
        elif kind == "rows":
            index, part = ast.Slice(num("1"), None), (cur.shape[0] + "-1",) + cur.shape[1:]
        elif kind == "col0":
            index, part = ast.Tuple([ast.Slice(), num("0")]), cur.shape[:1]
        else:
            index, part = ast.Tuple([ast.Slice(), ast.Slice(num("1"), None)]), \
                (cur.shape[0], cur.shape[1] + "-1")
        if kind == "fancy":
            value = self.constant()
        else:
            value = self.bounded(self.fit(self.expr(depth), part, into=True), LIMIT)
        # (`h[idx] += c` reads h[idx], a differentiated value: AD305 like any other)
        op = "=" if kind == "fancy" else self.pick(("=", "=", "+=", "-=", "*="))
        if op == "=":
            lo, hi = min(cur.lo, value.lo), max(cur.hi, value.hi)
        elif op == "+=":
            lo, hi = cur.lo + min(0.0, value.lo), cur.hi + max(0.0, value.hi)
        elif op == "-=":
            lo, hi = cur.lo - max(0.0, value.hi), cur.hi - min(0.0, value.lo)
        else:
            p_lo, p_hi = products(cur, value)
            lo, hi = min(cur.lo, p_lo), max(cur.hi, p_hi)
        self.read(value.node)
        self.env[name] = X(cur.node, cur.shape, lo, hi, cur.base)
        if self.is_varied(value.node):
            self.varied.add(name)
        self.recent.remove(name)
        self.recent.append(name)
        if name not in self.pending:
            self.pending.append(name)
        line = f"{ast.unparse(ast.Subscript(cur.node, index))} {op} {ast.unparse(value.node)}"
        if self.env[name].mag > LIMIT:  # keep accumulated values bounded
            v = self.squash(self.env[name])
            self.bind(name, v)
            line += f"\n{name} = {ast.unparse(v.node)}"
        return line

    def read(self, node: ast.expr) -> None:
        names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        self.unused = [n for n in self.unused if n not in names]
        self.pending = [n for n in self.pending if n not in names]


# ---------------------------------------------------------------- cases


@dataclasses.dataclass
class Param:
    name: str
    kind: str  # "array", "float" or "int"
    dims: tuple[str, ...]
    annotation: str

    @property
    def shape(self) -> tuple[int, ...]:
        return sizes(self.dims)


@dataclasses.dataclass
class Case:
    text: str
    function: str
    params: list[Param]
    args: list
    wrt: Union[None, str, list[str]]
    expected_wrt: list[str]
    single: bool
    out_shape: tuple[int, ...]
    dout: Union[float, np.ndarray]
    annotated: bool = True

    def __repr__(self) -> str:  # what hypothesis prints for a falsifying example
        args = ", ".join(f"{p.name}=np.array({a.tolist()!r})" if p.kind != "float"
                         else f"{p.name}={a!r}" for p, a in zip(self.params, self.args))
        return (f"Case(wrt={self.wrt!r}, dout={self.dout!r})\n{self.text}\n"
                f"args: {args}")


def _annotation(dims: str, style: str) -> str:
    if style == "comma":
        return repr(", ".join(dims.split()))
    if style == "annotated":
        return f"Annotated[np.ndarray, {dims!r}]"
    return repr(dims)


@st.composite
def cases(draw, annotated: bool = True) -> Case:
    """A random program; with `annotated=False`, its array parameters have no annotations
    (their shapes are decided at run time: the generated `_unbroadcast` path)."""
    prog = Program(draw, annotated)
    fname = draw(st.sampled_from(FUNCTION_NAMES))
    style = draw(st.sampled_from(("plain", "plain", "plain", "comma", "annotated"))) \
        if annotated else "plain"
    n_arrays = draw(st.integers(1, 4))
    names = draw(st.lists(st.sampled_from(PARAM_POOL), min_size=n_arrays, max_size=n_arrays,
                          unique=True))
    params = []
    for name in names:
        dims = draw(st.sampled_from(ANNOTATIONS))
        params.append(Param(name, "array", tuple(dims.split()), _annotation(dims, style)))
    if draw(st.integers(0, 2)) == 0:
        params.append(Param(draw(st.sampled_from(SCALAR_NAMES)), "float", (), "float"))
    if draw(st.integers(0, 2)) == 0:
        params.append(Param(draw(st.sampled_from(INDEX_NAMES)), "int", ("K",), repr("int K")))
        prog.index = params[-1].name
    params = draw(st.permutations(params))
    prog.params = [p.name for p in params]
    for p in params:
        lo, hi = (POINT_LOW, POINT_HIGH) if p.kind != "int" else (0, INDEX_RANGE - 1)
        prog.bind(p.name, X(ast.Name(p.name), p.dims, lo, hi))
        if p.kind != "int":
            prog.varied.add(p.name)
        else:
            prog.varied.discard(p.name)
    prog.recent = [n for n in prog.recent if n != prog.index]
    prog.external = {prog.env[p.name].base for p in params}
    prog.unused = [p.name for p in params if p.kind != "int"]
    prog.pending = []

    body = []
    for _ in range(draw(st.integers(1, 8))):
        body.append(prog.statement())
    while prog.unused and len(body) < 10:  # mostly, every parameter gets used
        body.append(prog.statement())

    # The return reads the last value, and every other result no statement has read since it
    # was assigned (so little of the program is dead code).
    last = prog.var(prog.recent[-1])
    sinks = [prog.var(n) for n in prog.pending if n != prog.recent[-1] and n in prog.varied]
    if not sinks and not prog.is_varied(last.node):  # return something that depends on the inputs
        varied = [n for n in prog.recent if n in prog.varied]
        if varied:
            sinks = [prog.var(prog.pick(varied))]
    uses_numpy = any("np." in line for line in body)
    # (an unannotated function that calls no numpy function is scalar code: docs/arrays.md)
    layer = last.ndim >= 1 and draw(st.integers(0, 9)) < 3 and (annotated or uses_numpy)
    if layer:
        result = last.node
        for v in sinks:
            term = v if broadcast(last.shape, v.shape) == last.shape else prog.to_scalar(v)
            op = draw(st.sampled_from((ast.Add(), ast.Sub(), ast.Mult())))
            result = ast.BinOp(result, op, term.node)
        out_shape = last.sizes
    else:
        kind = draw(st.sampled_from(("sum", "sum", "mean", "method", "size")))
        if kind == "method" and last.ndim >= 1:
            result = method(last.node, draw(st.sampled_from(("sum", "mean"))))
        elif kind == "mean":
            result = np_call("mean", last.node)
        else:
            result = np_call("sum", last.node)
        arrays = [n for n in prog.recent if prog.var(n).ndim >= 1]
        if kind == "size" and arrays:  # divided by a size: len(x) or x.shape[k]
            a = prog.var(draw(st.sampled_from(arrays)))
            size = (ast.Call(ast.Name("len"), [a.node], []) if draw(st.booleans())
                    else ast.Subscript(ast.Attribute(a.node, "shape"),
                                       num(str(draw(st.integers(0, a.ndim - 1))))))
            result = ast.BinOp(result, ast.Div(), size)
        for v in sinks:
            term = np_call(draw(st.sampled_from(("sum", "mean"))), v.node)
            result = ast.BinOp(result, draw(st.sampled_from((ast.Add(), ast.Sub()))), term)
        out_shape = ()
    body.append(f"return {ast.unparse(result)}")

    header = ["import numpy as np"]
    if style == "annotated":
        header.insert(0, "from typing import Annotated\n")
    signature = ", ".join(p.name if p.kind == "array" and not annotated
                          else f"{p.name}: {p.annotation}" for p in params)
    lines = header + ["", "", f"def {fname}({signature}):"]
    for statement in body:
        lines += ["    " + s for s in statement.split("\n")]
    text = "\n".join(lines) + "\n"

    seed = draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    args = []
    for p in params:
        if p.kind == "array":
            args.append(rng.uniform(POINT_LOW, POINT_HIGH, size=p.shape))
        elif p.kind == "float":
            args.append(float(rng.uniform(POINT_LOW, POINT_HIGH)))
        else:
            args.append(rng.integers(0, INDEX_RANGE, size=p.shape))
    dout = rng.standard_normal(out_shape) if out_shape else float(rng.uniform(0.5, 2.0))

    differentiable = [p.name for p in params if p.kind != "int"]
    wrt_kind = draw(st.sampled_from(("default", "default", "default", "one", "some")))
    if wrt_kind == "default":
        wrt, expected, single = None, differentiable, len(differentiable) == 1
    elif wrt_kind == "one":
        wrt = draw(st.sampled_from(differentiable))
        expected, single = [wrt], True
    else:
        wrt = draw(st.lists(st.sampled_from(differentiable), min_size=1, unique=True))
        expected, single = [p for p in differentiable if p in wrt], False
    return Case(text, fname, params, args, wrt, expected, single, out_shape, dout, annotated)


# ---------------------------------------------------------------- kinks


class _Trace:
    """Stand-ins for numpy's kinked functions (and comparisons) that compute the same values
    and record which smooth piece every call is on."""

    def __init__(self) -> None:
        self.branches: list = []

    def _record(self, branch) -> None:
        branch = np.asarray(branch)
        self.branches.append((branch.shape, branch.tobytes()))

    def abs(self, a):
        self._record(np.sign(a))
        return np.abs(a)

    def maximum(self, a, b):
        self._record(np.greater_equal(a, b))
        return np.maximum(a, b)

    def minimum(self, a, b):
        self._record(np.less_equal(a, b))
        return np.minimum(a, b)

    def clip(self, a, lo, hi):
        self._record(np.less(a, lo) * 1 + np.greater(a, hi) * 2)
        return np.clip(a, lo, hi)

    def max(self, a, axis=None, keepdims=False):
        self._record(np.argmax(a, axis=axis))
        return np.max(a, axis=axis, keepdims=keepdims)

    def min(self, a, axis=None, keepdims=False):
        self._record(np.argmin(a, axis=axis))
        return np.min(a, axis=axis, keepdims=keepdims)

    def compare(self, a, b, op):
        result = {"Gt": np.greater, "Lt": np.less}[op](a, b)
        self._record(result)
        return result


_KINKED = ("abs", "maximum", "minimum", "clip", "max", "min")


class _RouteKinks(ast.NodeTransformer):
    """`np.abs(a)` -> `_trace.abs(a)`, `a.max(axis=0)` -> `_trace.max(a, axis=0)`,
    `a > b` -> `_trace.compare(a, b, "Gt")`."""

    def visit_Call(self, node: ast.Call) -> ast.expr:
        self.generic_visit(node)
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in _KINKED:
            traced = ast.Attribute(ast.Name("_trace", ast.Load()), func.attr, ast.Load())
            if isinstance(func.value, ast.Name) and func.value.id == "np":
                return ast.Call(traced, node.args, node.keywords)
            return ast.Call(traced, [func.value] + node.args, node.keywords)
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.expr:
        self.generic_visit(node)
        assert len(node.ops) == 1
        return ast.Call(ast.Attribute(ast.Name("_trace", ast.Load()), "compare", ast.Load()),
                        [node.left, node.comparators[0],
                         ast.Constant(type(node.ops[0]).__name__)], [])


def _load_forward(text: str, name: str, traced: bool = False):
    tree = ast.parse(text)
    if traced:
        tree = ast.fix_missing_locations(_RouteKinks().visit(tree))
    namespace: dict = {"__name__": "prop_arrays"}
    exec(compile(tree, "prop_arrays.py", "exec"), namespace)
    return namespace[name], namespace


def _run(fn, args):
    """The forward value (copies of the arguments are passed: nothing may write into them),
    or None where the program raises a floating-point error or is not finite."""
    copies = [np.array(a) if isinstance(a, np.ndarray) else a for a in args]
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            value = fn(*copies)
    except (ArithmeticError, FloatingPointError):
        return None
    for a, c in zip(args, copies):
        if isinstance(a, np.ndarray):
            assert np.array_equal(a, c), "the forward function writes into an argument"
    if not np.all(np.isfinite(value)) or np.max(np.abs(value), initial=0.0) > 1e8:
        return None
    return value


# ---------------------------------------------------------------- checks


def _imports(source: str) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append(node.module or "")
    return names


def _standalone_import(name, globals=None, locals=None, fromlist=(), level=0):
    # (numpy's C code imports its own submodules lazily, through the caller's __import__)
    if name.split(".")[0] not in ("math", "numpy"):
        raise ImportError(f"generated module imports {name!r}: it may import only math and "
                          "numpy")
    return builtins.__import__(name, globals, locals, fromlist, level)


def _load_generated(source: str) -> dict:
    """Execute the generated module with every import but math and numpy blocked."""
    restricted = dict(vars(builtins))
    restricted["__import__"] = _standalone_import
    namespace: dict = {"__name__": "prop_arrays_grad", "__builtins__": restricted}
    exec(compile(source, "prop_arrays_grad.py", "exec"), namespace)
    return namespace


def _step(x: float) -> float:
    return 2.0 ** -20 * max(1.0, abs(x))


def _finite_differences(case: Case, traced, trace: _Trace, index: int):
    """Element-wise central differences (steps h and 2h) of phi = sum(f * dout) along
    argument `index`, or None where a step lands on another piece of a kinked function or
    the program does not evaluate there; also the size of phi's terms (for the tolerance)."""
    base_args = case.args

    def phi(args):
        trace.branches = []
        out = _run(traced, args)
        if out is None:
            return None, None, None
        terms = np.asarray(out) * case.dout
        return float(np.sum(terms)), float(np.sum(np.abs(terms))), list(trace.branches)

    _, scale, base_branches = phi(base_args)
    x0 = np.asarray(base_args[index], dtype=float)
    fine, coarse = np.zeros(x0.shape), np.zeros(x0.shape)
    for pos in np.ndindex(*x0.shape):
        h = _step(float(x0[pos]))
        quotients = []
        for k in (1, 2):
            values = []
            for sign in (1, -1):
                moved = x0.copy()
                moved[pos] += sign * k * h
                args = list(base_args)
                args[index] = moved if x0.ndim else float(moved)
                value, size, branches = phi(args)
                if value is None or branches != base_branches:
                    return None
                scale = max(scale, size)
                values.append((value, float(moved[pos])))
            (fp, xp), (fm, xm) = values
            quotients.append((fp - fm) / (xp - xm))
        fine[pos], coarse[pos] = quotients
    return fine, coarse, scale


def _is_own_array(g, others) -> bool:
    return g.flags.writeable and not any(
        isinstance(o, np.ndarray) and np.shares_memory(g, o) for o in others)


def check_case(case: Case, workdir) -> None:
    """Compile one program and check its gradient; discards (`assume`) programs that do not
    evaluate at the point, and points where a difference quotient straddles a kink."""
    note(repr(case))
    forward, _ = _load_forward(case.text, case.function)
    value = _run(forward, case.args)
    assume(value is not None)
    assert np.shape(value) == case.out_shape, (np.shape(value), case.out_shape)

    try:
        compiled = compile_source(case.text, "prop_arrays.py", wrt=case.wrt)
    except adgen.AdgenError as error:
        compiled = _refused_for_an_assumed_rank(case, error)
    else:
        note(compiled.source)
        again = compile_source(case.text, "prop_arrays.py", wrt=case.wrt)
        assert again.source == compiled.source, "compiling the same text twice differs"
        assert set(_imports(compiled.source)) <= {"math", "numpy"}, _imports(compiled.source)
        compiled = _for_these_arguments(case, compiled)

    traced, traced_ns = _load_forward(case.text, case.function, traced=True)
    trace = _Trace()
    traced_ns["_trace"] = trace
    traced_value = _run(traced, case.args)
    assert np.array_equal(traced_value, value), "the traced forward function differs"

    generated = _load_generated(compiled.source)
    grad_fn = generated[f"{case.function}_grad"]
    seed_name = list(inspect.signature(grad_fn).parameters)[-1]
    frozen = [np.array(a, copy=True) for a in case.args]
    dout = np.array(case.dout, copy=True) if case.out_shape else case.dout
    result = grad_fn(*case.args, **{seed_name: dout})
    for a, f in zip(case.args, frozen):
        assert np.array_equal(a, f), "the gradient function writes into an argument"
    if case.out_shape:
        assert np.array_equal(dout, case.dout), "the gradient function writes into dout"
    if case.single:
        grads = [result]
    else:
        assert isinstance(result, tuple) and len(result) == len(case.expected_wrt), result
        grads = list(result)
    if not case.out_shape:  # a scalar output's seed defaults to 1.0, and scales the result
        default = grad_fn(*case.args)
        for g, g1 in zip(grads, [default] if case.single else default):
            expected = case.dout * np.asarray(g1)
            np.testing.assert_allclose(g, expected, rtol=1e-10, atol=1e-10 * max(
                1.0, np.max(np.abs(expected), initial=0.0)))

    params = {p.name: (i, p) for i, p in enumerate(case.params)}
    for w, g in zip(case.expected_wrt, grads):
        i, p = params[w]
        assert np.shape(g) == p.shape, f"d{w}: shape {np.shape(g)}, expected {p.shape}"
        assert np.result_type(g) == np.float64, f"d{w}: dtype {np.result_type(g)}"
        assert np.all(np.isfinite(g)), f"d{w} is not finite: {g!r}"
        if p.kind == "array":
            others = list(case.args) + [dout] + [o for o in grads if o is not g]
            assert isinstance(g, np.ndarray) and _is_own_array(g, others), \
                f"d{w} is not an array of its own (a view, read-only, or shared)"

    for w, g in zip(case.expected_wrt, grads):
        i, p = params[w]
        fd = _finite_differences(case, traced, trace, i)
        assume(fd is not None)
        fine, coarse, scale = fd
        # The truncation error of the difference quotient is about (coarse - fine) / 3: allow
        # for it where the function curves fast, and for rounding in phi's terms.
        atol = FD_ATOL * max(1.0, scale) + np.abs(coarse - fine)
        g = np.asarray(g, dtype=float)
        bad = np.abs(g - fine) > FD_RTOL * np.maximum(np.abs(g), np.abs(fine)) + atol
        assert not bad.any(), (f"d{w}: adgen\n{g!r}\ncentral differences\n{fine!r}\n"
                               f"(2h:\n{coarse!r})")

    _check_api(case, workdir, grads, value)


def _refused_for_an_assumed_rank(case: Case, error):
    """A known wrong refusal: without annotations, `x[0]` alone makes the CLI assume x is a
    vector, and a later axis of what it made from x is then out of range (AD305, located,
    with the --shapes help; the hunt at 2000 examples found it). Accepted only in that form,
    and then the module the library API compiles for these arguments is checked."""
    assert not case.annotated, error
    assert all(d.code == "AD305" and "is out of range for an operand" in d.message
               and "--shapes" in d.help for d in error.diagnostics), error
    event("refused: AD305, an axis out of range for an assumed rank (the API compiles it)")
    parsed = parse(case.text, "prop_arrays.py")
    node = parsed.scope.functions[case.function]
    values = {p.name: a for p, a in zip(case.params, case.args)}
    given = {case.function: facts.from_arguments(values, declared_types(parsed, node))}
    specialised = compile_functions(parsed, [node], case.wrt, command="adgen", facts=given)
    note(specialised.source)
    return specialised


def _for_these_arguments(case: Case, compiled):
    """Without annotations the CLI's module assumes facts inferred from the code (stated in
    its header): when the arguments satisfy them, it is the module to check; when they do
    not, its own check must refuse them (never a wrong gradient), and the module to check
    is the one the library API compiles for these arguments."""
    fn = compiled.gradients[0].function
    values = {p.name: a for p, a in zip(case.params, case.args)}
    assumed = dict(fn.facts)
    if facts.holds(values, assumed):
        return compiled
    grad_fn = _load_generated(compiled.source)[f"{case.function}_grad"]
    seed_name = list(inspect.signature(grad_fn).parameters)[-1]
    with pytest.raises(ValueError):
        grad_fn(*case.args, **{seed_name: case.dout})
    node = compiled.parsed.scope.functions[case.function]
    given = {case.function: facts.from_arguments(values, declared_types(compiled.parsed, node))}
    specialised = compile_functions(compiled.parsed, [node], case.wrt, command="adgen",
                                    facts=given)
    note(specialised.source)
    return specialised


_MODULES = itertools.count()


def _check_api(case: Case, workdir, grads, value) -> None:
    """The same program through the public API, from an imported file: `adgen.check_grad`
    passes, `adgen.vjp` agrees with the generated module, and `adgen.grad` refuses a layer."""
    name = f"prop_arrays_{next(_MODULES)}"
    path = workdir / f"{name}.py"
    path.write_text(case.text)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    f = getattr(module, case.function)
    # Compiled functions are cached by code object, and functions in different files with
    # the same body compare equal (see test_api_tells_apart_functions_with_equal_code).
    adgen.clear_cache()
    report = adgen.check_grad(f, *case.args, wrt=case.wrt, symbolic=False,
                              raise_on_failure=False)
    # check_grad allows for the rounding error of its difference quotient from the size of
    # the value, not of the terms that cancel in it: allow for those too (a zero gradient has
    # differences of ~1e-9 where the output's elements are ~10).
    allowance = 1e-7 * max(1.0, float(np.sum(np.abs(value))))
    for item in report.inputs:
        assert item.status in ("ok", "kink") or (
            item.status == "FAIL" and abs(item.analytic - item.numeric) <= allowance), \
            report.format()
    before = [np.array(a, copy=True) for a in case.args]
    vjp = adgen.vjp(f, wrt=case.wrt)(*case.args, case.dout)
    for g, v in zip(grads, [vjp] if case.single else vjp):  # in-place steps change no number
        np.testing.assert_array_equal(v, g)
    for a, b in zip(case.args, before):  # nor the caller's arrays
        np.testing.assert_array_equal(a, b)
    if case.out_shape and case.annotated:  # (unannotated, the output's rank is unknown)
        with pytest.raises(adgen.AdgenError, match="AD404"):
            adgen.grad(f, wrt=case.wrt)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("prop_arrays")


_SETTINGS = dict(deadline=None, derandomize=DERANDOMIZE,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                        HealthCheck.filter_too_much])


@settings(max_examples=examples(200), **_SETTINGS)
@given(case=cases())
def test_generated_array_gradient_matches_finite_differences(case: Case, workdir) -> None:
    check_case(case, workdir)


@settings(max_examples=examples(100), **_SETTINGS)
@given(case=cases(annotated=False))
def test_unannotated_array_gradient_matches_finite_differences(case: Case, workdir) -> None:
    """The same programs without shape annotations: shapes are decided at run time."""
    check_case(case, workdir)


def test_api_tells_apart_functions_with_equal_code(tmp_path) -> None:
    """Two files define `f` with the same body (so equal code objects) but different module
    constants and annotations: each must get its own gradient."""
    texts = {"first": "import numpy as np\n\nC = 2.0\n\n\ndef f(x: 'D'):\n"
                      "    return C * np.sum(x)\n",
             "second": "import numpy as np\n\nC = 3.0\n\n\ndef f(x: 'N D'):\n"
                       "    return C * np.sum(x)\n"}
    functions = {}
    for name, text in texts.items():
        path = tmp_path / f"equal_code_{name}.py"
        path.write_text(text)
        spec = importlib.util.spec_from_file_location(f"equal_code_{name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        functions[name] = module.f
    assert functions["first"].__code__ == functions["second"].__code__
    adgen.clear_cache()
    np.testing.assert_array_equal(adgen.grad(functions["first"])(np.ones(4)), 2.0)
    np.testing.assert_array_equal(adgen.grad(functions["second"])(np.ones((3, 4))), 3.0)


_COMPILE_IN_SUBPROCESS = """
import json, sys
from adgen.compiler import compile_source
batch = json.load(sys.stdin)
json.dump([compile_source(c["text"], "prop_arrays.py", wrt=c["wrt"]).source for c in batch],
          sys.stdout)
"""


@settings(max_examples=1, deadline=None, derandomize=DERANDOMIZE,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(batch=st.lists(cases(), min_size=20, max_size=20))
def test_generated_array_module_does_not_depend_on_hash_seed(batch: list[Case]) -> None:
    """Byte-identical output in processes with different string hashing."""
    expected = [compile_source(c.text, "prop_arrays.py", wrt=c.wrt).source for c in batch]
    payload = json.dumps([{"text": c.text, "wrt": c.wrt} for c in batch])
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run([sys.executable, "-c", _COMPILE_IN_SUBPROCESS], input=payload,
                             capture_output=True, text=True, env=env, check=False)
        assert run.returncode == 0, run.stderr
        for case, mine, theirs in zip(batch, expected, json.loads(run.stdout)):
            assert theirs == mine, f"PYTHONHASHSEED={seed} changes the output for\n{case.text}"
