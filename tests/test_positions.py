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
