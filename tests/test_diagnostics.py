"""Diagnostics: which code, and where (line, column) — never the wording.

Each case is a small program and the (code, line, column) triples it must produce, all of
them: the fence reports every problem in one go.
"""

from __future__ import annotations

import textwrap

import pytest

import adgen
from adgen import compiler
from adgen.diagnostics import AdgenError, Diagnostic, format_report


def found(source: str, **kwargs) -> list[tuple[str, int, int]]:
    text = textwrap.dedent(source).lstrip("\n")
    with pytest.raises(AdgenError) as info:
        compiler.compile_source(text, "t.py", **kwargs)
    return sorted((d.code, d.line, d.col) for d in info.value.diagnostics)


CASES = {
    "syntax error": ("def f(x):\n    return x +\n", [("AD100", 2, 15)]),
    "loop exits": ("""
        def f(x):
            for i in range(3):
                if x > 1:
                    break  # break and continue are fine
                x = x * 2
            while x > 1:
                continue
            else:
                x = 1.0
            for i in range(3):
                return x
            return x
        """, [("AD101", 8, 5), ("AD104", 11, 9)]),
    "after a loop exit": ("""
        def f(x):
            for i in range(3):
                continue
                x = x * 2
            raise ValueError("no")
            return x
        """, [("AD104", 4, 9), ("AD104", 6, 5)]),
    "try, with, nested def (loops and branches are fine)": ("""
        def f(x):
            for i in range(3):
                pass
            if x:
                pass
            try:
                pass
            except Exception:
                pass
            with x:
                pass
            def g():
                pass
            return x
        """, [("AD101", 6, 5), ("AD101", 10, 5), ("AD104", 12, 9)]),  # g is checked: no return
    "names assigned on some paths": ("""
        def f(x):
            if x > 0:
                y = x
            for i in range(3):
                z = x * i
            for j in range(3):
                w = w + 1
            return y + z + i
        """, [("AD203", 7, 13), ("AD203", 8, 12), ("AD203", 8, 16), ("AD203", 8, 20)]),
    "recursion": ("""
        def fact(x, n):
            return x * fact(x, n - 1)
        def f(x):
            return even(x)
        def even(x):
            return odd(x)
        def odd(x):
            return even(x)
        """, [("AD206", 2, 16), ("AD206", 8, 12)]),  # even and odd are helpers of f
    "calls to helpers": ("""
        def h(a, b=1.0):
            return a * b
        def f(x):
            p = h(x, c=2.0)
            q = h()
            u = h(x, x, x)
            return x
        """, [("AD302", 4, 9), ("AD302", 5, 9), ("AD302", 6, 9)]),
    "loop iterables": ("""
        def f(x):
            for v in {1.0, 2.0}:
                x = x * v
            for i, j in range(3):
                x = x * 2
            for i in range(1, 2, 3, 4):
                x = x * 2
            return x
        """, [("AD101", 2, 14), ("AD105", 4, 9), ("AD302", 6, 14)]),
    "array condition": ("""
        import numpy as np
        def f(x: "N"):
            if x > 0:
                x = x * 2
            return np.sum(x)
        """, [("AD305", 3, 8)]),
    "small statements": ("""
        import math
        def f(x):
            global y
            import os
            assert x > 0  # a check: fine
            x.sort()
            del x
            raise
        """, [("AD101", 3, 5), ("AD101", 4, 5), ("AD101", 6, 5), ("AD101", 7, 5),
              ("AD101", 8, 5)]),
    "async": ("async def f(x):\n    return x\n", [("AD101", 1, 1)]),
    "a string test known only at run time": ("""
        def f(x, name):
            if name.startswith("W"):
                x = x * 2.0
            return x
        """, [("AD305", 2, 8)]),
    "a name only some paths of a numeric branch assign": ("""
        import numpy as np
        def act(Z, t):
            if t > 0:
                A = 1 / (1 + np.exp(-Z))
            elif t < -1:
                A = np.maximum(0, Z)
            return np.sum(A)
        """, [("AD203", 7, 19)]),
    "a name a string branch leaves unassigned, read in a later branch": ("""
        def act(z, activation, flag):
            if activation == "double":
                a = 2 * z
            if flag > 0:
                z = a
            return z
        """, [("AD203", 5, 13)]),
    "prints whose arguments may change something": ("""
        import numpy as np
        def helper(v):
            return v * 2
        def f(x, xs):
            print("ok", x, np.sum(x), f"{x:.3f}")  # reads only: left out
            print(xs.pop())
            print(helper(x))
            print(np.random.rand())
            print(np.add(x, 1, out=x))
            "a comment"
            return x
        """, [("AD101", 6, 11), ("AD101", 7, 11), ("AD101", 8, 11), ("AD101", 9, 11)]),
    "expressions": ("""
        import math
        def f(x, y):
            a = lambda: x  # a lambda: accepted (inlined where it is called)
            b = x if y else 2.0  # a branch: accepted
            c = x < y  # a comparison is a mask: accepted
            d = [x][0]  # a list, a tuple: accepted (containers.py)
            e = {x, y}
            g = x.real + math.inf
            h = sum(t for t in (x, y) if t > 0)
            return x
        """, [("AD102", 7, 9), ("AD102", 8, 9), ("AD102", 9, 13)]),
    "parameters": ("""
        def f(x, *args, y, **kw):
            return x
        def g(x, k=[1]):
            return x
        def h(x, *, k=[1]):
            return x
        """, [("AD103", 1, 10), ("AD103", 1, 20), ("AD103", 3, 12), ("AD103", 5, 15)]),
    "returns": ("""
        def f(x):
            y = x
        def g(x):
            return x
            y = x
        def h(x):
            return
        def k(x):
            return x, x
        """, [("AD104", 1, 5), ("AD104", 5, 5), ("AD104", 7, 5), ("AD104", 9, 12)]),
    "targets": ("""
        def f(x):
            a = b = x
            x.y = 1.0
            c, *d = x, x
            return x
        """, [("AD105", 3, 5), ("AD105", 4, 8)]),  # a = b = x is fine
    "operators": ("""
        def f(x, y):
            a = x // y + x % y  # integer arithmetic: fine
            b = ~x
            c = not x
            a //= 2
            d = x << y
            a &= 1
            return a
        """, [("AD106", 3, 9), ("AD106", 4, 9), ("AD106", 6, 11), ("AD106", 7, 7)]),
    "member default of an inner step reads a local": ("""
        import numpy as np
        def f(x, p):
            D = x.shape[0]
            m = p.get('layer', {'m': np.zeros(D)})['m']
            return np.sum(x * m)
        """, [("AD203", 4, 39)]),
    "parameter entry written, then read again": ("""
        import numpy as np
        def f(x, p):
            p['m'] = 0.9 * p['m'] + 0.1 * x
            return np.sum(p['m'] * x)
        """, [("AD105", 3, 5)]),
    "parameter entry written in a loop": ("""
        import numpy as np
        def f(x, p):
            for i in range(3):
                p['m'] = x * i
            return np.sum(x)
        """, [("AD105", 4, 9)]),
    "parameter written into, and passed whole": ("""
        import numpy as np
        def g(x, p):
            return np.sum(x * p['m'])
        def f(x, p):
            p['m'] = x * 2.0
            return g(x, p)
        """, [("AD105", 5, 5)]),
    "array written into a parameter, then changed in place": ("""
        import numpy as np
        def f(x, p):
            m = x * 2.0
            p['m'] = m
            m += 1.0
            return np.sum(m)
        """, [("AD105", 4, 5)]),
    "tuple written into a parameter's entry": ("""
        import numpy as np
        def f(x, p):
            p['c'] = (x, x)
            return np.sum(x)
        """, [("AD105", 3, 5)]),
    "parameter entry updated in place": ("""
        import numpy as np
        def f(x, p):
            p['m'] += x
            return np.sum(x)
        """, [("AD105", 3, 5)]),
    "constants": ("""
        def f(x):
            a = "s"
            b = 2j
            c = True  # a boolean: fine
            d = None  # a placeholder (as CS231n's skeletons begin): fine until read
            e = None
            if x > 0:
                e = x
            return x + d + e
        """, [("AD107", 2, 9), ("AD107", 3, 9), ("AD203", 9, 16), ("AD203", 9, 20)]),
    "decorator": ("""
        import functools
        @functools.lru_cache
        def f(x):
            return x
        """, [("AD108", 2, 2)]),
    "names": ("""
        import math
        W = [1.0, 2.0]
        def helper(x):
            return x
        C = 2.0
        def f(x):
            a = undefined + W
            b = helper + math
            c = C * 2
            C = 3.0
            return a
        """, [("AD201", 7, 9), ("AD202", 7, 21), ("AD202", 8, 9), ("AD202", 8, 18),
              ("AD203", 9, 9)]),
    "cascades": ("""
        def f(x, y):
            a = b = x * y
            c = max(x, y, key=abs)
            d = [x][undefined] if y else y
            return a + b
        """, [("AD201", 4, 13), ("AD303", 3, 19)]),
    "reserved names": ("""
        def f(math, x):
            np = x * 2
            return np
        """, [("AD205", 1, 7), ("AD205", 2, 5)]),
    "unpacking": ("""
        def f(x):
            a, b = x, x, x
            c, d = x  # (the stager's: once the fence has passed)
            return a
        """, [("AD204", 2, 12)]),
    "in-place updates of containers' arrays": ("""
        import numpy as np
        def f(x: "N"):
            h = x * 1.0
            lst = [h]
            for t in range(3):
                h += 1.0
            lst[0] += 1.0
            return np.sum(lst[0] * x)
        """, [("AD207", 6, 9), ("AD207", 7, 5)]),
    "unpacking a value": ("""
        def f(x):
            y = x * 2.0
            c, d = y
            return c
        """, [("AD204", 3, 12)]),
    "rules": ("""
        import math
        import numpy as np
        def helper(x):
            return x
        def f(x, y):
            a = math.frexp(x) + np.unique(x)
            b = helper(x)
            c = math.exp(x, y) + max(x)
            d = math.log(x=y) + y(x)
            return a
        """, [("AD301", 6, 9), ("AD301", 6, 25), ("AD302", 8, 9),
              ("AD303", 9, 18), ("AD303", 9, 25)]),  # max(x): the stager's (of a list?)
}


