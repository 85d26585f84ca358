"""The recorder the instrumented variant calls (adgen/leaks/instrument.py): it measures, the
report (adgen/leaks/report.py) judges.

Every method takes the probe number first.  Counts accumulate over every execution of a
statement (each iteration of a loop), so a unit of a ReLU in a loop over examples is dead
only if it is dead for all of them.  numpy is imported here, when the lens runs, never when
code is generated.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Optional

import numpy as np

from adgen.leaks.instrument import Probe

# A unit is saturated when its local gradient is under this fraction of the gate's maximum.
SATURATION = 0.01
GATE_MAX = {"sigmoid": 0.25, "tanh": 1.0}


@dataclasses.dataclass
class Nonfinite:
    """The first nan or inf: where (a probe), in which pass, the value, how many elements
    of how many were not finite, and the variable."""

    probe: int
    phase: str  # "forward" or "backward"
    value: float
    count: int
    size: int
    name: str = ""
    error: str = ""  # the exception that stood for it (math.exp overflowing raises)


@dataclasses.dataclass
class _Clip:
    """One execution of a clip's backward block: the elements it zeroed whose upstream
    gradient was not zero (narrowed at each value the gradient passes down to, to those
    where no other path brings one), how many elements had an upstream gradient, and the
    last step of the chain it was checked at."""

    killed: object
    flowing: int
    reached: int = -1


def _array(x):
    return x if isinstance(x, np.ndarray) else np.asarray(x)


def norm(values) -> float:
    """The 2-norm of several gradients together (numbers or arrays)."""
    total = 0.0
    for x in values:
        a = _array(x)
        total += float(np.sum(np.square(np.abs(a), dtype=float)))
    return math.sqrt(total)


class Recorder:
    """What the instrumented function saw: saturation and dead-unit counts, the gradient
    zeroed by clips, the norm of the gradient carried through each backward loop at every
    step, and the first value that is not finite."""

    def __init__(self, probes: list[Probe]):
        self.probes = probes
        self.first: Optional[Nonfinite] = None
        self.saturated: dict[int, list[int]] = {}  # probe -> [saturated, outputs]
        self.alive: dict[tuple, np.ndarray] = {}  # (probe, unit shape) -> ever positive
        self.clips: dict[int, list[_Clip]] = {}
        self.runs: dict[int, list[list[float]]] = {}  # probe -> norms per step, per run
        self._open: dict[int, list[float]] = {}

    # ---------------------------------------------------------------- not finite

    def _check(self, k: int, x, phase: str, name: str = "") -> None:
        if type(x) is float:
            if math.isfinite(x):
                return
            self.first = Nonfinite(k, phase, x, 1, 1, name)
            return
        a = _array(x)
        if a.dtype.kind not in "fc":
            return
        bad = ~np.isfinite(a)
        if bad.any():
            self.first = Nonfinite(k, phase, a[bad].flat[0].item(), int(bad.sum()), a.size,
                                   name)

    def value(self, k: int, x) -> None:
        if self.first is None:
            self._check(k, x, "forward", self.probes[k].node.target)

    def grads(self, k: int, *gs) -> None:
        if self.first is None:
            for g, name in zip(gs, self.probes[k].names):
                self._check(k, g, "backward", name)
                if self.first is not None:
                    return

    # ---------------------------------------------------------------- gates and ReLUs

    def gate(self, k: int, out, local) -> None:
        self.value(k, out)
        limit = SATURATION * GATE_MAX[self.probes[k].site.gate]
        a = _array(local)
        counts = self.saturated.setdefault(k, [0, 0])
        counts[0] += int(np.count_nonzero(np.abs(a) < limit))
        counts[1] += a.size

    def relu(self, k: int, out, local) -> None:
        """A ReLU's units: the columns of a matrix (every row an example; the last axis of
        higher ranks), every element of a vector or number (one example); a unit is alive if
        its local gradient is not zero for some example of some execution."""
        self.value(k, out)
        positive = _array(local) != 0
        if positive.ndim >= 2:
            positive = positive.reshape(-1, positive.shape[-1]).any(axis=0)
        key = (k, positive.shape)
        seen = self.alive.get(key)
        self.alive[key] = positive.copy() if seen is None else seen | positive

    # ---------------------------------------------------------------- clips

    def zeroed(self, k: int, g, local) -> None:
        g, local = np.broadcast_arrays(_array(g), _array(local))
        flowing = g != 0
        self.clips.setdefault(k, []).append(
            _Clip(flowing & (local == 0), int(np.count_nonzero(flowing))))

    def through(self, k: int, step: int, grad) -> None:
        """The gradient of the value a clip's operand was computed from (step 0: the
        operand itself) is complete: elements where it is not zero were not lost."""
        grad = _array(grad)
        for clip in self.clips.get(k, ()):
            if clip.reached != step - 1:
                continue
            if grad.shape == clip.killed.shape:
                clip.killed = clip.killed & (grad == 0)
                clip.reached = step
            else:  # broadcast on the way down: judged where it was
                clip.reached = 1 << 30

    # ---------------------------------------------------------------- loops

    def loop_begin(self, k: int) -> None:
        self._open[k] = []

    def step(self, k: int, *gs) -> None:
        self._open[k].append(norm(gs))

    def loop_end(self, k: int, *gs) -> None:
        norms = self._open.pop(k)
        norms.append(norm(gs))
        self.runs.setdefault(k, []).append(norms)

    # ---------------------------------------------------------------- results

    def saturation(self, k: int) -> Optional[tuple[int, int]]:
        counts = self.saturated.get(k)
        return tuple(counts) if counts and counts[1] else None

    def dead(self, k: int) -> Optional[tuple[int, int]]:
        units = [a for (probe, _), a in self.alive.items() if probe == k]
        total = sum(a.size for a in units)
        return (sum(int(np.count_nonzero(~a)) for a in units), total) if total else None

    def zeroing(self, k: int) -> Optional[tuple[int, int]]:
        clips = self.clips.get(k, ())
        flowing = sum(c.flowing for c in clips)
        return (sum(int(np.count_nonzero(c.killed)) for c in clips), flowing) if flowing \
            else None

    def growth(self, k: int) -> Optional[tuple[float, int]]:
        """The most extreme run of a backward loop: (the carried gradient's norm after the
        loop over its norm at the first step where it was not zero, the steps between)."""
        worst = None
        for norms in self.runs.get(k, ()):
            if not all(math.isfinite(n) for n in norms):
                continue
            start = next((i for i, n in enumerate(norms) if n > 0), None)
            if start is None or start == len(norms) - 1:
                continue
            change, steps = norms[-1] / norms[start], len(norms) - 1 - start
            size = math.inf if change == 0 else abs(math.log(change))
            if worst is None or size > worst[0]:
                worst = (size, change, steps)
        return None if worst is None else worst[1:]
