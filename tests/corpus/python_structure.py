"""The Python around the maths, as training code is written (issue 9): continue and break in
for and while loops, checks that raise or assert, booleans as flags, and the CS231n naive
loss loops."""

import logging
import math
import warnings

import numpy as np

INPUTS = {
    "chained_assignment_aliases": {"x": ((3,), -1.0, 1.0), "y": ((3,), -1.0, 1.0)},
    "chained_assignment_of_numbers": {"x": (-2.0, 2.0)},
    "extremes_of_lists": {"x": (-2.0, 2.0), "y": (-2.0, 2.0)},
    "activation_by_parameter": {"Z": ((4, 3), -2.0, 2.0), "W": ((3, 2), -1.0, 1.0)},
    "activation_chosen_by_a_literal": {"X": ((4, 3), -2.0, 2.0), "W1": ((3, 5), -1.0, 1.0),
                                       "W2": ((5, 2), -1.0, 1.0)},
    "options_by_literals_and_flags": {"x": (-1.5, 1.5), "y": (0.5, 2.0)},
    "printed_scalar_loss": {"x": (0.2, 1.0), "y": (0.5, 2.0)},
    "temporal_softmax_loss_verbose": {"x": ((2, 3, 4), -2.0, 2.0), "y": ("int", (2, 3), 0, 4),
                                      "mask": ("bool", (2, 3))},
    "temporal_softmax_loss_printing": {"x": ((2, 3, 4), -2.0, 2.0),
                                       "y": ("int", (2, 3), 0, 4), "mask": ("bool", (2, 3))},
    "logged_regression_loss": {"w": ((3,), -1.0, 1.0), "X": ((5, 3), -2.0, 2.0),
                               "y": ((5,), -1.0, 1.0)},
    "one_hot_entries_of_a_dict": {"W": ((2, 4), -1.0, 1.0), "b": (-1.0, 1.0),
                                  "idx": ("int", (3,), 1, 4)},
    "entry_of_a_list_updated_through_an_alias": {"w": ((3,), -1.0, 1.0), "x": (-1.0, 1.0)},
    "svm_loss_naive": {"W": ((4, 3), -1.0, 1.0), "X": ((5, 4), -2.0, 2.0),
                       "y": ("int", (5,), 0, 3), "reg": (0.01, 0.5)},
    "softmax_loss_naive": {"W": ((4, 3), -1.0, 1.0), "X": ((5, 4), -2.0, 2.0),
                           "y": ("int", (5,), 0, 3), "reg": (0.01, 0.5)},
    "first_over_threshold": {"x": (0.05, 1.5)},
    "until_large": {"x": (1.05, 3.0)},
    "skips_every_second": {"x": (0.5, 1.5)},
    "nested_continue_and_break": {"x": (0.2, 1.2), "y": (-1.0, 1.0)},
    "validated": {"x": (-2.0, 2.0), "y": (0.5, 3.0)},
    "validated_in_a_loop": {"x": (-2.0, 2.0)},
    "asserted_shapes": {"x": ((3, 4), -1.0, 1.0), "w": ((4,), -1.0, 1.0)},
    "two_layer_params": {"params": {"W1": ((4, 3), -1.0, 1.0), "b1": ((3,), -0.5, 0.5),
                                    "W2": ((3, 5), -1.0, 1.0), "b2": ((5,), -0.5, 0.5)},
                         "X": ((6, 4), -2.0, 2.0), "y": ("int", (6,), 0, 5)},
    "conv_like": {"x": ((3, 4), -1.0, 1.0), "w": ((3, 4), -1.0, 1.0),
                  "conv_param": {"stride": 2, "pad": 1}},
    "batchnorm_with_params": {"x": ((5, 3), -2.0, 2.0), "gamma": ((3,), 0.5, 1.5),
                              "beta": ((3,), -1.0, 1.0), "bn_param": {"eps": 1e-5}},
    "dropout_train": {"x": ((3, 4), -1.0, 1.0), "w": ((4, 5), -1.0, 1.0),
                      "mask": ((3, 5), 0.0, 2.0)},
    "dropout_test": {"x": ((3, 4), -1.0, 1.0), "w": ((4, 5), -1.0, 1.0), "mode": "test"},
    "lambda_activation": {"x": ((4, 3), -2.0, 2.0), "w": ((3, 2), -1.0, 1.0)},
    "nested_helper": {"x": (-1.5, 1.5), "y": (0.5, 2.0)},
    "closure_over_parameter": {"x": ((5,), -1.0, 1.0), "scale": (0.5, 2.0)},
    "stable_sigmoid_loss": {"x": ((3, 4), -3.0, 3.0), "w": ((4, 2), -1.0, 1.0)},
    "masks_computed_unannotated": {"x": ((5,), -2.0, 2.0)},
    "masked_assign": {"x": ((3, 4), -1.0, 1.0), "mask": ("bool", (3, 4))},
    "ridge_keyword_only": {"w": ((3,), -1.0, 1.0), "X": ((5, 3), -2.0, 2.0),
                           "y": ((5,), -1.0, 1.0)},
    "required_keyword_only": {"x": (-1.5, 1.5), "scale": (0.5, 2.0)},
    "keyword_only_differentiated": {"w": (-1.5, 1.5), "l2": (0.05, 0.5)},
    "keyword_only_helper_call": {"x": (-1.5, 1.5), "y": (0.5, 2.0)},
    "keyword_only_layer": {"x": ((3, 4), -1.0, 1.0), "W": ((4, 2), -1.0, 1.0)},
}
SHAPES = {"asserted_shapes": "x=N,D w=D", "chained_assignment_aliases": "x=N y=N", "conv_like": "stride=int pad=int",
          "dropout_train": "mask=N,M", "ridge_keyword_only": "w=D X=N,D y=N",
          "logged_regression_loss": "w=D X=N,D y=N",
          "temporal_softmax_loss_verbose": "x=N,T,V y=int:N,T mask=bool:N,T",
          "temporal_softmax_loss_printing": "x=N,T,V y=int:N,T mask=bool:N,T"}
