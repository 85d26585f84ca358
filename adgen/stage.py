"""Stage: a fenced libcst function -> an `ir.Function` of single-operation statements.

Nested expressions are flattened into statements with derived names (`xpy = x + y`,
`xpysqr = xpy ** 2`); composite gates become one statement (`sigy = sigmoid(y)`); the outermost
operation of a user's assignment keeps the user's name; a re-assigned name gets a new version
(`h`, `h_1`, ...) so that every name is assigned once and the backward pass can read any value
the forward pass computed.  The stager assumes the fence accepted the function.
"""

from __future__ import annotations

import re
from typing import Optional

import libcst as cst

from adgen import gates, ir, shapes
from adgen.diagnostics import AdgenError
from adgen.fence import assigned_names, small_statements
from adgen.naming import Names
from adgen.rules import REGISTRY, Context, RuleError
from adgen.rules.arrays import elementwise_type
from adgen.source import MATH_CONSTANTS, ParsedModule, evaluate_constant, literal_value
from adgen.staticargs import (is_newaxis, is_shape, is_value_attribute, joined_operands,
                              shape_index, static_value)

_BINARY_SPELLINGS = {cst.Add: "+", cst.Subtract: "-", cst.Multiply: "*", cst.Divide: "/",
                     cst.Power: "**", cst.MatrixMultiply: "@"}
_COMPARISON_SPELLINGS = {cst.LessThan: "<", cst.LessThanEqual: "<=", cst.GreaterThan: ">",
                         cst.GreaterThanEqual: ">=", cst.Equal: "==", cst.NotEqual: "!="}
_AUG_SPELLINGS = {cst.AddAssign: "+", cst.SubtractAssign: "-", cst.MultiplyAssign: "*",
                  cst.DivideAssign: "/", cst.PowerAssign: "**"}
_ATTR_FRAGMENTS = {"math.pi": "pi", "math.e": "e", "math.tau": "tau"}


