"""Optimize: algebraic clean-up of gradient expressions after template expansion.

Only rewrites that give the same floating-point result as the expression before them (or that a
reader could not tell from hand-written code): constant folding of small exact arithmetic,
`1 * e` -> `e`, `e ** 1` -> `e`, `e ** 0` -> `1`, `e / 1` -> `e`, `-1 * e` -> `-e`, `-(-e)` -> `e`,
`-(constant)` -> a negative constant, `x if <constant> else y` -> the branch taken, and
`x if c else x` -> `x`.  Applied bottom-up until nothing changes.

Two passes rewrite the printed backward pass: `propagate_copies` (the same numbers) and
`batch_products` (a backward loop's per-step products into an accumulator as one product of
the concatenated steps: the same sum in real arithmetic, added in another order).
"""

from __future__ import annotations

import bisect
import dataclasses
import math

from adgen import ir
from adgen.rules.registry import rebuild


def _num(expr: ir.Expr):
    return expr.value if isinstance(expr, ir.Num) else None


def _fold(op: str, a, b):
    """Fold constant arithmetic: IEEE arithmetic is deterministic, so the folded constant is
    exactly what the generated code would compute at run time (and repr round-trips it)."""
    try:
        if op == "+":
            result = a + b
        elif op == "-":
            result = a - b
        elif op == "*":
            result = a * b
        elif op == "/" and b != 0:
            result = a / b
        elif op == "**" and abs(b) <= 64 and (a > 0 or float(b).is_integer()):
            result = a ** b
        else:
            return None
    except ArithmeticError:
        return None
    if isinstance(result, float) and not math.isfinite(result):
        return None
    return result


def simplify(expr: ir.Expr) -> ir.Expr:
    while True:
        new = _simplify(expr)
        if new == expr:
            return new
        expr = new


def _simplify(expr: ir.Expr) -> ir.Expr:
    if isinstance(expr, ir.Neg):
        inner = _simplify(expr.operand)
        if isinstance(inner, ir.Neg):
            return inner.operand
        if isinstance(inner, ir.Num):
            return ir.Num(-inner.value)
        return ir.Neg(inner)
    if isinstance(expr, ir.IfExp):
        return _simplify_ifexp(expr)
    if not isinstance(expr, ir.BinOp):
        return rebuild(expr, _simplify)
    left, right = _simplify(expr.left), _simplify(expr.right)
    a, b, op = _num(left), _num(right), expr.op
    if a is not None and b is not None:
        folded = _fold(op, a, b)
        if folded is not None:
            return ir.Num(folded)
    if op == "*":
        if a == 1:
            return right
        if b == 1:
            return left
        if a == -1:
            return ir.Neg(right)
        if isinstance(left, ir.Neg) and isinstance(left.operand, ir.Num) and left.operand.value == 1:
            return ir.Neg(right)
    if op == "/" and b == 1:
        return left
    if op == "**" and b == 1:
        return left
    if op == "**" and b == 0:
        return ir.Num(1)
    return ir.BinOp(op, left, right)


_COMPARE = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b}


def _constant_truth(test: ir.Expr):
    """True or False when a condition is decided by constants (a rule's edge case for a
    constant exponent, `b >= 1` with b = 2), else None."""
    if isinstance(test, ir.Num):
        return bool(test.value)
    if isinstance(test, ir.Compare):
        values = [_num(test.left)] + [_num(c) for c in test.comparators]
        if any(v is None for v in values):
            return None
        return all(_COMPARE[op](a, b) for op, a, b in zip(test.ops, values, values[1:]))
    return None


def _simplify_ifexp(expr: ir.IfExp) -> ir.Expr:
    test, body, orelse = _simplify(expr.test), _simplify(expr.body), _simplify(expr.orelse)
    truth = _constant_truth(test)
    if truth is not None:
        return body if truth else orelse
    if body == orelse:
        return body
    if isinstance(test, ir.Name) and _num(orelse) == 0 and _has_factor(body, test):
        return body  # `2 * x * g if x else 0.0`: the product is 0 at x == 0 anyway
    return ir.IfExp(test, body, orelse)


