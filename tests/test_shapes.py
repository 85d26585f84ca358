"""Value types and shapes: annotations, broadcasting, reduction axes."""

from __future__ import annotations

import pytest

from adgen import shapes
from adgen.shapes import VType, broadcast, parse_annotation, reduction_axes


@pytest.mark.parametrize("text,expected", [
    ('"N D"', VType("array", ("N", "D"))),
    ('"N, 1"', VType("array", ("N", 1))),
    ("'int N'", VType("intarray", ("N",))),
    ('"bool N D"', VType("bool", ("N", "D"))),
    ('""', shapes.FLOAT),
    ("float", shapes.FLOAT),
    ("int", shapes.INT),
    ("np.ndarray", VType("array", None)),
    ('Annotated[np.ndarray, "N D"]', VType("array", ("N", "D"))),
    ('typing.Annotated[numpy.ndarray, "B N D"]', VType("array", ("B", "N", "D"))),
    ('Float[np.ndarray, "N D"]', VType("array", ("N", "D"))),
    ('Int[np.ndarray, "N"]', VType("intarray", ("N",))),
    ('jaxtyping.Float[Array, "N"]', VType("array", ("N",))),
    ("list", None),
    ('Annotated[list, "N"]', None),
    ('"N D', None),
    ('"N-1"', None),
    ('"D 4*H"', VType("array", ("D", "4*H"))),  # the LSTM's stacked gates
    ('"4 * H"', None),
    ('"H*4"', None),
    (None, None),
])
def test_annotations(text, expected):
    assert parse_annotation(text) == expected


@pytest.mark.parametrize("inputs,expected", [
    ([("N", "D"), ("D",)], ("N", "D")),
    ([("N", 1), ("N", "C")], ("N", "C")),
    ([("B", "N", "D"), ("N", 1)], ("B", "N", "D")),
    ([(), ("N",)], ("N",)),
    ([("N",), ("M",)], ("?",)),  # either could be 1 at run time: undecidable
    ([("N", "D"), None], None),
    ([(3, 4), (4, 4)], ("?", 4)),
    ([("B", "N", "D"), ("M", 1)], ("B", "?", "D")),
])
def test_broadcast(inputs, expected):
    """"?" stands for an axis the source cannot decide: a dimension of its own, equal to no
    other (so the rank is kept, and its gradient is reduced at run time)."""
    got = broadcast(*inputs)
    if expected is None or "?" not in expected:
        assert got == expected
        return
    assert len(got) == len(expected)
    for dim, want in zip(got, expected):
        if want == "?":
            assert isinstance(dim, str) and dim.startswith("_u")
            assert all(dim not in s for s in inputs if s is not None)
        else:
            assert dim == want


@pytest.mark.parametrize("source,target,expected", [
    (("N", "D"), ("D",), ((0,), ())),
    (("N", "C"), ("N", 1), ((), (1,))),
    (("B", "N", "D"), ("N", 1), ((0,), (1,))),
    (("N", "D"), ("N", "D"), ((), ())),
])
def test_reduction_axes(source, target, expected):
    assert reduction_axes(source, target) == expected


def test_a_multiple_dimension_is_checked_and_sampled():
    """"4*H" is 4 times H: the generated shape check says so, and --verify samples it so."""
    import adgen
    from adgen import verify
    from corpus_loader import cases

    case = next(c for c in cases("recurrent") if c.name == "lstm_gates")
    grad = adgen.grad(case.function)
    good = case.points(1)[0]
    grad(*good)
    bad = list(good)
    bad[3], bad[4], bad[5] = bad[3][:, :6], bad[4][:, :6], bad[5][:6]  # 3*H gate columns
    with pytest.raises(ValueError, match="shapes differ"):
        grad(*bad)
    types = [parse_annotation(repr(a)) for a in case.function.__annotations__.values()]
    point = verify.sample_point(case.function, len(types), types=types)
    assert point[3].shape[1] == 4 * point[1].shape[1]


@pytest.mark.parametrize("size, lower, upper, width", [
    ("4*H", None, {"H": 1}, "H"),  # a[:, :H] of an (N, 4*H) array
    ("4*H", {"H": 1}, {"H": 2}, "H"),
    ("4*H", {"H": 3}, None, "H"),
    ("3*H", None, {"H": 2}, "2*H"),  # the GRU's two gates at once
    ("2*H", {"H": 1}, None, "H"),
    (6, {"": 2}, {"": 5}, 3),
    (6, {"": -2}, None, 2),
])
def test_a_slice_within_its_axis_whatever_the_sizes_has_an_exact_width(size, lower, upper,
                                                                        width):
    assert shapes.slice_width(size, lower, upper, None) == width


