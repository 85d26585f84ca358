"""Neural-network layers and losses in numpy, written the way the CS231n assignments write them.

    adgen examples/layers.py -o examples/layers_grad.py     # the generated backward passes

Each function computes one value: a layer returns its output (so its gradient is a
vector-Jacobian product with an upstream `dout` of the output's shape), a loss returns a scalar.

* layers: `affine`, `relu`, `sigmoid`, `batchnorm` (training mode), `layernorm`, `dropout`
  (with a given mask);
* losses: `softmax_loss`, `log_softmax_loss` (the same loss through the log-softmax),
  `svm_loss` (multiclass hinge), `two_layer_loss` (affine - ReLU -
  affine - softmax, with L2 regularisation), and the DQN temporal-difference loss twice:
  `td_clipped_loss` clips the TD error to [-1, 1], `td_huber_loss` uses the Huber loss.  Their
  backward passes tell the story of examples/scalar_losses.py: the clipped loss has zero
  gradient exactly where the error is large, the Huber loss a gradient of +-1 there.

The functions carry no annotations, as the assignments' code carries none: `adgen.grad(f)(x,
w, b)` takes the shapes from its arguments, and `adgen examples/layers.py` reads what it can
off the code (`N = x.shape[0]`, `x @ w`, `probs[np.arange(N), y]`) and lists in the generated
module's header what it assumed (`x (n1, n2): an operand of @`), which the generated code
checks.  Parameters with a default value (`eps`, `reg`, `gamma` of the DQN losses) are
hyperparameters.

`adgen examples/layers.py` generates layers_grad.py beside it (with `--layer`, the CS231n
forward/backward API); `python examples/layers.py` evaluates every function on small random
inputs.  tests/reference_layers.py has hand-written backward passes to compare with.
"""

import numpy as np


# ------------------------------------------------------------------ layers

def affine(x, w, b):
    """Fully connected layer: `x @ w + b`.  (CS231n's affine_forward also flattens image
    inputs, x.reshape(N, -1); here inputs arrive flattened.)"""
    return x @ w + b


def relu(x):
    """Rectified linear unit, elementwise max(0, x)."""
    return np.maximum(0, x)


def sigmoid(x):
    """Logistic sigmoid, elementwise 1 / (1 + exp(-x))."""
    return 1 / (1 + np.exp(-x))


def batchnorm(x, gamma, beta, eps = 1e-5):
    """Batch normalisation in training mode: each feature (column) of `x` normalised with the
    mean and (biased) variance of the minibatch, then scaled by `gamma` and shifted by `beta`."""
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    x_hat = (x - mu) / np.sqrt(var + eps)
    return gamma * x_hat + beta


def layernorm(x, gamma, beta, eps = 1e-5):
    """Layer normalisation: each example (row) of `x` normalised with its own mean and
    (biased) variance over the features, then scaled by `gamma` and shifted by `beta`."""
    mu = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    x_hat = (x - mu) / np.sqrt(var + eps)
    return gamma * x_hat + beta


def dropout(x, mask):
    """Inverted dropout in training mode with a given mask: `mask` is what the CS231n layer
    draws, `(np.random.rand(*x.shape) < p) / p` (0 for a dropped unit, 1/p for a kept one)."""
    return x * mask


# ------------------------------------------------------------------ losses

def softmax_loss(x, y):
    """Mean softmax cross-entropy of class scores `x` for labels `y` (0 <= y[i] < C)."""
    N = x.shape[0]
    shifted = x - x.max(axis=1, keepdims=True)
    exp_scores = np.exp(shifted)
    probs = exp_scores / exp_scores.sum(axis=1, keepdims=True)
    return -np.log(probs[np.arange(N), y]).mean()


def log_softmax_loss(x, y):
    """`softmax_loss` through the log-softmax, x - log(sum(exp(x))): the log-probability
    stays finite where a probability underflows to 0."""
    N = x.shape[0]
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -log_probs[np.arange(N), y].mean()


