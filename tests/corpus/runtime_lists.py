"""Lists that grow while the function runs (issue 9): `hs = []`, `hs.append(h)` in a loop
whose count is known only when it runs, then `np.stack(hs)`, `sum(hs)`, `hs[-1]`,
`len(hs)`, a loop over the list -- as RNN and training code writes them."""

import math

import numpy as np

INPUTS = {
    "rnn_states_stacked": {"xs": ((4, 3, 2), -1.0, 1.0), "h0": ((3, 5), -1.0, 1.0),
                           "Wxh": ((2, 5), -0.8, 0.8), "Whh": ((5, 5), -0.5, 0.5),
                           "bh": ((5,), -0.5, 0.5), "Why": ((5, 2), -0.8, 0.8),
                           "ys": ((4, 3, 2), -1.0, 1.0)},
    "rnn_last_state_from_list": {"xs": ((5, 3), -1.0, 1.0), "h0": ((4,), -1.0, 1.0),
                                 "Wxh": ((3, 4), -0.8, 0.8), "Whh": ((4, 4), -0.5, 0.5)},
    "losses_summed": {"xs": ((6, 3), -1.0, 1.0), "w": ((3,), -1.0, 1.0)},
    "scalar_terms": {"x": (0.2, 1.5)},
    "states_mean_over_time": {"x": ((3, 4), -1.0, 1.0), "W": ((4, 4), -0.5, 0.5)},
    "loop_over_collected": {"xs": ((5, 3), -1.0, 1.0), "w": ((3,), -1.0, 1.0)},
    "appended_in_branch": {"xs": ((6,), -1.0, 1.0), "w": (-0.2, 1.7)},
    "while_collects": {"x": (0.3, 0.9)},
    "started_with_entries": {"xs": ((4, 2), -1.0, 1.0), "h0": ((2,), -1.0, 1.0),
                             "W": ((2, 2), -0.7, 0.7)},
    "stacked_on_axis_one": {"xs": ((3, 4), -1.0, 1.0), "w": ((4,), -1.0, 1.0)},
    "concatenated_steps": {"xs": ((3, 2, 4), -1.0, 1.0), "W": ((4, 3), -1.0, 1.0)},
    "as_array_then_reduced": {"xs": ((5, 2), -1.0, 1.0), "v": ((2,), -1.0, 1.0)},
    "counter_copied_in_while": {"x": (-1.0, 1.0)},
    "softmax_losses_per_step": {"scores": ((3, 4, 5), -2.0, 2.0), "labels": ("int", (3, 4), 0, 5),
                                "W": ((5, 5), -1.0, 1.0)},
}
# What the command line cannot tell from the code (xs[t] @ W says only that xs[t] is an
# operand of @: a row of a table is taken as a vector; an RNN's steps are batches)
SHAPES = {"rnn_states_stacked": "xs=T,N,D h0=N,H Wxh=D,H Whh=H,H bh=H Why=H,C ys=T,N,C",
          "rnn_last_state_from_list": "xs=T,D h0=H Wxh=D,H Whh=H,H",
          "losses_summed": "xs=N,D w=D", "started_with_entries": "xs=T,H h0=H W=H,H",
          "concatenated_steps": "xs=T,N,D W=D,H",
          "softmax_losses_per_step": "scores=T,N,C labels=int:T,N W=C,C"}


def rnn_states_stacked(xs, h0, Wxh, Whh, bh, Why, ys):
    """A vanilla RNN written plainly: states collected in a list, stacked, read out."""
    hs = []
    h = h0
    for t in range(len(xs)):
        h = np.tanh(xs[t] @ Wxh + h @ Whh + bh)
        hs.append(h)
    H = np.stack(hs)
    scores = H @ Why
    return np.sum((scores - ys) ** 2) / len(xs)


def rnn_last_state_from_list(xs, h0, Wxh, Whh):
    """The previous state read back from the list (hs[-1]), and the last one returned."""
    hs = [h0]
    for t in range(xs.shape[0]):
        hs.append(np.tanh(xs[t] @ Wxh + hs[-1] @ Whh))
    return np.sum(hs[-1] ** 2) + np.sum(hs[1] * hs[2])


def losses_summed(xs, w):
    """Per-example losses appended, then the builtin sum of the list."""
    losses = []
    for x in xs:
        margin = 1.0 - np.dot(x, w)
        losses.append(np.log(1.0 + np.exp(margin)))
    return sum(losses) / len(losses)


def scalar_terms(x, n=4):
    """Scalar code: floats collected in a list while looping a run-time count."""
    terms = []
    for k in range(n):
        terms.append(math.sin(x * (k + 1)) / (k + 1))
    return sum(terms) + terms[0] * terms[-1]


def states_mean_over_time(x, W):
    """np.mean of a list (numpy stacks it), along the step axis."""
    states = []
    h = x
    for t in range(x.shape[0]):
        h = np.maximum(0.0, h @ W) + 0.1 * h
        states.append(h)
    avg = np.mean(states, axis=0)
    return np.sum(avg * avg)


def loop_over_collected(xs, w):
    """A list built in one loop and read in another (for v in values)."""
    values = []
    for i in range(len(xs)):
        values.append(np.tanh(xs[i] * w))
    total = 0.0
    for v in values:
        total = total + np.sum(v) ** 2
    return total


def appended_in_branch(xs, w):
    """Appended on one path of a branch only: the list's length depends on w."""
    kept = []
    for i in range(len(xs)):
        z = xs[i] * w
        if w > 0.3 * i:
            kept.append(z * z)
    kept.append(w)
    return sum(kept)


def while_collects(x):
    """A while loop collecting the iterates."""
    its = []
    v = x
    while v < 4.0:
        v = v * 1.5 + 0.1
        its.append(v)
    return sum(its) * its[-1]


def started_with_entries(xs, h0, W):
    """A list made with an entry, then grown in the loop: h0 stays in it."""
    hs = [h0]
    h = h0
    for t in range(len(xs)):
        h = np.tanh(h @ W + xs[t])
        hs.append(h)
    return np.sum(np.array(hs) ** 2)


def stacked_on_axis_one(xs, w):
    cols = []
    for i in range(xs.shape[0]):
        cols.append(np.sin(xs[i] * w))
    M = np.stack(cols, axis=1)
    return np.sum(M[:, 0] * M[:, -1])


def concatenated_steps(xs, W):
    outs = []
    for t in range(len(xs)):
        outs.append(np.tanh(xs[t] @ W))
    return np.sum(np.concatenate(outs, axis=0) ** 2)


def as_array_then_reduced(xs, v):
    rows = []
    for i in range(len(xs)):
        rows.append(xs[i] * v)
    return np.sum(np.asarray(rows) ** 3)


def counter_copied_in_while(x, reps=3):
    """An integer counter copied, then incremented (found by the property test: it was taken
    for an array updated in place, AD207)."""
    terms = []
    k = 0
    while k < reps:
        i = k
        terms.append(math.sin(x) * (i + 1))
        k += 1
    return sum(terms)


def softmax_losses_per_step(scores, labels, W):
    """A softmax cross-entropy inside a loop, the labels picked by step (fused in the loop's
    body: the gradient is probs with 1 taken off at the labels)."""
    losses = []
    T, N, C = scores.shape
    for t in range(T):
        s = scores[t] @ W
        shifted = s - np.max(s, axis=1, keepdims=True)
        e = np.exp(shifted)
        probs = e / np.sum(e, axis=1, keepdims=True)
        losses.append(-np.sum(np.log(probs[np.arange(N), labels[t]])) / N)
    return sum(losses)
