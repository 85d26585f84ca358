"""What the array benchmarks (bench_mlp.py, bench_rnn.py) share: the adgen and peer subjects,
the check of every subject against the hand-written baseline, the result table, and running
with one thread per library.

A subject is a (name, callable, args) triple; a callable returns `(value, gradients)`.
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

# the adgen of this checkout, not whichever one is installed (as bench_all.py does)
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path[:1]:
    sys.path.insert(0, _ROOT)

RTOL = 1e-8
BASELINE = "hand-written"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "XLA_FLAGS")


# ------------------------------------------------------------------ adgen and peers

def with_numpy(fn: Callable, module) -> Callable:
    """`fn` itself (the same code object), with the global name `np` bound to another numpy
    (autograd's, JAX's)."""
    return types.FunctionType(fn.__code__, {**fn.__globals__, "np": module}, fn.__name__)


def adgen_subject(fn: Callable, wrt: tuple[str, ...], notes: list[str]) -> Optional[Callable]:
    """adgen's generated value_and_grad of `fn`, or None (and a note) when it cannot compile."""
    try:
        import adgen
        return adgen.value_and_grad(fn, wrt=wrt)
    except Exception as exc:  # noqa: BLE001 - any failure means "not supported yet"
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        more = str(exc).count(" error AD") - 1
        summary = first + (f"; and {more} more" if more > 0 else "")
        notes.append(f"adgen: not yet supported ({summary})")
        return None


def peer_subjects(peers: list[tuple], args: tuple, notes: list[str]) -> list[tuple]:
    """(name, callable, args) for each importable peer of `peers`, a list of (module, how,
    make) where `make(args)` returns the callable and its arguments; a note for each one
    skipped."""
    subjects = []
    for module, how, make in peers:
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


def mismatch(got, want, wrt: tuple[str, ...]) -> Optional[str]:
    """None if the value and every gradient (named after `wrt`) agree to RTOL, else what
    differs."""
    (value, grads), (want_value, want_grads) = got, want
    pairs = [("loss", value, want_value)] + [
        (f"d{name}", g, w) for name, g, w in zip(wrt, grads, want_grads)]
    if len(grads) != len(want_grads):
        return f"{len(grads)} gradients instead of {len(want_grads)}"
    for name, g, w in pairs:
        g = to_numpy(g)
        if g.shape != np.shape(w) or not np.allclose(g, w, rtol=RTOL, atol=0):
            worst = np.max(np.abs(g - w) / np.abs(w)) if g.shape == np.shape(w) else None
            return f"{name} differs (shape {g.shape}, max relative difference {worst})"
    return None


def check_results(subjects: list[tuple], strict: set[str], notes: list[str],
                  wrt: tuple[str, ...]) -> None:
    """Compare every subject with the hand-written baseline (the first subject); raise for
    the ones in `strict`, note the others."""
    want = subjects[0][1](*subjects[0][2])
    for name, fn, args in subjects[1:]:
        problem = mismatch(fn(*args), want, wrt)
        if problem and name in strict:
            raise AssertionError(f"{name} differs from hand-written: {problem}")
        if problem:
            notes.append(f"WARNING: {name} differs from hand-written: {problem}")


def checked_subjects(fn: Callable, wrt: tuple[str, ...], args: tuple, handwritten: Callable,
                     reference: tuple[str, Callable], peers: list[tuple],
                     notes: list[str]) -> list[tuple]:
    """The subjects, in table order: the hand-written baseline, the hand-written
    `reference` (name, callable), adgen's value_and_grad of `fn` when it compiles, and the
    importable `peers`; all checked against the baseline (the reference and adgen raise)."""
    subjects = [(BASELINE, handwritten, args), (reference[0], reference[1], args)]
    strict = {reference[0]}
    ours = adgen_subject(fn, wrt, notes)
    if ours is not None:
        subjects.append(("adgen value_and_grad", ours, args))
        strict.add("adgen value_and_grad")
    subjects += peer_subjects(peers, args, notes)
    check_results(subjects, strict, notes, wrt)
    return subjects


# ------------------------------------------------------------------ report

def print_table(title: str, dims: dict, repeat: int, samples: dict[str, list],
                notes: list[str], unit: str = "µs", scale: float = 1e6) -> None:
    """The best time per call of each subject (seconds in `samples`, shown times `scale` in
    `unit`), its ratio to the baseline's best, the median of the within-round ratios, then
    the notes."""
    best = {name: min(values) for name, values in samples.items()}
    sizes = ", ".join(f"{k}={v}" for k, v in dims.items())
    print(f"\n{title}: {sizes}, float64 (best of {repeat} rounds)")
    width = max(len(name) for name in best)
    print(f"  {'implementation':<{width}} {unit + '/call':>9} {'vs hand-written':>16} "
          f"{'rounds: median':>15}")
    for name, seconds in best.items():
        paired = [a / b for a, b in zip(samples[name], samples[BASELINE])]
        print(f"  {name:<{width}} {seconds * scale:>9.4g} {seconds / best[BASELINE]:>15.2f}x "
              f"{statistics.median(paired):>14.2f}x")
    for note in notes:
        print(f"  ({note})")


# ------------------------------------------------------------------ threads and main

def thread_settings(threads: int) -> dict[str, str]:
    """Environment variables limiting numpy's BLAS, PyTorch (OpenMP, MKL) and XLA to
    `threads` threads each."""
    xla = f"intra_op_parallelism_threads={threads}"
    if threads == 1:
        xla = "--xla_cpu_multi_thread_eigen=false " + xla
    return dict(zip(THREAD_VARIABLES, [str(threads)] * 3 + [xla]))


def pin_threads(threads: int, script: str, argv: list[str]) -> None:
    """Re-run `script` with the thread variables set, unless they already are: the
    libraries read them when they load, so they cannot be changed from inside."""
    wanted = thread_settings(threads)
    if any(os.environ.get(k) != v for k, v in wanted.items()):
        os.execve(sys.executable, [sys.executable, os.path.abspath(script), *argv],
                  {**os.environ, **wanted})


def run(parser: argparse.ArgumentParser, script: str, argv: Optional[list[str]],
        bench: Callable[[argparse.Namespace], None]) -> None:
    """A benchmark script's main: add `--threads` to the script's `parser`, re-run `script`
    with the threads pinned if need be, print the environment, then `bench(options)`."""
    argv = sys.argv[1:] if argv is None else argv
    parser.add_argument("--threads", type=int, default=1,
                        help="threads per library (default 1; 0 keeps the libraries' "
                        "defaults and the environment as it is)")
    options = parser.parse_args(argv)
    if options.threads:
        pin_threads(options.threads, script, argv)
    print(f"numpy {np.__version__}, Python {platform.python_version()}, {platform.machine()}, "
          f"{len(os.sched_getaffinity(0))} cores, load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    threads = [f"{k}={os.environ[k]}" for k in THREAD_VARIABLES if k in os.environ]
    print("thread settings: " + (", ".join(threads) or "library defaults (one per core)"))
    bench(options)
    print("\nThe last column is the median over rounds of the ratio within a round.")
