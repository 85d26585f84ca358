"""Print the rule table of docs/rules.md: `python -m adgen.rules`.

One row per registered rule, in registration order: how a user writes it, the forward
template, the gradient template of each operand, and the rule's note.  Variadic rules (`max`,
`min`, `math.hypot`) are shown in their 2-operand form.  docs/rules.md holds this output
between marker comments, and tests/test_docs.py fails when it is out of date.
"""

from __future__ import annotations

from adgen.fence_expressions import VALUE_ATTRIBUTES
from adgen.rules import REGISTRY, Rule

HEADER = ("| rule | you write | forward | local gradient, per operand | note |\n"
          "|---|---|---|---|---|")
UNARY_OPERATORS = {"u-": "-", "u+": "+"}
# rules the stager picks for another rule's spelling in some form
STAGED_FORMS = {"np_pad_sized": "np.pad(x, ((0, 0), (pad, pad)))",
                "shape_test": "x.shape == (N, M)",
                "np_zeros_as": "np.zeros(D, dtype=x.dtype)",
                "np_ones_as": "np.ones(D, dtype=x.dtype)",
                "member_or": "p.get('k', np.zeros(D))",
                "param_store": "p['k'] = v"}


def code(text: str) -> str:
    """`text` as inline code in a table cell (a `|` would end the cell)."""
    return "`" + text.replace("|", "\\|") + "`"


def spelling(token: str, slots: tuple[str, ...]) -> str:
    """How a user writes one spelling of a rule: `a + b`, `-a` or `math.exp(a)`."""
    if token in UNARY_OPERATORS:
        return code(UNARY_OPERATORS[token] + slots[0])
    if token.endswith("[]"):  # indexing: x[index], x.shape[k]
        return code(f"{slots[0]}{token[:-2]}[k]" if token != "[]" else f"{slots[0]}[index]")
    if token.startswith("."):  # a method or an attribute of the first operand
        rest = ", ".join(slots[1:])
        return code(f"{slots[0]}{token}" if token[1:] in VALUE_ATTRIBUTES else
                    f"{slots[0]}{token}({rest})")
    if not token.replace(".", "").isidentifier():  # a binary operator token
        return code(f"{slots[0]} {token} {slots[1]}")
    if token.startswith("numpy."):
        token = "np." + token[len("numpy."):]
    return code(f"{token}({', '.join(slots)})")


def row(rule: Rule) -> str:
    inst = rule.instance(rule.arity)  # a variadic rule's arity is its minimum, 2
    written = ", ".join(spelling(s, inst.slots) for s in rule.spellings) or (
        code(STAGED_FORMS[rule.name]) if rule.name in STAGED_FORMS else "gate (pattern)")
    grads = [f"{code(s)}: {code(t)}" for i, (s, t) in enumerate(zip(inst.slots, inst.grad_texts))
             if i not in rule.passive]  # a fused gate's passive operands: no gradient
    if inst.scatter_texts is not None:  # its sparse part
        index, value = inst.scatter_texts
        grads[-1] += ", then " + code("[" + index.strip("()") + "] += " + value)
    grads = "<br>".join(grads)
    note = rule.doc.replace("|", "\\|")
    return f"| {code(rule.name)} | {written} | {code(inst.forward_text)} | {grads} | {note} |"


def table() -> str:
    """The markdown table of every registered rule, without a trailing newline."""
    return "\n".join([HEADER] + [row(rule) for rule in REGISTRY])


if __name__ == "__main__":
    print(table())
