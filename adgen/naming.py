"""Deterministic, collision-free names for everything adgen invents.

Invented names are short and derived from the operation (`xpy` for `x + y`, `xpysqr` for its
square, `sigx` for a sigmoid of `x`); when the derived name would be long or unreadable they fall
back to a noun and a counter (`sum1`, `prod2`).  Re-assigned user variables become `h`, `h_1`,
`h_2`; gradients are `d<name>`.  Nothing invented ever shadows a user name, a builtin, a module,
or a Python keyword, and the same input always gives the same names.
"""

from __future__ import annotations

import builtins
import keyword

MAX_DERIVED = 10
# Every name the generated module relies on besides the user's: the modules it imports, the
# helpers it defines, and the builtins its own constructs call (tests/test_reserved.py
# collects the free names of generated code and checks that each one is here).  A user's
# local variable with one of these names is renamed (`reversed_1`); a parameter is AD205.
RUNTIME = frozenset({"math", "numpy", "np", "_unbroadcast", "_argmax_mask", "_argmin_mask",
                     "reversed", "range", "len", "any", "float", "isinstance", "ValueError",
                     "list", "slice", "AssertionError", "RuntimeError",
                     "UnboundLocalError"})
RESERVED = frozenset(dir(builtins)) | RUNTIME


class Names:
    """Allocates names within one generated function."""

    def __init__(self, taken: set[str] = frozenset()):
        self._taken: set[str] = set(RESERVED) | set(taken)
        self._counters: dict[str, int] = {}

    def taken(self) -> frozenset:
        """Every name taken so far (the reserved ones among them)."""
        return frozenset(self._taken)

    def reserve(self, name: str) -> None:
        self._taken.add(name)

    def is_free(self, name: str) -> bool:
        return name not in self._taken and not keyword.iskeyword(name)

    def claim(self, name: str) -> str:
        """Take `name` itself, which must be free."""
        if not self.is_free(name):
            raise ValueError(f"name {name!r} is already taken")
        self._taken.add(name)
        return name

    def fresh(self, base: str) -> str:
        """`base` if free, else `base_1`, `base_2`, ..."""
        if self.is_free(base):
            return self.claim(base)
        k = 1
        while not self.is_free(f"{base}_{k}"):
            k += 1
        return self.claim(f"{base}_{k}")

    def numbered(self, noun: str) -> str:
        """`noun1`, `noun2`, ... : the fallback for names that cannot be derived."""
        k = self._counters.get(noun, 0)
        while True:
            k += 1
            candidate = f"{noun}{k}"
            if self.is_free(candidate):
                self._counters[noun] = k
                return self.claim(candidate)

    def derived(self, stem: str | None, noun: str) -> str:
        """A derived name if it is short, a valid identifier, and free; else a numbered noun."""
        if (
            stem
            and len(stem) <= MAX_DERIVED
            and stem.isidentifier()
            and self.is_free(stem)
        ):
            return self.claim(stem)
        return self.numbered(noun)

    def gradient(self, name: str) -> str:
        """The gradient's name for variable `name`: `d<name>`, else `grad_<name>`, else numbered."""
        for candidate in (f"d{name}", f"grad_{name}"):
            if self.is_free(candidate):
                return self.claim(candidate)
        return self.fresh(f"d{name}")
