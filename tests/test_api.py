"""The library API: grad, value_and_grad, source, differentiable, check_grad."""

from __future__ import annotations

import math
import pathlib

import numpy as np
import pytest

import adgen


def f(x, y):
    return math.sin(x) * y + x


def scaled(x, scale=2.0):
    return scale * x * x


def test_grad_returns_all_gradients_in_parameter_order():
    dx, dy = adgen.grad(f)(0.5, 3.0)
    assert dx == pytest.approx(math.cos(0.5) * 3.0 + 1)
    assert dy == pytest.approx(math.sin(0.5))
    assert adgen.grad(f, wrt=("y", "x"))(0.5, 3.0) == (dx, dy)  # parameter order


def test_wrt_forms():
    assert isinstance(adgen.grad(f, wrt="y")(0.5, 3.0), float)  # one name: the value itself
    assert adgen.grad(f, wrt=("y",))(0.5, 3.0) == (pytest.approx(math.sin(0.5)),)
    assert adgen.grad(f, wrt=["x", "y"])(0.5, 3.0) == adgen.grad(f)(0.5, 3.0)
    # parameters with defaults are constants unless named
    assert adgen.grad(scaled)(3.0) == 12.0
    assert adgen.grad(scaled, wrt=("x", "scale"))(3.0) == (12.0, 9.0)
    with pytest.raises(adgen.AdgenError) as info:
        adgen.grad(f, wrt="z")
    assert info.value.codes == ["AD401"]
    with pytest.raises(adgen.AdgenError) as info:
        adgen.grad(f, wrt="yy")
    (d,) = info.value.diagnostics  # the API's AD401 is at the real def line
    assert (d.line, d.col) == (f.__code__.co_firstlineno, 5) and "did you mean 'y'" in d.help


def test_wrt_positions_as_jax_argnums():
    names = adgen.grad(f, wrt="y")(0.5, 3.0)
    assert adgen.grad(f, wrt=1)(0.5, 3.0) == names  # an int: a single result
    assert adgen.grad(f, wrt=-1)(0.5, 3.0) == names  # from the end, as in Python
    assert adgen.grad(f, wrt=(1,))(0.5, 3.0) == (names,)  # a sequence: a tuple
    assert adgen.grad(scaled, wrt=[1, 0])(3.0) == adgen.grad(scaled, wrt=("x", "scale"))(3.0)
    assert adgen.grad(f, wrt=np.int64(0)) is adgen.grad(f, wrt="x")  # one request, one cache
    assert adgen.value_and_grad(f, wrt=0)(0.5, 3.0)[1] == adgen.grad(f, wrt=0)(0.5, 3.0)
    assert adgen.vjp(f, wrt=(0, 1))(0.5, 3.0) == adgen.grad(f)(0.5, 3.0)
    assert "--wrt y" in adgen.source(f, wrt=1)  # positions become names in the header
    assert adgen.check_grad(f, 0.5, 3.0, wrt=(0,)).ok

    @adgen.differentiable(wrt=1)
    def k(x, y):
        return x * y

    assert k.grad(2.0, 3.0) == 2.0


@pytest.mark.parametrize("wrt", [2, -3, ("x", 1), (0, 1.5), 1.5, True, [None], (0, True)])
def test_wrt_mistakes_are_ad401_at_the_def_line(wrt):
    line = f.__code__.co_firstlineno
    for api in (adgen.grad, adgen.value_and_grad, adgen.vjp,
                lambda fn, wrt: adgen.source(fn, wrt=wrt),
                lambda fn, wrt: adgen.differentiable(fn, wrt=wrt),
                lambda fn, wrt: adgen.check_grad(fn, 0.5, 3.0, wrt=wrt)):
        with pytest.raises(adgen.AdgenError) as info:  # never a raw TypeError
            api(f, wrt)
        (d,) = info.value.diagnostics
        assert (d.code, d.line, d.col) == ("AD401", line, 5)
        assert d.path.endswith("test_api.py") and "def f(x, y):" in d.source_line


