"""Inference: the facts the CLI takes from a function's own code when nothing else gives them.

`adgen FILE` has no arguments to look at (the library API does: facts.from_arguments), so
for array code without annotations it reads the facts off the function, in two steps:

1. **Evidence** in the source: `N, D = X.shape` (X has 2 axes, named N and D), `X.shape[2]`
   (at least 3), `len(xs)`, `for x in xs`, `xs[t]` (at least 1), `range(T)` and sizes such
   as `np.zeros((N, H))` (T and N are ints), a parameter used as an index next to
   `np.arange(N)` (an integer label array, `probs[np.arange(N), y]`).
2. **Assumptions where a rule needs them**: the function is staged; where a rule cannot go
   on without a rank (`X @ W` needs to know which transpose), the parameter the operand
   comes from is assumed to have the common rank -- a matrix for `@`, one axis more for
   `xs[t] @ W`, a vector over the last axis for a bias added to a matrix (`X @ W1 + b1`)
   -- and the function is staged again, until nothing more is needed.  Dimensions that
   meet in a broadcast or a matrix product are assumed equal (`W1.shape[1]` is `b1`'s
   size).

Every inferred fact keeps its reason (`Fact.origin`, e.g. "an operand of @ on line 6"): the
module header lists them, and the generated function checks them at its top, so a call
with other ranks or shapes fails loudly rather than computing a wrong gradient.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import libcst as cst

from adgen import ir, shapes
from adgen.children import children
from adgen.diagnostics import AdgenError
from adgen.facts import Fact
from adgen.rules import REGISTRY
from adgen.shapes import VType

MAX_ROUNDS = 60


@dataclasses.dataclass
class _Evidence:
    """What the source says about one parameter."""

    rank: Optional[int] = None  # exact (N, D = x.shape)
    min_rank: int = 0
    names: dict = dataclasses.field(default_factory=dict)  # axis -> the user's name for it
    kind: Optional[str] = None  # "int" or "intarray"
    why: str = ""


def infer(parsed, node: cst.FunctionDef, declared: dict, stage) -> dict[str, Fact]:
    """Facts for the parameters `declared` (annotations, --shapes) leaves unknown, from
    `node`'s code; `stage(declared, infer=True)` stages it and returns the stager (which
    holds what it still needed)."""
    params = list(declared)
    unknown = [p for p in params if declared[p] is None]
    if not unknown:
        return {}
    evidence = _read_evidence(parsed, node, set(unknown))
    found: dict[str, Fact] = {}
    counter = [0]

    def fresh() -> str:
        counter[0] += 1
        while any(f"n{counter[0]}" in (t.shape or ()) for t in declared.values() if t):
            counter[0] += 1
        return f"n{counter[0]}"

    for name, ev in evidence.items():  # exact evidence: a kind, or a rank by unpacking
        if ev.kind == "int":
            found[name] = Fact(shapes.INT, ev.why)
        elif ev.kind == "indices" and ev.rank is None:  # an int or an integer array
            dims = tuple(ev.names.get(axis) or fresh() for axis in range(ev.min_rank))
            found[name] = Fact(VType("intarray", dims if dims else None), ev.why)
        elif ev.kind == "intarray" or ev.rank is not None:
            rank = ev.rank if ev.rank is not None else max(ev.min_rank, 1)
            dims = tuple(ev.names.get(axis) or fresh() for axis in range(rank))
            kind = "intarray" if ev.kind == "intarray" else "array"
            found[name] = Fact(VType(kind, dims), ev.why)

    def named(p: str, want: Fact) -> Fact:  # the axes the code names keep their names
        t, ev = want.type, evidence.get(p)
        if ev is None or not t.is_array or t.shape is None:
            return want
        dims = tuple(ev.names.get(axis, d) for axis, d in enumerate(t.shape))
        return Fact(VType(t.kind, dims), want.origin)

    for _ in range(MAX_ROUNDS):
        types = {p: (found[p].type if p in found else declared[p]) for p in params}
        with shapes.collecting() as equal:
            stager = stage(types)
        wants = {p: named(p, f) for p, f in _wants(stager, found, fresh).items()}
        merged = _unify(found, equal)
        if not wants and not merged:
            break
        found.update(wants)
    return _renumbered(found, params, declared)


def _renumbered(found: dict, params: list, declared: dict) -> dict:
    """The invented dimension names renumbered n1, n2, ... in order of appearance."""
    taken = {d for t in declared.values() if t and t.shape for d in t.shape}
    names: dict = {}
    for p in params:
        t = found[p].type if p in found else None
        for d in (t.shape or ()) if t is not None else ():
            d = shapes.multiple_of(d)[1] if shapes.multiple_of(d) else d  # "4*n3": n3
            if isinstance(d, str) and d[:1] == "n" and d[1:].isdigit() and d not in names:
                k = len(names) + 1
                while f"n{k}" in taken:
                    k += 1
                names[d] = f"n{k}"
                taken.add(names[d])
    out = {}
    for p, fact in found.items():
        t = fact.type
        if t.shape is not None:
            t = VType(t.kind, tuple(_renamed(d, names) for d in t.shape))
        out[p] = Fact(t, fact.origin)
    return out


def _renamed(d, names: dict):
    """A dimension renamed, a multiple's base too ("4*n5" -> "4*n2")."""
    if shapes.multiple_of(d):
        k, base = shapes.multiple_of(d)
        return f"{k}*{names.get(base, base)}"
    return names.get(d, d)


