"""The pipeline, in one place: parse -> fence -> stage -> analyze -> reverse -> emit.

No stage reaches back into an earlier one.  Every problem in the user's program is collected
(all functions, all constructs) before anything is staged; any other exception escaping a stage
is a bug in adgen and is reported as an AD900 internal error, never as a raw traceback.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
from typing import Iterator, Optional, Sequence, Union

import libcst as cst

from adgen import ir
from adgen.analyze import analyze, refused_operands
from adgen.diagnostics import (AdgenError, Diagnostic, InternalError, did_you_mean,
                               internal_error)
from adgen.emit import emit_module
from adgen.fence import Fence
from adgen.fuse import fuse
from adgen.reverse import reverse
from adgen.rules import REGISTRY
from adgen.facts import Fact
from adgen.members import of_function as members_of
from adgen.params import all_params
from adgen.members import sequences
from adgen.shapes import FLOAT, VType, parse_annotation
from adgen.userrules import backward_names
from adgen.source import ParsedModule
from adgen.statements import called_functions, returns_cache
from adgen.stage import stage_function

Wrt = Union[None, str, Sequence[str]]


@dataclasses.dataclass
class Compiled:
    """The result of compiling a file (or some of its functions)."""

    source: str  # the generated module
    gradients: list[ir.Gradient]
    parsed: ParsedModule
    notes: list[Diagnostic] = dataclasses.field(default_factory=list)  # the lens's (AD6nn)


@contextlib.contextmanager
def guard(path: str) -> Iterator[None]:
    """Let diagnostics through; turn anything else into an internal error.

    The garbage collector is paused meanwhile: compilation allocates a large libcst tree that
    lives to the end, and repeated collections rescanning it made compile time grow faster
    than linearly with the function's size."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    except AdgenError:
        raise
    except RecursionError as exc:
        raise AdgenError([Diagnostic(
            "AD102", "expression nested too deeply to compile", path, 1, 1,
            help="split the expression into several assignments")]) from exc
    except Exception as exc:  # noqa: BLE001 - the one place internal failures are caught
        raise internal_error(path, exc) from exc
    finally:
        if was_enabled:
            gc.enable()


def parse(text: str, path: str) -> ParsedModule:
    with guard(path):
        return ParsedModule(path, text)


def _is_layer(node: cst.FunctionDef) -> bool:
    """A layer keeping its own cache (`return out, cache` at the end): compiled even when
    another function calls it, since its backward is wanted too."""
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else []
    last = body[-1] if body else None
    return isinstance(last, cst.SimpleStatementLine) and isinstance(last.body[-1], cst.Return) \
        and returns_cache(last.body[-1].value)


def select_functions(parsed: ParsedModule, names: Optional[Sequence[str]]) -> list[cst.FunctionDef]:
    """Top-level functions by name.  When `names` is None: all of them in source order, but
    for helpers -- functions another function of the file calls, whose code is inlined into
    their callers (they may return a tuple or an array); name one to differentiate it alone."""
    available = parsed.scope.functions
    if names is None:
        helpers = {h for name, node in available.items() if _may_call(parsed, name, node)
                   for h in called_functions(parsed.scope, node.body) if h != name}
        helpers |= backward_names(parsed)  # a primitive's backward (adgen/userrules.py)
        return [node for name, node in available.items()
                if name not in helpers or _is_layer(node)] or list(available.values())
    methods = {n: _method(parsed, n) for n in names if "." in n}
    missing = [n for n in names if n not in available and methods.get(n) is None]
    if missing:
        listed = ", ".join(available) or "none"
        raise AdgenError([Diagnostic(
            "AD402", f"no top-level function named '{n}' in {parsed.path}", parsed.path, 1, 1,
            help=f"{did_you_mean(n, list(available))}functions in {parsed.path}: {listed}")
            for n in missing])
    return [node for name, node in available.items() if name in names] + \
        [node for node in methods.values() if node is not None]  # source order, then methods


