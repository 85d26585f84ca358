"""The hand-written backward passes of tests/reference_layers.py against numerical gradients of
the forward functions of examples/layers.py (the CS231n layers).

Every float input is checked element by element with central differences (CS231n's relative
error, max over the elements of |a - n| / max(1e-8, |a| + |n|)), and all inputs at once along a
random direction.  Layers are vector-Jacobian products: the checked scalar is
`np.sum(out * dout)` for a random `dout`; losses are checked with `dout = 1.7`.  The inputs
come from a fixed seed, and a test makes sure they sit away from the kinks (ReLU, hinge,
clip, row max) by far more than the step, and on both sides of each.
"""

from __future__ import annotations

import importlib.util
import inspect

import numpy as np
import pytest

import reference_layers
from conftest import ROOT

H = 1e-5  # central-difference step
TOL = 1e-6  # relative error
NOT_DIFFERENTIATED = {"mask"}  # float arrays that are data, not inputs to differentiate


def load_layers():
    spec = importlib.util.spec_from_file_location("layers", ROOT / "examples" / "layers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


layers = load_layers()
FUNCTIONS = {name: fn for name, fn in inspect.getmembers(layers, inspect.isfunction)
             if fn.__module__ == "layers" and not name.startswith("_")}


# ------------------------------------------------------------------ inputs

def make_inputs(name: str) -> dict:
    """Keyword arguments for `name`, from a seed of its own (so cases are independent)."""
    rng = np.random.default_rng(sorted(FUNCTIONS).index(name))
    normal = rng.standard_normal
    if name == "affine":
        return dict(x=normal((3, 8)), w=normal((8, 4)), b=normal(4))
    if name in ("relu", "sigmoid"):
        return dict(x=normal((4, 5)))
    if name in ("batchnorm", "layernorm"):
        return dict(x=2 * normal((5, 4)) + 1, gamma=normal(4), beta=normal(4), eps=1e-5)
    if name == "dropout":
        p = 0.5
        return dict(x=normal((4, 5)), mask=(rng.random((4, 5)) < p) / p)
    if name in ("softmax_loss", "log_softmax_loss", "svm_loss"):
        return dict(x=normal((6, 4)), y=rng.integers(0, 4, size=6))
    if name == "two_layer_loss":
        return dict(X=normal((5, 4)), y=rng.integers(0, 3, size=5), W1=normal((4, 6)),
                    b1=0.5 * normal(6), W2=normal((6, 3)), b2=0.5 * normal(3), reg=0.1)
    if name in ("td_clipped_loss", "td_huber_loss"):
        return dict(q=normal((8, 3)), actions=rng.integers(0, 3, size=8), reward=normal(8),
                    q_next=normal((8, 3)), gamma=0.9)
    raise KeyError(name)


def float_inputs(fn) -> list[str]:
    """The parameters that get a gradient: float arrays (not labels, not hyperparameters),
    except the dropout mask."""
    kwargs = make_inputs(fn.__name__)
    return [p for p in inspect.signature(fn).parameters
            if isinstance(kwargs[p], np.ndarray) and kwargs[p].dtype.kind == "f"
            and p not in NOT_DIFFERENTIATED]


def copied(kwargs: dict) -> dict:
    return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}


def objective(fn, dout):
    """The scalar whose gradient the backward pass computes: <fn(...), dout>."""
    return lambda kwargs: float(np.sum(fn(**kwargs) * dout))


def upstream(fn, kwargs: dict):
    """A random `dout` of the output's shape for a layer, 1.7 for a loss."""
    out = fn(**copied(kwargs))
    if np.ndim(out) == 0:
        return 1.7
    return np.random.default_rng(99).standard_normal(np.shape(out))


def rel_error(a, n) -> float:
    """CS231n's relative error: max over elements of |a - n| / max(1e-8, |a| + |n|)."""
    return float(np.max(np.abs(a - n) / np.maximum(1e-8, np.abs(a) + np.abs(n))))


def numerical_gradient(f, kwargs: dict, name: str) -> np.ndarray:
    """Element-wise central differences of the scalar f with respect to kwargs[name]."""
    kwargs = copied(kwargs)
    x = kwargs[name]
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + H
        plus = f(kwargs)
        x[index] = old - H
        minus = f(kwargs)
        x[index] = old
        grad[index] = (plus - minus) / (2 * H)
    return grad


def backward(name: str, dout, kwargs: dict) -> dict:
    """The reference gradients, by parameter name."""
    grads = getattr(reference_layers, name + "_backward")(dout, **copied(kwargs))
    assert isinstance(grads, tuple)
    wrt = float_inputs(FUNCTIONS[name])
    assert len(grads) == len(wrt), f"{name}_backward returns {len(grads)} gradients for {wrt}"
    return dict(zip(wrt, grads))


NAMES = sorted(FUNCTIONS)


# ------------------------------------------------------------------ tests

