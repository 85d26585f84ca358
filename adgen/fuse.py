"""Fuse: gates that span several staged statements, found in the IR.

`gates.py` recognises a gate written as one expression; a softmax is usually written over
several statements (CS231n's `exp_scores = np.exp(scores); probs = exp_scores /
exp_scores.sum(axis=1, keepdims=True)`), so it is found here, after staging.  A fused gate
keeps the forward pass unchanged (the same statements, the same numbers): only the last
statement of the group changes its primitive, and its new operands are the forward values
its gradient reads plus the operand the gradient goes to.  The statements in between get no
gradient (their results are passive operands of the gate), so the backward pass goes
straight to the gate's input with its simple local gradient.  The gates, with E = np.exp(X)
and S = np.sum(E, axis=k, ...):

* `s = 1 / (1 + E)` with E = exp(-z) becomes `sigmoid_div(1, 1 + E, z)`: dz = (1 - s) * s *
  g, as for the sigmoid written in one expression (gates.py);
* `P = E / S` (S with keepdims) becomes `softmax_div(E, S, X)`: dX = P * (g - (g *
  P).sum(axis=k, keepdims=True));
* `L = np.log(S)` becomes `logsumexp(S, E, X)`: dX = E / S * g;
* `Y = X - L` with that L (keepdims) becomes `log_softmax(X, L, E, S, X)`: dX = g - E / S *
  g.sum(axis=k, keepdims=True);
* `m + L` with m = np.max(A, ...) reduced like S and X = A - m becomes `logsumexp_max(m, L,
  E, S, A)`: dA = E / S * g.  The max's own gradient (an argmax mask) is exactly zero (the
  route through m and the route through X - m cancel), so it is skipped;
* the cross-entropy picks, for P or Y of a 2-D array along its last axis and rows =
  np.arange(N) (N its first dimension): `log(P[rows, y])` becomes `softmax_log_pick` and
  `Y[rows, y]` becomes `log_softmax_pick`, with dX = -P * g[:, np.newaxis] (P = E / S for
  Y) and then `dX[rows, y] += g`.  A plain `+=` is right there, though the index holds
  arrays: rows = arange(N) makes every (row, label) pair distinct, so no position repeats
  (np.add.at, which adds up repeats, is not needed, and it is slow).

When X is itself `A - A.max(axis=k, keepdims=True)` (the usual shift), the softmax and the
log-softmax send their gradient to A: they do not change under the shift, so the shift's
own gradient is exactly zero.  A group is fused only when its inner values feed nothing
else (counting only uses that carry a gradient), so no other gradient is lost.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Optional

from adgen import ir
from adgen.rules import REGISTRY


def _uses(fn: ir.Function) -> collections.Counter:
    """How often each value feeds a gradient: uses by statements that carry no derivative
    (a shape, a comparison) do not count — the fused forward pass computes the same values,
    only the backward route changes."""
    counts: collections.Counter = collections.Counter()
    for stmt in ir.assigns(fn.body):
        if REGISTRY[stmt.prim].nondifferentiable:
            continue
        counts.update(a.id for a in stmt.args if isinstance(a, ir.Name))
    for loop in ir.loops(fn.body):  # a loop's end-of-iteration assignment is a use too
        counts.update(v.id for _, v in loop.carried if isinstance(v, ir.Name))
    if isinstance(fn.output, ir.Name):
        counts[fn.output.id] += 1
    return counts


_FULL = "full"  # a reduction over every axis, without keepdims


class _Fuser:
    """The function's body, looked up by target, as the gates are fused one by one."""

    def __init__(self, fn: ir.Function, body, elsewhere: collections.Counter,
                 uses: collections.Counter) -> None:
        self.fn = fn
        self.body = list(body)
        # the statements of this block only, and only names assigned nowhere else (a loop
        # may reassign a name it carries; a branch's merged name is assigned on each path)
        self.index = {stmt.target: i for i, stmt in enumerate(self.body)
                      if isinstance(stmt, ir.Assign) and elsewhere[stmt.target] == 1}
        self.uses = uses

    def of(self, operand, prim: str) -> Optional[ir.Assign]:
        """The statement computing `operand`, if it is a `prim` statement."""
        if not isinstance(operand, ir.Name) or operand.id not in self.index:
            return None
        stmt = self.body[self.index[operand.id]]
        return stmt if stmt.prim == prim else None

    def used(self, operand: ir.Name, times: int) -> bool:
        return self.uses[operand.id] == times

    def rank(self, operand) -> Optional[int]:
        t = self.fn.types.get(operand.id) if isinstance(operand, ir.Name) else None
        return None if t is None else t.rank

    def shape(self, operand):
        t = self.fn.types.get(operand.id) if isinstance(operand, ir.Name) else None
        return None if t is None else t.shape

    def reduced(self, stmt: ir.Assign):
        """How a sum or max reduces: its axis (non-negative) with keepdims=True, `_FULL`
        for every axis without keepdims, None otherwise."""
        attrs = dict(stmt.attrs)
        axis, keep = attrs.get("axis"), attrs.get("keepdims", False) is True
        if axis is None:
            return _FULL if not keep else None
        rank = self.rank(stmt.args[0])
        if not keep or not isinstance(axis, int) or isinstance(axis, bool) or rank is None:
            return None
        return axis % rank if -rank <= axis < rank else None

    def replace(self, stmt: ir.Assign, prim: str, args: tuple, attrs=()) -> None:
        types = tuple(self.fn.types.get(a.id) if isinstance(a, ir.Name) else None
                      for a in args)
        self.body[self.index[stmt.target]] = dataclasses.replace(
            stmt, prim=prim, args=args, attrs=attrs, types=types)

    def unshifted(self, x: ir.Name, axis, uses_of_x: int) -> ir.Name:
        """A when x = A - np.max(A, axis=axis, keepdims=True) and x and the max feed
        nothing else (x is used `uses_of_x` times in the gate); else x itself."""
        shifted = self.of(x, "sub")
        if shifted is None or not self.used(x, uses_of_x):
            return x
        base, top = shifted.args
        top_stmt = self.of(top, "np_max")
        if (top_stmt is not None and top_stmt.args == (base,) and isinstance(base, ir.Name)
                and self.reduced(top_stmt) == axis and axis != _FULL
                and self.used(top, 1)):
            return base
        return x

    def exp_sum(self, s) -> Optional[tuple[ir.Assign, ir.Assign]]:
        """(E, S) when s = np.sum(E, ...) and E = np.exp(X) (the callers check the uses)."""
        s_stmt = self.of(s, "np_sum")
        if s_stmt is None:
            return None
        e_stmt = self.of(s_stmt.args[0], "np_exp")
        if e_stmt is None or not isinstance(e_stmt.args[0], ir.Name):
            return None
        return e_stmt, s_stmt

    def rows_pick(self, index_args: tuple, probs: ir.Name) -> bool:
        """Whether `probs[rows, y]` picks one entry per row of a 2-D array: rows =
        np.arange(N) with N its first dimension, y one integer per row (or one integer)."""
        rows, labels = index_args
        shape = self.shape(probs)
        if shape is None or len(shape) != 2 or self.of(rows, "np_arange") is None:
            return False
        if len(self.of(rows, "np_arange").args) != 1 or self.shape(rows) != shape[:1]:
            return False
        t = self.fn.types.get(labels.id) if isinstance(labels, ir.Name) else None
        return t is not None and (t.kind == "int" or (t.kind == "intarray"
                                                      and t.shape == shape[:1]))