# ---------------------------------------------------------------- evidence


def _read_evidence(parsed, node: cst.FunctionDef, unknown: set[str]) -> dict[str, _Evidence]:
    found: dict[str, _Evidence] = {}

    def ev(name: str) -> _Evidence:
        return found.setdefault(name, _Evidence())

    def line(n: cst.CSTNode) -> int:
        return parsed.pos(n).line

    def at_least(name: str, rank: int, why: str) -> None:
        e = ev(name)
        if rank > e.min_rank:
            e.min_rank = rank
            if e.rank is None:
                e.why = why

    scope = parsed.scope
    pending: list[cst.CSTNode] = [node.body]
    while pending:
        current = pending.pop()
        pending.extend(children(current))
        if isinstance(current, cst.Assign) and len(current.targets) == 1:
            target, value = current.targets[0].target, current.value
            base = _shape_of(value)
            if base in unknown and isinstance(target, (cst.Tuple, cst.List)):
                names = [el.value.value if isinstance(el.value, cst.Name) else None
                         for el in target.elements]
                e = ev(base)
                e.rank, e.why = len(names), f"unpacked as {_code(parsed, current)} on " \
                    f"line {line(current)}"
                e.names.update({k: n for k, n in enumerate(names) if n})
            axis = _shape_axis(value)
            if axis is not None and axis[0] in unknown and isinstance(target, cst.Name):
                ev(axis[0]).names[axis[1]] = target.value
            if isinstance(value, cst.Call) and scope.qualify(value.func) == "len" and \
                    value.args and _name(value.args[0].value) in unknown and \
                    isinstance(target, cst.Name):
                ev(_name(value.args[0].value)).names.setdefault(0, target.value)
        axis = _shape_axis(current) if isinstance(current, cst.Subscript) else None
        if axis is not None and axis[0] in unknown:
            at_least(axis[0], axis[1] + 1, f"{_code(parsed, current)} on line {line(current)}")
        if isinstance(current, cst.Call):
            callee = scope.qualify(current.func)
            args = [a.value for a in current.args if a.keyword is None]
            if callee in ("len", "enumerate") and args and _name(args[0]) in unknown:
                at_least(_name(args[0]), 1, f"{callee}() of it on line {line(current)}")
            sizes = args if callee in ("range", "numpy.zeros", "numpy.ones", "numpy.arange",
                                       "numpy.full", "math.factorial", "math.comb",
                                       "math.perm") else []
            if callee in ("numpy.zeros", "numpy.ones", "numpy.full") and args and \
                    isinstance(args[0], (cst.Tuple, cst.List)):
                sizes = [el.value for el in args[0].elements]
            if isinstance(current.func, cst.Attribute) and current.func.attr.value == "reshape":
                sizes = args
            if callee == "numpy.pad" and len(args) > 1:  # np.pad(x, ((0,), (pad,)))
                sizes = sizes + _int_terms(args[1])
            for size in sizes:
                if _name(size) in unknown:
                    e = ev(_name(size))
                    e.kind, e.why = "int", f"a size or a count on line {line(current)}"
        if isinstance(current, cst.Slice):  # x[i * stride:i * stride + HH]: ints
            for bound in (current.lower, current.upper, current.step):
                for term in _int_terms(bound) if bound is not None else ():
                    if _name(term) in unknown and ev(_name(term)).kind is None:
                        e = ev(_name(term))
                        e.kind, e.why = "int", f"a slice bound on line {line(current)}"
        if isinstance(current, cst.For) and _name(current.iter) in unknown:
            at_least(_name(current.iter), 1, f"looped over on line {line(current)}")
        if isinstance(current, cst.Subscript) and _shape_axis(current) is None:
            entries = [el.slice for el in current.slice]
            indexed = _name(current.value)
            count = sum(1 for e in entries if not (isinstance(e, cst.Index) and
                                                    _is_newaxis(e.value, scope)))
            if indexed in unknown:
                at_least(indexed, count, f"indexed as {_code(parsed, current)} on line "
                         f"{line(current)}")
            rows = [e.value for e in entries if isinstance(e, cst.Index) and
                    isinstance(e.value, cst.Call) and
                    scope.qualify(e.value.func) in ("numpy.arange", "range")]
            with_rows = bool(rows)
            count_name = _name(rows[0].args[0].value) if rows and rows[0].args else None
            counted = rows[0].args[0].value if rows and rows[0].args else None
            if isinstance(counted, cst.Call) and scope.qualify(counted.func) == "len" and \
                    counted.args and _name(counted.args[0].value) is not None:
                # probs[np.arange(len(y)), y]: as many rows as y has entries
                count_name = f"len_{_name(counted.args[0].value)}"
                if _name(counted.args[0].value) in unknown:
                    ev(_name(counted.args[0].value)).names.setdefault(0, count_name)
            if with_rows and indexed in unknown and ev(indexed).rank is None:
                # scores[np.arange(N), y]: one entry per row of a table (N rows)
                e = ev(indexed)
                e.rank = count
                e.why = f"picked per row as {_code(parsed, current)} on line {line(current)}"
                if count_name is not None:
                    e.names.setdefault(0, count_name)
            for e in entries:
                label = _name(e.value) if isinstance(e, cst.Index) else None
                if isinstance(e, cst.Index) and isinstance(e.value, cst.Subscript) and \
                        _name(e.value.value) in unknown:  # scores[y[i]]: y holds indices
                    label = _name(e.value.value)
                if label not in unknown or ev(label).kind == "int":
                    continue
                if with_rows:  # probs[np.arange(N), y]: one label per row (N of them)
                    ev(label).kind, ev(label).rank = "intarray", 1
                    if count_name is not None:
                        ev(label).names.setdefault(0, count_name)
                    ev(label).why = f"labels, {_code(parsed, current)} on line {line(current)}"
                elif ev(label).kind is None:  # W[x]: integer indices, no gradient
                    ev(label).kind = "indices"
                    ev(label).why = f"indices, {_code(parsed, current)} on line {line(current)}"
    return found


