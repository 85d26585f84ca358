"""Emit: IR -> deterministic, standalone, PEP 8 Python source.

The output depends only on the IR (no timestamps, no absolute paths unless given, no hash
order), imports only `math` and only when used, and never imports adgen.  Layout of a
generated function: the forward statements the gradient needs, then one block per
differentiated forward statement, headed by a comment naming the user's line, then the return.
"""

from __future__ import annotations

import re
import threading
from typing import Optional, Sequence

from adgen import fuse, ir
from adgen.fold import folded_forward
from adgen.members import expression as member_expression
from adgen.optimize import batch_products, propagate_copies
from adgen.inplace import backward_chains
from adgen.inplace import plan as inplace_plan
from adgen.prelude import (HELPER_MODULES, HELPERS, command_lines, dtype_check,
                           facts_paragraphs, length_check, shape_check,
                           spellings)
from adgen.printer import (MAX_LINE, docstring_lines, fit, index_source,
                           to_source, bracketed, wrap_items, PREC_ADD)
from adgen.rules import instance_of, substitute
from adgen.userrules import import_lines
from adgen.version import __version__

LABELLED_GATES = {"sigmoid": "sigmoid", "softplus": "softplus", "softplus1p": "softplus"}


class Tap:
    """Lines a consumer of the IR adds at fixed points of a generated function: adgen/leaks
    adds recording calls (the instrumented variant) or notes as comments.  This base class
    adds nothing, and without a tap the code is exactly what it is with this one."""

    parameter = ""  # a first parameter the function takes (the lens's recorder), or none
    # whether its lines name the gradients each block sets: then the backward pass keeps
    # its pure copies (optimize.propagate_copies would remove names the lines read)
    keeps_copies = False

    def forward(self, stmt: ir.Assign) -> list[str]:
        """Lines after a forward statement."""
        return []

    def block(self, block: ir.BackwardBlock) -> tuple[list[str], list[str]]:
        """Lines after a backward block's comment (its target's gradient is complete
        there), and after its statements."""
        return [], []

    def loop(self, item: ir.BackwardLoop) -> tuple[list[str], list[str], list[str]]:
        """Lines before a backward loop, at the start of each of its iterations (the carried
        gradients are those of the forward iteration's end), and after it."""
        return [], [], []

    def end(self, grad: ir.Gradient) -> list[str]:
        """Lines at the end of the backward pass, before the return."""
        return []


# numpy reductions that are also methods of an array, with the same arguments and the same
# ufunc reduction behind them: `x.sum(axis=1)` computes what `np.sum(x, axis=1)` does without
# np.sum's Python-level dispatch (about a microsecond a call, issue 13's small MLP)
METHOD_REDUCTIONS = {"np.sum": "sum", "np.mean": "mean", "np.max": "max", "np.min": "min",
                     "np.prod": "prod", "np.var": "var", "np.std": "std"}


# While emit_module runs (in this thread), each statement's right-hand side and line, by id
# (with the statement itself, so that an id is never taken for another's): a module's
# functions, comments and helper search print every statement several times.
_local = threading.local()


def _memoized(compute, stmt: ir.Assign):
    """`compute(stmt)`, once per statement while emit_module runs."""
    memo = getattr(_local, "memo", None)
    if memo is None:
        return compute(stmt)
    hit = memo.get((compute, id(stmt)))
    if hit is None or hit[0] is not stmt:
        hit = memo[(compute, id(stmt))] = (stmt, compute(stmt))
    return hit[1]


def forward_expr(stmt: ir.Assign) -> ir.Expr:
    """The forward statement's right-hand side, from its rule's forward template; a
    reduction of an operand known to be an array as its method (`x.sum(axis=1)`)."""
    return _memoized(_forward_expr, stmt)


def _forward_expr(stmt: ir.Assign) -> ir.Expr:
    inst = instance_of(stmt)
    expr = substitute(inst.forward, dict(zip(inst.slots, stmt.args)))
    if (isinstance(expr, ir.Call) and expr.func in METHOD_REDUCTIONS and expr.args
            and isinstance(expr.args[0], ir.Name) and stmt.types):
        operand = expr.args[0]
        known = [t for a, t in zip(stmt.args, stmt.types) if a == operand]
        if known and all(t is not None and t.is_array for t in known):
            return ir.Method(operand, METHOD_REDUCTIONS[expr.func], expr.args[1:], expr.kwargs)
    return expr