def _may_call(parsed: ParsedModule, name: str, node: cst.FunctionDef) -> bool:
    """Whether a function may call another function of the file: not when there is no
    other, nor when Python's own tree of it (cheaper to walk than libcst's) calls none."""
    if len(parsed.scope.functions) < 2:
        return False
    outline = parsed.outline(node)
    return outline is None or any(f != name for f in outline.names
                                  if f in parsed.scope.functions)


def _method(parsed: ParsedModule, dotted: str) -> Optional[cst.FunctionDef]:
    """`Class.method`: a method defined in a top-level class of the file."""
    cls_name, _, name = dotted.partition(".")
    for stmt in parsed.module.body:
        if isinstance(stmt, cst.ClassDef) and stmt.name.value == cls_name:
            for item in stmt.body.body:
                if isinstance(item, cst.FunctionDef) and item.name.value == name:
                    return item
    return None


def resolve_wrt(fn_params: Sequence[str], defaults: set[str], wrt: Wrt) -> tuple[tuple[str, ...], bool, list[str]]:
    """(wrt names in parameter order, single-result flag, unknown names).

    `None` means every parameter without a default (parameters with defaults are treated as
    constants, e.g. hyperparameters); a string means that one parameter (and a single result);
    a sequence means those parameters (and a tuple result, even of one)."""
    if wrt is None:
        chosen = [p for p in fn_params if p not in defaults]
        single = len(chosen) == 1
    elif isinstance(wrt, str):
        chosen, single = [wrt], True
    else:
        chosen, single = list(wrt), False
    unknown = [w for w in chosen if w not in fn_params]
    ordered = tuple(p for p in fn_params if p in set(chosen))
    return ordered, single, unknown


Facts = Optional[dict[str, dict[str, Fact]]]  # function name -> parameter -> fact


def _param_info(node: cst.FunctionDef, parsed: Optional[ParsedModule] = None,
                facts: Facts = None) -> tuple[list[str], set[str]]:
    """Parameter names, and those that are constants unless named in `wrt`: parameters with
    defaults, and (with `parsed`, to read annotations and facts) integer and boolean ones."""
    params = all_params(node)
    constant = {p.name.value for p in params if p.default is not None}
    if parsed is not None:
        constant |= set(_integral_params(parsed, node, facts))
    return [p.name.value for p in params], constant


def declared_types(parsed: ParsedModule, node: cst.FunctionDef,
                   facts: Facts = None) -> dict[str, Optional[VType]]:
    """Each parameter's type: from `facts` (which take precedence: the caller merged them),
    else from its annotation, else None (not known)."""
    given = (facts or {}).get(node.name.value, {})
    found = {}
    for p in all_params(node):
        name = p.name.value
        found[name] = given[name].type if name in given else parse_annotation(
            parsed.code(p.annotation.annotation) if p.annotation else None)
    # lists held by members (self.weights) are sequences too: their entries are members
    held = {name: fact.type for name, fact in given.items() if fact.type.kind == "sequence"}
    for m in members_of(parsed, node, sequences({**held, **found})):  # typed like a parameter
        found.setdefault(m.name, given[m.name].type if m.name in given else None)
    found.update({name: t for name, t in held.items() if name not in found})
    return found


def _integral_params(parsed: ParsedModule, node: cst.FunctionDef,
                     facts: Facts = None) -> list[str]:
    """Parameters that are integers or booleans ("int N", int, or such arguments): never
    differentiable."""
    return [name for name, t in declared_types(parsed, node, facts).items()
            if t is not None and not t.differentiable]


