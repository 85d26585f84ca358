"""Staging run-time loops (`for`, `while`): the variables they carry, `break` flags, what an
in-place update in a loop must keep.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from adgen import ir, runlists, shapes
from adgen.containers import is_container
from adgen.stage_branches import _rename_last
from adgen.stage_env import EXIT, RETURN, _Local, _Unbound
from adgen.statements import assigned_in, block_statements, may_exit


class LoopStaging:
    """Stager methods for for and while loops."""

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
            if (id(node), v) in self.widened and self.array_mode and \
                    self.types.get(names[v], shapes.UNKNOWN).kind in ("float", "int"):
                self.types[names[v]] = shapes.UNKNOWN  # a number at first, maybe an array
                if names[v] not in self.param_names:  # (which the loop made: its own)
                    self.memory.fresh(names[v])
            if self.array_mode and self.types.get(names[v], shapes.FLOAT).kind == "int" and \
                    self.types[names[v]].dim is not None:
                # an int the loop changes is not the size it is on entry (k = H, then
                # k = k + H: a[:, :k] is not H wide in every iteration)
                self.types[names[v]] = shapes.INT
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
                if t0 is not None and t1 is not None and t0.kind in ("float", "int") and \
                        t1.kind in ("array", "unknown"):  # y = 0.0; y = y * x + c
                    self.widen_requests.add((id(node), v))
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
        number = self.type_of(ir.Name(start)).kind in ("float", "int")  # rebound, not shared
        if (self.memory.shared(first, self.env, var) and not number) or \
                self.memory.shared(last, self.env, var):
            self.report("AD207", node, f"'{var}' is updated in place in this loop, but it "
                        "refers to different arrays in different iterations, one of them "
                        "shared with another name", f"write {var} = {var} + ... (a new array) "
                        "instead of the in-place update")

    def stage_for(self, stmt: cst.For) -> None:
        statements = block_statements(stmt.body)
        if self.unrolled(stmt, statements):
            return
        callee = self.scope.qualify(stmt.iter.func) if isinstance(stmt.iter, cst.Call) else None
        zipped = callee == "zip" and self.zipped_arrays(stmt)
        if not isinstance(stmt.target, cst.Name) and not zipped and not (
                callee == "enumerate" and len(stmt.target.elements) == 2 and
                all(isinstance(el.value, cst.Name) for el in stmt.target.elements)):
            self.report("AD105", stmt.target, "several loop variables over an array or a "
                        "range", self.sequence_help(stmt.iter, "use one name (for t in "
                                                    "range(T)), or two with enumerate (for "
                                                    "i, x in enumerate(xs)); unpack inside "
                                                    "the loop"))
            return
        if (callee == "zip" and not zipped) or isinstance(stmt.iter, (cst.Tuple, cst.List)):
            self.static_items(stmt.iter, "this loop")  # (reported: its values are not known)
            return
        iterable, target = stmt.iter, stmt.target
        callee = self.scope.qualify(iterable.func) if isinstance(iterable, cst.Call) else None
        array, pairs_of = None, ()
        if callee == "range":
            bounds = tuple(self.stage_expr(a.value) for a in iterable.args)
            index_user, element = target.value, None
        elif zipped:  # for a, b in zip(x, y): x[i], y[i] up to the shorter one's length
            arrays = [self.stage_expr(a.value) for a in iterable.args]
            lengths = [self.add("length", (a,), arg.value, None, None)
                       for a, arg in zip(arrays, iterable.args)]
            bounds = (lengths[0] if len(lengths) == 1 else
                      self.add("min", tuple(lengths), iterable, None, None),)
            index_user, element = None, None
            pairs_of = tuple(zip((el.value.value for el in target.elements), arrays))
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
        for name, source in pairs_of:
            self.env[name] = self.add("getitem", (source, ir.Name(index)), iterable,
                                      self.version(name), name, (("index", (("arg", 1),)),))
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
        for name in (index_user, element) + tuple(n for n, _ in pairs_of):
            if name:
                self.env[name] = _Unbound("it is a loop variable (the loop may run zero "
                                          "times)")
        self.body.append(ir.Loop("for", tuple(body), pairs, self.parsed.pos(stmt),
                                 index=index, bounds=bounds, key=self.new_key()))

    def zipped_arrays(self, stmt: cst.For) -> bool:
        """`for a, b in zip(x, y)` over arrays (not lists or tuples known as the function is
        staged): one name per array, each read at the loop's index."""
        args = stmt.iter.args
        return isinstance(stmt.target, (cst.Tuple, cst.List)) and \
            len(stmt.target.elements) == len(args) >= 1 and \
            all(isinstance(el.value, cst.Name) for el in stmt.target.elements) and \
            all(a.keyword is None and a.star == "" and not self.may_hold_container(a.value)
                for a in args)

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
