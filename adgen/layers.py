"""Layers: the CS231n layer API, `NAME_forward(...) -> (out, cache)` and
`NAME_backward(dout, cache) -> gradients`.

Two ways in.  `--layer` invents the cache: adgen writes NAME_forward itself, caching exactly
what its backward pass reads.  A forward function that keeps its own cache -- `return out,
cache`, as every CS231n layer does -- gets a backward that takes *that* cache: it unpacks it
as the function built it (`x, w, b = cache`), recomputes only the forward values the
backward pass reads and the cache lacks, and says so (AD209) when the cache lacks an input
that cannot be recomputed."""

from __future__ import annotations

from typing import Optional

from adgen import ir
from adgen.containers import DictValue, ListValue, items_of
from adgen.emit import (Tap, _fit_nested, signature_items, _results, _return_lines, _stacks,
                        backward_lines, forward_tree_lines)
from adgen.prelude import shape_check
from adgen.printer import MAX_LINE, closed_docstring, fit, wrap_items


def cached_names(grad: ir.Gradient, any_path: bool = False) -> list[str]:
    """The forward values (and inputs) the backward pass reads, and the stacks of values
    saved inside loops: a layer's cache.  With `any_path`, also the values only some paths
    of a branch assign (what a backward recomputing the branch from the user's own cache
    needs; a cache adgen writes holds only values every path assigns)."""
    fn = grad.function
    read = ir.backward_reads(grad.blocks)
    read |= {param for _, param in grad.zeros if fn.types.get(param) is not None
             and fn.types[param].kind != "float"}
    order = [p.name for p in fn.params]
    for stmt in grad.forward:
        if isinstance(stmt, ir.Assign):
            order.append(stmt.target)
        elif isinstance(stmt, ir.If):
            order += sorted(_defined(stmt) if any_path else ir.defined_on_all_paths([stmt]))
        elif isinstance(stmt, ir.Loop):
            order += [c for c, _ in stmt.carried] + ([stmt.counter] if stmt.counter else [])
    stacks = [stack for _, stack in _stacks(grad, grad.forward)]
    return [name for name in dict.fromkeys(order) if name in read] + stacks


def emit_layer(grad: ir.Gradient, tap: Optional[Tap] = None) -> str:
    """The CS231n layer API: NAME_forward(...) -> (out, cache) and NAME_backward(dout, cache)
    -> gradients, the cache holding exactly what the backward pass reads."""
    fn = grad.function
    output = fn.output.id if isinstance(fn.output, ir.Name) else fn.output_stem
    params = signature_items(fn.params)
    cache = cached_names(grad)
    lines = wrap_items(f"def {fn.name}_forward", params, ":")
    lines += closed_docstring(f"Forward pass of {fn.name}: returns ({output}, cache) for "
                               f"{fn.name}_backward.")
    lines += shape_check(grad, f"{fn.name}_forward")
    for line in forward_tree_lines(grad, grad.forward):
        lines.extend(_fit_nested(line))
    cache_text = "(" + ", ".join(cache) + ("," if len(cache) == 1 else "") + ")"
    lines.extend(fit(f"cache = {cache_text}"))
    lines.append(f"    return {output}, cache")
    lines += ["", ""]
    lines += wrap_items(f"def {fn.name}_backward", [grad.seed, "cache"], ":")
    wrt_text = ", ".join(grad.wrt) if grad.wrt else "nothing"
    lines += closed_docstring(f"Backward pass of {fn.name}: the gradients with respect to "
                               f"{wrt_text}, given {grad.seed}, the upstream gradient of "
                               f"{output}.")
    if cache:
        flat = f"    {', '.join(cache)}{',' if len(cache) == 1 else ''} = cache"
        lines += [flat] if len(flat) <= MAX_LINE else wrap_items("", cache, " = cache", "    ")
    stacks = [stack for _, stack in _stacks(grad, grad.forward)]
    if stacks:  # popped below: copies, so that the cache can be used again
        lines += fit("# pop from copies of the saved lists: the cache stays usable")
        for stack in stacks:
            lines += fit(f"{stack} = list({stack})")
    for line in backward_lines(grad, tap):
        lines.extend(_fit_nested(line))
    lines += _return_lines(_results(grad))
    return "\n".join(lines) + "\n"


def backward_name(fn: ir.Function) -> str:
    """`affine_forward` -> `affine_backward`; `layer` -> `layer_backward`."""
    stem = fn.name[:-len("_forward")] if fn.name.endswith("_forward") else fn.name
    return f"{stem}_backward"


