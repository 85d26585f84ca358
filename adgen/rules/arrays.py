"""Derivative rules for numpy arrays: reductions, selection, shapes, indexing, matrix products.

Element-wise numpy functions are in adgen/rules/elementwise.py.

The arithmetic operators are the scalar rules (adgen/rules/scalar.py) applied element-wise;
when their operands broadcast, the reverse pass sums each operand's gradient back to its own
shape (reverse.py).  The rules here are spelled as numpy functions (`numpy.exp` is what
`np.exp` resolves to), as methods (`.sum`) or as attributes (`.T`); those whose gradient
depends on ranks or static arguments (`axis`, `keepdims`) are `shaped`: their templates are
built for each combination, and checked like any other template when first built.

Conventions (docs/non-differentiable.md): `np.abs'(0) = 0` (np.sign), `np.maximum`/`np.minimum`
ties go to the first argument, `np.clip` passes the gradient on the closed interval.
"""

from __future__ import annotations

import math
from typing import Optional

import itertools

from adgen import shapes
from adgen.lazy import LazyModule
from adgen.rules.elementwise import elementwise_type
from adgen.rules.registry import REGISTRY, Context, Rule, RuleError
from adgen.rules.scalar import DEFAULT_DOMAIN, POSITIVE, _fixed, _fmt
from adgen.shapes import VType, entry_type, unknown_dim

# Imported on first use only (verification and the rule tests): see registry.py.
np = LazyModule("numpy")
sp = LazyModule("sympy")



# ---------------------------------------------------------------- reductions


def _axes(ctx: Context, rank: Optional[int]) -> Optional[tuple[int, ...]]:
    axis = ctx.attr("axis")
    if axis is None:
        return None
    axes = axis if isinstance(axis, tuple) else (axis,)
    if rank is None:
        if any(a < 0 for a in axes):
            raise RuleError("negative axes need a known rank")
        return tuple(sorted(axes))
    wrong = [a for a in axes if not -rank <= a < rank]
    if wrong:  # numpy's AxisError (a number has no axis at all)
        raise RuleError(f"axis {wrong[0]} is out of range for an operand with "
                        f"{rank} ax{'is' if rank == 1 else 'es'}")
    return tuple(sorted(a % rank for a in axes))


def _reduce_type(ctx: Context) -> VType:
    (t,) = ctx.types
    keep = ctx.attr("keepdims", False)
    if (not t.is_array and t.kind != "unknown") or (ctx.attr("axis") is None and not keep):
        return shapes.FLOAT  # a full reduction is a scalar, whatever its operand
    if t.shape is None:
        return shapes.array(None)
    axes = _axes(ctx, len(t.shape))
    if axes is None:
        return shapes.array((1,) * len(t.shape)) if keep else shapes.FLOAT
    dims = [1 if i in axes else d for i, d in enumerate(t.shape)] if keep else \
        [d for i, d in enumerate(t.shape) if i not in axes]
    return shapes.array(tuple(dims)) if dims else shapes.FLOAT


def _reduce_call(func: str, ctx: Context) -> str:
    parts = ["a"]
    if ctx.attr("axis") is not None:
        parts.append(f"axis={ctx.attr('axis')!r}")
    if ctx.attr("keepdims", False):
        parts.append("keepdims=True")
    if ctx.attr("ddof", 0):
        parts.append(f"ddof={ctx.attr('ddof')!r}")
    return f"np.{func}({', '.join(parts)})"


def _spread(ctx: Context, g: str) -> str:
    """`g` (the reduced gradient) expanded back over the reduced axes and broadcast to the
    operand's shape."""
    axis = ctx.attr("axis")
    if axis is None and not ctx.attr("keepdims", False):
        # a number: an array of the operand's dtype (broadcasting a Python float would
        # make float32 gradients float64)
        return f"np.full_like(a, {g})"
    if axis is not None and not ctx.attr("keepdims", False):
        g = f"np.expand_dims({g}, {axis!r})"
    return f"np.broadcast_to({g}, np.shape(a))"


def _count(ctx: Context) -> str:
    axis = ctx.attr("axis")
    if axis is None:
        return "np.size(a)"
    axes = axis if isinstance(axis, tuple) else (axis,)
    return " * ".join(f"np.shape(a)[{a}]" for a in axes)


def _sum_shaped(ctx: Context):
    return _reduce_call("sum", ctx), [_spread(ctx, "g")]


def _mean_shaped(ctx: Context):
    return _reduce_call("mean", ctx), [_spread(ctx, f"g / ({_count(ctx)})")]


def _reduction(name, shaped, sympy, doc, aliases=(), keywords=("axis", "keepdims"),
               samples=()):
    methods = () if "." in name else (f".{name}",)
    return REGISTRY.add(Rule(
        name=f"np_{name.replace('.', '_')}", spellings=(f"numpy.{name}", *methods, *aliases),
        arity=1,
        build=lambda n: shaped(Context(1)), shaped=shaped,
        stem=_fmt(name.split(".")[-1] + "{0}"), noun=name.split(".")[-1], sympy=sympy, domain=_fixed(DEFAULT_DOMAIN), elementwise=False,
        keywords=keywords, infer=_reduce_type, doc=doc, samples=samples,
    ))


_reduction("sum", _sum_shaped, lambda a: a, "the gradient is broadcast back over the summed axes")
_reduction("mean", _mean_shaped, lambda a: a,
           "the gradient is broadcast back over the averaged axes, divided by their size")


def _expand(ctx: Context, g: str) -> str:
    """`g` with the reduced axes put back (size 1), so it broadcasts against the operand."""
    axis = ctx.attr("axis")
    if axis is not None and not ctx.attr("keepdims", False):
        return f"np.expand_dims({g}, {axis!r})"
    return g


def _centered(ctx: Context) -> str:
    axis = ctx.attr("axis")
    mean = "np.mean(a)" if axis is None else f"np.mean(a, axis={axis!r}, keepdims=True)"
    return f"(a - {mean})"


def _dof(ctx: Context) -> str:
    """The divisor of var and std: n, or n - ddof."""
    ddof = ctx.attr("ddof", 0)
    return f"({_count(ctx)})" if not ddof else f"({_count(ctx)} - {ddof!r})"


def _var_shaped(ctx: Context):
    return (_reduce_call("var", ctx),
            [f"{_expand(ctx, 'g')} * 2 * {_centered(ctx)} / {_dof(ctx)}"])


def _std_shaped(ctx: Context):
    safe = "g / np.where(out == 0, 1.0, out)"  # a constant slice: gradient 0, not nan
    return (_reduce_call("std", ctx),
            [f"{_expand(ctx, safe)} * {_centered(ctx)} / {_dof(ctx)}"])


