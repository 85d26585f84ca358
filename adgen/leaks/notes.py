"""The lens without running anything: notes (AD6nn) on the patterns where backprop can leak.

`notes(grad, parsed)` turns the sites adgen/leaks/patterns.py finds into diagnostics of severity
"note", each at the user's `file:line:col` with what to do instead; `adgen FILE --lens` prints
them (exit status 0) and `NotesTap` writes the same notes as comments into the generated
module, in the backward block where the gradient leaks (the forward line, for an exponential
that can overflow).
"""

from __future__ import annotations

from typing import Optional

from adgen import ir
from adgen.diagnostics import Diagnostic
from adgen.emit import Tap
from adgen.leaks.patterns import _KNOWN, SIGMOIDS, Graph, Site, call_line, sites
from adgen.printer import to_source
from adgen.rules import instance_of, substitute

CODES = {"zeroing": "AD601", "gate": "AD602", "quadratic": "AD603", "relu": "AD604",
         "recurrent": "AD605", "exp": "AD606"}

# What to do instead, per site kind: the help of a note, of a finding at run time.
ADVICE = {
    "zeroing": "if it bounds the error of a loss, use the Huber loss, whose gradient stays "
               "+-1 where the error is large: np.where(abs(d) <= 1, 0.5 * d ** 2, abs(d) - "
               "0.5); to bound the step, clip the gradient, not the value",
    "sigmoid": "keep its input near 0: weights with std 1 / sqrt(fan_in) (Xavier) and "
               "normalised inputs; a ReLU does not saturate in hidden layers; at the output, "
               "the cross-entropy cost's gradient s - y has no s * (1 - s)",
    "tanh": "keep its input near 0: weights with std 1 / sqrt(fan_in) (Xavier) and "
            "normalised inputs; in a recurrent network an LSTM's cell state carries the "
            "gradient past saturated gates",
    "quadratic": "use the cross-entropy cost -(y * log(s) + (1 - y) * log(1 - s)): its "
                 "gradient with respect to the sigmoid's input is s - y",
    "relu": "initialise with std sqrt(2 / fan_in) (He) and small positive biases, keep the "
            "learning rate moderate, or use a leaky ReLU: np.maximum(0.01 * z, z)",
    "recurrent": "clip the gradient's norm (rescale it when it exceeds a threshold, e.g. 5) "
                 "and initialise the matrix orthogonal; in a vanilla RNN, an LSTM or GRU "
                 "carries the gradient additively in its cell state",
    "exploding": "clip the gradient's norm (rescale the gradient when its norm exceeds a "
                 "threshold, e.g. 5), or scale the recurrent matrix down (orthogonal "
                 "initialisation: singular values 1)",
    "vanishing": "use an LSTM or GRU, whose cell state carries the gradient additively, "
                 "initialise the recurrent matrix orthogonal, or keep its gates unsaturated",
    "exp": "subtract the maximum first, a - a.max(axis=..., keepdims=True): the softmax and "
           "the log-sum-exp do not change, and adgen's backward pass skips the shift",
}
# The same advice in a few words, for the comments in generated code.
FIX = {"zeroing": "the Huber loss, or clip the gradient", "sigmoid": "Xavier initialisation",
       "tanh": "Xavier initialisation, an LSTM", "quadratic": "the cross-entropy cost",
       "relu": "He initialisation, a leaky ReLU", "recurrent": "gradient clipping, an LSTM",
       "exp": "the max shift"}
LOCAL = {"sigmoid": ("s * (1 - s)", "0.25"), "tanh": ("1 - s ** 2", "1")}


def advice(site: Site) -> str:
    return ADVICE[site.gate if site.kind == "gate" else site.kind]


OPERATIONS = {"np_clip": "np.clip", "np_where": "np.where", "np_maximum": "np.maximum",
              "np_minimum": "np.minimum", "max": "max", "min": "min"}


def label(graph: Graph, operand: ir.Operand, width: int = 32) -> Optional[str]:
    """How the user would write a value: their variable or parameter name, or the
    expression adgen staged it from (`X @ W1 + b1`, `sigmoid(w * x + b)`) when that is
    short; None otherwise."""
    expr = _spelled(graph, operand, 0)
    text = to_source(expr) if expr is not None else None
    return text if text is not None and len(text) <= width else None


def _spelled(graph: Graph, operand: ir.Operand, depth: int) -> Optional[ir.Expr]:
    if not isinstance(operand, ir.Name):
        return operand
    stmt = graph.defs.get(operand.id)
    if stmt is None or operand.id in {p.name for p in graph.grad.function.params}:
        return operand
    if stmt.user:
        return ir.Name(stmt.user)
    if depth >= 3 or stmt.prim not in _KNOWN or stmt.prim == "setitem":
        return None
    if stmt.prim in SIGMOIDS:
        inner = _spelled(graph, stmt.args[-1], depth + 1)
        return None if inner is None else ir.Call("sigmoid", (inner,))
    inst = instance_of(stmt)
    read = {n.id for n in ir.walk(inst.forward) if isinstance(n, ir.Name)}
    args = {slot: _spelled(graph, a, depth + 1) for slot, a in zip(inst.slots, stmt.args)
            if slot in read}
    if any(a is None for a in args.values()):
        return None
    return substitute(inst.forward, args)


