"""The rule table for arrays: every array rule's gradient templates, specialised for operand
shapes that broadcast, every axis/keepdims combination and every matrix-product rank, against
central differences along random directions.  (Scalar rules: tests/test_rules.py.)"""

from __future__ import annotations

import math

import numpy as np
import pytest

from adgen import shapes
from adgen.prelude import HELPERS
from adgen.rules import REGISTRY, Context
from adgen.rules.lists import LIST_RULES
from adgen.shapes import VType

RNG = np.random.default_rng(7)


def _type(value) -> VType:
    if isinstance(value, bool) or (isinstance(value, np.ndarray) and value.dtype == bool):
        return VType("bool", np.shape(value))
    if isinstance(value, float):
        return shapes.FLOAT
    if isinstance(value, int):
        return shapes.INT
    if np.issubdtype(np.asarray(value).dtype, np.integer):
        return VType("intarray", np.shape(value))
    return shapes.array(np.shape(value))


def _sum_to(g, shape):
    """numpy broadcasting reversed (what the reverse pass does for element-wise rules)."""
    while np.ndim(g) > len(shape):
        g = g.sum(axis=0)
    for i, n in enumerate(shape):
        if n == 1 and np.shape(g)[i] != 1:
            g = g.sum(axis=i, keepdims=True)
    return g


def _setitem(x, value, index):
    out = np.array(x, copy=True)
    out[index] = value
    return out


def _array(*shape, low=-2.0, high=2.0):
    return RNG.uniform(low, high, size=shape)


BROADCASTS = [((3, 4), (4,)), ((3, 1), (3, 4)), ((2, 3, 4), (3, 1)), ((3, 4), ()), ((), (4,)),
              ((3, 4), (3, 4))]


def _operands(shape_a, shape_b, positive_a=False):
    a = float(RNG.uniform(0.5, 2)) if shape_a == () else _array(*shape_a, low=0.5 if
                                                                 positive_a else -2.0)
    b = float(RNG.uniform(-2, 2)) if shape_b == () else _array(*shape_b)
    return [a, b]


def _sampled(shape, interval):
    """A float array of `shape` (a number for ()) drawn from the rule's domain."""
    low, high = interval
    return float(RNG.uniform(low, high)) if shape == () else _array(*shape, low=low, high=high)


def _matrix(kind, *dims):
    """("nonsingular", [batch,] n): a random matrix plus n times the identity; ("spd", n):
    symmetric positive definite, b @ b.T + n * I (the linear algebra rules' domains)."""
    n = dims[-1]
    b = _array(*dims[:-1], n, n)
    if kind == "spd":
        return b @ np.swapaxes(b, -1, -2) + n * np.eye(n)
    return b + n * np.eye(n)


def _on_arrays(rule) -> bool:
    """An element-wise rule that takes arrays: a numpy function or an operator numpy also
    spells (np.add is `+`)."""
    return rule.elementwise and not rule.nondifferentiable and (
        rule.name.startswith("np_") or any(s.startswith("numpy.") for s in rule.spellings))


CASES = []
# Every element-wise rule on arrays, systematically: one operand at ranks 1 to 3, two
# operands at every broadcast in BROADCASTS, each drawn from the rule's domain.
for rule in REGISTRY:
    if not _on_arrays(rule):
        continue
    domain = rule.domain(rule.arity)
    if rule.arity == 1:
        for shape in ((5,), (3, 4), (2, 3, 4)):
            CASES.append((rule.name, (), [_sampled(shape, domain[0])]))
    elif rule.arity == 2:
        for sa, sb in BROADCASTS:
            CASES.append((rule.name, (), [_sampled(sa, domain[0]), _sampled(sb, domain[1])]))
# Every rule that declares samples (shapes and static arguments) in the registry.
for rule in REGISTRY:
    for attrs, operands in rule.samples:
        domain = rule.domain(len(operands)) if not rule.variadic or \
            len(rule.domain(len(operands))) == len(operands) else None
        values = []
        for i, spec in enumerate(operands):
            if isinstance(spec, tuple) and spec and isinstance(spec[0], str):
                values.append(_matrix(*spec))
            elif isinstance(spec, tuple):
                values.append(_sampled(spec, domain[i] if domain else (-2.0, 2.0)))
            elif isinstance(spec, list):
                values.append(np.array(spec))
            else:
                values.append(spec)
        CASES.append((rule.name, tuple(attrs), values))
