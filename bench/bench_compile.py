"""Compilation time of adgen on long straight-line functions, with a per-stage breakdown.

For each size (1250, 2500, 5000, 10000 statements by default) a function is generated from a fixed
random seed: statement i assigns `v<i>` from the previous variable and a random earlier variable
or parameter, with a mix of `+ - * / **` and `math.exp/log/sin/tanh` (some statements nest two
operations, as real code does).  Every statement feeds the result, so none is dead code.  The
text is written to a temporary file and compiled with `adgen.compiler.compile_source(text,
path)`; the time is the best of `--repeat` runs.

The breakdown times `adgen.compiler.parse`, then the rest (`compile_functions`), and splits the
rest into fence, stage, analyze, reverse and emit by calling those stages directly (mirroring
`compiler.compile_functions`, with the cyclic garbage collector paused as it pauses it).
`py compile` is CPython's own `compile()` of the generated module, which
`adgen.value_and_grad` also pays.  Issue 13's target: compile time stays
linear, at most 0.15 ms per statement up to 10,000 statements (`x prev` near 2.0 when the
size doubles; 4.0 would be quadratic).  `parse floor` is `libcst.parse_module` alone, the
part of `parse` adgen cannot make faster.  Each run starts after a full garbage collection;
`--no-gc` keeps the cyclic collector off while timing, to show how much of any growth beyond
linear is the collector walking the live syntax trees.

    python bench/bench_compile.py [--sizes 1250,2500,5000,10000] [--repeat 3] [--show 12] [--no-gc]
"""

from __future__ import annotations

import argparse
import gc
import os
import pathlib
import platform
import random
import sys
import tempfile
import time
from typing import Callable, Optional

# The adgen of this checkout, not an installed one (an editable install of another checkout
# would be measured otherwise: the script's directory, not the repository, comes first).
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

import libcst as cst  # noqa: E402

import adgen  # noqa: E402
from adgen import compiler  # noqa: E402
from adgen.analyze import analyze  # noqa: E402
from adgen.emit import emit_module  # noqa: E402
from adgen.reverse import reverse  # noqa: E402
from adgen.stage import stage_function  # noqa: E402

PARAMS = ("x0", "x1", "x2", "x3")
TEMPLATES = (  # {a}: the previous variable, {b}: a random earlier variable or parameter
    "{a} + {b}", "{a} - {b}", "{a} * {b}", "{a} / (1.0 + {b} ** 2)", "{a} ** 2",
    "0.5 * {a} + {b}", "math.exp(-{a} ** 2)", "math.log(1.0 + {a} ** 2)",
    "math.sin({a}) * {b}", "math.tanh({a} + {b})",
)
STAGES = ("parse", "parse floor", "rest", "fence", "stage", "analyze", "reverse", "emit",
          "py compile")


def make_source(statements: int, seed: int = 0) -> str:
    """A module with one function `big(x0, x1, x2, x3)` of `statements` assignments."""
    rng = random.Random(seed)
    names = list(PARAMS)
    lines = ["import math", "", "", f"def big({', '.join(PARAMS)}):"]
    for i in range(statements):
        expr = rng.choice(TEMPLATES).format(a=names[-1], b=rng.choice(names))
        lines.append(f"    v{i} = {expr}")
        names.append(f"v{i}")
    lines.append(f"    return {names[-1]}")
    return "\n".join(lines) + "\n"


def timed(fn: Callable, *args):
    """(result, seconds) of one call."""
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def stage_times(text: str, path: str) -> dict[str, float]:
    """Seconds per stage for one compilation of every function in `text`."""
    t: dict[str, float] = {}
    was_enabled = gc.isenabled()
    gc.disable()  # as compiler.guard does for parsing and compiling
    try:
        _, t["parse floor"] = timed(cst.parse_module, text)
    finally:
        if was_enabled:
            gc.enable()
    gc.collect()
    parsed, t["parse"] = timed(compiler.parse, text, path)
    nodes = compiler.select_functions(parsed, None)
    command = compiler.default_command(path, None, None)
    _, t["rest"] = timed(lambda: compiler.compile_functions(parsed, nodes, None, command=command))
    gc.disable()
    try:
        t.update(_split(parsed, nodes, path, command))
    finally:
        if was_enabled:
            gc.enable()
    return t


