"""Rules on static values: the strings, None and flags that training code branches on
(`if mode == 'train':`, `if dropout is not None:`).  They carry no gradient; the branch they
decide is an ordinary branch of the staged function, tested at run time.  (`==` and `!=`
are the comparisons of adgen/rules/arrays.py, which take a string operand as they take a
number.)
"""

from __future__ import annotations

from adgen import shapes
from adgen.lazy import LazyModule
from adgen.rules.registry import REGISTRY, Rule

sp = LazyModule("sympy")  # imported on first use only (the rule tests)


def _identity(name: str, op: str) -> Rule:
    return REGISTRY.add(Rule(
        name=name, spellings=(op,), arity=2, build=lambda n: (f"a {op} b", ["0.0", "0.0"]),
        stem=lambda f: None, noun="cond",
        # two distinct numbers are never the same object: `is` is 0, `is not` is 1
        sympy=lambda a, b: sp.Integer(0 if op == "is" else 1) + a * 0,
        domain=lambda n: ((-1.0, 1.0), (-1.0, 1.0)), nondifferentiable=True,
        infer=lambda ctx: shapes.INT,  # one truth value, even of an array operand
        doc=f"`x {op} None`: a static test, no gradient",
    ))


_identity("is_", "is")
_identity("is_not", "is not")