def forward_line(stmt: ir.Assign) -> str:
    return _memoized(_forward_line, stmt)


def _forward_line(stmt: ir.Assign) -> str:
    if stmt.prim in ("setitem", "param_store"):
        return "; ".join(forward_lines(stmt))
    return f"{stmt.target} = {to_source(forward_expr(stmt))}"


def forward_lines(stmt: ir.Assign) -> list[str]:
    """A forward statement as source lines: `x_1 = x.copy()` and `x_1[index] = v` for an
    assignment into an array, one line otherwise."""
    if stmt.prim == "param_store":  # bn_param['running_mean'] = running_mean_1
        return [f"{dict(stmt.attrs)['into']} = {to_source(stmt.args[0])}"]
    if stmt.prim != "setitem":
        return [forward_line(stmt)]
    call = forward_expr(stmt)  # _setitem(x, v, np.index_exp[index])
    array, value, index = call.args
    return [f"{stmt.target} = {to_source(array)}.copy()",
            f"{stmt.target}[{index_source(index.item)}] = {to_source(value)}"]


def comment_line(stmt: ir.Assign) -> str:
    text = _comment_text(stmt)
    return f"{text} (in {stmt.via})" if stmt.via else text


def _comment_text(stmt: ir.Assign) -> str:
    """How a backward block names its forward statement: gates by name (`sigmoid(x)`)."""
    label = LABELLED_GATES.get(stmt.prim)
    if label:
        args = ", ".join(to_source(a) for a in stmt.args)
        return f"# line {stmt.pos.line}: {stmt.target} = {label}({args})"
    if stmt.prim == "setitem":
        return f"# line {stmt.pos.line}: {forward_lines(stmt)[1]}"
    fused = fuse.label(stmt, to_source)
    if fused:
        return f"# line {stmt.pos.line}: {forward_line(stmt)}, {fused}"
    return f"# line {stmt.pos.line}: {forward_line(stmt)}"


def _masked_lines(g: ir.GradMasked) -> list[str]:
    built = g.temp or g.target
    lines = [f"{built} = {to_source(g.source)}.copy()",
             f"{built}[{index_source(g.index)}] = 0.0"]
    if g.temp:
        lines.append(f"{g.target} = {g.target} + {g.temp}" if g.rebind
                     else f"{g.target} += {g.temp}")
    return lines


def _scatter_lines(g: ir.GradScatter) -> list[str]:
    lines = []
    if g.init is not None:
        lines.append(f"{g.target} = np.zeros_like({to_source(g.init)})")
    if g.copy:
        lines.append(f"{g.target} = {g.target}.copy()  # an alias: add into a copy")
    if g.fancy:
        lines.append(f"np.add.at({g.target}, {to_source(_index_value(g.index))}, "
                     f"{to_source(g.expr)})")
    else:
        lines.append(f"{g.target}[{index_source(g.index)}] += {to_source(g.expr)}")
    return lines


def _index_value(item: ir.Expr) -> ir.Expr:
    """An index as a Python value (for np.add.at): slices as slice(...) calls."""
    if isinstance(item, ir.Slice):
        return ir.Call("slice", tuple(p if p is not None else ir.Lit("None")
                                      for p in (item.lower, item.upper, item.step)))
    if isinstance(item, ir.Tuple):
        return ir.Tuple(tuple(_index_value(i) for i in item.items))
    return item


def _grad_line(g: ir.GradAssign) -> str:
    text = to_source(g.expr)
    if g.rebind:
        return f"{g.target} = {g.target} + {bracketed(g.expr, PREC_ADD + 1)}"
    if g.accumulate:
        if isinstance(g.expr, ir.IfExp):
            text = f"({text})"
        return f"{g.target} += {text}"
    return f"{g.target} = {text}"