def test_value_and_grad_and_keyword_arguments():
    value, (dx, dy) = adgen.value_and_grad(f)(0.5, 3.0)
    assert value == f(0.5, 3.0)
    assert adgen.grad(f)(x=0.5, y=3.0) == (dx, dy)
    assert adgen.grad(f)(0.5, 3.0, df=2.0) == (2 * dx, 2 * dy)


def test_source_is_the_standalone_module():
    text = adgen.source(f)
    assert "def f_grad(x, y, df=1.0):" in text
    assert "value_and_grad" not in text
    assert "import adgen" not in text and "from adgen" not in text
    assert "adgen tests/test_api.py -f f" in text or "-f f" in text
    namespace: dict = {}
    exec(text, namespace)
    assert namespace["f_grad"](0.5, 3.0) == adgen.grad(f)(0.5, 3.0)


def test_compiled_once_and_cached():
    assert adgen.grad(f) is adgen.grad(f)
    assert adgen.grad(f, wrt=("x",)) is adgen.grad(f, wrt=["x"])
    assert adgen.grad(f, wrt="x") is not adgen.grad(f, wrt=("x",))


def test_the_returned_gradient_is_the_generated_function_itself():
    g = adgen.grad(f)
    assert g.__name__ == "f_grad"
    assert "adgen:" in g.__code__.co_filename  # generated source, registered for tracebacks


def test_decorator_forms():
    @adgen.differentiable
    def h(x, y):
        return x * y + math.exp(x)

    @adgen.differentiable(wrt=("x",))
    def k(x, y):
        return x * y

    assert h(1.0, 2.0) == 2.0 + math.e  # still the forward function
    assert h.grad(1.0, 2.0) == (2.0 + math.e, 1.0)
    assert h.value_and_grad(1.0, 2.0) == (h(1.0, 2.0), h.grad(1.0, 2.0))
    assert "def h_grad" in h.source
    assert k.grad(1.0, 2.0) == (2.0,)


def test_nested_functions_compile_but_closures_are_reported():
    def local(x):
        return x ** 3

    assert adgen.grad(local)(2.0) == 12.0
    factor = 3.0

    def closure(x):
        return factor * x

    with pytest.raises(adgen.AdgenError) as info:
        adgen.grad(closure)
    assert info.value.codes == ["AD201"]
    assert info.value.diagnostics[0].path.endswith("test_api.py")


def test_decorator_errors_point_at_the_users_line():
    with pytest.raises(adgen.AdgenError) as info:
        @adgen.differentiable
        def bad(x):
            return x << 2

    (d,) = info.value.diagnostics
    assert d.code == "AD106" and d.path.endswith("test_api.py")
    assert "return x << 2" in d.source_line


def test_check_grad_reports_and_raises():
    report = adgen.check_grad(f, 0.5, 3.0)
    assert report.ok and [i.name for i in report.inputs] == ["x", "y"]
    assert all(i.symbolic == "proved" for i in report.inputs)
    assert "gradient ok" in report.format()


def test_check_grad_raises_on_a_wrong_gradient(monkeypatch):
    from adgen import ir
    from adgen.rules import REGISTRY, registry

    def cube(x):
        return math.sinh(x) * x

    inst = REGISTRY["sinh"].instance(1)
    wrong = ir.BinOp("*", ir.Call("math.sinh", (ir.Name("a"),)), ir.Name("g"))
    monkeypatch.setitem(registry._INSTANCES, ("sinh", 1), registry.Instance(
        inst.slots, inst.forward, (wrong,), inst.forward_text, ("math.sinh(a) * g",)))
    with pytest.raises(AssertionError, match="GRADIENT MISMATCH"):
        adgen.check_grad(cube, 0.7)
    report = adgen.check_grad(cube, 0.7, raise_on_failure=False)
    assert not report.ok and report.inputs[0].status == "FAIL"
    assert report.inputs[0].symbolic.startswith("differs")


