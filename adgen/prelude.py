"""Prelude: what a generated module holds besides its functions, and the checks each
function makes first.

* The helpers generated code may need, defined in the module itself (it never imports adgen):
  `_unbroadcast` (a broadcast gradient summed back to its operand's shape),
  `_argmax_mask` / `_argmin_mask` (where a max or min reduction came from), `_digamma`
  (the derivative of `math.lgamma`), `_sinc_grad` (np.sinc's, by its series near 0) and
  the linear algebra's (`_svd_grad`, `_pinv_grad`, ...), np.convolve's (`_unconvolve`).
* `shape_check`: the guard at the top of a generated function, raising ValueError when the
  arguments' ranks or dimensions differ from the facts the code was generated for.
"""

from __future__ import annotations

import shlex
import textwrap

from adgen import ir
from adgen.containers import DictValue
from adgen.facts import describe
from adgen.members import expression, items_by_path
from adgen.printer import MAX_LINE, docstring_lines, pack_words
from adgen.shapes import multiple_of


def calls(name: str, exprs) -> bool:
    """Whether any expression calls the function `name` (a helper)."""
    return any(isinstance(node, ir.Call) and node.func == name
               for expr in exprs for node in ir.walk(expr))


def spellings(exprs) -> set[str]:
    """Every function called and attribute read in the expressions, in one walk: `name in
    spellings(exprs)` is `calls(name, exprs)`, and a spelling starting with a prefix is
    `uses(prefix, exprs)` (a module's every test walking all expressions again made
    emitting grow with the number of helpers times the size of the function)."""
    found: set[str] = set()
    for expr in exprs:
        for node in ir.walk(expr):
            if isinstance(node, ir.Call):
                found.add(node.func)
            elif isinstance(node, ir.Attr):
                found.add(node.dotted)
    return found


def uses(prefix: str, exprs) -> bool:
    """Whether any expression calls a function or reads an attribute starting with `prefix`
    ("math.", "np.", "_unbroadcast")."""
    return any(
        (isinstance(node, ir.Call) and node.func.startswith(prefix))
        or (isinstance(node, ir.Attr) and node.dotted.startswith(prefix))
        for expr in exprs for node in ir.walk(expr)
    )


UNBROADCAST = '''def _unbroadcast(g, x):
    """Sum the gradient g back to the shape of x (broadcasting, reversed)."""
    shape = np.shape(x)
    if np.shape(g) == shape:
        return g
    if np.ndim(g) > len(shape):
        g = np.sum(g, axis=tuple(range(np.ndim(g) - len(shape))))
    kept = tuple(i for i, n in enumerate(shape)
                 if n == 1 and np.shape(g)[i] != 1)
    return np.sum(g, axis=kept, keepdims=True) if kept else g
'''


MASK = '''def _{pick}_mask(a, axis=None):
    """1.0 at the first {word} element of a (along axis), 0.0 elsewhere."""
    mask = np.zeros(np.shape(a))
    if axis is None:
        mask.flat[np.{pick}(a)] = 1.0
    else:
        first = np.expand_dims(np.{pick}(a, axis=axis), axis)
        np.put_along_axis(mask, first, 1.0, axis)
    return mask
'''


MASK_AXES = '''def _{pick}_mask_axes(a, axes):
    """1.0 at the first {word} element of each block over axes, else 0.0."""
    axes = tuple(k % np.ndim(a) for k in axes)
    order = tuple(k for k in range(np.ndim(a)) if k not in axes) + axes
    moved = np.transpose(a, order)
    kept = moved.shape[:np.ndim(a) - len(axes)]
    flat = moved.reshape(kept + (-1,))
    mask = np.zeros(np.shape(flat))
    first = np.expand_dims(np.{pick}(flat, axis=-1), -1)
    np.put_along_axis(mask, first, 1.0, -1)
    return np.transpose(mask.reshape(moved.shape), np.argsort(order))
'''


