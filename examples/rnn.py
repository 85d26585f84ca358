"""Recurrent networks in numpy, CS231n style: backpropagation through time, written out.

    adgen examples/rnn.py -o examples/rnn_grad.py     # the generated backward passes

* `rnn_loss` — a vanilla RNN, `h = tanh(x_t @ Wxh + h @ Whh + b)`, run over the T steps of a
  sequence, with the loss `sum(h * h)` on the last hidden state.  The generated backward pass
  is backpropagation through time: the forward loop appends what the backward pass needs to
  `NAME_saved` lists (the hidden state entering each step, the input slice, the step's output),
  and the backward loop `for t in reversed(range(T))` pops them.  Read it for two things:

  - the weights are shared by every step, so their gradients *accumulate*: `dWhh += h.T @
    dhWhh` is one small matmul per step, `dWxh` and `db` likewise, each starting from an
    explicit `np.zeros_like`;
  - the gradient of the hidden state is carried backwards by `dh = dhWhh @ Whh.T`, after a
    multiplication by the tanh's local gradient `(1 - h_1 ** 2)`.  Over T steps the gradient
    reaching the first step is a product of T such factors: when Whh's largest singular value
    is above 1 (and the tanh is not saturated) it grows geometrically and *explodes*; when it is
    below 1, or the tanh saturates (`1 - h_1 ** 2` near 0), it *vanishes*, and the early inputs
    get almost no gradient.  That is why practitioners clip gradients and why LSTMs exist.

* `lstm_step` — one step of an LSTM (CS231n `lstm_step_forward`) as a layer returning the next
  hidden state: the four gates are slices `a[:, :H]`, `a[:, H:2*H]`, ... of one affine map
  (annotated `Wx: "D 4*H"`, which says where a reader sees it what the command line would
  also infer from the gates multiplied together, and the generated shape check tests; the
  library API needs none, it reads the shapes off the arguments), the
  sigmoid gates are recognised (`(1 - i) * i`), and the gradients of the slices are written
  back into one `da` (the backward pass of `np.split`, done by hand in CS231n).
* `lstm_loss` — the same step run over T steps (the cell state `c` and the hidden state `h`
  are both carried by the loop), with the loss `sum(h * h)` on the last hidden state.  The
  cell state's path `next_c = f * prev_c + ...` is additive: its gradient goes back through
  `dprev_c = f * dnext_c`, multiplied by the forget gate only, not by a weight matrix and a
  squashing derivative, which is why the LSTM's gradient survives many more steps.

`python examples/rnn.py` evaluates every function on small random inputs.
"""

import numpy as np


def rnn_loss(x, h0, Wxh, Whh, b):
    """Vanilla RNN over the T steps of x, from the initial hidden state h0; the loss is the
    sum of squares of the last hidden state."""
    h = h0
    T = x.shape[1]
    for t in range(T):
        h = np.tanh(x[:, t, :] @ Wxh + h @ Whh + b)
    return np.sum(h * h)


def lstm_step(x: "N D", prev_h: "N H", prev_c: "N H", Wx: "D 4*H", Wh: "H 4*H",
              b: "4*H") -> "N H":
    """One LSTM step (CS231n lstm_step_forward), returning the next hidden state."""
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i = 1 / (1 + np.exp(-a[:, :H]))
    f = 1 / (1 + np.exp(-a[:, H:2 * H]))
    o = 1 / (1 + np.exp(-a[:, 2 * H:3 * H]))
    g = np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    return next_h


def lstm_loss(x: "N T D", h0: "N H", Wx: "D 4*H", Wh: "H 4*H", b: "4*H") -> float:
    """An LSTM over the T steps of x, from the hidden state h0 and a zero cell state; the loss
    is the sum of squares of the last hidden state."""
    H = h0.shape[1]
    T = x.shape[1]
    h = h0
    c = np.zeros_like(h0)
    for t in range(T):
        a = x[:, t, :] @ Wx + h @ Wh + b
        i = 1 / (1 + np.exp(-a[:, :H]))
        f = 1 / (1 + np.exp(-a[:, H:2 * H]))
        o = 1 / (1 + np.exp(-a[:, 2 * H:3 * H]))
        g = np.tanh(a[:, 3 * H:])
        c = f * c + i * g
        h = o * np.tanh(c)
    return np.sum(h * h)


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    N, T, D, H = 3, 5, 4, 6
    x = rng.standard_normal((N, T, D))
    h0 = rng.standard_normal((N, H))
    results = {
        "rnn_loss": rnn_loss(x, h0, 0.3 * rng.standard_normal((D, H)),
                             0.3 * rng.standard_normal((H, H)), 0.1 * rng.standard_normal(H)),
        "lstm_step": lstm_step(x[:, 0, :], h0, rng.standard_normal((N, H)),
                               0.3 * rng.standard_normal((D, 4 * H)),
                               0.3 * rng.standard_normal((H, 4 * H)),
                               0.1 * rng.standard_normal(4 * H)),
        "lstm_loss": lstm_loss(x, h0, 0.3 * rng.standard_normal((D, 4 * H)),
                               0.3 * rng.standard_normal((H, 4 * H)),
                               0.1 * rng.standard_normal(4 * H)),
    }
    with np.printoptions(precision=4, suppress=True):
        for name, value in results.items():
            if np.ndim(value) == 0:
                print(f"{name} = {float(value):.6f}")
            else:
                print(f"{name}: shape {value.shape}\n{value}")
