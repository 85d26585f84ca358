"""CS231n layers as the assignments write them: each `*_forward` returns `(out, cache)`.

`adgen examples/cs231n_layers.py` writes, for each of them, the `*_backward(dout, cache)`
the assignment asks for -- taking the layer's *own* cache, unpacking it as the forward
built it, and recomputing only what the cache lacks -- next to `*_forward_grad`.
Run this file to check every generated backward against numerical gradients."""

import numpy as np


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1).dot(w) + b
    cache = (x, w, b)
    return out, cache


def relu_forward(x):
    out = np.maximum(0, x)
    cache = x
    return out, cache


def sigmoid_forward(x):
    out = 1 / (1 + np.exp(-x))
    cache = out
    return out, cache


def affine_relu_forward(x, w, b):
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    cache = (fc_cache, relu_cache)
    return out, cache


def batchnorm_forward(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=0)
    xc = x - mu
    var = (xc ** 2).mean(axis=0)
    std = np.sqrt(var + eps)
    xn = xc / std
    out = gamma * xn + beta
    cache = {'x': x, 'xn': xn, 'gamma': gamma, 'beta': beta, 'std': std, 'xc': xc}
    return out, cache


if __name__ == "__main__":
    import importlib.util
    import pathlib

    def _numeric(f, args, i, dout, h=1e-6):
        """The central difference of sum(f(...) * dout) with respect to args[i]."""
        grad = np.zeros_like(args[i])
        for index in np.ndindex(args[i].shape):
            plus = [a.copy() for a in args]
            minus = [a.copy() for a in args]
            plus[i][index] += h
            minus[i][index] -= h
            grad[index] = np.sum((f(*plus)[0] - f(*minus)[0]) * dout) / (2 * h)
        return grad

    here = pathlib.Path(__file__).with_name("cs231n_layers_grad.py")
    spec = importlib.util.spec_from_file_location("cs231n_layers_grad", here)
    generated = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generated)
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((4, 2, 3)), rng.standard_normal((6, 5)), rng.standard_normal(5)
    z, gamma, beta = rng.standard_normal((4, 5)), rng.standard_normal(5), rng.standard_normal(5)
    layers = {
        "affine": (affine_forward, (x, w, b)),
        "relu": (relu_forward, (z,)),
        "sigmoid": (sigmoid_forward, (z,)),
        "affine_relu": (affine_relu_forward, (x, w, b)),
        "batchnorm": (batchnorm_forward, (z, gamma, beta)),
    }
    for name, (forward, args) in layers.items():
        out, cache = forward(*args)
        dout = rng.standard_normal(out.shape)
        grads = getattr(generated, f"{name}_backward")(dout, cache)
        grads = grads if isinstance(grads, tuple) else (grads,)
        error = max(np.max(np.abs(g - _numeric(forward, args, i, dout)))
                    for i, g in enumerate(grads))
        print(f"{name}_backward(dout, cache): max error against numerical gradients "
              f"{error:.1e}")
        assert error < 1e-6, name
