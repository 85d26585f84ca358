"""numpy code as people write it: no annotations, shapes only from the arguments (the library
API specialises on them) or from the code itself (the CLI infers them, and states what it
assumed).  The statements follow the CS231n assignments, autograd's and JAX's examples.

`SHAPES` gives the CLI the `--shapes` of a function whose code does not say what the
arguments are (a weight vector `w` in `X.dot(w)` looks like a matrix to the CLI, which
assumes matrices for both operands of a product)."""

import math

import numpy as np

N, D, H, C, T = 5, 4, 3, 6, 3

INPUTS = {
    "rosenbrock_by_builtin_sum": {"x": ((5,), -1.5, 1.5)},
    "two_layer_relu_softmax": {"X": ((N, D), -2.0, 2.0), "W1": ((D, H), -1.0, 1.0),
                               "b1": ((H,), -0.5, 0.5), "W2": ((H, C), -1.0, 1.0),
                               "b2": ((C,), -0.5, 0.5), "y": ("int", (N,), 0, C)},
    "two_layer_sigmoid_quadratic": {"X": ((N, D), -2.0, 2.0), "W1": ((D, H), -1.0, 1.0),
                                    "b1": ((H,), -0.5, 0.5), "W2": ((H, C), -1.0, 1.0),
                                    "b2": ((C,), -0.5, 0.5), "Y": ((N, C), 0.0, 1.0)},
    "svm_loss_vectorized": {"W": ((D, C), -1.0, 1.0), "X": ((N, D), -2.0, 2.0),
                            "y": ("int", (N,), 0, C)},
    "softmax_loss_vectorized": {"W": ((D, C), -1.0, 1.0), "X": ((N, D), -2.0, 2.0),
                                "y": ("int", (N,), 0, C)},
    "logistic_regression_l2": {"w": ((D,), -1.0, 1.0), "X": ((N, D), -2.0, 2.0),
                               "y": ((N,), 0.0, 1.0)},
    "linear_regression_mse": {"w": ((D,), -1.0, 1.0), "b": (-1.0, 1.0),
                              "X": ((N, D), -2.0, 2.0), "t": ((N,), -2.0, 2.0)},
    "attention": {"Q": ((N, D), -1.0, 1.0), "K": ((T, D), -1.0, 1.0),
                  "V": ((T, H), -1.0, 1.0)},
    "rnn_step_loss": {"x": ((N, D), -1.0, 1.0), "prev_h": ((N, H), -1.0, 1.0),
                      "Wx": ((D, H), -1.0, 1.0), "Wh": ((H, H), -1.0, 1.0),
                      "b": ((H,), -0.5, 0.5)},
    "rnn_forward_loss": {"x": ((N, T, D), -1.0, 1.0), "h0": ((N, H), -1.0, 1.0),
                         "Wx": ((D, H), -1.0, 1.0), "Wh": ((H, H), -0.5, 0.5),
                         "b": ((H,), -0.5, 0.5)},
    "number_updated_in_place": {"x": (-1.0, 1.0), "y": ((D,), -1.0, 1.0)},
    "entry_of_a_slice_updated": {"w": ((D,), -1.0, 1.0), "b": ((D,), -1.0, 1.0),
                                 "x": ((D,), -1.0, 1.0)},
    "lstm_step_loss": {"x": ((N, D), -1.0, 1.0), "prev_h": ((N, H), -1.0, 1.0),
                       "prev_c": ((N, H), -1.0, 1.0), "Wx": ((D, 4 * H), -1.0, 1.0),
                       "Wh": ((H, 4 * H), -1.0, 1.0), "b": ((4 * H,), -0.5, 0.5)},
    "lstm_forward_loss": {"x": ((N, T, D), -1.0, 1.0), "h0": ((N, H), -1.0, 1.0),
                          "Wx": ((D, 4 * H), -0.5, 0.5), "Wh": ((H, 4 * H), -0.5, 0.5),
                          "b": ((4 * H,), -0.5, 0.5)},
    "word_embedding_loss": {"W": ((C, D), -1.0, 1.0), "x": ("int", (N, T), 0, C)},
    "batchnorm_train": {"x": ((N, D), -2.0, 2.0), "gamma": ((D,), 0.5, 1.5),
                        "beta": ((D,), -1.0, 1.0)},
    "layernorm": {"x": ((N, D), -2.0, 2.0), "gamma": ((D,), 0.5, 1.5),
                  "beta": ((D,), -1.0, 1.0)},
    "affine_relu_affine": {"x": ((N, D), -2.0, 2.0), "w1": ((D, H), -1.0, 1.0),
                           "b1": ((H,), -0.5, 0.5), "w2": ((H, C), -1.0, 1.0),
                           "b2": ((C,), -0.5, 0.5)},
    "dropout_layer_loss": {"x": ((N, D), -2.0, 2.0), "w": ((D, H), -1.0, 1.0),
                           "mask": ((N, H), 0.0, 2.0)},
    "huber_loss": {"pred": ((N,), -3.0, 3.0), "target": ((N,), -3.0, 3.0)},
    "logsumexp_cross_entropy": {"logits": ((N, C), -3.0, 3.0), "y": ("int", (N,), 0, C)},
    "gaussian_nll": {"x": ((N,), -2.0, 2.0), "mu": (-1.0, 1.0), "log_sigma": (-0.5, 0.5)},
    "cosine_similarity": {"a": ((D,), -1.0, 1.0), "b": ((D,), -1.0, 1.0)},
    "temporal_softmax_loss": {"x": ((N, T, C), -2.0, 2.0), "y": ("int", (N, T), 0, C),
                              "mask": ((N, T), 0.0, 1.0)},
    "tanh_mlp_mean_loss": {"X": ((N, D), -2.0, 2.0), "W1": ((D, H), -1.0, 1.0),
                           "W2": ((H, 1), -1.0, 1.0), "t": ((N, 1), -1.0, 1.0)},
    "numpy_only_through_a_method": {"x": ((3, 4), -1.0, 1.0), "w": ((3, 4), -1.0, 1.0)},
    "broadcast_into_a_method_sum": {"x": ((3, 4), -1.0, 1.0), "w": ((4,), -1.0, 1.0)},
    "first_slice_then_matrix_rows": {"x": ((T, N, D), -1.0, 1.0), "W": ((D, H), -1.0, 1.0)},
    "valid_convolution_1d": {"x": ((8,), -1.0, 1.0), "w": ((3,), -1.0, 1.0)},
    "pairs_of_steps": {"x": ((7, D), -1.0, 1.0), "W": ((D, D), -0.5, 0.5)},
    "zipped_elements": {"x": ((N,), -1.0, 1.0), "w": ((N,), -1.0, 1.0)},
    "stacked_features": {"x": ((N,), -1.0, 1.0), "y": ((N,), -1.0, 1.0)},
    "labels_picked_with_range": {"X": ((N, D), -1.0, 1.0), "W": ((D, C), -1.0, 1.0),
                                 "y": ("int", (N,), 0, C)},
    "rows_by_index_array": {"W": ((C, D), -1.0, 1.0), "idx": ("int", (N,), 0, C)},
    "mean_over_size": {"pred": ((N, C), -1.0, 1.0), "t": ((N, C), -1.0, 1.0)},
    "polynomial_columns": {"x": ((N,), -1.0, 1.0), "w": ((3,), -1.0, 1.0)},
    "rows_counted_by_labels": {"logits": ((N, C), -2.0, 2.0), "y": ("int", (N,), 0, C)},
    "concatenated_layer": {"x": ((N, D), -1.0, 1.0), "W": ((2 * D, H), -1.0, 1.0)},
    "zipped_rows_and_targets": {"X": ((N, D), -1.0, 1.0), "t": ((N,), -1.0, 1.0),
                                "w": ((D,), -1.0, 1.0)},
    "lstm_step": {"x": ((N, D), -1.0, 1.0), "prev_h": ((N, H), -1.0, 1.0),
                  "prev_c": ((N, H), -1.0, 1.0), "Wx": ((D, 4 * H), -1.0, 1.0),
                  "Wh": ((H, 4 * H), -1.0, 1.0), "b": ((4 * H,), -0.5, 0.5)},
    "gru_step": {"x": ((N, D), -1.0, 1.0), "prev_h": ((N, H), -1.0, 1.0),
                 "Wx": ((D, 3 * H), -1.0, 1.0), "Wh": ((H, 3 * H), -1.0, 1.0),
                 "b": ((3 * H,), -0.5, 0.5)},
    "lstm_forward": {"x": ((N, T, D), -1.0, 1.0), "h0": ((N, H), -1.0, 1.0),
                     "Wx": ((D, 4 * H), -0.5, 0.5), "Wh": ((H, 4 * H), -0.5, 0.5),
                     "b": ((4 * H,), -0.5, 0.5)},
    "conv_forward_naive": {"x": ((2, 3, 4, 4), -1.0, 1.0), "w": ((2, 3, 3, 3), -1.0, 1.0),
                           "b": ((2,), -0.5, 0.5), "conv_param": {"stride": 1, "pad": 1}},
    "strided_convolution_by_hyperparameters": {"x": ((1, 2, 5, 5), -1.0, 1.0),
                                               "w": ((2, 2, 3, 3), -1.0, 1.0)},
    "causal_self_attention": {"x": ((T + 1, D), -1.0, 1.0), "Wq": ((D, H), -1.0, 1.0),
                              "Wk": ((D, H), -1.0, 1.0), "Wv": ((D, H), -1.0, 1.0)},
    "layer_norm_loss_as_float": {"x": ((N, D), -1.0, 1.0), "g": ((D,), 0.5, 1.5),
                                 "b": ((D,), -0.5, 0.5)},
    "rbf_kernel_mean": {"X": ((4, 3), -1.0, 1.0), "Y": ((5, 3), -1.0, 1.0),
                        "gamma": (0.2, 0.8)},
}
WRT = {"conv_forward_naive": ("x", "w", "b"), "dropout_layer_loss": ("x", "w"), "temporal_softmax_loss": ("x",),
       "logistic_regression_l2": ("w",), "linear_regression_mse": ("w", "b")}
