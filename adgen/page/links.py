"""Which lines of the generated module differentiate (or compute) which line of the user's
source: read off the emitter's own structure, not off the `# line N:` comments.

The module is emitted a second time with a `Tap` (adgen/emit.py) that adds a marker comment
after each forward statement and around each backward block and loop.  Removing the markers
gives the module exactly as it is generated (checked: a difference is an internal error);
their places give the line ranges.
"""

from __future__ import annotations

import dataclasses
import re

from adgen import ir
from adgen.emit import Tap, emit_module

MARK = "#@adgen-review "
_MARK_RE = re.compile(r"^\s*#@adgen-review (\w) (\d+)$")
_VIA_RE = re.compile(r"called on line (\d+)")


def user_lines(stmt) -> tuple[int, ...]:
    """The user's lines a statement comes from: its own, and for an inlined helper's
    statement the line of each call that inlined it (`via`)."""
    lines = [stmt.pos.line]
    for found in _VIA_RE.finditer(getattr(stmt, "via", "") or ""):
        lines.append(int(found.group(1)))
    return tuple(dict.fromkeys(lines))


@dataclasses.dataclass(frozen=True)
class Span:
    """Generated lines `first`..`last` (1-based, inclusive) that belong to a statement of
    the user's `lines`; `kind` is "forward", "backward" or "loop"; `node` is the forward
    statement (an `ir.Assign`) or loop."""

    first: int
    last: int
    kind: str
    lines: tuple[int, ...]
    node: object


class _Markers(Tap):
    def __init__(self) -> None:
        self.nodes: list = []

    def _mark(self, kind: str, node) -> str:
        self.nodes.append(node)
        return f"{MARK}{kind} {len(self.nodes) - 1}"

    def forward(self, stmt: ir.Assign) -> list[str]:
        return [self._mark("F", stmt)]

    def block(self, block: ir.BackwardBlock) -> tuple[list[str], list[str]]:
        return [self._mark("B", block.origin)], [self._mark("E", block.origin)]

    def loop(self, item: ir.BackwardLoop) -> tuple[list[str], list[str], list[str]]:
        return [self._mark("L", item.origin)], [], [self._mark("M", item.origin)]


def linked_module(grad: ir.Gradient, *, source_path: str, command: str
                  ) -> tuple[str, list[Span]]:
    """The generated module (as `emit_module` writes it) and the spans of its lines."""
    plain = emit_module([grad], source_path=source_path, command=command)
    tap = _Markers()
    marked = emit_module([grad], source_path=source_path, command=command, taps=[tap])
    kept: list[str] = []
    marks: list[tuple[str, int, int]] = []  # (kind, node number, lines kept before it)
    for line in marked.split("\n"):
        found = _MARK_RE.match(line)
        if found:
            marks.append((found.group(1), int(found.group(2)), len(kept)))
        else:
            kept.append(line)
    if "\n".join(kept) != plain:
        raise RuntimeError("the review page's line links do not match the generated module")
    spans: list[Span] = []
    opened: dict[int, int] = {}
    for kind, number, before in marks:
        node = tap.nodes[number]
        if kind == "F":  # the statement's lines end here; they start at `target = `
            first = before
            while first > 1 and not kept[first - 1].lstrip().startswith(f"{node.target} ="):
                first -= 1
            spans.append(Span(first, before, "forward", user_lines(node), node))
        elif kind in "BL":  # after the block's `# line N:` comment (wrapped, perhaps)
            start = before  # the comment's last line (1-based)
            while start > 1 and not kept[start - 1].lstrip().startswith("# line") \
                    and kept[start - 2].lstrip().startswith("#"):
                start -= 1
            opened[number] = start
        else:
            start = opened.pop(number - 1)
            spans.append(Span(start, before, "backward" if kind == "E" else "loop",
                              user_lines(node), node))
    spans.sort(key=lambda s: (s.first, s.last))
    return plain, spans
