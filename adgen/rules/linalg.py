"""Linear algebra: np.einsum, np.tensordot, np.inner, np.kron, np.cross and numpy.linalg
(inv, solve, det, slogdet, cholesky, eigh, eigvalsh, svd, pinv).

The gradient of np.einsum is an einsum: the upstream gradient contracted with the other
operands, with the subscripts permuted so that the result has the operand's indices.

The linalg gradients are the standard ones (Giles 2008; Murray 2016 for Cholesky; Townsend
2016 for the SVD), as HIPS autograd computes them.  They exist where the function is
differentiable, and docs/non-differentiable.md says where that is: inv, solve, det and
slogdet need a nonsingular matrix (numpy raises LinAlgError otherwise); cholesky a
positive-definite one; eigh's eigenvectors distinct eigenvalues; svd's vectors distinct
nonzero singular values (the helpers raise ValueError where they are not).  cholesky, eigh
and eigvalsh read only the lower triangle of their operand (as numpy does): their gradient
is on the lower triangle, which is also the right gradient for a symmetric operand.

Functions with several results (slogdet, eigh, svd) are unpacked by the user, `sign, logdet
= np.linalg.slogdet(a)`: each result is its own statement and rule (Rule.results,
adgen/multiresults.py).  The helpers (`_cholesky_grad`, `_eigh_grad`, `_svd_grad`) are in
adgen/prelude.py.
"""

from __future__ import annotations

from adgen import shapes
from adgen.rules.registry import REGISTRY, Context, Rule, RuleError
from adgen.rules.scalar import DEFAULT_DOMAIN
from adgen.shapes import VType, unknown_dim


def _rank(t) -> int:
    if t is None or t.rank is None:
        raise RuleError("numpy.linalg functions need operands of known rank (annotate them)")
    return t.rank


def linalg(name, shaped, doc, *, arity=1, infer=None, samples=(), noun="lin", spellings=None,
           nondifferentiable=False, results=(), keywords=()):
    return REGISTRY.add(Rule(
        name=name, spellings=(f"numpy.{name[3:].replace('_', '.', 1)}",) if spellings is None
        else tuple(spellings), arity=arity, build=lambda n: shaped(Context(
            n, samples[0][0] if samples else (), (shapes.array((3, 3)),) * n)),
        shaped=shaped, stem=lambda f: None, noun=noun, sympy=lambda *a: a[0],
        domain=lambda n: (DEFAULT_DOMAIN,) * n, elementwise=False,
        infer=infer or (lambda ctx: ctx.types[0]), doc=doc, samples=tuple(samples),
        nondifferentiable=nondifferentiable, results=tuple(results), keywords=keywords,
    ))


def _T(x: str, rank: int) -> str:
    return f"{x}.T" if rank == 2 else f"np.swapaxes({x}, -1, -2)"


def _scalar_of_matrix(ctx: Context) -> VType:
    t = ctx.types[0]
    if t.shape is None:
        return shapes.array(None)
    return shapes.array(t.shape[:-2]) if len(t.shape) > 2 else shapes.FLOAT


def _per_matrix(g: str, rank: int) -> str:
    """A gradient of one number per matrix, broadcast over each matrix."""
    return g if rank == 2 else f"np.expand_dims({g}, (-2, -1))"


NONSINGULAR = ("nonsingular", 3)
SPD = ("spd", 3)


def _inv_shaped(ctx: Context):
    r = _rank(ctx.types[0])
    return "np.linalg.inv(a)", [f"-{_T('out', r)} @ g @ {_T('out', r)}"]


linalg("np_linalg_inv", _inv_shaped, "-inv(a).T @ g @ inv(a).T (a nonsingular)", noun="inv",
       samples=[((), [NONSINGULAR]), ((), [("nonsingular", 2, 3)])])


