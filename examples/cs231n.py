"""The CS231n backprop notes' examples, as forward functions for adgen.

    adgen examples/cs231n.py                                  # print the backward passes
    adgen examples/cs231n.py -o examples/cs231n_grad.py       # regenerate the committed module
    python examples/cs231n.py                                 # run them, and check them

`f` is the notes' "staged computation" of f(x, y) = (x + sigmoid(y)) / (sigmoid(x) + (x+y)^2),
`f_nested` the same function as one expression (adgen stages it for you), and `neuron` the
2-input sigmoid neuron of the notes' "circuit diagram" example.
"""

import math


def f(x, y):
    sigy = 1.0 / (1 + math.exp(-y))  # sigmoid in numerator
    num = x + sigy  # numerator
    sigx = 1.0 / (1 + math.exp(-x))  # sigmoid in denominator
    xpy = x + y
    xpysqr = xpy**2
    den = sigx + xpysqr  # denominator
    invden = 1.0 / den
    f = num * invden  # done!
    return f


def f_nested(x, y):
    return (x + 1 / (1 + math.exp(-y))) / (1 / (1 + math.exp(-x)) + (x + y) ** 2)


def neuron(w0, x0, w1, x1, w2):
    return 1.0 / (1 + math.exp(-(w0 * x0 + w1 * x1 + w2)))


if __name__ == "__main__":
    import adgen

    print("f(3, -4) =", f(3.0, -4.0), " (dx, dy) =", adgen.grad(f)(3.0, -4.0))
    print("neuron: (dw0, dx0, dw1, dx1, dw2) =", adgen.grad(neuron)(2.0, -1.0, -3.0, -2.0, -3.0))
    print(adgen.check_grad(f, 3.0, -4.0))
    print(adgen.check_grad(f_nested, 3.0, -4.0))
    print(adgen.check_grad(neuron, 2.0, -1.0, -3.0, -2.0, -3.0))
