"""In place: a specialisation's elementwise steps computed into an array nothing reads again.

Hand-written backprop saves allocations by overwriting arrays it is done with
(`hidden += b1`, `np.exp(probs, out=probs)`); `XW1pb1 = np.add(XW1, b1, out=XW1)` is the
generated code's way of saying the same.  A forward statement `t = a op b` (`+ - * /`),
`t = -a` or `t = np.exp(a)` (a numpy ufunc of one array) computes into its operand `a`
when all of these hold:

* both are directly in one straight-line block: the function's own statements, or one
  loop's or branch's body (not a while loop's test, which is printed twice);
* `a` was made there by an earlier statement as a new array (arithmetic, a matrix product,
  a ufunc or a reduction: never a view, a parameter or a copy by name);
* `a` and `t` are float arrays of one shape (nothing broadcasts into a larger result), and
  `a` is one operand, not both;
* the other operands are numbers written in the code, or float arrays that, like `a`,
  provably have the arguments' one float dtype (`facts.uniform_float`; a module relying on
  it checks it at its top): made only from the float array parameters and numbers, not by
  np.zeros (float64 always) or from a constant.  Then the result's dtype is `a`'s, and
  `out=a` changes no number;
* the name `a` appears in the printed function exactly at its definition, this statement,
  and statements between them that make new arrays from it (`scores -
  scores.max(axis=1, keepdims=True)`): nowhere in the backward pass, a loop's saved lists
  or carried values, a branch, the checks, the return or a tap's recording lines.  Reading
  the printed text rather than the IR means no read can be missed: whatever the generated
  code does with `a`, its name is in the text.

The backward pass (`backward_chains`) computes a gradient that is a chain of elementwise
steps as its first step into a new array and the others into it, under the same dtype
rules, the upstream gradient checked to be a Python number or of the arrays' dtype.

The library API's specialisations do this when the arguments' float arrays share a dtype;
the command line with `--in-place`.  docs/design.md (decisions) has the reasons.
"""

from __future__ import annotations

import dataclasses
import re

from adgen import ir
from adgen.printer import to_source

BINARY = {"+": "np.add", "-": "np.subtract", "*": "np.multiply", "/": "np.divide"}
# numpy ufuncs of one array whose forward templates are `np.f(a)`: out=a gives the same
# numbers as a new array would hold
UNARY = frozenset({
    "np.exp", "np.expm1", "np.exp2", "np.log", "np.log1p", "np.log2", "np.log10", "np.sqrt",
    "np.cbrt", "np.square", "np.sin", "np.cos", "np.tan", "np.arcsin", "np.arccos",
    "np.arctan", "np.sinh", "np.cosh", "np.tanh", "np.arcsinh", "np.arccosh", "np.arctanh",
    "np.abs", "np.absolute", "np.negative", "np.reciprocal", "np.sign"})
# calls that always return a new array (or a number), never a view of an operand
FRESH_CALLS = UNARY | {"np.maximum", "np.minimum", "np.where", "np.clip", "np.dot",
                       "np.matmul", "np.outer", "np.sum", "np.mean", "np.max", "np.min",
                       "np.prod", "np.var", "np.std", "np.logaddexp"}
REDUCTIONS = frozenset({"sum", "mean", "max", "min", "prod", "var", "std"})
# calls whose result has their first argument's dtype (without a dtype= keyword): the
# gradient code's broadcasts and sums back (_unbroadcast is the generated module's helper)
LIKE_FIRST = frozenset({"np.full_like", "np.zeros_like", "np.ones_like", "np.broadcast_to",
                        "np.expand_dims", "np.reshape", "_unbroadcast"})

# a string literal without a prefix (an f-string's fields are code: those stay in)
_STRING = re.compile(r"(?<![\w'\"])(?:'[^'\\]*(?:\\.[^'\\]*)*'|\"[^\"\\]*(?:\\.[^\"\\]*)*\")")
_NAME = re.compile(r"(?<![\w.])[A-Za-z_]\w*")


