"""Stage: a fenced libcst function -> an `ir.Function` of single-operation statements.

Nested expressions are flattened into statements with derived names (`xpy = x + y`,
`xpysqr = xpy ** 2`); composite gates become one statement (`sigy = sigmoid(y)`); the outermost
operation of a user's assignment keeps the user's name; a re-assigned name gets a new version
(`h`, `h_1`, ...) so that every name is assigned once and the backward pass can read any value
the forward pass computed.  The stager assumes the fence accepted the function.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import Optional

import libcst as cst

from adgen import ir, runlists, shapes
from adgen.children import children
from adgen.containers import describe, is_container
from adgen.diagnostics import AdgenError
from adgen.inference import stage_with_inference
from adgen.members import items_by_path, sequences
from adgen.members import of_function as members_of
from adgen.memory import Memory
from adgen.methods import class_of, is_static_method
from adgen.params import param_names
from adgen.naming import RUNTIME, Names
from adgen.reports import reporter
from adgen.rules import REGISTRY
from adgen.source import ParsedModule, evaluate_constant
from adgen.stage_assign import AssignmentStaging
from adgen.stage_branches import BranchStaging, _literal
from adgen.stage_calls import CallStaging, _params
from adgen.stage_containers import ContainerStaging
from adgen.stage_env import EXIT, RAISED, RETURN, _Local, _Partial, _Unbound
from adgen.stage_expressions import ExpressionStaging
from adgen.stage_inplace import InPlaceStaging
from adgen.stage_loops import LoopStaging
from adgen.stage_types import STATIC, TypeStaging
from adgen.statements import (assigned_names, block_statements, called_functions, else_statements,
                              may_exit, may_return, returns_cache, small_statements)
from adgen.userrules import stage_own_primitive


class Stager(BranchStaging, LoopStaging, CallStaging, AssignmentStaging, InPlaceStaging,
             ContainerStaging, ExpressionStaging, TypeStaging):
    """Stages one function: `__init__` and the block, return and name bookkeeping here; the
    methods for each kind of construct in the mixins (stage_branches.py, stage_loops.py,
    stage_calls.py, stage_assign.py, stage_inplace.py, stage_containers.py,
    stage_expressions.py, stage_types.py)."""

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
            ir.Param(p.name.value, self._default_text(p), parsed.pos(p),
                     keyword_only=any(p is k for k in fn.params.kwonly_params))
            for p in params
        )
        for p in self.params:
            self.env[p.name] = ir.Name(p.name)
        # params['W1']: read once, at the start; so is every entry of a list or tuple
        # parameter whose structure the arguments or --shapes give (members.find)
        self.members = members_of(parsed, fn, sequences(declared or {}))
        # the instance a method is given: the methods it calls through it read its members
        self.instance_params = set(param_names(fn)[:1]) if class_of(parsed, fn) and \
            not is_static_method(fn) else set()
        self.member_names = {m.name for m in self.members}
        # a, b, c = abc; for W, b in params: the items of tuple and list parameters
        by_path = items_by_path(self.members, frozenset(
            name for name, structure in sequences(declared or {}).items()
            if isinstance(structure[0], tuple)))  # dicts of arrays (facts.structure_of)
        self.tuple_params: dict[str, tuple] = {p: t for (p, path), t in by_path.items()
                                               if not path}
        self.held_items: dict[tuple, tuple] = {k: t for k, t in by_path.items()
                                               if k[1]}  # self.weights
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
        # a parameter the code compares with a string (if activation == "relu"): a string
        outline = parsed.outline(fn)  # (Python's tree: one cheap walk, shared)
        required = {p.name.value for p in params if p.default is None}
        static.update(dict.fromkeys(
            required & outline.compared if outline is not None else
            _compared_with_strings(fn, required), STATIC))
        # hyperparameters (x=1e-3) are floats; one whose default is an int (stride=1,
        # pad=1) is an int, in array code: a size or a count (range(H_out) needs one)
        counts = {p.name.value for p in params if self.array_mode and _int_literal(p.default)}
        self.types: dict[str, shapes.VType] = {
            name: declared[name] or static.get(name) or (
                shapes.INT if name in counts else
                shapes.FLOAT if name in numeric_default else default)
            for name in declared}
        self.diagnostics: list = []
        self.keys = 0
        self.unassigned: dict = {}  # if key -> (path, name, where): stage_env._Partial
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
        self.cache_note = None  # (name, pos, why) when the cache differs between paths
        self.masks: set[str] = set()  # values made by comparisons: boolean masks
        self.call_sites: list = []  # (helper, line of its call) of the calls being inlined
        self.sites: dict = {}  # a helper's diagnostic -> the lines of the calls it came from
        # (loop node id, variable) of loop-carried values that start as a number and may
        # become an array: typed "unknown" (decided at run time); stage_function stages
        # again with the ones a loop's end asks for (stage_loops.end_loop)
        self.widened: set = set()
        self.widen_requests: set = set()

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
        if self.unassigned:
            self.body = self.raise_unassigned(self.body)
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
            cache=self.cache, cache_note=self.cache_note,
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
                for later in stmt.targets[1:]:  # a = b = ...: b is a's value, as in Python
                    self.stage_assign(later.target, stmt.targets[0].target)
            elif isinstance(stmt, cst.AnnAssign) and stmt.value is not None:
                self.stage_assign(stmt.target, stmt.value)
            elif isinstance(stmt, cst.AugAssign):
                self.stage_aug_assign(stmt)
            elif isinstance(stmt, cst.Expr) and isinstance(stmt.value, cst.Call):
                call = reporter(stmt, self.scope)
                if call is None or (isinstance(call.func, cst.Name) and
                                    call.func.value in self.env):
                    self.stage_list_method(stmt.value)
                # else print(...): it reports only, and the gradient does not print
            elif isinstance(stmt, cst.Return):
                self.stage_return(stmt.value)
                return
        if continuation:
            self.stage_block(continuation, [])

    def raise_unassigned(self, stmts) -> list:
        """The statements with each `if` whose path leaves a name read afterwards unassigned
        (stage_env._Partial) ending that path in `raise UnboundLocalError`, where Python
        would fail at the read."""
        out = []
        for stmt in stmts:
            if isinstance(stmt, ir.If):
                paths = [self.raise_unassigned(stmt.body), self.raise_unassigned(stmt.orelse)]
                if stmt.key in self.unassigned:
                    missing, name, where = self.unassigned[stmt.key]
                    paths[missing].append(ir.Raise(
                        "raise UnboundLocalError(" + _literal(
                            f"{where}: local variable '{name}' is read after this if, "
                            "whose path here does not assign it") + ")", stmt.pos))
                stmt = dataclasses.replace(stmt, body=tuple(paths[0]), orelse=tuple(paths[1]))
            elif isinstance(stmt, ir.Loop):
                stmt = dataclasses.replace(stmt, body=tuple(self.raise_unassigned(stmt.body)))
            out.append(stmt)
        return out

    def new_key(self) -> int:
        self.keys += 1
        return self.keys

    # ------------------------------------------------------------ returns, names

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
            cache = value.elements[1].value
            held = self.env.get(cache.value)
            if held is None or isinstance(held, _Unbound):
                # None on some path, or built differently on two: not differentiated, so
                # the gradient of out stands; NAME_backward cannot unpack it (left out)
                self.cache_note = (cache.value, self.parsed.pos(cache),
                                   held.why if held is not None else
                                   "it is None (the placeholder) on every path")
            else:
                self.cache = self.stage_value(cache)
            self.stage_return(value.elements[0].value)
            return
        self.env[RETURN] = self.stage_expr(value, self.output_name())
        if not self.callers and isinstance(self.env[RETURN], tuple):
            self.report("AD104", value, f"returning several values ({len(self.env[RETURN])}, "
                        "from the call)", "return a single scalar, e.g. helper(x)[0]; "
                        "differentiate each output separately")

    def lookup(self, name: str, node: cst.CSTNode) -> ir.Operand:
        value = self.env[name]
        if isinstance(value, _Partial) and value.region == self.region and \
                not self.loop_nodes:  # read after an if only one of whose paths assigns it
            for key, path, where in value.missing:
                self.unassigned[key] = (path, name, where)
            return value.operand
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


def _static_default(node) -> bool:
    """A parameter's default that is not a number: a string, None, True or False."""
    return isinstance(node, cst.SimpleString) or (
        isinstance(node, cst.Name) and node.value in ("None", "True", "False"))


