"""The CS231n backprop notes' examples."""

import math

INPUTS = {
    "staged": {"x": (-4.0, 4.0), "y": (-4.0, 4.0)},
    "nested": {"x": (-4.0, 4.0), "y": (-4.0, 4.0)},
    "neuron": {"w0": (-3.0, 3.0), "x0": (-3.0, 3.0), "w1": (-3.0, 3.0), "x1": (-3.0, 3.0),
               "w2": (-3.0, 3.0)},
    "simple": {"x": (-3.0, 3.0), "y": (-3.0, 3.0), "z": (-3.0, 3.0)},
}


def staged(x, y):
    sigy = 1.0 / (1 + math.exp(-y))
    num = x + sigy
    sigx = 1.0 / (1 + math.exp(-x))
    xpy = x + y
    xpysqr = xpy**2
    den = sigx + xpysqr
    invden = 1.0 / den
    f = num * invden
    return f


def nested(x, y):
    return (x + 1 / (1 + math.exp(-y))) / (1 / (1 + math.exp(-x)) + (x + y) ** 2)


def neuron(w0, x0, w1, x1, w2):
    return 1.0 / (1 + math.exp(-(w0 * x0 + w1 * x1 + w2)))


def simple(x, y, z):
    q = x + y
    f = q * z
    return f
