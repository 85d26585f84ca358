"""How many examples the property tests run, and whether they are random.

By default (in CI and locally alike) every property test runs a fixed, reproducible set of
examples (hypothesis derandomized), so the suite's time and outcome do not vary from run to
run.  `ADGEN_PROPERTY_EXAMPLES=N python -m pytest tests/test_property*.py` hunts for bugs
instead: N random examples per test."""

from __future__ import annotations

import os

HUNT = os.environ.get("ADGEN_PROPERTY_EXAMPLES")
DERANDOMIZE = not HUNT


def examples(default: int) -> int:
    return int(HUNT) if HUNT else default
