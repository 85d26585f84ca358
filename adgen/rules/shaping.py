"""Rules that reorder, select, split or build arrays: np.sort, flip, roll, diag, diagonal,
triu, tril, tile, repeat, pad, take, take_along_axis, atleast_1d/2d/3d, swapaxes, moveaxis,
split and its kin, `np.array([x, y, ...])` of numbers, eye, diff, rot90, broadcast_to, full
and full_like (adgen/rules/reductions.py has np.prod, cumsum, cumprod and trace).

Each gradient is the forward operation run backwards: a flip flips back, a roll rolls back,
a tile sums its copies, a sort or a take puts each element back where it came from (the
helpers `_unsort`, `_untake`, `_untake_along` of adgen/prelude.py).  Static arguments
(`reps`, `shift`, `k`, `pad_width`) are constants of the call (Rule.statics).  Each rule
declares the shapes and arguments the rule table checks it at (`samples`).
"""

from __future__ import annotations

from typing import Optional

from adgen import shapes
from adgen.rules.registry import REGISTRY, Context, Rule, RuleError
from adgen.rules.scalar import DEFAULT_DOMAIN, _fixed
from adgen.shapes import VType, unknown_dim


def _same(ctx: Context) -> VType:
    return ctx.types[0] if ctx.types and ctx.types[0] is not None else shapes.array(None)


def _unknown(ctx: Context) -> VType:
    return shapes.array(None)


def _rank(ctx: Context, what: str) -> int:
    t = ctx.types[0] if ctx.types else None
    if t is None or t.rank is None:
        raise RuleError(f"{what} needs an operand of known rank (annotate it)")
    return t.rank


def _axis(ctx: Context, what: str, default: Optional[int] = None) -> Optional[int]:
    """The `axis` attribute, made non-negative (with the operand's rank when it is not)."""
    axis = ctx.attr("axis", default)
    if axis is None or axis >= 0:
        return axis
    return axis % _rank(ctx, what)


def rule(name, spellings, shaped, doc, *, arity=1, keywords=(), statics=(), infer=_same,
         samples=(), noun="view", domain=None, variadic=False):
    """An array rule whose templates depend on static arguments and ranks."""
    return REGISTRY.add(Rule(
        name=name, spellings=tuple(spellings), arity=arity, variadic=variadic,
        build=lambda n: shaped(Context(n, samples[0][0] if samples else (),
                                       _sample_types(samples, n))),
        shaped=shaped, stem=lambda f: None, noun=noun, sympy=lambda *a: a[0],
        domain=domain or (lambda n: (DEFAULT_DOMAIN,) * n), elementwise=False,
        keywords=tuple(keywords), statics=tuple(statics), infer=infer, doc=doc,
        samples=tuple(samples),
    ))


def _sample_types(samples, n: int) -> tuple:
    """The operand types of a rule's first sample (the form rules.md shows)."""
    if not samples:
        return (shapes.array((3, 4)),) * n
    ops = samples[0][1]
    return tuple(shapes.array(op) if isinstance(op, tuple) else
                 VType("intarray", (len(op),)) if isinstance(op, list) else shapes.INT
                 for op in ops)[:n] + (shapes.array((3, 4)),) * max(0, n - len(ops))


# ---------------------------------------------------------------- reordering


def _sort_shaped(ctx: Context):
    axis = ctx.attr("axis", -1)
    if axis is None:
        return "np.sort(a, axis=None)", ["_unsort(g, a, None)"]
    if axis == -1:
        return "np.sort(a)", ["_unsort(g, a)"]
    return f"np.sort(a, axis={axis})", [f"_unsort(g, a, {axis})"]


rule("np_sort", ("numpy.sort",), _sort_shaped,
     "each gradient back where its element came from (np.argsort; equal elements have "
     "equal values, so which of them gets which is a convention)", keywords=("axis",),
     statics=((1, "axis"),),
     infer=lambda ctx: _same(ctx) if ctx.attr("axis", -1) is not None else
     shapes.array((unknown_dim(),)), noun="sorted",
     samples=[((), [(3, 4)]), ((("axis", 0),), [(3, 4)]), ((("axis", None),), [(3, 4)]),
              ((), [(6,)])])