_DDOF = tuple(((("ddof", 1),) + axis, [(3, 4, 2)]) for axis in ((), (("axis", 1),),
                                                                  (("axis", (0, 2)),)))
_reduction("var", _var_shaped, lambda a: a * 0,
           "variance: 2 * (a - mean) / (n - ddof) times the broadcast gradient",
           keywords=("axis", "keepdims", "ddof"), samples=_DDOF)
_reduction("std", _std_shaped, lambda a: a * 0,
           "standard deviation: (a - mean) / ((n - ddof) * std) times the broadcast gradient",
           keywords=("axis", "keepdims", "ddof"), samples=_DDOF)


def _extreme_shaped(func: str, arg: str):
    """max/min over one axis (or all): the gradient goes to the first extreme element, as
    np.argmax/np.argmin pick it (the tie convention of the scalar max and min)."""

    def shaped(ctx: Context):
        axis = ctx.attr("axis")
        if isinstance(axis, tuple):  # the first extreme element of each block of axes
            mask = f"_{arg}_mask_axes(a, {axis!r})"
        else:
            mask = f"_{arg}_mask(a)" if axis is None else f"_{arg}_mask(a, {axis})"
        return _reduce_call(func, ctx), [f"{mask} * {_expand(ctx, 'g')}"]

    return shaped


_EXTREME_AXES = tuple(((("axis", axes),) + keep, [(3, 4, 2)]) for axes in ((0, 2), (1, 2), (0, 1, 2))
                      for keep in ((), (("keepdims", True),)))
_reduction("max", _extreme_shaped("max", "argmax"), lambda a: a,
           "the gradient goes to the first maximal element along the axis or axes (as "
           "np.argmax)", aliases=("numpy.amax",), samples=_EXTREME_AXES)
_reduction("min", _extreme_shaped("min", "argmin"), lambda a: a,
           "the gradient goes to the first minimal element along the axis or axes (as "
           "np.argmin)", aliases=("numpy.amin",), samples=_EXTREME_AXES)


# ---------------------------------------------------------------- selection and comparison


def _clip_type(ctx: Context) -> VType:
    return elementwise_type(ctx)


REGISTRY.add(Rule(
    name="np_clip", spellings=("numpy.clip", ".clip"), arity=3,
    build=lambda n: ("np.clip(a, b, c)",
                     ["g * (b <= a) * (a <= c)", "g * (a < b)", "g * (a > c)"]),
    stem=_fmt("clip{0}"), noun="clip", sympy=lambda a, b, c: sp.Min(sp.Max(a, b), c),
    domain=_fixed((-2.0, 2.0), (-1.5, -0.5), (0.5, 1.5)), infer=_clip_type,
    branch=lambda a, b, c: (np.sign(np.subtract(a, b)), np.sign(np.subtract(a, c))),
    doc="the gradient passes where lo <= a <= hi (closed interval), else goes to the bound: "
        "a clipped loss has zero gradient exactly where the error is large",
))


def _where_type(ctx: Context) -> VType:
    return elementwise_type(Context(2, (), ctx.types[1:]))


REGISTRY.add(Rule(
    name="np_where", spellings=("numpy.where",), arity=3,
    build=lambda n: ("np.where(a, b, c)", ["0.0", "np.where(a, g, 0.0)", "np.where(a, 0.0, g)"]),
    stem=lambda f: None, noun="sel",
    sympy=lambda a, b, c: sp.Piecewise((b, sp.Ne(a, 0)), (c, True)),
    domain=_fixed((-1.0, 1.0), DEFAULT_DOMAIN, DEFAULT_DOMAIN), infer=_where_type,
    doc="the gradient goes to the branch the condition selects (its kink is in the "
        "comparison that made the condition)",
))


def _bool_type(ctx: Context) -> VType:
    t = elementwise_type(ctx)
    return VType("bool", t.shape) if t.is_array else t


_RELATION = {"<": "Lt", "<=": "Le", ">": "Gt", ">=": "Ge", "==": "Eq", "!=": "Ne"}


def _comparison(name: str, op: str) -> Rule:
    return REGISTRY.add(Rule(
        name=name, spellings=(op,), arity=2, build=lambda n: (f"a {op} b", ["0.0", "0.0"]),
        stem=lambda f: None, noun="mask",
        sympy=lambda a, b: sp.Piecewise((1, getattr(sp, _RELATION[op])(a, b)), (0, True)),
        domain=_fixed(DEFAULT_DOMAIN, DEFAULT_DOMAIN), infer=_bool_type,
        nondifferentiable=True, branch=lambda a, b: (np.sign(np.subtract(a, b)),),
        doc="a comparison: a mask, no gradient (where it flips is a kink of what uses it)",
    ))


for _name, _op in (("lt", "<"), ("le", "<="), ("gt", ">"), ("ge", ">="), ("eq", "=="),
                   ("ne", "!=")):
    _comparison(_name, _op)



# ---------------------------------------------------------------- shapes


def _dim_shaped(ctx: Context):
    return f"a.shape[{ctx.attr('axis')}]", ["0.0"]


def _dim_type(ctx: Context) -> VType:
    (t,) = ctx.types
    axis = ctx.attr("axis")
    if t.shape is not None and -len(t.shape) <= axis < len(t.shape):
        dim = t.shape[axis]
        return VType("int", (), dim if isinstance(dim, str) else None)
    return shapes.INT


REGISTRY.add(Rule(
    name="dim", spellings=(".shape[]",), arity=1, build=lambda n: ("a.shape[0]", ["0.0"]),
    shaped=_dim_shaped, stem=lambda f: None, noun="n", sympy=lambda a: a * 0,
    domain=_fixed(DEFAULT_DOMAIN), elementwise=False, infer=_dim_type, nondifferentiable=True,
    keywords=("axis",), doc="a dimension (an int): no gradient",
))
REGISTRY.add(Rule(
    name="length", spellings=("len",), arity=1, build=lambda n: ("len(a)", ["0.0"]),
    stem=_fmt("len{0}"), noun="n", sympy=lambda a: a * 0, domain=_fixed(DEFAULT_DOMAIN),
    elementwise=False, nondifferentiable=True,
    infer=lambda ctx: _dim_type(Context(1, (("axis", 0),), ctx.types)),
    doc="the first dimension (an int): no gradient",
))
REGISTRY.add(Rule(
    name="size", spellings=(".size", "numpy.size"), arity=1,
    build=lambda n: ("np.size(a)", ["0.0"]), stem=_fmt("size{0}"), noun="n",
    sympy=lambda a: a * 0 + 1, domain=_fixed(DEFAULT_DOMAIN), elementwise=False,
    nondifferentiable=True, infer=lambda ctx: shapes.INT,
    doc="the number of elements (an int: x.size / N): no gradient",
))
REGISTRY.add(Rule(
    name="ndim", spellings=(".ndim", "numpy.ndim"), arity=1,
    build=lambda n: ("np.ndim(a)", ["0.0"]), stem=_fmt("ndim{0}"), noun="n",
    sympy=lambda a: a * 0, domain=_fixed(DEFAULT_DOMAIN), elementwise=False,
    nondifferentiable=True, infer=lambda ctx: shapes.INT,
    doc="the number of axes (an int): no gradient",
))



