"""Stage: a fenced libcst function -> an `ir.Function` of single-operation statements.

Nested expressions are flattened into statements with derived names (`xpy = x + y`,
`xpysqr = xpy ** 2`); composite gates become one statement (`sigy = sigmoid(y)`); the outermost
operation of a user's assignment keeps the user's name; a re-assigned name gets a new version
(`h`, `h_1`, ...) so that every name is assigned once and the backward pass can read any value
the forward pass computed.  The stager assumes the fence accepted the function.
"""

from __future__ import annotations

import builtins
import dataclasses
import functools
import re
from typing import Optional

import libcst as cst

from adgen import gates, ir, shapes
from adgen.children import children
from adgen.containers import (DictValue, ListValue, describe, entry, is_container, items_of,
                               leaves, replace_leaves)
from adgen.diagnostics import AdgenError
from adgen.inference import stage_with_inference
from adgen.members import matches as member_matches
from adgen.members import of_function as members_of
from adgen.members import path_of
from adgen.memory import AMBIGUOUS, VIEWS, Memory
from adgen.fence_expressions import CONTAINER_FOLDS
from adgen.statements import (returns_cache, assigned_in, assigned_names, block_statements,
                              called_functions, else_statements, may_exit, may_return,
                              small_statements)
from adgen.naming import RUNTIME, Names
from adgen.rules import REGISTRY, Context, RuleError
from adgen.rules.arrays import elementwise_type
from adgen.multiresults import stage_results
from adgen import runlists
from adgen.userrules import called_primitive, stage_own_primitive, stage_primitive
from adgen.staticargs import static_positionals
from adgen.source import MATH_CONSTANTS, ParsedModule, evaluate_constant, literal_value
from adgen.staticargs import (JOINERS, is_newaxis, is_shape, is_value_attribute, joined_operands,
                              shape_index, static_value)

_BINARY_SPELLINGS = {cst.Add: "+", cst.Subtract: "-", cst.Multiply: "*", cst.Divide: "/",
                     cst.Power: "**", cst.MatrixMultiply: "@", cst.FloorDivide: "//",
                     cst.Modulo: "%"}
_COMPARISON_SPELLINGS = {cst.LessThan: "<", cst.LessThanEqual: "<=", cst.GreaterThan: ">",
                         cst.GreaterThanEqual: ">=", cst.Equal: "==", cst.NotEqual: "!=",
                         cst.Is: "is", cst.IsNot: "is not"}
_AUG_SPELLINGS = {cst.AddAssign: "+", cst.SubtractAssign: "-", cst.MultiplyAssign: "*",
                  cst.DivideAssign: "/", cst.PowerAssign: "**", cst.FloorDivideAssign: "//",
                  cst.ModuloAssign: "%"}
_ATTR_FRAGMENTS = {"math.pi": "pi", "math.e": "e", "math.tau": "tau", "np.pi": "pi",
                   "np.e": "e"}
_ARRAY_FORMS = {"abs": "np_abs", "max": "np_maximum", "min": "np_minimum"}
RUNTIME_EXCEPTIONS = frozenset(n for n in dir(builtins)
                               if n.endswith(("Error", "Exception", "Warning")))
STATIC = shapes.VType("static", None)  # a string, None: compared, never differentiated
_FOLDS = CONTAINER_FOLDS + ("len",)  # len has a rule of its own, for arrays
_MASKS = frozenset({"lt", "le", "gt", "ge", "eq", "ne"})
RETURN = "<return>"
EXIT = "<exit>"  # the path leaves the loop body: continue, or break
RAISED = "<raised>"  # the path raises: it never goes on  # the environment's entry for the value a block returns


class _Local:
    """An environment entry for a function defined in the function (a nested `def` or
    `name = lambda ...`): inlined where it is called, reading the names around it."""

    def __init__(self, node):
        self.node = node


class _Unbound:
    """An environment entry for a name that is not assigned on every path to here."""

    def __init__(self, why: str):
        self.why = why


