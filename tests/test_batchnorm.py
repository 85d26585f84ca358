"""CS231n assignment 2's `batchnorm_forward`, verbatim (tests/corpus/batchnorm.py): its
gradient in train and test mode against the assignment's reference backward and finite
differences, the running statistics it writes (once per call of the gradient, as the
forward writes them), the command line's module and --verify, and what stays refused."""

from __future__ import annotations

import copy
import importlib.util
import io
import pathlib

import numpy as np
import pytest

import adgen
from adgen import cli
from reference_layers import batchnorm_backward as reference_backward

CORPUS = pathlib.Path(__file__).resolve().parent / "corpus" / "batchnorm.py"
_spec = importlib.util.spec_from_file_location("adgen_corpus_batchnorm_test", CORPUS)
bn = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bn)


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(6, 4)), rng.uniform(0.5, 1.5, 4), rng.normal(size=4),
            rng.normal(size=(6, 4)))


def _numeric(f, arr, dout, h=1e-6):
    grad = np.zeros_like(arr)
    for i in np.ndindex(arr.shape):
        old = arr[i]
        arr[i] = old + h
        plus = f()
        arr[i] = old - h
        minus = f()
        arr[i] = old
        grad[i] = np.sum((plus - minus) * dout) / (2 * h)
    return grad


