"""Staging assignments: names, unpacking (`a, b = ...`, `N, D = x.shape`), `x[i] = v` and
augmented assignments.
"""

from __future__ import annotations

import libcst as cst

from adgen import ir
from adgen.containers import DictValue, ListValue, describe, entry, is_container, items_of
from adgen.members import path_of
from adgen.multiresults import stage_results
from adgen.rules import REGISTRY
from adgen.stage_env import _Local
from adgen.staticargs import is_shape

_AUG_SPELLINGS = {cst.AddAssign: "+", cst.SubtractAssign: "-", cst.MultiplyAssign: "*",
                  cst.DivideAssign: "/", cst.PowerAssign: "**", cst.FloorDivideAssign: "//",
                  cst.ModuloAssign: "%"}


class AssignmentStaging:
    """Stager methods for assignment statements."""

    def stage_assign(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if isinstance(target, (cst.Tuple, cst.List)) and is_shape(value) and \
                not self.holds_container(value.value):  # N, D = x.shape
            array = self.stage_expr(value.value)
            for axis, element in enumerate(target.elements):
                name = element.value.value
                self.env[name] = self.add("dim", (array,), value, self.version(name), name,
                                          (("axis", axis),))
            return
        if isinstance(target, (cst.Subscript, cst.Attribute)) and not self.callers and \
                path_of(target, self.param_names) is not None:
            # bn_param['running_mean'] = running_mean: written into the caller's dict, as
            # the forward does (the fence proved no later read; members.write_refusal)
            stored = self.stage_expr(value)
            self.add("param_store", (stored,), target, None,
                     attrs=(("into", self.parsed.code(target).strip()),))
            return
        if isinstance(target, cst.Subscript) and isinstance(target.value, cst.Subscript):
            self.stage_entry_setitem(target, self.stage_value(value))
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
                        self.sequence_help(getattr(node, "value", None), "unpack a tuple "
                                           "or a list (a, b = helper(x)); index an array "
                                           "instead: a = x[0]"))
            items = [ir.Num(0.0)] * len(names)  # bound, to go on finding problems
        elif len(items) != len(names):
            self.report("AD204", node, f"cannot unpack {describe(value)} into {len(names)} "
                        "names", "give one name per value")
            items = (items + [ir.Num(0.0)] * len(names))[:len(names)]
        for name, item in zip(names, items):
            self.bind(name, item, node, copy)

    def stage_entry_setitem(self, target: cst.Subscript, value: ir.Operand) -> None:
        """`xs[t][k] = 1`: an update of the array a local list or dict holds (min-char-rnn's
        one-hot inputs), staged as the update of a name bound to that array; the
        containers holding it see the new value, as numpy's would (stage_inplace.updated),
        and an array others share is refused there as any update of it is."""
        reported = len(self.diagnostics)
        holder = self.stage_value(target.value)
        container = target.value.value
        if not (isinstance(container, cst.Name) and is_container(self.env.get(container.value))
                and isinstance(holder, ir.Name)):
            if len(self.diagnostics) == reported:  # (else: why is said already)
                self.report("AD105", target, "assignment into this subscript is not "
                            "supported", "assign to a plain local name, then update it")
            return
        alias = f"{container.value}_entry"
        saved = self.env.get(alias)
        self.env[alias] = holder
        try:
            self.stage_setitem(target.with_changes(value=cst.Name(alias)), value, target)
        finally:
            if saved is None:
                self.env.pop(alias, None)
            else:
                self.env[alias] = saved

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
