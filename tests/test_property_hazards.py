"""Property tests for the hazards of issue 15: shared memory, look-alike names, branch-local
re-assignments, and user names that shadow what the generated code relies on.

Two generators write random programs:

- `alias_cases`: numpy functions that bind several names to one array and update it in
  place -- plain aliases (`z = a`), views (`a[1:]`, `a[:, 1:]`, `a[0]`, `a[::2]`, `a[:]`,
  `a[None]`, `a.T`, `np.transpose(a)`, `a.reshape(..)`, `a.ravel()`), copies (`a.copy()`,
  `np.copy(a)`, `np.array(a)`), augmented assignments (`+=`, `-=`, `*=`) and assignments into an array
  (`z[0] = ..`, `z[1:] = ..`, `z[:, 0] = ..`), on locals and on parameters, in loops, and
  after an `if` that makes a name an alias on one path and a copy on the other, then a loss
  that reads the original names as well as the aliases;
- `name_cases`: scalar functions with `if`/`elif`/`else` blocks that re-assign, in one branch
  only, names bound before them, read after the block.

In both, names are drawn from a hostile pool: the generated module's own names
(`_unbroadcast`, `_argmax_mask`, `reversed`, `range`, `len`, `math`, `np`, `numpy`...),
gradient-like names (`d`, `dx`, `dz`, `dout`, `grad_x`...), versions (`x_1`), and every name
may be spelled in a form Python normalises to it (NFKC: fullwidth `ｚ`, mathematical `𝑧`, the
ligature `ﬁ` for `fi`), differently at each occurrence.  Module constants and helper
functions get such names too.

The property: adgen either refuses the program with located diagnostics (registered codes,
never AD900, a line and column in the file), or its generated gradient runs and matches
central differences of the forward function, which Python and numpy run with their real
semantics (aliases, views and normalised names included) -- an oracle independent of adgen.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import math
import re
import unicodedata
from typing import Optional

import numpy as np
from hypothesis import HealthCheck, assume, event, given, note, settings
from hypothesis import strategies as st

from adgen.compiler import compile_functions, compile_source, parse, select_functions
from adgen.diagnostics import AdgenError
from property_settings import DERANDOMIZE, examples
from test_property_control import _traced_run

FD_RTOL = 1e-4
FD_ATOL = 1e-6

# Spellings Python reads as the same identifier (NFKC), per plain letter.
LOOKALIKE = {"z": ("ｚ", "𝑧", "𝐳"), "v": ("ｖ", "𝑣"), "a": ("ａ", "𝒂"), "h": ("ｈ", "𝒉"),
             "x": ("ｘ", "𝑥"), "y": ("ｙ", "𝑦"), "fi": ("ﬁ",), "d": ("ｄ", "𝑑"),
             "dx": ("ｄx", "d𝑥"), "reversed": ("ｒeversed",), "np": ("ｎp",),
             "math": ("ｍath",), "range": ("ｒange",), "f": ("ｆ", "𝑓"), "g": ("ｇ",),
             "helper": ("ｈelper",), "loss": ("ｌoss",)}
# Names the generated code uses (its helpers, modules, builtins) or invents (gradients,
# versions, the seed), as user names.
HOSTILE = ("_unbroadcast", "_argmax_mask", "_argmin_mask", "reversed", "len", "isinstance",
           "list", "slice", "ValueError", "d", "dd", "dx", "dz", "da", "dv", "dout", "df",
           "grad_x", "x_1", "z_1", "fi", "f_grad")


def spell(draw, name: str) -> str:
    """`name` as written at one occurrence: itself, or a spelling NFKC turns into it."""
    options = LOOKALIKE.get(name, ())
    if options and draw(st.integers(0, 2)) == 0:
        return draw(st.sampled_from(options))
    return name


def _located(error: AdgenError, lines: int) -> None:
    """A refusal must be diagnostics with codes, never an internal error, each at a place
    in the file."""
    assert error.diagnostics, "an AdgenError without diagnostics"
    for d in error.diagnostics:
        assert d.code != "AD900", f"internal error:\n{error}"
        assert d.code.startswith("AD") and d.path == "prop.py", d
        assert 1 <= d.line <= lines and d.col >= 1, d


def _compile(text: str):
    """The compiled module, or None when adgen refuses it (with located diagnostics)."""
    try:
        compiled = compile_source(text, "prop.py")
    except AdgenError as error:
        _located(error, len(text.splitlines()))
        event(f"refused: {' '.join(sorted(set(error.codes)))}")
        return None
    event("accepted")
    return compiled


def _in_place(text: str):
    """The module `--in-place` generates (the library API's for arrays of one dtype)."""
    parsed = parse(text, "prop.py")
    nodes = select_functions(parsed, None)
    return compile_functions(parsed, nodes, None, command="adgen prop.py --in-place",
                             inplace=True)


def _load(text: str, name: str, filename: str):
    namespace: dict = {"__name__": filename}
    exec(compile(text, filename, "exec"), namespace)
    return namespace[name]


# ---------------------------------------------------------------- aliases and views

SHAPE = (3, 4)


@dataclasses.dataclass
class AliasCase:
    text: str
    params: list[str]  # normalised names, each an array of SHAPE

    def __repr__(self) -> str:
        return f"AliasCase(params={self.params})\n{self.text}"


class AliasProgram:
    def __init__(self, draw):
        self.draw = draw
        self.np = draw(st.sampled_from(("np", "np", "numpy", "onp")))
        self.shapes: dict[str, tuple] = {}  # normalised name -> shape
        self.lines: list[str] = []
        self.flag = False  # a constant parameter k decides a branch

    def name(self, n: str) -> str:
        return spell(self.draw, n)

    def pick(self, options):
        return self.draw(st.sampled_from(sorted(options)))

    def of_shape(self, shape: tuple) -> list[str]:
        return [n for n, s in self.shapes.items() if s == shape]

    def target(self) -> str:
        """A name to bind: a plain one, or (one time in three) a hostile one."""
        if self.draw(st.integers(0, 2)):
            return self.pick(["z", "v", "a", "c", "w", "h", "fi"])
        pool = list(HOSTILE)
        if self.np != "np":
            pool += ["np", "math"]  # (refused: AD205, modules are reserved)
        return self.pick(pool)

    def updated(self, params: list[str]) -> str:
        """The array an in-place update writes: mostly one the function made itself (a
        parameter's storage is refused, AD208)."""
        own = [n for n in self.shapes if n not in params]
        if own and self.draw(st.integers(0, 3)):
            return self.pick(own)
        return self.pick(self.shapes)

    def operand(self, shape: tuple, depth: int = 1) -> str:
        """An expression of this shape (or a scalar, which broadcasts)."""
        names = self.of_shape(shape)
        roll = self.draw(st.integers(0, 4))
        if not names or roll == 0:
            return self.pick(("0.5", "1.5", "2.0", "0.25", "-1.0"))
        base = self.name(self.pick(names))
        if roll == 1 and depth > 0:
            return f"{self.np}.{self.pick(('sin', 'tanh', 'cos'))}({base})"
        if roll == 2 and depth > 0:
            return f"{base} * {self.operand(shape, depth - 1)}"
        return base

    def views(self, src: str, shape: tuple) -> list[tuple[str, tuple]]:
        s = self.name(src)
        found = [(f"{s}.copy()", shape), (f"{self.np}.copy({s})", shape),
                 (f"{s}.ravel()", (math.prod(shape),)), (f"{s}.reshape(-1)", (math.prod(shape),))]
        if self.draw(st.integers(0, 3)) == 0:
            found.append((f"{self.np}.array({s})", shape))  # (refused: AD301)
        found += [(f"{s}[:]", shape)]
        if len(shape) < 3:
            found.append((f"{s}[None]", (1,) + shape))
        if shape[0] > 1:
            found += [(f"{s}[1:]", (shape[0] - 1,) + shape[1:]),
                      (f"{s}[::2]", ((shape[0] + 1) // 2,) + shape[1:])]
        if len(shape) == 2:
            found += [(f"{s}[0]", shape[1:]), (f"{s}.T", shape[::-1]),
                      (f"{self.np}.transpose({s})", shape[::-1]),
                      (f"{s}.reshape({shape[1]}, {shape[0]})", shape[::-1])]
            if shape[1] > 1:
                found.append((f"{s}[:, 1:]", (shape[0], shape[1] - 1)))
        return found

    def statement(self, params: list[str], kinds=("alias", "view", "view", "compute", "aug",
                                                  "aug", "setitem", "setitem", "branch",
                                                  "loop")) -> None:
        kind = self.draw(st.sampled_from(kinds))
        if kind == "branch":
            self.branch()
            return
        if kind == "loop":  # an update repeated: aliases carried around the loop
            body = len(self.lines)
            self.statement(params, ("aug", "setitem"))  # (a name bound only in a loop: AD203)
            self.lines[body:] = ["for i in range(2):"] + [f"    {line}" for line in
                                                         self.lines[body:]]
            return
        src = self.pick(self.shapes) if kind in ("alias", "view", "compute") else \
            self.updated(params)
        shape = self.shapes[src]
        if kind in ("alias", "view", "compute"):
            t = self.target()
            if kind == "alias":
                value, new_shape = self.name(src), shape
            elif kind == "view":
                value, new_shape = self.draw(st.sampled_from(self.views(src, shape)))
            else:
                value, new_shape = f"{self.np}.sin({self.name(src)}) * {self.operand(shape)}", shape
            self.lines.append(f"{self.name(t)} = {value}")
            self.shapes[t] = new_shape
        elif kind == "aug":
            op = self.pick(("+=", "-=", "*="))
            self.lines.append(f"{self.name(src)} {op} {self.operand(shape)}")
        else:
            options = [("[0]", shape[1:])]
            if shape[0] > 1:
                options.append(("[1:]", (shape[0] - 1,) + shape[1:]))
            if len(shape) == 2:
                options.append(("[:, 0]", shape[:1]))
            index, part = self.draw(st.sampled_from(options))
            value = self.operand(part) if part else self.pick(("0.5", "0.0", "-1.0"))
            self.lines.append(f"{self.name(src)}{index} = {value}")

    def branch(self) -> None:
        """One name bound in both arms of an if on a constant parameter (`k=1.0`): to an
        alias in one, to a copy or another array in the other, so whether it shares memory
        is decided at run time."""
        src = self.pick(self.shapes)
        shape = self.shapes[src]
        t = self.target()
        arms = [self.name(src), f"{self.name(src)}.copy()", f"{self.name(src)} * 1.0"] + \
            [self.name(n) for n in self.of_shape(shape)]
        first, second = self.draw(st.sampled_from(arms)), self.draw(st.sampled_from(arms))
        self.flag = True
        self.lines += [f"if k > 0.0:", f"    {self.name(t)} = {first}", "else:",
                       f"    {self.name(t)} = {second}"]
        self.shapes[t] = shape

    def loss(self) -> str:
        terms = []
        names = sorted(self.shapes)
        for _ in range(self.draw(st.integers(1, 3))):
            n = self.pick(names)
            other = self.pick(self.of_shape(self.shapes[n]))
            form = self.draw(st.integers(0, 2))
            if form == 0:
                terms.append(f"{self.np}.sum({self.name(n)} * {self.name(other)})")
            elif form == 1:
                terms.append(f"{self.np}.sum({self.np}.sin({self.name(n)}))")
            else:
                terms.append(f"{self.np}.sum({self.name(n)} ** 2)")
        return " + ".join(terms)


@st.composite
def alias_cases(draw) -> AliasCase:
    p = AliasProgram(draw)
    params = draw(st.sampled_from((["x", "y"], ["x", "y"], ["x", "dx"], ["a", "z"],
                                   ["x_1", "d"], ["x", "y"], ["x", "reversed"])))
    p.shapes = {q: SHAPE for q in params}
    annotated = draw(st.booleans())
    header = ", ".join(f"{p.name(q)}: 'N D'" if annotated else p.name(q) for q in params)
    for i in range(draw(st.integers(1, 2))):  # arrays of the function's own
        t = p.target()
        p.lines.append(f"{p.name(t)} = {p.name(params[i])} * {2.0 - i}")
        p.shapes[t] = SHAPE
    for _ in range(draw(st.integers(2, 6))):
        p.statement(params)
    body = "".join(f"    {line}\n" for line in p.lines + [f"return {p.loss()}"])
    if p.flag:
        header += f", k={draw(st.sampled_from(('1.0', '-1.0')))}"
    imports = {"np": "import numpy as np", "numpy": "import numpy",
               "onp": "import numpy as onp"}[p.np]
    return AliasCase(f"{imports}\n\n\ndef f({header}):\n{body}", params)


def _run_arrays(fn, args) -> Optional[float]:
    copies = [np.array(a) for a in args]
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            value = fn(*copies)
    except (ArithmeticError, FloatingPointError):
        return None
    value = float(value)
    return value if math.isfinite(value) and abs(value) < 1e8 else None


def check_alias_case(case: AliasCase) -> None:
    note(repr(case))
    forward = _load(case.text, "f", "prop.py")
    rng = np.random.default_rng(len(case.text))
    args = [rng.uniform(-1.5, 1.5, SHAPE) for _ in case.params]
    value = _run_arrays(forward, args)
    assume(value is not None)
    compiled = _compile(case.text)
    if compiled is None:
        return
    note(compiled.source)
    grad = _load_generated(compiled.source)["f_grad"]
    frozen = [a.copy() for a in args]
    try:
        result = grad(*args)
    except ValueError as error:
        # Unannotated, `y[0]` alone says a vector: the module assumes it, says so in its
        # header (with the line) and its guard refuses other arguments (docs/arrays.md).
        assert "differ from the shapes it was generated for" in str(error), error
        assumed = _assumed_ranks(compiled.source)
        assert any(assumed.get(p, len(SHAPE)) != len(SHAPE) for p in case.params), \
            f"the guard refused arguments of the shapes it states:\n{assumed}"
        event("refused at run time: an assumed rank (the module's header)")
        return
    for a, f in zip(args, frozen):
        assert np.array_equal(a, f), "the gradient function writes into an argument"
    grads = result if isinstance(result, tuple) else (result,)
    # in-place steps (adgen/inplace.py) change no number and write into no argument
    fast = _in_place(case.text)
    note(fast.source)
    again = _load_generated(fast.source)["f_grad"](*args)
    for a, f in zip(args, frozen):
        assert np.array_equal(a, f), "the in-place gradient function writes into an argument"
    again = again if isinstance(again, tuple) else (again,)
    assert all(np.array_equal(x, y) for x, y in zip(again, grads)), "in place differs"
    if "out=" in fast.source:
        event("computed in place")
    assert len(grads) == len(case.params), result
    for index, (w, g) in enumerate(zip(case.params, grads)):
        assert np.shape(g) == SHAPE and np.all(np.isfinite(g)), (w, g)
        fine, coarse = np.zeros(SHAPE), np.zeros(SHAPE)
        for pos in np.ndindex(*SHAPE):
            h = 2.0 ** -20 * max(1.0, abs(args[index][pos]))
            for k, out in ((1, fine), (2, coarse)):
                moved = [a.copy() for a in args], [a.copy() for a in args]
                moved[0][index][pos] += k * h
                moved[1][index][pos] -= k * h
                fp, fm = _run_arrays(forward, moved[0]), _run_arrays(forward, moved[1])
                assume(fp is not None and fm is not None)
                out[pos] = (fp - fm) / (moved[0][index][pos] - moved[1][index][pos])
        atol = FD_ATOL * max(1.0, abs(value)) + np.abs(coarse - fine)
        bad = np.abs(g - fine) > FD_RTOL * np.maximum(np.abs(g), np.abs(fine)) + atol
        assert not bad.any(), f"d{w}: adgen\n{g!r}\ncentral differences\n{fine!r}"


def _assumed_ranks(source: str) -> dict[str, int]:
    """The ranks a generated module's header says it assumed (`y (n1,): ...`, `x float:
    ...`)."""
    ranks, inside = {}, False
    for line in source.splitlines():
        if "assumes (nothing in the source says otherwise" in line:
            inside = True
        elif inside and not line.strip():
            break
        elif inside:
            found = re.match(r"    (\w+) (?:int )?\(([^)]*)\)", line)
            if found:
                ranks[found[1]] = len([d for d in found[2].split(",") if d.strip()])
            elif re.match(r"    \w+ (float|int):", line):  # x float: a number
                ranks[line.split()[0]] = 0
    return ranks


def _standalone_import(name, globals=None, locals=None, fromlist=(), level=0):
    if name.split(".")[0] not in ("math", "numpy"):
        raise ImportError(f"generated module imports {name!r}")
    return builtins.__import__(name, globals, locals, fromlist, level)


def _load_generated(source: str) -> dict:
    restricted = dict(vars(builtins))
    restricted["__import__"] = _standalone_import
    namespace: dict = {"__name__": "prop_grad", "__builtins__": restricted}
    exec(compile(source, "prop_grad.py", "exec"), namespace)
    return namespace


_SETTINGS = dict(deadline=None, derandomize=DERANDOMIZE,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                        HealthCheck.filter_too_much])


@settings(max_examples=examples(60), **_SETTINGS)
@given(case=alias_cases())
def test_aliases_and_views_are_refused_or_differentiated_exactly(case: AliasCase) -> None:
    check_alias_case(case)


# ---------------------------------------------------------------- names and branches


@dataclasses.dataclass
class NameCase:
    text: str
    function: str
    params: list[str]  # normalised
    point: list[float]

    def __repr__(self) -> str:
        return f"NameCase(point={self.point})\n{self.text}"


class NameProgram:
    def __init__(self, draw):
        self.draw = draw
        self.math = draw(st.sampled_from(("math", "m", "from")))
        self.bound: dict[str, float] = {}  # normalised name -> bound on |value|
        self.consts: dict[str, float] = {}
        self.helper: Optional[str] = None

    def name(self, n: str) -> str:
        return spell(self.draw, n)

    def pick(self, options):
        return self.draw(st.sampled_from(sorted(options)))

    def fn(self, f: str) -> str:
        return f if self.math == "from" else f"{self.math}.{f}"

    def pool(self) -> list[str]:
        if self.draw(st.integers(0, 2)):
            pool = ["h", "z", "v", "a", "fi", "range"]
        else:
            pool = ["range"] + list(HOSTILE)
            if self.draw(st.integers(0, 3)) == 0:  # (refused: AD205, modules are reserved)
                pool += ["np"] + (["math"] if self.math != "math" else [])
        taken = set(self.consts) | {self.helper} | (
            {"sin", "tanh", "cos"} if self.math == "from" else {self.math})
        return [n for n in pool if n not in taken]

    def expr(self, depth: int = 2) -> tuple[str, float]:
        roll = self.draw(st.integers(0, 5))
        if depth == 0 or roll == 0:
            if self.consts and self.draw(st.integers(0, 3)) == 0:
                c = self.pick(self.consts)
                return self.name(c), self.consts[c]
            if self.draw(st.integers(0, 3)) == 0:
                value = self.pick(("0.5", "1.5", "2.0", "0.25"))
                return value, float(value)
            n = self.pick(self.bound)
            return self.name(n), self.bound[n]
        if roll == 1:
            inner, _ = self.expr(depth - 1)
            f = self.pick(("sin", "tanh", "cos"))
            return f"{self.fn(f)}({inner})", 1.0
        if roll == 2 and self.helper:
            inner, b = self.expr(depth - 1)
            return f"{self.name(self.helper)}({inner})", 1.0
        (a, ba), (b, bb) = self.expr(depth - 1), self.expr(depth - 1)
        op = self.pick(("+", "-", "*"))
        bound = ba * bb if op == "*" else ba + bb
        if bound > 20:
            return f"{self.fn('tanh')}({a} {op} {b})", 1.0
        return f"({a} {op} {b})", bound

    def assign(self, lines: list[str], indent: str, fresh: bool) -> None:
        names = self.pool() if fresh or not self.bound else sorted(self.bound)
        t = self.pick(names)
        value, bound = self.expr()
        if t in self.bound and self.draw(st.integers(0, 2)) == 0:
            op = self.pick(("+=", "-=", "*="))
            lines.append(f"{indent}{self.name(t)} {op} {value}")
            bound = self.bound[t] * bound if op == "*=" else self.bound[t] + bound
            if bound > 50:  # keep it bounded: squash instead
                lines[-1] = f"{indent}{self.name(t)} = {self.fn('tanh')}({value})"
                bound = 1.0
        else:
            lines.append(f"{indent}{self.name(t)} = {value}")
        self.bound[t] = max(bound, self.bound.get(t, 0.0))

    def block(self, lines: list[str], indent: str, depth: int) -> None:
        """An if/elif/else whose branches re-assign names bound before it (some in one
        branch only); every name stays bound after it, and the bound is the hull."""
        cond, _ = self.expr(1)
        rhs, _ = self.expr(1)
        lines.append(f"{indent}if {cond} {self.pick(('<', '>', '<=', '>='))} {rhs}:")
        before = dict(self.bound)
        hull = dict(before)  # without an else, the path that skips the if keeps `before`
        arms = self.draw(st.integers(1, 3))  # if / if-else / if-elif-else
        for arm in range(arms):
            if arm == 1 and arms == 3:
                cond, _ = self.expr(1)
                lines.append(f"{indent}elif {cond} > {self.pick(('0.0', '0.5', '-0.5'))}:")
            elif arm > 0:
                lines.append(f"{indent}else:")
            self.bound = dict(before)
            count = self.draw(st.integers(0 if arm else 1, 2))
            if count == 0:
                lines.append(f"{indent}    pass")
            for _ in range(count):
                if depth > 0 and self.draw(st.integers(0, 4)) == 0:
                    self.block(lines, indent + "    ", depth - 1)
                else:
                    self.assign(lines, indent + "    ", fresh=False)
            for n in before:
                hull[n] = max(hull[n], self.bound[n])
        self.bound = hull  # names first bound in a branch are not read after it (AD203)


@st.composite
def name_cases(draw) -> NameCase:
    p = NameProgram(draw)
    params = draw(st.sampled_from((["x", "y"], ["x", "y"], ["x", "dx"], ["a", "d"],
                                   ["x", "x_1"], ["h", "fi"], ["x", "y", "dout"],
                                   ["x", "df"], ["x", "reversed"])))
    p.bound = {q: 2.0 for q in params}
    module = []
    if p.math == "math":
        module.append("import math")
    elif p.math == "m":
        module.append("import math as m")
    else:
        module.append("from math import sin, tanh, cos")
    for _ in range(draw(st.integers(0, 2))):
        c = draw(st.sampled_from(("_unbroadcast", "reversed", "C", "dx", "fi", "d")))
        if c not in params and c not in p.consts:
            value = draw(st.sampled_from((0.5, 1.5, 2.0)))
            module.append(f"{p.name(c)} = {value}")
            p.consts[c] = value
    helper_lines = []
    if draw(st.booleans()):
        h = draw(st.sampled_from(("_argmax_mask", "_unbroadcast", "reversed", "helper", "fi",
                                  "helper")))
        if h not in p.consts and h not in params:
            p.helper = h
            u = draw(st.sampled_from(("u", "dx", "d", "x_1", "len")))
            helper_lines = ["", "", f"def {p.name(h)}({p.name(u)}):",
                            f"    return {p.fn('sin')}({p.name(u)}) * 0.5"]
    lines: list[str] = []
    for _ in range(draw(st.integers(0, 2))):
        p.assign(lines, "    ", fresh=True)
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.integers(0, 2)) == 0:
            p.assign(lines, "    ", fresh=draw(st.booleans()))
        else:
            p.block(lines, "    ", 1)
    reads = draw(st.lists(st.sampled_from(sorted(p.bound)), min_size=1, max_size=4))
    lines.append("    return " + " + ".join(f"{p.fn('sin')}({p.name(n)})" if i % 2 else
                                            p.name(n) for i, n in enumerate(reads)))
    function = draw(st.sampled_from(("f", "loss", "g")))
    header = f"def {p.name(function)}({', '.join(p.name(q) for q in params)}):"
    text = "\n".join(module + helper_lines + ["", "", header] + lines) + "\n"
    point = [draw(st.floats(-2.0, 2.0, allow_nan=False)) for _ in params]
    return NameCase(text, function, params, point)


def _run_scalar(fn, args) -> Optional[float]:
    try:
        value = fn(*args)
    except (ArithmeticError, ValueError):
        return None
    return float(value) if math.isfinite(value) and abs(value) < 1e8 else None


def _path(case: NameCase, point: list) -> Optional[list]:
    branches, margin = _traced_run(case.text, case.function, point)
    return branches if branches is not None and margin >= 1e-6 else None


def check_name_case(case: NameCase) -> None:
    note(repr(case))
    assert unicodedata.normalize("NFKC", case.function) == case.function  # (as spelled: any)
    forward = _load(case.text, case.function, "prop.py")
    value = _run_scalar(forward, case.point)
    assume(value is not None)
    compiled = _compile(case.text)
    if compiled is None:
        return
    note(compiled.source)
    grad = _load_generated(compiled.source)[f"{case.function}_grad"]
    result = grad(*case.point)
    grads = result if isinstance(result, tuple) else (result,)
    assert len(grads) == len(case.params), result
    base = _path(case, case.point)
    assume(base is not None)  # on a branch boundary: no derivative to compare with
    for index, (w, g) in enumerate(zip(case.params, grads)):
        assert isinstance(g, float) and math.isfinite(g), (w, g)
        x = case.point[index]
        h = 2.0 ** -20 * max(1.0, abs(x))
        quotients = []
        for k in (1, 2):
            plus, minus = list(case.point), list(case.point)
            plus[index], minus[index] = x + k * h, x - k * h
            assume(_path(case, plus) == base and _path(case, minus) == base)
            fp, fm = _run_scalar(forward, plus), _run_scalar(forward, minus)
            assume(fp is not None and fm is not None)
            quotients.append((fp - fm) / (plus[index] - minus[index]))
        fine, coarse = quotients
        atol = FD_ATOL * max(1.0, abs(value)) + abs(coarse - fine)
        assert abs(g - fine) <= FD_RTOL * max(abs(g), abs(fine)) + atol, \
            f"d{w}: adgen {g!r}, central differences {fine!r} (2h: {coarse!r})"


@settings(max_examples=examples(80), **_SETTINGS)
@given(case=name_cases())
def test_hostile_names_and_branch_merges_are_refused_or_differentiated_exactly(
        case: NameCase) -> None:
    check_name_case(case)


def test_the_generators_write_what_they_promise() -> None:
    """The pools reach the hazards: look-alike spellings normalise to their names, and the
    names of the generated module are in the hostile pool."""
    for name, spellings in LOOKALIKE.items():
        for s in spellings:
            assert s != name and unicodedata.normalize("NFKC", s) == name, (s, name)
            assert ast.parse(f"{s} = 1").body[0].targets[0].id == name
    for helper in ("_unbroadcast", "_argmax_mask", "reversed"):
        assert helper in HOSTILE or helper in LOOKALIKE
