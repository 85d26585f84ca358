"""Interleaved timing shared by the benchmarks: every subject runs batches of about
`target_seconds`, and the subjects take turns within each round, so a change in machine load
hits all of them alike."""

from __future__ import annotations

import timeit
from typing import Callable


def make_timer(fn: Callable, args: tuple) -> timeit.Timer:
    """A timer for `fn(a0, a1, ...)` with the function and arguments in local variables."""
    names = ", ".join(f"a{i}" for i in range(len(args)))
    return timeit.Timer(f"fn({names})", f"fn, ({names},) = _subject",
                        globals={"_subject": (fn, args)})


def measure(subjects: list[tuple], repeat: int, target_seconds: float,
            scale: float = 1.0) -> dict[str, list]:
    """Time per call (seconds times `scale`) of each (name, fn, args) subject in each of
    `repeat` rounds."""
    timers, numbers = {}, {}
    for name, fn, args in subjects:
        timers[name] = make_timer(fn, args)
        fn(*args)  # warm up (and JIT-compile)
        number, taken = timers[name].autorange()
        numbers[name] = max(1, int(number * target_seconds / taken))
    samples: dict[str, list] = {name: [] for name in timers}
    for _ in range(repeat):
        for name, timer in timers.items():
            samples[name].append(timer.timeit(numbers[name]) / numbers[name] * scale)
    return samples
