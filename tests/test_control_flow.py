"""The shape of the generated code for branches, loops and calls: what it saves, what it
tests, where its lines say they came from.  (Gradients themselves are checked on
tests/corpus/control_flow.py by test_corpus.py and by the property tests.)"""

from __future__ import annotations

import textwrap

import numpy as np

import adgen
from adgen.compiler import compile_source

RNN = textwrap.dedent('''
    import numpy as np


    def rnn_loss(x: "N T D", h0: "N H", Wxh: "D H", Whh: "H H", b: "H"):
        h = h0
        T = x.shape[1]
        for t in range(T):
            h = np.tanh(x[:, t, :] @ Wxh + h @ Whh + b)
        return np.sum(h * h)
''').lstrip()


def _module(source: str) -> dict:
    namespace: dict = {}
    exec(compile(source, "<generated>", "exec"), namespace)
    return namespace


def _rnn_inputs(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 4)), rng.normal(size=(3, 4)) * 0.5,
            rng.normal(size=(4, 4)) * 0.5, rng.normal(size=4)]


def test_a_loop_saves_each_value_once_and_runs_backwards():
    source = compile_source(RNN, "rnn.py", wrt=("Wxh", "Whh", "b")).source
    assert "for t in reversed(range(T)):" in source
    # the state on entry to each step and the slice of x: the state a step ends with is
    # the next step's start, so it is not saved twice
    assert sorted(line.split(".")[0].strip() for line in source.splitlines()
                  if "_saved.append(" in line) == ["h_saved", "part1_saved"]
    # the weight gradients' products of the steps are batched (optimize.batch_products):
    # dhWhh = dsum1 = dsum1pb (copies propagated), each step's factors collected once
    assert sorted(line.strip() for line in source.splitlines() if "_steps.append(" in line
                  ) == ["dsum1pb_steps.append(dsum1pb)", "h_steps.append(h)",
                        "part1_steps.append(part1)"]
    assert "dWhh += np.concatenate(h_steps).T @ dsum1pb_all" in source
    assert "db += dsum1pb_all.sum(axis=0)" in source
    assert source.count("np.zeros_like(") == 3  # dWhh, dWxh, db: nothing else allocated


def test_layer_backward_can_be_called_twice_with_one_cache():
    compiled = compile_source(RNN, "rnn.py", wrt=("Wxh", "Whh", "b"))
    from adgen.layers import emit_layer
    namespace = _module("import numpy as np\n" + emit_layer(compiled.gradients[0]))
    args = _rnn_inputs()
    value, cache = namespace["rnn_loss_forward"](*args)
    first = namespace["rnn_loss_backward"](1.0, cache)
    second = namespace["rnn_loss_backward"](1.0, cache)
    grads = _module(compiled.source)["rnn_loss_grad"](*args)
    for a, b, c in zip(first, second, grads):
        assert np.array_equal(a, b) and np.array_equal(a, c)


def test_value_and_grad_returns_the_value_a_loop_ends_with():
    text = textwrap.dedent('''
        def f(x):
            y = x
            for i in range(3):
                y = y * y + 0.5
            return y
    ''')
    source = compile_source(text, "f.py", value_and_grad=True).source
    value, grad = _module(source)["f_value_and_grad"](0.3)
    y = 0.3
    for _ in range(3):
        y = y * y + 0.5
    assert value == y


def test_a_branch_is_reversed_under_the_same_recorded_condition():
    text = textwrap.dedent('''
        def f(x, y):
            if x > y:
                z = x * y
            else:
                z = y - x
            return z
    ''')
    source = compile_source(text, "f.py").source
    assert source.count("if cond1:") == 2
    assert source.count("x > y") == 1  # computed once, by the forward pass


def test_inlined_helper_lines_name_their_call():
    text = textwrap.dedent('''
        import math


        def sigmoid(z):
            return 1 / (1 + math.exp(-z))


        def f(x, y):
            return sigmoid(x) * sigmoid(y)
    ''').lstrip()
    compiled = compile_source(text, "f.py")
    assert [g.function.name for g in compiled.gradients] == ["f"]  # the helper is inlined
    assert "(in sigmoid, called on line 9)" in compiled.source
    assert "def sigmoid_grad" not in compiled.source
    assert adgen.compiler.compile_source(text, "f.py", functions=["sigmoid"]).gradients