def emit_cached_backward(grad: ir.Gradient, tap: Optional[Tap] = None) -> str:
    """`NAME_backward(dout, cache)` for a forward function that returns `out, cache`: the
    cache unpacked as it was built, the forward values the backward pass needs and the
    cache lacks recomputed from it, then the backward pass."""
    fn = grad.function
    output = fn.output.id if isinstance(fn.output, ir.Name) else fn.output_stem
    unpack, available = _unpack(fn.cache, "cache", _copies(grad))
    needed = cached_names(grad, any_path=True)
    stmts, lacked = _recomputed(grad, needed, available)
    strings = static_inputs(grad, lacked)
    name = backward_name(fn)
    lines = wrap_items(f"def {name}", [grad.seed, "cache"] + strings, ":")
    wrt_text = ", ".join(n for n, _ in grad.outputs) if grad.outputs else (
        ", ".join(grad.wrt) or "nothing")
    given = f", and {', '.join(strings)} as given to {fn.name}" if strings else ""
    lines += closed_docstring(f"Backward pass of {fn.name}: the gradients with respect to "
                               f"{wrt_text}, given {grad.seed}, the upstream gradient of "
                               f"{output}, the cache {fn.name} returned{given}.")
    for line in unpack:
        lines += fit(line)
    if stmts:
        lines += fit("# recomputed from the cache: what the backward pass reads")
    for line in forward_tree_lines(grad, stmts):
        lines.extend(_fit_nested(line))
    for line in backward_lines(grad, tap):
        lines.extend(_fit_nested(line))
    lines += _return_lines(_results(grad))
    return "\n".join(lines) + "\n"


def _copies(grad: ir.Gradient) -> dict[str, str]:
    """target -> source of the forward's plain copies (`cache = x`)."""
    return {a.target: a.args[0].id for a in ir.assigns(grad.function.body)
            if a.prim == "copy" and isinstance(a.args[0], ir.Name)}


def _unpack(structure, source: str, copies: dict) -> tuple[list[str], set[str]]:
    """Lines that unpack a cache as it was built (`x, w, b = cache`, nested tuples as
    nested targets, a dict's entries by key), and the names they bind: a cached copy of a
    value (`cache = x`) is bound to the value's own name."""
    lines: list[str] = []
    bound: set[str] = set()
    counter = [0]

    def root(name: str) -> str:
        seen = {name}
        while name in copies and copies[name] not in seen:
            name = copies[name]
            seen.add(name)
        return name

    def target(value) -> str:
        if isinstance(value, ir.Name) and root(value.id) not in bound:
            bound.add(root(value.id))
            return root(value.id)
        items = items_of(value)
        if items is not None and not isinstance(value, DictValue):
            inner = [target(v) for v in items]
            return "(" + ", ".join(inner) + ("," if len(inner) == 1 else "") + ")"
        if isinstance(value, DictValue):
            counter[0] += 1
            temp = f"{source}_{counter[0]}"
            later.append((temp, value))
            return temp
        return "_"

    later: list = []
    if isinstance(structure, DictValue):
        later.append((source, structure))
    elif isinstance(structure, (tuple, ListValue)):
        items = [target(v) for v in items_of(structure)]
        if items:
            lines.append(f"{', '.join(items)}{',' if len(items) == 1 else ''} = {source}")
    else:
        lines.append(f"{target(structure)} = {source}")
    while later:
        where, d = later.pop(0)
        for key, value in d.items.items():
            text = target(value)
            if text != "_":
                lines.append(f"{text} = {where}[{key!r}]")
    return lines, bound


def _recomputed(grad: ir.Gradient, needed: list[str], available: set[str]) -> list:
    """The forward statements (top level; a branch or loop as a whole) that compute what
    the backward pass reads and the cache lacks, in order; and the inputs the backward pass
    needs that are neither cached nor computable from the cache."""
    fn = grad.function
    missing = [n for n in needed if n not in available]
    chosen: list = []
    for stmt in reversed(grad.forward):
        defined = _defined(stmt)
        if not defined & set(missing) or isinstance(stmt, ir.Raise):
            continue
        chosen.append(stmt)
        missing = [n for n in missing if n not in defined]
        missing += [n for n in sorted(_read(stmt) - defined)
                    if n not in available and n not in missing]
    params = {p.name for p in fn.params} | {m.name for m in fn.members}
    return list(reversed(chosen)), [n for n in missing if n in params]


def lacking(grad: ir.Gradient) -> list[str]:
    """The inputs the backward of a function's own cache needs and cannot get from it: the
    compiler reports them (AD209), but for strings (`static_inputs`)."""
    _, available = _unpack(grad.function.cache, "cache", _copies(grad))
    return _recomputed(grad, cached_names(grad, any_path=True), available)[1]


def static_inputs(grad: ir.Gradient, names: list[str]) -> list[str]:
    """Those of `names` that are strings (`activation`, compared with "relu"): the backward
    takes them after the cache, as deeplearning.ai's linear_activation_backward(dA, cache,
    activation) does."""
    types = grad.function.types
    return [n for n in names if types.get(n) is not None and types[n].kind == "static"]


def _defined(stmt) -> set[str]:
    names = {a.target for a in ir.assigns([stmt])}
    for loop in ir.loops([stmt]):
        names |= {c for c, _ in loop.carried} | ({loop.counter} if loop.counter else set())
        names |= {loop.index} if loop.index else set()
    return names


def _read(stmt) -> set[str]:
    """Every name a forward statement (a branch or loop with all it holds) reads."""
    found: set[str] = set()

    def visit(node) -> None:
        if isinstance(node, ir.Name):
            found.add(node.id)
        elif isinstance(node, (tuple, list)):
            for item in node:
                visit(item)
        elif hasattr(node, "__dataclass_fields__"):
            for field in node.__dataclass_fields__:
                if field not in ("pos", "types"):
                    visit(getattr(node, field))

    visit(stmt)
    return found