def _softmax(f: _Fuser, stmt: ir.Assign) -> None:
    """P = E / S, S = np.sum(E, axis=k, keepdims=True), E = np.exp(X) -> softmax_div."""
    if stmt.prim != "div":
        return
    e, s = stmt.args
    found = f.exp_sum(s)
    if found is None or found[0].target != getattr(e, "id", None):
        return
    e_stmt, s_stmt = found
    axis = f.reduced(s_stmt)
    if axis in (None, _FULL) or not f.used(e, 2) or not f.used(s, 1):
        return
    source = f.unshifted(e_stmt.args[0], axis, 1)
    f.replace(stmt, "softmax_div", stmt.args + (source,), (("axis", axis),))


def _logsumexp(f: _Fuser, stmt: ir.Assign) -> None:
    """L = np.log(S), S = np.sum(E, ...), E = np.exp(X) -> logsumexp(S, E, X)."""
    if stmt.prim != "np_log":
        return
    (s,) = stmt.args
    found = f.exp_sum(s)
    if found is None or not f.used(ir.Name(found[0].target), 1) or not f.used(s, 1):
        return
    e_stmt, s_stmt = found
    attrs = dict(s_stmt.attrs)
    axis = attrs.get("axis")
    if isinstance(axis, tuple):
        return
    f.replace(stmt, "logsumexp", (s, ir.Name(e_stmt.target), e_stmt.args[0]),
              (("axis", axis), ("keepdims", attrs.get("keepdims", False) is True)))