SHAPES = {
    "rosenbrock_by_builtin_sum": "x=N",
    "rbf_kernel_mean": "X=N,D Y=M,D gamma=float",
    "logistic_regression_l2": "w=D X=N,D y=N",
    "linear_regression_mse": "w=D b=float X=N,D t=N",
    "cosine_similarity": "a=D b=D",
    "gaussian_nll": "x=N mu=float log_sigma=float",
    "huber_loss": "pred=N target=N",
    "valid_convolution_1d": "x=N w=K",
    "zipped_elements": "x=N w=N",
    "zipped_rows_and_targets": "X=N,D t=N w=D",
    "polynomial_columns": "x=N w=3",
}


def two_layer_relu_softmax(X, W1, b1, W2, b2, y, reg=1e-3):
    # CS231n assignment 1, TwoLayerNet.loss
    N = X.shape[0]
    h = np.maximum(0, X.dot(W1) + b1)
    scores = h.dot(W2) + b2
    scores -= np.max(scores, axis=1, keepdims=True)
    exp_scores = np.exp(scores)
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    loss = -np.sum(np.log(probs[np.arange(N), y])) / N
    loss += reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    return loss


def two_layer_sigmoid_quadratic(X, W1, b1, W2, b2, Y):
    z1 = X @ W1 + b1
    a1 = 1 / (1 + np.exp(-z1))
    z2 = a1 @ W2 + b2
    a2 = 1 / (1 + np.exp(-z2))
    return 0.5 * np.sum((a2 - Y) ** 2) / X.shape[0]


