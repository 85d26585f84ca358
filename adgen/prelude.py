"""Prelude: what a generated module holds besides its functions, and the checks each
function makes first.

* The helpers generated code may need, defined in the module itself (it never imports adgen):
  `_unbroadcast` (a broadcast gradient summed back to its operand's shape),
  `_argmax_mask` / `_argmin_mask` (where a max or min reduction came from) and `_digamma`
  (the derivative of `math.lgamma`).
* `shape_check`: the guard at the top of a generated function, raising ValueError when the
  arguments' ranks or dimensions differ from the facts the code was generated for.
"""

from __future__ import annotations

import shlex
import textwrap

from adgen import ir
from adgen.facts import describe
from adgen.printer import MAX_LINE, docstring_lines, pack_words
from adgen.shapes import multiple_of

def uses(prefix: str, exprs) -> bool:
    """Whether any expression calls a function or reads an attribute starting with `prefix`
    ("math.", "np.", "_unbroadcast")."""
    return any(
        (isinstance(node, ir.Call) and node.func.startswith(prefix))
        or (isinstance(node, ir.Attr) and node.dotted.startswith(prefix))
        for expr in exprs for node in ir.walk(expr)
    )


UNBROADCAST = '''def _unbroadcast(g, x):
    """Sum the gradient g back to the shape of x (broadcasting, reversed)."""
    shape = np.shape(x)
    if np.shape(g) == shape:
        return g
    if np.ndim(g) > len(shape):
        g = np.sum(g, axis=tuple(range(np.ndim(g) - len(shape))))
    kept = tuple(i for i, n in enumerate(shape)
                 if n == 1 and np.shape(g)[i] != 1)
    return np.sum(g, axis=kept, keepdims=True) if kept else g
'''


MASK = '''def _{pick}_mask(a, axis=None):
    """1.0 at the first {word} element of a (along axis), 0.0 elsewhere."""
    mask = np.zeros(np.shape(a))
    if axis is None:
        mask.flat[np.{pick}(a)] = 1.0
    else:
        first = np.expand_dims(np.{pick}(a, axis=axis), axis)
        np.put_along_axis(mask, first, 1.0, axis)
    return mask
'''


# math has no digamma (the derivative of lgamma): recurrence up to 10, then the asymptotic
# series (error below 1e-15 there); reflection for a < 0.5.
DIGAMMA = '''def _digamma(a):
    """psi(a) = d lgamma(a) / da (math has no digamma)."""
    if a <= 0 and a == math.floor(a):
        return math.nan
    if a < 0.5:
        return _digamma(1.0 - a) - math.pi / math.tan(math.pi * a)
    psi = 0.0
    while a < 10.0:
        psi -= 1.0 / a
        a += 1.0
    r = 1.0 / (a * a)
    series = r * (1 / 12 - r * (1 / 120 - r * (1 / 252 - r * (
        1 / 240 - r * (1 / 132 - r * 691 / 32760)))))
    return psi + math.log(a) - 0.5 / a - series
'''


HELPERS = {
    "_unbroadcast": UNBROADCAST,
    "_argmax_mask": MASK.format(pick="argmax", word="largest"),
    "_argmin_mask": MASK.format(pick="argmin", word="smallest"),
    "_digamma": DIGAMMA,
}
# The module each helper's body uses ("np" when not listed).
HELPER_MODULES = {"_digamma": "math"}


