"""autograd's vocabulary (issue 10), in code as people write it: element-wise numpy and math
functions, reductions with tuple axes, reordering and gathering, einsum and numpy.linalg.
Every route and check of tests/test_corpus.py runs through each."""

import math

import numpy as np

N = 4
D = 3

INPUTS = {
    "scalar_special": {"x": (0.5, 3.0), "y": (0.5, 2.0)},
    "elementwise_tour": {"x": ((N, D), -0.9, 0.9), "w": ((D,), 0.2, 2.0)},
    "reductions": {"x": ((N, D, 2), -2.0, 2.0)},
    "prod_with_zeros": {"x": ((N, D), -2.0, 2.0)},
    "reorder_gather": {"x": ((N, D), -2.0, 2.0), "w": ((D,), -2.0, 2.0),
                       "idx": ("int", (5,), 0, D)},
    "einsum_bilinear": {"x": ((N, D), -1.0, 1.0), "a": ((D, D), -1.0, 1.0),
                        "y": ((N, D), -1.0, 1.0)},
    "gaussian_logpdf": {"x": ((N, D), -2.0, 2.0), "mu": ((D,), -1.0, 1.0),
                        "b": ((D, D), -1.0, 1.0)},
    "spectral": {"b": ((D, D), -1.0, 1.0)},
    "array_of_an_array": {"x": ((D,), -2.0, 2.0)},
    "polynomial_fit": {"c": ((4,), -1.0, 1.0), "x": ((N,), -1.5, 1.5),
                       "t": ((N,), -1.0, 1.0)},
    "quadratic_in_its_weight": {"w": (-1.0, 1.0), "x": ((N,), -1.0, 1.0)},
    "smoothed_signal": {"signal": ((7,), -1.0, 1.0), "kernel": ((3,), -1.0, 1.0)},
    "kernel_longer_than_signal": {"signal": ((3,), -1.0, 1.0), "kernel": ((6,), -1.0, 1.0)},
    "matched_filter": {"signal": ((8,), -1.0, 1.0), "template": ((3,), -1.0, 1.0)},
    "path_between": {"start": (-1.0, 1.0), "stop": (0.5, 2.0)},
    "taylor_sine": {"x": ((N,), -2.0, 2.0)},
}
SHAPES = {
    "elementwise_tour": "x=N,D w=D",
    "reorder_gather": "x=N,D w=D idx=int:5",
    "einsum_bilinear": "x=N,D a=D,D y=N,D",
    "gaussian_logpdf": "x=N,D mu=D b=D,D",
    "spectral": "b=D,D",
    "array_of_an_array": "x=D",
    "reductions": "x=N,D,K",
    "prod_with_zeros": "x=N,D",
    "polynomial_fit": "c=K x=N t=N",
    "quadratic_in_its_weight": "w=float x=N",
    "smoothed_signal": "signal=N kernel=K",
    "kernel_longer_than_signal": "signal=N kernel=K",
    "matched_filter": "signal=N template=K",
    "taylor_sine": "x=N",
}


def scalar_special(x, y):
    return math.lgamma(x) + math.gamma(y) * math.copysign(x, y - 1.0) + math.fmod(x, y) + \
        math.degrees(x) * math.radians(y) + np.pi * math.cbrt(x)


def elementwise_tour(x, w):
    a = np.tan(x) + np.arcsin(x) * np.arctanh(x) + np.log2(w) + np.logaddexp(x, w)
    b = np.arctan2(x, w) * np.hypot(x, w) + np.expm1(x) / np.cosh(x)
    return np.sum(np.multiply(a, b)) + np.sum(np.floor(x) * x)


def reductions(x):
    m = np.max(x, axis=(0, 2))
    v = np.var(x, axis=1, ddof=1)
    c = np.cumsum(x, axis=1)
    return np.sum(m) + np.sum(v) + np.sum(c ** 2) + np.sum(np.cumprod(x[:, 0, 0]))


def prod_with_zeros(x):
    y = np.where(x > 1.0, 0.0, x)
    return np.sum(np.prod(y, axis=1)) + np.prod(x[0])


def reorder_gather(x, w, idx):
    s = np.sort(x, axis=1)
    r = np.roll(x, 1, axis=0) * np.flip(x, 0)
    t = np.tile(w, (4, 1)) + np.triu(x[:D, :]).sum() + np.repeat(w, 2).sum()
    p = np.pad(x, 1) ** 2
    k = np.take(w, idx)
    v = np.array([w[0], w[1] * 2.0, 3.0])
    top, rest = np.array_split(x, [1])
    return np.sum(s * x) + np.sum(r * t) + np.sum(p) + np.sum(k ** 2) + np.sum(v ** 2) + \
        np.trace(x[:D, :]) + np.sum(top) * np.sum(rest ** 2)


def einsum_bilinear(x, a, y):
    z = np.einsum("nd,de,ne->n", x, a, y)
    return np.einsum("n,n->", z, z) + np.einsum("ij->", a * a)


def gaussian_logpdf(x, mu, b):
    cov = b @ b.T + np.eye(D)
    sign, logdet = np.linalg.slogdet(cov)
    diff = x - mu
    sol = np.linalg.solve(cov, diff.T)
    low = np.linalg.cholesky(cov)
    return 0.5 * np.sum(diff.T * sol) + 0.5 * N * logdet + np.sum(np.linalg.inv(cov)) + \
        np.linalg.det(cov) + np.sum(low)


def spectral(b):
    s = b @ b.T + np.diag(np.arange(1.0, D + 1.0))
    w, v = np.linalg.eigh(s)
    u, sv, vh = np.linalg.svd(b, full_matrices=False)
    return np.sum(w ** 2) + np.sum(v[:, 0] ** 4) + np.sum(sv) + np.sum(u[0] * vh[1] ** 2)


def array_of_an_array(x):
    """np.array(x) of an array is a copy of it (not np.array([x]), a new first axis)."""
    y = np.array(x)
    return y[0] * np.sum(x)


def polynomial_fit(c, x, t):
    """Least squares for a cubic's coefficients (highest power first, as numpy has them)."""
    pred = np.polyval(c, x)
    return np.mean((pred - t) ** 2) + 0.1 * np.polyval(c, 0.5) ** 2


def quadratic_in_its_weight(w, x):
    return np.sum(np.polyval([w, 2.0, w * w], x) ** 2)


def smoothed_signal(signal, kernel):
    smooth = np.convolve(signal, kernel, mode="same")
    edges = np.convolve(signal, kernel)
    return np.sum(smooth ** 2) + np.sum(np.tanh(edges))


def kernel_longer_than_signal(signal, kernel):
    """numpy swaps the operands when the second is longer: 'same' is kernel-long then."""
    same = np.convolve(signal, kernel, "same")
    valid = np.convolve(signal, kernel, "valid")
    return np.sum(same * np.arange(len(same))) + np.sum(valid ** 2)


def matched_filter(signal, template):
    response = np.convolve(signal, template[::-1], "valid")
    return np.max(response) + np.sum(response ** 2) / len(response)


def path_between(start, stop):
    ts = np.linspace(start, stop, 9)
    half = np.linspace(start, stop, num=4, endpoint=False)
    return np.sum(np.sin(ts) * ts) + np.sum(half ** 3)


def taylor_sine(x):
    s = np.zeros_like(x)
    for k in range(6):
        s = s + (-1) ** k * x ** (2 * k + 1) / math.factorial(2 * k + 1)
    return np.sum(s * math.comb(4, 2))