def _has_factor(expr: ir.Expr, name: ir.Name) -> bool:
    """Whether `expr` is a product of names, numbers and positive constant powers with
    `name` (or a power of it) among its factors, so that it is 0 wherever `name` is."""
    factors = _factors(expr)
    return factors is not None and any(
        f == name or isinstance(f, ir.BinOp) and f.left == name for f in factors)


def _factors(expr: ir.Expr):
    if isinstance(expr, (ir.Name, ir.Num)):
        return [expr]
    if isinstance(expr, ir.Neg):
        return _factors(expr.operand)
    if isinstance(expr, ir.BinOp) and expr.op == "*":
        left, right = _factors(expr.left), _factors(expr.right)
        return None if left is None or right is None else left + right
    if isinstance(expr, ir.BinOp) and expr.op == "**" and isinstance(expr.left, ir.Name):
        power = _num(expr.right)
        return [expr] if power is not None and power > 0 else None
    return None


# ---------------------------------------------------------------- copy propagation

def propagate_copies(items, keep, gradients) -> tuple:
    """The backward items without pure copies between gradients: `dw0x0 = dw0x0pw1x1`
    followed by reads of `dw0x0` becomes those reads of `dw0x0pw1x1` (and a block left empty
    is dropped).  A copy `t = s` goes when `t` is assigned nowhere else, is read only after
    the copy in the same sequence of statements (the same loop iteration, the same path of a
    branch), is not a returned gradient (`keep`), and `s` is not rebound before the last read
    of `t` (in the statement of that read itself only as a plain assignment, which reads
    first).  Only copies of gradients (`gradients`, the seed among them) go: a backward loop
    restores forward values by names the IR does not show as assignments.  Both names denote the same object at every read, so every read gives the same
    value, in-place updates included: the numbers are unchanged.  Linear in the size of the
    backward pass (times the nesting depth)."""
    items = tuple(items)
    reads: dict = {}  # id(node) -> (node, _leaf_reads(node)): each statement is read once
    counts: dict = {}
    for node in ir.backward_nodes(items):
        for name, n in _reads_of(node, reads).items():
            counts[name] = counts.get(name, 0) + n
    targets: dict = {}
    for node in ir.backward_nodes(items):
        for name in _leaf_targets(node):
            targets[name] = targets.get(name, 0) + 1
    keep = (set(keep), set(gradients))
    return tuple(i for i in _sequence(list(items), counts, targets, keep, reads)
                 if i is not None)


def _reads_of(node, reads: dict) -> dict:
    """`_leaf_reads(node)`, remembered in `reads` (which holds the node, so that its id is
    not reused while the answer is kept)."""
    hit = reads.get(id(node))
    if hit is None or hit[0] is not node:
        hit = reads[id(node)] = (node, _leaf_reads(node))
    return hit[1]


def _leaf_reads(node) -> dict:
    if isinstance(node, ir.GradAssign):
        exprs = [node.expr]
    elif isinstance(node, ir.GradScatter):
        exprs = [node.index, node.expr] + ([node.init] if node.init is not None else [])
    elif isinstance(node, ir.GradMasked):
        exprs = [node.source, node.index]
    elif isinstance(node, ir.StepAppend):
        return {node.value: 1}
    else:
        return {}  # GradZero reads a forward value; ifs and loops: their nodes are walked
    found: dict = {}
    for e in exprs:
        for n in ir.walk(e):
            if isinstance(n, ir.Name):
                found[n.id] = found.get(n.id, 0) + 1
    return found


def _leaf_targets(node) -> tuple:
    if isinstance(node, ir.GradMasked):
        return (node.target,) + ((node.temp,) if node.temp else ())
    if isinstance(node, (ir.GradAssign, ir.GradScatter, ir.GradZero)):
        return (node.target,)
    return ()


