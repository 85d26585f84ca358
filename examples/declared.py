"""A rule of your own: a function adgen calls without reading, with the backward you give.

    adgen examples/declared.py -o examples/declared_grad.py

`logsumexp` is marked `@adgen.primitive`, and `@logsumexp.backward` declares its backward:
given `g` (the gradient of the result), `out` (the result) and the arguments, it returns the
gradient of each argument.  adgen does not stage logsumexp's code: a call is one statement,
and the generated backward pass calls `logsumexp_backward` by name, importing both functions
from this module (`from declared import logsumexp, logsumexp_backward`; the generated module
never imports adgen).  `adgen.check_grad(logsumexp, x)` checks the backward against finite
differences -- and a wrong one is named when a function that calls it fails its check
(docs/rules.md#adding-your-own-rule).

`pairwise` takes two arguments, so its backward returns two gradients: the generated code
calls it once and picks them.
"""

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
def pairwise(a, b) -> "N M":
    """Squared distances between the rows of a and the rows of b."""
    return np.sum(a ** 2, axis=1)[:, None] + np.sum(b ** 2, axis=1)[None, :] - 2 * a @ b.T


@pairwise.backward
def pairwise_backward(g, out, a, b):
    da = 2 * (np.sum(g, axis=1)[:, None] * a - g @ b)
    db = 2 * (np.sum(g, axis=0)[:, None] * b - g.T @ a)
    return da, db


def soft_energy(x: "N D", centers: "M D", temperature=0.5):
    """A soft-minimum energy of the points' distances to the centers (soft k-means)."""
    d = pairwise(x, centers)
    return -temperature * logsumexp(-d.ravel() / temperature)


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    x, centers = rng.standard_normal((6, 2)), rng.standard_normal((3, 2))
    print("soft_energy:", soft_energy(x, centers))
    print(adgen.check_grad(logsumexp, rng.standard_normal(4)).format())
