"""The negative log-likelihood of data under a multivariate Gaussian, with numpy.linalg.

    adgen examples/gaussian.py -o examples/gaussian_grad.py

`gaussian_nll(x, mu, cov)` is the average over the rows of x of

    0.5 * (d log(2 pi) + log det(cov) + (x - mu) cov^-1 (x - mu)^T)

written as one would in numpy: `np.linalg.slogdet` for the log-determinant (its sign is
unpacked and not used: a covariance has a positive determinant) and `np.linalg.solve` rather
than an inverse.  The generated backward pass reads

    dcov = -np.linalg.solve(cov.T, dsol) @ sol.T      (from the solve)
    dcov += dlogdet * np.linalg.inv(cov).T            (from the log-determinant)

which needs cov nonsingular (docs/non-differentiable.md#linear-algebra).  The gradient is
with respect to every entry of cov: a symmetric covariance gets a symmetric gradient.

`chol_nll` is the same likelihood through a Cholesky factor, cov = L L^T, the usual way to
keep a learned covariance positive definite: `np.linalg.cholesky`'s gradient reads the lower
triangle of its operand, as numpy does (Murray's formula).
"""

import numpy as np


def gaussian_nll(x: "N D", mu: "D", cov: "D D"):
    sign, logdet = np.linalg.slogdet(cov)
    diff = x - mu
    sol = np.linalg.solve(cov, diff.T)
    mahalanobis = np.sum(diff.T * sol, axis=0)
    d = x.shape[1]
    return 0.5 * np.mean(mahalanobis) + 0.5 * (logdet + d * np.log(2 * np.pi))


def chol_nll(x: "N D", mu: "D", a: "D D"):
    cov = a @ a.T + np.eye(a.shape[0])
    low = np.linalg.cholesky(cov)
    logdet = 2 * np.sum(np.log(np.diagonal(low)))
    diff = x - mu
    sol = np.linalg.solve(cov, diff.T)
    return 0.5 * np.mean(np.sum(diff.T * sol, axis=0)) + 0.5 * logdet


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    x, mu = rng.standard_normal((20, 3)), rng.standard_normal(3)
    a = rng.standard_normal((3, 3))
    cov = a @ a.T + np.eye(3)
    print("gaussian_nll:", gaussian_nll(x, mu, cov))
    print("chol_nll:    ", chol_nll(x, mu, a))
