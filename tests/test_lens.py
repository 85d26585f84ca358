"""The lens (issue 11): findings at run time (kind, line, figure), notes without running
(AD6nn at file:line:col, exit status 0), the examples of examples/leaky and the reports
docs/lens.md and README.md show, and the instrumented variant computing exactly what
NAME_value_and_grad computes."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import adgen
import lens_cases as cases
from adgen import cli
from adgen.compiler import compile_source
from adgen.diagnostics import Diagnostic, format_report
from adgen.emit import Tap, emit_module
from adgen.leaks.notes import notes
from adgen.leaks.report import DEAD_SHARE, LOOP_CHANGE, SATURATED_SHARE, ZEROED_SHARE
from conftest import ROOT
from corpus_loader import cases as corpus_cases

LEAKY = sorted((ROOT / "examples" / "leaky").glob("*.py"))


def line_of(text: str, path=cases.__file__) -> int:
    """The line of a file that holds `text` (exactly one does)."""
    lines = [i for i, line in enumerate(open(path, encoding="utf-8"), start=1) if text in line]
    assert len(lines) == 1, (text, lines)
    return lines[0]


def found(report) -> list[tuple[str, int]]:
    return [(f.kind, f.line) for f in report.findings]


# ---------------------------------------------------------------- each kind, at its line

def test_a_saturated_sigmoid_at_x_40():
    report = adgen.lens(cases.neuron)(40.0, 1.0)
    assert found(report) == [("saturated", line_of("math.exp(-(w * x))"))]
    assert report.findings[0].figure == 1.0 and not report.ok
    assert adgen.lens(cases.neuron)(0.5, 1.0).ok


def test_a_saturated_tanh():
    assert found(adgen.lens(cases.squashed)(2.0)) == [("saturated", line_of("math.tanh"))]
    assert adgen.lens(cases.squashed)(0.1).ok


def test_a_dead_relu_unit():
    report = adgen.lens(cases.relu_unit)(1.0, -2.0, 0.5)
    assert found(report) == [("dead-relu", line_of("max(0.0, z)"))]
    assert report.findings[0].figure == 1.0
    assert adgen.lens(cases.relu_unit)(1.0, 2.0, 0.5).ok


def test_dead_units_are_columns_never_positive_over_the_batch():
    X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.3, -2.0]])
    W = np.eye(2)
    b = np.array([-10.0, 0.0])  # the first unit never fires; the second fires on two rows
    report = adgen.lens(cases.relu_layer)(X, W, b)
    assert found(report) == [("dead-relu", line_of("np.maximum(0, X @ W + b)"))]
    assert report.findings[0].figure == 0.5
    assert adgen.lens(cases.relu_layer)(X, W, np.zeros(2)).ok


def test_a_clipped_td_error_zeroes_the_gradient_and_huber_does_not():
    """The issue's case: the TD error clipped to [-1, 1], at q = 5, against the Huber loss
    written with min(abs(delta), 1.0), whose other path brings the gradient back."""
    report = adgen.lens(cases.td_clipped, wrt="q")(5.0, 1.0, 0.5)
    assert found(report) == [("zeroed", line_of("min(max(delta, -1.0), 1.0)"))]
    assert report.findings[0].figure == 1.0
    assert adgen.lens(cases.td_clipped, wrt="q")(0.5, 1.0, 0.5).ok
    assert adgen.lens(cases.td_huber, wrt="q")(5.0, 1.0, 0.5).ok
    assert adgen.lens(cases.td_huber, wrt="q")(0.5, 1.0, 0.5).ok


def test_a_clip_counts_the_elements_whose_upstream_gradient_is_not_zero():
    d = np.array([-3.0, -0.5, 0.0, 0.2, 4.0])  # c = 0 at d = 0: no upstream gradient there
    report = adgen.lens(cases.clipped_mean)(d)
    assert found(report) == [("zeroed", line_of("np.clip(d, -1.0, 1.0)"))]
    assert report.findings[0].figure == 0.5  # 2 of the 4 elements with a gradient


def test_max_with_a_constant_and_where_with_a_constant_branch():
    d = np.array([-3.0, -2.0, 0.5, 1.0])
    report = adgen.lens(cases.floored)(d)
    assert found(report) == [("zeroed", line_of("np.maximum(d, -1.0)"))]
    assert report.findings[0].figure == 0.5
    report = adgen.lens(cases.gated)(d)
    assert found(report) == [("zeroed", line_of("np.where(x > 0, x, 0.5)"))]
    assert adgen.lens(cases.gated)(np.abs(d)).ok


@pytest.mark.parametrize("w, kind, total", [(1.1, "exploding", "grows 1.378e+04x"),
                                            (0.9, "vanishing", "shrinks to 2.66e-05")])
def test_a_linear_recurrence_over_100_steps(w, kind, total):
    """1.1 ** 100 = 13781 and 0.9 ** 100 = 2.7e-5: the figure is the per-step factor."""
    report = adgen.lens(cases.recurrence)(1.0, w)
    assert found(report) == [(kind, line_of("def recurrence") + 1)]  # its for line
    assert report.findings[0].figure == pytest.approx(w)
    assert total in report.findings[0].message
    assert adgen.lens(cases.recurrence)(1.0, 1.01).ok  # 2.7x over 100 steps


def test_nonfinite_forward_in_numpy_and_in_math():
    report = adgen.lens(cases.unshifted)(np.array([[1000.0, 0.0], [1.0, 2.0]]))
    assert found(report) == [("nonfinite", line_of("e = np.exp(s)"))]
    assert report.findings[0].figure == np.inf
    report = adgen.lens(cases.blows_up)(30.0)  # math.exp raises OverflowError: inf
    assert found(report) == [("nonfinite", line_of("math.exp(x * x)"))]
    assert report.value is None and "OverflowError" in report.error
    assert adgen.lens(cases.blows_up)(1.0).ok


def test_nonfinite_in_the_backward_pass():
    report = adgen.lens(cases.root)(0.0)  # d sqrt(x) = 1 / (2 sqrt(x)) divides by 0
    assert found(report) == [("nonfinite", line_of("math.sqrt(x) + x"))]
    assert "backward pass" in report.findings[0].message


def test_inside_a_helper_the_helpers_line_and_the_call_site():
    rng = np.random.default_rng(0)
    report = adgen.lens(cases.layer)(rng.standard_normal((5, 3)),
                                     20 * rng.standard_normal((3, 4)), np.zeros(4))
    (finding,) = report.findings
    assert (finding.kind, finding.line, finding.call_line) == (
        "saturated", line_of("return 1 / (1 + np.exp(-z))"), line_of("h = gate(X @ W + b)"))
    report = adgen.lens(cases.run_steps)(1.0, 2.0)  # a loop inside a helper
    (finding,) = report.findings
    assert (finding.kind, finding.line, finding.call_line) == (
        "exploding", line_of("def steps") + 1, line_of("y = steps(x, w)"))  # its for line
    assert finding.figure == pytest.approx(2.0)


def test_the_report_prints_a_table_and_the_findings():
    report = adgen.lens(cases.td_clipped, wrt="q")(5.0, 1.0, 0.5)
    text = str(report)
    assert text.splitlines()[0] == "lens: td_clipped(q, reward, q_next, gamma) = 1: 1 finding"
    assert re.search(r"^  line +op +source +measured +finding$", text, re.M)
    assert f"lens_cases.py:{line_of('min(max(delta')}: zeroed: " in text
    assert "help: " in text
    assert str(adgen.lens(cases.td_huber, wrt="q")(5.0, 1.0, 0.5)).endswith(
        "  every value is finite")


def test_thresholds_are_the_documented_ones():
    assert (SATURATED_SHARE, DEAD_SHARE, ZEROED_SHARE, LOOP_CHANGE) == (0.1, 0.1, 0.1, 1e3)
    text = (ROOT / "docs" / "lens.md").read_text(encoding="utf-8")
    for phrase in ("1% of the gate's maximum", "10%", "1000"):
        assert phrase in text, phrase


def test_the_lens_checks_the_function_when_asked_for():
    with pytest.raises(adgen.AdgenError) as info:
        adgen.lens(cases.neuron, wrt="q")
    assert info.value.codes == ["AD401"]


# ---------------------------------------------------------------- the same numbers

CORPUS = [c for c in corpus_cases()]


@pytest.mark.parametrize("case", CORPUS, ids=[c.id for c in CORPUS])
def test_the_instrumented_variant_computes_what_value_and_grad_does(case):
    """Every corpus function: the lens's value and gradients are exactly those of the
    generated NAME_value_and_grad (a layer's: of adgen.vjp, with an upstream gradient)."""
    point = case.points(1)[0]
    out = case.call(case.function, point)
    if np.ndim(out):
        seed = np.linspace(-1.0, 1.0, np.size(out)).reshape(np.shape(out))
        target = adgen.vjp(case.function, wrt=case.wrt)
        name = list(__import__("inspect").signature(
            case.call(target.specialization, point) if hasattr(target, "specialization")
            else target).parameters)[-1]
        expected = case.call(target, point, **{name: seed})
        report = case.call(adgen.lens(case.function, wrt=case.wrt), point, **{name: seed})
    else:
        out, expected = case.call(adgen.value_and_grad(case.function, wrt=case.wrt), point)
        report = case.call(adgen.lens(case.function, wrt=case.wrt), point)
    assert np.array_equal(report.value, out, equal_nan=True) or np.allclose(report.value, out)
    expected = expected if isinstance(expected, tuple) else (expected,)
    got = report.gradients if isinstance(report.gradients, tuple) else (report.gradients,)
    assert len(got) == len(expected)
    # where a backward loop's products are batched (optimize.batch_products), the generated
    # code adds them in another order than the lens's per-step code: the same to rounding
    batched = "_steps.append(" in adgen.source(case.function, *point, wrt=case.wrt)
    for a, b in zip(got, expected):
        _assert_same(a, b, batched)
    str(report)


def _assert_same(a, b, rounding=False):
    """Bit for bit the same gradient (with `rounding`, the same to rounding): an array, or
    a dict, tuple or list of them (a structured parameter's)."""
    if isinstance(b, dict):
        assert isinstance(a, dict) and a.keys() == b.keys()
        for key in b:
            _assert_same(a[key], b[key], rounding)
    elif isinstance(b, (tuple, list)):  # a tuple or list parameter's
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y, rounding)
    elif rounding:
        scale = float(np.max(np.abs(b))) if np.size(b) else 0.0
        assert np.allclose(a, b, rtol=1e-12, atol=1e-13 * scale, equal_nan=True)
    else:
        assert np.array_equal(a, b, equal_nan=True)