def _deep(unit):
    """The leaf statements of a unit (a statement, or a whole branch or loop)."""
    if isinstance(unit, (ir.BackwardIf, ir.BackwardLoop)):
        return [n for n in ir.backward_nodes([unit])
                if not isinstance(n, (ir.BackwardIf, ir.BackwardLoop))]
    return [unit]


def _sequence(items: list, counts: dict, targets: dict, keep: tuple, reads: dict) -> list:
    """One sequence of backward items (None for an item removed), nested ones first."""
    items = [_nested(item, counts, targets, keep, reads) for item in items]
    units = []  # (item index, statement index or None, statement or nested item)
    for i, item in enumerate(items):
        if isinstance(item, ir.BackwardBlock):
            units += [(i, k, s) for k, s in enumerate(item.stmts)]
        else:
            units.append((i, None, item))
    first_read: dict = {}
    last_read: dict = {}
    seq_reads: dict = {}
    bound: dict = {}  # name -> unit indices that assign it
    for u, (_, _, unit) in enumerate(units):
        for leaf in _deep(unit):
            for name, n in _reads_of(leaf, reads).items():
                first_read.setdefault(name, u)
                last_read[name] = u
                seq_reads[name] = seq_reads.get(name, 0) + n
            for name in _leaf_targets(leaf):
                bound.setdefault(name, []).append(u)
    alias: dict = {}
    for u, (_, _, unit) in enumerate(units):
        if not (isinstance(unit, ir.GradAssign) and not unit.accumulate and not unit.rebind
                and isinstance(unit.expr, ir.Name)):
            continue
        t, s = unit.target, alias.get(unit.expr.id, unit.expr.id)
        if t in keep[0] or s not in keep[1] or t == s or targets.get(t, 0) != 1 or t in alias:
            continue
        if counts.get(t, 0) != seq_reads.get(t, 0) or first_read.get(t, u + 1) <= u:
            continue  # read outside this sequence, or before the copy (a loop's next turn)
        last = last_read.get(t, u)
        bindings = bound.get(s, ())
        k = bisect.bisect_right(bindings, u)  # the first rebinding of s after the copy
        if k < len(bindings) and bindings[k] <= last and (
                bindings[k] < last or not isinstance(units[last][2], ir.GradAssign)):
            continue
        alias[t] = s
        units[u] = (units[u][0], units[u][1], None)
        # chains: later copies of t are copies of s, and s is read where t was
        seq_reads[s] = seq_reads.get(s, 0) + seq_reads.get(t, 0)
        counts[s] = counts.get(s, 0) + counts.get(t, 0)
    if not alias:
        return items
    mapping = {t: ir.Name(s) for t, s in alias.items()}
    kept: dict = {}
    for i, k, unit in units:
        if unit is not None:  # a statement reading no renamed name stays as it is
            kept.setdefault(i, []).append(
                unit if isinstance(unit, _LEAVES) and
                not any(name in mapping for name in _reads_of(unit, reads))
                else _rename(unit, mapping))
    out = []
    for i, item in enumerate(items):
        if isinstance(item, ir.BackwardBlock):
            stmts = tuple(kept.get(i, ()))
            out.append(ir.BackwardBlock(item.origin, stmts) if stmts else None)
        else:
            out.append(kept[i][0] if i in kept else None)
    return out


_LEAVES = (ir.GradAssign, ir.GradScatter, ir.GradMasked, ir.GradZero, ir.StepAppend)


