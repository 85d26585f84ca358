"""Every corpus function through every route (API, decorator, CLI-generated module), checked
against central finite differences and sympy, and the routes against each other."""

from __future__ import annotations

import importlib.util
import inspect
from types import SimpleNamespace

import numpy as np
import pytest

import adgen
from adgen import cli
from corpus_loader import Case, cases

CASES = cases()


def _as_tuple(result, case: Case):
    return result if isinstance(result, tuple) else (result,)


def _leaves(result) -> list:
    """The gradients in a result: a tuple's or list's items, a dict's values (in order),
    flattened."""
    if isinstance(result, (tuple, list)):
        return [leaf for item in result for leaf in _leaves(item)]
    if isinstance(result, dict):
        return [leaf for item in result.values() for leaf in _leaves(item)]
    return [result]


def _same(a, b) -> bool:
    """Exactly equal results: numbers, arrays, or tuples (or dicts) of them."""
    if isinstance(a, dict) or isinstance(b, dict):
        return isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys() and all(
            _same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):  # a list stays a list
        return type(a) is type(b) and len(a) == len(b) and all(
            _same(x, y) for x, y in zip(a, b))
    return np.array_equal(a, b)


def _close(a, b) -> bool:
    """Equal up to rounding: numbers, arrays, or tuples (or dicts) of them."""
    if isinstance(a, dict) or isinstance(b, dict):
        return isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys() and all(
            _close(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(
            _close(x, y) for x, y in zip(a, b))
    return np.shape(a) == np.shape(b) and np.allclose(a, b, rtol=1e-12, atol=1e-12 * max(
        1.0, float(np.max(np.abs(b), initial=0.0))))


def _call(grad_fn, point, seed, case: Case):
    """Call a generated NAME_grad with the upstream gradient by name (keyword-only for a
    layer with defaulted parameters); for a function of arrays, through the dispatcher,
    with the name its specialisation for these arguments gives the upstream gradient."""
    target = case.call(grad_fn.specialization, point) if hasattr(grad_fn, "specialization") \
        else grad_fn
    seed_name = list(inspect.signature(target).parameters)[-1]
    return case.call(grad_fn, point, **{seed_name: seed})


def _seed(case: Case, point):
    """The upstream gradient: 1.0 for a scalar output, a fixed array for a layer."""
    out = case.call(case.function, point)
    return np.linspace(-1.0, 1.0, np.size(out)).reshape(np.shape(out)) if np.ndim(out) else 1.0


def _cli_module(case: Case, tmp_path):
    out = tmp_path / f"{case.path.stem}_{case.name}_grad.py"
    argv = [str(case.path), "-f", case.name, "-o", str(out)]
    if case.wrt is not None:
        argv += ["--wrt", case.wrt if isinstance(case.wrt, str) else ",".join(case.wrt) + ","]
    if case.shapes:
        argv += ["--shapes", case.shapes]
    assert cli.main(argv) == 0
    spec = importlib.util.spec_from_file_location(out.stem, out)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, out.read_text()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_gradient_is_correct(case: Case):
    """Finite differences at several points, sympy at the first (check_grad raises)."""
    for i, point in enumerate(case.points()):
        args, kwargs = case.split(point)
        report = adgen.check_grad(case.function, *args, wrt=case.wrt, symbolic=(i == 0),
                                  **kwargs)
        assert report.ok
        if i == 0 and not case.has_arrays:
            assert all(not item.symbolic.startswith(("differs", "skipped")) for item in
                       report.inputs), report.format()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_routes_agree(case: Case, tmp_path):
    """API, decorator and CLI module: the API and the decorator run the same code, so
    exactly the same numbers; the CLI's module is written for the facts its inference or
    --shapes give (adgen.source), the API's for the arguments: the same numbers up to
    rounding where the two differ (a static reduction against `_unbroadcast`)."""
    fn = case.function
    api_grad = adgen.vjp(fn, wrt=case.wrt)
    decorated = adgen.differentiable(fn, wrt=case.wrt)
    assert decorated is fn  # the plain function, with attributes
    module, text = _cli_module(case, tmp_path)
    cli_grad = getattr(module, f"{case.name}_grad")
    for point in case.points():
        seed = _seed(case, point)
        expected = _call(api_grad, point, seed, case)
        args, kwargs = case.split(point)
        compiled = adgen.api.compile_function(fn, wrt=case.wrt, args=args if
                                              adgen.api.is_array_function(fn) else None,
                                              kwargs=kwargs)
        value, grads = _call(compiled.value_and_grad, point, seed, case)
        assert _same(value, case.call(fn, point))
        assert _same(grads, expected)
        assert _same(_call(decorated.grad, point, seed, case), expected)
        assert _close(_call(cli_grad, point, seed, case), expected)
        assert _same(case.call(decorated, point), value)  # still the forward function
    if not case.shapes:  # without --shapes, the CLI's module is adgen.source's
        body = text.split('"""', 2)[2]
        assert body == adgen.source(fn, wrt=case.wrt).split('"""', 2)[2]
    assert "adgen" not in "".join(l for l in text.splitlines() if l.startswith(("import", "from")))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_upstream_gradient_scales(case: Case):
    """NAME_grad(..., d<out>=s) is the vector-Jacobian product: s times the gradient."""
    grad_fn = adgen.vjp(case.function, wrt=case.wrt)
    point = case.points(1)[0]
    seed = _seed(case, point)
    base = _leaves(_call(grad_fn, point, seed, case))
    scaled = _leaves(_call(grad_fn, point, -2.5 * seed, case))
    for b, s in zip(base, scaled):
        scale = float(np.max(np.abs(b))) if np.size(b) else 0.0
        assert np.allclose(s, -2.5 * np.asarray(b), rtol=1e-12, atol=1e-13 * scale + 1e-300)


def _float_leaves(value, path=()):
    """(path, value) of every float (array) inside an argument: a dict's entries by key, an
    object's attributes by name, a tuple's items by position, as a structured gradient
    is keyed."""
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _float_leaves(v, path + (k,))]
    if isinstance(value, SimpleNamespace):
        return [leaf for k, v in vars(value).items() for leaf in _float_leaves(v, path + (k,))]
    if isinstance(value, (tuple, list)):
        return [leaf for k, v in enumerate(value) for leaf in _float_leaves(v, path + (k,))]
    if isinstance(value, float) or (isinstance(value, np.ndarray) and value.dtype.kind == "f"):
        return [(path, value)]
    return []


def _has(result, path) -> bool:
    for key in path:
        if not isinstance(result, (dict, tuple, list)) or key not in (
                result if isinstance(result, dict) else range(len(result))):
            return False
        result = result[key]
    return True


def _replaced(value, path, new):
    """`value` with the leaf at `path` replaced (copies along the path)."""
    if not path:
        return new
    key, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, key: _replaced(value[key], rest, new)}
    if isinstance(value, SimpleNamespace):
        return SimpleNamespace(**{**vars(value), key: _replaced(getattr(value, key), rest, new)})
    items = list(value)
    items[key] = _replaced(items[key], rest, new)
    return type(value)(items)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_no_input_the_output_depends_on_is_left_out(case: Case):
    """Every float the differentiated parameters hold either has a gradient in the result
    (a structured parameter's by its path) or does not change the output: a member missing
    from the gradient would be a silent zero (net.W once was)."""
    fn = case.function
    point = case.points(1)[0]
    args, kwargs = case.split(point)
    compiled = adgen.api.compile_function(fn, wrt=case.wrt, args=args if
                                          adgen.api.is_array_function(fn) else None,
                                          kwargs=kwargs)
    grad = compiled.gradient
    seed = _seed(case, point)
    result = _call(compiled.grad, point, seed, case)
    names = [p.name for p in grad.function.params]
    outputs = grad.outputs or tuple((w, None) for w in grad.wrt)
    results = (result,) if grad.single else result
    chosen = dict(zip((name for name, _ in outputs), results))
    wanted = set(chosen) | ({n for n, p in inspect.signature(fn).parameters.items()
                             if p.default is inspect.Parameter.empty} if case.wrt is None
                            else set(case.wrt if not isinstance(case.wrt, str) else [case.wrt]))
    phi = lambda args: float(np.sum(np.asarray(case.call(fn, args)) * seed))  # noqa: E731
    for name in wanted & set(names):
        k = names.index(name)
        for path, leaf in _float_leaves(point[k]):
            if name in chosen and (_has(chosen[name], path) or not path):
                continue
            flat = np.atleast_1d(np.asarray(leaf, dtype=float))
            for i in range(min(flat.size, 3)):
                bumped = [flat.copy(), flat.copy()]
                bumped[0][i] += 1e-6
                bumped[1][i] -= 1e-6
                values = [_replaced(point[k], path, b.reshape(np.shape(leaf)) if
                                    np.ndim(leaf) else float(b[0])) for b in bumped]
                args = [list(point), list(point)]
                args[0][k], args[1][k] = values
                slope = (phi(args[0]) - phi(args[1])) / 2e-6
                assert abs(slope) < 1e-6, (name, path, slope)
