"""deeplearning.ai's numpy networks, as the course's notebooks write them: weights in one dict
`parameters` read by computed keys (`parameters['W' + str(l)]` for l in range(1, L), with
L = len(parameters) // 2), passed from helper to helper, the activation chosen by a string
literal, caches appended to a list, and the cost squeezed to a 0-d array."""

import numpy as np

INPUTS = {
    "model_cost": {"X": ((3, 5), -2.0, 2.0), "Y": ((1, 5), 0.1, 0.9),
                   "parameters": {"W1": ((4, 3), -1.0, 1.0), "b1": ((4, 1), -0.5, 0.5),
                                  "W2": ((2, 4), -1.0, 1.0), "b2": ((2, 1), -0.5, 0.5),
                                  "W3": ((1, 2), -1.0, 1.0), "b3": ((1, 1), -0.5, 0.5)}},
    "forward_in_a_helper": {"X": ((4, 3), -1.0, 1.0),
                            "params": {"W1": ((3, 2), -1.0, 1.0), "b1": ((2,), -0.5, 0.5)}},
    "layer_keys_by_f_string": {"X": ((4, 3), -1.0, 1.0),
                               "params": {"W1": ((3, 3), -1.0, 1.0), "W2": ((3, 2), -1.0, 1.0)}},
}
SHAPES = {
    "model_cost": "X=D,N Y=1,N parameters=dict:W1,b1,W2,b2,W3,b3 W1=H,D b1=H,1 W2=K,H "
                  "b2=K,1 W3=1,K b3=1,1",
    "forward_in_a_helper": "X=N,D params=dict:W1,b1 W1=D,H b1=H",
    "layer_keys_by_f_string": "X=N,D params=dict:W1,W2 W1=D,D W2=D,C",
}
WRT = {"model_cost": ("X", "parameters")}
# A layer (it returns a cache) that compiles alone only with its dict's keys (--shapes
# parameters=dict:...); tests/test_emit.py leaves it out.
INLINED_ONLY = ("L_model_forward",)


def sigmoid(Z):
    A = 1 / (1 + np.exp(-Z))
    cache = Z
    return A, cache


def relu(Z):
    A = np.maximum(0, Z)
    cache = Z
    return A, cache


def linear_forward(A, W, b):
    Z = np.dot(W, A) + b
    cache = (A, W, b)
    return Z, cache


def linear_activation_forward(A_prev, W, b, activation):
    if activation == "sigmoid":
        Z, linear_cache = linear_forward(A_prev, W, b)
        A, activation_cache = sigmoid(Z)
    elif activation == "relu":
        Z, linear_cache = linear_forward(A_prev, W, b)
        A, activation_cache = relu(Z)
    cache = (linear_cache, activation_cache)
    return A, cache


def L_model_forward(X, parameters):
    caches = []
    A = X
    L = len(parameters) // 2
    for l in range(1, L):
        A_prev = A
        A, cache = linear_activation_forward(A_prev, parameters['W' + str(l)],
                                             parameters['b' + str(l)], activation="relu")
        caches.append(cache)
    AL, cache = linear_activation_forward(A, parameters['W' + str(L)],
                                          parameters['b' + str(L)], activation="sigmoid")
    caches.append(cache)
    return AL, caches


def compute_cost(AL, Y):
    m = Y.shape[1]
    cost = (-1 / m) * np.sum(np.multiply(Y, np.log(AL)) + np.multiply(1 - Y, np.log(1 - AL)))
    cost = np.squeeze(cost)
    return cost


def model_cost(X, Y, parameters):
    """The course's L-layer model's cost, its helpers verbatim."""
    AL, caches = L_model_forward(X, parameters)
    cost = compute_cost(AL, Y)
    return cost


def _forward(X, params):
    return np.tanh(X @ params['W1'] + params['b1'])


def forward_in_a_helper(X, params):
    """A dict of weights passed whole to a helper that reads it by constant keys."""
    return np.sum(_forward(X, params) ** 2)


def layer_keys_by_f_string(X, params):
    """Keys by f-string and by %-formatting, the count from len(params)."""
    h = X
    for i in range(1, len(params)):
        h = np.tanh(h @ params[f"W{i}"])
    return np.sum((h @ params["W%d" % len(params)]) ** 2)