def test_normally_generated_code_is_untouched():
    """No recording call in what adgen.source shows, and a tap that adds nothing gives the
    module byte for byte."""
    assert "_lens" not in adgen.source(cases.recurrence)
    compiled = compile_source((ROOT / "examples" / "rnn.py").read_text(), "examples/rnn.py")
    again = emit_module(compiled.gradients, source_path="examples/rnn.py", command="c",
                        taps=[Tap() for _ in compiled.gradients])
    assert again == emit_module(compiled.gradients, source_path="examples/rnn.py",
                                command="c")


def test_the_recorder_parameter_avoids_the_functions_names(tmp_path):
    source = "def f(_lens, x):\n    return _lens * x * x\n"
    (tmp_path / "own_lens.py").write_text(source)
    sys.path.insert(0, str(tmp_path))
    try:
        import own_lens
        report = adgen.lens(own_lens.f)(2.0, 3.0)
    finally:
        sys.path.remove(str(tmp_path))
    assert report.gradients == (9.0, 12.0)


# ---------------------------------------------------------------- notes, without running

NOTES = textwrap.dedent("""\
    import math
    import numpy as np


    def sig(z):
        return 1 / (1 + np.exp(-z))


    def model(X, W1, b1, W2, Y, Whh, d, s):
        h = sig(X @ W1 + b1)
        out = sig(h @ W2)
        r = np.maximum(0, X @ W1)
        c = np.clip(d, -1.0, 1.0)
        g = h
        for t in range(3):
            g = np.tanh(g @ Whh)
        e = np.exp(s)
        return np.sum((out - Y) ** 2) + np.sum(r) + np.sum(c ** 2) + np.sum(g) + np.sum(e)


    def huber(d):
        small = min(abs(d), 1.0)
        return 0.5 * small ** 2 + (abs(d) - small)
    """)


