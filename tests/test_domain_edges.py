"""At the edges of a function's domain and at overflow, the gradient is what IEEE arithmetic
(numpy, JAX, PyTorch) gives: inf where the derivative is infinite, nan where it does not
exist, 0 where the limit is 0 -- and the same for every spelling of the same function, scalar
(`math`, where Python would raise ZeroDivisionError) or numpy."""

import math
import warnings

import numpy as np
import pytest

import adgen


def sqrt_math(x):
    return math.sqrt(x)


def sqrt_pow(x):
    return x ** 0.5


def sqrt_fpow(x):
    return math.pow(x, 0.5)


def sqrt_numpy(x):
    return np.sum(np.sqrt(x))


def sqrt_numpy_pow(x):
    return np.sum(x ** 0.5)


@pytest.mark.parametrize("f", [sqrt_math, sqrt_pow, sqrt_fpow])
def test_sqrt_at_zero_is_inf_in_scalar_code(f):
    assert adgen.grad(f)(0.0) == math.inf
    assert adgen.grad(f)(4.0) == pytest.approx(0.25)


@pytest.mark.parametrize("f", [sqrt_numpy, sqrt_numpy_pow])
def test_sqrt_at_zero_is_inf_in_numpy_code(f):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert np.array_equal(adgen.grad(f)(np.array([0.0, 4.0])), [math.inf, 0.25])


def upstream_negative(x):
    return -3.0 * math.sqrt(x)


def test_the_sign_of_an_infinite_gradient_follows_the_upstream_gradient():
    assert adgen.grad(upstream_negative)(0.0) == -math.inf


def arcsine(x):
    return math.asin(x)


def arccosine(x):
    return math.acos(x)


def area_cosh(x):
    return math.acosh(x)


@pytest.mark.parametrize("f,x,expected", [(arcsine, 1.0, math.inf), (arcsine, -1.0, math.inf),
                                          (arccosine, 1.0, -math.inf),
                                          (arccosine, -1.0, -math.inf),
                                          (area_cosh, 1.0, math.inf)])
def test_inverse_functions_at_the_ends_of_their_domain(f, x, expected):
    assert adgen.grad(f)(x) == expected


def angle(y, x):
    return math.atan2(y, x)


def test_atan2_at_the_origin_has_no_derivative():
    dy, dx = adgen.grad(angle)(0.0, 0.0)
    assert math.isnan(dy) and math.isnan(dx)
    assert adgen.grad(angle)(0.0, 2.0) == (0.5, 0.0)


def constant_power(x):
    return x ** 0.0


def power(x, y):
    return x ** y


def test_powers_at_a_zero_base():
    assert adgen.grad(constant_power)(0.0) == 0.0  # x ** 0 is 1 everywhere
    assert adgen.grad(power)(0.0, 2.0) == (0.0, 0.0)  # d/dy 0 ** y = 0 for y > 0
    assert adgen.grad(power)(0.0, 0.5) == (math.inf, 0.0)
    assert adgen.grad(power)(2.0, 3.0) == (12.0, pytest.approx(8 * math.log(2)))


def sigmoid_one_line(x):
    return np.sum(1.0 / (1.0 + np.exp(-x)))


def sigmoid_two_statements(x):
    e = np.exp(-x)
    return np.sum(1.0 / (1.0 + e))


@pytest.mark.parametrize("f", [sigmoid_one_line, sigmoid_two_statements])
def test_a_saturated_sigmoid_has_a_zero_gradient_however_it_is_spelled(f):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert np.array_equal(adgen.grad(f)(np.array([-1000.0, 0.0, 1000.0])),
                              [0.0, 0.25, 0.0])


def scalar_sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def test_overflow_in_scalar_code_raises_as_the_function_does():
    """math.exp(1000) raises OverflowError in the forward function itself: the gradient
    raises the same error at the same point rather than inventing a value."""
    with pytest.raises(OverflowError):
        scalar_sigmoid(-1000.0)
    with pytest.raises(OverflowError):
        adgen.grad(scalar_sigmoid)(-1000.0)
    assert adgen.grad(scalar_sigmoid)(1000.0) == 0.0