@pytest.mark.parametrize("name", list(CASES))
def test_diagnostic_codes_and_positions(name):
    source, expected = CASES[name]
    assert found(source) == sorted(expected)


def test_a_differentiable_value_through_an_integer_array_index_is_rejected():
    source = """
        import numpy as np
        def f(x: "N C", y: "int N", v: "N"):
            z = x * 1.0
            z[np.arange(3), y] = v
            z[np.arange(3), y] = 0.0
            return np.sum(z)
        """
    assert found(source) == [("AD305", 4, 5)]


def test_unknown_wrt_name_is_reported_at_the_function():
    assert found("def f(x):\n    return x\n", wrt=("x", "z")) == [("AD401", 1, 5)]


def test_unknown_function_name():
    assert found("def f(x):\n    return x\n", functions=["g"]) == [("AD402", 1, 1)]


def test_format_is_path_line_col_code_then_source_and_caret():
    d = Diagnostic("AD301", "no derivative rule for 'math.floor'", "m.py", 3, 9,
                   help="use something else", source_line="    y = math.floor(x)")
    lines = d.format().splitlines()
    assert lines[0] == "m.py:3:9: error AD301: no derivative rule for 'math.floor'"
    assert lines[1] == "    y = math.floor(x)"
    assert lines[2].index("^") == lines[1].index("math")
    assert lines[3].strip().startswith("help:")
    assert format_report([d, d]).splitlines()[-1] == "2 errors found"


