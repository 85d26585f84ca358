"""Operators, constants, re-assignment, augmented assignment and unpacking."""

import math

SCALE = 2.5
HALF = 1 / 2
TWO_PI = 2 * math.pi

INPUTS = {
    "operators": {"x": (0.5, 2.0), "y": (0.5, 2.0)},
    "unary": {"x": (-2.0, 2.0)},
    "powers": {"x": (0.5, 2.0), "y": (0.5, 2.0)},
    "constants": {"x": (-2.0, 2.0)},
    "reassign": {"x": (-1.0, 1.0), "y": (-1.0, 1.0)},
    "augmented": {"x": (0.5, 2.0), "y": (0.5, 2.0)},
    "unpack": {"x": (-2.0, 2.0), "y": (-2.0, 2.0)},
    "swap": {"a": (-2.0, 2.0), "b": (-2.0, 2.0)},
    "same_operand": {"x": (-2.0, 2.0)},
    "deep": {"x": (-1.0, 1.0), "y": (-1.0, 1.0)},
    "float_order": {"a": (-1.0, 1.0), "b": (-1.0, 1.0), "c": (-1.0, 1.0)},
}


def operators(x, y):
    return x + y - x * y / (x - 3) + x ** y


def unary(x):
    a = -x
    b = +a
    c = -(-b)
    return c * -2 - -x


def powers(x, y):
    a = x ** 2 + x ** 3 + x ** 0.5 + x ** -1 + x ** 1 + x ** 0
    b = y ** x + 2 ** x + math.pow(x, y) + pow(y, 2)
    return a * b


def constants(x):
    return SCALE * x + HALF * x ** 2 + math.pi * math.sin(TWO_PI * x) + math.e + math.tau


def reassign(x, y):
    h = x * y
    h = h * 2 + x
    h = math.tanh(h)
    x = x * 3
    return h + x


def augmented(x, y):
    s = x
    s += y
    s *= x
    s -= y * 2
    s /= y
    s **= 2
    return s


def unpack(x, y):
    a, b = x * 2, y + 1
    c, d = a * b, a - b
    return c + d ** 2


def swap(a, b):
    a, b = b, a * b
    a, b = b + a, a
    return a * 3 + b


def same_operand(x):
    y = x * x
    z = y + y
    return z / (1 + x * x)


def deep(x, y):
    return ((((x + y) * (x - y) + 1) * x + 2) * y + 3) * (x + (y + (x * (y + 1))))


def float_order(a, b, c):
    return a + (b + c) - (a - (b - c))
