"""Value types and shapes: what a value is (a Python float, an int, a float or int array) and,
where the source says, its shape.

Shapes are tuples of dimensions; a dimension is an int or a symbol (a name such as "N" from an
annotation).  A value's shape may be unknown (None): then only run-time code can tell how its
gradient must be reduced.  Annotations on parameters give shapes:

    def affine(x: "N D", w: "D M", b: "M", scale: float, y: "int N", k: int): ...

`"N D"` is a float array with dimensions N and D, `"int N"` an integer array, `float` a Python
float, `int` a Python int (integers carry no gradient).  `Annotated[np.ndarray, "N D"]` and
jaxtyping's `Float[np.ndarray, "N D"]` say the same without upsetting linters, which read a
bare string annotation as a forward reference.  An unannotated parameter is a float of
unknown kind in a function that uses numpy, and a Python float otherwise.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import itertools
import re
from typing import Optional, Union

Dim = Union[int, str]
Shape = tuple[Dim, ...]


@dataclasses.dataclass(frozen=True)
class VType:
    """kind: "float" (a Python scalar), "int", "array", "intarray", "bool", "unknown" (a
    float or a float array: decided at run time), "shape" (a tuple of ints), "list" (a list
    built while the function runs, adgen/runlists.py: shape is (length, *entry shape)),
    "sequence" (a list or tuple parameter of a fixed length, `for W, b in params`: `items`
    is its structure, facts.structure_of)."""

    kind: str
    shape: Optional[Shape] = None  # for arrays; () for scalars; None when unknown
    dim: Optional[str] = None  # for an int read from a shape: the dimension it is (N)
    items: Optional[tuple] = None  # for a sequence: ("list" or "tuple", (item, ...))

    @property
    def differentiable(self) -> bool:
        return self.kind in ("float", "array", "unknown", "list", "sequence")

    @property
    def is_array(self) -> bool:
        return self.kind in ("array", "intarray", "bool")

    @property
    def rank(self) -> Optional[int]:
        if self.kind in ("float", "int"):
            return 0
        return None if self.shape is None else len(self.shape)

    def describe(self) -> str:
        if self.kind == "sequence":
            return describe_structure(self.items)
        if self.kind in ("float", "int") or self.shape is None:
            return self.kind
        return f"{self.kind} of shape ({', '.join(str(d) for d in self.shape)})"


def describe_structure(structure) -> str:
    """'a list of 3 tuples of 2 values', 'a tuple of 2 values' (a leaf: 'a value')."""
    if structure is None:
        return "a value"
    kind, items = structure
    if isinstance(kind, tuple):  # a dict in a list: (("dict", keys), items)
        return f"a dict of {_keys_text(kind[1])}"
    return f"a {kind} of {len(items)} {_items_text(items)}"


def _items_text(items: tuple) -> str:
    if all(item is None for item in items):
        return "values"
    if len(set(items)) == 1:
        kind, inner = items[0]
        if isinstance(kind, tuple):
            return f"dicts of {_keys_text(kind[1])}"
        return f"{kind}s of {len(inner)} {_items_text(inner)}"
    return "values and containers"


def _keys_text(keys: tuple) -> str:
    return ", ".join(repr(k) for k in keys)


FLOAT = VType("float", ())
INT = VType("int", ())
UNKNOWN = VType("unknown", None)


def array(shape: Optional[Shape]) -> VType:
    return VType("array", shape)


def entry_type(t: VType) -> Optional[VType]:
    """The type of one entry of a list of type t (None when unknown)."""
    if t.kind != "list" or t.shape is None:
        return None
    return array(t.shape[1:]) if t.shape[1:] else FLOAT


def list_of(entry: Optional[VType]) -> VType:
    """A list whose entries have type `entry` (None: unknown)."""
    if entry is None or entry.shape is None or entry.kind not in ("float", "array", "int",
                                                                  "intarray"):
        return VType("list", None)
    return VType("list", (unknown_dim(),) + tuple(entry.shape))


_ARRAY_TYPES = ("np.ndarray", "numpy.ndarray", "ndarray", "Array", "jax.Array")
_DTYPE_WRAPPERS = {"Float": "", "Float64": "", "Float32": "", "Int": "int ", "Int64": "int ",
                   "Int32": "int ", "Bool": "bool ", "Shaped": ""}


def parse_annotation(text: Optional[str]) -> Optional[VType]:
    """The type an annotation's source text declares; None when it says nothing adgen
    understands.  Accepted forms:

    "N D", "int N"                      a string of dimensions (the shortest form)
    Annotated[np.ndarray, "N D"]        PEP 593: the same, and linters stay quiet
    Float[np.ndarray, "N D"], Int[...]  jaxtyping's spelling
    float, int, np.ndarray
    """
    if text is None:
        return None
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return _parse_dims(node.value)
    name = ast.unparse(node)
    if name == "float":
        return FLOAT
    if name == "int":
        return INT
    if name in _ARRAY_TYPES:
        return array(None)
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Tuple) \
            and len(node.slice.elts) == 2:
        wrapper = ast.unparse(node.value).split(".")[-1]
        base, dims = node.slice.elts
        if not (isinstance(dims, ast.Constant) and isinstance(dims.value, str)):
            return None
        if wrapper == "Annotated" and ast.unparse(base) in _ARRAY_TYPES:
            return _parse_dims(dims.value)
        if wrapper in _DTYPE_WRAPPERS:
            return _parse_dims(_DTYPE_WRAPPERS[wrapper] + dims.value)
    return None


_MULTIPLE = re.compile(r"([1-9][0-9]*)\*([A-Za-z_][A-Za-z_0-9]*)")


def multiple_of(dim: Dim) -> Optional[tuple[int, str]]:
    """(k, "H") for a dimension written "k*H" (the LSTM's stacked gates, "D 4*H"), else
    None.  Shape inference treats "4*H" as a symbol of its own; the shape check and the
    verifier's sample sizes know it is k times H."""
    match = _MULTIPLE.fullmatch(dim) if isinstance(dim, str) else None
    return (int(match.group(1)), match.group(2)) if match else None


def _parse_dims(spec: str) -> Optional[VType]:
    words = spec.replace(",", " ").split()
    kind = "array"
    if words and words[0] in ("int", "float", "bool"):
        kind = {"int": "intarray", "float": "array", "bool": "bool"}[words.pop(0)]
    dims: list[Dim] = []
    for word in words:
        if word.isdigit():
            dims.append(int(word))
        elif word.isidentifier():
            dims.append(word)
        elif _MULTIPLE.fullmatch(word):  # "4*H": a symbol of its own, 4 times H
            dims.append(word)
        else:
            return None
    if not dims and kind == "array":
        return FLOAT  # "" or "()" : a scalar
    return VType(kind, tuple(dims))


# ---------------------------------------------------------------- sizes as sums of sizes
#
# A slice's width is a difference of its bounds, and the bounds are often sizes or multiples
# of one (`a[:, H:2 * H]`, `a[:, 3 * H:]` of an (N, 4*H) array: the LSTM's gates).  A
# `Linear` is such a size: {symbol: coefficient, "": constant}, each symbol a size (>= 0).

Linear = dict


def linear(dim: Dim) -> Optional[Linear]:
    """A dimension as a sum of sizes: 3, "H", "4*H"; while `collecting`, a slice's width
    (a placeholder "_u7" whose bounds were sizes) too; None for a size nothing says."""
    if isinstance(dim, bool):
        return None
    if isinstance(dim, int):
        return {"": dim} if dim else {}
    if multiple_of(dim):
        k, base = multiple_of(dim)
        return {base: k}
    if dim.startswith("_u"):
        width = _COLLECTING[-1].widths.get(dim) if _COLLECTING else None
        return dict(width) if width is not None else None
    return {dim: 1} if dim.isidentifier() else None


def combined(a: Linear, b: Linear, sign: int = 1) -> Linear:
    """a + sign * b, without zero terms."""
    out = dict(a)
    for symbol, k in b.items():
        out[symbol] = out.get(symbol, 0) + sign * k
    return {symbol: k for symbol, k in out.items() if k}


def dimension(expr: Optional[Linear]) -> Optional[Dim]:
    """The dimension a sum of sizes is, where a shape can say it: a number >= 0, "H" or
    "k*H" (else None: "H + 1", "n - H")."""
    if expr is None:
        return None
    expr = {symbol: k for symbol, k in expr.items() if k}
    if not expr:
        return 0
    if list(expr) == [""]:
        return expr[""] if expr[""] > 0 else None
    if len(expr) == 1:
        ((symbol, k),) = expr.items()
        if k >= 1:
            return symbol if k == 1 else f"{k}*{symbol}"
    return None


def _at_least_zero(expr: Linear) -> bool:
    """Whether a sum of sizes is >= 0 whatever the sizes are."""
    return all(k >= 0 for k in expr.values())


def slice_width(size: Dim, lower, upper, step) -> Dim:
    """The width of the slice `lower:upper:step` of an axis of `size`; each bound is None
    (absent), a `Linear` (a constant, a size such as `H = x.shape[1]`, or a multiple of one)
    or False (anything else).  Exact ("H", "2*H", 3) where the bounds are within the axis
    whatever the sizes are (0 <= lower <= upper <= size: `a[:, H:2 * H]` of an (N, 4*H)
    array); else a dimension equal to no other, which, while `collecting`, remembers the
    width the bounds would give inside the axis (`n3 - 3*H` for `a[:, 3 * H:]` of an (N, n3)
    array), so that inference can solve for n3 where such widths meet."""
    placeholder = unknown_dim()
    if lower is False or upper is False or step not in (None, {"": 1}):
        return placeholder
    n = linear(size)
    bounds = []
    for bound, default in ((lower, {}), (upper, n)):
        if bound is not None and list(bound) == [""] and bound[""] < 0:  # x[:, -2:]
            bound = None if n is None else combined(n, bound)
        elif bound is None:
            bound = default
        if bound is None:
            return placeholder
        bounds.append(bound)
    low, high = bounds
    width = combined(high, low, -1)
    if n is not None and _at_least_zero(low) and _at_least_zero(width) and \
            _at_least_zero(combined(n, high, -1)) and dimension(width):  # (not 0 wide)
        return dimension(width)
    if _COLLECTING:
        _COLLECTING[-1].widths[placeholder] = width
    return placeholder


def size_of_ints(prim: str, operands: list) -> Optional[str]:
    """The size an int computed from sizes is (`2 * H` is "2*H"), or None; `operands` are
    `Linear`s (a constant, an int read from a shape) or None."""
    if any(o is None for o in operands) or len(operands) != 2:
        return None
    a, b = operands
    if prim == "add":
        expr = combined(a, b)
    elif prim == "sub":
        expr = combined(a, b, -1)
    elif prim == "mul" and (set(a) <= {""} or set(b) <= {""}):
        k, other = (a.get("", 0), b) if set(a) <= {""} else (b.get("", 0), a)
        expr = {symbol: k * v for symbol, v in other.items() if k * v}
    else:
        return None
    found = dimension(expr)
    return found if isinstance(found, str) else None


_PLACEHOLDERS = itertools.count(1)
_COLLECTING: list = []  # while inferring facts: the dimensions assumed equal (inference.py)


class Collected(list):
    """What staging assumed (inference.py): groups of dimension symbols that should be one
    (the list's items), equations between sums of sizes (`equations`: pairs of `Linear`s,
    where a slice's width meets another dimension), and the widths of slices that are not
    exact (`widths`: placeholder -> `Linear`)."""

    def __init__(self):
        super().__init__()
        self.equations: list = []
        self.widths: dict = {}


@contextlib.contextmanager
def collecting():
    """Collect, while staging, the groups of dimension symbols a broadcast or a matrix
    product needs to be equal (inference.py assumes they are)."""
    found = Collected()
    _COLLECTING.append(found)
    try:
        yield found
    finally:
        _COLLECTING.pop()


def assume_equal(*dims: Dim) -> None:
    """Record that these dimensions should be one (only while `collecting`): symbols as a
    group, and where a slice's width or a multiple ("4*H") is among them, equations."""
    if not _COLLECTING:
        return
    named = {d for d in dims if isinstance(d, str) and not d.startswith("_u")
             and not multiple_of(d)}
    if len(named) > 1 and len(named) == len(set(dims)):
        _COLLECTING[-1].append(tuple(sorted(named)))
    summed = [d for d in set(dims) if isinstance(d, str) and (
        multiple_of(d) or d in _COLLECTING[-1].widths)]
    if summed:
        exprs = [linear(d) for d in sorted(set(dims), key=str) if linear(d) is not None]
        for other in exprs[1:]:
            if combined(exprs[0], other, -1):
                _COLLECTING[-1].equations.append((exprs[0], other))


def unknown_dim() -> str:
    """A dimension nothing is known about: a symbol equal to no other (two slices of
    unknown size need not have the same size)."""
    return f"_u{next(_PLACEHOLDERS)}"


def broadcast(*shapes: Optional[Shape]) -> Optional[Shape]:
    """numpy's broadcast of known shapes (None if a shape is unknown).  The rank is always
    known then; an axis where two different symbols meet (either might be 1 at run time)
    gets a dimension of its own, equal to no other, so that its gradient is reduced at run
    time (reverse.unbroadcast)."""
    if any(s is None for s in shapes):
        return None
    rank = max((len(s) for s in shapes), default=0)
    out: list[Dim] = []
    for axis in range(rank):
        dims = {s[axis - rank + len(s)] for s in shapes if axis - rank + len(s) >= 0}
        dims.discard(1)
        if len(dims) > 1:
            assume_equal(*dims)
            out.append(unknown_dim())
            if _COLLECTING:  # (i * g: as wide as i, and as g, if they are one)
                widths = [linear(d) for d in sorted(dims, key=str)]
                widths = [w for w in widths if w is not None]
                if widths:
                    _COLLECTING[-1].widths[out[-1]] = widths[0]
        else:
            out.append(dims.pop() if dims else 1)
    return tuple(out)


def decided(source: Shape, target: Shape) -> bool:
    """Whether the shapes alone say how a gradient of shape `source` sums back to the
    broadcast operand of shape `target`: each of target's axes equals source's or is 1."""
    lead = len(source) - len(target)
    return lead >= 0 and all(t == 1 or t == s for s, t in zip(source[lead:], target))


def reduction_axes(source: Shape, target: Shape) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """How to sum a gradient of shape `source` back to a broadcast operand of shape `target`:
    (leading axes to sum away, remaining axes to sum with keepdims)."""
    lead = len(source) - len(target)
    leading = tuple(range(lead))
    kept = tuple(i for i, (s, t) in enumerate(zip(source[lead:], target)) if t == 1 and s != 1)
    return leading, kept