def _solve_shaped(ctx: Context):
    ra, rb = (_rank(t) for t in ctx.types)
    if ra != 2 or rb not in (1, 2):
        raise RuleError("np.linalg.solve is supported for a matrix and a vector or a matrix")
    db = "np.linalg.solve(a.T, g)"
    da = f"-np.outer({db}, out)" if rb == 1 else f"-{db} @ out.T"
    return "np.linalg.solve(a, b)", [da, db]


linalg("np_linalg_solve", _solve_shaped,
       "db = solve(a.T, g), da = -db x.T for x = solve(a, b) (a nonsingular)", arity=2,
       noun="sol", infer=lambda ctx: ctx.types[1],
       samples=[((), [NONSINGULAR, (3,)]), ((), [NONSINGULAR, (3, 2)])])


def _det_shaped(ctx: Context):
    r = _rank(ctx.types[0])
    return "np.linalg.det(a)", [f"{_per_matrix('g * out', r)} * "
                                f"{_T('np.linalg.inv(a)', r)}"]


linalg("np_linalg_det", _det_shaped, "g * det(a) * inv(a).T (a nonsingular)", noun="det",
       infer=_scalar_of_matrix, samples=[((), [NONSINGULAR]), ((), [("nonsingular", 2, 3)])])


def _slogdet_shaped(ctx: Context):
    return "np.linalg.slogdet(a)", ["0.0"]


linalg("np_linalg_slogdet", _slogdet_shaped,
       "two results: unpack them, sign, logabsdet = np.linalg.slogdet(a)", noun="sld",
       nondifferentiable=True, results=("np_linalg_slogdet_sign", "np_linalg_slogdet_logabs"))
linalg("np_linalg_slogdet_sign", lambda ctx: ("np.linalg.slogdet(a)[0]", ["0.0"]),
       "the sign of np.linalg.slogdet: no gradient", spellings=(), noun="sign",
       nondifferentiable=True, infer=_scalar_of_matrix)


def _logabsdet_shaped(ctx: Context):
    r = _rank(ctx.types[0])
    return "np.linalg.slogdet(a)[1]", [f"{_per_matrix('g', r)} * "
                                       f"{_T('np.linalg.inv(a)', r)}"]


linalg("np_linalg_slogdet_logabs", _logabsdet_shaped,
       "log|det(a)| of np.linalg.slogdet: g * inv(a).T (a nonsingular)", spellings=(),
       noun="logdet", infer=_scalar_of_matrix,
       samples=[((), [NONSINGULAR]), ((), [SPD]), ((), [("nonsingular", 2, 3)])])
linalg("np_linalg_cholesky", lambda ctx: ("np.linalg.cholesky(a)",
                                          ["_cholesky_grad(out, g)"]),
       "Murray's formula, on the lower triangle numpy reads (a positive definite)",
       noun="chol", samples=[((), [SPD]), ((), [("spd", 4)])])
linalg("np_linalg_eigvalsh", lambda ctx: ("np.linalg.eigvalsh(a)", ["_eigh_grad(a, g, None)"]),
       "v @ diag(g) @ v.T, on the lower triangle numpy reads", noun="eigvals",
       infer=lambda ctx: shapes.array((unknown_dim(),)), samples=[((), [SPD]), ((), [(3, 3)])])


def _eigh_shaped(ctx: Context):
    return "np.linalg.eigh(a)", ["0.0"]


linalg("np_linalg_eigh", _eigh_shaped,
       "two results: unpack them, w, v = np.linalg.eigh(a)", noun="eigh",
       nondifferentiable=True, results=("np_linalg_eigh_values", "np_linalg_eigh_vectors"))
linalg("np_linalg_eigh_values", lambda ctx: ("np.linalg.eigh(a)[0]",
                                             ["_eigh_grad(a, g, None)"]),
       "the eigenvalues of np.linalg.eigh: v @ diag(g) @ v.T", spellings=(), noun="w",
       infer=lambda ctx: shapes.array((unknown_dim(),)), samples=[((), [SPD])])
