"""numpy: element-wise functions with every broadcast pattern, reductions, matrix products.

Annotated functions get static reductions (`db = dz.sum(axis=0)`); unannotated ones go
through the generated module's `_unbroadcast` helper: both must be right for every shape."""

from typing import Annotated

import numpy as np

INPUTS = {
    "picks_distinct": {"x": ((4, 3), -2.0, 2.0), "y": ("int", (4,), 0, 3)},
    "picks_repeating": {"x": ((4, 3), -2.0, 2.0), "y": ("int", (5,), 0, 3)},
    "picks_columns": {"x": ((3, 4), -2.0, 2.0), "y": ("int", (4,), 0, 3)},
    "affine": {"x": ((4, 3), -2.0, 2.0), "w": ((3, 2), -2.0, 2.0), "b": ((2,), -1.0, 1.0)},
    "relu_loss": {"x": ((4, 3), -2.0, 2.0), "w": ((3, 2), -2.0, 2.0), "b": ((2,), -1.0, 1.0)},
    "broadcasts": {"x": ((3, 4), -1.0, 1.0), "row": ((4,), -1.0, 1.0),
                   "col": ((3, 1), -1.0, 1.0), "s": (-1.0, 1.0), "t": ((1, 4), 0.5, 1.5)},
    "broadcasts_unannotated": {"x": ((3, 4), -1.0, 1.0), "row": ((4,), -1.0, 1.0),
                               "col": ((3, 1), -1.0, 1.0), "s": (-1.0, 1.0),
                               "t": ((1, 4), 0.5, 1.5)},
    "rank_promoted": {"a": ((2, 3, 4), -1.0, 1.0), "b": ((3, 1), -1.0, 1.0)},
    "reductions": {"x": ((3, 4), -1.0, 1.0)},
    "reductions_unannotated": {"x": ((2, 3, 4), -1.0, 1.0)},
    "elementwise": {"x": ((5,), 0.2, 2.0), "y": ((5,), -1.0, 1.0)},
    "sigmoid_layer": {"x": ((4, 3), -2.0, 2.0), "w": ((3, 5), -1.0, 1.0)},
    "products": {"v": ((3,), -1.0, 1.0), "m": ((3, 4), -1.0, 1.0), "u": ((4,), -1.0, 1.0)},
    "transposes": {"a": ((3, 2), -1.0, 1.0), "b": ((3, 2), -1.0, 1.0)},
    "mean_squared": {"pred": ((6,), -2.0, 2.0), "target": ((6,), -2.0, 2.0)},
    "total": {"x": ((3, 2), -1.0, 1.0)},
    "unknown_output": {"x": ((3, 2), -1.0, 1.0), "y": ((2,), -1.0, 1.0)},
    "batchnorm": {"x": ((5, 3), -2.0, 2.0), "gamma": ((3,), 0.5, 1.5),
                  "beta": ((3,), -1.0, 1.0)},
    "leaky": {"x": ((4, 3), -2.0, 2.0), "labels": ("int", (4,), 0, 3)},
    "flattened": {"x": ((2, 3, 2, 2), -1.0, 1.0), "w": ((12, 5), -1.0, 1.0)},
    "softmax_cross_entropy": {"scores": ((4, 3), -3.0, 3.0), "onehot": ((4, 3), 0.0, 1.0)},
    "pooled": {"x": ((3, 4), -2.0, 2.0)},
    "softmax_loss": {"x": ((5, 4), -3.0, 3.0), "y": ("int", (5,), 0, 4)},
    "embedding": {"W": ((6, 3), -1.0, 1.0), "idx": ("int", (7,), 0, 6)},
    "slices": {"x": ((3, 4, 6), -1.0, 1.0)},
    "masked": {"x": ((7,), -2.0, 2.0)},
    "annotated_pep593": {"x": ((4, 3), -2.0, 2.0), "b": ((3,), -1.0, 1.0)},
    "norms": {"x": ((3, 4), -1.0, 1.0), "z": ((3, 1), -1.0, 1.0)},
    "stacks": {"a": ((2, 3, 4), -1.0, 1.0), "b": ((4, 5), -1.0, 1.0),
               "c": ((2, 5, 3), -1.0, 1.0)},
    "filled": {"x": ((3, 4), -1.0, 1.0)},
    "cancelling": {"x": ((3, 4), -2.0, 2.0), "c": ((3,), -2.0, 2.0)},
    "softmax_fused": {"s": ((4, 3), -3.0, 3.0), "y": ("int", (4,), 0, 3)},
    "softmax_not_fused": {"s": ((4, 3), -3.0, 3.0)},
    "joins": {"a": ((3, 2), -1.0, 1.0), "b": ((3, 4), -1.0, 1.0), "c": ((3, 2), -1.0, 1.0)},
    "reshapes": {"x": ((3, 2), -1.0, 1.0), "u": ((3,), -1.0, 1.0), "w": ((2,), -1.0, 1.0)},
    "passthrough": {"x": ((3, 2), -1.0, 1.0)},
}
WRT = {"mean_squared": "pred", "softmax_cross_entropy": "scores"}
# what the code does not say: vectors and stacks in products (the command line assumes
# matrices), a parameter that is never used (its kind)
SHAPES = {"picks_distinct": "x=N,C y=int:N", "picks_columns": "x=C,N y=int:N",
          "products": "v=M m=M,N u=N", "stacks": "a=B,N,D b=D,M c=B,M,K",
          "leaky": "labels=int:N",
          # x.reshape(x.shape[0], -1) reads any rank: the command line assumes a matrix
          "flattened": "x=N,C,H,W"}


