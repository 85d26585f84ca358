"""Members: the values a function reads out of its structured parameters by constant keys.

Training code keeps its weights in a dict and its hyperparameters in dicts or attributes:
`params['W1']`, `conv_param['stride']`, `bn_param.get('eps', 1e-5)`, `self.params['W2']`,
`self.reg`.  Each such read (a path of constant keys and attributes from a parameter) is a
*member*: it is read once, when the function starts (`W1 = params['W1']`), and from then on
it is a value like a parameter -- it has a type (from the arguments, from inference), it
gets a gradient, and the gradient of a structured parameter comes back in the same
structure: `{'W1': dW1, 'b1': db1}`, the CS231n `grads` convention.

A member is named after its last key when that is a free identifier (`W1`, `stride`), else
after the parameter and the key (`params_W1`).  Writing into a structured parameter
(`params['W1'] = ...`) is not a member (the fence rejects it).
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import libcst as cst

from adgen import ir
from adgen.children import children
from adgen.params import param_names
from adgen.containers import DictValue
from adgen.methods import called_methods


def path_of(node: cst.BaseExpression, params: set[str]) -> Optional[tuple[str, tuple]]:
    """(parameter, path) when `node` reads a member: `p['k']`, `p.get('k')`,
    `p.get('k', default)`, `p.a`, `p.a['k']`..., with constant keys; else None.  A path step
    is ("key", k), ("attr", name) or ("get", k, default source text or None)."""
    steps: list = []
    current = node
    while True:
        if isinstance(current, cst.Subscript):
            key = _constant_key(current)
            if key is None:
                return None
            steps.append(("key", key))
            current = current.value
        elif isinstance(current, cst.Call) and isinstance(current.func, cst.Attribute) and \
                current.func.attr.value == "get" and 1 <= len(current.args) <= 2 and \
                all(a.keyword is None and not a.star for a in current.args):
            key = _literal(current.args[0].value)
            if key is None:
                return None
            default = current.args[1].value if len(current.args) == 2 else None
            steps.append(("get", key, default))
            current = current.func.value
        elif isinstance(current, cst.Attribute) and steps_allowed(current):
            steps.append(("attr", current.attr.value))
            current = current.value
        else:
            break
    if not steps or not isinstance(current, cst.Name) or current.value not in params:
        return None
    return current.value, tuple(reversed(steps))


def whole_uses(fn: cst.FunctionDef, params: set[str]) -> set[str]:
    """The parameters among `params` the function uses other than by reading members of
    them (`params['W1']`, `p.get('k')`, `p.a`): passed to a helper, indexed by a computed
    key (`parameters['W' + str(l)]`), returned.  Only the function's own statements are
    read (a helper it passes the parameter to is what makes it a whole use)."""
    if not params:
        return set()
    counts: dict[str, int] = {}
    covered: dict[str, int] = {}
    pending: list = [fn.body]
    while pending:
        current = pending.pop()
        if isinstance(current, cst.Name) and current.value in params:
            counts[current.value] = counts.get(current.value, 0) + 1
        elif isinstance(current, cst.Call) and isinstance(current.func, cst.Attribute) and \
                path_of(current, params) is None:
            # a method call, params.items(): its receiver is used, its name is no member
            pending.extend([current.func.value] + [a.value for a in current.args])
            continue
        elif isinstance(current, cst.BaseExpression):
            where = path_of(current, params)
            if where is not None:
                covered[where[0]] = covered.get(where[0], 0) + 1
        pending.extend(children(current))
    return {p for p, n in counts.items() if n > covered.get(p, 0)}


def steps_allowed(node: cst.Attribute) -> bool:
    """`self.params`, `net.reg`: an attribute of a parameter (not `.T` or `.shape` of an
    array, which are operations)."""
    return node.attr.value not in ("T", "shape", "ndim", "size", "dtype", "real", "imag")


def _aliases(fn: cst.FunctionDef, params: set[str]) -> dict[tuple, str]:
    """(param, path) -> the local that `local = param[...]` assigns it to, for locals
    assigned exactly once in the whole function (then the local and the member are one)."""
    counts: dict[str, int] = {}
    pairs: list = []
    pending: list = [fn.body]
    while pending:
        current = pending.pop()
        pending.extend(children(current))
        targets, values = [], []
        if isinstance(current, cst.Assign) and len(current.targets) == 1:
            target = current.targets[0].target
            if isinstance(target, (cst.Tuple, cst.List)) and \
                    isinstance(current.value, (cst.Tuple, cst.List)) and \
                    len(target.elements) == len(current.value.elements):
                targets = [el.value for el in target.elements]
                values = [el.value for el in current.value.elements]
            else:
                targets, values = [target], [current.value]
        elif isinstance(current, (cst.AugAssign, cst.AnnAssign)):
            targets = [current.target]
        elif isinstance(current, cst.For):
            targets = [current.target]
        for i, target in enumerate(targets):
            for name in _target_names(target):
                counts[name] = counts.get(name, 0) + 1
            if i < len(values) and isinstance(target, cst.Name):
                where = path_of(values[i], params)
                if where is not None:
                    pairs.append(((where[0], tuple(s[:2] for s in where[1])), target.value))
    return {key: name for key, name in pairs if counts.get(name) == 1 and name not in params}


def _assigned_once(fn: cst.FunctionDef) -> set[str]:
    from adgen.statements import assigned_in, function_body

    names = assigned_in(function_body(fn))
    counts: dict[str, int] = {}
    pending: list = [fn.body]
    while pending:
        current = pending.pop()
        pending.extend(children(current))
        if isinstance(current, cst.Assign):
            for t in current.targets:
                for n in _target_names(t.target):
                    counts[n] = counts.get(n, 0) + 1
        elif isinstance(current, (cst.AugAssign, cst.AnnAssign, cst.For)):
            for n in _target_names(current.target):
                counts[n] = counts.get(n, 2) + 2
    return {n for n in names if counts.get(n) == 1}


def _target_names(target) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for el in target.elements for n in _target_names(el.value)]
    return []


def _constant_key(node: cst.Subscript):
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
        return None
    return _literal(node.slice[0].slice.value)


def _literal(node) -> Optional[object]:
    """A string key (`params['W1']`); an integer index is indexing (`x[0]`), not a member."""
    if isinstance(node, cst.SimpleString):
        return node.evaluated_value
    return None


def _unpacked(fn: cst.FunctionDef, params: set[str]) -> list:
    """`a, b, c = abc` of a parameter that is never rebound: a tuple parameter, each of
    its items a member ("item", i) named after its target (first unpacking wins)."""
    found, seen, rebound = [], set(), set()
    pending: list = [fn.body]
    while pending:
        current = pending.pop(0)
        pending[0:0] = list(children(current))
        if isinstance(current, (cst.AugAssign, cst.AnnAssign)):
            rebound.update(_target_names(current.target))
        if not isinstance(current, cst.Assign):
            continue
        for t in current.targets:
            if not isinstance(t.target, (cst.Tuple, cst.List)):
                rebound.update(_target_names(t.target))
        target, value = current.targets[0].target, current.value
        if len(current.targets) == 1 and isinstance(target, (cst.Tuple, cst.List)) and \
                isinstance(value, cst.Name) and value.value in params and \
                value.value not in seen and \
                all(isinstance(el.value, cst.Name) for el in target.elements):
            seen.add(value.value)
            found.append((value.value, [el.value.value for el in target.elements]))
    return [(param, names) for param, names in found if param not in rebound]


def reads_local(default, locals_: set[str]) -> bool:
    """Whether a `.get` default reads one of the function's locals (`np.zeros(D)` after
    `N, D = x.shape`): then it is computed where the .get is, not when the function starts."""
    from adgen.fence_expressions import _names_in

    return default is not None and any(n.value in locals_ for n in _names_in(default))


def find(fn: cst.FunctionDef, params: set[str], taken: set[str], code,
         sequences: Optional[dict] = None, methods: tuple = (),
         locals_: Optional[set] = None) -> list[ir.Member]:
    """The members `fn` reads, in source order, each named once (`code(node)` is the source
    text of a node, for a `.get` default).  A member the function copies into a local of
    its own name once and for all (`W1 = params['W1']`) takes that name: the local is the
    member.  `sequences`: the structure of each list or tuple parameter whose arguments
    are known (facts.structure_of): every number or array in it is a member, by position
    (`params[1][0]`, named params_1_0).  `methods`: the methods `fn` calls through its
    first parameter (adgen/methods.py), whose reads of it are members too."""
    found: dict[tuple, ir.Member] = {}
    aliases = _aliases(fn, params)
    names: set[str] = set(taken) - set(aliases.values())
    instance = {param_names(fn)[0]} if methods else set()
    pending: list = [(fn.body, params)] + [(m.body, instance) for m in methods]
    order: list = []
    while pending:
        current, roots = pending.pop(0)
        if isinstance(current, cst.AssignTarget) and \
                path_of(current.target, roots) is not None:
            continue  # p['k'] = v: a write, not a read (fence.check_assign)
        if isinstance(current, cst.BaseExpression):
            where = path_of(current, roots)
            if where is not None:
                order.append((where, current))
                continue
        if isinstance(current, cst.Call) and isinstance(current.func, cst.Attribute):
            # a method call, x.dot(w): its receiver may hold members, its name is not one
            pending[0:0] = [(n, roots) for n in
                            [current.func.value] + [a.value for a in current.args]]
            continue
        pending[0:0] = [(n, roots) for n in children(current)]
    for (param, path), node in order:
        key = (param, tuple(s[:2] for s in path))
        if key in found:
            continue
        last = path[-1][1]
        late = path[-1][0] == "get" and reads_local(path[-1][2], locals_ or set())
        base = str(last) if isinstance(last, str) and str(last).isidentifier() else None
        base = base if late else aliases.get(key, base)
        name = base if base and base not in names and not (late and base in taken) \
            else f"{param}_{last}"  # (a late member is never the local it is assigned to)
        while not name.isidentifier() or name in names:
            name = f"{name}_"
        names.add(name)
        default = path[-1][2] if path[-1][0] == "get" and not late else None
        found[key] = ir.Member(name, param, tuple(s[:2] for s in path),
                               code(default) if default is not None else None, late=late)
    once = _assigned_once(fn)
    used = {m.name for m in found.values()}
    for param, targets in _unpacked(fn, params):  # a, b, c = abc: a tuple parameter
        for i, target in enumerate(targets):
            name = target if target in once and target not in used else f"{param}_{i}"
            while name in names and name != target:
                name = f"{name}_"
            used.add(name)
            names.add(name)
            found[(param, (("item", i),))] = ir.Member(name, param, (("item", i),))
    for holder, structure in (sequences or {}).items():
        # a parameter, or a member holding a list (self.weights): its entries replace it
        held = next((m for m in found.values() if m.name == holder and holder not in params),
                    None)
        param, prefix = (held.param, held.path) if held is not None else (holder, ())
        if held is not None:
            del found[(param, prefix)]
        leaves = list(_leaves(structure, prefix))
        paths = {path for path, _ in leaves}
        for key in [k for k in found if k[0] == param and k[1][:len(prefix)] == prefix]:
            if key[1] not in paths:  # a, b = params, of pairs: its items are not the leaves
                del found[key]
        for path, lists in leaves:
            key = (param, path)
            if key in found:
                found[key] = dataclasses.replace(found[key], lists=lists)
                continue
            rest = path[len(prefix):]
            name = "_".join([holder] + [str(step[1]) for step in rest])
            if len(rest) == 1 and rest[0][0] == "key" and str(rest[0][1]).isidentifier() \
                    and rest[0][1] not in names:
                name = rest[0][1]  # an entry of a dict of parameters: W1, as params['W1']
            while name in names:
                name = f"{name}_"
            names.add(name)
            found[key] = ir.Member(name, param, path, lists=lists)
    return list(found.values())


def _leaves(structure: tuple, path: tuple = (), lists: tuple = ()):
    """(path, depths that are lists) of each number or array in a sequence's structure."""
    kind, items = structure
    here = lists + ((len(path),) if kind == "list" else ())
    keys = kind[1] if isinstance(kind, tuple) else None  # a dict's (facts.structure_of)
    for i, item in enumerate(items):
        step = path + ((("key", keys[i]) if keys else ("item", i)),)
        if item is None:
            yield step, here
        else:
            yield from _leaves(item, step, here)