PROD_OTHERS = '''def _prod_others(a, axis=None):
    """The product of the other elements of a along axis (all for None): the
    gradient of np.prod, without dividing (exact where a has zeros)."""
    if axis is None:
        axis = tuple(range(np.ndim(a)))
    axes = tuple(k % np.ndim(a) for k in np.atleast_1d(axis))
    order = tuple(k for k in range(np.ndim(a)) if k not in axes) + axes
    moved = np.transpose(a, order)
    flat = moved.reshape(moved.shape[:np.ndim(a) - len(axes)] + (-1,))
    ones = np.ones(flat.shape[:-1] + (1,))
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1),
                       axis=-1)
    others = (left * right[..., ::-1]).reshape(moved.shape)
    return np.transpose(others, np.argsort(order))
'''


CUMPROD_GRAD = '''def _cumprod_grad(g, a, axis=None):
    """The gradient of np.cumprod, without dividing (exact where a has zeros):
    element i gets the sum over j >= i of g[j] times the product of a[:j + 1]
    without a[i]."""
    if axis is None:
        return _cumprod_grad(g, np.ravel(a), 0).reshape(np.shape(a))
    a, g = np.moveaxis(a, axis, -1), np.moveaxis(g, axis, -1)
    n = np.shape(a)[-1]
    others = np.where(np.eye(n, dtype=bool), 1.0, a[..., np.newaxis, :])
    products = np.cumprod(others, axis=-1)
    later = np.triu(np.ones((n, n)))
    da = np.sum(products * later * g[..., np.newaxis, :], axis=-1)
    return np.moveaxis(da, -1, axis)
'''


UNSORT = '''def _unsort(g, a, axis=-1):
    """The gradient of np.sort: each element of g back where it came from."""
    if axis is None:
        return _unsort(g, np.ravel(a), 0).reshape(np.shape(a))
    out = np.zeros(np.shape(a))
    np.put_along_axis(out, np.argsort(a, axis=axis), g, axis)
    return out
'''


UNDIAG = '''def _undiag(g, a, k=0):
    """The gradient of the k-th diagonal of the matrix a: g on it, else 0.0."""
    out = np.zeros(np.shape(a))
    rows = np.arange(np.shape(g)[-1]) + max(-k, 0)
    out[rows, rows + k] = g
    return out
'''


UNTAKE = '''def _untake(g, a, indices, axis=None):
    """The gradient of np.take: g added back at the indices (repeated ones add
    up)."""
    out = np.zeros(np.shape(a))
    if axis is None:
        np.add.at(out.reshape(-1), indices, g)
    else:
        index = (slice(None),) * (axis % np.ndim(a)) + (indices,)
        np.add.at(out, index, g)
    return out
'''


UNTAKE_ALONG = '''def _untake_along(g, a, indices, axis):
    """The gradient of np.take_along_axis: g added back at the indices."""
    axis = axis % np.ndim(a)
    grid = list(np.indices(np.shape(indices), sparse=True))
    grid[axis] = indices
    out = np.zeros(np.shape(a))
    np.add.at(out, tuple(grid), g)
    return out
'''


CHOLESKY_GRAD = '''def _cholesky_grad(low, g):
    """The gradient of low = np.linalg.cholesky(a) (Murray 2016), on the lower
    triangle of a (the part numpy reads)."""
    p = np.tril(low.T @ g)
    p = p - np.diag(np.diag(p)) / 2
    s = np.linalg.solve(low.T, np.linalg.solve(low.T, p.T).T)
    s = (s + s.T) / 2
    return np.tril(2 * s) - np.diag(np.diag(s))
'''


EIGH_GRAD = '''def _eigh_grad(a, gw, gv):
    """The gradient of np.linalg.eigh(a)'s eigenvalues (gw) or eigenvectors
    (gv), on the lower triangle of a (the part numpy reads)."""
    w, v = np.linalg.eigh(a)
    if gv is None:
        s = (v * gw) @ v.T
    else:
        gaps = w[np.newaxis, :] - w[:, np.newaxis]
        off = ~np.eye(len(w), dtype=bool)
        if np.any(gaps[off] == 0):
            raise ValueError("eigh: repeated eigenvalues, its eigenvectors "
                             "have no gradient there")
        f = np.where(off, 1.0 / np.where(off, gaps, 1.0), 0.0)
        s = v @ (f * (v.T @ gv)) @ v.T
        s = (s + s.T) / 2
    return np.tril(2 * s) - np.diag(np.diag(s))
'''