def test_notes_name_each_pattern_at_file_line_col():
    compiled = compile_source(NOTES, "m.py")
    parsed = compiled.parsed
    got = [(d.code, d.line, d.col, d.severity) for g in compiled.gradients
           for d in notes(g, parsed)]
    assert sorted(got) == sorted([
        ("AD602", 6, 12, "note"), ("AD602", 6, 12, "note"),  # sig, called twice
        ("AD604", 12, 9, "note"),
        ("AD601", 13, 9, "note"),
        ("AD602", 16, 13, "note"), ("AD605", 16, 21, "note"),
        ("AD606", 17, 9, "note"),
        ("AD603", 18, 19, "note"),
    ])  # and the Huber loss written with min has no note: its other path keeps a gradient
    by_code = {d.code: d for g in compiled.gradients for d in notes(g, parsed)}
    sigmoids = [d.message for d in notes(compiled.gradients[0], parsed)
                if d.code == "AD602" and d.line == 6]
    assert len(sigmoids) == 2 and all(m.endswith(f"(in sig, called on line {n})")
                                      for m, n in zip(sigmoids, (10, 11)))
    assert "Huber" in by_code["AD601"].help and "cross-entropy" in by_code["AD603"].help
    assert "LSTM" in by_code["AD605"].help and "maximum" in by_code["AD606"].help