def _compared_with_strings(fn: cst.FunctionDef, names: set[str]) -> set[str]:
    """The names among `names` the function compares with a string literal (`activation ==
    "relu"`, `mode != 'train'`): strings, never differentiated."""
    found: set[str] = set()
    if not names:
        return found
    pending: list = [fn.body]
    while pending:
        node = pending.pop()
        if isinstance(node, cst.Comparison) and len(node.comparisons) == 1:
            sides = (node.left, node.comparisons[0].comparator)
            for side, other in (sides, sides[::-1]):
                if isinstance(side, cst.Name) and side.value in names and \
                        isinstance(other, cst.SimpleString):
                    found.add(side.value)
        pending.extend(children(node))
    return found


def _int_literal(node) -> bool:
    """`1`, `-1`: an int written as such (not `1.0`, not True)."""
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        node = node.expression
    return isinstance(node, cst.Integer)


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
    declared = {**declared, **{m.name: None for m in members_of(parsed, fn, sequences(declared))
                               if m.name not in declared}}
    widened: set = set()
    while True:  # staged again while a loop-carried number turns out to become an array
        made: list = []

        def once(types, infer):
            stager = Stager(parsed, fn, types, infer)
            stager.widened = set(widened)
            made.append(stager)
            return stager

        try:
            result, failure = stage_with_inference(parsed, fn, declared, once), None
        except AdgenError as exc:  # (maybe only because a number was taken for a number)
            result, failure = None, exc
        asked = set().union(*(s.widen_requests for s in made)) - widened
        if not asked:
            if failure is not None:
                raise failure
            return result
        widened |= asked
