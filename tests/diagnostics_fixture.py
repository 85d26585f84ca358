"""A module with a function adgen rejects, at a known line (see test_diagnostics.py)."""


def bad_function(x):
    """Line 5 is this docstring; the while loop below is on line 7."""
    y = x
    while y > 1:
        y = y / 2
    return y
