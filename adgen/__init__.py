"""adgen: source-to-source reverse-mode automatic differentiation for Python.

    import adgen

    dx, dy = adgen.grad(f)(3.0, -4.0)
    value, (dx, dy) = adgen.value_and_grad(f)(3.0, -4.0)
    print(adgen.source(f))            # the generated backward pass, as readable Python

    @adgen.differentiable
    def g(x, y): ...
    g.grad(3.0, -4.0)

    print(adgen.lens(f)(3.0, -4.0))  # where the gradient leaks (saturates, dies, explodes)
    adgen.review(f, 3.0, -4.0, path="f.html")  # the review page: code, diagram, values

The command line tool `adgen FILE.py` writes the same code as a standalone module.

Importing adgen does not import sympy or numpy: only verification (`check_grad`, `GradCheck`,
`adgen FILE --verify`) needs sympy, and only array code numpy.
"""

from adgen.version import __version__
from adgen.diagnostics import AdgenError, Diagnostic, InternalError
from adgen.api import (
    check_grad,
    clear_cache,
    differentiable,
    grad,
    source,
    value_and_grad,
    vjp,
)
from adgen.leaks import lens
from adgen.userrules import primitive


def __getattr__(name: str):
    if name == "review":  # the review page: imported when it is asked for
        from adgen.page import review

        return review
    if name == "GradCheck":  # the verifier imports sympy: load it when it is asked for
        from adgen.verify import GradCheck

        return GradCheck
    raise AttributeError(f"module 'adgen' has no attribute {name!r}")

__all__ = [
    "__version__",
    "AdgenError",
    "Diagnostic",
    "GradCheck",
    "InternalError",
    "check_grad",
    "clear_cache",
    "differentiable",
    "grad",
    "lens",
    "primitive",
    "review",
    "source",
    "value_and_grad",
    "vjp",
]