def _may_size(parsed, node: cst.FunctionDef) -> bool:
    """Whether a function may call something that takes sizes or counts (`range(n)`,
    `np.zeros(n)`, `x.reshape(n, m)`: the only evidence of an integer, `kind == "int"`);
    not when Python's own tree of it calls nothing by such a name (or an imported one),
    which spares scalar code a walk of its whole libcst tree."""
    outline = parsed.outline(node)
    if outline is None:
        return True
    names, attributes = outline.names, outline.attributes
    return "range" in names or not names.isdisjoint(parsed.scope.imported) or \
        not names.isdisjoint(parsed.scope.modules) or \
        not attributes.isdisjoint(("zeros", "ones", "arange", "full", "reshape", "factorial",
                                   "comb", "perm"))


def _name(node) -> Optional[str]:
    return node.value if isinstance(node, cst.Name) else None


def _int_terms(node) -> list:
    """The terms of an expression that must be an int: `pad` of `(pad, pad)`, `i`, `stride`
    and `HH` of `i * stride + HH` (sums, differences, products and floor quotients of ints,
    and the entries of tuples of them)."""
    if isinstance(node, (cst.Tuple, cst.List)):
        return [t for el in node.elements for t in _int_terms(el.value)]
    if isinstance(node, cst.BinaryOperation) and isinstance(
            node.operator, (cst.Add, cst.Subtract, cst.Multiply, cst.FloorDivide)):
        return _int_terms(node.left) + _int_terms(node.right)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        return _int_terms(node.expression)
    return [node]


