"""A single-head self-attention block with np.einsum.

    adgen examples/attention.py -o examples/attention_grad.py

`attention(x, wq, wk, wv)` projects the sequence x (T positions, D features) to queries, keys
and values, takes the softmax of the scaled scores along the keys, and returns the weighted
values; `attention_loss` is a squared error against a target.  Every product is an einsum,
and so is every gradient of one: the backward pass of `scores = np.einsum('qd,kd->qk', q, k)`
is

    dq = np.einsum('qk,kd->qd', dscores, k)
    dk = np.einsum('qk,qd->kd', dscores, q)

the same contraction with the subscripts permuted, as one would write it by hand.  The
softmax is recognised as a gate (adgen/fuse.py): its gradient is P * (g - sum(g * P)).
"""

import numpy as np


def attention(x: "T D", wq: "D H", wk: "D H", wv: "D H"):
    q = np.einsum("td,dh->th", x, wq)
    k = np.einsum("td,dh->th", x, wk)
    v = np.einsum("td,dh->th", x, wv)
    scores = np.einsum("qh,kh->qk", q, k) / np.sqrt(q.shape[1])
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    e = np.exp(shifted)
    p = e / np.sum(e, axis=1, keepdims=True)
    return np.einsum("qk,kh->qh", p, v)


def attention_loss(x: "T D", wq: "D H", wk: "D H", wv: "D H", target: "T H"):
    out = attention(x, wq, wk, wv)
    return 0.5 * np.sum((out - target) ** 2)


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    T, D, H = 5, 4, 3
    x, target = rng.standard_normal((T, D)), rng.standard_normal((T, H))
    wq, wk, wv = (rng.standard_normal((D, H)) for _ in range(3))
    print("attention_loss:", attention_loss(x, wq, wk, wv, target))