def _module_from(tmp_path, name: str, text: str):
    """A module of this text, imported from a file (adgen reads a function's source)."""
    import importlib.util

    path = tmp_path / f"{name}.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_list_argument_is_a_list_of_values_and_other_lists_are_refused_clearly(tmp_path):
    """A list or tuple of numbers and arrays is a parameter of that length, its gradient a
    list or tuple (JAX's convention); a list of something else is AD103 naming the
    parameter and the fix."""
    from adgen.diagnostics import AdgenError

    module = _module_from(tmp_path, "listargs", "def f(x):\n    return x[0] * x[1]\n\n\n"
                          "def g(pair):\n    a, b = pair\n    return a * b\n\n\n"
                          "def h(x, names):\n    return x * len(names[0])\n")
    assert adgen.grad(module.f)([2.0, 3.0]) == [3.0, 2.0]
    assert adgen.grad(module.f)((2.0, 3.0)) == (3.0, 2.0)
    assert adgen.grad(module.f)(np.array([2.0, 3.0])).tolist() == [3.0, 2.0]
    assert adgen.grad(module.g)((2.0, 3.0)) == (3.0, 2.0)
    with pytest.raises(AdgenError) as info:
        adgen.grad(module.h, wrt="x")(2.0, ["ab", "c"])
    assert info.value.diagnostics[0].code == "AD103"
    assert "'names'" in info.value.diagnostics[0].message
    assert "np.asarray(names)" in info.value.diagnostics[0].help


def test_a_list_of_layers_is_checked_for_its_length(tmp_path):
    """Layers are read by position: the specialisation for two layers refuses three (an
    extra layer left out would be a wrong value and gradient), and a call with three gets
    its own specialisation."""
    module = _module_from(tmp_path, "layered", "import numpy as np\n\n\n"
                          "def f(params, x):\n    h = x\n    for W, b in params:\n"
                          "        h = np.tanh(h @ W + b)\n    return np.sum(h)\n")
    layer = (np.eye(2) * 0.5, np.full(2, 0.1))
    x = np.array([[0.3, -0.2]])
    grad = adgen.grad(module.f, wrt="params")
    two = grad.specialization([layer, layer], x)
    with pytest.raises(ValueError, match="lengths it was generated for"):
        two([layer, layer, layer], x)
    three = grad([layer, layer, layer], x)
    assert isinstance(three, list) and len(three) == 3 and all(
        isinstance(g, tuple) and len(g) == 2 for g in three)
    assert adgen.check_grad(module.f, [layer, layer, layer], x).ok


_MLP = ("import numpy as np\n\n\n"
        "def mlp_loss(layers, X, y):\n    h = X\n    for layer in layers[:-1]:\n"
        "        h = np.tanh(h @ layer['W'] + layer['b'])\n    last = layers[-1]\n"
        "    scores = h @ last['W'] + last['b']\n    return np.mean((scores - y) ** 2)\n\n\n"
        "def first_weights(layers, k):\n    return np.sum(layers[0][k] ** 2)\n")


def _dict_layers(sizes, keys=("W", "b"), seed=0):
    rng = np.random.default_rng(seed)
    return [dict(zip(keys, (rng.normal(size=(m, n)), rng.normal(size=n))))
            for m, n in zip(sizes, sizes[1:])]


def test_a_list_of_dicts_of_layers_gets_a_list_of_dicts_back(tmp_path):
    """A list (or tuple) of dicts of arrays, [{'W': W0, 'b': b0}, ...]: the gradient mirrors
    it, as JAX and autograd return it -- a list of dicts with the same keys in the same
    order (a tuple for a tuple), every entry of every dict (zeros for one never read)."""
    module = _module_from(tmp_path, "dictlayers", _MLP)
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    layers = _dict_layers([3, 4, 4, 2])
    grads = adgen.grad(module.mlp_loss, wrt="layers")(layers, X, y)
    assert isinstance(grads, list) and len(grads) == 3
    for g, layer in zip(grads, layers):
        assert isinstance(g, dict) and list(g) == ["W", "b"]
        assert g["W"].shape == layer["W"].shape and g["b"].shape == layer["b"].shape
    assert adgen.check_grad(module.mlp_loss, layers, X, y).ok
    as_tuple = adgen.grad(module.mlp_loss, wrt="layers")(tuple(layers), X, y)
    assert isinstance(as_tuple, tuple) and all(
        np.array_equal(a[k], b[k]) for a, b in zip(as_tuple, grads) for k in ("W", "b"))
    value, (dlayers, dX, dy) = adgen.value_and_grad(module.mlp_loss)(layers, X, y)
    assert value == module.mlp_loss(layers, X, y) and dX.shape == X.shape
    assert all(np.array_equal(a[k], b[k]) for a, b in zip(dlayers, grads) for k in "Wb")
    extra = [{**layer, "unused": np.ones(2)} for layer in layers]
    with_extra = adgen.grad(module.mlp_loss, wrt="layers")(extra, X, y)
    assert [list(g) for g in with_extra] == [["W", "b", "unused"]] * 3
    assert all(not g["unused"].any() for g in with_extra)