def _nested(item, counts: dict, targets: dict, keep: tuple, reads: dict):
    if isinstance(item, ir.BackwardIf):
        return ir.BackwardIf(
            item.origin,
            tuple(i for i in _sequence(list(item.body), counts, targets, keep, reads)
                  if i is not None),
            tuple(i for i in _sequence(list(item.orelse), counts, targets, keep, reads)
                  if i is not None))
    if isinstance(item, ir.BackwardLoop):
        inner = list(item.entry) + list(item.body)
        done = _sequence(inner, counts, targets, keep, reads)
        entry = tuple(i for i in done[:len(item.entry)] if i is not None)
        body = tuple(i for i in done[len(item.entry):] if i is not None)
        return dataclasses.replace(item, entry=entry, body=body)
    return item


def _rename(unit, mapping: dict):
    from adgen.rules import substitute

    if isinstance(unit, ir.GradAssign):
        return dataclasses.replace(unit, expr=substitute(unit.expr, mapping))
    if isinstance(unit, ir.GradScatter):
        return dataclasses.replace(
            unit, index=substitute(unit.index, mapping), expr=substitute(unit.expr, mapping),
            init=None if unit.init is None else substitute(unit.init, mapping))
    if isinstance(unit, ir.GradMasked):
        return dataclasses.replace(unit, source=substitute(unit.source, mapping),
                                   index=substitute(unit.index, mapping))
    if isinstance(unit, ir.BackwardBlock):
        return ir.BackwardBlock(unit.origin, tuple(_rename(s, mapping) for s in unit.stmts))
    if isinstance(unit, ir.BackwardIf):
        return ir.BackwardIf(unit.origin, tuple(_rename(s, mapping) for s in unit.body),
                             tuple(_rename(s, mapping) for s in unit.orelse))
    if isinstance(unit, ir.BackwardLoop):
        return dataclasses.replace(
            unit, entry=tuple(_rename(s, mapping) for s in unit.entry),
            body=tuple(_rename(s, mapping) for s in unit.body))
    return unit  # GradZero: reads a forward value


# ---------------------------------------------------------------- batched products

def batch_products(items, grad: ir.Gradient) -> tuple:
    """The backward items with the per-iteration products a backward loop accumulates into
    a gradient flowing out of it done once, after the loop: `dWhh += h.T @ dsum1pb` in the
    loop becomes `h_steps.append(h)` and `dsum1pb_steps.append(dsum1pb)`, and after it
    `dWhh += np.concatenate(h_steps).T @ np.concatenate(dsum1pb_steps)` (one large matrix
    product instead of one small one per iteration); `db += dsum1pb.sum(axis=0)` likewise
    becomes one sum of the concatenated steps.  The sum of the products of the steps is the
    product of the concatenated factors, added in another order (docs/design.md,
    decisions, for when this applies)."""
    names = None

    def fresh(base: str) -> str:
        nonlocal names
        if names is None:
            from adgen.naming import Names
            names = Names(set(grad.taken) | _all_names(items))
        return names.fresh(base)

    return tuple(_batch_items(list(items), grad, fresh))


def _all_names(items) -> set:
    found: set = set()
    for node in ir.backward_nodes(items):
        found |= set(_leaf_reads(node)) | set(_leaf_targets(node))
    return found


def _batch_items(items: list, grad: ir.Gradient, fresh) -> list:
    out = []
    for item in items:
        if isinstance(item, ir.BackwardIf):
            item = ir.BackwardIf(item.origin, tuple(_batch_items(list(item.body), grad, fresh)),
                                 tuple(_batch_items(list(item.orelse), grad, fresh)))
        elif isinstance(item, ir.BackwardLoop):
            item = dataclasses.replace(item, body=tuple(_batch_items(list(item.body), grad,
                                                                     fresh)))
            item = _batch_loop(item, grad, fresh)
        out.append(item)
    return out


def _rank2(grad: ir.Gradient, name: str, primal: dict) -> bool:
    t = grad.function.types.get(primal.get(name, name))
    return t is not None and t.kind == "array" and t.shape is not None and len(t.shape) == 2


