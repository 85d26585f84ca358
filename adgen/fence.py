"""Fence: walk a whole function once and collect every construct adgen does not accept.

Nothing downstream guesses: the stager only ever sees functions the fence passed, and the fence
reports *all* problems in one go (each a `Diagnostic` with a stable code, the position of the
offending node, and what to do instead).  Scoping follows Python: a name assigned anywhere in
the function is local, so reading it before its assignment is an error even if a module
constant of the same name exists.
"""

from __future__ import annotations

import difflib
from typing import Optional

import libcst as cst

from adgen.children import children
from adgen.diagnostics import Diagnostic
from adgen.members import path_of
from adgen.naming import RUNTIME
from adgen.rules import REGISTRY
from adgen.source import MATH_CONSTANTS, ParsedModule, evaluate_constant
from adgen.multiresults import results_rule
from adgen.userrules import called_primitive, params_of, primitives_of
from adgen.staticargs import (is_newaxis, is_shape, is_value_attribute, joined_operands,
                              shape_index, static_value)

RESERVED_NAMES = frozenset({"math", "np", "numpy"})  # the modules: never a variable
VALUE_ATTRIBUTES = frozenset({"T"})
COMPARISONS = (cst.LessThan, cst.LessThanEqual, cst.GreaterThan, cst.GreaterThanEqual,
               cst.Equal, cst.NotEqual, cst.Is, cst.IsNot)
DECORATORS = frozenset({"adgen.differentiable", "adgen.api.differentiable", "adgen.primitive"})
AUG_OPERATORS = (cst.AddAssign, cst.SubtractAssign, cst.MultiplyAssign, cst.DivideAssign,
                 cst.PowerAssign, cst.FloorDivideAssign, cst.ModuloAssign)
BIN_OPERATORS = (cst.Add, cst.Subtract, cst.Multiply, cst.Divide, cst.Power,
                 cst.MatrixMultiply, cst.FloorDivide, cst.Modulo)

CONDITION_HELP = ("'and'/'or' are supported in the condition of an if, a while or a "
                  "conditional expression; elsewhere use masks: (a < b) * (b < c)")
LOOP_EXIT_HELP = ("leave the loop through its condition (while ...) or its range; break and "
                  "continue are not supported")
_STATEMENT_MESSAGES = {
    cst.Try: ("'try' statement", "remove the exception handling from the differentiated function"),
    cst.With: ("'with' statement", "move the context manager out of the differentiated function"),
    cst.ClassDef: ("class definition", "define classes outside the differentiated function"),
    cst.Global: ("'global' statement", "pass the value in as a parameter instead"),
    cst.Nonlocal: ("'nonlocal' statement", "pass the value in as a parameter instead"),
    cst.Import: ("import inside a function", "move the import to module level"),
    cst.ImportFrom: ("import inside a function", "move the import to module level"),
    cst.Del: ("'del' statement", "remove it; local variables need no deleting"),
}

_STRINGS_ARE_STATIC = ("strings are static values: dict keys (params['W1']), comparisons "
                       "(mode == 'train'), arguments; not operands of arithmetic")
_KEYS_ARE_CONSTANTS = ("strings are static values: write dict keys as constants "
                       "(params['W1'], params['W2'])")
_EXPRESSION_MESSAGES = {
    cst.Lambda: ("lambda", "write the computation inline or as a module-level constant"),
    cst.BooleanOperation: ("boolean operator", CONDITION_HELP),
    cst.Tuple: ("tuple", "tuples are only supported on both sides of an unpacking assignment"),
    cst.List: ("list", "pass scalars as separate parameters"),
    cst.Dict: ("dict", "pass scalars as separate parameters"),
    cst.Set: ("set", "pass scalars as separate parameters"),
    cst.ListComp: ("list comprehension", "write the sum out term by term"),
    cst.SetComp: ("set comprehension", "write the computation out term by term"),
    cst.DictComp: ("dict comprehension", "write the computation out term by term"),
    cst.GeneratorExp: ("generator expression", "write the sum out term by term"),
    cst.NamedExpr: ("assignment expression (:=)", "use a separate assignment statement"),
    cst.Await: ("'await'", "differentiate a plain (non-async) function"),
    cst.Yield: ("'yield'", "differentiate a plain function that returns its result"),
    cst.SimpleString: ("a string here", _STRINGS_ARE_STATIC),
    cst.ConcatenatedString: ("a string here", _STRINGS_ARE_STATIC),
    cst.FormattedString: ("an f-string (a string computed while the function runs)",
                          _KEYS_ARE_CONSTANTS),
    cst.Imaginary: ("complex constant", "adgen differentiates real-valued functions"),
    cst.Ellipsis: ("'...'", "only numeric constants are supported"),
}
_SIMPLE_EXPRESSIONS = (cst.Name, cst.Attribute, cst.Integer, cst.Float, cst.BinaryOperation,
                       cst.UnaryOperation, cst.Call, cst.Comparison, cst.Subscript, cst.IfExp,
                       cst.Tuple, cst.List, cst.Dict, cst.ListComp, cst.GeneratorExp)
# list methods that may stand as statements (hs.append(h)): the stager follows the list
LIST_METHODS = ("append", "extend")
# builtins over a container of values, written out by the stager: sum(hs), len(hs)
CONTAINER_FOLDS = ("sum", "numpy.prod", "math.prod")


_BINDING_EXPRESSIONS = (cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp,
                        cst.NamedExpr)


def _sub_expressions(node: cst.CSTNode):
    """The outermost expressions below `node` (through slices, arguments, elements...)."""
    for child in children(node):
        if isinstance(child, cst.BaseExpression):
            yield child
        else:
            yield from _sub_expressions(child)


def function_body(fn: cst.FunctionDef) -> list[cst.BaseStatement | cst.BaseSmallStatement]:
    """The function's statements, one-line suites (`def f(x): return x`) included."""
    if isinstance(fn.body, cst.IndentedBlock):
        return list(fn.body.body)
    return [cst.SimpleStatementLine(body=fn.body.body)]


