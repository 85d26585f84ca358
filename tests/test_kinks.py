"""The documented conventions at non-differentiable points (docs/non-differentiable.md), and
how verification reports points on a kink."""

from __future__ import annotations

import math

import adgen


def absolute(x):
    return abs(x)


def fabsolute(x):
    return math.fabs(x)


def maximum(x, y):
    return max(x, y)


def minimum(x, y):
    return min(x, y)


def maximum3(x, y, z):
    return max(x, y, z)


def minimum3(x, y, z):
    return min(x, y, z)


def relu(x):
    return max(0.0, x)


def norm(x, y):
    return math.hypot(x, y)


def test_abs_has_zero_gradient_at_zero():
    assert adgen.grad(absolute)(0.0) == 0.0
    assert adgen.grad(fabsolute)(0.0) == 0.0
    assert adgen.grad(absolute)(-2.0) == -1.0 and adgen.grad(absolute)(2.0) == 1.0


def test_max_and_min_ties_go_to_the_first_argument():
    assert adgen.grad(maximum)(1.0, 1.0) == (1.0, 0.0)
    assert adgen.grad(minimum)(1.0, 1.0) == (1.0, 0.0)
    assert adgen.grad(maximum3)(1.0, 1.0, 1.0) == (1.0, 0.0, 0.0)
    assert adgen.grad(maximum3)(0.0, 1.0, 1.0) == (0.0, 1.0, 0.0)
    assert adgen.grad(minimum3)(2.0, 1.0, 1.0) == (0.0, 1.0, 0.0)
    assert adgen.grad(maximum3)(0.0, 1.0, 2.0) == (0.0, 0.0, 1.0)


def test_relu_at_zero_passes_no_gradient():
    assert adgen.grad(relu)(0.0) == 0.0
    assert adgen.grad(relu)(-1e-300) == 0.0
    assert adgen.grad(relu)(1e-300) == 1.0


def test_hypot_at_the_origin_has_zero_gradient():
    assert adgen.grad(norm)(0.0, 0.0) == (0.0, 0.0)
    assert adgen.grad(norm)(3.0, 4.0) == (0.6, 0.8)


def test_verification_reports_kinks_instead_of_failing():
    """Where the one-sided derivatives differ, the central difference averages them and
    cannot match the convention: that input is reported as a kink, not a failure."""
    for fn, point, statuses in ((maximum, (1.0, 1.0), ["kink", "kink"]),
                                (relu, (0.0,), ["kink"]),
                                (maximum3, (1.0, 1.0, 0.0), ["kink", "kink", "ok"]),
                                (absolute, (0.0,), ["ok"]),  # symmetric: 0 = 0
                                (norm, (0.0, 0.0), ["ok", "ok"])):
        report = adgen.check_grad(fn, *point)
        assert report.ok, report.format()
        assert [i.status for i in report.inputs] == statuses, report.format()
        assert ("kink" in report.note) == ("kink" in statuses)


def test_within_a_step_of_a_kink_is_a_kink_too():
    report = adgen.check_grad(absolute, 1e-9)
    assert report.ok and report.inputs[0].status == "kink"


def test_away_from_kinks_the_check_is_strict():
    report = adgen.check_grad(maximum, 1.0, 2.0)
    assert [i.status for i in report.inputs] == ["ok", "ok"]
