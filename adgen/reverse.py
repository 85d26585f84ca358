"""Reverse: walk the needed forward statements backwards and apply the derivative rules.

For each active statement `out = prim(a, b, ...)`, every active operand gets its rule's local
gradient with the upstream gradient `d<out>`: the first contribution to a gradient variable is
an assignment, later ones accumulate (`+=`: gradients add at forks).  Inputs named in `wrt` that
never receive a contribution get an explicit zero.
"""

from __future__ import annotations

import dataclasses

from adgen import ir
from adgen.analyze import Facts
from adgen.naming import Names
from adgen.optimize import simplify
from adgen.rules import REGISTRY, instance_of, substitute
from adgen.shapes import reduction_axes


def _taken_names(fn: ir.Function) -> set[str]:
    names = {p.name for p in fn.params} | {s.target for s in fn.body}
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
    if isinstance(fn.output, ir.Name):
        grad_names[fn.output.id] = seed

    state = _Accumulation(set(), set())
    blocks: list[ir.BackwardBlock] = []
    for stmt in reversed(facts.needed):
        if not facts.active(stmt.target) or stmt.target not in grad_names:
            continue
        inst = instance_of(stmt)
        mapping = dict(zip(inst.slots, stmt.args))
        mapping["out"] = ir.Name(stmt.target)
        mapping["g"] = ir.Name(grad_names[stmt.target])
        out: list = []
        passive = REGISTRY[stmt.prim].passive
        for position, (template, arg) in enumerate(zip(inst.grads, stmt.args)):
            if not (isinstance(arg, ir.Name) and facts.active(arg.id)) or position in passive:
                continue
            if arg.id not in grad_names:
                grad_names[arg.id] = names.gradient(arg.id)
            gname = grad_names[arg.id]
            expr = simplify(substitute(template, mapping))
            if stmt.prim == "setitem" and position == 0:
                index = substitute(inst.forward.args[2].item, mapping)
                out.append(state.masked(arg.id, gname, mapping["g"], index, names))
            elif stmt.prim == "getitem" and position == 0:
                index = substitute(inst.forward.item, mapping)
                out.append(state.scatter(arg.id, gname, index, expr, _fancy(stmt), arg))
            else:
                if stmt.prim == "setitem" and position == 1:
                    expr = _value_gradient(expr, arg, fn.types)
                elif fn.types:
                    expr = unbroadcast(expr, stmt, arg, fn.types)
                out.append(state.assign(arg.id, gname, expr, arrays=bool(fn.types)))
                if inst.scatter is not None:  # a fused gate's sparse part: dx[rows, y] += g
                    index, value = (simplify(substitute(t, mapping)) for t in inst.scatter)
                    out.append(state.scatter(arg.id, gname, index, value, False, arg))
        if out:
            blocks.append(ir.BackwardBlock(stmt, tuple(out)))
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
    return ir.Gradient(
        function=fn, wrt=wrt, forward=facts.needed, blocks=tuple(blocks), zeros=zeros,
        grad_names=grad_names, seed=seed, copies=copies,
    )


@dataclasses.dataclass
class _Accumulation:
    """Which variables already have a gradient contribution, and which gradient arrays the
    backward pass allocated itself (so that adding into them in place is safe)."""

    contributed: set[str]
    owned: set[str]

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
    if arg_t.shape is None or out_t.shape is None:
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
                    "np.moveaxis", "_unbroadcast"})


def allocates(expr: ir.Expr) -> bool:
    """Whether an expression's value is a new array (so `+=` into it is safe), as opposed
    to a name, a view (`.T`, `np.broadcast_to`), or a helper that may return its input."""
    if isinstance(expr, (ir.BinOp, ir.Neg)):
        return True
    if isinstance(expr, ir.Call):
        return expr.func not in _VIEWS
    if isinstance(expr, ir.Method):
        return expr.name in ("sum", "mean", "copy")
    return False


def _fancy(stmt: ir.Assign) -> bool:
    """Whether an index holds arrays (integer or boolean): then an index may repeat, and the
    gradient must be scattered with np.add.at (which adds up repeats) rather than +=."""
    for entry in dict(stmt.attrs)["index"]:
        if entry[0] == "arg":
            t = stmt.types[entry[1]] if stmt.types else None
            if t is None or t.kind not in ("int", "float"):
                return True
    return False