def _all_exprs(grad: ir.Gradient):
    for stmt in ir.assigns(grad.forward):
        expr = forward_expr(stmt)
        yield from (expr.args[1:] if stmt.prim == "setitem" else (expr,))
    for g in ir.backward_nodes(grad.blocks):
        if isinstance(g, (ir.BackwardIf, ir.BackwardLoop)):
            continue
        if isinstance(g, ir.GradMasked):
            yield g.index
            continue
        if isinstance(g, ir.GradZero):
            if g.array:
                yield ir.Call("np.zeros_like", (ir.Name(g.like),))
            continue
        yield g.expr
        if isinstance(g, ir.GradScatter):
            yield g.index
            yield ir.Call("np.zeros_like", ())  # the scatter's numpy
    for _, param in grad.zeros:
        t = grad.function.types.get(param)
        if t is not None and t.kind != "float":
            yield ir.Call("np.zeros_like", (ir.Name(param),))


def function_name(grad: ir.Gradient, value_and_grad: bool) -> str:
    return f"{grad.function.name}_{'value_and_grad' if value_and_grad else 'grad'}"


def signature_items(params) -> list[str]:
    """The parameters as the generated function's signature lists them: `name` or
    `name=default`, with `*` before the first keyword-only one (def loss(w, *, l2=1e-4)
    keeps l2 keyword-only)."""
    items = []
    for p in params:
        if p.keyword_only and "*" not in items:
            items.append("*")
        items.append(p.name if p.default is None else f"{p.name}={p.default}")
    return items


def emit_function(grad: ir.Gradient, value_and_grad: bool = False, tap: Optional[Tap] = None,
                  name: Optional[str] = None, guards: bool = True, fold: bool = False) -> str:
    """NAME_grad (or NAME_value_and_grad); with a tap (adgen/leaks), its lines added and the
    tap's parameter first, under `name`.  `guards=False` leaves blank lines where the
    argument checks would be (every other line keeps its number: adgen/specialize.py);
    `fold`, blank lines where single-use intermediates were, computed where they are read
    (adgen/fold.py: the API's run-time code for a function of numbers)."""
    fn = grad.function
    name = name or function_name(grad, value_and_grad)
    params = signature_items(fn.params)
    if tap is not None and tap.parameter:
        params.insert(0, tap.parameter)
    out_t = fn.output_type
    if out_t is not None and out_t.is_array and out_t.shape != ():
        # a layer: the caller gives the upstream gradient (a 0-d array is a scalar: 1.0)
        if any(p.default is not None for p in fn.params) and "*" not in params:
            params.append("*")
        params.append(grad.seed)
    else:
        params.append(f"{grad.seed}=1.0")
    wrt_names = [name for name, _ in grad.outputs] if grad.outputs else list(grad.wrt)
    wrt_text = ", ".join(wrt_names) if wrt_names else "nothing"
    doc_kind = "Value and gradient" if value_and_grad else "Gradient"
    output = fn.output.id if isinstance(fn.output, ir.Name) else fn.output_stem
    shown = [item.split("=")[0] for item in signature_items(fn.params)]  # w, x, *, l2
    summary = (f"{doc_kind} of {fn.name}({', '.join(shown)}) with respect "
               f"to {wrt_text}.")
    lines = wrap_items(f"def {name}", params, ":")
    lines += docstring_lines(summary, "    ", '"""') + [""] + docstring_lines(
        f"{grad.seed} is the upstream gradient of the output {output}.", "    ") + ['    """']
    lines += _guard(length_check(grad, name), guards)
    for m in fn.members:  # W1 = params['W1']: read once, at the start
        lines += fit(f"{m.name} = {member_expression(m)}")
    lines += _guard(shape_check(grad, name), guards)
    body = forward_tree_lines(grad, grad.forward, tap=tap)
    forward_count = len(body)
    if value_and_grad and grad.result:  # the backward pass restores the output's name
        body.append(f"{grad.result} = {output}")
        output = grad.result
    if out_t is not None and out_t.kind == "unknown" and isinstance(fn.output, ir.Name):
        # the output may be an array: a gradient needs a scalar (or the upstream gradient)
        test = f"if np.ndim({fn.output.id}) != np.ndim({grad.seed}):"
        body += [test] if len(test) + 4 <= MAX_LINE else [
            f"if (np.ndim({fn.output.id})", f"        != np.ndim({grad.seed})):"]
        body.append('    raise ValueError("an array output needs its upstream gradient")')
    blocks, chained = printed_blocks(grad, tap), False
    if grad.inplace:  # gradients as chains of in-place steps (a tap's lines come between
        # blocks, and each chain ends with the gradient's value: they see the same numbers)
        blocks, chained = backward_chains(grad, blocks, forward_expr)
    body += backward_lines(grad, tap, blocks)
    returned = _results(grad)
    body += _named_results(grad, returned, lines + body)
    if grad.inplace:  # a specialisation for arrays of one float dtype (adgen/inplace.py)
        plan, one_dtype = inplace_plan(grad, lines + body + returned + [output], forward_expr,
                                       forward_line)
        if plan:
            body[:forward_count] = forward_tree_lines(grad, grad.forward, tap=tap, plan=plan)
        if one_dtype or chained:
            lines += _guard(dtype_check(grad, name, seed=chained), guards)
    if fold and tap is None and not grad.inplace:
        groups = [(stmt, forward_tree_lines(grad, [stmt])) for stmt in grad.forward]
        if [l for _, group in groups for l in group] == body[:forward_count]:
            folded = folded_forward(grad, groups, lines + body[forward_count:] + returned,
                                    forward_expr)
            if folded is not None:
                body[:forward_count] = folded
    for line in body:
        lines.extend(_fit_nested(line))
    if value_and_grad:
        grads_text = returned[0] if len(returned) == 1 else None
        if grads_text is None:
            lines += wrap_items(f"return {output}, ", returned, "", "    ")
        else:
            lines.append(f"    return {output}, {grads_text}")
    else:
        lines += _return_lines(returned)
    return "\n".join(lines) + "\n"