def _flip_shaped(ctx: Context):
    axis = ctx.attr("axis")
    call = "np.flip({})" if axis is None else f"np.flip({{}}, {axis!r})"
    return call.format("a"), [call.format("g")]


rule("np_flip", ("numpy.flip",), _flip_shaped, "the gradient flipped back", noun="flipped",
     keywords=("axis",), statics=((1, "axis"),),
     samples=[((), [(3, 4)]), ((("axis", 1),), [(3, 4)]), ((("axis", (0, 2)),), [(2, 3, 4)])])
for _name in ("fliplr", "flipud"):
    rule(f"np_{_name}", (f"numpy.{_name}",),
         lambda ctx, f=_name: (f"np.{f}(a)", [f"np.{f}(g)"]), "the gradient flipped back",
         noun="flipped",
         samples=[((), [(3, 4)])])


def _roll_shaped(ctx: Context):
    shift, axis = ctx.attr("shift"), ctx.attr("axis")
    back = tuple(-s for s in shift) if isinstance(shift, tuple) else -shift
    tail = "" if axis is None else f", axis={axis!r}"
    return f"np.roll(a, {shift!r}{tail})", [f"np.roll(g, {back!r}{tail})"]


rule("np_roll", ("numpy.roll",), _roll_shaped, "the gradient rolled back", noun="rolled",
     keywords=("shift", "axis"), statics=((1, "shift"), (2, "axis")),
     samples=[((("shift", 2),), [(5,)]), ((("shift", -1), ("axis", 1)), [(3, 4)]),
              ((("shift", 3),), [(3, 4)]), ((("shift", (1, 2)), ("axis", (0, 1))), [(3, 4)])])


def _swapaxes_shaped(ctx: Context):
    i, j = ctx.attr("axis1"), ctx.attr("axis2")
    return f"np.swapaxes(a, {i}, {j})", [f"np.swapaxes(g, {i}, {j})"]


def _swapaxes_type(ctx: Context) -> VType:
    t = _same(ctx)
    if t.shape is None:
        return t
    dims = list(t.shape)
    i, j = ctx.attr("axis1") % len(dims), ctx.attr("axis2") % len(dims)
    dims[i], dims[j] = dims[j], dims[i]
    return shapes.array(tuple(dims))


rule("np_swapaxes", ("numpy.swapaxes", ".swapaxes"), _swapaxes_shaped,
     "the gradient's axes swapped back", statics=((1, "axis1"), (2, "axis2")),
     infer=_swapaxes_type, samples=[((("axis1", 0), ("axis2", 2)), [(2, 3, 4)])])


def _moveaxis_shaped(ctx: Context):
    src, dst = ctx.attr("source"), ctx.attr("destination")
    return f"np.moveaxis(a, {src!r}, {dst!r})", [f"np.moveaxis(g, {dst!r}, {src!r})"]


rule("np_moveaxis", ("numpy.moveaxis",), _moveaxis_shaped, "the gradient's axes moved back",
     statics=((1, "source"), (2, "destination")), infer=_unknown,
     samples=[((("source", 0), ("destination", -1)), [(2, 3, 4)]),
              ((("source", (0, 1)), ("destination", (2, 0))), [(2, 3, 4)])])


# ---------------------------------------------------------------- triangles and diagonals


def _triangle(func: str):
    def shaped(ctx: Context):
        k = ctx.attr("k", 0)
        tail = "" if not k else f", {k}"
        return f"np.{func}(a{tail})", [f"np.{func}(g{tail})"]
    return shaped


for _name in ("triu", "tril"):
    rule(f"np_{_name}", (f"numpy.{_name}",), _triangle(_name),
         "the gradient's same triangle", keywords=("k",), statics=((1, "k"),),
         noun={"triu": "upper", "tril": "lower"}[_name],
         samples=[((), [(4, 4)]), ((("k", 1),), [(3, 4)]), ((("k", -1),), [(2, 3, 3)])])


def _diag_shaped(ctx: Context):
    k = ctx.attr("k", 0)
    tail = "" if not k else f", {k}"
    rank = _rank(ctx, "np.diag")
    if rank == 1:
        return f"np.diag(a{tail})", [f"np.diagonal(g{tail})"]
    if rank == 2:
        return f"np.diag(a{tail})", [f"_undiag(g, a{tail})"]
    raise RuleError("np.diag takes a vector or a matrix")