def names_in(line: str) -> list[str]:
    """The identifiers a line of generated code reads or binds: plain string literals and
    comments left out, attribute names (`x.T`'s T) too; keywords, keyword arguments and the
    words of prefixed strings (f"{a}") are kept, which can only make a name look used more
    often than it is."""
    code = _STRING.sub("''", line)
    hash_at = code.find("#")
    if hash_at >= 0:
        code = code[:hash_at]
    return _NAME.findall(code)


def _fresh(expr: ir.Expr) -> bool:
    """Whether a forward statement's value is a new array whatever its operands are."""
    if isinstance(expr, (ir.BinOp, ir.Neg)):
        return True
    if isinstance(expr, ir.Call):
        return expr.func in FRESH_CALLS
    return isinstance(expr, ir.Method) and expr.name in REDUCTIONS


def _float_array(t) -> bool:
    return t is not None and t.kind == "array" and t.shape is not None and len(t.shape) >= 1


def _spines(expr: ir.Expr, top: bool = True):
    """Each way to compute `expr` as a chain of ufuncs applied in turn to one name: (the
    name, [(ufunc, operands, index of the chain among them), ...] innermost first), where
    every operand off the chain is a name or a number.  `1.0 / (1 + np.exp(-a))` is
    np.negative, np.exp, np.add, np.divide applied to `a`."""
    if isinstance(expr, ir.Name):
        if not top:
            yield expr.id, []
        return
    step = _ufunc_step(expr)
    if step is None:
        return
    func, operands = step
    for i, operand in enumerate(operands):
        if all(isinstance(o, (ir.Name, ir.Num)) for k, o in enumerate(operands) if k != i):
            for name, steps in _spines(operand, False):
                yield name, steps + [(func, operands, i)]


def _ufunc_step(expr: ir.Expr):
    """(the numpy ufunc, its operands) that computes `expr`, for `+ - * /`, negation and a
    ufunc of one array; None for anything else."""
    if isinstance(expr, ir.BinOp) and expr.op in BINARY:
        return BINARY[expr.op], (expr.left, expr.right)
    if isinstance(expr, ir.Neg):
        return "np.negative", (expr.operand,)
    if isinstance(expr, ir.Call) and expr.func in UNARY and len(expr.args) == 1 \
            and not expr.kwargs:
        return expr.func, expr.args
    return None


# methods whose result has the dtype of the array they are called on
SAME_DTYPE_METHODS = frozenset({"reshape", "transpose", "ravel", "copy", "squeeze"})


def _keeps_dtype(expr: ir.Expr, same: set) -> bool:
    """Whether `expr` has the arguments' float dtype when the names in `same` have it:
    arithmetic, ufuncs, products and reductions of them and of numbers written in the code
    (which adapt to an array's dtype), and views of them.  Anything else -- np.zeros (always
    float64), a module's constant, a numpy scalar variable -- may have another dtype."""
    if isinstance(expr, ir.Num):
        return True
    if isinstance(expr, ir.Name):
        return expr.id in same
    if isinstance(expr, ir.BinOp):
        return _keeps_dtype(expr.left, same) and _keeps_dtype(expr.right, same)
    if isinstance(expr, ir.Neg):
        return _keeps_dtype(expr.operand, same)
    if isinstance(expr, ir.Call) and expr.func in FRESH_CALLS:
        operands = expr.args[1:] if expr.func == "np.where" else expr.args
        return all(_keeps_dtype(a, same) for a in operands)
    if isinstance(expr, ir.Call) and expr.func in LIKE_FIRST and expr.args and \
            not expr.kwargs:
        return _keeps_dtype(expr.args[0], same)
    if isinstance(expr, ir.Method) and expr.name in REDUCTIONS | SAME_DTYPE_METHODS:
        return _keeps_dtype(expr.obj, same)
    if isinstance(expr, (ir.Field, ir.Index)) and (
            not isinstance(expr, ir.Field) or expr.name == "T"):
        return _keeps_dtype(expr.obj, same)
    return False


