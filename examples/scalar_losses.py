"""Scalar losses where the backward pass tells a story (CS231n, Karpathy's "Yes you should
understand backprop").

    adgen examples/scalar_losses.py -o examples/scalar_losses_grad.py

* `logistic` — a sigmoid neuron with cross-entropy: adgen recognises the sigmoid gate, and the
  backward pass shows the `(1 - p) * p` factor that vanishes when the neuron saturates.
* `relu_unit` — `max(0, z)`: the gradient routes to `z` only when `z > 0` (a dead unit passes
  nothing back).
* `td_clipped` / `td_huber` — the DQN temporal-difference error, once clipped to [-1, 1] and
  once with the Huber loss.  Read the generated code: the clipped version's gradient is zero
  exactly where the error is large, the Huber one's is bounded but never zero.
"""

import math


def logistic(w, b, x, y):
    p = 1 / (1 + math.exp(-(w * x + b)))
    return -(y * math.log(p) + (1 - y) * math.log(1 - p))


def relu_unit(w, b, x):
    z = w * x + b
    return max(0.0, z)


def td_clipped(q, reward, q_next, gamma=0.99):
    delta = reward + gamma * q_next - q
    clipped = min(max(delta, -1.0), 1.0)
    return clipped * clipped


def td_huber(q, reward, q_next, gamma=0.99):
    delta = reward + gamma * q_next - q
    small = min(abs(delta), 1.0)
    return 0.5 * small**2 + (abs(delta) - small)


if __name__ == "__main__":
    import adgen

    for q in (0.0, 5.0):
        dq_clip = adgen.grad(td_clipped, wrt="q")(q, 1.0, 0.5)
        dq_huber = adgen.grad(td_huber, wrt="q")(q, 1.0, 0.5)
        print(f"q={q}: d(clipped)/dq = {dq_clip:+.3f}   d(huber)/dq = {dq_huber:+.3f}")
