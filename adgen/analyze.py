"""Analyze: which statements the gradient needs and which values carry derivatives.

* varied — depends on a `wrt` input (forward activity), other than through a piecewise-
  constant function such as `math.floor`;
* useful — the output depends on it (backward activity);
* active — both: only active variables get gradient variables.

Statements that are not useful are dead for the gradient function and are dropped; the backward
pass only reads operands and outputs of active statements, which are all useful, so no extra
forward value needs saving in straight-line code.
"""

from __future__ import annotations

import dataclasses

from adgen import ir
from adgen.rules import REGISTRY


@dataclasses.dataclass(frozen=True)
class Facts:
    varied: frozenset[str]
    useful: frozenset[str]
    needed: tuple[ir.Stmt, ...]  # forward statements the gradient function must compute

    def active(self, name: str) -> bool:
        return name in self.varied and name in self.useful


def _names(args) -> list[str]:
    return [a.id for a in args if isinstance(a, ir.Name)]


def analyze(fn: ir.Function, wrt: tuple[str, ...]) -> Facts:
    varied = set(wrt)
    for stmt in fn.body:
        if REGISTRY[stmt.prim].nondifferentiable:
            continue  # piecewise constant: carries no derivative
        if any(n in varied for n in _names(stmt.args)):
            varied.add(stmt.target)
    useful: set[str] = set()
    if isinstance(fn.output, ir.Name):
        useful.add(fn.output.id)
    needed = []
    for stmt in reversed(fn.body):
        if stmt.target in useful:
            useful.update(_names(stmt.args))
            needed.append(stmt)
    return Facts(frozenset(varied), frozenset(useful), tuple(reversed(needed)))

