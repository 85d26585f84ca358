"""CS231n assignment 2's batchnorm_forward, exactly as students write it: the running
statistics read with .get defaults that need D (computed where the .get is), written back
into bn_param (the generated gradient writes them as the forward does), and a cache that is
None in test mode (so no batchnorm_backward is generated: batchnorm_forward_grad
differentiates out in both modes).  `python examples/cs231n_batchnorm.py` checks the
generated gradient against the assignment's reference backward and finite differences."""

import numpy as np


def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param['mode']
    eps = bn_param.get('eps', 1e-5)
    momentum = bn_param.get('momentum', 0.9)

    N, D = x.shape
    running_mean = bn_param.get('running_mean', np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get('running_var', np.zeros(D, dtype=x.dtype))

    out, cache = None, None
    if mode == 'train':
        sample_mean = np.mean(x, axis=0)
        sample_var = np.var(x, axis=0)
        x_hat = (x - sample_mean) / np.sqrt(sample_var + eps)
        out = gamma * x_hat + beta
        cache = (x, x_hat, sample_mean, sample_var, eps, gamma, beta)
        running_mean = momentum * running_mean + (1 - momentum) * sample_mean
        running_var = momentum * running_var + (1 - momentum) * sample_var
    elif mode == 'test':
        x_hat = (x - running_mean) / np.sqrt(running_var + eps)
        out = gamma * x_hat + beta
    else:
        raise ValueError('Invalid forward batchnorm mode "%s"' % mode)

    bn_param['running_mean'] = running_mean
    bn_param['running_var'] = running_var

    return out, cache


if __name__ == "__main__":
    import copy
    import importlib.util
    import pathlib

    here = pathlib.Path(__file__).with_name("cs231n_batchnorm_grad.py")
    spec = importlib.util.spec_from_file_location("cs231n_batchnorm_grad", here)
    generated = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generated)
    rng = np.random.default_rng(0)
    x, dout = rng.standard_normal((6, 4)), rng.standard_normal((6, 4))
    gamma, beta = rng.uniform(0.5, 1.5, 4), rng.standard_normal(4)

    def reference(dout, cache):
        """The assignment's batchnorm_backward_alt, from the train-mode cache."""
        x, x_hat, mean, var, eps, gamma, beta = cache
        dx_hat = dout * gamma
        dx = (dx_hat - dx_hat.mean(axis=0) - x_hat * (dx_hat * x_hat).mean(axis=0)) / \
            np.sqrt(var + eps)
        return dx, np.sum(dout * x_hat, axis=0), np.sum(dout, axis=0)

    param = {"mode": "train"}
    _, cache = batchnorm_forward(x, gamma, beta, copy.deepcopy(param))
    got = generated.batchnorm_forward_grad(x, gamma, beta, param, dout)
    error = max(np.max(np.abs(g - r)) for g, r in zip(got, reference(dout, cache)))
    print(f"train mode: max difference from the reference backward {error:.1e}")
    assert error < 1e-10
    print("running_mean written:", np.round(param["running_mean"], 4))

    def numeric(arr, param, h=1e-6):
        grad = np.zeros_like(arr)
        for i in np.ndindex(arr.shape):
            old = arr[i]
            arr[i] = old + h
            plus = batchnorm_forward(x, gamma, beta, copy.deepcopy(param))[0]
            arr[i] = old - h
            minus = batchnorm_forward(x, gamma, beta, copy.deepcopy(param))[0]
            arr[i] = old
            grad[i] = np.sum((plus - minus) * dout) / (2 * h)
        return grad

    param = {"mode": "test", "running_mean": param["running_mean"],
             "running_var": param["running_var"]}
    got = generated.batchnorm_forward_grad(x, gamma, beta, copy.deepcopy(param), dout)
    error = max(np.max(np.abs(g - numeric(a, param))) for g, a in zip(got, (x, gamma, beta)))
    print(f"test mode: max error against numerical gradients {error:.1e}")
    assert error < 1e-6
