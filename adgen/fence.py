"""Fence: walk a whole function once and collect every construct adgen does not accept.

Nothing downstream guesses: the stager only ever sees functions the fence passed, and the fence
reports *all* problems in one go (each a `Diagnostic` with a stable code, the position of the
offending node, and what to do instead).  Scoping follows Python: a name assigned anywhere in
the function is local, so reading it before its assignment is an error even if a module
constant of the same name exists.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from adgen import statictests
from adgen.diagnostics import Diagnostic
from adgen.fence_expressions import _ExpressionChecker, _static_literal
from adgen.members import path_of, write_refusal
from adgen.naming import RUNTIME
from adgen.params import param_names
from adgen.methods import class_of, is_static_method
from adgen.reports import impure, reporter
from adgen.statickeys import dict_view
from adgen.source import ParsedModule, evaluate_constant
from adgen.multiresults import results_rule
from adgen.statements import (_target_names, assigned_names, block_statements, else_statements,
                              placeholders, returns_cache, small_statements)
from adgen.userrules import primitives_of
from adgen.staticargs import is_shape, shape_index

RESERVED_NAMES = frozenset({"math", "np", "numpy"})  # the modules: never a variable
DECORATORS = frozenset({"adgen.differentiable", "adgen.api.differentiable", "adgen.primitive"})
AUG_OPERATORS = (cst.AddAssign, cst.SubtractAssign, cst.MultiplyAssign, cst.DivideAssign,
                 cst.PowerAssign, cst.FloorDivideAssign, cst.ModuloAssign)

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
# list methods that may stand as statements (hs.append(h)): the stager follows the list
LIST_METHODS = ("append", "extend")


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


# Expression statements that do nothing: a string used as a comment, `...`, a number.
_NO_OPS = (cst.SimpleString, cst.ConcatenatedString, cst.Ellipsis, cst.Integer, cst.Float)


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
        # out = None at the top (statements.placeholder): unassigned until really assigned
        self.placeholders = {n for names in placeholders(fn).values() for n in names}
        self.known = _Known(self)  # defined or assigned somewhere: `name in self.known`
        self.unpacked: Optional[cst.Call] = None  # the call being unpacked: a, b = f(x)
        method = bool(calls) and class_of(parsed, fn) is not None  # (self.forward(X))
        self.calls = calls + ((parsed.path, ("self." if method else "") + fn.name.value),)
        self.checked = checked if checked is not None else set()  # helpers already fenced
        self.callee = bool(calls)
        # a method's instance (self): the members it reads are the caller's, inlined or not
        self.instance = set(param_names(fn)[:1]) if class_of(parsed, fn) and \
            not is_static_method(fn) else set()
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
        elif statictests.may_be_static(stmt.test):
            # `if activation == "relu":` may be decided where a helper is inlined: the
            # stager knows, and reports a name read unassigned (adgen/statictests.py)
            self.defined = after_body | after_else
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
        elif isinstance(iterable, (cst.Name, cst.Tuple, cst.List, cst.Subscript)) or (
                callee == "zip" and call.args and not any(a.keyword or a.star
                                                          for a in call.args)) or \
                dict_view(iterable) is not None:
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
        """What a loop or comprehension runs over: range, enumerate and zip of values, a
        dict's keys, values or items (`params.items()`: the stager writes the loop out)."""
        if dict_view(node) is not None:
            self.check_expr(dict_view(node))
        elif isinstance(node, cst.Call) and self.scope.qualify(node.func) in (
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
        if name == "staticmethod" and is_static_method(self.fn) and \
                class_of(self.parsed, self.fn) is not None:
            return  # a static method, called through self (adgen/methods.py)
        if name not in DECORATORS:
            shown = self.parsed.code(expr).strip()
            self.report("AD108", dec.decorator, f"decorator '{shown}' may change what the function "
                        "computes", "adgen differentiates the source as written; apply the "
                        "decorator to the compiled gradient instead, or remove it")

    def check_params(self, params: cst.Parameters) -> None:
        if isinstance(params.star_arg, cst.Param):
            self.report("AD103", params.star_arg, "variable positional parameter (*args)",
                        "name every input as its own parameter")
        if params.star_kwarg is not None:
            self.report("AD103", params.star_kwarg, "variable keyword parameter (**kwargs)",
                        "name every input as its own parameter")
        for param in list(params.posonly_params) + list(params.params) + \
                list(params.kwonly_params):
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

    def reports(self, stmt: cst.Expr) -> bool:
        """Whether `stmt` is a report statement (adgen/reports.py) the generated code may
        leave out; one whose arguments may change something is AD101, at that call."""
        call = reporter(stmt, self.scope)
        if call is None or (isinstance(call.func, cst.Name) and call.func.value in self.defined):
            return False
        bad = impure(call, self.scope)
        if bad is not None:
            what = self.parsed.code(bad).strip()
            self.report("AD101", bad, f"'{' '.join(what.split())[:60]}' in a "
                        f"{self.parsed.code(call.func).strip()} statement may change a value: "
                        "adgen leaves such statements out of the generated code, which is "
                        "exact only if their arguments just read",
                        "compute it in a statement of its own first, and print the result")
        return True

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
            elif self.reports(stmt):
                pass  # print(...), logging.info(...): left out of the generated code
            elif not is_docstring and not isinstance(stmt.value, _NO_OPS):
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
            # a = b = x * 2: b is bound to the same value (the stager: a = ...; b = a)
            bad = next((t.target for t in stmt.targets if not isinstance(t.target, cst.Name)),
                       None)
            if bad is not None:
                self.report("AD105", bad, "chained assignment (a = b = ...) to something "
                            "other than names", "assign one name, then copy it: a = ...; "
                            "b[i] = a")
            self.check_expr(stmt.value)
            for target in stmt.targets:
                if isinstance(target.target, cst.Name):
                    self.check_name_free(target.target)
                self.define(target.target)
            return
        target = stmt.targets[0].target
        if isinstance(target, (cst.Tuple, cst.List)):
            self.check_unpack(target, stmt.value)
        elif isinstance(target, cst.Name) and isinstance(stmt.value, cst.Lambda):
            self.check_name_free(target)  # sigmoid = lambda z: ...: a local helper
            self.check_lambda(stmt.value)
            self.local_functions.add(target.value)
        elif isinstance(target, (cst.Subscript, cst.Attribute)) and not self.callee and \
                path_of(target, self.params) is not None:
            # bn_param['running_mean'] = running_mean: done as the forward does it, where
            # nothing reads the entry afterwards (members.write_refusal)
            refusal = write_refusal(self.fn, set(self.params), stmt, self.parsed.pos,
                                    self.loop_depth > 0)
            if refusal is None and isinstance(stmt.value, (cst.Tuple, cst.List, cst.Dict)):
                refusal = (target, "a tuple, list or dict written into a parameter's entry "
                           "(adgen writes numbers and arrays)",
                           "write each array into an entry of its own")
            if refusal is not None:
                self.report("AD105", refusal[0] if refusal[0] is target else target,
                            f"assignment into a parameter's dict or attribute: {refusal[1]}",
                            refusal[2])
            self.check_expr(stmt.value)
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
        if isinstance(target, cst.Subscript) and isinstance(target.value, cst.Subscript) and \
                isinstance(target.value.value, cst.Name) and \
                target.value.value.value in self.locals and \
                target.value.value.value not in self.params:
            self.check_expr(target)  # xs[t][k] = 1: an array a local list or dict holds
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
            # return out, cache: a layer keeping its own cache.  The cache is not
            # differentiated: None on some path (`cache = None` in test mode) or built
            # differently on two paths leaves NAME_backward out (Stager.stage_return), never
            # the gradient of out
            out, cache = (el.value for el in stmt.value.elements)
            self.check_expr(out)
            if not (cache.value in self.maybe or cache.value in self.placeholders):
                self.check_expr(cache)
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
