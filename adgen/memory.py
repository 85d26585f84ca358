"""Memory: which values of a staged function share storage, as numpy arrays do.

In numpy, `z = x` binds a second name to the same array, and basic indexing (`x[1:]`,
`x[:, t]`), `.T`, `reshape`, `ravel`, `squeeze` and `expand_dims` return *views* that share
memory with their operand.  An in-place update (`z += y`, `z[0] = 0.0`) then changes every
name that shares the memory.  The staged IR is functional (each update makes a new value), so
the stager asks this module, at every in-place update of an array, what else the update
changes:

* names bound to the *same* storage (plain aliases, `z = x`) see the new value: the stager
  rebinds them, so the gradient follows numpy's semantics exactly;
* a *view* of the storage, or the storage a view was taken of, would see part of the update
  in a way the staged code does not follow: rejected (AD207) when that other name is read
  afterwards;
* storage the caller owns -- a parameter, or the argument of an inlined helper -- would be
  changed for the caller: rejected (AD208), as PyTorch rejects an in-place update of a leaf
  that requires grad;
* storage that depends on the path taken through a branch, or on the run-time kind of a
  value that may be a number or an array: rejected (AD207), since the staged code cannot
  tell which names the update reaches.

Storage is tracked per staged value (an SSA name), as an integer id; views record the id of
the storage they were taken of.
"""

from __future__ import annotations

import itertools
from typing import Iterable, Optional

from adgen import ir

AMBIGUOUS = -1  # storage that depends on the path taken
# primitives whose result is a view of their first operand (numpy may return a view)
VIEWS = frozenset({"transpose", "reshape", "ravel", "np_expand_dims", "np_squeeze",
                   "np_asarray"})


class Memory:
    """Storage ids of the staged values of one function (and its inlined helpers)."""

    def __init__(self, params: Iterable[str]):
        self._ids: dict[str, int] = {}
        self._parent: dict[int, int] = {}  # a view's storage -> the storage it views
        self._counter = itertools.count(1)
        self.params: dict[int, str] = {}  # storage the caller owns -> the parameter's name
        for name in params:
            self.params[self.of(name)] = name

    def of(self, value: str) -> int:
        """The storage id of a staged value (its own, new storage unless recorded)."""
        found = self._ids.get(value)
        if found is None:
            found = self._ids[value] = next(self._counter)
        return found

    def of_operand(self, operand) -> Optional[int]:
        return self.of(operand.id) if isinstance(operand, ir.Name) else None

    def same(self, value: str, storage: int) -> None:
        """`value` shares `storage` (a copy of a name, or an updated array in place)."""
        self._ids[value] = storage

    def fresh(self, value: str) -> None:
        """`value` has storage of its own (a number carried by a loop: on the first
        iteration it is no array, after it an array the loop made)."""
        self._ids[value] = next(self._counter)

    def view(self, value: str, base: str) -> None:
        """`value` is a view of `base`'s storage."""
        base_id = self.of(base)
        if base_id == AMBIGUOUS:
            self._ids[value] = AMBIGUOUS
            return
        self._parent[self.of(value)] = base_id

    def ambiguous(self, value: str) -> None:
        self._ids[value] = AMBIGUOUS

    def root(self, storage: int) -> int:
        while storage in self._parent:
            storage = self._parent[storage]
        return storage

    def related(self, a: int, b: int) -> bool:
        """Whether two storages overlap: the same, or one a view of the other (or both views
        of one array)."""
        if AMBIGUOUS in (a, b):
            return a == b
        return self.root(a) == self.root(b)

    def owner(self, storage: int) -> Optional[str]:
        """The parameter whose storage this is (or is a view of), if any."""
        return self.params.get(self.root(storage)) if storage != AMBIGUOUS else None

    def shared(self, storage: int, env: dict, excluding: str) -> bool:
        """Whether any name of `env` other than `excluding` overlaps `storage`, or the caller
        owns it."""
        if storage == AMBIGUOUS or self.owner(storage) is not None:
            return True
        return any(isinstance(op, ir.Name) and self.related(self.of(op.id), storage)
                   for name, op in env.items() if name != excluding)

    def merged(self, target: str, a, b, var: str, envs: list[dict]) -> None:
        """The storage of a name merged after a branch: one storage if both paths agree, a
        new one if each path's value is private to that path, else ambiguous."""
        ids = [self.of_operand(op) for op in (a, b)]
        if ids[0] is not None and ids[0] == ids[1]:
            self.same(target, ids[0])
        elif any(i is not None and any(self.shared(i, env, var) for env in envs) for i in ids):
            self.ambiguous(target)
        else:
            self._ids[target] = next(self._counter)