def _diag_type(ctx: Context) -> VType:
    t = _same(ctx)
    return shapes.array(None if t.rank is None else (unknown_dim(),) * (3 - t.rank))


rule("np_diag", ("numpy.diag",), _diag_shaped,
     "a vector's matrix: the gradient's diagonal; a matrix's diagonal: the gradient on it",
     keywords=("k",), statics=((1, "k"),), infer=_diag_type, noun="diag",
     samples=[((), [(4,)]), ((("k", 1),), [(3,)]), ((), [(3, 3)]), ((("k", -1),), [(4, 3)]),
              ((("k", 2),), [(3, 5)])])


def _diagonal_shaped(ctx: Context):
    if _rank(ctx, "np.diagonal") != 2:
        raise RuleError("np.diagonal is supported for matrices (rank 2)")
    k = ctx.attr("offset", 0)
    tail = "" if not k else f", {k}"
    return f"np.diagonal(a{tail})", [f"_undiag(g, a{tail})"]


rule("np_diagonal", ("numpy.diagonal", ".diagonal"), _diagonal_shaped,
     "the gradient on the diagonal, 0.0 elsewhere", keywords=("offset",),
     statics=((1, "offset"),), infer=lambda ctx: shapes.array((unknown_dim(),)), noun="diag",
     samples=[((), [(3, 3)]), ((("offset", 1),), [(3, 4)]), ((("offset", -2),), [(4, 3)])])


# ---------------------------------------------------------------- copies and padding


def _reps(ctx: Context) -> tuple:
    reps = ctx.attr("reps")
    return reps if isinstance(reps, tuple) else (reps,)


def _tile_shaped(ctx: Context):
    reps = _reps(ctx)
    rank = _rank(ctx, "np.tile")
    d = max(rank, len(reps))
    reps = (1,) * (d - len(reps)) + reps
    dims, summed = [], []
    for i, r in enumerate(reps):
        size = f"np.shape(a)[{i - (d - rank)}]" if i >= d - rank else "1"
        if r != 1:
            summed.append(len(dims))
            dims.append(str(r))
        dims.append(size)
    if not summed:
        return f"np.tile(a, {ctx.attr('reps')!r})", ["g.reshape(np.shape(a))"]
    axes = summed[0] if len(summed) == 1 else tuple(summed)
    return (f"np.tile(a, {ctx.attr('reps')!r})",
            [f"np.sum(g.reshape({', '.join(dims)}), axis={axes!r}).reshape(np.shape(a))"])


rule("np_tile", ("numpy.tile",), _tile_shaped, "the copies' gradients summed", noun="tiled",
     statics=((1, "reps"),), infer=_unknown,
     samples=[((("reps", 3),), [(4,)]), ((("reps", (2, 1)),), [(3, 4)]),
              ((("reps", (2, 3)),), [(3, 4)]), ((("reps", (2, 1, 2)),), [(3, 4)])])


def _repeat_shaped(ctx: Context):
    r = ctx.attr("repeats")
    if not isinstance(r, int):
        raise RuleError("np.repeat is supported with one int number of repeats")
    axis = _axis(ctx, "np.repeat")
    if axis is None:
        return (f"np.repeat(a, {r})",
                [f"np.sum(g.reshape(-1, {r}), axis=1).reshape(np.shape(a))"])
    shape = f"np.shape(a)[:{axis}] + (np.shape(a)[{axis}], {r}) + np.shape(a)[{axis + 1}:]"
    return f"np.repeat(a, {r}, axis={axis})", [f"np.sum(g.reshape({shape}), axis={axis + 1})"]


rule("np_repeat", ("numpy.repeat", ".repeat"), _repeat_shaped,
     "the gradients of each element's copies summed", keywords=("repeats", "axis"),
     noun="repeated",
     statics=((1, "repeats"), (2, "axis")), infer=_unknown,
     samples=[((("repeats", 2),), [(3, 4)]), ((("repeats", 3), ("axis", 0)), [(3, 4)]),
              ((("repeats", 2), ("axis", -1)), [(2, 3, 4)])])


