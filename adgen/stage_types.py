"""Adding one staged statement (`add`): its derived name, its type checked against its rule
in array code, the masks and memory it shares, and the ranks it asks for while facts are
inferred (inference.py).
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from adgen import ir, runlists, shapes
from adgen.memory import VIEWS
from adgen.rules import REGISTRY, Context, RuleError
from adgen.rules.arrays import elementwise_type
from adgen.rules.sequences import REQUESTED_RANKS
from adgen.stage_expressions import _BINARY_SPELLINGS

_ATTR_FRAGMENTS = {"math.pi": "pi", "math.e": "e", "math.tau": "tau", "np.pi": "pi",
                   "np.e": "e"}
_ARRAY_FORMS = {"abs": "np_abs", "max": "np_maximum", "min": "np_minimum"}
STATIC = shapes.VType("static", None)  # a string, None: compared, never differentiated
_MASKS = frozenset({"lt", "le", "gt", "ge", "eq", "ne"})


class TypeStaging:
    """Stager methods for adding statements and typing their values."""

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
            runlists.check(self, prim, args, attrs, node)
            types = tuple(self.type_of(a) for a in args)
            self.current_args = args
            self.types[target] = self.check_types(rule, Context(len(args), attrs, types), node)
            if prim == "copy" and types[0].kind == "list":  # b = hs: the same list
                self.types[target] = types[0]
            if prim in ("add", "sub", "mul") and self.types[target] == shapes.INT:
                size = shapes.size_of_ints(prim, [_size(a, t) for a, t in zip(args, types)])
                if size is not None:  # 2 * H: a size, "2*H" (slices: a[:, H:2 * H])
                    self.types[target] = shapes.VType("int", (), size)
        self.body.append(ir.Assign(target, prim, args, self.parsed.pos(node), user, attrs, types))
        if prim in _MASKS or (prim == "copy" and isinstance(args[0], ir.Name) and
                              args[0].id in self.masks):  # a boolean mask, whatever its shape
            self.masks.add(target)
        if self.infer:
            self.defs[target] = self.body[-1]
            self.request_ranks(rule, args, types, attrs, target, node)
        if self.array_mode and args and isinstance(args[0], ir.Name):
            if prim == "copy":
                self.memory.same(target, self.memory.of(args[0].id))
            elif prim in VIEWS or (prim == "getitem" and _basic_index(attrs, types)):
                self.memory.view(target, args[0].id)
            if prim == "getitem" and types[0].kind == "list":  # hs[-1]: the list's entry
                runlists.hold(self, ir.Name(target))
        return ir.Name(target)

    def request_ranks(self, rule, args, types, attrs, target: str, node) -> None:
        """While inferring facts (inference.py): an operand of unknown rank reduced along
        axis k >= 1 is assumed to have k + 1 axes; a parameter of unknown rank added to or
        subtracted from an array of known shape is assumed to broadcast over its last axis
        (a bias, `X @ W + b`, or a mean, `x - mu`)."""
        axis = dict(attrs).get("axis") if "keepdims" in rule.keywords else None  # reductions
        axes = axis if isinstance(axis, tuple) else (axis,) if isinstance(axis, int) else ()
        if axes and types and types[0].rank is None and (max(axes) >= 1 or min(axes) < 0):
            # x.mean(axis=1): (at least) a matrix; x.max(axis=-1): a matrix, most often
            rank = max(axes) + 1 if min(axes) >= 0 else max(2, -min(axes))
            self.rank_requests.append(([args[0]], rank, self.parsed.pos(node).line,
                                       f"reduced along axis {axis}"))
        joined = dict(attrs).get("axis", 0)
        if rule.name == "np_column_stack":  # columns: vectors, unless one says otherwise
            joined = 1
        if rule.name in ("np_stack", "np_concatenate", "np_column_stack") and \
                isinstance(joined, int) and any(t.rank is None for t in types):
            # np.stack([x, y], axis=1): the operands have (at least) one axis; concatenated
            # along axis 1, two
            known = [t.rank for t in types if t.rank is not None]  # all have one rank
            rank = known[0] if known else \
                (max(joined, 1) if rule.name != "np_concatenate" else max(joined + 1, 1)) \
                if joined >= 0 else -joined
            self.rank_requests.append(([a for a, t in zip(args, types) if t.rank is None],
                                       rank, self.parsed.pos(node).line,
                                       f"joined along axis {joined}"))
        spec = dict(attrs).get("index") if rule.name == "getitem" else None
        if spec and types[0].rank is None and isinstance(args[0], ir.Name) and \
                args[0].id in self.param_types:
            # x[0] * x[1]: when nothing else says, x has one axis per constant index (the
            # most any of its indexings uses); a slice or a value (W[idx], x[:, t], y[:])
            # says only "at least", so such a parameter gets no fallback at all
            count = sum(1 for e in spec if e[0] != "newaxis")
            exact = all(e[0] == "const" for e in spec)  # a slice or a value: "at least"
            self.fallback_requests.append(([args[0]], count if exact else None,
                                           self.parsed.pos(node).line,
                                           f"indexed by {count} ind{'ices' if count > 1 else 'ex'}"))
        if rule.name not in ("add", "sub"):  # a product may as well be of equal shapes
            return
        known = [t for t in types if t.rank is not None and t.shape]  # a number says nothing
        if known and any(isinstance(a, ir.Name) and a.id in self.param_types and t.rank is None
                         for a, t in zip(args, types)):
            spelled = rule.spellings[0] if rule.spellings else rule.name
            rank = max(t.rank for t in known)
            self.rank_requests.append(([ir.Name(target)], rank, self.parsed.pos(node).line,
                                       f"'{spelled}' with a {rank}-d value"))

    def array_form(self, prim: str, args) -> str:
        """The builtins `abs(x)` and `max(a, b)`, `min(a, b)` on values that may be arrays
        (their kind is not known): the numpy rule, which is also right for numbers (on a
        known array, `max` is AD304, as Python itself cannot compare arrays)."""
        if not self.array_mode or prim not in _ARRAY_FORMS or \
                (prim != "abs" and len(args) != 2):
            return prim
        kinds = [self.type_of(a).kind for a in args]
        if "unknown" in kinds and (prim == "abs" or "array" not in kinds):
            return _ARRAY_FORMS[prim]
        if prim == "abs" and "array" in kinds:
            return _ARRAY_FORMS[prim]
        return prim

    def type_of(self, operand: ir.Operand) -> shapes.VType:
        if isinstance(operand, ir.Name):
            return self.types.get(operand.id, shapes.FLOAT)
        if isinstance(operand, ir.Lit):
            return STATIC
        return shapes.INT if isinstance(operand, ir.Num) and isinstance(operand.value, int) \
            else shapes.FLOAT

    def check_types(self, rule, ctx: Context, node: cst.CSTNode) -> shapes.VType:
        """The result's type; a diagnostic when the operands do not suit the rule."""
        arrays = [t for t in ctx.types if t.is_array]
        own = rule.spellings[0] if rule.spellings else rule.name
        spelled = _spelled(node, self.scope) or own
        if arrays and own == "float":
            self.report("AD304", node, "'float' is applied to an array",
                        "float() takes a number: reduce the array first (np.sum, np.mean), "
                        "or take its one element (x[0])")
            return shapes.FLOAT
        if arrays and (own.startswith("math.") or own in ("abs", "max", "min")):
            self.report("AD304", node, f"'{spelled}' is applied to an array",
                        f"use the numpy function (np.{spelled.split('.')[-1]}) for arrays")
            return shapes.array(None)
        try:
            if rule.shaped is not None:
                rule.specialized(ctx)
            return (rule.infer or elementwise_type)(ctx)
        except RuleError as exc:
            if self.infer:
                # the operands of unknown rank: matrices, or what the rule asks for (a
                # vector of coefficients for np.polyval, numbers for np.linspace)
                which, rank = REQUESTED_RANKS.get(rule.name, (None, 2))
                unknown = [a for i, (a, t) in enumerate(zip(self.current_args, ctx.types))
                           if t.rank is None and (which is None or i in which)]
                what = f"an operand of {spelled}" if rule.name == "matmul" else \
                    f"'{spelled}'"
                self.rank_requests.append((unknown, rank, self.parsed.pos(node).line, what))
            help = ("give the parameters' shapes: adgen FILE --shapes 'x=N,D', or "
                    "annotations, x: \"N D\" (the library API takes them from the "
                    "arguments: arrays, and the arrays in dicts, objects and lists of them)")
            self.report("AD305", node, f"cannot differentiate '{spelled}' here: {exc}", help)
            return shapes.array(None)


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


