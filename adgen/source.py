"""Parse: source text -> libcst module, node positions, and the module-level scope.

The scope records what a function may refer to without executing anything: imports (`import
math as m`, `from math import exp`), numeric constants (`EPS = 1e-8`, evaluated from their
literal text), and top-level functions.  Names bound at module level to anything else are
remembered too, so a function that reads one gets a precise diagnostic.
"""

from __future__ import annotations

import ast
import dataclasses
import io
import math
import operator
import tokenize
import unicodedata
from typing import NamedTuple, Optional

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from adgen import ir
from adgen.diagnostics import AdgenError, Diagnostic
from adgen.positions import map_positions


@dataclasses.dataclass
class ModuleScope:
    """Module-level bindings visible to the functions of one file."""

    modules: dict[str, str] = dataclasses.field(default_factory=dict)  # alias -> module
    imported: dict[str, str] = dataclasses.field(default_factory=dict)  # alias -> "math.exp"
    consts: dict[str, ir.ModuleConst] = dataclasses.field(default_factory=dict)
    others: dict[str, ir.Pos] = dataclasses.field(default_factory=dict)  # non-constant bindings
    functions: dict[str, cst.FunctionDef] = dataclasses.field(default_factory=dict)

    def qualify(self, node: cst.BaseExpression) -> Optional[str]:
        """The qualified name a Name/Attribute refers to: `m.exp` -> "math.exp", `exp` ->
        "math.exp" after `from math import exp`; builtins stay bare; None if not a dotted name."""
        if isinstance(node, cst.Name):
            if node.value in self.imported:
                return self.imported[node.value]
            if node.value in self.modules:
                return self.modules[node.value]
            return node.value
        if isinstance(node, cst.Attribute):
            base = self.qualify(node.value)
            return None if base is None else f"{base}.{node.attr.value}"
        return None