def _shape_of(node) -> Optional[str]:
    """p for `p.shape`."""
    if isinstance(node, cst.Attribute) and node.attr.value == "shape":
        return _name(node.value)
    return None


def _shape_axis(node) -> Optional[tuple[str, int]]:
    """(p, k) for `p.shape[k]` with a constant k >= 0."""
    if not isinstance(node, cst.Subscript) or _shape_of(node.value) is None or \
            len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
        return None
    index = node.slice[0].slice.value
    if isinstance(index, cst.Integer):
        return _shape_of(node.value), int(index.value)
    return None


def _is_newaxis(node, scope) -> bool:
    return (isinstance(node, cst.Name) and node.value == "None") or (
        isinstance(node, cst.Attribute) and scope.qualify(node) == "numpy.newaxis")


def _code(parsed, node) -> str:
    text = " ".join(parsed.code(node).split())
    return text if len(text) <= 40 else text[:37] + "..."


# ---------------------------------------------------------------- assumptions


def _wants(stager, found: dict, fresh) -> dict[str, Fact]:
    """Parameter facts that would let the rules the stager could not apply go on."""
    # the first request that gives any; the fallbacks (x[0]: a vector) only when no other
    # does, the one with the most axes for each parameter
    most: dict = {}
    vague = {r[0][0].id for r in stager.fallback_requests if r[1] is None}
    for request in stager.fallback_requests:
        key = request[0][0].id
        if key not in vague and (key not in most or request[1] > most[key][1]):
            most[key] = request
    def traced(request) -> dict[str, Fact]:
        operands, rank, line, what = request
        wants: dict[str, Fact] = {}
        for operand in operands:
            _trace(stager, operand, rank, f"{what} on line {line}", wants, fresh, set())
        return {p: f for p, f in wants.items() if p not in found or found[p].type != f.type}

    for request in stager.rank_requests + list(most.values()):
        wants = traced(request)  # (the later ones may be known once it is)
        if wants:
            break
    else:
        return {}
    # a reduction along an axis says how many axes its operand has at least, where a
    # product's "both matrices" is only the common case: where a reduction needs more axes
    # than that gives, the reduction wins (x[0] @ W, then .sum(axis=1): x has three axes)
    for request in stager.rank_requests:
        if request[3].startswith("reduced along"):
            demanded = traced(request)
            wants.update({p: f for p, f in demanded.items()
                          if p in wants and (wants[p].type.rank or 0) < (f.type.rank or 0)})
    return wants


def _unknown_rank(t: Optional[VType]) -> bool:
    return t is None or t.kind == "unknown" or (t.is_array and t.shape is None)