SVD_GRAD = '''def _svd_grad(a, gu, gs, gvh):
    """The gradient of np.linalg.svd(a, full_matrices=False) from the gradient
    of one of u, s, vh (Townsend 2016)."""
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    if gs is not None:
        return (u * gs) @ vh
    m, n = np.shape(a)
    squares = s ** 2
    gaps = squares[np.newaxis, :] - squares[:, np.newaxis]
    off = ~np.eye(len(s), dtype=bool)
    if np.any(gaps[off] == 0) or np.any(s == 0):
        raise ValueError("svd: repeated or zero singular values, its u and vh "
                         "have no gradient there")
    f = np.where(off, 1.0 / np.where(off, gaps, 1.0), 0.0)
    if gu is not None:
        ug = u.T @ gu
        da = u @ (f * (ug - ug.T) * s[np.newaxis, :]) @ vh
        if m > n:
            da = da + (np.eye(m) - u @ u.T) @ (gu / s) @ vh
        return da
    v, gv = vh.T, gvh.T
    vg = v.T @ gv
    da = u @ (s[:, np.newaxis] * (f * (vg - vg.T))) @ vh
    if m < n:
        da = da + (u / s) @ gv.T @ (np.eye(n) - v @ vh)
    return da
'''


UNSPLIT = '''def _unsplit(g, a, sections, axis, part):
    """The gradient of one part of np.array_split(a, sections, axis): g in its
    place, 0.0 elsewhere."""
    out = np.zeros(np.shape(a))
    np.array_split(out, sections, axis=axis)[part][...] = g
    return out
'''


UNCONCATENATE = '''def _unconcatenate(g, parts, axis):
    """The gradient of np.concatenate(parts, axis) for the list parts: each
    part's slice of g, stacked (the parts must have one shape)."""
    sizes = [np.shape(p)[axis] for p in parts]
    return np.stack(np.split(g, np.cumsum(sizes)[:-1], axis=axis))
'''


LIST_SUM = '''def _list_sum(items):
    """sum(items), the builtin (no name of the caller can hide it here)."""
    return sum(items)
'''


# math has no digamma (the derivative of lgamma): recurrence up to 10, then the asymptotic
# series (error below 1e-15 there); reflection for a < 0.5.
DIGAMMA = '''def _digamma(a):
    """psi(a) = d lgamma(a) / da (math has no digamma)."""
    if a <= 0 and a == math.floor(a):
        return math.nan
    if a < 0.5:
        return _digamma(1.0 - a) - math.pi / math.tan(math.pi * a)
    psi = 0.0
    while a < 10.0:
        psi -= 1.0 / a
        a += 1.0
    r = 1.0 / (a * a)
    series = r * (1 / 12 - r * (1 / 120 - r * (1 / 252 - r * (
        1 / 240 - r * (1 / 132 - r * 691 / 32760)))))
    return psi + math.log(a) - 0.5 / a - series
'''


SINC_GRAD = '''def _sinc_grad(a, out):
    """d sinc(a) / da for out = np.sinc(a): (cos(pi a) - sinc(a)) / a, whose
    digits cancel near 0, where its Taylor series is used (0 at 0)."""
    near = np.abs(a) < 0.01
    a2 = a * a
    series = a * (a2 * (np.pi ** 4 / 30 - np.pi ** 6 / 840 * a2) - np.pi ** 2 / 3)
    closed = (np.cos(np.pi * a) - out) / np.where(near, 1.0, a)
    return np.where(near, series, closed)
'''


