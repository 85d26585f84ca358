"""Facts: what the generated code may assume about a function's parameters, from one home.

A fact about a parameter is a `shapes.VType`: a Python float or int, or a float, integer or
boolean array of some rank whose dimensions are symbols ("N") or 1.  Facts come from four
sources, in this order of precedence:

1. annotations in the source (`x: "N D"`);
2. the CLI's `--shapes 'X=N,D W1=D,H'` (parsed here);
3. the arguments of a call, for the library API (`adgen.grad(f)(X, W1, ...)`): each
   argument's kind, rank and dtype kind, and which of its dimensions are 1 or equal to each
   other -- everything the generated code depends on, so one specialisation serves every
   call with the same `pattern`;
4. inference from the function's own code, for the CLI (adgen/inference.py).

Whichever the source, the stager sees only the types; the generated function checks every
array fact at its top (emit.shape_check) and the module header lists the facts that were
assumed rather than given (`Fact.origin`).
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Sequence

from adgen import shapes
from adgen.lazy import LazyModule
from adgen.shapes import VType

np = LazyModule("numpy")  # for argument values only: generating code needs no numpy


@dataclasses.dataclass(frozen=True)
class Fact:
    """A parameter's type and where it came from (for the module header): "annotation",
    "--shapes", "arguments", or the reason it was inferred or assumed."""

    type: VType
    origin: str


def kind_of(value) -> Optional[VType]:
    """The kind of a call's argument without its shape: float, int, or an array kind; None
    for anything else (a string, a list: not a number or an array)."""
    if isinstance(value, np.ndarray):
        return VType(_ARRAY_KINDS.get(value.dtype.kind, "array"), None)
    if isinstance(value, (bool, np.bool_)):
        return shapes.INT
    if isinstance(value, (int, np.integer)):
        return shapes.INT
    if isinstance(value, (float, np.floating)):
        return shapes.FLOAT
    return None


_ARRAY_KINDS = {"f": "array", "i": "intarray", "u": "intarray", "b": "bool"}

# how deep a list or tuple parameter's structure may nest (a list of layers' (W, b) is 2)
MAX_DEPTH = 3


def structure_of(value, depth: int = 0) -> Optional[tuple]:
    """A list or tuple of numbers and arrays (or of lists, tuples and dicts of them), as a
    parameter of layers is (`[(W1, b1), (W2, b2)]`, `[{'W': W1, 'b': b1}, ...]`): ("list" or
    "tuple", (item, ...)), an item None for a number or an array; a dict in it is
    (("dict", keys), (item, ...)) with its items in key order, its keys strings.  None for
    anything else (a top-level dict is a dict of parameters: members.py reads it by key)."""
    if isinstance(value, dict) and depth > 0:
        if depth >= MAX_DEPTH or not value or not all(isinstance(k, str) for k in value):
            return None
        inner = structure_of(list(value.values()), depth)
        return None if inner is None else (("dict", tuple(value)), inner[1])
    if not isinstance(value, (list, tuple)) or depth >= MAX_DEPTH or not value:
        return None
    items = []
    for item in value:
        if isinstance(item, (list, tuple, dict)):
            inner = structure_of(item, depth + 1)
            if inner is None:
                return None
            items.append(inner)
        elif kind_of(item) is None:
            return None
        else:
            items.append(None)
    return ("list" if isinstance(value, list) else "tuple", tuple(items))


def dict_structure(value) -> Optional[tuple]:
    """The structure of a dict of parameters ({'W1': W1, 'b1': b1}) that holds numbers and
    arrays only, as a dict in a list has one: (("dict", keys), (None, ...)); else None.
    Given to a dict the function passes to a helper or reads by a computed key
    (`parameters['W' + str(l)]`: members.whole_uses), so that each entry is a member and the
    dict a value; a dict read by constant keys only is read key by key (members.py)."""
    if not isinstance(value, dict) or not value or \
            not all(isinstance(k, str) for k in value) or \
            any(kind_of(v) is None for v in value.values()):
        return None
    return structure_of(value, 1)


def dict_keys(kind) -> Optional[tuple]:
    """The keys of a dict in a structure (its kind ("dict", keys)); None for a list or
    tuple."""
    return kind[1] if isinstance(kind, tuple) else None


def sequence(structure: tuple) -> VType:
    """The type of a list or tuple parameter of this structure."""
    return VType("sequence", None, items=structure)


def signature(args: Sequence, kwargs: dict) -> tuple:
    """The exact signature of a call, cheap to compute and hash: each array's shape and
    dtype, every other argument's type (and a dict's or an object's arrays, by key).  Calls
    with the same signature share one compiled specialisation (api.py looks it up first by
    this, then by `pattern`)."""
    key = tuple([leaf_signature(a) for a in args])
    if kwargs:
        key += tuple(sorted((k, leaf_signature(v)) for k, v in kwargs.items()))
    return key


_PLAIN = (float, int, bool, str, type(None))


def leaf_signature(value, depth: int = 0, held: bool = False):
    """What a specialisation depends on in one argument: an array's shape and dtype, a
    number's type, a dict's entries by key, an object's attributes (two levels deep)."""
    if type(value) is np.ndarray:
        return value.shape, value.dtype.char
    kind = type(value)
    if kind in _PLAIN or depth > 1 + MAX_DEPTH:
        return kind
    if isinstance(value, (list, tuple)):  # (its length, at any depth: self.weights)
        return kind, tuple(leaf_signature(v, depth + 1, True) for v in value)
    if depth > 1 and not (held and kind is dict):  # (a list's dicts: their keys and arrays)
        return kind
    if kind is dict:
        return kind, tuple(sorted((str(k), leaf_signature(v, depth + 1, held))
                                  for k, v in value.items())) + ((tuple(value),) if held else ())
    attributes = getattr(value, "__dict__", None)
    if attributes is not None:
        return kind, leaf_signature(dict(attributes), depth + 1)
    return kind


