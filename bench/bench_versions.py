"""The generated code of two checkouts of adgen, timed side by side with hand-written numpy in
one run: W3 (the small MLP) and W5 (the RNN) of issue 13, before and after a change.

Each checkout generates the gradient of `bench_mlp.loss` and `bench_rnn.rnn_loss` (the
unannotated functions, specialised at the benchmark's arguments, as `adgen.value_and_grad`
does) in a subprocess, so that both can be imported side by side; the two generated
`NAME_grad` functions, the hand-written baseline and the scripts' references are then checked
against hand-written (rtol 1e-8) and timed interleaved, one call per sample, for `--rounds`
rounds of `--calls` calls each.  The table gives the best call and, in parentheses, the
median over rounds of the ratio to hand-written within the round.  Timing the generated
function itself leaves out the dispatcher (`specialize.py`), which is the same in both.

    python bench/bench_versions.py --before /tmp/adgen-old              # the checkout here is "after"
    git archive e02cd8b | tar -x -C /tmp/adgen-old                      # a checkout of a commit
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import timeit
from typing import Optional

import numpy as np

import harness

BENCH = pathlib.Path(__file__).resolve().parent
HERE = BENCH.parent

_GENERATE = """
import sys
root, bench, out = sys.argv[1:4]
sys.path[:0] = [root, bench]
import adgen, bench_mlp, bench_rnn
assert adgen.__file__.startswith(root), adgen.__file__
args = bench_mlp.make_args(**bench_mlp.SIZES["small"])
open(out + "/mlp.py", "w").write(adgen.source(bench_mlp.loss, *args, wrt=bench_mlp.WRT))
args = bench_rnn.make_args(**bench_rnn.SIZES)
open(out + "/rnn.py", "w").write(adgen.source(bench_rnn.rnn_loss, *args, wrt=bench_rnn.WRT))
"""


def generated(root: pathlib.Path, out: pathlib.Path) -> dict:
    """The W3 and W5 gradient functions the adgen of `root` generates."""
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-c", _GENERATE, str(root), str(BENCH), str(out)],
                   check=True)
    functions = {}
    for workload, name in (("mlp", "loss_grad"), ("rnn", "rnn_loss_grad")):
        spec = importlib.util.spec_from_file_location(f"{out.name}_{workload}",
                                                      out / f"{workload}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        functions[workload] = getattr(module, name)
    return functions


def check(fn, args, want) -> None:
    got = fn(*args)
    got = got[1] if isinstance(got, tuple) and len(got) == 2 and np.ndim(got[0]) == 0 \
        and isinstance(got[1], tuple) else got
    for g, w in zip(got, want):
        if not np.allclose(g, w, rtol=harness.RTOL, atol=0):
            raise AssertionError(f"{fn.__name__} differs from hand-written")


def workload(title: str, subjects: list[tuple], args: tuple, rounds: int, calls: int) -> None:
    times = {name: [] for name, _ in subjects}
    for _ in range(rounds):
        for name, fn in subjects:
            times[name].append(min(timeit.repeat(lambda: fn(*args), number=1, repeat=calls)))
    base = times["hand-written"]
    print(f"\n{title}")
    for name, samples in times.items():
        ratio = min(samples) / min(base)
        median = statistics.median(a / b for a, b in zip(samples, base))
        print(f"  {name:36s} {min(samples) * 1e6:9.1f} µs  {ratio:5.2f}x ({median:.2f}x)")


def bench(options: argparse.Namespace) -> None:
    import bench_mlp
    import bench_rnn

    with tempfile.TemporaryDirectory() as tmp:
        before = generated(pathlib.Path(options.before).resolve(), pathlib.Path(tmp) / "before")
        after = generated(HERE, pathlib.Path(tmp) / "after")
        for key, module, args, refs in (
                ("mlp", bench_mlp, bench_mlp.make_args(**bench_mlp.SIZES["small"]),
                 [("hand-written, out of place", bench_mlp.handwritten_out_of_place)]),
                ("rnn", bench_rnn, bench_rnn.make_args(**bench_rnn.SIZES),
                 [("hand-written, stacked", bench_rnn.handwritten_stacked)])):
            _, want = module.handwritten(*args)
            subjects = [("hand-written", module.handwritten), *refs,
                        ("adgen before (" + options.before + ")", before[key]),
                        ("adgen after (this checkout)", after[key])]
            for _, fn in subjects[1:]:
                check(fn, args, want)
            title = "W3 MLP N=64 D=100 H=50 C=10" if key == "mlp" else \
                "W5 RNN T=20 B=16 D=32 H=64"
            workload(title, subjects, args, options.rounds, options.calls)


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", required=True, help="the other checkout's root")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=20, help="calls per sample (best kept)")
    harness.run(parser, __file__, argv, bench)


if __name__ == "__main__":
    main()