def message(graph: Graph, site: Site) -> str:
    """What a site is and how the gradient leaks there, in the user's names."""
    stmt = site.stmt
    name = label(graph, stmt.args[site.operand]) if site.operand >= 0 else None
    called = name or "its input"
    if site.kind == "gate":
        local, top = LOCAL[site.gate]
        return (f"{site.gate} gate: its local gradient {local} is at most {top} and vanishes "
                f"where |{called}| is large (the gate saturates)")
    if site.kind == "relu":
        return (f"ReLU: no gradient where {called} <= 0; a unit whose input is negative for "
                "every example is dead, and its weights get no gradient")
    if site.kind == "zeroing":
        return (f"{OPERATIONS[stmt.prim]}: no gradient to {called} where "
                f"{_zero_range(graph, site, called)}")
    if site.kind == "quadratic":
        sig = site.other
        out = label(graph, ir.Name(sig.target)) or "a sigmoid's output"
        return (f"quadratic cost of {out} (the sigmoid of line "
                f"{call_line(sig) or sig.pos.line}): its "
                "gradient (s - y) * s * (1 - s) vanishes where the sigmoid saturates, even "
                "when the output is wrong")
    if site.kind == "recurrent":
        factor = stmt.args[1 - site.operand]
        shown = label(graph, factor) or to_source(factor)
        what = (f"{shown}.T" if stmt.prim == "matmul" else shown)
        grows = (f"the largest singular value of {shown}" if stmt.prim == "matmul"
                 else f"|{shown}|")
        return (f"the backward pass multiplies the gradient carried by the loop on line "
                f"{site.loop.pos.line} by {what} at every step: over T steps its norm grows "
                f"or shrinks roughly like {grows} to the power T")
    return (f"np.exp({called}) is summed without the max shift: exp overflows to inf above "
            "709 (88 in float32), and the sum becomes inf or nan")


def _zero_range(graph: Graph, site: Site, called: str) -> str:
    stmt = site.stmt
    others = [label(graph, a) or "the other operand" for i, a in enumerate(stmt.args)
              if i != site.operand]
    if stmt.prim == "np_clip":
        return f"{called} < {others[0]} or {called} > {others[1]}"
    if stmt.prim == "np_where":
        cond = label(graph, stmt.args[0]) or "the condition"
        return f"{cond} is {'false' if site.operand == 1 else 'true'}"
    larger = stmt.prim in ("max", "np_maximum")
    if len(others) == 1:
        return f"{called} {'<' if larger else '>'} {others[0]}"
    return f"{called} is not the {'largest' if larger else 'smallest'}"


def position(stmt, parsed) -> tuple[str, str]:
    """The file a statement is in and its source line: the compiled file, or the user
    module an inlined helper came from (when the file imports it by that name)."""
    helper = (getattr(stmt, "via", "") or "").split(",")[0]
    if "." in helper and parsed is not None:
        found = parsed.user_function(helper)
        if found is not None:
            module = found[0]
            return module.path, module.line_text(stmt.pos.line)
    if parsed is None:
        return "", ""
    return parsed.path, parsed.line_text(stmt.pos.line)


def where(stmt) -> str:
    """` (in sigmoid, called on line 9)` for an inlined helper's statement, else ''."""
    return f" (in {stmt.via})" if getattr(stmt, "via", "") else ""


def notes(grad: ir.Gradient, parsed=None) -> list[Diagnostic]:
    """The lens's notes on one differentiated function: one per site whose gradient can
    leak.  A clip, min, max or where is left out when another path may bring its operand a
    gradient where it passes none (the Huber loss written with min: `site.rescue`)."""
    graph = Graph(grad)
    found = []
    for site in sites(grad):
        if site.kind == "zeroing" and site.rescue:
            continue
        path, line_text = position(site.stmt, parsed)
        found.append(Diagnostic(
            CODES[site.kind], message(graph, site) + where(site.stmt),
            path or grad.function.path, site.stmt.pos.line, site.stmt.pos.col,
            help=advice(site), source_line=line_text, severity="note"))
    return found


class NotesTap(Tap):
    """The notes as comments in the generated module: in the backward block of the
    statement where the gradient leaks, on the forward line of an exponential that can
    overflow."""

    keeps_copies = True  # its lines name the gradients the blocks set

    def __init__(self, grad: ir.Gradient):
        graph = Graph(grad)
        self.comments: dict = {}
        self.forward_comments: dict = {}
        for site in sites(grad):
            if site.kind == "zeroing" and site.rescue:
                continue
            fix = FIX[site.gate if site.kind == "gate" else site.kind]
            text = f"# note {CODES[site.kind]}: {message(graph, site)}; instead: {fix}"
            table = self.forward_comments if site.kind == "exp" else self.comments
            table.setdefault(site.stmt, []).append(text)

    def forward(self, stmt: ir.Assign) -> list[str]:
        return self.forward_comments.get(stmt, [])

    def block(self, block: ir.BackwardBlock) -> tuple[list[str], list[str]]:
        return self.comments.get(block.origin, []), []


__all__ = ["notes", "NotesTap", "ADVICE", "CODES", "advice", "call_line", "message", "where"]
