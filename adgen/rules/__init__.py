"""Derivative rules: the registry (`registry.py`) and the declarations that fill it.

Importing this package loads and checks every rule.
"""

from adgen.rules.registry import (REGISTRY, Context, Instance, Rule, RuleError, context_of,
                                  instance_of, rebuild, substitute)
from adgen.rules import arrays, elementwise, linalg, lists, reductions, scalar, sequences, shaping, static  # noqa: F401  (declarations register themselves)

__all__ = ["REGISTRY", "Context", "Instance", "Rule", "RuleError", "context_of", "instance_of",
           "rebuild", "substitute"]
