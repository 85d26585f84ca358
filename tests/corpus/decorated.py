"""Functions compiled by the decorator at import time."""

import math

import adgen
from adgen import differentiable

INPUTS = {
    "plain": {"x": (-2.0, 2.0), "y": (-2.0, 2.0)},
    "chosen": {"x": (-2.0, 2.0)},
    "imported_name": {"x": (0.5, 2.0)},
}
WRT = {"chosen": ("x",)}


@adgen.differentiable
def plain(x, y):
    return math.sin(x) * y


@adgen.differentiable(wrt=("x",))
def chosen(x, y=3.0):
    return x * y + math.exp(x)


@differentiable
def imported_name(x):
    return math.log(x) * x