def svm_loss_vectorized(W, X, y, reg=0.1):
    num_train = X.shape[0]
    scores = X.dot(W)
    correct_class_scores = scores[np.arange(num_train), y]
    margins = np.maximum(0, scores - correct_class_scores[:, np.newaxis] + 1)
    margins[np.arange(num_train), y] = 0
    loss = np.sum(margins) / num_train
    loss += reg * np.sum(W * W)
    return loss


def softmax_loss_vectorized(W, X, y, reg=0.1):
    num_train = X.shape[0]
    scores = X.dot(W)
    scores = scores - np.max(scores, axis=1, keepdims=True)
    log_probs = scores - np.log(np.sum(np.exp(scores), axis=1, keepdims=True))
    loss = -np.sum(log_probs[np.arange(num_train), y]) / num_train
    loss += 0.5 * reg * np.sum(W * W)
    return loss


def logistic_regression_l2(w, X, y, lam=0.01):
    z = X.dot(w)
    p = 1.0 / (1.0 + np.exp(-z))
    eps = 1e-12
    nll = -np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps))
    return nll + lam * np.dot(w, w)


def linear_regression_mse(w, b, X, t):
    pred = X @ w + b
    return np.mean((pred - t) ** 2)


def attention(Q, K, V):
    d = Q.shape[1]
    scores = Q @ K.T / math.sqrt(d)
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights = weights / weights.sum(axis=-1, keepdims=True)
    out = weights @ V
    return np.sum(out ** 2)


