"""The review page (docs/review.md): the forward source beside the generated backward pass,
linked line by line, the circuit diagram of the staged function with each wire's value and
gradient at given inputs, the lens's findings and the verification table, in one
self-contained HTML file.

    adgen.review(f, 3.0, -4.0, path="f.html")       # from Python
    adgen model.py -f loss --html loss.html          # from the command line (--svg: diagram)

Modules: `links` (which generated lines come from which user line, from the emitter's
structure), `values` (the generated code run at the inputs, instrumented), `graph` (the
diagram as data), `dot` (laid out by Graphviz's dot into SVG), `model` (all of it for one
function), `render` (the HTML), `assets` (its style sheet and script), `cli` (--html/--svg).
Imported only for the page: plain generation never imports this package.
"""

from __future__ import annotations

import inspect
import linecache
from typing import Callable, Optional

from adgen.page.dot import NoGraphviz

__all__ = ["review", "NoGraphviz"]


def review(f: Callable, *args, path: Optional[str] = None, svg: Optional[str] = None,
           wrt=None, **kwargs) -> str:
    """The review page of `f`'s gradient at `args` (and `kwargs`) as HTML text; written to
    `path` (and the diagram alone as SVG to `svg`) when given.  `wrt` as in `adgen.grad`.
    Runs `f` (to verify the gradient against it) and needs Graphviz's `dot` program."""
    from adgen import api
    from adgen.diagnostics import AdgenError
    from adgen.output import write_output
    from adgen.page import dot, model, render

    try:
        bound = inspect.signature(f).bind(*args, **kwargs)
        bound.apply_defaults()
        values = list(bound.arguments.values())
        if api.is_array_function(f):  # (keyword-only parameters' values by keyword)
            compiled = api.compile_function(f, wrt, bound.args, bound.kwargs)
        else:
            compiled = api.compile_function(f, wrt)
    except AdgenError as exc:
        raise exc.with_traceback(None) from None
    text = "".join(linecache.getlines(f.__code__.co_filename, f.__globals__))
    built = model.build(compiled.gradient, text, forward_fn=f, args=values,
                        command=compiled.command, wrt=wrt)
    html = render.render(built)
    if path is not None:
        write_output(path, html)
    if svg is not None:
        write_output(svg, dot.standalone(render.svgs(built)[0]))
    return html
