"""Programs that once got a wrong answer or a crash (each fix adds its program here first)."""

import math

import numpy as np

INPUTS = {
    "returns_reassigned_param": {"x": (-2.0, 2.0)},
    "returns_param_alias": {"x": (-2.0, 2.0), "y": (-2.0, 2.0)},
    "softplus_far_left": {"z": (-900.0, -700.0)},
    "with_default_hyperparameter": {"w": (-2.0, 2.0), "x": (-2.0, 2.0), "b": (-1.0, 1.0)},
    "rounded": {"x": (-3.0, 3.0), "step": (0.5, 1.0)},
    "unannotated_total": {"x": ((2, 3), -1.0, 1.0)},
    "unannotated_shift": {"x": ((2, 3), -1.0, 1.0), "b": ((3,), -1.0, 1.0)},
    "slices_that_broadcast": {"a": ((3, 4), -1.0, 1.0), "h": ((3, 2), -1.0, 1.0)},
    "std_of_a_constant_slice": {"x": ((3, 1), -1.0, 1.0)},
    "if_reassigns_without_else": {"h": (-2.0, 2.0), "x": (-2.0, 2.0)},
    "helper_loop_index_named_like_a_parameter": {"t": (-2.0, 2.0)},
    "while_and": {"x": (0.05, 40.0)},
    "while_or_in_a_loop": {"x": (0.5, 12.0), "y": (0.2, 0.4)},
    "while_and_reads_a_carried_value": {"a": (0.5, 10.0)},
    "horner_over_an_array": {"c": ((3,), -1.0, 1.0), "x": ((4,), -1.5, 1.5)},
    "vector_sum_from_zero": {"X": ((4, 3), -1.0, 1.0), "w": ((3, 2), -1.0, 1.0)},
}
WRT = {"rounded": ("x",)}
SHAPES = {"horner_over_an_array": "c=K x=N"}


def returns_reassigned_param(x):
    # the upstream gradient once took the name dx, so the returned "dx" was not x's gradient
    x += 1.0
    return x


def returns_param_alias(x, y):
    y = x * 2
    return y


def softplus_far_left(z):
    # the softplus gradient computed exp(-z) and overflowed far left of 0
    return math.log(1 + math.exp(z))


def with_default_hyperparameter(w, x, b, lam=0.1):
    # check_grad once ignored parameter defaults (KeyError: 'lam')
    return (w * x + b) ** 2 + lam * w * w


def rounded(x, step):
    # x reaches the output only through round(): zero gradient, not "does not reach"
    return round(x / step) * step


def unannotated_total(x):
    # its gradient once came back as a read-only np.broadcast_to view
    return np.sum(x)


def unannotated_shift(x, b):
    # dx once came back as the caller's own dout
    return np.sum((x + np.mean(b)) ** 2)


def slices_that_broadcast(a, h):
    # a[:, 1:] and h[:, 1:] were assumed to have equal widths (with D=4, M=2 they broadcast)
    return np.sum(a[:, 1:] + h[:, 1:])


def std_of_a_constant_slice(x):
    # np.std over a length-1 axis is 0 everywhere: its gradient is 0, once nan
    return np.sum(np.std(x, axis=1))


def if_reassigns_without_else(h, x):
    # the environment merged after an if was dropped: the else path's won, so the if's
    # assignment was lost (f = x) in the forward pass and the gradient
    if h < 3.0:
        x = 0.25 * x * h
    return x


def _repeat_twice(c):
    a = 0.0
    for t in range(2):
        a += c
    return a


def helper_loop_index_named_like_a_parameter(t):
    # the inlined helper's loop index took the caller's parameter's name (t), so the loop
    # overwrote t, and the caller's t * a and the backward pass read the last index
    a = _repeat_twice(math.sin(t))
    t = a * t
    return t


def while_and(x):
    # a while test with `and` (its short-circuit is a branch in the loop header): the emitter
    # and the reverse pass read the header as plain assignments, AD900 (AttributeError)
    n = 0
    while x > 0.1 and n < 5:
        x = x / 2
        n += 1
    return x * x


def while_or_in_a_loop(x, y):
    s = 0.0
    for _ in range(3):
        z = x
        while z < 10.0 or 0.5 < y < 0.1:
            z = z * (1.5 + y)
        s = s + z * y
    return s


def while_and_reads_a_carried_value(a):
    # the first operand of `and` is only read by the test's short-circuit branch: the analysis
    # did not look into the loop header's branch, dropped `step` (NameError)
    x = a
    n = 0
    step = x
    while abs(step) > 1e-12 * x and n < 50:
        x_new = 0.5 * (x + a / x)
        step = x_new - x
        x = x_new
        n += 1
    return x


def horner_over_an_array(c, x):
    """Silent wrong gradient: a loop-carried value that starts as a number and becomes an
    array (Horner's rule on an array x) was typed by its start, so every iteration's
    backward summed its gradient to a number, not only the first one's."""
    y = 0.0
    for k in range(3):
        y = y * x + c[k]
    return np.sum(y ** 2)


def vector_sum_from_zero(X, w):
    """The same for a vector accumulated from 0.0 in a loop over rows (w a matrix)."""
    s = 0.0
    for row in X:
        s = s + np.tanh(row @ w)
    return np.sum(s * s)
