"""numpy: gates adgen/fuse.py recognises over several statements, and near misses.

Softmax, log-softmax, logsumexp (plain and with the max shift) and the cross-entropy picks
(`log(probs[np.arange(N), y])`, `log_probs[np.arange(N), y]`), each fused (tests/test_fuse.py
says which gates each function must get), and programs that look alike but must not fuse
(or fuse less): a part used again, a shift along another axis, a reduction without
keepdims, rows that are not np.arange(N).  Every one must have the right gradient either way.
"""

import numpy as np

INPUTS = {
    "ce_softmax_sum": {"s": ((4, 3), -3.0, 3.0), "y": ("int", (4,), 0, 3)},
    "ce_softmax_scaled": {"s": ((4, 3), -3.0, 3.0), "y": ("int", (4,), 0, 3),
                          "w": ((4,), 0.5, 1.5)},
    "ce_softmax_regularised": {"x": ((4, 3), -2.0, 2.0), "w": ((3, 3), -1.0, 1.0),
                               "y": ("int", (4,), 0, 3)},
    "ce_log_softmax": {"x": ((4, 3), -3.0, 3.0), "y": ("int", (4,), 0, 3)},
    "ce_log_softmax_steps": {"x": ((5, 3), -3.0, 3.0), "y": ("int", (5,), 0, 3)},
    "log_softmax_weighted": {"x": ((4, 3), -3.0, 3.0), "w": ((4, 3), -1.0, 1.0)},
    "log_softmax_columns": {"x": ((4, 3), -3.0, 3.0), "w": ((4, 3), -1.0, 1.0)},
    "logsumexp_full": {"x": ((4, 3), -2.0, 2.0)},
    "logsumexp_rows": {"x": ((4, 3), -2.0, 2.0), "w": ((4,), -1.0, 1.0)},
    "logsumexp_shifted_full": {"x": ((4, 3), -3.0, 3.0)},
    "logsumexp_shifted_rows": {"x": ((4, 3), -3.0, 3.0), "w": ((4, 1), -1.0, 1.0)},
    "logsumexp_shifted_vector": {"v": ((5,), -3.0, 3.0)},
    "log_likelihoods": {"x": ((4, 3), -3.0, 3.0), "y": ("int", (4,), 0, 3)},
    "logsumexp_unannotated": {"x": ((4, 3), -2.0, 2.0)},
    "probs_used_again": {"s": ((4, 3), -3.0, 3.0), "y": ("int", (4,), 0, 3)},
    "softmax_of_columns_picked": {"s": ((3, 3), -3.0, 3.0), "y": ("int", (3,), 0, 3)},
    "shift_along_other_axis": {"s": ((4, 3), -3.0, 3.0), "y": ("int", (4,), 0, 3)},
    "rows_not_arange": {"s": ((4, 3), -3.0, 3.0), "y": ("int", (3,), 0, 3)},
    "lse_without_keepdims_shift": {"x": ((4, 3), -3.0, 3.0)},
    "lse_not_shifted_back": {"x": ((4, 3), -3.0, 3.0)},
    "log_softmax_parts_used": {"x": ((4, 3), -3.0, 3.0), "w": ((4, 3), -1.0, 1.0)},
}
WRT = {"ce_softmax_regularised": ("x", "w")}


# ---------------------------------------------------------------- fused: the gradient goes
# straight to the gate's input


def ce_softmax_sum(s, y):
    # no max shift; summed, not averaged
    N = s.shape[0]
    e = np.exp(s)
    probs = e / np.sum(e, axis=1, keepdims=True)
    return -np.sum(np.log(probs[np.arange(N), y])) / N


def ce_softmax_scaled(s, y, w):
    # per-example weights: the upstream gradient of the pick is not one number
    s = s - np.max(s, axis=-1, keepdims=True)
    e = np.exp(s)
    p = e / e.sum(axis=-1, keepdims=True)
    return -np.sum(w * np.log(p[np.arange(s.shape[0]), y]))


def ce_softmax_regularised(x, w, y):
    # the scores' gradient also comes from the penalty (accumulation with the sparse part)
    N = x.shape[0]
    scores = x @ w
    penalty = 0.1 * np.sum(scores * scores)
    shifted = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    probs = e / e.sum(axis=1, keepdims=True)
    return penalty - np.log(probs[np.arange(N), y]).mean() + np.sum(scores[:, 0])


