"""Calling your own functions: adgen inlines calls to functions of the same file.

    adgen examples/helpers.py -o examples/helpers_grad.py

A call to a function defined in the same file is inlined: its body is staged in place, with its
names versioned where they would collide (`z`, `z_1`, ...), so the backward pass reads as if
the helper had been written out at each call, each copy's lines pointing at the helper's
source.  Helpers can call helpers, take keyword arguments and defaults, and return tuples.
Recursion is rejected (AD206).  By default `adgen` compiles only the functions that no other
function of the file calls (here `gated`, `polar_loss`, `mlp_loss`); name a helper with `-f`
to compile it alone.

* `gated` — a `sigmoid` helper used twice (a GRU-like gate `s(a) * x + (1 - s(a)) * y`); each
  call gets its own `(1 - sig) * sig` local gradient.
* `polar_loss` — a helper returning a tuple, `r, theta = to_polar(x, y)`, and a helper calling
  helpers (`softplus` of a `scaled` value, with a keyword argument).
* `mlp_loss` — an `affine_relu` helper reused layer by layer in numpy (`h1 = affine_relu(x,
  W1, b1)`, `h2 = affine_relu(h1, W2, b2)`); the backward pass is the CS231n
  `affine_relu_backward`, twice, in reverse order.
"""

import math

import numpy as np


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


def gated(a, x, y):
    """A gate between two values: `sigmoid(a) * x + (1 - sigmoid(a)) * y`, and a second,
    independent gate on the result."""
    s = sigmoid(a)
    mixed = s * x + (1 - s) * y
    return sigmoid(mixed) * mixed


def scaled(v, factor=1.0):
    return factor * v


def softplus(z, beta=1.0):
    """Softplus with a sharpness: log(1 + exp(beta z)) / beta."""
    return math.log(1 + math.exp(scaled(z, factor=beta))) / beta


def to_polar(x, y):
    """(radius, angle) of the point (x, y)."""
    r = math.sqrt(x * x + y * y)
    theta = math.atan2(y, x)
    return r, theta


def polar_loss(x, y):
    """A loss on the polar coordinates of (x, y): a soft penalty on the radius above 1, plus
    the squared angle."""
    r, theta = to_polar(x, y)
    return softplus(r - 1.0, beta=4.0) + theta * theta


def affine_relu(x, w, b):
    """CS231n's affine_relu_forward, without the cache: relu(x @ w + b)."""
    return np.maximum(0, x @ w + b)


def mlp_loss(x, W1, b1, W2, b2, w3: "H"):
    """Two affine-ReLU layers (the same helper twice) and a linear read-out; the loss is the
    mean squared output.  Only `w3` is annotated: nothing in the code says the read-out is a
    vector (the command line would take `h2 @ w3` for a product of matrices); the library
    API needs no annotation at all, it reads the shapes off the arguments."""
    h1 = affine_relu(x, W1, b1)
    h2 = affine_relu(h1, W2, b2)
    out = h2 @ w3
    return np.mean(out * out)


if __name__ == "__main__":
    print(f"gated(0.3, 2.0, -1.0) = {gated(0.3, 2.0, -1.0):.6f}")
    print(f"polar_loss(1.5, 0.5) = {polar_loss(1.5, 0.5):.6f}")
    rng = np.random.default_rng(0)
    N, D, H = 4, 3, 5
    value = mlp_loss(rng.standard_normal((N, D)), rng.standard_normal((D, H)),
                     rng.standard_normal(H), rng.standard_normal((H, H)), rng.standard_normal(H),
                     rng.standard_normal(H))
    print(f"mlp_loss = {value:.6f}")