def check(parsed: ParsedModule, nodes: Sequence[cst.FunctionDef], wrt: Wrt,
          facts: Facts = None) -> list[Diagnostic]:
    """Every diagnostic for these functions: the fence's, and unknown `wrt` names."""
    diagnostics: list[Diagnostic] = []
    for node in nodes:
        for d in Fence(parsed, node).check():  # a helper's problems are reported once
            if d not in diagnostics:
                diagnostics.append(d)
        names, defaults = _param_info(node)
        integral = set(_integral_params(parsed, node, facts))
        chosen = resolve_wrt(names, defaults | integral, wrt)[0]
        for name in set(chosen) & integral:
            diagnostics.append(parsed.diagnostic(
                "AD405", node.name, f"parameter '{name}' of '{node.name.value}' is an integer "
                "or boolean value: it has no gradient",
                help="leave it out of wrt (labels and indices are constants)"))
        members = members_of(parsed, node, sequences(declared_types(parsed, node, facts)))
        groups = [g for g in member_groups(ir.Function(
            node.name.value, (), (), ir.Num(0.0), "", (), "", ir.Pos(1, 1),
            members=tuple(members))) if g not in names]
        for name in resolve_wrt(names + groups, defaults, wrt)[2]:
            read = next((m for m in members if m.path[-1][1] == name), None)
            hint = "" if read is None else (
                f"'{name}' is read out of '{read.param}' (as {_member_text(read)}): give "
                f"wrt='{read.param}' for a gradient by key or attribute name; ")
            diagnostics.append(parsed.diagnostic(
                "AD401", node.name, f"function '{node.name.value}' has no parameter '{name}' "
                "to differentiate with respect to",
                help=f"{hint or did_you_mean(name, names)}its parameters are: "
                f"{', '.join(names) or 'none'}"))
    return diagnostics


def _member_text(member: ir.Member) -> str:
    """How the code reads a member: self.W, params['W1'], p['layer']['b'], pair[0]."""
    text = member.param
    for kind, key in (step[:2] for step in member.path):
        text += f".{key}" if kind == "attr" else f".get({key!r})" if kind == "get" else \
            f"[{key!r}]"
    return text


def differentiate(parsed: ParsedModule, node: cst.FunctionDef, wrt: Wrt,
                  facts: Facts = None) -> ir.Gradient:
    staged, inferred = stage_function(parsed, node, declared_types(parsed, node, facts))
    given = {**(facts or {}).get(node.name.value, {}), **inferred}
    inputs = staged.inputs
    fn = fuse(dataclasses.replace(staged, facts=tuple(
        (name, given[name]) for name in inputs
        if name in given and given[name].origin != "annotation")))
    if inferred:
        facts = {**(facts or {}), node.name.value: given}
    names, defaults = _param_info(node, parsed, facts)
    groups = member_groups(fn)
    if names and names[0] == "self":  # a method: its object is not differentiated
        defaults = defaults | {"self"}
    chosen, single, _ = resolve_wrt(names + [g for g in groups if g not in names], defaults,
                                    wrt)
    if wrt is None:  # `params` of net.params['W1'] when net itself is differentiated: in it
        chosen = tuple(w for w in chosen if w in names or groups[w][0][1].param not in chosen)
        single = len(chosen) == 1
    counts = [w for w in chosen if w in inferred and not inferred[w].type.differentiable]
    if counts:  # range(n): the code itself says n is an integer
        raise AdgenError([parsed.diagnostic(
            "AD405", node.name, f"parameter '{w}' of '{node.name.value}' is an integer "
            f"({inferred[w].origin}): it has no gradient",
            help="leave it out of wrt (sizes and counts are constants)") for w in counts])
    # a member compared with a string (mode = bn_param['mode']; mode == 'train') is a
    # string: no gradient, as an int entry has none
    strings = {a.id for stmt in ir.assigns(fn.body) if stmt.prim in ("eq", "ne") and
               any(isinstance(o, ir.Lit) and o.text[:1] in "'\"" for o in stmt.args)
               for a in stmt.args if isinstance(a, ir.Name)}
    expanded, outputs = [], []
    for w in chosen:
        if w not in groups:
            expanded.append(w)
            outputs.append((w, None))
            continue
        # (an entry read through a .get whose default reads a local, absent from the call:
        # no type, no entry in the gradient -- the default's gradient flows where it came from)
        parts = tuple((path, m.name) for path, m in groups[w]
                      if fn.types.get(m.name, FLOAT).differentiable and
                      m.name not in strings and not (
                          m.late and (fn.types.get(m.name) is None or
                                      fn.types[m.name].kind == "unknown")))
        if parts or wrt is not None:
            expanded += [name for _, name in parts]
            outputs.append((w, parts))
    activity = analyze(fn, tuple(expanded))
    refused = refused_operands(fn.body, activity.varied, [])
    if refused:
        raise AdgenError([_refused_operand(parsed, stmt, [
            w for w in expanded if any(a.id in analyze(fn, (w,)).varied for a in stmt.args
                                       if isinstance(a, ir.Name))]) for stmt in refused])
    reserved = set(parsed.scope.consts) | set(parsed.scope.functions) | set(parsed.scope.others)
    grad = reverse(fn, tuple(expanded), activity, reserved)
    grad = dataclasses.replace(grad, single=single and len(outputs) == 1,
                               outputs=tuple(outputs))
    if fn.cache is not None:  # return out, cache: its backward reads only the cache
        from adgen.layers import lacking, static_inputs

        missing = lacking(grad)
        strings = static_inputs(grad, missing)  # (the backward takes them after the cache)
        missing = [n for n in missing if n not in strings]
        if missing:
            names = ", ".join(missing)
            raise AdgenError([parsed.diagnostic(
                "AD209", node.name, f"the backward pass of '{node.name.value}' needs "
                f"{names}, which the cache it returns does not hold (its backward takes "
                "only dout, the cache and the strings it was given)",
                help=f"add {names} to the cache")])
    return grad