for name in ("np_sigmoid", "transpose", "ravel", "flatten", "np_copy", "copy_method",
             "np_asarray"):
    CASES.append((name, (), [_array(3, 4)]))
CASES.append(("np_clip", (), [_array(3, 4), -1.0, 1.0]))
CASES.append(("np_clip", (), [_array(3, 4), _array(4, low=-1.5, high=-0.5), 1.0]))
CASES.append(("np_where", (), [_array(3, 4) > 0, _array(3, 4), _array(4)]))
for name in ("np_sum", "np_mean", "np_var", "np_std", "np_max", "np_min"):
    for axis in (None, 0, 1, -1) + (((0, 2),) if name not in ("np_max", "np_min") else ()):
        for keepdims in (False, True):
            attrs = tuple(a for a in (("axis", axis), ("keepdims", keepdims)) if a[1] not in
                          (None, False))
            CASES.append((name, attrs, [_array(3, 4, 2)]))
for axis in (None, 0, 1, -1):
    for keepdims in (False, True):
        attrs = tuple(a for a in (("axis", axis), ("keepdims", keepdims)) if a[1] not in
                      (None, False))
        CASES.append(("np_linalg_norm", attrs, [_array(3, 4)]))
for sa, sb in (((3, 4), (4, 2)), ((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 2)),
               ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)), ((2, 3, 4), (2, 4, 5)),
               ((2, 1, 3, 4), (5, 4, 2))):
    CASES.append(("matmul", (), [_array(*sa), _array(*sb)]))
CASES.append(("reshape", (), [_array(2, 3, 2), 6, -1]))
CASES.append(("np_concatenate", (("axis", 1),), [_array(3, 2), _array(3, 4), _array(3, 1)]))
CASES.append(("np_concatenate", (("axis", 0),), [_array(2, 3), _array(4, 3)]))
CASES.append(("np_stack", (("axis", 1),), [_array(3, 2), _array(3, 2)]))
CASES.append(("np_hstack", (), [_array(3, 2), _array(3, 4)]))
CASES.append(("np_vstack", (), [_array(2, 3), _array(4, 3)]))
CASES.append(("np_column_stack", (), [_array(3), _array(3), _array(3)]))
CASES.append(("np_column_stack", (), [_array(3, 2), _array(3, 1)]))
CASES.append(("np_expand_dims", (), [_array(3, 2), 1]))
CASES.append(("np_squeeze", (("axis", 1),), [_array(3, 1, 2)]))
CASES.append(("np_outer", (), [_array(3), _array(4)]))
CASES.append(("transpose", (("axes", (2, 0, 1)),), [_array(2, 3, 4)]))
CASES.append(("getitem", (("index", (("slice", None, None, None), ("arg", 1))),),
              [_array(3, 4), 2]))
CASES.append(("getitem", (("index", (("arg", 1), ("arg", 2))),),
              [_array(3, 4), np.array([0, 2, 2, 1]), np.array([1, 1, 1, 3])]))
CASES.append(("getitem", (("index", (("slice", ("const", 1), None, None), ("newaxis",))),),
              [_array(3, 4)]))
CASES.append(("setitem", (("index", (("slice", None, None, None), ("arg", 2))),),
              [_array(3, 4), _array(3), 1]))
CASES.append(("setitem", (("index", (("arg", 2), ("arg", 3))),),
              [_array(3, 4), 0.0, np.array([0, 2, 2]), np.array([1, 3, 3])]))
IDS = [f"{name}{dict(attrs)}{[np.shape(v) for v in values]}" for name, attrs, values in CASES]


