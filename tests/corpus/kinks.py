"""Non-differentiable points: abs, max, min, hypot (checked away from their kinks here;
tests/test_kinks.py checks the conventions at the kinks)."""

import math

INPUTS = {
    "relu": {"x": (-2.0, 2.0)},
    "absolute": {"x": (-2.0, 2.0), "y": (-2.0, 2.0)},
    "extremes": {"x": (-2.0, 2.0), "y": (-2.0, 2.0), "z": (-2.0, 2.0)},
    "hinge": {"w": (-2.0, 2.0), "x": (-2.0, 2.0)},
    "clipped": {"x": (-3.0, 3.0)},
    "smooth_l1": {"x": (-3.0, 3.0)},
    "stepped": {"x": (-3.0, 3.0), "y": (-3.0, 3.0)},
}


def relu(x):
    return max(0.0, x)


def absolute(x, y):
    return abs(x - y) + math.fabs(x * y)


def extremes(x, y, z):
    return max(x, y, z) * min(x, y) + max(x * y, z) - min(x, y, z, 0.5)


def hinge(w, x):
    return max(0, 1 - w * x) + 0.1 * w * w


def clipped(x):
    return min(max(x, -1.0), 1.0) * x


def smooth_l1(x):
    return math.sqrt(1 + x * x) - 1


def stepped(x, y):
    return math.floor(x) * y + round(y) * x + math.ceil(x * y) + math.trunc(y) * x * x
