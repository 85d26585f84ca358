"""The control-flow examples (examples/rnn.py, piecewise.py, helpers.py): the generated RNN and
LSTM gradients against hand-written backpropagation through time (tests/reference_rnn.py) to
1e-9, and check_grad (finite differences, sympy) on every example function at several points,
on both sides of every branch and for several trip counts."""

from __future__ import annotations

import importlib.util
import inspect

import numpy as np
import pytest

import adgen
from conftest import upstream_name
import reference_rnn
from conftest import ROOT


def load(name):
    spec = importlib.util.spec_from_file_location(f"adgen_example_{name}",
                                                  ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


rnn = load("rnn")
piecewise = load("piecewise")
helpers = load("helpers")

N, T, D, H = 3, 5, 4, 6


def rnn_inputs(seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    return dict(x=rng.standard_normal((N, T, D)), h0=rng.standard_normal((N, H)),
                Wxh=scale * rng.standard_normal((D, H)), Whh=scale * rng.standard_normal((H, H)),
                b=0.1 * rng.standard_normal(H))


def lstm_inputs(seed=0, steps=True):
    rng = np.random.default_rng(seed)
    inputs = dict(x=rng.standard_normal((N, T, D) if steps else (N, D)),
                  h0=rng.standard_normal((N, H)))
    if not steps:
        inputs = dict(x=inputs["x"], prev_h=inputs["h0"], prev_c=rng.standard_normal((N, H)))
    return dict(inputs, Wx=0.4 * rng.standard_normal((D, 4 * H)),
                Wh=0.4 * rng.standard_normal((H, 4 * H)), b=0.1 * rng.standard_normal(4 * H))


def assert_close(got, want):
    assert len(got) == len(want)
    for k, (g, w) in enumerate(zip(got, want)):
        assert np.shape(g) == np.shape(w), k
        assert np.allclose(g, w, rtol=1e-9, atol=1e-12), (k, np.max(np.abs(g - w)))


@pytest.mark.parametrize("seed,scale", [(0, 0.5), (1, 1.5), (2, 0.1)])
def test_rnn_matches_hand_written_bptt(seed, scale):
    kwargs = rnn_inputs(seed, scale)
    got = adgen.grad(rnn.rnn_loss)(**kwargs, drnn_loss=0.7)
    assert_close(got, reference_rnn.rnn_loss_backward(0.7, **kwargs))


def test_rnn_value_and_grad_wrt_weights():
    kwargs = rnn_inputs(3)
    value, grads = adgen.value_and_grad(rnn.rnn_loss, wrt=("Wxh", "Whh", "b"))(**kwargs)
    assert value == pytest.approx(rnn.rnn_loss(**kwargs), rel=1e-12)
    assert_close(grads, reference_rnn.rnn_loss_backward(1.0, **kwargs)[2:])


def test_lstm_step_matches_cs231n_backward():
    kwargs = lstm_inputs(steps=False)
    dnext_h = np.random.default_rng(5).standard_normal((N, H))
    grad_fn = adgen.vjp(rnn.lstm_step)
    seed = upstream_name(grad_fn, **kwargs)
    got = grad_fn(**kwargs, **{seed: dnext_h})
    assert_close(got, reference_rnn.lstm_step_backward(dnext_h, **kwargs))


@pytest.mark.parametrize("seed", [0, 1])
def test_lstm_over_steps_matches_hand_written_bptt(seed):
    kwargs = lstm_inputs(seed)
    got = adgen.grad(rnn.lstm_loss)(**kwargs)
    assert_close(got, reference_rnn.lstm_loss_backward(1.0, **kwargs))


def test_the_generated_code_does_not_modify_its_inputs():
    kwargs = rnn_inputs(4)
    before = {k: v.copy() for k, v in kwargs.items()}
    adgen.grad(rnn.rnn_loss)(**kwargs)
    adgen.grad(rnn.lstm_loss)(**lstm_inputs(4))
    assert all(np.array_equal(kwargs[k], before[k]) for k in kwargs)


# every example function, at points on each side of its branches and for several trip counts
POINTS = {
    piecewise.huber: [(0.5,), (-0.3,), (3.0,), (-2.5,), (0.7, 0.5)],
    piecewise.newton_sqrt: [(2.0,), (0.3,), (7.0, 1), (7.0, 3)],
    piecewise.halve_until_small: [(0.7,), (1.5,), (5.0,), (100.0, 3.0)],
    piecewise.newton_until_converged: [(2.0,), (10.0,), (0.2,), (10.0, 1e-12, 3)],
    piecewise.smooth_step: [(-0.5,), (0.3,), (0.8,), (1.5,), (0.2, -1.0, 2.0)],
    piecewise.leaky: [(-2.0,), (2.0,), (-1.0, 0.2)],
    helpers.gated: [(0.3, 2.0, -1.0), (-1.2, 0.5, 0.4)],
    helpers.polar_loss: [(1.5, 0.5), (-0.3, 0.2), (0.1, -2.0)],
}


@pytest.mark.parametrize("fn,point", [(fn, p) for fn, ps in POINTS.items() for p in ps],
                         ids=[f"{fn.__name__}{p}" for fn, ps in POINTS.items() for p in ps])
def test_check_grad_scalar_examples(fn, point):
    adgen.check_grad(fn, *point)


def test_check_grad_array_examples():
    rng = np.random.default_rng(7)
    adgen.check_grad(rnn.rnn_loss, *rnn_inputs(7).values())
    adgen.check_grad(rnn.lstm_step, *lstm_inputs(7, steps=False).values())
    adgen.check_grad(rnn.lstm_loss, *lstm_inputs(7).values())
    adgen.check_grad(helpers.mlp_loss, rng.standard_normal((4, 3)), rng.standard_normal((3, 5)),
                     rng.standard_normal(5), rng.standard_normal((5, 5)), rng.standard_normal(5),
                     rng.standard_normal(5))


def test_every_example_function_is_checked():
    checked = {fn.__name__ for fn in POINTS} | {"rnn_loss", "lstm_step", "lstm_loss", "mlp_loss"}
    for module in (rnn, piecewise):
        assert {n for n, f in vars(module).items() if inspect.isfunction(f)} <= checked
    assert {"gated", "polar_loss", "mlp_loss"} <= checked
