"""Specialisation: the gradient of a function of arrays, compiled per call signature.

`adgen.grad(f)` of a function of arrays cannot be compiled before it sees arguments: whether
`X @ W` is a matrix product or a vector one, and how a broadcast gradient sums back, depend
on the arguments' ranks and shapes.  As `jax.jit` traces on abstract shapes, the returned
dispatcher compiles at the first call with a new signature and caches the result:

* the hot path is one dictionary lookup keyed by `facts.signature` (each array's shape and
  dtype, every other argument's type), then the call of the generated function itself;
* a new signature is mapped to its `facts.pattern` (kinds, ranks, dtype kinds, which
  dimensions are 1 or equal), and the api compiles one module per pattern: a new batch size
  reuses the compiled code.

The generated function still checks its arguments against the facts it was compiled for
(emit.shape_check), so a specialisation called directly with other shapes fails loudly.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from adgen.diagnostics import AdgenError
from adgen.facts import _PLAIN, leaf_signature, signature

_ndarray = np.ndarray


def dispatcher(f: Callable, which: str, specialize: Callable, source: Callable) -> Callable:
    """A callable computing `which` ("grad" or "value_and_grad") of `f` for any arguments:
    `specialize(args, kwargs)` gives the generated function for a new signature, `source`
    its module text (the dispatcher's `.source(*args)`)."""
    table: dict = {}

    def call(*args, **kwargs):
        if kwargs:
            key = signature(args, kwargs)
        else:
            key = tuple([(a.shape, a.dtype.char) if type(a) is _ndarray else
                         type(a) if type(a) in _PLAIN else leaf_signature(a) for a in args])
        target = table.get(key)
        if target is None:
            try:
                target = table[key] = specialize(args, kwargs)
            except AdgenError as exc:
                raise exc.with_traceback(None) from None
        return target(*args, **kwargs)

    call.__name__ = call.__qualname__ = f"{f.__name__}_{which}"
    call.__doc__ = (f"{'Value and gradient' if which == 'value_and_grad' else 'Gradient'} of "
                    f"{f.__name__}, compiled for the arguments of each call (adgen): "
                    f".source(*args) shows the generated module for those arguments.")

    def specialization(*args, **kwargs) -> Callable:
        """The generated function the dispatcher calls for these arguments."""
        key = signature(args, kwargs)
        if key not in table:
            table[key] = specialize(args, kwargs)
        return table[key]

    call.source = lambda *args, **kwargs: source(args, kwargs)
    call.specialization = specialization
    call.compiled = lambda: list({id(fn): fn for fn in table.values()}.values())
    return call


class SourceView:
    """`f.source` of a decorated function of arrays: `f.source(*args)` is the generated
    module for those arguments; `str(f.source)` (or `print(f.source)`) the module for the
    facts the source gives (annotations, inference), as `adgen FILE -f NAME` prints it."""

    def __init__(self, source: Callable):
        self._source = source

    def __call__(self, *args, **kwargs) -> str:
        return self._source(*args, **kwargs)

    def __str__(self) -> str:
        return self._source()

    def __repr__(self) -> str:
        return "<generated source: call it with the arguments, or print it>"
