"""The review pages the page tests open: the CS231n example, the two-layer MLP and the RNN
(examples/), and what each diagram must hold, counted from the IR here (not by adgen.page)."""

from __future__ import annotations

import importlib.util
import pathlib

import numpy as np

from adgen import ir

ROOT = pathlib.Path(__file__).resolve().parent.parent


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"page_case_{name}",
                                                  ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rnn_arguments():
    rng = np.random.default_rng(0)
    N, T, D, H = 3, 5, 4, 6
    return (rng.standard_normal((N, T, D)), rng.standard_normal((N, H)),
            0.3 * rng.standard_normal((D, H)), 0.3 * rng.standard_normal((H, H)),
            0.1 * rng.standard_normal(H))


def mlp_arguments():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((5, 4))
    y = rng.integers(0, 3, 5)
    return (X, y, 0.5 * rng.standard_normal((4, 6)), np.zeros(6),
            0.5 * rng.standard_normal((6, 3)), np.zeros(3), 0.1)


def expected_counts(grad: ir.Gradient) -> tuple[int, int]:
    """(nodes, edges) of the expanded diagram: an input node per differentiated parameter,
    a node per statement that gets a gradient, the output; a wire per distinct operand that
    is a node, a dashed wire per loop-carried value, the output's wire."""
    statements = [s for s in ir.assigns(grad.forward) if s.target in grad.grad_names]
    defined: dict = {}
    for p in grad.wrt:
        defined[p] = defined.get(p, 0) + 1
    for s in statements:
        defined[s.target] = defined.get(s.target, 0) + 1
    edges = sum(defined.get(name, 0) - (name == s.target)
                for s in statements
                for name in dict.fromkeys(a.id for a in s.args if isinstance(a, ir.Name)))
    for loop in ir.loops(grad.forward):
        for name, end in loop.carried:
            if isinstance(end, ir.Name) and end.id != name:
                edges += defined.get(end.id, 0) * defined.get(name, 0)
    return len(grad.wrt) + len(statements) + 1, edges + 1
