"""Never a silent wrong gradient (issue 15): the red-team programs.

The accepted ones live in tests/corpus/never_wrong.py (so they also run through every route
in test_corpus.py) and are compared here with their exact gradients; the rejected ones are
pinned by their diagnostic code and position.
"""

from __future__ import annotations

import textwrap
import warnings

import numpy as np
import pytest

import adgen
from adgen import compiler
from adgen.diagnostics import AdgenError
from corpus_loader import cases

CASES = {c.name: c for c in cases("never_wrong")}


def _close(a, b) -> bool:
    a = a if isinstance(a, tuple) else (a,)
    b = b if isinstance(b, tuple) else (b,)
    return len(a) == len(b) and all(
        np.allclose(x, y, rtol=1e-12, atol=1e-12) for x, y in zip(a, b))


@pytest.mark.parametrize("name", [n for n, e in CASES["alias_updated_in_place"].module
                                  .EXPECTED.items() if e is not None])
def test_gradient_is_the_exact_one(name):
    case = CASES[name]
    expected = case.module.EXPECTED[name]
    for point in case.points(4):
        got = adgen.grad(case.function)(*point)
        assert _close(got, expected(*point)), (name, point, got, expected(*point))


def test_sigmoid_over_two_statements_is_zero_where_exp_overflows():
    f = CASES["sigmoid_over_two_statements"].function
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # exp overflows, as in f itself
        grad = adgen.grad(f)(np.array([-1000.0, 0.0, 1000.0]))
    assert np.array_equal(grad, [0.0, 0.25, 0.0])


def found(source: str) -> list[tuple[str, int, int]]:
    text = "import numpy as np\n\n" + textwrap.dedent(source).lstrip("\n")
    with pytest.raises(AdgenError) as info:
        compiler.compile_source(text, "t.py")
    return sorted((d.code, d.line, d.col) for d in info.value.diagnostics)


