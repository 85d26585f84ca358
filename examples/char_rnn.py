"""A character-level RNN loss written the way min-char-rnn and most training code write it:
the hidden states and the per-step losses collected in Python lists while the loop runs.

    adgen examples/char_rnn.py -o examples/char_rnn_grad.py     # the generated backward pass

* `char_rnn_loss` -- a vanilla RNN over the T steps of a batch of one-hot inputs, a softmax
  cross-entropy on every step's scores, the mean of the step losses.  `hs.append(h)` and
  `losses.append(...)` run a number of times known only when the function runs
  (`range(len(xs))`), so the generated code builds each list as it goes (`hs_1 = hs + [h_1]`)
  and the backward pass gives each list one gradient array with a row per entry: the
  append's backward pass is `dh_1 = dh_1 + dhs_1[-1]; dhs = dhs_1[:-1]`, and `sum(losses)`
  sends its gradient to every row (`dlosses = np.broadcast_to(...)`).

The annotations are for the command line, which cannot tell from the code that `xs[t]` is a
batch (N, D) rather than a vector; the library API needs none: `adgen.grad(char_rnn_loss)`
reads the shapes off the arguments.

`python examples/char_rnn.py` checks the committed backward pass and `adgen.grad` against
numerical gradients.
"""

import numpy as np


def char_rnn_loss(xs: "T N D", targets: "int T N", h0: "N H", Wxh: "D H", Whh: "H H",
                  Why: "H C", bh: "H", by: "C"):
    """Mean softmax cross-entropy of a vanilla RNN's per-step scores."""
    hs = []
    losses = []
    h = h0
    N = xs.shape[1]
    for t in range(len(xs)):
        h = np.tanh(xs[t] @ Wxh + h @ Whh + bh)
        hs.append(h)
        scores = h @ Why + by
        shifted = scores - np.max(scores, axis=1, keepdims=True)
        e = np.exp(shifted)
        probs = e / np.sum(e, axis=1, keepdims=True)
        losses.append(-np.mean(np.log(probs[np.arange(N), targets[t]])))
    penalty = 1e-3 * np.sum(np.stack(hs) ** 2)
    return sum(losses) / len(losses) + penalty


if __name__ == "__main__":
    import importlib.util
    import pathlib

    import adgen

    rng = np.random.default_rng(0)
    T, N, D, H, C = 6, 3, 5, 4, 5
    xs = np.eye(D)[rng.integers(0, D, size=(T, N))]  # one-hot characters
    targets = rng.integers(0, C, size=(T, N))
    args = [xs, targets, 0.1 * rng.standard_normal((N, H)), 0.5 * rng.standard_normal((D, H)),
            0.5 * rng.standard_normal((H, H)), 0.5 * rng.standard_normal((H, C)),
            0.1 * rng.standard_normal(H), 0.1 * rng.standard_normal(C)]
    names = ["xs", "h0", "Wxh", "Whh", "Why", "bh", "by"]
    positions = [0, 2, 3, 4, 5, 6, 7]

    def numeric(i, h=1e-6):
        grad = np.zeros_like(args[i])
        for index in np.ndindex(args[i].shape):
            plus = [a.copy() for a in args]
            minus = [a.copy() for a in args]
            plus[i][index] += h
            minus[i][index] -= h
            grad[index] = (char_rnn_loss(*plus) - char_rnn_loss(*minus)) / (2 * h)
        return grad

    here = pathlib.Path(__file__).with_name("char_rnn_grad.py")
    spec = importlib.util.spec_from_file_location("char_rnn_grad", here)
    generated = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generated)
    committed = generated.char_rnn_loss_grad(*args)
    from_api = adgen.grad(char_rnn_loss, wrt=tuple(names))(*args)
    print(f"char_rnn_loss = {char_rnn_loss(*args):.6f}")
    for name, i, a, b in zip(names, positions, committed, from_api):
        expected = numeric(i)
        error = max(np.max(np.abs(a - expected)), np.max(np.abs(b - expected)))
        print(f"d{name}: max error against numerical gradients {error:.1e}")
        assert error < 1e-6, name