def rnn_step_loss(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x.dot(Wx) + prev_h.dot(Wh) + b)
    return np.sum(next_h * next_h)


def rnn_forward_loss(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    h = h0
    loss = 0.0
    for t in range(T):
        h = np.tanh(x[:, t, :].dot(Wx) + h.dot(Wh) + b)
        loss += np.sum(h ** 2)
    return loss


def lstm_step_loss(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x.dot(Wx) + prev_h.dot(Wh) + b
    i = 1 / (1 + np.exp(-a[:, :H]))
    f = 1 / (1 + np.exp(-a[:, H:2 * H]))
    o = 1 / (1 + np.exp(-a[:, 2 * H:3 * H]))
    g = np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    return np.sum(next_h) + np.sum(next_c * next_c)


def lstm_forward_loss(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    H = h0.shape[1]
    h = h0
    c = np.zeros_like(h0)
    loss = 0.0
    for t in range(T):
        a = x[:, t, :] @ Wx + h @ Wh + b
        i = 1 / (1 + np.exp(-a[:, :H]))
        f = 1 / (1 + np.exp(-a[:, H:2 * H]))
        o = 1 / (1 + np.exp(-a[:, 2 * H:3 * H]))
        g = np.tanh(a[:, 3 * H:])
        c = f * c + i * g
        h = o * np.tanh(c)
        loss = loss + np.sum(h)
    return loss


def word_embedding_loss(W, x):
    out = W[x]
    return np.sum(np.sin(out) * out)


def batchnorm_train(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    x_hat = (x - mu) / np.sqrt(var + eps)
    out = gamma * x_hat + beta
    return np.sum(np.sin(out) * out)


def layernorm(x, gamma, beta, eps=1e-5):
    mu = np.mean(x, axis=1, keepdims=True)
    var = np.var(x, axis=1, keepdims=True)
    x_hat = (x - mu) / np.sqrt(var + eps)
    out = gamma * x_hat + beta
    return np.sum(np.tanh(out))


def affine_relu_affine(x, w1, b1, w2, b2):
    hidden = x.reshape(x.shape[0], -1).dot(w1) + b1
    hidden = np.maximum(hidden, 0)
    out = hidden.dot(w2) + b2
    return np.sum(out * out) / 2


def dropout_layer_loss(x, w, mask):
    h = np.maximum(0, x @ w)
    h = h * mask / 0.5
    return np.sum(h)


def huber_loss(pred, target, delta=1.0):
    r = pred - target
    quadratic = 0.5 * r ** 2
    linear = delta * (np.abs(r) - 0.5 * delta)
    return np.mean(np.where(np.abs(r) <= delta, quadratic, linear))


def logsumexp_cross_entropy(logits, y):
    m = np.max(logits, axis=1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(logits - m), axis=1, keepdims=True))
    log_probs = logits - lse
    return -np.mean(log_probs[np.arange(logits.shape[0]), y])


def gaussian_nll(x, mu, log_sigma):
    sigma = np.exp(log_sigma)
    z = (x - mu) / sigma
    return np.sum(0.5 * z ** 2 + log_sigma + 0.5 * np.log(2 * np.pi))


def cosine_similarity(a, b):
    return np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))


def temporal_softmax_loss(x, y, mask):
    # CS231n assignment 3, temporal_softmax_loss
    N, T, V = x.shape
    x_flat = x.reshape(N * T, V)
    y_flat = y.reshape(N * T)
    mask_flat = mask.reshape(N * T)
    probs = np.exp(x_flat - np.max(x_flat, axis=1, keepdims=True))
    probs /= np.sum(probs, axis=1, keepdims=True)
    loss = -np.sum(mask_flat * np.log(probs[np.arange(N * T), y_flat])) / N
    return loss


def tanh_mlp_mean_loss(X, W1, W2, t):
    h = np.tanh(X @ W1)
    y = h @ W2
    return np.mean((y - t) ** 2)


def numpy_only_through_a_method(x, w):
    """Found by the array property hunt (2000 examples, unannotated): numpy only through
    a method (x.sum()) made adgen take the function for scalar code, whose gradients may
    share one array: dw = dx = dx_2, then dx += 2 * dx_2 changed dw too (3 where it is
    1)."""
    x = x + x + x
    x += w
    return x.sum()


def broadcast_into_a_method_sum(x, w):
    """The same hunt: taken for scalar code, w's gradient was not summed back to its
    shape (dw (3, 4) for a w of shape (4,))."""
    x = x + x
    x += w
    return x.sum()


def first_slice_then_matrix_rows(x, W):
    """Refused by the command line (AD305: axis 1 out of range for 1 axis): x[0] @ W was
    taken for a row of a table times a matrix (x a matrix, v a vector) before the
    reduction along axis 1 said v is a matrix, so x has three axes."""
    v = x[0]
    s = np.tanh(v @ W)
    return s.sum(axis=1).sum()


def valid_convolution_1d(x, w):
    """Refused (AD305: range() needs integers): sizes computed from shapes,
    x.shape[0] - w.shape[0] + 1, were taken for floats."""
    n = x.shape[0] - w.shape[0] + 1
    out = np.zeros(n)
    for i in range(n):
        out[i] = np.dot(x[i:i + w.shape[0]], w)
    return np.sum(out ** 2)


def pairs_of_steps(x, W):
    """The same for floor division and a product of sizes: range(T // 2), 2 * t + 1."""
    T = x.shape[0]
    h = np.zeros(x.shape[1])
    for t in range(T // 2):
        h = np.tanh(h @ W + x[2 * t] - x[2 * t + 1])
    return np.sum(h ** 2)


def zipped_elements(x, w):
    """Refused (AD105: several loop variables over an array): a loop over zip of arrays,
    element by element."""
    total = 0.0
    for xi, wi in zip(x, w):
        total += xi * wi
    return total ** 2


def zipped_rows_and_targets(X, t, w):
    """The same over a matrix's rows and a vector, as a per-example loss is written."""
    loss = 0.0
    for row, target in zip(X, t):
        loss = loss + (row @ w - target) ** 2
    return loss / X.shape[0]


def stacked_features(x, y):
    """The command line drew x and y as numbers (nothing said they are arrays), so
    np.stack(..., axis=1) failed when verified: stacking along axis 1 now says the operands
    have an axis, and np.stack that they have one shape."""
    f = np.stack([x, y ** 2, np.sin(x)], axis=1)
    return (f.mean(axis=0) ** 2).sum()


def concatenated_layer(x, W):
    """Refused by the command line (AD305: a @ b needs operands of known rank): the
    concatenation's rank was unknown; now (n1, 2*n2), so W is (2*n2, n3)."""
    h = np.concatenate([x, np.tanh(x)], axis=1)
    return ((h @ W) ** 2).mean()


def labels_picked_with_range(X, W, y):
    """Refused (AD301: no derivative rule for 'range'): probs[range(N), y], as CS231n
    solutions often write np.arange(N)."""
    scores = X @ W
    probs = np.exp(scores - scores.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    N = X.shape[0]
    return -np.sum(np.log(probs[range(N), y])) / N


def rows_by_index_array(W, idx):
    """--verify crashed (TypeError: an integer array of any shape had no shape to draw)."""
    return (W[idx] ** 2).sum()


def mean_over_size(pred, t):
    """Refused (AD102: attribute access 't.size' is not supported): a mean written with
    .size, and a rank read with .ndim."""
    loss = ((pred - t) ** 2).sum() / t.size
    if pred.ndim == 2:
        loss = loss + 0.0 * pred.shape[1]
    return loss


def polynomial_columns(x, w):
    """Refused (AD301: no derivative rule for 'numpy.column_stack')."""
    feats = np.column_stack([x, x ** 2, x ** 3])
    return ((feats @ w) ** 2).sum()


def rows_counted_by_labels(logits, y):
    """--verify could not run (IndexError): rows picked as np.arange(len(y)) were not tied
    to y's length, so the table and the labels were drawn with different sizes."""
    m = logits.max(axis=1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(logits - m), axis=1, keepdims=True))
    return np.mean(lse.ravel() - logits[np.arange(len(y)), y])


def number_updated_in_place(x, y):
    """Refused on the command line (AD208: in-place update of parameter 'x', "if it is an
    array"): `x += y` on a number, in a module of numpy code.  Nothing else says what x is,
    so the update says it: a number (rebound, never updated in place)."""
    x += y
    return np.sum(np.tanh(x) * y)


def entry_of_a_slice_updated(w, b, x):
    """Refused on the command line (AD208, found by the property hunt): for a vector w,
    w[1:][0] is a number and `h += ...` rebinds it, but for an unknown rank it was taken for
    a view of w (which it is for a matrix: then the update would change w)."""
    h = w[1:][0]
    w = b
    h += x[0]
    return h * w[0]


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def lstm_step(x, prev_h, prev_c, Wx, Wh, b):
    """CS231n's LSTM step as users write it: `--verify` could not run ("found no point where
    the function evaluates"): inference gave Wx (n2, n3) and b (n3,) with n3 unrelated to
    H, so the sampled gates a[:, 3 * H:] were empty.  The slices' widths say n3 = 4*H."""
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H:2 * H])
    o = sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    return np.sum(next_h)