def shape_check(grad: ir.Gradient, name: str) -> list[str]:
    """`if <an array's rank or a dimension differs from its annotation>: raise ValueError`:
    the gradient code relies on the annotated shapes, so it checks them (cheap attribute
    reads, in order, each rank before that array's dimensions)."""
    fn = grad.function
    conditions, first_seen = [], {}
    assumed = dict(fn.facts)
    for var in [p.name for p in fn.params] + [m.name for m in fn.members]:
        t = fn.types.get(var)
        if t is not None and t.kind in ("float", "int") and var in assumed:
            conditions.append(f"np.ndim({var}) != 0")  # a number, not an array
            continue
        if t is None or not t.is_array or t.shape is None:
            continue
        conditions.append(f"{var}.ndim != {len(t.shape)}")
        if t.kind == "bool":  # a mask: the gradient code relies on it not being indices
            conditions.append(f"{var}.dtype.kind != 'b'")
        for axis, dim in enumerate(t.shape):
            here = f"{var}.shape[{axis}]"
            if isinstance(dim, int):
                conditions.append(f"{here} != {dim}")
            elif dim in first_seen:
                conditions.append(f"{here} != {first_seen[dim]}")
            else:
                first_seen[dim] = here
    for dim, here in first_seen.items():  # "4*H" is 4 times H
        k, base = multiple_of(dim) or (None, None)
        if base in first_seen:
            conditions.append(f"{here} != {k} * {first_seen[base]}")
    if not conditions:
        return []
    lines = [f"    if {' or '.join(conditions)}:"]
    if len(lines[0]) > MAX_LINE:
        lines = pack_words(conditions, "    if (", " " * 12, "):")
    why = "shapes differ from the annotations" if not assumed else \
        "the arguments differ from the shapes it was generated for (see the module header)"
    raise_line = f'        raise ValueError("{name}: {why}")'
    if len(raise_line) <= MAX_LINE:
        return lines + [raise_line]
    words = textwrap.wrap(f"{name}: {why}", MAX_LINE - 28, drop_whitespace=False)
    literals = [f'"{w}"' for w in words]  # string literals, one per line
    return lines + [f"        raise ValueError({literals[0]}"] + [
        f"                         {w}" for w in literals[1:-1]] + [
        f"                         {literals[-1]})"] if len(literals) > 1 else \
        lines + [f"        raise ValueError({literals[0]})"]


_SOURCES = {"arguments": "the arguments of a call", "--shapes": "--shapes"}


def facts_paragraphs(grads: list[ir.Gradient], names: list[str]) -> list[str]:
    """Header lines stating the parameters' facts that are not annotations: what each
    function was generated for (given by the arguments or --shapes), then what was assumed
    (inferred from the code, each with its reason)."""
    lines: list[str] = []
    for grad, name in zip(grads, names):
        given = [(p, f) for p, f in grad.function.facts if f.origin in _SOURCES]
        assumed = [(p, f) for p, f in grad.function.facts if f.origin not in _SOURCES]
        if given:
            origins = sorted({_SOURCES[f.origin] for _, f in given})
            text = ", ".join(describe(p, f.type) for p, f in given)
            lines += [""] + docstring_lines(
                f"{name} is generated for {text} (from {' and '.join(origins)}); it checks "
                "them.", "")
        if assumed:
            lines += [""] + docstring_lines(f"{name} assumes (nothing in the source says "
                                            "otherwise; it checks them):", "")
            for p, f in assumed:
                lines += textwrap.wrap(f"{describe(p, f.type)}: {f.origin}", MAX_LINE,
                                       initial_indent="    ", subsequent_indent="        ",
                                       break_on_hyphens=False)
    return lines


def command_lines(command: str) -> list[str]:
    """The command that regenerates the module, indented, within the line length: broken
    with shell line continuations, a long `--shapes` value spread over several `--shapes`
    options (the command takes it repeated)."""
    if len(command) + 4 <= MAX_LINE or "--shapes" not in command:
        return [f"    {command}"]
    words = shlex.split(command)
    pieces: list[str] = []
    i = 0
    while i < len(words):
        if words[i] == "--shapes" and i + 1 < len(words):
            for part in textwrap.wrap(words[i + 1], MAX_LINE - 24, break_long_words=False):
                pieces.append(f"--shapes '{part}'")
            i += 2
        elif words[i].startswith("-") and i + 1 < len(words) and \
                not words[i + 1].startswith("-"):
            pieces.append(f"{words[i]} {shlex.quote(words[i + 1])}")
            i += 2
        else:
            pieces.append(shlex.quote(words[i]))
            i += 1
    lines, current = [], "    " + pieces[0]
    for piece in pieces[1:]:
        if len(current) + 1 + len(piece) + 2 > MAX_LINE:
            lines.append(current + " \\")
            current = "        " + piece
        else:
            current += " " + piece
    return lines + [current]
