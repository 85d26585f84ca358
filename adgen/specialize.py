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
(emit.shape_check), so a specialisation called directly with other shapes fails loudly.  The
dispatcher runs those guards once per exact signature, at the first call with it; later
calls with that signature run the same module emitted without its guards
(`without_guards`), since the guards read nothing the signature does not fix (ranks, sizes,
dtypes, a number's type).  That holds only when the signature covers every argument, so a
call with an object or a container (whose deeper arrays the signature does not list) keeps
the guarded function.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from adgen.diagnostics import AdgenError
from adgen.facts import _PLAIN, leaf_signature, signature

_ndarray = np.ndarray


def without_guards(guarded: str, unguarded: str, filename: str,
                   names: tuple[str, ...]) -> Optional[dict[str, Callable]]:
    """The functions `names` of `unguarded` (the generated module emitted with blank lines
    where its argument checks are: emit_function(guards=False)), compiled under the name
    of `guarded`, the module itself: the two differ only in those lines, so every line keeps
    its number and a traceback shows the module's own text.  None if they differ anywhere
    else (then the dispatcher keeps the guarded functions)."""
    lines, blanked = guarded.splitlines(), unguarded.splitlines()
    if len(lines) != len(blanked) or any(
            a != b and b for a, b in zip(lines, blanked)):
        return None
    namespace: dict = {"__name__": "adgen_generated"}
    exec(compile(unguarded, filename, "exec"), namespace)
    return {name: namespace[name] for name in names}


def _covered(args: tuple, kwargs: dict) -> bool:
    """Whether the signature fixes everything the guards read: every argument an array or
    a plain number (a container's or an object's deeper arrays are not in the signature)."""
    return all(type(a) is _ndarray or type(a) in _PLAIN for a in args) and all(
        type(a) is _ndarray or type(a) in _PLAIN for a in kwargs.values())


def dispatcher(f: Callable, which: str, specialize: Callable, source: Callable) -> Callable:
    """A callable computing `which` ("grad" or "value_and_grad") of `f` for any arguments:
    `specialize(args, kwargs)` gives the generated function for a new signature and the
    same function without its guards (or None), `source` its module text (the
    dispatcher's `.source(*args)`)."""
    table: dict = {}  # signature -> the function later calls with it run
    checked: dict = {}  # signature -> the generated function, with its guards

    def call(*args, **kwargs):
        if kwargs:
            key = signature(args, kwargs)
        else:
            key = tuple([(a.shape, a.dtype.char) if type(a) is _ndarray else
                         type(a) if type(a) in _PLAIN else leaf_signature(a) for a in args])
        target = table.get(key)
        if target is None:
            return first_call(key, args, kwargs)
        return target(*args, **kwargs)

    def first_call(key, args, kwargs):
        """Specialise, and run the guards for this signature once."""
        try:
            guarded, unguarded = specialize(args, kwargs)
        except AdgenError as exc:
            raise exc.with_traceback(None) from None
        checked[key] = guarded
        result = guarded(*args, **kwargs)
        table[key] = unguarded if unguarded is not None and _covered(args, kwargs) \
            else guarded
        return result

    call.__name__ = call.__qualname__ = f"{f.__name__}_{which}"
    call.__doc__ = (f"{'Value and gradient' if which == 'value_and_grad' else 'Gradient'} of "
                    f"{f.__name__}, compiled for the arguments of each call (adgen): "
                    f".source(*args) shows the generated module for those arguments.")

    def specialization(*args, **kwargs) -> Callable:
        """The generated function the dispatcher calls for these arguments."""
        key = signature(args, kwargs)
        if key not in checked:
            checked[key] = specialize(args, kwargs)[0]
        return checked[key]

    call.source = lambda *args, **kwargs: source(args, kwargs)
    call.specialization = specialization
    call.compiled = lambda: list({id(fn): fn for fn in checked.values()}.values())
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