class ParsedModule:
    """A parsed file: its path, text, libcst tree, positions and module scope."""

    def __init__(self, path: str, text: str):
        self.path = path
        text = normalize_identifiers(text)
        self.text = text
        self.lines = text.splitlines()
        try:
            self.module = cst.parse_module(text)
        except cst.ParserSyntaxError as exc:
            raise AdgenError([self._syntax_error(exc)]) from None
        try:
            self._tree: Optional[ast.Module] = ast.parse(text)
            self._fast = map_positions(self.module, self._tree, self.lines)
        except (SyntaxError, ValueError):
            self._tree, self._fast = None, {}
        self._twins: Optional[dict[tuple[int, str], ast.AST]] = None
        self._exact = None
        self._functions: Optional[list[cst.FunctionDef]] = None
        self.scope = _collect_scope(self)
        self._modules: dict[str, Optional[ParsedModule]] = {}
        self.module_name: Optional[str] = None  # for a user module another file imports

    def user_function(self, dotted: Optional[str]) -> Optional[tuple["ParsedModule", str]]:
        """A function of a user module this file imports (`from mylib import sig`, or
        `mylib.sig`): the parsed module that defines it and its name; None if the name is
        not one.  User modules are found, without importing them, beside this file or on
        sys.path, outside the standard library and installed packages."""
        if not dotted or "." not in dotted:
            return None
        module, _, name = dotted.rpartition(".")
        if module.split(".")[0] in ("math", "numpy", "builtins"):
            return None
        if module not in self._modules:
            self._modules[module] = _parse_user_module(module, self.path)
        parsed = self._modules[module]
        if parsed is None or name not in parsed.scope.functions:
            return None
        return parsed, name

    def _syntax_error(self, exc: cst.ParserSyntaxError) -> Diagnostic:
        """Python's own parser gives the more precise position and message; libcst's are the
        fallback (for code Python accepts but libcst does not)."""
        line, col, message = exc.raw_line, exc.raw_column + 1, exc.message
        try:
            ast.parse(self.text)
        except SyntaxError as py:
            line, col, message = py.lineno or line, py.offset or col, py.msg or message
        return Diagnostic("AD100", f"syntax error: {message}", self.path, line, col,
                          source_line=self.line_text(line),
                          help="adgen reads the file as Python source; fix the syntax first")

    def pos(self, node: cst.CSTNode) -> ir.Pos:
        """Where a node starts: from the fast ast-paired map, else libcst's exact provider."""
        found = self._fast.get(node)
        return found if found is not None else self.exact_pos(node)

    def twin(self, fn: cst.FunctionDef) -> Optional[ast.FunctionDef]:
        """Python's own tree of a function (cheap to walk, unlike libcst's), or None if it
        cannot be paired: for quick questions such as "does it call anything?"."""
        found = self._fast.get(fn)
        if found is None or self._tree is None:
            return None
        if self._twins is None:  # functions are statements: only statements are walked
            self._twins = {}
            pending: list[ast.AST] = [self._tree]
            while pending:
                node = pending.pop()
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    self._twins[(node.lineno, node.name)] = node
                for field in node._fields:
                    value = getattr(node, field, None)
                    if isinstance(value, list):
                        pending.extend(v for v in value if isinstance(v, _BLOCK_PARTS))
        return self._twins.get((found.line, fn.name.value))

    def outline(self, fn: cst.FunctionDef) -> Optional["Outline"]:
        """What several stages ask of a function before walking its libcst tree, from one
        walk of Python's own tree of it (remembered per node); None if it has no twin."""
        cache = self.__dict__.setdefault("_outlines", {})
        hit = cache.get(id(fn))
        if hit is not None and hit[0] is fn:
            return hit[1]
        twin = self.twin(fn)
        found = None if twin is None else _outline(twin)
        cache[id(fn)] = (fn, found)
        return found

    def exact_pos(self, node: cst.CSTNode) -> ir.Pos:
        """libcst's own position (resolved once, on first use: it costs a whole codegen)."""
        if self._exact is None:
            wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
            self._exact = wrapper.resolve(PositionProvider)
        start = self._exact[node].start
        return ir.Pos(start.line, start.column + 1)

    def span(self, node: cst.CSTNode) -> tuple[ir.Pos, ir.Pos]:
        """Where a node starts and ends (libcst's exact provider)."""
        self.exact_pos(node)
        found = self._exact[node]
        return (ir.Pos(found.start.line, found.start.column + 1),
                ir.Pos(found.end.line, found.end.column + 1))

    def line_text(self, line: int) -> str:
        return self.lines[line - 1] if 0 < line <= len(self.lines) else ""

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)

    def diagnostic(self, code: str, node: cst.CSTNode, message: str, help: str = "") -> Diagnostic:
        # the fast position where there is one (tests/test_positions.py: the same), except a
        # decorator's, where ast points after the '@'
        pos = self.exact_pos(node) if isinstance(node, cst.Decorator) else self.pos(node)
        return Diagnostic(code, message, self.path, pos.line, pos.col, help=help,
                          source_line=self.line_text(pos.line))

    def find_functions(self) -> list[cst.FunctionDef]:
        """Every function definition in the file, nested ones included, in source order
        (found once per parsed file: the library API asks for every function it compiles).
        Only statements can hold a definition, so only blocks are walked, not expressions."""
        if self._functions is None:
            found: list[cst.FunctionDef] = []
            pending: list[cst.CSTNode] = [self.module]
            while pending:
                node = pending.pop()
                if isinstance(node, cst.FunctionDef):
                    found.append(node)
                pending.extend(reversed([child for child in node.children
                                         if isinstance(child, _HOLDS_STATEMENTS)]))
            self._functions = found
        return self._functions


_HOLDS_STATEMENTS = (cst.BaseCompoundStatement, cst.BaseSuite, cst.ExceptHandler,
                     cst.ExceptStarHandler, cst.Else, cst.Finally, cst.MatchCase)


class Outline(NamedTuple):
    """Names in a function's ast: those it calls as `f(...)` (`names`) and as `x.f(...)`
    (`attributes`), those it indexes or reads an attribute of (`p[...]`, `p.a`:
    `accessed`), those it unpacks (`a, b = p`: `unpacked`), and those it compares with a
    string (`activation == "relu"`: `compared`)."""

    names: frozenset
    attributes: frozenset
    accessed: frozenset
    unpacked: frozenset
    compared: frozenset


_BLOCK_PARTS = (ast.stmt, ast.excepthandler, ast.match_case)


