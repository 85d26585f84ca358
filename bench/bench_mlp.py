"""Per-call time of the value and gradient of a two-layer MLP loss: adgen against hand-written
numpy backprop and the frameworks.

The network is the CS231n two-layer net with a sigmoid hidden layer and no regularisation:
`loss(X, y, W1, b1, W2, b2)` is the mean softmax cross-entropy of
`sigmoid(X @ W1 + b1) @ W2 + b2` for integer labels `y`, in float64, differentiated with
respect to W1, b1, W2 and b2 (not the data X).  Two sizes:

* small: N=64 examples, D=100 inputs, H=50 hidden units, C=10 classes (time in µs);
* large: N=512, D=1024, H=1024, C=10 (time in ms; dominated by two 512x1024x1024 products).

Rows (value and all four gradients per call, best batch over interleaved rounds):

* hand-written, the baseline: forward and backward written with care, in place where safe,
  with the fused softmax cross-entropy gradient (`dscores = probs; dscores[rows, y] -= 1;
  dscores /= N`) and no needless copies;
* hand-written, out of place (reference): the same arithmetic written plainly, every step a
  new array, the way the generated code (or a first attempt) would look;
* adgen: `adgen.value_and_grad(loss, wrt=("W1", "b1", "W2", "b2"))`, the generated code
  (if adgen cannot compile `loss` it prints "adgen: not yet supported (...)" instead);
* peers, each skipped with a message when not importable: `autograd.value_and_grad` and
  `jax.jit(jax.value_and_grad(...))` (float64 enabled, arguments already on the device,
  blocking on the result) both run `loss` itself, the same code object with `np` bound to
  `autograd.numpy` / `jax.numpy`; PyTorch eager on float64 tensors with `requires_grad`
  (`torch.autograd.grad`) runs the same operations written in torch, and once more as a
  PyTorch user would write it (`torch.sigmoid`, `F.cross_entropy`).

Before timing, every implementation's loss and gradients are checked against the hand-written
ones to a relative tolerance of 1e-8 (per array, `np.allclose(got, want, rtol=1e-8, atol=0)`);
adgen or the out-of-place code differing raises, a peer differing is reported.

By default every library runs one thread (`--threads 1`: the script re-runs itself with
OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS and XLA_FLAGS set), which measures
the cost of each way of computing the gradient rather than how a loaded machine schedules
threads; `--threads 0` keeps the libraries' defaults (one thread per core).

    python bench/bench_mlp.py                              # numpy rows only; about 30 s
    /tmp/benchenv/bin/python bench/bench_mlp.py            # with the peers; about 50 s
    /tmp/benchenv/bin/python bench/bench_mlp.py --threads 0 --sizes large

The peers are not dependencies of adgen; /tmp/benchenv is a venv created with
`--system-site-packages` (so it sees the editable adgen) with torch, jax, jaxlib and autograd
installed, as described in bench/README.md.
"""

from __future__ import annotations

import argparse
from typing import Callable, Optional

import numpy as np

import harness
import timing

SIZES = {"small": dict(N=64, D=100, H=50, C=10), "large": dict(N=512, D=1024, H=1024, C=10)}
WRT = ("W1", "b1", "W2", "b2")


# ------------------------------------------------------------------ the function

def loss(X, y, W1, b1, W2, b2):
    """Mean softmax cross-entropy of a two-layer net with a sigmoid hidden layer, as a user
    writes it: no annotations (adgen specialises on the arguments)."""
    N = X.shape[0]
    hidden = 1 / (1 + np.exp(-(X @ W1 + b1)))
    scores = hidden @ W2 + b2
    scores = scores - scores.max(axis=1, keepdims=True)
    exp_scores = np.exp(scores)
    probs = exp_scores / exp_scores.sum(axis=1, keepdims=True)
    return -np.log(probs[np.arange(N), y]).mean()


# ------------------------------------------------------------------ hand-written

def handwritten(X, y, W1, b1, W2, b2):
    """Value and gradient, written with care: in place wherever the overwritten array is not
    needed again, fused softmax cross-entropy gradient."""
    N = X.shape[0]
    rows = np.arange(N)
    # forward
    hidden = X @ W1
    hidden += b1
    np.negative(hidden, out=hidden)
    np.exp(hidden, out=hidden)
    hidden += 1
    np.reciprocal(hidden, out=hidden)  # sigmoid, in place
    probs = hidden @ W2
    probs += b2
    probs -= probs.max(axis=1, keepdims=True)
    np.exp(probs, out=probs)
    probs /= probs.sum(axis=1, keepdims=True)
    value = -np.log(probs[rows, y]).mean()
    # backward
    dscores = probs
    dscores[rows, y] -= 1
    dscores /= N
    dW2 = hidden.T @ dscores
    db2 = dscores.sum(axis=0)
    dpre = dscores @ W2.T  # dhidden, becomes dpre below
    dpre *= hidden
    np.subtract(1, hidden, out=hidden)  # hidden is not needed any more
    dpre *= hidden  # dhidden * (1 - h) * h
    dW1 = X.T @ dpre
    db1 = dpre.sum(axis=0)
    return value, (dW1, db1, dW2, db2)


