"""Emit: IR -> deterministic, standalone, PEP 8 Python source.

The output depends only on the IR (no timestamps, no absolute paths unless given, no hash
order), imports only `math` and only when used, and never imports adgen.  Layout of a
generated function: the forward statements the gradient needs, then one block per
differentiated forward statement, headed by a comment naming the user's line, then the return.
"""

from __future__ import annotations

import textwrap

from adgen import ir
from adgen.version import __version__
from adgen.rules import REGISTRY, substitute

# Python operator precedence, low to high.
_PREC_IFEXP, _PREC_CMP, _PREC_ADD, _PREC_MUL, _PREC_UNARY, _PREC_POW, _PREC_ATOM = 1, 5, 11, 12, 13, 14, 16
_BIN_PREC = {"+": _PREC_ADD, "-": _PREC_ADD, "*": _PREC_MUL, "/": _PREC_MUL, "**": _PREC_POW}
LABELLED_GATES = {"sigmoid": "sigmoid", "softplus": "softplus", "softplus1p": "softplus"}


def precedence(expr: ir.Expr) -> int:
    if isinstance(expr, ir.BinOp):
        return _BIN_PREC[expr.op]
    if isinstance(expr, ir.Neg):
        return _PREC_UNARY
    if isinstance(expr, ir.Num):
        return _PREC_UNARY if expr.text.startswith("-") else _PREC_ATOM
    if isinstance(expr, ir.Compare):
        return _PREC_CMP
    if isinstance(expr, ir.IfExp):
        return _PREC_IFEXP
    return _PREC_ATOM


def _wrap(expr: ir.Expr, minimum: int) -> str:
    text = to_source(expr)
    return f"({text})" if precedence(expr) < minimum else text


def to_source(expr: ir.Expr) -> str:
    """Python source for an expression, with only the parentheses its structure needs (the
    tree is printed exactly: `a + (b + c)` keeps its parentheses, as float `+` is not
    associative)."""
    if isinstance(expr, ir.Name):
        return expr.id
    if isinstance(expr, ir.Num):
        return expr.text
    if isinstance(expr, ir.Attr):
        return expr.dotted
    if isinstance(expr, ir.Neg):
        return "-" + _wrap(expr.operand, _PREC_UNARY)
    if isinstance(expr, ir.BinOp):
        p = _BIN_PREC[expr.op]
        if expr.op == "**":  # right-associative; the exponent may be a unary expression
            return f"{_wrap(expr.left, p + 1)} ** {_wrap(expr.right, _PREC_UNARY)}"
        return f"{_wrap(expr.left, p)} {expr.op} {_wrap(expr.right, p + 1)}"
    if isinstance(expr, ir.Call):
        return f"{expr.func}({', '.join(to_source(a) for a in expr.args)})"
    if isinstance(expr, ir.Compare):
        parts = [_wrap(expr.left, _PREC_CMP + 1)]
        for op, comp in zip(expr.ops, expr.comparators):
            parts += [op, _wrap(comp, _PREC_CMP + 1)]
        return " ".join(parts)
    if isinstance(expr, ir.IfExp):
        return (f"{_wrap(expr.body, _PREC_IFEXP + 1)} if {_wrap(expr.test, _PREC_IFEXP + 1)} "
                f"else {_wrap(expr.orelse, _PREC_IFEXP)}")
    raise TypeError(f"not an expression: {expr!r}")


def forward_expr(stmt: ir.Assign) -> ir.Expr:
    """The forward statement's right-hand side, from its rule's forward template."""
    inst = REGISTRY[stmt.prim].instance(len(stmt.args))
    return substitute(inst.forward, dict(zip(inst.slots, stmt.args)))


def forward_line(stmt: ir.Assign) -> str:
    return f"{stmt.target} = {to_source(forward_expr(stmt))}"


def comment_line(stmt: ir.Assign) -> str:
    """How a backward block names its forward statement: gates by name (`sigmoid(x)`)."""
    label = LABELLED_GATES.get(stmt.prim)
    if label:
        args = ", ".join(to_source(a) for a in stmt.args)
        return f"# line {stmt.pos.line}: {stmt.target} = {label}({args})"
    return f"# line {stmt.pos.line}: {forward_line(stmt)}"


def _grad_line(g: ir.GradAssign) -> str:
    text = to_source(g.expr)
    if g.accumulate:
        if isinstance(g.expr, ir.IfExp):
            text = f"({text})"
        return f"{g.target} += {text}"
    return f"{g.target} = {text}"


def _uses_math(exprs) -> bool:
    return any(
        (isinstance(node, ir.Call) and node.func.startswith("math."))
        or (isinstance(node, ir.Attr) and node.dotted.startswith("math."))
        for expr in exprs for node in ir.walk(expr)
    )


def _all_exprs(grad: ir.Gradient):
    for stmt in grad.forward:
        yield forward_expr(stmt)
    for block in grad.blocks:
        for g in block.stmts:
            yield g.expr


def function_name(grad: ir.Gradient, value_and_grad: bool) -> str:
    return f"{grad.function.name}_{'value_and_grad' if value_and_grad else 'grad'}"


MAX_LINE = 79


def wrap_items(head: str, items: list[str], tail: str, indent: str = "") -> list[str]:
    """`head(item, item, ...)tail`, broken after commas when it would exceed the line length:
    aligned under the opening parenthesis if that fits, else with a hanging indent."""
    line = f"{indent}{head}({', '.join(items)}){tail}"
    if len(line) <= MAX_LINE or not items:
        return [line]
    visual = _pack(items, f"{indent}{head}(", " " * len(f"{indent}{head}("), f"){tail}")
    if all(len(row) <= MAX_LINE for row in visual):
        return visual
    return [f"{indent}{head}("] + _pack(items, indent + " " * 8, indent + " " * 8, f"){tail}")