def _pad_widths(ctx: Context, rank: int) -> list:
    width = ctx.attr("pad_width")
    if isinstance(width, int):
        return [(width, width)] * rank
    if len(width) == 2 and all(isinstance(w, int) for w in width):
        return [tuple(width)] * rank
    if len(width) == 1:
        return [tuple(width[0])] * rank
    return [tuple(w) for w in width]


def _pad_mode(ctx: Context) -> None:
    mode = ctx.attr("mode", "constant")
    if mode != "constant":
        raise RuleError(f"np.pad is supported with mode='constant' (zeros), not {mode!r}")


def _pad_shaped(ctx: Context):
    _pad_mode(ctx)
    rank = _rank(ctx, "np.pad")
    parts = [f"{b}:" if not e else f"{b}:g.shape[{i}] - {e}"
             for i, (b, e) in enumerate(_pad_widths(ctx, rank))]
    return f"np.pad(a, {ctx.attr('pad_width')!r})", [f"g[{', '.join(parts)}]"]


rule("np_pad", ("numpy.pad",), _pad_shaped,
     "the gradient without its padding (constant padding, the default mode)",
     keywords=("pad_width", "mode"), statics=((1, "pad_width"), (2, "mode")), infer=_unknown,
     noun="padded",
     samples=[((("pad_width", 1),), [(3, 4)]), ((("pad_width", ((1, 0), (2, 3))),), [(3, 4)]),
              ((("pad_width", (0, 2)), ("mode", "constant")), [(4,)])])


def _pad_sized_shaped(ctx: Context):
    """np.pad with widths computed at run time (`(pad, pad)` of a convolution): `widths`
    holds one (before, after) pair per axis, each an int constant or ("arg", i), the int
    operand x{i}; the array is x0."""
    _pad_mode(ctx)

    def text(entry) -> str:
        return f"x{entry[1]}" if isinstance(entry, tuple) else str(entry)

    pairs = ctx.attr("widths")
    widths = ", ".join(f"({text(b)}, {text(e)})" for b, e in pairs)
    parts = [f"{text(b)}:g.shape[{i}] - {text(e)}" if e != 0 else f"{text(b)}:"
             for i, (b, e) in enumerate(pairs)]
    return (f"np.pad(x0, ({widths}{',' if len(pairs) == 1 else ''}))",
            [f"g[{', '.join(parts)}]"] + ["0.0"] * (ctx.n - 1))


rule("np_pad_sized", (), _pad_sized_shaped,
     "np.pad(x, ((0, 0), (pad, pad))) with int widths known at run time: the gradient "
     "without its padding", arity=2, variadic=True, keywords=("mode",), infer=_unknown,
     noun="padded",
     samples=[((("widths", ((("arg", 1), ("arg", 1)),)),), [(4,), 2]),
              ((("widths", ((0, 0), (("arg", 1), ("arg", 2)))),), [(3, 4), 1, 2]),
              ((("widths", ((("arg", 1), 0), (2, ("arg", 1)))), ("mode", "constant")),
               [(3, 4), 1])])


def _atleast(k: int):
    def shaped(ctx: Context):
        return f"np.atleast_{k}d(a)", ["g.reshape(np.shape(a))"]
    return shaped


for _k in (1, 2, 3):
    rule(f"np_atleast_{_k}d", (f"numpy.atleast_{_k}d",), _atleast(_k),
         "the gradient reshaped back", infer=_unknown,
         samples=[((), [(4,)]), ((), [(3, 4)])])


# ---------------------------------------------------------------- gathering


def _take_shaped(ctx: Context):
    axis = ctx.attr("axis")
    if axis is None:
        return "np.take(a, b)", ["_untake(g, a, b)", "0.0"]
    return f"np.take(a, b, axis={axis})", [f"_untake(g, a, b, {axis})", "0.0"]


rule("np_take", ("numpy.take", ".take"), _take_shaped,
     "the gradient added back at the indices (repeated indices add up)", arity=2,
     keywords=("axis",), statics=((2, "axis"),), infer=_unknown, noun="taken",
     samples=[((), [(3, 4), [0, 5, 5, 11]]), ((("axis", 1),), [(3, 4), [3, 0, 3]]),
              ((("axis", 0),), [(3, 4), [2, 2]])])