def test_train_mode_matches_the_reference_backward():
    """The famous exercise: dx, dgamma, dbeta of batch normalisation in train mode."""
    x, gamma, beta, dout = _data()
    dx, dgamma, dbeta = adgen.vjp(bn.batchnorm_forward, wrt=("x", "gamma", "beta"))(
        x, gamma, beta, {"mode": "train"}, dout)
    ref = reference_backward(dout, x, gamma, beta, eps=1e-5)
    for got, want in zip((dx, dgamma, dbeta), ref):
        assert np.allclose(got, want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("stats", [False, True])
def test_test_mode_matches_finite_differences(stats):
    """Test mode normalises by the running statistics: given (and then differentiated), or
    absent (the .get defaults, zeros, computed where the .get is)."""
    x, gamma, beta, dout = _data(1)
    rng = np.random.default_rng(2)
    param = {"mode": "test"}
    if stats:
        param.update(running_mean=rng.normal(size=4), running_var=rng.uniform(0.5, 1.5, 4))
    grads = adgen.vjp(bn.batchnorm_forward)(x, gamma, beta, copy.deepcopy(param), dout)
    dx, dgamma, dbeta, dparam = grads
    forward = lambda: bn.batchnorm_forward(x, gamma, beta, copy.deepcopy(param))[0]  # noqa
    for got, arr in ((dx, x), (dgamma, gamma), (dbeta, beta)):
        assert np.allclose(got, _numeric(forward, arr, dout), rtol=1e-5, atol=1e-6)
    assert "mode" not in dparam  # a string: no gradient
    if stats:
        for key in ("running_mean", "running_var"):
            assert np.allclose(dparam[key], _numeric(forward, param[key], dout),
                               rtol=1e-5, atol=1e-6)
    else:
        assert "running_mean" not in dparam  # not in the call: no entry in its gradient


def test_running_statistics_are_written_once_per_call():
    """grad, vjp and value_and_grad run the forward once, its writes included: the running
    statistics after one call are the forward's own after one call."""
    x, gamma, beta, dout = _data(3)
    loss = lambda x, gamma, beta, p: np.sum(bn.batchnorm_forward(x, gamma, beta, p)[0] ** 2)  # noqa
    expected = {"mode": "train"}
    bn.batchnorm_forward(x, gamma, beta, expected)
    got = {"mode": "train"}
    adgen.vjp(bn.batchnorm_forward, wrt="x")(x, gamma, beta, got, dout)
    for key in ("running_mean", "running_var"):
        assert np.array_equal(got[key], expected[key])
    bn.batchnorm_forward(x, gamma, beta, expected)  # a second step: the key is present now
    adgen.vjp(bn.batchnorm_forward, wrt="x")(x, gamma, beta, got, dout)
    for key in ("running_mean", "running_var"):
        assert np.allclose(got[key], expected[key], rtol=1e-15, atol=0)
    del loss


def test_value_and_grad_writes_once():
    p = {"m": np.zeros(3)}
    x = np.array([1.0, 2.0, 3.0])
    value, grads = adgen.value_and_grad(bn.written_after_its_last_read, wrt="x")(x, p)
    assert np.allclose(p["m"], 0.1 * x)
    assert value == bn.written_after_its_last_read(x, {"m": np.zeros(3)})


def _run(argv):
    out, err = io.StringIO(), io.StringIO()
    status = cli.main([str(a) for a in argv], stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def test_command_line_module_and_verify(tmp_path):
    """The module: no batchnorm_backward (its cache is None in test mode), said in the
    header; the writes where the forward does them; --verify draws mode among the strings
    the code compares it with."""
    path = tmp_path / "bn.py"
    source = CORPUS.read_text()
    start = source.index("def batchnorm_forward(")
    path.write_text("import numpy as np\n\n\n" + source[start:source.index("\n\n\ndef ",
                                                                          start)] + "\n")
    status, out, err = _run([path, "--verify"])
    assert status == 0, err
    assert "def batchnorm_backward" not in out
    assert "batchnorm_backward(dout, cache) is not written" in out
    assert "    bn_param['running_mean'] = running_mean_2\n" in out
    assert "bn_param={'mode': 'train'" in err and "gradient ok" in err
    namespace: dict = {}
    exec(compile(out, "bn_grad.py", "exec"), namespace)
    x, gamma, beta, dout = _data(4)
    for mode in ("train", "test"):
        param = {"mode": mode, "running_mean": np.zeros(4), "running_var": np.ones(4)}
        got = namespace["batchnorm_forward_grad"](x, gamma, beta, copy.deepcopy(param), dout)
        want = adgen.vjp(bn.batchnorm_forward)(x, gamma, beta, copy.deepcopy(param), dout)
        for g, w in zip(got[:3], want[:3]):
            assert np.allclose(g, w)
    with pytest.raises(ValueError, match="Invalid forward batchnorm mode"):
        namespace["batchnorm_forward_grad"](x, gamma, beta, {"mode": "eval"}, dout)


REFUSED = '''import numpy as np


def read_back(x, p):
    p['m'] = 0.9 * p['m'] + 0.1 * x
    return np.sum(p['m'] * x)


def in_loop(x, p):
    for i in range(3):
        p['m'] = x * i
    return np.sum(x)
'''


def test_what_stays_refused_says_why(tmp_path):
    path = tmp_path / "refused.py"
    path.write_text(REFUSED)
    status, _, err = _run([path, "-f", "read_back"])
    assert status == 1
    assert err.startswith(
        f"{path}:5:5: error AD105: assignment into a parameter's dict or attribute: "
        "'p['m']' is written on line 5 and read again on line 6: adgen reads a parameter's "
        "entries once, when the function starts, so this read would see the value from "
        "before the write\n")
    assert "help: keep the new value in a local name and read that; write the entry " \
        "last" in err
    status, _, err = _run([path, "-f", "in_loop"])
    assert status == 1
    assert err.startswith(
        f"{path}:11:9: error AD105: assignment into a parameter's dict or attribute: a "
        "write into 'p['m']' inside a loop")


def test_running_statistics_of_another_shape_than_the_default():
    """Entries of another shape than the .get default's (numbers, not vectors): the
    specialisation follows the entries, and their gradients are numbers (it once crashed
    in the generated code, taking the default's shape)."""
    x, gamma, beta, dout = _data(5)
    param = {"mode": "test", "running_mean": 0.3, "running_var": 1.2}
    *_, dparam = adgen.vjp(bn.batchnorm_forward)(x, gamma, beta, copy.deepcopy(param), dout)
    for key in ("running_mean", "running_var"):
        bumped = [copy.deepcopy(param), copy.deepcopy(param)]
        bumped[0][key] += 1e-6
        bumped[1][key] -= 1e-6
        plus, minus = (bn.batchnorm_forward(x, gamma, beta, p)[0] for p in bumped)
        assert np.ndim(dparam[key]) == 0
        assert np.isclose(dparam[key], np.sum((plus - minus) * dout) / 2e-6, rtol=1e-5)
