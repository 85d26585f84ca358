"""Recurrent networks: loops carrying arrays, and dimensions annotated as multiples ("4*H")."""

import numpy as np

INPUTS = {
    "rnn_last_state": {"x": ((2, 3, 4), -1.0, 1.0), "h0": ((2, 3), -1.0, 1.0),
                       "Wxh": ((4, 3), -0.5, 0.5), "Whh": ((3, 3), -0.5, 0.5),
                       "b": ((3,), -0.5, 0.5)},
    "lstm_gates": {"x": ((2, 3), -1.0, 1.0), "prev_h": ((2, 2), -1.0, 1.0),
                   "prev_c": ((2, 2), -1.0, 1.0), "Wx": ((3, 8), -0.5, 0.5),
                   "Wh": ((2, 8), -0.5, 0.5), "b": ((8,), -0.5, 0.5)},
}


def rnn_last_state(x, h0, Wxh, Whh, b):
    h = h0
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t, :] @ Wxh + h @ Whh + b)
    return np.sum(h * h)


def lstm_gates(x: "N D", prev_h: "N H", prev_c: "N H", Wx: "D 4*H", Wh: "H 4*H", b: "4*H"):
    # "4*H": the verifier once sampled the gate dimension independently of H (no point
    # evaluated), and the shape check could not say that it is 4 times H
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i = 1 / (1 + np.exp(-a[:, :H]))
    f = 1 / (1 + np.exp(-a[:, H:2 * H]))
    o = 1 / (1 + np.exp(-a[:, 2 * H:3 * H]))
    g = np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    return np.sum(o * np.tanh(next_c))
