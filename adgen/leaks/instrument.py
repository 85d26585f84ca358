"""The instrumented variant: the same IR emitted with recording calls (adgen/emit.py's `Tap`).

`instrument(grad, module_source)` returns the module the lens runs: the normally generated
module (its imports, constants, helpers and `NAME_grad`, unchanged) followed by
`NAME_lens(recorder, *params, d<out>=1.0)`, the value-and-gradient with a call into the
recorder after each forward statement (`value`, `gate`, `relu`: the value, and a gate's local
gradient), at the start of the backward blocks of clips and of the values their gradient
passes down to (`zeroed`, `through`), after each backward block (`grads`), and around each
backward loop (`loop_begin`, `step`, `loop_end`: the carried gradients).  Each call's first
argument is a probe number, an index into `Instrumented.probes`, which says where in the
user's source it is.  Normally generated code is untouched: this is a separate function.
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from typing import Optional, Union

from adgen import ir
from adgen.emit import Tap, emit_function
from adgen.leaks.patterns import Graph, Site, sites
from adgen.optimize import simplify
from adgen.printer import to_source
from adgen.rules import instance_of, substitute


@dataclasses.dataclass(frozen=True)
class Probe:
    """What a recording call measures (`kind`), at which statement or loop (`node`); `site`
    is the pattern it measures, if any."""

    kind: str
    node: Union[ir.Assign, ir.Loop]
    site: Optional[Site] = None
    names: tuple[str, ...] = ()  # the gradients a "grads" call checks


@dataclasses.dataclass
class Instrumented:
    """The lens's module for one gradient: its source, the probes its calls number, and the
    generated line of each call (to place an exception raised between two of them)."""

    source: str
    name: str
    probes: list[Probe]
    lines: list[tuple[int, int]]  # (line in `source`, probe), in order

    def probe_at(self, line: int) -> Optional[Probe]:
        """The probe of the first recording call at or after a line of the module: the
        statement an exception raised on that line belongs to."""
        i = bisect.bisect_left(self.lines, (line, -1))
        return self.probes[self.lines[i][1]] if i < len(self.lines) else None


def local_gradient(stmt: ir.Assign, operand: int) -> ir.Expr:
    """The local gradient of a statement with respect to one operand: its rule's gradient
    template with the upstream gradient set to 1 (the gate's `(1 - s) * s`, the clip's
    `(lo <= a) * (a <= hi)`): exactly what the backward pass multiplies by."""
    inst = instance_of(stmt)
    mapping = dict(zip(inst.slots, stmt.args))
    mapping["out"] = ir.Name(stmt.target)
    mapping["g"] = ir.Num(1)
    return simplify(substitute(inst.grads[operand], mapping))


class Probes(Tap):
    """The recording calls, numbered as the emitter asks for them."""

    keeps_copies = True  # its lines name the gradients the blocks set

    def __init__(self, grad: ir.Gradient, parameter: str):
        self.grad, self.parameter = grad, parameter
        self.graph = Graph(grad)
        self.probes: list[Probe] = []
        self._numbers: dict = {}
        self.sites = {(s.kind, s.stmt): s for s in sites(grad)
                      if s.kind in ("gate", "relu", "zeroing")}
        self.passes: dict[str, list[tuple[Site, int]]] = {}  # value -> (zeroing, chain step)
        for site in self.sites.values():
            for step, name in enumerate(site.chain):
                self.passes.setdefault(name, []).append((site, step))

    def number(self, kind: str, node, site: Optional[Site] = None, names=()) -> int:
        key = (kind, node)
        if key not in self._numbers:
            self._numbers[key] = len(self.probes)
            self.probes.append(Probe(kind, node, site, tuple(names)))
        return self._numbers[key]

    def call(self, method: str, *args) -> str:
        return f"{self.parameter}.{method}({', '.join(str(a) for a in args)})"

    def forward(self, stmt: ir.Assign) -> list[str]:
        if stmt.prim == "param_store":  # bn_param['running_mean'] = ...: binds no name
            return []
        for kind in ("gate", "relu"):
            site = self.sites.get((kind, stmt))
            if site is not None:
                local = to_source(local_gradient(stmt, site.operand))
                return [self.call(kind, self.number(kind, stmt, site), stmt.target, local)]
        return [self.call("value", self.number("value", stmt), stmt.target)]

    def block(self, block: ir.BackwardBlock) -> tuple[list[str], list[str]]:
        stmt = block.origin
        before = []
        site = self.sites.get(("zeroing", stmt))
        if site is not None:
            local = to_source(local_gradient(stmt, site.operand))
            before.append(self.call("zeroed", self.number("zeroing", stmt, site),
                                    self.grad.grad_names[stmt.target], local))
        before += self._passes(stmt.target)
        gradients = set(self.grad.grad_names.values())  # (not a declared backward's results)
        targets = list(dict.fromkeys(g.target for g in block.stmts
                                     if getattr(g, "target", None) in gradients))
        after = [self.call("grads", self.number("grads", stmt, names=targets), *targets)
                 ] if targets else []
        return before, after

    def _passes(self, name: str) -> list[str]:
        """`through` calls for a value a clip's zero gradient passes down to, once its own
        gradient is complete."""
        return [self.call("through", self.number("zeroing", site.stmt, site), step,
                          self.grad.grad_names[name])
                for site, step in self.passes.get(name, ()) if name in self.grad.grad_names]

    def loop(self, item: ir.BackwardLoop) -> tuple[list[str], list[str], list[str]]:
        types = self.grad.function.types
        names = [self.grad.grad_names[c] for c, _ in item.origin.carried
                 if c in self.grad.grad_names and  # (a list's gradient grows by rows)
                 getattr(types.get(c), "kind", None) != "list"]
        if not names:
            return [], [], []
        k = self.number("loop", item.origin)
        return ([self.call("loop_begin", k)], [self.call("step", k, *names)],
                [self.call("loop_end", k, *names)])

    def end(self, grad: ir.Gradient) -> list[str]:
        params = [p.name for p in grad.function.params]
        return [line for p in params for line in self._passes(p)]


def parameter_name(grad: ir.Gradient) -> str:
    """`_lens`, or `_lens_1` ... if the function already uses that name."""
    fn = grad.function
    taken = {p.name for p in fn.params} | {s.target for s in ir.assigns(grad.forward)}
    taken |= set(grad.grad_names.values()) | {grad.seed, fn.name} | {c.name for c in fn.consts}
    taken |= {stack for pairs in grad.saved.values() for _, stack in pairs}
    name, n = "_lens", 0
    while name in taken:
        n += 1
        name = f"_lens_{n}"
    return name


def instrument(grad: ir.Gradient, module_source: str) -> Instrumented:
    """The normally generated module `module_source` with `NAME_lens` added."""
    probes = Probes(grad, parameter_name(grad))
    name = f"{grad.function.name}_lens"
    function = emit_function(grad, value_and_grad=True, tap=probes, name=name)
    source = module_source + "\n\n" + function
    call = re.compile(rf"\b{re.escape(probes.parameter)}\.\w+\((\d+)")
    lines = [(number, int(found.group(1))) for number, text in
             enumerate(source.splitlines(), start=1) for found in [call.search(text)] if found]
    return Instrumented(source, name, probes.probes, lines)