def _one_dtype(grad: ir.Gradient, forward_expr) -> set:
    """The float arrays that have the arguments' float dtype (the one the module checks):
    the float array parameters and members, and every value computed only from them and from
    numbers written in the code, through loops' carried values too (the largest such set)."""
    fn = grad.function
    sources: dict = {}
    for stmt in ir.assigns(grad.forward):
        sources.setdefault(stmt.target, []).append(
            None if stmt.prim == "setitem" else forward_expr(stmt))
    for loop in ir.loops(grad.forward):
        for name, value in loop.carried:
            sources.setdefault(name, []).append(value)
    start = {name for name in list(sources) + fn.inputs if _float_array(fn.types.get(name))}
    return _largest(start, sources, lambda e, found: e is not None and _keeps_dtype(e, found))


def _largest(start: set, makers: dict, holds) -> set:
    """The largest subset of `start` in which every name's every maker (`makers[name]`, a
    list) `holds(maker, subset)`: names are dropped until none fails (a greatest fixed
    point, so values carried around loops keep the property when nothing else breaks it)."""
    found = set(start)
    changed = True
    while changed:
        changed = False
        for name in sorted(found):
            if not all(holds(m, found) for m in makers.get(name, ())):
                found.discard(name)
                changed = True
    return found


def plan(grad: ir.Gradient, lines: list[str], forward_expr, forward_line) -> tuple[dict, bool]:
    """The forward statements to compute in place, as {id(statement): its lines}, and whether
    one of them relies on one float dtype (an array as the other operand).  `lines` are all
    the lines of the generated function as printed without this; `forward_expr` and
    `forward_line` print a statement's right-hand side and line as emit does."""
    types = grad.function.types
    candidates = {stmt.target for stmt in _block_assigns(grad.forward)
                  if _float_array(types.get(stmt.target))}
    if not candidates:
        return {}, False
    counts: dict[str, int] = {}
    for line in lines:
        for name in names_in(line):
            if name in candidates:
                counts[name] = counts.get(name, 0) + 1
    chosen: dict = {}
    one_dtype = False
    same = _one_dtype(grad, forward_expr)
    for block in _blocks(grad.forward):
        found, bound = _block_plan(block, types, counts, same, forward_expr, forward_line)
        chosen.update(found)
        one_dtype = one_dtype or bound
    return chosen, one_dtype


def _blocks(stmts):
    """The straight-line blocks of a forward tree: the function's own statements, each
    branch's and each for or while loop's body (not a while loop's test statements, which
    are printed twice)."""
    yield stmts
    for stmt in stmts:
        if isinstance(stmt, ir.If):
            yield from _blocks(stmt.body)
            yield from _blocks(stmt.orelse)
        elif isinstance(stmt, ir.Loop):
            yield from _blocks(stmt.body)


def _block_assigns(stmts):
    for block in _blocks(stmts):
        yield from (s for s in block if isinstance(s, ir.Assign))


