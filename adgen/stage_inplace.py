"""Staging arrays updated in place (`z += y`, `z[i] = v`): what else the update changes
(memory.py), and the updates the staged code cannot follow.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from adgen import ir
from adgen.containers import (DictValue, ListValue, is_container, items_of, leaves,
                               replace_leaves)
from adgen.children import children
from adgen.memory import AMBIGUOUS


class InPlaceStaging:
    """Stager methods for in-place updates of arrays."""

    def in_place(self, name: str, node: cst.CSTNode,
                 instead: str) -> Optional[tuple[int, list[str]]]:
        """Before `name`'s array is updated in place (`z += y`, `z[i] = v`): what else the
        update changes (memory.py).  Returns (storage, the other names bound to the same
        storage, which must see the new value), or None for a number (rebound, never
        updated in place); reports the updates the staged code cannot follow.  `instead`
        is the update rewritten to make a new array (`z = z + ...`), if it can be."""
        op = self.env.get(name)

        def help(copy: str = f"{name} = {name}.copy()") -> str:
            return (f"write {instead} (a new array), or " if instead else "") + \
                f"take a copy first: {copy}"

        if not self.array_mode or not isinstance(op, ir.Name):
            return None
        kind = self.type_of(op).kind
        if kind not in ("array", "unknown"):
            return None
        storage = self.memory.of(op.id)
        if self.infer and self.type_of(op).rank is None and instead and \
                self.memory.shared(storage, self.env, name):
            # x += y, or s = w[0]; s += y, on a value of unknown rank that may share an
            # array's memory: a number is rebound, never updated, so that is the fact that
            # lets the update go on (an array would change the array it shares); only when
            # nothing else tells the rank (a fallback)
            update = instead.replace(f" = {name} ", " ").replace(" ...", "= ...")
            self.fallback_requests.append(([op], 0, self.parsed.pos(node).line,
                                           f"updating a number in place ({update})"))
        if storage in self.listed or any(self.memory.related(storage, held)
                                         for held in self.listed):
            self.report("AD207", node, f"in-place update of '{name}', an array a list built "
                        "while the function runs holds (appended to it, or read from it): it "
                        "would change the list's entry too", help())
            return None
        if storage == AMBIGUOUS:
            self.report("AD207", node, f"'{name}' is updated in place, but whether it shares "
                        "its memory with another array depends on the path taken", help())
            self.refused(name)
            return None
        owner = self.memory.owner(storage)
        maybe = " (if it is an array)" if kind == "unknown" else ""
        if owner is not None or any(self.memory.shared(storage, env, "")
                                    for env in self.callers):
            what = (f"parameter '{name}'" if owner == name else
                    f"'{name}', which shares its memory with parameter '{owner}'"
                    if owner is not None else f"'{name}', an argument of the call")
            self.report("AD208", node, f"in-place update of {what}: it changes the caller's "
                        f"array{maybe}", help())
            self.refused(name)
            self.refused_storage = (name, storage)
            return None
        aliases, views = [], []
        for other, value in self.env.items():
            if other == name or not isinstance(value, ir.Name):
                continue
            there = self.memory.of(value.id)
            if there == storage:
                aliases.append(other)
            elif self.memory.related(there, storage) and self._read_later(other, node):
                views.append(other)
            elif there == AMBIGUOUS and self._read_later(other, node):
                # v = h on one path, a copy on another: the update changes v on one only
                self.report("AD207", node, f"in-place update of '{name}', which '{other}' "
                            "may share, depending on the path taken before", help())
                return None
        for other, value in self.env.items():  # lst = [h]; h += 1 changes lst[0] too
            for leaf in leaves(value) if is_container(value) else ():
                if isinstance(leaf, ir.Name) and leaf.id != op.id and \
                        self.memory.related(self.memory.of(leaf.id), storage) and \
                        self.memory.of(leaf.id) != storage:
                    views.append(f"an entry of {other}")
        if views:
            self.report("AD207", node, f"in-place update of '{name}', which shares memory "
                        f"with '{views[0]}' (one is a view of the other, as x[1:], x.T and "
                        f"x.reshape(...) are): it changes '{views[0]}' too",
                        help())
        elif aliases and kind == "unknown":
            self.report("AD207", node, f"in-place update of '{name}', which is '{aliases[0]}' "
                        "if it is an array (then the update changes both) but not if it is a "
                        "number", help() + ", or annotate the parameters (x: \"N D\")")
        return storage, aliases

    def refused(self, name: str) -> None:
        """An in-place update of `name` was reported: it is staged as a rebinding (a new
        array), so its loops' ends must not report that `name` changes storage (one
        problem, one diagnostic)."""
        self.refused_updates.update((name, id(loop)) for loop in self.loop_nodes)

    def updated(self, name: str, shared: Optional[tuple[int, list[str]]], node) -> None:
        """After an in-place update: the new value keeps the storage, and the names bound
        to the same storage see it (numpy's semantics)."""
        kept, self.refused_storage = self.refused_storage, None
        if shared is None:
            new = self.env.get(name)
            if kept is not None and kept[0] == name and isinstance(new, ir.Name):
                # refused (AD208), staged as a new array: still the caller's, so that a
                # later update of it or of a view of it is reported as AD208 too
                self.memory.same(new.id, kept[1])
            return
        storage, aliases = shared
        new = self.env[name]
        self.memory.same(new.id, storage)
        for other in aliases:
            self.env[other] = new

        def same(leaf) -> bool:
            return isinstance(leaf, ir.Name) and leaf.id != new.id and \
                self.memory.of(leaf.id) == storage

        for env in [self.env] + self.callers:  # the containers holding it see it too
            for other, value in list(env.items()):
                if not is_container(value) or not any(same(v) for v in leaves(value)):
                    continue
                outer = [c for c in _mutable_parts(value) if c.region != self.region]
                if outer:  # a list made outside this loop or branch would change here
                    self.report("AD207", node, f"in-place update of '{name}', which '{other}' "
                                "holds, inside a loop or branch that the list or dict was "
                                "not made in", f"write {name} = {name} + ... (a new array), "
                                "or build the container after the loop or branch")
                    continue
                env[other] = replace_leaves(value, same, new)

    def _read_later(self, name: str, node: cst.CSTNode) -> bool:
        """Whether the function being staged may read `name` after `node`: later in the
        source, or anywhere in a loop around `node` (conservatively: any mention)."""
        end = self.parsed.span(node)[1]
        loops = [self.parsed.span(loop) for loop in self.loop_nodes]
        for found in _mentions(self.current.body, name):
            at = self.parsed.exact_pos(found)
            if (at.line, at.col) >= (end.line, end.col) or any(
                    (lo.line, lo.col) <= (at.line, at.col) <= (hi.line, hi.col)
                    for lo, hi in loops):
                return True
        return False


def _mutable_parts(value) -> list:
    """The lists and dicts inside a container (itself included)."""
    found = [value] if isinstance(value, (ListValue, DictValue)) else []
    inner = value.items.values() if isinstance(value, DictValue) else items_of(value) or []
    return found + [c for item in inner if is_container(item) for c in _mutable_parts(item)]


def _mentions(node: cst.CSTNode, name: str) -> list[cst.Name]:
    """Every `Name` node spelled `name` in a tree."""
    found, pending = [], [node]
    while pending:
        current = pending.pop()
        if isinstance(current, cst.Name) and current.value == name:
            found.append(current)
        pending.extend(children(current))
    return found