def _factor(expr: ir.Expr):
    """(name, transposed) for `x` or `x.T`, else None."""
    if isinstance(expr, ir.Name):
        return expr.id, False
    if isinstance(expr, ir.Field) and expr.name == "T" and isinstance(expr.obj, ir.Name):
        return expr.obj.id, True
    return None


def _batchable(expr: ir.Expr):
    """The lists a batchable contribution needs, as ((name, axis of concatenation), ...),
    and how to build the batched expression from the concatenated names: for `A @ B`,
    `A.T @ B`, `A @ B.T`, `A.T @ B.T` and `X.sum(axis=0)`; None for anything else."""
    if isinstance(expr, ir.BinOp) and expr.op == "@":
        left, right = _factor(expr.left), _factor(expr.right)
        if left is None or right is None:
            return None
        # the contracted axis: A's last (1) unless transposed (0), B's first (0) unless
        # transposed (1); the steps are concatenated along it
        return ((left[0], 0 if left[1] else 1, left[1]), (right[0], 1 if right[1] else 0,
                                                          right[1])), "@"
    if (isinstance(expr, ir.Method) and expr.name == "sum" and not expr.args
            and isinstance(expr.obj, ir.Name) and expr.kwargs == (("axis", ir.Num(0)),)):
        return ((expr.obj.id, 0, False),), "sum"
    return None


def _nested_names(body, grad: ir.Gradient) -> set:
    """Names bound inside the branches and loops of a backward loop's body (their forward
    values restored, their indices and counters): a factor read from one could change
    between its read and the end of the iteration."""
    found: set = set()
    for node in ir.backward_nodes(body):
        if isinstance(node, ir.BackwardIf):
            paths = ("body", "orelse")
            stmts = node.origin.body + node.origin.orelse
        elif isinstance(node, ir.BackwardLoop):
            paths = ("body", "carried")
            stmts = node.origin.body + node.origin.header
            found |= {c for c, _ in node.origin.carried}
            found |= {n for n in (node.origin.index, node.origin.counter) if n}
            found |= set(node.steps)
        else:
            continue
        found |= {s.target for s in ir.assigns(stmts)}
        for path in paths:
            for pair in grad.saved.get((node.origin.key, path), ()):
                found |= set(pair)
    return found


