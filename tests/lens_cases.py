"""Small functions for tests/test_lens.py: each leaks in one known way at a known line (the
tests find the line by its text, so that editing this file does not break them)."""

import math

import numpy as np


def neuron(w, x):
    return 1 / (1 + math.exp(-(w * x)))


def squashed(x):
    return math.tanh(3.0 * x)


def relu_unit(w, b, x):
    z = w * x + b
    return max(0.0, z)


def td_clipped(q, reward, q_next, gamma=0.99):
    delta = reward + gamma * q_next - q
    clipped = min(max(delta, -1.0), 1.0)
    return clipped * clipped


def td_huber(q, reward, q_next, gamma=0.99):
    delta = reward + gamma * q_next - q
    small = min(abs(delta), 1.0)
    return 0.5 * small**2 + (abs(delta) - small)


def recurrence(x, w, n=100):
    for i in range(n):
        x = w * x
    return x


def blows_up(x):
    return math.exp(x * x)


def root(x):
    return math.sqrt(x) + x


def gate(z):
    return 1 / (1 + np.exp(-z))


def layer(X, W, b):
    h = gate(X @ W + b)
    return np.sum(h * h)


def steps(x, w, n=40):
    for i in range(n):
        x = w * x
    return x


def run_steps(x, w):
    y = steps(x, w)
    return y * y


def relu_layer(X, W, b):
    h = np.maximum(0, X @ W + b)
    return np.sum(h)


def clipped_mean(d):
    c = np.clip(d, -1.0, 1.0)
    return np.sum(c ** 2)


def unshifted(s):
    e = np.exp(s)
    p = e / np.sum(e, axis=1, keepdims=True)
    return np.sum(p * p)


def lstm_free(x, h0, W):
    h = h0
    for t in range(x.shape[0]):
        h = np.tanh(x[t] + h @ W)
    return np.sum(h)


def floored(d):
    return np.sum(np.maximum(d, -1.0) ** 2)


def gated(x):
    return np.sum(np.where(x > 0, x, 0.5))


def logged(x):
    if x > 10.0:
        raise ValueError("x is too large")
    return math.log(x) * x
