"""Staging expressions: one operand, or one statement per operation, for names, constants,
operators, calls, comparisons, conditional expressions and indexing.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import libcst as cst

from adgen.statickeys import key_form
from adgen import gates, ir, runlists
from adgen.containers import describe, is_container, items_of
from adgen.fence_expressions import CONTAINER_FOLDS, dtype_source
from adgen.members import matches as member_matches
from adgen.members import path_of
from adgen.methods import is_static_method, method_called
from adgen.naming import RUNTIME
from adgen.rules import REGISTRY
from adgen.source import MATH_CONSTANTS, literal_value
from adgen.stage_containers import INT_ARITHMETIC
from adgen.stage_env import _Local
from adgen.staticargs import (JOINERS, is_newaxis, is_shape, is_static, is_value_attribute,
                              joined_operands, shape_index, static_positionals, static_value)
from adgen.userrules import called_primitive, stage_primitive

_BINARY_SPELLINGS = {cst.Add: "+", cst.Subtract: "-", cst.Multiply: "*", cst.Divide: "/",
                     cst.Power: "**", cst.MatrixMultiply: "@", cst.FloorDivide: "//",
                     cst.Modulo: "%"}
_COMPARISON_SPELLINGS = {cst.LessThan: "<", cst.LessThanEqual: "<=", cst.GreaterThan: ">",
                         cst.GreaterThanEqual: ">=", cst.Equal: "==", cst.NotEqual: "!=",
                         cst.Is: "is", cst.IsNot: "is not"}
_FOLDS = CONTAINER_FOLDS + ("len", "max", "min")  # (rules of their own: arrays, pairs)


class ExpressionStaging:
    """Stager methods for expressions."""

    def stage_expr(self, node: cst.BaseExpression, target: Optional[str] = None,
                   user: Optional[str] = None) -> ir.Operand:
        """Stage `node`; returns the operand holding its value.  With `target`, the value is
        bound to that name (by its outermost operation, or a copy for a plain operand)."""
        gate = gates.match(node, self.scope)
        if gate is not None:
            rule_name, operand = gate
            return self.add(rule_name, (self.stage_expr(operand),), node, target, user)
        late = self.late_member(node)
        if late is not None:  # p.get('k', np.zeros(D)): the entry, or the default staged here
            member, default = late
            return self.add("member_or", (ir.Name(member.name), self.stage_expr(default)),
                            node, target, user)
        operand = self.leaf(node)
        if operand is not None:
            if target is None:
                return operand
            return self.add("copy", (operand,), node, target, user)
        if isinstance(node, cst.UnaryOperation):
            inner = self.stage_expr(node.expression)
            if isinstance(node.operator, cst.Plus):
                return inner if target is None else self.add("copy", (inner,), node, target, user)
            return self.add("neg", (inner,), node, target, user)
        if isinstance(node, cst.BinaryOperation):
            left = self.stage_expr(node.left)
            right = self.stage_expr(node.right)
            folded = _int_arithmetic(node.operator, left, right)
            if folded is not None:  # L = len(parameters) // 2: a count known when compiling
                return folded if target is None else \
                    self.add("copy", (folded,), node, target, user)
            rule = REGISTRY.by_spelling(_BINARY_SPELLINGS[type(node.operator)])
            return self.add(rule.name, (left, right), node, target, user)
        if isinstance(node, cst.IfExp):
            return self.stage_ifexp(node, target, user)
        if isinstance(node, cst.Call):  # a primitive the user declared: one statement
            declared = called_primitive(self.parsed, self.scope, node.func, self.env)
            if declared is not None:
                return stage_primitive(self, node, target, user, *declared)
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and \
                isinstance(self.env.get(node.func.value), _Local):  # a nested def, a lambda
            local = self.env[node.func.value].node
            return self.stage_call(node, target, user, self.parsed, node.func.value, local,
                                   self.env)
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and \
                node.func.value in self.scope.functions and node.func.value not in self.env:
            return self.stage_call(node, target, user, self.parsed, node.func.value)
        method = method_called(self.parsed, self.current, node.func) \
            if isinstance(node, cst.Call) else None
        if method is not None and node.func.value.value in self.env:  # self.sigmoid(z)
            return self.stage_call(node, target, user, self.parsed,
                                   f"self.{node.func.attr.value}", method,
                                   receiver=None if is_static_method(method) else
                                   self.env[node.func.value.value])
        if isinstance(node, cst.Call) and not is_value_attribute(node.func, self.scope,
                                                                 self.env):
            elsewhere = self.parsed.user_function(self.scope.qualify(node.func))
            if elsewhere is not None:  # a function of a user module
                return self.stage_call(node, target, user, *elsewhere)
        if isinstance(node, cst.Call) and not is_value_attribute(node.func, self.scope,
                                                                 self.env):
            source = dtype_source(node, self.scope.qualify(node.func))
            if source is not None and source is not getattr(self, "dtype_staged", None):
                return self.stage_dtyped_filler(node, source, target, user)
        if isinstance(node, cst.Call):
            func = node.func
            attrs = tuple((a.keyword.value, static_value(a.value)) for a in node.args
                          if a.keyword is not None and
                          a is not getattr(self, "dtype_staged", None))
            positional = [a.value for a in node.args if a.keyword is None]
            joined = joined_operands(node, self.scope)
            if joined is not None:  # np.concatenate([a, b], axis=1): the arrays are operands
                positional = joined + positional[1:]
            spelling = "." + func.attr.value if is_value_attribute(func, self.scope, self.env) \
                else self.scope.qualify(func)
            listed = runlists.call(self, spelling, positional, attrs, node, target, user)
            if listed is not None:  # np.stack(hs), sum(hs) of a list built at run time
                return listed
            if spelling in _FOLDS and len(positional) == 1 and \
                    self.may_hold_container(positional[0]):  # sum(hs), np.prod(x.shape[1:])
                return self.fold(spelling, self.stage_value(positional[0]), node, target, user)
            if spelling in ("max", "min") and len(positional) == 1 and not attrs:
                self.report("AD302", node, f"'{spelling}' of one value that is not a list "
                            "or tuple", f"for an array, use np.{spelling}(x); for numbers, "
                            f"{spelling}(a, b) or {spelling}([a, b, c])")
                return ir.Num(0.0)
            if spelling.startswith("."):  # a method: x.sum(axis=0)
                positional.insert(0, func.value)
            rule = REGISTRY.by_spelling(spelling)
            if spelling == "sum" and rule is None and len(positional) == 1 and not attrs:
                # sum(x) of an array adds its rows, as np.sum(x, axis=0) does (numpy adds in
                # its own order: the last bits of the value may differ, not the gradient)
                rule, attrs = REGISTRY.by_spelling("numpy.sum"), (("axis", 0),)
            if rule is None:  # sum(x) of an array: the fence lets it through for containers
                self.report("AD301", node, f"'{spelling}' of something that is not a list "
                            "or tuple of values", "for an array, use np.sum(x, axis=0) or "
                            "np.prod(x, axis=0)")
                return ir.Num(0.0)
            if rule.name == "np_array" and joined is None:  # np.array(x): a copy of x
                rule = REGISTRY["np_copy" if spelling == "numpy.array" else "np_asarray"]
            if rule.name == "np_pad" and len(positional) > 1 and \
                    not is_static(positional[1]):  # np.pad(x, ((0, 0), (pad, pad)))
                return self.stage_sized_pad(node, positional, attrs, target, user)
            positional, attrs = static_positionals(rule, positional, attrs)
            args = []
            for a in positional:
                if isinstance(a, ir.Name):  # a run-time list, stacked (runlists.call)
                    args.append(a)
                    continue
                value = self.stage_value(a) if self.may_hold_container(a) else self.stage_expr(a)
                if is_container(value):  # np.stack(hs), x.reshape((N, -1)), np.zeros(shape)
                    items = items_of(value)
                    if (rule.name == "reshape" or spelling in JOINERS) and items is not None \
                            and not any(is_container(i) for i in items) and a is positional[-1]:
                        args += items
                        continue
                    if rule.name == "np_polyval" and a is positional[0] and items is not None \
                            and not any(is_container(i) for i in items):
                        # np.polyval([a, b, c], x): numpy reads the list as np.array([a, b, c])
                        args.append(self.add("np_array", tuple(items), a, None))
                        continue
                    self.report("AD204", a, f"{describe(value)} as an argument of "
                                f"'{spelling.lstrip('.')}'", "pass single values (arrays, "
                                "numbers); np.stack(values) makes one array of a list")
                    value = ir.Num(0.0)
                args.append(value)
            args = tuple(args)
            return self.add(self.array_form(rule.name, args), args, node, target, user, attrs)
        if isinstance(node, cst.Comparison):
            comparison = node.comparisons[0]
            if isinstance(comparison.operator, (cst.Equal, cst.NotEqual)) and \
                    (is_shape(node.left) or is_shape(comparison.comparator)):
                return self.stage_shape_test(node, target, user)
            rule = REGISTRY.by_spelling(_COMPARISON_SPELLINGS[type(comparison.operator)])
            args = (self.stage_expr(node.left), self.stage_expr(comparison.comparator))
            return self.add(rule.name, args, node, target, user)
        if isinstance(node, cst.Subscript) and shape_index(node) is not None:  # x.shape[k]
            array = self.stage_expr(node.value.value)
            return self.add("dim", (array,), node, target, user, (("axis", shape_index(node)),))
        if isinstance(node, cst.Subscript):
            return self.stage_getitem(node, target, user)
        if isinstance(node, cst.Attribute):  # a value's attribute: x.T
            rule = REGISTRY.by_spelling("." + node.attr.value)
            return self.add(rule.name, (self.stage_expr(node.value),), node, target, user)
        raise AssertionError(f"stager reached an unfenced node {type(node).__name__}")

    def stage_ifexp(self, node: cst.IfExp, target: Optional[str], user: Optional[str]):
        """`a if c else b`: a branch, each path computing its value into the same name."""
        test = self.stage_condition(node.test)
        if target is None:
            target, user = self.names.numbered("sel"), None
        outer, paths = self.body, []
        for value in (node.body, node.orelse):
            self.body = []
            operand = self.stage_expr(value, target, user)
            if operand != ir.Name(target):  # a helper's result under another name
                self.add("copy", (operand,), value, target, user)
            paths.append(self.body)
        self.body = outer
        self.body.append(ir.If(test, tuple(paths[0]), tuple(paths[1]), self.parsed.pos(node),
                               self.new_key()))
        return ir.Name(target)

    def stage_getitem(self, node: cst.Subscript, target, user) -> ir.Operand:
        """`x[index]`: the array and the index's values are operands; the index's structure
        (slices, constants, np.newaxis) is a static attribute.  An entry of a container
        (`cache[0]`, `hs[-1]`, `helper(x)[0]`) is that entry."""
        value = self.stage_value(node.value) if self.may_hold_container(node.value) \
            else self.stage_expr(node.value)
        if is_container(value):
            return self.pick(value, node, target, user)
        key = next((el.slice.value for el in node.slice if isinstance(el.slice, cst.Index)
                    and key_form(el.slice.value) is not None), None)
        if key is not None:  # params[i]['W'] of a list nothing says holds dicts
            what = f"the string {key.value}" if isinstance(key, cst.SimpleString) else \
                f"the key {' '.join(self.parsed.code(key).split())}"
            root = node.value
            while isinstance(root, cst.Subscript):
                root = root.value
            bound = self.env.get(root.value) if isinstance(root, cst.Name) else None
            param = bound.id if isinstance(bound, ir.Name) and \
                bound.id in {p.name for p in self.params} else None  # (a helper's: the caller's)
            self.report("AD204", node, f"indexing by {what} needs a dict here, and nothing "
                        "says this is one", (
                            f"give the dict's keys: adgen FILE --shapes '{param}=dict:W1,b1,"
                            "W2,b2' (the library API takes them from the arguments)")
                        if param is not None and root is node.value else self.sequence_help(
                            node.value, "give the dicts' keys: adgen FILE --shapes "
                            "'layers=list:3,dict:W,b' for a list of dicts, "
                            "'parameters=dict:W1,b1' for a dict passed to a helper (the "
                            "library API takes them from the arguments)"))
            return ir.Num(0.0)
        operands, spec = self.stage_index(node, [value])
        return self.add("getitem", tuple(operands), node, target, user,
                        (("index", tuple(spec)),))

    def stage_index(self, node: cst.Subscript, operands: list) -> tuple[list, list]:
        """The index of `node`: its values appended to `operands`, its structure as a spec
        of ("slice", lower, upper, step), ("const", k), ("arg", position), ("newaxis",)."""

        def part(expr):
            if expr is None:
                return None
            try:
                value = static_value(expr)
                if isinstance(value, int) and not isinstance(value, bool):
                    return ("const", value)
            except ValueError:
                pass
            staged = self.stage_expr(expr)
            if isinstance(staged, ir.Num) and isinstance(staged.value, int) and \
                    not isinstance(staged.value, bool):  # x[i], i of a written-out loop
                return ("const", staged.value)
            operands.append(staged)
            return ("arg", len(operands) - 1)

        spec = []
        for element in node.slice:
            index = element.slice
            if isinstance(index, cst.Slice):
                spec.append(("slice", part(index.lower), part(index.upper), part(index.step)))
            elif is_newaxis(index.value, self.scope):
                spec.append(("newaxis",))
            else:
                spec.append(part(index.value))
        return operands, spec

    def stage_shape_test(self, node: cst.Comparison, target, user):
        """`K.shape == (N, M)`, `a.shape != b.shape` (an assert's test): compared as Python
        compares the tuples, at run time (the rank need not be known)."""
        comparison = node.comparisons[0]
        left, right = node.left, comparison.comparator
        if not is_shape(left):
            left, right = right, left
        equal = isinstance(comparison.operator, cst.Equal)
        if is_shape(right):
            args = (self.stage_expr(left.value), self.stage_expr(right.value))
            return self.add("shape_test", args, node, target, user,
                            (("equal", equal), ("shapes", True)))
        if not isinstance(right, cst.Tuple):
            self.report("AD305", node, "a shape compared with something that is not a tuple "
                        "of sizes", "compare it with a tuple: x.shape == (N, D)")
            return ir.Num(0)
        sizes = tuple(self.stage_expr(el.value) for el in right.elements)
        return self.add("shape_test", (self.stage_expr(left.value),) + sizes, node, target,
                        user, (("equal", equal),))

    def stage_sized_pad(self, node, positional, attrs, target, user):
        """np.pad with widths computed at run time: one (before, after) pair per axis, each
        an int constant or an int operand (rule np_pad_sized)."""
        array = self.stage_expr(positional[0])
        if len(positional) > 2:  # np.pad(x, widths, 'constant')
            attrs = (("mode", static_value(positional[2])),) + attrs
        attrs = tuple((k, v) for k, v in attrs if k != "pad_width")
        operands: list = [array]

        def entry(leaf):
            if isinstance(leaf, cst.Integer):
                return int(leaf.value)
            value = self.stage_expr(leaf)
            if isinstance(value, ir.Num) and isinstance(value.value, int):
                return value.value
            operands.append(value)
            return ("arg", len(operands) - 1)

        width = positional[1]
        items = [el.value for el in width.elements] \
            if isinstance(width, (cst.Tuple, cst.List)) else [width]
        nested = [isinstance(i, (cst.Tuple, cst.List)) for i in items]
        rank = self.type_of(array).rank
        if all(nested) and (len(items) > 1 or rank is not None):
            pairs = [[el.value for el in i.elements] for i in items]
            if any(len(p) not in (1, 2) for p in pairs):
                return self._pad_refused(width, "each axis's width is (before, after)")
            pairs = [(entry(p[0]), entry(p[-1])) for p in pairs]  # (pad,) pads both sides
            if len(pairs) == 1:
                pairs = pairs * rank
        elif not any(nested) and len(items) in (1, 2) and rank is not None:
            pair = (entry(items[0]), entry(items[-1]))  # pad, or (before, after): every axis
            pairs = [pair] * rank
        elif not any(nested) and len(items) in (1, 2):
            return self._pad_refused(width, "np.pad with one width for every axis needs an "
                                     "operand of known rank")
        else:
            return self._pad_refused(width, "a pad width is an int, (before, after), or "
                                     "one (before, after) per axis")
        for value in operands[1:]:
            if self.type_of(value).kind not in ("int", "unknown"):
                return self._pad_refused(width, "a pad width is made of ints")
        return self.add("np_pad_sized", tuple(operands), node, target, user,
                        (("widths", tuple(pairs)),) + attrs)

    def _pad_refused(self, node, why: str):
        self.report("AD305", node, f"cannot differentiate 'numpy.pad' here: {why}",
                    "write the pad width as ((before, after), ...) with one pair per axis")
        return ir.Num(0.0)

    def member_path(self, node: cst.BaseExpression):
        """(parameter, path) of a member `node` reads: of the function's own parameters,
        or, in an inlined method, through its `self` bound to the caller's instance."""
        if not self.callers:
            return path_of(node, self.param_names)
        roots = {name for name, value in self.env.items()
                 if isinstance(value, ir.Name) and value.id in self.instance_params}
        where = path_of(node, roots) if roots else None
        return None if where is None else (self.env[where[0]].id, where[1])

    def stage_dtyped_filler(self, node: cst.Call, source: cst.Arg, target, user):
        """`np.zeros(D, dtype=x.dtype)`: `np.zeros(D)` staged, then given x as the
        operand whose dtype it takes (rule np_zeros_as)."""
        like = self.stage_expr(source.value.value)
        self.dtype_staged = source  # staged as np.zeros(D), without the keyword
        try:
            result = self.stage_expr(node, target, user)
        finally:
            self.dtype_staged = None
        last = self.body[-1]
        if not isinstance(last, ir.Assign) or last.target != getattr(result, "id", None) or \
                last.prim not in ("np_zeros", "np_ones"):
            self.report("AD303", source, "dtype= of this call", "write np.zeros_like(x)")
            return result
        types = last.types + (self.type_of(like),) if last.types else ()
        self.body[-1] = dataclasses.replace(last, prim=last.prim + "_as",
                                            args=last.args + (like,), types=types)
        if self.infer:
            self.defs[last.target] = self.body[-1]
        return result

    def late_member(self, node: cst.BaseExpression):
        """(member, default node) when `node` is a `.get` whose default reads a local
        (members.reads_local), else None."""
        if not self.members or self.callers or not isinstance(node, cst.Call):
            return None
        where = path_of(node, self.param_names)
        if where is None or where[1][-1][0] != "get" or where[1][-1][2] is None:
            return None
        member = next((m for m in self.members if m.late and member_matches(m, *where)), None)
        return None if member is None else (member, where[1][-1][2])

    def leaf(self, node: cst.BaseExpression) -> Optional[ir.Operand]:
        """A constant, a name or a member (`params['W1']`) as an operand (no statement
        needed), else None."""
        if self.members and isinstance(node, (cst.Subscript, cst.Attribute, cst.Call)):
            where = self.member_path(node)
            if where is not None:
                for m in self.members:
                    if member_matches(m, *where):
                        return ir.Name(m.name)
        if isinstance(node, (cst.Integer, cst.Float)):
            return ir.Num(literal_value(node), node.value)
        if (isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus)
                and isinstance(node.expression, (cst.Integer, cst.Float))
                and not node.expression.lpar):
            return ir.Num(-literal_value(node.expression), "-" + node.expression.value)
        if isinstance(node, cst.SimpleString) or (isinstance(node, cst.Name) and
                                                  node.value == "None"):
            return ir.Lit(self.parsed.code(node).strip())  # 'train', None: static values
        if isinstance(node, cst.Name):
            if node.value in ("True", "False") and node.value not in self.env:
                return ir.Num(int(node.value == "True"), node.value)
            if node.value in self.env:
                return self.lookup(node.value, node)
            const = self.scope.consts[node.value]
            if self.scope is not self.home.scope:  # another module's constant: its value
                return ir.Num(const.value, repr(const.value))
            if const.name in RUNTIME and const.name not in self.consts_used:
                self.consts_used[const.name] = dataclasses.replace(
                    const, name=self.names.fresh(const.name))
            self.consts_used.setdefault(const.name, const)
            return ir.Name(self.consts_used[const.name].name)
        if isinstance(node, cst.Attribute) and not is_value_attribute(node, self.scope, self.env):
            dotted = self.scope.qualify(node)
            assert dotted in MATH_CONSTANTS
            return ir.Attr(dotted.replace("numpy.", "np.", 1))  # as the module imports it
        return None


def _int_arithmetic(operator, left: ir.Operand, right: ir.Operand) -> Optional[ir.Num]:
    """`+ - * //` of two int constants, computed (Python's ints are exact); else None."""
    if type(operator) not in INT_ARITHMETIC or not all(
            isinstance(v, ir.Num) and type(v.value) is int for v in (left, right)):
        return None
    if isinstance(operator, cst.FloorDivide) and right.value == 0:
        return None
    return ir.Num(INT_ARITHMETIC[type(operator)](left.value, right.value))
