"""Positions of libcst nodes, fast: from Python's own parser, by walking both trees together.

libcst's `PositionProvider` regenerates the code of the whole module to find positions, which
costs more than parsing itself (about 0.3 s for a 1,000-statement function).  Python's `ast`
records positions while parsing, almost for free, and for the constructs adgen compiles the
two trees correspond node for node: statements one to one (after flattening `a = 1; b = 2`),
and `BinaryOperation`/`BinOp`, `UnaryOperation`/`UnaryOp`, `Call`, `Attribute`, `Name`,
numbers/`Constant`, tuples.  `map_positions` walks them together and records where each libcst
node starts; nodes it cannot pair are simply left out, and the caller falls back to libcst's
exact provider for them (diagnostics always use the exact provider).  Columns are converted
from ast's UTF-8 byte offsets to characters.
"""

from __future__ import annotations

import ast
from typing import Callable, Optional

import libcst as cst

from adgen import ir

Record = Callable[[cst.CSTNode, ast.AST], None]


def map_positions(module: cst.Module, tree: ast.Module, lines: list[str]) -> dict[cst.CSTNode, ir.Pos]:
    """Start positions (1-based line and column) of the libcst nodes paired with ast nodes."""
    found: dict[cst.CSTNode, ir.Pos] = {}

    def record(node: cst.CSTNode, twin: ast.AST) -> None:
        line = twin.lineno
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        # ast counts bytes of UTF-8, libcst characters: the same on an ASCII line
        col = twin.col_offset if text.isascii() else \
            len(text.encode("utf-8")[:twin.col_offset].decode("utf-8", "replace"))
        found[node] = ir.Pos(line, col + 1)

    _statements(module.body, tree.body, record)
    return found


def _flatten(body) -> list[cst.CSTNode]:
    flat: list[cst.CSTNode] = []
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine):
            flat.extend(stmt.body)
        else:
            flat.append(stmt)
    return flat


def _suite(suite: cst.BaseSuite) -> list[cst.CSTNode]:
    if isinstance(suite, cst.IndentedBlock):
        return _flatten(suite.body)
    return list(suite.body)


def _statements(body, twins: list[ast.stmt], record: Record) -> None:
    flat = _flatten(body)
    if len(flat) != len(twins):
        return
    for node, twin in zip(flat, twins):
        _statement(node, twin, record)


def _statement(node: cst.CSTNode, twin: ast.stmt, record: Record) -> None:
    record(node, twin)
    if isinstance(node, cst.FunctionDef) and isinstance(twin, (ast.FunctionDef,
                                                               ast.AsyncFunctionDef)):
        for dec, twin_dec in zip(node.decorators, twin.decorator_list):
            record(dec, twin_dec)
            _expression(dec.decorator, twin_dec, record)
        params = list(node.params.posonly_params) + list(node.params.params) + \
            list(node.params.kwonly_params)
        twin_params = list(twin.args.posonlyargs) + list(twin.args.args) + \
            list(twin.args.kwonlyargs)
        if len(params) == len(twin_params):
            for p, tp in zip(params, twin_params):
                record(p, tp)
                record(p.name, tp)
        body = _suite(node.body)
        if len(body) == len(twin.body):
            for child, twin_child in zip(body, twin.body):
                _statement(child, twin_child, record)
    elif isinstance(node, cst.Assign) and isinstance(twin, ast.Assign):
        for target, twin_target in zip(node.targets, twin.targets):
            _expression(target.target, twin_target, record)
        _expression(node.value, twin.value, record)
    elif isinstance(node, cst.AugAssign) and isinstance(twin, ast.AugAssign):
        _expression(node.target, twin.target, record)
        _expression(node.value, twin.value, record)
    elif isinstance(node, cst.AnnAssign) and isinstance(twin, ast.AnnAssign):
        _expression(node.target, twin.target, record)
        if node.value is not None and twin.value is not None:
            _expression(node.value, twin.value, record)
    elif isinstance(node, (cst.Return, cst.Expr)) and isinstance(twin, (ast.Return, ast.Expr)):
        if node.value is not None and twin.value is not None:
            _expression(node.value, twin.value, record)
    elif isinstance(node, (cst.If, cst.While)) and isinstance(twin, (ast.If, ast.While)):
        _expression(node.test, twin.test, record)
        _blocks(node, twin, record)
    elif isinstance(node, cst.For) and isinstance(twin, ast.For):
        _expression(node.target, twin.target, record)
        _expression(node.iter, twin.iter, record)
        _blocks(node, twin, record)


