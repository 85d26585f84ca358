"""The rule table for lists built while the function runs (adgen/rules/lists.py): each rule's
forward template run on a Python list, its gradient templates against central differences
along random directions.  A list's gradient is its entries' gradients stacked, so a list
operand is perturbed entry by entry as one stacked array; getitem and len are the array
rules (tests/test_rules_arrays.py), checked on lists here too."""

from __future__ import annotations

import math

import numpy as np
import pytest

from adgen import shapes
from adgen.prelude import HELPERS
from adgen.rules import REGISTRY, Context
from adgen.rules.lists import LIST_RULES, list_of

RNG = np.random.default_rng(11)


def _entries(count, *shape):
    return [RNG.uniform(-1.5, 1.5, size=shape) if shape else float(RNG.uniform(-1.5, 1.5))
            for _ in range(count)]


class _List(list):
    """A list operand (its entries are perturbed as one stacked array)."""


def _type(value):
    if isinstance(value, _List):
        return list_of(shapes.array(np.shape(value[0])) if np.shape(value[0]) else shapes.FLOAT)
    return shapes.array(np.shape(value)) if np.ndim(value) else shapes.FLOAT


# (rule, attrs, operands): a _List is a list operand
CASES = [
    ("list_of", (), [1.5, -0.5, 2.0]),
    ("list_of", (), [RNG.uniform(-1, 1, (3, 2)), RNG.uniform(-1, 1, (3, 2))]),
    ("list_append", (), [_List(_entries(3, 4)), RNG.uniform(-1, 1, 4)]),
    ("list_append", (), [_List(_entries(2)), 0.7]),
    ("list_stack", (), [_List(_entries(4, 2, 3))]),
    ("list_stack", (("axis", 1),), [_List(_entries(4, 2, 3))]),
    ("list_stack", (("axis", -1),), [_List(_entries(3, 2, 5))]),
    ("list_stack", (), [_List(_entries(5))]),
    ("list_concat", (), [_List(_entries(3, 2, 4))]),
    ("list_concat", (("axis", 1),), [_List(_entries(3, 2, 4))]),
    ("list_concat", (("axis", -1),), [_List(_entries(2, 3, 2))]),
    ("list_sum", (), [_List(_entries(4, 3, 2))]),
    ("list_sum", (), [_List(_entries(3))]),
    ("getitem", (("index", (("const", -1),)),), [_List(_entries(3, 2))]),
    ("getitem", (("index", (("arg", 1),)),), [_List(_entries(4, 3)), 2]),
    ("getitem", (("index", (("slice", ("const", 1), None, None),)),), [_List(_entries(4, 3))]),
]
IDS = [f"{name}{dict(attrs)}{[np.shape(v) for v in values]}" for name, attrs, values in CASES]


def _env() -> dict:
    env = {"np": np, "math": math}
    for helper in HELPERS.values():
        exec(helper, env)
    return env


def _as_operand(value, stacked=None):
    """The operand as the generated code holds it: a list of entries (from a stacked array
    when perturbed)."""
    if isinstance(value, _List):
        rows = value if stacked is None else list(stacked)
        return [float(r) if np.ndim(r) == 0 else r for r in rows]
    return value if stacked is None else stacked


@pytest.mark.parametrize("name,attrs,values", CASES, ids=IDS)
def test_list_rule_matches_finite_differences(name, attrs, values):
    rule = REGISTRY[name]
    inst = rule.specialized(Context(len(values), attrs, tuple(_type(v) for v in values)))
    env = _env()
    forward = eval(f"lambda {', '.join(inst.slots)}: {inst.forward_text}", env)
    operands = [_as_operand(v) for v in values]
    out = forward(*operands)
    g = RNG.standard_normal(np.shape(out))

    def phi(*vs) -> float:
        return float(np.sum(np.asarray(forward(*vs)) * g))

    checked = 0
    for i, value in enumerate(values):
        if isinstance(value, int) and not isinstance(value, bool):
            continue  # an index
        template = eval(f"lambda {', '.join(inst.slots)}, out, g: {inst.grad_texts[i]}", env)
        grad = np.asarray(template(*operands, out, g), dtype=float)
        stacked = np.array(value, dtype=float)
        if name == "getitem":  # the reverse pass scatters g into the list's stacked zeros
            scattered = np.zeros_like(stacked)
            index = eval(f"lambda {', '.join(inst.slots)}: "
                         f"np.index_exp[{inst.forward_text[3:-1]}]", env)(*values)
            scattered[index] += grad
            grad = scattered
        assert grad.shape == stacked.shape, (i, grad.shape, stacked.shape)
        v = RNG.standard_normal(stacked.shape)
        h = 1e-6
        plus, minus = list(operands), list(operands)
        plus[i] = _as_operand(value, stacked + h * v)
        minus[i] = _as_operand(value, stacked - h * v)
        numeric = (phi(*plus) - phi(*minus)) / (2 * h)
        analytic = float(np.sum(grad * v))
        assert math.isclose(analytic, numeric, rel_tol=1e-6, abs_tol=1e-7), (i, analytic,
                                                                           numeric)
        checked += 1
    assert checked >= 1


def test_every_list_rule_is_in_the_table():
    assert set(LIST_RULES) <= {name for name, _, _ in CASES}


def test_ragged_lists_fail_loudly_where_the_gradient_stacks_them():
    """Entries of different shapes: numpy raises where a gradient would need one shape (the
    stacked gradient cannot represent them), never a silent wrong value."""
    env = _env()
    ragged = [np.ones(2), np.ones(3)]
    broadcasting = [1.0, np.ones(3)]  # sum() broadcasts them; the gradient must not
    sum_grad = REGISTRY["list_sum"].instance(1).grad_texts[0]
    with pytest.raises(ValueError):
        eval(f"lambda a, g: {sum_grad}", env)(broadcasting, np.ones(3))
    concat = REGISTRY["list_concat"].specialized(Context(1, (), (list_of(None),)))
    with pytest.raises(ValueError):
        eval(f"lambda a, g: {concat.grad_texts[0]}", env)(ragged, np.ones(5))
    with pytest.raises(ValueError):
        np.zeros_like(ragged)  # what a scatter into the list's gradient starts from