class Stager:
    def __init__(self, parsed: ParsedModule, fn: cst.FunctionDef,
                 declared: Optional[dict] = None, infer: bool = False):
        self.parsed = parsed
        self.home = parsed  # the file being compiled (self.parsed is a helper's module)
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
        self.first_binding: set[str] = set(params_names)  # parameters are bound already
        self.params = tuple(
            ir.Param(p.name.value, self._default_text(p), parsed.pos(p)) for p in params
        )
        for p in self.params:
            self.env[p.name] = ir.Name(p.name)
        self.members = members_of(parsed, fn)  # params['W1']: read once, at the start
        self.member_names = {m.name for m in self.members}
        self.tuple_params: dict[str, tuple] = {}  # a, b, c = abc: abc's items (members)
        for m in self.members:
            if m.path[0][0] == "item":
                self.tuple_params[m.param] = self.tuple_params.get(m.param, ()) + (
                    ir.Name(m.name),)
        for m in self.members:
            self.names.reserve(m.name)
            self.env[m.name] = ir.Name(m.name)
            self.first_binding.add(m.name)
        if declared is None:  # the parameters' annotations (compiler.declared_types)
            declared = {p.name.value: shapes.parse_annotation(
                parsed.code(p.annotation.annotation) if p.annotation else None)
                for p in params}
        declared = {**declared, **{m.name: None for m in self.members if m.name not in declared}}
        self.array_mode = uses_arrays(parsed, fn, declared)
        default = shapes.UNKNOWN if self.array_mode else shapes.FLOAT
        numeric_default = {p.name.value for p in params if p.default is not None
                           and not _static_default(p.default)}
        numeric_default |= {m.name for m in self.members if m.default is not None}
        static = {p.name.value: (STATIC if isinstance(p.default, cst.SimpleString) else default)
                  for p in params if p.default is not None and _static_default(p.default)}
        self.types: dict[str, shapes.VType] = {  # hyperparameters (x=1e-3) are floats
            name: declared[name] or static.get(name) or (
                shapes.FLOAT if name in numeric_default else default)
            for name in declared}
        self.diagnostics: list = []
        self.keys = 0
        self.return_target: Optional[str] = None  # the name every return assigns
        self.return_base = fn.name.value
        self.return_stem: Optional[str] = None
        self.param_names = params_names
        # which values share an array's storage (members are the caller's arrays too)
        self.memory = Memory(params_names | {m.name for m in self.members})
        self.listed: set = set()  # storage of arrays held by run-time lists (runlists.py)
        # while inferring facts (inference.py): each staged value's statement, and the
        # operands a rule needed a rank for: (operands, rank, line, what)
        self.infer = infer
        self.defs: dict[str, ir.Assign] = {}
        self.rank_requests: list = []
        self.fallback_requests: list = []  # taken only when nothing else says more
        self.param_types = dict(declared)
        self.callers: list[dict] = []  # the environments of the calls being inlined
        self.current = fn  # the function (or inlined helper) being staged
        self.loop_nodes: list = []  # the loops around the statement being staged
        # (name, id of a loop around it) of in-place updates already refused: the loop's
        # end does not report the storage the refusal left behind
        self.refused_updates: set = set()
        self.refused_storage = None  # (name, storage) of the update refused last (AD208)
        self.break_flags: list = []  # each loop's break flag (an environment key), or None
        self.region = 0  # the block being staged: a list is changed only where it was made
        self.cache = None  # return out, cache: the cache as staged
        self.masks: set[str] = set()  # values made by comparisons: boolean masks
        self.call_sites: list = []  # (helper, line of its call) of the calls being inlined
        self.sites: dict = {}  # a helper's diagnostic -> the lines of the calls it came from

    def _default_text(self, p: cst.Param) -> Optional[str]:
        if p.default is None:
            return None
        text = self.parsed.code(p.default).strip()
        if _static_default(p.default):  # None, True, 'train': as written
            return text
        value = evaluate_constant(p.default, self.scope)
        return text if _plain_number(text) else repr(value)

    # ------------------------------------------------------------ statements

    def stage(self) -> ir.Function:
        if not stage_own_primitive(self):
            self.stage_block([stmt for stmt, _ in small_statements(self.fn)], [])
        output = self.env.get(RETURN, ir.Num(0.0))
        stem = self.return_stem or (output.id if isinstance(output, ir.Name)
                                    else self.fn.name.value)
        if self.diagnostics:
            raise AdgenError(self.diagnostics)
        consts = tuple(sorted(self.consts_used.values(), key=lambda c: (c.pos.line, c.pos.col)))
        return ir.Function(
            name=self.fn.name.value, params=self.params, body=tuple(self.body), output=output,
            output_stem=stem, consts=consts, path=self.parsed.path, pos=self.parsed.pos(self.fn),
            types=dict(self.types) if self.array_mode else {}, members=tuple(self.members),
            cache=self.cache,
        )

    def stage_block(self, statements, continuation) -> None:
        """Stage a block's statements into `self.body`.  After an `if` that returns on some
        path, the rest of the block (and `continuation`, what follows the block) is staged
        into each path that goes on, so that every path ends in its own return."""
        for index, stmt in enumerate(statements):
            if isinstance(stmt, cst.If):
                paths = (block_statements(stmt.body), else_statements(stmt))
                if any(may_return(p) or may_exit(p) for p in paths):
                    self.stage_if(stmt, list(statements[index + 1:]) + list(continuation))
                    return
                self.stage_if(stmt, [])
            elif isinstance(stmt, (cst.Continue, cst.Break)):
                if isinstance(stmt, cst.Break):  # the loop's flag: no more iterations
                    flag = self.break_flags[-1]
                    self.env[flag] = self.add("copy", (ir.Num(1, "True"),), stmt,
                                              self.names.fresh("broke"))
                self.env[EXIT] = True  # the rest of this iteration is not run
                return
            elif isinstance(stmt, cst.Raise):
                self.body.append(ir.Raise(self.raise_text(stmt.exc, stmt), self.parsed.pos(stmt)))
                self.env[RAISED] = True
                return
            elif isinstance(stmt, cst.Assert):
                self.stage_assert(stmt)
            elif isinstance(stmt, cst.FunctionDef):
                self.env[stmt.name.value] = _Local(stmt)
            elif isinstance(stmt, cst.For):
                self.stage_for(stmt)
            elif isinstance(stmt, cst.While):
                self.stage_while(stmt)
            elif isinstance(stmt, cst.Assign):
                self.stage_assign(stmt.targets[0].target, stmt.value)
            elif isinstance(stmt, cst.AnnAssign) and stmt.value is not None:
                self.stage_assign(stmt.target, stmt.value)
            elif isinstance(stmt, cst.AugAssign):
                self.stage_aug_assign(stmt)
            elif isinstance(stmt, cst.Expr) and isinstance(stmt.value, cst.Call):
                self.stage_list_method(stmt.value)
            elif isinstance(stmt, cst.Return):
                self.stage_return(stmt.value)
                return
        if continuation:
            self.stage_block(continuation, [])

    def new_key(self) -> int:
        self.keys += 1
        return self.keys

    # ------------------------------------------------------------ checks: raise, assert

    def stage_assert(self, stmt: cst.Assert) -> None:
        """`assert test, msg`: `if not test: raise AssertionError(msg)`, in the forward pass
        only."""
        test = self.stage_condition(stmt.test)
        text = self.raise_text(None, stmt, stmt.msg)
        self.body.append(ir.If(test, (), (ir.Raise(text, self.parsed.pos(stmt)),),
                               self.parsed.pos(stmt), self.new_key()))

    def raise_text(self, exc: Optional[cst.BaseExpression], stmt: cst.CSTNode,
                   msg: Optional[cst.BaseExpression] = None) -> str:
        """The raise statement of the generated code: as the user wrote it where it reads
        only builtins, module names and the function's unchanged parameters; else the same
        exception class with the user's statement as its message (the values it read may
        not exist under those names in the generated code)."""
        kept = exc if exc is not None else msg
        where = f"{self.parsed.path}:{self.parsed.pos(stmt).line}"
        if kept is None or self._reads_only_unchanged(kept):
            if exc is not None:
                return "raise " + self.parsed.code(exc).strip()
            if msg is None:
                return f"raise AssertionError({where + ': ' + self.parsed.code(stmt.test).strip()!r})"
            return f"raise AssertionError({self.parsed.code(msg).strip()})"
        cls = "AssertionError"
        if exc is not None:
            callee = exc.func if isinstance(exc, cst.Call) else exc
            name = callee.value if isinstance(callee, cst.Name) else None
            cls = name if name in RUNTIME_EXCEPTIONS else "RuntimeError"
        return f"raise {cls}({where + ': ' + ' '.join(self.parsed.code(stmt).split())!r})"

    def _reads_only_unchanged(self, node: cst.CSTNode) -> bool:
        for name in _mentions_all(node):
            if name in self.env:
                if self.callers or self.env[name] != ir.Name(name) or \
                        name not in self.param_names:
                    return False
            elif not hasattr(builtins, name) and name not in self.scope.modules:
                return False
        return True

    # ------------------------------------------------------------ branches

    def stage_condition(self, test: cst.BaseExpression) -> ir.Operand:
        """A branch's or loop's test, computed once into a name the backward pass reads.
        `a and b` is a branch computing b only where a holds (`a or b` likewise); a chained
        comparison `lo < x < hi` is `lo < x and x < hi` with x computed once."""
        if isinstance(test, cst.BooleanOperation) and not test.lpar:
            return self.stage_short_circuit(
                test, lambda: self.stage_condition(test.left),
                lambda: self.stage_condition(test.right), isinstance(test.operator, cst.And))
        if isinstance(test, cst.Comparison) and len(test.comparisons) > 1:
            return self.stage_chain(test, self.stage_expr(test.left), list(test.comparisons))
        return self.stage_test(test)

    def stage_chain(self, node: cst.Comparison, left: ir.Operand, comparisons) -> ir.Operand:
        first, rest = comparisons[0], comparisons[1:]
        right = self.stage_expr(first.comparator)
        rule = REGISTRY.by_spelling(_COMPARISON_SPELLINGS[type(first.operator)])

        def compare():
            return self.add(rule.name, (left, right), node, self.names.numbered("cond"))

        if not rest:
            return compare()
        return self.stage_short_circuit(node, compare,
                                        lambda: self.stage_chain(node, right, rest), True)

    def stage_short_circuit(self, node, stage_left, stage_right, is_and: bool) -> ir.Name:
        left = stage_left()
        target = self.names.numbered("cond")
        outer = self.body
        self.body = []
        right = stage_right()
        if not _rename_last(self.body, right, target, self.param_names):
            self.add("copy", (right,), node, target)
        evaluated = self.body
        self.body = []
        self.add("copy", (ir.Num(0, "False") if is_and else ir.Num(1, "True"),), node, target)
        constant = self.body
        self.body = outer
        body, orelse = (evaluated, constant) if is_and else (constant, evaluated)
        self.body.append(ir.If(left, tuple(body), tuple(orelse), self.parsed.pos(node),
                               self.new_key()))
        return ir.Name(target)

    def stage_test(self, test: cst.BaseExpression) -> ir.Operand:
        target = self.names.numbered("cond") if isinstance(test, cst.Comparison) else None
        operand = self.stage_expr(test, target)
        if self.array_mode and self.type_of(operand).is_array:
            self.report("AD305", test, "the condition is an array (numpy cannot decide "
                        "'if' on an array)", "reduce it to one value first, e.g. "
                        "np.max(x) > 0 or np.sum(x) > 1")
        return operand

    def stage_if(self, stmt: cst.If, continuation) -> None:
        test = self.stage_condition(stmt.test)
        runlists.materialize(self, list(block_statements(stmt.body)) +
                             list(else_statements(stmt)) + list(continuation), stmt)
        before, outer = dict(self.env), self.body
        paths = []
        region = self.region
        for statements in (block_statements(stmt.body), else_statements(stmt)):
            self.env, self.body, self.region = dict(before), [], self.new_key()
            self.stage_block(statements, continuation)
            paths.append((self.body, self.env))
        self.body, self.region = outer, region
        body, orelse = self.merge(before, paths, stmt)
        self.body.append(ir.If(test, tuple(body), tuple(orelse), self.parsed.pos(stmt),
                               self.new_key()))

    def merge(self, before: dict, paths, node) -> tuple[list, list]:
        """The environment after an `if`, which becomes `self.env`: a name both paths leave
        with different values gets one (merged) name assigned on both paths -- the last
        assignment on a path is renamed where it can be, else a copy ends the path; a name
        only one path assigns is unbound afterwards."""
        (body, env_b), (orelse, env_e) = paths
        raised = (RAISED in env_b, RAISED in env_e)
        if any(raised):  # a path that raises never goes on: the other's names do
            self.env = dict(before) if all(raised) else dict(env_e if raised[0] else env_b)
            if all(raised):
                self.env[RAISED] = True
            return body, orelse
        exits = (env_b.pop(EXIT, False), env_e.pop(EXIT, False))
        returned = RETURN in env_b and RETURN in env_e and RETURN not in before
        keys = [RETURN] if returned else list(dict.fromkeys(list(env_b) + list(env_e)))
        renamed: list[dict] = [{}, {}]
        env: dict = dict(before)
        for var in keys:
            a, b = env_b.get(var), env_e.get(var)
            if a == b:
                env[var] = a
                continue
            if a is None or b is None or isinstance(a, _Unbound) or isinstance(b, _Unbound) \
                    or is_container(a) or is_container(b):
                if var == RETURN:
                    self.report("AD104", node, "returning several values from inside an if",
                                "return one value on each path")
                env[var] = _Unbound(
                    "it holds a tuple, list or dict made differently on the paths of the if "
                    "before it (build it after the if, from names both paths assign)"
                    if a is not None and b is not None and (is_container(a) or is_container(b))
                    else "it is assigned on only some paths through the if before it")
                continue
            merged = self.merged_name(var, (a, b), (body, orelse))
            if self.array_mode:
                self.memory.merged(merged, a, b, var, [env_b, env_e])
            for path, op, renames in ((body, a, renamed[0]), (orelse, b, renamed[1])):
                op = renames.get(op, op)
                if op == ir.Name(merged):
                    continue
                if _rename_last(path, op, merged, self.param_names):
                    renames[op] = ir.Name(merged)
                else:
                    path.append(ir.Assign(merged, "copy", (op,), self.parsed.pos(node),
                                          var if not var.startswith("<") else None, (),
                                          (self.type_of(op),) if self.array_mode else ()))
            if self.array_mode:
                self.types[merged] = self.type_of(a)
            env[var] = ir.Name(merged)
        if all(exits):
            env[EXIT] = True
        self.env = env
        return body, orelse

    def merged_name(self, var: str, ops, paths) -> str:
        if var == RETURN:
            self.return_stem = None  # the seed is named after the merged output
            return self.output_name()
        if var.startswith("<"):  # a loop's break flag
            return self.names.fresh("broke")
        for op, path in zip(ops, paths):  # a path's own first binding of the user's name
            if isinstance(op, ir.Name) and op.id == var and \
                    any(isinstance(s, ir.Assign) and s.target == var for s in path):
                return var
        return self.version(var)

    def output_name(self) -> str:
        """The name every return of the function (or inlined helper) assigns."""
        if self.return_target is None:
            base = self.return_base
            if base == self.fn.name.value:
                self.return_target = (self.names.claim(base) if self.names.is_free(base)
                                      else self.names.fresh("out"))
            else:
                self.return_target = self.names.numbered(base)
        return self.return_target

    # ------------------------------------------------------------ loops

    def loop_carried(self, statements, node, extra=()) -> tuple[list[str], dict]:
        """The variables a loop body assigns that are bound before it (and `extra`, the
        loop's break flag): each gets the name it has on entry to every iteration (its
        current name when this block assigned it, else a copy)."""
        runlists.materialize(self, statements, node)  # hs = [] ... hs.append(h) inside
        carried = [v for v in assigned_in(statements, subscripts=True)
                   if v in self.env and not isinstance(self.env[v], (_Unbound, _Local))
                   and not is_container(self.env[v])]
        grown = [v for v in runlists.carried(self, statements) if v not in carried]
        carried += grown
        carried += [v for v in self.aliases_of(grown, carried) if v not in carried]
        carried += list(extra)
        carried += self.aliases_of(assigned_in(statements, in_place=True), carried)
        names = {}
        for v in carried:
            op = self.env[v]
            if isinstance(op, ir.Name) and any(isinstance(s, ir.Assign) and s.target == op.id
                                               and s.prim in ("copy", "list_of")
                                               for s in self.body) \
                    and not _reads(self.body, op.id) \
                    and sum(1 for w in self.env.values() if w == op) == 1:
                # `h = h0` then a loop reassigning h: the loop carries h itself.  Safe as
                # nothing before the loop reads h (whose backward would run after the
                # backward loop restored h) and a copy's gradient does not read its value.
                names[v] = op.id
            else:
                names[v] = self.version(v) if not v.startswith("<") else self.names.fresh("broke")
                self.add("copy", (op,), node, names[v], v if not v.startswith("<") else None)
            self.env[v] = ir.Name(names[v])
        return carried, names

    def break_flag(self, statements, node) -> Optional[str]:
        """For a loop whose body breaks: its flag (an environment key), `broke = False`
        before the loop; `break` sets it, and no more iterations run."""
        if not may_exit(statements, (cst.Break,)):
            return None
        key = f"<broke {self.new_key()}>"
        self.env[key] = self.add("copy", (ir.Num(0, "False"),), node, self.names.fresh("broke"))
        return key

    def stage_guarded(self, flag: str, statements, node) -> None:
        """A for loop's body after a break: `if broke: (nothing) else: body`."""
        test = self.env[flag]
        before, outer = dict(self.env), self.body
        paths = [([], dict(before))]
        self.env, self.body, region, self.region = dict(before), [], self.region, self.new_key()
        self.stage_block(statements, [])
        paths.append((self.body, self.env))
        self.body, self.region = outer, region
        body, orelse = self.merge(before, paths, node)
        self.body.append(ir.If(test, tuple(body), tuple(orelse), self.parsed.pos(node),
                               self.new_key()))

    def stage_guarded_test(self, flag: str, test: cst.BaseExpression, node) -> ir.Name:
        """A while loop's test after a break: False once the flag is set, else the test
        (not evaluated then, as Python does not evaluate it after a break)."""
        target = self.names.numbered("cond")
        outer = self.body
        self.body = []
        self.add("copy", (ir.Num(0, "False"),), node, target)
        stopped = self.body
        self.body = []
        value = self.stage_condition(test)
        if not _rename_last(self.body, value, target, self.param_names):
            self.add("copy", (value,), node, target)
        going = self.body
        self.body = outer
        self.body.append(ir.If(self.env[flag], tuple(stopped), tuple(going),
                               self.parsed.pos(node), self.new_key()))
        return ir.Name(target)

    def aliases_of(self, updated: list[str], carried: list[str]) -> list[str]:
        """Names bound to the same array as a name the loop updates in place: the update
        changes them too, so they are carried as well."""
        if not self.array_mode:
            return []
        found: list[str] = []
        for v in updated:
            op = self.env.get(v)
            if not isinstance(op, ir.Name):
                continue
            storage = self.memory.of(op.id)
            for other, value in self.env.items():
                if other not in carried and other not in found and other != RETURN and \
                        isinstance(value, ir.Name) and self.memory.of(value.id) == storage:
                    found.append(other)
        return found

    def end_loop(self, statements, carried, names, before: dict, node) -> tuple:
        pairs = []
        in_place = set(assigned_in(statements, in_place=True))
        for v in carried:
            value = self.env[v]
            if isinstance(value, _Unbound) or is_container(value):
                self.report("AD203", node, f"'{v}' is not assigned on every path through "
                            "the loop body", "assign it on every path")
                value = ir.Name(names[v])
            if self.array_mode and v in in_place and isinstance(value, ir.Name) and \
                    self.type_of(value).kind in ("array", "unknown"):  # (a number is rebound)
                self.check_carried_storage(v, names[v], value.id, node)
                if {self.memory.of(names[v]), self.memory.of(value.id)} & self.listed:
                    self.report("AD207", node, f"'{v}' is updated in place in this loop and "
                                "put in a list: every entry would be the same array, as "
                                "changed by the last iteration", f"append a copy "
                                f"({v}.copy()) or make a new array each iteration")
            pairs.append((names[v], value))
            runlists.carried_type(self, names[v], value)
            if self.array_mode and isinstance(value, ir.Name):
                t0, t1 = self.types.get(names[v]), self.types.get(value.id)
                if t0 is not None and t1 is not None and t0.is_array and t1.is_array and \
                        t0.shape is not None and t1.shape is not None:
                    if len(t0.shape) != len(t1.shape):
                        self.report("AD305", node, f"'{v}' changes rank inside the loop",
                                    "keep a loop-carried array's shape the same every "
                                    "iteration")
                    for d0, d1 in zip(t0.shape, t1.shape):  # (while inferring facts)
                        shapes.assume_equal(d0, d1)
        env = dict(before)
        for v in assigned_in(statements, subscripts=True):
            if v not in carried:
                env[v] = _Unbound("it is assigned only inside a loop, which may run zero "
                                  "times")
        self.env = env
        return tuple(pairs)

    def check_carried_storage(self, var: str, start: str, end: str, node) -> None:
        """A variable the loop updates in place must hold the same array in every iteration
        when that array is shared: the staged body follows the first iteration's sharing."""
        first, last = self.memory.of(start), self.memory.of(end)
        if first == last or (var, id(node)) in self.refused_updates:
            return
        if self.memory.shared(first, self.env, var) or self.memory.shared(last, self.env, var):
            self.report("AD207", node, f"'{var}' is updated in place in this loop, but it "
                        "refers to different arrays in different iterations, one of them "
                        "shared with another name", f"write {var} = {var} + ... (a new array) "
                        "instead of the in-place update")

    def stage_for(self, stmt: cst.For) -> None:
        statements = block_statements(stmt.body)
        if self.unrolled(stmt, statements):
            return
        callee = self.scope.qualify(stmt.iter.func) if isinstance(stmt.iter, cst.Call) else None
        if not isinstance(stmt.target, cst.Name) and not (
                callee == "enumerate" and len(stmt.target.elements) == 2 and
                all(isinstance(el.value, cst.Name) for el in stmt.target.elements)):
            self.report("AD105", stmt.target, "several loop variables over an array or a "
                        "range", "use one name (for t in range(T)), or two with enumerate "
                        "(for i, x in enumerate(xs)); unpack inside the loop")
            return
        if callee == "zip" or isinstance(stmt.iter, (cst.Tuple, cst.List)):
            self.static_items(stmt.iter, "this loop")  # (reported: its values are not known)
            return
        iterable, target = stmt.iter, stmt.target
        callee = self.scope.qualify(iterable.func) if isinstance(iterable, cst.Call) else None
        array = None
        if callee == "range":
            bounds = tuple(self.stage_expr(a.value) for a in iterable.args)
            index_user, element = target.value, None
        else:
            source = iterable.args[0].value if callee == "enumerate" else iterable
            array = self.stage_expr(source)
            bounds = (self.add("length", (array,), source, None, None),)
            if callee == "enumerate":
                index_user, element = (el.value.value for el in target.elements)
            else:
                index_user, element = None, target.value
        for b in bounds:
            if self.array_mode and self.type_of(b).kind not in ("int", "unknown"):
                self.report("AD305", stmt.iter, "range() needs integers",
                            "use an integer parameter or a shape (x.shape[1])")
        flag = self.break_flag(statements, stmt)
        carried, names = self.loop_carried(statements, stmt, [flag] if flag else [])
        before, outer = dict(self.env), self.body
        self.body = []
        index = self.version(index_user) if index_user else self.names.fresh("i")
        if self.array_mode:
            self.types[index] = shapes.INT
        if index_user:
            self.env[index_user] = ir.Name(index)
        if element is not None:
            self.env[element] = self.add("getitem", (array, ir.Name(index)), iterable,
                                         self.version(element), element,
                                         (("index", (("arg", 1),)),))
        self.loop_nodes.append(stmt)
        self.break_flags.append(flag)
        region, self.region = self.region, self.new_key()
        if flag:
            self.stage_guarded(flag, statements, stmt)
        else:
            self.stage_block(statements, [])
        self.region = region
        self.break_flags.pop()
        self.env.pop(EXIT, None)  # the iteration ends: continue and break paths join
        self.loop_nodes.pop()
        body = self.body
        self.body = outer
        pairs = self.end_loop(statements, carried, names, before, stmt)
        if not flag:
            runlists.counted(self, pairs, body, bounds, outer)
        for name in (index_user, element):
            if name:
                self.env[name] = _Unbound("it is a loop variable (the loop may run zero "
                                          "times)")
        self.body.append(ir.Loop("for", tuple(body), pairs, self.parsed.pos(stmt),
                                 index=index, bounds=bounds, key=self.new_key()))

    def stage_while(self, stmt: cst.While) -> None:
        statements = block_statements(stmt.body)
        flag = self.break_flag(statements, stmt)
        carried, names = self.loop_carried(statements, stmt, [flag] if flag else [])
        before, outer = dict(self.env), self.body
        self.body = []
        self.loop_nodes.append(stmt)
        test = self.stage_guarded_test(flag, stmt.test, stmt) if flag else \
            self.stage_condition(stmt.test)
        header = self.body
        self.body = []
        self.break_flags.append(flag)
        region, self.region = self.region, self.new_key()
        self.stage_block(statements, [])
        self.region = region
        self.break_flags.pop()
        self.env.pop(EXIT, None)
        self.loop_nodes.pop()
        body = self.body
        self.body = outer
        pairs = self.end_loop(statements, carried, names, before, stmt)
        counter = self.names.fresh("n_steps")
        if self.array_mode:
            self.types[counter] = shapes.INT
        self.body.append(ir.Loop("while", tuple(body), pairs, self.parsed.pos(stmt),
                                 header=tuple(header), test=test, counter=counter,
                                 key=self.new_key()))

    # ------------------------------------------------------------ helpers

    def stage_call(self, node: cst.Call, target: Optional[str], user: Optional[str],
                   parsed: ParsedModule, name: str, callee=None, closure=None):
        """A call to a function of the same file (or of a user module, or defined in the
        function: a nested def or a lambda, reading the `closure` names around it), inlined:
        its parameters bound to the arguments' values, its statements staged here (its names
        versioned like the caller's), its returned value (or tuple of values) the call's
        value."""
        callee = parsed.scope.functions[name] if callee is None else callee
        params = _params(callee)
        bound: dict = {}
        positional = [a for a in node.args if a.keyword is None]
        for p, a in zip(params, positional):
            bound[p.name.value] = self.stage_value(a.value)
        for a in node.args:
            if a.keyword is not None:
                bound[a.keyword.value] = self.stage_value(a.value)
        for p in params:
            if p.name.value not in bound:
                value = evaluate_constant(p.default, parsed.scope)
                bound[p.name.value] = ir.Num(value, repr(value))
        line = self.parsed.pos(node).line
        saved = (self.env, self.return_target, self.return_base, self.return_stem,
                 self.param_names, self.parsed, self.scope, self.current, self.loop_nodes)
        self.callers.append(self.env)
        self.call_sites.append((name, line))
        self.parsed, self.scope, self.current, self.loop_nodes = parsed, parsed.scope, callee, []
        self.env = {**(closure or {}), **bound}
        self.return_target, self.return_base, self.return_stem = target, name, None
        self.param_names = set()
        outer = self.body
        self.body = []
        if isinstance(callee, cst.Lambda):
            self.env[RETURN] = self.stage_expr(callee.body, self.output_name())
        else:
            self.stage_block(block_statements(callee.body), [])
        where = name if parsed is saved[5] else f"{parsed.module_name}.{name}"
        inlined = _marked(self.body, f"{where}, called on line {line}")
        result = self.env.get(RETURN, ir.Num(0.0))
        outer.extend(inlined)
        self.body = outer
        (self.env, self.return_target, self.return_base, self.return_stem,
         self.param_names, self.parsed, self.scope, self.current, self.loop_nodes) = saved
        self.callers.pop()
        self.call_sites.pop()
        if target is not None and not (isinstance(result, ir.Name) and result.id == target) \
                and not is_container(result):
            return self.add("copy", (result,), node, target, user)
        return result

    def stage_assign(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if isinstance(target, (cst.Tuple, cst.List)) and is_shape(value) and \
                not self.holds_container(value.value):  # N, D = x.shape
            array = self.stage_expr(value.value)
            for axis, element in enumerate(target.elements):
                name = element.value.value
                self.env[name] = self.add("dim", (array,), value, self.version(name), name,
                                          (("axis", axis),))
            return
        if isinstance(target, cst.Subscript):
            self.stage_setitem(target, self.stage_value(value), target)
            return
        if stage_results(self, target, value):  # sign, logdet = np.linalg.slogdet(a)
            return
        if isinstance(target, (cst.Tuple, cst.List)) and isinstance(value, (cst.Tuple, cst.List)) \
                and len(target.elements) == len(value.elements):
            staged = []  # a, b = x * 2, y: each value named after its target
            for el, v in zip(target.elements, value.elements):
                n = el.value.value if isinstance(el.value, cst.Name) else None
                if n is None or self.may_hold_container(v.value):
                    staged.append(self.stage_value(v.value))
                elif n in self.member_names and self.leaf(v.value) == ir.Name(n):
                    staged.append(self.leaf(v.value))
                else:
                    staged.append(self.stage_expr(v.value, self.version(n), user=n))
            for el, operand in zip(target.elements, staged):
                self.bind(el.value, operand, value, copy=False)
            return
        if isinstance(target, (cst.Tuple, cst.List)):  # a, b = helper(x); x, w, b = cache
            self.bind(target, self.stage_value(value), value, copy=isinstance(value, cst.Call))
            return
        if isinstance(value, cst.Lambda):
            self.env[target.value] = _Local(value)
            return
        name = target.value
        member = self.leaf(value) if name in self.member_names else None
        if member == ir.Name(name):  # W1 = params['W1']: the local is the member
            return
        if self.may_hold_container(value) and not isinstance(value, cst.Call):
            # cache = (x, w, b): the values, no code (a helper's result is named after
            # the target by stage_expr, a container returned as it is)
            staged = self.stage_value(value)
            if is_container(staged):
                self.env[name] = staged
                return
            self.env[name] = self.add("copy", (staged,), value, self.version(name), name)
            return
        self.env[name] = self.stage_expr(value, self.version(name), user=name)

    def bind(self, target: cst.BaseExpression, value, node: cst.CSTNode, copy: bool) -> None:
        """Bind an assignment target (a name, a subscript, or a tuple of targets, nested)
        to a staged value; a value that is not a container is unpacked along its first
        axis, as numpy does."""
        if isinstance(target, cst.Name):
            if copy and not is_container(value):  # a, b = helper(x): named after a and b
                value = self.add("copy", (value,), node, self.version(target.value),
                                 target.value)
            self.env[target.value] = value
            return
        if isinstance(target, cst.Subscript):
            self.stage_setitem(target, value, node)
            return
        names = [el.value for el in target.elements]
        items = items_of(value)
        if items is None:
            what = describe(value) if is_container(value) else "one value"
            self.report("AD204", node, f"cannot unpack {what} into {len(names)} names",
                        "unpack a tuple or a list (a, b = helper(x)); index an array "
                        "instead: a = x[0]")
            items = [ir.Num(0.0)] * len(names)  # bound, to go on finding problems
        elif len(items) != len(names):
            self.report("AD204", node, f"cannot unpack {describe(value)} into {len(names)} "
                        "names", "give one name per value")
            items = (items + [ir.Num(0.0)] * len(names))[:len(names)]
        for name, item in zip(names, items):
            self.bind(name, item, node, copy)

    # ------------------------------------------------------------ containers

    def may_hold_container(self, node: cst.BaseExpression) -> bool:
        """Whether `node` may stage to a container (then stage_value stages it)."""
        if isinstance(node, (cst.Tuple, cst.List, cst.Dict, cst.ListComp, cst.GeneratorExp)):
            return True
        if isinstance(node, cst.Call):
            func = node.func
            return isinstance(func, cst.Name) and (
                isinstance(self.env.get(func.value), _Local) or
                (func.value in self.scope.functions and func.value not in self.env)) or \
                self.parsed.user_function(self.scope.qualify(func)) is not None
        return self.holds_container(node)

    def holds_container(self, node: cst.BaseExpression) -> bool:
        """Whether `node` names a container (or an entry of one that may be one)."""
        if isinstance(node, cst.Name):
            return is_container(self.env.get(node.value)) or (
                node.value in self.tuple_params and not self.callers)
        if isinstance(node, cst.Subscript):
            return shape_index(node) is None and self.may_hold_container(node.value)
        if is_shape(node) and not self.holds_container(node.value):
            return True  # x.shape: a tuple of sizes
        return False

    def stage_value(self, node: cst.BaseExpression):
        """Stage `node` where a container may stand (an assignment, an argument of a
        helper, an element of a container, a returned value): a container of staged
        values (containers.py), or an operand."""
        if isinstance(node, (cst.Tuple, cst.List)):
            items = [self.stage_value(el.value) for el in node.elements]
            return tuple(items) if isinstance(node, cst.Tuple) else \
                ListValue(items, self.region)
        if isinstance(node, cst.Dict):
            return DictValue({self.constant_key(el.key): self.stage_value(el.value)
                              for el in node.elements}, self.region)
        if isinstance(node, (cst.ListComp, cst.GeneratorExp)):
            return self.stage_comprehension(node)
        if isinstance(node, cst.Name) and is_container(self.env.get(node.value)):
            return self.env[node.value]
        if isinstance(node, cst.Name) and node.value in self.tuple_params and \
                self.env.get(node.value) == ir.Name(node.value) and not self.callers:
            return self.tuple_params[node.value]  # a tuple parameter's items
        if is_shape(node) and not self.holds_container(node.value):
            return self.shape_tuple(node)
        if isinstance(node, cst.Subscript) and shape_index(node) is None and \
                self.may_hold_container(node.value):
            base = self.stage_value(node.value)
            if is_container(base):
                return self.pick(base, node, None, None, container_ok=True)
        return self.stage_expr(node)  # (a helper's result may be a tuple)

    def static_items(self, iterable: cst.BaseExpression, why: str) -> Optional[list]:
        """The values a loop or comprehension runs over when they are known as the function
        is staged: `range` of constants, a container, `enumerate`/`zip` of those; else
        None (reported, with `why` it needed them)."""
        callee = self.scope.qualify(iterable.func) if isinstance(iterable, cst.Call) else None
        args = [a.value for a in iterable.args] if callee else []
        if callee == "range":
            bounds = [self.constant_count(a) for a in args]
            if None not in bounds:
                return [ir.Num(k) for k in range(*bounds)]
        elif callee in ("enumerate", "zip") and args:
            parts = [self.static_items(a, why) for a in args]
            if any(p is None for p in parts):
                return None
            if callee == "enumerate":
                return [(ir.Num(i), v) for i, v in enumerate(parts[0])]
            return [tuple(vs) for vs in zip(*parts)]
        elif self.may_hold_container(iterable):
            value = self.stage_value(iterable)
            if items_of(value) is not None:
                return items_of(value)
            if isinstance(value, DictValue):
                return [ir.Lit(repr(k)) for k in value.items]
        self.report("AD204", iterable, f"{why} needs values known when the function is "
                    "compiled: range() of constants, or a list or tuple",
                    "for a count known only at run time, write a for loop (for h in hs:, "
                    "for t in range(n):) and accumulate, or append to a list")
        return None

    def constant_count(self, node: cst.BaseExpression) -> Optional[int]:
        """An integer known as the function is staged (a literal, a module constant, a
        parameter's integer default is not: it may be passed)."""
        try:
            value = static_value(node)
        except ValueError:
            value = evaluate_constant(node, self.scope) if not (
                isinstance(node, cst.Name) and node.value in self.env) else None
        if value is None:  # len(terms), a name bound to a constant: staged, without code
            outer, self.body = self.body, []
            staged = self.stage_value(node)
            self.body = outer
            value = staged.value if isinstance(staged, ir.Num) else None
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def stage_comprehension(self, node) -> ListValue:
        """`[f(h) for h in hs]`, `sum(x[i] * w[i] for i in range(3))`: one value per item,
        written out (the items must be known as the function is staged)."""
        clause = node.for_in
        items = self.static_items(clause.iter, "a list comprehension") or []
        saved = dict(self.env)
        values = []
        for item in items:
            self.bind_static(clause.target, item, clause)
            values.append(self.stage_value(node.elt))
        self.env = {**saved, **{k: v for k, v in self.env.items() if k.startswith("<")}}
        return ListValue(values, self.region)

    def bind_static(self, target: cst.BaseExpression, value, node) -> None:
        """A loop's or comprehension's target bound to one item, without code."""
        if isinstance(target, cst.Name):
            self.env[target.value] = value
            return
        names = [el.value for el in target.elements]
        items = items_of(value)
        if items is None or len(items) != len(names):
            self.report("AD204", node, "cannot unpack this item into "
                        f"{len(names)} names", "give one name per value")
            items = [ir.Num(0.0)] * len(names)
        for name, item in zip(names, items):
            self.bind_static(name, item, node)

    def unrolled(self, stmt: cst.For, statements) -> bool:
        """A for loop over values known as the function is staged (a list or tuple, zip or
        enumerate of them; or range() of constants when the body changes a list made
        before the loop): its body staged once per item.  False if it is not one."""
        iterable = stmt.iter
        callee = self.scope.qualify(iterable.func) if isinstance(iterable, cst.Call) else None
        if not self.over_values(iterable) and not (
                callee == "range" and self.changes_outer_list(statements) and
                all(self.constant_count(a.value) is not None for a in iterable.args)):
            return False  # a run-time loop: staged as one (a list it changes is reported)
        if may_exit(statements):
            self.report("AD101", stmt, "break or continue in a loop over a list, a tuple or "
                        "range() of constants that changes a list (it is written out)",
                        "use an if around the rest of the body")
            return True
        items = self.static_items(iterable, "this loop")
        for item in items or []:
            self.bind_static(stmt.target, item, stmt)
            self.stage_block(statements, [])
        return True

    def over_values(self, iterable: cst.BaseExpression) -> bool:
        """Whether a loop runs over a container (maybe through zip or enumerate)."""
        callee = self.scope.qualify(iterable.func) if isinstance(iterable, cst.Call) else None
        if callee in ("zip", "enumerate"):
            return any(self.over_values(a.value) for a in iterable.args)
        return callee is None and self.may_hold_container(iterable)

    def changes_outer_list(self, statements) -> bool:
        for stmt in statements:
            call = stmt.value if isinstance(stmt, cst.Expr) else None
            if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and \
                    isinstance(call.func.value, cst.Name) and \
                    isinstance(self.env.get(call.func.value.value), ListValue):
                return True
        return False

    def shape_tuple(self, node: cst.Attribute) -> tuple:
        """`x.shape` as a value: the tuple of its sizes (its rank must be known)."""
        array = self.stage_expr(node.value)
        t = self.type_of(array)
        if not t.is_array or t.shape is None:
            self.report("AD305", node, "'.shape' as a whole needs the array's rank",
                        "unpack the sizes (N, D = x.shape) or index them (x.shape[0]), or "
                        "annotate the parameter (x: \"N D\") or pass --shapes")
            return ()
        return tuple(self.add("dim", (array,), node, None, None, (("axis", axis),))
                     for axis in range(len(t.shape)))

    def constant_key(self, node) -> object:
        """A dict key or a container index that must be constant: its value, or None
        (reported)."""
        if isinstance(node, cst.SimpleString):
            return node.evaluated_value
        try:
            return static_value(node)
        except ValueError:
            pass
        self.report("AD204", node, "a container's key or index must be a constant here",
                    "use a string or an integer literal, or build an array and index it")
        return None

    def stage_list_method(self, call: cst.Call) -> None:
        """`hs.append(h)`, `hs.extend(more)`: the list gains the staged values (in the block
        that made it; the fence lets only these calls stand as statements)."""
        func = call.func
        name = func.value.value
        lst = self.env.get(name)
        if runlists.is_runtime_list(self, lst):
            runlists.append(self, call, name)
            return
        if not isinstance(lst, ListValue):
            self.report("AD101", call, f"'{name}.{func.attr.value}(...)' on a value that is "
                        "not a list made in this function",
                        "build the list in the function (hs = []), or assign the result")
            return
        value = self.stage_value(call.args[0].value)
        self.may_change(lst, name, call)  # (reported; the value is added to go on checking)
        if func.attr.value == "append":
            lst.items.append(value)
        else:
            more = items_of(value)
            if more is None:
                self.report("AD204", call, f"'{name}.extend' needs a list or a tuple",
                            f"use {name}.append(value)")
                return
            lst.items.extend(more)

    def may_change(self, container, name: str, node) -> bool:
        """A list or dict is changed only in the block that made it: in a branch or loop
        around which it was made, its entries would depend on the path taken."""
        if container.region == self.region:
            return True
        inside = "loop" if self.loop_nodes else "branch"
        self.report("AD204", node, f"'{name}' is changed inside a {inside} but was made "
                    "outside it: its entries would depend on the path taken",
                    "in a loop, collect into an array instead: hs = np.zeros((T, N, H)) "
                    "before the loop and hs[t] = h inside it; in a branch, build the list "
                    "after the if from names both paths assign")
        return False

    def stage_setitem(self, target: cst.Subscript, value: ir.Operand,
                      node: cst.CSTNode) -> None:
        """`x[index] = value`: a new version of x, with the index's values as operands."""
        name = target.value.value
        if isinstance(self.env.get(name), (ListValue, DictValue)):  # hs[0] = h, cache['x'] = x
            container = self.env[name]
            key = self.constant_key(target.slice[0].slice.value) \
                if len(target.slice) == 1 and isinstance(target.slice[0].slice, cst.Index) \
                else None
            if key is not None and self.may_change(container, name, node):
                if isinstance(container, ListValue):
                    try:
                        entry(container, key)
                        container.items[key] = value
                    except LookupError as exc:
                        self.report("AD204", target, str(exc), "append to the list instead")
                else:
                    container.items[key] = value
            return
        if not isinstance(value, (ir.Name, ir.Num, ir.Attr, ir.Lit)):  # a container
            self.report("AD204", node, f"assigning {describe(value)} into an array",
                        "assign one array (np.stack(values) makes one of a list)")
            return
        array = self.lookup(name, target.value)
        operands, spec = self.stage_index(target, [array, value])
        kinds = {"bool" if isinstance(operands[entry[1]], ir.Name) and
                 operands[entry[1]].id in self.masks else self.type_of(operands[entry[1]]).kind
                 for entry in spec if entry[0] == "arg"}
        if isinstance(value, ir.Name) and self.type_of(value).differentiable and \
                kinds - {"int", "float", "bool"}:
            if "intarray" in kinds:
                self.report("AD305", target, "assigning a differentiable value through an "
                            "integer-array index (indices may repeat, and the last write "
                            "wins)", "if it is a boolean mask, say so: annotate it "
                            "'bool N, D' or pass --shapes mask=bool:N,D; else use np.where "
                            "or a slice")
            else:
                self.report("AD305", target, "assigning a differentiable value through an "
                            "index that may be an integer array (it is not known to be a "
                            "boolean mask)", "compute the mask in the function "
                            "(mask = x > 0), or declare it a boolean mask: annotate it "
                            "'bool N, D' or pass --shapes mask=bool:N,D")
        shared = self.in_place(name, node, "")
        version = self.version(name)
        self.env[name] = self.add("setitem", tuple(operands), node, version, name,
                                  (("index", tuple(spec)),))
        self.updated(name, shared, node)

    def stage_aug_assign(self, stmt: cst.AugAssign) -> None:
        if isinstance(stmt.target, cst.Subscript):  # x[index] += v: x[index] = x[index] + v
            rhs = self.stage_expr(stmt.value)
            part = self.stage_getitem(stmt.target, None, None)
            base = stmt.target.value
            if isinstance(base, cst.Name) and is_container(self.env.get(base.value)) and \
                    self.array_mode and self.type_of(part).kind in ("array", "unknown"):
                shown = self.parsed.code(stmt.target).strip()
                op = self.parsed.code(stmt.operator).strip()[:-1]
                self.report("AD207", stmt, f"in-place update of '{shown}', an array that "
                            "other names may hold too", f"write {shown} = {shown} {op} ... "
                            "(a new array)")
                return
            rule = REGISTRY.by_spelling(_AUG_SPELLINGS[type(stmt.operator)])
            updated = self.add(rule.name, (part, rhs), stmt, None)
            self.stage_setitem(stmt.target, updated, stmt)
            return
        name = stmt.target.value
        rhs = self.stage_expr(stmt.value)
        rule = REGISTRY.by_spelling(_AUG_SPELLINGS[type(stmt.operator)])
        op = self.parsed.code(stmt.operator).strip()[:-1]
        shared = self.in_place(name, stmt, f"{name} = {name} {op} ...")
        target = self.version(name)
        self.env[name] = self.add(rule.name, (self.lookup(name, stmt.target), rhs), stmt,
                                  target, user=name)
        self.updated(name, shared, stmt)

    # ------------------------------------------------------------ arrays updated in place

    def in_place(self, name: str, node: cst.CSTNode,
                 instead: str) -> Optional[tuple[int, list[str]]]:
        """Before `name`'s array is updated in place (`z += y`, `z[i] = v`): what else the
        update changes (memory.py).  Returns (storage, the other names bound to the same
        storage, which must see the new value), or None for a number (rebound, never
        updated in place); reports the updates the staged code cannot follow.  `instead`
        is the update rewritten to make a new array (`z = z + ...`), if it can be."""
        op = self.env.get(name)

        def help(copy: str = f"{name} = {name}.copy()") -> str:
            return (f"write {instead} (a new array), or " if instead else "") + \
                f"take a copy first: {copy}"

        if not self.array_mode or not isinstance(op, ir.Name):
            return None
        kind = self.type_of(op).kind
        if kind not in ("array", "unknown"):
            return None
        storage = self.memory.of(op.id)
        if storage in self.listed or any(self.memory.related(storage, held)
                                         for held in self.listed):
            self.report("AD207", node, f"in-place update of '{name}', an array a list built "
                        "while the function runs holds (appended to it, or read from it): it "
                        "would change the list's entry too", help())
            return None
        if storage == AMBIGUOUS:
            self.report("AD207", node, f"'{name}' is updated in place, but whether it shares "
                        "its memory with another array depends on the path taken", help())
            self.refused(name)
            return None
        owner = self.memory.owner(storage)
        maybe = " (if it is an array)" if kind == "unknown" else ""
        if owner is not None or any(self.memory.shared(storage, env, "")
                                    for env in self.callers):
            what = (f"parameter '{name}'" if owner == name else
                    f"'{name}', which shares its memory with parameter '{owner}'"
                    if owner is not None else f"'{name}', an argument of the call")
            self.report("AD208", node, f"in-place update of {what}: it changes the caller's "
                        f"array{maybe}", help())
            self.refused(name)
            self.refused_storage = (name, storage)
            return None
        aliases, views = [], []
        for other, value in self.env.items():
            if other == name or not isinstance(value, ir.Name):
                continue
            there = self.memory.of(value.id)
            if there == storage:
                aliases.append(other)
            elif self.memory.related(there, storage) and self._read_later(other, node):
                views.append(other)
            elif there == AMBIGUOUS and self._read_later(other, node):
                # v = h on one path, a copy on another: the update changes v on one only
                self.report("AD207", node, f"in-place update of '{name}', which '{other}' "
                            "may share, depending on the path taken before", help())
                return None
        for other, value in self.env.items():  # lst = [h]; h += 1 changes lst[0] too
            for leaf in leaves(value) if is_container(value) else ():
                if isinstance(leaf, ir.Name) and leaf.id != op.id and \
                        self.memory.related(self.memory.of(leaf.id), storage) and \
                        self.memory.of(leaf.id) != storage:
                    views.append(f"an entry of {other}")
        if views:
            self.report("AD207", node, f"in-place update of '{name}', which shares memory "
                        f"with '{views[0]}' (one is a view of the other, as x[1:], x.T and "
                        f"x.reshape(...) are): it changes '{views[0]}' too",
                        help())
        elif aliases and kind == "unknown":
            self.report("AD207", node, f"in-place update of '{name}', which is '{aliases[0]}' "
                        "if it is an array (then the update changes both) but not if it is a "
                        "number", help() + ", or annotate the parameters (x: \"N D\")")
        return storage, aliases

    def refused(self, name: str) -> None:
        """An in-place update of `name` was reported: it is staged as a rebinding (a new
        array), so its loops' ends must not report that `name` changes storage (one
        problem, one diagnostic)."""
        self.refused_updates.update((name, id(loop)) for loop in self.loop_nodes)

    def updated(self, name: str, shared: Optional[tuple[int, list[str]]], node) -> None:
        """After an in-place update: the new value keeps the storage, and the names bound
        to the same storage see it (numpy's semantics)."""
        kept, self.refused_storage = self.refused_storage, None
        if shared is None:
            new = self.env.get(name)
            if kept is not None and kept[0] == name and isinstance(new, ir.Name):
                # refused (AD208), staged as a new array: still the caller's, so that a
                # later update of it or of a view of it is reported as AD208 too
                self.memory.same(new.id, kept[1])
            return
        storage, aliases = shared
        new = self.env[name]
        self.memory.same(new.id, storage)
        for other in aliases:
            self.env[other] = new

        def same(leaf) -> bool:
            return isinstance(leaf, ir.Name) and leaf.id != new.id and \
                self.memory.of(leaf.id) == storage

        for env in [self.env] + self.callers:  # the containers holding it see it too
            for other, value in list(env.items()):
                if not is_container(value) or not any(same(v) for v in leaves(value)):
                    continue
                outer = [c for c in _mutable_parts(value) if c.region != self.region]
                if outer:  # a list made outside this loop or branch would change here
                    self.report("AD207", node, f"in-place update of '{name}', which '{other}' "
                                "holds, inside a loop or branch that the list or dict was "
                                "not made in", f"write {name} = {name} + ... (a new array), "
                                "or build the container after the loop or branch")
                    continue
                env[other] = replace_leaves(value, same, new)

    def _read_later(self, name: str, node: cst.CSTNode) -> bool:
        """Whether the function being staged may read `name` after `node`: later in the
        source, or anywhere in a loop around `node` (conservatively: any mention)."""
        end = self.parsed.span(node)[1]
        loops = [self.parsed.span(loop) for loop in self.loop_nodes]
        for found in _mentions(self.current.body, name):
            at = self.parsed.exact_pos(found)
            if (at.line, at.col) >= (end.line, end.col) or any(
                    (lo.line, lo.col) <= (at.line, at.col) <= (hi.line, hi.col)
                    for lo, hi in loops):
                return True
        return False

    def stage_return(self, value: cst.BaseExpression) -> None:
        """`return value`: the value of the block (a name the function computed is returned
        as it is; anything else is assigned to the output's name)."""
        if not self.callers and isinstance(value, cst.Name) and \
                runlists.is_runtime_list(self, self.env.get(value.value)):
            self.report("AD104", value, "returning a list built while the function runs",
                        "return a single scalar, e.g. np.sum(np.stack(hs))")
        if self.callers and self.may_hold_container(value) and not isinstance(value, cst.Call):
            self.env[RETURN] = self.stage_value(value)
            return
        if isinstance(value, cst.Name) and value.value in self.env:
            operand = self.env[value.value]
            if isinstance(operand, ir.Name) and operand.id not in self.param_names and \
                    self.types.get(operand.id) != shapes.INT:
                self.env[RETURN] = operand
                if self.return_stem is None:
                    self.return_stem = value.value
                return
        if not self.callers and returns_cache(value):  # return out, cache: a layer
            self.cache = self.stage_value(value.elements[1].value)
            self.stage_return(value.elements[0].value)
            return
        self.env[RETURN] = self.stage_expr(value, self.output_name())
        if not self.callers and isinstance(self.env[RETURN], tuple):
            self.report("AD104", value, f"returning several values ({len(self.env[RETURN])}, "
                        "from the call)", "return a single scalar, e.g. helper(x)[0]; "
                        "differentiate each output separately")

    def lookup(self, name: str, node: cst.CSTNode) -> ir.Operand:
        value = self.env[name]
        if isinstance(value, _Unbound):
            self.report("AD203", node, f"'{name}' may be unassigned here: {value.why}",
                        "assign it before the branch or loop, or on every path")
            return ir.Num(0.0)
        if is_container(value):
            self.report("AD204", node, f"'{name}' holds {describe(value)}, not a single value",
                        f"index it ({name}[0]) or unpack it (a, b = {name})")
            return ir.Num(0.0)
        if isinstance(value, _Local):
            self.report("AD303", node, f"'{name}' is a local function: it can only be called",
                        "call it where its value is needed; do not pass, store or return it")
            return ir.Num(0.0)
        return value

    def version(self, user_name: str) -> str:
        """The name for a new binding of a user variable: itself the first time, then `x_1`...
        (`x_1` from the start for a name the generated code needs for itself, `reversed`)."""
        if user_name in RUNTIME:
            return self.names.fresh(user_name)
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
        if isinstance(node, cst.Call) and not is_value_attribute(node.func, self.scope,
                                                                 self.env):
            elsewhere = self.parsed.user_function(self.scope.qualify(node.func))
            if elsewhere is not None:  # a function of a user module
                return self.stage_call(node, target, user, *elsewhere)
        if isinstance(node, cst.Call):
            func = node.func
            attrs = tuple((a.keyword.value, static_value(a.value)) for a in node.args
                          if a.keyword is not None)
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
            if spelling.startswith("."):  # a method: x.sum(axis=0)
                positional.insert(0, func.value)
            rule = REGISTRY.by_spelling(spelling)
            if rule is None:  # sum(x) of an array: the fence lets it through for containers
                self.report("AD301", node, f"'{spelling}' of something that is not a list "
                            "or tuple of values", "for an array, use np.sum(x, axis=0) or "
                            "np.prod(x, axis=0)")
                return ir.Num(0.0)
            if rule.name == "np_array" and joined is None:  # np.array(x): a copy of x
                rule = REGISTRY["np_copy" if spelling == "numpy.array" else "np_asarray"]
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
                    self.report("AD204", a, f"{describe(value)} as an argument of "
                                f"'{spelling.lstrip('.')}'", "pass single values (arrays, "
                                "numbers); np.stack(values) makes one array of a list")
                    value = ir.Num(0.0)
                args.append(value)
            args = tuple(args)
            return self.add(self.array_form(rule.name, args), args, node, target, user, attrs)
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

    def fold(self, spelling: str, container, node, target, user) -> ir.Operand:
        """`sum(values)`, `np.prod(sizes)`, `len(values)` of a container: written out."""
        items = items_of(container)
        if items is None or any(is_container(i) for i in items):
            self.report("AD204", node, f"'{spelling}' of {describe(container)}",
                        "pass a list or tuple of single values")
            return ir.Num(0.0)
        if spelling == "len":
            value = ir.Num(len(items))
            return value if target is None else self.add("copy", (value,), node, target, user)
        prim = "add" if spelling == "sum" else "mul"
        if not items:
            value = ir.Num(0 if prim == "add" else 1)
            return value if target is None else self.add("copy", (value,), node, target, user)
        total = items[0]
        for i, item in enumerate(items[1:]):
            last = i == len(items) - 2
            total = self.add(prim, (total, item), node, target if last else None,
                             user if last else None)
        if len(items) == 1 and target is not None:
            total = self.add("copy", (total,), node, target, user)
        return total

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
        operands, spec = self.stage_index(node, [value])
        return self.add("getitem", tuple(operands), node, target, user,
                        (("index", tuple(spec)),))

    def pick(self, container, node: cst.Subscript, target, user, container_ok=False):
        """An entry of a container, by a constant index or key (or a slice of constants)."""
        key = None
        if len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
            key = self.constant_key(node.slice[0].slice.value)
        elif len(node.slice) == 1:  # hs[1:], x.shape[1:]
            bounds = node.slice[0].slice
            try:
                key = slice(*(None if b is None else static_value(b)
                              for b in (bounds.lower, bounds.upper, bounds.step)))
            except ValueError:
                key = None
        if key is None:
            self.report("AD204", node, f"indexing {describe(container)} needs a constant "
                        "index here", "use a constant, or unpack it: a, b = values; in a loop, "
                        "collect into an array (hs[t] = h) and index that")
            return ir.Num(0.0)
        try:
            chosen = entry(container, key)
        except LookupError as exc:
            self.report("AD204", node, str(exc), "use an index or key the container has")
            return ir.Num(0.0)
        if is_container(chosen):
            if container_ok:
                return chosen
            self.report("AD204", node, f"this is {describe(chosen)}, not a single value",
                        "index it again, or unpack it")
            return ir.Num(0.0)
        return chosen if target is None else self.add("copy", (chosen,), node, target, user)

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

    def leaf(self, node: cst.BaseExpression) -> Optional[ir.Operand]:
        """A constant, a name or a member (`params['W1']`) as an operand (no statement
        needed), else None."""
        if self.members and not self.callers and \
                isinstance(node, (cst.Subscript, cst.Attribute, cst.Call)):
            where = path_of(node, self.param_names)
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
                unknown = [a for a, t in zip(self.current_args, ctx.types) if t.rank is None]
                what = f"an operand of {spelled}" if rule.name == "matmul" else \
                    f"'{spelled}'"
                self.rank_requests.append((unknown, 2, self.parsed.pos(node).line, what))
            self.report("AD305", node, f"cannot differentiate '{spelled}' here: {exc}",
                        "give the parameters' shapes: adgen FILE --shapes 'x=N,D' (the "
                        "library API needs nothing: it takes them from the arguments), or "
                        "annotations, x: \"N D\"")
            return shapes.array(None)

    def report(self, code: str, node: cst.CSTNode, message: str, help: str) -> None:
        """A problem; one inside an inlined helper is reported once, with the lines of the
        calls that reached it (in the function being compiled)."""
        found = self.parsed.diagnostic(code, node, message, help)
        if not self.call_sites:
            self.diagnostics.append(found)
            return
        key = (found.code, found.path, found.line, found.col, found.message)
        if key not in self.sites:
            self.sites[key] = (len(self.diagnostics), self.call_sites[-1][0], [])
            self.diagnostics.append(found)
        index, helper, lines = self.sites[key]
        if self.call_sites[0][1] not in lines:
            lines.append(self.call_sites[0][1])
        where = ", ".join(str(n) for n in lines)
        self.diagnostics[index] = dataclasses.replace(
            found, message=f"{message} (in {helper}, called on line{'s' if len(lines) > 1 else ''}"
                           f" {where})")


def _mutable_parts(value) -> list:
    """The lists and dicts inside a container (itself included)."""
    found = [value] if isinstance(value, (ListValue, DictValue)) else []
    inner = value.items.values() if isinstance(value, DictValue) else items_of(value) or []
    return found + [c for item in inner if is_container(item) for c in _mutable_parts(item)]


def uses_arrays(parsed: ParsedModule, fn: cst.FunctionDef, declared: dict) -> bool:
    """Whether a function works on arrays: an array annotation, `@`, or a numpy name."""
    if any(t is not None and t.is_array for t in declared.values()):
        return True
    code = "\n".join(line.split("#")[0] for line in _body_code(parsed, fn).splitlines()
                     + [line for name in _callees(parsed, fn)
                        for line in _body_code(parsed, parsed.scope.functions[name]).splitlines()])
    aliases = [alias for alias, module in parsed.scope.modules.items() if module == "numpy"]
    aliases += [alias for alias, name in parsed.scope.imported.items()
                if name.startswith("numpy.")]
    if re.search(r"\bfor\b[^:\n]*\bin\s+(?!range\s*\()", code):  # over a sequence's items
        return True
    code = re.sub(r"\)\s*\[", ") ", code)  # helper(x)[0] picks one of a call's results
    if "@" in code or "[" in code or any(
            re.search(rf"\b{re.escape(alias)}\b", code) for alias in aliases):
        return True
    # x.sum(), (a * b).mean(), x.T, x.shape: a method or field only an array has (not one
    # of a module's: math.exp)
    modules = set(parsed.scope.modules)
    return any(found[1] not in modules for found in _array_members().finditer(code))


def _body_code(parsed: ParsedModule, fn: cst.FunctionDef) -> str:
    """The code of a function's body, from its first statement to its last line.  Read from
    the file's lines where Python's own tree places them, for a top-level function (whose
    body's code is those lines; regenerating it from libcst's tree costs about as much as
    parsing it); else, or when the first statement is decorated (a decorator's `@` can sit
    on a line before the one ast gives), libcst's code of the body.  The two differ only in
    blank and comment lines before the first statement and in whitespace, which
    `uses_arrays` does not look at."""
    twin = parsed.twin(fn)
    if twin is None or parsed.pos(fn).col != 1 or getattr(twin.body[0], "decorator_list", ()):
        return parsed.code(fn.body)
    lines = parsed.__dict__.get("_physical_lines")
    if lines is None:  # the lines as Python numbers them (str.splitlines also splits at \f)
        lines = parsed.__dict__["_physical_lines"] = re.split(r"\r\n|\r|\n", parsed.text)
    first = twin.body[0]
    chunk = lines[first.lineno - 1:twin.end_lineno]
    if isinstance(fn.body, cst.SimpleStatementSuite):  # def f(x): return x
        chunk[0] = chunk[0].encode()[first.col_offset:].decode()
    return "\n".join(chunk)


@functools.lru_cache(maxsize=1)
def _array_members() -> "re.Pattern":
    names = {s[1:].split("[")[0] for s in REGISTRY.spellings() if s.startswith(".")}
    names |= {"shape", "ndim", "size"}
    return re.compile(rf"(\w+|\)|\])\.({'|'.join(sorted(names))})\b")


def _callees(parsed: ParsedModule, fn: cst.FunctionDef) -> list[str]:
    """The functions of the same file that `fn` calls, directly or through others (asked
    several times per compilation: remembered per node of the parsed file)."""
    cache = parsed.__dict__.setdefault("_callees_cache", {})
    hit = cache.get(id(fn))
    if hit is not None and hit[0] is fn:
        return list(hit[1])
    found: list[str] = []
    pending = [fn]
    while pending:
        current = pending.pop()
        outline = parsed.outline(current)  # from ast: no call of a function here
        if outline is not None and outline.names.isdisjoint(parsed.scope.functions):
            continue
        for name in called_functions(parsed.scope, current.body):
            if name not in found:
                found.append(name)
                pending.append(parsed.scope.functions[name])
    cache[id(fn)] = (fn, tuple(found))
    return found


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


def _basic_index(attrs, types) -> bool:
    """Whether an index is basic (constants, slices, integers, np.newaxis): numpy then
    returns a view; integer or boolean arrays (fancy indexing) make a copy."""
    for entry in dict(attrs).get("index", ()):
        if entry and entry[0] == "arg":
            t = types[entry[1]] if types else None
            if t is not None and t.is_array:
                return False
    return True


def _mentions_all(node: cst.CSTNode) -> set[str]:
    """Every name a tree reads (attribute names after a dot excluded)."""
    found, pending = set(), [node]
    while pending:
        current = pending.pop()
        if isinstance(current, cst.Name):
            found.add(current.value)
        elif isinstance(current, cst.Attribute):
            pending.append(current.value)
            continue
        pending.extend(children(current))
    return found


def _mentions(node: cst.CSTNode, name: str) -> list[cst.Name]:
    """Every `Name` node spelled `name` in a tree."""
    found, pending = [], [node]
    while pending:
        current = pending.pop()
        if isinstance(current, cst.Name) and current.value == name:
            found.append(current)
        pending.extend(children(current))
    return found


def _marked(stmts, via: str) -> list:
    """A helper's staged statements, each marked with the call it was inlined for (the
    innermost call where helpers call helpers)."""
    marked = []
    for stmt in stmts:
        if isinstance(stmt, ir.Assign):
            marked.append(stmt if stmt.via else dataclasses.replace(stmt, via=via))
        elif isinstance(stmt, ir.Raise):
            marked.append(stmt)
        elif isinstance(stmt, ir.If):
            marked.append(dataclasses.replace(stmt, body=tuple(_marked(stmt.body, via)),
                                              orelse=tuple(_marked(stmt.orelse, via))))
        else:
            marked.append(dataclasses.replace(stmt, body=tuple(_marked(stmt.body, via)),
                                              header=tuple(_marked(stmt.header, via))))
    return marked


def _reads(stmts, name: str) -> bool:
    """Whether any statement of a tree reads `name`."""
    target = ir.Name(name)
    for stmt in stmts:
        if isinstance(stmt, ir.Assign):
            if target in stmt.args:
                return True
        elif isinstance(stmt, ir.Raise):
            continue
        elif isinstance(stmt, ir.If):
            if stmt.test == target or _reads(stmt.body, name) or _reads(stmt.orelse, name):
                return True
        elif target in stmt.bounds or stmt.test == target or \
                any(v == target for _, v in stmt.carried) or _reads(stmt.header, name) or \
                _reads(stmt.body, name):
            return True
    return False


def _rename_last(path: list, op: ir.Operand, merged: str, params) -> bool:
    """Rename the statement of `path` (a branch's statement list) that assigns `op` to
    `merged`, and the later uses of `op` on that path; False if `op` is not assigned by a
    statement of the path itself."""
    if not isinstance(op, ir.Name) or op.id in params or any(
            isinstance(s, ir.Loop) and op.id in dict(s.carried) for s in path):
        return False
    for i, stmt in enumerate(path):
        if isinstance(stmt, ir.Assign) and stmt.target == op.id:
            path[i] = dataclasses.replace(stmt, target=merged)
            path[i + 1:] = [_renamed(s, op.id, merged) for s in path[i + 1:]]
            return True
        if isinstance(stmt, ir.If):  # a nested if's merged name (elif chains)
            body, orelse = list(stmt.body), list(stmt.orelse)
            if _rename_last(body, op, merged, params) and \
                    _rename_last(orelse, op, merged, params):
                path[i] = dataclasses.replace(stmt, body=tuple(body), orelse=tuple(orelse))
                path[i + 1:] = [_renamed(s, op.id, merged) for s in path[i + 1:]]
                return True
    return False


def _renamed(stmt, old: str, new: str):
    def op(o):
        return ir.Name(new) if isinstance(o, ir.Name) and o.id == old else o

    if isinstance(stmt, ir.Assign):
        return dataclasses.replace(stmt, args=tuple(op(a) for a in stmt.args))
    if isinstance(stmt, ir.Raise):
        return stmt
    if isinstance(stmt, ir.If):
        return dataclasses.replace(stmt, test=op(stmt.test),
                                   body=tuple(_renamed(s, old, new) for s in stmt.body),
                                   orelse=tuple(_renamed(s, old, new) for s in stmt.orelse))
    return dataclasses.replace(
        stmt, body=tuple(_renamed(s, old, new) for s in stmt.body),
        header=tuple(_renamed(s, old, new) for s in stmt.header),
        bounds=tuple(op(b) for b in stmt.bounds),
        test=op(stmt.test) if stmt.test is not None else None,
        carried=tuple((c, op(v)) for c, v in stmt.carried))


def _params(fn) -> list[cst.Param]:  # (a FunctionDef or a Lambda)
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


def _static_default(node) -> bool:
    """A parameter's default that is not a number: a string, None, True or False."""
    return isinstance(node, cst.SimpleString) or (
        isinstance(node, cst.Name) and node.value in ("None", "True", "False"))


def _plain_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def stage_function(parsed: ParsedModule, fn: cst.FunctionDef,
                   declared: Optional[dict] = None) -> tuple[ir.Function, dict]:
    """Stage `fn`; `declared` gives its parameters' types (None: from annotations).  For
    array code, the parameters it leaves unknown get facts inferred from the code
    (inference.py), which are returned too (parameter -> facts.Fact)."""
    if declared is None:
        declared = {p.name.value: shapes.parse_annotation(
            parsed.code(p.annotation.annotation) if p.annotation else None)
            for p in _params(fn)}
    declared = {**declared, **{m.name: None for m in members_of(parsed, fn)
                               if m.name not in declared}}
    return stage_with_inference(parsed, fn, declared,
                                lambda types, infer: Stager(parsed, fn, types, infer))