def _shape_test_shaped(ctx: Context):
    """`x.shape == (N, M)` (operands x0 and the sizes), `a.shape != b.shape` (attr
    `shapes`: both operands arrays): Python's own tuple comparison, at run time."""
    op = "==" if ctx.attr("equal", True) else "!="
    if ctx.attr("shapes", False):
        return f"np.shape(x0) {op} np.shape(x1)", ["0.0", "0.0"]
    sizes = ", ".join(f"x{i}" for i in range(1, ctx.n))
    return (f"np.shape(x0) {op} ({sizes}{',' if ctx.n == 2 else ''})",
            ["0.0"] * ctx.n)


REGISTRY.add(Rule(
    name="shape_test", spellings=(), arity=1, variadic=True,
    build=lambda n: _shape_test_shaped(Context(n)), shaped=_shape_test_shaped,
    stem=lambda f: None, noun="same", sympy=lambda *a: a[0] * 0 + 1,
    domain=lambda n: (DEFAULT_DOMAIN,) * n, elementwise=False, nondifferentiable=True,
    keywords=("equal", "shapes"), infer=lambda ctx: shapes.INT,
    doc="a whole shape compared (an assert's test): no gradient",
))

def _reshape_build(n: int):
    xs = [f"x{i}" for i in range(n)]
    return f"x0.reshape({', '.join(xs[1:])})", ["g.reshape(np.shape(x0))"] + ["0.0"] * (n - 1)


def _reshape_type(ctx: Context) -> VType:
    dims = []
    for i, t in enumerate(ctx.types[1:]):
        dims.append(t.dim if t.kind == "int" and t.dim is not None else None)
    shape = ctx.types[0].shape if ctx.types else None
    if shape is not None and len(shape) == len(dims) and dims.count(None) == 1 and all(
            d is None or d == s for d, s in zip(dims, shape)):
        # x.reshape(N, -1) of an (N, D) x: the same total size, so the -1 is D
        dims = list(shape)
    return shapes.array(tuple(unknown_dim() if d is None else d for d in dims))


REGISTRY.add(Rule(
    name="reshape", spellings=(".reshape",), arity=2, variadic=True, build=_reshape_build,
    stem=lambda f: None, noun="view", sympy=lambda *a: a[0], elementwise=False,
    domain=lambda n: (DEFAULT_DOMAIN,) * n, infer=_reshape_type,
    doc="the gradient is reshaped back to the operand's shape (sizes as separate arguments)",
))
_FLOAT64 = ("float", "float64", "double", "float_")


def _astype_step(attrs: dict) -> Optional[str]:
    """Why `.astype(dtype)` has no exact gradient; None for a float64 copy."""
    dtype = attrs.get("dtype", "float")
    if dtype in _FLOAT64:
        return None
    shown = dtype if isinstance(dtype, str) else repr(dtype)
    if dtype_rounds(dtype):
        return f"a cast to {shown} rounds the values (the gradient would not be exact)"
    if isinstance(dtype, str) and dtype.lstrip("u").startswith(("int", "bool", "byte", "short",
                                                                  "long", "intc", "intp")):
        return f"a cast to {shown} is a step with no gradient"
    return f"adgen differentiates a float64 copy (.astype(float)), not a cast to {shown}"


def dtype_rounds(dtype) -> bool:
    """A narrower float type (float32, float16, half, single)."""
    return isinstance(dtype, str) and dtype.startswith(("float", "half", "single"))


def _astype_shaped(ctx: Context):
    """`.astype(float)` / `.astype(np.float64)`: a float64 copy, the gradient passes through.
    Another dtype (`.astype(bool)` of a mask, `.astype(int)` of indices) is computed as
    written when nothing differentiated flows into it; on a value that carries a derivative
    it is refused after analysis (Rule.step): an integer or bool cast is a step, a narrower
    float rounds the values."""
    dtype = ctx.attr("dtype")
    if _astype_step({"dtype": dtype}) is None:
        return "a.astype('float64')", ["g"]
    if not isinstance(dtype, str) or not dtype.isidentifier():
        raise RuleError(f".astype({dtype!r}): adgen knows numpy's dtypes by name, such as "
                        "float, bool, int or np.int64")
    return f"a.astype({dtype!r})", ["0.0"]


REGISTRY.add(Rule(
    name="astype", spellings=(".astype",), arity=1,
    build=lambda n: _astype_shaped(Context(1, (("dtype", "float"),))), shaped=_astype_shaped,
    stem=lambda f: None, noun="copy", sympy=lambda a: a, elementwise=False,
    domain=_fixed(DEFAULT_DOMAIN), keywords=("dtype",), statics=((1, "dtype"),),
    infer=lambda ctx: shapes.array(ctx.types[0].shape) if ctx.types and
    ctx.types[0] is not None and ctx.types[0].is_array else shapes.FLOAT,
    step=_astype_step,
    doc=".astype(float) or .astype(np.float64): a float64 copy, the gradient passes through; "
        "another dtype (.astype(bool) of a mask) only where no gradient flows",
    samples=(((("dtype", "float"),), [(3, 4)]), ((("dtype", "float64"),), [(5,)])),
))
for _name, _spelling, _forward in (("np_copy", "numpy.copy", "np.copy(a)"),
                                   ("copy_method", ".copy", "a.copy()")):
    REGISTRY.add(Rule(
        name=_name, spellings=(_spelling,), arity=1,
        build=lambda n, f=_forward: (f, ["g"]), stem=lambda f: None, noun="copy",
        sympy=lambda a: a, elementwise=False, domain=_fixed(DEFAULT_DOMAIN),
        infer=lambda ctx: ctx.types[0] if ctx.types else shapes.UNKNOWN,
        doc="a new array with the same values (memory of its own): the gradient passes "
            "through",
    ))
for _method in ("ravel", "flatten"):
    REGISTRY.add(Rule(
        name=_method, spellings=(f".{_method}",), arity=1,
        build=lambda n, m=_method: (f"a.{m}()", ["g.reshape(np.shape(a))"]),
        stem=lambda f: None, noun="flat", sympy=lambda a: a, elementwise=False,
        domain=_fixed(DEFAULT_DOMAIN),
        infer=lambda ctx: shapes.array((unknown_dim(),)),
        doc="the gradient is reshaped back to the operand's shape",
    ))


# ---------------------------------------------------------------- indexing