def _size(operand: ir.Operand, t: shapes.VType):
    """An int operand as a sum of sizes (shapes.linear): a constant, or an int that is a
    size (`H = x.shape[1]`); else None."""
    if isinstance(operand, ir.Num):
        return shapes.linear(operand.value) if isinstance(operand.value, int) else None
    if t.kind == "int" and t.dim is not None:
        return shapes.linear(t.dim)
    return None


def _basic_index(attrs, types) -> bool:
    """Whether an index is basic (constants, slices, integers, np.newaxis): numpy then
    returns a view; integer or boolean arrays (fancy indexing) make a copy."""
    for entry in dict(attrs).get("index", ()):
        if entry and entry[0] == "arg":
            t = types[entry[1]] if types else None
            if t is not None and t.is_array:
                return False
    return True


def _spelled(node: cst.CSTNode, scope) -> Optional[str]:
    """How the user wrote an operation: `@`, `.dot`, `np.dot` (for messages)."""
    if isinstance(node, cst.BinaryOperation):
        return _BINARY_SPELLINGS.get(type(node.operator))
    if isinstance(node, cst.Call):
        if isinstance(node.func, cst.Attribute) and scope.qualify(node.func) is not None and \
                scope.qualify(node.func).startswith(("numpy.", "math.")):
            return scope.qualify(node.func).replace("numpy.", "np.", 1)
        if isinstance(node.func, cst.Attribute):
            return "." + node.func.attr.value
        return scope.qualify(node.func)
    return None