def _take_along_shaped(ctx: Context):
    axis = ctx.attr("axis")
    return (f"np.take_along_axis(a, b, axis={axis})",
            [f"_untake_along(g, a, b, {axis})", "0.0"])


rule("np_take_along_axis", ("numpy.take_along_axis",), _take_along_shaped,
     "the gradient added back at the indices along the axis", arity=2, keywords=("axis",),
     statics=((2, "axis"),), infer=_unknown, noun="taken",
     samples=[((("axis", 1),), [(3, 4), [[0, 3], [1, 1], [2, 0]]]),
              ((("axis", 0),), [(3, 4), [[2, 0, 0, 1]]])])


def _array_build(n: int):
    items = ", ".join(f"x{i}" for i in range(n))
    return f"np.array(({items}{',' if n == 1 else ''}))", [f"g[{i}]" for i in range(n)]


def _array_type(ctx: Context) -> VType:
    if all(t.kind in ("float", "int") for t in ctx.types):
        return shapes.array((len(ctx.types),))
    return shapes.array(None)


REGISTRY.add(Rule(
    name="np_array", spellings=("numpy.array", "numpy.asarray"), arity=1, variadic=True, build=_array_build,
    stem=lambda f: None, noun="vec", sympy=lambda *a: a[0], elementwise=False,
    domain=lambda n: (DEFAULT_DOMAIN,) * n,
    infer=_array_type,
    doc="np.array([x, y, ...]) of numbers (or of arrays of one shape): each gets its item "
        "of the gradient; np.array(x) of a value is np.copy(x), np.asarray(x) is x itself "
        "(np_asarray)", samples=(((), [(), (), ()]), ((), [(4,), (4,)])),
))

REGISTRY.add(Rule(
    name="np_asarray", spellings=(), arity=1, build=lambda n: ("np.asarray(a)", ["g"]),
    stem=lambda f: None, noun="arr", sympy=lambda a: a, elementwise=False,
    domain=lambda n: (DEFAULT_DOMAIN,), infer=lambda ctx: ctx.types[0] if ctx.types and
    ctx.types[0].is_array else shapes.array(()),
    doc="np.asarray(x) of an array: x itself (the same memory), the gradient passes through",
))


def _eye_type(ctx: Context) -> VType:
    dims = [t.dim if t.kind == "int" and t.dim else unknown_dim() for t in ctx.types[:2]]
    return shapes.array((dims[0], dims[-1] if len(dims) == 2 else dims[0]))


for _name in ("eye", "identity"):
    REGISTRY.add(Rule(
        name=f"np_{_name}", spellings=(f"numpy.{_name}",), arity=1,
        variadic=_name == "eye",
        build=lambda n, f=_name: (f"np.{f}({', '.join(f'x{i}' for i in range(n))})"
                                  if n > 1 or f == "eye" else f"np.{f}(a)", ["0.0"] * n),
        stem=lambda f: None, noun="eye", sympy=lambda *a: a[0] * 0, elementwise=False,
        domain=lambda n: (DEFAULT_DOMAIN,) * n, infer=_eye_type, nondifferentiable=True,
        keywords=("k",) if _name == "eye" else (),
        doc="the identity matrix (ones on a diagonal): a constant, no gradient",
    ))


# ---------------------------------------------------------------- splitting

_SPLIT_AXIS = {"numpy.split": None, "numpy.array_split": None, "numpy.vsplit": 0,
               "numpy.hsplit": "h", "numpy.dsplit": 2}


