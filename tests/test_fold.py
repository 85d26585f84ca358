"""The library API's run-time code for functions of numbers (adgen/fold.py): single-use
intermediates computed where they are read.  Same numbers bit for bit as the module shown,
on every corpus function of numbers; every line keeps its number; the printed module keeps
its named intermediates."""

from __future__ import annotations

import math
import pathlib

import pytest

import adgen
from adgen import api
from adgen.emit import emit_module
from adgen.fold import aligned
from corpus_loader import cases, load_module

SCALAR_CASES = [c for c in cases() if not api.is_array_function(c.function) and
                not c.has_arrays]
EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def _run_text(compiled) -> str:
    return emit_module([compiled.gradient], source_path=compiled.source_path,
                       command=compiled.command, value_and_grad=True, fold=True)


def _run(fn, args, case=None):
    try:
        return case.call(fn, args) if case is not None else fn(*args)
    except (ArithmeticError, ValueError) as exc:
        return type(exc)


def _same(a, b) -> bool:
    if isinstance(a, tuple):
        return isinstance(b, tuple) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("case", SCALAR_CASES, ids=lambda c: c.id)
def test_the_run_time_code_gives_the_shown_modules_numbers_bit_for_bit(case):
    compiled = api.compile_function(case.function, case.wrt)
    shown: dict = {}
    exec(compile(compiled.executed, "<shown>", "exec"), shown)
    name = case.function.__name__
    for point in case.points(3):
        for which in ("grad", "value_and_grad"):
            ours = _run(getattr(compiled, which), point, case)
            theirs = _run(shown[f"{name}_{which}"], point, case)
            assert _same(ours, theirs), (which, point, ours, theirs)


def test_the_neurons_intermediates_are_computed_where_read():
    neuron = load_module(EXAMPLES / "cs231n.py").neuron
    compiled = api.compile_function(neuron, None)
    run = _run_text(compiled)
    assert "    neuron = 1.0 / (1 + math.exp(-(w0 * x0 + w1 * x1 + w2)))" in run
    assert "w0x0" not in run.split("# line")[0]  # not computed in its own line
    assert aligned(compiled.executed, run)
    # the function the API returns runs that text: the intermediates are not its locals
    assert "w0x0" not in compiled.value_and_grad.__code__.co_varnames
    assert "w0x0" in compiled.source  # the module a person reads keeps them
    value, grads = adgen.value_and_grad(neuron)(2.0, -1.0, -3.0, -2.0, -3.0)
    assert value == pytest.approx(1 / (1 + math.exp(-1.0)))


def test_a_name_the_backward_pass_reads_is_kept_and_nothing_is_too_long():
    for case in SCALAR_CASES:
        compiled = api.compile_function(case.function, case.wrt)
        run = _run_text(compiled)
        assert aligned(compiled.executed, run), case.id
        changed = [b for a, b in zip(compiled.executed.splitlines(), run.splitlines())
                   if a != b]
        assert all(len(line) <= 79 for line in changed), case.id


def test_a_traceback_shows_the_line_that_runs():
    """The run-time text is in linecache under a name of its own: a traceback shows the
    line that computes the folded value, not the shown module's line of the same number."""
    f = load_module(EXAMPLES / "cs231n.py").neuron
    grad = adgen.grad(f)
    with pytest.raises(TypeError) as info:
        grad(2.0, None, -3.0, -2.0, -3.0)
    entry = info.traceback[-1]
    assert str(entry.path) == "<adgen: neuron_grad from " + \
        str(EXAMPLES / "cs231n.py") + ", as run>" or str(entry.path).endswith(", as run>")
    assert str(entry.statement).strip() == \
        "neuron = 1.0 / (1 + math.exp(-(w0 * x0 + w1 * x1 + w2)))"
