"""Branches, loops and calls between functions (issue 4): every construct, scalars and arrays.

Points are sampled in the declared intervals; a point on (or within a step of) a branch
boundary is reported as a kink by the checker, not as a failure.
"""

import math

import numpy as np

INPUTS = {
    # branches
    "huber": {"r": (-3.0, 3.0)},
    "relu_if": {"x": (-2.0, 2.0)},
    "piecewise_elif": {"x": (-3.0, 3.0), "y": (0.5, 2.0)},
    "nested_ifs": {"x": (-2.0, 2.0), "y": (-2.0, 2.0)},
    "early_return": {"x": (-2.0, 2.0), "y": (0.5, 2.0)},
    "branch_assigns_one_path": {"x": (-2.0, 2.0), "y": (0.5, 2.0)},
    "conditional_expression": {"x": (-2.0, 2.0), "y": (-2.0, 2.0)},
    "conditional_expression_guards_domain": {"x": (-2.0, 2.0)},
    "chained_condition": {"x": (-2.0, 2.0)},
    "and_or_conditions": {"x": (-2.0, 2.0), "y": (-0.5, 2.0)},
    "condition_on_a_name": {"x": (-2.0, 2.0), "flag": (-1.0, 1.0)},
    # loops
    "newton_sqrt": {"a": (0.5, 4.0)},
    "power_loop": {"x": (0.5, 1.5)},
    "accumulate": {"x": (-1.0, 1.0), "y": (-1.0, 1.0)},
    "nested_loops": {"x": (-1.0, 1.0)},
    "loop_index_in_body": {"x": (-1.0, 1.0)},
    "fibonacci_like": {"x": (-1.0, 1.0), "y": (-1.0, 1.0)},
    "if_inside_loop": {"x": (-2.0, 2.0)},
    "loop_inside_if": {"x": (-2.0, 2.0)},
    "halve_while": {"x": (0.5, 20.0)},
    "newton_until_converged": {"a": (0.5, 4.0)},
    "constant_reassigned_in_loop": {"x": (-2.0, 2.0)},
    "value_before_loop_read_after": {"x": (0.1, 1.0)},
    "loop_not_run": {"x": (-1.0, 1.0)},
    # calls
    "two_sigmoids": {"x": (-2.0, 2.0), "y": (-2.0, 2.0)},
    "helper_calls_helper": {"x": (-1.0, 1.0)},
    "helper_keywords": {"x": (-1.0, 1.0), "y": (-1.0, 1.0)},
    "helper_tuple": {"x": (-1.0, 1.0), "y": (-1.0, 1.0)},
    "helper_with_branch": {"x": (-2.0, 2.0)},
    "helper_in_loop": {"x": (-1.0, 1.0)},
    # arrays
    "rnn_last_state": {"x": ((2, 3, 4), -1.0, 1.0), "h0": ((2, 5), -1.0, 1.0),
                       "Wxh": ((4, 5), -0.5, 0.5), "Whh": ((5, 5), -0.5, 0.5),
                       "b": ((5,), -0.5, 0.5)},
    "horner": {"x": (-2.0, 2.0), "coeffs": ((4,), -1.0, 1.0)},
    "rnn_all_states": {"x": ((2, 3, 4), -1.0, 1.0), "h0": ((2, 5), -1.0, 1.0),
                       "Wxh": ((4, 5), -0.5, 0.5), "Whh": ((5, 5), -0.5, 0.5),
                       "b": ((5,), -0.5, 0.5)},
    "rnn_classifier": {"x": ((3, 4, 2), -1.0, 1.0), "y": ("int", (3,), 0, 3),
                       "h0": ((3, 5), -1.0, 1.0), "Wxh": ((2, 5), -0.5, 0.5),
                       "Whh": ((5, 5), -0.5, 0.5), "Why": ((5, 3), -1.0, 1.0)},
    "loop_over_rows": {"X": ((4, 3), -1.0, 1.0), "w": ((3,), -1.0, 1.0)},
    "enumerate_rows": {"X": ((3, 2), -1.0, 1.0), "w": ((2,), -1.0, 1.0)},
    "array_branch_on_norm": {"x": ((3,), -1.0, 1.0)},
    "affine_relu_layers": {"x": ((2, 3), -1.0, 1.0), "W1": ((3, 4), -1.0, 1.0),
                           "W2": ((4, 2), -1.0, 1.0)},
}
WRT = {"rnn_last_state": ("Wxh", "Whh", "b", "h0")}
SHAPES = {"loop_over_rows": "X=N,D w=D"}  # a row times a vector: matrices, the CLI assumes


def huber(r, delta=1.0):
    if abs(r) <= delta:
        return 0.5 * r * r
    return delta * (abs(r) - 0.5 * delta)


def relu_if(x):
    if x > 0:
        y = x
    else:
        y = 0.0
    return y * y + x


def piecewise_elif(x, y):
    if x < -1.0:
        z = -x * y
    elif x < 1.0:
        z = x * x * y
    else:
        z = math.log(x + y)
    return z


def nested_ifs(x, y):
    if x > 0:
        if y > 0:
            z = x * y
        else:
            z = x - y
    else:
        z = math.exp(x) + y
    return z * x


def early_return(x, y):
    if x > 1.0:
        return x * y
    z = math.sin(x) * y
    if z > 0.5:
        return z
    return z * z


def branch_assigns_one_path(x, y):
    z = x * y
    if x > 0:
        z = z + math.exp(x)
    return z * y


def conditional_expression(x, y):
    m = x if x > y else y
    return m * m + (x * y if y > 0 else x)