def pattern(values: dict) -> tuple:
    """What the generated code depends on: each value's kind, rank and dtype kind, and which
    dimensions are 1 and which are equal to each other (sizes are renumbered by first
    appearance, so (64, 100) and (32, 10) give the same pattern, (3, 3) another)."""
    numbering: dict[int, int] = {}
    out = []
    for name in sorted(values):
        value = values[name]
        if isinstance(value, np.ndarray):
            dims = tuple(1 if n == 1 else numbering.setdefault(n, len(numbering) + 2)
                         for n in value.shape)
            out.append((name, value.dtype.kind, dims))
        elif isinstance(value, (list, tuple)):  # its entries are members, in `values` too
            out.append((name, structure_of(value) or type(value).__name__))
        elif isinstance(value, dict):  # (its keys, in order: a dict of parameters)
            out.append((name, dict_structure(value) or "dict"))
        else:
            kind = kind_of(value)
            out.append((name, kind.kind if kind is not None else type(value).__name__))
    return tuple(out)


def uniform_float(values: dict) -> bool:
    """Whether the float arrays among a call's values (and its numpy float scalars) all
    have one dtype: a specialisation for them may compute elementwise steps in place
    (adgen/inplace.py) without changing a number.  Python floats adapt to any dtype."""
    dtypes = {v.dtype for v in values.values()
              if isinstance(v, np.ndarray) and v.dtype.kind == "f"}
    dtypes |= {np.dtype(type(v)) for v in values.values() if isinstance(v, np.floating)}
    return len(dtypes) == 1


