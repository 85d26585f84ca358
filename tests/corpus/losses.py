"""Scalar losses from the field."""

import math

INPUTS = {
    "logistic_loss": {"w": (-2.0, 2.0), "b": (-1.0, 1.0), "x": (-2.0, 2.0), "y": (0.0, 1.0)},
    "softplus_forms": {"z": (-3.0, 3.0)},
    "logsumexp2": {"a": (-3.0, 3.0), "b": (-3.0, 3.0)},
    "gaussian_nll": {"x": (-2.0, 2.0), "mu": (-1.0, 1.0), "log_sigma": (-1.0, 1.0)},
    "two_layer_scalar": {"w1": (-1.0, 1.0), "w2": (-1.0, 1.0), "b1": (-1.0, 1.0),
                         "x": (-2.0, 2.0), "t": (-1.0, 1.0)},
    "tanh_rnn_unrolled": {"wx": (-1.0, 1.0), "wh": (-1.0, 1.0), "x0": (-1.0, 1.0),
                          "x1": (-1.0, 1.0), "x2": (-1.0, 1.0)},
}


def logistic_loss(w, b, x, y):
    p = 1 / (1 + math.exp(-(w * x + b)))
    return -(y * math.log(p) + (1 - y) * math.log(1 - p))


def softplus_forms(z):
    return math.log(1 + math.exp(z)) + math.log1p(math.exp(-z)) + math.log(math.exp(z) + 1)


def logsumexp2(a, b):
    m = max(a, b)
    return m + math.log(math.exp(a - m) + math.exp(b - m))


def gaussian_nll(x, mu, log_sigma):
    sigma = math.exp(log_sigma)
    return 0.5 * ((x - mu) / sigma) ** 2 + log_sigma + 0.5 * math.log(2 * math.pi)


def two_layer_scalar(w1, w2, b1, x, t):
    h = math.tanh(w1 * x + b1)
    y = w2 * h
    return 0.5 * (y - t) ** 2


def tanh_rnn_unrolled(wx, wh, x0, x1, x2):
    h = math.tanh(wx * x0)
    h = math.tanh(wx * x1 + wh * h)
    h = math.tanh(wx * x2 + wh * h)
    return h * h
