"""`adgen FILE -f NAME --html OUT.html` and `--svg OUT.svg`: the review page, and the
diagram alone, of one function at a point (`--at`, or drawn as `--verify` draws it).

Like `--verify`, this imports FILE (and so runs it): the page's verification table and the
lens compare against the user's own function.  The values on the diagram come from the
generated code.
"""

from __future__ import annotations

import contextlib
from typing import TextIO

from adgen.cli_verify import CouldNotRun, _describe, _import_file, _report, forward_function
from adgen.cli_verify import point_values
from adgen.compiler import Compiled
from adgen.output import write_failure, write_output
from adgen.page import dot, model, render


def write_review(path: str, text: str, compiled: Compiled, command: str,
                 point: tuple[list, dict], html: str, svg: str, stderr: TextIO,
                 wrt=None) -> bool:
    """Write the page to `html` and/or the diagram to `svg` (either may be empty); report
    on `stderr`.  True when written and the gradient verified."""
    grad = compiled.gradients[0]
    name = grad.function.name
    with contextlib.redirect_stdout(stderr):  # whatever FILE prints is not the module
        try:
            module = _import_file(path)
            forward = forward_function(module, grad.function)
        except CouldNotRun as exc:
            _report(stderr, path, exc)
            return False
        try:
            args = point_values(forward, grad.function, *point)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - the user's function failed
            _report(stderr, f"{path}: {name}", CouldNotRun(
                _describe(exc), "give a point where the function and its gradient evaluate, "
                "with --at"))
            return False
        try:
            review = model.build(grad, text, forward_fn=forward, args=args, command=command,
                                 wrt=wrt)
            page = render.render(review) if html else ""
            diagram = dot.standalone(render.svgs(review)[0]) if svg else ""
        except dot.NoGraphviz as exc:
            stderr.write(f"adgen: error: {exc}\n")
            return False
    for out, content in ((html, page), (svg, diagram)):
        if out:
            try:
                write_output(out, content)
            except OSError as exc:
                stderr.write(f"adgen: error: {write_failure(out, exc)}\n")
                return False
    if review.run.error:
        stderr.write(f"adgen: {name}: the generated code raised {review.run.error} at this "
                     "point: the page shows the values up to there\n")
    if review.check_error:
        stderr.write(f"adgen: {name}: the page's verification could not run: "
                     f"{review.check_error}\n")
    elif review.check is not None:
        stderr.write(review.check.format() + "\n")
    written = " and ".join(p for p in (html, svg) if p)
    stderr.write(f"adgen: wrote {written}\n")
    return not review.run.error and not review.check_error and (
        review.check is None or review.check.ok)
