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


class _Partial(_Unbound):
    """A name only one path of an `if` assigns, outside loops: `if activation == "relu": A =
    ...` with no `else`.  Read later in the same block, it is the assigning path's value,
    and each path that does not assign it ends in `raise UnboundLocalError`
    (stage.raise_unassigned), as Python fails at the read there; read anywhere else (inside a
    later branch, which may not run), it is unassigned (AD203), like any _Unbound.
    `missing`: (if key, index of the path, "file.py:line" of the if) of each such path --
    several for an if/elif chain."""

    def __init__(self, why: str, operand, missing: tuple, region: int, pair=None):
        super().__init__(why)
        self.operand, self.missing, self.region = operand, missing, region
        self.pair = pair  # (stage_branches.partial: two values still to merge)
