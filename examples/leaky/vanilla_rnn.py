"""Exploding and vanishing gradients: a vanilla RNN over 50 steps, its recurrent matrix Whh
an orthogonal matrix scaled by 0.5, 1 and 2.

    python examples/leaky/vanilla_rnn.py          # the lens report of each
    adgen examples/leaky/vanilla_rnn.py --lens    # the notes, without running anything

Backpropagation through time multiplies the hidden state's gradient by the tanh's local
gradient `1 - h ** 2` and by `Whh.T` at every step (read `dh = dhWhh @ Whh.T` in the generated
backward loop).  Over T steps the gradient reaching the first step is a product of T such
factors: its norm changes roughly like the largest singular value of Whh to the power T.
With Whh scaled by 0.5 the gradient vanishes (0.5 ** 50 is 8.9e-16); scaled by 2 it
explodes, even through the tanh.  An orthogonal Whh (all singular values 1) keeps it within
a few orders of magnitude.
"""

import numpy as np


def rnn_loss(x, h0, Wxh, Whh, b):
    h = h0
    T = x.shape[1]
    for t in range(T):
        h = np.tanh(x[:, t, :] @ Wxh + h @ Whh + b)
    return np.sum(h * h)


if __name__ == "__main__":
    import adgen

    rng = np.random.default_rng(0)
    N, T, D, H = 16, 50, 8, 32
    x = rng.standard_normal((N, T, D))
    h0 = np.zeros((N, H))
    Wxh = 0.1 * rng.standard_normal((D, H)) / np.sqrt(D)
    b = np.zeros(H)
    Q, _ = np.linalg.qr(rng.standard_normal((H, H)))  # orthogonal: singular values 1
    for scale in (0.5, 1.0, 2.0):
        print(f"# Whh = {scale} * Q, Q orthogonal")
        print(adgen.lens(rnn_loss)(x, h0, Wxh, scale * Q, b))
        print()