def _block_plan(block, types: dict, counts: dict, same: set, forward_expr, forward_line):
    exprs = {id(s): forward_expr(s) for s in block if isinstance(s, ir.Assign)
             and s.prim not in ("setitem", "param_store")}  # (a store computes nothing)
    defined = {s.target: k for k, s in enumerate(block)
               if id(s) in exprs and _fresh(exprs[id(s)]) and _float_array(types.get(s.target))}
    chosen: dict = {}
    one_dtype = False
    printed: dict = {}

    def line_names(stmt) -> list[str]:
        if id(stmt) not in printed:
            printed[id(stmt)] = names_in(forward_line(stmt))
        return printed[id(stmt)]

    for q, stmt in enumerate(block):
        if id(stmt) not in exprs or not _float_array(types.get(stmt.target)):
            continue
        target_t = types[stmt.target]
        for name, steps in _spines(exprs[id(stmt)]):
            p = defined.get(name)
            if p is None or p >= q or types[name].shape != target_t.shape:
                continue
            others = [o for func, operands, i in steps
                      for k, o in enumerate(operands) if k != i]
            if ir.Name(name) in others:
                continue  # a * a
            arrays = [o.id for o in others if isinstance(o, ir.Name)]
            if arrays and not {name, *arrays} <= same:
                continue  # np.zeros' float64 with float32 arguments; a numpy scalar
            # its definition, this use and the new arrays made from it in between: every
            # other appearance of the name in the function would be a read after this one
            count = counts.get(name, 0)
            if count > 2:  # (only then can a statement in between name it: read them)
                between = [s for s in block[p + 1:q] if id(s) in exprs
                           and name in line_names(s)]
                if not all(_fresh(exprs[id(s)]) for s in between):
                    continue  # a view of it, or a use the names cannot tell
                count -= sum(line_names(s).count(name) for s in between)
            if count != 2:
                continue
            lines, into = [], name
            for func, operands, i in steps:  # innermost first, each into the same array
                args = ", ".join(into if k == i else to_source(o)
                                 for k, o in enumerate(operands))
                lines.append(f"{stmt.target} = {func}({args}, out={into})")
                into = stmt.target
            chosen[id(stmt)] = lines
            one_dtype = one_dtype or bool(arrays)
            break
    return chosen, one_dtype


# ---------------------------------------------------------------- the backward pass


def backward_chains(grad: ir.Gradient, blocks, forward_expr) -> tuple[tuple, bool]:
    """The backward blocks with each gradient computed as a chain of elementwise steps
    (`dpre = (1 - hidden) * hidden * dhidden`) written as its first step, a new array, and
    then the others into it (`dpre = 1 - hidden`, `dpre = np.multiply(dpre, hidden,
    out=dpre)`, ...): one array where the expression makes one per step, the same numbers.
    A chain qualifies when its target is not among its operands, every name in it is an
    array of the target's shape (nothing broadcasts) and has the arguments' float dtype: a
    forward value `_one_dtype` proves, the upstream gradient (the module checks it is a
    Python number or of that dtype), or a gradient made only of such values.  Whether any
    chain was rewritten is returned too (the module then checks the dtypes)."""
    fn = grad.function
    same = _one_dtype(grad, forward_expr) | {grad.seed} | _python_ints(grad)
    variable_of = {g: v for v, g in grad.grad_names.items()}
    same |= _same_dtype_gradients(blocks, same)
    used = [False]

    def shape_of(name: str):
        t = fn.types.get(variable_of.get(name, name))
        return t.shape if _float_array(t) else None

    def rewrite(stmt):
        if not isinstance(stmt, ir.GradAssign) or stmt.accumulate or stmt.rebind:
            return (stmt,)
        steps = _chain(stmt.expr)
        shape = shape_of(stmt.target)
        if steps is None or shape is None:
            return (stmt,)
        start, links = steps
        names = {n.id for n in ir.walk(stmt.expr) if isinstance(n, ir.Name)}
        if stmt.target in names or not names <= same or \
                any(shape_of(n) != shape for n in names):
            return (stmt,)
        if not any(isinstance(n, ir.Name) for n in ir.walk(start)) or \
                not _elementwise(start) or not _keeps_dtype(start, same):
            return (stmt,)  # a number first (its array is the next step's), or a mask
        used[0] = True
        out = [ir.GradAssign(stmt.target, start, False)]
        for func, operands, i in links:
            args = tuple(ir.Name(stmt.target) if k == i else o for k, o in enumerate(operands))
            out.append(ir.GradAssign(stmt.target, ir.Call(func, args, (
                ("out", ir.Name(stmt.target)),)), False))
        return tuple(out)

    def items(seq):
        result = []
        for item in seq:
            if isinstance(item, ir.BackwardBlock):
                result.append(dataclasses.replace(item, stmts=tuple(
                    s for stmt in item.stmts for s in rewrite(stmt))))
            elif isinstance(item, ir.BackwardIf):
                result.append(dataclasses.replace(item, body=items(item.body),
                                                  orelse=items(item.orelse)))
            elif isinstance(item, ir.BackwardLoop):
                result.append(dataclasses.replace(item, body=items(item.body)))
            else:
                result.append(item)
        return tuple(result)

    rewritten = items(blocks)
    return rewritten, used[0]


