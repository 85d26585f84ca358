"""The values on the wires: the generated code run at the given inputs, with a recording
call after each forward statement (its value) and where each gradient is complete (the
start of its statement's backward block; the end of the backward pass for the inputs).

Like the lens's instrumented variant (adgen/leaks/instrument.py) this is a separate function
emitted from the same IR through emit's `Tap`; the generated module itself is unchanged.
Inside a loop a statement runs once per step: every execution is kept, and the diagram
shows the last forward step's value with the gradient of that same step (the first one the
backward loop computes).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Optional, Sequence

from adgen import ir
from adgen.emit import Tap, emit_function, emit_module


class _Recording(Tap):
    parameter = "_review"
    keeps_copies = True  # it records every block's gradient by name (a run, never shown)

    def __init__(self, grad: ir.Gradient):
        self.grad = grad
        self.parameter = _free_name(grad)

    def forward(self, stmt: ir.Assign) -> list[str]:
        return [f"{self.parameter}.value({stmt.target!r}, {stmt.target})"]

    def block(self, block: ir.BackwardBlock) -> tuple[list[str], list[str]]:
        name = self.grad.grad_names.get(block.origin.target)
        if name is None:
            return [], []
        return [f"{self.parameter}.grad({block.origin.target!r}, {name})"], []

    def end(self, grad: ir.Gradient) -> list[str]:
        return [f"{self.parameter}.grad({p!r}, {grad.grad_names[p]})" for p in grad.wrt
                if p in grad.grad_names]


def _free_name(grad: ir.Gradient) -> str:
    fn = grad.function
    taken = {p.name for p in fn.params} | {s.target for s in ir.assigns(grad.forward)}
    taken |= set(grad.grad_names.values()) | {grad.seed, fn.name}
    name, n = "_review", 0
    while name in taken:
        n += 1
        name = f"_review_{n}"
    return name


class Recorder:
    """Every value and gradient the instrumented function reported, by variable, in the
    order they were computed."""

    def __init__(self) -> None:
        self.values: dict[str, list] = {}
        self.grads: dict[str, list] = {}

    def value(self, name: str, x) -> None:
        self.values.setdefault(name, []).append(_copy(x))

    def grad(self, name: str, g) -> None:
        self.grads.setdefault(name, []).append(_copy(g))


def _copy(x):
    copy = getattr(x, "copy", None)
    return copy() if callable(copy) and not isinstance(x, (int, float)) else x


@dataclasses.dataclass
class Run:
    """What running the generated code at the inputs gave."""

    inputs: dict  # parameter -> value
    values: dict[str, list]
    grads: dict[str, list]
    output: object = None
    seed: object = 1.0
    error: str = ""  # the exception that stopped the run, if any

    def value(self, name: str):
        if name in self.inputs:
            return self.inputs[name]
        seen = self.values.get(name)
        return seen[-1] if seen else None

    def gradient(self, name: str):
        seen = self.grads.get(name)
        return seen[0] if seen else None


def run(grad: ir.Gradient, args: Sequence, seed=None) -> Run:
    """Run NAME_value_and_grad, instrumented, at `args` (the upstream gradient `seed` for an
    array output; 1.0 for a number)."""
    import numpy as np

    tap = _Recording(grad)
    module = emit_module([grad], source_path=grad.function.path, command="adgen review")
    source = module + "\n\n" + emit_function(grad, value_and_grad=True, tap=tap,
                                             name="_review_function")
    namespace: dict = {"__name__": f"adgen_review_{grad.function.name}"}
    exec(compile(source, f"<adgen review: {grad.function.name}>", "exec"), namespace)
    recorder = Recorder()
    from adgen.members import value_of

    params = [p.name for p in grad.function.params]
    inputs = dict(zip(params, [_copy(a) for a in args]))
    for member in grad.function.members:  # W1 = params['W1']: an input of its own
        try:
            inputs[member.name] = _copy(value_of(member, inputs))
        except (KeyError, AttributeError, IndexError, TypeError):
            pass
    kwargs = {} if seed is None else {grad.seed: seed}
    result = Run(inputs, recorder.values, recorder.grads, seed=1.0 if seed is None else seed)
    with np.errstate(all="ignore"):
        try:
            from adgen.verify import by_position, keyword_only_of

            review_function = by_position(namespace["_review_function"], ["<tap>"] + params,
                                          keyword_only_of(grad.function))
            output, _ = review_function(recorder, *[_copy(a) for a in args], **kwargs)
            result.output = output
        except (ArithmeticError, ValueError) as exc:
            result.error = f"{type(exc).__name__}: {exc}"
    return result


def summary(x) -> Optional[str]:
    """A value as the diagram shows it: a number with 4 significant digits, an array as its
    shape and norm, min and max; None for no value."""
    import numpy as np

    if x is None:
        return None
    if isinstance(x, (bool, int, float)) or (isinstance(x, np.generic) and np.ndim(x) == 0):
        return number(float(x))
    a = np.asarray(x)
    if a.ndim == 0:
        return number(float(a))
    shape = "\u00d7".join(str(n) for n in a.shape)
    if a.size == 0 or a.dtype.kind not in "biuf":
        return shape
    return (f"{shape} \u2016{number(float(np.linalg.norm(a.astype(float))))}\u2016 "
            f"[{number(float(a.min()))}, {number(float(a.max()))}]")


def number(v: float) -> str:
    if math.isnan(v) or math.isinf(v):
        return str(v)
    text = f"{v:.4g}"
    return "0" if text == "-0" else text


def exact(x) -> str:
    """Full precision, for tooltips (and the tests): repr of a number; an array's summary
    with full-precision norm, min and max."""
    import numpy as np

    if x is None:
        return ""
    if np.ndim(x) == 0:
        return repr(float(x))
    a = np.asarray(x, dtype=float)
    return (f"shape {a.shape} norm={float(np.linalg.norm(a))!r} min={float(a.min())!r} "
            f"max={float(a.max())!r}") if a.size else f"shape {a.shape}"