def test_every_layer_has_a_reference_backward():
    assert len(NAMES) == 12
    for name in NAMES:
        forward = inspect.signature(FUNCTIONS[name]).parameters
        ref = inspect.signature(getattr(reference_layers, name + "_backward")).parameters
        assert list(ref)[1:] == list(forward), name
        assert all(ref[p].default == forward[p].default for p in forward), name


@pytest.mark.parametrize("name", NAMES)
def test_what_the_command_line_assumes_holds_for_the_inputs(name):
    """The functions carry no annotations: `adgen examples/layers.py` infers each array's
    rank and which dimensions are equal from the code; these inputs, shaped as the CS231n
    assignments shape them, satisfy what it assumed (so its module's check accepts them)."""
    from adgen import facts
    from adgen.compiler import compile_source

    text = (ROOT / "examples" / "layers.py").read_text()
    (grad,) = compile_source(text, "layers.py", functions=[name]).gradients
    assert facts.holds(make_inputs(name), dict(grad.function.facts)), \
        dict(grad.function.facts)


@pytest.mark.parametrize("name", NAMES)
def test_gradients_have_the_inputs_shapes_and_nothing_is_mutated(name):
    fn, kwargs = FUNCTIONS[name], make_inputs(name)
    before = copied(kwargs)
    dout = upstream(fn, kwargs)
    fn(**kwargs)
    grads = getattr(reference_layers, name + "_backward")(dout, **kwargs)
    for key, value in kwargs.items():
        assert np.array_equal(value, before[key]), f"{name} changed its argument {key}"
    for key, grad in zip(float_inputs(fn), grads):
        assert grad.shape == kwargs[key].shape and grad.dtype == np.float64, key


@pytest.mark.parametrize("name", NAMES)
def test_backward_matches_elementwise_central_differences(name):
    fn, kwargs = FUNCTIONS[name], make_inputs(name)
    dout = upstream(fn, kwargs)
    f = objective(fn, dout)
    for key, grad in backward(name, dout, kwargs).items():
        error = rel_error(grad, numerical_gradient(f, kwargs, key))
        assert error < TOL, f"d{key}: relative error {error:.2e}"


@pytest.mark.parametrize("name", NAMES)
def test_backward_matches_a_random_directional_derivative(name):
    fn, kwargs = FUNCTIONS[name], make_inputs(name)
    dout = upstream(fn, kwargs)
    f = objective(fn, dout)
    grads = backward(name, dout, kwargs)
    rng = np.random.default_rng(7)
    direction = {key: rng.standard_normal(kwargs[key].shape) for key in grads}
    plus, minus = copied(kwargs), copied(kwargs)
    for key, v in direction.items():
        plus[key] += H * v
        minus[key] -= H * v
    numeric = (f(plus) - f(minus)) / (2 * H)
    analytic = sum(float(np.sum(grads[key] * v)) for key, v in direction.items())
    assert rel_error(analytic, numeric) < TOL, (analytic, numeric)


def test_the_inputs_sit_on_both_sides_of_every_kink_and_away_from_it():
    """Central differences are only meaningful away from kinks; both sides must be tested."""
    def both_sides_clear_of(values, kink=0.0):
        gap = np.abs(values - kink)
        return (values > kink).any() and (values < kink).any() and gap.min() > 100 * H

    assert both_sides_clear_of(make_inputs("relu")["x"])
    a = make_inputs("two_layer_loss")
    assert both_sides_clear_of(a["X"] @ a["W1"] + a["b1"])
    a = make_inputs("svm_loss")
    rows = np.arange(len(a["y"]))
    margins = a["x"] - a["x"][rows, a["y"]][:, None] + 1.0
    wrong = np.ones(margins.shape, bool)
    wrong[rows, a["y"]] = False
    assert both_sides_clear_of(margins[wrong])
    for name in ("td_clipped_loss", "td_huber_loss"):
        a = make_inputs(name)
        q_next = np.sort(a["q_next"], axis=1)
        assert (q_next[:, -1] - q_next[:, -2]).min() > 100 * H  # no near-tie in the max
        delta = reference_layers._td_error(a["q"], a["actions"], a["reward"], a["q_next"],
                                           a["gamma"])
        assert both_sides_clear_of(np.abs(delta), 1.0)


def test_clipping_zeroes_the_gradient_where_the_huber_loss_keeps_it():
    """The story of the two DQN losses: where |delta| > 1 the clipped loss passes nothing back,
    the Huber loss +-dout/N; where |delta| <= 1 they agree."""
    a = make_inputs("td_clipped_loss")
    delta = reference_layers._td_error(a["q"], a["actions"], a["reward"], a["q_next"],
                                       a["gamma"])
    _, dreward_clip, _ = reference_layers.td_clipped_loss_backward(1.0, **a)
    _, dreward_huber, _ = reference_layers.td_huber_loss_backward(1.0, **a)
    large = np.abs(delta) > 1
    assert large.any() and (~large).any()
    assert np.all(dreward_clip[large] == 0)
    assert np.allclose(np.abs(dreward_huber[large]), 1 / len(delta))
    assert np.array_equal(dreward_clip[~large], dreward_huber[~large])
