"""The lens's report: what the recorder measured, judged against documented thresholds.

Thresholds (docs/lens.md explains each, with the maths behind it):

* saturated: a gate's output whose local gradient is under 1% of the gate's maximum
  (`s * (1 - s) < 0.0025` for a sigmoid, `1 - s ** 2 < 0.01` for a tanh: |input| above 6
  and 3) is saturated; the gate is flagged when at least `SATURATED_SHARE` of its outputs
  are;
* dead-relu: a unit (a column of a ReLU'd matrix) whose input is <= 0 for every example is
  dead; the ReLU is flagged when at least `DEAD_SHARE` of its units are;
* zeroed: a clip, min, max or where is flagged when it passes a zero gradient for at least
  `ZEROED_SHARE` of the elements whose upstream gradient is not zero, where no other path
  brings them a gradient;
* exploding / vanishing: a loop is flagged when the gradient it carries back changes norm by
  more than `LOOP_CHANGE` either way over the loop (the figure is the per-step factor, the
  geometric mean: 1.1 per step over 100 steps is 13781x, 0.9 is 2.7e-5);
* nonfinite: the first nan or inf of the forward or the backward pass.
"""

from __future__ import annotations

import dataclasses
import textwrap
from typing import Optional

from adgen import ir
from adgen.emit import signature_items
from adgen.leaks.notes import ADVICE, LOCAL, OPERATIONS, advice, label, position, where
from adgen.leaks.patterns import Graph, call_line, loop_via

SATURATED_SHARE = 0.10
DEAD_SHARE = 0.10
ZEROED_SHARE = 0.10
LOOP_CHANGE = 1e3

WIDTH = 100  # the report's findings are wrapped to this many columns

KINDS = ("saturated", "dead-relu", "zeroed", "exploding", "vanishing", "nonfinite")


@dataclasses.dataclass(frozen=True)
class Finding:
    """A leak at one line of the user's source: its `kind` (one of KINDS), the `line` of
    the forward statement (or loop) that causes it, the measured `figure` (a fraction of
    units or elements, a loop's per-step growth factor, the first nan/inf value), a
    `message` and what to do instead (`help`).  Inside an inlined helper, `line` is the
    helper's line and `call_line` the line of the call."""

    kind: str
    line: int
    figure: float
    message: str
    help: str = ""
    path: str = ""
    col: int = 0
    call_line: Optional[int] = None
    source: str = ""  # the user's source line

    def format(self, width: int = WIDTH) -> str:
        """`path:line: kind: message` and `help: ...`, wrapped to `width` columns."""
        text = textwrap.fill(f"{self.path}:{self.line}: {self.kind}: {self.message}", width,
                             subsequent_indent="    ", break_long_words=False,
                             break_on_hyphens=False)
        if self.help:
            text += "\n" + textwrap.fill(f"help: {self.help}", width, initial_indent="    ",
                                         subsequent_indent="          ",
                                         break_long_words=False, break_on_hyphens=False)
        return text

    __str__ = format


@dataclasses.dataclass(frozen=True)
class Measurement:
    """A row of the report's table: one gate, ReLU, clip or loop the lens measured (or the
    first nan/inf), flagged or not."""

    what: str
    line: int
    col: int
    call_line: Optional[int]
    source: str
    measured: str
    figure: float
    finding: Optional[Finding] = None


@dataclasses.dataclass
class Report:
    """`adgen.lens(f)(*args)`: the value and the gradients at those arguments, every
    measurement, and the findings (`ok` when there are none)."""

    function: str
    value: object
    gradients: object
    measurements: list[Measurement]
    findings: list[Finding]
    error: str = ""  # the exception that stopped the function (math.exp overflowing)

    @property
    def ok(self) -> bool:
        return not self.findings

    def format(self) -> str:
        count = len(self.findings)
        verdict = f"{count} finding{'s' if count != 1 else ''}" if count else "ok"
        outcome = f"raised {self.error}" if self.error else f"= {_value(self.value)}"
        lines = [f"lens: {self.function} {outcome}: {verdict}"]
        rows = [("line", "op", "source", "measured", "finding")]
        for m in self.measurements:
            line = f"{m.line}" if m.call_line is None else f"{m.line} (call {m.call_line})"
            rows.append((line, m.what, _short(m.source), m.measured,
                         m.finding.kind if m.finding else "-"))
        if len(rows) == 1:
            lines.append("  nothing to measure: no sigmoid, tanh, ReLU, clip or loop on the "
                         "gradient's path;")
            lines.append("  every value is finite")
        else:
            widths = [max(len(r[i]) for r in rows) for i in range(4)]
            for row in rows:
                cells = [row[i].ljust(widths[i]) for i in range(4)] + [row[4]]
                lines.append("  " + "  ".join(cells).rstrip())
        lines += [f.format() for f in self.findings]
        return "\n".join(lines)

    __str__ = format


def _value(value) -> str:
    shape = getattr(value, "shape", None)
    if shape:
        return f"array of shape {shape}"
    try:
        return f"{float(value):.6g}"
    except (TypeError, ValueError):
        return repr(value)


def _short(text: str, width: int = 36) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 3] + "..."


