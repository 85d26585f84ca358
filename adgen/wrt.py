"""The library API's `wrt` argument: parameter names, or positions as JAX's `argnums`.

`normalize` turns what the caller gave into what the compiler takes -- None, one name, or
a tuple of names -- so that `wrt=0` and `wrt="x"` are the same request (and the same cached
gradient):

    None                    every parameter without a default value
    "x"  or  0              that parameter; a single result
    ("x", "y")  or  (0, 1)  those parameters; a tuple of results, in parameter order

A position counts from 0 over the positional parameters; a negative one counts from the
end, as in Python indexing.  Names and positions are not mixed in one `wrt`.
"""

from __future__ import annotations

import operator
from typing import Callable, Sequence, Union

Wrt = Union[None, str, int, Sequence[Union[str, int]]]
Names = Union[None, str, tuple[str, ...]]
# fail(message, help) -> the exception to raise (an AD401 at the function's definition)
Fail = Callable[[str, str], Exception]

FORMS = "a parameter name, a position (0, 1, ...), a sequence of either, or None"


def normalize(wrt: Wrt, function: str, params: Callable[[], Sequence[str]],
              fail: Fail) -> Names:
    """`wrt` as names for the function named `function`; `params()` gives its positional
    parameters (only asked for when `wrt` has positions)."""
    if wrt is None or isinstance(wrt, str):
        return wrt
    if _is_position(wrt):
        return _name_at(operator.index(wrt), function, params(), fail)
    try:
        items = tuple(wrt)
    except TypeError:
        raise fail(f"wrt={wrt!r} is not {FORMS}",
                   "pass wrt='x' or wrt=0 for one parameter, wrt=('x', 'y') or wrt=(0, 1) "
                   "for several") from None
    for item in items:
        if not isinstance(item, str) and not _is_position(item):
            raise fail(f"wrt item {item!r} is neither a parameter name nor a position",
                       f"wrt takes {FORMS}")
    positions = [item for item in items if not isinstance(item, str)]
    if positions and len(positions) < len(items):
        raise fail(f"wrt={wrt!r} mixes parameter names and positions",
                   "give names, as wrt=('x', 'y'), or positions, as wrt=(0, 1), not both")
    if not positions:
        return items
    names = params()
    return tuple(_name_at(operator.index(item), function, names, fail) for item in items)


def _is_position(value: object) -> bool:
    """An int (or numpy integer), but not a bool: wrt=True is a mistake, not position 1."""
    if isinstance(value, bool):
        return False
    try:
        operator.index(value)
    except TypeError:
        return False
    return True


def _name_at(position: int, function: str, params: Sequence[str], fail: Fail) -> str:
    if -len(params) <= position < len(params):
        return params[position]
    listed = ", ".join(f"{i} is {name}" for i, name in enumerate(params))
    count = f"{len(params)} parameter{'s' if len(params) != 1 else ''}"
    raise fail(f"wrt position {position} is out of range: '{function}' has {count}",
               f"positions count from 0 ({listed}); -1 is the last" if params else
               "a function without parameters has no gradients")