def _pack(items: list[str], first: str, rest: str, close: str) -> list[str]:
    """Items separated by commas, greedily filling lines that start with `first`, then
    `rest`; `close` ends the last."""
    rows, current = [], first
    for i, item in enumerate(items):
        piece = item + ("," if i < len(items) - 1 else close)
        if current not in (first, rest) and len(current) + 1 + len(piece) > MAX_LINE:
            rows.append(current)
            current = rest
        current += ("" if current in (first, rest) else " ") + piece
    return rows + [current]


def fit(line: str, indent: str = "    ") -> list[str]:
    """One body line, wrapped to the line length: a trailing comment moves above the
    statement, a long comment continues on `#` lines, and a long right-hand side is put in
    parentheses and broken at its top-level spaces (between operators and operands, never
    inside a nested bracket), continuation lines aligned under the parenthesis (PEP 8)."""
    if len(indent) + len(line) <= MAX_LINE:
        return [indent + line]
    if line.startswith("#"):
        return textwrap.wrap(line[1:].strip(), MAX_LINE, initial_indent=indent + "# ",
                             subsequent_indent=indent + "#     ", break_long_words=False)
    code, _, comment = line.partition("  # ")
    if comment:
        return fit("# " + comment, indent) + fit(code, indent)
    target, op, rhs = code.partition(" = " if " = " in code.split("(")[0] else " += ")
    head = f"{indent}{target}{op}("
    lines, current = [], head
    for chunk in _top_level_chunks(rhs + ")"):
        if current not in (head, " " * len(head)) and len(current) + 1 + len(chunk) > MAX_LINE:
            lines.append(current)
            current = " " * len(head)
        current += ("" if current in (head, " " * len(head)) else " ") + chunk
    return lines + [current]


def _top_level_chunks(text: str) -> list[str]:
    """`text` split at spaces outside brackets."""
    chunks, current, depth = [], "", 0
    for ch in text:
        depth += (ch in "([") - (ch in ")]")
        if ch == " " and depth == 0:
            chunks.append(current)
            current = ""
        else:
            current += ch
    return chunks + [current]


def _docstring(text: str, indent: str, first: str = "") -> list[str]:
    """A docstring paragraph wrapped to the line length; `first` opens its first line."""
    return textwrap.wrap(text, MAX_LINE, initial_indent=indent + first,
                         subsequent_indent=indent, break_on_hyphens=False)


def emit_function(grad: ir.Gradient, value_and_grad: bool = False) -> str:
    fn = grad.function
    params = [p.name if p.default is None else f"{p.name}={p.default}" for p in fn.params]
    params.append(f"{grad.seed}=1.0")
    wrt_text = ", ".join(grad.wrt) if grad.wrt else "nothing"
    doc_kind = "Value and gradient" if value_and_grad else "Gradient"
    output = fn.output.id if isinstance(fn.output, ir.Name) else fn.output_stem
    summary = (f"{doc_kind} of {fn.name}({', '.join(p.name for p in fn.params)}) with respect "
               f"to {wrt_text}.")
    lines = wrap_items(f"def {function_name(grad, value_and_grad)}", params, ":")
    lines += _docstring(summary, "    ", '"""') + [""] + _docstring(
        f"{grad.seed} is the upstream gradient of the output {output}.", "    ") + ['    """']
    body = [forward_line(stmt) for stmt in grad.forward]
    for block in grad.blocks:
        body.append(comment_line(block.origin))
        body.extend(_grad_line(g) for g in block.stmts)
    for zero in grad.zeros:
        body.append(f"{zero} = 0.0  # no differentiable path to the output")
    for line in body:
        lines.extend(fit(line))
    results = [grad.grad_names[p] for p in grad.wrt]
    if grad.single:
        returned = [results[0]]
    elif len(results) == 1:
        returned = [f"({results[0]},)"]
    else:
        returned = results
    if value_and_grad:
        grads_text = returned[0] if len(returned) == 1 else None
        if grads_text is None:
            lines += wrap_items(f"return {output}, ", returned, "", "    ")
        else:
            lines.append(f"    return {output}, {grads_text}")
    elif len(returned) > 1:
        flat = "    return " + ", ".join(returned)
        lines += [flat] if len(flat) <= MAX_LINE else wrap_items("return ", returned, "", "    ")
    else:
        lines.append(f"    return {returned[0] if returned else '()'}")
    return "\n".join(lines) + "\n"


def emit_module(grads: list[ir.Gradient], *, source_path: str, command: str,
                value_and_grad: bool = False) -> str:
    """A whole generated module: header, imports, constants, one function per gradient."""
    names = ", ".join(function_name(g, False) for g in grads)
    header = _docstring(f"Backward passes generated by adgen {__version__} from "
                        f"{source_path}: {names}.", "", '"""')
    header += ["", "Do not edit: regenerate with", "", f"    {command}", '"""']
    exprs = [e for g in grads for e in _all_exprs(g)]
    consts: dict[str, ir.ModuleConst] = {}
    for g in grads:
        for c in g.function.consts:
            consts.setdefault(c.name, c)
    parts = ["\n".join(header) + "\n"]
    if _uses_math(exprs):
        parts.append("import math\n")
    if consts:
        parts.append("".join(f"{c.name} = {c.text}\n" for c in consts.values()))
    for g in grads:
        parts.append("\n" + emit_function(g, value_and_grad=False))
        if value_and_grad:
            parts.append("\n" + emit_function(g, value_and_grad=True))
    return "\n".join(parts)
