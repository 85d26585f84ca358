"""Saturated sigmoids: the same two-layer sigmoid network, initialised badly and well.

    python examples/leaky/saturated_mlp.py          # the lens report of both
    adgen examples/leaky/saturated_mlp.py --lens    # the notes, without running anything

The sigmoid's local gradient `s * (1 - s)` is at most 0.25, and about 0 where |z| is large.
With weights drawn from N(0, 1) and 100 inputs, the hidden layer's pre-activations have a
standard deviation of about 10: half of the units sit where `s * (1 - s) < 0.0025` (|z| > 6),
and the gradient through them is cut more than 100x.  With Xavier's initialisation (standard
deviation 1 / sqrt(fan_in)) the pre-activations are O(1) and nothing saturates.  The output
is a sigmoid under a quadratic cost (Nielsen's chapter 2), whose gradient keeps the
`s * (1 - s)` factor: `adgen --lens` says so (AD603), the cross-entropy would cancel it.
"""

import numpy as np


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def loss(X, W1, b1, W2, b2, Y):
    h = sigmoid(X @ W1 + b1)
    out = sigmoid(h @ W2 + b2)
    return 0.5 * np.sum((out - Y) ** 2) / X.shape[0]


if __name__ == "__main__":
    import adgen

    rng = np.random.default_rng(0)
    N, D, H, C = 64, 100, 50, 10
    X = rng.standard_normal((N, D))
    Y = np.eye(C)[rng.integers(0, C, size=N)]
    for name, scale1, scale2 in (("bad: N(0, 1)", 1.0, 1.0),
                                 ("good: Xavier", 1 / np.sqrt(D), 1 / np.sqrt(H))):
        W1, b1 = scale1 * rng.standard_normal((D, H)), np.zeros(H)
        W2, b2 = scale2 * rng.standard_normal((H, C)), np.zeros(C)
        print(f"# initialisation {name}")
        print(adgen.lens(loss)(X, W1, b1, W2, b2, Y))
        print()