linalg("np_linalg_eigh_vectors", lambda ctx: ("np.linalg.eigh(a)[1]",
                                              ["_eigh_grad(a, None, g)"]),
       "the eigenvectors of np.linalg.eigh: v @ (f * (v.T @ g)) @ v.T with f = 1 / (w_j - "
       "w_i) (distinct eigenvalues)", spellings=(), noun="v", samples=[((), [SPD])])


def _svd_shaped(ctx: Context):
    if ctx.attr("compute_uv", True) is not False:
        raise RuleError("np.linalg.svd returns u, s, vh: unpack them (with "
                        "full_matrices=False), or pass compute_uv=False for s alone")
    return "np.linalg.svd(a, compute_uv=False)", ["_svd_grad(a, None, g, None)"]


linalg("np_linalg_svd", _svd_shaped,
       "with compute_uv=False, s: u @ diag(g) @ vh; otherwise three results: unpack them, "
       "u, s, vh = np.linalg.svd(a, full_matrices=False)", noun="s",
       keywords=("compute_uv", "full_matrices"),
       results=("np_linalg_svd_u", "np_linalg_svd_s", "np_linalg_svd_vh"),
       infer=lambda ctx: shapes.array((unknown_dim(),)),
       samples=[((("compute_uv", False),), [(3, 4)]), ((("compute_uv", False),), [(4, 2)])])


def _svd_item(k: int, grads: str):
    def shaped(ctx: Context):
        if ctx.attr("full_matrices", True) is not False:
            raise RuleError("the gradient of np.linalg.svd's u and vh needs "
                            "full_matrices=False (the extra columns are not unique)")
        return (f"np.linalg.svd(a, full_matrices=False)[{k}]", [f"_svd_grad(a, {grads})"])
    return shaped


_SVD = [((("full_matrices", False),), [(3, 3)]), ((("full_matrices", False),), [(3, 4)]),
        ((("full_matrices", False),), [(4, 2)])]
linalg("np_linalg_svd_u", _svd_item(0, "g, None, None"),
       "u of np.linalg.svd (full_matrices=False; distinct nonzero singular values)",
       spellings=(), noun="u", infer=lambda ctx: shapes.array(None), samples=_SVD,
       keywords=("full_matrices",))
linalg("np_linalg_svd_s", _svd_item(1, "None, g, None"),
       "s of np.linalg.svd: u @ diag(g) @ vh", spellings=(), noun="s",
       infer=lambda ctx: shapes.array((unknown_dim(),)), samples=_SVD,
       keywords=("full_matrices",))
linalg("np_linalg_svd_vh", _svd_item(2, "None, None, g"),
       "vh of np.linalg.svd (full_matrices=False; distinct nonzero singular values)",
       spellings=(), noun="vh", infer=lambda ctx: shapes.array(None), samples=_SVD,
       keywords=("full_matrices",))


# ---------------------------------------------------------------- einsum


def _einsum_parts(subscripts: str, n: int) -> tuple[list[str], str]:
    if not isinstance(subscripts, str):
        raise RuleError("np.einsum needs its subscripts as a string literal")
    spec = subscripts.replace(" ", "")
    if "." in spec:
        raise RuleError("np.einsum with '...' is not supported; write the axes out")
    inputs, arrow, output = spec.partition("->")
    ins = inputs.split(",")
    if len(ins) != n:
        raise RuleError(f"np.einsum subscripts {subscripts!r} name {len(ins)} operands, "
                        f"got {n}")
    if not arrow:  # implicit mode: the indices that appear once, in alphabetical order
        letters = "".join(ins)
        output = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    for term in ins:
        if len(set(term)) != len(term):
            raise RuleError(f"np.einsum with a repeated index in one operand ({term!r}, a "
                            "diagonal) is not supported; take np.diagonal first")
    return ins, output


