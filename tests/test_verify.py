"""adgen/verify.py: the checks at a point, called directly (the CLI's --verify and
adgen.check_grad build on these)."""

from __future__ import annotations

import numpy as np

from adgen.compiler import compile_source
from adgen.verify import check, sample_point

# The gradient is compiled from a function without the in-place update; `mutating` below is
# the same mathematical function, written the way the verifier must survive.
PURE = "import numpy as np\n\n\ndef mutating(x: 'N'):\n    return np.sum((x + 1.0) * (x + 1.0))\n"


def mutating(x):
    x += 1.0  # changes the caller's array
    return np.sum(x * x)


def mutating_grad(x, dmutating=1.0):
    x += 1.0
    return 2.0 * x * dmutating


def test_check_passes_fresh_copies_to_the_function_and_the_gradient():
    compiled = compile_source(PURE, "pure.py")
    x = np.array([0.5, -1.0, 2.0])
    kept = x.copy()
    report = check(mutating, mutating_grad, compiled.gradients[0], [x],
                   grad_source=compiled.source)
    assert report.ok, report.format()
    assert report.inputs[0].symbolic == "proved"  # sympy's arrays were not changed either
    assert np.array_equal(x, kept)  # nor the caller's
    assert report.value == mutating(kept.copy())


def test_sample_point_returns_the_point_the_function_was_called_with():
    compiled = compile_source(PURE, "pure.py")
    seen = []

    def recording(x):
        seen.append(x.copy())
        return mutating(x)

    (x,) = sample_point(recording, 1, types=[compiled.gradients[0].function.types["x"]])
    assert np.array_equal(x, seen[0])


def tiny(x, y):
    return x + 1e-10 * y ** 2


def test_an_input_ok_by_its_absolute_error_says_why():
    """The finite difference of y is 0 (below the resolution of f = x + tiny), adgen's is
    1e-10: a relative error of 1.0 that passes; the row must not read as a failure."""
    import adgen

    report = adgen.check_grad(tiny, 1.0, 0.5)
    x, y = report.inputs
    assert report.ok and y.status == "ok" and y.rel_error > 0.5
    assert y.ok_by_absolute_error and not x.ok_by_absolute_error
    assert abs(y.analytic - y.numeric) <= y.tolerance
    rows = report.format().splitlines()
    assert rows[2].split()[4] == "ok" and rows[3].split()[4] == "ok*"  # x, then y
    assert rows[4].startswith("  * y: ") and "rounding error" in rows[4]
    assert len(rows) == 5