def _index_text(spec: tuple) -> str:
    """The index of a getitem statement as template text over its operand slots."""
    def part(p):
        if p is None:
            return ""
        return str(p[1]) if p[0] == "const" else f"x{p[1]}"

    items = []
    for entry in spec:
        if entry[0] == "slice":
            lower, upper, step = (part(p) for p in entry[1:])
            items.append(f"{lower}:{upper}" + (f":{step}" if step else ""))
        elif entry[0] == "newaxis":
            items.append("np.newaxis")
        else:
            items.append(part(entry))
    return ", ".join(items)


def _getitem_shaped(ctx: Context):
    spec = ctx.attr("index")
    if spec is None:
        raise RuleError("getitem needs an index")
    return f"x0[{_index_text(spec)}]", ["g"] + ["0.0"] * (ctx.n - 1)


def _bound(part, index_types):
    """A slice's bound for shapes.slice_width: None (absent), a `Linear` (a constant, or an
    int that is a size, `H = x.shape[1]`, `2 * H`), or False (anything else)."""
    if part is None:
        return None
    if part[0] == "const":
        return {"": part[1]} if part[1] else {}
    t = index_types[part[1] - 1]
    if t.kind == "int" and t.dim is not None:
        size = shapes.linear(t.dim)
        return False if size is None else size
    return False


def _getitem_type(ctx: Context) -> VType:
    spec, (t, *index_types) = ctx.attr("index"), ctx.types
    if t.kind == "list":  # hs[k], hs[-1], hs[1:] (runlists.py checks the index)
        if spec[0][0] == "slice":
            return t if t.shape is None else VType("list", (unknown_dim(),) + t.shape[1:])
        return entry_type(t) or shapes.UNKNOWN
    if t.shape is None:
        return shapes.array(None)
    dims, axis, fancy = [], 0, []
    for entry in spec:
        kind = entry[0]
        if kind == "newaxis":
            dims.append(1)
            continue
        if axis >= len(t.shape):
            return shapes.array(None)
        if kind == "slice":
            full = all(p is None for p in entry[1:])
            dims.append(t.shape[axis] if full else shapes.slice_width(
                t.shape[axis], *(_bound(p, index_types) for p in entry[1:])))
        elif kind == "arg" and index_types[entry[1] - 1].kind == "unknown":
            return shapes.array(None)  # an int or an integer array: not known here
        elif kind == "arg" and index_types[entry[1] - 1].is_array:
            it = index_types[entry[1] - 1]
            if it.kind == "bool" or it.shape is None:
                return shapes.array(None)
            fancy.append((len(dims), it.shape))
        axis += 1
    dims += list(t.shape[axis:])
    if fancy:
        positions = [p for p, _ in fancy]
        if positions != list(range(positions[0], positions[0] + len(positions))) and \
                len(set(positions)) != 1:
            return shapes.array(None)
        joint = shapes.broadcast(*(s for _, s in fancy))
        if joint is None:
            return shapes.array(None)
        dims[positions[0]:positions[0]] = list(joint)
    if t.kind in ("intarray", "bool"):  # labels[t]: still integers (or booleans)
        return VType(t.kind, tuple(dims)) if dims else \
            (shapes.INT if t.kind == "intarray" else VType("bool", ()))
    return shapes.array(tuple(dims)) if dims else shapes.FLOAT


def _getitem_build(n: int):
    index = ", ".join(f"x{i}" for i in range(1, n)) or "0"
    return f"x0[{index}]", ["g"] + ["0.0"] * (n - 1)


REGISTRY.add(Rule(
    name="getitem", spellings=("[]",), arity=1, variadic=True, build=_getitem_build,
    shaped=_getitem_shaped, stem=lambda f: None, noun="part", sympy=lambda *a: a[0],
    domain=lambda n: (DEFAULT_DOMAIN,) * n, elementwise=False, infer=_getitem_type,
    doc="indexing: the gradient is scattered back, dx[index] += g for slices and ints, "
        "np.add.at(dx, index, g) for integer arrays (repeated indices add up), += where "
        "an np.arange index makes the positions distinct",
))


def _setitem_shaped(ctx: Context):
    """`x0` with `x0[index] = x1`: written out by the emitter as a copy and an assignment; the
    template (a helper call) is what verification evaluates."""
    spec = ctx.attr("index")
    text = _index_text(spec)
    value = f"g[{text}]"
    return (f"_setitem(x0, x1, np.index_exp[{text}])",
            ["g", value] + ["0.0"] * (ctx.n - 2))


def _setitem_build(n: int):
    index = ", ".join(f"x{i}" for i in range(2, n)) or "0"
    return (f"_setitem(x0, x1, np.index_exp[{index}])",
            ["g", f"g[{index}]"] + ["0.0"] * (n - 2))


REGISTRY.add(Rule(
    name="setitem", spellings=("[]=",), arity=2, variadic=True, build=_setitem_build,
    shaped=_setitem_shaped, stem=lambda f: None, noun="upd", sympy=lambda *a: a[0],
    domain=lambda n: (DEFAULT_DOMAIN,) * n, elementwise=False,
    infer=lambda ctx: ctx.types[0], doc="x[index] = v on a copy of x: x's gradient is the "
    "upstream gradient with the assigned positions zeroed, v's is the upstream gradient "
    "there (summed to v's shape)",
))


def _arange_type(ctx: Context) -> VType:
    if ctx.n == 1 and ctx.types and ctx.types[0].kind == "int" and ctx.types[0].dim:
        return VType("intarray", (ctx.types[0].dim,))
    return VType("intarray", (unknown_dim(),))


def _arange_build(n: int):
    xs = ", ".join(f"x{i}" for i in range(n))
    return f"np.arange({xs})", ["0.0"] * n


REGISTRY.add(Rule(
    name="np_arange", spellings=("numpy.arange", "range"), arity=1, variadic=True,
    build=_arange_build,
    stem=lambda f: None, noun="rows", sympy=lambda *a: a[0], elementwise=False,
    domain=lambda n: (DEFAULT_DOMAIN,) * n, infer=_arange_type, nondifferentiable=True,
    doc="integers (indices): no gradient; `range(N)` as a value (probs[range(N), y]) is "
        "np.arange(N)",
))