def test_every_problem_of_every_function_is_reported_at_once():
    source = """
        def f(x):
            return lambda: x
        def g(x):
            for i in range(2):
                x = x.real
            return undefined
        """
    assert [c for c, _, _ in found(source)] == ["AD102", "AD102", "AD201"]


def test_internal_failures_are_reported_as_internal_errors(monkeypatch):
    def explode(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr(compiler, "stage_function", explode)
    with pytest.raises(adgen.InternalError) as info:
        compiler.compile_source("def f(x):\n    return x\n", "t.py")
    assert info.value.codes == ["AD900"]
    assert "report" in str(info.value)


def test_api_reports_the_real_file_and_line():
    from diagnostics_fixture import bad_function  # a file whose line numbers we know

    with pytest.raises(AdgenError) as info:
        adgen.grad(bad_function)
    (d,) = info.value.diagnostics
    assert (d.code, d.line, d.col) == ("AD101", 7, 5)
    assert d.path.endswith("diagnostics_fixture.py")
    assert info.value.__traceback__ is not None
    frames = []
    tb = info.value.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_filename)
        tb = tb.tb_next
    assert not any("compiler.py" in f or "fence.py" in f for f in frames)


def test_api_rejects_lambdas_and_functions_without_source():
    with pytest.raises(AdgenError) as info:
        adgen.grad(lambda x: x * 2)
    assert info.value.codes == ["AD403"]
    namespace: dict = {}
    exec("def f(x):\n    return x * 2\n", namespace)
    with pytest.raises(AdgenError) as info:
        adgen.grad(namespace["f"])
    assert info.value.codes == ["AD403"]
    with pytest.raises(AdgenError) as info:
        adgen.grad(len)
    assert info.value.codes == ["AD403"]


def test_membership_tests_and_random_numbers_say_what_to_do():
    """CS231n's dropout_forward: `'seed' in dropout_param` and `np.random.rand` get help
    that fits them, not the chained-comparison or did-you-mean help."""
    source = textwrap.dedent("""\
        import numpy as np
        def f(x, p):
            if "seed" in p:
                x = x * 2.0
            mask = np.random.rand(3) < 0.5
            return np.sum(x * mask)
        """)
    with pytest.raises(AdgenError) as info:
        compiler.compile_source(source, "t.py")
    found = {d.code: d for d in info.value.diagnostics}
    assert "membership test ('in')" in found["AD102"].message
    assert "pass them in" in found["AD301"].help