def from_arguments(values: dict, annotated: dict[str, Optional[VType]],
                   dicts: frozenset = frozenset()) -> dict[str, Fact]:
    """Facts from a call's arguments (`values`: parameter -> argument).  Dimensions of the
    same size get the same symbol (an annotation's symbol where one has that size, else
    n1, n2, ... in order of appearance); size-1 dimensions are 1.  The dicts named in
    `dicts` get their structure (dict_structure)."""
    sizes: dict[int, str] = {}
    for name, t in annotated.items():  # annotated symbols name their sizes first
        value = values.get(name)
        if t is None or not t.is_array or t.shape is None or not isinstance(value, np.ndarray):
            continue
        if len(t.shape) == value.ndim:
            for dim, n in zip(t.shape, value.shape):
                if isinstance(dim, str) and n != 1 and not shapes.multiple_of(dim):
                    sizes.setdefault(n, dim)
    taken = {d for t in annotated.values() if t is not None and t.shape for d in t.shape}
    counter = 0
    facts: dict[str, Fact] = {}
    for name, value in values.items():
        if annotated.get(name) is not None:
            facts[name] = Fact(annotated[name], "annotation")
            continue
        kind = kind_of(value)
        if kind is None:
            structure = dict_structure(value) if name in dicts else structure_of(value)
            if structure is not None:
                facts[name] = Fact(sequence(structure), "arguments")
            continue
        if kind.is_array:
            dims: list = []
            for n in value.shape:
                if n == 1:
                    dims.append(1)
                    continue
                if n not in sizes:
                    counter += 1
                    while f"n{counter}" in taken:
                        counter += 1
                    sizes[n] = f"n{counter}"
                dims.append(sizes[n])
            kind = VType(kind.kind, tuple(dims))
        facts[name] = Fact(kind, "arguments")
    return facts


def parse_shapes(text: str) -> dict[str, VType]:
    """`--shapes 'X=N,D W1=D,H b1=H y=int:N lr=float T=int params=list:3,2'`: per
    parameter, its dimensions (a 0-d value is `x=`), an optional kind prefix (`int:`,
    `bool:`), the scalar kinds `float` and `int`, a list or tuple's length (and its
    tuples' length), or a dict's keys (`dict:W1,b1`).  Raises ValueError with what is
    wrong."""
    found: dict[str, VType] = {}
    for item in text.replace(";", " ").split():
        name, sep, spec = item.partition("=")
        if not sep or not name.isidentifier():
            raise ValueError(f"{item!r} is not NAME=DIMS (for example X=N,D)")
        if spec in ("float", "int"):
            found[name] = shapes.FLOAT if spec == "float" else shapes.INT
            continue
        kind, colon, dims = spec.partition(":")
        if kind in ("list", "tuple"):  # params=list:3,2: a list of 3 tuples of 2 values
            found[name] = sequence(_uniform_structure(kind, dims, item))
            continue
        if kind == "dict":  # parameters=dict:W1,b1,W2,b2: a dict of arrays, by its keys
            keys = dims.split(",")
            if not all(k.isidentifier() for k in keys) or len(set(keys)) != len(keys):
                raise ValueError(f"{item!r}: after 'dict:' come its keys, separated by "
                                 "commas (for example dict:W1,b1,W2,b2)")
            found[name] = sequence((("dict", tuple(keys)), (None,) * len(keys)))
            continue
        if not colon:
            kind, dims = "float", spec
        if kind not in ("float", "int", "bool"):
            raise ValueError(f"{item!r}: the kind before ':' is float, int or bool")
        parsed = shapes.parse_annotation(repr(f"{kind} {dims.replace(',', ' ')}"))
        if parsed is None or (not dims and kind != "float"):
            raise ValueError(f"{item!r}: dimensions are names or numbers separated by commas")
        found[name] = parsed
    return found


def _uniform_structure(kind: str, lengths: str, item: str) -> tuple:
    """`list:3,2`: a list of 3 tuples of 2 values each (the lengths, outermost first);
    `list:3,dict:W,b`: a list of 3 dicts with the keys 'W' and 'b' (in that order)."""
    lengths, marker, keys = lengths.partition("dict:")
    counts = lengths.rstrip(",").split(",") if marker else lengths.split(",")
    names = keys.split(",") if marker else []
    if not all(c.isdigit() and int(c) > 0 for c in counts) or \
            len(counts) + bool(marker) > MAX_DEPTH or (marker and not lengths.endswith(",")) \
            or not all(n.isidentifier() for n in names) or len(set(names)) != len(names):
        raise ValueError(f"{item!r}: after '{kind}:' come its length and, for a {kind} of "
                         f"tuples, their length (for example {kind}:3 or {kind}:3,2); for "
                         f"a {kind} of dicts, 'dict:' and their keys ({kind}:3,dict:W,b)")
    structure = (("dict", tuple(names)), (None,) * len(names)) if marker else None
    for depth, count in reversed(list(enumerate(counts))):
        structure = (kind if depth == 0 else "tuple", (structure,) * int(count))
    return structure