PINV_GRAD = '''def _pinv_grad(a, x, g):
    """The gradient of x = np.linalg.pinv(a) (Golub and Pereyra): a must have
    full rank, where pinv is differentiable (it jumps where the rank changes)."""
    if np.linalg.matrix_rank(a) < min(np.shape(a)):
        raise ValueError("pinv: a rank-deficient matrix, where pinv has no "
                         "gradient")
    return (-x.T @ g @ x.T + (g.T - a @ (x @ g.T)) @ x @ x.T
            + x.T @ x @ (g.T - g.T @ x @ a))
'''


UNCONVOLVE = '''def _unconvolve(g, a, v, mode):
    """The gradient of np.convolve(a, v, mode) with respect to a.  numpy's
    'same' and 'valid' are slices of the full convolution, at a place that
    depends only on the shorter length (so in either order of a and v): g goes
    back in its place in the full one, which is then correlated with v."""
    k = min(len(a), len(v)) - 1
    start = {"same": k // 2, "valid": k}[mode]
    full = np.zeros(len(a) + len(v) - 1)
    full[start:start + len(g)] = g
    return np.correlate(full, v, "valid")
'''


HELPERS = {
    "_unbroadcast": UNBROADCAST,
    "_unconvolve": UNCONVOLVE,
    "_pinv_grad": PINV_GRAD,
    "_sinc_grad": SINC_GRAD,
    "_argmax_mask": MASK.format(pick="argmax", word="largest"),
    "_argmin_mask": MASK.format(pick="argmin", word="smallest"),
    "_digamma": DIGAMMA,
    "_argmax_mask_axes": MASK_AXES.format(pick="argmax", word="largest"),
    "_argmin_mask_axes": MASK_AXES.format(pick="argmin", word="smallest"),
    "_prod_others": PROD_OTHERS,
    "_cumprod_grad": CUMPROD_GRAD,
    "_cholesky_grad": CHOLESKY_GRAD,
    "_eigh_grad": EIGH_GRAD,
    "_svd_grad": SVD_GRAD,
    "_unsplit": UNSPLIT,
    "_unconcatenate": UNCONCATENATE,
    "_list_sum": LIST_SUM,
    "_unsort": UNSORT,
    "_undiag": UNDIAG,
    "_untake": UNTAKE,
    "_untake_along": UNTAKE_ALONG,
}
# The module each helper's body uses ("np" when not listed).
HELPER_MODULES = {"_digamma": "math"}


def dtype_check(grad: ir.Gradient, name: str, seed: bool = False) -> list[str]:
    """`if <the float arrays differ in dtype>: raise ValueError`: a specialisation that
    computes steps in place (adgen/inplace.py) relies on one float dtype, or `out=` would
    round a float64 result to float32.  With `seed`, the backward pass does too: the
    upstream gradient must be a Python number or of the arrays' dtype."""
    fn = grad.function
    arrays = [var for var in fn.inputs
              if (t := fn.types.get(var)) is not None and t.kind == "array"]
    upstream = _seed_check(grad, name, arrays[0]) if seed and arrays else []
    if len(arrays) < 2:
        return upstream
    lines = [f"    if not {' == '.join(f'{var}.dtype' for var in arrays)}:"]
    if len(lines[0]) > MAX_LINE:  # `if not (a.dtype == b.dtype` / `        == c.dtype):`
        lines, current = [], f"    if not ({arrays[0]}.dtype"
        for var in arrays[1:]:
            piece = f" == {var}.dtype"
            if len(current) + len(piece) + 2 > MAX_LINE:
                lines.append(current)
                current = " " * 12 + piece[1:]
            else:
                current += piece
        lines.append(current + "):")
    message = f"{name}: computes in place for float arrays of one dtype"
    return lines + _raise_lines(message) + upstream


def _seed_check(grad: ir.Gradient, name: str, array: str) -> list[str]:
    """`if <the upstream gradient is a numpy value of another dtype>: raise ValueError`."""
    seed = grad.seed
    test = (f"    if not ({seed}.__class__ in (float, int) or "
            f"{seed}.dtype == {array}.dtype):")
    if len(test) > MAX_LINE:
        test = f"    if not ({seed}.__class__ in (float, int)\n            or {seed}.dtype == {array}.dtype):"
    message = (f"{name}: computes in place: {seed} must be a Python number or of "
               f"{array}'s dtype")
    return test.split("\n") + _raise_lines(message)