def _einsum_shaped(ctx: Context):
    """Operand i's gradient: einsum of g (the output's indices) and the other operands,
    to operand i's indices.  An index of operand i that is summed away and appears in no
    other operand comes back through a vector of ones of its size."""
    subscripts = ctx.attr("subscripts")
    ins, output = _einsum_parts(subscripts, ctx.n)
    names = [f"x{i}" for i in range(ctx.n)]
    forward = f"np.einsum({subscripts!r}, {', '.join(names)})"
    grads = []
    for i, term in enumerate(ins):
        terms = [output] + [t for j, t in enumerate(ins) if j != i]
        args = ["g"] + [names[j] for j in range(ctx.n) if j != i]
        present = set("".join(terms))
        for axis, c in enumerate(term):
            if c not in present:
                terms.append(c)
                args.append(f"np.ones(np.shape({names[i]})[{axis}])")
        grads.append(f"np.einsum('{','.join(terms)}->{term}', {', '.join(args)})")
    return forward, grads


def _einsum_type(ctx: Context) -> VType:
    try:
        ins, output = _einsum_parts(ctx.attr("subscripts"), ctx.n)
    except RuleError:
        return shapes.array(None)
    sizes = {}
    for term, t in zip(ins, ctx.types):
        if t is None or t.shape is None or len(t.shape) != len(term):
            return shapes.array(tuple(unknown_dim() for _ in output)) if output else \
                shapes.FLOAT
        sizes.update(zip(term, t.shape))
    return shapes.array(tuple(sizes[c] for c in output)) if output else shapes.FLOAT


REGISTRY.add(Rule(
    name="np_einsum", spellings=("numpy.einsum",), arity=1, variadic=True,
    build=lambda n: _einsum_shaped(Context(n, (("subscripts", ",".join(
        ["ij", "jk", "kl", "lm"][:n]) + "->i" + "jklm"[n - 1]),))),
    shaped=_einsum_shaped, stem=lambda f: None, noun="ein", sympy=lambda *a: a[0],
    domain=lambda n: (DEFAULT_DOMAIN,) * n, elementwise=False, statics=((0, "subscripts"),),
    infer=_einsum_type,
    doc="each operand's gradient is an einsum of g and the other operands, to its indices",
    samples=tuple(((("subscripts", s),), ops) for s, ops in (
        ("ij,jk->ik", [(3, 4), (4, 2)]), ("ij,jk", [(3, 4), (4, 2)]),
        ("bqd,bkd->bqk", [(2, 3, 4), (2, 5, 4)]), ("bqk,bkd->bqd", [(2, 3, 5), (2, 5, 4)]),
        ("ij->j", [(3, 4)]), ("ij->", [(3, 4)]), ("i,i->", [(4,), (4,)]),
        ("i,j->ij", [(3,), (4,)]), ("ijk->kij", [(2, 3, 4)]), ("ij,j->i", [(3, 4), (4,)]),
        ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]), ("ab,cd->", [(2, 3), (3, 2)]))),
))


# ---------------------------------------------------------------- tensordot, inner, kron


def _letters(start: str, k: int) -> str:
    return "".join(chr(ord(start) + i) for i in range(k))


def _contraction(ta: str, tb: str, out: str):
    """Gradients of a contraction written as einsum(ta, tb -> out), every index of each
    operand appearing in the output or the other operand (no ones needed)."""
    return [f"np.einsum('{out},{tb}->{ta}', g, b)", f"np.einsum('{ta},{out}->{tb}', a, g)"]


def _tensordot_axes(ctx: Context, ra: int, rb: int) -> tuple[list, list]:
    axes = ctx.attr("axes", 2)
    if isinstance(axes, int) and not isinstance(axes, bool):
        if not 0 <= axes <= min(ra, rb):
            raise RuleError(f"np.tensordot: axes={axes} for operands of rank {ra} and {rb}")
        return list(range(ra - axes, ra)), list(range(axes))
    if not (isinstance(axes, tuple) and len(axes) == 2):
        raise RuleError("np.tensordot needs axes as an int or a pair of lists of ints")
    pair = [list(x) if isinstance(x, tuple) else [x] for x in axes]
    if len(pair[0]) != len(pair[1]) or not all(
            isinstance(i, int) and not isinstance(i, bool) for x in pair for i in x):
        raise RuleError("np.tensordot needs axes as an int or a pair of lists of ints of "
                        "one length")
    return [i % ra for i in pair[0]], [i % rb for i in pair[1]]


