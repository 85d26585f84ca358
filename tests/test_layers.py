"""adgen's generated backward passes of the CS231n layers and losses (examples/layers.py)
against the hand-written reference backward passes (tests/reference_layers.py, themselves
checked numerically by test_reference_layers.py), through the vjp API."""

from __future__ import annotations

import numpy as np
import pytest

import adgen
from conftest import upstream_name
from test_reference_layers import FUNCTIONS, NAMES, backward, copied, float_inputs, \
    make_inputs, upstream


@pytest.mark.parametrize("name", NAMES)
def test_generated_backward_matches_the_hand_written_one(name):
    fn = FUNCTIONS[name]
    kwargs = make_inputs(name)
    dout = upstream(fn, kwargs)
    wrt = tuple(float_inputs(fn))
    grad_fn = adgen.vjp(fn, wrt=wrt)
    seed = upstream_name(grad_fn, **copied(kwargs))
    before = copied(kwargs)
    got = grad_fn(**copied(kwargs), **{seed: dout})
    got = got if isinstance(got, tuple) else (got,)
    want = backward(name, dout, kwargs)
    for param, value in zip(wrt, got):
        assert np.shape(value) == np.shape(want[param]), (param, np.shape(value))
        assert np.allclose(value, want[param], rtol=1e-9, atol=1e-12), param
    for key, value in kwargs.items():  # the generated code does not modify its inputs
        assert np.array_equal(value, before[key])


def test_layer_api_forward_and_backward(tmp_path):
    """`adgen examples/layers.py --layer`: NAME_forward returns (out, cache), and
    NAME_backward(dout, cache) returns what adgen.vjp returns."""
    import importlib.util

    from adgen import cli
    from conftest import ROOT

    out = tmp_path / "layers_api.py"
    assert cli.main([str(ROOT / "examples" / "layers.py"), "--layer", "-o", str(out)]) == 0
    spec = importlib.util.spec_from_file_location("layers_api", out)
    api = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(api)
    for name in NAMES:
        fn = FUNCTIONS[name]
        kwargs = make_inputs(name)
        dout = upstream(fn, kwargs)
        value, cache = getattr(api, f"{name}_forward")(**copied(kwargs))
        assert np.allclose(value, fn(**copied(kwargs)), rtol=1e-12, atol=0)
        grads = getattr(api, f"{name}_backward")(dout, cache)
        grad_fn = adgen.vjp(fn)
        seed = upstream_name(grad_fn, **copied(kwargs))
        expected = grad_fn(**copied(kwargs), **{seed: dout})
        grads = grads if isinstance(grads, tuple) else (grads,)
        expected = expected if isinstance(expected, tuple) else (expected,)
        assert all(np.array_equal(a, b) for a, b in zip(grads, expected)), name


def _cached_layers():
    import importlib.util

    from conftest import ROOT

    spec = importlib.util.spec_from_file_location("cs231n_layers_example",
                                                  ROOT / "examples" / "cs231n_layers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("stem", ["affine", "relu", "sigmoid", "affine_relu", "batchnorm"])
def test_backward_of_the_layers_own_cache_matches_vjp(stem, tmp_path):
    """A forward returning (out, cache): the generated NAME_backward(dout, cache) takes the
    layer's own cache and gives what adgen.vjp gives."""
    import importlib.util

    from adgen import cli
    from conftest import ROOT

    layers = _cached_layers()
    out_path = tmp_path / "layers_grad.py"
    assert cli.main([str(ROOT / "examples" / "cs231n_layers.py"), "-o", str(out_path)]) == 0
    spec = importlib.util.spec_from_file_location("layers_grad", out_path)
    generated = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generated)
    rng = np.random.default_rng(1)
    forward = getattr(layers, f"{stem}_forward")
    args = {"affine": ((3, 2, 2), (4, 5), (5,)), "relu": ((3, 4),), "sigmoid": ((3, 4),),
            "affine_relu": ((3, 4), (4, 2), (2,)), "batchnorm": ((5, 3), (3,), (3,))}[stem]
    args = tuple(rng.standard_normal(shape) for shape in args)
    out, cache = forward(*args)
    dout = rng.standard_normal(out.shape)
    got = getattr(generated, f"{stem}_backward")(dout, cache)
    want = adgen.vjp(forward)(*args, dout=dout)
    got, want = (g if isinstance(g, tuple) else (g,) for g in (got, want))
    assert len(got) == len(want) == len(args)
    for g, w in zip(got, want):
        assert np.allclose(g, w, rtol=1e-10, atol=1e-12)


def test_a_cache_lacking_an_input_is_reported(tmp_path):
    """The backward of a layer's own cache reads only the cache: an input it needs and the
    cache lacks is AD209, at the function, naming the input."""
    from adgen.compiler import compile_source
    from adgen.diagnostics import AdgenError

    source = ("import numpy as np\n\n\ndef tanh_forward(x, w):\n    out = np.tanh(x @ w)\n"
              "    cache = out\n    return out, cache\n")
    with pytest.raises(AdgenError) as info:
        compile_source(source, "m.py")
    (d,) = info.value.diagnostics
    assert (d.code, d.line) == ("AD209", 4) and "x, w" in d.message