def _guard(lines: list[str], kept: bool) -> list[str]:
    """A guard's lines, or as many blank lines."""
    return lines if kept else [""] * len(lines)


def _results(grad: ir.Gradient) -> list[str]:
    """What NAME_grad returns: the gradients for wrt, as a 1-tuple's text if need be (a
    structured input's as a dict with its keys: {'W1': dW1, ...})."""
    results = [grad.grad_names[p] for p in grad.wrt] if not grad.outputs else [
        grad.grad_names[name] if parts is None else _structured(grad, parts)
        for name, parts in grad.outputs]
    if grad.single:
        return [results[0]]
    return [f"({results[0]},)"] if len(results) == 1 else results


def _structured(grad: ir.Gradient, parts, depth: int = 0) -> str:
    """A structured input's gradient from its members' (path, name) parts: a dict by key
    (or attribute name), a tuple for a tuple parameter (its items by position) and a list
    for a list, nested as the paths are (p['layer']['W']: {'layer': {'W': dW}}; a list of
    layers: [(dW1, db1), (dW2, db2)], as JAX and autograd mirror their inputs)."""
    inner: dict = {}
    for path, member in parts:
        inner.setdefault(path[0], []).append((path[1:], member))
    values = {key: grad.grad_names[sub[0][1]] if len(sub) == 1 and not sub[0][0]
              else _structured(grad, sub, depth + 1) for key, sub in inner.items()}
    if all(isinstance(key, int) for key in values):
        items = [values[key] for key in sorted(values)]
        members = {m.name: m for m in grad.function.members}
        if any(depth in members[name].lists for _, name in parts if name in members):
            return "[" + ", ".join(items) + "]"
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    return "{" + ", ".join(f"{key!r}: {value}" for key, value in values.items()) + "}"


def _named_results(grad: ir.Gradient, returned: list[str], lines: list[str]) -> list[str]:
    """A structured gradient too long for the return line is built first, under the name
    of its parameter's gradient, broken after the commas of its outer bracket:
    `dparams = [(dparams_0_0, dparams_0_1), ...]` (changes `returned` in place)."""
    if not grad.outputs or len(", ".join(returned)) + 11 <= MAX_LINE:
        return []
    text = "\n".join(lines)
    out = []
    for i, ((param, parts), result) in enumerate(zip(grad.outputs, returned)):
        if parts is None or len(result) <= MAX_LINE // 2 or result[0] not in "[({":
            continue
        name = f"d{param}"
        while re.search(rf"\b{name}\b", text):
            name += "_"
        inner = _top_level_items(result[1:-1])
        out += [line[4:] for line in _pack_bracketed(f"    {name} = ", result[0], inner,
                                                     result[-1])]
        returned[i] = name
    return out


