"""Hand-written backward passes of the layers and losses in examples/layers.py (CS231n style).

For each forward function `NAME(*inputs)` of examples/layers.py there is
`NAME_backward(dout, *inputs)`, taking the same arguments (and defaults) after the upstream
gradient `dout` of the output (an array of the output's shape for a layer, a float for a loss)
and returning a tuple with the gradient of every float input, in parameter order.  Integer
labels (`y`, `actions`), the dropout `mask` and hyperparameters (`eps`, `reg`, the DQN
`gamma`) get none.  Each function recomputes the forward values it needs, so it depends on
nothing but numpy; tests/test_reference_layers.py checks all of them against numerical
gradients.  They are the ground truth for adgen's generated backward passes.

Kinks follow adgen's scalar conventions (docs/non-differentiable.md): `np.maximum(0, x)` passes
the gradient only where `x > 0`; `np.clip(delta, -1, 1)` passes it where `-1 <= delta <= 1`
(at a boundary the tie goes to `delta`); a tie in a row's max goes to its first maximum
(`argmax`).
"""

import numpy as np


# ------------------------------------------------------------------ layers

def affine_backward(dout, x, w, b):
    """out = x.reshape(N, -1) @ w + b: (dx, dw, db)."""
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def relu_backward(dout, x):
    """out = np.maximum(0, x): (dx,)."""
    dx = dout * (x > 0)
    return (dx,)


def sigmoid_backward(dout, x):
    """out = 1 / (1 + np.exp(-x)): (dx,)."""
    s = 1 / (1 + np.exp(-x))
    dx = dout * (1 - s) * s
    return (dx,)


def _normalize_backward(dout, x, gamma, eps, axis):
    """Batch (axis=0) or layer (axis=1) normalisation: (dx, dgamma, dbeta)."""
    mu = x.mean(axis=axis, keepdims=True)
    inv_std = 1 / np.sqrt(x.var(axis=axis, keepdims=True) + eps)
    x_hat = (x - mu) * inv_std
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    # x_hat's Jacobian projects out the mean and the x_hat direction, then scales by 1/std
    dx = inv_std * (dx_hat - dx_hat.mean(axis=axis, keepdims=True)
                    - x_hat * (dx_hat * x_hat).mean(axis=axis, keepdims=True))
    return dx, dgamma, dbeta


def batchnorm_backward(dout, x, gamma, beta, eps=1e-5):
    """Batch normalisation, training mode: (dx, dgamma, dbeta)."""
    return _normalize_backward(dout, x, gamma, eps, axis=0)


def layernorm_backward(dout, x, gamma, beta, eps=1e-5):
    """Layer normalisation: (dx, dgamma, dbeta)."""
    return _normalize_backward(dout, x, gamma, eps, axis=1)


def dropout_backward(dout, x, mask):
    """out = x * mask: (dx,)."""
    dx = dout * mask
    return (dx,)


# ------------------------------------------------------------------ losses

def _softmax(scores):
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp_scores = np.exp(shifted)
    return exp_scores / exp_scores.sum(axis=1, keepdims=True)


def softmax_loss_backward(dout, x, y):
    """Mean softmax cross-entropy: (dx,)."""
    N = x.shape[0]
    dx = _softmax(x)
    dx[np.arange(N), y] -= 1
    dx *= dout / N
    return (dx,)


log_softmax_loss_backward = softmax_loss_backward  # the same loss


def svm_loss_backward(dout, x, y):
    """Mean multiclass hinge loss: (dx,)."""
    N = x.shape[0]
    rows = np.arange(N)
    margins = x - x[rows, y][:, np.newaxis] + 1.0
    positive = (margins > 0).astype(x.dtype)
    positive[rows, y] = 0
    dx = positive
    dx[rows, y] = -positive.sum(axis=1)
    dx *= dout / N
    return (dx,)


def two_layer_loss_backward(dout, X, y, W1, b1, W2, b2, reg=0.0):
    """Two-layer net (affine - ReLU - affine - softmax) with L2 regularisation:
    (dX, dW1, db1, dW2, db2)."""
    N = X.shape[0]
    pre = X @ W1 + b1
    hidden = np.maximum(0, pre)
    dscores = _softmax(hidden @ W2 + b2)
    dscores[np.arange(N), y] -= 1
    dscores *= dout / N
    dW2 = hidden.T @ dscores + 2 * reg * dout * W2
    db2 = dscores.sum(axis=0)
    dhidden = dscores @ W2.T
    dhidden[pre <= 0] = 0
    dW1 = X.T @ dhidden + 2 * reg * dout * W1
    db1 = dhidden.sum(axis=0)
    dX = dhidden @ W1.T
    return dX, dW1, db1, dW2, db2


def _td_backward(ddelta, q, actions, q_next, gamma):
    """Route the gradient of delta = reward + gamma * q_next.max(1) - q[rows, actions]:
    (dq, dreward, dq_next)."""
    rows = np.arange(q.shape[0])
    dq = np.zeros_like(q)
    dq[rows, actions] = -ddelta
    dq_next = np.zeros_like(q_next)
    dq_next[rows, q_next.argmax(axis=1)] = gamma * ddelta
    return dq, ddelta, dq_next


def _td_error(q, actions, reward, q_next, gamma):
    return reward + gamma * q_next.max(axis=1) - q[np.arange(q.shape[0]), actions]


def td_clipped_loss_backward(dout, q, actions, reward, q_next, gamma=0.99):
    """DQN loss with the TD error clipped to [-1, 1]: (dq, dreward, dq_next).  The gradient is
    zero for every example whose |delta| > 1."""
    delta = _td_error(q, actions, reward, q_next, gamma)
    inside = np.abs(delta) <= 1.0
    ddelta = dout / q.shape[0] * delta * inside  # d(clipped**2 / 2) = clipped, times clip'
    return _td_backward(ddelta, q, actions, q_next, gamma)


def td_huber_loss_backward(dout, q, actions, reward, q_next, gamma=0.99):
    """DQN loss with the Huber loss: (dq, dreward, dq_next).  The Huber loss's derivative is the
    clipped error, so the gradient is +-1 (times dout / N) where |delta| > 1."""
    delta = _td_error(q, actions, reward, q_next, gamma)
    ddelta = dout / q.shape[0] * np.clip(delta, -1.0, 1.0)
    return _td_backward(ddelta, q, actions, q_next, gamma)