WRT = {"one_hot_entries_of_a_dict": ("W", "b"), "two_layer_params": ("params",), "masked_assign": "x",
       "keyword_only_differentiated": ("w", "l2"), "temporal_softmax_loss_verbose": ("x",),
       "temporal_softmax_loss_printing": ("x",)}


def svm_loss_naive(W, X, y, reg):
    # CS231n assignment 1, linear_svm.svm_loss_naive (the loss part)
    num_classes = W.shape[1]
    num_train = X.shape[0]
    loss = 0.0
    for i in range(num_train):
        scores = X[i].dot(W)
        correct_class_score = scores[y[i]]
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = scores[j] - correct_class_score + 1
            if margin > 0:
                loss += margin
    loss /= num_train
    loss += reg * np.sum(W * W)
    return loss


def softmax_loss_naive(W, X, y, reg):
    loss = 0.0
    num_train = X.shape[0]
    for i in range(num_train):
        scores = X[i].dot(W)
        scores -= np.max(scores)
        loss += -scores[y[i]] + np.log(np.sum(np.exp(scores)))
    loss /= num_train
    loss += 0.5 * reg * np.sum(W * W)
    return loss


def first_over_threshold(x, n=8):
    s = 0.0
    for i in range(n):
        s = s + x * i
        if s > 3.0:
            break
        s = s * 1.1
    return s


def until_large(x):
    y = x
    k = 0
    while True:
        y = y * x
        k += 1
        if y > 10.0 or k >= 30:
            break
    return y + x


def skips_every_second(x):
    s = 0.0
    k = 0
    while k < 6:
        k += 1
        if k % 2 == 0:
            continue
        s = s + x ** k
    return s


def nested_continue_and_break(x, y):
    total = 0.0
    for i in range(3):
        if i == 1:
            continue
        for j in range(3):
            if j > i:
                break
            total = total + math.sin(x * j + y * i)
    return total


def validated(x, y):
    if y <= 0:
        raise ValueError("y must be positive")
    assert x < 100.0, "x is too large"
    return math.log(y) * x


def validated_in_a_loop(x, n=3):
    s = 0.0
    for i in range(n):
        if abs(x) > 1e6:
            raise ValueError(f"x={x} is not finite enough")
        s = s + math.sin(x * (i + 1))
    return s


def asserted_shapes(x, w):
    assert x.shape[1] == w.shape[0], "x and w do not match"
    return np.sum(np.tanh(x @ w))


def two_layer_params(params, X, y, reg=0.1):
    # CS231n's TwoLayerNet.loss with the weights in a dict: the gradient comes back as one
    W1, b1 = params['W1'], params['b1']
    W2, b2 = params['W2'], params['b2']
    N, D = X.shape
    h = np.maximum(0, X.dot(W1) + b1)
    scores = h.dot(W2) + b2
    scores -= scores.max(axis=1, keepdims=True)
    probs = np.exp(scores)
    probs /= probs.sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(N), y]).mean()
    return loss + reg * (np.sum(W1 * W1) + np.sum(params['W2'] * W2))