def of_function(parsed, fn: cst.FunctionDef,
                sequences: Optional[dict] = None) -> list[ir.Member]:
    """The members of a function of a parsed file (names free of its locals, parameters and
    module-level names); `sequences` as `find` takes them."""
    from adgen.statements import assigned_names

    # Staging asks several times per compilation; the tree is immutable, so the answer for
    # one node of one parsed file never changes.
    cache = parsed.__dict__.setdefault("_members_cache", {})
    sequences = {p: s for p, s in (sequences or {}).items() if s is not None}
    cache_key = (id(fn), tuple(sorted(sequences.items())))
    hit = cache.get(cache_key)
    if hit is not None and hit[0] is fn:
        return list(hit[1])
    params = param_names(fn)
    scope = parsed.scope
    taken = set(assigned_names(fn)) | set(params) | set(scope.consts) | set(scope.modules) | \
        set(scope.imported) | set(scope.functions) | set(scope.others)
    outline = parsed.outline(fn)
    if outline is not None and outline.accessed.isdisjoint(params) and \
            outline.unpacked.isdisjoint(params) and not sequences:
        # no `p[...]`, `p.attr` or `a, b = p` anywhere: no member (a quick walk of ast)
        found = []
    else:
        found = find(fn, set(params), taken, parsed.code, sequences,
                     tuple(called_methods(parsed, fn)), set(assigned_names(fn)) - set(params))
    cache[cache_key] = (fn, tuple(found))
    return list(found)


