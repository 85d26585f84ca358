"""Analyze: which statements the gradient needs and which values carry derivatives.

* varied — depends on a `wrt` input (forward activity), other than through a piecewise-
  constant function such as `math.floor` or a comparison;
* useful — the output depends on it, or control flow does (a branch's test, a loop's bounds
  or condition): the gradient function must compute it;
* active — both varied and useful: only active variables get gradient variables.

Statements that are not useful are dead for the gradient function and are dropped (a branch
or loop with nothing useful inside goes too).  With loops a name may be assigned more than
once (a loop-carried variable, a branch's merged result), so both properties are computed to
a fixed point over the whole statement tree.
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


def _edges(stmts, into: list) -> list:
    """(target, operands, carries a derivative) for every assignment in the tree, loop-carried
    assignments (`h = h_1` at the end of an iteration) included."""
    for stmt in stmts:
        if isinstance(stmt, ir.Assign):
            into.append((stmt.target, _names(stmt.args),
                         not REGISTRY[stmt.prim].nondifferentiable))
        elif isinstance(stmt, ir.If):
            _edges(stmt.body, into)
            _edges(stmt.orelse, into)
        elif isinstance(stmt, ir.Loop):
            _edges(stmt.header, into)
            _edges(stmt.body, into)
            into.extend((name, _names([value]), True) for name, value in stmt.carried)
    return into


def _control(stmts, into: set) -> set:
    """Names control flow reads: branch tests, loop bounds and conditions."""
    for stmt in stmts:
        if isinstance(stmt, ir.If):
            into.update(_names([stmt.test]))
            _control(stmt.body, into)
            _control(stmt.orelse, into)
        elif isinstance(stmt, ir.Loop):
            into.update(_names(stmt.bounds))
            if stmt.test is not None:
                into.update(_names([stmt.test]))
            _control(stmt.header, into)  # a short-circuit `and`/`or` in the test branches
            _control(stmt.body, into)
    return into


def _prune(stmts, useful: frozenset) -> tuple:
    kept = []
    for stmt in stmts:
        if isinstance(stmt, ir.Assign):
            if stmt.target in useful:
                kept.append(stmt)
        elif isinstance(stmt, ir.Raise):  # a check of the forward pass: always kept
            kept.append(stmt)
        elif isinstance(stmt, ir.If):
            body, orelse = _prune(stmt.body, useful), _prune(stmt.orelse, useful)
            if body or orelse:
                kept.append(dataclasses.replace(stmt, body=body, orelse=orelse))
        else:
            carried = tuple((n, v) for n, v in stmt.carried if n in useful)
            body = _prune(stmt.body, useful)
            if body or carried:
                kept.append(dataclasses.replace(stmt, body=body, carried=carried))
    return tuple(kept)


def analyze(fn: ir.Function, wrt: tuple[str, ...]) -> Facts:
    edges = _edges(fn.body, [])
    varied = set(wrt)
    changed = True
    while changed:
        changed = False
        for target, operands, differentiable in edges:
            if differentiable and target not in varied and any(n in varied for n in operands):
                varied.add(target)
                changed = True
    useful: set[str] = _control(fn.body, set())
    # a write into a parameter's dict is done as the forward does it: always kept
    useful |= {a.target for a in ir.assigns(fn.body) if a.prim == "param_store"}
    if isinstance(fn.output, ir.Name):
        useful.add(fn.output.id)
    changed = True
    while changed:
        changed = False
        for target, operands, _ in reversed(edges):
            if target in useful:
                new = [n for n in operands if n not in useful]
                if new:
                    useful.update(new)
                    changed = True
    frozen = frozenset(useful)
    return Facts(frozenset(varied), frozen, _prune(fn.body, frozen))


def refused_operands(stmts, varied: frozenset, into: list) -> list:
    """The statements whose operand depends on a differentiated input where that has no
    derivative: integer functions (math.factorial, comb, perm: Rule.integer; AD306, as
    Python raises on a float there) and steps (`.astype(bool)`: Rule.step; AD305)."""
    for stmt in stmts:
        if isinstance(stmt, ir.Assign):
            rule = REGISTRY[stmt.prim]
            if (rule.integer or (rule.step is not None and rule.step(dict(stmt.attrs)))) \
                    and any(n in varied for n in _names(stmt.args)):
                into.append(stmt)
        elif isinstance(stmt, ir.If):
            refused_operands(stmt.body, varied, into)
            refused_operands(stmt.orelse, varied, into)
        elif isinstance(stmt, ir.Loop):
            refused_operands(stmt.header, varied, into)
            refused_operands(stmt.body, varied, into)
    return into
