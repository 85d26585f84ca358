"""What the stager's environment holds besides operands: the entries for a block's return, a
path that leaves the loop body or raises, a function defined in the function, and a name not
assigned on every path.
"""

from __future__ import annotations

RETURN = "<return>"
EXIT = "<exit>"  # the path leaves the loop body: continue, or break
RAISED = "<raised>"  # the path raises: it never goes on  # the environment's entry for the value a block returns


class _Local:
    """An environment entry for a function defined in the function (a nested `def` or
    `name = lambda ...`): inlined where it is called, reading the names around it."""

    def __init__(self, node):
        self.node = node


class _Unbound:
    """An environment entry for a name that is not assigned on every path to here."""

    def __init__(self, why: str):
        self.why = why