def _norm_kind(ctx: Context):
    """Which norm np.linalg.norm(a, ord, axis) computes: ("vector", ord) or ("matrix", ord),
    refusing those it has no exact gradient for here (a RuleError, located by the caller)."""
    ord_, axis = ctx.attr("ord"), ctx.attr("axis")
    t = ctx.types[0] if ctx.types else None
    rank = t.rank if t is not None else None
    if isinstance(axis, tuple) and len(axis) == 2:
        matrix = True
    elif isinstance(axis, tuple) and len(axis) != 1:
        raise RuleError("np.linalg.norm takes an axis or a pair of axes")
    elif axis is not None:
        matrix = False
    elif ord_ is None:
        return ("vector", None)  # the 2-norm of all elements (Frobenius for a matrix)
    elif rank is None:
        raise RuleError("np.linalg.norm with ord and no axis needs an operand of known rank "
                        "(annotate it)")
    else:
        matrix = rank == 2
        if rank not in (1, 2):
            raise RuleError("np.linalg.norm with ord and no axis takes a vector or a matrix")
    if matrix:
        if ord_ in (None, "fro"):
            return ("matrix", "fro")
        raise RuleError(f"np.linalg.norm of a matrix with ord={ord_!r} is not supported: "
                        "ord='fro' (the default) is")
    if ord_ in (None, 2):
        return ("vector", None)
    if ord_ == 1 or ord_ == math.inf:
        return ("vector", ord_)
    raise RuleError(f"np.linalg.norm of a vector with ord={ord_!r} is not supported: ord 1, "
                    "2 (the default) and np.inf are")


def _norm_call(ctx: Context) -> str:
    parts = ["a"]
    ord_ = ctx.attr("ord")
    if ord_ is not None:
        parts.append("ord=" + ("math.inf" if ord_ == math.inf else repr(ord_)))
    if ctx.attr("axis") is not None:
        parts.append(f"axis={ctx.attr('axis')!r}")
    if ctx.attr("keepdims", False):
        parts.append("keepdims=True")
    return f"np.linalg.norm({', '.join(parts)})"


def _norm_shaped(ctx: Context):
    """The 2-norm (Frobenius over all elements or a pair of axes, or along an axis):
    gradient a / norm times the broadcast gradient, and 0 where the norm is 0 (as for
    math.hypot at the origin).  ord=1: sign(a) times it (0 at 0, as for abs); ord=inf: to
    the first element of largest magnitude (as for max), with its sign."""
    _, ord_ = _norm_kind(ctx)
    call = _norm_call(ctx)
    if ord_ == 1:
        return call, [f"np.sign(a) * {_expand(ctx, 'g')}"]
    if ord_ == math.inf:
        axis = ctx.attr("axis")
        axis = axis[0] if isinstance(axis, tuple) else axis
        mask = "_argmax_mask(np.abs(a))" if axis is None else \
            f"_argmax_mask(np.abs(a), {axis})"
        return call, [f"np.sign(a) * {mask} * {_expand(ctx, 'g')}"]
    safe = _expand(ctx, "g / np.where(out == 0, 1.0, out)")
    return call, [f"a * {safe}"]


REGISTRY.add(Rule(
    name="np_linalg_norm", spellings=("numpy.linalg.norm",), arity=1,
    build=lambda n: _norm_shaped(Context(1)), shaped=_norm_shaped, stem=_fmt("norm{0}"),
    noun="norm", sympy=lambda a: sp.Abs(a), domain=_fixed(DEFAULT_DOMAIN), elementwise=False,
    keywords=("ord", "axis", "keepdims"), statics=((1, "ord"), (2, "axis")),
    infer=_reduce_type,
    doc="2-norm (ord None or 2; 'fro' for a matrix): a / norm times the gradient, 0 where the "
        "norm is 0; vector ord=1: sign(a) times it; vector ord=np.inf: to the first element "
        "of largest magnitude, with its sign",
    samples=tuple(((("ord", o),) + extra, [shape]) for o, extra, shape in (
        (1, (), (5,)), (1, (("axis", 1),), (3, 4)), (1, (("axis", 0), ("keepdims", True)),
                                                     (3, 4)),
        (math.inf, (), (5,)), (math.inf, (("axis", 1),), (3, 4)),
        (math.inf, (("axis", -1), ("keepdims", True)), (2, 3, 4)),
        (2, (), (5,)), (2, (("axis", 0),), (3, 4)), ("fro", (), (3, 4)),
        ("fro", (("axis", (1, 2)),), (2, 3, 4)), (None, (("axis", (0, 2)),), (2, 3, 4)))),
))


def _softmax_shaped(ctx: Context):
    k = ctx.attr("axis", -1)
    return "a / b", ["0.0", "0.0", f"out * (g - (g * out).sum(axis={k}, keepdims=True))"]


REGISTRY.add(Rule(
    name="softmax_div", spellings=(), arity=3,
    build=lambda n: _softmax_shaped(Context(3, (("axis", 1),))), shaped=_softmax_shaped,
    stem=lambda f: None, noun="probs", sympy=lambda a, b, c: a / b,
    domain=_fixed(POSITIVE, POSITIVE, DEFAULT_DOMAIN), elementwise=False, passive=(0, 1),
    infer=lambda ctx: elementwise_type(Context(2, (), ctx.types[:2])),
    doc="softmax gate (found by adgen/fuse.py): P = exp(X) / sum(exp(X)) gets the local "
        "gradient P * (g - sum(g * P)) straight to X (or to A when X = A - max A)",
))

REGISTRY.add(Rule(
    name="sigmoid_div", spellings=(), arity=3,
    build=lambda n: ("a / b", ["0.0", "0.0", "(1 - out) * out * g"]),
    stem=lambda f: None, noun="sig", sympy=lambda a, b, c: a / b,
    domain=_fixed(POSITIVE, POSITIVE, DEFAULT_DOMAIN), elementwise=False, passive=(0, 1),
    infer=lambda ctx: elementwise_type(Context(2, (), ctx.types[:2])),
    doc="sigmoid gate written over statements (found by adgen/fuse.py): s = 1 / (1 + e), "
        "e = exp(-z) gets (1 - s) * s * g straight to z, as the one-line form does (no nan "
        "where exp(-z) overflows)",
))

# The other fused gates (adgen/fuse.py).  Their operands are the forward values the
# gradient reads, then the operand the gradient goes to (last); every other operand is
# passive: the gate's gradient goes around the statements that computed it.


def _logsumexp_shaped(ctx: Context):
    axis, keep = ctx.attr("axis"), ctx.attr("keepdims", False)
    if axis is None or keep:
        return "np.log(a)", ["0.0", "0.0", "b / a * g"]
    return "np.log(a)", ["0.0", "0.0",
                         f"b / np.expand_dims(a, {axis!r}) * np.expand_dims(g, {axis!r})"]