_GAMMA_FORMS = {
    "factorial": "math.factorial(n) is math.gamma(n + 1)",
    "comb": "math.comb(n, k) is math.gamma(n + 1) / (math.gamma(k + 1) * "
            "math.gamma(n - k + 1))",
    "perm": "math.perm(n, k) is math.gamma(n + 1) / math.gamma(n - k + 1)"}


def _refused_operand(parsed: ParsedModule, stmt: ir.Assign, inputs: list) -> Diagnostic:
    """AD306: math.factorial (comb, perm) of a value that depends on the differentiated
    `inputs`; AD305: a step (`.astype(bool)`) of one."""
    rule = REGISTRY[stmt.prim]
    spelled = rule.spellings[0]
    where = f" (in {stmt.via})" if stmt.via else ""
    named = ", ".join(f"'{w}'" for w in inputs)
    plural = "s" if len(inputs) > 1 else ""
    if not rule.integer:
        from adgen.rules.arrays import dtype_rounds

        dtype = dict(stmt.attrs).get("dtype")
        return Diagnostic(
            "AD305", f"cannot differentiate '{spelled}({dtype})' here: its operand depends on "
            f"the differentiated input{plural} {named}{where}, and "
            f"{rule.step(dict(stmt.attrs))}", parsed.path, stmt.pos.line, stmt.pos.col,
            help=("compute in float64 (.astype(float))" if dtype_rounds(dtype) else
                  "for a mask, compare instead (x > 0); a step meant to stop the gradient is "
                  "np.trunc(x) or np.floor(x)") +
            f"; else leave {named} out of wrt (--wrt, or wrt= in the API)",
            source_line=parsed.line_text(stmt.pos.line))
    return Diagnostic(
        "AD306", f"'{spelled}' takes integers, and its operand here depends on the "
        f"differentiated input{plural} {named}{where}: it has no derivative",
        parsed.path, stmt.pos.line, stmt.pos.col,
        help=f"if {named} {'are integers' if plural else 'is an integer'}, leave "
        f"{'them' if plural else 'it'} out of wrt (--wrt, or wrt= in the API); for real "
        f"operands, {_GAMMA_FORMS[stmt.prim]}, which has a derivative",
        source_line=parsed.line_text(stmt.pos.line))