def _top_level_items(text: str) -> list[str]:
    """The comma-separated items of a bracket's contents, not splitting nested brackets."""
    items, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(text[start:i].strip())
            start = i + 1
    last = text[start:].strip()
    return items + ([last] if last else [])


def _pack_bracketed(head: str, open_: str, items: list[str], close: str) -> list[str]:
    """`head[item, item, ...]`, the items filling lines aligned under the first."""
    first = head + open_
    rows, current = [], first
    for i, item in enumerate(items):
        piece = item + ("," if i < len(items) - 1 else close)
        if current != first and len(current) + 1 + len(piece) > MAX_LINE:
            rows.append(current)
            current = " " * len(first)
            current += piece
            continue
        current += ("" if current == first else " ") + piece
    return rows + [current]


def _return_lines(returned: list[str]) -> list[str]:
    if len(returned) > 1:
        flat = "    return " + ", ".join(returned)
        return [flat] if len(flat) <= MAX_LINE else wrap_items("return ", returned, "", "    ")
    return [f"    return {returned[0] if returned else '()'}"]


INDENT = "    "
# a backward loop's batched products (optimize.batch_products) are done whenever the steps
# collected reach this many bytes, and after the loop: concatenations far larger than the
# allocator's small-block threshold cost more in fresh pages than one product saves
BATCH_BYTES = 262144


def _fit_nested(line: str, indent: str = INDENT) -> list[str]:
    """`fit` for a body line that may carry its own block indentation."""
    stripped = line.lstrip(" ")
    return fit(stripped, indent + line[:len(line) - len(stripped)])


def _test_source(test: ir.Operand) -> str:
    return to_source(test)


def forward_tree_lines(grad: ir.Gradient, stmts, in_loop: bool = False,
                       tap: Optional[Tap] = None, plan: Optional[dict] = None) -> list[str]:
    """The forward statements, branches and loops as source lines (nested lines carry their
    indentation); inside loops, each block ends by pushing what the backward pass needs.
    `plan` gives the lines of each statement computed in place (adgen/inplace.py)."""
    lines: list[str] = []
    for stmt in stmts:
        if isinstance(stmt, ir.Assign):
            lines += plan[id(stmt)] if plan and id(stmt) in plan else forward_lines(stmt)
            if tap is not None:
                lines += tap.forward(stmt)
        elif isinstance(stmt, ir.Raise):
            lines += stmt.text.split("\n")  # a long message: one literal per line
        elif isinstance(stmt, ir.If):
            paths = [(path, forward_tree_lines(grad, body, in_loop, tap, plan) + _pushes(
                grad.saved.get((stmt.key, path), ())), body)
                for path, body in (("body", stmt.body), ("orelse", stmt.orelse))]
            lines += _if_lines(_test_source(stmt.test), [(p[1], ir.raises(p[2]))
                                                         for p in paths])
        else:
            if not in_loop:
                for _, stack in _stacks(grad, [stmt]):
                    lines.append(f"{stack} = []")
            lines += _loop_lines(grad, stmt, tap, plan)
    return lines


def _loop_lines(grad: ir.Gradient, loop: ir.Loop, tap: Optional[Tap] = None,
                plan: Optional[dict] = None) -> list[str]:
    inner = forward_tree_lines(grad, loop.body, True, tap, plan)
    inner += _pushes(grad.saved.get((loop.key, "body"), ()))
    carried = [(c, e) for c, e in loop.carried if not (isinstance(e, ir.Name) and e.id == c)]
    if any(isinstance(e, ir.Name) and e.id in dict(carried) for _, e in carried):
        targets = ", ".join(c for c, _ in carried)
        inner.append(f"{targets} = {', '.join(to_source(e) for _, e in carried)}")
    else:
        inner += [f"{c} = {to_source(e)}" for c, e in carried]
    if loop.kind == "for":
        bounds = ", ".join(to_source(b) for b in loop.bounds)
        return [f"for {loop.index} in range({bounds}):"] + _indented(inner or ["pass"])
    # the test's statements: assignments, and branches for a short-circuit `and`/`or`
    header = forward_tree_lines(grad, loop.header, True, tap)
    test = to_source(loop.test)
    if len(loop.header) == 1 and isinstance(loop.header[0], ir.Assign) \
            and loop.header[0].target == loop.test.id:
        header, test = [], to_source(forward_expr(loop.header[0]))
    lines = list(header)
    if loop.counter:
        lines.append(f"{loop.counter} = 0")
        inner.append(f"{loop.counter} += 1")
    return lines + [f"while {test}:"] + _indented(inner + header)


