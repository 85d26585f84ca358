"""The library API's in-place steps (adgen/inplace.py): which steps compute into a dead
array, that they change no number (bit for bit against the same specialisation computed
into new arrays, on every corpus function of arrays), that the caller's arrays are never
written, and that mixed dtypes get a specialisation without them."""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest

import adgen
from adgen import api, facts
from adgen.compiler import compile_source
from corpus_loader import cases
from test_corpus import _call, _same, _seed

ARRAY_CASES = [c for c in cases() if api.is_array_function(c.function)]
INPLACE = {c.name: c for c in cases("inplace")}

# the steps each program of tests/corpus/inplace.py computes in place
EXPECTED = {
    "chain": ["z_1 = np.add(z, b, out=z)", "z12 = np.multiply(z_1, 2.0, out=z_1)",
              "h = np.tanh(z12, out=z12)", "dh = np.multiply(dh, dhsqr, out=dh)",
              "dz12 = np.subtract(1, dz12, out=dz12)",
              "dz12 = np.multiply(dz12, dh, out=dz12)"],
    "softmax_shifted": ["z_1 = np.subtract(z, maxz, out=z)", "e = np.exp(z_1, out=z_1)",
                        "p = np.divide(e, sume, out=e)"],
    "view_taken_first": ["dt = np.multiply(dt, dtt, out=dt)"],
    "read_by_backward": [],
    "returned_array": ["b = np.multiply(a, 2.0, out=a)"],
    "read_after": ["dt = np.multiply(dt, dtt, out=dt)"],
    "squared_operand": ["da = np.multiply(da, dt, out=da)"],
    # h starts as np.zeros, float64 whatever the arguments: the sums with it stay new arrays
    "loop_steps": ["h_2 = np.tanh(a1pb, out=a1pb)"],
    "carried_sum": ["tanhsW = np.tanh(sW, out=sW)", "dsW = np.subtract(1, dsW, out=dsW)",
                    "dsW = np.multiply(dsW, ds_1, out=dsW)"],
    "collected": ["h_1 = np.tanh(hW, out=hW)", "h_2 = np.tanh(h1W, out=h1W)",
                  "h_3 = np.tanh(h2W, out=h2W)"],
    "branch_reads": ["dt_2 = np.multiply(dt_2, dt2t2, out=dt_2)"],
    "broadcast_grows": ["dt = np.multiply(dt, dtt, out=dt)"],
    "scalar_variable": [],
    "transpose_of_it": ["dt = np.multiply(dt, dtt, out=dt)"],
    "sigmoid_layer": ["XWpb = np.add(XW, b, out=XW)", "h = np.negative(XWpb, out=XWpb)",
                      "h = np.exp(h, out=h)", "h = np.add(1, h, out=h)",
                      "h = np.divide(1.0, h, out=h)", "dh = np.multiply(dh, dhh, out=dh)",
                      "dXWpb = np.multiply(dXWpb, h, out=dXWpb)",
                      "dXWpb = np.multiply(dXWpb, dh, out=dXWpb)"],
    # z - m: the standard deviation's gradient reads z; the last product's reads its operand
    "standardized": ["zmmovers = np.divide(zmm, s, out=zmm)",
                     "du = np.multiply(du, dusqr, out=du)"],
    "made_inside": [],
}


def _in_place_lines(source: str, name: str) -> list[str]:
    body = source.split(f"def {name}_grad(")[1].split("\ndef ")[0]
    return [line.strip() for line in body.splitlines() if "out=" in line]


def _unchanged(now, before) -> bool:
    """Arguments equal to a deep copy taken before the call: arrays element by element,
    inside lists, tuples, dicts and objects too."""
    if isinstance(now, np.ndarray):
        return np.array_equal(now, before, equal_nan=True)
    if isinstance(now, dict):
        return now.keys() == before.keys() and all(_unchanged(now[k], before[k]) for k in now)
    if isinstance(now, (list, tuple)):
        return len(now) == len(before) and all(map(_unchanged, now, before))
    if hasattr(now, "__dict__"):
        return _unchanged(vars(now), vars(before))
    return now == before or (now != now and before != before)


def _compiled(case, point, in_place: bool, monkeypatch):
    """The API's specialisation for `point`, with or without in-place steps."""
    if not in_place:
        monkeypatch.setattr(facts, "uniform_float", lambda values: False)
    try:
        args, kwargs = case.split(point)  # (keyword-only parameters by keyword)
        return api.compile_function(case.function, wrt=case.wrt, args=args, kwargs=kwargs)
    finally:
        monkeypatch.undo()


def test_every_program_of_the_inplace_corpus_is_listed():
    assert set(EXPECTED) == set(INPLACE)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_steps_computed_in_place(name, monkeypatch):
    case = INPLACE[name]
    compiled = _compiled(case, case.points(1)[0], True, monkeypatch)
    assert _in_place_lines(compiled.source, name) == EXPECTED[name]


