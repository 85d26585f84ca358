"""Hand-written backward passes of examples/rnn.py (CS231n rnn_step_backward /
lstm_step_backward style, backpropagation through time by hand), the ground truth for adgen's
generated ones.  Each takes the forward's arguments and the upstream gradient and returns the
gradient of every input, in parameter order."""

import numpy as np


def rnn_loss_backward(dloss, x, h0, Wxh, Whh, b):
    """Vanilla RNN, loss sum(h_T ** 2): (dx, dh0, dWxh, dWhh, db)."""
    T = x.shape[1]
    hs = [h0]
    for t in range(T):
        hs.append(np.tanh(x[:, t, :] @ Wxh + hs[-1] @ Whh + b))
    dx, dWxh, dWhh, db = np.zeros_like(x), np.zeros_like(Wxh), np.zeros_like(Whh), \
        np.zeros_like(b)
    dh = 2 * hs[-1] * dloss
    for t in reversed(range(T)):
        da = (1 - hs[t + 1] ** 2) * dh
        dx[:, t, :] = da @ Wxh.T
        dWxh += x[:, t, :].T @ da
        dWhh += hs[t].T @ da
        db += da.sum(axis=0)
        dh = da @ Whh.T
    return dx, dh, dWxh, dWhh, db


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _lstm_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = _sigmoid(a[:, :H]), _sigmoid(a[:, H:2 * H]), _sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    return next_h, next_c, (i, f, o, g)


def _lstm_backward(dnext_h, dnext_c, x, prev_h, prev_c, Wx, Wh, b):
    """CS231n lstm_step_backward: (dx, dprev_h, dprev_c, dWx, dWh, db)."""
    _, next_c, (i, f, o, g) = _lstm_forward(x, prev_h, prev_c, Wx, Wh, b)
    tanh_c = np.tanh(next_c)
    do = tanh_c * dnext_h
    dc = dnext_c + o * (1 - tanh_c ** 2) * dnext_h
    df, dprev_c, di, dg = prev_c * dc, f * dc, g * dc, i * dc
    da = np.hstack([(1 - i) * i * di, (1 - f) * f * df, (1 - o) * o * do, (1 - g ** 2) * dg])
    return da @ Wx.T, da @ Wh.T, dprev_c, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def lstm_step_backward(dnext_h, x, prev_h, prev_c, Wx, Wh, b):
    """One LSTM step as a layer: (dx, dprev_h, dprev_c, dWx, dWh, db)."""
    return _lstm_backward(dnext_h, np.zeros_like(prev_c), x, prev_h, prev_c, Wx, Wh, b)


def lstm_loss_backward(dloss, x, h0, Wx, Wh, b):
    """LSTM over T steps from c = 0, loss sum(h_T ** 2): (dx, dh0, dWx, dWh, db)."""
    T = x.shape[1]
    hs, cs = [h0], [np.zeros_like(h0)]
    for t in range(T):
        h, c, _ = _lstm_forward(x[:, t, :], hs[-1], cs[-1], Wx, Wh, b)
        hs.append(h)
        cs.append(c)
    dx, dWx, dWh, db = np.zeros_like(x), np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dh, dc = 2 * hs[-1] * dloss, np.zeros_like(h0)
    for t in reversed(range(T)):
        dxt, dh, dc, dWxt, dWht, dbt = _lstm_backward(dh, dc, x[:, t, :], hs[t], cs[t], Wx, Wh, b)
        dx[:, t, :] = dxt
        dWx += dWxt
        dWh += dWht
        db += dbt
    return dx, dh, dWx, dWh, db