def gru_step(x, prev_h, Wx, Wh, b):
    """A GRU step: two gates sliced together (a[:, :2 * H]), split in halves, then a third
    piece; `--verify` could not run, as for lstm_step (3*H)."""
    H = prev_h.shape[1]
    a = x @ Wx + b
    ah = prev_h @ Wh
    rz = sigmoid(a[:, :2 * H] + ah[:, :2 * H])
    r = rz[:, :H]
    z = rz[:, H:]
    n = np.tanh(a[:, 2 * H:] + r * ah[:, 2 * H:])
    next_h = (1 - z) * n + z * prev_h
    return np.sum(next_h)


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H:2 * H])
    o = sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    return next_h, next_c


def lstm_forward(x, h0, Wx, Wh, b):
    """CS231n's lstm_forward over time steps (a layer: the hidden states, (N, T, H)); the
    same gates as lstm_step, so `--verify` could not run either."""
    N, T, D = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    prev_h = h0
    prev_c = np.zeros_like(h0)
    for t in range(T):
        next_h, next_c = lstm_step_forward(x[:, t, :], prev_h, prev_c, Wx, Wh, b)
        h[:, t, :] = next_h
        prev_h, prev_c = next_h, next_c
    return h


def conv_forward_naive(x, w, b, conv_param):
    """The CS231n assignment's naive convolution, as students write it: the skeleton's
    `out = None`, the hyperparameters in a dict, `int(...)` sizes, np.pad by `(pad,)`."""
    out = None
    stride, pad = conv_param['stride'], conv_param['pad']
    N, C, H, W = x.shape
    F, C, HH, WW = w.shape
    H_out = int(1 + (H + 2 * pad - HH) / stride)
    W_out = int(1 + (W + 2 * pad - WW) / stride)
    out = np.zeros((N, F, H_out, W_out))
    x_pad = np.pad(x, ((0,), (0,), (pad,), (pad,)), 'constant')
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    window = x_pad[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out


def strided_convolution_by_hyperparameters(x, w, stride=2, pad=1):
    """Int hyperparameters with defaults are sizes: `//` of them bounds a range."""
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    total = 0.0
    for i in range(H_out):
        for j in range(W_out):
            window = x_pad[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
            total = total + np.sum(np.tanh(window * w[0])) - np.sum(window * w[1]) ** 2
    return total


def causal_self_attention(x, Wq, Wk, Wv):
    """A causal mask built from constants, cast with .astype(bool): no gradient flows
    through it, so the cast is computed as written."""
    T, d = x.shape
    q, k, v = x @ Wq, x @ Wk, x @ Wv
    att = q @ k.T / np.sqrt(d)
    mask = np.triu(np.ones((T, T)), k=1).astype(bool)
    att = np.where(mask, -np.inf, att)
    att = np.exp(att - att.max(axis=-1, keepdims=True))
    att = att / att.sum(axis=-1, keepdims=True)
    return ((att @ v) ** 2).sum()


def layer_norm_loss_as_float(x, g, b, eps=1e-5):
    """`return float(...)` of a number."""
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    y = (x - mean) / np.sqrt(var + eps) * g + b
    return float((y ** 2).sum())


def rbf_kernel_mean(X, Y, gamma):
    """An assert on a whole shape: `K.shape == (X.shape[0], Y.shape[0])`."""
    sq = np.sum(X ** 2, axis=1)[:, None] + np.sum(Y ** 2, axis=1)[None, :] - 2 * X @ Y.T
    K = np.exp(-gamma * sq)
    assert K.shape == (X.shape[0], Y.shape[0]), f"bad shape {K.shape}"
    return K.sum() / K.size


def rosenbrock_by_builtin_sum(x):
    """scipy's Rosenbrock as people write it, Python's sum over an array."""
    return sum(100.0*(x[1:]-x[:-1]**2.0)**2.0 + (1-x[:-1])**2.0)
