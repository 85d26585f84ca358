"""adgen's generated backward passes of the CS231n layers and losses (examples/layers.py)
against the hand-written reference backward passes (tests/reference_layers.py, themselves
checked numerically by test_reference_layers.py), through the vjp API."""

from __future__ import annotations

import numpy as np
import pytest

import adgen
from test_reference_layers import FUNCTIONS, NAMES, backward, copied, float_inputs, \
    make_inputs, upstream


@pytest.mark.parametrize("name", NAMES)
def test_generated_backward_matches_the_hand_written_one(name):
    fn = FUNCTIONS[name]
    kwargs = make_inputs(name)
    dout = upstream(fn, kwargs)
    wrt = tuple(float_inputs(fn))
    grad_fn = adgen.vjp(fn, wrt=wrt)
    seed = list(__import__("inspect").signature(grad_fn).parameters)[-1]
    before = copied(kwargs)
    got = grad_fn(**copied(kwargs), **{seed: dout})
    got = got if isinstance(got, tuple) else (got,)
    want = backward(name, dout, kwargs)
    for param, value in zip(wrt, got):
        assert np.shape(value) == np.shape(want[param]), (param, np.shape(value))
        assert np.allclose(value, want[param], rtol=1e-9, atol=1e-12), param
    for key, value in kwargs.items():  # the generated code does not modify its inputs
        assert np.array_equal(value, before[key])
