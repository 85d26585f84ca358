"""Derivative rules: the registry (`registry.py`) and the declarations that fill it.

Importing this package loads and checks every rule.
"""

from adgen.rules.registry import REGISTRY, Instance, Rule, RuleError, substitute
from adgen.rules import scalar  # noqa: F401  (declarations register themselves)

__all__ = ["REGISTRY", "Instance", "Rule", "RuleError", "substitute"]