def conditional_expression_guards_domain(x):
    # log(x) is only computed where x > 0
    return math.log(x) if x > 0 else x


def chained_condition(x, lo=-1.0, hi=1.0):
    if lo < x < hi:
        return x * x
    return abs(x)


def and_or_conditions(x, y):
    # log(x) is only computed where x > 0 (short-circuit)
    if x > 0 and math.log(x) > y:
        z = x * y
    elif x < -1 or y > 1:
        z = x + y
    else:
        z = x - y
    return z * x if z > 0 or x > 0 else z


def condition_on_a_name(x, flag):
    if flag:
        return x * 2.0
    return x


def newton_sqrt(a):
    x = a
    for _ in range(6):
        x = 0.5 * (x + a / x)
    return x


def power_loop(x, n=4):
    y = 1.0
    for _ in range(n):
        y = y * x
    return y


def accumulate(x, y):
    s = 0.0
    for i in range(5):
        s += math.sin(x * i + y)
    return s


def nested_loops(x):
    s = x
    for i in range(3):
        for j in range(2):
            s = s * 0.5 + math.cos(x * j)
    return s


def loop_index_in_body(x):
    y = x
    for k in range(1, 4):
        y = y + x ** k / k
    return y


def fibonacci_like(x, y):
    a = x
    b = y
    for _ in range(4):
        a, b = b, a + b * 0.5
    return a * b


def if_inside_loop(x):
    y = x
    for i in range(4):
        if y > 0:
            y = y * 0.5 - 0.3
        else:
            y = y * y + 0.1
    return y


def loop_inside_if(x):
    if x > 0:
        for i in range(3):
            x = math.sin(x) + 0.5
    return x * x


def halve_while(x):
    n = 0.0
    while x > 1.0:
        x = x / 2
        n = n + 1
    return x * n + x


def newton_until_converged(a):
    x = a
    err = 1.0
    steps = 0
    while err > 1e-12:
        x_new = 0.5 * (x + a / x)
        err = abs(x_new - x)
        x = x_new
        steps = steps + 1
    return x


def constant_reassigned_in_loop(x):
    # once a silently wrong gradient: z's backward read c after the loop changed it
    c = 2.0
    z = c * x
    for i in range(3):
        c = c + 1.0
    return z + c


def value_before_loop_read_after(x):
    c = math.exp(x)
    for i in range(3):
        c = c * 0.5 + x
    return c


def loop_not_run(x, n=0):
    y = x * x
    for i in range(n):
        y = y * 3.0
    return y


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


def two_sigmoids(x, y):
    return sigmoid(x) * sigmoid(x * y)


def _square_plus(u, c=1.0):
    return u * u + c


def _outer(u):
    return math.log(_square_plus(u)) + _square_plus(u, c=2.0)


def helper_calls_helper(x):
    return _outer(x) * _outer(2 * x)


def helper_keywords(x, y):
    return _square_plus(c=y, u=x) + _square_plus(y)


def _polar(u, v):
    r = math.hypot(u, v) + 1.0
    return r, math.atan2(v, u + 3.0)


def helper_tuple(x, y):
    r, t = _polar(x, y)
    return r * math.cos(t)


def _leaky(u):
    if u > 0:
        return u
    return 0.1 * u


def helper_with_branch(x):
    return _leaky(x) + _leaky(x * x - 1.0)


def helper_in_loop(x):
    s = x
    for i in range(3):
        s = sigmoid(s) + x
    return s


def rnn_last_state(x, h0, Wxh, Whh, b):
    h = h0
    T = x.shape[1]
    for t in range(T):
        h = np.tanh(x[:, t, :] @ Wxh + h @ Whh + b)
    return np.sum(h * h)


def rnn_all_states(x, h0, Wxh, Whh, b):
    # once a silently zero gradient: the assignment into hs in the loop was not seen as
    # reassigning hs, so the loop was dropped
    N, T, D = x.shape
    H = h0.shape[1]
    h = h0
    hs = np.zeros((N, T, H))
    for t in range(T):
        h = np.tanh(x[:, t, :] @ Wxh + h @ Whh + b)
        hs[:, t, :] = h
    return np.sum(hs ** 2)


def rnn_classifier(x, y, h0, Wxh, Whh,
                   Why):
    # the softmax cross-entropy after the loop is fused (dscores = probs; ...[rows, y] ...)
    N, T, D = x.shape
    h = h0
    for t in range(T):
        h = np.tanh(x[:, t, :] @ Wxh + h @ Whh)
    scores = h @ Why
    scores = scores - scores.max(axis=1, keepdims=True)
    probs = np.exp(scores)
    probs = probs / probs.sum(axis=1, keepdims=True)
    return -np.log(probs[np.arange(N), y]).mean()


def horner(x, coeffs):
    # a loop over a sequence's items: once coeffs.shape[0], which a list does not have
    y = 0.0
    for c in coeffs:
        y = y * x + c
    return y


def loop_over_rows(X, w):
    total = 0.0
    for row in X:
        total = total + np.tanh(row @ w)
    return total


def enumerate_rows(X, w):
    total = 0.0
    for i, row in enumerate(X):
        total = total + (i + 1) * np.sum(row * w) ** 2
    return total


def array_branch_on_norm(x):
    n = np.sum(x * x)
    if n > 1.0:
        y = x / np.sqrt(n)
    else:
        y = x
    return np.sum(y * np.arange(3))


def _affine_relu(x, W):
    return np.maximum(x @ W, 0.0)


def affine_relu_layers(x, W1, W2):
    h = _affine_relu(x, W1)
    return np.sum(_affine_relu(h, W2) ** 2)