# (program, the diagnostics it must give): the body starts on line 3
REJECTED = {
    "parameter through an alias": ("""
        def f(x: "N", y: "N"):
            z = x
            z += y
            return np.sum(x * z)
        """, [("AD208", 5, 5)]),
    "parameter assigned into through an alias": ("""
        def f(x: "N"):
            z = x
            z[0] = 0.0
            return np.sum(x * 2.0)
        """, [("AD208", 5, 5)]),
    "parameter through a reshaped view": ("""
        def f(x: "N D", y: "N D"):
            v = x.reshape(-1)
            v += y.reshape(-1)
            return np.sum(x * x)
        """, [("AD208", 5, 5)]),
    "parameter through a transpose": ("""
        def f(x: "N D"):
            t = x.T
            t *= 2.0
            return np.sum(x * x)
        """, [("AD208", 5, 5)]),
    "parameter through a slice": ("""
        def f(x: "N", y: "N"):
            v = x[1:]
            v *= y[1:]
            return np.sum(x * x)
        """, [("AD208", 5, 5)]),
    "parameter itself": ("""
        def f(x: "N D"):
            x -= np.mean(x, axis=0)
            return np.sum(x * x)
        """, [("AD208", 4, 5)]),
    "loop element of a parameter": ("""
        def f(xs: "T N"):
            for row in xs:
                row *= 2.0
            return np.sum(xs)
        """, [("AD208", 5, 9)]),
    "helper updating its argument": ("""
        def double(a):
            a *= 2.0
            return a

        def f(x: "N"):
            h = x * 1.0
            d = double(h)
            return np.sum(h * d)
        """, [("AD208", 4, 5)]),
    "a view of a local array, read afterwards": ("""
        def f(x: "N", y: "N"):
            a = x * 2.0
            v = a[1:]
            v *= y[1:]
            return np.sum(a * a)
        """, [("AD207", 6, 5)]),
    "the base of a view, which is read afterwards": ("""
        def f(x: "N M"):
            a = x * 1.0
            t = a.T
            a += 1.0
            return np.sum(t * t)
        """, [("AD207", 6, 5)]),
    "sharing that depends on the branch": ("""
        def f(x: "N", y: "N", c: float):
            a = x * 1.0
            if c > 0:
                z = a
            else:
                z = a * 2.0
            z += y
            return np.sum(a * z)
        """, [("AD207", 9, 5)]),
    "sharing that changes across iterations": ("""
        def f(x: "N"):
            a = x * 2.0
            z = x * 3.0
            for t in range(2):
                z += 1.0
                z = a
            return np.sum(a * z)
        """, [("AD207", 6, 5)]),
    "a parameter updated in place in a loop: once, AD208 (not also AD207)": ("""
        def f(x: "N", y: "N"):
            for i in range(3):
                y += x
            return np.sum(y)
        """, [("AD208", 5, 9)]),
    "an alias of a parameter updated in a while loop: once, AD208": ("""
        def f(x: "N", y: "N"):
            z = y
            k = 0
            while k < 3:
                z += x
                k += 1
            return np.sum(z)
        """, [("AD208", 7, 9)]),
    "a view of a parameter refused once, updated again: AD208 both times": ("""
        def f(x: "N D", y: "N D"):
            x *= y * -1.0
            v = x[1:]
            v[0] = 0.25
            return np.sum(y * x)
        """, [("AD208", 4, 5), ("AD208", 6, 5)]),
    "a parameter updated twice, viewed in between: AD208 both times": ("""
        def f(x: "N D"):
            x[1:] = 0.25
            t = np.transpose(x)
            x[1:] = 2.0
            return np.sum(t ** 2) + np.sum(x ** 2)
        """, [("AD208", 4, 5), ("AD208", 6, 5)]),
    "an axis a number does not have (the array property hunt: was AD900)": ("""
        def f(x, s: float):
            x = s / (1 + x[0].T ** 2)
            x += np.mean(x, axis=0)
            return x + s
        """, [("AD305", 5, 10)]),
    "an array updated in place that a name shares on one path only (hazard hunt)": ("""
        def f(x: "N D", y: "N D", k=-1.0):
            h = y * 1.0
            if k > 0.0:
                v = h.copy()
            else:
                v = h
            h *= -1.0
            return np.sum(np.sin(v))
        """, [("AD207", 9, 5)]),
}


@pytest.mark.parametrize("name", REJECTED)
def test_updates_that_cannot_be_followed_are_rejected(name):
    source, expected = REJECTED[name]
    assert found(source) == sorted(expected)


def test_a_numbers_update_is_a_rebinding():
    """Floats never share memory: `z = x; z += y` leaves x as it was."""
    text = "def f(x, y):\n    z = x\n    z += y\n    return x * z\n"
    module = compiler.compile_source(text, "t.py").source
    namespace: dict = {}
    exec(module, namespace)
    assert namespace["f_grad"](2.0, 3.0) == (2 * 2.0 + 3.0, 2.0)


# updates of values nothing says the kind of: (program, the parameter taken for a number,
# the update that says so)
NUMBERS_UPDATED = {
    "through an alias": ("""
        def f(x, y):
            z = x
            z += y
            return np.sum(x * z)
        """, "x", "z += ..."),
    "held by another name": ("""
        def f(x, y):
            z = 0.0
            for i in range(3):
                y += x
                z = y
            return np.sum(z * y)
        """, "y", "y += ..."),
    "in a loop": ("""
        def f(x, y):
            for i in range(3):
                y += x
            return np.sum(y * x)
        """, "y", "y += ..."),
    "an alias of a value made from one": ("""
        def f(x, y):
            a = x * 2.0
            z = a
            z += y
            return np.sum(a * z)
        """, "x", "z += ..."),
}


