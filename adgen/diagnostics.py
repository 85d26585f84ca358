"""Diagnostics: stable codes, the `file:line:col: error ADnnn: ...` format, the error type.

Every problem adgen finds in a user's program becomes a `Diagnostic`; a compilation collects all
of them before it stops, and `AdgenError` carries the whole list.  A diagnostic of severity
"note" is not a problem: the lens (`adgen FILE --lens`, adgen/leaks) names patterns where
backprop can leak, `file:line:col: note AD6nn: ...`, and the command still succeeds.  The codes
are stable (they are documented in docs/diagnostics.md and tests assert on them, never on the
wording):

    AD1xx  syntax and language: constructs adgen does not accept
    AD2xx  names and staging: undefined names, non-constant globals, unpacking
    AD3xx  derivative rules: unknown functions, wrong arguments
    AD4xx  differentiation requests: `wrt` names, selected functions, sources
    AD5xx  verification: gradient mismatches
    AD6xx  lens notes: patterns where the gradient can vanish, explode or be zeroed
    AD9xx  internal errors (a bug in adgen: please report it)
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Iterable, Sequence

SEVERITIES = ("error", "note")

CODES: dict[str, str] = {
    "AD100": "syntax error",
    "AD101": "unsupported statement",
    "AD102": "unsupported expression",
    "AD103": "unsupported parameter",
    "AD104": "missing or misplaced return",
    "AD105": "unsupported assignment target",
    "AD106": "unsupported operator",
    "AD107": "unsupported constant",
    "AD108": "unsupported decorator",
    "AD201": "undefined name",
    "AD202": "module-level name is not a numeric constant",
    "AD203": "name used before assignment",
    "AD204": "unpacking mismatch",
    "AD205": "reserved name",
    "AD206": "recursive call",
    "AD207": "in-place update of shared memory",
    "AD208": "in-place update of the caller's array",
    "AD209": "cache lacks an input",
    "AD301": "no derivative rule",
    "AD302": "wrong number of arguments",
    "AD303": "unsupported call form",
    "AD304": "scalar function applied to an array",
    "AD305": "shapes needed",
    "AD306": "integer function of a differentiated value",
    "AD401": "unknown wrt name",
    "AD402": "function not found",
    "AD403": "source not available",
    "AD404": "gradient of a non-scalar output",
    "AD405": "integer input",
    "AD501": "gradient mismatch",
    "AD601": "gradient zeroed over a range",
    "AD602": "saturating gate",
    "AD603": "quadratic cost on a sigmoid",
    "AD604": "ReLU units can die",
    "AD605": "the same matrix at every step",
    "AD606": "exp without the max shift",
    "AD900": "internal error",
}


@dataclasses.dataclass(frozen=True)
class Diagnostic:
    """One problem at one place: code, message, position (1-based line and column), help;
    or, with severity "note", a pattern worth knowing about (the lens's AD6nn)."""

    code: str
    message: str
    path: str
    line: int
    col: int
    help: str = ""
    source_line: str = ""
    severity: str = "error"

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unregistered diagnostic code {self.code}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")

    def format(self) -> str:
        """`path:line:col: error ADnnn: message` (or `note`), the source line with a caret,
        and the help."""
        lines = [f"{self.path}:{self.line}:{self.col}: {self.severity} {self.code}: "
                 f"{self.message}"]
        if self.source_line:
            text = self.source_line.rstrip("\n").expandtabs(4)
            stripped = text.lstrip()
            indent = len(text) - len(stripped)
            lines.append("    " + stripped)
            lines.append("    " + " " * max(self.col - 1 - indent, 0) + "^")
        if self.help:
            lines.append("    help: " + self.help)
        return "\n".join(lines)


def format_report(diagnostics: Iterable[Diagnostic]) -> str:
    """All diagnostics, one block each, sorted by position, and a count line: `2 errors
    found`, `3 notes`, or `1 error and 3 notes found`."""
    items = sorted(diagnostics, key=lambda d: (d.path, d.line, d.col, d.code))
    blocks = [d.format() for d in items]
    notes = sum(d.severity == "note" for d in items)
    errors = len(items) - notes
    counts = {"error": errors, "note": notes}
    said = [f"{n} {word}{'s' if n != 1 else ''}" for word, n in counts.items() if n]
    if errors or not notes:
        blocks.append(" and ".join(said or ["0 errors"]) + " found")
    else:
        blocks.append(said[0])
    return "\n".join(blocks)


def did_you_mean(name: str, choices: Sequence[str]) -> str:
    """`did you mean 'loss'? ` when one of `choices` is close to the mistyped `name`, else
    an empty string: the start of a help text."""
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f"did you mean '{close[0]}'? " if close else ""


class AdgenError(Exception):
    """A program adgen cannot differentiate; `.diagnostics` lists every problem found."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = list(diagnostics)
        super().__init__("\n" + format_report(self.diagnostics))

    @property
    def codes(self) -> list[str]:
        return [d.code for d in self.diagnostics]


class InternalError(AdgenError):
    """A failure inside adgen itself, never the user's fault; reported, never a raw traceback."""


def internal_error(path: str, exc: BaseException, line: int = 1, col: int = 1) -> InternalError:
    """Wrap an unexpected exception from the compiler into an AD900 diagnostic."""
    detail = f"{type(exc).__name__}: {exc}"
    return InternalError([
        Diagnostic(
            "AD900",
            f"internal error in adgen ({detail})",
            path,
            line,
            col,
            help="this is a bug in adgen, not in your program; please report it with this "
            "function's source",
        )
    ])
