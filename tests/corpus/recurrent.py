"""Recurrent networks: loops carrying arrays, and dimensions annotated as multiples ("4*H")."""

import numpy as np

INPUTS = {
    "min_char_rnn_loss": {"inputs": ("list", *[("int", None, 0, 5)] * 4),
                          "targets": ("list", *[("int", None, 0, 5)] * 4),
                          "hprev": ((3, 1), -1.0, 1.0), "Wxh": ((3, 5), -0.5, 0.5),
                          "Whh": ((3, 3), -0.5, 0.5), "Why": ((5, 3), -0.5, 0.5),
                          "bh": ((3, 1), -0.5, 0.5), "by": ((5, 1), -0.5, 0.5)},
    "rnn_last_state": {"x": ((2, 3, 4), -1.0, 1.0), "h0": ((2, 3), -1.0, 1.0),
                       "Wxh": ((4, 3), -0.5, 0.5), "Whh": ((3, 3), -0.5, 0.5),
                       "b": ((3,), -0.5, 0.5)},
    "lstm_gates": {"x": ((2, 3), -1.0, 1.0), "prev_h": ((2, 2), -1.0, 1.0),
                   "prev_c": ((2, 2), -1.0, 1.0), "Wx": ((3, 8), -0.5, 0.5),
                   "Wh": ((2, 8), -0.5, 0.5), "b": ((8,), -0.5, 0.5)},
}
SHAPES = {"min_char_rnn_loss": "inputs=list:4 targets=list:4 "
                               "inputs_0=int inputs_1=int inputs_2=int inputs_3=int "
                               "targets_0=int targets_1=int targets_2=int targets_3=int "
                               "hprev=H,1 Wxh=H,V Whh=H,H Why=V,H bh=H,1 by=V,1"}
WRT = {"min_char_rnn_loss": ("hprev", "Wxh", "Whh", "Why", "bh", "by")}


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


def min_char_rnn_loss(inputs, targets, hprev, Wxh, Whh, Why, bh, by):
    """Karpathy's min-char-rnn, the forward half of lossFun as written there: dicts keyed by
    the step (hs[-1] the previous state), one-hot inputs set in place (xs[t][inputs[t]] = 1),
    the loss added up from an int 0."""
    vocab_size = Wxh.shape[1]
    xs, hs, ys, ps = {}, {}, {}, {}
    hs[-1] = np.copy(hprev)
    loss = 0
    for t in range(len(inputs)):
        xs[t] = np.zeros((vocab_size, 1))
        xs[t][inputs[t]] = 1
        hs[t] = np.tanh(np.dot(Wxh, xs[t]) + np.dot(Whh, hs[t - 1]) + bh)
        ys[t] = np.dot(Why, hs[t]) + by
        ps[t] = np.exp(ys[t]) / np.sum(np.exp(ys[t]))
        loss += -np.log(ps[t][targets[t], 0])
    return loss
