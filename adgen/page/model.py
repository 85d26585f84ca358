"""What the review page shows, gathered in one place: the user's source and the generated
module with their line links, the diagram with the values at the inputs, the lens's
findings and the verification table.  Nothing here renders; page.py and dot.py do."""

from __future__ import annotations

import ast
import dataclasses
from typing import Callable, Optional, Sequence

from adgen import ir
from adgen.page import graph, links, values


@dataclasses.dataclass
class Review:
    grad: ir.Gradient
    text: str  # the user's file
    module: str  # the generated module
    spans: list
    segments: list[tuple[int, int]]  # the user's lines shown: the function and its helpers
    diagram: graph.Diagram
    run: Optional[values.Run]
    findings: list = dataclasses.field(default_factory=list)
    lens_error: str = ""
    check: object = None  # adgen.verify.GradCheck
    check_error: str = ""


def segments(text: str, grad: ir.Gradient) -> list[tuple[int, int]]:
    """The line ranges of the user's file to show: the function's definition and every
    definition (a helper) one of its staged statements comes from, in file order."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return [(1, len(text.splitlines()))]
    wanted = {grad.function.pos.line} | {s.pos.line for s in ir.assigns(grad.forward)}
    ranges = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            if any(start <= line <= node.end_lineno for line in wanted):
                ranges.append((start, node.end_lineno))
    outer = [r for r in ranges if not any(o != r and o[0] <= r[0] and r[1] <= o[1]
                                          for o in ranges)]
    return sorted(set(outer)) or [(1, len(text.splitlines()))]


def upstream(grad: ir.Gradient, forward_fn: Optional[Callable], args: Sequence):
    """The upstream gradient for the run: None (1.0) for a number, else a reproducible
    random array of the output's shape, as the verification draws it."""
    out_t = grad.function.output_type
    if forward_fn is None or (out_t is not None and not out_t.is_array
                              and out_t.kind != "unknown"):
        return None
    import numpy as np

    from adgen.verify import by_position, fresh, keyword_only_of

    names = [p.name for p in grad.function.params]
    out = by_position(forward_fn, names, keyword_only_of(grad.function))(*fresh(args))
    if np.ndim(out) == 0:
        return None
    return np.random.default_rng(0).standard_normal(np.shape(out))


def build(grad: ir.Gradient, text: str, *, forward_fn: Optional[Callable], args: Sequence,
          command: str, wrt=None, lens: bool = True, verify: bool = True) -> Review:
    """The review of `grad` at `args`; `forward_fn` is the user's function (for the lens
    and the verification, which compare against it); `wrt` as the user gave it."""
    module, spans = links.linked_module(grad, source_path=grad.function.path, command=command)
    seed = upstream(grad, forward_fn, args)
    run = values.run(grad, args, seed)
    review = Review(grad, text, module, spans, segments(text, grad), None, run)
    if lens and forward_fn is not None:
        try:
            from adgen.leaks import lens as make_lens
            from adgen.verify import by_position, keyword_only_of

            kwargs = {} if seed is None else {grad.seed: seed}
            names = [p.name for p in grad.function.params]
            report = by_position(make_lens(forward_fn, wrt=wrt), names,
                                 keyword_only_of(grad.function))(*args, **kwargs)
            review.findings = list(report.findings)
        except Exception as exc:  # noqa: BLE001 - the page says so, and goes on
            review.lens_error = f"{type(exc).__name__}: {exc}"
    if verify and forward_fn is not None:
        try:
            from adgen.verify import check

            namespace: dict = {}
            exec(compile(module, f"<adgen review: {grad.function.name}>", "exec"), namespace)
            review.check = check(forward_fn, namespace[f"{grad.function.name}_grad"], grad,
                                 list(args), grad_source=module)
        except Exception as exc:  # noqa: BLE001
            review.check_error = f"{type(exc).__name__}: {exc}"
    review.diagram = graph.build(grad, run, review.findings)
    return review
