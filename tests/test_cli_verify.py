"""adgen FILE --verify when the user's code misbehaves: verification that could not run
is reported and never exits 0; Ctrl-C exits 130; no traceback; the user's output stays off
standard output."""

from __future__ import annotations

import numpy as np
import pytest

from test_cli import run

SQUARE = "def f(x):\n    return x * x\n\n\n"


@pytest.mark.parametrize("tail, said", [
    ("import sys\nsys.exit(0)\n", "importing {path} called sys.exit(0)"),
    ("import sys\nsys.exit()\n", "importing {path} called sys.exit()"),
    ("raise SystemExit('bye')\n", "called sys.exit('bye')"),
    ("1 / 0\n", "importing {path} raised ZeroDivisionError"),
])
def test_a_file_that_exits_or_raises_on_import_fails(tmp_path, tail, said):
    src = tmp_path / "script.py"
    src.write_text(SQUARE + tail)
    status, out, err = run([src, "--verify"])
    assert status == 1, err
    assert "def f_grad" in out  # the module itself was generated
    assert "verification could not run" in err and said.format(path=src) in err
    assert "help:" in err and "Traceback" not in err


def test_ctrl_c_on_import_exits_130(tmp_path):
    src = tmp_path / "script.py"
    src.write_text(SQUARE + "raise KeyboardInterrupt\n")
    status, _, err = run([src, "--verify"])
    assert status == 130
    assert err.startswith("adgen: interrupted") and "Traceback" not in err


# The compiler reads `f` from the text; at run time the file rebinds it.
REBOUND = SQUARE + "import sys\n\n_real = f\nglobals()['f'] = {replacement}\n"


@pytest.mark.parametrize("replacement, said, advice", [
    ("lambda x: sys.exit(3)", "the function called sys.exit(3)", "not exit"),
    ("lambda x: [][1]", "IndexError: list index out of range", "--at"),
    ("2.0", "after importing, f is not a function but float", "bound to the function"),
])
def test_a_function_that_exits_or_raises_fails(tmp_path, replacement, said, advice):
    src = tmp_path / "rebound.py"
    src.write_text(REBOUND.format(replacement=replacement))
    for at in ([], ["--at", "0.5"]):
        status, _, err = run([src, "--verify", *at])
        assert status == 1, err
        assert f"adgen: error: {src}: f: verification could not run: {said}\n" in err
        assert advice in err.split("help:")[1] and "Traceback" not in err


def test_ctrl_c_in_the_users_function_exits_130(tmp_path):
    src = tmp_path / "rebound.py"
    src.write_text(REBOUND.format(
        replacement="lambda x: (_ for _ in ()).throw(KeyboardInterrupt)"))
    status, _, err = run([src, "--verify"])
    assert status == 130 and "interrupted" in err and "Traceback" not in err


def test_what_the_function_prints_goes_to_stderr(tmp_path):
    src = tmp_path / "rebound.py"
    src.write_text(REBOUND.format(replacement="lambda x: print('noise') or _real(x)"))
    status, out, err = run([src, "--verify"])
    assert status == 0, err
    assert "noise" not in out and "noise" in err
    namespace: dict = {}
    exec(out, namespace)  # standard output is exactly the module
    assert namespace["f_grad"](3.0) == 6.0


def test_a_function_that_changes_its_array_argument_is_refused(tmp_path):
    """An in-place update of a parameter changes the caller's array: AD208, never a
    verification of a gradient taken at values the caller no longer has."""
    src = tmp_path / "inplace.py"
    src.write_text("import numpy as np\n\n\ndef f(x: 'N'):\n    x += 1.0\n"
                   "    return np.sum(x * x)\n")
    status, out, err = run([src, "--verify"])
    assert status == 1 and "AD208" in err and out == "", err


def test_a_small_absolute_error_says_why_it_passes(tmp_path):
    """`y  1e-10  0  1.0e+00  ok` once read as a failure: the row says ok* and a footnote
    gives the absolute error and the tolerance that applied."""
    src = tmp_path / "tiny.py"
    src.write_text("def f(x, y):\n    return x + 1e-10 * y ** 2\n")
    status, _, err = run([src, "--verify", "--at", "1.0,0.5"])
    assert status == 0, err
    rows = {line.split()[0]: line.split() for line in err.splitlines()[2:4]}
    assert rows["x"][4] == "ok" and rows["y"][4] == "ok*" and rows["y"][3] == "1.0e+00"
    footnote = [line for line in err.splitlines() if line.startswith("  * y:")]
    assert footnote and "|adgen - numeric| = 1.0e-10" in footnote[0]
    assert "rounding error" in footnote[0] and "relative error is large" in footnote[0]


@pytest.mark.parametrize("code, shown", [
    # a dict of parameters, as the CS231n assignments keep them
    ("def loss(params, X):\n"
     "    h = np.tanh(X @ params['W1'] + params['b1'])\n"
     "    return (h @ params['W2']).sum(axis=1).mean()\n",
     "params={'W1': <array"),
    # an object's attributes, nested dicts, a tuple unpacked
    ("def loss(net, X):\n"
     "    return np.tanh(X @ net.W).sum(axis=1).mean() + net.scale * X.mean()\n",
     "net=<SimpleNamespace>"),
    ("def loss(p, X):\n"
     "    return np.tanh(X @ p['layer']['W']).sum(axis=1).mean()\n",
     "p={'layer': {'W': <array"),
    ("def loss(wb, X):\n"
     "    W, b = wb\n"
     "    return np.tanh(X @ W + b).sum(axis=1).mean()\n",
     "wb=<tuple>"),
])
def test_verify_draws_a_structured_parameter_from_what_the_code_reads(tmp_path, code, shown):
    src = tmp_path / "model.py"
    src.write_text("import numpy as np\n\n\n" + code)
    status, out, err = run([src, "--verify"])
    assert status == 0, err
    assert "gradient ok" in err and shown in err, err


