"""Lists built while the function runs: `hs = []` before a loop whose count is known only at
run time (or a branch), `hs.append(h)` inside it, then `np.stack(hs)`, `sum(hs)`, `hs[-1]`,
`len(hs)`, `for h in hs`.

A list made and changed in one block is a compile-time structure (containers.py).  When a
loop that runs a run-time number of times, or a branch, appends to a list made before it,
the stager makes the list a value of the staged code instead, just before the loop or
branch: `hs = [a, b]` (rule `list_of`), one new version per append (`hs_1 = hs + [h]`,
rule `list_append`), carried through loops and merged after branches like any value.  Each
version is a list of its own, so no version changes after it is made: the backward pass may
read any of them, and names bound to the same list follow it (`a = hs; hs.append(h)`
changes `a` too, as in Python).  Their gradient is one array, the entries' gradients stacked
(adgen/rules/lists.py).

What reads such a list: `np.stack`, `np.array`, `np.asarray`, `np.concatenate`, `np.vstack`,
`np.hstack` (one statement each), any other numpy function (which converts a list to an
array: the list is stacked first), the builtins `sum` and `len`, indexing by an integer or a
slice, and loops over it.  Anything else (`hs * 2`, `max(hs)`, a method) is AD204.  An
array held in such a list cannot be updated in place (AD207): the list would change too.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from adgen import ir
from adgen.containers import DictValue, ListValue, describe, is_container, leaves
from adgen.rules.lists import LIST_RULES, joined_entry
from adgen.shapes import VType, entry_type, list_of

# primitives that take a run-time list as an operand
READERS = frozenset(LIST_RULES) | {"getitem", "length", "copy"}
_STACKERS = {"numpy.stack": "stack", "numpy.array": "stack", "numpy.asarray": "stack",
             "numpy.concatenate": "concatenate", "numpy.vstack": "vstack",
             "numpy.hstack": "hstack"}
_HELP = "np.stack(hs) makes an array of it (then index, slice or compute with the array)"


def appended(statements) -> list[str]:
    """The names `X` of every `X.append(...)` / `X.extend(...)` in these statements, at any
    depth (not inside nested functions)."""
    found: list[str] = []

    class Finder(cst.CSTVisitor):
        def visit_FunctionDef(self, node) -> bool:
            return False

        def visit_Lambda(self, node) -> bool:
            return False

        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and \
                    func.attr.value in ("append", "extend") and func.value.value not in found:
                found.append(func.value.value)

    for stmt in statements:
        stmt.visit(Finder())
    return found


def is_runtime_list(stager, value) -> bool:
    return stager.array_mode and isinstance(value, ir.Name) and \
        stager.type_of(value).kind == "list"


def materialize(stager, statements, node) -> None:
    """Before a run-time loop or a branch: each list made before it that it appends to
    becomes a value of the staged code (every name bound to it follows)."""
    if not stager.array_mode:
        return
    for name in appended(statements):
        lst = stager.env.get(name)
        if not isinstance(lst, ListValue) or any(is_container(i) for i in lst.items):
            continue  # (not a list, or one holding containers: may_change reports it)
        if any(v is not lst and is_container(v) and any(c is lst for c in _parts(v))
               for env in [stager.env] + stager.callers for v in env.values()):
            continue  # a list held inside another container: reported where changed
        own = name in stager.user_locals and name not in stager.first_binding
        if own:  # the list made no code so far: the first binding of its name
            stager.first_binding.add(name)
        value = stager.add("list_of", tuple(lst.items), node,
                           name if own else stager.version(name), name)
        for env in [stager.env] + stager.callers:
            for other, held in list(env.items()):
                if held is lst:
                    env[other] = value
        for item in lst.items:
            hold(stager, item)


def _parts(value) -> list:
    """Every container inside a container (itself included)."""
    items = value.items.values() if isinstance(value, DictValue) else \
        value.items if isinstance(value, ListValue) else value
    found = [value]
    for item in items:
        if is_container(item):
            found += _parts(item)
    return found


def hold(stager, item) -> None:
    """An array put in a run-time list: updating it in place would change the list."""
    if isinstance(item, ir.Name):
        stager.listed.add(stager.memory.of(item.id))


def carried(stager, statements) -> list[str]:
    """The run-time lists a loop appends to: carried by it."""
    return [v for v in appended(statements) if is_runtime_list(stager, stager.env.get(v))]


def append(stager, call: cst.Call, name: str) -> None:
    """`hs.append(h)`, `hs.extend([a, b])` on a run-time list: a new version per value."""
    method = call.func.attr.value
    value = stager.stage_value(call.args[0].value)
    if method == "append":
        values = [value]
    elif isinstance(value, (tuple, ListValue)) and not any(is_container(v) for v in
                                                            leaves(value)):
        values = list(value) if isinstance(value, tuple) else list(value.items)
    else:
        stager.report("AD204", call, f"'{name}.extend' of {_what(stager, value)} on a list "
                      "built while the function runs", f"append the values one by one "
                      f"({name}.append(v))")
        return
    for v in values:
        if is_container(v):
            stager.report("AD204", call, "a tuple, list or dict as an entry of a list built "
                          "while the function runs (a loop appends to it)", "append single "
                          "values (arrays, numbers); for a layer's caches, keep one list "
                          "per value")
            return
        old = stager.env[name]
        new = stager.add("list_append", (old, v), call, stager.version(name), name)
        storage = stager.memory.of(old.id)
        stager.memory.same(new.id, storage)
        for env in [stager.env] + stager.callers:  # every name bound to the list sees it
            for other, held in list(env.items()):
                if isinstance(held, ir.Name) and (held == old or (
                        stager.type_of(held).kind == "list" and
                        stager.memory.of(held.id) == storage)):
                    env[other] = new
        hold(stager, v)


def _what(stager, value) -> str:
    return describe(value) if is_container(value) else "a value"


def call(stager, spelling: str, positional, attrs, node, target, user) -> Optional[ir.Name]:
    """A call with a run-time list among its arguments: the list's own statement, the list
    stacked for another numpy function (None: go on with the stacked operands in
    `positional`), or AD204."""
    lists = []
    for i, a in enumerate(positional):
        if isinstance(a, cst.Name) and is_runtime_list(stager, stager.env.get(a.value)):
            positional[i] = stager.env[a.value]
        elif isinstance(a, cst.Subscript) and isinstance(a.value, cst.Name) and \
                is_runtime_list(stager, stager.env.get(a.value.value)) and \
                isinstance(a.slice[0].slice, cst.Slice):  # hs[1:]: a list too
            positional[i] = stager.stage_expr(a)
        else:
            continue
        lists.append(i)
    if not lists:
        return None
    lst = positional[lists[0]]
    if spelling == "sum" and len(positional) == 1:
        return stager.add("list_sum", (lst,), node, target, user)
    if spelling == "len" and len(positional) == 1:
        return stager.add("length", (lst,), node, target, user)
    kind = _STACKERS.get(spelling)
    if kind is not None and lists == [0] and len(positional) == 1:
        axis = dict(attrs).get("axis", 0)
        extra = [k for k, _ in attrs if k not in ("axis", "dtype")]
        if extra or (kind != "stack" and axis is None) or \
                (spelling in ("numpy.array", "numpy.asarray") and attrs):
            stager.report("AD204", node, f"'{spelling.replace('numpy.', 'np.')}' of a list "
                          "built while the function runs, with these arguments",
                          "write np.stack(hs) or np.concatenate(hs, axis=k)")
            return stager.add("list_stack", (lst,), node, target, user)
        if kind in ("vstack", "hstack"):
            entry = entry_type(stager.type_of(lst))
            if entry is None or entry.rank is None:
                stager.report("AD305", node, f"'{spelling.replace('numpy.', 'np.')}' of a "
                              "list whose entries' rank is not known here", "write "
                              "np.stack(hs, axis=k) or np.concatenate(hs, axis=k)")
                return stager.add("list_stack", (lst,), node, target, user)
            rank = entry.rank
            if kind == "vstack":
                kind, axis = ("stack", 0) if rank <= 1 else ("concatenate", 0)
            else:
                kind, axis = ("concatenate", 0) if rank <= 1 else ("concatenate", 1)
            if rank == 0:
                kind = "stack"
        prim = "list_stack" if kind == "stack" else "list_concat"
        return stager.add(prim, (lst,), node, target, user, (("axis", axis),) if axis else ())
    if spelling.startswith("numpy.") and not spelling.startswith("."):
        for i in lists:  # numpy makes an array of a list: np.mean(hs, axis=0)
            positional[i] = stager.add("list_stack", (positional[i],), node, None)
        return None
    shown = spelling.lstrip(".")
    stager.report("AD204", node, f"'{shown}' of '{_user(lst)}', a list built while the "
                  "function runs", _HELP)
    return stager.add("list_stack", (lst,), node, target, user)


def check(stager, prim: str, args, attrs, node) -> None:
    """A run-time list where a statement cannot take one (AD204), and its indexing."""
    for position, a in enumerate(args):
        if not is_runtime_list(stager, a):
            continue
        if prim == "list_of" or (prim in LIST_RULES and position != 0):  # [hs], ks + [hs]
            stager.report("AD204", node, "a list as an entry of a list built while the "
                          "function runs", "append single values (arrays, numbers)")
        elif prim not in READERS:
            stager.report("AD204", node, f"'{_user(a)}' is a list built while the function "
                          "runs: here it would be used as an array (or a list in arithmetic)",
                          _HELP)
        elif prim == "getitem" and position == 0:
            spec = dict(attrs).get("index") or ()
            index_types = [stager.type_of(x) for x in args[1:]]
            fine = len(spec) == 1 and (spec[0][0] == "const" or (
                spec[0][0] == "arg" and index_types[spec[0][1] - 1].kind == "int") or (
                spec[0][0] == "slice" and all(p is None or p[0] == "const" or (
                    p[0] == "arg" and index_types[p[1] - 1].kind == "int")
                    for p in spec[0][1:])))
            if not fine:
                stager.report("AD204", node, f"indexing '{_user(a)}', a list built while the "
                              "function runs, by something other than one integer or slice",
                              _HELP)


def _user(name: ir.Name) -> str:
    return name.id.rsplit("_", 1)[0] if name.id.rsplit("_", 1)[-1].isdigit() else name.id


def carried_type(stager, start: str, end: ir.Operand) -> None:
    """After a loop: a carried list's entries are those it had on entry and those the loop
    appended (numpy checks at run time that they have one shape wherever the gradient
    stacks them: np.stack, np.zeros_like, np.shape)."""
    t0, t1 = stager.types.get(start), stager.type_of(end)
    if t0 is not None and t0.kind == "list" and t1.kind == "list":
        stager.types[start] = list_of(joined_entry(entry_type(t0), entry_type(t1)))


def counted(stager, pairs, body, bounds, before) -> None:
    """After a `for` loop over range(n) (or over an array's rows) without `break`: a list
    empty on entry that every iteration appends to exactly once (at the top of the body,
    not in a branch, so `continue` cannot skip it) has n entries afterwards -- its length is
    the loop's count, which lets what is computed from np.stack(hs) after the loop have a
    known shape (n of `range(len(xs))` is xs's first dimension)."""
    if len(bounds) != 1:
        return
    count = stager.type_of(bounds[0])
    if count.kind != "int" or count.dim is None:
        return
    appends = [s for s in ir.assigns(body) if s.prim == "list_append"]
    for name, end in pairs:
        t = stager.types.get(name)
        if t is None or t.kind != "list" or t.shape is None or not _empty(before, name):
            continue
        mine = [s for s in body if isinstance(s, ir.Assign) and s.prim == "list_append"
                and s.target == getattr(end, "id", None) and s.args[0] == ir.Name(name)]
        if len(mine) == 1 and sum(1 for s in appends if s.user == mine[0].user) == 1:
            stager.types[name] = VType("list", (count.dim,) + tuple(t.shape[1:]))


def _empty(before, name: str) -> bool:
    """Whether `name` is made as an empty list before the loop (the statements before it)."""
    for stmt in reversed(before):
        if isinstance(stmt, ir.Assign) and stmt.target == name:
            return stmt.prim == "list_of" and not stmt.args
    return False