def percent(fraction: float) -> str:
    """`54.7%`; never `100%` for less than all, nor `0%` for more than none."""
    if fraction in (0, 1):
        return f"{100 * fraction:.0f}%"
    return f"{min(max(100 * fraction, 1e-3), 99.9):.3g}%"


class Judge:
    """Turns the recorder's counts into measurements and findings."""

    def __init__(self, grad: ir.Gradient, parsed, recorder):
        self.grad, self.parsed, self.recorder = grad, parsed, recorder
        self.rows: list[Measurement] = []

    def row(self, what: str, node, measured: str, figure: float, kind: str = "",
            message: str = "", help: str = "") -> None:
        """A measurement of a statement or loop (`node`), a finding when `kind` is given."""
        via = loop_via(node) if isinstance(node, ir.Loop) else node.via
        path, text = position(_Via(node, via), self.parsed)
        called = call_line(_Via(node, via))
        finding = None
        if kind:
            suffix = f" (in {via})" if via else ""
            finding = Finding(kind, node.pos.line, figure, message + suffix, help,
                              path or self.grad.function.path, node.pos.col, called,
                              text.strip())
        self.rows.append(Measurement(what, node.pos.line, node.pos.col, called, text.strip(),
                                     measured, figure, finding))

    def probe(self, k: int, probe) -> None:
        r, node, site = self.recorder, probe.node, probe.site
        if probe.kind == "gate" and r.saturation(k):
            saturated, total = r.saturation(k)
            share = saturated / total
            local, top = LOCAL[site.gate]
            self.row(site.gate, node, f"{percent(share)} of {total} saturated", share,
                     "saturated" if share >= SATURATED_SHARE else "",
                     f"{percent(share)} of the {site.gate}'s outputs ({saturated} of {total}) "
                     f"are saturated: their local gradient {local} is under 1% of its "
                     f"maximum {top}, so the gradient through them is cut more than 100x",
                     advice(site))
        elif probe.kind == "relu" and r.dead(k):
            dead, units = r.dead(k)
            share = dead / units
            self.row("ReLU", node, f"{dead} of {units} units dead", share,
                     "dead-relu" if share >= DEAD_SHARE else "",
                     f"{dead} of {units} units ({percent(share)}) are dead: their input is "
                     "<= 0 for every example, so they pass no gradient back and their "
                     "weights get none", advice(site))
        elif probe.kind == "zeroing" and r.zeroing(k):
            killed, flowing = r.zeroing(k)
            share = killed / flowing
            operation = OPERATIONS[site.stmt.prim]
            self.row(operation, node, f"{percent(share)} of {flowing} zeroed", share,
                     "zeroed" if share >= ZEROED_SHARE else "",
                     f"{operation} passes a zero gradient to {percent(share)} of the elements "
                     f"whose upstream gradient is not zero ({killed} of {flowing}), and no "
                     "other path brings them one", advice(site))
        elif probe.kind == "loop" and r.growth(k):
            change, steps = r.growth(k)
            factor = change ** (1 / steps)
            kind = "exploding" if change > LOOP_CHANGE else \
                "vanishing" if change < 1 / LOOP_CHANGE else ""
            how = (f"grows {change:.4g}x" if change >= 1 else
                   f"shrinks to {change:.3g} of its size")
            self.row("loop", node, f"{change:.3g}x in {steps} steps ({factor:.4g}/step)",
                     factor, kind, f"the gradient carried back through the loop {how} over "
                     f"{steps} steps ({factor:.4g}x per step)", ADVICE.get(kind, ""))

    def nonfinite(self) -> None:
        first = self.recorder.first
        if first is None:
            return
        node = self.recorder.probes[first.probe].node
        name = first.name
        if first.phase == "forward" and name:
            name = label(Graph(self.grad), ir.Name(name), 40) or name
        count = "" if first.size == 1 else f" at {first.count} of {first.size} elements"
        cause = f" ({first.error})" if first.error else ""
        self.row("nan/inf", node, f"{first.value} in {name or 'a value'}", first.value,
                 "nonfinite", f"{name or 'a value'} is {first.value}{count}{cause}: "
                 f"the first nan/inf of the {first.phase} pass",
                 "look at this line's inputs: an exponential that overflows (use the max "
                 "shift), a log or a division at 0 (add an epsilon), a learning rate that "
                 "is too large")


class _Via:
    """A statement's or a loop's position with the helper call it was inlined for (a loop
    takes its statements': patterns.loop_via)."""

    def __init__(self, node, via: str):
        self.pos, self.via = node.pos, via


def judge(grad: ir.Gradient, parsed, instrumented, recorder, value, gradients,
          error: str = "") -> Report:
    j = Judge(grad, parsed, recorder)
    for k, probe in enumerate(instrumented.probes):
        j.probe(k, probe)
    j.nonfinite()
    rows = sorted(j.rows, key=lambda m: (m.line, m.col, m.call_line or 0))
    shown = [item.split("=")[0] for item in signature_items(grad.function.params)]
    signature = f"{grad.function.name}({', '.join(shown)})"  # (w, X, y, *, l2)
    return Report(signature, value, gradients, rows,
                  [m.finding for m in rows if m.finding is not None], error)


__all__ = ["Finding", "Measurement", "Report", "judge", "KINDS", "where"]