def block_statements(suite: cst.BaseSuite) -> list[cst.CSTNode]:
    """The statements of a block, `a = 1; b = 2` split, compound statements as they are."""
    if isinstance(suite, cst.IndentedBlock):
        flat: list[cst.CSTNode] = []
        for stmt in suite.body:
            flat.extend(stmt.body if isinstance(stmt, cst.SimpleStatementLine) else [stmt])
        return flat
    return list(suite.body)


def returns_on_all_paths(stmts) -> bool:
    """Whether a block always ends in a return (through every branch of a final `if`)."""
    for stmt in stmts:
        if isinstance(stmt, cst.Return):
            return True
        if isinstance(stmt, cst.If) and returns_on_all_paths(block_statements(stmt.body)) \
                and returns_on_all_paths(else_statements(stmt)):
            return True
    return False


def may_return(stmts) -> bool:
    """Whether a block returns on some path."""
    for stmt in stmts:
        if isinstance(stmt, cst.Return):
            return True
        if isinstance(stmt, cst.If) and (may_return(block_statements(stmt.body))
                                         or may_return(else_statements(stmt))):
            return True
    return False


def may_exit(stmts, kinds=(cst.Continue, cst.Break)) -> bool:
    """Whether a loop body's block leaves the iteration on some path (continue, break),
    through its ifs (a nested loop's own exits do not count)."""
    for stmt in stmts:
        if isinstance(stmt, kinds):
            return True
        if isinstance(stmt, cst.If) and (may_exit(block_statements(stmt.body), kinds)
                                         or may_exit(else_statements(stmt), kinds)):
            return True
    return False


def else_statements(stmt: cst.If) -> list[cst.CSTNode]:
    """The statements of an `if`'s else path: an `elif` is an `if` alone in it."""
    if stmt.orelse is None:
        return []
    if isinstance(stmt.orelse, cst.If):
        return [stmt.orelse]
    return block_statements(stmt.orelse.body)


def small_statements(fn: cst.FunctionDef):
    """(statement, is_last) for every statement, compound statements included as they are."""
    stmts = function_body(fn)
    flat = []
    for stmt in stmts:
        if isinstance(stmt, cst.SimpleStatementLine):
            flat.extend(stmt.body)
        else:
            flat.append(stmt)
    return [(s, i == len(flat) - 1) for i, s in enumerate(flat)]


def assigned_names(fn: cst.FunctionDef) -> set[str]:
    """Every name the function assigns (so Python treats it as local), in nested blocks too."""
    return set(assigned_in(function_body(fn)))


def assigned_in(statements, subscripts: bool = False, in_place: bool = False) -> list[str]:
    """The names a block assigns, nested blocks and loop variables included, in the order
    of their first assignment in the source; with `subscripts`, also the arrays it assigns
    into (`hs[:, t, :] = h` gives the array a new value too); with `in_place`, only the
    names it may update in place (`z += y`, `z[0] = v`: an array changes in place)."""
    names: list[str] = []

    def targets(target: cst.BaseExpression, augmented: bool = False) -> list[str]:
        if (subscripts or in_place) and isinstance(target, cst.Subscript) and \
                isinstance(target.value, cst.Name):
            return [target.value.value]
        if in_place and not (augmented and isinstance(target, cst.Name)):
            return []
        return _ordered_targets(target)

    def visit(node: cst.CSTNode) -> None:
        if isinstance(node, cst.SimpleStatementLine):
            for small in node.body:
                visit(small)
            return
        if isinstance(node, cst.Assign):
            for target in node.targets:
                names.extend(targets(target.target))
        elif isinstance(node, (cst.AugAssign, cst.AnnAssign)):
            if not isinstance(node, cst.AnnAssign) or node.value is not None:
                names.extend(targets(node.target, isinstance(node, cst.AugAssign)))
        elif isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            if not in_place:
                names.append(node.name.value)
        elif isinstance(node, cst.BaseCompoundStatement):
            if isinstance(node, cst.For):
                names.extend(targets(node.target))
            for child in children(node):
                if isinstance(child, (cst.BaseSuite, cst.BaseStatement, cst.Else,
                                      cst.ExceptHandler, cst.Finally, cst.If)):
                    visit(child)
        elif isinstance(node, (cst.BaseSuite, cst.Else, cst.ExceptHandler, cst.Finally)):
            for child in children(node):
                visit(child)

    for stmt in statements:
        visit(stmt)
    return list(dict.fromkeys(names))


def _ordered_targets(target: cst.BaseExpression) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for el in target.elements for n in _ordered_targets(el.value)]
    return []


def called_functions(scope, node: cst.CSTNode) -> list[str]:
    """The functions of the same file a function calls directly, in order."""
    found: list[str] = []
    pending = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, cst.Call) and isinstance(current.func, cst.Name) \
                and current.func.value in scope.functions:
            found.append(current.func.value)
        pending.extend(reversed(children(current)))
    return list(dict.fromkeys(found))


def returns_cache(value) -> bool:
    """`return out, cache`: two values, the second named like a cache (`cache`,
    `fc_cache`) -- the CS231n layer convention (docs/structure.md)."""
    return isinstance(value, cst.Tuple) and len(value.elements) == 2 and \
        isinstance(value.elements[1], cst.Element) and \
        isinstance(value.elements[1].value, cst.Name) and \
        "cache" in value.elements[1].value.value.lower()


def _names_only(target) -> bool:
    """A name, or a tuple or list of names (nested): a loop's target."""
    if isinstance(target, cst.Name):
        return True
    return isinstance(target, (cst.Tuple, cst.List)) and all(
        isinstance(el, cst.Element) and _names_only(el.value) for el in target.elements)


def _name_nodes(target) -> list:
    if isinstance(target, cst.Name):
        return [target]
    return [n for el in target.elements for n in _name_nodes(el.value)]


