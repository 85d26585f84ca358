"""numpy without annotations (issue 8): the library API specialises on the arguments of each
call, the command line infers facts from the code and states them, dtypes are kept, and a
call with other ranks fails loudly.  (The corpus of such functions, through every route, is
tests/corpus/plain_numpy.py.)"""

from __future__ import annotations

import io
import textwrap

import numpy as np
import pytest

import adgen
from adgen import cli, facts
from adgen.api import compile_function
from corpus_loader import CORPUS, load_module

P = load_module(CORPUS / "plain_numpy.py")
RNG = np.random.default_rng(0)


def mlp_args(n=5, d=4, h=3, c=6, dtype=np.float64):
    return (RNG.standard_normal((n, d)).astype(dtype), RNG.standard_normal((d, h)).astype(dtype),
            RNG.standard_normal(h).astype(dtype), RNG.standard_normal((h, c)).astype(dtype),
            RNG.standard_normal(c).astype(dtype), RNG.integers(0, c, size=n))


def test_one_specialisation_per_pattern_not_per_size():
    f = P.two_layer_relu_softmax
    adgen.clear_cache()
    grad = adgen.grad(f)
    grad(*mlp_args(5, 4, 3, 6))
    grad(*mlp_args(64, 10, 7, 3))  # other sizes, the same kinds, ranks and equalities
    assert len(grad.compiled()) == 1
    grad(*mlp_args(4, 4, 4, 4))  # every dimension equal: another pattern
    assert len(grad.compiled()) == 2


def test_the_specialisation_is_the_annotated_quality_code():
    source = adgen.source(P.two_layer_relu_softmax, *mlp_args())
    assert "(fused)" in source and "db1 = " in source and ".sum(axis=0)" in source
    assert "_unbroadcast" not in source and "np.add.at" not in source
    assert "--shapes 'X=n1,n2 W1=n2,n3 b1=n3 W2=n3,n4 b2=n4 y=int:n1'" in source


def test_the_header_shapes_reproduce_the_specialisation_with_the_command_line(tmp_path):
    args = mlp_args()
    api = adgen.source(P.two_layer_relu_softmax, *args)
    out = io.StringIO()
    path = CORPUS / "plain_numpy.py"
    shapes = "X=n1,n2 W1=n2,n3 b1=n3 W2=n3,n4 b2=n4 y=int:n1"
    assert "--in-place" in api  # float64 arguments: the specialisation computes in place
    assert cli.main([str(path), "-f", "two_layer_relu_softmax", "--shapes", shapes,
                     "--in-place"], stdout=out) == 0
    body = lambda text: text.split('"""', 2)[2]  # noqa: E731  (after the header)
    assert body(out.getvalue()) == body(api)


def test_float32_arguments_give_float32_gradients():
    args = mlp_args(dtype=np.float32)
    grads = adgen.grad(P.two_layer_relu_softmax)(*args)
    assert all(g.dtype == np.float32 for g in grads), [g.dtype for g in grads]
    x = RNG.standard_normal((4, 3, 5)).astype(np.float32)
    h0 = RNG.standard_normal((4, 6)).astype(np.float32)
    weights = [RNG.standard_normal(s).astype(np.float32) for s in ((5, 6), (6, 6), (6,))]
    grads = adgen.grad(P.rnn_forward_loss)(x, h0, *weights)
    assert all(g.dtype == np.float32 for g in grads), [g.dtype for g in grads]


def test_integer_labels_get_no_gradient_without_annotations():
    grads = adgen.grad(P.softmax_loss_vectorized)(RNG.standard_normal((4, 6)),
                                                   RNG.standard_normal((5, 4)),
                                                   RNG.integers(0, 6, size=5))
    assert isinstance(grads, tuple) and len(grads) == 2  # W and X; y is a label array


def test_a_specialisation_called_with_other_ranks_fails_loudly():
    args = mlp_args()
    generated = compile_function(P.two_layer_relu_softmax, None, args).grad
    wrong = (args[0], args[1], args[2][None, :]) + args[3:]  # b1 of shape (1, H)
    with pytest.raises(ValueError, match="differ from the shapes it was generated for"):
        generated(*wrong)
    assert adgen.grad(P.two_layer_relu_softmax)(*wrong)[2].shape == (1, 3)  # a new one