def _blocks(node: cst.If | cst.For | cst.While, twin: ast.If | ast.For | ast.While,
            record: Record) -> None:
    """The body and the `else` (or `elif`, a nested `if`) of a compound statement."""
    body = _suite(node.body)
    if len(body) == len(twin.body):
        for child, twin_child in zip(body, twin.body):
            _statement(child, twin_child, record)
    orelse = node.orelse
    if isinstance(orelse, cst.If):  # elif: ast nests it as the only statement of orelse
        if len(twin.orelse) == 1:
            _statement(orelse, twin.orelse[0], record)
    elif isinstance(orelse, cst.Else):
        rest = _suite(orelse.body)
        if len(rest) == len(twin.orelse):
            for child, twin_child in zip(rest, twin.orelse):
                _statement(child, twin_child, record)


def _index(node: cst.BaseSlice, twin: ast.expr, record: Record) -> None:
    """One element of a subscript: an index, or a slice's bounds."""
    if isinstance(node, cst.Index) and not isinstance(twin, ast.Slice):
        _expression(node.value, twin, record)
    elif isinstance(node, cst.Slice) and isinstance(twin, ast.Slice):
        for bound, twin_bound in ((node.lower, twin.lower), (node.upper, twin.upper),
                                  (node.step, twin.step)):
            if bound is not None:
                _expression(bound, twin_bound, record)


def _expression(node: cst.BaseExpression, twin: Optional[ast.expr], record: Record) -> None:
    if twin is None:
        return
    if isinstance(node, cst.BinaryOperation) and isinstance(twin, ast.BinOp):
        record(node, twin)
        _expression(node.left, twin.left, record)
        _expression(node.right, twin.right, record)
    elif isinstance(node, cst.UnaryOperation) and isinstance(twin, ast.UnaryOp):
        record(node, twin)
        _expression(node.expression, twin.operand, record)
    elif isinstance(node, cst.Call) and isinstance(twin, ast.Call):
        record(node, twin)
        _expression(node.func, twin.func, record)
        positional = [a for a in node.args if a.keyword is None]
        if len(positional) == len(twin.args) and not any(a.star for a in node.args):
            for arg, twin_arg in zip(positional, twin.args):
                _expression(arg.value, twin_arg, record)
            keywords = {k.arg: k.value for k in twin.keywords}
            for arg in node.args:
                if arg.keyword is not None:
                    _expression(arg.value, keywords.get(arg.keyword.value), record)
    elif isinstance(node, cst.Comparison) and isinstance(twin, ast.Compare) and \
            len(node.comparisons) == len(twin.comparators):
        record(node, twin)
        _expression(node.left, twin.left, record)
        for target, twin_right in zip(node.comparisons, twin.comparators):
            _expression(target.comparator, twin_right, record)
    elif isinstance(node, cst.IfExp) and isinstance(twin, ast.IfExp):
        record(node, twin)
        _expression(node.test, twin.test, record)
        _expression(node.body, twin.body, record)
        _expression(node.orelse, twin.orelse, record)
    elif isinstance(node, cst.Subscript) and isinstance(twin, ast.Subscript):
        record(node, twin)
        _expression(node.value, twin.value, record)
        parts = twin.slice.elts if isinstance(twin.slice, ast.Tuple) and len(node.slice) > 1 \
            else [twin.slice]
        if len(parts) == len(node.slice):
            for element, part in zip(node.slice, parts):
                _index(element.slice, part, record)
    elif isinstance(node, cst.Attribute) and isinstance(twin, ast.Attribute):
        record(node, twin)
        _expression(node.value, twin.value, record)
    elif isinstance(node, (cst.Name, cst.Integer, cst.Float)) and \
            isinstance(twin, (ast.Name, ast.Constant)):
        record(node, twin)
    elif isinstance(node, (cst.Tuple, cst.List)) and isinstance(twin, (ast.Tuple, ast.List)) \
            and not node.lpar and len(node.elements) == len(twin.elts):
        record(node, twin)
        for el, twin_el in zip(node.elements, twin.elts):
            if not isinstance(el, cst.StarredElement):
                _expression(el.value, twin_el, record)
