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
