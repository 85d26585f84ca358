"""A module with a function adgen rejects, at a known line (see test_diagnostics.py)."""


def bad_function(x):
    """Line 5 is this docstring; the try statement below is on line 7."""
    y = x
    try:
        y = y / 2
    finally:
        y = y * 1.0
    return y
