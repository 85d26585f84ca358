"""Staging a call of a helper (a function of the same file or of a user module, a nested
`def`, a lambda): inlined, its statements marked with the call.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import libcst as cst

from adgen import ir
from adgen.params import all_params, positional_params
from adgen.containers import is_container
from adgen.fence_expressions import _static_literal
from adgen.source import ParsedModule, evaluate_constant
from adgen.stage_env import RETURN
from adgen.statements import small_statements


class CallStaging:
    """Stager methods for inlining helpers."""

    def stage_call(self, node: cst.Call, target: Optional[str], user: Optional[str],
                   parsed: ParsedModule, name: str, callee=None, closure=None,
                   receiver=None):
        """A call to a function of the same file (or of a user module, or defined in the
        function: a nested def or a lambda, reading the `closure` names around it), inlined:
        its parameters bound to the arguments' values, its statements staged here (its names
        versioned like the caller's), its returned value (or tuple of values) the call's
        value.  A method called through `self` (adgen/methods.py) has its first parameter
        bound to `receiver`, the caller's instance."""
        callee = parsed.scope.functions[name] if callee is None else callee
        params = _params(callee)
        bound: dict = {}
        positional = [a for a in node.args if a.keyword is None]
        binds = positional_params(callee)
        if receiver is not None:
            bound[binds[0].name.value] = receiver
            binds = binds[1:]
        for p, a in zip(binds, positional):
            bound[p.name.value] = self.stage_value(a.value)
        for a in node.args:
            if a.keyword is not None:
                bound[a.keyword.value] = self.stage_value(a.value)
        for p in params:
            if p.name.value not in bound:
                bound[p.name.value] = self.default_value(p, parsed)
        line = self.parsed.pos(node).line
        saved = (self.env, self.return_target, self.return_base, self.return_stem,
                 self.param_names, self.parsed, self.scope, self.current, self.loop_nodes)
        self.callers.append(self.env)
        self.call_sites.append((name, line))
        self.parsed, self.scope, self.current, self.loop_nodes = parsed, parsed.scope, callee, []
        self.env = {**(closure or {}), **bound}
        self.return_target, self.return_base, self.return_stem = \
            target, name.rpartition(".")[2], None  # (self.penalty: named penalty1)
        self.param_names = set()
        outer = self.body
        self.body = []
        if isinstance(callee, cst.Lambda):
            self.env[RETURN] = self.stage_expr(callee.body, self.output_name())
        else:
            self.stage_block([stmt for stmt, _ in small_statements(callee)], [])
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


    def default_value(self, param: cst.Param, parsed: ParsedModule) -> ir.Operand:
        """A helper parameter's default, when the call does not pass it: a number (module
        constants read in the helper's own file), or a string, None, True or False, staged as
        the same literal passed would be (so `if name != "x":` compares the real default)."""
        value = evaluate_constant(param.default, parsed.scope)
        if value is not None:
            return ir.Num(value, repr(value))
        if _static_literal(param.default):  # scope-free: staged here as it is written
            return self.stage_value(param.default)
        self.report("AD103", param.default, "default value is not a numeric constant",
                    "use a number (or a module-level numeric constant) as the default")
        return ir.Num(0.0)


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


def _params(fn) -> list[cst.Param]:  # (a FunctionDef or a Lambda)
    return all_params(fn)
