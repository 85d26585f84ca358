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
import importlib.metadata
import os
import platform
import statistics
import sys
import types
from typing import Callable, Optional

import numpy as np

import timing

SIZES = {"small": dict(N=64, D=100, H=50, C=10), "large": dict(N=512, D=1024, H=1024, C=10)}
WRT = ("W1", "b1", "W2", "b2")
RTOL = 1e-8
BASELINE = "hand-written"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "XLA_FLAGS")


# ------------------------------------------------------------------ the function

def loss(X: "N D", y: "int N", W1: "D H", b1: "H", W2: "H C", b2: "C"):
    """Mean softmax cross-entropy of a two-layer net with a sigmoid hidden layer.  (The shape
    annotations are for adgen; the peers ignore them.)"""
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


# ------------------------------------------------------------------ adgen and peers

def with_numpy(module) -> Callable:
    """`loss` itself, with the global name `np` bound to another numpy (autograd's, JAX's)."""
    return types.FunctionType(loss.__code__, {**loss.__globals__, "np": module}, "loss")


def adgen_subject(args: tuple, notes: list[str]) -> Optional[Callable]:
    """adgen's generated value_and_grad, or None (and a note) when it cannot compile `loss`."""
    try:
        import adgen
        return adgen.value_and_grad(loss, wrt=WRT)
    except Exception as exc:  # noqa: BLE001 - any failure means "not supported yet"
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        more = str(exc).count(" error AD") - 1
        summary = first + (f"; and {more} more" if more > 0 else "")
        notes.append(f"adgen: not yet supported ({summary})")
        return None


def autograd_peer(args: tuple) -> tuple[Callable, tuple]:
    import autograd
    import autograd.numpy as anp
    return autograd.value_and_grad(with_numpy(anp), argnum=(2, 3, 4, 5)), args


def jax_peer(args: tuple) -> tuple[Callable, tuple]:
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
    compiled = jax.jit(jax.value_and_grad(with_numpy(jnp), argnums=(2, 3, 4, 5)))

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


def peer_subjects(args: tuple, notes: list[str]) -> list[tuple]:
    """(name, callable, args) for each importable peer; a note for each one skipped."""
    subjects = []
    for module, how, make in PEERS:
        try:
            fn, peer_args = make(args)
        except ImportError as exc:
            notes.append(f"skipped {module} ({how}): not importable ({exc})")
            continue
        name = f"{module} {importlib.metadata.version(module)} {how}"
        if module == "torch":
            import torch
            name += f" ({torch.get_num_threads()} thr)"
        subjects.append((name, fn, peer_args))
    return subjects


# ------------------------------------------------------------------ checking

def to_numpy(array) -> np.ndarray:
    """A numpy array from a numpy, JAX or (possibly grad-requiring) torch array."""
    return np.asarray(array.detach() if hasattr(array, "detach") else array)


def mismatch(got, want) -> Optional[str]:
    """None if the value and every gradient agree to RTOL, else what differs."""
    (value, grads), (want_value, want_grads) = got, want
    pairs = [("loss", value, want_value)] + [
        (f"d{name}", g, w) for name, g, w in zip(WRT, grads, want_grads)]
    if len(grads) != len(want_grads):
        return f"{len(grads)} gradients instead of {len(want_grads)}"
    for name, g, w in pairs:
        g = to_numpy(g)
        if g.shape != np.shape(w) or not np.allclose(g, w, rtol=RTOL, atol=0):
            worst = np.max(np.abs(g - w) / np.abs(w)) if g.shape == np.shape(w) else None
            return f"{name} differs (shape {g.shape}, max relative difference {worst})"
    return None


def check_results(subjects: list[tuple], strict: set[str], notes: list[str]) -> None:
    """Compare every subject with the hand-written baseline (the first subject); raise for
    the ones in `strict`, note the others."""
    want = subjects[0][1](*subjects[0][2])
    for name, fn, args in subjects[1:]:
        problem = mismatch(fn(*args), want)
        if problem and name in strict:
            raise AssertionError(f"{name} differs from hand-written: {problem}")
        if problem:
            notes.append(f"WARNING: {name} differs from hand-written: {problem}")


# ------------------------------------------------------------------ timing

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
    subjects = [(BASELINE, handwritten, args),
                ("hand-written, out of place (reference)", handwritten_out_of_place, args)]
    strict = {subjects[1][0]}
    ours = adgen_subject(args, notes)
    if ours is not None:
        subjects.append(("adgen value_and_grad", ours, args))
        strict.add("adgen value_and_grad")
    subjects += peer_subjects(args, notes)
    check_results(subjects, strict, notes)
    repeat = options.repeat or (15 if label == "small" else 7)
    target = options.target_seconds or (0.05 if label == "small" else 0.25)
    samples = timing.measure(subjects, repeat, target)
    best = {name: min(values) for name, values in samples.items()}
    unit, scale = ("µs", 1e6) if label == "small" else ("ms", 1e3)
    sizes = ", ".join(f"{k}={v}" for k, v in dims.items())
    print(f"\n{label}: {sizes}, float64 (best of {repeat} rounds)")
    width = max(len(name) for name in best)
    print(f"  {'implementation':<{width}} {unit + '/call':>9} {'vs hand-written':>16} "
          f"{'rounds: median':>15}")
    for name, seconds in best.items():
        paired = [a / b for a, b in zip(samples[name], samples[BASELINE])]
        print(f"  {name:<{width}} {seconds * scale:>9.4g} {seconds / best[BASELINE]:>15.2f}x "
              f"{statistics.median(paired):>14.2f}x")
    for note in notes:
        print(f"  ({note})")


def thread_settings(threads: int) -> dict[str, str]:
    """Environment variables limiting numpy's BLAS, PyTorch (OpenMP, MKL) and XLA to
    `threads` threads each."""
    xla = f"intra_op_parallelism_threads={threads}"
    if threads == 1:
        xla = "--xla_cpu_multi_thread_eigen=false " + xla
    return dict(zip(THREAD_VARIABLES, [str(threads)] * 3 + [xla]))


def pin_threads(threads: int, argv: list[str]) -> None:
    """Re-run this script with the thread variables set, unless they already are: the
    libraries read them when they load, so they cannot be changed from inside."""
    wanted = thread_settings(threads)
    if any(os.environ.get(k) != v for k, v in wanted.items()):
        os.execve(sys.executable, [sys.executable, os.path.abspath(__file__), *argv],
                  {**os.environ, **wanted})


def main(argv: Optional[list[str]] = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="small,large",
                        help="comma-separated, from: " + ", ".join(SIZES))
    parser.add_argument("--repeat", type=int, default=0,
                        help="timing rounds, best is kept (default 15 small, 7 large)")
    parser.add_argument("--target-seconds", type=float, default=0.0,
                        help="duration of one timed batch (default 0.05 s small, 0.25 s large)")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads per library (default 1; 0 keeps the libraries' "
                        "defaults and the environment as it is)")
    options = parser.parse_args(argv)
    if options.threads:
        pin_threads(options.threads, argv)
    print(f"numpy {np.__version__}, Python {platform.python_version()}, {platform.machine()}, "
          f"{len(os.sched_getaffinity(0))} cores, load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    threads = [f"{k}={os.environ[k]}" for k in THREAD_VARIABLES if k in os.environ]
    print("thread settings: " + (", ".join(threads) or "library defaults (one per core)"))
    for label in options.sizes.split(","):
        bench_size(label.strip(), options)
    print("\nThe last column is the median over rounds of the ratio within a round.")


if __name__ == "__main__":
    main()
