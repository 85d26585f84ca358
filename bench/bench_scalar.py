"""Per-call time of adgen's generated value-and-gradient against hand-written backprop.

Two functions from the CS231n notes ("Backpropagation, Intuitions"), both defined in
examples/cs231n.py:

* `f(x, y) = (x + sigmoid(y)) / (sigmoid(x) + (x + y)**2)`, the staged computation of
  "backprop in practice", at (x, y) = (3, -4);
* `neuron(w0, x0, w1, x1, w2) = sigmoid(w0*x0 + w1*x1 + w2)`, the 2-input sigmoid neuron, at
  w = [2, -3, -3], x = [-1, -2].

For each, these are timed (µs per call of value and gradient, best of several repeats):

* adgen: `adgen.value_and_grad(fn)`, the generated function itself;
* hand-written: the forward and backward code of the notes, verbatim except that it is wrapped
  in a function with the same scalar signature and result shape as adgen's, `(value, grads)`;
* hand-written, tidied (for reference): the same without the notes' `(1) *` / `1.0 *` factors;
* peers, when importable: JAX (`jit(value_and_grad)`), PyTorch eager autograd, `autograd`.

The target is adgen within 1.2x of the hand-written code.  adgen's results are asserted to equal
the hand-written ones to 1e-12 relative.  Implementations are timed in interleaved rounds, so
drift in machine load affects them alike.

    python bench/bench_scalar.py [--repeat N] [--target-seconds S]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import math
import os
import pathlib
import platform
import statistics
from typing import Callable, Optional

import adgen
import timing

ROOT = pathlib.Path(__file__).resolve().parent.parent
F_ARGS = (3.0, -4.0)
W, X = [2.0, -3.0, -3.0], [-1.0, -2.0]
NEURON_ARGS = (W[0], X[0], W[1], X[1], W[2])  # the parameter order of `neuron`
TARGET_RATIO = 1.2
REL_TOL = 1e-12


# ------------------------------------------------------------------ hand-written (CS231n notes)

def f_handwritten(x, y):
    """The notes' staged forward and backward pass, verbatim."""
    # forward pass
    sigy = 1.0 / (1 + math.exp(-y))  # sigmoid in numerator   #(1)
    num = x + sigy  # numerator                               #(2)
    sigx = 1.0 / (1 + math.exp(-x))  # sigmoid in denominator #(3)
    xpy = x + y                                               #(4)
    xpysqr = xpy**2                                           #(5)
    den = sigx + xpysqr  # denominator                        #(6)
    invden = 1.0 / den                                        #(7)
    f = num * invden  # done!                                 #(8)
    # backprop f = num * invden
    dnum = invden  # gradient on numerator                    #(8)
    dinvden = num                                             #(8)
    # backprop invden = 1.0 / den
    dden = (-1.0 / (den**2)) * dinvden                        #(7)
    # backprop den = sigx + xpysqr
    dsigx = (1) * dden                                        #(6)
    dxpysqr = (1) * dden                                      #(6)
    # backprop xpysqr = xpy**2
    dxpy = (2 * xpy) * dxpysqr                                #(5)
    # backprop xpy = x + y
    dx = (1) * dxpy                                           #(4)
    dy = (1) * dxpy                                           #(4)
    # backprop sigx = 1.0 / (1 + math.exp(-x))
    dx += ((1 - sigx) * sigx) * dsigx  # Notice += !!         #(3)
    # backprop num = x + sigy
    dx += (1) * dnum                                          #(2)
    dsigy = (1) * dnum                                        #(2)
    # backprop sigy = 1.0 / (1 + math.exp(-y))
    dy += ((1 - sigy) * sigy) * dsigy                         #(1)
    return f, (dx, dy)


def f_tidied(x, y):
    """The notes' code without the `(1) *` factors and the copies (same arithmetic)."""
    sigy = 1.0 / (1 + math.exp(-y))
    num = x + sigy
    sigx = 1.0 / (1 + math.exp(-x))
    xpy = x + y
    den = sigx + xpy**2
    invden = 1.0 / den
    f = num * invden
    dden = (-1.0 / (den**2)) * num
    dxpy = (2 * xpy) * dden
    dx = dxpy + ((1 - sigx) * sigx) * dden + invden
    dy = dxpy + ((1 - sigy) * sigy) * invden
    return f, (dx, dy)