def svm_loss(x, y):
    """Mean multiclass SVM (hinge) loss of class scores `x` for labels `y`, margin 1."""
    N = x.shape[0]
    correct = x[np.arange(N), y]
    margins = np.maximum(0, x - correct[:, np.newaxis] + 1.0)
    margins[np.arange(N), y] = 0
    return margins.sum() / N


def two_layer_loss(X, y, W1, b1, W2, b2,
                   reg = 0.0):
    """Loss of the two-layer net affine - ReLU - affine - softmax on data `X` with labels `y`:
    mean softmax cross-entropy plus L2 regularisation `reg` of the weights W1 and W2."""
    N = X.shape[0]
    hidden = np.maximum(0, X @ W1 + b1)
    scores = hidden @ W2 + b2
    scores = scores - scores.max(axis=1, keepdims=True)
    exp_scores = np.exp(scores)
    probs = exp_scores / exp_scores.sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(N), y]).mean()
    loss += reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    return loss


def td_clipped_loss(q, actions, reward, q_next,
                    gamma = 0.99):
    """DQN temporal-difference loss with the TD error clipped to [-1, 1]: half the mean square
    of the clipped error of Q(s, a) (`q` at the `actions` taken) against the target
    reward + gamma * max over a' of Q'(s', a') (`q_next`, from the target network)."""
    N = q.shape[0]
    delta = reward + gamma * q_next.max(axis=1) - q[np.arange(N), actions]
    clipped = np.clip(delta, -1.0, 1.0)
    return 0.5 * (clipped**2).mean()


def td_huber_loss(q, actions, reward, q_next,
                  gamma = 0.99):
    """DQN temporal-difference loss with the Huber loss: mean of delta**2 / 2 where the TD error
    |delta| <= 1 and |delta| - 1/2 elsewhere; arguments as for `td_clipped_loss`."""
    N = q.shape[0]
    delta = reward + gamma * q_next.max(axis=1) - q[np.arange(N), actions]
    abs_delta = np.abs(delta)
    return np.where(abs_delta <= 1.0, 0.5 * delta**2, abs_delta - 0.5).mean()


# ------------------------------------------------------------------ demo

if __name__ == "__main__":
    # Every function on small random inputs of consistent shapes (module level, not a
    # function, so that `adgen examples/layers.py` sees only the functions above).
    rng = np.random.default_rng(0)
    N, C, H, W, M, D, K, A = 4, 2, 3, 2, 3, 5, 3, 2
    x = rng.standard_normal((N, D))
    scores = rng.standard_normal((N, K))
    labels = rng.integers(0, K, size=N)
    p = 0.5
    mask = (rng.random((N, D)) < p) / p
    q, q_next = rng.standard_normal((N, A)), rng.standard_normal((N, A))
    actions, reward = rng.integers(0, A, size=N), rng.standard_normal(N)
    results = {
        "affine": affine(rng.standard_normal((N, C * H * W)), rng.standard_normal((C * H * W, M)),
                         rng.standard_normal(M)),
        "relu": relu(x),
        "sigmoid": sigmoid(x),
        "batchnorm": batchnorm(x, rng.standard_normal(D), rng.standard_normal(D)),
        "layernorm": layernorm(x, rng.standard_normal(D), rng.standard_normal(D)),
        "dropout": dropout(x, mask),
        "softmax_loss": softmax_loss(scores, labels),
        "log_softmax_loss": log_softmax_loss(scores, labels),
        "svm_loss": svm_loss(scores, labels),
        "two_layer_loss": two_layer_loss(x, labels, 0.1 * rng.standard_normal((D, 6)),
                                         0.1 * rng.standard_normal(6),
                                         0.1 * rng.standard_normal((6, K)),
                                         0.1 * rng.standard_normal(K), reg=1e-3),
        "td_clipped_loss": td_clipped_loss(q, actions, reward, q_next),
        "td_huber_loss": td_huber_loss(q, actions, reward, q_next),
    }
    with np.printoptions(precision=4, suppress=True):
        for name, value in results.items():
            if np.ndim(value) == 0:
                print(f"{name} = {float(value):.6f}")
            else:
                print(f"{name}: shape {value.shape}\n{value}")