def _outline(tree: ast.AST) -> Outline:
    names, attributes, accessed, unpacked, compared = set(), set(), set(), set(), set()
    pending = [tree]
    AST, Call, Name, Attribute, Subscript, Assign, Compare = \
        ast.AST, ast.Call, ast.Name, ast.Attribute, ast.Subscript, ast.Assign, ast.Compare
    while pending:
        node = pending.pop()
        kind = type(node)  # ast.parse builds exactly these classes: a type test will do
        if kind is Call:
            func = type(node.func)
            if func is Name:
                names.add(node.func.id)
            elif func is Attribute:
                attributes.add(node.func.attr)
        elif kind is Subscript or kind is Attribute:
            if type(node.value) is Name:
                accessed.add(node.value.id)
        elif kind is Assign:
            if type(node.value) is Name and isinstance(node.targets[0], (ast.Tuple, ast.List)):
                unpacked.add(node.value.id)
        elif kind is Compare and len(node.ops) == 1:
            sides = (node.left, node.comparators[0])
            for side, other in (sides, sides[::-1]):
                if type(side) is Name and type(other) is ast.Constant and \
                        isinstance(other.value, str):
                    compared.add(side.id)
        for field in node._fields:
            value = getattr(node, field, None)
            if isinstance(value, list):
                pending.extend(v for v in value if isinstance(v, AST))
            elif isinstance(value, AST):
                pending.append(value)
    return Outline(frozenset(names), frozenset(attributes), frozenset(accessed),
                   frozenset(unpacked), frozenset(compared))


# ---------------------------------------------------------------- constants

_BINARY = {
    cst.Add: operator.add, cst.Subtract: operator.sub, cst.Multiply: operator.mul,
    cst.Divide: operator.truediv, cst.Power: operator.pow,
}
MATH_CONSTANTS = {"math.pi": math.pi, "math.e": math.e, "math.tau": math.tau,
                  "math.inf": math.inf, "numpy.pi": math.pi, "numpy.e": math.e,
                  "numpy.inf": math.inf}


def normalize_identifiers(text: str) -> str:
    """The source with every identifier in NFKC form, as Python reads it (PEP 3131): `ｘ`
    (fullwidth) and `x` are the same variable, and so are `ﬁ` and `fi`.  Only names change
    (strings and comments stay as written); lines stay where they are."""
    if text.isascii():
        return text
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return text  # the parser reports the syntax error
    lines = text.splitlines(keepends=True)
    changes = [(tok.start, tok.end, unicodedata.normalize("NFKC", tok.string)) for tok in tokens
               if tok.type == tokenize.NAME and not tok.string.isascii()
               and unicodedata.normalize("NFKC", tok.string) != tok.string]
    for (row, start), (_, end), name in reversed(changes):  # right to left keeps columns
        line = lines[row - 1]
        lines[row - 1] = line[:start] + name + line[end:]
    return "".join(lines)


def literal_value(node: cst.Integer | cst.Float) -> int | float:
    """The value of a numeric literal (libcst's `evaluated_value` compiles it with
    `ast.literal_eval`, a thousand times slower)."""
    text = node.value.replace("_", "")
    if isinstance(node, cst.Integer):
        return int(text, 0)
    return float(text)


def evaluate_constant(node: cst.BaseExpression, scope: ModuleScope) -> Optional[float]:
    """The value of a numeric constant expression (literals, + - * / **, math constants and
    functions, earlier module constants), or None if it is not one.  Nothing is executed."""
    try:
        value = _evaluate(node, scope)
    except (ArithmeticError, ValueError, TypeError):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


def _evaluate(node: cst.BaseExpression, scope: ModuleScope):
    if isinstance(node, (cst.Integer, cst.Float)):
        return literal_value(node)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
        value = _evaluate(node.expression, scope)
        return None if value is None else (-value if isinstance(node.operator, cst.Minus) else value)
    if isinstance(node, cst.BinaryOperation) and type(node.operator) in _BINARY:
        left, right = _evaluate(node.left, scope), _evaluate(node.right, scope)
        if left is None or right is None:
            return None
        return _BINARY[type(node.operator)](left, right)
    if isinstance(node, (cst.Name, cst.Attribute)):
        if isinstance(node, cst.Name) and node.value in scope.consts:
            return scope.consts[node.value].value
        return MATH_CONSTANTS.get(scope.qualify(node) or "")
    if isinstance(node, cst.Call) and not any(a.keyword or a.star for a in node.args):
        func = scope.qualify(node.func) or ""
        if func.startswith("math.") and callable(getattr(math, func[5:], None)):
            args = [_evaluate(a.value, scope) for a in node.args]
            if any(a is None for a in args):
                return None
            return getattr(math, func[5:])(*args)
    return None