def _target_names(target: cst.BaseExpression, into: set[str]) -> None:
    if isinstance(target, cst.Name):
        into.add(target.value)
    elif isinstance(target, (cst.Tuple, cst.List)):
        for el in target.elements:
            _target_names(el.value, into)


class _Known:
    """The names a function has defined so far or assigns anywhere, for `in` tests: the
    union of `fence.defined` and `fence.locals` without building it at every call site (the
    sets grow with the function, so building it made the fence quadratic)."""

    __slots__ = ("fence",)

    def __init__(self, fence: "Fence"):
        self.fence = fence

    def __contains__(self, name) -> bool:
        return name in self.fence.defined or name in self.fence.locals


class Fence:
    """Checks one function; `check()` returns the list of diagnostics (empty if accepted)."""

    def __init__(self, parsed: ParsedModule, fn: cst.FunctionDef,
                 calls: tuple[tuple[str, str], ...] = (), checked: Optional[set] = None,
                 enclosing: frozenset = frozenset()):
        self.parsed = parsed
        self.scope = parsed.scope
        self.fn = fn
        self.diagnostics: list[Diagnostic] = []
        self.params: set[str] = set()
        self.defined: set[str] = set(enclosing)  # a nested function reads its closure
        self.local_functions: set[str] = set()  # nested defs and lambdas, called inline
        self.locals = assigned_names(fn)
        self.known = _Known(self)  # defined or assigned somewhere: `name in self.known`
        self.unpacked: Optional[cst.Call] = None  # the call being unpacked: a, b = f(x)
        self.calls = calls + ((parsed.path, fn.name.value),)  # the calls that led here
        self.checked = checked if checked is not None else set()  # helpers already fenced
        self.callee = bool(calls)
        self.loop_depth = 0
        self.if_depth = 0
        self.maybe: dict[str, str] = {}  # names assigned on some paths only: why

    def report(self, code: str, node: cst.CSTNode, message: str, help: str = "") -> None:
        self.diagnostics.append(self.parsed.diagnostic(code, node, message, help))

    def check(self) -> list[Diagnostic]:
        if self.fn.asynchronous is not None:
            self.report("AD101", self.fn, "async function",
                        "differentiate a plain (non-async) function")
        for dec in self.fn.decorators:
            self.check_decorator(dec)
        self.check_params(self.fn.params)
        if self.fn.name.value in primitives_of(self.parsed):  # its code is not read
            self.check_backward(self.fn.name.value, self.parsed, self.fn.name)
            return self.diagnostics
        statements = [s for s, _ in small_statements(self.fn)]
        if not self.check_block(statements, first=True):
            self.report("AD104", self.fn.name, f"function '{self.fn.name.value}' does not end "
                        "with a return statement", "return the value to differentiate "
                        "(on every path through its branches)")
        return self.diagnostics

    def check_backward(self, name: str, parsed: ParsedModule, node: cst.CSTNode) -> None:
        """A primitive (@adgen.primitive) needs its backward declared."""
        if primitives_of(parsed)[name] is None:
            self.report("AD301", node, f"'{name}' is an @adgen.primitive with no backward",
                        f"declare it after the function: @{name}.backward, then def "
                        f"{name}_backward(g, out, <{name}'s parameters>) returning their "
                        "gradients (docs/rules.md#adding-your-own-rule)")

    def check_block(self, statements, first: bool = False) -> bool:
        """Check a block's statements in order; True if it returns on every path.  After an
        `if` a name counts as assigned if every path that goes on assigned it."""
        for index, stmt in enumerate(statements):
            if isinstance(stmt, cst.If):
                if self.check_if(stmt):
                    self.check_unreachable(statements[index + 1:])
                    return True
            elif isinstance(stmt, cst.For):
                self.check_for(stmt)
            elif isinstance(stmt, cst.While):
                self.check_while(stmt)
            elif self.check_statement(stmt, is_first=first and index == 0, is_last=True):
                self.check_unreachable(statements[index + 1:])
                return True
        return False

    def check_unreachable(self, rest) -> None:
        if rest:
            self.report("AD104", rest[0], "statement after a return, raise, break or "
                        "continue is never run", "remove it, or move it before")

    def check_if(self, stmt: cst.If) -> bool:
        self.check_condition(stmt.test)
        before = set(self.defined)
        self.if_depth += 1
        returns_body = self.check_block(block_statements(stmt.body))
        after_body = self.defined
        self.defined = set(before)
        returns_else = self.check_block(else_statements(stmt))
        self.if_depth -= 1
        after_else = self.defined
        if returns_body and returns_else:
            self.defined = before | after_body | after_else
        elif returns_body:
            self.defined = after_else
        elif returns_else:
            self.defined = after_body
        else:
            self.defined = after_body & after_else
            line = self.parsed.pos(stmt).line
            for name in (after_body | after_else) - self.defined:
                self.maybe[name] = f"only some paths through the if on line {line} assign it"
        for name in self.defined:
            self.maybe.pop(name, None)
        return returns_body and returns_else

    def check_condition(self, test: cst.BaseExpression) -> None:
        _ExpressionChecker(self).check_condition(test)

    def check_loop_body(self, stmt: cst.For | cst.While, targets: set[str]) -> None:
        if stmt.orelse is not None:
            self.report("AD101", stmt.orelse, "'else' clause of a loop is not supported",
                        "put the statements after the loop")
        before = set(self.defined)
        self.defined |= targets
        self.loop_depth += 1
        self.check_block(block_statements(stmt.body))
        self.loop_depth -= 1
        line = self.parsed.pos(stmt).line
        for name in self.defined - before:
            self.maybe[name] = (f"only the loop on line {line} assigns it, and it may run "
                                "zero times")
        self.defined = before  # the body may run zero times

    def check_for(self, stmt: cst.For) -> None:
        iterable, targets = stmt.iter, set()
        call = iterable if isinstance(iterable, cst.Call) else None
        callee = self.scope.qualify(call.func) if call is not None else None
        if callee in ("range", "enumerate") and not any(a.keyword or a.star for a in call.args):
            n = len(call.args)
            if (callee == "range" and not 1 <= n <= 3) or (callee == "enumerate" and n != 1):
                self.report("AD302", call, f"'{callee}' takes "
                            f"{'1 to 3 arguments' if callee == 'range' else '1 argument'} "
                            f"here, got {n}", "use range(stop), range(start, stop) or "
                            "range(start, stop, step), or enumerate(x)")
            for arg in call.args:
                self.check_iterable(arg.value)
        elif isinstance(iterable, (cst.Name, cst.Tuple, cst.List)) or (
                callee == "zip" and call.args and not any(a.keyword or a.star
                                                          for a in call.args)):
            self.check_iterable(iterable)  # an array, a list or tuple (written out), zip(...)
        else:
            self.report("AD101", iterable, "loop over this kind of iterable is not supported",
                        "loop over range(...), an array (its first axis), or enumerate(array)")
        target = stmt.target
        if not _names_only(target) or (callee == "range" and not isinstance(target, cst.Name)):
            self.report("AD105", target, "unsupported loop variable",
                        "use one name (for t in range(T)), two with enumerate (for i, x "
                        "in enumerate(xs)), or names for zip's values")
        else:
            _target_names(target, targets)
            for name in _name_nodes(target):
                self.check_name_free(name)
        self.check_loop_body(stmt, targets)

    def check_iterable(self, node: cst.BaseExpression) -> None:
        """What a loop or comprehension runs over: range, enumerate and zip of values."""
        if isinstance(node, cst.Call) and self.scope.qualify(node.func) in (
                "range", "enumerate", "zip") and not any(a.keyword or a.star for a in node.args):
            for arg in node.args:
                self.check_iterable(arg.value)
        else:
            self.check_expr(node)

    def check_while(self, stmt: cst.While) -> None:
        self.check_condition(stmt.test)
        self.check_loop_body(stmt, set())

    # ------------------------------------------------------------ header

    def check_decorator(self, dec: cst.Decorator) -> None:
        expr = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
        name = self.scope.qualify(expr)
        if name not in DECORATORS:
            shown = self.parsed.code(expr).strip()
            self.report("AD108", dec.decorator, f"decorator '{shown}' may change what the function "
                        "computes", "adgen differentiates the source as written; apply the "
                        "decorator to the compiled gradient instead, or remove it")

    def check_params(self, params: cst.Parameters) -> None:
        if isinstance(params.star_arg, cst.Param):
            self.report("AD103", params.star_arg, "variable positional parameter (*args)",
                        "name every input as its own parameter")
        if params.kwonly_params:
            self.report("AD103", params.kwonly_params[0], "keyword-only parameter",
                        "make it a positional parameter")
        if params.star_kwarg is not None:
            self.report("AD103", params.star_kwarg, "variable keyword parameter (**kwargs)",
                        "name every input as its own parameter")
        for param in list(params.posonly_params) + list(params.params):
            self.params.add(param.name.value)
            self.check_name_free(param.name)
            if param.name.value in RUNTIME and param.name.value not in RESERVED_NAMES:
                self.report("AD205", param.name, f"parameter '{param.name.value}' would hide "
                            "the name the generated code uses for its own "
                            f"'{param.name.value}'", "rename the parameter")
            if param.default is not None and not _static_literal(param.default) and \
                    evaluate_constant(param.default, self.scope) is None:
                self.report("AD103", param.default, "default value is not a numeric constant",
                            "use a number (or a module-level numeric constant) as the default")
        self.defined |= self.params

    # ------------------------------------------------------------ statements

    def check_statement(self, stmt, *, is_first: bool, is_last: bool) -> bool:
        """Check one statement; True if it is a return."""
        if isinstance(stmt, cst.Expr):
            is_docstring = is_first and isinstance(
                stmt.value, (cst.SimpleString, cst.ConcatenatedString))
            call = stmt.value
            if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and \
                    call.func.attr.value in LIST_METHODS and \
                    isinstance(call.func.value, cst.Name) and len(call.args) == 1 and \
                    call.args[0].keyword is None and not call.args[0].star:
                self.check_expr(call.func.value)  # hs.append(h): the list gains a value
                self.check_expr(call.args[0].value)
            elif not is_docstring:
                self.report("AD101", stmt, "expression statement (its value is discarded)",
                            "remove it; adgen differentiates the returned value")
        elif isinstance(stmt, cst.Pass):
            pass
        elif isinstance(stmt, cst.Assign):
            self.check_assign(stmt)
        elif isinstance(stmt, cst.AnnAssign):
            if stmt.value is not None:
                self.check_target(stmt.target)
                self.check_expr(stmt.value)
                self.define(stmt.target)
        elif isinstance(stmt, cst.AugAssign):
            self.check_aug_assign(stmt)
        elif isinstance(stmt, cst.Return):
            self.check_return(stmt, is_last)
            return True
        elif isinstance(stmt, (cst.Continue, cst.Break)):
            return True  # (outside a loop, Python's own parser refuses it)
        elif isinstance(stmt, cst.Raise):
            if stmt.exc is None:
                self.report("AD101", stmt, "'raise' without an exception (a re-raise)",
                            "raise an exception: raise ValueError(\"...\")")
            return True
        elif isinstance(stmt, cst.Assert):
            self.check_condition(stmt.test)
        elif isinstance(stmt, cst.FunctionDef):  # a local helper, inlined where it is called
            nested = Fence(self.parsed, stmt, self.calls, self.checked,
                           frozenset(self.defined | self.params))
            nested.callee = True
            self.diagnostics += nested.check()
            self.local_functions.add(stmt.name.value)
            self.define(stmt.name)
        else:
            kind, help = _STATEMENT_MESSAGES.get(
                type(stmt), (f"'{type(stmt).__name__}' statement", "rewrite it as assignments"))
            self.report("AD101", stmt, f"{kind} is not supported", help)
        return False

    def check_assign(self, stmt: cst.Assign) -> None:
        if len(stmt.targets) > 1:
            self.report("AD105", stmt.targets[1].target, "chained assignment (a = b = ...)",
                        "assign one name, then copy it: a = ...; b = a")
            self.check_expr(stmt.value)
            for target in stmt.targets:
                self.define(target.target)
            return
        target = stmt.targets[0].target
        if isinstance(target, (cst.Tuple, cst.List)):
            self.check_unpack(target, stmt.value)
        elif isinstance(target, cst.Name) and isinstance(stmt.value, cst.Lambda):
            self.check_name_free(target)  # sigmoid = lambda z: ...: a local helper
            self.check_lambda(stmt.value)
            self.local_functions.add(target.value)
        else:
            self.check_target(target)
            self.check_expr(stmt.value)
        self.define(target)

    def check_lambda(self, node: cst.Lambda) -> None:
        names = {p.name.value for p in node.params.params}
        if isinstance(node.params.star_arg, cst.Param) or node.params.kwonly_params or \
                node.params.star_kwarg is not None:
            self.report("AD103", node, "a lambda with *args, keyword-only or **kwargs "
                        "parameters", "name every input as its own parameter")
        added = names - self.defined
        self.defined |= added
        self.check_expr(node.body)
        self.defined -= added

    def check_unpack_targets(self, target: cst.Tuple | cst.List) -> None:
        for el in target.elements:
            inner = el.value if not isinstance(el, cst.StarredElement) else el
            if isinstance(inner, (cst.Tuple, cst.List)):  # a, (b, c) = ...: nested
                self.check_unpack_targets(inner)
            else:
                self.check_target(inner)

    def check_unpack(self, target: cst.Tuple | cst.List, value: cst.BaseExpression) -> None:
        self.check_unpack_targets(target)
        if is_shape(value):  # N, D = x.shape
            self.check_expr(value.value)
            return
        if isinstance(value, cst.Call) and (  # a, b = helper(x)
                (isinstance(value.func, cst.Name) and value.func.value in self.scope.functions)
                or self.parsed.user_function(self.scope.qualify(value.func)) is not None):
            self.check_expr(value)
            return
        if results_rule(value, self.scope, self.known) is not None:
            self.unpacked = value  # w, v = np.linalg.eigh(a)
            self.check_expr(value)
            return
        if not isinstance(value, (cst.Tuple, cst.List)):  # x, w, b = cache: the stager checks
            self.check_expr(value)
            return
        if len(value.elements) != len(target.elements):
            self.report("AD204", value, f"cannot unpack {len(value.elements)} values into "
                        f"{len(target.elements)} names", "give one value per name")
        for el in value.elements:
            if isinstance(el, cst.StarredElement):
                self.report("AD204", el, "starred expression in unpacking",
                            "give one value per name")
            else:
                self.check_expr(el.value)

    def check_name_free(self, name: cst.Name) -> None:
        if name.value in RESERVED_NAMES:
            self.report("AD205", name, f"'{name.value}' is reserved: the generated code uses "
                        "the module of that name", "rename the variable")

    def check_target(self, target: cst.CSTNode) -> None:
        if isinstance(target, cst.Name):
            self.check_name_free(target)
            return
        if isinstance(target, (cst.Subscript, cst.Attribute)) and \
                path_of(target, self.params) is not None:
            self.report("AD105", target, "assignment into a parameter's dict or attribute "
                        "(it would change the caller's)", "assign to a local name, and "
                        "return it (or keep the dict unchanged)")
            return
        if isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name) \
                and shape_index(target) is None:  # x[index] = value: on a copy of x
            self.check_expr(target)
            return
        kind = {cst.Attribute: "attribute", cst.Subscript: "subscript",
                cst.StarredElement: "starred name"}.get(type(target), "this target")
        self.report("AD105", target, f"assignment to {kind} is not supported",
                    "assign to a plain local name")

    def check_aug_assign(self, stmt: cst.AugAssign) -> None:
        if not isinstance(stmt.operator, AUG_OPERATORS):
            op = self.parsed.code(stmt.operator).strip()
            self.report("AD106", stmt.operator, f"augmented operator '{op}' is not supported",
                        "use += -= *= /= //= %= or **=")
        if isinstance(stmt.target, cst.Name):
            self.check_expr(stmt.target)
        else:
            self.check_target(stmt.target)
        self.check_expr(stmt.value)
        self.define(stmt.target)

    def check_return(self, stmt: cst.Return, is_last: bool) -> None:
        if self.loop_depth:
            self.report("AD104", stmt, "return inside a loop",
                        "assign the result to a variable and return it after the loop")
        if stmt.value is None:
            self.report("AD104", stmt, "return without a value",
                        "return the scalar to differentiate")
        elif not self.callee and returns_cache(stmt.value):
            self.check_expr(stmt.value)  # return out, cache: a layer keeping its own cache
            if self.if_depth:
                self.report("AD104", stmt, "a layer returns (out, cache) once, as its last "
                            "statement", "assign out and cache on every path, and return "
                            "them at the end")
        elif isinstance(stmt.value, (cst.Tuple, cst.List, cst.Dict)) and not self.callee:
            self.report("AD104", stmt.value, "returning several values",
                        "return a single scalar; differentiate each output separately "
                        "(a helper it calls may return a tuple)")
        else:
            self.check_expr(stmt.value)

    def define(self, target: cst.CSTNode) -> None:
        _target_names(target, self.defined)
        for name in self.defined & set(self.maybe):
            del self.maybe[name]

    # ------------------------------------------------------------ expressions

    def check_expr(self, expr: cst.BaseExpression) -> None:
        _ExpressionChecker(self).check(expr)