class Stager:
    def __init__(self, parsed: ParsedModule, fn: cst.FunctionDef):
        self.parsed = parsed
        self.scope = parsed.scope
        self.fn = fn
        self.user_locals = assigned_names(fn)
        params = _params(fn)
        params_names = {p.name.value for p in params}
        taken = set(self.user_locals) | params_names
        taken |= set(self.scope.consts) | set(self.scope.modules) | set(self.scope.imported)
        taken |= set(self.scope.functions) | set(self.scope.others)
        if fn.name.value not in self.user_locals and fn.name.value not in params_names:
            taken.discard(fn.name.value)  # the generated module never defines the function
        self.names = Names(taken)
        self.env: dict[str, ir.Operand] = {}
        self.body: list[ir.Assign] = []
        self.consts_used: dict[str, ir.ModuleConst] = {}
        self.first_binding: set[str] = set()
        self.params = tuple(
            ir.Param(p.name.value, self._default_text(p), parsed.pos(p)) for p in params
        )
        for p in self.params:
            self.env[p.name] = ir.Name(p.name)
        declared = {p.name.value: shapes.parse_annotation(
            parsed.code(p.annotation.annotation) if p.annotation else None) for p in params}
        self.array_mode = uses_arrays(parsed, fn, declared)
        default = shapes.UNKNOWN if self.array_mode else shapes.FLOAT
        numeric_default = {p.name.value for p in params if p.default is not None}
        self.types: dict[str, shapes.VType] = {  # hyperparameters (x=1e-3) are floats
            name: declared[name] or (shapes.FLOAT if name in numeric_default else default)
            for name in declared}
        self.diagnostics: list = []

    def _default_text(self, p: cst.Param) -> Optional[str]:
        if p.default is None:
            return None
        value = evaluate_constant(p.default, self.scope)
        text = self.parsed.code(p.default).strip()
        return text if _plain_number(text) else repr(value)

    # ------------------------------------------------------------ statements

    def stage(self) -> ir.Function:
        output: ir.Operand = ir.Num(0.0)
        stem = self.fn.name.value
        for stmt, _ in small_statements(self.fn):
            if isinstance(stmt, cst.Assign):
                self.stage_assign(stmt.targets[0].target, stmt.value)
            elif isinstance(stmt, cst.AnnAssign) and stmt.value is not None:
                self.stage_assign(stmt.target, stmt.value)
            elif isinstance(stmt, cst.AugAssign):
                self.stage_aug_assign(stmt)
            elif isinstance(stmt, cst.Return):
                output, stem = self.stage_return(stmt.value)
        if self.diagnostics:
            raise AdgenError(self.diagnostics)
        consts = tuple(sorted(self.consts_used.values(), key=lambda c: (c.pos.line, c.pos.col)))
        return ir.Function(
            name=self.fn.name.value, params=self.params, body=tuple(self.body), output=output,
            output_stem=stem, consts=consts, path=self.parsed.path, pos=self.parsed.pos(self.fn),
            types=dict(self.types) if self.array_mode else {},
        )

    def stage_assign(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if isinstance(target, (cst.Tuple, cst.List)) and is_shape(value):  # N, D = x.shape
            array = self.stage_expr(value.value)
            for axis, element in enumerate(target.elements):
                name = element.value.value
                self.env[name] = self.add("dim", (array,), value, self.version(name), name,
                                          (("axis", axis),))
            return
        if isinstance(target, cst.Subscript):
            self.stage_setitem(target, self.stage_expr(value), target)
            return
        if isinstance(target, (cst.Tuple, cst.List)):
            names = [el.value.value for el in target.elements]
            values = [el.value for el in value.elements]
            staged = [self.stage_expr(v, self.version(n), user=n) for n, v in zip(names, values)]
            for name, operand in zip(names, staged):
                self.env[name] = operand
        else:
            name = target.value
            self.env[name] = self.stage_expr(value, self.version(name), user=name)

    def stage_setitem(self, target: cst.Subscript, value: ir.Operand,
                      node: cst.CSTNode) -> None:
        """`x[index] = value`: a new version of x, with the index's values as operands."""
        name = target.value.value
        array = self.env[name]
        operands, spec = self.stage_index(target, [array, value])
        fancy = any(entry[0] == "arg" and self.type_of(operands[entry[1]]).kind not in
                    ("int", "float") for entry in spec)
        if fancy and isinstance(value, ir.Name) and self.type_of(value).differentiable:
            self.report("AD305", target, "assigning a differentiable value through an "
                        "integer-array index (indices may repeat, and the last write wins)",
                        "assign a constant, or use a slice")
        version = self.version(name)
        self.env[name] = self.add("setitem", tuple(operands), node, version, name,
                                  (("index", tuple(spec)),))

    def stage_aug_assign(self, stmt: cst.AugAssign) -> None:
        if isinstance(stmt.target, cst.Subscript):  # x[index] += v: x[index] = x[index] + v
            rhs = self.stage_expr(stmt.value)
            part = self.stage_getitem(stmt.target, None, None)
            rule = REGISTRY.by_spelling(_AUG_SPELLINGS[type(stmt.operator)])
            updated = self.add(rule.name, (part, rhs), stmt, None)
            self.stage_setitem(stmt.target, updated, stmt)
            return
        name = stmt.target.value
        rhs = self.stage_expr(stmt.value)
        rule = REGISTRY.by_spelling(_AUG_SPELLINGS[type(stmt.operator)])
        target = self.version(name)
        self.env[name] = self.add(rule.name, (self.env[name], rhs), stmt, target, user=name)

    def stage_return(self, value: cst.BaseExpression) -> tuple[ir.Operand, str]:
        if isinstance(value, cst.Name) and value.value in self.user_locals:
            operand = self.env[value.value]
            if isinstance(operand, ir.Name) and self._defined_in_body(operand.id):
                return operand, value.value
        fname = self.fn.name.value
        target = self.names.claim(fname) if self.names.is_free(fname) else self.names.fresh("out")
        return self.stage_expr(value, target), target

    def _defined_in_body(self, name: str) -> bool:
        return any(s.target == name for s in self.body)

    def version(self, user_name: str) -> str:
        """The name for a new binding of a user variable: itself the first time, then `x_1`..."""
        if user_name in self.user_locals and user_name not in self.first_binding \
                and user_name not in self.env:
            self.first_binding.add(user_name)
            return user_name
        return self.names.fresh(user_name)

    # ------------------------------------------------------------ expressions

    def stage_expr(self, node: cst.BaseExpression, target: Optional[str] = None,
                   user: Optional[str] = None) -> ir.Operand:
        """Stage `node`; returns the operand holding its value.  With `target`, the value is
        bound to that name (by its outermost operation, or a copy for a plain operand)."""
        gate = gates.match(node, self.scope)
        if gate is not None:
            rule_name, operand = gate
            return self.add(rule_name, (self.stage_expr(operand),), node, target, user)
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
            rule = REGISTRY.by_spelling(_BINARY_SPELLINGS[type(node.operator)])
            return self.add(rule.name, (left, right), node, target, user)
        if isinstance(node, cst.Call):
            func = node.func
            attrs = tuple((a.keyword.value, static_value(a.value)) for a in node.args
                          if a.keyword is not None)
            positional = [a.value for a in node.args if a.keyword is None]
            joined = joined_operands(node, self.scope)
            if joined is not None:  # np.concatenate([a, b], axis=1): the arrays are operands
                positional = joined + positional[1:]
            if is_value_attribute(func, self.scope, self.env):  # a method: x.sum(axis=0)
                rule = REGISTRY.by_spelling("." + func.attr.value)
                positional.insert(0, func.value)
            else:
                rule = REGISTRY.by_spelling(self.scope.qualify(func))
            args = tuple(self.stage_expr(a) for a in positional)
            return self.add(rule.name, args, node, target, user, attrs)
        if isinstance(node, cst.Comparison):
            comparison = node.comparisons[0]
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

    def stage_getitem(self, node: cst.Subscript, target, user) -> ir.Name:
        """`x[index]`: the array and the index's values are operands; the index's structure
        (slices, constants, np.newaxis) is a static attribute."""
        operands, spec = self.stage_index(node, [self.stage_expr(node.value)])
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
            operands.append(self.stage_expr(expr))
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

    def leaf(self, node: cst.BaseExpression) -> Optional[ir.Operand]:
        """A constant or a name as an operand (no statement needed), else None."""
        if isinstance(node, (cst.Integer, cst.Float)):
            return ir.Num(literal_value(node), node.value)
        if (isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus)
                and isinstance(node.expression, (cst.Integer, cst.Float))
                and not node.expression.lpar):
            return ir.Num(-literal_value(node.expression), "-" + node.expression.value)
        if isinstance(node, cst.Name):
            if node.value in self.env:
                return self.env[node.value]
            const = self.scope.consts[node.value]
            self.consts_used[const.name] = const
            return ir.Name(const.name)
        if isinstance(node, cst.Attribute) and not is_value_attribute(node, self.scope, self.env):
            dotted = self.scope.qualify(node)
            assert dotted in MATH_CONSTANTS
            return ir.Attr(dotted)
        return None

    def add(self, prim: str, args: tuple[ir.Operand, ...], node: cst.CSTNode,
            target: Optional[str], user: Optional[str] = None,
            attrs: tuple[tuple[str, object], ...] = ()) -> ir.Name:
        """Append `target = prim(*args)`, inventing the target's name when none is given."""
        rule = REGISTRY[prim]
        if target is None:
            target = self.names.derived(rule.stem([_fragment(a) for a in args]), rule.noun)
            user = None
        types: tuple = ()
        if self.array_mode:
            types = tuple(self.type_of(a) for a in args)
            self.types[target] = self.check_types(rule, Context(len(args), attrs, types), node)
        self.body.append(ir.Assign(target, prim, args, self.parsed.pos(node), user, attrs, types))
        return ir.Name(target)

    def type_of(self, operand: ir.Operand) -> shapes.VType:
        if isinstance(operand, ir.Name):
            return self.types.get(operand.id, shapes.FLOAT)
        return shapes.INT if isinstance(operand, ir.Num) and isinstance(operand.value, int) \
            else shapes.FLOAT

    def check_types(self, rule, ctx: Context, node: cst.CSTNode) -> shapes.VType:
        """The result's type; a diagnostic when the operands do not suit the rule."""
        arrays = [t for t in ctx.types if t.is_array]
        spelled = rule.spellings[0] if rule.spellings else rule.name
        if arrays and (spelled.startswith("math.") or spelled in ("abs", "max", "min", "pow",
                                                                 "round")):
            self.report("AD304", node, f"'{spelled}' is applied to an array",
                        f"use the numpy function (np.{spelled.split('.')[-1]}) for arrays")
            return shapes.array(None)
        try:
            if rule.shaped is not None:
                rule.specialized(ctx)
            return (rule.infer or elementwise_type)(ctx)
        except RuleError as exc:
            self.report("AD305", node, f"cannot differentiate '{spelled}' here: {exc}",
                        "annotate the parameters with their shapes, e.g. x: \"N D\"")
            return shapes.array(None)

    def report(self, code: str, node: cst.CSTNode, message: str, help: str) -> None:
        self.diagnostics.append(self.parsed.diagnostic(code, node, message, help))


