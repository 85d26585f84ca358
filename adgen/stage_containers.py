"""Staging containers (containers.py): tuples, lists and dicts of staged values, their
entries, loops and comprehensions written out over them, `hs.append(h)`, `sum(hs)`,
`x.shape` as a tuple.
"""

from __future__ import annotations

import ast

from typing import Optional

import libcst as cst

from adgen import ir, runlists
from adgen.children import children
from adgen.containers import DictValue, ListValue, describe, entry, is_container, items_of
from adgen.members import path_of
from adgen.stage_env import _Local
from adgen.source import evaluate_constant
from adgen.statickeys import dict_view, key_form, key_value
from adgen.staticargs import is_shape, shape_index, static_value
from adgen.statements import may_exit


def _walk(nodes):
    """Every node under these nodes."""
    pending = list(nodes)
    while pending:
        node = pending.pop()
        yield node
        pending.extend(children(node))


# Int arithmetic computed when compiling (hs[t - 1] in a loop written out; L = len(p) // 2)
INT_ARITHMETIC = {cst.Add: lambda a, b: a + b, cst.Subtract: lambda a, b: a - b,
                  cst.Multiply: lambda a, b: a * b, cst.FloorDivide: lambda a, b: a // b}


class ContainerStaging:
    """Stager methods for containers of staged values."""

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

    def held_list(self, node: cst.BaseExpression) -> Optional[tuple]:
        """The items of a list a structured parameter holds (`self.weights`), if `node`
        reads one."""
        if not self.held_items or self.callers or \
                not isinstance(node, (cst.Attribute, cst.Subscript)):
            return None
        where = path_of(node, self.param_names)
        if where is None:
            return None
        return self.held_items.get((where[0], tuple(step[:2] for step in where[1])))

    def holds_container(self, node: cst.BaseExpression) -> bool:
        """Whether `node` names a container (or an entry of one that may be one)."""
        if self.held_list(node) is not None:
            return True
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
        held = self.held_list(node)
        if held is not None:
            return held
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
        elif dict_view(iterable) is not None and self.may_hold_container(dict_view(iterable)):
            value = self.stage_value(dict_view(iterable))  # params.items(): written out
            if isinstance(value, DictValue):
                keys = [ir.Lit(repr(k)) for k in value.items]
                view = iterable.func.attr.value
                return keys if view == "keys" else list(value.items.values()) \
                    if view == "values" else list(zip(keys, value.items.values()))
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
        if isinstance(node, cst.BinaryOperation) and type(node.operator) in INT_ARITHMETIC:
            # hs[t - 1] in a loop written out: t is a constant there
            left, right = self.constant_count(node.left), self.constant_count(node.right)
            if left is None or right is None or (
                    isinstance(node.operator, cst.FloorDivide) and right == 0):
                return None
            return INT_ARITHMETIC[type(node.operator)](left, right)
        try:
            value = static_value(node)
        except ValueError:
            value = evaluate_constant(node, self.scope) if not (
                isinstance(node, cst.Name) and node.value in self.env) else None
        if value is None:  # len(terms), a name bound to a constant: staged, without code
            outer, self.body = self.body, []
            staged = self.stage_value(node)
            self.body = outer
            value = staged.value if isinstance(staged, ir.Num) else \
                self.copied_constant(staged)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def copied_constant(self, operand) -> Optional[int]:
        """The int a name holds when this block assigned it one (`L = 4 // 2`, staged as
        the copy `L = 2`), else None.  Only this block's own statements are read: a name
        assigned inside a branch or loop, or merged after one, is not looked into."""
        if not isinstance(operand, ir.Name):
            return None
        for stmt in reversed(self.body):
            if isinstance(stmt, ir.Assign) and stmt.target == operand.id:
                arg = stmt.args[0] if stmt.prim == "copy" and len(stmt.args) == 1 else None
                return arg.value if isinstance(arg, ir.Num) and type(arg.value) is int \
                    else None
        return None

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
                callee == "range" and (self.changes_outer_list(statements) or
                                       self.indexes_container(statements, stmt.target)) and
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
        """Whether a loop runs over a container (maybe through zip or enumerate, or a
        dict's keys, values or items)."""
        if dict_view(iterable) is not None:
            return self.may_hold_container(dict_view(iterable))
        callee = self.scope.qualify(iterable.func) if isinstance(iterable, cst.Call) else None
        if callee in ("zip", "enumerate"):
            return any(self.over_values(a.value) for a in iterable.args)
        return callee is None and self.may_hold_container(iterable)

    def indexes_container(self, statements, target) -> bool:
        """Whether a loop's body indexes a list or tuple by its variable (`Ws[i]` in `for i
        in range(len(Ws))`): then the loop is written out, one index at a time."""
        return isinstance(target, cst.Name) and any(
            isinstance(node, cst.Subscript) and self.holds_container(node.value) and
            any(isinstance(n, cst.Name) and n.value == target.value for n in _walk(node.slice))
            for node in _walk(statements))

    def sequence_help(self, node, otherwise: str) -> str:
        """The help for unpacking or looping over `node`: when it reads a parameter nothing
        gives the kind of (`params`, `params[:-1]`, `params[-1]`), how to say it is a list."""
        root = node
        while isinstance(root, cst.Subscript):
            root = root.value
        value = self.env.get(root.value) if isinstance(root, cst.Name) else None
        param = value.id if isinstance(value, ir.Name) else None  # (a helper's: the caller's)
        if param in {p.name for p in self.params} and \
                getattr(self.param_types.get(param), "kind", None) != "sequence":
            return (f"if '{param}' is a list or tuple (of layers' weights), give its "
                    f"length: adgen FILE --shapes '{param}=list:3' (list:3,2 for a list "
                    "of 3 (W, b) pairs, list:3,dict:W,b for a list of 3 dicts with keys "
                    "'W' and 'b'); the library API takes it from the arguments")
        return otherwise

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
            if self.infer and t.kind in ("array", "unknown"):
                return ()  # while inferring: the facts found may give the rank
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
        bound = self.env.get(node.value) if isinstance(node, cst.Name) else None
        if isinstance(bound, ir.Lit):  # params[k] in for k in params: (written out)
            try:
                return ast.literal_eval(bound.text)
            except (ValueError, SyntaxError):
                pass
        if key_form(node) is not None:  # parameters['W' + str(l)] (adgen/statickeys.py)
            key = key_value(node, self.constant_count)
            if key is not None:
                return key
            self.report("AD204", node, "this key is computed from values known only when "
                        "the function runs",
                        "compute it from constants: a literal, or a loop variable of "
                        "range() of constants or of len() of the dict (for l in range(1, "
                        "L): parameters['W' + str(l)])")
            return None
        count = self.constant_count(node)  # Ws[i] in a loop written out, Ws[n - 1]
        if count is not None:
            return count
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

    def fold(self, spelling: str, container, node, target, user) -> ir.Operand:
        """`sum(values)`, `np.prod(sizes)`, `len(values)` of a container: written out."""
        items = items_of(container)
        if items is None and spelling == "len" and isinstance(container, DictValue):
            items = list(container.items)  # len(parameters): its number of keys
        if items is None or (spelling != "len" and any(is_container(i) for i in items)):
            self.report("AD204", node, f"'{spelling}' of {describe(container)}",
                        "pass a list or tuple of single values")
            return ir.Num(0.0)
        if spelling == "len":
            value = ir.Num(len(items))
            return value if target is None else self.add("copy", (value,), node, target, user)
        if spelling in ("max", "min"):  # max([a, b, c]): Python's max(a, b, c)
            if not items:
                self.report("AD204", node, f"'{spelling}' of an empty list",
                            "give it at least one value")
                return ir.Num(0.0)
            if len(items) == 1:
                return items[0] if target is None else \
                    self.add("copy", (items[0],), node, target, user)
            return self.add(spelling, tuple(items), node, target, user)
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

    def pick(self, container, node: cst.Subscript, target, user, container_ok=False):
        """An entry of a container, by a constant index or key (or a slice of constants)."""
        key = None
        if len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
            reported = len(self.diagnostics)
            key = self.constant_key(node.slice[0].slice.value)
            if key is None and len(self.diagnostics) > reported:
                return ir.Num(0.0)  # (constant_key said why)
        elif len(node.slice) == 1:  # hs[1:], x.shape[1:]
            bounds = node.slice[0].slice
            ends = [None if b is None else self.constant_count(b)
                    for b in (bounds.lower, bounds.upper, bounds.step)]
            given = (bounds.lower, bounds.upper, bounds.step)
            key = None if any(e is None and b is not None for e, b in zip(ends, given)) \
                else slice(*ends)
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