def _tensordot_shaped(ctx: Context):
    """np.tensordot(a, b, axes): a contraction, so each gradient is an einsum of g and the
    other operand (the indices written out from the ranks and axes)."""
    ra, rb = (_rank(t) for t in ctx.types)
    axa, axb = _tensordot_axes(ctx, ra, rb)
    ta = _letters("i", ra)
    tb = list(_letters("p", rb))
    for i, j in zip(axa, axb):
        tb[j] = ta[i]
    tb = "".join(tb)
    out = "".join(c for k, c in enumerate(ta) if k not in axa) + \
        "".join(c for k, c in enumerate(tb) if k not in axb)
    return f"np.tensordot(a, b, {ctx.attr('axes', 2)!r})", _contraction(ta, tb, out)


def _tensordot_type(ctx: Context) -> VType:
    try:
        ra, rb = (_rank(t) for t in ctx.types)
        axa, axb = _tensordot_axes(ctx, ra, rb)
    except RuleError:
        return shapes.array(None)
    a, b = ctx.types
    out = tuple(d for k, d in enumerate(a.shape) if k not in axa) + \
        tuple(d for k, d in enumerate(b.shape) if k not in axb)
    return shapes.array(out) if out else shapes.FLOAT


REGISTRY.add(Rule(
    name="np_tensordot", spellings=("numpy.tensordot",), arity=2,
    build=lambda n: _tensordot_shaped(Context(2, (("axes", 1),), (shapes.array((3, 4)),
                                                                   shapes.array((4, 2))))),
    shaped=_tensordot_shaped, stem=lambda f: None, noun="tdot", sympy=lambda a, b: a * b,
    domain=lambda n: (DEFAULT_DOMAIN,) * n, elementwise=False, keywords=("axes",),
    statics=((2, "axes"),), infer=_tensordot_type,
    doc="a contraction: each gradient is an einsum of g and the other operand, to the "
        "operand's indices (axes an int or a pair of lists)",
    samples=(((("axes", 1),), [(3, 4), (4, 2)]), ((), [(2, 3, 4), (3, 4, 5)]),
             ((("axes", 0),), [(3,), (2, 2)]), ((("axes", ((0, 2), (2, 1))),),
                                                [(2, 3, 4), (5, 4, 2)]),
             ((("axes", (1, 0)),), [(3, 4), (4, 2)]), ((("axes", 2),), [(3, 4), (3, 4)])),
))


def _inner_shaped(ctx: Context):
    """np.inner(a, b): the sum over the last axes of both."""
    ra, rb = (_rank(t) for t in ctx.types)
    if ra == 0 or rb == 0:
        raise RuleError("np.inner of a number is a product: write a * b")
    ta, tb = _letters("i", ra - 1) + "z", _letters("p", rb - 1) + "z"
    if ra == 1 and rb == 1:
        return "np.inner(a, b)", ["g * b", "g * a"]
    return "np.inner(a, b)", _contraction(ta, tb, ta[:-1] + tb[:-1])


def _inner_type(ctx: Context) -> VType:
    a, b = ctx.types
    if a is None or b is None or a.shape is None or b.shape is None or not a.shape \
            or not b.shape:
        return shapes.array(None)
    out = a.shape[:-1] + b.shape[:-1]
    return shapes.array(out) if out else shapes.FLOAT


linalg("np_inner", _inner_shaped, "the sum over the last axes: each gradient is g "
       "contracted with the other operand", arity=2, noun="inner", infer=_inner_type,
       samples=[((), [(4,), (4,)]), ((), [(3, 4), (4,)]), ((), [(3, 4), (2, 4)]),
                ((), [(2, 3, 4), (5, 4)])])


def _same_rank_type(ctx: Context) -> VType:
    """np.kron's result: the operands' rank, its sizes products (not known here)."""
    ranks = {None if t is None else t.rank for t in ctx.types}
    rank = ranks.pop() if len(ranks) == 1 else None
    return shapes.array(None if rank is None else tuple(unknown_dim() for _ in range(rank)))