@pytest.mark.parametrize("size, lower, upper, step", [
    ("n3", None, {"H": 1}, None),  # H may be more than n3: numpy would clip
    ("n3", {"H": 3}, None, None),
    ("4*H", {"H": 3}, {"H": 5}, None),  # past the end
    ("4*H", None, {"H": 1}, {"": 2}),  # a step
    ("4*H", False, None, None),  # a bound that is no size
    ("4*H", {"H": 2}, {"H": 2}, None),  # empty
])
def test_a_slice_that_may_be_clipped_has_a_width_of_its_own(size, lower, upper, step):
    assert shapes.slice_width(size, lower, upper, step).startswith("_u")


def test_while_inferring_a_slice_remembers_the_width_its_bounds_say():
    with shapes.collecting() as found:
        last = shapes.slice_width("n3", {"H": 3}, None, None)  # a[:, 3 * H:]
        first = shapes.slice_width("n3", None, {"H": 1}, None)  # a[:, :H]
        shapes.broadcast(("N", first), ("N", last))  # i * g
    assert found.widths[last] == {"n3": 1, "H": -3} and found.widths[first] == {"H": 1}
    assert found.equations == [({"H": 1}, {"n3": 1, "H": -3})] or \
        found.equations == [({"n3": 1, "H": -3}, {"H": 1})]


@pytest.mark.parametrize("prim, operands, size", [
    ("mul", [{"": 2}, {"H": 1}], "2*H"),
    ("mul", [{"H": 3}, {"": 1}], "3*H"),
    ("add", [{"H": 1}, {"H": 1}], "2*H"),
    ("sub", [{"H": 4}, {"H": 1}], "3*H"),
    ("sub", [{"H": 1}, {"H": 1}], None),  # 0: a number, not a size
    ("add", [{"H": 1}, {"": 1}], None),  # H + 1: no shape says it
    ("mul", [{"H": 1}, {"D": 1}], None),
    ("mul", [{"": 2}, None], None),
])
def test_an_int_computed_from_sizes_is_a_size(prim, operands, size):
    assert shapes.size_of_ints(prim, operands) == size


INTS_THAT_CHANGE = '''\
import numpy as np


def windows(a, h):
    H = h.shape[1]
    k = 2 * H
    s = 0.0
    for t in range(3):
        s = s + np.sum(a[:, :k] * a[:, :k])
        k = k + H
    return s


def chosen(a, h, c):
    H = h.shape[1]
    if c > 0:
        k = 2 * H
    else:
        k = H
    return np.sum(a[:, :k] * a[:, :k])
'''


def test_an_int_a_loop_or_a_branch_changes_is_no_size(tmp_path):
    """k = 2 * H, then k = k + H in a loop: a[:, :k] is not 2*H wide in every iteration
    (nor after an if that makes k 2*H or H), so its gradient is reduced at run time."""
    import io

    import numpy as np

    from adgen import cli

    path = tmp_path / "ints.py"
    path.write_text(INTS_THAT_CHANGE)
    out, err = io.StringIO(), io.StringIO()
    assert cli.main([str(path), "--shapes", "a=N,4*H h=N,H c=float"], stdout=out,
                    stderr=err) == 0, err.getvalue()
    text = out.getvalue()
    assert text.count("_unbroadcast(part1 * ") == text.count("_unbroadcast(part2 * ") == 2
    namespace: dict = {}
    exec(text, namespace)
    rng = np.random.default_rng(0)
    a, h = rng.standard_normal((2, 8)), rng.standard_normal((2, 2))
    da, _ = namespace["windows_grad"](a, h)
    expected = np.zeros_like(a)
    for k in (4, 6, 8):
        expected[:, :k] += 2 * a[:, :k]
    assert np.allclose(da, expected)
    for c, k in ((1.0, 4), (-1.0, 2)):
        da = namespace["chosen_grad"](a, h, c)[0]
        assert np.allclose(da[:, :k], 2 * a[:, :k]) and not da[:, k:].any()