def _raise_lines(message: str) -> list[str]:
    """`raise ValueError("message")` in the body of a guard, within the line length."""
    if len(message) + 27 <= MAX_LINE:
        return [f'        raise ValueError("{message}")']
    words = textwrap.wrap(message, MAX_LINE - 16, drop_whitespace=False)
    return ["        raise ValueError("] + [
        f'            "{w}"' for w in words[:-1]] + [f'            "{words[-1]}")']


def shape_check(grad: ir.Gradient, name: str) -> list[str]:
    """`if <an array's rank or a dimension differs from its annotation>: raise ValueError`:
    the gradient code relies on the annotated shapes, so it checks them (cheap attribute
    reads, in order, each rank before that array's dimensions)."""
    fn = grad.function
    conditions, first_seen = [], {}
    assumed = dict(fn.facts)
    for var in fn.inputs:
        t = fn.types.get(var)
        if t is not None and t.kind in ("float", "int") and var in assumed:
            conditions.append(f"np.ndim({var}) != 0")  # a number, not an array
            continue
        if t is None or not t.is_array or t.shape is None:
            continue
        conditions.append(f"{var}.ndim != {len(t.shape)}")
        if t.kind == "bool":  # a mask: the gradient code relies on it not being indices
            conditions.append(f"{var}.dtype.kind != 'b'")
        for axis, dim in enumerate(t.shape):
            here = f"{var}.shape[{axis}]"
            if isinstance(dim, int):
                conditions.append(f"{here} != {dim}")
            elif dim in first_seen:
                conditions.append(f"{here} != {first_seen[dim]}")
            else:
                first_seen[dim] = here
    for dim, here in first_seen.items():  # "4*H" is 4 times H
        k, base = multiple_of(dim) or (None, None)
        if base in first_seen:
            conditions.append(f"{here} != {k} * {first_seen[base]}")
    why = "shapes differ from the annotations" if not assumed else \
        "the arguments differ from the shapes it was generated for (see the module header)"
    return _raise_if(conditions, f"{name}: {why}")


def length_check(grad: ir.Gradient, name: str) -> list[str]:
    """`if len(params) != 3 ...: raise ValueError`: a list or tuple parameter's entries are
    read by position (members.find), so the generated code holds for its length alone --
    an extra layer must not be left out silently."""
    conditions = []
    for param, fact in grad.function.facts:
        if fact.type.kind == "sequence":
            conditions += _length_conditions(param, fact.type.items)
    for (param, path), tree in items_by_path(list(grad.function.members)).items():
        if not path:  # (a parameter's own: its fact above)
            continue
        # a list a structured parameter holds (self.weights): as long as it was
        held = expression(ir.Member("", param, path))
        conditions += _length_conditions(held, _structure(tree))
    return _raise_if(conditions, f"{name}: the arguments differ from the lengths it was "
                     "generated for (see the module header)")


def _structure(tree: tuple) -> tuple:
    """The structure (facts.structure_of) of nested tuples (and dicts: a list of layers'
    dicts) of members' names."""
    kind = "tuple"
    if isinstance(tree, DictValue):
        kind, tree = ("dict", tuple(tree.items)), tuple(tree.items.values())
    return (kind, tuple(None if isinstance(item, ir.Name) else _structure(item)
                        for item in tree))


def _length_conditions(text: str, structure: tuple) -> list[str]:
    kind, items = structure
    keys = kind[1] if isinstance(kind, tuple) else range(len(items))  # a dict's by key
    conditions = [f"len({text}) != {len(items)}"]
    if len(set(items)) == 1 and items[0] is not None and \
            all(inner is None for inner in items[0][1]):  # pairs: one test for them all
        item = "item" if text != "item" else "entry"
        conditions.append(f"any(len({item}) != {len(items[0][1])} for {item} in {text})")
        return conditions
    for key, inner in zip(keys, items):
        if inner is not None:
            conditions += _length_conditions(f"{text}[{key!r}]", inner)
    return conditions


