"""Branches and loops: what a backward pass does with `if`, `for` and `while`.

    adgen examples/piecewise.py -o examples/piecewise_grad.py

The generated backward pass takes the path the forward pass took: a branch's condition is
evaluated once, in the forward pass, and the backward pass differentiates the statements of the
branch that ran (the condition itself gets no gradient: it only picks a piece).  A loop runs
forward, saving what each iteration's backward step needs in `NAME_saved` lists, then runs
backwards the same number of times, popping them.

* `huber` — the Huber loss written with `if`: a gradient of `r` inside, `delta * sign(r)`
  outside, so it never exceeds `delta` (compare `td_clipped` in scalar_losses.py, whose
  gradient is zero where the error is large).
* `newton_sqrt` — Newton's method for sqrt(a) with a fixed number of steps, `for _ in
  range(steps)`.  The gradient is that of the *algorithm*, not of sqrt: after enough steps it
  agrees with `0.5 / sqrt(a)`, after one step it does not.  The backward loop applies the chain
  rule through every iteration's `x = 0.5 * (x + a / x)`.
* `halve_until_small` — a `while` loop with a data-dependent exit: the forward pass counts its
  iterations, the backward pass runs that many times.  The trip count is piecewise constant
  in the input, so the gradient is that of the steps that ran (`0.5 ** k`).
* `newton_until_converged` — Newton's iteration for sqrt until the step is below a tolerance
  (with a maximum number of steps), a `while` loop whose condition reads a loop-carried value.
* `smooth_step` — `if`/`elif`/`else` over three pieces (0, a cubic, 1) and a conditional
  expression: the gradient is 0 outside [0, 1] and `6 t (1 - t)` inside.
* `leaky` — a leaky ReLU as a conditional expression, `z if z > 0 else slope * z`.
"""

import math


def huber(r, delta=1.0):
    """Huber loss of a residual r: quadratic within delta, linear outside."""
    if abs(r) <= delta:
        loss = 0.5 * r * r
    else:
        loss = delta * (abs(r) - 0.5 * delta)
    return loss


def newton_sqrt(a, steps=6):
    """sqrt(a) by a fixed number of Newton steps from x = a (a > 0)."""
    x = a
    for _ in range(steps):
        x = 0.5 * (x + a / x)
    return x


def halve_until_small(x, threshold=1.0):
    """Halve x until it is below the threshold (x > 0); the number of halvings depends on x."""
    y = x
    while y >= threshold:
        y = y / 2
    return y * y


def newton_until_converged(a, tol=1e-12, max_steps=50):
    """sqrt(a) (a > 0) by Newton's method, until the step is below tol times x or max_steps
    ran: a condition with `and` (it only picks the path; it gets no gradient)."""
    x = a
    n = 0
    step = x
    while abs(step) > tol * x and n < max_steps:
        x_new = 0.5 * (x + a / x)
        step = x_new - x
        x = x_new
        n += 1
    return x


def smooth_step(t, low=0.0, high=1.0):
    """0 below `low`, 1 above `high`, the cubic 3 s^2 - 2 s^3 of s = (t - low) / (high - low)
    in between; then scaled down by a conditional expression when t is negative."""
    s = (t - low) / (high - low)
    if s <= 0.0:
        y = 0.0 * s
    elif s < 1.0:
        y = s * s * (3.0 - 2.0 * s)
    else:
        y = 1.0 + 0.0 * s
    return y + (0.1 * math.tanh(t) if t < 0 else 0.0)


def leaky(z, slope=0.01):
    """Leaky ReLU as a conditional expression."""
    return z if z > 0 else slope * z


if __name__ == "__main__":
    print(f"huber(0.5) = {huber(0.5):.6f}, huber(3.0) = {huber(3.0):.6f}")
    print(f"newton_sqrt(2.0) = {newton_sqrt(2.0):.12f}, math.sqrt(2.0) = {math.sqrt(2.0):.12f}")
    print(f"halve_until_small(5.0) = {halve_until_small(5.0):.6f}")
    print(f"newton_until_converged(10.0) = {newton_until_converged(10.0):.12f}")
    print(f"smooth_step(-0.5, 0.5, 1.5) = {smooth_step(-0.5):.6f}, {smooth_step(0.5):.6f}, "
          f"{smooth_step(1.5):.6f}")
    print(f"leaky(-2.0) = {leaky(-2.0):.6f}, leaky(2.0) = {leaky(2.0):.6f}")