def _is_literal(node: cst.BaseExpression) -> bool:
    """Numbers and arithmetic on numbers only: safe to copy verbatim into generated code."""
    if isinstance(node, (cst.Integer, cst.Float)):
        return True
    if isinstance(node, cst.UnaryOperation):
        return _is_literal(node.expression)
    if isinstance(node, cst.BinaryOperation):
        return _is_literal(node.left) and _is_literal(node.right)
    return False


def constant_text(node: cst.BaseExpression, value: float, parsed: ParsedModule) -> str:
    """How a constant is written in generated code: the user's text if it is plain literal
    arithmetic, else its value."""
    return parsed.code(node).strip() if _is_literal(node) else repr(value)


# ---------------------------------------------------------------- module scope


def _parse_user_module(module: str, importer: str) -> Optional[ParsedModule]:
    import importlib.machinery
    import os
    import sys
    import sysconfig

    here = os.path.dirname(os.path.abspath(importer))
    search = [here] + [p for p in sys.path if p]
    spec = None
    for i, part in enumerate(module.split(".")):
        spec = importlib.machinery.PathFinder.find_spec(part, search)
        if spec is None:
            return None
        search = list(spec.submodule_search_locations or [])
        if i < module.count(".") and not search:
            return None
    origin = spec.origin if spec is not None else None
    if not origin or not origin.endswith(".py"):
        return None
    installed = {os.path.realpath(sysconfig.get_paths()[k]) for k in
                 ("stdlib", "platstdlib", "purelib", "platlib")}
    real = os.path.realpath(origin)
    if any(real.startswith(root + os.sep) for root in installed):
        return None
    try:
        with open(origin, encoding="utf-8") as f:
            text = f.read()
        parsed = ParsedModule(os.path.relpath(origin) if not os.path.isabs(importer)
                              else origin, text)
        parsed.module_name = module
        return parsed
    except (OSError, UnicodeDecodeError, AdgenError):
        return None


def _collect_scope(parsed: ParsedModule) -> ModuleScope:
    scope = ModuleScope()
    for stmt in parsed.module.body:
        if isinstance(stmt, cst.FunctionDef):
            scope.functions[stmt.name.value] = stmt
            scope.others[stmt.name.value] = parsed.pos(stmt)
            continue
        if isinstance(stmt, cst.ClassDef):
            scope.others[stmt.name.value] = parsed.pos(stmt)
            continue
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            _bind_small(small, scope, parsed)
    return scope


def _bind_small(small: cst.BaseSmallStatement, scope: ModuleScope, parsed: ParsedModule) -> None:
    if isinstance(small, cst.Import):
        for alias in small.names:
            dotted = parsed.code(alias.name).strip()
            if alias.asname is not None:
                scope.modules[alias.asname.name.value] = dotted
            else:
                top = dotted.split(".")[0]
                scope.modules[top] = top
    elif isinstance(small, cst.ImportFrom) and small.module is not None and not small.relative:
        module = parsed.code(small.module).strip()
        if isinstance(small.names, cst.ImportStar):
            return
        for alias in small.names:
            name = alias.name.value if isinstance(alias.name, cst.Name) else parsed.code(alias.name)
            local = alias.asname.name.value if alias.asname is not None else name
            scope.imported[local] = f"{module}.{name}"
    elif isinstance(small, (cst.Assign, cst.AnnAssign)):
        targets = (
            [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
        )
        value = small.value
        for target in targets:
            if not isinstance(target, cst.Name):
                continue
            name = target.value
            scope.consts.pop(name, None)
            scope.others.pop(name, None)
            number = evaluate_constant(value, scope) if value is not None else None
            if number is None:
                scope.others[name] = parsed.pos(target)
            else:
                scope.consts[name] = ir.ModuleConst(
                    name, constant_text(value, number, parsed), float(number), parsed.pos(target)
                )