def _raise_if(conditions: list[str], message: str) -> list[str]:
    """`if <any condition>: raise ValueError(message)`, within the line length."""
    if not conditions:
        return []
    lines = [f"    if {' or '.join(conditions)}:"]
    if len(lines[0]) > MAX_LINE:
        lines = pack_words(conditions, "    if (", " " * 12, "):")
    raise_line = f'        raise ValueError("{message}")'
    if len(raise_line) <= MAX_LINE:
        return lines + [raise_line]
    words = textwrap.wrap(message, MAX_LINE - 28, drop_whitespace=False)
    literals = [f'"{w}"' for w in words]  # string literals, one per line
    return lines + [f"        raise ValueError({literals[0]}"] + [
        f"                         {w}" for w in literals[1:-1]] + [
        f"                         {literals[-1]})"] if len(literals) > 1 else \
        lines + [f"        raise ValueError({literals[0]})"]


_SOURCES = {"arguments": "the arguments of a call", "--shapes": "--shapes"}


def facts_paragraphs(grads: list[ir.Gradient], names: list[str]) -> list[str]:
    """Header lines stating the parameters' facts that are not annotations: what each
    function was generated for (given by the arguments or --shapes), then what was assumed
    (inferred from the code, each with its reason)."""
    lines: list[str] = []
    for grad, name in zip(grads, names):
        given = [(p, f) for p, f in grad.function.facts if f.origin in _SOURCES]
        assumed = [(p, f) for p, f in grad.function.facts if f.origin not in _SOURCES]
        if given:
            origins = sorted({_SOURCES[f.origin] for _, f in given})
            text = ", ".join(describe(p, f.type) for p, f in given)
            lines += [""] + docstring_lines(
                f"{name} is generated for {text} (from {' and '.join(origins)}); it checks "
                "them.", "")
        note = grad.function.cache_note
        if note is not None:
            from adgen.layers import backward_name

            lines += [""] + docstring_lines(
                f"{backward_name(grad.function)}(dout, cache) is not written: the cache "
                f"'{note[0]}' {grad.function.name} returns on line {note[1].line} is not built "
                f"the same way on every path ({note[2]}), so no one backward can unpack it; "
                f"{name} differentiates out on every path.", "")
        if assumed:
            lines += [""] + docstring_lines(f"{name} assumes (nothing in the source says "
                                            "otherwise; it checks them):", "")
            for p, f in assumed:
                lines += textwrap.wrap(f"{describe(p, f.type)}: {f.origin}", MAX_LINE,
                                       initial_indent="    ", subsequent_indent="        ",
                                       break_on_hyphens=False)
    return lines


def command_lines(command: str) -> list[str]:
    """The command that regenerates the module, indented, within the line length: broken
    with shell line continuations (between options, and between `-f NAME`s), a long
    `--shapes` value spread over several `--shapes` options (the command takes it
    repeated)."""
    if len(command) + 4 <= MAX_LINE:
        return [f"    {command}"]
    words = shlex.split(command)
    pieces: list[str] = []
    i = 0
    while i < len(words):
        if words[i] == "--shapes" and i + 1 < len(words):
            for part in textwrap.wrap(words[i + 1], MAX_LINE - 24, break_long_words=False):
                pieces.append(f"--shapes '{part}'")
            i += 2
        elif words[i].startswith("-") and i + 1 < len(words) and \
                not words[i + 1].startswith("-"):
            pieces.append(f"{words[i]} {shlex.quote(words[i + 1])}")
            i += 2
        else:
            pieces.append(shlex.quote(words[i]))
            i += 1
    lines, current = [], "    " + pieces[0]
    for piece in pieces[1:]:
        if len(current) + 1 + len(piece) + 2 > MAX_LINE:
            lines.append(current + " \\")
            current = "        " + piece
        else:
            current += " " + piece
    return lines + [current]
