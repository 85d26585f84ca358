"""Property test: random programs with branches, loops and helper calls (issue 4).

The straight-line generator of tests/test_property.py (its bounded expressions, names and
import styles) is extended with blocks:

- `if`/`elif`/`else` on comparisons of bounded expressions, nested, with variables assigned
  in both branches (or in one: then they are not read afterwards); a `return` inside a branch
  (an early return, code after it) or in both (the if ends the function); conditional
  expressions `a if c else b`;
- `for i in range(k)` with a constant k (1-4), `range(1, k)`, or `range(n)` for an integer
  parameter with a default; nested loops; the loop index read as a number;
- `while k < K:` with a counter `k += 1`, and `while r > c:` with a positive `r` that shrinks
  by a (data-dependent) factor every iteration, so the trip count depends on the inputs;
- in a loop, loop-carried re-assignments of variables from before the loop -- always a
  contraction `v = 0.5 * v + 0.5 * t` with |t| <= pi/2, so the value stays in an invariant
  interval however many times the loop runs -- and accumulators (`s += t`, `s -= t`,
  `s *= 0.9 + 0.1 * t`, `s = s + t`), which are not read inside their loop and whose bound
  afterwards counts the iterations;
- module-level helper functions, called once or several times, positionally or with keyword
  arguments, in expressions or unpacking a tuple return (`a, b = helper(x, b=y)`); helpers
  call earlier helpers and have branches and loops of their own.

The oracles do not go through adgen:

1. high precision: the user's program run by Python on `mpmath` numbers at MP_DIGITS (40)
   significant digits -- `math` (under any alias, and its functions imported by name) replaced
   by a module of mpmath functions, the builtins abs/max/min/pow working on mpmath numbers
   as they are -- and central differences with a relative step of 1e-12. The truncation
   error (h**2 times the third derivative over 6, about 1e-24 relative) and the rounding
   error (1e-40 / h) are far below the tolerance (SYMBOLIC_RTOL, 1e-8), and a step of 1e-12
   cannot change the path: points whose margins are below KINK_MARGIN (1e-6) are skipped
   (below). Every point of every case is checked this way; it costs a few runs of the
   program.
2. symbolic, on a fixed subset: the forward function (and its helpers) run by Python on sympy
   symbols inside `adgen.symbolic.concrete_branches`, so every condition is decided at the
   point; each assignment and return is collapsed to a fresh symbol whose value and gradient
   are chained by `sympy.diff` per statement (as in tests/test_property.py: one expression
   for a whole unrolled loop would be exponentially large). It was the oracle of every point
   and dominated a hunt's time; it now checks the first point of every case of the suite's
   derandomized examples, and in a hunt the first point of the cases whose text has a CRC-32
   divisible by SYMBOLIC_EVERY (8). (The second compilation that checks the output is
   deterministic runs on the same cases: in a hunt, compiling is most of the time);
3. central differences of the float forward function (loose tolerance).

Points near a branch boundary or a kink are skipped: the forward function is run with every
comparison and kinked builtin recorded (its outcome and relative distance from flipping), at
the point and at every finite-difference step; the point is skipped if a margin is below
KINK_MARGIN or a step changes the path.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import functools
import math
import operator
import types
import zlib
from typing import Optional

import mpmath
import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

from adgen import symbolic
from adgen.compiler import compile_source
from property_settings import DERANDOMIZE, examples
from test_property import (DIGITS, FD_RTOL, KINK_MARGIN, LOCAL_POOL, SYMBOLIC_RTOL, X,
                           Program, _central_difference, _close, _evaluate, _imports,
                           _KinkTrace, _load_forward, _load_generated, _step, add,
                           point_values)

FLOAT_PARAMS = ("x", "y", "z", "w", "a", "b", "t", "dx", "df", "x_1", "xpy", "h")
INT_PARAMS = ("n", "steps", "k", "T")
COUNTERS = ("k", "j", "count", "it", "k_1")
INDICES = ("i", "t", "j", "step", "i_1")
HELPER_NAMES = ("helper", "cell", "step_fn", "g2", "unit_fn")
HELPER_PARAMS = ("a", "b", "u", "x", "h", "c")
FUNCTION_NAMES = ("f", "f", "loss", "g")
CMP_OPS = (("<", ast.Lt()), ("<=", ast.LtE()), (">", ast.Gt()), (">=", ast.GtE()))
MAX_INT_PARAM = 3  # integer parameters take the values 0..3


@dataclasses.dataclass
class Helper:
    name: str
    params: list[str]
    defaults: dict[str, str]  # param -> default text
    results: list[tuple[float, float]]  # the bound of each returned value (1: a scalar)


@dataclasses.dataclass
class Frame:
    """A loop being generated."""

    trips: int  # the most iterations it can run
    carried: dict  # name -> M: re-assigned only as a contraction, bound [-M, M]
    frozen: set  # names from outside the loop that the body must not re-assign
    accumulators: dict  # name -> [low, high, grows by]


class ControlProgram(Program):
    """A function body with blocks; `lines` are emitted with indentation."""

    def __init__(self, draw, style: str, helpers: list[Helper], budget: int):
        super().__init__(draw, style)
        self.helpers = helpers
        self.frames: list[Frame] = []
        self.int_params: list[str] = []
        self.budget = budget  # statements (simple or compound) left to write
        self.loop_names: set[str] = set()  # counters and indices in use
        self.nresults = 1  # how many values a return returns

    # ------------------------------------------------------------ scope snapshots

    def snapshot(self):
        return dict(self.env), list(self.recent), set(self.varied)

    def restore(self, snap) -> None:
        self.env, self.recent, self.varied = dict(snap[0]), list(snap[1]), set(snap[2])

    def merge(self, a, b) -> None:
        """After two paths: the names bound on both, with the hull of their bounds."""
        env = {}
        for name in a[0]:
            if name in b[0]:
                env[name] = (min(a[0][name][0], b[0][name][0]), max(a[0][name][1], b[0][name][1]))
        self.env = env
        self.recent = [n for n in a[1] if n in env]
        self.varied = (a[2] | b[2]) & set(env)

    # ------------------------------------------------------------ expressions

    def expr(self, depth: int) -> X:
        roll = self.draw(st.integers(0, 19))
        if depth > 0 and roll == 0 and self.helpers:
            single = [h for h in self.helpers if len(h.results) == 1]
            if single:
                return self.call_helper(self.pick(single), depth - 1)
        if depth > 0 and roll == 1:
            return self.ifexp(depth - 1)
        return super().expr(depth)

    def op_extremum(self, d):
        """max/min of distinct arguments (identical ones always tie: every point a kink)."""
        x = super().op_extremum(d)
        args = list({ast.dump(a): a for a in x.node.args}.values())
        if len(args) == 1:
            args.append(ast.Name("0.5"))
            return X(ast.Call(x.node.func, args, []), min(x.lo, 0.5), max(x.hi, 0.5))
        return X(ast.Call(x.node.func, args, []), x.lo, x.hi)

    def ifexp(self, depth: int) -> X:
        test = self.condition(depth)
        a, b = self.expr(depth), self.expr(depth)
        return X(ast.IfExp(test, a.node, b.node), min(a.lo, b.lo), max(a.hi, b.hi))

    def condition(self, depth: int) -> ast.expr:
        left = self.expr(max(depth, 1))
        for _ in range(3):  # mostly a condition on the inputs: the path depends on them
            if self.is_varied(left.node):
                break
            left = self.expr(max(depth, 1))
        right = self.constant() if self.coin() else self.expr(depth)
        if ast.dump(left.node) == ast.dump(right.node):  # x < x: one path only
            right = self.constant()
        text, op = self.pick(CMP_OPS)
        return ast.Compare(left.node, [op], [right.node])

    def call_node(self, helper: Helper, depth: int) -> ast.Call:
        """A call with arguments of |value| <= pi/2 (helpers assume [-2, 2]); optional
        parameters passed or not, by keyword or by position."""
        args, keywords = [], []
        by_keyword = False
        for p in helper.params:
            if p in helper.defaults and self.draw(st.integers(0, 2)) == 0:
                by_keyword = True  # skipped: later ones must be keywords
                continue
            value = self.bounded(self.expr(depth), 1.5).node
            if by_keyword or (p in helper.defaults and self.coin()):
                by_keyword = True
                keywords.append(ast.keyword(p, value))
            else:
                args.append(value)
        return ast.Call(ast.Name(helper.name), args, keywords)

    def call_helper(self, helper: Helper, depth: int) -> X:
        return X(self.call_node(helper, depth), *helper.results[0])

    # ------------------------------------------------------------ assignment rules in loops

    def assignable(self, name: str) -> bool:
        """Re-assignable freely: not frozen or carried by an enclosing loop."""
        return not any(name in f.frozen or name in f.carried for f in self.frames)

    def carried_bound(self, name: str) -> Optional[float]:
        for f in reversed(self.frames):
            if name in f.carried:
                return f.carried[name]
        return None

    def fresh_target(self, taken: set[str]) -> str:
        if not self.frames:
            return super().fresh_target(taken)
        options = [n for n in LOCAL_POOL if n not in self.forbidden and n not in taken and
                   n not in self.env and self.assignable(n) and n not in self.hidden()]
        bound = [n for n in self.recent if n not in taken and self.assignable(n)]
        if bound and self.draw(st.integers(0, 2)) == 0:
            return self.pick(bound)
        return self.pick(options)

    def hidden(self) -> set[str]:
        return {a for f in self.frames for a in f.accumulators}

    def loop_statement(self) -> str:
        """A simple statement inside a loop."""
        kind = self.pick(("assign", "assign", "contract", "contract", "contract",
                          "accumulate", "accumulate", "tuple_call"))
        depth = self.draw(st.integers(1, 3))
        carried = [n for f in self.frames for n in f.carried if n in self.env]
        accs = [(f, a) for f in self.frames for a in f.accumulators]
        if kind == "contract" and carried:
            v = self.pick(carried)
            m = self.carried_bound(v)
            t = self.bounded(self.expr(depth), 1.5)
            form = self.pick(("half", "quarter", "neg"))
            text = {"half": f"{v} = 0.5 * {v} + 0.5 * ({ast.unparse(t.node)})",
                    "quarter": f"{v} = 0.25 * {v} - 0.75 * ({ast.unparse(t.node)})",
                    "neg": f"{v} = -0.5 * {v} + 0.5 * {ast.unparse(t.node)}"}[form]
            # |0.5 v| + 0.5 * 1.6 <= M and 0.25 M + 0.75 * 1.6 <= M for M >= 1.6
            assert m >= 1.6
            self.env[v] = (-m, m)
            if self.is_varied(t.node):
                self.varied.add(v)
            self.recent.remove(v)
            self.recent.append(v)
            return text
        if kind == "accumulate" and accs:
            frame, s = self.pick(accs)
            t = self.bounded(self.expr(depth), 1.5)
            weight = 1
            for f in self.frames[self.frames.index(frame):]:
                weight *= f.trips
            frame.accumulators[s][2] += weight * 1.6
            if self.is_varied(t.node):
                frame.accumulators[s].append("varied")
            form = self.pick(("+=", "-=", "*=", "plain", "scaled"))
            tt = ast.unparse(t.node)
            return {"+=": f"{s} += {tt}", "-=": f"{s} -= {tt}",
                    "*=": f"{s} *= 0.9 + 0.06 * {tt}",  # a factor in (0.8, 1)
                    "plain": f"{s} = {s} + {tt}",
                    "scaled": f"{s} = 0.95 * {s} + {tt}"}[form]
        if kind == "tuple_call":
            pairs = [h for h in self.helpers if len(h.results) == 2]
            if pairs:
                h = self.pick(pairs)
                targets = [self.fresh_target(set())]
                targets.append(self.fresh_target(set(targets)))
                node = self.call_node(h, depth - 1)
                return self.bind_tuple(targets, node, h)
        target = self.fresh_target(set())
        m = self.carried_bound(target)
        value = self.expr(depth)
        if m is not None:  # a carried variable: the value must stay in [-M, M]
            value = self.bounded(value, 1.5)
        self.bind(target, value)
        if m is not None:
            self.env[target] = (-m, m)
        return f"{target} = {ast.unparse(value.node)}"

    def bind_tuple(self, targets, node, helper: Helper) -> str:
        line = f"{', '.join(targets)} = {ast.unparse(node)}"
        varied = self.is_varied(node)
        for t, (lo, hi) in zip(targets, helper.results):
            self.bind(t, X(ast.Name("_"), lo, hi))
            (self.varied.add if varied else self.varied.discard)(t)
        return line

    # ------------------------------------------------------------ blocks

    def simple(self) -> str:
        if self.frames:
            return self.loop_statement()
        if self.helpers and self.draw(st.integers(0, 5)) == 0:
            pairs = [h for h in self.helpers if len(h.results) == 2]
            if pairs:
                h = self.pick(pairs)
                targets = [self.fresh_target(set())]
                targets.append(self.fresh_target(set(targets)))
                return self.bind_tuple(targets, self.call_node(h, 2), h)
        return self.statement()

    def block(self, size: int, nesting: int, may_return: bool) -> tuple[list[str], bool]:
        """Up to `size` statements; returns (lines, whether the block returned)."""
        lines: list[str] = []
        for _ in range(size):
            if self.budget <= 0:
                break
            self.budget -= 1
            roll = self.draw(st.integers(0, 9)) if nesting > 0 else 9
            if roll <= 2:
                body, returned = self.if_statement(nesting - 1, may_return)
                lines += body
                if returned:
                    return lines, True
            elif roll <= 4:
                lines += self.for_statement(nesting - 1)
            elif roll == 5:
                lines += self.while_statement(nesting - 1)
            else:
                lines.append(self.simple())
        if not lines:
            lines.append(self.simple())
        return lines, False

    def returned_value(self) -> X:
        """A return value that depends on the inputs and on recent results."""
        result = self.expr(self.draw(st.integers(0, 2)))
        read = {n.id for n in ast.walk(result.node) if isinstance(n, ast.Name)}
        unread = [n for n in reversed(self.recent) if n in self.varied and n not in read]
        for v in unread[:self.draw(st.integers(0 if self.is_varied(result.node) else 1, 2))]:
            result = add(result, X(ast.Name(v), *self.env[v]))
        return result

    def return_line(self) -> str:
        values = [self.returned_value() for _ in range(self.nresults)]
        return f"return {', '.join(ast.unparse(v.node) for v in values)}"

    def if_statement(self, nesting: int, may_return: bool) -> tuple[list[str], bool]:
        """if / elif / else; a branch may return (then the other paths go on)."""
        before = self.snapshot()
        branches = self.draw(st.integers(1, 3))  # if, if-else, if-elif-else
        has_else = branches > 1 and self.draw(st.integers(0, 3)) > 0
        lines: list[str] = []
        ongoing = []  # the scopes of the paths that go on
        returning = 0
        npaths = branches + (0 if has_else else 1)
        for k in range(branches):
            self.restore(before)
            head = "if" if k == 0 else ("else" if (k == branches - 1 and has_else) else "elif")
            if head == "else":
                lines.append("else:")
            else:
                lines.append(f"{head} {ast.unparse(self.condition(2))}:")
            body, returned = self.block(self.draw(st.integers(1, 3)), nesting, may_return)
            if may_return and not returned and not self.frames and self.draw(
                    st.integers(0, 3)) == 0 and returning + 1 < npaths:
                body.append(self.return_line())
                returned = True
            lines += ["    " + s for s in body]
            if returned:
                returning += 1
            else:
                ongoing.append(self.snapshot())
        if not has_else:
            ongoing.append(before)
        # every path returned: only possible when the last branch is an else
        if not ongoing:
            return lines, True
        self.restore(ongoing[0])
        for scope in ongoing[1:]:
            self.merge(self.snapshot(), scope)
        return lines, False

    def loop_frame(self, trips: int) -> Frame:
        """Choose what the loop carries and accumulates; the rest of the scope is frozen."""
        free = [n for n in self.recent if self.assignable(n) and n not in self.int_params]
        carried = {}
        varied_free = [n for n in free if n in self.varied] or free
        for n in self.draw(st.lists(st.sampled_from(varied_free), min_size=int(self.draw(
                st.integers(0, 3)) > 0), max_size=2, unique=True)) if varied_free else []:
            lo, hi = self.env[n]
            carried[n] = max(abs(lo), abs(hi), 1.6)
        outer_carried = [n for f in self.frames for n in f.carried if n in self.env]
        for n in outer_carried[:self.draw(st.integers(0, len(outer_carried)))]:
            carried[n] = self.carried_bound(n)
        accs = {}
        rest = [n for n in free if n not in carried]
        for n in self.draw(st.lists(st.sampled_from(rest), max_size=2, unique=True)) if rest \
                else []:
            lo, hi = self.env[n]
            accs[n] = [lo, hi, 0.0]
        frozen = set(self.env) - set(carried) - set(accs)
        frame = Frame(trips, carried, frozen, accs)
        for n, m in carried.items():
            self.env[n] = (-m, m)
        for n in accs:  # not read inside the loop
            del self.env[n]
            self.recent.remove(n)
        return frame

    def end_loop(self, frame: Frame, outer) -> None:
        """After the loop: the outer scope, with carried values in their invariant bounds and
        accumulators in theirs (names first bound in the body may be unbound: not read)."""
        varied = set(self.varied)
        self.restore(outer)
        for n, m in frame.carried.items():
            self.env[n] = (-m, m)
            if n in varied:
                self.varied.add(n)
        for n, (lo, hi, grows, *flags) in frame.accumulators.items():
            self.env[n] = (min(lo, 0.0) - grows, max(hi, 0.0) + grows)
            if flags:
                self.varied.add(n)
            if n in self.recent:
                self.recent.remove(n)
            self.recent.append(n)

    def loop_body(self, frame: Frame, nesting: int) -> list[str]:
        self.frames.append(frame)
        body, _ = self.block(self.draw(st.integers(1, 3)), nesting, False)
        # make sure every accumulator is updated at least once, and after the rest
        for s in frame.accumulators:
            t = self.bounded(self.expr(2), 1.5)
            weight = 1
            for f in self.frames[self.frames.index(frame):]:
                weight *= f.trips
            frame.accumulators[s][2] += weight * 1.6
            if self.is_varied(t.node):
                frame.accumulators[s].append("varied")
            body.append(f"{s} += {ast.unparse(t.node)}")
        self.frames.pop()
        return ["    " + s for s in body]

    def loop_name(self, pool) -> str:
        options = [n for n in pool if n not in self.env and n not in self.forbidden and
                   n not in self.loop_names and n not in self.params and
                   n not in self.int_params and n not in self.hidden()]
        return self.pick(options)

    def for_statement(self, nesting: int) -> list[str]:
        kind = self.pick(("const", "const", "start", "param"))
        if kind == "param" and self.int_params:
            n = self.pick(self.int_params)
            head, trips, last = f"range({n})", MAX_INT_PARAM, MAX_INT_PARAM - 1
        elif kind == "start":
            k = self.draw(st.integers(2, 4))
            head, trips, last = f"range(1, {k})", k - 1, k - 1
        else:
            k = self.draw(st.integers(1, 4))
            head, trips, last = f"range({k})", k, k - 1
        index = self.loop_name(INDICES)
        outer = self.snapshot()
        frame = self.loop_frame(trips)
        self.loop_names.add(index)
        self.env[index] = (0.0, float(max(last, 0)))
        self.recent.insert(0, index)  # readable, but rarely chosen
        body = self.loop_body(frame, nesting)
        self.loop_names.discard(index)
        self.end_loop(frame, outer)
        return [f"for {index} in {head}:"] + body

    def while_statement(self, nesting: int) -> list[str]:
        if self.coin():  # a counter
            k = self.loop_name(COUNTERS)
            if self.int_params and self.coin():
                limit, trips = self.pick(self.int_params), MAX_INT_PARAM
            else:
                trips = self.draw(st.integers(1, 4))
                limit = str(trips)
            outer = self.snapshot()
            frame = self.loop_frame(trips)
            self.loop_names.add(k)
            body = self.loop_body(frame, nesting)
            self.loop_names.discard(k)
            self.end_loop(frame, outer)
            return [f"{k} = 0", f"while {k} < {limit}:"] + body + [f"    {k} += 1"]
        # a positive value that shrinks by a factor of at least 1.5 every iteration
        r = self.loop_name(("r", "v", "rem", "level"))
        start = self.positive(self.bounded(self.expr(2), 1.5))
        assert 0 < start.lo and start.hi <= 6, start
        c = self.pick((0.3, 0.5, 1.0))
        trips = 1 + math.ceil(math.log(start.hi / c) / math.log(1.5)) if start.hi > c else 0
        outer = self.snapshot()
        self.bind(r, start)
        self.env[r] = (start.lo, start.hi)
        frame = self.loop_frame(max(trips, 1))
        frame.carried.pop(r, None)
        frame.accumulators.pop(r, None)
        frame.frozen.add(r)
        self.env[r] = (c, start.hi)
        if r not in self.recent:
            self.recent.append(r)
        body = self.loop_body(frame, nesting)
        u = self.bounded(self.expr(2), 1.5)
        shrink = self.pick((f"{r} = 0.5 * {r}", f"{r} /= 2.0 + 0.3 * ({ast.unparse(u.node)})",
                            f"{r} = {r} * 0.6"))
        varied = r in outer[2] or self.is_varied(start.node) or "/=" in shrink and \
            self.is_varied(u.node)
        self.end_loop(frame, outer)
        self.env[r] = (min(start.lo, c / 2.5), max(c, start.lo))
        (self.varied.add if varied else self.varied.discard)(r)
        if r in self.recent:
            self.recent.remove(r)
        self.recent.append(r)
        return [f"{r} = {ast.unparse(start.node)}", f"while {r} > {c}:"] + body + \
            ["    " + shrink]


# ---------------------------------------------------------------- cases


@dataclasses.dataclass
class Case:
    text: str
    function: str
    params: list[str]  # float parameters, then integer ones
    floats: list[str]
    points: list[list]
    wrt: object
    expected_wrt: list[str]
    single: bool
    value_and_grad: bool


def header_lines(prog_style: str, progs) -> list[str]:
    header = []
    if prog_style == "math" or any(p.needs_math_module for p in progs):
        header.append("import math")
    if prog_style == "m":
        header.append("import math as m")
    imports = set().union(*(p.from_imports for p in progs))
    if imports:
        header.append(f"from math import {', '.join(sorted(imports))}")
    return header


def write_helper(draw, style, helpers: list[Helper], name: str, forbidden: set) -> tuple:
    prog = ControlProgram(draw, style, list(helpers), budget=draw(st.integers(1, 3)))
    prog.forbidden |= forbidden
    nparams = draw(st.integers(1, 3))
    params = draw(st.lists(st.sampled_from([p for p in HELPER_PARAMS if p not in
                                            prog.forbidden]),
                           min_size=nparams, max_size=nparams, unique=True))
    ndefaults = draw(st.integers(0, nparams - 1))
    defaults = {p: draw(st.sampled_from(("0.5", "-0.25", "1.0")))
                for p in params[nparams - ndefaults:]}
    prog.params = params
    prog.varied = set(params)
    for p in params:
        prog.bind(p, X(ast.Name(p), -2.0, 2.0))
    prog.nresults = draw(st.integers(1, 2))
    # a tuple is returned only at the end (from inside an if it is AD104, by design)
    body, returned = prog.block(prog.budget, draw(st.integers(0, 1)), prog.nresults == 1)
    if not returned:
        body.append(prog.return_line())
    body = _bounded_returns(body, prog)  # every return squashed: |value| <= pi/2
    results = [(-math.pi / 2, math.pi / 2)] * prog.nresults
    sig = ", ".join(p + (f"={defaults[p]}" if p in defaults else "") for p in params)
    lines = [f"def {name}({sig}):"] + ["    " + s for s in body]
    return Helper(name, params, defaults, results), lines, prog


def _bounded_returns(body: list[str], prog) -> list[str]:
    """Every return of a helper squashed to |value| <= pi/2 (atan): callers rely on it."""
    out = []
    for line in body:
        stripped = line.lstrip()
        indent = line[:len(line) - len(stripped)]
        if stripped.startswith("return "):
            tree = ast.parse(stripped[len("return "):], mode="eval").body
            elts = tree.elts if isinstance(tree, ast.Tuple) else [tree]
            squashed = [ast.unparse(ast.Call(prog.callee("atan"), [e], [])) for e in elts]
            line = f"{indent}return {', '.join(squashed)}"
        out.append(line)
    return out


@st.composite
def cases(draw) -> Case:
    style = draw(st.sampled_from(("math", "m", "from")))
    fname = draw(st.sampled_from(FUNCTION_NAMES))
    helpers: list[Helper] = []
    helper_lines: list[str] = []
    progs = []
    forbidden = {"abs", "max", "min", "pow", "math", "np", "numpy", fname}
    if style == "m":
        forbidden.add("m")
    if style == "from":
        forbidden |= {n for n in dir(math) if not n.startswith("_")}
    names = draw(st.lists(st.sampled_from(HELPER_NAMES), max_size=2, unique=True))
    forbidden |= set(names)
    for name in names:
        helper, lines, hprog = write_helper(draw, style, helpers, name, forbidden)
        helpers.append(helper)
        helper_lines += lines + ["", ""]
        progs.append(hprog)

    prog = ControlProgram(draw, style, helpers, budget=draw(st.integers(2, 7)))
    prog.forbidden |= forbidden
    progs.append(prog)
    nfloat = draw(st.integers(1, 3))
    floats = draw(st.lists(st.sampled_from([p for p in FLOAT_PARAMS if p not in forbidden]),
                           min_size=nfloat, max_size=nfloat, unique=True))
    ints = draw(st.lists(st.sampled_from([p for p in INT_PARAMS if p not in floats]),
                         max_size=1))
    prog.params = floats
    prog.int_params = ints
    prog.forbidden |= set(ints)
    prog.varied = set(floats)
    for p in floats:
        prog.bind(p, X(ast.Name(p), -2.0, 2.0))
    body, returned = prog.block(prog.budget, 2, True)
    if not returned:
        body.append(prog.return_line())
    defaults = {p: draw(st.integers(0, MAX_INT_PARAM)) for p in ints}
    signature = floats + [f"{p}={defaults[p]}" for p in ints]
    lines = header_lines(style, progs) + [""] + helper_lines + \
        [f"def {fname}({', '.join(signature)}):"] + ["    " + s for s in body]
    text = "\n".join(lines) + "\n"

    points = draw(st.lists(st.tuples(st.lists(point_values, min_size=nfloat, max_size=nfloat),
                                     st.lists(st.integers(0, MAX_INT_PARAM),
                                              min_size=len(ints), max_size=len(ints))),
                           min_size=1, max_size=3))
    wrt_kind = draw(st.sampled_from(("default", "default", "one", "some")))
    if wrt_kind == "default":
        wrt, expected, single = None, floats, len(floats) == 1
    elif wrt_kind == "one":
        wrt = draw(st.sampled_from(floats))
        expected, single = [wrt], True
    else:
        chosen = draw(st.lists(st.sampled_from(floats), min_size=1, unique=True))
        wrt, expected, single = chosen, [p for p in floats if p in chosen], False
    return Case(text, fname, floats + ints, floats, [f + i for f, i in points], wrt, expected,
                single, draw(st.booleans()))


# ---------------------------------------------------------------- running the forward function


_COMPARE = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt,
            ast.GtE: operator.ge, ast.Eq: operator.eq, ast.NotEq: operator.ne}


class _Instrument(ast.NodeTransformer):
    """Every comparison through `__cmp__`; every assigned and returned value through `__ck__`
    (augmented assignments spelled out), so that both can be observed."""

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        assert len(node.ops) == 1
        return ast.Call(ast.Name("__cmp__", ast.Load()),
                        [node.left, ast.Constant(type(node.ops[0]).__name__),
                         node.comparators[0]], [])

    def _ck(self, value: ast.expr) -> ast.expr:
        if isinstance(value, ast.Tuple):  # each element on its own
            return ast.Tuple([self._ck(e) for e in value.elts], ast.Load())
        return ast.Call(ast.Name("__ck__", ast.Load()), [value], [])

    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        self.generic_visit(node)
        node.value = self._ck(node.value)
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        self.generic_visit(node)
        return ast.Assign([node.target], self._ck(node.value))

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        target = ast.Name(node.target.id, ast.Load())
        return ast.Assign([ast.Name(node.target.id, ast.Store())],
                          self._ck(ast.BinOp(target, node.op, node.value)))

    def visit_Return(self, node: ast.Return) -> ast.AST:
        self.generic_visit(node)
        node.value = self._ck(node.value)
        return node


_COMPARE_BY_NAME = {k.__name__: v for k, v in _COMPARE.items()}


def _instrumented(text: str, name: str, hooks: dict, symbolic_env: bool):
    """The program's function `name`, instrumented, with its helpers, bound to globals that
    hold `hooks` (and `__builtins__`, if given) -- and with `math` and the builtins replaced
    by sympy stand-ins if `symbolic_env`."""
    namespace: dict = {"__name__": "prop", **hooks}
    exec(_instrumented_code(text), namespace)  # (module-level assignments call the hooks)
    fn = namespace[name]
    if symbolic_env:
        # The hooks are the test's own functions: rebinding them (and everything their
        # module reaches) to sympy stand-ins is wasted work, so they are put back after.
        for key in hooks:
            del namespace[key]
        fn = symbolic.symbolic_function(fn)
        fn.__globals__.update(hooks)
    return fn


@functools.lru_cache(maxsize=64)
def _instrumented_code(text: str):
    """The instrumented program, compiled once per text (each point and each step of the
    finite differences runs it again)."""
    tree = _Instrument().visit(ast.parse(text))
    ast.fix_missing_locations(tree)
    return compile(tree, "prop.py", "exec")


class _PathTrace(_KinkTrace):
    """The kinked builtins of _KinkTrace, and every comparison: its outcome and how far
    (relative) its sides are from flipping it."""

    def cmp(self, left, op, right):
        result = _COMPARE_BY_NAME[op](left, right)
        self._record(("cmp", bool(result)), abs(left - right), (left, right))
        return result


def _traced_run(text: str, name: str, args) -> tuple[Optional[list], float]:
    trace = _PathTrace()
    env_builtins = dict(vars(builtins))
    env_builtins.update(abs=trace.abs, max=trace.max, min=trace.min)
    fn = _instrumented(text, name, {"__cmp__": trace.cmp, "__ck__": lambda v: v,
                                    "__builtins__": env_builtins}, False)
    env = fn.__globals__
    traced_math = types.SimpleNamespace(**{k: getattr(math, k) for k in dir(math)
                                           if not k.startswith("_")})
    traced_math.fabs, traced_math.hypot = trace.fabs, trace.hypot
    for key, value in list(env.items()):
        if value is math:
            env[key] = traced_math
        elif value is math.fabs or value is math.hypot:
            env[key] = getattr(trace, value.__name__)
    if _evaluate(fn, args) is None:
        return None, 0.0
    return trace.branches, trace.margin


# ---------------------------------------------------------------- the high-precision oracle


MP_DIGITS = 40  # significant digits of the high-precision run
MP_STEP = "1e-12"  # relative step of its central differences
SYMBOLIC_EVERY = 8  # in a hunt, sympy checks the cases whose text's CRC-32 it divides


def _mp_hypot(*args):
    return mpmath.sqrt(mpmath.fsum(a * a for a in args))


def _mp_log(x, base=None):
    return mpmath.log(x) if base is None else mpmath.log(x, base)


# The `math` names the generators write, as mpmath functions; any other name is an
# AttributeError (the oracle must be extended, not silently skip the program).
_MP_FUNCTIONS = {
    "exp": mpmath.exp, "expm1": mpmath.expm1, "log": _mp_log,
    "log2": lambda x: mpmath.log(x, 2), "log10": mpmath.log10, "log1p": mpmath.log1p,
    "sqrt": mpmath.sqrt, "sin": mpmath.sin, "cos": mpmath.cos, "tan": mpmath.tan,
    "asin": mpmath.asin, "acos": mpmath.acos, "atan": mpmath.atan, "atan2": mpmath.atan2,
    "sinh": mpmath.sinh, "cosh": mpmath.cosh, "tanh": mpmath.tanh, "asinh": mpmath.asinh,
    "acosh": mpmath.acosh, "atanh": mpmath.atanh, "erf": mpmath.erf, "erfc": mpmath.erfc,
    "fabs": mpmath.fabs, "hypot": _mp_hypot, "pow": mpmath.power,
}


def _mp_math() -> types.SimpleNamespace:
    """A stand-in for `math` at the current mpmath precision (call inside workdps)."""
    return types.SimpleNamespace(**_MP_FUNCTIONS, pi=+mpmath.pi, e=+mpmath.e,
                                 tau=2 * mpmath.pi)


@functools.lru_cache(maxsize=64)
def _plain_code(text: str):
    return compile(text, "prop_mp.py", "exec")


def _mp_forward(text: str, name: str):
    """The program's function `name` (with its helpers and module constants) executed with
    `math` -- plain, aliased or imported from -- bound to mpmath stand-ins."""
    stand_in = _mp_math()

    def import_(module, globals=None, locals=None, fromlist=(), level=0):
        assert module == "math", f"the program imports {module!r}"
        return stand_in

    env_builtins = dict(vars(builtins))
    env_builtins["__import__"] = import_
    namespace: dict = {"__name__": "prop_mp", "__builtins__": env_builtins}
    exec(_plain_code(text), namespace)
    return namespace[name]


def _mp_real(value, where: str):
    if isinstance(value, (bool, int, float)):
        return mpmath.mpf(value)
    assert isinstance(value, mpmath.mpf), \
        f"the high-precision run {where} returned {value!r}, not a real number"
    return value


def precise_gradient(case: "Case", point: list) -> list[float]:
    """d(output)/d(wrt) at the point by central differences of the program run on mpmath
    numbers at MP_DIGITS digits, with a relative step of MP_STEP."""
    grads = []
    with mpmath.workdps(MP_DIGITS):
        fn = _mp_forward(case.text, case.function)
        args = [mpmath.mpf(v) if p in case.floats else v for p, v in zip(case.params, point)]
        for w in case.expected_wrt:
            i = case.params.index(w)
            h = mpmath.mpf(MP_STEP) * max(1, abs(args[i]))
            plus, minus = list(args), list(args)
            plus[i], minus[i] = args[i] + h, args[i] - h
            fp = _mp_real(fn(*plus), f"at {w} + h")
            fm = _mp_real(fn(*minus), f"at {w} - h")
            grads.append(float((fp - fm) / (2 * h)))
    return grads


def symbolic_subset(case: "Case") -> bool:
    """Whether sympy also checks the case (at its first checked point), and a second
    compilation checks that the output is deterministic: every derandomized case, and in a
    hunt one in SYMBOLIC_EVERY (by the text's CRC-32, so a shrunk program may leave it)."""
    return DERANDOMIZE or zlib.crc32(case.text.encode()) % SYMBOLIC_EVERY == 0


def near_boundary(case: Case, point: list) -> bool:
    """True if a condition or kinked function is within KINK_MARGIN of flipping at the
    point, or a finite-difference step along a float input changes the path."""
    base, margin = _traced_run(case.text, case.function, point)
    if base is None or margin < KINK_MARGIN:
        return True
    for i in range(len(case.floats)):
        for move in (1, -1, 2, -2):
            moved = list(point)
            moved[i] += move * _step(point[i])
            if _traced_run(case.text, case.function, moved)[0] != base:
                return True
    return False


def symbolic_gradient(case: Case, point: list) -> list[sp.Expr]:
    """d(output)/d(wrt) at the point: the program run on sympy symbols along the path the
    point takes (`concrete_branches`), every assignment collapsed to a fresh symbol whose
    value and gradient are chained by sympy.diff."""
    values: dict = {}  # symbol -> its value at the point (also what decides conditions)
    grads: dict = {}
    wrt = case.expected_wrt

    def fresh(value, grad):
        s = sp.Symbol(f"b{len(values)}", real=True)
        values[s], grads[s] = value, grad
        return s

    def ck(expr):
        if isinstance(expr, tuple):  # a helper's results, unpacked by the caller
            return tuple(ck(e) for e in expr)
        if isinstance(expr, bool) or isinstance(expr, int):
            return expr
        expr = sp.sympify(expr)
        if not expr.free_symbols:
            return expr
        at = {b: values[b] for b in expr.free_symbols}
        value = expr.xreplace(at).evalf(DIGITS)
        grad = [sp.Integer(0)] * len(wrt)
        for b in sorted(expr.free_symbols, key=str):
            partial = sp.diff(expr, b).xreplace(at).evalf(DIGITS)
            grad = [g + partial * d for g, d in zip(grad, grads[b])]
        return fresh(value, grad)

    def at_point(v):
        if isinstance(v, sp.Basic) and v.free_symbols:
            return v.xreplace({b: values[b] for b in v.free_symbols}).evalf(DIGITS)
        return v

    def cmp(left, op, right):
        # Decided on the two sides' values at the point (to DIGITS digits): a relation
        # between expressions would ask sympy's assumptions first, which is slow.
        sides = [at_point(left), at_point(right)]
        if all(isinstance(v, (int, float)) or (isinstance(v, sp.Basic) and v.is_Number)
               for v in sides):
            return bool(_COMPARE_BY_NAME[op](*sides))
        return bool(_COMPARE_BY_NAME[op](left, right))

    args = []
    for p, v in zip(case.params, point):
        if p in case.floats:
            args.append(fresh(sp.Float(v, DIGITS), [sp.Integer(int(w == p)) for w in wrt]))
        else:
            args.append(v)
    fn = _instrumented(case.text, case.function, {"__ck__": ck, "__cmp__": cmp}, True)
    with symbolic.concrete_branches(values):
        out = fn(*args)
    if not isinstance(out, sp.Symbol) or out not in grads:  # a constant output
        return [sp.Integer(0)] * len(wrt)
    return grads[out]


def check_case(case: Case) -> None:
    note(case.text)
    note(f"points={case.points} wrt={case.wrt!r}")
    compiled = compile_source(case.text, "prop.py", functions=[case.function], wrt=case.wrt,
                              value_and_grad=case.value_and_grad)
    note(compiled.source)
    if symbolic_subset(case):  # (in a hunt, compiling is most of the time: a subset)
        again = compile_source(case.text, "prop.py", functions=[case.function],
                               wrt=case.wrt, value_and_grad=case.value_and_grad)
        assert again.source == compiled.source, "compiling the same text twice differs"
    assert set(_imports(compiled.source)) <= {"math"}
    generated = _load_generated(compiled.source)
    forward = _load_forward(case.text, case.function)
    checked = 0
    for point in case.points:
        value = _evaluate(forward, point)
        if value is None or abs(value) > 1e8 or near_boundary(case, point):
            continue
        check_point(case, forward, generated, point, value,
                    with_sympy=checked == 0 and symbolic_subset(case))
        checked += 1
    assume(checked > 0)


def check_point(case: Case, forward, generated: dict, point: list, value: float,
                with_sympy: bool = True) -> None:
    result = generated[f"{case.function}_grad"](*point)
    grads = [result] if case.single else list(result)
    assert len(grads) == len(case.expected_wrt), result
    assert all(isinstance(g, float) and math.isfinite(g) for g in grads), grads
    if case.value_and_grad:
        v, g2 = generated[f"{case.function}_value_and_grad"](*point)
        assert v == value, f"value_and_grad's value {v!r}, the function's {value!r}"
        assert (g2 if not case.single else (g2,)) == tuple(grads)
    for w, g, e in zip(case.expected_wrt, grads, precise_gradient(case, point)):
        assert _close(g, e, SYMBOLIC_RTOL, 1e-12), \
            f"at {point}, d/d{w}: adgen {g!r}, {MP_DIGITS}-digit central differences {e!r}"
    if with_sympy:
        expected = symbolic_gradient(case, point)
        for w, g, e in zip(case.expected_wrt, grads, expected):
            e = complex(e)
            assert abs(e.imag) <= 1e-12 * max(1.0, abs(e.real)), (w, e)
            assert _close(g, e.real, SYMBOLIC_RTOL, 1e-12), \
                f"at {point}, d/d{w}: adgen {g!r}, sympy.diff {e.real!r}"
    for w, g in zip(case.expected_wrt, grads):
        index = case.params.index(w)
        numeric = _central_difference(forward, point, index)
        coarse = _central_difference(forward, point, index, scale=2.0)
        if numeric is None or coarse is None:
            continue
        atol = 1e-6 * max(1.0, abs(value)) + abs(coarse - numeric)
        assert _close(g, numeric, FD_RTOL, atol), \
            f"at {point}, d/d{w}: adgen {g!r}, central differences {numeric!r} (h), " \
            f"{coarse!r} (2h)"


# A fixed, modest number (about 12 s); ADGEN_PROPERTY_EXAMPLES=2000 hunts for bugs.
EXAMPLES = examples(50)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=DERANDOMIZE,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.filter_too_much])
@given(case=cases())
def test_control_flow_gradient_matches_sympy_and_finite_differences(case: Case) -> None:
    check_case(case)