def ce_log_softmax(x, y):
    # log-softmax without the shift, averaged
    N = x.shape[0]
    log_probs = x - np.log(np.sum(np.exp(x), axis=1, keepdims=True))
    return -log_probs[np.arange(N), y].mean()


def ce_log_softmax_steps(x, y):
    # the shifted log-softmax over several statements
    N = x.shape[0]
    m = np.max(x, axis=1, keepdims=True)
    z = x - m
    total = np.sum(np.exp(z), axis=1, keepdims=True)
    log_probs = z - np.log(total)
    picked = log_probs[np.arange(N), y]
    return -np.sum(picked) / N


def log_softmax_weighted(x, w):
    shifted = x - x.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return np.sum(w * log_probs)


def log_softmax_columns(x: "N D", w: "N D"):
    # along axis 0, without the shift
    log_probs = x - np.log(np.sum(np.exp(x), axis=0, keepdims=True))
    return np.sum(w * log_probs)


def logsumexp_full(x):
    return np.log(np.sum(np.exp(x)))


def logsumexp_rows(x, w):
    # along an axis, without keepdims
    return np.sum(w * np.log(np.sum(np.exp(x), axis=1)))


def logsumexp_shifted_full(x):
    m = x.max()
    return m + np.log(np.sum(np.exp(x - m)))


def logsumexp_shifted_rows(x, w):
    m = np.max(x, axis=1, keepdims=True)
    lse = np.log(np.exp(x - m).sum(axis=1, keepdims=True)) + m
    return np.sum(w * lse)


def logsumexp_shifted_vector(v):
    m = np.max(v)
    return m + np.log(np.sum(np.exp(v - m)))


def log_likelihoods(x, y):
    # a layer: the picks themselves are the output (upstream gradient one per row)
    log_probs = x - np.log(np.sum(np.exp(x), axis=1, keepdims=True))
    return log_probs[np.arange(x.shape[0]), y]


def logsumexp_unannotated(x):
    # shapes unknown: the full and the keepdims-free forms need none
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m))) + np.sum(np.log(np.sum(np.exp(x), axis=0)))


# ---------------------------------------------------------------- near misses: not fused (or
# fused less), the gradient takes the long way and must still be right


def probs_used_again(s, y):
    # probs feeds a second gradient: the softmax fuses, the pick does not
    N = s.shape[0]
    e = np.exp(s)
    probs = e / np.sum(e, axis=1, keepdims=True)
    return -np.mean(np.log(probs[np.arange(N), y])) + np.sum(probs ** 2)


def softmax_of_columns_picked(s: "N N", y: "int N"):
    # a softmax down the columns: a pick of one entry per row is not a cross-entropy
    e = np.exp(s)
    probs = e / np.sum(e, axis=0, keepdims=True)
    return -np.sum(np.log(probs[np.arange(s.shape[0]), y]))


def shift_along_other_axis(s, y):
    # the max is along axis 0, the softmax along axis 1: the shift is not skipped
    s = s - s.max(axis=0, keepdims=True)
    e = np.exp(s)
    probs = e / e.sum(axis=1, keepdims=True)
    return -np.log(probs[np.arange(s.shape[0]), y]).mean()


def rows_not_arange(s, y):
    # rows 0..N-2 only: not every row is picked, so the pick is not fused
    N = s.shape[0]
    e = np.exp(s)
    probs = e / np.sum(e, axis=1, keepdims=True)
    return -np.sum(np.log(probs[np.arange(N - 1), y]))


def lse_without_keepdims_shift(x):
    # a max without keepdims (along axis 0, where it still broadcasts): not the shifted form
    m = np.max(x, axis=0)
    return np.sum(m + np.log(np.sum(np.exp(x - m), axis=0)))


def lse_not_shifted_back(x):
    # log(sum(exp(x - max))) without adding the max back: the max's gradient is real here
    return np.log(np.sum(np.exp(x - x.max())))


def log_softmax_parts_used(x, w):
    # the logsumexp is used again: it stays a logsumexp gate, not a log-softmax
    lse = np.log(np.sum(np.exp(x), axis=1, keepdims=True))
    return np.sum(w * (x - lse)) + np.sum(lse)