@pytest.mark.parametrize("name,attrs,values", CASES, ids=IDS)
def test_array_rule_matches_finite_differences(name, attrs, values):
    rule = REGISTRY[name]
    inst = rule.specialized(Context(len(values), attrs, tuple(_type(v) for v in values)))
    env = {"np": np, "math": math, "_setitem": _setitem}
    for helper in HELPERS.values():
        exec(helper, env)
    forward = eval(f"lambda {', '.join(inst.slots)}: {inst.forward_text}", env)
    out = forward(*values)
    g = RNG.standard_normal(np.shape(out))

    def phi(*vs) -> float:
        return float(np.sum(forward(*vs) * g))

    checked = 0
    for i, (slot, value) in enumerate(zip(inst.slots, values)):
        t = _type(value)
        if not t.differentiable or rule.nondifferentiable or i in rule.passive:
            continue  # a passive operand's gradient is never taken (np.full_like's array)
        if name == "setitem" and i == 1 and any(np.ndim(v) for v in values[2:]):
            continue  # a value through an integer-array index: rejected when staged (AD305)
        template = eval(f"lambda {', '.join(inst.slots)}, out, g: {inst.grad_texts[i]}", env)
        grad = template(*values, out, g)
        if rule.elementwise and len(values) > 1:
            grad = _sum_to(np.asarray(grad), np.shape(value))
        if name == "setitem":  # the reverse pass masks x's gradient, sums v's to its shape
            index = eval(f"lambda {', '.join(inst.slots)}: "
                         f"{inst.forward_text.split(', ', 2)[2][:-1]}", env)(*values)
            grad = np.array(g, copy=True)
            if i == 0:
                grad[index] = 0.0
            else:
                grad = _sum_to(np.asarray(g[index]), np.shape(value))
        if name == "getitem":  # the reverse pass scatters g back: np.add.at(dx, index, g)
            scattered = np.zeros_like(value)
            index = eval(f"lambda {', '.join(inst.slots)}: "
                         f"np.index_exp[{inst.forward_text[3:-1]}]", env)(*values)
            np.add.at(scattered, index, grad)
            grad = scattered
        assert np.shape(grad) == np.shape(value), (slot, np.shape(grad), np.shape(value))
        v = RNG.standard_normal(np.shape(value))
        h = 1e-6
        plus, minus = list(values), list(values)
        plus[i], minus[i] = value + h * v, value - h * v
        numeric = (phi(*plus) - phi(*minus)) / (2 * h)
        analytic = float(np.sum(grad * v))
        assert math.isclose(analytic, numeric, rel_tol=1e-6, abs_tol=1e-7), (slot, analytic,
                                                                           numeric)
        checked += 1
    assert checked >= 1


def test_fused_softmax_gate_matches_finite_differences():
    """softmax_div(E, S, X) (adgen/fuse.py) routes the gradient to X: check it against the
    softmax of X along each axis."""
    rule = REGISTRY["softmax_div"]
    for axis in (0, 1, -1):
        x = _array(3, 4)
        e = np.exp(x)
        s = e.sum(axis=axis, keepdims=True)
        inst = rule.specialized(Context(3, (("axis", axis),), (shapes.array((3, 4)),) * 3))
        out = eval(f"lambda a, b, c: {inst.forward_text}", {"np": np})(e, s, x)
        g = RNG.standard_normal((3, 4))
        grad = eval(f"lambda a, b, c, out, g: {inst.grad_texts[2]}", {"np": np})(e, s, x,
                                                                               out, g)
        v, h = RNG.standard_normal((3, 4)), 1e-6

        def phi(z):
            ez = np.exp(z)
            return float(np.sum(ez / ez.sum(axis=axis, keepdims=True) * g))

        numeric = (phi(x + h * v) - phi(x - h * v)) / (2 * h)
        assert math.isclose(float(np.sum(grad * v)), numeric, rel_tol=1e-6, abs_tol=1e-8)


def _fused_check(name, attrs, operands, phi, shape):
    """A fused gate's gradient to its last operand (its dense template, then its sparse
    part `dx[index] += value`) against central differences of phi (the gate as a function
    of that operand) along a random direction, for a random upstream gradient."""
    rule = REGISTRY[name]
    x = operands[-1]
    types = tuple(_type(v) for v in operands)
    inst = rule.specialized(Context(len(operands), attrs, types))
    env = {"np": np, **dict(zip(inst.slots, operands))}
    out = eval(inst.forward_text, env)
    assert np.allclose(out, phi(x)), name  # the forward template computes the gate
    g = RNG.standard_normal(np.shape(out)) if np.ndim(out) else float(RNG.standard_normal())
    env.update(out=out, g=g)
    grad = np.array(eval(inst.grad_texts[-1], env), dtype=float)
    assert grad.shape == shape, name
    if inst.scatter is not None:
        index, value = (eval(t, env) for t in inst.scatter_texts)
        grad[index] += value  # rows = arange(N): no (row, label) pair repeats
    v, h = RNG.standard_normal(shape), 1e-6
    numeric = (np.sum(phi(x + h * v) * g) - np.sum(phi(x - h * v) * g)) / (2 * h)
    assert math.isclose(float(np.sum(grad * v)), numeric, rel_tol=1e-6, abs_tol=1e-8), name