@pytest.mark.parametrize("name", NUMBERS_UPDATED)
def test_an_update_of_unknown_kind_is_taken_as_a_numbers_and_checked(name):
    """With nothing saying what the updated value is, the command line takes it for a
    number (rebound, never updated in place), says so in the header, and the generated code
    refuses an array there (whose update would change the caller's array or an alias)
    instead of computing the gradient of a program that is not the one run."""
    source, param, update = NUMBERS_UPDATED[name]
    text = "import numpy as np\n\n" + textwrap.dedent(source).lstrip("\n")
    module = compiler.compile_source(text, "t.py").source
    assert f"{param} float: updating a number in place ({update})" in module
    namespace: dict = {}
    exec(text, namespace)
    forward = namespace["f"]
    exec(module, namespace)
    args = {"x": 0.7, "y": -1.3}
    grads = namespace["f_grad"](**args)
    for (arg, value), g in zip(args.items(), grads):
        h = 1e-6
        up, down = dict(args, **{arg: value + h}), dict(args, **{arg: value - h})
        assert g == pytest.approx((forward(**up) - forward(**down)) / (2 * h), rel=1e-6)
    with pytest.raises(ValueError, match="differ from the shapes"):
        namespace["f_grad"](**dict(args, **{param: np.array([0.7, 0.2])}))
    # what the number takes may be an array, and the number becomes one: the gradient is
    # right then too, or refused (in a loop, y += x with an array x once got a wrong dx)
    for other in set(args) - {param}:
        point = dict(args, **{other: np.array([0.7, 0.2])})
        try:
            grads = dict(zip(args, namespace["f_grad"](**point)))
        except ValueError as exc:
            assert "differ from the shapes" in str(exc)
            continue
        for arg in args:
            value = np.asarray(point[arg], dtype=float)
            for i in range(value.size):
                step = np.zeros(value.size)
                step[i] = 1e-6
                shaped = (lambda v: float(v[0])) if value.ndim == 0 else \
                    (lambda v: v.reshape(value.shape))  # (a number stays a number)
                up = dict(point, **{arg: shaped(value.ravel() + step)})
                down = dict(point, **{arg: shaped(value.ravel() - step)})
                slope = (forward(**up) - forward(**down)) / 2e-6
                assert np.ravel(grads[arg])[i] == pytest.approx(slope, rel=1e-6)


def test_returning_a_helpers_tuple_is_an_error_not_a_zero():
    source = """
        def pair(x, y):
            return x * y, x + y

        def g(x, y):
            return pair(x, y)
        """
    assert found(source) == [("AD104", 7, 12)]


GENERATED = """\
def f(w, c):
    return w * w * c

def pair(w):
    return w * w, w + 1.0
"""
USER = """\
import lib as mm
from lib_grad import f_grad

def through_gradient(w):
    return f_grad(w, 2.0)[0]

def unpacked(w):
    a, b = mm.pair(w)
    return a * b

def whole_pair(w):
    return mm.pair(w)
"""


def test_a_generated_gradient_and_a_modules_tuple_can_be_differentiated(tmp_path, monkeypatch):
    """Differentiating adgen's own output (a second derivative), a user module's function
    returning a tuple: exact, or a diagnostic (it was AD900, and zeros)."""
    (tmp_path / "lib.py").write_text(GENERATED)
    (tmp_path / "lib_grad.py").write_text(
        compiler.compile_source(GENERATED, "lib.py", functions=["f"]).source)
    user = tmp_path / "user.py"
    user.write_text(USER)
    monkeypatch.syspath_prepend(str(tmp_path))
    compiled = compiler.compile_source(USER, str(user), functions=["through_gradient",
                                                                    "unpacked"])
    namespace: dict = {}
    exec(compiled.source, namespace)
    for w in (-1.5, 0.5, 2.0):
        assert namespace["through_gradient_grad"](w) == 4.0  # d/dw (2 * w * c), c = 2
        assert np.isclose(namespace["unpacked_grad"](w), 3 * w * w + 2 * w)
    with pytest.raises(AdgenError) as info:
        compiler.compile_source(USER, str(user), functions=["whole_pair"])
    assert [(d.code, d.line) for d in info.value.diagnostics] == [("AD104", 12)]