def test_cli_lens_prints_notes_and_exits_0(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(NOTES)
    out, err = io.StringIO(), io.StringIO()
    assert cli.main([str(path), "--lens"], stdout=out, stderr=err) == 0
    assert re.search(rf"^{re.escape(str(path))}:13:9: note AD601: ", err.getvalue(), re.M)
    assert err.getvalue().rstrip().endswith("8 notes")
    assert "# note AD601: np.clip: no gradient to d where d < -1.0 or d > 1.0" in \
        out.getvalue()
    assert "--lens" in out.getvalue().split('"""')[1]  # the header's command has it
    plain = io.StringIO()
    assert cli.main([str(path)], stdout=plain, stderr=io.StringIO()) == 0
    assert "# note AD" not in plain.getvalue()


def test_cli_lens_with_check(tmp_path):
    path, module = tmp_path / "m.py", tmp_path / "m_grad.py"
    path.write_text(NOTES)
    err = io.StringIO()
    assert cli.main([str(path), "--lens", "-o", str(module)], stderr=err) == 0
    assert cli.main([str(path), "--lens", "-o", str(module), "--check"],
                    stderr=io.StringIO()) == 0
    assert cli.main([str(path), "-o", str(module), "--check"], stderr=io.StringIO()) == 1


def test_note_severity_in_the_format():
    note = Diagnostic("AD604", "ReLU", "m.py", 3, 5, help="h", severity="note")
    error = Diagnostic("AD201", "name", "m.py", 1, 1)
    assert note.format().splitlines()[0] == "m.py:3:5: note AD604: ReLU"
    assert format_report([note]).splitlines()[-1] == "1 note"
    assert format_report([note, error, error]).splitlines()[-1] == "2 errors and 1 note found"
    assert format_report([error]).splitlines()[-1] == "1 error found"
    with pytest.raises(ValueError):
        Diagnostic("AD604", "x", "m.py", 1, 1, severity="warning")


# ---------------------------------------------------------------- examples/leaky and docs

def run_example(path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, str(path.relative_to(ROOT))], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr  # no RuntimeWarning: the lens reports them
    return result.stdout


def sections(output: str) -> dict[str, str]:
    """`# title` -> the report printed under it."""
    parts = re.split(r"^# (.+)$", output, flags=re.M)
    return {title: body.strip() for title, body in zip(parts[1::2], parts[2::2])}


def findings_in(report: str) -> list[tuple[str, int]]:
    return [(kind, int(line)) for line, kind in
            re.findall(r"^examples/leaky/\w+\.py:(\d+): ([\w-]+): ", report, re.M)]


EXPECTED = {  # example -> section -> [(kind, the text of the line it is at)]
    "saturated_mlp": {
        "initialisation bad: N(0, 1)": [("saturated", "return 1 / (1 + np.exp(-z))")] * 2,
        "initialisation good: Xavier": []},
    "dead_relu": {
        "after 5 steps with learning rate 0.1": [],
        "after 5 steps with learning rate 10.0": [("dead-relu", "h = np.maximum(0, X @ W1")]},
    "vanilla_rnn": {
        "Whh = 0.5 * Q, Q orthogonal": [("vanishing", "for t in range(T):")],
        "Whh = 1.0 * Q, Q orthogonal": [],
        "Whh = 2.0 * Q, Q orthogonal": [("exploding", "for t in range(T):")]},
    "dqn_loss": {
        "td_clipped": [("zeroed", "clipped = np.clip(delta, -1.0, 1.0)")],
        "td_huber": []},
    "softmax_overflow": {
        "softmax_loss": [("nonfinite", "probs = np.exp(scores)")],
        "log_softmax_loss": []},
}


@pytest.mark.parametrize("example", LEAKY, ids=[p.stem for p in LEAKY])
def test_leaky_example_findings(example):
    """Each failure is found, at its line, and the healthy variant is not flagged; the
    output shown in docs/lens.md is what the example prints."""
    output = run_example(example)
    got = sections(output)
    expected = EXPECTED[example.stem]
    assert list(got) == list(expected)
    for title, wanted in expected.items():
        assert findings_in(got[title]) == [(kind, line_of(text, example))
                                           for kind, text in wanted], title
        assert got[title].splitlines()[0].endswith(": ok") == (not wanted)
    docs = (ROOT / "docs" / "lens.md").read_text(encoding="utf-8")
    assert output.strip() in docs, f"paste the output of python {example} into docs/lens.md"


@pytest.mark.parametrize("example", LEAKY, ids=[p.stem for p in LEAKY])
def test_leaky_example_notes(example):
    """`adgen examples/leaky/NAME.py --lens`: notes only, exit status 0; docs/lens.md shows
    them as printed."""
    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        status = cli.main([f"examples/leaky/{example.name}", "--lens"], stdout=out,
                          stderr=err)
    finally:
        os.chdir(cwd)
    assert status == 0
    assert re.search(r"^\d+ notes?$", err.getvalue(), re.M)
    docs = (ROOT / "docs" / "lens.md").read_text(encoding="utf-8")
    assert err.getvalue().strip() in docs, f"paste the notes of {example} into docs/lens.md"


def test_notes_need_neither_numpy_nor_sympy():
    """`adgen FILE --lens` generates code: it imports neither (tests/test_startup.py)."""
    code = textwrap.dedent("""\
        import io, sys
        from adgen import cli
        status = cli.main(["examples/leaky/vanilla_rnn.py", "--lens"], stdout=io.StringIO(),
                          stderr=io.StringIO())
        print(status, [m for m in ("numpy", "sympy") if m in sys.modules])
        """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "0 []", result.stderr


def test_a_math_domain_error_is_a_nan_and_the_functions_own_raise_is_not():
    report = adgen.lens(cases.logged)(-1.0)
    assert found(report) == [("nonfinite", line_of("math.log(x) * x"))]
    assert np.isnan(report.findings[0].figure) and "ValueError" in report.error
    with pytest.raises(ValueError, match="too large"):
        adgen.lens(cases.logged)(20.0)
