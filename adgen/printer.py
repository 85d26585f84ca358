"""Printing: IR expressions as Python source, and lines laid out within 79 columns.

`to_source` prints an expression with only the parentheses its tree needs (never
re-associating `a + (b + c)`: float addition is not associative); `fit` and `wrap_items`
break long lines as PEP 8 asks (a trailing comment above its statement, a long right-hand
side in parentheses broken at its top-level operators, arguments aligned under the
parenthesis); the docstring helpers wrap text.
"""

from __future__ import annotations

import textwrap

from adgen import ir

# Python operator precedence, low to high.
_PREC_IFEXP, _PREC_CMP, _PREC_ADD, _PREC_MUL, _PREC_UNARY, _PREC_POW, _PREC_ATOM = 1, 5, 11, 12, 13, 14, 16


PREC_ADD = _PREC_ADD
_BIN_PREC = {"+": _PREC_ADD, "-": _PREC_ADD, "*": _PREC_MUL, "/": _PREC_MUL, "@": _PREC_MUL,
             "//": _PREC_MUL, "%": _PREC_MUL, "**": _PREC_POW}


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


def bracketed(expr: ir.Expr, minimum: int) -> str:
    """`expr` as source, in parentheses if it binds less tightly than `minimum`."""
    return _wrap(expr, minimum)


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
        return f"{expr.func}({arguments(expr.args, expr.kwargs)})"
    if isinstance(expr, ir.Method):
        return f"{_wrap(expr.obj, _PREC_ATOM)}.{expr.name}({arguments(expr.args, expr.kwargs)})"
    if isinstance(expr, ir.Field):
        return f"{_wrap(expr.obj, _PREC_ATOM)}.{expr.name}"
    if isinstance(expr, ir.Lit):
        return expr.text
    if isinstance(expr, ir.Tuple):
        items = [to_source(e) for e in expr.items]
        if expr.brackets:
            return f"[{', '.join(items)}]"
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    if isinstance(expr, ir.Index):
        return f"{_wrap(expr.obj, _PREC_ATOM)}[{index_source(expr.item)}]"
    if isinstance(expr, ir.Slice):
        parts = ["" if p is None else to_source(p) for p in (expr.lower, expr.upper, expr.step)]
        return ":".join(parts[:2] if expr.step is None else parts)
    if isinstance(expr, ir.Compare):
        parts = [_wrap(expr.left, _PREC_CMP + 1)]
        for op, comp in zip(expr.ops, expr.comparators):
            parts += [op, _wrap(comp, _PREC_CMP + 1)]
        return " ".join(parts)
    if isinstance(expr, ir.IfExp):
        return (f"{_wrap(expr.body, _PREC_IFEXP + 1)} if {_wrap(expr.test, _PREC_IFEXP + 1)} "
                f"else {_wrap(expr.orelse, _PREC_IFEXP)}")
    raise TypeError(f"not an expression: {expr!r}")


def index_source(item: ir.Expr) -> str:
    """What goes between the brackets: a tuple without its parentheses."""
    if isinstance(item, ir.Tuple) and len(item.items) > 1:
        return ", ".join(to_source(i) for i in item.items)
    return to_source(item)


def arguments(args, kwargs) -> str:
    return ", ".join([to_source(a) for a in args] + [f"{k}={to_source(v)}" for k, v in kwargs])


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


def pack_words(conditions: list[str], first: str, rest: str, close: str) -> list[str]:
    rows, current = [], first
    for i, cond in enumerate(conditions):
        piece = ("" if i == 0 else "or ") + cond + (close if i == len(conditions) - 1 else "")
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
    if len(_top_level_chunks(rhs)) == 1 and rhs.startswith("(") and rhs.endswith(")") \
            and len(_top_level_chunks(rhs[1:-1])) > 1 and _closes_at_end(rhs):
        rhs = rhs[1:-1]  # `d += (a if c else b)`: broken inside its own parentheses
    elif len(_top_level_chunks(rhs)) == 1:
        return _fit_call(line, indent)
    head = f"{indent}{target}{op}("
    lines, current = [], head
    for chunk in _top_level_chunks(rhs + ")"):
        if current not in (head, " " * len(head)) and len(current) + 1 + len(chunk) > MAX_LINE:
            lines.append(current)
            current = " " * len(head)
        current += ("" if current in (head, " " * len(head)) else " ") + chunk
    return [row for line in lines + [current] for row in _break_inside(line)]