def test_fused_sigmoid_gate_matches_finite_differences():
    """sigmoid_div(1, 1 + E, Z) with E = exp(-Z) (adgen/fuse.py): the gradient to Z."""
    z = _array(3, 4)
    _fused_check("sigmoid_div", (), [1.0, 1.0 + np.exp(-z), z],
                 lambda v: 1.0 / (1.0 + np.exp(-v)), (3, 4))


def _logsumexp(x, axis=None, keepdims=False):
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


def _log_softmax(x, axis):
    return x - _logsumexp(x, axis, keepdims=True)


@pytest.mark.parametrize("axis,keepdims", [(None, False), (None, True), (0, False),
                                           (1, False), (-1, False), (0, True), (-1, True)])
def test_fused_logsumexp_gate_matches_finite_differences(axis, keepdims):
    """logsumexp(S, E, X) (adgen/fuse.py): L = log(sum(exp(X))) with the gradient E / S * g
    straight to X, for every axis/keepdims form."""
    x = _array(3, 4)
    e = np.exp(x)
    s = np.sum(e, axis=axis, keepdims=keepdims)
    _fused_check("logsumexp", (("axis", axis), ("keepdims", keepdims)), [s, e, x],
                 lambda z: _logsumexp(z, axis, keepdims), (3, 4))


@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, True), (1, True)])
def test_fused_logsumexp_max_gate_matches_finite_differences(axis, keepdims):
    """logsumexp_max(m, L, E, S, A): m + log(sum(exp(A - m))) with the gradient to A only
    (the max's route is exactly zero, so checking against logsumexp(A) covers it)."""
    a = _array(3, 4)
    m = np.max(a, axis=axis, keepdims=keepdims)
    e = np.exp(a - m)
    s = np.sum(e, axis=axis, keepdims=keepdims)
    _fused_check("logsumexp_max", (), [m, np.log(s), e, s, a],
                 lambda z: _logsumexp(z, axis, keepdims), (3, 4))


@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("shifted", [False, True])
def test_fused_log_softmax_gate_matches_finite_differences(axis, shifted):
    """log_softmax(X, L, E, S, A): g - E / S * g.sum(axis) to A, with X = A or (shifted) X
    = A - max(A): the log-softmax does not change under the shift."""
    a = _array(3, 4)
    x = a - a.max(axis=axis, keepdims=True) if shifted else a
    e = np.exp(x)
    s = e.sum(axis=axis, keepdims=True)
    _fused_check("log_softmax", (("axis", axis),), [x, np.log(s), e, s, a],
                 lambda z: _log_softmax(z, axis), (3, 4))


@pytest.mark.parametrize("reduce", [None, "sum", "mean"])
@pytest.mark.parametrize("name", ["softmax_log_pick", "log_softmax_pick"])
def test_fused_cross_entropy_picks_match_finite_differences(name, reduce):
    """The cross-entropy picks: log(P[rows, y]) of a softmax and Y[rows, y] of a
    log-softmax, rows = np.arange(N): a dense part -P * g[:, newaxis], then += g at the
    labels (a label may repeat across rows; a (row, label) pair cannot); and their sum and
    mean over the rows."""
    a = _array(5, 3)
    x = a - a.max(axis=1, keepdims=True)
    e = np.exp(x)
    s = e.sum(axis=1, keepdims=True)
    rows, y = np.arange(5), np.array([2, 0, 2, 1, 2])
    if name == "softmax_log_pick":
        probs = e / s
        picked = np.log(probs[rows, y])
        operands = [probs[rows, y] if reduce is None else picked, probs, rows, y, 5, a]
    else:
        picked = (x - np.log(s))[rows, y]
        operands = [x - np.log(s) if reduce is None else picked, rows, y, e, s, 5, a]
    attrs = () if reduce is None else (("reduce", reduce),)
    reduced = {None: lambda v: v, "sum": np.sum, "mean": np.mean}[reduce]
    _fused_check(name, attrs, operands, lambda z: reduced(_log_softmax(z, 1)[rows, y]),
                 (5, 3))


