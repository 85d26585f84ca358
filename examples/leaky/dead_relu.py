"""Dead ReLUs: a two-layer ReLU network trained for five steps, with a sane learning rate and
with one a hundred times too large.

    python examples/leaky/dead_relu.py          # the lens report after each
    adgen examples/leaky/dead_relu.py --lens    # the notes, without running anything

`np.maximum(0, z)` passes the gradient where z > 0 and nothing where z <= 0.  A unit whose
input is negative for every example of the batch passes no gradient at all, so its weights
and bias never change again: it is dead.  One large step is enough: after five steps with a
learning rate of 10 (0.1 is sane here), some units' biases and weights have been pushed so
far that no example activates them (the CS231n notes: "as much as 40% of your network can be
dead" with a learning rate set too high).
"""

import numpy as np


def loss(X, W1, b1, W2, b2, y):
    N = X.shape[0]
    h = np.maximum(0, X @ W1 + b1)
    scores = h @ W2 + b2
    scores = scores - scores.max(axis=1, keepdims=True)
    probs = np.exp(scores)
    probs = probs / probs.sum(axis=1, keepdims=True)
    return -np.log(probs[np.arange(N), y]).mean()


if __name__ == "__main__":
    import adgen

    rng = np.random.default_rng(0)
    N, D, H, C = 128, 20, 50, 5
    X = rng.standard_normal((N, D))
    y = rng.integers(0, C, size=N)
    wrt = ("W1", "b1", "W2", "b2")
    for lr in (0.1, 10.0):
        W1, b1 = rng.standard_normal((D, H)) * np.sqrt(2 / D), np.full(H, 0.01)  # He
        W2, b2 = rng.standard_normal((H, C)) * np.sqrt(2 / H), np.zeros(C)
        for step in range(5):
            dW1, db1, dW2, db2 = adgen.grad(loss, wrt=wrt)(X, W1, b1, W2, b2, y)
            W1, b1, W2, b2 = W1 - lr * dW1, b1 - lr * db1, W2 - lr * dW2, b2 - lr * db2
        print(f"# after 5 steps with learning rate {lr}")
        print(adgen.lens(loss, wrt=wrt)(X, W1, b1, W2, b2, y))
        print()