def test_a_list_of_dicts_is_checked_and_specialised_by_its_structure(tmp_path):
    """The specialisation for 3 dicts of W and b refuses 2 layers or a dict with another
    key (a length check, never a layer left out); a missing key is Python's KeyError; a
    call with another structure (its length, its keys) gets its own specialisation."""
    module = _module_from(tmp_path, "dictlayers2", _MLP)
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    three = _dict_layers([3, 4, 4, 2])
    grad = adgen.grad(module.mlp_loss, wrt="layers")
    compiled = grad.specialization(three, X, y)
    with pytest.raises(ValueError, match="lengths it was generated for"):
        compiled(_dict_layers([3, 4, 2]), X, y)
    with pytest.raises(ValueError, match="lengths it was generated for"):
        compiled([{**layer, "c": 1.0} for layer in three], X, y)
    with pytest.raises(KeyError):
        compiled([{"W": layer["W"], "B": layer["b"]} for layer in three], X, y)
    two = _dict_layers([3, 5, 2])
    assert grad.specialization(two, X, y) is not compiled
    assert len(grad(two, X, y)) == 2 and adgen.check_grad(module.mlp_loss, two, X, y).ok
    renamed = [{"b": layer["b"], "W": layer["W"]} for layer in three]
    assert grad.specialization(renamed, X, y) is not compiled
    assert [list(g) for g in grad(renamed, X, y)] == [["b", "W"]] * 3


def test_a_list_of_dicts_read_by_a_key_not_known_when_compiling_is_refused(tmp_path):
    """layers[0][k] with k an argument: the key must be a constant (an AD error at its
    position, never a gradient for a key taken from one call for another)."""
    module = _module_from(tmp_path, "dictlayers3", _MLP)
    with pytest.raises(adgen.AdgenError) as info:
        adgen.grad(module.first_weights, wrt="layers")(_dict_layers([3, 4]), "W")
    assert {d.code for d in info.value.diagnostics} == {"AD204"}
    assert all(d.line == 14 for d in info.value.diagnostics)
    with pytest.raises(adgen.AdgenError) as info:
        adgen.grad(module.mlp_loss, wrt="layers")([{"W": np.ones((3, 2)), "name": "a"}],
                                                  np.ones((2, 3)), np.ones((2, 2)))
    assert info.value.diagnostics[0].code == "AD103"


def test_a_list_of_dicts_a_dict_parameter_holds_is_followed(tmp_path):
    """params['layers'] a list of dicts: the gradient is {'layers': [{'W': ..., 'b': ...},
    ...], 'scale': ...}, and the generated code checks the held list's lengths (an AD900
    crash before: the length check did not know dicts)."""
    module = _module_from(tmp_path, "helddicts", "import numpy as np\n\n\n"
                          "def f(params):\n    h = 0.0\n    for layer in params['layers']:\n"
                          "        h = h + np.sum(np.tanh(layer['W']) + layer['b'])\n"
                          "    return h * params['scale']\n")
    params = {"layers": _dict_layers([3, 4, 2]), "scale": 1.5}
    grads = adgen.grad(module.f, wrt="params")(params)
    assert set(grads) == {"layers", "scale"} and [list(g) for g in grads["layers"]] == [
        ["W", "b"]] * 2
    assert adgen.check_grad(module.f, params, wrt="params").ok
    compiled = adgen.grad(module.f, wrt="params").specialization(params)
    with pytest.raises(ValueError, match="lengths it was generated for"):
        compiled({**params, "layers": _dict_layers([3, 4, 4, 2])})