def _trace(stager, operand, rank: int, why: str, wants: dict, fresh, seen: set) -> None:
    """Find the parameter `operand`'s rank comes from and want it to give `rank`."""
    if not isinstance(operand, ir.Name) or operand.id in seen or rank < 0:
        return
    seen.add(operand.id)
    t = stager.types.get(operand.id)
    if not _unknown_rank(t):
        return
    if operand.id in stager.param_types:  # a parameter itself
        if operand.id not in wants:
            kind = "intarray" if t is not None and t.kind == "intarray" else "array"
            wants[operand.id] = Fact(shapes.FLOAT if rank == 0 and kind == "array" else
                                     VType(kind, tuple(fresh() for _ in range(rank))), why)
        return
    stmt = stager.defs.get(operand.id)
    if stmt is None:
        return
    rule = REGISTRY[stmt.prim]
    attrs = dict(stmt.attrs)
    if stmt.prim in ("copy", "neg", "transpose", "copy_method", "np_copy") or \
            stmt.prim.startswith("np_") and rule.elementwise and len(stmt.args) == 1:
        _trace(stager, stmt.args[0], rank, why, wants, fresh, seen)
    elif rule.elementwise:
        types = [stager.types.get(a.id) if isinstance(a, ir.Name) else shapes.FLOAT
                 for a in stmt.args]
        ranked = [t for t in types if not _unknown_rank(t) and t.rank == rank and t.shape]
        for arg, t in zip(stmt.args, types):
            if not _unknown_rank(t):
                continue
            if not ranked:  # the first unknown operand has the rank; the others follow
                _trace(stager, arg, rank, why, wants, fresh, seen)
                break
            if isinstance(arg, ir.Name) and arg.id in stager.param_types:
                # added: a bias over the last axis of the other operand (X @ W + b);
                # subtracted: a target of the same shape (pred - t)
                if arg.id not in wants:
                    dims = tuple(fresh() if isinstance(d, str) and d.startswith("_u") else d
                                 for d in ranked[0].shape)  # (unknown yet: unified later)
                    if stmt.prim == "sub":
                        wants[arg.id] = Fact(VType("array", dims), f"{why}, taken as the "
                                             "same shape")
                    else:
                        wants[arg.id] = Fact(VType("array", dims[-1:]), f"{why}, taken as "
                                             "a vector over its last axis")
            else:
                _trace(stager, arg, rank, why, wants, fresh, seen)
    elif stmt.prim == "np_array" and rank >= 1:  # np.array([a, b, c]): one axis more
        for arg in stmt.args:
            _trace(stager, arg, rank - 1, why, wants, fresh, seen)
    elif stmt.prim == "getitem" and (stager.types.get(getattr(stmt.args[0], "id", ""))
                                     or shapes.FLOAT).kind == "list":
        if attrs.get("index", ((None,),))[0][0] != "slice":  # hs[-1]: an entry
            _trace_entries(stager, stmt.args[0], rank, why, wants, fresh, seen)
    elif stmt.prim == "getitem":
        spec = attrs.get("index", ())
        dropped = sum(1 for e in spec if e and (e[0] == "const" or (
            e[0] == "arg" and not (stager.types.get(getattr(stmt.args[e[1]], "id", ""))
                                   or shapes.INT).is_array)))
        added = sum(1 for e in spec if e and e[0] == "newaxis")
        base = rank + dropped - added
        if dropped and why.startswith("an operand of"):  # X[i] @ W: a row of a table is
            entries = sum(1 for e in spec if e and e[0] != "newaxis")  # a vector
            base = max(1 + dropped - added, entries)
        _trace(stager, stmt.args[0], base, why, wants, fresh, seen)
    elif stmt.prim in ("matmul", "dot", "dot_method") and len(stmt.args) == 2:
        _trace_product(stager, stmt.args, rank, why, wants, fresh, seen)
    elif stmt.prim in ("np_sum", "np_mean", "np_max", "np_min", "np_var", "np_std") and \
            attrs.get("axis") is not None:
        axis = attrs["axis"]
        count = len(axis) if isinstance(axis, tuple) else 1
        _trace(stager, stmt.args[0], rank + (0 if attrs.get("keepdims") else count), why,
               wants, fresh, seen)


def _trace_product(stager, operands, rank: int, why: str, wants: dict, fresh,
                   seen: set) -> None:
    """`a @ b` should have `rank` axes: with rank >= 2, `a` has that many (a stack of rows)
    and `b` is a matrix (or has them too, when `a` has fewer); a vector result is a matrix
    times a vector either way round, so only the operand beside a known matrix is told."""
    a, b = operands
    ta, tb = (stager.types.get(o.id) if isinstance(o, ir.Name) else shapes.FLOAT
              for o in operands)
    if rank >= 2:
        _trace(stager, a, rank, why, wants, fresh, seen)
        other = 2 if _unknown_rank(ta) or ta.rank >= rank else rank
        _trace(stager, b, other, why, wants, fresh, seen)
    elif rank == 1:
        if not _unknown_rank(tb) and tb.rank == 2:
            _trace(stager, a, 1, why, wants, fresh, seen)
        if not _unknown_rank(ta) and ta.rank == 2:
            _trace(stager, b, 1, why, wants, fresh, seen)


def _trace_entries(stager, lst, rank: int, why: str, wants: dict, fresh, seen: set) -> None:
    """A run-time list's entries should have `rank` (runlists.py): the values put in it."""
    stmt = stager.defs.get(lst.id) if isinstance(lst, ir.Name) else None
    if stmt is None or (stmt.target, "entries") in seen:
        return
    seen.add((stmt.target, "entries"))
    if stmt.prim == "list_of":
        for arg in stmt.args:
            _trace(stager, arg, rank, why, wants, fresh, seen)
    elif stmt.prim == "list_append":
        _trace(stager, stmt.args[1], rank, why, wants, fresh, seen)
        _trace_entries(stager, stmt.args[0], rank, why, wants, fresh, seen)
    elif stmt.prim in ("copy", "getitem"):  # b = hs, hs[1:]
        _trace_entries(stager, stmt.args[0], rank, why, wants, fresh, seen)


