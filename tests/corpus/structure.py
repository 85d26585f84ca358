"""Function structure: defaults, unused inputs, dead code, names that collide."""

import math

EPS = 1e-3

INPUTS = {
    "with_default": {"x": (-2.0, 2.0)},
    "unused_input": {"x": (-2.0, 2.0), "y": (-2.0, 2.0)},
    "dead_code": {"x": (-2.0, 2.0)},
    "returns_param": {"x": (-2.0, 2.0), "y": (-2.0, 2.0)},
    "returns_constant": {"x": (-2.0, 2.0)},
    "documented": {"x": (0.5, 2.0)},
    "annotated": {"x": (-2.0, 2.0), "y": (-2.0, 2.0)},
    "one_liner": {"x": (-2.0, 2.0)},
    "gradient_names": {"x": (-2.0, 2.0), "dx": (-2.0, 2.0)},
    "invented_names": {"x": (-2.0, 2.0), "y": (-2.0, 2.0)},
    "long_names": {"alpha": (-1.0, 1.0), "beta": (-1.0, 1.0)},
    "only_some": {"x": (-2.0, 2.0), "y": (-2.0, 2.0)},
    "output_named_like_function": {"x": (-2.0, 2.0)},
    "reg_loss": {"w": (-2.0, 2.0)},
    "return_reassigned": {"x": (-2.0, 2.0)},
    "inactive_path": {"x": (-2.0, 2.0), "y": (-2.0, 2.0)},
}
WRT = {"only_some": ("y",), "inactive_path": "x"}


def with_default(x, scale=2.0, shift=-EPS):
    return scale * x ** 2 + shift


def unused_input(x, y):
    return x * 3


def dead_code(x):
    unused = math.exp(x) * 100
    z = x * 2
    unused = z + 1
    return z


def returns_param(x, y):
    return x


def returns_constant(x):
    return 4.0


def documented(x):
    """A docstring is fine."""
    pass
    return math.log(x)


def annotated(x: float, y: float) -> float:
    z: float = x * y
    return z


def one_liner(x): return x * x * x


def gradient_names(x, dx):
    grad_x = x * dx
    dgrad_x = grad_x + x
    return dgrad_x * dx


def invented_names(x, y):
    xpy = x * y
    t = (x + y) * xpy
    return t + (x + y)


def long_names(alpha, beta):
    return alpha * beta + alpha * beta * alpha + (alpha + beta) * (alpha - beta)


def only_some(x, y):
    return x * y + y


def output_named_like_function(x):
    output_named_like_function = x * 2
    return output_named_like_function


def reg_loss(w, reg=0.5):
    loss = w * w
    loss += reg * w ** 4
    return loss


def return_reassigned(x):
    h = x + 1
    h = h * h
    return h


def inactive_path(x, y):
    c = y * 2
    return x * c