def neuron_handwritten(w0, x0, w1, x1, w2):
    """The notes' neuron code, with scalar parameters instead of the lists w and x."""
    dot = w0*x0 + w1*x1 + w2
    f = 1.0 / (1 + math.exp(-dot))
    ddot = (1 - f) * f
    dx0, dx1 = w0 * ddot, w1 * ddot
    dw0, dw1, dw2 = x0 * ddot, x1 * ddot, 1.0 * ddot
    return f, (dw0, dx0, dw1, dx1, dw2)


def neuron_tidied(w0, x0, w1, x1, w2):
    """The notes' neuron code without the `1.0 *` factor."""
    f = 1.0 / (1 + math.exp(-(w0*x0 + w1*x1 + w2)))
    ddot = (1 - f) * f
    return f, (x0 * ddot, w0 * ddot, x1 * ddot, w1 * ddot, ddot)


# ------------------------------------------------------------------ peers

def staged_f(exp: Callable) -> Callable:
    """The forward `f` of examples/cs231n.py, for a framework's `exp`."""
    def f(x, y):
        sigy = 1.0 / (1 + exp(-y))
        sigx = 1.0 / (1 + exp(-x))
        return (x + sigy) * (1.0 / (sigx + (x + y)**2))
    return f


def staged_neuron(exp: Callable) -> Callable:
    """The forward `neuron` of examples/cs231n.py, for a framework's `exp`."""
    def neuron(w0, x0, w1, x1, w2):
        return 1.0 / (1 + exp(-(w0 * x0 + w1 * x1 + w2)))
    return neuron


def jax_peer(forward: Callable, args: tuple) -> tuple[Callable, tuple]:
    """`jax.jit(jax.value_and_grad(...))` in float64, on arguments already on the device."""
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
    argnums = tuple(range(len(args)))
    compiled = jax.jit(jax.value_and_grad(forward(jnp.exp), argnums=argnums))

    def call(*xs):
        return jax.block_until_ready(compiled(*xs))
    return call, tuple(jnp.asarray(a, dtype=jnp.float64) for a in args)


def torch_peer(forward: Callable, args: tuple) -> tuple[Callable, tuple]:
    """PyTorch eager: build the graph on float64 scalar leaves, then `torch.autograd.grad`."""
    import torch
    fwd = forward(torch.exp)

    def call(*leaves):
        out = fwd(*leaves)
        return out, torch.autograd.grad(out, leaves)
    leaves = tuple(torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in args)
    return call, leaves


def autograd_peer(forward: Callable, args: tuple) -> tuple[Callable, tuple]:
    """The `autograd` package's `value_and_grad` on Python floats."""
    import autograd
    import autograd.numpy as anp
    return autograd.value_and_grad(forward(anp.exp), argnum=tuple(range(len(args)))), args


PEERS = [("jax", "jit(value_and_grad)", jax_peer),
         ("torch", "eager, autograd.grad", torch_peer),
         ("autograd", "value_and_grad", autograd_peer)]


def peer_subjects(forward: Callable, args: tuple, notes: list[str]) -> list[tuple]:
    """(name, callable, args) for each importable peer; a note for each one skipped."""
    subjects = []
    for module, how, make in PEERS:
        try:
            fn, peer_args = make(forward, args)
        except ImportError:
            notes.append(f"skipped {module}: not installed")
            continue
        name = f"{module} {importlib.metadata.version(module)} {how}"
        subjects.append((name, fn, peer_args))
    return subjects


# ------------------------------------------------------------------ checking

def as_float(number) -> float:
    """A Python float from a float, a JAX array or a (possibly grad-requiring) torch tensor."""
    return float(number.detach() if hasattr(number, "detach") else number)


def flatten(result) -> list[float]:
    """`(value, (g1, g2, ...))` as floats, whatever the framework's scalar type."""
    value, grads = result
    return [as_float(value)] + [as_float(g) for g in grads]


def mismatch(got, want, rel_tol: float) -> Optional[str]:
    """None if every number agrees to `rel_tol`, else a description of the difference."""
    a, b = flatten(got), flatten(want)
    if len(a) == len(b) and all(math.isclose(x, y, rel_tol=rel_tol) for x, y in zip(a, b)):
        return None
    return f"got {a}, expected {b}"