def _log_softmax(f: _Fuser, stmt: ir.Assign) -> None:
    """Y = X - L, L = logsumexp of X along k with keepdims -> log_softmax."""
    if stmt.prim != "sub":
        return
    x, lse = stmt.args
    l_stmt = f.of(lse, "logsumexp")
    if l_stmt is None or l_stmt.args[2] != x or not f.used(lse, 1):
        return
    s, e, _ = l_stmt.args
    axis = f.reduced(f.body[f.index[s.id]])
    if axis in (None, _FULL):
        return
    source = f.unshifted(x, axis, 2)
    f.replace(stmt, "log_softmax", (x, lse, e, s, source), (("axis", axis),))


def _logsumexp_max(f: _Fuser, stmt: ir.Assign) -> None:
    """m + L (either order), L = logsumexp of A - m, m = np.max(A) reduced as the sum ->
    logsumexp_max(m, L, E, S, A)."""
    if stmt.prim != "add":
        return
    for m, lse in (stmt.args, reversed(stmt.args)):
        l_stmt, m_stmt = f.of(lse, "logsumexp"), f.of(m, "np_max")
        if l_stmt is None or m_stmt is None or not f.used(lse, 1) or not f.used(m, 2):
            continue
        s, e, x = l_stmt.args
        shifted = f.of(x, "sub")
        base = m_stmt.args[0]
        if (shifted is None or shifted.args != (base, m) or not f.used(x, 1)
                or f.reduced(m_stmt) is None
                or f.reduced(m_stmt) != f.reduced(f.body[f.index[s.id]])):
            continue
        f.replace(stmt, "logsumexp_max", stmt.args + (e, s, base))
        return


def _picks(f: _Fuser, stmt: ir.Assign) -> None:
    """log(P[rows, y]) of a softmax_div and Y[rows, y] of a log_softmax, along the last
    axis of a 2-D array, rows = np.arange(N): the cross-entropy picks."""
    if stmt.prim == "np_log":
        part = f.of(stmt.args[0], "getitem")
        if part is None or not f.used(stmt.args[0], 1):
            return
        probs = f.of(part.args[0], "softmax_div")
        if (probs is None or not _picked_rows(f, part) or not f.used(part.args[0], 1)
                or dict(probs.attrs)["axis"] != 1):
            return
        rows, y = part.args[1:]
        f.replace(stmt, "softmax_log_pick", (stmt.args[0], part.args[0], rows, y,
                                             _rows_count(f, rows), probs.args[2]))
    elif stmt.prim == "getitem":
        logp = f.of(stmt.args[0], "log_softmax")
        if (logp is None or not _picked_rows(f, stmt) or not f.used(stmt.args[0], 1)
                or dict(logp.attrs)["axis"] != 1):
            return
        _, _, e, s, source = logp.args
        rows, y = stmt.args[1:]
        f.replace(stmt, "log_softmax_pick", (*stmt.args, e, s, _rows_count(f, rows), source))


def _picked_rows(f: _Fuser, part: ir.Assign) -> bool:
    return (len(part.args) == 3 and dict(part.attrs).get("index") == (("arg", 1), ("arg", 2))
            and f.rows_pick(part.args[1:], part.args[0]))


def _rows_count(f: _Fuser, rows: ir.Name) -> ir.Operand:
    """N of rows = np.arange(N)."""
    return f.of(rows, "np_arange").args[0]


def _reduced_picks(f: _Fuser, stmt: ir.Assign) -> None:
    """np.sum or np.mean (over everything) of a pick gate's result: the gate, reduced (its
    upstream gradient is then one number, and no array of it is built)."""
    if stmt.prim not in ("np_sum", "np_mean") or stmt.attrs:
        return
    (picked,) = stmt.args
    pick = f.of(picked, "softmax_log_pick") or f.of(picked, "log_softmax_pick")
    if pick is None or pick.attrs or not f.used(picked, 1):
        return
    f.replace(stmt, pick.prim, (picked, *pick.args[1:]),
              (("reduce", stmt.prim[len("np_"):]),))