def _uniform_lengths(structure: tuple) -> Optional[list]:
    """The lengths `list:3,2` gives (and `dict:W,b`), if `--shapes` can write this
    structure."""
    kind, items = structure
    if dict_keys(kind) is not None:
        return ["dict:" + ",".join(kind[1])] if all(item is None for item in items) and \
            all(k.isidentifier() for k in kind[1]) else None
    lengths = [len(items)]
    if all(item is None for item in items):
        return lengths
    if len(set(items)) != 1 or (items[0][0] != "tuple" and dict_keys(items[0][0]) is None):
        return None
    inner = _uniform_lengths(items[0])
    return None if inner is None else lengths + inner


def spec_of(t: VType) -> str:
    """A type as `--shapes` writes it: `N,D`, `int:N`, `float`, `int` (`` for a 0-d array)."""
    if t.kind == "float":
        return "float"
    if t.kind == "int":
        return "int"
    if t.kind == "sequence":
        lengths = _uniform_lengths(t.items)
        if lengths and dict_keys(t.items[0]) is not None:  # a dict of arrays: dict:W1,b1
            return lengths[0]
        return f"{t.items[0]}:{','.join(map(str, lengths))}" if lengths else ""
    dims = ",".join(str(d) for d in (t.shape or ()))
    prefix = {"intarray": "int:", "bool": "bool:"}.get(t.kind, "")
    return prefix + dims


def shapes_option(facts: dict[str, "Fact"]) -> str:
    """The `--shapes` value that gives these facts again (annotations need none)."""
    return " ".join(f"{name}={spec_of(fact.type)}" for name, fact in facts.items()
                    if fact.origin != "annotation" and (fact.type.shape is not None
                                                        or not fact.type.is_array)
                    and spec_of(fact.type))


def describe(name: str, t: VType) -> str:
    """`X (n1, n2)`, `y int (n1,)`, `lr float`: a parameter's fact for the module header."""
    if t.kind == "sequence":
        return f"{name}: {t.describe()}"
    if not t.is_array:
        return f"{name} {t.kind}"
    if t.shape is None:
        return f"{name} {'integer ' if t.kind == 'intarray' else ''}array (any shape)"
    dims = ", ".join(str(d) for d in t.shape)
    kind = {"intarray": " int", "bool": " bool"}.get(t.kind, "")
    return f"{name}{kind} ({dims}{',' if t.shape and len(t.shape) == 1 else ''})"


def holds(values: dict, given: dict[str, "Fact"]) -> bool:
    """Whether a call's arguments (parameter -> value) satisfy these facts: the kinds and
    ranks, each dimension that is a number, one size per dimension symbol and a multiple
    ("4*H") that many times its base's -- what the generated function's own check
    (emit.shape_check) accepts."""
    sizes: dict = {}
    for name, fact in given.items():
        t, value = fact.type, values.get(name)
        if t.kind == "sequence":
            found = dict_structure(value) if isinstance(value, dict) else structure_of(value)
            if found != t.items:
                return False
            continue
        if not t.is_array:
            if np.ndim(value) != 0:
                return False
            continue
        if not isinstance(value, np.ndarray) or t.shape is None:
            if not isinstance(value, np.ndarray):
                return False
            continue
        if value.ndim != len(t.shape):
            return False
        for dim, n in zip(t.shape, value.shape):
            if isinstance(dim, int):
                if n != dim:
                    return False
            elif sizes.setdefault(dim, n) != n:
                return False
    for dim, n in sizes.items():  # "4*H" is 4 times H, as the check says
        k, base = shapes.multiple_of(dim) or (None, None)
        if base in sizes and n != k * sizes[base]:
            return False
    return True