def test_the_precise_oracle_catches_a_wrong_gradient() -> None:
    """The 40-digit oracle is the one that checks every point: it gives the hand-derived
    gradient along a loop's path, and fails a gradient that is off by one part in a
    million (which the float central differences, at their tolerance, would let pass)."""
    text = ("import math\n\n\ndef f(x, y):\n    s = 0.0\n    for i in range(3):\n"
            "        if x > 0.5 * i:\n            s += math.sin(x * y)\n        else:\n"
            "            s -= y\n    return s\n")
    point = [0.7, -1.3]
    case = Case(text, "f", ["x", "y"], ["x", "y"], [point], None, ["x", "y"], False, False)
    c = math.cos(0.7 * -1.3)  # s = 2 sin(x y) - y on this path
    assert all(_close(a, b, 1e-14, 0.0) for a, b in
               zip(precise_gradient(case, point), [2 * -1.3 * c, 2 * 0.7 * c - 1]))
    forward = _load_forward(text, "f")
    generated = _load_generated(compile_source(text, "prop.py", functions=["f"]).source)
    value = _evaluate(forward, point)
    check_point(case, forward, generated, point, value, with_sympy=False)
    right = generated["f_grad"]
    wrong = dict(generated, f_grad=lambda *a: tuple(g * (1 + 1e-6) for g in right(*a)))
    with pytest.raises(AssertionError, match="40-digit central differences"):
        check_point(case, forward, wrong, point, value, with_sympy=False)
