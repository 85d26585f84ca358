"""Reverse: walk the needed forward statements backwards and apply the derivative rules.

For each active statement `out = prim(a, b, ...)`, every active operand gets its rule's local
gradient with the upstream gradient `d<out>`: the first contribution to a gradient variable is
an assignment, later ones accumulate (`+=`: gradients add at forks).  Inputs named in `wrt` that
never receive a contribution get an explicit zero.
"""

from __future__ import annotations

from adgen import ir
from adgen.analyze import Facts
from adgen.naming import Names
from adgen.optimize import simplify
from adgen.rules import REGISTRY, substitute


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

    contributed: set[str] = set()
    blocks: list[ir.BackwardBlock] = []
    for stmt in reversed(facts.needed):
        if not facts.active(stmt.target) or stmt.target not in grad_names:
            continue
        inst = REGISTRY[stmt.prim].instance(len(stmt.args))
        mapping = dict(zip(inst.slots, stmt.args))
        mapping["out"] = ir.Name(stmt.target)
        mapping["g"] = ir.Name(grad_names[stmt.target])
        out: list[ir.GradAssign] = []
        for template, arg in zip(inst.grads, stmt.args):
            if not (isinstance(arg, ir.Name) and facts.active(arg.id)):
                continue
            if arg.id not in grad_names:
                grad_names[arg.id] = names.gradient(arg.id)
            expr = simplify(substitute(template, mapping))
            out.append(ir.GradAssign(grad_names[arg.id], expr, arg.id in contributed))
            contributed.add(arg.id)
        if out:
            blocks.append(ir.BackwardBlock(stmt, tuple(out)))

    zeros = tuple(grad_names[p] for p in wrt if p not in contributed)
    # Every statement the output needs is computed, even where no backward line reads it:
    # the forward pass is also where the function's domain is checked (math.log of a negative
    # number raises), and a gradient is never returned where the function is undefined.
    return ir.Gradient(
        function=fn, wrt=wrt, forward=facts.needed, blocks=tuple(blocks), zeros=zeros,
        grad_names=grad_names, seed=seed,
    )


def names_in(expr: ir.Expr) -> set[str]:
    """Every variable an expression reads."""
    return {node.id for node in ir.walk(expr) if isinstance(node, ir.Name)}
