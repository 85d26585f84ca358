"""`LazyModule`: a module imported when one of its attributes is first read.

sympy and numpy each take longer to import than all of adgen, and generating code needs
neither (docs/design.md, "What is imported when").  Modules that use them only in functions
that verification or array arguments call hold them as `sp = LazyModule("sympy")`; reading
`sp.exp` imports sympy then.  `tests/test_startup.py` checks that plain generation imports
neither.
"""

from __future__ import annotations

import importlib
import types


class LazyModule:
    """`np = LazyModule("numpy")`: `np.ndarray` imports numpy on first use, then reads it."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: types.ModuleType | None = None

    def __getattr__(self, attr: str):
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attr)

    def __repr__(self) -> str:
        return f"LazyModule({self._name!r})"