def _pushes(saved) -> list[str]:
    return [f"{stack}.append({name})" for name, stack in saved]


def _indented(lines: list[str]) -> list[str]:
    return [INDENT + line for line in lines]


def _stacks(grad: ir.Gradient, stmts) -> list[tuple[str, str]]:
    """The (value, stack) pairs of every block inside these statements, in order."""
    found: list[tuple[str, str]] = []
    for stmt in stmts:
        if isinstance(stmt, ir.If):
            for path, body in (("body", stmt.body), ("orelse", stmt.orelse)):
                found += grad.saved.get((stmt.key, path), ())
                found += _stacks(grad, body)
        elif isinstance(stmt, ir.Loop):
            found += grad.saved.get((stmt.key, "body"), ())
            found += _stacks(grad, stmt.body)
    return found


def printed_blocks(grad: ir.Gradient, tap: Optional[Tap] = None) -> tuple:
    """The backward blocks as printed: copies propagated and per-step products batched
    (unless a tap keeps the copies)."""
    blocks = grad.blocks
    if tap is None or not tap.keeps_copies:
        keep = {grad.grad_names[p] for p in grad.wrt} | set(grad.copies) | {grad.seed}
        blocks = propagate_copies(blocks, keep | {zero for zero, _ in grad.zeros},
                                  set(grad.grad_names.values()) | {grad.seed})
        blocks = batch_products(blocks, grad)
    return blocks


def backward_lines(grad: ir.Gradient, tap: Optional[Tap] = None,
                   blocks: Optional[tuple] = None) -> list[str]:
    """The backward pass: one commented block per differentiated forward statement (in
    branches and loops like the forward pass's), then the copies of returned views and the
    explicit zeros; `blocks`, printed_blocks' (or a rewrite of them) if given."""
    fn = grad.function
    if blocks is None:
        blocks = printed_blocks(grad, tap)
    body = _backward_items(grad, blocks, tap)
    if tap is not None:
        body += tap.end(grad)
    for name in grad.copies:
        param = next(p for p in grad.wrt if grad.grad_names[p] == name)
        if fn.types[param].kind == "array":
            body.append(f"{name} = {name}.copy()  # an array of its own, not a view")
        else:  # a float or an array, known at run time
            body.append(f"if isinstance({name}, np.ndarray):")
            body.append(f"    {name} = {name}.copy()  # an array of its own, not a view")
    for zero, param in grad.zeros:
        t = fn.types.get(param)
        if t is not None and t.kind == "static":  # a string (activation="relu"): None
            body.append(f"{zero} = None  # a string: no gradient")
            continue
        value = f"np.zeros_like({param})" if t is not None and t.kind not in ("float", "int") \
            else "0.0"
        body.append(f"{zero} = {value}  # no differentiable path to the output")
    return body


def _backward_items(grad: ir.Gradient, items, tap: Optional[Tap] = None) -> list[str]:
    body: list[str] = []
    for item in items:
        if isinstance(item, ir.BackwardBlock):
            body.append(comment_line(item.origin))
            before, after = tap.block(item) if tap is not None else ([], [])
            body += before
            for g in item.stmts:
                if isinstance(g, ir.StepAppend):
                    body.append(f"{g.steps}.append({g.value})")
                elif isinstance(g, ir.GradScatter):
                    body.extend(_scatter_lines(g))
                elif isinstance(g, ir.GradMasked):
                    body.extend(_masked_lines(g))
                else:
                    body.append(_grad_line(g))
            body += after
        elif isinstance(item, ir.GradZero):
            body.append(_zero_line(item))
        elif isinstance(item, ir.GradAssign):
            body.append(_grad_line(item))
        elif isinstance(item, ir.BackwardIf):
            origin = item.origin
            body.append(f"# line {origin.pos.line}: if {_test_source(origin.test)}, backwards")
            paths = [(_pops(grad.saved.get((origin.key, path), ())) +
                      _backward_items(grad, sub, tap), False)
                     for path, sub in (("body", item.body), ("orelse", item.orelse))]
            body += _if_lines(_test_source(origin.test), paths)
        else:
            body += _backward_loop(grad, item, tap)
    return body


