"""Where backprop can leak, read off the IR: the sites the lens's notes name and its recorder
measures.

A differentiated function (`ir.Gradient`) is searched for six patterns, each a `Site` at one
forward statement (the user's position is the statement's `pos`, its helper call `via`):

* "gate": a sigmoid or a tanh whose input gets a gradient: its local gradient, `s * (1 - s)`
  at most 0.25 or `1 - s ** 2` at most 1, vanishes where the gate saturates;
* "relu": `np.maximum(0, z)` or `max(0, z)`: no gradient where `z <= 0`;
* "zeroing": a clip, `min`/`max` or `np.where` with one differentiated operand and a constant
  other side, whose gradient is zero over a range of that operand (`np.clip(d, -1, 1)` where
  `|d| > 1`);
* "quadratic": a square of (a difference with) a sigmoid's output, the cost Nielsen's chapter
  3 replaces by the cross-entropy;
* "recurrent": a product inside a loop of a value the loop carries with a value the loop does
  not change (`h @ Whh`), so the backward pass multiplies the carried gradient by the same
  matrix at every step;
* "exp": `np.exp(a)` summed (a softmax, a log-sum-exp) without the max shift `a - a.max()`.

Only the IR is read: no source text, no generated code (docs/design.md, "Consumers of the
IR").  A value is differentiated when the gradient names it (`grad.grad_names`).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Optional

from adgen import ir
from adgen.rules import REGISTRY

SIGMOIDS = frozenset({"sigmoid", "np_sigmoid", "sigmoid_div"})
TANHS = frozenset({"tanh", "np_tanh"})
EXTREMA = frozenset({"max", "min", "np_maximum", "np_minimum"})
SUMS = frozenset({"np_sum", "np_mean"})


@dataclasses.dataclass(frozen=True)
class Site:
    """One place where the gradient can leak.  `operand` is the position of the operand the
    gradient goes to (gate, relu, zeroing); `gate` is "sigmoid" or "tanh"; `other` is the
    sigmoid a quadratic cost is taken of; `loop` the loop of a recurrent product; `chain`
    (zeroing) the operand and then the values its gradient passes down to unchanged in kind
    (each defined by an element-wise statement with that one differentiated operand), where
    another path may still bring a gradient; `rescue` is whether one may (statically)."""

    kind: str
    stmt: ir.Assign
    operand: int = -1
    gate: str = ""
    other: Optional[ir.Assign] = None
    loop: Optional[ir.Loop] = None
    chain: tuple[str, ...] = ()
    rescue: bool = False

    @property
    def name(self) -> str:
        """The differentiated operand's name ('' if none)."""
        arg = self.stmt.args[self.operand] if self.operand >= 0 else None
        return arg.id if isinstance(arg, ir.Name) else ""


def call_line(stmt) -> Optional[int]:
    """The line of the call an inlined helper's statement came from (its `via`)."""
    found = re.search(r"called on line (\d+)$", getattr(stmt, "via", "") or "")
    return int(found.group(1)) if found else None


def loop_via(loop: ir.Loop) -> str:
    """The helper call a loop was inlined for: the `via` of its own statements (a loop keeps
    no `via` of its own; statements of helpers it calls name calls inside the loop)."""
    inside = [s for s in ir.assigns(loop.body + loop.header)]
    last = max((s.pos.line for s in inside), default=loop.pos.line)
    for stmt in inside:
        line = call_line(stmt)
        if line is None:
            return ""
        if not loop.pos.line <= line <= last:
            return stmt.via
    return ""


class Graph:
    """The forward statements of a gradient, indexed: definitions, uses, activity."""

    def __init__(self, grad: ir.Gradient):
        self.grad = grad
        self.stmts = list(ir.assigns(grad.forward))
        self.defs = {s.target: s for s in self.stmts}
        self.uses: dict[str, int] = {}
        for stmt in self.stmts:
            if self.active(stmt.target):
                for arg in stmt.args:
                    if isinstance(arg, ir.Name):
                        self.uses[arg.id] = self.uses.get(arg.id, 0) + 1
        for loop in ir.loops(grad.forward):
            for c, end in loop.carried:
                if isinstance(end, ir.Name) and self.active(c):
                    self.uses[end.id] = self.uses.get(end.id, 0) + 1
        output = grad.function.output
        if isinstance(output, ir.Name):
            self.uses[output.id] = self.uses.get(output.id, 0) + 1

    def active(self, name: str) -> bool:
        return name in self.grad.grad_names

    def active_operands(self, stmt: ir.Assign) -> list[int]:
        passive = REGISTRY[stmt.prim].passive if stmt.prim in _KNOWN else ()
        return [i for i, a in enumerate(stmt.args)
                if isinstance(a, ir.Name) and self.active(a.id) and i not in passive]

    def made_by(self, operand: ir.Operand, prims) -> Optional[ir.Assign]:
        stmt = self.defs.get(operand.id) if isinstance(operand, ir.Name) else None
        return stmt if stmt is not None and stmt.prim in prims else None


_KNOWN = frozenset(rule.name for rule in REGISTRY)


def sites(grad: ir.Gradient) -> list[Site]:
    """Every site of the gradient's forward statements, in source order (loops' products
    with their loop)."""
    graph = Graph(grad)
    found: list[Site] = []
    for stmt in graph.stmts:
        if stmt.prim not in _KNOWN:
            continue
        site = _gate(graph, stmt) or _relu(graph, stmt) or _zeroing(graph, stmt) or \
            _quadratic(graph, stmt) or _exp(graph, stmt)
        if site is not None:
            found.append(site)
    for loop in ir.loops(grad.forward):
        found += _recurrent(graph, loop)
    return sorted(found, key=lambda s: (s.stmt.pos.line, s.stmt.pos.col))


