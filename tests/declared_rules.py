"""Primitives with declared backwards (adgen/userrules.py), for tests/test_userrules.py:
`adgen.primitive` marks a function adgen calls without reading, `@f.backward` its
backward."""

import math

import numpy as np

import adgen


@adgen.primitive
def logsumexp(x) -> float:
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


@logsumexp.backward
def logsumexp_backward(g, out, x):
    return g * np.exp(x - out)


@adgen.primitive
def scaled(x, s):
    return x * s


@scaled.backward
def scaled_backward(g, out, x, s):
    return g * s, np.sum(g * x)


@adgen.primitive
def softplus(x):
    return math.log1p(math.exp(x))


@softplus.backward
def softplus_backward(g, out, x):
    return g / (1 + math.exp(x))  # wrong on purpose: the sigmoid is 1 / (1 + exp(-x))


@adgen.primitive
def passthrough(x):
    return x


@passthrough.backward
def passthrough_backward(g, out, x):
    return g  # the upstream gradient itself: adgen must not add into it in place


def loss(w, x):
    z = x @ w
    return logsumexp(scaled(z, 2.0)) - z[0]


def twice(x):
    return softplus(2.0 * x) ** 2


def shared(x):
    y = x * 3.0
    p = passthrough(y)
    return np.sum(p * x) + np.sum(y)