def _closes_at_end(text: str) -> bool:
    """Whether the bracket opening `text` is the one closing it."""
    depth = 0
    for i, ch in enumerate(text):
        depth += (ch in "([") - (ch in ")]")
        if depth == 0:
            return i == len(text) - 1
    return False


def _break_inside(line: str) -> list[str]:
    """A continuation line still too long: broken at the spaces inside its first bracketed
    group, aligned under that bracket (as it is if that does not help)."""
    if len(line) <= MAX_LINE:
        return [line]
    start = next((i for i, ch in enumerate(line) if ch in "(["), None)
    if start is None:
        return [line]
    rows, current, depth = [], line[:start + 1], 0
    pad = " " * (start + 1)
    word = ""
    for ch in line[start + 1:]:
        depth += (ch in "([") - (ch in ")]")
        if ch == " " and depth == 0:
            if current.strip() and len(current) + len(word) > MAX_LINE and current != pad:
                rows.append(current.rstrip())
                current = pad
            current += word + " "
            word = ""
        else:
            word += ch
    if len(current) + len(word) > MAX_LINE and current.strip() and current != pad:
        rows.append(current.rstrip())
        current = pad
    rows.append(current + word)
    return rows if len(rows) > 1 else [line]


def _fit_call(line: str, indent: str) -> list[str]:
    """A line whose right-hand side is one call, `d = f(a, g(b), c)`, broken between the
    call's arguments and aligned under its parenthesis; as it is if that does not help."""
    open_at = line.find("(")
    assign = line.find(" = ")
    if line.endswith("]") and "'" not in line and '"' not in line and assign > 0 and \
            "[" not in line[:assign] and (open_at < 0 or line.find("[") < open_at):
        return _fit_subscript(line, indent)
    if open_at < 0 or not line.endswith(")"):
        return [indent + line]
    args, current, depth, quote = [], "", 0, None
    for ch in line[open_at + 1:-1]:
        if quote is None and ch in "'\"":
            quote = ch  # inside a string literal (np.einsum's 'ij,jk->ik'): no break
        elif ch == quote:
            quote = None
        depth += (ch in "([") - (ch in ")]") if quote is None else 0
        if ch == "," and depth == 0 and quote is None:
            args.append(current.strip())
            current = ""
        else:
            current += ch
    args.append(current.strip())
    if len(args) < 2:
        return [indent + line]
    head = indent + line[:open_at + 1]
    return _pack(args, head, " " * len(head), ")")


def _fit_subscript(line: str, indent: str) -> list[str]:
    """`d = g[:, a + b:a + b + c]` (a concatenation's gradient), broken at the spaces inside
    its brackets (Python continues the line there), aligned under the bracket."""
    open_at = line.find("[")
    head = indent + line[:open_at + 1]
    rows, current = [], head
    for word in line[open_at + 1:].split(" "):
        if current not in (head, " " * len(head)) and len(current) + 1 + len(word) > MAX_LINE:
            rows.append(current)
            current = " " * len(head)
        current += ("" if current in (head, " " * len(head)) else " ") + word
    return rows + [current]


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


def closed_docstring(text: str) -> list[str]:
    """A one-paragraph function docstring, quotes included, within the line length."""
    lines = textwrap.wrap(text, MAX_LINE - 3, initial_indent='    """',
                          subsequent_indent="    ", break_on_hyphens=False)
    lines[-1] += '"""'
    return lines


def docstring_lines(text: str, indent: str, first: str = "") -> list[str]:
    """A docstring paragraph wrapped to the line length; `first` opens its first line."""
    return textwrap.wrap(text, MAX_LINE, initial_indent=indent + first,
                         subsequent_indent=indent, break_on_hyphens=False)
