"""Bugs found in review, each pinned by the assertion that failed (the programs live in
tests/corpus/regressions.py, so they also run through every route)."""

from __future__ import annotations

import inspect
import math

import pytest

import adgen
from adgen.compiler import compile_source
from adgen.diagnostics import AdgenError, InternalError
from corpus_loader import load_module, CORPUS

R = load_module(CORPUS / "regressions.py")


def test_upstream_gradient_never_takes_a_parameters_gradient_name():
    grad = adgen.grad(R.returns_reassigned_param)
    params = list(inspect.signature(grad).parameters)
    assert params[0] == "x" and params[1] != "dx"
    assert "return dx\n" in adgen.source(R.returns_reassigned_param)
    alias = adgen.grad(R.returns_param_alias)
    assert list(inspect.signature(alias).parameters)[2] not in ("dx", "dy")


def test_check_grad_fills_in_parameter_defaults():
    report = adgen.check_grad(R.with_default_hyperparameter, 1.0, 2.0, 0.5)
    assert report.ok and [i.name for i in report.inputs] == ["w", "x", "b"]
    assert report.point["lam"] == 0.1


def test_softplus_gradient_does_not_overflow():
    assert adgen.grad(R.softplus_far_left)(-800.0) == 0.0


def logit(x):
    return math.log(x)


def test_gradient_raises_where_the_function_does():
    with pytest.raises(ValueError):
        adgen.grad(logit)(-1.0)
    with pytest.raises(ValueError):
        adgen.value_and_grad(logit)(0.0)


def test_piecewise_constant_paths_are_named_as_such():
    text = adgen.source(R.rounded, wrt=("x",))
    assert "dx = 0.0  # no differentiable path to the output" in text


def test_returned_array_gradients_are_writable_arrays_of_their_own():
    import numpy as np

    arrays = load_module(CORPUS / "arrays.py")
    x = np.ones((3, 2))
    dx = adgen.grad(arrays.total)(x)
    dx *= 2.0  # a read-only broadcast view would raise here
    dout = np.ones((3, 2))
    assert adgen.vjp(arrays.passthrough)(x, dout) is not dout


def test_an_array_output_of_unknown_type_needs_its_upstream_gradient():
    import numpy as np

    arrays = load_module(CORPUS / "arrays.py")
    x, y = np.ones((3, 2)), np.ones(2)
    with pytest.raises(AdgenError) as info:  # the gradient of a sum would be silent
        adgen.grad(arrays.unknown_output)(x, y)
    assert info.value.codes == ["AD404"]  # the arguments say the output is an array
    generated = compile_source((CORPUS / "arrays.py").read_text(), "arrays.py",
                               functions=["unknown_output"]).source
    namespace: dict = {}
    exec(generated, namespace)  # without the arguments, the generated code checks it
    with pytest.raises(ValueError, match="upstream gradient"):
        namespace["unknown_output_grad"](x, y)
    dx, dy = adgen.vjp(arrays.unknown_output)(x, y, np.ones((3, 2)))
    assert dx.shape == (3, 2) and dy.shape == (2,)


def test_softmax_is_fused_only_where_its_parts_are_not_used_elsewhere():
    arrays = load_module(CORPUS / "arrays.py")
    assert "(fused)" in adgen.source(arrays.softmax_fused)
    assert "_argmax_mask" not in adgen.source(arrays.softmax_fused)  # the shift is skipped
    assert "(fused)" not in adgen.source(arrays.softmax_not_fused)


def test_functions_with_equal_code_in_different_files_get_their_own_gradients(tmp_path):
    """The API cache was keyed by code object, and equal bodies in different files have
    equal code objects: the second function got the first one's (wrong) gradient."""
    for name, c in (("first", 2.0), ("second", 3.0)):
        (tmp_path / name).mkdir()
        (tmp_path / name / f"mod_{name}.py").write_text(
            f"C = {c}\n\n\ndef g(x):\n    return C * x\n")
    first = load_module(tmp_path / "first" / "mod_first.py")
    second = load_module(tmp_path / "second" / "mod_second.py")
    assert first.g.__code__ == second.g.__code__
    assert adgen.grad(first.g)(1.0) == 2.0 and adgen.grad(second.g)(1.0) == 3.0


def test_unannotated_returned_gradients_are_arrays_of_their_own():
    import numpy as np

    dx = adgen.grad(R.unannotated_total)(np.ones((2, 3)))
    dx += 1.0  # a read-only view would raise
    dout = 1.0
    x, b = np.ones((2, 3)), np.ones(3)
    dx, db = adgen.grad(R.unannotated_shift)(x, b, dout)
    assert dx.flags.writeable and db.flags.writeable


def test_std_gradient_is_zero_not_nan_over_a_constant_slice():
    import numpy as np

    grad = adgen.grad(R.std_of_a_constant_slice)(np.arange(3.0)[:, None])
    assert np.array_equal(grad, np.zeros((3, 1)))


def test_check_grad_allows_for_rounding_in_terms_that_cancel():
    import numpy as np

    arrays = load_module(CORPUS / "arrays.py")
    rng = np.random.default_rng(152)
    x, c = rng.uniform(-2, 2, (3, 4)), rng.uniform(-2, 2, 3)
    assert adgen.check_grad(arrays.cancelling, x, c).ok


def test_a_failed_unpacking_of_a_helper_is_a_diagnostic_not_an_internal_error():
    """`u, b = g2(x)` where g2 cannot be unpacked (its tuple returns are inside an if, AD104)
    left u and b unbound, and reading b later crashed the stager (AD900, KeyError: 'b')."""
    text = ("def g2(h):\n    if h > 1.5:\n        return h, h\n    return h, 2 * h\n\n\n"
            "def cell(x):\n    u, b = g2(x)\n    return b\n\n\n"
            "def f(x):\n    return cell(x)\n")
    with pytest.raises(AdgenError) as info:
        compile_source(text, "prop.py", functions=["f"])
    assert not isinstance(info.value, InternalError)
    assert {d.code for d in info.value.diagnostics} == {"AD104", "AD204"}
