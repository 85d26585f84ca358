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


def _member_or_type(ctx) -> shapes.VType:
    """The entry's type (from the call, --shapes, or "unknown": decided at run time, as the
    caller may pass any shape), else the default's."""
    entry, default = (ctx.types + (None, None))[:2]
    return entry if entry is not None or default is None else default


REGISTRY.add(Rule(
    name="member_or", spellings=(), arity=2,
    build=lambda n: ("a if a is not None else b",
                     ["g if a is not None else 0.0", "0.0 if a is not None else g"]),
    stem=lambda f: None, noun="entry", sympy=lambda a, b: a + b * 0,
    domain=lambda n: ((-1.0, 1.0), (-1.0, 1.0)),
    infer=_member_or_type,
    doc="`p.get('k', default)` whose default reads a local: the entry read at the start "
        "(None when absent), else the default computed here; the gradient goes to the one "
        "taken",
))


REGISTRY.add(Rule(
    # `bn_param['running_mean'] = running_mean`: the value written into the caller's dict
    # (attribute "into", printed by emit.forward_line); always kept (analyze.analyze)
    # (its template is the value it gives the IR, none: it binds no name of the generated
    # code, whose line emit.forward_lines writes)
    name="param_store", spellings=(), arity=1, build=lambda n: ("a * 0.0", ["0.0"]),
    stem=lambda f: None, noun="stored", sympy=lambda a: a * 0,
    domain=lambda n: ((-1.0, 1.0),), nondifferentiable=True,
    infer=lambda ctx: ctx.types[0] if ctx.types else shapes.FLOAT,
    doc="a write into a parameter's dict: performed as the forward does, no gradient",
))
