"""The fence's check of one expression (`_ExpressionChecker`): every unsupported node in it,
and of the calls in it, whether a rule, a helper or a primitive takes their arguments.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Optional

import libcst as cst

from adgen.children import children
from adgen.members import path_of
from adgen.rules import REGISTRY
from adgen.source import MATH_CONSTANTS, ParsedModule
from adgen.statements import _target_names
from adgen.params import all_params, param_names, positional_params
from adgen.userrules import called_primitive, params_of
from adgen.methods import is_static_method, method_called
from adgen.statickeys import key_form
from adgen.statictests import is_literal as _static_literal  # (fence.py, stage_calls.py)
from adgen.statictests import string_test
from adgen.staticargs import (is_newaxis, is_static, is_value_attribute, joined_operands,
                              shape_index, static_value)

if TYPE_CHECKING:
    from adgen.fence import Fence

VALUE_ATTRIBUTES = frozenset({"T", "size", "ndim"})
COMPARISONS = (cst.LessThan, cst.LessThanEqual, cst.GreaterThan, cst.GreaterThanEqual,
               cst.Equal, cst.NotEqual, cst.Is, cst.IsNot)
BIN_OPERATORS = (cst.Add, cst.Subtract, cst.Multiply, cst.Divide, cst.Power,
                 cst.MatrixMultiply, cst.FloorDivide, cst.Modulo)

CONDITION_HELP = ("'and'/'or' are supported in the condition of an if, a while or a "
                  "conditional expression; elsewhere use masks: (a < b) * (b < c)")

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


class _ExpressionChecker:
    """Reports every unsupported node of one expression.

    A visitor with explicit `visit_<Node>` methods (returning whether to descend), walked
    directly rather than through libcst's visitor machinery, which rebuilds every node it
    passes and dominated compile time."""

    def __init__(self, fence: Fence):
        self.fence = fence
        self.scope = fence.scope

    def check(self, node: cst.BaseExpression) -> None:
        if isinstance(node, (cst.Subscript, cst.Attribute, cst.Call)) and path_of(
                node, self.fence.instance if self.fence.callee else self.fence.params) \
                is not None:
            # params['W1'], self.reg, bn_param.get('eps', 1e-5): a member (members.py)
            self.check_member_default(node)
            return
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

    def check_member_default(self, node: cst.BaseExpression) -> None:
        """A member is read when the function starts, a `.get` default too, unless it is
        the last step: a default reading a local there (`p.get('k', np.zeros(D))`) is
        computed where the .get is (members.reads_local), and checked as any expression.
        One of an inner step (`p.get('a', d(D))['b']`) may not read a local."""
        outer = node
        while isinstance(node, (cst.Subscript, cst.Attribute, cst.Call)):
            if node is outer and isinstance(node, cst.Call) and len(node.args) == 2 and \
                    any(n.value in self.fence.locals and n.value not in self.fence.params
                        for n in _names_in(node.args[1].value)):
                self.check(node.args[1].value)
            elif isinstance(node, cst.Call) and len(node.args) == 2:
                for name in _names_in(node.args[1].value):
                    if name.value in self.fence.locals and name.value not in self.fence.params:
                        self.fence.report(
                            "AD203", name, f"the default of this .get reads the local variable "
                            f"'{name.value}': adgen reads a parameter's entries when the "
                            "function starts, before it is assigned",
                            "compute the default from the parameters (np.zeros(x.shape[1]))")
                        return
            node = node.func.value if isinstance(node, cst.Call) else node.value

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
        if name in fence.maybe and name in fence.placeholders:
            fence.report("AD203", node, f"local variable '{name}' may still be None here (the "
                         f"placeholder {name} = None): {fence.maybe[name]}",
                         "give it a number or an array on every path (adgen differentiates "
                         "numbers and arrays)")
        elif name in fence.maybe:
            fence.report("AD203", node, f"local variable '{name}' may be unassigned here: "
                         f"{fence.maybe[name]}", "assign it before the branch or loop too")
        elif name in fence.locals and name in fence.placeholders:
            fence.report("AD203", node, f"local variable '{name}' is None here (the "
                         f"placeholder {name} = None): adgen differentiates numbers and "
                         "arrays", f"assign '{name}' its value before this line")
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
        if any(isinstance(c.operator, (cst.In, cst.NotIn)) for c in node.comparisons):
            self.fence.report("AD102", node, "a membership test ('in') is not supported",
                              "pass what it decides as an argument (a flag, or the value "
                              "itself with a default), or test == against each value")
            return False
        if len(node.comparisons) != 1 or not isinstance(node.comparisons[0].operator,
                                                         COMPARISONS):
            self.fence.report("AD102", node, "chained comparison is not supported here",
                              "compare two values at a time: (a < b) * (b < c)")
            return False
        for side in (node.left, node.comparisons[0].comparator):
            if not _static_literal(side):  # mode == 'train', dropout is None: static values
                self.check(side)
        return False

    def check_condition(self, test: cst.BaseExpression) -> None:
        """A branch's or loop's test: comparisons, chained ones (`lo < x < hi`), `and` /
        `or` of conditions (short-circuit, as in Python), and `not`."""
        if isinstance(test, cst.BooleanOperation) and not test.lpar and \
                isinstance(test.operator, (cst.And, cst.Or)):
            self.check_condition(test.left)
            self.check_condition(test.right)
        elif isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            self.check_condition(test.expression)  # if not done: (a branch, swapped)
        elif string_test(test) is not None:  # name.startswith('W'): decided when compiling
            self.check(string_test(test))
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
            elif key_form(index.value) is not None:
                # parameters['W' + str(l)]: a key the stager computes where l is a constant
                # (a loop written out), or reports (adgen/statickeys.py)
                for part in key_form(index.value):
                    self.check(part)
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
            if _static_literal(arg.value) and self.helper_call(node):
                continue  # act(z, "relu"): a static argument, as activation="relu" is
            if joined_operands(node, self.scope) is not None and \
                    isinstance(arg.value, (cst.List, cst.Tuple)):
                for element in arg.value.elements:  # np.concatenate([a, b], axis=1)
                    self.check(element.value)
            else:
                self.check(arg.value)
        return False

    def helper_call(self, node: cst.Call) -> bool:
        """Whether `node` calls a function of the user's, which is inlined (a nested def, a
        function of the file or of a user module)."""
        func, fence = node.func, self.fence
        if isinstance(func, cst.Name) and (func.value in fence.local_functions or
                                           func.value in self.scope.functions):
            return True
        return fence.parsed.user_function(self.scope.qualify(func)) is not None

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
        method = method_called(fence.parsed, fence.fn, func)
        if method is not None:  # self.sigmoid(z): a method, inlined (adgen/methods.py)
            self.check_helper_call(node, f"self.{func.attr.value}", fence.parsed, method)
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
        if name in ("max", "min") and len(node.args) == 1 and \
                node.args[0].keyword is None and not node.args[0].star:
            return  # max([a, b, c]), min(values): of a list or tuple (the stager checks it)
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

    def check_helper_call(self, node: cst.Call, name: str, parsed: ParsedModule,
                          method: Optional[cst.FunctionDef] = None) -> None:
        """A call to a function of the same file (or of a user module, or a method called
        through `self`, whose first parameter the receiver binds): its arguments match its
        parameters, it is not recursive, and its own body is fenced (once)."""
        from adgen.fence import Fence  # (fence.py imports this module)

        fence = self.fence
        key = (parsed.path, name)
        if key in fence.calls:
            chain = " -> ".join(n for _, n in fence.calls[fence.calls.index(key):] + (key,))
            fence.report("AD206", node.func, f"recursive call ({chain})",
                         "write the recursion as a loop")
            return
        callee = parsed.scope.functions[name] if method is None else method
        bound = 0 if method is None or is_static_method(method) else 1  # (self)
        params = param_names(callee)[bound:]
        positional = [p.name.value for p in positional_params(callee)][bound:]
        required = {p.name.value for p in all_params(callee)[bound:] if p.default is None}
        given: list[str] = []
        for i, arg in enumerate(node.args):
            if arg.star:
                fence.report("AD303", arg, f"starred argument to '{name}'",
                             "pass the arguments one by one")
                return
            if arg.keyword is None:
                given.append(positional[i] if i < len(positional) else "")
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
                if position in statics and (name, position) in SIZED_STATICS and \
                        not is_static(arg.value):
                    for leaf in sized_leaves(arg.value):  # np.pad(x, ((0, 0), (pad, pad)))
                        self.check(leaf)
                    continue
                if position in statics and not is_static(arg.value):
                    fence.report("AD303", arg.value, f"'{statics[position]}' of '{name}' "
                                 "must be a constant", "write it as a literal: an int, a "
                                 "string, or a tuple of them")
                    return
                continue
            if dtype_source(node, name) is arg:  # np.zeros(D, dtype=x.dtype)
                self.check(arg.value.value)
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


def dtype_source(node: cst.Call, name: str):
    """The `dtype=x.dtype` argument of `np.zeros(...)` / `np.ones(...)`, else None."""
    if name not in ("numpy.zeros", "numpy.ones"):
        return None
    return next((a for a in node.args if a.keyword is not None and
                 a.keyword.value == "dtype" and isinstance(a.value, cst.Attribute) and
                 a.value.attr.value == "dtype"), None)


def _names_in(node) -> list:
    """The names an expression reads (not attribute names, not keywords)."""
    found, pending = [], [node]
    while pending:
        current = pending.pop()
        if isinstance(current, cst.Name):
            found.append(current)
        elif isinstance(current, cst.Attribute):
            pending.append(current.value)
        elif isinstance(current, cst.Arg):
            pending.append(current.value)
        else:
            pending.extend(children(current))
    return found


# Static arguments that may also be ints computed at run time: np.pad's pad_width, as a
# convolution pads by its `pad` hyperparameter (the stager's rule is np_pad_sized).
SIZED_STATICS = frozenset({("numpy.pad", 1)})


def sized_leaves(node) -> list:
    """The entries of a pad width written with values: `pad`, `(pad, pad)`, `((0, 0),
    (pad, pad))`."""
    if isinstance(node, (cst.Tuple, cst.List)):
        return [leaf for el in node.elements for leaf in sized_leaves(el.value)]
    return [node]





def _is_call_spelling(name: str) -> bool:
    return name.replace(".", "").isidentifier()


def _suggest(name: str) -> str:
    """`did you mean ...?` only for a really close name of the same module (`numpy.tanh`
    for `numpy.tahn`; not `numpy.var` for `numpy.array`, which share only their module)."""
    if name.startswith(("numpy.random.", "random.")):
        return ("draw the random numbers outside the function and pass them in (a dropout "
                "mask, noise): then the forward pass and its gradient use the same ones")
    module, _, leaf = name.rpartition(".")
    spellings = {s.rpartition(".")[2]: s for s in REGISTRY.spellings()
                 if _is_call_spelling(s) and s.rpartition(".")[0] == module}
    close = [spellings[c] for c in difflib.get_close_matches(leaf, list(spellings), n=3,
                                                              cutoff=0.8)]
    if close:
        return "did you mean " + " or ".join(f"'{c}'" for c in close) + "? (docs/rules.md)"
    return ("supported functions are listed in docs/rules.md; rewrite it with them, or "
            "declare its derivative yourself: docs/rules.md#adding-your-own-rule")