def _chain(expr: ir.Expr):
    """`expr` as (start, [(ufunc, operands, index of the chain), ...] innermost first): the
    longest run of elementwise steps from the outside in whose other operands are names or
    numbers, down to `start`, the innermost expression computed as it is (a new array).
    None when there is no step to do in place."""
    links = []
    while True:
        step = _ufunc_step(expr)
        if step is None:
            break
        func, operands = step
        inner = [k for k, o in enumerate(operands) if not isinstance(o, (ir.Name, ir.Num))]
        if len(inner) != 1:
            break
        links.append((func, operands, inner[0]))
        expr = operands[inner[0]]
    if not links or isinstance(expr, (ir.Name, ir.Num)):
        return None
    return expr, links[::-1]


def _elementwise(expr: ir.Expr) -> bool:
    """Whether `expr` is arithmetic and ufuncs of names and numbers only (then a new array
    of its names' one shape): no reduction, product or broadcast to another shape."""
    if isinstance(expr, (ir.Name, ir.Num)):
        return True
    if isinstance(expr, ir.BinOp):
        return expr.op in ("+", "-", "*", "/", "**") and _elementwise(expr.left) and \
            _elementwise(expr.right)
    if isinstance(expr, ir.Neg):
        return _elementwise(expr.operand)
    return isinstance(expr, ir.Call) and expr.func in UNARY and not expr.kwargs and \
        all(_elementwise(a) for a in expr.args)


def _same_dtype_gradients(blocks, same: set) -> set:
    """The gradients that provably have the arguments' float dtype: every statement that
    makes (or rebinds) one computes it from such values (and numbers), the forward values
    in `same` and the upstream gradient among them; zeros shaped like such a forward value
    or a number.  The largest such set."""
    makers: dict[str, list] = {}
    for node in ir.backward_nodes(blocks):
        if isinstance(node, ir.GradAssign):
            makers.setdefault(node.target, []).append(node.expr)
        elif isinstance(node, ir.GradZero):
            makers.setdefault(node.target, []).append(
                ir.Name(node.like) if node.array else ir.Num(0.0))
        elif isinstance(node, ir.GradScatter):
            makers.setdefault(node.target, []).extend(
                [node.expr] + ([node.init] if node.init is not None else []))
        elif isinstance(node, ir.GradMasked):
            makers.setdefault(node.target, []).append(node.source)
            if node.temp is not None:
                makers.setdefault(node.temp, []).append(node.source)
        elif isinstance(node, ir.BackwardLoop):
            for g in node.batched:
                makers.setdefault(g.target, []).append(None)  # (printed from lists)
    return _largest(set(makers), makers,
                    lambda e, found: e is not None and _keeps_dtype(e, same | found))


INT_STEPS = frozenset({"add", "sub", "mul", "floordiv", "mod", "neg", "copy"})


def _python_ints(grad: ir.Gradient) -> set:
    """Forward values that are Python ints, which take any array's dtype as numbers written
    in the code do: sizes (`N = X.shape[0]`, `len(xs)`) and arithmetic of them and of
    integer literals (a numpy integer would not: int64 times a float32 array is float64)."""
    makers: dict = {}
    for stmt in ir.assigns(grad.forward):
        makers.setdefault(stmt.target, []).append(stmt)
    for loop in ir.loops(grad.forward):
        for name, _ in loop.carried:
            makers.setdefault(name, []).append(None)

    def holds(stmt, found: set) -> bool:  # a size, or int arithmetic of ints
        return stmt is not None and (stmt.prim in ("dim", "length", "size", "ndim") or (
            stmt.prim in INT_STEPS and bool(stmt.args) and all(
                isinstance(a, ir.Num) and type(a.value) is int or
                isinstance(a, ir.Name) and a.id in found for a in stmt.args)))

    return _largest(set(makers), makers, holds)