def test_verify_picks_sizes_where_the_function_is_not_constant(tmp_path):
    src = tmp_path / "conv.py"
    src.write_text("import numpy as np\n\n\ndef conv(x, w):\n"
                   "    n = x.shape[0] - w.shape[0] + 1\n    out = np.zeros(n)\n"
                   "    for i in range(n):\n        out[i] = np.dot(x[i:i + w.shape[0]], w)\n"
                   "    return np.sum(out ** 2)\n")
    status, _, err = run([src, "--shapes", "x=N w=K", "--verify"])
    assert status == 0, err
    # sizes 3, 4 by first appearance leave the loop empty (n = 0): the other way round
    assert "conv(x=<array 4>, w=<array 3>)" in err and "exactly zero" not in err, err


def test_verify_says_when_every_gradient_is_zero(tmp_path):
    src = tmp_path / "flat.py"
    src.write_text("import numpy as np\n\n\ndef flat(x, w):\n"
                   "    return np.sum(np.maximum(x @ w, 10.0))\n")
    status, _, err = run([src, "--verify"])
    assert status == 0, err
    assert "note: every gradient is exactly zero here" in err, err


def test_a_zero_dimensional_gradient_is_checked_symbolically(tmp_path):
    """np.outer of numbers: the gradients are 0-d arrays, which sympy could not subtract
    (the whole check failed with a TypeError); any symbolic failure is 'skipped' now."""
    src = tmp_path / "outer.py"
    src.write_text("import numpy as np\n\n\ndef outer_prod(u, v):\n"
                   "    M = np.outer(u, v)\n    return (M * M.T).sum()\n")
    status, _, err = run([src, "--verify"])
    assert status == 0, err
    assert "gradient ok" in err and "proved" in err, err


def test_verify_draws_an_index_array_of_any_shape(tmp_path):
    src = tmp_path / "embed.py"
    src.write_text("def word_embed(W, idx):\n    return (W[idx] ** 2).sum()\n")
    status, _, err = run([src, "--verify"])
    assert status == 0 and "gradient ok" in err, err


def test_verify_draws_arrays_when_the_code_calls_array_methods(tmp_path):
    """Nothing says pred and t are arrays, but pred.sum() on a number fails: the point is
    drawn again with vectors."""
    src = tmp_path / "mse.py"
    src.write_text("def mse(pred, t):\n    return ((pred - t) ** 2).sum() / t.size\n")
    status, _, err = run([src, "--verify"])
    assert status == 0 and "mse(pred=<array 3>, t=<array 3>)" in err, err


def test_verify_tries_one_size_for_every_dimension(tmp_path):
    """The CS231n temporal affine layer: b is added after reshape(N, T, -1), so inference
    cannot tie its size to w's second; drawn with every dimension 4, it evaluates."""
    src = tmp_path / "rnn_layers.py"
    src.write_text("def temporal_affine(x, w, b):\n    N, T, D = x.shape\n"
                   "    out = x.reshape(N * T, D).dot(w).reshape(N, T, -1) + b\n"
                   "    return (out ** 2).sum()\n")
    status, _, err = run([src, "--verify"])
    assert status == 0 and "gradient ok" in err, err


@pytest.mark.parametrize("function, gates", [
    ("lstm_step", "4*H"), ("lstm_step_loss", "4*H"), ("lstm_forward", "4*H"),
    ("lstm_forward_loss", "4*H"), ("gru_step", "3*H"),
])
def test_verify_sizes_gates_sliced_by_multiples_of_a_size(function, gates):
    """CS231n's LSTM step without annotations: the gates a[:, :H] ... a[:, 3 * H:] met
    element-wise say that a's width is 4*H; inference took it for a size of its own, so
    --verify drew it unrelated to H, the last gate came out empty and "found no point where
    the function evaluates".  The header states the multiple; the code checks it."""
    from corpus_loader import CORPUS

    status, out, err = run([CORPUS / "plain_numpy.py", "-f", function, "--verify"])
    assert status == 0 and "gradient ok" in err, err
    header = out.split('"""', 2)[1]
    assert f", {gates}): " in header, header
    assert f"b ({gates},)" in header, header


def test_verify_draws_arrays_for_parameters_the_code_reads_size_or_ndim_of():
    """`t.size` and `pred.shape[1]`: pred is drawn as a matrix and t, which nothing types, as
    a number, so t.size failed ('float' object has no attribute 'size') and --verify could
    not run; an AttributeError at a point with arrays now draws the untyped ones as vectors,
    as it already did at a point of numbers."""
    from corpus_loader import CORPUS

    status, _, err = run([CORPUS / "plain_numpy.py", "-f", "mean_over_size", "--verify"])
    assert status == 0 and "gradient ok" in err, err