def affine(x, w, b):
    return x @ w + b


def relu_loss(x, w, b):
    z = x @ w + b
    h = np.maximum(0, z)
    return np.sum(h ** 2) / 2 + 0.1 * np.sum(w * w)


def broadcasts(x: "N D", row: "D", col: "N 1", s: float, t: "1 D"):
    y = x * row + col - s * x / t
    y = y * y + row * col
    return np.sum(y) + np.sum(s * row)


def broadcasts_unannotated(x, row, col, s, t):
    y = x * row + col - s * x / t
    y = y * y + row * col
    return np.sum(y) + np.sum(s * row)


def rank_promoted(a, b):
    return np.sum(np.tanh(a * b) + b)


def reductions(x):
    m = x.mean(axis=1, keepdims=True)
    c = x - m
    v = np.mean(c * c, axis=0)
    return np.sum(np.sqrt(v + 1.0)) + x.sum() * np.mean(x) + np.sum(x.sum(axis=0) ** 2)


def reductions_unannotated(x):
    return np.sum(x.sum(axis=(0, 2)) ** 2) + np.mean(np.mean(x, axis=-1, keepdims=True) * x)


def elementwise(x, y):
    a = np.exp(y) * np.log(x) + np.sqrt(x) - np.square(y) + np.abs(y) * np.sin(x)
    b = np.cos(y) / (1 + np.tanh(x)) + np.maximum(x, y) - np.minimum(x, y) ** 2
    return np.sum(a * b) + np.sum(x ** y)


def sigmoid_layer(x, w):
    return 1 / (1 + np.exp(-(x @ w)))


def products(v, m, u):
    return (v @ m) @ u + v @ v + np.sum(m @ u) + np.dot(v, m @ u)


def transposes(a, b):
    return np.sum((a.T @ b) * (a @ b.T).sum()) + np.sum(np.transpose(a) @ b)


def mean_squared(pred, target):
    d = pred - target
    return np.mean(d * d)


def total(x):
    # its gradient once came back as a read-only np.broadcast_to view
    return np.sum(x)


def passthrough(x: "N D"):
    # its gradient once came back as the caller's own dout
    return x + 0.0


def unknown_output(x, y):
    # unannotated: the output is an array only at run time
    return x * y + np.tanh(x)