def _unify(found: dict, equal: list) -> bool:
    """Apply the dimension equalities the broadcasts and products assumed to the inferred
    parameters' shapes (the user's own names win over n1, n2, ...); True if any changed."""
    parent: dict = {}

    def root(d):
        while parent.get(d, d) != d:
            d = parent[d]
        return d

    def rank_of(d):  # the user's names before invented ones
        return (d.startswith("n") and d[1:].isdigit(), d)

    for group in equal:
        group = [d for d in group if isinstance(d, str) and not d.startswith("_u")]
        for a, b in zip(group, group[1:]):
            ra, rb = root(a), root(b)
            if ra != rb:
                keep, drop = sorted((ra, rb), key=rank_of)
                parent[drop] = keep
    solved = _solve(getattr(equal, "equations", ()), root)
    changed = False
    for name, fact in list(found.items()):
        t = fact.type
        if t.shape is None:
            continue
        dims = tuple(_substituted(d, root, solved) for d in t.shape)
        if dims != t.shape:
            found[name] = Fact(VType(t.kind, dims), fact.origin)
            changed = True
    return changed


def _substituted(d, root, solved: dict):
    """A dimension with the groups' roots and the solved sizes put in: n3 is "4*H" once
    the LSTM's gates say so."""
    expr = shapes.linear(d) if isinstance(d, str) and not d.startswith("_u") else None
    if expr is None:
        return d
    found = shapes.dimension(_expanded(expr, solved, root))
    return found if isinstance(found, str) else d


def _expanded(expr, solved: dict, root):
    """A sum of sizes with each symbol's group root, or what it was solved to, put in."""
    out: dict = {}
    for symbol, k in expr.items():
        term = {"": 1} if symbol == "" else solved.get(root(symbol), {root(symbol): 1})
        out = shapes.combined(out, {s: k * v for s, v in term.items()})
    return out


def _solve(equations, root) -> dict:
    """Sizes solved from equations between sums of sizes (a slice's width met another
    dimension: `a[:, 3 * H:]` of an (N, n3) array, n3 - 3*H, times `a[:, :H]`, H): symbol
    -> `Linear`, where one symbol of an equation, an invented one (n3) before the user's
    (H), is a multiple of another ("4*H"), the only sums a shape can say.  The others are
    left: the facts then say less, and the code checks what they say."""
    solved: dict = {}
    progress = True
    while progress:
        progress = False
        for lhs, rhs in equations:
            diff = shapes.combined(_expanded(lhs, solved, root), _expanded(rhs, solved, root),
                                   -1)
            unknowns = sorted((s for s, k in diff.items() if s and abs(k) == 1),
                              key=lambda s: (not (s[:1] == "n" and s[1:].isdigit()), s))
            for symbol in unknowns:
                sign = diff[symbol]
                value = {s: -k * sign for s, k in diff.items() if s != symbol}
                if isinstance(shapes.dimension(value), str):
                    solved = {s: shapes.combined(
                        {t: v for t, v in e.items() if t != symbol},
                        {t: e.get(symbol, 0) * v for t, v in value.items()})
                        for s, e in solved.items()}
                    solved[symbol] = value
                    progress = True
                    break
    return solved


def stage_with_inference(parsed, node, declared: dict, stage_once):
    """Stage `node`: with inferred facts for the parameters `declared` does not give, when
    the function works on arrays.  Returns (the staged function, the inferred facts)."""
    from adgen.stage import uses_arrays

    if all(t is not None for t in declared.values()):
        return stage_once(declared, False).stage(), {}
    if not uses_arrays(parsed, node, declared):  # scalar code: only range(n) says anything
        unknown = {p for p, t in declared.items() if t is None}
        counts = {p: Fact(shapes.INT, ev.why)
                  for p, ev in _read_evidence(parsed, node, unknown).items()
                  if ev.kind == "int"} if _may_size(parsed, node) else {}
        types = {**declared, **{p: f.type for p, f in counts.items()}}
        return stage_once(types, False).stage(), counts

    def trial(types):
        stager = stage_once(types, True)
        try:
            stager.stage()
        except AdgenError:
            pass
        return stager

    inferred = infer(parsed, node, declared, trial)
    types = {p: (inferred[p].type if p in inferred else declared[p]) for p in declared}
    return stage_once(types, False).stage(), inferred