def _batch_loop(loop: ir.BackwardLoop, grad: ir.Gradient, fresh) -> ir.BackwardLoop:
    """Batch the loop's own accumulations (in the blocks directly in its body) where exact:
    see batch_products and docs/design.md."""
    primal = {g: v for v, g in grad.grad_names.items()}
    accumulators = {z.target for z in loop.before if z.array}
    if not accumulators:
        return loop
    leaves = [n for n in ir.backward_nodes([loop])  # inside the loop: not `before`
              if not isinstance(n, (ir.BackwardIf, ir.BackwardLoop))
              and not any(n is z for z in loop.before)]
    reads: dict = {}
    targets: dict = {}
    aliased: set = set()
    for leaf in leaves:
        for name, n in _leaf_reads(leaf).items():
            reads[name] = reads.get(name, 0) + n
        for name in _leaf_targets(leaf):
            targets.setdefault(name, []).append(leaf)
        if isinstance(leaf, ir.GradAssign) and isinstance(leaf.expr, ir.Name):
            aliased.add(leaf.expr.id)
    nested = _nested_names(loop.body, grad)
    # the statements directly in the body, in order: (block index, statement index)
    units = [(i, k, s) for i, item in enumerate(loop.body) if isinstance(item, ir.BackwardBlock)
             for k, s in enumerate(item.stmts)]
    order = {id(s): u for u, (_, _, s) in enumerate(units)}
    entry_set = {e.target for e in loop.entry}

    def accumulator_ok(g: str) -> bool:
        # the partial sums are never read inside the loop: it is only added into
        return (g in accumulators and reads.get(g, 0) == 0 and all(
            isinstance(t, ir.GradAssign) and t.accumulate and not t.rebind
            for t in targets.get(g, ())))

    def factor_ok(name: str, u: int, rank2: bool) -> bool:
        if name in nested or name in aliased or name in accumulators:
            return False
        if rank2 and not _rank2(grad, name, primal):
            return False
        if not rank2:
            t = grad.function.types.get(primal.get(name, name))
            if t is None or t.kind != "array" or t.shape is None or len(t.shape) < 1:
                return False
        if name in primal or name == grad.seed:  # a gradient: one new array per iteration,
            # set before this statement, never changed in place or shared afterwards
            assigned = targets.get(name, ())
            if len(assigned) != 1 or name in entry_set:
                return False
            only = assigned[0]
            return (isinstance(only, ir.GradAssign) and not only.accumulate
                    and not only.rebind and id(only) in order and order[id(only)] < u
                    and _allocates(only.expr))
        if name not in grad.function.types or name in targets:
            return False
        return True  # a forward value: the backward pass never changes one in place

    plan = []  # (unit index, statement, ((name, axis, transposed), ...), kind)
    for u, (_, _, stmt) in enumerate(units):
        if not (isinstance(stmt, ir.GradAssign) and stmt.accumulate and not stmt.rebind
                and accumulator_ok(stmt.target)):
            continue
        found = _batchable(stmt.expr)
        if found is None:
            continue
        factors, kind = found
        if all(factor_ok(name, u, kind == "@") for name, _, _ in factors):
            plan.append((u, stmt, factors, kind))
    if not plan:
        return loop
    lists: dict = {}  # (name, axis) -> list name
    appended_at: dict = {}  # unit index -> [StepAppend]
    for u, stmt, factors, kind in plan:
        for name, axis, _ in factors:
            if (name, axis) not in lists:
                lists[(name, axis)] = fresh(f"{name}_steps")
                appended_at.setdefault(u, []).append(ir.StepAppend(lists[(name, axis)], name))
    uses: dict = {}
    for _, _, factors, _ in plan:
        for name, axis, _ in factors:
            uses[(name, axis)] = uses.get((name, axis), 0) + 1
    after: list = []
    joined: dict = {}

    def concatenated(name: str, axis: int) -> ir.Expr:
        call = ir.Call("np.concatenate", (ir.Name(lists[(name, axis)]),),
                       (("axis", ir.Num(axis)),) if axis else ())
        if uses[(name, axis)] < 2:
            return call
        if (name, axis) not in joined:
            joined[(name, axis)] = fresh(f"{name}_all")
            after.append(ir.GradAssign(joined[(name, axis)], call, False))
        return ir.Name(joined[(name, axis)])

    for _, stmt, factors, kind in plan:
        if kind == "sum":
            name, axis, _ = factors[0]
            expr = ir.Method(concatenated(name, axis), "sum", (), (("axis", ir.Num(0)),))
        else:
            parts = []
            for name, axis, transposed in factors:
                part = concatenated(name, axis)
                parts.append(ir.Field(part, "T") if transposed else part)
            expr = ir.BinOp("@", parts[0], parts[1])
        after.append(ir.GradAssign(stmt.target, expr, True))
    done = {id(stmt) for _, stmt, _, _ in plan}
    body = []
    for i, item in enumerate(loop.body):
        if not isinstance(item, ir.BackwardBlock):
            body.append(item)
            continue
        stmts = []
        for stmt in item.stmts:
            u = order[id(stmt)]
            stmts += appended_at.get(u, [])
            if id(stmt) not in done:
                stmts.append(stmt)
        body.append(ir.BackwardBlock(item.origin, tuple(stmts)))
    return dataclasses.replace(loop, body=tuple(body), steps=tuple(lists.values()),
                               batched=tuple(after),
                               step_values=tuple(name for name, _ in lists))


def _allocates(expr: ir.Expr) -> bool:
    from adgen.reverse import allocates
    return allocates(expr)
