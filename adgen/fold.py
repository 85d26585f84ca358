"""The forward pass of a function of numbers as the library API runs it: an intermediate
adgen invented (`w0x0 = w0 * x0`) that one later statement reads, and nothing else does, is
computed where it is read (`sum1 = w0 * x0 + w1 * x1 + w2`), and its own line is left blank.

Every other line keeps its number, so adgen/specialize.py compiles this text under the name
of the module the user reads, and a traceback points at the right line.  Only for functions
of numbers, whose calls take a fraction of a microsecond and pay for every store and load of
a name (issue 13's sigmoid neuron); for arrays the numpy work is what counts, and the in-place
plan (adgen/inplace.py) wants the temporaries.  The printed module, the lens and the review
page keep every named intermediate: they are what a person reads.

The printer brackets by precedence, so the folded expression is the same tree of operations,
evaluated in the same order: the results are the same bit for bit.
"""

from __future__ import annotations

import re
from typing import Callable, Optional

from adgen import ir
from adgen.printer import MAX_LINE, to_source
from adgen.rules import substitute

_WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
_INDENT = "    "


def folded_forward(grad: ir.Gradient, groups: list[tuple[object, list[str]]],
                   others: list[str], forward_expr: Callable) -> Optional[list[str]]:
    """The forward lines with single-use invented intermediates folded into their reader,
    or None when nothing folds.  `groups` pairs each top-level forward statement with its
    printed lines; `others` are the function's other lines (its reads are counted there
    too: a name the backward pass or the return reads stays)."""
    if grad.function.types:  # a function of arrays
        return None
    counts: dict[str, int] = {}
    for line in [l for _, lines in groups for l in lines] + others:
        if not line.lstrip().startswith("#"):
            for word in _WORD.findall(line):
                counts[word] = counts.get(word, 0) + 1
    readers = _readers(groups, counts)
    if not readers:
        return None
    pending: dict[str, tuple[ir.Expr, int]] = {}  # folded name -> (expression, its line)
    out: list[str] = []
    for stmt, lines in groups:
        if not _single(stmt, lines):
            out.extend(lines)
            continue
        expr = forward_expr(stmt)
        feeders = {a.id for a in stmt.args if isinstance(a, ir.Name) and a.id in pending}
        if feeders:
            folded = substitute(expr, {n: pending[n][0] for n in feeders})
            if _fits(f"{stmt.target} = {to_source(folded)}"):
                expr = folded
            else:  # too long for one line: the feeders keep theirs
                for n in feeders:
                    out[pending[n][1]] = f"{n} = {to_source(pending[n][0])}"
            for n in feeders:
                del pending[n]
        if stmt.target in readers:
            pending[stmt.target] = (expr, len(out))
            out.append("")
        else:
            out.append(f"{stmt.target} = {to_source(expr)}")
    return out


def _readers(groups, counts: dict[str, int]) -> set[str]:
    """The invented names read once, by a later top-level statement of one line, with only
    such statements in between (nothing that may raise or branch is moved across)."""
    found: set[str] = set()
    for i, (stmt, lines) in enumerate(groups):
        if not _single(stmt, lines) or stmt.user is not None or \
                counts.get(stmt.target) != 2:  # its definition and one read
            continue
        for later, later_lines in groups[i + 1:]:
            if not _single(later, later_lines):
                break
            if any(isinstance(a, ir.Name) and a.id == stmt.target for a in later.args):
                found.add(stmt.target)
                break
    return found


def _single(stmt, lines: list[str]) -> bool:
    return isinstance(stmt, ir.Assign) and stmt.prim != "setitem" and len(lines) == 1 and \
        _fits(lines[0])


def _fits(line: str) -> bool:
    return len(_INDENT) + len(line) <= MAX_LINE


def aligned(shown: str, run: str) -> bool:
    """Whether the module that runs differs from the one shown only in lines it leaves blank
    and in lines that assign the same name: every line keeps its number."""
    lines, others = shown.splitlines(), run.splitlines()
    return len(lines) == len(others) and all(
        a == b or not b.strip() or (" = " in a and " = " in b and
                                    a.partition(" = ")[0] == b.partition(" = ")[0])
        for a, b in zip(lines, others))
