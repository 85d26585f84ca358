"""The derivative-rule registry: one declaration per primitive, checked when it loads.

A rule states, for a primitive applied to operands `a, b, ...` (or `x0, x1, ...` for a
variadic primitive), how its forward value is written and the local gradient contribution of
each operand, as Python expression templates over the operands, the output `out` and the
upstream gradient `g`::

    unary("exp", "math.exp(a)", "out * g", spellings=("math.exp",), sympy="exp")

Templates are parsed into IR expressions on a rule's first use (`Rule.instance`); a template
that does not parse, names an unknown variable or function, or gives the wrong number of
gradients raises `RuleError`.  `Registry.check` does that for one rule: a rule a user declares
is checked when declared, and tests/test_rules.py checks every one of adgen's, so a broken rule
fails the test suite and never reaches a user's program.

Each rule also carries what the tests and the verifier need: a sympy counterpart of the forward
value, an input domain for sampling, and (for kinks) a branch signature.

Neither sympy nor numpy is imported here or by the rule declarations: generating code needs
neither, and importing them would triple adgen's start-up time.  A sympy counterpart is the
name of a sympy function (`sympy="exp"`, looked up on first call) or a function whose body
uses a module imported on first use (`sp = LazyModule("sympy")`, adgen/lazy.py;
`sympy=lambda a: sp.log(a, 2)`).  Templates may call the numpy functions listed in
`NUMPY_FUNCTIONS`.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import math
from typing import Callable, Optional, Sequence, Union

from adgen import ir
from adgen.shapes import VType

# The numpy functions a template may call (as `np.NAME`), listed rather than read from
# `dir(numpy)` so that loading the rules does not import numpy; tests/test_rules_arrays.py
# checks that each exists.  A rule that needs another one adds it here.
NUMPY_FUNCTIONS = frozenset({
    "abs", "arange", "asarray", "broadcast_to", "clip", "concatenate", "copy", "cos", "cosh", "exp",
    "expand_dims", "full_like", "sinh",
    "linalg.norm", "log", "max", "maximum", "mean", "min", "minimum", "ones", "ones_like",
    "ndim", "outer", "ravel", "reshape", "shape", "sign", "sin", "size", "sqrt", "square",
    "squeeze",
    "stack",
    "std", "sum", "swapaxes", "tanh", "transpose", "var", "where", "zeros", "zeros_like",
    # element-wise (adgen/rules/elementwise.py)
    "tan", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "log2", "log10",
    "log1p", "expm1", "exp2", "reciprocal", "cbrt", "rad2deg", "degrees", "deg2rad",
    "radians", "fmax", "fmin", "logaddexp", "logaddexp2", "arctan2", "hypot", "floor", "ceil",
    "trunc", "fix", "rint", "round", "around",
    # reordering, selecting, building (adgen/rules/shaping.py)
    "prod", "cumsum", "cumprod", "flip", "fliplr", "flipud", "roll", "moveaxis", "triu",
    "tril", "diag", "diagonal", "eye", "tile", "repeat", "pad", "atleast_1d", "atleast_2d",
    "atleast_3d", "take", "take_along_axis", "trace", "sort", "array", "identity",
    # linear algebra (adgen/rules/linalg.py)
    "einsum", "linalg.inv", "linalg.solve", "linalg.det", "linalg.slogdet", "linalg.cholesky",
    "linalg.eigh", "linalg.eigvalsh", "linalg.svd", "split", "array_split", "hsplit", "vsplit",
    "dsplit", "tensordot", "inner", "kron", "cross", "linalg.pinv", "diff", "rot90", "full",
    "sinc", "nan_to_num", "isfinite",
    # polynomials, convolutions, ranges (adgen/rules/sequences.py)
    "polyval", "convolve", "correlate", "linspace", "vander",
})
# Functions a template may call (they are also the only calls the emitter produces).
TEMPLATE_FUNCTIONS = frozenset(
    {f"math.{n}" for n in dir(math) if not n.startswith("_")}
    | {f"np.{n}" for n in NUMPY_FUNCTIONS}
    | {"abs", "max", "min", "pow", "round", "int", "float", "len", "slice", "_unbroadcast",
       "_argmax_mask", "_digamma", "_argmax_mask_axes", "_argmin_mask_axes", "_prod_others",
       "_unsort", "_undiag", "_untake", "_untake_along", "_cumprod_grad", "_cholesky_grad",
       "_eigh_grad", "_svd_grad", "_unsplit", "_unconcatenate", "_list_sum",
       "_argmin_mask", "_setitem", "_sinc_grad", "_pinv_grad", "_unconvolve"}
)
TEMPLATE_ATTRS = frozenset({"math.pi", "math.e", "math.tau", "math.inf", "math.nan", "np.newaxis",
                            "np.index_exp"})
TEMPLATE_METHODS = frozenset({"sum", "mean", "reshape", "copy", "max", "min", "astype",
                              "ravel", "flatten"})
TEMPLATE_FIELDS = frozenset({"T", "shape", "ndim", "size", "dtype"})


class RuleError(Exception):
    """A rule declaration is broken (raised at import, never in a user's program)."""


@dataclasses.dataclass(frozen=True)
class SympyFunction:
    """A sympy counterpart given by name (`sympy="exp"`): `sympy.exp`, looked up on first call."""

    name: str

    def __call__(self, *args):
        return getattr(importlib.import_module("sympy"), self.name)(*args)


@dataclasses.dataclass(frozen=True)
class Instance:
    """A rule at a fixed arity: slot names, forward template, one gradient template per slot."""

    slots: tuple[str, ...]
    forward: ir.Expr
    grads: tuple[ir.Expr, ...]
    forward_text: str
    grad_texts: tuple[str, ...]
    # A fused gate's sparse part (fuse.py), when `build`/`shaped` give a third item, the
    # (index, value) templates: after its last operand's gradient dx = <its template>, the
    # reverse pass adds dx[index] += value.
    scatter: Optional[tuple[ir.Expr, ir.Expr]] = None
    scatter_texts: Optional[tuple[str, str]] = None
    shared: Optional[ir.Expr] = None  # a user rule's backward call, computed once


@dataclasses.dataclass(frozen=True)
class Rule:
    """A primitive and its derivative.

    name       the primitive's id in the IR ("exp", "add", "sigmoid")
    spellings  how a user writes it: qualified callee names ("math.exp") or operator tokens ("+")
    arity      number of operands; for variadic rules the minimum, with `variadic=True`
    build      arity -> (forward template, gradient templates), as Python source text;
               a fused gate may add a third item, its sparse part (Instance.scatter)
    stem       operand name fragments -> a readable name for the result, or None
    noun       fallback name stem ("sum1", "exp2") when `stem` gives nothing usable
    sympy      the forward value as a sympy function of the operands; a string names a sympy
               function ("exp": sympy.exp), imported on first call
    domain     arity -> one (low, high) sampling interval per operand
    branch     operand values -> a tuple naming the smooth piece the point lies on, for
               primitives with kinks (abs, max, min); None for smooth primitives
    nondifferentiable
               piecewise constant (floor, round): zero gradient almost everywhere, so its
               result carries no derivative at all (it is never active)
    integer    a function of integers only (math.factorial, comb, perm): its result is an
               integer with no derivative, and an operand that carries one is refused (AD306:
               Python raises on a float there, and no gradient exists); implies
               nondifferentiable
    step       static arguments -> a reason when this use is a step or a rounding with no
               exact gradient (`.astype(bool)`: "a cast to bool is a step"); None when it is
               differentiable.  Such a use is allowed on a value that carries no derivative (a
               mask built from constants) and refused (AD305) on one that does
    """

    name: str
    spellings: tuple[str, ...]
    arity: int
    build: Callable[[int], tuple[str, Sequence[str]]]
    stem: Callable[[Sequence[Optional[str]]], Optional[str]]
    noun: str
    sympy: Union[Callable, str]
    domain: Callable[[int], tuple[tuple[float, float], ...]]
    variadic: bool = False
    branch: Optional[Callable[..., tuple]] = None
    doc: str = ""
    nondifferentiable: bool = False
    integer: bool = False
    step: Optional[Callable[[dict], Optional[str]]] = None
    elementwise: bool = True
    keywords: tuple[str, ...] = ()
    shaped: Optional[Callable[["Context"], tuple[str, Sequence[str]]]] = None
    infer: Optional[Callable[["Context"], VType]] = None
    passive: tuple[int, ...] = ()  # operands a fused gate routes the gradient around
    # Operand shapes and static arguments the array rule table (tests/test_rules_arrays.py)
    # checks the rule at: (attrs, operands), an operand a shape tuple (a float array drawn
    # from the domain; () a number), a list (an integer array) or a number (as given).
    samples: tuple = ()
    # Positional arguments that are static (constants), as (position, name): the value is
    # an attribute under that name, like a keyword (`np.tile(a, (2, 1))`: reps; position 0
    # for `np.einsum('ij,jk', a, b)`).  Positions count a method's receiver as 0.
    statics: tuple[tuple[int, str], ...] = ()
    # A function with several results (np.linalg.slogdet): the rules of its results, in
    # order; the user unpacks them (adgen/multiresults.py) and each is its own statement.
    results: tuple[str, ...] = ()
    # ... or, for np.split and its kin, one rule for every part, as many as names unpacked
    # (each part's statement gets the attributes `part` and `parts`)
    parts: Optional[str] = None
    # A rule a user declared (adgen/userrules.py): (module, function, backward, arity); its
    # templates may call `functions`, and its gradients share the one backward call
    # `shared` (named `shared` in the gradient templates).
    declared_in: Optional[tuple] = None
    functions: frozenset = frozenset()
    shared: Optional[str] = None

    def __post_init__(self) -> None:
        if isinstance(self.sympy, str):
            object.__setattr__(self, "sympy", SympyFunction(self.sympy))

    def accepts(self, n: int) -> bool:
        return n >= self.arity if self.variadic else n == self.arity

    def specialized(self, ctx: "Context") -> Instance:
        """The rule for these operand types and static arguments (`shaped` rules), or its
        plain arity instance."""
        if self.shaped is None:
            return self.instance(ctx.n)
        key = (self.name, ctx)
        cached = _SHAPED.get(key)
        if cached is None:
            cached = _SHAPED[key] = _parse_instance(self, ctx.n, *self.shaped(ctx))
        return cached

    def instance(self, n: int) -> Instance:
        key = (self.name, n)
        cached = _INSTANCES.get(key)
        if cached is None:
            if not self.accepts(n):
                raise RuleError(f"rule {self.name!r} does not take {n} operands")
            cached = _INSTANCES[key] = _instantiate(self, n)
        return cached


_INSTANCES: dict[tuple[str, int], Instance] = {}
_SHAPED: dict[tuple, Instance] = {}


@dataclasses.dataclass(frozen=True)
class Context:
    """What a shaped rule is specialized on: arity, static arguments, operand types."""

    n: int
    attrs: tuple[tuple[str, object], ...] = ()
    types: tuple[VType, ...] = ()

    def attr(self, name: str, default=None):
        return dict(self.attrs).get(name, default)


def context_of(stmt: ir.Assign) -> Context:
    return Context(len(stmt.args), stmt.attrs, stmt.types)


def instance_of(stmt: ir.Assign) -> Instance:
    """The rule instance that differentiates one staged statement."""
    return REGISTRY[stmt.prim].specialized(context_of(stmt))


def slot_names(rule_arity: int, variadic: bool) -> tuple[str, ...]:
    if variadic or rule_arity > 3:
        return tuple(f"x{i}" for i in range(rule_arity))
    return ("a", "b", "c")[:rule_arity]


def _instantiate(rule: Rule, n: int) -> Instance:
    return _parse_instance(rule, n, *rule.build(n))


def _parse_instance(rule: Rule, n: int, forward_text: str, grad_texts,
                    scatter_texts: Optional[tuple[str, str]] = None) -> Instance:
    slots = slot_names(n, rule.variadic)
    grad_texts = tuple(grad_texts)
    if len(grad_texts) != n:
        raise RuleError(f"rule {rule.name!r}: {len(grad_texts)} gradients for {n} operands")
    extra = rule.functions
    forward = parse_template(forward_text, set(slots), f"{rule.name} forward", extra)
    gradient_names = set(slots) | {"out", "g"} | ({"shared"} if rule.shared else set())
    grads = tuple(
        parse_template(t, gradient_names, f"{rule.name} gradient {i}", extra)
        for i, t in enumerate(grad_texts)
    )
    scatter = None if scatter_texts is None else tuple(
        parse_template(t, set(slots) | {"out", "g"}, f"{rule.name} scatter")
        for t in scatter_texts)
    shared = None if rule.shared is None else parse_template(
        rule.shared, set(slots) | {"out", "g"}, f"{rule.name} shared", extra)
    return Instance(slots, forward, grads, forward_text, grad_texts, scatter, scatter_texts,
                    shared)


# ---------------------------------------------------------------- template parsing

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**",
           ast.MatMult: "@", ast.FloorDiv: "//", ast.Mod: "%"}
_CMPOPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
           ast.Is: "is", ast.IsNot: "is not"}


def parse_template(text: str, names: set[str], where: str,
                   functions: frozenset = frozenset()) -> ir.Expr:
    """Parse a Python expression template into IR, allowing only `names` as variables (and
    `functions`, besides TEMPLATE_FUNCTIONS, as functions)."""
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError as exc:
        raise RuleError(f"{where}: template {text!r} does not parse: {exc}") from None
    return _convert(tree, names, where, text, functions)


def _dotted(node: ast.AST) -> Optional[str]:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _convert(node: ast.AST, names: set[str], where: str, text: str,
             functions: frozenset = frozenset()) -> ir.Expr:
    def conv(n: ast.AST) -> ir.Expr:
        return _convert(n, names, where, text, functions)

    if isinstance(node, ast.Name):
        if node.id not in names:
            raise RuleError(f"{where}: template {text!r} uses unknown name {node.id!r}")
        return ir.Name(node.id)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return ir.Num(node.value, ast.unparse(node))
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # einsum subscripts
        return ir.Lit(repr(node.value))
    if isinstance(node, ast.Constant) and node.value in (True, False, None):
        return ir.Lit(repr(node.value))
    if isinstance(node, (ast.Tuple, ast.List)):
        return ir.Tuple(tuple(conv(e) for e in node.elts), isinstance(node, ast.List))
    if isinstance(node, ast.Subscript):
        return ir.Index(conv(node.value), conv(node.slice))
    if isinstance(node, ast.Slice):
        return ir.Slice(*(None if part is None else conv(part)
                          for part in (node.lower, node.upper, node.step)))
    if isinstance(node, ast.Attribute):
        dotted = _dotted(node)
        if dotted in TEMPLATE_ATTRS:
            return ir.Attr(dotted)
        if node.attr in TEMPLATE_FIELDS and not (dotted or "").startswith(("math.", "np.")):
            return ir.Field(conv(node.value), node.attr)
        raise RuleError(f"{where}: template {text!r} uses unknown attribute {dotted!r}")
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr in TEMPLATE_METHODS \
            and not (_dotted(node.func) or "").startswith(("np.", "math.")):
        return ir.Method(conv(node.func.value), node.func.attr,
                         tuple(conv(a) for a in node.args),
                         tuple((k.arg, conv(k.value)) for k in node.keywords))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        return ir.BinOp(_BINOPS[type(node.op)], conv(node.left), conv(node.right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return ir.Neg(conv(node.operand))
    if isinstance(node, ast.Call) and all(k.arg for k in node.keywords):
        func = _dotted(node.func)
        if func not in TEMPLATE_FUNCTIONS and func not in functions:
            hint = " (the numpy functions templates may call are NUMPY_FUNCTIONS in " \
                "adgen/rules/registry.py)" if (func or "").startswith("np.") else ""
            raise RuleError(f"{where}: template {text!r} calls unknown function {func!r}{hint}")
        return ir.Call(func, tuple(conv(a) for a in node.args),
                       tuple((k.arg, conv(k.value)) for k in node.keywords))
    if isinstance(node, ast.IfExp):
        return ir.IfExp(conv(node.test), conv(node.body), conv(node.orelse))
    if isinstance(node, ast.Compare) and all(type(o) in _CMPOPS for o in node.ops):
        return ir.Compare(
            conv(node.left),
            tuple(_CMPOPS[type(o)] for o in node.ops),
            tuple(conv(c) for c in node.comparators),
        )
    raise RuleError(f"{where}: template {text!r} uses unsupported syntax {ast.dump(node)[:60]}")


def substitute(expr: ir.Expr, mapping: dict[str, ir.Expr]) -> ir.Expr:
    """Replace template variables by expressions."""
    if isinstance(expr, ir.Name):
        return mapping.get(expr.id, expr)
    return rebuild(expr, lambda e: substitute(e, mapping))


def rebuild(expr: ir.Expr, f: Callable[[ir.Expr], ir.Expr]) -> ir.Expr:
    """`expr` with `f` applied to each direct sub-expression."""
    if isinstance(expr, (ir.Name, ir.Num, ir.Attr, ir.Lit)):
        return expr
    if isinstance(expr, ir.BinOp):
        return ir.BinOp(expr.op, f(expr.left), f(expr.right))
    if isinstance(expr, ir.Neg):
        return ir.Neg(f(expr.operand))
    if isinstance(expr, ir.Call):
        return ir.Call(expr.func, tuple(f(a) for a in expr.args),
                       tuple((k, f(v)) for k, v in expr.kwargs))
    if isinstance(expr, ir.Method):
        return ir.Method(f(expr.obj), expr.name, tuple(f(a) for a in expr.args),
                         tuple((k, f(v)) for k, v in expr.kwargs))
    if isinstance(expr, ir.Field):
        return ir.Field(f(expr.obj), expr.name)
    if isinstance(expr, ir.Tuple):
        return ir.Tuple(tuple(f(e) for e in expr.items), expr.brackets)
    if isinstance(expr, ir.Index):
        return ir.Index(f(expr.obj), f(expr.item))
    if isinstance(expr, ir.Slice):
        return ir.Slice(*(None if p is None else f(p) for p in (expr.lower, expr.upper,
                                                                  expr.step)))
    if isinstance(expr, ir.IfExp):
        return ir.IfExp(f(expr.test), f(expr.body), f(expr.orelse))
    if isinstance(expr, ir.Compare):
        return ir.Compare(f(expr.left), expr.ops, tuple(f(c) for c in expr.comparators))
    raise TypeError(f"not an expression: {expr!r}")


# ---------------------------------------------------------------- the registry


class Registry:
    """All rules, looked up by primitive name or by how the user spells the call/operator."""

    def __init__(self) -> None:
        self._by_name: dict[str, Rule] = {}
        self._by_spelling: dict[str, Rule] = {}

    def add(self, rule: Rule) -> Rule:
        if rule.name in self._by_name:
            raise RuleError(f"duplicate rule {rule.name!r}")
        for spelling in rule.spellings:
            if spelling in self._by_spelling:
                raise RuleError(f"spelling {spelling!r} claimed by two rules")
            self._by_spelling[spelling] = rule
        self._by_name[rule.name] = rule
        return rule

    @staticmethod
    def check(rule: Rule) -> None:
        """Parse the rule's templates (every fixed arity, two sizes of a variadic) and check
        its domain: raises RuleError when the rule is broken.  adgen's own rules are parsed
        on first use, not at import (parsing all of them took a fifth of the command's
        start-up); tests/test_rules.py checks every one of them, so a broken rule fails CI."""
        for n in ([rule.arity, rule.arity + 1] if rule.variadic else [rule.arity]):
            rule.instance(n)
            if len(rule.domain(n)) != n:
                raise RuleError(f"rule {rule.name!r}: domain has the wrong number of intervals")

    def declare(self, rule: Rule) -> Rule:
        """Add (or replace) a rule a user declared (adgen/userrules.py): it has no
        spelling, and it is not one of adgen's rules (iteration leaves it out)."""
        old = self._by_name.get(rule.name)
        if old is not None and old.declared_in is None:
            raise RuleError(f"a declared rule may not replace adgen's rule {rule.name!r}")
        self._by_name[rule.name] = rule
        for cache in (_INSTANCES, _SHAPED):
            for key in [k for k in cache if k[0] == rule.name]:
                del cache[key]
        self.check(rule)  # a user's rule is checked when it is declared
        return rule

    def get(self, name: str) -> Optional[Rule]:
        return self._by_name.get(name)

    def __getitem__(self, name: str) -> Rule:
        return self._by_name[name]

    def __iter__(self):
        return (rule for rule in self._by_name.values() if rule.declared_in is None)

    def by_spelling(self, spelling: str) -> Optional[Rule]:
        return self._by_spelling.get(spelling)

    def spellings(self) -> list[str]:
        return sorted(self._by_spelling)


REGISTRY = Registry()
