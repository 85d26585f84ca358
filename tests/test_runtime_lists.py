"""Lists built while the function runs (adgen/runlists.py): Python's semantics kept (names
bound to one list, helpers appending to a list passed in, lists of lists), and what cannot
be followed refused with a located diagnostic."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

import adgen
from adgen.compiler import compile_source
from adgen.diagnostics import AdgenError


def aliased(xs, w):
    out = []
    seen = out  # the same list: appending through out changes seen
    for i in range(len(xs)):
        out.append(xs[i] * w)
    return np.sum(np.stack(seen) ** 2)


def rows_of_rows(x):
    rows = []
    for i in range(x.shape[0]):
        row = []
        for j in range(x.shape[1]):
            row.append(x[i, j] * x[i, 0])
        rows.append(np.stack(row))
    return np.sum(np.stack(rows) ** 2)


def counted_by_while(x, n=3):
    vals = [x]
    k = 0
    while k < n:
        vals.append(np.tanh(vals[-1]) * 2.0)
        k += 1
    return np.sum(vals[-1] * vals[1])


def sliced_then_summed(xs):
    hs = []
    for i in range(len(xs)):
        hs.append(np.exp(xs[i]))
    return np.sum(np.stack(hs[1:])) + np.sum(hs[0])


@pytest.mark.parametrize("fn,args", [
    (aliased, (np.linspace(-1, 1, 6).reshape(3, 2), np.array([0.5, -1.5]))),
    (rows_of_rows, (np.linspace(-1, 1, 6).reshape(2, 3),)),
    (counted_by_while, (np.array([0.3, -0.2]),)),
    (sliced_then_summed, (np.linspace(-1, 1, 8).reshape(4, 2),)),
])
def test_gradients_match_finite_differences(fn, args):
    report = adgen.check_grad(fn, *args, symbolic=False)
    assert report.ok, report


def stacked(xs, w):
    hs = []
    for i in range(len(xs)):
        hs.append(np.tanh(xs[i] * w))
    return np.sum(np.stack(hs))


def test_float32_lists_give_float32_gradients():
    xs = np.linspace(-1, 1, 6, dtype=np.float32).reshape(3, 2)
    w = np.array([0.5, -1.5], dtype=np.float32)
    dxs, dw = adgen.grad(stacked)(xs, w)
    assert dxs.dtype == np.float32 and dw.dtype == np.float32


def _codes(source: str) -> list[tuple[str, int]]:
    with pytest.raises(AdgenError) as info:
        compile_source(textwrap.dedent(source), "m.py")
    return [(d.code, d.line) for d in info.value.diagnostics]


@pytest.mark.parametrize("body,code,line", [
    # an array appended, then changed in place: the list's entry would change too
    ("""\
     for t in range(len(xs)):
         h = xs[t] * 2.0
         hs.append(h)
         h += 1.0
     return np.sum(np.stack(hs))""", "AD207", 9),
    # an entry read back, then changed in place
    # one array updated in place each iteration and appended: every entry is that array
    ("""\
     buf = xs[0] * 0.0
     for t in range(len(xs)):
         buf[0] = xs[t][0] * 2.0
         hs.append(buf)
     return np.sum(np.stack(hs) ** 2)""", "AD207", 7),
    ("""\
     buf = xs[0] * 0.0
     for t in range(len(xs)):
         buf += xs[t]
         hs.append(buf)
     return np.sum(np.stack(hs) ** 2)""", "AD207", 7),
    ("""\
     for t in range(len(xs)):
         hs.append(xs[t] * 2.0)
     last = hs[-1]
     last *= 3.0
     return np.sum(last)""", "AD207", 9),
    ("""\
     for t in range(len(xs)):
         hs.append(xs[t])
     return np.sum(hs * 2)""", "AD204", 8),
    ("""\
     for t in range(len(xs)):
         hs.append(xs[t])
     return max(hs)""", "AD204", 8),
    ("""\
     for t in range(len(xs)):
         hs.append(xs[t])
     return hs.sum()""", "AD204", 8),
    ("""\
     for t in range(len(xs)):
         hs.append((xs[t], xs[t] * 2.0))
     return np.sum(hs[0][1])""", "AD204", 7),
    ("""\
     for t in range(len(xs)):
         hs.append(xs[t])
     return hs""", "AD104", 8),
])
def test_what_cannot_be_followed_is_located(body, code, line):
    source = "import numpy as np\n\n\ndef f(xs):\n    hs = []\n" + \
        textwrap.indent(textwrap.dedent(body), "    ") + "\n"
    found = _codes(source)
    assert (code, line) in found, found
    assert all(c != "AD900" for c, _ in found)