REGISTRY.add(Rule(
    name="logsumexp", spellings=(), arity=3,
    build=lambda n: _logsumexp_shaped(Context(3)), shaped=_logsumexp_shaped,
    stem=lambda f: None, noun="lse", sympy=lambda s, e, x: sp.log(s),
    domain=_fixed(POSITIVE, POSITIVE, DEFAULT_DOMAIN), elementwise=False, passive=(0, 1),
    infer=lambda ctx: ctx.types[0],
    doc="logsumexp gate (adgen/fuse.py): L = log(sum(exp(X))) gets the local gradient "
        "exp(X) / sum(exp(X)) * g straight to X",
))
REGISTRY.add(Rule(
    name="logsumexp_max", spellings=(), arity=5,
    build=lambda n: ("x0 + x1", ["0.0"] * 4 + ["x2 / x3 * g"]),
    stem=lambda f: None, noun="lse", sympy=lambda m, l, e, s, a: m + l,
    domain=_fixed(*[DEFAULT_DOMAIN] * 5), elementwise=False, passive=(0, 1, 2, 3),
    infer=lambda ctx: elementwise_type(Context(2, (), ctx.types[:2])),
    doc="logsumexp gate with the max shift (adgen/fuse.py): m + log(sum(exp(A - m))) for "
        "m = max(A) gets exp(A - m) / sum(exp(A - m)) * g straight to A; the max's own "
        "gradient is exactly zero, so it is skipped (no argmax mask)",
))


def _log_softmax_shaped(ctx: Context):
    k = ctx.attr("axis", -1)
    return "x0 - x1", ["0.0"] * 4 + [f"g - x2 / x3 * g.sum(axis={k}, keepdims=True)"]


REGISTRY.add(Rule(
    name="log_softmax", spellings=(), arity=5,
    build=lambda n: _log_softmax_shaped(Context(5, (("axis", 1),))), shaped=_log_softmax_shaped,
    stem=lambda f: None, noun="logp", sympy=lambda x, l, e, s, a: x - l,
    domain=_fixed(*[DEFAULT_DOMAIN] * 5), elementwise=False, passive=(0, 1, 2, 3),
    infer=lambda ctx: ctx.types[0],
    doc="log-softmax gate (adgen/fuse.py): Y = X - log(sum(exp(X))) gets g - exp(X) / "
        "sum(exp(X)) * sum(g) straight to X (or to A when X = A - max A)",
))

# Cross-entropy picks: `P[rows, y]` with rows = np.arange(N) picks one entry per row, so
# the (row, label) pairs are distinct and the sparse part can be a plain `+=` at that index
# (np.add.at is only needed where an index repeats).  With `reduce`, the gate is the sum or
# the mean of the picks: its upstream gradient is one number, shared by every row.
_REDUCED = {None: "{}", "sum": "np.sum({})", "mean": "np.mean({})"}


def _pick_shaped(picked: str, probs: str, index: str, n: str, last: int):
    """The templates of a pick gate: `picked` the forward template of the pick itself,
    `probs` the softmax, `index` (rows, y), `n` the slot of N, `last` the slot of X."""
    def shaped(ctx: Context):
        reduce = ctx.attr("reduce")
        forward = picked if reduce is None else _REDUCED[reduce].format("x0")
        g = {None: "g[:, np.newaxis]", "sum": "g", "mean": f"g / {n}"}[reduce]
        value = f"g / {n}" if reduce == "mean" else "g"
        return forward, ["0.0"] * last + [f"-{g} * {probs}"], (index, value)
    return shaped


def _pick_rule(name, picked, probs, index, n, last, doc):
    shaped = _pick_shaped(picked, probs, index, n, last)
    REGISTRY.add(Rule(
        name=name, spellings=(), arity=last + 1, build=lambda k: shaped(Context(k)),
        shaped=shaped, stem=lambda f: None, noun="logp", sympy=lambda *a: a[0],
        domain=_fixed(*[POSITIVE] * (last + 1)), elementwise=False,
        passive=tuple(range(last)), infer=lambda ctx: ctx.types[0], doc=doc,
    ))


# operands: the statement's own operand, P, rows, y, N, X
_pick_rule("softmax_log_pick", "np.log(x0)", "x1", "(x2, x3)", "x4", 5,
           "log of the label's softmax probability, log(P[rows, y]) with rows = arange(N) "
           "(adgen/fuse.py): dX = -P * g[:, newaxis], then dX[rows, y] += g; summed or "
           "averaged over the rows (`reduce`), -P * g (g / N) and += g (g / N)")
# operands: the statement's own operand, rows, y, E, S, N, X
_pick_rule("log_softmax_pick", "x0[x1, x2]", "(x3 / x4)", "(x1, x2)", "x5", 6,
           "the label's log-softmax, Y[rows, y] with rows = arange(N) (adgen/fuse.py): "
           "dX = -exp(X) / sum(exp(X)) * g[:, newaxis], then dX[rows, y] += g; summed or "
           "averaged as softmax_log_pick")


# ---------------------------------------------------------------- joining and reshaping


def _joined_type(ctx: Context) -> VType:
    return shapes.array(None)


def _same_dims(dims) -> "shapes.Dim":
    """One axis of operands joined together: their common dimension, or (where they differ,
    as symbols that may be equal at run time) a dimension equal to no other."""
    found = set(dims)
    if len(found) == 1:
        return found.pop()
    shapes.assume_equal(*found)  # (while inferring: np.stack needs them equal)
    return shapes.unknown_dim()


def _stack_type(ctx: Context) -> VType:
    """np.stack of operands of one known rank: their shape with the count inserted at the
    axis; unknown otherwise."""
    ranks = {t.rank for t in ctx.types}
    if len(ranks) != 1 or None in ranks or any(
            t.shape is None and t.rank for t in ctx.types):
        return shapes.array(None)
    rank = ranks.pop()
    axis = ctx.attr("axis", 0)
    axis = axis + rank + 1 if axis < 0 else axis
    if not 0 <= axis <= rank:
        return shapes.array(None)  # (the rule says why)
    dims = [_same_dims(t.shape[i] for t in ctx.types) for i in range(rank)]
    return shapes.array(tuple(dims[:axis]) + (ctx.n,) + tuple(dims[axis:]))


def _concatenate_type(axis_for_rank=None):
    """np.concatenate (or hstack, vstack: the axis from the rank) of operands of one known
    rank: their shape, the joined axis the sum of theirs (a number when they are numbers,
    k times a symbol when they are all that symbol, else a dimension equal to no other);
    unknown otherwise."""
    def infer(ctx: Context) -> VType:
        ranks = {t.rank for t in ctx.types}
        if len(ranks) != 1 or None in ranks or 0 in ranks or \
                any(t.shape is None for t in ctx.types):
            return shapes.array(None)
        rank = ranks.pop()
        axis = ctx.attr("axis", 0) if axis_for_rank is None else axis_for_rank(rank)
        if axis is None:
            return shapes.array(None)
        axis = axis + rank if axis < 0 else axis
        if not 0 <= axis < rank:
            return shapes.array(None)
        joined = [t.shape[axis] for t in ctx.types]
        if all(isinstance(d, int) for d in joined):
            total = sum(joined)
        elif len(set(joined)) == 1 and shapes.multiple_of(joined[0]) is None and \
                not joined[0].startswith("_u"):
            total = f"{len(joined)}*{joined[0]}"  # [x, np.tanh(x)]: "2*D", as "4*H" is
        else:
            total = shapes.unknown_dim()
        return shapes.array(tuple(total if i == axis else _same_dims(t.shape[i] for t in
                                                                     ctx.types)
                                  for i in range(rank)))
    return infer


