"""The first nan: a softmax without the max shift, on large scores.

    python examples/leaky/softmax_overflow.py          # the lens report of both
    adgen examples/leaky/softmax_overflow.py --lens    # the notes, without running anything

`np.exp` overflows to inf above 709 (88 in float32), and inf / inf is nan: the loss and
every gradient become nan, and nothing says where they came from.  The lens reports the first
value that is not finite, at its line.  Subtracting each row's maximum first changes nothing
mathematically and keeps every exponent <= 0; computing the log-probabilities as
`shifted - log(sum(exp(shifted)))` (the log-softmax) also keeps a probability that underflows
to 0 from becoming log(0) = -inf.
"""

import numpy as np


def softmax_loss(scores, y):
    N = scores.shape[0]
    probs = np.exp(scores)
    probs = probs / probs.sum(axis=1, keepdims=True)
    return -np.log(probs[np.arange(N), y]).mean()


def log_softmax_loss(scores, y):
    N = scores.shape[0]
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -log_probs[np.arange(N), y].mean()


if __name__ == "__main__":
    import adgen

    rng = np.random.default_rng(0)
    N, C = 8, 10
    scores = 400.0 * rng.standard_normal((N, C))  # a model whose scores have blown up
    y = rng.integers(0, C, size=N)
    for loss in (softmax_loss, log_softmax_loss):
        print(f"# {loss.__name__}")
        print(adgen.lens(loss)(scores, y))
        print()