def conv_like(x, w, conv_param):
    # hyperparameters read out of a dict (ints: no gradient)
    stride = conv_param['stride']
    pad = conv_param.get('pad', 0)
    return np.sum(np.tanh(x * w)) * stride + pad


def batchnorm_with_params(x, gamma, beta, bn_param):
    eps = bn_param.get('eps', 1e-5)
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    x_hat = (x - mu) / np.sqrt(var + eps)
    out = gamma * x_hat + beta
    return np.sum(np.sin(out) * out)


def dropout_train(x, w, mask=None, mode='train'):
    # None and string defaults are static: the branch is decided by the call
    h = np.maximum(0, x @ w)
    if mode == 'train' and mask is not None:
        h = h * mask
    return np.sum(h * h)


def dropout_test(x, w, mask=None, mode='train'):
    h = np.maximum(0, x @ w)
    if mode == 'train' and mask is not None:
        h = h * mask
    elif mode == 'test':
        h = 0.5 * h
    return np.sum(h * h)


def lambda_activation(x, w):
    relu = lambda z: np.maximum(z, 0.0)
    square = lambda a, b=2: a ** b
    return np.sum(square(relu(x @ w)))


def nested_helper(x, y):
    def smooth(t):
        return math.log(1.0 + math.exp(t))

    return smooth(x) * smooth(x * y) / y


def closure_over_parameter(x, scale):
    def scaled_tanh(v):
        return np.tanh(scale * v)

    return np.sum(scaled_tanh(x) * scaled_tanh(2.0 * x))


def stable_sigmoid(x):
    # the staff's numerically stable sigmoid (CS231n assignment 3, rnn_layers.py):
    # assignments through boolean masks
    pos_mask = (x >= 0)
    neg_mask = (x < 0)
    z = np.zeros_like(x)
    z[pos_mask] = np.exp(-x[pos_mask])
    z[neg_mask] = np.exp(x[neg_mask])
    top = np.ones_like(x)
    top[neg_mask] = z[neg_mask]
    return top / (1 + z)


def stable_sigmoid_loss(x, w):
    return np.sum(stable_sigmoid(x @ w) ** 2)


def masked_assign(x, mask: "bool N D"):  # a mask parameter is declared boolean
    out = np.zeros_like(x)
    out[mask] = x[mask] * 2.0
    return np.sum(out * out)


def masks_computed_unannotated(x):
    """The staff's stable sigmoid with masks made by comparisons, no annotations: the masks
    are boolean whatever x's shape (issue 9, found in review of the docs)."""
    pos = x >= 0
    neg = x < 0
    z = np.zeros_like(x)
    z[pos] = np.exp(-x[pos])
    z[neg] = np.exp(x[neg])
    top = np.ones_like(x)
    top[neg] = z[neg]
    return np.sum(top / (1 + z))


def one_hot_entries_of_a_dict(W, b, idx):
    """min-char-rnn's inputs: `xs[t] = np.zeros(...)`, then `xs[t][idx[t]] = 1` updates the
    array the dict holds."""
    xs = {}
    total = 0.0
    for t in range(3):
        xs[t] = np.zeros(4)
        xs[t][idx[t]] = 1.0
        xs[t][0] = b
    for t in range(3):
        total = total + np.sum(np.tanh(W @ xs[t]))
    return total


def entry_of_a_list_updated_through_an_alias(w, x):
    """`hs[0][1] = x` updates the array `h` is bound to as well (numpy's semantics)."""
    h = np.zeros(3)
    hs = [h, h]
    hs[0][1] = x
    hs[1][2] = x * 2
    return np.sum(h * w) + np.sum(hs[0] * hs[1] * w)


# keyword-only parameters, as sklearn-style code writes hyperparameters: a default makes one
# a constant unless named in wrt; one without a default is differentiated, as any parameter
def ridge_keyword_only(w, X, y, *, l2=1e-4):
    r = X @ w - y
    return np.sum(r * r) / X.shape[0] + l2 * np.sum(w * w)


def required_keyword_only(x, *, scale, shift=0.5):
    return math.sin(scale * x) + shift * x * x