def member_groups(fn: ir.Function) -> dict[str, list]:
    """The structured inputs a gradient can be asked for: a parameter read by keys, items
    or attributes (`params` of `params['W1']`, `net` of `net.W`), or an attribute of one
    read by keys (`params` of `self.params['W1']`), each with its members by path."""
    groups: dict[str, list] = {}
    for m in fn.members:
        # every member of its parameter, by its path of keys: params['W1'] ('W1',), a tuple
        # parameter's items (0,), net.W ('W',), p['layer']['W'] ('layer', 'W'); a
        # parameter read through members is only ever differentiated through them
        groups.setdefault(m.param, []).append((tuple(step[1] for step in m.path), m))
        if len(m.path) >= 2 and m.path[0][0] == "attr" and m.path[1][0] in ("key", "get"):
            # self.params['W1']: `params` names the dict on its own too
            groups.setdefault(m.path[0][1], []).append(
                (tuple(step[1] for step in m.path[1:]), m))
    return groups


def compile_functions(parsed: ParsedModule, nodes: Sequence[cst.FunctionDef], wrt: Wrt, *,
                      command: str, value_and_grad: bool = False,
                      layer: bool = False, facts: Facts = None,
                      notes: bool = False, inplace: bool = False) -> Compiled:
    """Compile these functions of a parsed file; `facts` give parameter types beyond the
    annotations (adgen/facts.py), per function name.  With `notes`, the lens's notes on
    where backprop can leak (adgen/leaks/notes.py) too, and as comments in the module.
    `inplace`: the arguments' float arrays have one dtype, so elementwise steps may compute
    into arrays nothing reads again (adgen/inplace.py)."""
    with guard(parsed.path):
        diagnostics = check(parsed, nodes, wrt, facts)
        if diagnostics:
            raise AdgenError(diagnostics)
        grads, problems = [], []
        for node in nodes:  # every function's problems in one report
            try:
                grads.append(differentiate(parsed, node, wrt, facts))
            except InternalError:
                raise
            except AdgenError as exc:
                problems += [d for d in exc.diagnostics if d not in problems]
        if problems:
            raise AdgenError(problems)
        if inplace:
            grads = [dataclasses.replace(g, inplace=True) for g in grads]
        taps, found = None, []
        if notes:
            from adgen.leaks.notes import NotesTap
            from adgen.leaks.notes import notes as lens_notes

            taps = [NotesTap(g) for g in grads]
            found = [d for g in grads for d in lens_notes(g, parsed)]
        source = emit_module(grads, source_path=parsed.path, command=command,
                             value_and_grad=value_and_grad, layer=layer, taps=taps)
        return Compiled(source, grads, parsed, found)


def compile_source(text: str, path: str, *, functions: Optional[Sequence[str]] = None,
                   wrt: Wrt = None, command: Optional[str] = None,
                   value_and_grad: bool = False) -> Compiled:
    """Compile functions of a source text (all top-level ones by default)."""
    parsed = parse(text, path)
    with guard(path):
        nodes = select_functions(parsed, functions)
    if command is None:
        command = default_command(path, functions, wrt)
    return compile_functions(parsed, nodes, wrt, command=command, value_and_grad=value_and_grad)


def default_command(path: str, functions: Optional[Sequence[str]], wrt: Wrt,
                    shapes: str = "") -> str:
    """The CLI command that regenerates the same module (for the generated header)."""
    parts = ["adgen", path]
    for name in functions or ():
        parts += ["-f", name]
    if isinstance(wrt, str):
        parts += ["--wrt", wrt]
    elif wrt is not None:
        parts += ["--wrt", ",".join(wrt) + ("," if len(wrt) == 1 else "")]
    if shapes:
        parts += ["--shapes", f"'{shapes}'"]
    return " ".join(parts)