def _cross_type(ctx: Context) -> VType:
    a, b = ctx.types
    if a is None or b is None or a.shape is None or b.shape is None:
        return shapes.array(None)
    return shapes.array(shapes.broadcast(a.shape, b.shape))


def _kron_shaped(ctx: Context):
    """np.kron(a, b) of operands of one rank r: out reshaped to (a0, b0, a1, b1, ...) is
    a[i, j] * b[k, l], so each gradient is that reshaped g contracted with the other."""
    ra, rb = (_rank(t) for t in ctx.types)
    if ra != rb or ra not in (1, 2, 3):
        raise RuleError("np.kron is supported for operands of one rank (1, 2 or 3)")
    ta, tb = _letters("i", ra), _letters("p", ra)
    dims = ", ".join(f"np.shape({x})[{k}]" for k in range(ra) for x in ("a", "b"))
    gg = "".join(x + y for x, y in zip(ta, tb))
    g = f"g.reshape({dims})"
    return "np.kron(a, b)", [f"np.einsum('{gg},{tb}->{ta}', {g}, b)",
                             f"np.einsum('{gg},{ta}->{tb}', {g}, a)"]


linalg("np_kron", _kron_shaped, "every product a[i] * b[k]: g reshaped to pair the "
       "operands' axes, contracted with the other operand (operands of one rank)", arity=2,
       noun="kron", infer=lambda ctx: _same_rank_type(ctx),
       samples=[((), [(3, 2), (2, 4)]), ((), [(3,), (4,)]), ((), [(2, 1, 2), (1, 3, 2)])])


def _cross_shaped(ctx: Context):
    """np.cross of 3-vectors along the last axis: <g, a x b> = <a, b x g> = <b, g x a>."""
    ta, tb = ctx.types
    for t in (ta, tb):
        if t is not None and t.shape is not None and t.shape and \
                isinstance(t.shape[-1], int) and t.shape[-1] != 3:
            raise RuleError("np.cross is supported for 3-vectors along the last axis")
    ra, rb = (_rank(t) for t in ctx.types)
    if min(ra, rb) == 0:
        raise RuleError("np.cross needs vectors (arrays whose last axis has 3 elements)")
    da, db = "np.cross(b, g)", "np.cross(g, a)"
    if ra < rb:
        da = f"_unbroadcast({da}, a)"
    if rb < ra:
        db = f"_unbroadcast({db}, b)"
    if ra == rb and ra > 1:  # axes of size 1 may broadcast
        da, db = f"_unbroadcast({da}, a)", f"_unbroadcast({db}, b)"
    return "np.cross(a, b)", [da, db]


linalg("np_cross", _cross_shaped, "da = b x g, db = g x a (3-vectors along the last axis; "
       "broadcast operands summed back)", arity=2, noun="cross", infer=_cross_type,
       samples=[((), [(3,), (3,)]), ((), [(4, 3), (3,)]), ((), [(3,), (2, 3)]),
                ((), [(2, 4, 3), (4, 3)])])


def _pinv_shaped(ctx: Context):
    if _rank(ctx.types[0]) != 2:
        raise RuleError("np.linalg.pinv is supported for one matrix (rank 2)")
    return "np.linalg.pinv(a)", ["_pinv_grad(a, out, g)"]


linalg("np_linalg_pinv", _pinv_shaped,
       "X = pinv(a): -X.T g X.T + (I - a X) g.T X X.T + X.T X g.T (I - X a) (Golub and "
       "Pereyra; a of full rank, where pinv is differentiable: the helper raises ValueError "
       "otherwise)", noun="pinv",
       infer=lambda ctx: shapes.array(None) if ctx.types[0].shape is None or
       len(ctx.types[0].shape) != 2 else shapes.array(ctx.types[0].shape[::-1]),
       samples=[((), [(3, 3)]), ((), [(4, 2)]), ((), [(2, 5)])])