def sampling_types(fn: ir.Function) -> list:
    """Each parameter's type for sampling a point to verify at (--verify): its fact, or for
    a parameter of unknown kind that the code indexes, reduces along an axis or takes the
    length of, an array of at least that many axes (so `x.mean(axis=1)` gets a matrix, not
    a number)."""
    least: dict[str, int] = {}
    named: dict = {}  # (parameter, axis) -> the name the code gives its size (N = x.shape[0])
    for stmt in ir.assigns(fn.body):
        if not stmt.args or not isinstance(stmt.args[0], ir.Name):
            continue
        name, attrs, rank = stmt.args[0].id, dict(stmt.attrs), 0
        if stmt.prim == "dim" and stmt.user:
            named.setdefault((name, attrs.get("axis", 0)), stmt.user)
        if stmt.prim == "getitem":
            rank = sum(1 for e in attrs.get("index", ()) if e and e[0] != "newaxis")
        elif stmt.prim == "length":
            rank = 1
        elif stmt.prim == "dim":
            rank = attrs.get("axis", 0) + 1
        elif isinstance(attrs.get("axis"), (int, tuple)):
            axis = attrs["axis"]
            rank = max(axis if isinstance(axis, tuple) else (axis,)) + 1
        least[name] = max(least.get(name, 0), rank)
    flat = {s.target: s.args[0].id for s in ir.assigns(fn.body)  # x.reshape(N, -1)
            if s.prim == "reshape" and len(s.args) == 3 and isinstance(s.args[0], ir.Name)
            and isinstance(s.args[2], ir.Num) and s.args[2].value == -1}
    for stmt in ir.assigns(fn.body):  # ... @ w: the flattened axes are w's first
        if stmt.prim in ("matmul", "dot", "dot_method") and len(stmt.args) == 2 and \
                isinstance(stmt.args[0], ir.Name) and stmt.args[0].id in flat and \
                isinstance(stmt.args[1], ir.Name):
            other = fn.types.get(stmt.args[1].id)
            if other is not None and other.shape and isinstance(other.shape[0], str):
                param = flat[stmt.args[0].id]
                least[param] = max(least.get(param, 0), 2)
                named.setdefault((param, 1), other.shape[0])
    strings: dict = {}  # mode == 'train', mode == 'test': mode is drawn among those
    for stmt in ir.assigns(fn.body):
        if stmt.prim in ("eq", "ne"):
            texts = [o.text for o in stmt.args if isinstance(o, ir.Lit) and o.text[:1] in "'\""]
            for a in stmt.args:
                if isinstance(a, ir.Name) and texts:
                    strings.setdefault(a.id, [])
                    strings[a.id] += [t for t in texts if t not in strings[a.id]]

    def sampled(name: str) -> Optional[VType]:
        if name in strings:
            import ast

            return VType("str", items=tuple(ast.literal_eval(t) for t in strings[name]))
        t = fn.types.get(name)
        if (t is None or t.kind == "unknown") and least.get(name, 0) > 0:
            t = VType("array", tuple(named.get((name, axis), f"_{name}{axis}")
                                     for axis in range(least[name])))
        return t

    types: list = []
    for p in fn.params:
        # (an entry read through a .get whose default reads a local is left out: the
        # default is what the code computes without it)
        members = [m for m in fn.members if m.param == p.name and not m.late]
        if members:  # params['W1'], net.W, (W, b) = wb: a container of what the code reads
            types.append(Structure(tuple((m.path, sampled(m.name)) for m in members),
                                   frozenset(tuple(m.path[:d]) for m in members
                                             for d in m.lists)))
        else:
            types.append(sampled(p.name))
    return types


@dataclasses.dataclass(frozen=True)
class Structure:
    """A structured parameter to sample for --verify (a dict, an object, a tuple or list): each
    member the code reads (`path` from the parameter, as ir.Member has it) and its type."""

    members: tuple
    lists: frozenset = frozenset()  # the paths (prefixes of members') that are lists

    is_array = False
    kind = "structure"