def handwritten_out_of_place(X, y, W1, b1, W2, b2):
    """The same backprop written plainly, a new array for every step."""
    N = X.shape[0]
    hidden = 1 / (1 + np.exp(-(X @ W1 + b1)))
    scores = hidden @ W2 + b2
    scores = scores - scores.max(axis=1, keepdims=True)
    exp_scores = np.exp(scores)
    probs = exp_scores / exp_scores.sum(axis=1, keepdims=True)
    value = -np.log(probs[np.arange(N), y]).mean()
    dscores = probs.copy()
    dscores[np.arange(N), y] -= 1
    dscores = dscores / N
    dW2 = hidden.T @ dscores
    db2 = dscores.sum(axis=0)
    dhidden = dscores @ W2.T
    dpre = dhidden * (1 - hidden) * hidden
    dW1 = X.T @ dpre
    db1 = dpre.sum(axis=0)
    return value, (dW1, db1, dW2, db2)


# ------------------------------------------------------------------ peers

def autograd_peer(args: tuple) -> tuple[Callable, tuple]:
    import autograd
    import autograd.numpy as anp
    return autograd.value_and_grad(harness.with_numpy(loss, anp), argnum=(2, 3, 4, 5)), args


def jax_peer(args: tuple) -> tuple[Callable, tuple]:
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
    compiled = jax.jit(jax.value_and_grad(harness.with_numpy(loss, jnp), argnums=(2, 3, 4, 5)))

    def call(*xs):
        return jax.block_until_ready(compiled(*xs))
    return call, tuple(jax.device_put(jnp.asarray(a)) for a in args)


def torch_args(args: tuple) -> tuple:
    """float64 tensors, the parameters with `requires_grad`; the labels as int64."""
    import torch
    X, y, *params = args
    return (torch.from_numpy(X), torch.from_numpy(y).long(),
            *(torch.tensor(p, requires_grad=True) for p in params))


def torch_peer(args: tuple) -> tuple[Callable, tuple]:
    """The operations of `loss`, one for one, in torch; gradients by `torch.autograd.grad`."""
    import torch

    def call(X, y, W1, b1, W2, b2):
        N = X.shape[0]
        hidden = 1 / (1 + torch.exp(-(X @ W1 + b1)))
        scores = hidden @ W2 + b2
        scores = scores - scores.amax(dim=1, keepdim=True)
        exp_scores = torch.exp(scores)
        probs = exp_scores / exp_scores.sum(dim=1, keepdim=True)
        value = -torch.log(probs[torch.arange(N), y]).mean()
        return value, torch.autograd.grad(value, (W1, b1, W2, b2))
    return call, torch_args(args)


def torch_idiomatic_peer(args: tuple) -> tuple[Callable, tuple]:
    """What a PyTorch user writes: `torch.sigmoid`, `F.cross_entropy` (fused kernels)."""
    import torch
    import torch.nn.functional as F

    def call(X, y, W1, b1, W2, b2):
        value = F.cross_entropy(torch.sigmoid(X @ W1 + b1) @ W2 + b2, y)
        return value, torch.autograd.grad(value, (W1, b1, W2, b2))
    return call, torch_args(args)


PEERS = [("autograd", "value_and_grad", autograd_peer),
         ("torch", "eager, same ops", torch_peer),
         ("torch", "eager, sigmoid + cross_entropy", torch_idiomatic_peer),
         ("jax", "jit(value_and_grad)", jax_peer)]


# ------------------------------------------------------------------ benchmark

def make_args(N: int, D: int, H: int, C: int, seed: int = 0) -> tuple:
    """Data and parameters: X ~ N(0, 1), weights ~ N(0, 1/fan_in), small biases."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((N, D)), rng.integers(0, C, size=N),
            rng.standard_normal((D, H)) / np.sqrt(D), 0.1 * rng.standard_normal(H),
            rng.standard_normal((H, C)) / np.sqrt(H), 0.1 * rng.standard_normal(C))


def bench_size(label: str, options: argparse.Namespace) -> None:
    dims = SIZES[label]
    args = make_args(**dims)
    notes: list[str] = []
    subjects = harness.checked_subjects(
        loss, WRT, args, handwritten,
        ("hand-written, out of place (reference)", handwritten_out_of_place), PEERS, notes)
    repeat = options.repeat or (15 if label == "small" else 7)
    target = options.target_seconds or (0.05 if label == "small" else 0.25)
    samples = timing.measure(subjects, repeat, target)
    unit, scale = ("µs", 1e6) if label == "small" else ("ms", 1e3)
    harness.print_table(label, dims, repeat, samples, notes, unit, scale)


def bench(options: argparse.Namespace) -> None:
    for label in options.sizes.split(","):
        bench_size(label.strip(), options)


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="small,large",
                        help="comma-separated, from: " + ", ".join(SIZES))
    parser.add_argument("--repeat", type=int, default=0,
                        help="timing rounds, best is kept (default 15 small, 7 large)")
    parser.add_argument("--target-seconds", type=float, default=0.0,
                        help="duration of one timed batch (default 0.05 s small, 0.25 s large)")
    harness.run(parser, __file__, argv, bench)


if __name__ == "__main__":
    main()