@pytest.mark.parametrize("case", ARRAY_CASES, ids=lambda c: c.id)
def test_in_place_steps_change_no_number_and_no_argument(case, monkeypatch):
    """Value and gradients bit for bit as the specialisation without in-place steps, and
    the caller's arrays as they were."""
    point = case.points(1)[0]
    before = copy.deepcopy(point)
    seed = _seed(case, point)
    fast = _compiled(case, point, True, monkeypatch)
    plain = _compiled(case, point, False, monkeypatch)
    assert "out=" not in plain.source
    got = _call(fast.value_and_grad, point, seed, case)
    assert _same(got, _call(plain.value_and_grad, point, seed, case))
    assert _same(_call(fast.grad, point, seed, case), got[1])
    if case.name in getattr(case.module, "WRITES", ()):
        # it writes into its parameter's dict as the forward does (test_batchnorm checks
        # those writes): the other arguments are as they were
        point, before = ([v for v in p if not isinstance(v, dict)] for p in (point, before))
    assert _unchanged(point, before)


def test_the_corpus_exercises_in_place_steps(monkeypatch):
    """Not a vacuous property: many corpus functions have in-place steps."""
    used = sum(1 for case in ARRAY_CASES
               if "out=" in _compiled(case, case.points(1)[0], True, monkeypatch).source)
    assert used >= 25, used


def test_mixed_dtypes_compute_into_new_arrays():
    """float32 data with float64 weights: out= would round the float64 sums to float32, so
    that specialisation has no in-place step, and its value is the function's own."""
    case = INPLACE["chain"]
    X, W, b = case.points(1)[0]
    X32 = X.astype(np.float32)
    vg = adgen.value_and_grad(case.function)
    value, grads = vg(X32, W, b)
    assert value == case.function(X32, W, b)
    assert "out=" not in vg.source(X32, W, b)
    assert "out=" in vg.source(X, W, b)
    assert value != vg(X, W, b)[0]  # the float32 data does change the value


def test_arrays_made_inside_keep_their_own_dtype():
    """float32 arguments all of one dtype, but np.ones inside is float64: adding it into
    the float32 product in place would round; the value is the function's own."""
    case = INPLACE["made_inside"]
    x, w = (a.astype(np.float32) for a in case.points(1)[0])
    value, (dx, dw) = adgen.value_and_grad(case.function)(x, w)
    assert value == case.function(x, w) and dx.dtype == np.float64


def test_a_specialisation_called_with_mixed_dtypes_refuses_them():
    case = INPLACE["chain"]
    X, W, b = case.points(1)[0]
    fast = adgen.value_and_grad(case.function).specialization(X, W, b)
    with pytest.raises(ValueError, match="computes in place for float arrays of one dtype"):
        fast(X.astype(np.float32), W, b)


def test_the_command_line_never_computes_in_place():
    """The modules people read in pull requests: every step into a new array."""
    path = INPLACE["chain"].path
    source = compile_source(path.read_text(), str(path)).source
    assert not re.search(r"out=", source)


@pytest.mark.parametrize("line, names", [
    ("x = a + b  # it's a", ["x", "a", "b"]),
    ('raise ValueError("a b c")', ["raise", "ValueError"]),
    ("W1 = params['W1']", ["W1", "params"]),
    ("z = np.add(a, b, out=a)", ["z", "np", "a", "b", "out", "a"]),
    ("y = foo(\"it's\", a.T)", ["y", "foo", "a"]),
    ('print(f"{a}")', ["print", "f", "a"]),  # an f-string's fields are read
])
def test_names_are_read_from_code_not_from_strings_or_comments(line, names):
    from adgen.inplace import names_in
    assert names_in(line) == names


def test_an_upstream_gradient_of_another_dtype_gets_no_in_place_steps():
    """The backward chains rely on the upstream gradient's dtype too: a call that passes a
    numpy scalar of another dtype gets the specialisation computed into new arrays (with
    the numbers numpy gives), and the in-place module called directly refuses it."""
    case = INPLACE["sigmoid_layer"]
    X, W, b = (a.astype(np.float32) for a in case.points(1)[0])
    vjp = adgen.vjp(case.function)
    plain = vjp(X, W, b, np.float64(1.5))
    assert "out=" not in vjp.source(X, W, b, np.float64(1.5))
    fast = vjp.specialization(X, W, b)
    assert "dXWpb = np.multiply(dXWpb, h, out=dXWpb)" in vjp.source(X, W, b)
    with pytest.raises(ValueError, match="must be a Python number or of X's dtype"):
        fast(X, W, b, np.float64(1.5))
    same = fast(X, W, b, np.float32(1.5))
    assert all(g.dtype == np.float32 for g in same)
    assert all(np.allclose(a, b, rtol=1e-5) for a, b in zip(plain, same))
