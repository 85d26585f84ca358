"""Programs for the library API's in-place steps (adgen/inplace.py): chains it may compute
into a dead array, and arrays it must not overwrite because something still reads them --
a view taken earlier, the backward pass, the return value, a later iteration, a list, a
branch, the same operand twice.  tests/test_inplace.py checks which ones are computed in
place; every route checks the gradients."""

import numpy as np

N, D, H = 4, 3, 5

INPUTS = {
    "chain": {"X": ((N, D), -1.0, 1.0), "W": ((D, H), -1.0, 1.0), "b": ((H,), -0.5, 0.5)},
    "softmax_shifted": {"s": ((N, H), -2.0, 2.0), "w": ((N, H), -1.0, 1.0)},
    "view_taken_first": {"X": ((N, D), -1.0, 1.0), "W": ((D, H), -1.0, 1.0)},
    "read_by_backward": {"X": ((N, D), -1.0, 1.0), "W": ((D, H), -1.0, 1.0)},
    "returned_array": {"X": ((N, D), -1.0, 1.0), "W": ((D, H), -1.0, 1.0)},
    "read_after": {"X": ((N, D), -1.0, 1.0), "W": ((D, H), -1.0, 1.0)},
    "squared_operand": {"X": ((N, D), -1.0, 1.0), "W": ((D, H), -1.0, 1.0)},
    "loop_steps": {"x": ((N, 3, D), -1.0, 1.0), "Wx": ((D, H), -1.0, 1.0),
                   "Wh": ((H, H), -0.5, 0.5), "b": ((H,), -0.5, 0.5)},
    "carried_sum": {"x": ((N, D), -1.0, 1.0), "W": ((D, D), -0.5, 0.5)},
    "collected": {"x": ((N, D), -1.0, 1.0), "W": ((D, D), -0.5, 0.5)},
    "branch_reads": {"X": ((N, D), -1.0, 1.0), "W": ((D, H), -1.0, 1.0)},
    "broadcast_grows": {"c": ((N, 1), -1.0, 1.0), "r": ((1, H), -1.0, 1.0)},
    "scalar_variable": {"X": ((N, D), -1.0, 1.0), "W": ((D, H), -1.0, 1.0),
                        "lam": (0.5, 2.0)},
    "transpose_of_it": {"X": ((D, D), -1.0, 1.0), "W": ((D, D), -1.0, 1.0)},
    "sigmoid_layer": {"X": ((N, D), -1.0, 1.0), "W": ((D, H), -1.0, 1.0),
                      "b": ((H,), -0.5, 0.5)},
    "standardized": {"x": ((N, H), -1.0, 1.0), "w": ((H,), -1.0, 1.0)},
    "made_inside": {"x": ((N, H), -1.0, 1.0), "w": ((N, H), -1.0, 1.0)},
}
WRT = {"scalar_variable": ("W", "lam")}
# the command line would take w in `s * w` for a bias vector
SHAPES = {"softmax_shifted": "s=N,H w=N,H"}


def chain(X, W, b):
    """A linear layer, bias and tanh, each step into the last one's array."""
    z = X @ W
    z = z + b
    h = np.tanh(z * 2.0)
    return np.sum(h ** 2)


def softmax_shifted(s, w):
    """The max shift and the normalisation read the array twice: reductions in between."""
    z = s * w
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    p = e / e.sum(axis=1, keepdims=True)
    return np.sum(p * w)


def view_taken_first(X, W):
    """A view of the product is taken before the product is changed: not in place."""
    a = X @ W
    first = a[0]
    t = a + 1.0
    return np.sum(first * 3.0) + np.sum(t * t)


def read_by_backward(X, W):
    """The product's gradient step reads the product: not in place."""
    a = X @ W
    t = np.sin(a)
    u = a * t
    return np.sum(u)


def returned_array(X, W):
    """The array is the result (a layer: the caller gives its upstream gradient)."""
    a = X @ W
    b = a * 2.0
    return b


def read_after(X, W):
    """Read again after the step that could reuse it."""
    a = X @ W
    t = a + 1.0
    s = np.sum(t * t)
    return s + np.sum(a)


def squared_operand(X, W):
    """The same array as both operands."""
    a = X @ W
    t = a * a
    return np.sum(t)


def loop_steps(x, Wx, Wh, b):
    """A recurrence: each step's temporaries are its own; the state is saved."""
    h = np.zeros((x.shape[0], Wh.shape[0]))
    for t in range(x.shape[1]):
        a = x[:, t, :] @ Wx
        a = a + h @ Wh
        h = np.tanh(a + b)
    return np.sum(h * h)


def carried_sum(x, W):
    """The carried value is read by the next iteration."""
    s = x
    for _ in range(3):
        s = s + np.tanh(s @ W)
    return np.sum(s)


def collected(x, W):
    """Arrays kept in a list are read later."""
    hs = []
    h = x
    for _ in range(3):
        h = np.tanh(h @ W)
        hs.append(h)
    return np.sum(np.stack(hs))


def branch_reads(X, W):
    """A branch reads the array after the step."""
    a = X @ W
    t = a * 0.5
    if np.sum(t) > 0:
        t = t + a
    return np.sum(t * t)


def broadcast_grows(c, r):
    """The result is larger than either operand: no operand can hold it."""
    a = c * 2.0
    t = a + r
    return np.sum(t * t)


def scalar_variable(X, W, lam):
    """A scalar variable as the other operand (it may be a numpy scalar of another dtype)."""
    a = X @ W
    t = a * lam
    return np.sum(t * t)


def transpose_of_it(X, W):
    """A transposed view of the array is read in the same step."""
    a = X @ W
    t = a + a.T
    return np.sum(t * t)


def sigmoid_layer(X, W, b):
    """A composite gate: negate, exp, add one and divide, each into the product's array."""
    h = 1 / (1 + np.exp(-(X @ W + b)))
    return np.sum(h * h)


def standardized(x, w):
    """A chain with arrays as the other operands (a mean, a scale) over a new array."""
    z = x * 2.0
    m = z.mean(axis=0)
    s = z.std(axis=0) + 1.0
    u = (z - m) / s * w
    return np.sum(u ** 2)


def made_inside(x, w):
    """np.ones is float64 whatever the arguments' dtype: with float32 arguments, adding it
    into the float32 product would round the float64 sum."""
    n, m = x.shape
    a = x * w
    t = a + np.ones((n, m))
    return np.sum(t * t)
