import math

def f(x, y):
    sigy = 1.0 / (1 + math.exp(-y))
    num = x + sigy
    sigx = 1.0 / (1 + math.exp(-x))
    xpy = x + y
    xpysqr = xpy**2
    den = sigx + xpysqr
    invden = 1.0 / den
    f = num * invden
    return f

def f_nested(x, y):
    return (x + 1 / (1 + math.exp(-y))) / (1 / (1 + math.exp(-x)) + (x + y) ** 2)

def neuron(w0, x0, w1, x1, w2):
    return 1.0 / (1 + math.exp(-(w0 * x0 + w1 * x1 + w2)))