def test_dicts_in_a_list_may_hold_lists_and_dicts(tmp_path):
    """[{'W': W, 'bs': [b, c], 'sub': {'g': g}}, ...]: the gradient mirrors every level, and
    the length check reads the dicts' entries by key (it indexed them by position before:
    a KeyError on every call).  (Not in the corpus: --shapes cannot write this structure.)"""
    module = _module_from(tmp_path, "deepdicts", "import numpy as np\n\n\n"
                          "def f(layers, x):\n    s = 0.0\n    for layer in layers:\n"
                          "        b0, b1 = layer['bs']\n"
                          "        s = s + np.sum(np.tanh(x @ layer['W']) * b0) + "
                          "b1 * layer['sub']['g']\n    return s\n")
    rng = np.random.default_rng(3)
    layers = [{"W": rng.normal(size=(3, 2)), "bs": [rng.normal(size=2), 1.5],
               "sub": {"g": 0.7}} for _ in range(2)]
    x = rng.normal(size=(4, 3))
    dlayers, dx = adgen.grad(module.f)(layers, x)
    assert [list(g) for g in dlayers] == [["W", "bs", "sub"]] * 2
    assert all(isinstance(g["bs"], list) and list(g["sub"]) == ["g"] for g in dlayers)
    assert adgen.check_grad(module.f, layers, x).ok


class _Layer:
    def __init__(self):
        self.W = np.linspace(-1.0, 1.0, 12).reshape(4, 3)
        self.b = np.linspace(0.0, 0.5, 3)

    def loss(self, X):
        return np.sum(np.tanh(X @ self.W + self.b) ** 2)


def test_a_methods_attributes_are_differentiated_through_self():
    layer, X = _Layer(), np.linspace(-1.0, 1.0, 20).reshape(5, 4)
    grads = adgen.grad(layer.loss, wrt="self")(X)
    assert set(grads) == {"W", "b"} and grads["W"].shape == (4, 3)
    assert adgen.check_grad(layer.loss, X, wrt="self").ok
    with pytest.raises(adgen.AdgenError) as info:
        adgen.grad(layer.loss, wrt="W")
    (d,) = info.value.diagnostics
    assert d.code == "AD401" and "read out of 'self' (as self.W)" in d.help \
        and "wrt='self'" in d.help


def test_an_int_hyperparameter_is_a_size_unless_it_is_differentiated(tmp_path):
    """stride=1, pad=1: int defaults are sizes (range(H_out) needs one); the same kind of
    parameter named in wrt is differentiated at its value, as a number."""
    module = _module_from(tmp_path, "hyper", "import numpy as np\n\n\n"
                          "def windows(x, stride=2, scale=1):\n"
                          "    n = (x.shape[0] - 2) // stride + 1\n"
                          "    total = 0.0\n"
                          "    for i in range(n):\n"
                          "        total = total + np.tanh(scale * x[i * stride:i * stride + 2])"
                          ".sum()\n"
                          "    return total\n")
    x = np.linspace(-1.0, 1.0, 7)
    eps = 1e-6
    dx = adgen.grad(module.windows)(x)
    bump = np.eye(7)[3] * eps
    assert np.isclose(dx[3], (module.windows(x + bump) - module.windows(x - bump)) / (2 * eps))
    _, dscale = adgen.grad(module.windows, wrt=("x", "scale"))(x)
    assert np.isclose(dscale, (module.windows(x, 2, 1 + eps) - module.windows(x, 2, 1 - eps))
                      / (2 * eps))


def test_an_assert_on_a_whole_shape_checks_it_as_python_does(tmp_path):
    """`assert K.shape == (N, M)`: the sizes compared one by one; a tuple of another length
    is never equal; a failing assert raises AssertionError, as the function would."""
    module = _module_from(tmp_path, "shaped", "import numpy as np\n\n\n"
                          "def f(X, w):\n"
                          "    assert X.shape != w.shape\n"
                          "    assert (X @ w).shape == (X.shape[0],)\n"
                          "    assert X.shape == (4, 3)\n"
                          "    return np.sum(np.tanh(X @ w))\n")
    rng = np.random.default_rng(5)
    X, w = rng.standard_normal((4, 3)), rng.standard_normal(3)
    dX, dw = adgen.grad(module.f)(X, w)
    assert np.allclose(dw, X.T @ (1 - np.tanh(X @ w) ** 2))
    with pytest.raises(AssertionError):
        adgen.grad(module.f)(rng.standard_normal((5, 3)), w)