def test_every_array_rule_is_in_the_table():
    """A rule that works on arrays and is not covered by the scalar table is listed here."""
    fused = {"softmax_div", "logsumexp", "logsumexp_max", "log_softmax", "softmax_log_pick",
             "log_softmax_pick", "sigmoid_div"}  # fused gates: their own tests above
    fused |= set(LIST_RULES)  # lists built at run time: tests/test_rules_lists.py
    covered = {name for name, _, _ in CASES} | fused
    scalar_only = {r.name for r in REGISTRY if r.elementwise and not r.name.startswith("np_")
                   and r.name not in covered}
    array_rules = {r.name for r in REGISTRY} - scalar_only
    nondifferentiable = {r.name for r in REGISTRY if r.nondifferentiable}
    assert array_rules - covered - nondifferentiable == set()


def test_the_numpy_functions_templates_may_call_exist():
    """The registry lists them instead of reading dir(numpy), which would import numpy."""
    from adgen.rules.registry import NUMPY_FUNCTIONS, RuleError, parse_template

    for name in sorted(NUMPY_FUNCTIONS):
        obj = np
        for part in name.split("."):
            obj = getattr(obj, part)
        assert callable(obj), name
    with pytest.raises(RuleError, match="NUMPY_FUNCTIONS"):
        parse_template("np.unique(a)", {"a"}, "test")


def test_max_and_min_reductions_route_ties_to_the_first_element():
    from adgen.rules import REGISTRY as rules

    a = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    for name, axis, expected in (
            ("np_max", 1, [[0, 1, 0], [1, 0, 0]]), ("np_min", 1, [[1, 0, 0], [0, 0, 1]]),
            ("np_max", None, [[0, 1, 0], [0, 0, 0]]), ("np_max", 0, [[0, 1, 1], [1, 0, 0]])):
        attrs = (("axis", axis),) if axis is not None else ()
        inst = rules[name].specialized(Context(1, attrs, (shapes.array((2, 3)),)))
        env = {"np": np}
        for helper in HELPERS.values():
            exec(helper, env)
        out = eval(f"lambda a: {inst.forward_text}", env)(a)
        grad = eval(f"lambda a, out, g: {inst.grad_texts[0]}", env)(a, out, np.ones_like(out))
        assert np.array_equal(grad, expected), (name, axis, grad)


def test_norm_gradient_is_zero_where_the_norm_is_zero():
    from adgen.rules import REGISTRY as rules

    inst = rules["np_linalg_norm"].specialized(
        Context(1, (("axis", 1),), (shapes.array((2, 3)),)))
    a = np.array([[0.0, 0.0, 0.0], [3.0, 4.0, 0.0]])
    env = {"np": np}
    out = eval(f"lambda a: {inst.forward_text}", env)(a)
    grad = eval(f"lambda a, out, g: {inst.grad_texts[0]}", env)(a, out, np.ones(2))
    assert np.all(np.isfinite(grad)) and np.allclose(grad, [[0.0, 0.0, 0.0], [0.6, 0.8, 0.0]])


def test_every_elementwise_numpy_spelling_runs_on_symbols():
    """Verification runs the user's function on sympy symbols: every numpy function an
    element-wise rule is spelled as has a stand-in in adgen.symbolic.NP."""
    from adgen import symbolic

    for rule in REGISTRY:
        for spelling in rule.spellings:
            if rule.elementwise and spelling.startswith("numpy."):
                assert hasattr(symbolic.NP, spelling[len("numpy."):]), spelling