def _positive_axis(ctx: Context, rank_plus: int = 0) -> int:
    axis = ctx.attr("axis", 0)
    if axis < 0:
        ranks = {t.rank for t in ctx.types}
        if len(ranks) != 1 or None in ranks:
            raise RuleError("a negative axis needs operands of known rank")
        axis += ranks.pop() + rank_plus
    return axis


def _concatenate_shaped(ctx: Context):
    """np.concatenate([x0, x1, ...], axis=k): each operand's gradient is its slice of g."""
    k = _positive_axis(ctx)
    sizes = [f"np.shape(x{i})[{k}]" for i in range(ctx.n)]
    grads, start = [], ""
    for i in range(ctx.n):
        stop = " + ".join(sizes[:i + 1])
        grads.append(f"g[{':, ' * k}{start}:{stop}]")
        start = stop
    items = ", ".join(f"x{i}" for i in range(ctx.n))
    return f"np.concatenate(({items}), axis={k})", grads


def _stack_shaped(ctx: Context):
    """np.stack([x0, x1, ...], axis=k): each operand's gradient is g at its position."""
    k = _positive_axis(ctx, rank_plus=1)
    items = ", ".join(f"x{i}" for i in range(ctx.n))
    return f"np.stack(({items}), axis={k})", [f"g[{':, ' * k}{i}]" for i in range(ctx.n)]


def _rank_joined(axis_for_rank):
    """hstack / vstack: a concatenation whose axis depends on the operands' rank."""
    def shaped(ctx: Context):
        ranks = {t.rank for t in ctx.types}
        if len(ranks) != 1 or None in ranks or 0 in ranks:
            raise RuleError("np.hstack/np.vstack need operands of one known rank (>= 1)")
        axis = axis_for_rank(ranks.pop())
        if axis is None:
            raise RuleError("np.vstack of 1-D arrays is np.stack(..., axis=0)")
        return _concatenate_shaped(Context(ctx.n, (("axis", axis),), ctx.types))
    return shaped


def _joiner(name, shaped, build_axis=0, infer=_joined_type):
    return REGISTRY.add(Rule(
        name=f"np_{name}", spellings=(f"numpy.{name}",), arity=1, variadic=True,
        build=lambda n: shaped(Context(n, (("axis", build_axis),),
                                       (shapes.array(("A", "B")),) * n)),
        shaped=shaped, stem=lambda f: None, noun=name[:5], sympy=lambda *a: a[0],
        domain=lambda n: (DEFAULT_DOMAIN,) * n, elementwise=False, keywords=("axis",),
        infer=infer,
        doc=f"np.{name}([a, b, ...]): each operand's gradient is its part of the gradient",
    ))


def _column_stacked(ctx: Context):
    """np.column_stack: 1-D operands stacked as the columns of a matrix (np.stack along
    axis 1), 2-D ones concatenated along axis 1."""
    ranks = {t.rank for t in ctx.types}
    if len(ranks) != 1 or None in ranks or 0 in ranks:
        raise RuleError("np.column_stack needs operands of one known rank (>= 1)")
    if ranks.pop() == 1:
        return _stack_shaped(Context(ctx.n, (("axis", 1),), ctx.types))
    return _concatenate_shaped(Context(ctx.n, (("axis", 1),), ctx.types))


def _column_stack_type(ctx: Context) -> VType:
    ranks = {t.rank for t in ctx.types}
    if ranks == {1}:
        return _stack_type(Context(ctx.n, (("axis", 1),), ctx.types))
    return _concatenate_type(lambda rank: 1)(ctx)


_joiner("concatenate", _concatenate_shaped, infer=_concatenate_type())
_joiner("stack", _stack_shaped, infer=_stack_type)
_joiner("hstack", _rank_joined(lambda rank: 0 if rank == 1 else 1),
        infer=_concatenate_type(lambda rank: 0 if rank == 1 else 1))
_joiner("vstack", _rank_joined(lambda rank: 0 if rank >= 2 else None),
        infer=_concatenate_type(lambda rank: 0 if rank >= 2 else None))
_joiner("column_stack", _column_stacked, infer=_column_stack_type)

REGISTRY.add(Rule(
    name="np_expand_dims", spellings=("numpy.expand_dims",), arity=2,
    build=lambda n: ("np.expand_dims(a, b)", ["g.reshape(np.shape(a))", "0.0"]),
    stem=lambda f: None, noun="view", sympy=lambda a, b: a, elementwise=False,
    domain=_fixed(DEFAULT_DOMAIN, DEFAULT_DOMAIN), infer=lambda ctx: shapes.array(None),
    doc="the gradient is reshaped back to the operand's shape",
))


def _squeeze_shaped(ctx: Context):
    axis = ctx.attr("axis")
    call = "np.squeeze(a)" if axis is None else f"np.squeeze(a, axis={axis!r})"
    return call, ["np.reshape(g, np.shape(a))"]  # (g may be a number: a 0-d result's seed)


def _squeeze_type(ctx: Context) -> VType:
    """np.squeeze of a number is a 0-d array (`cost = np.squeeze(cost)` ending a loss: a
    scalar output, as JAX takes one); of an array, an array of a rank the sizes decide."""
    t = ctx.types[0] if ctx.types else None
    if t is not None and t.kind in ("float", "int"):
        return shapes.array(())
    return shapes.array(None)


REGISTRY.add(Rule(
    name="np_squeeze", spellings=("numpy.squeeze", ".squeeze"), arity=1,
    build=lambda n: ("np.squeeze(a)", ["np.reshape(g, np.shape(a))"]),
    shaped=_squeeze_shaped,
    stem=lambda f: None, noun="view", sympy=lambda a: a, elementwise=False,
    keywords=("axis",), domain=_fixed(DEFAULT_DOMAIN), infer=_squeeze_type,
    doc="the gradient is reshaped back to the operand's shape",
))
REGISTRY.add(Rule(
    name="np_outer", spellings=("numpy.outer",), arity=2,
    build=lambda n: ("np.outer(a, b)", ["(g @ np.ravel(b)).reshape(np.shape(a))",
                                        "(np.ravel(a) @ g).reshape(np.shape(b))"]),
    stem=_fmt("{0}o{1}"), noun="outer", sympy=lambda a, b: a * b, elementwise=False,
    domain=_fixed(DEFAULT_DOMAIN, DEFAULT_DOMAIN), infer=lambda ctx: shapes.array(None),
    doc="outer product: da = g @ b, db = a @ g (operands flattened, as np.outer does)",
))
def _filled(func: str):
    def build(n: int):
        dims = ", ".join(f"x{i}" for i in range(n))
        return f"np.{func}(({dims}{',' if n == 1 else ''}))", ["0.0"] * n
    return build


