"""The rule table: every registered rule's gradient templates against `sympy.diff` of its
forward value, and against central finite differences on its domain.  Grows with the registry:
a rule added to adgen/rules is tested here without further code."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import sympy as sp

from adgen import ir, symbolic
from adgen.prelude import HELPERS
from adgen.rules import REGISTRY, Rule, RuleError
from adgen.rules.registry import Registry
from adgen.verify import on_kink

# Element-wise rules on scalars (array-only rules have their own table: test_rules_arrays.py).
ARITIES = [(rule, n) for rule in REGISTRY if rule.elementwise
           for n in ([rule.arity, rule.arity + 1] if rule.variadic else [rule.arity])]
IDS = [f"{rule.name}/{n}" for rule, n in ARITIES]
# Rules whose template equals sympy's derivative only on the rule's domain (sympy cannot use
# a > 1 for acosh's sqrt(a - 1) * sqrt(a + 1)): checked at the sampled points only.
DOMAIN_DEPENDENT = {"acosh", "asin", "acos"}  # an edge case sympy cannot rule out


def _numeric(text: str, slots, extra=()):
    env = {"math": math, "np": np}
    for helper in HELPERS.values():  # the helpers a generated module defines (_digamma)
        exec(helper, env)
    return eval(f"lambda {', '.join(list(slots) + list(extra))}: {text}", env)


def _symbolic(text: str, slots, extra=()):
    source = f"def t({', '.join(list(slots) + list(extra))}):\n    return {text}\n"
    return symbolic.exec_symbolic(source)["t"]


def _points(rule: Rule, n: int, count: int = 8):
    rng = random.Random(rule.name)
    domain = rule.domain(n)
    if rule.integer:  # math.factorial, comb, perm: integers only
        return [[rng.randint(lo, hi) for lo, hi in domain] for _ in range(count)]
    return [[rng.uniform(lo, hi) for lo, hi in domain] for _ in range(count)]


@pytest.mark.parametrize("rule,n", ARITIES, ids=IDS)
def test_forward_template_matches_sympy_counterpart(rule: Rule, n: int):
    inst = rule.instance(n)
    forward = _numeric(inst.forward_text, inst.slots)
    syms = sp.symbols(" ".join(inst.slots) + " ,", real=True)
    expected = rule.sympy(*syms)
    for point in _points(rule, n):
        value = float(expected.subs(dict(zip(syms, point))).evalf(30))
        assert math.isclose(forward(*point), value, rel_tol=1e-12, abs_tol=1e-14)


@pytest.mark.parametrize("rule,n", ARITIES, ids=IDS)
def test_gradient_templates_match_sympy_diff(rule: Rule, n: int):
    """Each template, run on symbols, equals d(forward)/d(slot) * g: proved by simplification
    for smooth rules, and at every sampled point off the kinks for all of them."""
    inst = rule.instance(n)
    if rule.integer:  # no derivative exists: test_integer_functions_take_only_integers
        assert inst.grad_texts == ("0.0",) * n and rule.nondifferentiable
        return
    syms = tuple(sp.Symbol(s, real=True, positive=True if lo > 0 else None)
                 for s, (lo, _) in zip(inst.slots, rule.domain(n)))
    g = sp.Symbol("g", real=True)
    forward = rule.sympy(*syms)
    for i, text in enumerate(inst.grad_texts):
        template = _symbolic(text, inst.slots, ("out", "g"))(*syms, forward, g)
        expected = sp.diff(forward, syms[i]) * g
        difference = symbolic.rationalize(template) - symbolic.rationalize(expected)
        if rule.branch is None and rule.name not in DOMAIN_DEPENDENT:
            assert sp.simplify(difference) == 0, (rule.name, i, text)
        for point in _points(rule, n):
            if rule.branch and on_kink(rule, point):
                continue
            subs = {**dict(zip(syms, point)), g: 1.7}
            assert abs(complex(difference.subs(subs).evalf(30))) < 1e-12, (rule.name, i, point)


@pytest.mark.parametrize("rule,n", ARITIES, ids=IDS)
def test_gradient_templates_match_finite_differences(rule: Rule, n: int):
    inst = rule.instance(n)
    if rule.integer:  # integer operands: no neighbourhood to difference over
        return
    forward = _numeric(inst.forward_text, inst.slots)
    grads = [_numeric(t, inst.slots, ("out", "g")) for t in inst.grad_texts]
    for point in _points(rule, n):
        out = forward(*point)
        for i, grad in enumerate(grads):
            h = 1e-6 * max(1.0, abs(point[i]))
            plus, minus = list(point), list(point)
            plus[i] += h
            minus[i] -= h
            if rule.branch and rule.branch(*plus) != rule.branch(*minus):
                continue  # the difference straddles a kink
            numeric = (forward(*plus) - forward(*minus)) / (2 * h)
            analytic = grad(*point, out, 1.0)
            assert math.isclose(analytic, numeric, rel_tol=1e-6, abs_tol=1e-8), (rule.name, i)


@pytest.mark.parametrize("rule,n", ARITIES, ids=IDS)
def test_templates_use_only_symbolic_functions(rule: Rule, n: int):
    """Verification runs generated code on sympy: every function a template (or the forward
    value) calls must exist in the symbolic stand-in of `math` or the builtins."""
    inst = rule.instance(n)

    def calls(expr):
        return [node.func for node in ir.walk(expr) if isinstance(node, ir.Call)]

    for expr in (inst.forward, *inst.grads):
        for func in calls(expr):
            if func.startswith("math."):
                assert hasattr(symbolic.MATH, func[5:]), func
            elif func.startswith("np."):
                assert hasattr(symbolic.NP, func[3:]), func
            else:  # a builtin the symbolic runner rewrites (int: a truncation step), or a
                # helper of generated code with a sympy counterpart (_digamma)
                assert func in symbolic.BUILTINS or func == "int", func


INTEGER = [rule for rule in REGISTRY if rule.integer]


@pytest.mark.parametrize("rule", INTEGER, ids=[r.name for r in INTEGER])
def test_integer_functions_take_only_integers(rule: Rule):
    """math.factorial, comb, perm: on every integer point of the domain, the forward
    template equals sympy's exactly and is an int (a constant of the backward pass); Python
    raises on a float operand, which adgen refuses where it carries a derivative (AD306)."""
    import itertools

    from adgen import compiler
    from adgen.diagnostics import AdgenError

    for n in [rule.arity, rule.arity + 1] if rule.variadic else [rule.arity]:
        inst = rule.instance(n)
        forward = _numeric(inst.forward_text, inst.slots)
        syms = sp.symbols(" ".join(inst.slots) + " ,", integer=True, nonnegative=True)
        expected = rule.sympy(*syms)
        grid = [range(lo, hi + 1) for lo, hi in rule.domain(n)]
        for point in itertools.product(*grid):
            value = forward(*point)
            assert type(value) is int and value == expected.subs(dict(zip(syms, point))), \
                point
        with pytest.raises(TypeError):
            forward(*([3.0] + [1] * (n - 1)))
        call = f"math.{rule.name}({', '.join(['y'] + ['1'] * (n - 1))})"
        text = f"import math\n\n\ndef f(x):\n    y = 2 * x\n    return x * {call}\n"
        with pytest.raises(AdgenError) as info:
            compiler.compile_source(text, "t.py")
        assert [(d.code, d.line, d.col) for d in info.value.diagnostics] == \
            [("AD306", 6, 16)]


def _rule(name="broken", forward="a", grads=("g",), **kw):
    return Rule(name=name, spellings=(), arity=len(grads), build=lambda n: (forward, grads),
                stem=lambda f: None, noun="t", sympy=lambda *a: a[0],
                domain=lambda n: ((0.0, 1.0),) * n, **kw)


@pytest.mark.parametrize("forward,grads,problem", [
    ("a +", ("g",), "does not parse"),
    ("a", ("q * g",), "unknown name 'q'"),
    ("a", ("math.nosuch(a) * g",), "unknown function"),
    ("a", ("g", "g"), "2 gradients for 1 operands"),
    ("a", ("{g}",), "unsupported syntax"),
    ("a", ("numpy.sort(a)",), "unknown function"),
])
def test_broken_rules_fail_their_check(forward, grads, problem):
    rule = _rule(forward=forward, grads=grads)
    if len(grads) == 2:
        rule = Rule(**{**rule.__dict__, "arity": 1})
    with pytest.raises(RuleError, match=problem):
        Registry.check(rule)
    with pytest.raises(RuleError, match=problem):  # and when a user declares it
        Registry().declare(rule)


def test_a_wrong_domain_fails_the_check():
    rule = Rule(**{**_rule().__dict__, "domain": lambda n: ((0.0, 1.0),) * (n + 1)})
    with pytest.raises(RuleError, match="domain has the wrong number"):
        Registry.check(rule)


@pytest.mark.parametrize("rule", list(REGISTRY), ids=[rule.name for rule in REGISTRY])
def test_every_rule_passes_its_check(rule: Rule):
    """adgen's rules parse their templates on first use, not at import: this is the check
    that keeps a broken one from reaching a user (every rule, array rules included)."""
    Registry.check(rule)


def test_duplicate_rules_and_spellings_are_rejected():
    registry = Registry()
    registry.add(_rule(name="one", spellings=("f",)) if False else _rule(name="one"))
    with pytest.raises(RuleError, match="duplicate"):
        registry.add(_rule(name="one"))
    registry.add(Rule(**{**_rule(name="two").__dict__, "spellings": ("s",)}))
    with pytest.raises(RuleError, match="claimed by two rules"):
        registry.add(Rule(**{**_rule(name="three").__dict__, "spellings": ("s",)}))


def test_rationalize_is_sympys_nsimplify_rational():
    """symbolic.rationalize converts each Float once and substitutes with xreplace; the
    result is the expression sympy.nsimplify(expr, rational=True) gives."""
    x, y = sp.symbols("x y", real=True)
    for expr in (1.0 * x - x, 0.1 * x + 0.5 * y ** 2.0, sp.exp(-2.5 * x) / (1.0 + 0.3 * y),
                 sp.Max(x, 1e-5 * y), sp.Float(3.0), sp.Float("inf") * x - 0.25,
                 sp.Piecewise((0.5 * x, x > 0.1), (0.0, True)), x + y):
        assert sp.srepr(symbolic.rationalize(expr)) == \
            sp.srepr(sp.nsimplify(expr, rational=True)), expr
    assert symbolic.rationalize(1.0 * x - x) == 0