@pytest.mark.parametrize("name,attrs,shapes_,message", [
    ("np_linalg_norm", (("ord", 2),), [(3, 4)], "matrix with ord=2"),
    ("np_linalg_norm", (("ord", 1), ("axis", (0, 1))), [(3, 4)], "matrix with ord=1"),
    ("np_linalg_norm", (("ord", 3),), [(4,)], "vector with ord=3"),
    ("np_linalg_norm", (("ord", -math.inf), ("axis", 0)), [(3, 4)], "vector with ord=-inf"),
    ("np_linalg_norm", (("ord", "fro"),), [(4,)], "vector with ord='fro'"),
    ("np_diff", (("n", 2),), [(5,)], "n=1"),
    ("np_kron", (), [(3,), (2, 2)], "one rank"),
    ("np_tensordot", (("axes", ((0, 1), (0,))),), [(3, 4), (3, 4)], "one length"),
    ("np_tensordot", (("axes", 3),), [(3, 4), (3, 4)], "axes=3"),
    ("np_cross", (), [(2,), (2,)], "3-vectors"),
    ("np_inner", (), [(), (3,)], "a product"),
    ("np_linalg_pinv", (), [(2, 3, 3)], "one matrix"),
    ("np_broadcast_to", (("shape", "n"),), [(3,)], "literal tuple"),
    ("np_convolve", (("mode", "middle"),), [(4,), (3,)], "'full', 'same' or 'valid'"),
    ("np_convolve", (), [(), (3,)], "a product"),
    ("np_convolve", (("mode", "same"),), [(2, 3), (3,)], "vectors"),
    ("np_polyval", (), [(2, 3), (4,)], "vector of coefficients"),
    ("np_linspace", (("num", 5),), [(3,), ()], "two numbers"),
    ("np_linspace", (("num", -1),), [(), ()], "non-negative int"),
])
def test_array_rules_refuse_what_they_cannot_differentiate_exactly(name, attrs, shapes_,
                                                                   message):
    """A form with no exact gradient here is refused (a RuleError the stager reports, located,
    as AD305), never given an approximate one."""
    from adgen.rules.registry import RuleError

    types = tuple(shapes.array(s) if s else shapes.FLOAT for s in shapes_)
    with pytest.raises(RuleError, match=message):
        REGISTRY[name].specialized(Context(len(types), attrs, types))


def test_refused_forms_are_located_diagnostics():
    import adgen
    from adgen.diagnostics import AdgenError

    def cast(a):
        return np.sum(a.astype(int) * a)

    with pytest.raises(AdgenError, match=r"AD305.*\.astype\(int\).*depends on the "
                       r"differentiated input 'a'.*a step with no gradient"):
        adgen.grad(cast)(np.ones(3))

    def narrower(a):
        return np.sum(a.astype(np.float32) ** 2)

    with pytest.raises(AdgenError, match=r"AD305.*\.astype\(float32\).*rounds"):
        adgen.grad(narrower)(np.ones(3))


@pytest.mark.parametrize("dtype", ["bool", "int", "np.int64", "np.float32"])
def test_a_cast_no_gradient_flows_through_is_computed_as_written(dtype, tmp_path):
    """A causal mask (`np.triu(np.ones((T, T)), k=1).astype(bool)`) or an index array built
    from constants carries no derivative: the cast is computed as written, only a cast of a
    value that depends on a differentiated input is refused (Rule.step)."""
    import importlib.util

    import adgen

    path = tmp_path / f"masked_{dtype.replace('.', '_')}.py"
    path.write_text(f"""import numpy as np


def masked(x, w):
    T = x.shape[0]
    mask = np.triu(np.ones((T, T)), k=1).astype({dtype})
    s = np.where(mask, 0.0, x @ w.T)
    return np.sum(s ** 2)
""")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    s = np.where(np.triu(np.ones((4, 4)), k=1).astype(bool), 0.0, x @ w.T)
    gx, gw = adgen.grad(module.masked)(x, w)
    assert np.allclose(gx, (2 * s) @ w) and np.allclose(gw, (2 * s).T @ x)
    assert f".astype('{dtype.replace('np.', '')}')" in adgen.source(module.masked, x, w)


def test_norm_with_ord_and_the_fence_read_numpy_infinity():
    import adgen

    def f(a):
        return np.linalg.norm(a, np.inf) + np.linalg.norm(a, ord=1)

    a = np.array([0.5, -2.0, 1.0])
    assert np.allclose(adgen.grad(f)(a), [1.0, -2.0, 1.0])  # sign(a) + (-1 at |a|'s max)
