"""Staging branches: `if` paths and how they merge, conditions (`and`, `or`, chained
comparisons), `raise` and `assert`.
"""

from __future__ import annotations

import builtins
import os
import dataclasses
from typing import Optional

import libcst as cst

from adgen import ir, runlists, shapes, statictests
from adgen.containers import is_container
from adgen.rules import REGISTRY
from adgen.stage_env import EXIT, RAISED, RETURN, _Partial, _Unbound
from adgen.stage_expressions import _COMPARISON_SPELLINGS
from adgen.children import children
from adgen.statements import block_statements, else_statements, placeholder_names

RUNTIME_EXCEPTIONS = frozenset(n for n in dir(builtins)
                               if n.endswith(("Error", "Exception", "Warning")))


class BranchStaging:
    """Stager methods for branches, conditions, raise and assert."""

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
                return f"raise AssertionError({_literal(where + ': ' + self.parsed.code(stmt.test).strip())})"
            return f"raise AssertionError({self.parsed.code(msg).strip()})"
        cls = "AssertionError"
        if exc is not None:
            callee = exc.func if isinstance(exc, cst.Call) else exc
            name = callee.value if isinstance(callee, cst.Name) else None
            cls = name if name in RUNTIME_EXCEPTIONS else "RuntimeError"
        return f"raise {cls}({_literal(where + ': ' + ' '.join(self.parsed.code(stmt).split()))})"

    def _reads_only_unchanged(self, node: cst.CSTNode) -> bool:
        for name in _mentions_all(node):
            if name in self.env:
                if self.callers or self.env[name] != ir.Name(name) or \
                        name not in self.param_names:
                    return False
            elif not hasattr(builtins, name) and name not in self.scope.modules:
                return False
        return True

    def stage_condition(self, test: cst.BaseExpression) -> ir.Operand:
        """A branch's or loop's test, computed once into a name the backward pass reads.
        `a and b` is a branch computing b only where a holds (`a or b` likewise); a chained
        comparison `lo < x < hi` is `lo < x and x < hi` with x computed once."""
        if isinstance(test, cst.BooleanOperation) and not test.lpar:
            if statictests.truth(test.left, self.env) is not None:
                # True and b, False or b (a literal given to a helper): b alone
                # (stage_if has folded the tests the left side decides)
                return self.stage_condition(test.right)
            return self.stage_short_circuit(
                test, lambda: self.stage_condition(test.left),
                lambda: self.stage_condition(test.right), isinstance(test.operator, cst.And))
        if isinstance(test, cst.Comparison) and len(test.comparisons) > 1:
            return self.stage_chain(test, self.stage_expr(test.left), list(test.comparisons))
        if _negation(test) is not None:
            return self.stage_not(test, self.stage_condition(_negation(test)))
        if statictests.string_test(test) is not None:  # (stage_if decides the known ones)
            self.report("AD305", test, "a string test on a value known only when the "
                        "function runs", "test a string adgen knows when compiling: a "
                        "literal, a dict's key in a loop over the dict, a helper's argument")
            return ir.Num(0)
        return self.stage_test(test)

    def stage_not(self, node: cst.UnaryOperation, inner: ir.Operand) -> ir.Name:
        """`not c` as a value: False where c holds, True elsewhere (Python's truth, NaN
        included, which inverting a comparison would not keep)."""
        target = self.names.numbered("cond")
        outer = self.body
        paths = []
        for value in (ir.Num(0, "False"), ir.Num(1, "True")):
            self.body = []
            self.add("copy", (value,), node, target)
            paths.append(tuple(self.body))
        self.body = outer
        self.body.append(ir.If(inner, paths[0], paths[1], self.parsed.pos(node),
                               self.new_key()))
        return ir.Name(target)

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
        known = statictests.truth(stmt.test, self.env)
        if known is not None:  # act(z, "relu"): only the path taken (adgen/statictests.py)
            self.stage_block(block_statements(stmt.body) if known else else_statements(stmt),
                             continuation)
            return
        start = len(self.body)
        order = (block_statements(stmt.body), else_statements(stmt))
        if _negation(stmt.test) is not None:  # if not c: A else: B is if c: B else: A
            test = self.stage_condition(_negation(stmt.test))
            order = order[::-1]
        else:
            test = self.stage_condition(stmt.test)
        tested = len(self.body)  # (the test's own statements end here)
        runlists.materialize(self, list(block_statements(stmt.body)) +
                             list(else_statements(stmt)) + list(continuation), stmt)
        before, outer = dict(self.env), self.body
        paths = []
        region = self.region
        for statements in order:
            self.env, self.body, self.region = dict(before), [], self.new_key()
            self.stage_block(statements, continuation)
            paths.append((self.body, self.env))
        self.body, self.region = outer, region
        key = self.new_key()
        body, orelse = self.merge(before, paths, stmt, key)
        if not body and not orelse and self.env == before:
            # nothing on either path (`if verbose: print(...)`, a print being left out):
            # no if, and no test computed for it (fresh names nothing else reads), unless
            # something was staged after the test (a list made a value before the if)
            if len(self.body) == tested:
                del self.body[start:]
            return
        self.body.append(ir.If(test, tuple(body), tuple(orelse), self.parsed.pos(stmt), key))

    def merge(self, before: dict, paths, node, key: Optional[int] = None) -> tuple[list, list]:
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
            partial = self.partial(var, a, b, node, key)
            if partial is not None and partial.pair is None:
                env[var] = partial  # one path leaves it unassigned
                continue
            if partial is not None:  # both paths give a value, one from an if within it
                a, b = partial.pair
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
                if self.type_of(a).kind == "int" and \
                        self.type_of(a).dim != self.type_of(b).dim:  # k = H if c else 2 * H
                    self.types[merged] = shapes.INT
            env[var] = ir.Name(merged) if partial is None else \
                _Partial(partial.why, ir.Name(merged), partial.missing, self.region)
        if all(exits):
            env[EXIT] = True
        self.env = env
        return body, orelse

    def partial(self, var: str, a, b, node, key: Optional[int]) -> Optional[_Partial]:
        """A name some path of this if (or of an if within one of its paths) leaves
        unassigned -- a plain value, not in a loop, not a placeholder (None on the other
        path, not unbound): see stage_env._Partial.  Its operand is the value when one path
        assigns nothing here; its `pair`, the two values to merge when both paths give one
        (one from a _Partial)."""
        if key is None or var.startswith("<") or self.loop_nodes:
            return None
        sides = [a, b]
        missing: tuple = ()
        for i, side in enumerate(sides):
            if side is None:
                # (the file's name only: the module is the same from every route)
                where = f"{os.path.basename(self.parsed.path)}:{self.parsed.pos(node).line}"
                missing += ((key, i, where),)
            elif isinstance(side, _Partial):  # (from an if within this path, or before)
                missing += side.missing
                sides[i] = side.operand
            elif not isinstance(side, (ir.Name, ir.Num, ir.Lit)) and not is_container(side):
                return None
        if not missing or all(side is None for side in sides) or \
                var in placeholder_names(self.current):  # (a walk: the rare case last)
            return None
        given = [side for side in sides if side is not None]
        if len(given) == 2 and given[0] == given[1]:
            given = given[:1]  # (the same tuple on both: linear_cache = (A_prev, W, b))
        if len(given) == 2 and any(is_container(side) for side in given):
            return None  # a tuple made differently on the two paths: not merged
        return _Partial("it is assigned on only some paths through the if before it",
                        given[0] if len(given) == 1 else None, missing, self.region,
                        pair=tuple(sides) if len(given) == 2 else None)

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


def _literal(text: str, width: int = 48) -> str:
    """A string literal for generated code; a long one as adjacent literals, one per line
    (the emitter splits a raise's text at its newlines: the lines stay under 79)."""
    if len(text) <= width:
        return repr(text)
    import textwrap  # (at words: 'local variable' stays whole)

    parts = textwrap.wrap(text, width, drop_whitespace=False, break_on_hyphens=False)
    return "\n    " + "\n    ".join(repr(part) for part in parts)


def _negation(test: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    """c for a test `not c`, else None."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return test.expression
    return None