KEYWORD_ONLY = """\
import math

import numpy as np


def loss(w, x, *, l2=1e-4, b):
    r = w * x + b
    return r * r + l2 * w * w


def ridge(w, X, y, *, l2=1e-4):
    r = X @ w - y
    return np.sum(r * r) + l2 * np.sum(w * w)


def _scaled(a, *, by=2.0, power):
    return a ** power / by


def calls_helper(x):
    return _scaled(x, power=2) + _scaled(x, by=4.0, power=3)


def too_many(x):
    return _scaled(x, 2.0, 3)


def starred(x, *rest, **options):
    return x
"""


def test_keyword_only_parameters(tmp_path):
    """def loss(w, x, *, l2=1e-4, b): l2 (a default) is a constant unless named in wrt, b
    (required) is differentiated; the gradient keeps them keyword-only, through grad,
    value_and_grad, the decorator, check_grad and the source."""
    module = _module_from(tmp_path, "kwonly", KEYWORD_ONLY)
    w, x, l2, b = 0.3, 1.2, 0.5, 0.7
    r = w * x + b
    dw, dx, db = adgen.grad(module.loss)(w, x, b=b, l2=l2)
    assert (dw, dx, db) == pytest.approx((2 * r * x + 2 * l2 * w, 2 * r * w, 2 * r))
    assert adgen.grad(module.loss, wrt="l2")(w, x, b=b, l2=l2) == pytest.approx(w * w)
    assert adgen.grad(module.loss, wrt=("w", "l2"))(w, x, b=b) == pytest.approx(
        (2 * r * x + 2e-4 * w, w * w))
    value, grads = adgen.value_and_grad(module.loss)(w, x, b=b)
    assert value == pytest.approx(r * r + 1e-4 * w * w) and len(grads) == 3
    assert "def loss_grad(w, x, *, l2=1e-4, b, dloss=1.0):" in adgen.source(module.loss)
    with pytest.raises(TypeError):  # keyword-only, as in the function itself
        adgen.grad(module.loss)(w, x, l2, b)
    decorated = adgen.differentiable(module.loss, wrt="b")
    assert decorated.grad(w, x, b=b) == pytest.approx(2 * r)
    assert adgen.check_grad(module.loss, w, x, b=b, l2=l2).ok
    # a helper called with its keyword-only parameters by keyword is inlined
    assert adgen.grad(module.calls_helper)(1.5) == pytest.approx(1.5 + 3 * 1.5 ** 2 / 4.0)


def test_keyword_only_parameters_of_array_code_are_specialised_on(tmp_path):
    """The specialisation of a function of arrays takes the keyword-only values too (a
    default left out is the default), and its source keeps them keyword-only."""
    module = _module_from(tmp_path, "kwonly_arrays", KEYWORD_ONLY)
    rng = np.random.default_rng(0)
    w, X, y = rng.standard_normal(3), rng.standard_normal((5, 3)), rng.standard_normal(5)
    r = X @ w - y
    dw, dX, dy = adgen.grad(module.ridge)(w, X, y, l2=0.1)
    assert np.allclose(dw, 2 * X.T @ r + 0.2 * w) and np.allclose(dy, -2 * r)
    dw, dl2 = adgen.grad(module.ridge, wrt=("w", "l2"))(w, X, y)
    assert np.allclose(dw, 2 * X.T @ r + 2e-4 * w) and np.isclose(dl2, np.sum(w * w))
    assert "def ridge_grad(w, X, y, *, l2=1e-4, dridge=1.0):" in adgen.source(
        module.ridge, w, X, y, l2=0.1)
    assert adgen.check_grad(module.ridge, w, X, y, l2=0.1).ok
    # the lens's report shows the signature as written, the marker included
    assert str(adgen.lens(module.ridge)(w, X, y, l2=0.1)).startswith(
        "lens: ridge(w, X, y, *, l2) = ")


