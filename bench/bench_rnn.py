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
import importlib.metadata
import os
import platform
import statistics
import sys
import types
from typing import Callable, Optional

import numpy as np

import timing

SIZES = dict(N=16, T=20, D=32, H=64)
WRT = ("Wxh", "Whh", "b")
RTOL = 1e-8
BASELINE = "hand-written"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "XLA_FLAGS")


# ------------------------------------------------------------------ the function

def rnn_loss(x: "N T D", h0: "N H", Wxh: "D H", Whh: "H H", b: "H"):
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


# ------------------------------------------------------------------ adgen and peers

def with_numpy(module) -> Callable:
    """`rnn_loss` itself, with the global name `np` bound to another numpy."""
    return types.FunctionType(rnn_loss.__code__, {**rnn_loss.__globals__, "np": module},
                              "rnn_loss")


def adgen_subject(notes: list[str]) -> Optional[Callable]:
    """adgen's generated value_and_grad, or None (and a note) when it cannot compile."""
    try:
        import adgen
        return adgen.value_and_grad(rnn_loss, wrt=WRT)
    except Exception as exc:  # noqa: BLE001 - any failure means "not supported yet"
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        notes.append(f"adgen: not yet supported ({first})")
        return None


def autograd_peer(args: tuple) -> tuple[Callable, tuple]:
    import autograd
    import autograd.numpy as anp
    return autograd.value_and_grad(with_numpy(anp), argnum=(2, 3, 4)), args


def jax_peer(args: tuple) -> tuple[Callable, tuple]:
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
    compiled = jax.jit(jax.value_and_grad(with_numpy(jnp), argnums=(2, 3, 4)))

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
    subjects = [(BASELINE, handwritten, args),
                ("hand-written, stacked (reference)", handwritten_stacked, args)]
    strict = {subjects[1][0]}
    ours = adgen_subject(notes)
    if ours is not None:
        subjects.append(("adgen value_and_grad", ours, args))
        strict.add("adgen value_and_grad")
    subjects += peer_subjects(args, notes)
    check_results(subjects, strict, notes)
    samples = timing.measure(subjects, options.repeat, options.target_seconds)
    best = {name: min(values) for name, values in samples.items()}
    sizes = ", ".join(f"{k}={v}" for k, v in SIZES.items())
    print(f"\nvanilla RNN: {sizes}, float64 (best of {options.repeat} rounds)")
    width = max(len(name) for name in best)
    print(f"  {'implementation':<{width}} {'µs/call':>9} {'vs hand-written':>16} "
          f"{'rounds: median':>15}")
    for name, seconds in best.items():
        paired = [a / b for a, b in zip(samples[name], samples[BASELINE])]
        print(f"  {name:<{width}} {seconds * 1e6:>9.4g} {seconds / best[BASELINE]:>15.2f}x "
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
    parser.add_argument("--repeat", type=int, default=15, help="timing rounds, best is kept")
    parser.add_argument("--target-seconds", type=float, default=0.1,
                        help="duration of one timed batch")
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
    bench(options)
    print("\nThe last column is the median over rounds of the ratio within a round.")


if __name__ == "__main__":
    main()