def _backward_loop(grad: ir.Gradient, item: ir.BackwardLoop,
                   tap: Optional[Tap] = None) -> list[str]:
    loop = item.origin
    before, each, after = tap.loop(item) if tap is not None else ([], [], [])
    lines = [_zero_line(z) for z in item.before]
    lines += [f"{steps} = []" for steps in item.steps]
    if loop.kind == "for":
        bounds = ", ".join(to_source(b) for b in loop.bounds)
        lines.append(f"# line {loop.pos.line}: for {loop.index} in range({bounds}), "
                     "backwards")
        lines.append(f"for {loop.index} in reversed(range({bounds})):")
    else:
        lines.append(f"# line {loop.pos.line}: while loop, backwards ({loop.counter} "
                     "iterations)")
        lines.append(f"for _ in range({loop.counter}):")
    lines[-1:-1] = before
    inner = each + [f"{end} = {name}"
                    for end, name in grad.saved.get((loop.key, "carried"), ())]
    inner += _pops(grad.saved.get((loop.key, "body"), ()))
    inner += [_grad_line(g) for g in item.entry]
    inner += _backward_items(grad, item.body, tap)
    batched = []
    if item.batched:  # the loop's products, a quarter MiB of steps at a time, and the rest
        products = [_grad_line(g) for g in item.batched]
        inner += _flush_test(item, _depth(loop, grad) + 1)
        inner += _indented(products + [f"{steps}.clear()" for steps in item.steps])
        batched = [f"# line {loop.pos.line}: the products of the last iterations, at once",
                   f"if {item.steps[0]}:"] + _indented(products)
    inner += [_zero_line(z) for z in item.after]
    return lines + _indented(inner or ["pass"]) + batched + after


def _flush_test(item: ir.BackwardLoop, depth: int) -> list[str]:
    """`if len(x_steps) * (x.nbytes + ...) >= BATCH_BYTES:`, wrapped to fit at `depth`
    levels of indentation inside the function."""
    terms = [f"{value}.nbytes" for value in item.step_values]
    size = " + ".join(terms)
    size = f"({size})" if len(terms) > 1 else size
    line = f"if len({item.steps[0]}) * {size} >= {BATCH_BYTES}:"
    width = MAX_LINE - len(INDENT) * (depth + 1)
    if len(line) <= width:
        return [line]
    lines = [f"if len({item.steps[0]}) * ("]
    cont = " " * 8
    current = cont
    for k, term in enumerate(terms):
        piece = term + (" +" if k < len(terms) - 1 else f") >= {BATCH_BYTES}:")
        if current != cont and len(current) + 1 + len(piece) > width:
            lines.append(current)
            current = cont
        current += ("" if current == cont else " ") + piece
    return lines + [current]


def _depth(loop: ir.Loop, grad: ir.Gradient) -> int:
    """How many loops and branches of the backward pass enclose a loop's backward loop."""
    def find(items, depth):
        for item in items:
            if isinstance(item, ir.BackwardLoop):
                if item.origin is loop:
                    return depth
                found = find(item.body, depth + 1)
            elif isinstance(item, ir.BackwardIf):
                found = find(item.body + item.orelse, depth + 1)
            else:
                continue
            if found is not None:
                return found
        return None
    return find(grad.blocks, 0) or 0


def _pops(saved) -> list[str]:
    return [f"{name} = {stack}.pop()" for name, stack in reversed(saved)]


def _zero_line(z: ir.GradZero) -> str:
    return f"{z.target} = {'np.zeros_like(' + z.like + ')' if z.array else '0.0'}"