SOURCE = textwrap.dedent("""\
    import numpy as np


    def loss(X, W1, b1, W2, b2, y):
        N, D = X.shape
        h = np.maximum(0, X.dot(W1) + b1)
        scores = h.dot(W2) + b2
        probs = np.exp(scores - scores.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        return -np.log(probs[np.arange(N), y]).mean()
    """)


def test_the_command_line_infers_and_states_its_assumptions(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(SOURCE)
    out, err = io.StringIO(), io.StringIO()
    assert cli.main([str(path)], stdout=out, stderr=err) == 0, err.getvalue()
    text = out.getvalue()
    header = text.split('"""', 2)[1]
    assert "X (N, D)" in header  # the axes keep the names the code gives them
    assert "W1 (D, n1): an operand of .dot on line 6" in header
    assert "b1 (n1,)" in header and "y int (N,): labels" in header
    assert "(fused)" in text and "_unbroadcast" not in text
    namespace: dict = {}
    exec(text, namespace)
    args = mlp_args()
    expected = adgen.grad(_load(path).loss)(*args)
    got = namespace["loss_grad"](*args)
    assert all(np.allclose(a, b, rtol=1e-12, atol=1e-14) for a, b in zip(got, expected))
    with pytest.raises(ValueError, match="generated for"):
        namespace["loss_grad"](args[0], args[1], args[2][None, :], *args[3:])


def _load(path):
    import importlib.util

    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_verify_builds_arrays_from_what_the_code_says(tmp_path):
    path = tmp_path / "norm.py"
    path.write_text(textwrap.dedent("""\
        import numpy as np


        def layernorm(x, gamma, beta):
            mu = x.mean(axis=1, keepdims=True)
            xhat = (x - mu) / np.sqrt(x.var(axis=1, keepdims=True) + 1e-5)
            return np.sum(np.tanh(gamma * xhat + beta))
        """))
    err = io.StringIO()
    assert cli.main([str(path), "--verify"], stdout=io.StringIO(), stderr=err) == 0, \
        err.getvalue()
    assert "layernorm(x=<array 3x4>" in err.getvalue()


def test_builtins_on_arrays_get_the_array_rule_or_a_diagnostic():
    path = CORPUS / "plain_numpy.py"
    text = "import numpy as np\n\ndef f(x):\n    return np.sum(abs(x) * x)\n\n" \
        "def g(x, y):\n    return np.sum(max(x, y) * x)\n"
    from adgen.compiler import compile_source

    module = compile_source(text, "t.py").source
    assert "np.abs(x)" in module and "np.maximum(x, y)" in module
    namespace: dict = {}
    exec(module, namespace)
    x = np.array([[-1.5, 2.0], [0.5, -3.0]])
    assert np.array_equal(namespace["f_grad"](x), 2 * np.abs(x))
    assert path.exists()


def test_messages_name_the_call_as_written_and_the_way_out():
    from adgen.compiler import compile_source

    # a product whose operand's rank nothing can give: a value computed from two unknowns
    text = ("import numpy as np\n\ndef f(a, b, w):\n    c = np.squeeze(a + b)\n"
            "    return np.sum(c.dot(w)) + np.sum(np.dot(c, w))\n")
    with pytest.raises(adgen.AdgenError) as info:
        compile_source(text, "t.py")
    messages = [d for d in info.value.diagnostics if d.code == "AD305"]
    assert messages and "'.dot'" in messages[0].message and "np.dot" in messages[1].message
    assert all("--shapes" in d.help and "API" in d.help for d in messages)


def test_facts_hold_is_what_the_check_accepts():
    given = {"X": facts.Fact(facts.VType("array", ("N", "D")), "arguments"),
             "b": facts.Fact(facts.VType("array", ("D",)), "arguments")}
    assert facts.holds({"X": np.ones((3, 2)), "b": np.ones(2)}, given)
    assert not facts.holds({"X": np.ones((3, 2)), "b": np.ones(3)}, given)
    assert not facts.holds({"X": np.ones((3, 2)), "b": np.ones((1, 2))}, given)


def _dispatcher_tables(dispatched):
    """The dispatcher's table (signature -> the function later calls run)."""
    return [c.cell_contents for c in dispatched.__closure__
            if isinstance(c.cell_contents, dict)][0]


def test_the_dispatcher_runs_the_guards_once_per_signature_then_the_unguarded_module():
    adgen.clear_cache()
    f = P.two_layer_relu_softmax
    grad = adgen.grad(f)
    args = mlp_args()
    first = grad(*args)
    compiled = compile_function(f, None, args)
    table = _dispatcher_tables(grad)
    (target,) = table.values()
    assert target is compiled.unguarded("grad") and target is not compiled.grad
    assert grad.specialization(*args) is compiled.grad  # what tests and users call: guarded
    again = grad(*args)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    # the unguarded function skips the checks: called with other ranks it does not refuse
    # (the dispatcher never does that: its key is the exact shapes and dtypes)
    wrong = (args[0], args[1], args[2][None, :]) + args[3:]
    with pytest.raises(ValueError, match="differ from the shapes"):
        compiled.grad(*wrong)
    assert grad(*wrong)[2].shape == (1, 3)  # the dispatcher: a new signature, checked once


def test_the_unguarded_module_keeps_every_line_of_the_shown_one():
    args = mlp_args()
    compiled = compile_function(P.two_layer_relu_softmax, None, args)
    shown = compiled.executed.splitlines()
    for which in ("grad", "value_and_grad"):
        fast, slow = compiled.unguarded(which), getattr(compiled, which)
        assert fast.__code__.co_filename == slow.__code__.co_filename
        lines = {line for _, _, line in fast.__code__.co_lines() if line is not None}
        assert lines < {line for _, _, line in slow.__code__.co_lines() if line is not None}
        assert all(shown[line - 1].strip() for line in lines)  # no instruction on a blank


def test_guards_stay_when_the_signature_does_not_cover_the_arguments():
    from adgen.specialize import without_guards

    class Net:
        def __init__(self, W):
            self.W = W

        def loss(self, X):
            return np.tanh(X @ self.W).sum()

    net = Net(RNG.standard_normal((4, 3)))
    grad = adgen.grad(net.loss)
    grad(RNG.standard_normal((5, 4)))
    table = _dispatcher_tables(grad.func)
    (target,) = table.values()
    guarded = grad.func.specialization(net, RNG.standard_normal((5, 4)))
    assert target is guarded  # an object among the arguments: its arrays are not in the key
    assert without_guards("x = 1\n", "x = 2\n", "<t>", ()) is None  # not just blanked lines


def test_the_gates_sliced_by_multiples_of_h_say_4h_and_the_code_checks_it():
    """CS231n's LSTM step: a[:, :H] ... a[:, 3 * H:] meet element-wise, so a has 4*H
    columns: the header says Wx (n2, 4*H), the gates' gradients need no run-time reduction,
    and a call with other widths fails loudly."""
    out, err = io.StringIO(), io.StringIO()
    assert cli.main([str(CORPUS / "plain_numpy.py"), "-f", "lstm_step"], stdout=out,
                    stderr=err) == 0, err.getvalue()
    text = out.getvalue()
    header = text.split('"""', 2)[1]
    assert "Wx (n2, 4*H)" in header and "Wh (H, 4*H)" in header and "b (4*H,)" in header
    assert "Wx.shape[1] != 4 * prev_h.shape[1]" in text and "di = g * dig" in text
    namespace: dict = {}
    exec(text, namespace)
    n, d, h = 3, 4, 5
    args = [RNG.standard_normal(s) for s in ((n, d), (n, h), (n, h), (d, 4 * h), (h, 4 * h),
                                               (4 * h,))]
    got = namespace["lstm_step_grad"](*args)
    expected = adgen.grad(P.lstm_step)(*args)
    assert all(np.allclose(a, b, rtol=1e-12, atol=1e-14) for a, b in zip(got, expected))
    wide = args[:3] + [np.hstack([a, a[..., :1]]) for a in args[3:]]  # 4*H + 1 columns
    with pytest.raises(ValueError, match="generated for"):
        namespace["lstm_step_grad"](*wide)
