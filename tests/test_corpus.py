"""Every corpus function through every route (API, decorator, CLI-generated module), checked
against central finite differences and sympy, and the routes against each other."""

from __future__ import annotations

import importlib.util
import math

import pytest

import adgen
from adgen import cli
from corpus_loader import Case, cases

CASES = cases()


def _as_tuple(result, case: Case):
    single = isinstance(result, float) or not isinstance(result, tuple)
    return (result,) if single else result


def _cli_module(case: Case, tmp_path):
    out = tmp_path / f"{case.path.stem}_{case.name}_grad.py"
    argv = [str(case.path), "-f", case.name, "-o", str(out)]
    if case.wrt is not None:
        argv += ["--wrt", case.wrt if isinstance(case.wrt, str) else ",".join(case.wrt) + ","]
    assert cli.main(argv) == 0
    spec = importlib.util.spec_from_file_location(out.stem, out)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, out.read_text()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_gradient_is_correct(case: Case):
    """Finite differences at several points, sympy at the first (check_grad raises)."""
    for i, point in enumerate(case.points()):
        report = adgen.check_grad(case.function, *point, wrt=case.wrt, symbolic=(i == 0))
        assert report.ok
        if i == 0:
            assert all(not item.symbolic.startswith(("differs", "skipped")) for item in
                       report.inputs), report.format()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_routes_agree(case: Case, tmp_path):
    """API, decorator and CLI module: the same code, so exactly the same numbers."""
    fn = case.function
    api_grad = adgen.grad(fn, wrt=case.wrt)
    api_value_and_grad = adgen.value_and_grad(fn, wrt=case.wrt)
    decorated = adgen.differentiable(fn, wrt=case.wrt)
    assert decorated is fn  # the plain function, with attributes
    module, text = _cli_module(case, tmp_path)
    cli_grad = getattr(module, f"{case.name}_grad")
    for point in case.points():
        expected = api_grad(*point)
        value, grads = api_value_and_grad(*point)
        assert value == fn(*point)
        assert grads == expected
        assert decorated.grad(*point) == expected
        assert cli_grad(*point) == expected
        assert decorated(*point) == value  # still the forward function
    body = text.split('"""', 2)[2]
    assert body == adgen.source(fn, wrt=case.wrt).split('"""', 2)[2]
    assert "adgen" not in "".join(l for l in text.splitlines() if l.startswith(("import", "from")))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_upstream_gradient_scales(case: Case):
    """NAME_grad(..., d<out>=s) is the vector-Jacobian product: s times the gradient."""
    grad_fn = adgen.grad(case.function, wrt=case.wrt)
    point = case.points(1)[0]
    base = _as_tuple(grad_fn(*point), case)
    scaled = _as_tuple(grad_fn(*point, -2.5), case)
    for b, s in zip(base, scaled):
        assert math.isclose(s, -2.5 * b, rel_tol=1e-12, abs_tol=1e-300)