def test_while_loop_counts_its_iterations():
    text = textwrap.dedent('''
        def f(x):
            while x > 1.0:
                x = x / 2
            return x
    ''')
    source = compile_source(text, "f.py").source
    assert "n_steps += 1" in source and "for _ in range(n_steps):" in source
    grad = _module(source)["f_grad"]
    assert grad(5.0) == 0.125 and grad(0.5) == 1.0


def test_functions_of_user_modules_are_inlined(tmp_path):
    (tmp_path / "mylib.py").write_text(textwrap.dedent('''
        import math as m

        SCALE = 3.0


        def sig(z):
            return 1 / (1 + m.exp(-z))


        def scaled(z, k=2.0):
            return SCALE * sig(k * z)
    ''').lstrip())
    main = tmp_path / "main.py"
    main.write_text(textwrap.dedent('''
        import mylib
        from mylib import sig

        SCALE = 5.0


        def f(x):
            return sig(x) * mylib.scaled(x) + SCALE * x
    ''').lstrip())
    compiled = compile_source(main.read_text(), str(main))
    assert "(in mylib.sig, called on line 8)" in compiled.source
    assert "SCALE = 5.0" in compiled.source  # the caller's constant; mylib's is inlined
    grad = _module(compiled.source)["f_grad"]

    def f(x):
        def sig(z):
            return 1 / (1 + np.exp(-z))
        return sig(x) * 3.0 * sig(2.0 * x) + 5.0 * x

    x, h = 0.4, 1e-6
    assert abs(grad(x) - (f(x + h) - f(x - h)) / (2 * h)) < 1e-8


def test_recursion_through_another_module_is_reported(tmp_path):
    (tmp_path / "other.py").write_text("import main\n\n\ndef g(x):\n    return main.f(x)\n")
    main = tmp_path / "main.py"
    main.write_text("import other\n\n\ndef f(x):\n    return other.g(x) * x\n")
    import pytest
    from adgen.diagnostics import AdgenError
    with pytest.raises(AdgenError) as info:
        compile_source(main.read_text(), str(main))
    assert [d.code for d in info.value.diagnostics] == ["AD206"]


BATCHING = textwrap.dedent('''
    import numpy as np

    def twice(x: "N T H", h0: "N H", W: "H H", n: int):
        h = h0
        for t in range(n):
            a = h @ W
            h = np.tanh(a @ W + x[:, t, :])
        return np.sum(h * h)

    def branchy(x: "N T H", h0: "N H", W: "H H", V: "H H"):
        h = h0
        for t in range(x.shape[1]):
            z = h @ W + x[:, t, :]
            if t % 2 == 0:
                h = np.tanh(z)
            else:
                h = np.tanh(z @ V)
        return np.sum(h * h)
''')


def test_batched_products_only_where_their_factors_keep_their_values():
    """W used twice in a step: both products batched (optimize.batch_products), equal to
    the per-step sum to rounding, and zero when the loop does not run; a factor whose
    gradient a branch of the body sets (dz) keeps the per-step product."""
    source = compile_source(BATCHING, "batching.py").source
    twice = source[source.index("def twice_grad"):source.index("def branchy_grad")]
    branchy = source[source.index("def branchy_grad"):]
    assert twice.count("dW += np.concatenate(") == 4  # two products, flushed and after
    assert "_steps.append(" not in branchy and "dW += h.T @ dz" in branchy
    rng = np.random.default_rng(1)
    N, T, H = 3, 5, 4
    x, h0, W = rng.normal(size=(N, T, H)), rng.normal(size=(N, H)), rng.normal(size=(H, H)) / 2
    grad = _module(source)["twice_grad"]
    dx, dh0, dW = grad(x, h0, W, T)
    eps, numeric = 1e-6, np.zeros_like(W)
    f = _module(BATCHING)["twice"]
    for i in np.ndindex(W.shape):
        up, down = W.copy(), W.copy()
        up[i] += eps
        down[i] -= eps
        numeric[i] = (f(x, h0, up, T) - f(x, h0, down, T)) / (2 * eps)
    assert np.allclose(dW, numeric, rtol=1e-6, atol=1e-8)
    assert not grad(x, h0, W, 0)[2].any()