def check_results(subjects: list[tuple], exact: int, notes: list[str]) -> None:
    """Assert that the first `exact` subjects (adgen and the tidied code) equal the first one
    after them, the notes' code, to 1e-12 relative; warn about a peer differing by more than
    1e-9 (peers run in float64 too, but their operation order differs)."""
    want = subjects[0][1](*subjects[0][2])
    for index, (name, fn, args) in enumerate(subjects[1:], start=1):
        problem = mismatch(fn(*args), want, REL_TOL if index < exact else 1e-9)
        if problem and index < exact:
            raise AssertionError(f"{name} differs from the notes' code: {problem}")
        if problem:
            notes.append(f"WARNING: {name} differs from the notes' code: {problem}")


# ------------------------------------------------------------------ timing

def measure(subjects: list[tuple], repeat: int, target_seconds: float) -> dict[str, list]:
    """µs per call of each subject in each of `repeat` rounds (bench/timing.py)."""
    return timing.measure(subjects, repeat, target_seconds, scale=1e6)


# ------------------------------------------------------------------ report

def print_table(title: str, times: dict[str, float], baseline: str) -> None:
    print(f"\n{title}")
    print(f"  {'implementation':<40} {'µs/call':>9} {'vs hand-written':>16}")
    for name, micros in times.items():
        print(f"  {name:<40} {micros:>9.3f} {micros / times[baseline]:>15.2f}x")


def bench_function(title: str, adgen_fn: Callable, handwritten: Callable, tidied: Callable,
                   forward: Callable, args: tuple, options: argparse.Namespace) -> float:
    """Check, time and print one function; returns adgen's ratio to the notes' code."""
    notes: list[str] = []
    baseline, ours = "hand-written (CS231n notes)", "adgen value_and_grad"
    subjects = [(baseline, handwritten, args), (ours, adgen_fn, args),
                ("hand-written, tidied (reference)", tidied, args)]
    subjects += peer_subjects(forward, args, notes)
    check_results(subjects, 3, notes)
    samples = measure(subjects, options.repeat, options.target_seconds)
    times = {name: min(values) for name, values in samples.items()}
    print_table(title, times, baseline)
    ratio = times[ours] / times[baseline]
    rounds = sorted(a / b for a, b in zip(samples[ours], samples[baseline]))  # paired
    verdict = "meets" if ratio <= TARGET_RATIO else "MISSES"
    print(f"  adgen / hand-written: {ratio:.2f}x, {verdict} the {TARGET_RATIO}x target "
          f"(round by round: {rounds[0]:.2f}x to {rounds[-1]:.2f}x, "
          f"median {statistics.median(rounds):.2f}x)")
    for note in notes:
        print(f"  ({note})")
    return ratio


def call_overhead(arity: int, options: argparse.Namespace) -> float:
    """µs to call an empty function of `arity` positional parameters plus a default one
    (the fixed cost included in every figure)."""
    names = ", ".join(f"p{i}" for i in range(arity))
    namespace: dict = {}
    exec(f"def empty({names}, seed=1.0):\n    return None\n", namespace)
    args = tuple(float(i) for i in range(arity))
    return min(measure([("empty", namespace["empty"], args)], options.repeat,
                       options.target_seconds)["empty"])


def load_example():
    """examples/cs231n.py, imported from its file (it is not a package module)."""
    spec = importlib.util.spec_from_file_location("cs231n", ROOT / "examples" / "cs231n.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=25, help="timing rounds (best is kept)")
    parser.add_argument("--target-seconds", type=float, default=0.05,
                        help="approximate duration of one timed batch")
    options = parser.parse_args(argv)
    example = load_example()
    print(f"adgen {adgen.__version__}, Python {platform.python_version()}, "
          f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores")
    bench_function("f(x, y) at (3, -4)", adgen.value_and_grad(example.f), f_handwritten,
                   f_tidied, staged_f, F_ARGS, options)
    bench_function("neuron at w=[2, -3, -3], x=[-1, -2]", adgen.value_and_grad(example.neuron),
                   neuron_handwritten, neuron_tidied, staged_neuron, NEURON_ARGS, options)
    print(f"\nCalling an empty function of the same signature: "
          f"{call_overhead(2, options):.3f} µs (2 parameters), "
          f"{call_overhead(5, options):.3f} µs (5 parameters); included in every figure.")


if __name__ == "__main__":
    main()