def expression(member: ir.Member) -> str:
    """`params['W1']`, `self.params['W2']`, `bn_param.get('eps', 1e-5)`: how the generated
    code reads a member."""
    text = member.param
    for i, (kind, key) in enumerate(member.path):
        if kind == "attr":
            text += f".{key}"
        elif kind == "item":
            text += f"[{key}]"
        elif kind == "get" and i == len(member.path) - 1:
            default = f", {member.default}" if member.default is not None else ""
            text += f".get({key!r}{default})"
        else:
            text += f"[{key!r}]"
    return text


def value_of(member: ir.Member, values: dict):
    """A member's value in a call: its path walked from its parameter's argument (a `.get`
    default taken as a Python literal); raises LookupError or AttributeError if it is not
    there."""
    import ast

    value = values[member.param]
    for kind, key in member.path:
        if kind == "attr":
            value = getattr(value, key)
        elif kind == "get" and key not in value:
            return ast.literal_eval(member.default) if member.default is not None else None
        else:
            value = value[key]
    return value


def items_by_path(members: list, dicts: frozenset = frozenset()) -> dict[tuple, tuple]:
    """{(parameter, path): its items, nested tuples of the members' names} for what is
    read by position: a tuple or list parameter's own items (path (): `a, b = ab`, a list
    of layers) when nothing else of it is read, and a list a structured parameter holds
    (`self.weights`: members self.weights[0], ...); and for a dict parameter whose entries
    the arguments give (`dicts`), the dict of them all (a DictValue), which the function
    may pass to a helper or read by a computed key."""
    trees: dict = {}
    for m in members:
        steps = [step[0] for step in m.path]
        first = steps.index("item") if "item" in steps else len(steps)
        if m.param in dicts and steps and steps[0] == "key":
            first = 0
        if first < len(steps) and all(kind in ("item", "key") for kind in steps[first:]):
            trees.setdefault((m.param, tuple(m.path[:first])), []).append(m)
    found = {}
    for (param, path), held in trees.items():
        if not path and any(m.param == param and m.path[0][0] == "item" and
                            any(step[0] not in ("item", "key") for step in m.path)
                            for m in members):
            continue  # a, b = params and params.W: its items are not all read whole
        tree = _nest([(tuple(step[1] for step in m.path[len(path):]), ir.Name(m.name))
                      for m in held])
        if tree is not None:
            found[(param, path)] = tree
    return found