def uses_arrays(parsed: ParsedModule, fn: cst.FunctionDef, declared: dict) -> bool:
    """Whether a function works on arrays: an array annotation, `@`, or a numpy name."""
    if any(t is not None and t.is_array for t in declared.values()):
        return True
    code = "\n".join(line.split("#")[0] for line in parsed.code(fn.body).splitlines())
    aliases = [alias for alias, module in parsed.scope.modules.items() if module == "numpy"]
    aliases += [alias for alias, name in parsed.scope.imported.items()
                if name.startswith("numpy.")]
    return "@" in code or "[" in code or any(
        re.search(rf"\b{re.escape(alias)}\b", code) for alias in aliases)


def _params(fn: cst.FunctionDef) -> list[cst.Param]:
    return list(fn.params.posonly_params) + list(fn.params.params)


def _fragment(operand: ir.Operand) -> Optional[str]:
    """How an operand appears inside a derived name: `x`, `2`, `pi`; None if it cannot."""
    if isinstance(operand, ir.Name):
        return operand.id.replace("_", "")
    if isinstance(operand, ir.Attr):
        return _ATTR_FRAGMENTS.get(operand.dotted)
    if isinstance(operand.value, int) and 0 <= operand.value < 100:
        return str(operand.value)
    if isinstance(operand.value, float) and operand.value.is_integer() and 0 <= operand.value < 100:
        return str(int(operand.value))
    return None


def _plain_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def stage_function(parsed: ParsedModule, fn: cst.FunctionDef) -> ir.Function:
    return Stager(parsed, fn).stage()