def _split(parsed, nodes, path: str, command: str) -> dict[str, float]:
    """Seconds of fence, stage, analyze, reverse, emit and Python's compile()."""
    t: dict[str, float] = {}
    diagnostics, t["fence"] = timed(compiler.check, parsed, nodes, None)
    assert not diagnostics, diagnostics
    (fn, _), t["stage"] = timed(stage_function, parsed, nodes[0])
    wrt = tuple(p.name for p in fn.params)
    facts, t["analyze"] = timed(analyze, fn, wrt)
    reserved = set(parsed.scope.consts) | set(parsed.scope.functions) | set(parsed.scope.others)
    grad, t["reverse"] = timed(reverse, fn, wrt, facts, reserved)
    source, t["emit"] = timed(lambda: emit_module([grad], source_path=path, command=command))
    _, t["py compile"] = timed(compile, source, path, "exec")
    return t


def fresh(fn: Callable, *args):
    """`fn(*args)` after a full garbage collection, so runs start alike."""
    gc.collect()
    return fn(*args)


def bench_size(statements: int, repeat: int, directory: str) -> dict[str, float]:
    """Best-of-`repeat` seconds for the whole compilation (`total`) and for each stage."""
    path = os.path.join(directory, f"straight_{statements}.py")
    pathlib.Path(path).write_text(make_source(statements))
    text = pathlib.Path(path).read_text()
    lines = compiler.compile_source(text, path).source.count("\n")  # warm-up (not kept alive)
    best = {"total": min(fresh(timed, compiler.compile_source, text, path)[1]
                         for _ in range(repeat))}
    for _ in range(repeat):
        for stage, seconds in fresh(stage_times, text, path).items():
            best[stage] = min(best.get(stage, seconds), seconds)
    best["generated lines"] = lines
    return best


def print_table(results: dict[int, dict[str, float]]) -> None:
    header = f"{'stmts':>6} {'total s':>8} {'ms/stmt':>8} {'x prev':>7} {'gen lines':>9}"
    print(header + "".join(f" {stage:>10}" for stage in STAGES))
    previous: Optional[float] = None
    for statements, r in results.items():
        growth = f"{r['total'] / previous:.2f}" if previous else "-"
        row = (f"{statements:>6} {r['total']:>8.3f} {r['total'] / statements * 1e3:>8.3f} "
               f"{growth:>7} {int(r['generated lines']):>9}")
        print(row + "".join(f" {r[stage]:>10.3f}" for stage in STAGES))
        previous = r["total"]
    print("\n(seconds, best of the repeats for each column separately; 'rest' is everything "
          "after parse, split into fence .. emit; 'parse floor' is libcst.parse_module alone, "
          "part of 'parse'; 'py compile' is not part of 'total')")
    last = max(results)
    floor = results[last]["parse floor"] / last * 1e3
    print(f"at {last} statements: {results[last]['total'] / last * 1e3:.3f} ms per statement, "
          f"of which libcst's parse alone {floor:.3f} ms")


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1250,2500,5000,10000",
                        help="comma-separated statement counts")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size (best is kept)")
    parser.add_argument("--show", type=int, default=0, metavar="N",
                        help="print the first N lines of the smallest generated function")
    parser.add_argument("--no-gc", action="store_true",
                        help="disable the cyclic garbage collector while timing (diagnostic)")
    options = parser.parse_args(argv)
    if options.no_gc:
        gc.disable()
    sizes = [int(s) for s in options.sizes.split(",")]
    print(f"adgen {adgen.__version__} ({pathlib.Path(adgen.__file__).parent}), "
          f"Python {platform.python_version()}, {platform.machine()}, "
          f"{len(os.sched_getaffinity(0))} cores"
          + (", garbage collector disabled" if options.no_gc else ""))
    if options.show:
        print("\n".join(make_source(min(sizes)).splitlines()[:options.show + 4]) + "\n    ...\n")
    with tempfile.TemporaryDirectory(prefix="adgen-bench-") as directory:
        results = {n: bench_size(n, options.repeat, directory) for n in sizes}
    print_table(results)


if __name__ == "__main__":
    main()
