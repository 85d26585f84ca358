"""Per-call time of the value and gradient of a vanilla RNN loss: adgen against hand-written
numpy backpropagation through time and the frameworks (issue 4's benchmark).

`rnn_loss(x, h0, Wxh, Whh, b)` runs `h = tanh(x[:, t, :] @ Wxh + h @ Whh + b)` for T=20 steps
from h0, batch N=16, input D=32, hidden H=64, float64, and returns `sum(h * h)` of the last
hidden state; value and gradient with respect to Wxh, Whh and b (not x, h0).

Rows (value and the three gradients per call, best batch over interleaved rounds):

* hand-written, the baseline: careful BPTT in numpy, the forward pass saving the hidden
  states, the backward loop accumulating `dWhh += h_prev.T @ da` (and dWxh, db) one small
  matmul per step, as CS231n's rnn_backward does;
* hand-written, stacked (reference): the same, but the backward loop only carries `dh` and
  stores each step's `da`; the weight gradients are three large products after the loop
  (`dWhh = H_prev.T @ DA` over the (T*N, H) stacked states);
* adgen: `adgen.value_and_grad(rnn_loss, wrt=("Wxh", "Whh", "b"))`, the generated code;
* peers, each skipped with a message when not importable: `autograd.value_and_grad` and
  `jax.jit(jax.value_and_grad(...))` (float64, arguments on the device, blocking) run
  `rnn_loss` itself with `np` bound to their numpy (JAX unrolls the Python loop while
  tracing); PyTorch eager runs the same operations on float64 tensors.

Every row's loss and gradients are checked against hand-written to `np.allclose(rtol=1e-8,
atol=0)` before timing (adgen or the stacked variant differing raises, a peer is reported).
Threads: as bench/bench_mlp.py (one per library by default, `--threads 0` for the defaults).

    python bench/bench_rnn.py                              # numpy rows only
    /tmp/benchenv/bin/python bench/bench_rnn.py            # with the peers
"""

from __future__ import annotations

import argparse
from typing import Callable, Optional

import numpy as np

import harness
import timing

SIZES = dict(N=16, T=20, D=32, H=64)
WRT = ("Wxh", "Whh", "b")


# ------------------------------------------------------------------ the function

def rnn_loss(x, h0, Wxh, Whh, b):
    """Vanilla RNN over the T steps of x; sum of squares of the last hidden state."""
    h = h0
    T = x.shape[1]
    for t in range(T):
        h = np.tanh(x[:, t, :] @ Wxh + h @ Whh + b)
    return np.sum(h * h)


# ------------------------------------------------------------------ hand-written

def handwritten(x, h0, Wxh, Whh, b):
    """Careful BPTT: save the states, accumulate the weight gradients step by step."""
    T = x.shape[1]
    hs = [h0]
    h = h0
    for t in range(T):
        h = np.tanh(x[:, t, :] @ Wxh + h @ Whh + b)
        hs.append(h)
    value = np.sum(h * h)
    dWxh = np.zeros_like(Wxh)
    dWhh = np.zeros_like(Whh)
    db = np.zeros_like(b)
    dh = 2 * h
    for t in reversed(range(T)):
        h = hs[t + 1]
        da = dh * (1 - h * h)
        dWxh += x[:, t, :].T @ da
        dWhh += hs[t].T @ da
        db += da.sum(axis=0)
        dh = da @ Whh.T
    return value, (dWxh, dWhh, db)


def handwritten_stacked(x, h0, Wxh, Whh, b):
    """BPTT with the weight gradients as three large products after the backward loop."""
    N, T, _ = x.shape
    H = h0.shape[1]
    hs = np.empty((T + 1, N, H))
    hs[0] = h0
    for t in range(T):
        hs[t + 1] = np.tanh(x[:, t, :] @ Wxh + hs[t] @ Whh + b)
    h = hs[T]
    value = np.sum(h * h)
    das = np.empty((T, N, H))
    dh = 2 * h
    for t in reversed(range(T)):
        h = hs[t + 1]
        da = das[t]
        np.multiply(dh, 1 - h * h, out=da)
        dh = da @ Whh.T
    das = das.reshape(T * N, H)
    dWhh = hs[:T].reshape(T * N, H).T @ das
    dWxh = x.transpose(1, 0, 2).reshape(T * N, -1).T @ das
    db = das.sum(axis=0)
    return value, (dWxh, dWhh, db)


# ------------------------------------------------------------------ peers

def autograd_peer(args: tuple) -> tuple[Callable, tuple]:
    import autograd
    import autograd.numpy as anp
    return autograd.value_and_grad(harness.with_numpy(rnn_loss, anp), argnum=(2, 3, 4)), args


def jax_peer(args: tuple) -> tuple[Callable, tuple]:
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
    compiled = jax.jit(jax.value_and_grad(harness.with_numpy(rnn_loss, jnp), argnums=(2, 3, 4)))

    def call(*xs):
        return jax.block_until_ready(compiled(*xs))
    return call, tuple(jax.device_put(jnp.asarray(a)) for a in args)


def torch_peer(args: tuple) -> tuple[Callable, tuple]:
    """The operations of `rnn_loss`, one for one, in torch; `torch.autograd.grad`."""
    import torch

    def call(x, h0, Wxh, Whh, b):
        h = h0
        for t in range(x.shape[1]):
            h = torch.tanh(x[:, t, :] @ Wxh + h @ Whh + b)
        value = torch.sum(h * h)
        return value, torch.autograd.grad(value, (Wxh, Whh, b))
    x, h0, *params = args
    return call, (torch.from_numpy(x), torch.from_numpy(h0),
                  *(torch.tensor(p, requires_grad=True) for p in params))


PEERS = [("autograd", "value_and_grad", autograd_peer),
         ("torch", "eager", torch_peer),
         ("jax", "jit(value_and_grad)", jax_peer)]


# ------------------------------------------------------------------ benchmark

def make_args(N: int, T: int, D: int, H: int, seed: int = 0) -> tuple:
    """x ~ N(0, 1), h0 = 0, weights ~ N(0, 1/fan_in), small biases."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((N, T, D)), np.zeros((N, H)),
            rng.standard_normal((D, H)) / np.sqrt(D), rng.standard_normal((H, H)) / np.sqrt(H),
            0.1 * rng.standard_normal(H))


def bench(options: argparse.Namespace) -> None:
    args = make_args(**SIZES)
    notes: list[str] = []
    subjects = harness.checked_subjects(
        rnn_loss, WRT, args, handwritten,
        ("hand-written, stacked (reference)", handwritten_stacked), PEERS, notes)
    samples = timing.measure(subjects, options.repeat, options.target_seconds)
    harness.print_table("vanilla RNN", SIZES, options.repeat, samples, notes)


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=15, help="timing rounds, best is kept")
    parser.add_argument("--target-seconds", type=float, default=0.1,
                        help="duration of one timed batch")
    harness.run(parser, __file__, argv, bench)


if __name__ == "__main__":
    main()
