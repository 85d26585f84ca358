"""CS231n assignment 2's `batchnorm_forward`, exactly as students write it, and programs
that probe its class: a `.get` default that reads a local (computed where the .get is),
writes into a parameter dict's entries (done as the forward does them, where nothing reads
the entry afterwards), and a cache that is None on one path (`out, cache = None, None`,
assigned in train mode only).  Refused neighbours (a write read back, a write in a loop)
are pinned by their diagnostics in tests/test_diagnostics.py."""

import numpy as np

_STATS = {"running_mean": ((3,), -1.0, 1.0), "running_var": ((3,), 0.5, 1.5)}

INPUTS = {
    # the running statistics are in the dict from the start: the forward writes them back
    # at every call, and a call with them absent is a specialisation of its own
    "batchnorm_forward": {"x": ((5, 3), -2.0, 2.0), "gamma": ((3,), 0.5, 1.5),
                          "beta": ((3,), -1.0, 1.0), "bn_param": {"mode": "train", **_STATS}},
    "batchnorm_forward_test": {"x": ((5, 3), -2.0, 2.0), "gamma": ((3,), 0.5, 1.5),
                               "beta": ((3,), -1.0, 1.0),
                               "bn_param": {"mode": "test", "eps": 1e-3, **_STATS}},
    "default_reads_a_local": {"x": ((4,), -2.0, 2.0), "opts": {}},
    "default_reads_a_local_given": {"x": ((4,), -2.0, 2.0), "opts": {"w": ((4,), 0.5, 1.5)}},
    "scalar_default_reads_a_local": {"x": (-2.0, 2.0), "cfg": {}},
    "written_after_its_last_read": {"x": ((3,), -2.0, 2.0), "state": {"m": ((3,), -1.0, 1.0)}},
    "cache_none_in_test_mode": {"x": ((4,), -2.0, 2.0), "w": ((4,), -1.0, 1.0)},
}
# the command line cannot know which keys the dict holds: --shapes names the entry (the
# member opts_w); the batchnorm layers' CLI modules raise with the file's path in the
# message (the API's is absolute), so they are compared by their numbers
SHAPES = {"default_reads_a_local_given": "x=N opts_w=N",
          "batchnorm_forward": "x=N,D gamma=D beta=D",
          "batchnorm_forward_test": "x=N,D gamma=D beta=D"}
# functions that write into a parameter's dict (bn_param['running_mean'] = ...)
WRITES = ("batchnorm_forward", "batchnorm_forward_test", "written_after_its_last_read")
# (out, cache) layers: out is the output the harness differentiates
LAYERS = ("batchnorm_forward", "batchnorm_forward_test", "cache_none_in_test_mode")
WRT = {"batchnorm_forward": ("x", "gamma", "beta"),
       "batchnorm_forward_test": ("x", "gamma", "beta"),
       "written_after_its_last_read": ("x",)}


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


def batchnorm_forward_test(x, gamma, beta, bn_param):
    """The same, verbatim, called in test mode (the running statistics normalise x)."""
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


def default_reads_a_local(x, opts):
    """A .get default reading a local (n): the key is absent, the default is used."""
    n = x.shape[0]
    w = opts.get('w', np.ones(n) / n)
    return np.sum(w * x ** 2)


def default_reads_a_local_given(x, opts):
    """The same with the key present: the entry is used, and differentiated."""
    n = x.shape[0]
    w = opts.get('w', np.ones(n) / n)
    return np.sum(w * x ** 2)


def scalar_default_reads_a_local(x, cfg):
    """A default that depends on x itself: its gradient flows when the key is absent."""
    k = 2.0 * x
    s = cfg.get('scale', k)
    return s * x


def written_after_its_last_read(x, state):
    """An entry read, then written (its last read is before the write): momentum."""
    m = state['m']
    m = 0.9 * m + 0.1 * x
    state['m'] = m
    return np.sum(np.tanh(x) * 2.0)


def cache_none_in_test_mode(x, w, mode='train'):
    """A layer whose cache is None on one path: its gradient is of out on every path."""
    out, cache = None, None
    if mode == 'train':
        out = np.tanh(x * w)
        cache = (x, w, out)
    else:
        out = x * w
    return out, cache