def _nest(entries: list):
    """Nested tuples from (positions, value) pairs; None when positions leave a gap."""
    if len(entries) == 1 and not entries[0][0]:
        return entries[0][1]
    if any(not positions for positions, _ in entries):
        return None
    groups: dict = {}
    for positions, value in entries:
        groups.setdefault(positions[0], []).append((positions[1:], value))
    if all(isinstance(key, str) for key in groups):  # a dict in a list of layers
        entries = {key: _nest(group) for key, group in groups.items()}
        return None if any(item is None for item in entries.values()) else \
            DictValue(entries, -1)  # (region -1: never changed)
    if sorted(groups) != list(range(len(groups))):
        return None
    items = tuple(_nest(groups[i]) for i in range(len(groups)))
    return None if any(item is None for item in items) else items


def sequences(types: dict) -> dict:
    """{parameter: structure} of the list and tuple parameters among these types."""
    return {name: t.items for name, t in types.items()
            if t is not None and t.kind == "sequence"}


def matches(member: ir.Member, param: str, path: tuple) -> bool:
    return member.param == param and member.path == tuple(s[:2] for s in path)


def write_refusal(fn: cst.FunctionDef, params: set[str], stmt: cst.Assign, pos,
                  in_loop: bool) -> Optional[tuple]:
    """Why `p['k'] = value` (`stmt`, written into a parameter's dict or attribute) cannot be
    done as the forward does it, as (node, message, help); None when it can.  Members are
    read once, when the function starts, so the write is safe only if nothing reads that
    entry after it in program order: not a member read (`p['k']`, `p.get('k')`, an entry
    within it or the dict holding it), not the parameter used whole (bound to another name
    or passed to a helper, which could read it), and the written array is not changed in
    place afterwards (the caller's dict holds that array).  A write in a loop is refused: a
    later iteration would read a stale entry."""
    target = stmt.targets[0].target
    param, path = path_of(target, params)
    text = f"{param}" + "".join(f".{k}" if kind == "attr" else f"[{k!r}]"
                                for kind, k, *_ in path)
    keys = tuple((("attr" if kind == "attr" else "key"), k) for kind, k, *_ in path)
    if in_loop:
        return (target, f"a write into '{text}' inside a loop (a later iteration would "
                f"read the entry adgen read when the function started)",
                "keep the value in a local name in the loop, and write the entry once, "
                "after the loop")
    inside: set = set()
    pending: list = [stmt]
    while pending:
        current = pending.pop()
        inside.add(id(current))
        pending.extend(children(current))
    start = pos(stmt)
    stored = stmt.value.value if isinstance(stmt.value, cst.Name) else None
    pending = [fn.body]
    while pending:
        current = pending.pop(0)
        after = id(current) not in inside and (lambda p: (p.line, p.col))(
            pos(current)) > (start.line, start.col) \
            if isinstance(current, (cst.BaseExpression, cst.BaseSmallStatement)) else False
        if isinstance(current, cst.Assign) and id(current) not in inside and \
                len(current.targets) == 1 and \
                path_of(current.targets[0].target, params) is not None:
            pending[0:0] = [current.value]  # another write: its target is not a read
            continue
        if isinstance(current, (cst.Subscript, cst.Attribute, cst.Call)):
            where = path_of(current, params)
            if where is not None and where[0] == param:
                read = tuple((("attr" if kind == "attr" else "key"), k)
                             for kind, k, *_ in where[1])
                n = min(len(read), len(keys))
                if after and read[:n] == keys[:n]:
                    return (current, f"'{text}' is written on line {start.line} and read "
                            f"again on line {pos(current).line}: adgen reads a parameter's "
                            "entries once, when the function starts, so this read would see "
                            "the value from before the write",
                            "keep the new value in a local name and read that; write the "
                            "entry last")
            if where is not None:  # a member read: only a .get default reads anything else
                pending[0:0] = [step[2] for step in where[1]
                                if step[0] == "get" and step[2] is not None]
                continue
        if isinstance(current, cst.Name) and current.value == param:
            return (current, f"'{param}' is used whole on line {pos(current).line}, and "
                    f"'{text}' is written into on line {start.line}: adgen writes a "
                    "parameter's entries only when every read of them is by constant keys",
                    f"read {param}'s entries by constant keys ({param}['k']), or leave the "
                    "dict unchanged")
        if stored is not None and after and (
                isinstance(current, cst.AugAssign) and isinstance(current.target, cst.Name) and
                current.target.value == stored or
                isinstance(current, cst.Assign) and any(
                    isinstance(t.target, cst.Subscript) and
                    isinstance(t.target.value, cst.Name) and t.target.value.value == stored
                    for t in current.targets)):
            return (current, f"'{stored}' is changed in place on line {pos(current).line}, "
                    f"after it is written into '{text}' on line {start.line} (the caller's "
                    "dict holds that array)", "write the entry after the last change")
        if isinstance(current, cst.Call) and isinstance(current.func, cst.Attribute):
            pending[0:0] = [current.func.value] + [a.value for a in current.args]
            continue
        if isinstance(current, cst.Attribute):
            pending[0:0] = [current.value]
            continue
        pending[0:0] = list(children(current))
    return None
