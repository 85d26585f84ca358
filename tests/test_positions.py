"""The fast (ast-paired) positions agree with libcst's exact provider wherever they exist."""

from __future__ import annotations

import pathlib

import libcst as cst
import pytest

from adgen.source import ParsedModule

ROOT = pathlib.Path(__file__).resolve().parent.parent
FILES = [p for p in sorted((ROOT / "tests" / "corpus").glob("*.py"))
         + sorted((ROOT / "examples").glob("*.py")) if not p.name.startswith("_")]

UNICODE = '''\
import math

def f(x, y):
    # ünïcödé comments and strings shift byte offsets, not characters
    z = x * y  # é
    w = math.exp(z) + (x + y) * -2
    return w
'''


def _check(parsed: ParsedModule) -> int:
    compared = 0
    for node, fast in parsed._fast.items():
        exact = parsed.exact_pos(node)
        if isinstance(node, cst.Decorator):  # ast points after the '@'
            assert fast.line == exact.line
        else:
            assert fast == exact, (type(node).__name__, fast, exact)
        compared += 1
    return compared


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_fast_positions_match_libcst(path):
    parsed = ParsedModule(str(path), path.read_text())
    assert _check(parsed) > 10


def test_fast_positions_count_characters_not_bytes():
    parsed = ParsedModule("u.py", UNICODE.replace("z = x", "é = x").replace("exp(z)", "exp(é)"))
    assert _check(parsed) > 10


NESTED = '''\
import math

@decorated
def top(x):
    def inner(y):
        return y
    if x:
        def in_if(z):
            lambda w: w
    else:
        def in_else(z):
            pass
    return inner(x)

class Model:
    def forward(self, x):
        return x
    class Inner:
        def deep(self):
            pass

try:
    def in_try():
        pass
except ValueError:
    def in_except():
        pass
finally:
    def in_finally():
        pass

with open("f") as handle:
    for i in range(3):
        while i:
            def in_loops():
                pass
        else:
            def in_for_else():
                pass

match top:
    case 1:
        def in_case():
            pass

async def coroutine():
    def in_async():
        pass
'''


@pytest.mark.parametrize("path", [None, *FILES], ids=["nested", *[p.name for p in FILES]])
def test_find_functions_finds_what_a_full_visit_finds_in_source_order(path):
    """find_functions walks blocks only; a libcst visitor of every node finds the same."""
    parsed = ParsedModule("n.py", NESTED) if path is None else \
        ParsedModule(str(path), path.read_text())
    seen: list[cst.FunctionDef] = []

    class Finder(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            seen.append(node)

    parsed.module.visit(Finder())
    assert [f.name.value for f in parsed.find_functions()] == [f.name.value for f in seen]
    assert all(a is b for a, b in zip(parsed.find_functions(), seen))
    if path is None:
        assert len(seen) == 14
