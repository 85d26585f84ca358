"""Containers: tuples, lists and dicts of values, while a function is staged.

Training code passes its values around in containers: `cache = (x, w, b)`, `return out,
cache`, `x, w, b = cache`, `hs = []` ... `hs.append(h)`, `np.stack(hs)`, `hs[-1]`,
`cache = {}; cache['x'] = x`.  adgen stages a container as what it is at compile time: a
structure of staged values (operands, or containers again), known element by element.  No
code is generated for building, indexing or unpacking one -- the staged values flow where
the container takes them, so `x, w, b = cache` costs nothing and the backward pass reads
`dx`, `dw`, `db` as if the function had used the names directly.

That needs the structure to be the same on every path: a container is indexed by
constants (or by what is constant when the function is staged), and a list or dict is
changed (`append`, `d['k'] = v`) only in the block that created it -- not inside a branch or
a loop around which it was made, where the structure would depend on the path taken (the
stager reports that, with what to write instead).

A tuple is a Python tuple of entries; a list or dict is mutable and shared by identity,
as in Python (`b = a; b.append(x)` changes `a`)."""

from __future__ import annotations

from typing import Optional


class ListValue:
    """A list being staged: its entries, and the region (block) that created it."""

    def __init__(self, items, region: int):
        self.items = list(items)
        self.region = region


class DictValue:
    """A dict with constant keys being staged: its entries by key, and its region."""

    def __init__(self, items: dict, region: int):
        self.items = dict(items)
        self.region = region


def is_container(value) -> bool:
    return isinstance(value, (tuple, ListValue, DictValue))


def items_of(value) -> Optional[list]:
    """The entries of a tuple or list, in order (None for anything else)."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, ListValue):
        return list(value.items)
    return None


def describe(value) -> str:
    """'a tuple of 3 values', 'a list of 2 values', 'a dict with keys 'x', 'w''."""
    if isinstance(value, DictValue):
        keys = ", ".join(repr(k) for k in value.items) or "no keys"
        return f"a dict ({keys})"
    kind = "tuple" if isinstance(value, tuple) else "list"
    n = len(items_of(value))
    return f"a {kind} of {n} value{'s' if n != 1 else ''}"


def entry(value, key):
    """The entry at a constant key or index; raises LookupError (with the reason) when
    there is none."""
    if isinstance(value, DictValue):
        if key not in value.items:
            raise LookupError(f"the dict has no key {key!r} here")
        return value.items[key]
    items = items_of(value)
    if isinstance(key, slice):
        return tuple(items[key]) if isinstance(value, tuple) else ListValue(items[key], -1)
    if not isinstance(key, int) or isinstance(key, bool) or not -len(items) <= key < len(items):
        raise LookupError(f"index {key!r} is out of range for {describe(value)}")
    return items[key]


def leaves(value) -> list:
    """Every staged value inside a container (depth first)."""
    if isinstance(value, DictValue):
        return [leaf for v in value.items.values() for leaf in leaves(v)]
    items = items_of(value)
    if items is None:
        return [value]
    return [leaf for v in items for leaf in leaves(v)]