def _gate(graph: Graph, stmt: ir.Assign) -> Optional[Site]:
    gate = "sigmoid" if stmt.prim in SIGMOIDS else "tanh" if stmt.prim in TANHS else ""
    operands = graph.active_operands(stmt)
    if not gate or not operands or not graph.active(stmt.target):
        return None
    return Site("gate", stmt, operands[-1], gate=gate)


def is_relu(graph: Graph, stmt: ir.Assign) -> bool:
    return stmt.prim in ("max", "np_maximum") and len(stmt.args) == 2 and any(
        isinstance(a, ir.Num) and a.value == 0 for a in stmt.args)


def _relu(graph: Graph, stmt: ir.Assign) -> Optional[Site]:
    operands = graph.active_operands(stmt)
    if not is_relu(graph, stmt) or len(operands) != 1 or not graph.active(stmt.target):
        return None
    return Site("relu", stmt, operands[0])


def _zeroing(graph: Graph, stmt: ir.Assign) -> Optional[Site]:
    """A clip, min/max or where whose gradient to its one differentiated operand is zero
    over a range of it (the other side is constant: nothing else takes the gradient)."""
    if not graph.active(stmt.target):
        return None
    operands = graph.active_operands(stmt)
    if stmt.prim in EXTREMA and len(operands) == 1 and not is_relu(graph, stmt):
        operand = operands[0]
    elif stmt.prim == "np_clip" and operands == [0]:
        operand = 0
    elif stmt.prim == "np_where" and operands in ([1], [2]):
        operand = operands[0]
    else:
        return None
    chain = [stmt.args[operand].id]
    rescue = graph.uses.get(chain[0], 0) > 1
    while True:
        source = graph.defs.get(chain[-1])
        if source is None or source.prim not in _KNOWN or \
                not REGISTRY[source.prim].elementwise:
            break
        inputs = {source.args[i].id for i in graph.active_operands(source)}
        if len(inputs) != 1:
            break
        chain.append(inputs.pop())
        rescue = rescue or graph.uses.get(chain[-1], 0) > 1
    return Site("zeroing", stmt, operand, chain=tuple(chain), rescue=rescue)


def _square_of(stmt: ir.Assign) -> Optional[ir.Operand]:
    args = stmt.args
    if stmt.prim == "pow" and isinstance(args[1], ir.Num) and args[1].value == 2:
        return args[0]
    if stmt.prim == "np_square" or (stmt.prim == "mul" and args[0] == args[1]):
        return args[0]
    return None


def _quadratic(graph: Graph, stmt: ir.Assign) -> Optional[Site]:
    """`(s - y) ** 2` (or `(y - s) ** 2`, `s ** 2`, `np.square`, `d * d`) of a sigmoid's
    output `s`, differentiated."""
    base = _square_of(stmt)
    if base is None or not graph.active(stmt.target) or not isinstance(base, ir.Name):
        return None
    sigmoid = graph.made_by(base, SIGMOIDS)
    difference = graph.made_by(base, ("sub",))
    if sigmoid is None and difference is not None:
        sigmoid = next((s for s in (graph.made_by(a, SIGMOIDS) for a in difference.args)
                        if s is not None and graph.active(s.target)), None)
    if sigmoid is None:
        return None
    return Site("quadratic", stmt, 0, other=sigmoid)


def _exp(graph: Graph, stmt: ir.Assign) -> Optional[Site]:
    """An exponential that is summed (a softmax, a log-sum-exp) of a value that is not
    shifted by its maximum."""
    if stmt.prim != "np_exp" or not isinstance(stmt.args[0], ir.Name):
        return None
    summed = any(s.prim in SUMS and ir.Name(stmt.target) in s.args for s in graph.stmts)
    shift = graph.made_by(stmt.args[0], ("sub",))
    shifted = shift is not None and graph.made_by(shift.args[1], ("np_max",)) is not None
    if not summed or shifted:
        return None
    return Site("exp", stmt, 0)


def _recurrent(graph: Graph, loop: ir.Loop) -> list[Site]:
    """Products in a loop of a value that depends on a carried variable (in the same
    iteration) with a value the loop leaves unchanged, on the way to a carried variable's
    next value: the backward pass multiplies the carried gradient by the same factor at
    every step."""
    carried = [c for c, _ in loop.carried if graph.active(c)]
    body = list(ir.assigns(loop.header + loop.body))
    changed = {s.target for s in body} | {c for c, _ in loop.carried}
    changed |= {n for n in (loop.index, loop.counter) if n}
    depends = set(carried)
    for _ in range(2):  # nested loops and branches: one more pass reaches what they carry
        for stmt in body:
            if any(isinstance(a, ir.Name) and a.id in depends for a in stmt.args):
                depends.add(stmt.target)
    reaches = {e.id for c, e in loop.carried if isinstance(e, ir.Name) and graph.active(c)}
    for _ in range(2):
        for stmt in reversed(body):
            if stmt.target in reaches:
                reaches |= {a.id for a in stmt.args if isinstance(a, ir.Name)}
    found = []
    for stmt in body:
        if stmt.prim not in ("matmul", "mul") or stmt.target not in reaches or \
                not graph.active(stmt.target):
            continue
        kinds = [(isinstance(a, ir.Name) and a.id in depends and graph.active(a.id),
                  isinstance(a, ir.Name) and a.id not in changed) for a in stmt.args]
        for i in (0, 1):
            if kinds[i][0] and kinds[1 - i][1]:
                found.append(Site("recurrent", stmt, i, loop=loop))
                break
    return found
