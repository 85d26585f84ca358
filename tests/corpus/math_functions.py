"""Every math function adgen differentiates."""

import math
from math import exp, log as ln
import math as m

INPUTS = {
    "exp_log": {"x": (0.2, 3.0)},
    "roots": {"x": (0.2, 3.0)},
    "trig": {"x": (-1.0, 1.0)},
    "hyperbolic": {"x": (-1.5, 1.5)},
    "inverse_trig": {"x": (-0.8, 0.8)},
    "inverse_hyperbolic": {"x": (1.2, 3.0)},
    "small": {"x": (-0.5, 2.0)},
    "special": {"x": (-1.5, 1.5)},
    "two_args": {"x": (0.3, 2.0), "y": (0.3, 2.0)},
    "aliases": {"x": (0.2, 2.0)},
    "taylor_exp": {"x": (-2.0, 2.0)},
    "binomial_mean": {"p": (0.1, 0.9)},
    "arrangements": {"p": (-1.0, 1.0)},
}


def exp_log(x):
    return math.exp(x) * math.log(x) + math.log2(x) - math.log10(x)


def roots(x):
    return math.sqrt(x) + math.sqrt(1 + x * x)


def trig(x):
    return math.sin(x) * math.cos(2 * x) + math.tan(x)


def hyperbolic(x):
    return math.tanh(x) + math.sinh(x) * math.cosh(x)


def inverse_trig(x):
    return math.asin(x) + math.acos(x / 2) * math.atan(3 * x)


def inverse_hyperbolic(x):
    return math.asinh(x) + math.acosh(x) + math.atanh(1 / x)


def small(x):
    return math.log1p(x) + math.expm1(x / 2)


def special(x):
    return math.erf(x) * math.erfc(x / 2)


def two_args(x, y):
    return math.atan2(x, y) + math.hypot(x, y) + math.hypot(x, y, x * y) + math.pow(x, y)


def aliases(x):
    return exp(x) + ln(x) + m.sqrt(x)


def taylor_exp(x):
    s = 0.0
    for k in range(10):
        s += x ** k / math.factorial(k)
    return s


def binomial_mean(p, n=6):
    total = 0.0
    for k in range(n + 1):
        total += math.comb(n, k) * p ** k * (1 - p) ** (n - k) * k
    return total


def arrangements(p):
    return math.perm(5, 2) * p ** 2 + math.perm(4) * p + math.comb(7, 3) / math.factorial(3)