def _one(operand) -> bool:
    return isinstance(operand, ir.Num) and operand.value == 1


def _sigmoid(f: _Fuser, stmt: ir.Assign) -> None:
    """s = 1 / d, d = 1 + e (or e + 1), e = exp(n), n = -z -> sigmoid_div(1, d, z): the
    sigmoid written over statements gets the gate's gradient, as `1 / (1 + exp(-z))` does."""
    if stmt.prim != "div" or not _one(stmt.args[0]):
        return
    d = stmt.args[1]
    d_stmt = f.of(d, "add")
    if d_stmt is None or not f.used(d, 1):
        return
    e = d_stmt.args[1] if _one(d_stmt.args[0]) else d_stmt.args[0] \
        if _one(d_stmt.args[1]) else None
    e_stmt = f.of(e, "np_exp") or f.of(e, "exp")
    if e_stmt is None or not f.used(e, 1):
        return
    n = e_stmt.args[0]
    n_stmt = f.of(n, "neg")
    if n_stmt is None or not f.used(n, 1) or not isinstance(n_stmt.args[0], ir.Name):
        return
    f.replace(stmt, "sigmoid_div", stmt.args + (n_stmt.args[0],))


_PASSES = (_softmax, _logsumexp, _log_softmax, _logsumexp_max, _picks, _reduced_picks,
           _sigmoid)


def fuse(fn: ir.Function) -> ir.Function:
    """`fn` with every gate written out over statements turned into one gate statement: the
    statements of a gate in one block (the function's top level, a loop's body, a path of
    a branch), each of whose names is assigned once in the whole function."""
    if not fn.types:
        return fn
    elsewhere = collections.Counter(s.target for s in ir.assigns(fn.body))
    for loop in ir.loops(fn.body):
        elsewhere.update(c for c, _ in loop.carried)
    return dataclasses.replace(fn, body=_fused(fn, fn.body, elsewhere, _uses(fn)))


def _fused(fn: ir.Function, body, elsewhere, uses) -> tuple:
    fuser = _Fuser(fn, body, elsewhere, uses)
    for fuse_one in _PASSES:  # in order: a later pattern is made of earlier gates
        for stmt in list(fuser.body):
            if isinstance(stmt, ir.Assign) and stmt.target in fuser.index:
                fuse_one(fuser, fuser.body[fuser.index[stmt.target]])
    out = []
    for stmt in fuser.body:  # (a loop's body runs once per iteration: its own block)
        if isinstance(stmt, ir.If):
            stmt = dataclasses.replace(stmt, body=_fused(fn, stmt.body, elsewhere, uses),
                                       orelse=_fused(fn, stmt.orelse, elsewhere, uses))
        elif isinstance(stmt, ir.Loop):
            stmt = dataclasses.replace(stmt, body=_fused(fn, stmt.body, elsewhere, uses))
        out.append(stmt)
    return tuple(out)


_LABELS = {"sigmoid_div": "the sigmoid of {x}", "softmax_div": "the softmax of {x}", "logsumexp": "the logsumexp of {x}",
           "logsumexp_max": "the logsumexp of {x}", "log_softmax": "the log-softmax of {x}",
           "softmax_log_pick": "the log-softmax of {x} at [{rows}, {y}]",
           "log_softmax_pick": "the log-softmax of {x} at [{rows}, {y}]"}
_REDUCED = {"sum": "the sum of ", "mean": "the mean of "}


def label(stmt: ir.Assign, to_source) -> Optional[str]:
    """What a fused gate computes, for the comment heading its backward block: `the softmax
    of scores (fused)`; None for any other statement."""
    text = _LABELS.get(stmt.prim)
    if text is None:
        return None
    rows, y = stmt.args[2:4] if stmt.prim == "softmax_log_pick" else stmt.args[1:3]
    reduced = _REDUCED.get(dict(stmt.attrs).get("reduce"), "")
    return reduced + text.format(x=to_source(stmt.args[-1]), rows=to_source(rows),
                                 y=to_source(y)) + " (fused)"