def _part_shaped(ctx: Context):
    """One part of np.split(a, sections, axis) (or array_split, hsplit, vsplit, dsplit),
    unpacked: a, b, c = np.split(x, 3)."""
    func, k = ctx.attr("func", "numpy.split"), ctx.attr("part", 0)
    sections = ctx.attr("indices_or_sections", 2)
    fixed = _SPLIT_AXIS[func]
    if fixed == "h":  # columns, or the elements of a vector
        fixed = 0 if _rank(ctx, "np.hsplit") == 1 else 1
    axis = fixed if fixed is not None else ctx.attr("axis", 0)
    if isinstance(sections, int) and ctx.attr("parts", sections) != sections:
        raise RuleError(f"{sections} sections unpacked into {ctx.attr('parts')} names")
    short = func.replace("numpy.", "np.")
    tail = "" if fixed is not None else f", axis={axis}"
    return (f"{short}(a, {sections!r}{tail})[{k}]",
            [f"_unsplit(g, a, {sections!r}, {axis}, {k})"])


rule("np_split_part", (), _part_shaped,
     "a part of np.split (array_split, hsplit, vsplit, dsplit): the gradient in its place",
     keywords=("axis",), infer=_unknown, noun="part",
     samples=[((("func", "numpy.split"), ("indices_or_sections", 3), ("part", 1),
                ("parts", 3)), [(6, 2)]),
              ((("func", "numpy.array_split"), ("indices_or_sections", (1, 3)),
                ("axis", 1), ("part", 2), ("parts", 3)), [(2, 5)]),
              ((("func", "numpy.hsplit"), ("indices_or_sections", 2), ("part", 0),
                ("parts", 2)), [(3, 4)]),
              ((("func", "numpy.dsplit"), ("indices_or_sections", 2), ("part", 1),
                ("parts", 2)), [(2, 2, 4)])])
for _name in _SPLIT_AXIS:
    REGISTRY.add(Rule(
        name=f"np_{_name[6:]}", spellings=(_name,), arity=1,
        build=lambda n: ("a", ["0.0"]), stem=lambda f: None, noun="parts",
        sympy=lambda a: a, domain=_fixed(DEFAULT_DOMAIN), elementwise=False,
        keywords=("indices_or_sections",) + (("axis",) if _SPLIT_AXIS[_name] is None else ()),
        statics=((1, "indices_or_sections"),), nondifferentiable=True, parts="np_split_part",
        doc="several results: unpack them, a, b = " + _name.replace("numpy.", "np.") +
            "(x, 2); each part is np_split_part",
    ))


# ---------------------------------------------------------------- differences, rotations


def _widths(rank: int, axis: int, width: tuple) -> str:
    """np.pad's pad_width: `width` on `axis`, none elsewhere (a pair for a vector)."""
    if rank == 1:
        return repr(width)
    return repr(tuple(width if i == axis else (0, 0) for i in range(rank)))


def _diff_shaped(ctx: Context):
    """out[i] = a[i + 1] - a[i] along the axis, so a[j] gets g[j - 1] - g[j] (g taken as 0
    outside its range): g padded before the axis minus g padded after it."""
    n = ctx.attr("n", 1)
    if n != 1:
        raise RuleError("np.diff is supported with n=1; apply it again for a higher "
                        "difference")
    rank = _rank(ctx, "np.diff")
    if rank == 0:
        raise RuleError("np.diff needs an array of rank 1 or more")
    axis = ctx.attr("axis", -1) % rank
    call = "np.diff(a)" if axis == rank - 1 else f"np.diff(a, axis={axis})"
    return call, [f"np.pad(g, {_widths(rank, axis, (1, 0))}) - "
                  f"np.pad(g, {_widths(rank, axis, (0, 1))})"]


def _diff_type(ctx: Context) -> VType:
    t = _same(ctx)
    if t.shape is None or not t.shape:
        return shapes.array(None)
    dims = list(t.shape)
    dims[ctx.attr("axis", -1) % len(dims)] = unknown_dim()
    return shapes.array(tuple(dims))


rule("np_diff", ("numpy.diff",), _diff_shaped,
     "a[j] gets g[j - 1] - g[j]: the gradient padded before the axis minus padded after "
     "(n=1)", keywords=("n", "axis"), statics=((1, "n"), (2, "axis")), infer=_diff_type,
     noun="delta",
     samples=[((), [(5,)]), ((), [(3, 4)]), ((("axis", 0),), [(3, 4)]),
              ((("axis", 1),), [(2, 3, 4)]), ((("n", 1), ("axis", -2)), [(2, 3, 4)])])