def batchnorm(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    xhat = (x - mu) / np.sqrt(var + eps)
    return gamma * xhat + beta


def leaky(x, labels):
    n = x.shape[0]
    y = np.where(x > 0, x, 0.01 * x)
    return np.sum(np.clip(y, -1.0, 1.0) ** 2) / n + np.std(x, axis=1).sum() / len(x)


def flattened(x, w):
    z = x.reshape(x.shape[0], -1) @ w
    return np.sum(z * z) + np.sum(x.ravel() * np.sign(x.ravel()))


def softmax_cross_entropy(scores, onehot):
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(onehot * log_probs) / scores.shape[0]


def pooled(x):
    return np.sum(np.max(x, axis=1) ** 2) + np.min(x) * x.max()


def softmax_loss(x, y):
    N = x.shape[0]
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(log_probs[np.arange(N), y]) / N


def embedding(W, idx):
    # indices repeat: the gradient must add them up (np.add.at), not overwrite
    return np.sum(W[idx] ** 2)


def slices(x, t = 2, H = 3):
    a = x[:, t, :]
    b = a[:, H:2 * H] * a[:, :H]
    return np.sum(b) + np.sum(x[0] * x[-1]) + np.sum(a[:, np.newaxis] * a[:, :, None])


def masked(x):
    return np.sum(x[x > 0] ** 2)


def annotated_pep593(x: Annotated[np.ndarray, "N D"], b: Annotated[np.ndarray, "D"]):
    # the linter-friendly spelling of x: "N D"
    return np.sum(np.tanh(x + b) ** 2)


def joins(a, b, c):
    N, D = a.shape
    h = np.concatenate([a, b], axis=1)
    s = np.stack((a, c), axis=0)
    v = np.vstack([a, c]) * np.hstack([a, b]).sum()
    return np.sum(h ** 2) + np.sum(s * s[::-1]) + np.sum(v) / N + D


def reshapes(x, u, w):
    e = np.expand_dims(x, 1)
    q = np.squeeze(e, axis=1) * np.outer(u, w)
    z = np.zeros_like(x) + np.ones_like(x) * x
    t = np.transpose(e, axes=(2, 0, 1))
    return np.sum(q * z) + np.sum(t ** 3) + np.sum(x.transpose() @ x)


def norms(x, z):
    return (np.linalg.norm(x) + np.sum(np.linalg.norm(x, axis=1) ** 2)
            + np.sum(np.linalg.norm(x * z, axis=0, keepdims=True)))


def stacks(a, b, c):
    # matrix products of stacks: b is broadcast over the batch axis B
    return np.sum((a @ b) @ c) + np.sum(np.matmul(a, b) ** 2)


def softmax_fused(s, y):
    # the CS231n form: adgen/fuse.py turns it into one softmax gate
    s = s - s.max(axis=1, keepdims=True)
    e = np.exp(s)
    probs = e / e.sum(axis=1, keepdims=True)
    return -np.log(probs[np.arange(s.shape[0]), y]).mean()


def softmax_not_fused(s):
    # e is used again, so the statements stay separate (and must still be right)
    e = np.exp(s)
    probs = e / e.sum(axis=0, keepdims=True)
    return np.sum(probs * e) + np.sum(np.log(probs))


def filled(x):
    N, D = x.shape
    mask = np.zeros((N, D))
    mask[:, 0] = 1.0
    return np.sum((x + np.ones((N, 1))) * mask) + np.sum(np.ones(D) * x)


def cancelling(x, c):
    # c's gradient is exactly 0; check_grad once failed it on the rounding of sum(c) - sum(c)
    return x * 10 + np.sum(c) - np.sum(c)


def picks_distinct(x, y):
    # rows = np.arange(N) makes the (row, label) pairs distinct: a direct `+=` scatter
    N = x.shape[0]
    rows = np.arange(N)
    picked = x[rows, y]
    return np.sum(picked * picked) + np.sum(np.tanh(x[rows, y]))


def picks_repeating(x, y):
    # an arange of length 1 broadcast against 5 labels: (0, y[i]) pairs repeat, so the
    # gradient must add them up (np.add.at), arange or not
    first = np.arange(1)
    picked = x[first, y]
    return np.sum(picked ** 2)


def picks_columns(x, y):
    # the arange on the second axis, labels per column
    cols = np.arange(x.shape[1])
    return np.sum(np.exp(x[y, cols]))