def _if_lines(test: str, paths) -> list[str]:
    """`if test: ... else: ...` from each path's lines; a path that raises is a check (`if
    test: raise ...`, the other path's lines after it, not indented), and an empty first
    path gives `if not test:`."""
    (body, body_raises), (orelse, orelse_raises) = paths
    if body_raises and not orelse_raises:
        return [f"if {test}:"] + _indented(body) + orelse
    if orelse_raises and not body_raises:
        return [f"if not {test}:"] + _indented(orelse) + body
    if not body and orelse:
        return [f"if not {test}:"] + _indented(orelse)
    lines = [f"if {test}:"] + _indented(body or ["pass"])
    return lines + (["else:"] + _indented(orelse) if orelse else [])


def emit_module(grads: list[ir.Gradient], *, source_path: str, command: str,
                value_and_grad: bool = False, layer: bool = False,
                taps: Optional[Sequence[Tap]] = None, guards: bool = True,
                fold: bool = False) -> str:
    """A whole generated module: header, imports, constants, one function per gradient;
    `taps`, one per gradient, add their lines (adgen/leaks: notes as comments);
    `guards=False`, blank lines where NAME_grad's argument checks would be; `fold`, the
    run-time forward pass of functions of numbers (adgen/fold.py)."""
    outer = getattr(_local, "memo", None)
    _local.memo = {} if outer is None else outer
    try:
        return _emit_module(grads, source_path=source_path, command=command,
                            value_and_grad=value_and_grad, layer=layer, taps=taps,
                            guards=guards, fold=fold)
    finally:
        _local.memo = outer


def _emit_module(grads: list[ir.Gradient], *, source_path: str, command: str,
                 value_and_grad: bool, layer: bool, taps: Optional[Sequence[Tap]],
                 guards: bool, fold: bool) -> str:
    from adgen.layers import backward_name

    names = ", ".join(f"{g.function.name}_forward/_backward" if layer and not g.function.keeps_cache
                      else function_name(g, False) + (f", {backward_name(g.function)}"
                                                      if g.function.cache is not None else "")
                      for g in grads)
    first_lines = docstring_lines(f"Backward passes generated by adgen {__version__} from "
                                  f"{source_path}: {names}.", "", '"""')
    header = list(first_lines)
    header += facts_paragraphs(grads, [f"{g.function.name}_forward"
                                       if layer and not g.function.keeps_cache else
                                       function_name(g, False) for g in grads])
    header += ["", "Do not edit: regenerate with", ""] + command_lines(command) + ['"""']
    if any("\\" in line for line in header):  # a shell line continuation, kept as written
        first = docstring_lines(f"Backward passes generated by adgen {__version__} from "
                                f"{source_path}: {names}.", "", 'r"""')
        header = first + header[len(first_lines):]
    exprs = [e for g in grads for e in _all_exprs(g)]
    consts: dict[str, ir.ModuleConst] = {}
    for g in grads:
        for c in g.function.consts:
            consts.setdefault(c.name, c)
    parts = ["\n".join(header) + "\n"]
    spelled = spellings(exprs)  # the functions called and attributes read
    helpers = [name for name in HELPERS if name in spelled]
    modules = {HELPER_MODULES.get(name, "np") for name in helpers}
    uses_np = any(s.startswith("np.") for s in spelled) or "np" in modules or \
        any(g.function.types for g in grads)
    imports = ["import math"] if any(s.startswith("math.") for s in spelled) or \
        "math" in modules else []
    imports += ["import numpy as np"] if uses_np else []
    imports += import_lines(grads)  # the primitives users declared (adgen/userrules.py)
    if imports:
        parts.append("\n".join(imports) + "\n")
    if consts:
        parts.append("".join(f"{c.name} = {c.text}\n" for c in consts.values()))
    for name in helpers:
        parts.append("\n" + HELPERS[name])
    from adgen.layers import emit_cached_backward, emit_layer

    for g, tap in zip(grads, taps or [None] * len(grads)):
        if layer and not g.function.keeps_cache:
            parts.append("\n" + emit_layer(g, tap))
            continue
        parts.append("\n" + emit_function(g, value_and_grad=False, tap=tap, guards=guards,
                                           fold=fold))
        if value_and_grad:
            parts.append("\n" + emit_function(g, value_and_grad=True, tap=tap, guards=guards,
                                               fold=fold))
        if g.function.cache is not None:  # return out, cache: the backward of that cache
            parts.append("\n" + emit_cached_backward(g, tap))
    return "\n".join(parts)
