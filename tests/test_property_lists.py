"""Property test: random numpy programs with lists that grow while the function runs
(adgen/runlists.py), checked against central differences of the program itself.

Each program runs a recurrence over the rows of `xs` (a `for` over `range(len(xs))`, a `for`
over the rows, or a `while`), updating a state `h` (a vector) with smooth steps, and appends
to one or two lists made before the loop (empty, or holding the initial state): the state,
a product with a weight vector, on every iteration or on one path of a branch (`if t % 2 ==
0`), sometimes reading the list's last entry back inside the loop.  After the loop it reads
the lists with `np.stack`, `np.array`, `np.concatenate`, `sum`, `np.mean(..., axis=0)`,
`hs[-1]`, `hs[0]`, `hs[1:]`, `len(hs)` or a second loop over the entries, and returns a
scalar.  Every list holds entries of one shape, so adgen must compile every program (an
AdgenError fails the test), and the generated gradient must match central differences.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from adgen.compiler import compile_source
from property_settings import DERANDOMIZE, examples

SMOOTH = ("np.tanh({})", "np.sin({})", "0.5 * {}", "({}) * 0.75 + 0.1")


def _program(seed: int) -> str:
    rng = random.Random(seed)
    lines = ["h = v * 1.0"]
    lists = ["hs"] + (["ks"] if rng.random() < 0.5 else [])
    starts = {name: rng.random() < 0.4 for name in lists}
    for name in lists:
        lines.append(f"{name} = [v]" if starts[name] else f"{name} = []")
    loop = rng.randrange(3)
    if loop == 0:
        lines.append("for t in range(len(xs)):")
        row = "xs[t]"
    elif loop == 1:
        lines.append("for t, row in enumerate(xs):")
        row = "row"
    else:
        lines += ["t = 0", "while t < len(xs):"]
        row = "xs[t]"
    body = []
    if starts["hs"] and rng.random() < 0.5:
        body.append(f"prev = hs[-1]")
        state = rng.choice(SMOOTH).format(f"{row} * w + prev * 0.5")
    else:
        state = rng.choice(SMOOTH).format(f"{row} * w + h @ W")
    body.append(f"h = {state}")
    for name in lists:
        entry = rng.choice(["h", "h * w", "np.tanh(h) + 0.1"])
        if rng.random() < 0.3:
            body += ["if t % 2 == 0:", f"    {name}.append({entry})"]
        else:
            body.append(f"{name}.append({entry})")
    if loop == 2:
        body.append("t += 1")
    lines += ["    " + line for line in body]
    terms = []
    for name in lists:
        read = rng.randrange(9)
        if read == 0:
            terms.append(f"np.sum(np.stack({name}) ** 2)")
        elif read == 1:
            terms.append(f"np.sum(sum({name}) * w) / len({name})")
        elif read == 2:
            terms.append(f"np.sum(np.mean({name}, axis=0) ** 2)")
        elif read == 3:
            terms.append(f"np.sum({name}[-1] * {name}[0])")
        elif read == 4:
            terms.append(f"np.sum(np.array({name}) * 0.5)")
        elif read == 5:
            terms.append(f"np.sum(np.concatenate({name}) ** 2)")
        elif read == 6:
            terms.append(f"np.sum(np.stack({name}[1:]) ** 3)")
        elif read == 7:
            lines += ["acc = 0.0", f"for e in {name}:", "    acc = acc + np.sum(np.sin(e))"]
            terms.append("acc")
        else:
            terms.append(f"np.sum(np.stack({name}, axis=1) @ np.ones(len({name})))")
    lines.append(f"return {' + '.join(terms)} + np.sum(h)")
    body_text = "\n".join("    " + line for line in lines)
    return (f"import numpy as np\n\n\ndef f(xs: \"T N\", w: \"N\", W: \"N N\", v: \"N\"):\n"
            f"{body_text}\n")


def _numeric(fn, args, i, h=1e-6):
    grad = np.zeros_like(args[i])
    for index in np.ndindex(args[i].shape):
        plus = [a.copy() for a in args]
        minus = [a.copy() for a in args]
        plus[i][index] += h
        minus[i][index] -= h
        grad[index] = (fn(*plus) - fn(*minus)) / (2 * h)
    return grad


# a program is drawn from a seed (no shrinking: the failure shows the program)
@settings(max_examples=examples(40), deadline=None, derandomize=DERANDOMIZE,
          phases=(Phase.explicit, Phase.reuse, Phase.generate))
@given(seed=st.integers(0, 10 ** 6), steps=st.integers(1, 5), point=st.integers(0, 10 ** 6))
def test_programs_with_growing_lists_get_the_gradient_of_the_function(seed, steps, point):
    text = _program(seed)
    compiled = compile_source(text, "prop_lists.py")  # an AdgenError fails the test
    namespace: dict = {}
    exec(compile(text, "prop_lists.py", "exec"), namespace)
    generated: dict = {}
    exec(compile(compiled.source, "prop_lists_grad.py", "exec"), generated)
    nprng = np.random.default_rng(point)
    N = 3
    args = [nprng.uniform(-1, 1, (steps, N)), nprng.uniform(-1, 1, N),
            nprng.uniform(-0.6, 0.6, (N, N)), nprng.uniform(-1, 1, N)]
    try:
        value = namespace["f"](*[a.copy() for a in args])
    except (ValueError, IndexError) as exc:  # np.stack([]), hs[0] of []: so must the
        with pytest.raises(type(exc)):  # gradient, which runs the same forward pass
            generated["f_grad"](*[a.copy() for a in args])
        return
    if not np.isfinite(value):
        return
    grads = generated["f_grad"](*[a.copy() for a in args])
    for i, got in enumerate(grads):
        expected = _numeric(namespace["f"], args, i)
        assert np.shape(got) == np.shape(expected), (text, i)
        assert np.allclose(got, expected, rtol=1e-5, atol=1e-6), (text, i, got, expected)
