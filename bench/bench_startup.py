"""Start-up time of the adgen command: whole processes, timed from outside.

Each subject is a fresh interpreter (this one, `sys.executable`) run with the repository on
PYTHONPATH and the repository as its working directory, its output thrown away:

    floor           python -c pass                          the interpreter and site
    import libcst   python -c "import libcst"               the parser adgen cannot do without
    import adgen    python -c "import adgen"
    adgen FILE      python -m adgen examples/cs231n.py      the issue's target: under 0.3 s
    adgen --verify  python -m adgen examples/cs231n.py --verify --at 3,-4   (sympy's share)

The subjects take turns (one run of each per round, after `--warmup` rounds that are not
counted), so a change in machine load hits all of them alike.  For each: the median, minimum
and maximum wall time, the median CPU time (user + system, of the process and its children),
and the median wall time above the floor.

The figures depend on whether adgen's modules have cached bytecode: a checkout used under
PYTHONDONTWRITEBYTECODE=1, without `__pycache__`, compiles every module of adgen in every
run (about 0.07 s on the project machine).  The script says which case it measured;
`python -m compileall -q adgen` caches them, as installing a wheel does.

    python bench/bench_startup.py [--runs 15] [--warmup 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import pathlib
import platform
import resource
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
SUBJECTS = (
    ("floor", ["-c", "pass"]),
    ("import libcst", ["-c", "import libcst"]),
    ("import adgen", ["-c", "import adgen"]),
    ("adgen FILE", ["-m", "adgen", "examples/cs231n.py"]),
    ("adgen --verify", ["-m", "adgen", "examples/cs231n.py", "--verify", "--at", "3,-4"]),
)


def run_once(argv: list[str], env: dict) -> tuple[float, float]:
    """Wall and CPU seconds of one whole process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run([sys.executable, *argv], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({result.returncode}):\n"
                         f"{result.stderr.decode(errors='replace')}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _cached(source: pathlib.Path) -> bool:
    """Whether `source` has bytecode in __pycache__ that is up to date (timestamp-checked)."""
    try:
        header = pathlib.Path(importlib.util.cache_from_source(str(source))).read_bytes()[:16]
    except OSError:
        return False
    stat = source.stat()
    return (header[:4] == importlib.util.MAGIC_NUMBER
            and int.from_bytes(header[8:12], "little") == int(stat.st_mtime) & 0xFFFFFFFF
            and int.from_bytes(header[12:16], "little") == stat.st_size & 0xFFFFFFFF)


def bytecode_state() -> str:
    sources = sorted((ROOT / "adgen").rglob("*.py"))
    cached = sum(1 for path in sources if _cached(path))
    if cached == len(sources):
        return f"adgen's bytecode: cached ({cached} modules)"
    return (f"adgen's bytecode: {cached} of {len(sources)} modules cached and up to date"
            + (", not written (PYTHONDONTWRITEBYTECODE)"
               if os.environ.get("PYTHONDONTWRITEBYTECODE") else ""))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="counted runs of each subject")
    parser.add_argument("--warmup", type=int, default=2, help="rounds not counted, first")
    args = parser.parse_args(argv)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    print(f"{platform.python_implementation()} {platform.python_version()} "
          f"({sys.executable}), {os.cpu_count()} cores, load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(bytecode_state())
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in SUBJECTS}
    for round_ in range(args.warmup + args.runs):
        for name, subject in SUBJECTS:
            measured = run_once(subject, env)
            if round_ >= args.warmup:
                samples[name].append(measured)
    floor = statistics.median(wall for wall, _ in samples["floor"])
    print(f"\n{args.runs} runs each, interleaved, after {args.warmup} warm-up rounds; seconds\n")
    print(f"| {'subject':<15} | median wall | min wall | max wall | median cpu | above floor |")
    print(f"| {'-' * 15} | ---: | ---: | ---: | ---: | ---: |")
    for name, subject in SUBJECTS:
        walls = [wall for wall, _ in samples[name]]
        cpus = [cpu for _, cpu in samples[name]]
        median = statistics.median(walls)
        print(f"| {name:<15} | {median:.3f} | {min(walls):.3f} | {max(walls):.3f} "
              f"| {statistics.median(cpus):.3f} | {median - floor:+.3f} |")
    print("\n" + "\n".join(f"{name}: python {' '.join(subject)}" for name, subject in SUBJECTS))


if __name__ == "__main__":
    main()
