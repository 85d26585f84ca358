"""Functions with several results, unpacked by the user: `sign, logdet =
np.linalg.slogdet(a)`, `w, v = np.linalg.eigh(a)`, `u, s, vh = np.linalg.svd(a,
full_matrices=False)`.

The function's rule lists a rule per result (`Rule.results`).  Each name the user unpacks
is staged as its own statement of that result's rule (`logdet = np.linalg.slogdet(a)[1]`),
so the rest of adgen sees single results only; a result that nothing uses is dropped with
its statement.  (When several results are used, the function is computed for each:
the price of keeping one value per statement.)
"""

from __future__ import annotations

import libcst as cst

from adgen.rules import REGISTRY
from adgen.staticargs import is_value_attribute, static_positionals, static_value


def results_rule(value: cst.BaseExpression, scope, names: set):
    """The rule of a call to a function with several results, else None."""
    if not isinstance(value, cst.Call) or is_value_attribute(value.func, scope, names):
        return None
    if not isinstance(value.func, (cst.Name, cst.Attribute)):
        return None
    qualified = scope.qualify(value.func)
    rule = REGISTRY.by_spelling(qualified) if qualified else None
    return rule if rule is not None and (rule.results or rule.parts) else None


def stage_results(stager, target: cst.BaseExpression, value: cst.BaseExpression) -> bool:
    """Stage `a, b = f(x)` for a function f with several results: one statement per name.
    False when `value` is not such a call (the stager goes on as usual)."""
    if not isinstance(target, (cst.Tuple, cst.List)):
        return False
    rule = results_rule(value, stager.scope, stager.env)
    if rule is None:
        return False
    names = [el.value.value for el in target.elements]
    if rule.parts:  # a, b, c = np.split(x, 3): one part each
        results = [rule.parts] * len(names)
    else:
        results = list(rule.results)
    if len(names) != len(results):
        stager.report("AD204", value, f"'{rule.spellings[0]}' returns {len(rule.results)} "
                      f"values, unpacked into {len(names)} names",
                      "give one name per returned value")
        for name in names:
            stager.env[name] = stager.leaf(cst.Float("0.0"))
        return True
    attrs = tuple((a.keyword.value, static_value(a.value)) for a in value.args
                  if a.keyword is not None)
    positional, attrs = static_positionals(
        rule, [a.value for a in value.args if a.keyword is None], attrs)
    args = tuple(stager.stage_expr(a) for a in positional)
    for k, (name, prim) in enumerate(zip(names, results)):
        extra = (("func", rule.spellings[0]), ("part", k), ("parts", len(names))) \
            if rule.parts else ()
        stager.env[name] = stager.add(prim, args, value, stager.version(name), name,
                                      attrs + extra)
    return True