def test_keyword_only_mistakes_stay_errors(tmp_path):
    """A helper's keyword-only parameter bound by position is AD302 (Python's TypeError);
    *args and **kwargs stay AD103."""
    from adgen.diagnostics import AdgenError

    module = _module_from(tmp_path, "kwonly_bad", KEYWORD_ONLY)
    with pytest.raises(AdgenError) as info:
        adgen.grad(module.too_many)
    assert info.value.diagnostics[0].code == "AD302"
    assert "too many arguments" in info.value.diagnostics[0].message
    with pytest.raises(AdgenError) as info:
        adgen.grad(module.starred)
    assert [d.code for d in info.value.diagnostics] == ["AD103", "AD103"]


def test_a_dict_key_computed_from_a_run_time_value_is_refused(tmp_path, monkeypatch):
    """`params['W%d' % i]` with i an argument: the key is known only when the function runs,
    so no entry can be chosen when compiling -- AD204 at the key, once."""
    (tmp_path / "keyed.py").write_text(
        "def g(params, i):\n    return params['W%d' % i] * 2.0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import keyed

    with pytest.raises(adgen.AdgenError) as info:
        adgen.grad(keyed.g, wrt="params")({"W1": np.ones(2), "W2": np.ones(2)}, 1)
    assert [(d.code, d.line, d.col) for d in info.value.diagnostics] == [("AD204", 2, 19)]
    assert "known only when the function runs" in str(info.value)


METHODS_CALLING_METHODS = '''
import numpy as np


class Net:
    def __init__(self, D, H):
        rng = np.random.default_rng(0)
        self.params = {'W1': rng.standard_normal((D, H)), 'b1': np.zeros(H)}
        self.reg = 0.1

    def sigmoid(self, z):
        return 1 / (1 + np.exp(-z))

    def forward(self, X):
        return self.sigmoid(X @ self.params['W1'] + self.params['b1'])

    def penalty(self):
        return self.reg * np.sum(self.params['W1'] ** 2)

    def loss(self, X, y):
        h = self.forward(X)
        return np.mean((h.sum(axis=1) - y) ** 2) + self.penalty()
'''


def test_methods_calling_methods_through_self(tmp_path, monkeypatch):
    """`self.forward(X)` and `self.penalty()` are inlined like helpers; the members they
    read (`self.params['W1']`, `self.reg`) are the instance's; a method's result is named
    after it (penalty1), never `self.penalty1` (an attribute write)."""
    (tmp_path / "netmod.py").write_text(METHODS_CALLING_METHODS)
    monkeypatch.syspath_prepend(str(tmp_path))
    import netmod

    net = netmod.Net(3, 4)
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((5, 3)), rng.standard_normal(5)
    report = adgen.check_grad(net.loss, X, y, wrt="params")
    assert report.ok, report.format()
    grads = adgen.grad(net.loss, wrt="params")(X, y)
    assert set(grads) == {"W1", "b1"}
    source = adgen.source(net.loss, X, y, wrt="params")
    assert "penalty1 = reg * " in source and "self.penalty" not in source.replace(
        "(in self.penalty", "")
    assert "reg = self.reg" in source and "W1 = self.params['W1']" in source


def test_check_grad_keeps_an_int_count_an_int(tmp_path, monkeypatch):
    """An int argument with no differentiable path (a loop count) is not perturbed or made
    a float by check_grad (range(3.0) raised TypeError inside the check), and --at 3 is an
    int on the command line too."""
    (tmp_path / "interest.py").write_text(
        "def compound(principal, rate, years, n=2):\n"
        "    amount = principal\n"
        "    for _ in range(years * n):\n"
        "        amount *= 1 + rate / n\n"
        "    return amount\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import interest

    report = adgen.check_grad(interest.compound, 1000.0, 0.05, 3)
    years = next(item for item in report.inputs if item.name == "years")
    assert report.ok and years.analytic == 0.0 and "int" in years.symbolic
    from adgen.cli import parse_point

    assert parse_point("1000,0.05,years=3") == ([1000, 0.05], {"years": 3})
    assert isinstance(parse_point("2.0")[0][0], float)


def test_a_path_that_leaves_a_read_name_unassigned_raises_as_python_does(tmp_path,
                                                                         monkeypatch):
    """deeplearning.ai's linear_activation_forward: if/elif on the activation string, no
    else.  The generated gradient follows the path taken, raises UnboundLocalError where
    Python would, and its layer backward takes the activation after the cache (the
    course's linear_activation_backward(dA, cache, activation)) and agrees with vjp."""
    import sys

    sys.path.insert(0, str(pathlib.Path(__file__).parent / "corpus"))
    try:
        import deeplearning_ai as dl
    finally:
        sys.path.pop(0)
    rng = np.random.default_rng(3)
    A_prev, W, b = rng.standard_normal((3, 5)), rng.standard_normal((4, 3)), \
        rng.standard_normal((4, 1))
    dA = rng.standard_normal((4, 5))
    for activation in ("relu", "sigmoid"):
        grads = adgen.vjp(dl.linear_activation_forward, wrt=("A_prev", "W", "b"))(
            A_prev, W, b, activation, dA)
        source = adgen.source(dl.linear_activation_forward, A_prev, W, b, activation,
                              wrt=("A_prev", "W", "b"))
        namespace: dict = {}
        exec(compile(source, "layer", "exec"), namespace)
        _, cache = dl.linear_activation_forward(A_prev, W, b, activation)
        by_cache = namespace["linear_activation_backward"](dA, cache, activation)
        for mine, theirs in zip(by_cache, grads):
            assert np.allclose(mine, theirs)
    with pytest.raises(UnboundLocalError):
        dl.linear_activation_forward(A_prev, W, b, "tanh")
    with pytest.raises(UnboundLocalError, match="local variable 'A'"):
        adgen.vjp(dl.linear_activation_forward, wrt=("A_prev", "W", "b"))(
            A_prev, W, b, "tanh", dA)


def test_a_static_method_called_through_self_is_inlined(tmp_path, monkeypatch):
    """`self.act(z)` of a @staticmethod: inlined with nothing bound to its first
    parameter (z is the argument, not the instance)."""
    (tmp_path / "staticmod.py").write_text(
        "import numpy as np\n\n\nclass M:\n    scale = 2.0\n\n    @staticmethod\n"
        "    def act(z):\n        return np.tanh(z)\n\n"
        "    def g(self, x):\n        return np.sum(self.act(x) * self.scale)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import staticmod

    m = staticmod.M()
    x = np.array([0.3, -0.5, 1.2])
    report = adgen.check_grad(m.g, x)
    assert report.ok, report.format()
    assert np.allclose(adgen.grad(m.g)(x), 2.0 * (1 - np.tanh(x) ** 2))


def test_check_grad_of_a_function_given_a_string(tmp_path, monkeypatch):
    """A required string parameter (activation='relu') is in the default wrt: its gradient
    is None, and check_grad neither perturbs it nor makes it a sympy symbol (it raised
    TypeError on abs('relu'), a raw traceback); the symbolic check compares the strings as
    Python does and proves the number's gradient."""
    (tmp_path / "stringy.py").write_text(
        "import math\n\nimport numpy as np\n\n\ndef f(x, mode):\n"
        "    if mode == 'double':\n        y = 2 * x\n    elif mode == 'exp':\n"
        "        y = math.exp(x)\n    return y * x\n\n\n"
        "def act(Z, activation):\n    if activation == 'sigmoid':\n"
        "        A = 1 / (1 + np.exp(-Z))\n    elif activation == 'relu':\n"
        "        A = np.maximum(0, Z)\n    return np.sum(A)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import stringy

    for mode in ("double", "exp"):
        report = adgen.check_grad(stringy.f, 0.7, mode)
        x, m = report.inputs
        assert report.ok and x.symbolic == "proved" and "str" in m.symbolic
    for activation in ("relu", "sigmoid"):
        report = adgen.check_grad(stringy.act, np.array([-1.0, 2.0]), activation)
        assert report.ok and "str" in report.inputs[1].symbolic
