"""The circuit diagram as data: one node per input and per staged statement that carries a
gradient (fused gates such as the sigmoid or the softmax cross-entropy are one statement, so
one node), one wire per operand that is such a node, each wire carrying its value (green)
and the gradient of that value (red) at the given inputs.  Statements in loops and inlined
helpers are grouped in clusters (a loop's body appears once, as the staged code has it),
which the collapsed view draws as one node each.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

from adgen import ir
from adgen.emit import comment_line
from adgen.page.links import user_lines
from adgen.page.values import Run, exact, summary


@dataclasses.dataclass
class Cluster:
    key: str  # "loop3", "helper:sigmoid@36"
    label: str
    line: int
    parent: Optional[str]
    findings: list = dataclasses.field(default_factory=list)  # a loop's (exploding, ...)


@dataclasses.dataclass
class Node:
    id: str
    name: str  # the variable
    label: str  # what it computes: `sigy = sigmoid(y)`
    lines: tuple[int, ...]  # the user's lines
    cluster: Optional[str]
    kind: str  # "input", "gate", "output"
    value: Optional[str] = None
    grad: Optional[str] = None
    value_exact: str = ""
    grad_exact: str = ""
    findings: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Edge:
    source: str
    target: str
    value: Optional[str]
    grad: Optional[str]
    carried: bool = False  # a loop's value handed to the next step


@dataclasses.dataclass
class Diagram:
    nodes: list[Node]
    edges: list[Edge]
    clusters: dict[str, Cluster]
    output: str  # the output node's id
    node_of: dict = dataclasses.field(default_factory=dict)  # ir.Assign -> node id


def _walk(stmts, chain: tuple, out: list, loops: list) -> None:
    for stmt in stmts:
        if isinstance(stmt, ir.Assign):
            out.append((stmt, chain))
        elif isinstance(stmt, ir.If):
            _walk(stmt.body, chain, out, loops)
            _walk(stmt.orelse, chain, out, loops)
        elif isinstance(stmt, ir.Loop):
            loops.append((stmt, chain))
            _walk(stmt.header + stmt.body, chain + (stmt,), out, loops)


def _loop_label(loop: ir.Loop, steps: Optional[int]) -> str:
    from adgen.printer import to_source

    head = (f"for {loop.index} in range({', '.join(to_source(b) for b in loop.bounds)})"
            if loop.kind == "for" else "while loop")
    count = "" if steps is None else f", {steps} step{'s' if steps != 1 else ''}"
    return f"{head} (line {loop.pos.line}{count}): values of the last step"


def node_label(stmt: ir.Assign) -> str:
    """What a node computes: a fused gate by what it is (`the softmax of x`), a sigmoid as
    `sigmoid(a)`, anything else as its line in the generated code."""
    from adgen import fuse
    from adgen.printer import to_source

    fused = fuse.label(stmt, to_source)
    if fused:
        return f"{stmt.target} = {fused.removesuffix(' (fused)')}"
    if "sigmoid" in stmt.prim:
        return f"{stmt.target} = sigmoid({', '.join(to_source(a) for a in stmt.args)})"
    return comment_line(stmt).split(": ", 1)[1].split(" (in ", 1)[0]


def build(grad: ir.Gradient, values: Optional[Run], findings=()) -> Diagram:
    """The diagram of `grad`, with the values of `values` (None: no values)."""
    fn = grad.function
    statements: list = []
    loops: list = []
    _walk(grad.forward, (), statements, loops)
    clusters: dict[str, Cluster] = {}
    for loop, chain in loops:
        key = f"loop{loop.key}"
        steps = None
        if values is not None:
            counts = [len(values.values.get(s.target, ())) for s, c in statements
                      if c and c[-1] is loop]
            steps = max(counts) if counts else None
        clusters[key] = Cluster(key, _loop_label(loop, steps), loop.pos.line,
                                f"loop{chain[-1].key}" if chain else None)
    nodes: list[Node] = []
    stmt_of: dict[str, ir.Assign] = {}
    by_name: dict[str, list[str]] = {}

    def add(node: Node, raw_value, raw_grad) -> None:
        node.value, node.grad = summary(raw_value), summary(raw_grad)
        node.value_exact, node.grad_exact = exact(raw_value), exact(raw_grad)
        nodes.append(node)
        by_name.setdefault(node.name, []).append(node.id)

    inputs = [(p.name, p.pos.line) for p in fn.params] + [
        (m.name, fn.pos.line) for m in fn.members]  # params['W1'] read as W1
    for name, line in inputs:
        if name in grad.wrt:
            add(Node(f"i{len(nodes)}", name, name, (line,), None, "input"),
                values.value(name) if values else None,
                values.gradient(name) if values else None)
    active = [(s, chain) for s, chain in statements if s.target in grad.grad_names]
    for i, (stmt, chain) in enumerate(active):
        cluster = f"loop{chain[-1].key}" if chain else None
        if stmt.via:
            helper = stmt.via.split(",")[0].strip()
            key = f"helper:{stmt.via}"
            if key not in clusters:
                clusters[key] = Cluster(key, f"{helper}, inlined ({stmt.via.split(', ', 1)[-1]})",
                                        user_lines(stmt)[-1], cluster)
            cluster = key
        label = node_label(stmt)
        stmt_of[f"n{i}"] = stmt
        add(Node(f"n{i}", stmt.target, label, user_lines(stmt), cluster, "gate"),
            values.value(stmt.target) if values else None,
            values.gradient(stmt.target) if values else None)
    ids = {n.id: n for n in nodes}
    edges: list[Edge] = []
    for node in nodes:
        if node.kind != "gate":
            continue
        stmt = stmt_of[node.id]
        seen: set = set()
        for arg in stmt.args:
            if not isinstance(arg, ir.Name) or arg.id in seen:
                continue
            seen.add(arg.id)
            for source in by_name.get(arg.id, ()):
                if source != node.id:
                    src = ids[source]
                    edges.append(Edge(source, node.id, src.value, src.grad))
    for loop, _ in loops:  # the value at a step's end is the next step's
        for name, end in loop.carried:
            if isinstance(end, ir.Name) and end.id != name:
                for source in by_name.get(end.id, ()):
                    for target in by_name.get(name, ()):
                        edges.append(Edge(source, target, None, None, carried=True))
    out_name = fn.output.id if isinstance(fn.output, ir.Name) else ""
    producers = by_name.get(out_name, [])
    output = Node("out", out_name or fn.output_stem, "output", (fn.pos.line,), None, "output")
    output.value = summary(values.output) if values else None
    output.grad = summary(values.seed) if values else None
    output.value_exact = exact(values.output) if values else ""
    output.grad_exact = exact(values.seed) if values else ""
    nodes.append(output)
    if producers:
        src = ids[producers[-1]]
        edges.append(Edge(src.id, "out", output.value, output.grad))
    for finding in findings:
        loops_here = [c for k, c in clusters.items() if k.startswith("loop")
                      and c.line == finding.line]
        if finding.kind in ("exploding", "vanishing") and loops_here:
            loops_here[0].findings.append(finding)  # the loop itself, not a statement
            continue
        call = getattr(finding, "call_line", None)  # in a helper: at that call only
        marked = [n for n in nodes if n.kind == "gate" and finding.line in n.lines
                  and (call is None or call in n.lines)]
        if not marked:
            marked = [n for n in nodes if n.cluster and clusters[n.cluster].line == finding.line]
        for n in marked:
            n.findings.append(finding)
    return Diagram(nodes, edges, clusters, "out", {s: i for i, s in stmt_of.items()})