def keyword_only_differentiated(w, *, l2=0.1):
    return (w - 1.0) ** 2 + l2 * w ** 4


def _shrunk(a, *, by=2.0, power):
    return a ** power / by


def keyword_only_helper_call(x, y):
    return _shrunk(x * y, power=2) + _shrunk(y, by=4.0, power=3) + _shrunk(x, power=1)


def keyword_only_layer(x, W, *, alpha=0.1):
    h = x @ W
    return np.maximum(h, alpha * h)


def temporal_softmax_loss_verbose(x, y, mask, verbose=False):
    """CS231n's temporal_softmax_loss as written, its debug print under `if verbose:` (the
    gradient leaves prints out: they change no value)."""
    N, T, V = x.shape

    x_flat = x.reshape(N * T, V)
    y_flat = y.reshape(N * T)
    mask_flat = mask.reshape(N * T)

    probs = np.exp(x_flat - np.max(x_flat, axis=1, keepdims=True))
    probs /= np.sum(probs, axis=1, keepdims=True)
    loss = -np.sum(mask_flat * np.log(probs[np.arange(N * T), y_flat])) / N

    if verbose:
        print("dx_flat: ", probs.shape)

    return loss


def temporal_softmax_loss_printing(x, y, mask):
    """The same, printing on every call (verbose=True inlined)."""
    return temporal_softmax_loss_verbose(x, y, mask, verbose=True)


def logged_regression_loss(w, X, y):
    """Prints, logging and warnings as training code has them, a string as a comment."""
    scores = X @ w
    print(f"scores: mean {scores.mean():.3f}, shape {scores.shape}")
    "the loss: mean squared error"
    loss = np.mean((scores - y) ** 2)
    logging.info("loss %.4f", loss)
    if loss > 1e6:
        warnings.warn("the loss diverges")
    print("loss", loss, "max |w|", np.max(np.abs(w)), sep=" ")
    return loss


def printed_scalar_loss(x, y, verbose=True):
    """A function of numbers that prints with format specs and logs: the symbolic check runs
    it with those statements left out, as the generated code does (a format spec of a sympy
    expression raises)."""
    z = math.exp(-x * y)
    if verbose:
        print(f"z = {z:.4f}")
    logging.debug("z %s", z)
    out = z / (1 + x * x)
    print("out", out, round(out, 3))
    return out


def _activate(Z, activation):
    """deeplearning.ai's linear_activation_forward: if/elif on a string, no else."""
    if activation == "sigmoid":
        A = 1 / (1 + np.exp(-Z))
    elif activation == "relu":
        A = np.maximum(0, Z)
    return A


def activation_chosen_by_a_literal(X, W1, W2):
    """A helper picking its activation by a string literal, passed by position and by
    keyword: only the path taken is staged, so A is never read unassigned."""
    H = _activate(X @ W1, "relu")
    return np.sum(_activate(H @ W2, activation="sigmoid"))


def _scaled(x, mode=None, squared=False, name="x"):
    if mode is None:
        out = x
    elif mode == "double" and not squared:
        out = 2 * x
    if squared:
        out = out * out
    if name != "x":
        out = out + 1
    return out


def options_by_literals_and_flags(x, y):
    """None, flags and strings given as literals decide a helper's branches."""
    return _scaled(x) + _scaled(y, "double") + _scaled(x * y, None, True) + \
        _scaled(y, mode="double", name="y")


def activation_by_parameter(Z, W, activation="relu"):
    """deeplearning.ai's if/elif on the activation with no else, the activation a parameter
    (a branch when the function runs): A is read after the if, so the generated code raises
    UnboundLocalError on the path that assigns none, where Python fails at the read."""
    H = Z @ W
    if activation == "sigmoid":
        A = 1 / (1 + np.exp(-H))
    elif activation == "relu":
        A = np.maximum(0, H)
    return np.sum(A ** 2)


def chained_assignment_aliases(x, y):
    """`a = b = ...` binds both names to one array: `a += y` changes b too (numpy's
    semantics), so the loss is sum((2x + y) ** 2)."""
    a = b = x * 2.0
    a += y
    return np.sum(a * b)


def chained_assignment_of_numbers(x):
    a = b = x * 2.0
    a = a + 1.0  # rebinding a leaves b as it was
    return a * b


def extremes_of_lists(x, y):
    """Python's max and min of a list or tuple of numbers."""
    terms = [x * x, y * y, x * y]
    return max(terms) - min((x, y, 0.5)) + max([x])
