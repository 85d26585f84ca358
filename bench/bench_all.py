"""One table for issue 13: every workload, every implementation, measured in one run.

Workloads (each defined, hand-written and checked in its own script; this driver imports them):

* W1 `f(x, y)` and W2 the sigmoid neuron of the CS231n backprop notes (bench_scalar.py), the
  baseline the notes' own hand-written backprop;
* W3 the two-layer MLP at N=64 D=100 H=50 C=10 and W4 at N=512 D=1024 H=1024 C=10
  (bench_mlp.py), the baseline the careful in-place hand-written numpy;
* W5 the vanilla RNN at T=20 B=16 D=32 H=64 (bench_rnn.py), the baseline careful BPTT that
  accumulates the weight gradients step by step;
* start-up: wall time of a fresh process, `python -m adgen examples/cs231n.py` against
  `python -c "import torch"` (and jax, autograd): what each costs before its first gradient.

Columns: the hand-written time per call, then each implementation's ratio to it (best batch
of each over interleaved rounds, bench/timing.py: the subjects take turns within a round, so
load changes hit all of them alike).  Peers (autograd, torch eager with the same operations,
jax.jit(value_and_grad)) appear when importable: run with the venv of bench/README.md.  Every
subject's value and gradients are checked against the hand-written ones first (adgen's must
agree, a peer's disagreement is reported).  One thread per library, as the other scripts.

    /tmp/benchenv/bin/python bench/bench_all.py            # about 3 minutes on 2 loaded cores
"""

from __future__ import annotations

import argparse
import os
import pathlib
import platform
import statistics
import sys
from typing import Optional

# the adgen of this checkout, not whichever one is installed
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

import bench_mlp  # noqa: E402
import bench_rnn  # noqa: E402
import bench_scalar  # noqa: E402
import bench_startup  # noqa: E402
import harness  # noqa: E402
import timing  # noqa: E402

COLUMNS = ("adgen", "autograd", "torch", "jax")


def _column(name: str) -> Optional[str]:
    for column in COLUMNS:
        if name.startswith(column) and "cross_entropy" not in name:
            return column
    return None


def scalar_workload(forward_name: str, handwritten, staged, args) -> list[tuple]:
    example = bench_scalar.load_example()
    import adgen
    subjects = [("hand-written", handwritten, args),
                ("adgen", adgen.value_and_grad(getattr(example, forward_name)), args)]
    notes: list[str] = []
    subjects += bench_scalar.peer_subjects(staged, args, notes)
    bench_scalar.check_results(subjects, 2, notes)
    return subjects, notes


def array_workload(module, fn, args, handwritten) -> tuple[list[tuple], list[str]]:
    notes: list[str] = []
    ours = harness.adgen_subject(fn, module.WRT, notes)
    subjects = [("hand-written", handwritten, args)]
    if ours is not None:
        subjects.append(("adgen", ours, args))
    peers = [p for p in module.PEERS if "cross_entropy" not in p[1]]
    subjects += harness.peer_subjects(peers, args, notes)
    harness.check_results(subjects, {"adgen"}, notes, module.WRT)
    return subjects, notes


def workloads():
    mlp = bench_mlp
    yield ("W1 f(x, y)", "µs", 1e6, 25, 0.05,
           scalar_workload("f", bench_scalar.f_handwritten, bench_scalar.staged_f,
                           bench_scalar.F_ARGS))
    yield ("W2 neuron", "µs", 1e6, 25, 0.05,
           scalar_workload("neuron", bench_scalar.neuron_handwritten,
                           bench_scalar.staged_neuron, bench_scalar.NEURON_ARGS))
    yield ("W3 MLP N=64 D=100 H=50 C=10", "µs", 1e6, 15, 0.05,
           array_workload(mlp, mlp.loss, mlp.make_args(**mlp.SIZES["small"]), mlp.handwritten))
    yield ("W4 MLP N=512 D=1024 H=1024 C=10", "ms", 1e3, 7, 0.25,
           array_workload(mlp, mlp.loss, mlp.make_args(**mlp.SIZES["large"]), mlp.handwritten))
    yield ("W5 RNN T=20 B=16 D=32 H=64", "µs", 1e6, 15, 0.1,
           array_workload(bench_rnn, bench_rnn.rnn_loss, bench_rnn.make_args(**bench_rnn.SIZES),
                          bench_rnn.handwritten))


def startup(runs: int) -> dict[str, tuple[float, float]]:
    """Median wall and CPU seconds (user + system) of fresh processes, interleaved."""
    env = {**os.environ, "PYTHONPATH": str(bench_startup.ROOT)}
    subjects = [("floor", ["-c", "pass"]), ("adgen", ["-m", "adgen", "examples/cs231n.py"])]
    for module in ("autograd", "torch", "jax"):
        try:
            __import__(module)
        except ImportError:
            continue
        subjects.append((module, ["-c", f"import {module}"]))
    runs_of: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in subjects}
    for round_ in range(runs + 1):
        for name, argv in subjects:
            measured = bench_startup.run_once(argv, env)
            if round_:  # the first round warms the caches
                runs_of[name].append(measured)
    return {name: (statistics.median(w for w, _ in values), statistics.median(c for _, c in values))
            for name, values in runs_of.items()}


def bench(options: argparse.Namespace) -> None:
    rows, all_notes = [], []
    for title, unit, scale, repeat, target, (subjects, notes) in workloads():
        samples = timing.measure(subjects, repeat * options.scale_repeat, target)
        best = {name: min(values) for name, values in samples.items()}
        base = best["hand-written"]
        cells = {}
        for name in best:
            column = _column(name)
            if column is not None:
                paired = statistics.median(a / b for a, b in zip(samples[name],
                                                                 samples["hand-written"]))
                cells[column] = f"{best[name] / base:.2f}x ({paired:.2f}x)"
        rows.append((title, f"{base * scale:.4g} {unit}", cells))
        all_notes += [f"{title}: {note}" for note in notes]
        print(f"  measured {title}", file=sys.stderr)
    walls = startup(options.startup_runs)
    import adgen
    print(f"\nadgen from {pathlib.Path(adgen.__file__).parent}")
    print(f"numpy {np.__version__}, Python {platform.python_version()}, {platform.machine()}, "
          f"{len(os.sched_getaffinity(0))} cores, load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} (after the run)")
    print("\n| workload | hand-written | " + " | ".join(COLUMNS) + " |")
    print("| --- | ---: | " + " | ".join("---:" for _ in COLUMNS) + " |")
    for title, base, cells in rows:
        print(f"| {title} | {base} | " + " | ".join(cells.get(c, "-") for c in COLUMNS) + " |")
    floor_wall, floor_cpu = walls["floor"]
    print(f"| start-up, s wall (cpu); `python -c pass`: {floor_wall:.2f} ({floor_cpu:.2f}) "
          "| - | " + " | ".join(f"{walls[c][0]:.2f} ({walls[c][1]:.2f})" if c in walls else "-"
                                for c in COLUMNS) + " |")
    print("\nRatios: best batch / hand-written's best batch (median of the per-round ratios "
          "in parentheses).  Start-up: `python -m adgen examples/cs231n.py` for adgen, "
          "`python -c 'import MODULE'` for the peers, median wall (and CPU: user + system) "
          f"seconds of {options.startup_runs} interleaved runs.")
    for note in all_notes:
        print(f"  ({note})")


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale-repeat", type=int, default=1,
                        help="multiply every workload's number of rounds")
    parser.add_argument("--startup-runs", type=int, default=9)
    harness.run(parser, __file__, argv, bench)


if __name__ == "__main__":
    main()
