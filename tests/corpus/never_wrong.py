"""The red-team programs of issue 15 that adgen accepts, each with its exact gradient in
EXPECTED (tests/test_never_wrong.py compares them; the rejected ones are pinned there by
their diagnostics).  Every one once got a wrong gradient or crashed."""

import math

import numpy as np

INPUTS = {
    "alias_updated_in_place": {"x": ((3,), -2.0, 2.0), "y": ((3,), -2.0, 2.0)},
    "alias_assigned_into": {"x": ((3,), -2.0, 2.0), "y": ((3,), -2.0, 2.0)},
    "alias_updated_in_a_loop": {"x": ((3,), -2.0, 2.0), "y": ((3,), -2.0, 2.0)},
    "view_updated_but_base_unread": {"x": ((4,), -2.0, 2.0), "y": ((4,), -2.0, 2.0)},
    "copy_updated_in_place": {"x": ((3,), -2.0, 2.0), "y": ((3,), -2.0, 2.0)},
    "fullwidth_assignment": {"x": (-2.0, 2.0), "y": (-2.0, 2.0)},
    "fullwidth_read": {"x": (-2.0, 2.0), "y": (-2.0, 2.0)},
    "ligature_name": {"x": (-2.0, 2.0)},
    "fullwidth_function": {"x": (-2.0, 2.0)},  # def ｆｕｌｌｗｉｄｔｈ_function
    "reassigned_in_one_branch": {"x": (-2.0, 2.0), "y": (-2.0, 2.0)},
    "names_like_generated_helpers": {"x": ((2, 3), -2.0, 2.0), "b": ((3,), -1.0, 1.0)},
    "local_named_reversed": {"x": (-2.0, 2.0)},
    "sigmoid_over_two_statements": {"x": ((3,), -3.0, 3.0)},
    "slices_broadcast_then_matmul": {"u": ((4,), -2.0, 2.0), "y": ((4,), -2.0, 2.0)},
    "first_of_a_helpers_pair": {"x": (-2.0, 2.0), "y": (-2.0, 2.0)},
    "unpacked_helper_pair": {"x": (-2.0, 2.0), "y": (-2.0, 2.0)},
    "helper_defaults_that_are_not_numbers": {"x": (-2.0, 2.0)},
}

_unbroadcast = 2.0  # a module constant named like a helper of the generated code


def alias_updated_in_place(x: "N", y: "N"):
    # z is a: z += y changes a too (numpy), so the output is sum((2x + y) ** 2)
    a = x * 2.0
    z = a
    z += y
    return np.sum(a * z)


def alias_assigned_into(x: "N", y: "N"):
    # z[0] = 0.0 zeroes a[0] too
    a = x * 2.0
    z = a
    z[0] = 0.0
    return np.sum(a * y)


def alias_updated_in_a_loop(x: "N", y: "N"):
    # every z += y changes a as well: a = 2x + 3y at the end
    a = x * 2.0
    z = a
    for i in range(3):
        z += y
    return np.sum(a * x)


def view_updated_but_base_unread(x: "N", y: "N"):
    # v is a view of a; a is never read again, so the update is only v's
    a = x * 2.0
    v = a[1:]
    v *= y[1:]
    return np.sum(v)


def copy_updated_in_place(x: "N", y: "N"):
    z = x.copy()
    z += y
    return np.sum(z * x)


def fullwidth_assignment(x, y):
    # Python reads ｘ (fullwidth) as x: the output is 3x * y
    ｘ = x * 3.0
    return x * y


def fullwidth_read(x, y):
    z = x * 3.0
    return ｚ * y


def ligature_name(x):
    # ﬁ (one character) is fi
    ﬁ = x * x
    return fi + x


def ｆｕｌｌｗｉｄｔｈ_function(x):
    return x * 5.0


def reassigned_in_one_branch(x, y):
    # h is reassigned on one path only; the other path's backward pass read dh_2 unset
    h = x * 2.0
    z = y
    if y > 0:
        h = h + 1.0
        z = h * y
    return z


def names_like_generated_helpers(x, b):
    # locals and a constant named like the generated module's own names
    reversed = x + b
    _argmax_mask = np.max(reversed, axis=1)
    return np.sum(_argmax_mask * _unbroadcast)


def local_named_reversed(x):
    s = 0.0
    for t in range(3):
        reversed = x * t
        s = s + reversed
    return s


def sigmoid_over_two_statements(x: "N"):
    # at x = -1000 exp(-x) overflows: the one-line sigmoid's gradient is 0, this was nan
    e = np.exp(-x)
    s = 1.0 / (1.0 + e)
    return np.sum(s)


def slices_broadcast_then_matmul(u: "M", y: "M"):
    # the rank of u[1:] + y[1:] was lost (AD305) though u[1:] @ y[1:] compiled
    return (u[1:] + y[1:]) @ y[1:]


def _pair(x, y):
    return x * y, x + y


def first_of_a_helpers_pair(x, y):
    # `return _pair(x, y)` (a tuple) compiled to a zero gradient; indexing it was an AD900
    return _pair(x, y)[0] * 2.0


def unpacked_helper_pair(x, y):
    a, b = _pair(x, y)
    return a * b


def _named(x, name="x", squared=False, shift=None):
    out = x
    if name != "x":
        out = out + 1.0
    if squared:
        out = out * out
    if shift is not None:
        out = out + shift
    return out


def helper_defaults_that_are_not_numbers(x):
    # a helper's string, bool and None defaults were bound as None when not passed: `name
    # != "x"` held, and f was x * (x + 1) with gradient 2x + 1 (found 2026-12-03)
    return _named(x) * x


def _sig(v):
    return 1.0 / (1.0 + np.exp(-v))


EXPECTED = {
    "alias_updated_in_place": lambda x, y: (4.0 * (2.0 * x + y), 2.0 * (2.0 * x + y)),
    "alias_assigned_into": lambda x, y: (2.0 * y * (np.arange(len(x)) > 0),
                                         2.0 * x * (np.arange(len(x)) > 0)),
    "alias_updated_in_a_loop": lambda x, y: (4.0 * x + 3.0 * y, 3.0 * x),
    "view_updated_but_base_unread": lambda x, y: (
        np.concatenate([[0.0], 2.0 * y[1:]]), np.concatenate([[0.0], 2.0 * x[1:]])),
    "copy_updated_in_place": lambda x, y: (2.0 * x + y, x),
    "fullwidth_assignment": lambda x, y: (3.0 * y, 3.0 * x),
    "fullwidth_read": lambda x, y: (3.0 * y, 3.0 * x),
    "ligature_name": lambda x: 2.0 * x + 1.0,
    "fullwidth_function": lambda x: 5.0,
    "reassigned_in_one_branch": lambda x, y: (2.0 * y, 2.0 * x + 1.0) if y > 0 else (0.0, 1.0),
    "names_like_generated_helpers": None,  # a max: finite differences (tests/test_corpus.py)
    "local_named_reversed": lambda x: 3.0,
    "sigmoid_over_two_statements": lambda x: _sig(x) * (1.0 - _sig(x)),
    "first_of_a_helpers_pair": lambda x, y: (2.0 * y, 2.0 * x),
    "unpacked_helper_pair": lambda x, y: (y * (x + y) + x * y, x * (x + y) + x * y),
    "helper_defaults_that_are_not_numbers": lambda x: (2.0 * x,),
    "slices_broadcast_then_matmul": lambda u, y: (
        np.concatenate([[0.0], y[1:]]), np.concatenate([[0.0], u[1:] + 2.0 * y[1:]])),
}
