"""A clip that silently zeroes the gradient: the DQN temporal-difference loss, with the TD
error clipped to [-1, 1] and with the Huber loss.

    python examples/leaky/dqn_loss.py          # the lens report of both
    adgen examples/leaky/dqn_loss.py --lens    # the notes, without running anything

The DQN paper clips the *error term* of the update to [-1, 1], which is the gradient of the
Huber loss.  Clipping the TD error *before* squaring it is a different function: the clip's
local gradient is 0 outside [-1, 1], so exactly the transitions with a large error -- the
ones the network is most wrong about -- contribute no gradient at all.  The Huber loss is
quadratic inside [-1, 1] and linear outside, so its gradient there is +-1, never 0.  It is
written here as TensorFlow's huber_loss writes it, with a min of its own: that min passes no
gradient where |delta| > 1, but there the quadratic part's gradient is 0 anyway and the
linear part carries +-1; the lens follows the gradient down to delta and finds it whole.
"""

import numpy as np


def td_clipped(q, actions, reward, q_next, gamma=0.99):
    N = q.shape[0]
    delta = reward + gamma * q_next.max(axis=1) - q[np.arange(N), actions]
    clipped = np.clip(delta, -1.0, 1.0)
    return 0.5 * (clipped ** 2).mean()


def td_huber(q, actions, reward, q_next, gamma=0.99):
    N = q.shape[0]
    delta = reward + gamma * q_next.max(axis=1) - q[np.arange(N), actions]
    quadratic = np.minimum(np.abs(delta), 1.0)
    linear = np.abs(delta) - quadratic
    return (0.5 * quadratic ** 2 + linear).mean()


if __name__ == "__main__":
    import adgen

    rng = np.random.default_rng(0)
    N, A = 32, 4
    q, q_next = rng.standard_normal((N, A)), rng.standard_normal((N, A))
    actions = rng.integers(0, A, size=N)
    reward = 3.0 * rng.standard_normal(N)  # early in training: large TD errors
    for loss in (td_clipped, td_huber):
        print(f"# {loss.__name__}")
        print(adgen.lens(loss, wrt="q")(q, actions, reward, q_next))
        print()