def _filled_type(ctx: Context) -> VType:
    return shapes.array(tuple(t.dim if t.kind == "int" and t.dim else unknown_dim()
                              for t in ctx.types))


for _filler in ("zeros", "ones"):
    REGISTRY.add(Rule(
        name=f"np_{_filler}", spellings=(f"numpy.{_filler}",), arity=1, variadic=True,
        build=_filled(_filler), stem=lambda f: None, noun=_filler, sympy=lambda *a: a[0] * 0,
        elementwise=False, domain=lambda n: (DEFAULT_DOMAIN,) * n, infer=_filled_type,
        nondifferentiable=True, doc="a constant array of the given shape: no gradient",
    ))

def _filled_as(func: str):
    def build(n: int):
        dims = ", ".join(f"x{i}" for i in range(n - 1))
        return (f"np.{func}(({dims}{',' if n == 2 else ''}), dtype=x{n - 1}.dtype)",
                ["0.0"] * n)
    return build


for _filler in ("zeros", "ones"):
    # np.zeros(D, dtype=x.dtype) (CS231n's running statistics): the last operand gives
    # the dtype (Stager.stage_dtyped_filler)
    REGISTRY.add(Rule(
        name=f"np_{_filler}_as", spellings=(), arity=2, variadic=True,
        build=_filled_as(_filler), stem=lambda f: None, noun=_filler,
        sympy=lambda *a: a[0] * 0, elementwise=False,
        domain=lambda n: (DEFAULT_DOMAIN,) * n,
        infer=lambda ctx: _filled_type(Context(ctx.n - 1, ctx.attrs, ctx.types[:-1])),
        nondifferentiable=True, doc="a constant array of the given shape and of an array's "
        "dtype: no gradient",
    ))

for _like in ("zeros_like", "ones_like"):
    REGISTRY.add(Rule(
        name=f"np_{_like}", spellings=(f"numpy.{_like}",), arity=1,
        build=lambda n, f=_like: (f"np.{f}(a)", ["0.0"]), stem=lambda f: None,
        noun=_like.split("_")[0], sympy=lambda a: a * 0, elementwise=False,
        domain=_fixed(DEFAULT_DOMAIN), infer=lambda ctx: ctx.types[0] if ctx.types else
        shapes.FLOAT, nondifferentiable=True, doc="a constant array: no gradient",
    ))


# ---------------------------------------------------------------- linear algebra


def _rank(t: VType) -> Optional[int]:
    return t.rank if t is not None else None


def _matmul_shaped(ctx: Context):
    """Gradients of a @ b by ranks: the shapes say which transpose.  Stacks of matrices
    (rank 3 and more, numpy's matmul) transpose their last two axes, and a broadcast
    operand's gradient is summed over the batch axes."""
    ra, rb = (_rank(t) for t in ctx.types) if ctx.types else (2, 2)
    if ra is not None and rb is not None and min(ra, rb) >= 2 and max(ra, rb) >= 3:
        return "a @ b", ["_unbroadcast(g @ np.swapaxes(b, -1, -2), a)",
                         "_unbroadcast(np.swapaxes(a, -1, -2) @ g, b)"]
    if ra == 2 and rb == 2:
        return "a @ b", ["g @ b.T", "a.T @ g"]
    if ra == 1 and rb == 1:
        return "a @ b", ["g * b", "g * a"]
    if ra == 2 and rb == 1:
        return "a @ b", ["np.outer(g, b)", "a.T @ g"]
    if ra == 1 and rb == 2:
        return "a @ b", ["b @ g", "np.outer(a, g)"]
    raise RuleError("a @ b needs operands of known rank 1 or 2")


def _matmul_type(ctx: Context) -> VType:
    a, b = ctx.types
    if a.shape is None or b.shape is None:
        return shapes.array(None)
    if a.shape and b.shape:  # the inner dimensions are one (assumed while inferring)
        shapes.assume_equal(a.shape[-1], b.shape[0] if len(b.shape) == 1 else b.shape[-2])
    if len(a.shape) >= 3 or len(b.shape) >= 3:
        batch = shapes.broadcast(a.shape[:-2], b.shape[:-2])
        return shapes.array(None if batch is None else batch + (a.shape[-2], b.shape[-1]))
    out = a.shape[:-1] + b.shape[1:] if len(b.shape) == 2 else a.shape[:-1]
    return shapes.array(out) if out else shapes.FLOAT


REGISTRY.add(Rule(
    name="matmul", spellings=("@", "numpy.dot", "numpy.matmul", ".dot"), arity=2,
    build=lambda n: _matmul_shaped(Context(2)), shaped=_matmul_shaped,
    stem=_fmt("{0}{1}"), noun="prod", sympy=lambda a, b: a * b,
    domain=_fixed(DEFAULT_DOMAIN, DEFAULT_DOMAIN), elementwise=False, infer=_matmul_type,
    doc="D = W @ X: dW = dD @ X.T, dX = W.T @ dD (the shapes tell which transpose)",
))


def _transpose_type(ctx: Context) -> VType:
    (t,) = ctx.types
    return shapes.array(None if t.shape is None else tuple(reversed(t.shape)))


def _transpose_shaped(ctx: Context):
    axes = ctx.attr("axes")
    if axes is None:
        return "a.T", ["g.T"]
    inverse = tuple(sorted(range(len(axes)), key=lambda i: axes[i]))
    return f"np.transpose(a, axes={axes!r})", [f"np.transpose(g, axes={inverse!r})"]


def _transpose_axes_type(ctx: Context) -> VType:
    axes, (t,) = ctx.attr("axes"), ctx.types
    if axes is None:
        return _transpose_type(ctx)
    if t.shape is None or len(t.shape) != len(axes):
        return shapes.array(None)
    return shapes.array(tuple(t.shape[a] for a in axes))


REGISTRY.add(Rule(
    name="transpose", spellings=(".T", "numpy.transpose", ".transpose"), arity=1,
    build=lambda n: ("a.T", ["g.T"]), shaped=_transpose_shaped, stem=_fmt("{0}T"),
    noun="trans", sympy=lambda a: a, domain=_fixed(DEFAULT_DOMAIN), elementwise=False,
    keywords=("axes",), infer=_transpose_axes_type,
    doc="the gradient of a transpose is the gradient transposed back (axes inverted)",
))