class _ExpressionChecker:
    """Reports every unsupported node of one expression.

    A visitor with explicit `visit_<Node>` methods (returning whether to descend), walked
    directly rather than through libcst's visitor machinery, which rebuilds every node it
    passes and dominated compile time."""

    def __init__(self, fence: Fence):
        self.fence = fence
        self.scope = fence.scope

    def check(self, node: cst.BaseExpression) -> None:
        if not self.fence.callee and isinstance(node, (cst.Subscript, cst.Attribute, cst.Call)) \
                and path_of(node, self.fence.params) is not None:
            return  # params['W1'], self.reg, bn_param.get('eps', 1e-5): a member (members.py)
        if not self.on_visit(node):
            if not isinstance(node, _BINDING_EXPRESSIONS):
                for inner in _sub_expressions(node):
                    self.check(inner)
            return
        if isinstance(node, cst.BinaryOperation) and isinstance(
                node.left, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
            shown = self.fence.parsed.code(node).strip()
            self.fence.report("AD107", node, f"a string computed while the function runs "
                              f"({shown})", _KEYS_ARE_CONSTANTS)
            return
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is not None and not method(node):
            return
        if isinstance(node, cst.BinaryOperation):
            self.check(node.left)
            self.check(node.right)
        elif isinstance(node, cst.UnaryOperation):
            self.check(node.expression)

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.BaseExpression) and not isinstance(node, _SIMPLE_EXPRESSIONS):
            kind, help = _EXPRESSION_MESSAGES.get(
                type(node), (type(node).__name__, "rewrite it with + - * / ** and math calls"))
            code = "AD107" if isinstance(node, (cst.SimpleString, cst.ConcatenatedString,
                                                cst.FormattedString, cst.Imaginary,
                                                cst.Ellipsis)) else "AD102"
            self.fence.report(code, node, f"{kind} is not supported", help)
            return False
        return True

    def visit_Name(self, node: cst.Name) -> bool:
        name, fence = node.value, self.fence
        if name in fence.defined:
            return False
        if name in fence.maybe:
            fence.report("AD203", node, f"local variable '{name}' may be unassigned here: "
                         f"{fence.maybe[name]}", "assign it before the branch or loop too")
        elif name in fence.locals:
            fence.report("AD203", node, f"local variable '{name}' is used before it is assigned",
                         "assign it before this line")
        elif name in self.scope.consts:
            pass
        elif name in ("True", "False"):
            pass  # booleans: constants (conditions, flags; no gradient)
        elif name == "None":
            fence.report("AD107", node, f"constant '{name}' is not supported",
                         "only numeric and boolean constants are supported")
        elif name in self.scope.functions:
            fence.report("AD202", node, f"function '{name}' used as a value",
                         "call it, or pass the value in as a parameter")
        elif name in self.scope.others:
            fence.report("AD202", node, f"module-level name '{name}' is not a numeric constant",
                         "pass it in as a parameter, or make it a literal number")
        elif name in self.scope.modules or name in self.scope.imported:
            fence.report("AD202", node, f"'{name}' is a module or imported function, not a "
                         "number", "call it, or pass the value in as a parameter")
        else:
            fence.report("AD201", node, f"name '{name}' is not defined",
                         "define it as a parameter, a local variable, or a module-level "
                         "numeric constant")
        return False

    def visit_Tuple(self, node) -> bool:
        """A tuple or list of values (containers.py): its elements are checked."""
        for el in node.elements:
            if isinstance(el, cst.StarredElement):
                self.fence.report("AD204", el, "starred expression in a tuple or list",
                                  "write the values out one by one")
            else:
                self.check(el.value)
        return False

    visit_List = visit_Tuple

    def visit_ListComp(self, node) -> bool:
        """`[f(h) for h in hs]`: one `for`, no `if` (written out by the stager)."""
        clause = node.for_in
        if clause.inner_for_in is not None or clause.ifs or clause.asynchronous:
            self.fence.report("AD102", node, "a comprehension with several 'for' or an 'if'",
                              "use one 'for' over a list, a tuple or range() of constants")
            return False
        self.fence.check_iterable(clause.iter)
        added = set()
        _target_names(clause.target, added)
        added -= self.fence.defined
        self.fence.defined |= added
        self.check(node.elt)
        self.fence.defined -= added
        return False

    visit_GeneratorExp = visit_ListComp

    def visit_Dict(self, node: cst.Dict) -> bool:
        """A dict with constant keys (`{'x': x, 'w': w}`): its values are checked."""
        for el in node.elements:
            if not isinstance(el, cst.DictElement):
                self.fence.report("AD204", el, "'**' in a dict", "write the entries out")
            elif not isinstance(el.key, (cst.SimpleString, cst.Integer)):
                self.fence.report("AD204", el.key, "a dict key must be a string or integer "
                                  "constant", "use a literal key: {'x': x}")
            else:
                self.check(el.value)
        return False

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        if node.attr.value == "shape" and is_value_attribute(
                node, self.scope, self.fence.known):
            self.check(node.value)  # x.shape as a value: the tuple of its sizes
            return False
        if is_value_attribute(node, self.scope, self.fence.known):
            rule = REGISTRY.by_spelling("." + node.attr.value)
            if rule is None or rule.arity != 1 or node.attr.value not in VALUE_ATTRIBUTES:
                shown = self.fence.parsed.code(node).strip()
                self.fence.report("AD102", node, f"attribute access '{shown}' is not supported",
                                  "supported on arrays: " + ", ".join(
                                      f".{a}" for a in sorted(VALUE_ATTRIBUTES)))
                return False
            self.check(node.value)
            return False
        dotted = self.scope.qualify(node)
        if dotted in MATH_CONSTANTS:
            return False
        shown = self.fence.parsed.code(node).strip()
        if dotted and dotted.split(".")[0] in ("math",):
            self.fence.report("AD102", node, f"'{shown}' is not supported",
                              "use math.pi, math.e, math.tau or math.inf, or a literal number")
        else:
            self.fence.report("AD102", node, f"attribute access '{shown}' is not supported",
                              "use plain scalar parameters and local names")
        return False

    def visit_Comparison(self, node: cst.Comparison) -> bool:
        """A single comparison is a mask (no gradient): `x > 0`, `np.where(x > 0, x, 0)`."""
        if len(node.comparisons) != 1 or not isinstance(node.comparisons[0].operator,
                                                         COMPARISONS):
            self.fence.report("AD102", node, "chained comparison or 'in' is not supported",
                              "compare two values at a time: (a < b) * (b < c)")
            return False
        for side in (node.left, node.comparisons[0].comparator):
            if not _static_literal(side):  # mode == 'train', dropout is None: static values
                self.check(side)
        return False

    def check_condition(self, test: cst.BaseExpression) -> None:
        """A branch's or loop's test: comparisons, chained ones (`lo < x < hi`), and `and` /
        `or` of conditions (short-circuit, as in Python)."""
        if isinstance(test, cst.BooleanOperation) and not test.lpar and \
                isinstance(test.operator, (cst.And, cst.Or)):
            self.check_condition(test.left)
            self.check_condition(test.right)
        elif isinstance(test, cst.Comparison) and len(test.comparisons) > 1 and all(
                isinstance(c.operator, COMPARISONS) for c in test.comparisons):
            self.check(test.left)
            for c in test.comparisons:
                self.check(c.comparator)
        else:
            self.check(test)

    def visit_IfExp(self, node: cst.IfExp) -> bool:
        """`a if c else b`: each value is computed only when chosen (a branch)."""
        self.check_condition(node.test)
        self.check(node.body)
        self.check(node.orelse)
        return False

    def visit_Subscript(self, node: cst.Subscript) -> bool:
        """`x.shape[k]`, and indexing: slices, ints, integer and boolean arrays, np.newaxis."""
        if shape_index(node) is not None:
            self.check(node.value.value)
            return False
        for element in node.slice:
            index = element.slice
            if isinstance(index, cst.Slice):
                for part in (index.lower, index.upper, index.step):
                    if part is not None:
                        self.check(part)
            elif is_newaxis(index.value, self.scope):
                continue
            elif isinstance(index.value, cst.SimpleString):
                continue  # cache['x']: a dict's entry by its key (containers.py)
            elif isinstance(index.value, cst.Ellipsis):
                self.fence.report("AD102", index.value, "'...' in an index is not supported",
                                  "write the slices out (x[:, :, 0])")
            else:
                self.check(index.value)
        self.check(node.value)
        return False

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> bool:
        if not isinstance(node.operator, BIN_OPERATORS):
            op = self.fence.parsed.code(node.operator).strip()
            help = "use + - * / // % ** or @"
            self.fence.report("AD106", node.operator, f"operator '{op}' is not supported", help)
        return True

    def visit_UnaryOperation(self, node: cst.UnaryOperation) -> bool:
        if not isinstance(node.operator, (cst.Minus, cst.Plus)):
            op = self.fence.parsed.code(node.operator).strip()
            self.fence.report("AD106", node.operator, f"operator '{op}' is not supported",
                              "use unary minus, or arithmetic")
        return True

    def visit_Call(self, node: cst.Call) -> bool:
        self.check_callee(node)
        statics = self.static_positions(node)
        for i, arg in enumerate(node.args):
            if arg.keyword is not None or arg.star:  # those are reported with the call
                continue
            if i in statics:  # a constant (np.tile's reps): checked with the call
                continue
            if joined_operands(node, self.scope) is not None and \
                    isinstance(arg.value, (cst.List, cst.Tuple)):
                for element in arg.value.elements:  # np.concatenate([a, b], axis=1)
                    self.check(element.value)
            else:
                self.check(arg.value)
        return False

    def static_positions(self, node: cst.Call) -> set[int]:
        """The indices in `node.args` of the arguments its rule takes as constants
        (Rule.statics, whose positions count a method's receiver as 0)."""
        fence, func = self.fence, node.func
        if is_value_attribute(func, self.scope, fence.known):
            rule, receiver = REGISTRY.by_spelling("." + func.attr.value), 1
        else:
            name = self.scope.qualify(func) if isinstance(func, (cst.Name, cst.Attribute)) \
                else None
            rule, receiver = (REGISTRY.by_spelling(name) if name else None), 0
        return {p - receiver for p, _ in rule.statics} if rule is not None else set()

    def check_callee(self, node: cst.Call) -> None:
        fence, func = self.fence, node.func
        if isinstance(func, cst.Name) and func.value in fence.local_functions:
            return  # a nested def or lambda: inlined, its body checked where it is defined
        if isinstance(func, cst.Name) and (func.value in fence.defined or
                                           func.value in fence.locals):
            fence.report("AD303", func, f"'{func.value}' is a variable, not a function",
                         "call a math function or a builtin")
            return
        declared = called_primitive(fence.parsed, self.scope, func,
                                    fence.known)
        if declared is not None:  # a primitive: called, its code is not read
            fence.check_backward(declared[1], declared[0], func)
            self.check_primitive_call(node, *declared)
            return
        if isinstance(func, cst.Name) and func.value in self.scope.functions:
            self.check_helper_call(node, func.value, fence.parsed)
            return
        elsewhere = fence.parsed.user_function(self.scope.qualify(func))
        if elsewhere is not None:  # a function of a user module: inlined like a helper
            self.check_helper_call(node, elsewhere[1], elsewhere[0])
            return
        if is_value_attribute(func, self.scope, fence.known):
            name = "." + func.attr.value  # a method: x.sum(axis=0)
            rule = REGISTRY.by_spelling(name)
            if rule is None:
                fence.report("AD301", func, f"no derivative rule for method '{name}'",
                             _suggest(name))
                return
            self.check(func.value)
            self.check_arguments(node, name, rule, receiver=1)
            return
        name = self.scope.qualify(func)
        if name is None:
            fence.report("AD303", func, "call of a computed function",
                         "call math functions or builtins by name")
            return
        if name in CONTAINER_FOLDS and REGISTRY.by_spelling(name) is None:
            if len(node.args) != 1 or node.args[0].keyword is not None or node.args[0].star:
                fence.report("AD302", node, f"'{name}' takes one argument here: a list or "
                             "tuple of values", "write the sum or product out")
            return  # sum(hs): of a container (the stager checks it is one)
        rule = REGISTRY.by_spelling(name)
        if rule is None or not _is_call_spelling(name):
            fence.report("AD301", func, f"no derivative rule for '{name}'", _suggest(name))
            return
        if (rule.results or rule.parts) and rule.nondifferentiable and \
                fence.unpacked is not node:  # a function with several results, used as one value
            names = ", ".join(REGISTRY[r].noun for r in rule.results) or "a, b"
            count = len(rule.results) or "several"
            fence.report("AD204", node, f"'{name}' returns {count} values",
                         f"unpack them: {names} = {name.replace('numpy.', 'np.')}(...)")
            return
        self.check_arguments(node, name, rule)

    def check_primitive_call(self, node: cst.Call, parsed: ParsedModule, name: str) -> None:
        """A call to a primitive passes one positional operand per parameter."""
        params = params_of(parsed.scope.functions[name])
        if any(arg.keyword is not None or arg.star for arg in node.args) or \
                len(node.args) != len(params):
            self.fence.report("AD302", node, f"'{name}' takes {len(params)} positional "
                              f"argument{'s' if len(params) != 1 else ''} here",
                              f"pass one value per parameter, in order: {', '.join(params)}")

    def check_helper_call(self, node: cst.Call, name: str, parsed: ParsedModule) -> None:
        """A call to a function of the same file (or of a user module): its arguments match
        its parameters, it is not recursive, and its own body is fenced (once)."""
        fence = self.fence
        key = (parsed.path, name)
        if key in fence.calls:
            chain = " -> ".join(n for _, n in fence.calls[fence.calls.index(key):] + (key,))
            fence.report("AD206", node.func, f"recursive call ({chain})",
                         "write the recursion as a loop")
            return
        callee = parsed.scope.functions[name]
        params = [p.name.value for p in list(callee.params.posonly_params) +
                  list(callee.params.params)]
        required = {p.name.value for p in list(callee.params.posonly_params) +
                    list(callee.params.params) if p.default is None}
        given: list[str] = []
        for i, arg in enumerate(node.args):
            if arg.star:
                fence.report("AD303", arg, f"starred argument to '{name}'",
                             "pass the arguments one by one")
                return
            if arg.keyword is None:
                given.append(params[i] if i < len(params) else "")
            else:
                given.append(arg.keyword.value)
        unknown = [g for g in given if g not in params]
        missing = required - set(given)
        if unknown or missing or len(set(given)) != len(given):
            problem = (f"got an unexpected argument '{unknown[0]}'" if unknown and unknown[0]
                       else "got too many arguments" if unknown
                       else f"missing argument '{sorted(missing)[0]}'" if missing
                       else "got an argument twice")
            fence.report("AD302", node, f"'{name}' {problem}",
                         f"its parameters are: {', '.join(params) or 'none'}")
        if key not in fence.checked:
            fence.checked.add(key)
            fence.diagnostics += Fence(parsed, callee, fence.calls, fence.checked).check()

    def check_arguments(self, node: cst.Call, name: str, rule, receiver: int = 0) -> None:
        """Positional operands, and static keyword arguments (axis=..., keepdims=...) where
        the rule takes them."""
        fence = self.fence
        statics = dict(rule.statics)
        position = receiver - 1
        for arg in node.args:
            if arg.star:
                fence.report("AD303", arg, f"starred argument to '{name}'",
                             "pass the arguments one by one")
                return
            if arg.keyword is None:
                position += 1
                if position in statics and not _is_static(arg.value):
                    fence.report("AD303", arg.value, f"'{statics[position]}' of '{name}' "
                                 "must be a constant", "write it as a literal: an int, a "
                                 "string, or a tuple of them")
                    return
                continue
            if arg.keyword.value not in rule.keywords:
                allowed = ", ".join(rule.keywords) or "none"
                fence.report("AD303", arg, f"keyword argument '{arg.keyword.value}' to "
                             f"'{name}'", f"pass operands positionally; keywords "
                             f"supported here: {allowed}")
                return
            try:
                static_value(arg.value)
            except ValueError:
                fence.report("AD303", arg.value, f"'{arg.keyword.value}' must be a constant",
                             "use an int, a tuple of ints, True, False or None")
                return
        joined = joined_operands(node, self.scope)
        positional = sum(1 for a in node.args if a.keyword is None)
        # a static given positionally is not an operand (np.diff(a, axis=0) gives none)
        n = receiver + (len(joined) if joined is not None else positional) - \
            sum(1 for p in statics if p < receiver + positional)
        if not rule.accepts(n):
            expected = (f"at least {rule.arity}" if rule.variadic else str(rule.arity))
            fence.report("AD302", node, f"'{name}' takes {expected} argument"
                         f"{'s' if expected != '1' else ''} here, got {n}",
                         "adgen supports the positional forms listed in docs/rules.md")


def _is_static(node) -> bool:
    try:
        static_value(node)
    except ValueError:
        return False
    return True


def _static_literal(node) -> bool:
    """A string, None, True or False: a static value (a default, a compared operand)."""
    return isinstance(node, cst.SimpleString) or (
        isinstance(node, cst.Name) and node.value in ("None", "True", "False"))


def _is_call_spelling(name: str) -> bool:
    return name.replace(".", "").isidentifier()


def _suggest(name: str) -> str:
    """`did you mean ...?` only for a really close name of the same module (`numpy.tanh`
    for `numpy.tahn`; not `numpy.var` for `numpy.array`, which share only their module)."""
    module, _, leaf = name.rpartition(".")
    spellings = {s.rpartition(".")[2]: s for s in REGISTRY.spellings()
                 if _is_call_spelling(s) and s.rpartition(".")[0] == module}
    close = [spellings[c] for c in difflib.get_close_matches(leaf, list(spellings), n=3,
                                                              cutoff=0.8)]
    if close:
        return "did you mean " + " or ".join(f"'{c}'" for c in close) + "? (docs/rules.md)"
    return ("supported functions are listed in docs/rules.md; rewrite it with them, or "
            "declare its derivative yourself: docs/rules.md#adding-your-own-rule")