def _rot90_shaped(ctx: Context):
    k, axes = ctx.attr("k", 1), ctx.attr("axes", (0, 1))
    if not isinstance(k, int) or isinstance(k, bool):
        raise RuleError("np.rot90 needs k as an int literal")
    tail = "" if axes == (0, 1) else f", axes={axes!r}"
    forward = f"np.rot90(a{'' if k == 1 and not tail else f', {k}'}{tail})"
    return forward, [f"np.rot90(g, {-k}{tail})"]


def _rot90_type(ctx: Context) -> VType:
    t = _same(ctx)
    k, axes = ctx.attr("k", 1), ctx.attr("axes", (0, 1))
    if t.shape is None or len(t.shape) < 2 or not isinstance(k, int) or k % 2 == 0:
        return t if isinstance(k, int) and k % 2 == 0 else shapes.array(None)
    dims = list(t.shape)
    i, j = axes[0] % len(dims), axes[1] % len(dims)
    dims[i], dims[j] = dims[j], dims[i]
    return shapes.array(tuple(dims))


rule("np_rot90", ("numpy.rot90",), _rot90_shaped, "the gradient rotated back (-k)",
     keywords=("k", "axes"), statics=((1, "k"), (2, "axes")), infer=_rot90_type,
     noun="rotated",
     samples=[((), [(3, 4)]), ((("k", 2),), [(3, 4)]), ((("k", -1),), [(3, 4)]),
              ((("k", 3), ("axes", (1, 2))), [(2, 3, 4)])])


# ---------------------------------------------------------------- broadcasting and filling


def _shape_attr(ctx: Context, what: str) -> tuple:
    shape = ctx.attr("shape")
    if isinstance(shape, int) and not isinstance(shape, bool):
        shape = (shape,)
    if not (isinstance(shape, tuple) and all(isinstance(d, int) and not isinstance(d, bool)
                                             for d in shape)):
        raise RuleError(f"{what} needs its shape as a literal tuple of ints")
    return shape


def _broadcast_to_shaped(ctx: Context):
    shape = _shape_attr(ctx, "np.broadcast_to")
    return f"np.broadcast_to(a, {shape!r})", ["_unbroadcast(g, a)"]


rule("np_broadcast_to", ("numpy.broadcast_to",), _broadcast_to_shaped,
     "the gradient summed back over the broadcast axes", keywords=("shape",),
     statics=((1, "shape"),), noun="spread",
     infer=lambda ctx: shapes.array(_shape_attr(ctx, "np.broadcast_to")),
     samples=[((("shape", (3, 4)),), [(4,)]), ((("shape", (2, 3, 4)),), [(3, 1)]),
              ((("shape", (3,)),), [()]), ((("shape", (3, 4)),), [(3, 4)])])


def _full_shaped(ctx: Context):
    shape = _shape_attr(ctx, "np.full")
    return f"np.full({shape!r}, a)", ["_unbroadcast(g, a)"]


rule("np_full", ("numpy.full",), _full_shaped,
     "every element is the fill value: its gradient is the gradient summed (back to its "
     "shape, when it is an array that broadcasts)", keywords=("shape", "fill_value"),
     statics=((0, "shape"),), noun="filled",
     infer=lambda ctx: shapes.array(_shape_attr(ctx, "np.full")),
     samples=[((("shape", (3, 4)),), [()]), ((("shape", (3, 4)),), [(4,)]),
              ((("shape", (2, 3)),), [(2, 1)])])
REGISTRY.add(Rule(
    name="np_full_like", spellings=("numpy.full_like",), arity=2,
    build=lambda n: ("np.full_like(a, b)", ["0.0", "_unbroadcast(g, b)"]),
    stem=lambda f: None, noun="filled", sympy=lambda a, b: b, elementwise=False,
    domain=_fixed(DEFAULT_DOMAIN, DEFAULT_DOMAIN), passive=(0,),
    infer=lambda ctx: ctx.types[0] if ctx.types and ctx.types[0] is not None and
    ctx.types[0].is_array else shapes.array(None),
    doc="the fill value's gradient is the gradient summed; the first operand gives only "
        "a shape and a dtype (no gradient)",
    samples=(((), [(3, 4), ()]), ((), [(3, 4), (4,)])),
))
