"""Reverse: walk the needed forward statements backwards and apply the derivative rules.

For each active statement `out = prim(a, b, ...)`, every active operand gets its rule's local
gradient with the upstream gradient `d<out>`: the first contribution to a gradient variable is
an assignment, later ones accumulate (`+=`: gradients add at forks).  Inputs named in `wrt` that
never receive a contribution get an explicit zero.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

from adgen import ir
from adgen.analyze import Facts
from adgen.naming import Names
from adgen.optimize import simplify
from adgen.prelude import HELPERS
from adgen.rules import REGISTRY, instance_of, substitute
from adgen.shapes import decided, reduction_axes


def _taken_names(fn: ir.Function) -> set[str]:
    names = {p.name for p in fn.params} | {s.target for s in ir.assigns(fn.body)}
    names |= {m.name for m in fn.members}
    names |= {n for loop in ir.loops(fn.body) for n in (loop.index, loop.counter) if n}
    names |= {c.name for c in fn.consts}
    names.add(fn.name)
    return names


def reverse(fn: ir.Function, wrt: tuple[str, ...], facts: Facts,
            reserved: set[str] = frozenset()) -> ir.Gradient:
    """The backward pass of `fn` for the inputs `wrt`.  `reserved` are further names the
    generated function must not use (module-level names of the user's file)."""
    names = Names(_taken_names(fn) | set(reserved))
    grad_names: dict[str, str] = {}
    for p in wrt:  # the inputs' gradients get their d<name> first: they are the results
        grad_names[p] = names.gradient(p)
    seed = names.fresh(f"d{fn.output_stem}")
    state = _Accumulation(set(), set())
    if isinstance(fn.output, ir.Name):
        grad_names[fn.output.id] = seed
        state.contributed.add(fn.output.id)

    reverser = _Reverser(fn, facts, names, grad_names)
    blocks = reverser.block(facts.needed, state)
    contributed, owned = state.contributed, state.owned

    zeros = tuple((grad_names[p], p) for p in wrt if p not in contributed)
    # Every statement the output needs is computed, even where no backward line reads it:
    # the forward pass is also where the function's domain is checked (math.log of a negative
    # number raises), and a gradient is never returned where the function is undefined.
    # A returned array gradient is the caller's own array: not a read-only view
    # (np.broadcast_to), and not the caller's dout passed straight through.
    copies = tuple(grad_names[p] for p in wrt if p in contributed
                   and grad_names[p] not in owned and fn.types.get(p) is not None
                   and fn.types[p].kind in ("array", "unknown"))
    saved = plan_saves(facts.needed, blocks, names)
    restored = {name for pairs in saved.values() for name, _ in pairs}
    result = None
    if isinstance(fn.output, ir.Name) and fn.output.id in restored:
        result = names.fresh(f"{fn.output.id}_value")
    return ir.Gradient(
        function=fn, wrt=wrt, forward=facts.needed, blocks=tuple(blocks), zeros=zeros,
        grad_names=grad_names, seed=seed, copies=copies, saved=saved, result=result,
        taken=names.taken(),
    )


class _Reverser:
    """Walks statement blocks backwards, building the backward items."""

    def __init__(self, fn: ir.Function, facts: Facts, names: Names, grad_names: dict):
        self.fn, self.facts, self.names, self.grad_names = fn, facts, names, grad_names
        self.aranges = _aranges(fn)

    def gname(self, var: str) -> str:
        if var not in self.grad_names:
            self.grad_names[var] = self.names.gradient(var)
        return self.grad_names[var]

    def zero(self, var: str) -> ir.GradZero:
        t = self.fn.types.get(var)
        return ir.GradZero(self.gname(var), var, t is not None and t.kind not in ("float", "int"))

    def block(self, stmts, state: "_Accumulation") -> list:
        items: list = []
        for stmt in reversed(stmts):
            if isinstance(stmt, ir.Assign):
                block = self.assign(stmt, state)
            elif isinstance(stmt, ir.Raise):
                continue
            elif isinstance(stmt, ir.If) and (ir.raises(stmt.body) or ir.raises(stmt.orelse)):
                # a check: the backward pass runs only where the forward pass went on
                items += self.block(stmt.orelse if ir.raises(stmt.body) else stmt.body, state)
                continue
            elif isinstance(stmt, ir.If):
                block = self.branch(stmt, state)
            else:
                block = self.loop(stmt, state)
            if block is not None:
                items.append(block)
        return items

    def assign(self, stmt: ir.Assign, state: "_Accumulation") -> Optional[ir.BackwardBlock]:
        fn, facts, grad_names, names = self.fn, self.facts, self.grad_names, self.names
        if not facts.active(stmt.target) or stmt.target not in state.contributed:
            return None  # no gradient reaches this value on this path: it contributes 0
        inst = instance_of(stmt)
        mapping = dict(zip(inst.slots, stmt.args))
        mapping["out"] = ir.Name(stmt.target)
        mapping["g"] = ir.Name(grad_names[stmt.target])
        out: list = []
        passive = REGISTRY[stmt.prim].passive
        if inst.shared is not None:  # a declared backward: called once for every operand
            shared = self.names.fresh(f"{stmt.target}_backward")
            out.append(ir.GradAssign(shared, simplify(substitute(inst.shared, mapping)), False))
            mapping["shared"] = ir.Name(shared)
        repeated = _repeated(stmt, inst, mapping)  # x * x: one contribution, 2 * x * g
        for position, (template, arg) in enumerate(zip(inst.grads, stmt.args)):
            if not (isinstance(arg, ir.Name) and facts.active(arg.id)) or position in passive:
                continue
            gname = self.gname(arg.id)
            expr = simplify(substitute(template, mapping))
            if arg.id in repeated:
                first, count = repeated[arg.id]
                if position != first:
                    continue
                expr = simplify(ir.BinOp("*", ir.BinOp("*", ir.Num(count), expr.left),
                                         expr.right) if isinstance(expr, ir.BinOp) and
                                expr.op == "*" else ir.BinOp("*", ir.Num(count), expr))
            if stmt.prim == "setitem" and position == 0:
                index = substitute(inst.forward.args[2].item, mapping)
                out.append(state.masked(arg.id, gname, mapping["g"], index, names))
            elif stmt.prim == "getitem" and position == 0:
                index = substitute(inst.forward.item, mapping)
                out.append(state.scatter(arg.id, gname, index, expr,
                                         _fancy(stmt, self.aranges), arg))
            else:
                if stmt.prim == "setitem" and position == 1:
                    expr = _value_gradient(expr, arg, fn.types)
                elif fn.types:
                    expr = unbroadcast(expr, stmt, arg, fn.types)
                out.append(state.assign(arg.id, gname, expr, arrays=bool(fn.types)))
                if inst.scatter is not None:  # a fused gate's sparse part: dx[rows, y] += g
                    index, value = (simplify(substitute(t, mapping)) for t in inst.scatter)
                    out.append(state.scatter(arg.id, gname, index, value, False, arg))
        passed = [g for g in out if isinstance(g, ir.GradAssign) and g.expr == mapping["g"]]
        if len(passed) == 1 and not passed[0].accumulate and mapping["g"].id in state.owned:
            # `dh0 = dh`: dh is dead after its own statement's block, so its array (a new
            # one) passes to dh0, which may then be added into in place
            state.owned.add(passed[0].target)
        return ir.BackwardBlock(stmt, tuple(out)) if out else None

    def branch(self, stmt: ir.If, state: "_Accumulation") -> Optional[ir.BackwardIf]:
        """Each path reversed from the same state; a gradient first set on one path only is
        set to zero on the other, so that it is defined after the `if` whichever path ran."""
        paths = []
        for stmts in (stmt.body, stmt.orelse):
            local = state.copy()
            paths.append((self.block(stmts, local), local))
        (body, s_body), (orelse, s_else) = paths
        inside = {s.target for s in ir.assigns(stmt.body + stmt.orelse)}
        for local in (s_body, s_else):  # a path's own values are dead after it
            local.contributed -= inside - state.contributed
        for items, mine, other in ((body, s_body, s_else), (orelse, s_else, s_body)):
            for var in sorted(other.contributed - mine.contributed,
                              key=lambda v: self.grad_names[v]):
                items.append(self.zero(var))
                mine.owned.add(self.grad_names[var])
        state.contributed = s_body.contributed | s_else.contributed
        state.owned = s_body.owned & s_else.owned
        if not body and not orelse:
            return None
        return ir.BackwardIf(stmt, tuple(body), tuple(orelse))

    def loop(self, stmt: ir.Loop, state: "_Accumulation") -> Optional[ir.BackwardLoop]:
        """A backward loop: iterations in reverse, gradients flowing out of the loop
        accumulated across iterations (set to zero before it), the carried variables'
        gradients handed from one reversed iteration to the next."""
        carried = [(c, e) for c, e in stmt.carried if self.facts.active(c)]
        local = {s.target for s in ir.assigns(stmt.body)}
        trial = self._iteration(stmt, carried, state.copy())
        if trial is None:
            return None
        touched = trial[3].contributed - state.contributed - local - {c for c, _ in carried}
        before = []
        for var in sorted(touched, key=lambda v: self.grad_names[v]):
            before.append(self.zero(var))
            state.contributed.add(var)
            state.owned.add(self.grad_names[var])
        for c, _ in carried:
            if c not in state.contributed:  # the final value does not reach the output
                before.append(self.zero(c))
                state.contributed.add(c)
                state.owned.add(self.grad_names[c])
        owned_before = {c for c, _ in carried if self.grad_names[c] in state.owned}
        entry, body, after, end = self._iteration(stmt, carried, state.copy())
        for c, _ in carried:  # a new array whether or not the loop ran: safe to add into
            if c not in owned_before or self.grad_names[c] not in end.owned:
                state.owned.discard(self.grad_names[c])
        return ir.BackwardLoop(stmt, tuple(before), tuple(entry), tuple(body), tuple(after))

    def _iteration(self, stmt: ir.Loop, carried, state: "_Accumulation"):
        for c, _ in carried:
            state.contributed.add(c)  # the gradient of its value at the end of the iteration
        arrays = bool(self.fn.types)
        entry = []
        for c, e in carried:
            if isinstance(e, ir.Name) and self.facts.active(e.id):
                entry.append(state.assign(e.id, self.gname(e.id), ir.Name(self.gname(c)),
                                          arrays=arrays))
        for c, _ in carried:  # from here on, c's gradient is that of its value on entry
            state.contributed.discard(c)
            state.owned.discard(self.grad_names[c])
        body = self.block(stmt.body, state)
        if not body and not entry:
            return None
        after = [self.zero(c) for c, _ in carried if c not in state.contributed]
        for z in after:
            state.owned.add(z.target)
        for c, _ in carried:
            state.contributed.add(c)
        return entry, body, after, state


def plan_saves(forward, blocks, names: Names) -> dict:
    """What each block inside a loop saves for the backward pass: the values the backward
    pass reads that the block defines.  A loop body saves the values defined on every path
    through it (and the carried variables' values on entry); a branch inside a loop saves
    the values only that path defines.  Each (block, value) gets its own stack.  Key
    (loop, "carried") lists (end value, carried name) pairs not saved at all: see below."""
    inside = {node.origin.key: ir.backward_reads([node])  # what each backward loop reads
              for node in ir.backward_nodes(blocks) if isinstance(node, ir.BackwardLoop)}
    saved: dict = {}
    reads: set = set()

    def walk(stmts, in_loop: bool, outer: set) -> None:
        nonlocal reads
        for stmt in stmts:
            if isinstance(stmt, ir.If) and (ir.raises(stmt.body) or ir.raises(stmt.orelse)):
                # a check: the path that goes on is part of the enclosing block
                walk(stmt.orelse if ir.raises(stmt.body) else stmt.body, in_loop, outer)
            elif isinstance(stmt, ir.If):
                for path, body in (("body", stmt.body), ("orelse", stmt.orelse)):
                    defined = ir.defined_on_all_paths(body)
                    if in_loop:
                        own = [n for n in _definition_order(body) if n in defined
                               and n not in outer and n in reads]
                        if own:
                            saved[(stmt.key, path)] = tuple(
                                (n, names.fresh(f"{n}_saved")) for n in own)
                    walk(body, in_loop, outer | defined)
            elif isinstance(stmt, ir.Loop):
                enclosing = reads
                reads = inside.get(stmt.key, set())  # values read after the loop need no save
                defined = ir.defined_on_all_paths(stmt.body) | {c for c, _ in stmt.carried}
                order = [c for c, _ in stmt.carried] + _definition_order(stmt.body)
                own = [n for n in dict.fromkeys(order) if n in defined and n in reads]
                # The value a carried variable ends an iteration with is the value it starts
                # the next with: when both are needed, save only the start, and let the
                # backward iteration take the end from the carried name before popping it.
                ends = tuple((e.id, c) for c, e in stmt.carried
                             if isinstance(e, ir.Name) and e.id != c and c in own and e.id in own)
                if ends:
                    saved[(stmt.key, "carried")] = ends
                    own = [n for n in own if n not in {e for e, _ in ends}]
                if own:
                    saved[(stmt.key, "body")] = tuple((n, names.fresh(f"{n}_saved"))
                                                      for n in own)
                walk(stmt.body, True, defined)
                reads = enclosing

    walk(forward, False, set())
    return saved


def _definition_order(stmts) -> list[str]:
    order: list[str] = []
    for stmt in stmts:
        if isinstance(stmt, ir.Assign):
            order.append(stmt.target)
        elif isinstance(stmt, ir.If):
            order += _definition_order(stmt.body) + _definition_order(stmt.orelse)
        elif isinstance(stmt, ir.Loop):
            order += _definition_order(stmt.header) + [c for c, _ in stmt.carried]
            order += [stmt.counter] if stmt.counter else []
    return list(dict.fromkeys(order))


@dataclasses.dataclass
class _Accumulation:
    """Which variables already have a gradient contribution, and which gradient arrays the
    backward pass allocated itself (so that adding into them in place is safe)."""

    contributed: set[str]
    owned: set[str]

    def copy(self) -> "_Accumulation":
        return _Accumulation(set(self.contributed), set(self.owned))

    def assign(self, var: str, gname: str, expr: ir.Expr, arrays: bool) -> ir.GradAssign:
        """`g = expr` first, `g += expr` later; `g = g + expr` for an array not owned."""
        later = var in self.contributed
        rebind = arrays and later and gname not in self.owned
        if rebind or (not later and allocates(expr)):
            self.owned.add(gname)
        self.contributed.add(var)
        return ir.GradAssign(gname, expr, later, rebind)

    def scatter(self, var: str, gname: str, index: ir.Expr, expr: ir.Expr, fancy: bool,
                like: ir.Name) -> ir.GradScatter:
        """The gradient through `x[index]`: into zeros first, into a copy of an alias."""
        later = var in self.contributed
        copy = later and gname not in self.owned
        self.owned.add(gname)
        self.contributed.add(var)
        return ir.GradScatter(gname, index, expr, fancy, init=None if later else like,
                              copy=copy)

    def masked(self, var: str, gname: str, source: ir.Expr, index: ir.Expr,
               names: Names) -> ir.GradMasked:
        """The gradient through `x[index] = v` to x: the upstream gradient, zeroed there."""
        later = var in self.contributed
        temp = names.fresh(f"{gname}_part") if later else None
        rebind = later and gname not in self.owned
        self.owned.add(gname)
        self.contributed.add(var)
        return ir.GradMasked(gname, source, index, temp, rebind=rebind)


def _repeated(stmt: ir.Assign, inst, mapping) -> dict[str, tuple[int, int]]:
    """Operands a statement uses at several positions with the same gradient expression
    (`x * x`: `x * g` twice): name -> (first position, how many), so that the backward
    pass writes one contribution, `2 * x * g`, instead of adding the same term twice (the
    same numbers: adding e to itself is 2 * e exactly)."""
    if stmt.prim in ("getitem", "setitem") or inst.scatter is not None:
        return {}
    operands = [arg.id for arg in stmt.args if isinstance(arg, ir.Name)]
    if len(set(operands)) == len(operands):  # no operand twice: nothing to substitute
        return {}
    found: dict[str, list] = {}
    for position, (template, arg) in enumerate(zip(inst.grads, stmt.args)):
        if isinstance(arg, ir.Name):
            found.setdefault(arg.id, []).append(
                (position, simplify(substitute(template, mapping))))
    return {name: (uses[0][0], len(uses)) for name, uses in found.items()
            if len(uses) > 1 and all(e == uses[0][1] for _, e in uses)}


def _value_gradient(expr: ir.Expr, arg: ir.Name, types: dict) -> ir.Expr:
    """The gradient through `x[index] = v` to v, summed to v's shape."""
    t = types.get(arg.id)
    if t is not None and t.kind == "float":
        return ir.Call("np.sum", (expr,))
    return ir.Call("_unbroadcast", (expr, arg))


def unbroadcast(expr: ir.Expr, stmt: ir.Assign, arg: ir.Name, types: dict) -> ir.Expr:
    """A broadcast operand's gradient contribution summed back to the operand's shape:
    `dz.sum(axis=0)` where the shapes are known, `_unbroadcast(dz, b)` (a helper defined in
    the generated module) where they are not, and unchanged where nothing was broadcast."""
    if not REGISTRY[stmt.prim].elementwise or len(stmt.args) < 2:
        return expr
    out_t, arg_t = types.get(stmt.target), types.get(arg.id)
    if arg_t is None or out_t is None or not (out_t.is_array or out_t.kind == "unknown"):
        return expr
    if arg_t.kind == "float":
        return ir.Call("np.sum", (expr,))
    if arg_t.shape is None or out_t.shape is None or not decided(out_t.shape, arg_t.shape):
        return ir.Call("_unbroadcast", (expr, arg))
    if arg_t.shape == out_t.shape:
        return expr
    leading, kept = reduction_axes(out_t.shape, arg_t.shape)
    if leading:
        expr = ir.Method(expr, "sum", (), (("axis", _axis_expr(leading)),))
    if kept:
        expr = ir.Method(expr, "sum", (), (("axis", _axis_expr(kept)), ("keepdims", ir.Lit("True"))))
    return expr


def _axis_expr(axes: tuple[int, ...]) -> ir.Expr:
    if len(axes) == 1:
        return ir.Num(axes[0])
    return ir.Tuple(tuple(ir.Num(a) for a in axes))


_VIEWS = frozenset({"np.broadcast_to", "np.expand_dims", "np.transpose", "np.reshape",
                    "np.moveaxis", "_unbroadcast", "np.swapaxes", "np.flip", "np.fliplr",
                    "np.flipud", "np.diagonal", "np.atleast_1d", "np.atleast_2d",
                    "np.atleast_3d", "np.einsum", "np.squeeze", "np.ravel"})


def allocates(expr: ir.Expr) -> bool:
    """Whether an expression's value is a new array (so `+=` into it is safe), as opposed
    to a name, a view (`.T`, `np.broadcast_to`), or a helper that may return its input."""
    if isinstance(expr, (ir.BinOp, ir.Neg)):
        return True
    if isinstance(expr, ir.Call) and expr.func == "_unbroadcast":
        return allocates(expr.args[0])  # g itself, or a sum of it: new when g is
    if isinstance(expr, ir.Call):  # numpy's, math's, a helper's; a user's may return g
        known = expr.func.startswith(("np.", "math.")) or expr.func in HELPERS
        return known and expr.func not in _VIEWS
    if isinstance(expr, ir.Method):
        return expr.name in ("sum", "mean", "copy")
    return False


def _fancy(stmt: ir.Assign, aranges: frozenset = frozenset()) -> bool:
    """Whether an index holds arrays (integer or boolean) whose positions may repeat: then
    the gradient must be scattered with np.add.at (which adds up repeats) rather than +=.
    Integer arrays cannot repeat a position when one of them is an `np.arange` (distinct
    values) and every other index array is an integer array of exactly its shape, 1-D, or
    an integer: `probs[np.arange(N), y]` picks N distinct (row, label) pairs."""
    spec = dict(stmt.attrs)["index"]
    arrays = []
    for entry in spec:
        if entry[0] == "arg":
            t = stmt.types[entry[1]] if stmt.types else None
            if t is None or t.kind not in ("int", "float"):
                arrays.append((stmt.args[entry[1]], t))
        elif entry[0] == "newaxis":
            if any(e[0] == "arg" for e in spec):
                return True  # (not worth the analysis: keep np.add.at)
    if not arrays:
        return False
    rows = [(a, t) for a, t in arrays if isinstance(a, ir.Name) and a.id in aranges
            and t is not None and t.shape is not None and len(t.shape) == 1]
    if not rows:
        return True
    shape = rows[0][1].shape
    return not all(t is not None and t.kind == "intarray" and t.shape == shape
                   for _, t in arrays)


def _aranges(fn: ir.Function) -> frozenset:
    """Names assigned once in the function, by `np.arange(...)`: arrays of distinct values."""
    counts: dict = {}
    for stmt in ir.assigns(fn.body):
        counts[stmt.target] = counts.get(stmt.target, 0) + 1
    return frozenset(stmt.target for stmt in ir.assigns(fn.body)
                     if stmt.prim == "np_arange" and counts[stmt.target] == 1)
