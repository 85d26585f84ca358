"""The library API: `grad`, `value_and_grad`, `source`, `differentiable`, `check_grad`.

A function is compiled from its source file (found through `inspect`; the function's module
is not re-executed), once per `(function, wrt)`, and the generated module is executed in a
fresh namespace: the callables returned are the generated functions themselves, with no
wrapper between the caller and the gradient code.  Problems are reported at the real file and
line of the user's function.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import linecache
import os
import types
import weakref
from typing import TYPE_CHECKING, Callable, Optional, Sequence

from adgen import facts, ir
from adgen.compiler import check as compiler_check
from adgen.compiler import compile_functions, declared_types, default_command, guard, parse
from adgen.diagnostics import AdgenError, Diagnostic
from adgen.emit import emit_module
from adgen.fold import aligned
from adgen.members import of_function as members_of
from adgen.members import value_of as member_value
from adgen.members import whole_uses
from adgen.params import all_params
from adgen.source import ParsedModule
from adgen.stage import uses_arrays
from adgen.wrt import Names, Wrt
from adgen.wrt import normalize as wrt_names

if TYPE_CHECKING:
    from adgen.verify import GradCheck  # imported by check_grad: the verifier needs sympy

_PARSED: dict[tuple[str, int], ParsedModule] = {}
# Keyed by the function object itself: code objects compare equal across files when their
# bodies are equal, though their module constants and annotations may differ.
_COMPILED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_ARRAYS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # fn -> uses arrays


@dataclasses.dataclass(frozen=True)
class CompiledFunction:
    """A compiled gradient: the generated module and the functions it defines."""

    function: types.FunctionType
    gradient: ir.Gradient
    source: str  # the module as `adgen.source` shows it (NAME_grad only)
    grad: Callable
    value_and_grad: Callable
    command: str = ""  # the command in the module's header (adgen FILE -f NAME ...)
    executed: str = ""  # the module that runs (NAME_grad and NAME_value_and_grad)
    filename: str = ""  # its name in linecache and tracebacks
    source_path: str = ""  # the file of the function, as the module's header names it
    _unguarded: dict = dataclasses.field(default_factory=dict, compare=False, repr=False)

    def unguarded(self, which: str) -> Optional[Callable]:
        """`grad` or `value_and_grad` without the argument checks at its top, for the
        dispatcher (adgen/specialize.py), whose key fixes what they check; emitted and
        compiled at first use.  None if that module is not the same but for the checks."""
        if "grad" not in self._unguarded:
            from adgen.specialize import without_guards
            name = self.function.__name__
            blanked = emit_module([self.gradient], source_path=self.source_path,
                                  command=self.command, value_and_grad=True, guards=False)
            found = without_guards(self.executed, blanked, self.filename,
                                   (f"{name}_grad", f"{name}_value_and_grad")) or {}
            self._unguarded["grad"] = found.get(f"{name}_grad")
            self._unguarded["value_and_grad"] = found.get(f"{name}_value_and_grad")
        return self._unguarded[which]


def _size_or_array(kind: Optional[facts.VType], differentiated: bool) -> bool:
    """Whether a defaulted parameter's argument is a fact of the specialisation: an array,
    or an int one not named in wrt (a size: stride=1); a number named in wrt stays a
    number (its default 1 is the point to differentiate at)."""
    return kind is not None and (kind.is_array or (kind.kind == "int" and not differentiated))


def _display_path(filename: str) -> str:
    try:
        rel = os.path.relpath(filename)
    except ValueError:
        return filename
    return filename if rel.startswith("..") else rel


def _fail(code: str, fn: object, message: str, help: str) -> AdgenError:
    code_obj = getattr(fn, "__code__", None)
    path = _display_path(code_obj.co_filename) if code_obj else "<unknown>"
    line = code_obj.co_firstlineno if code_obj else 1
    return AdgenError([Diagnostic(code, message, path, line, 1, help=help)])


def _source_of(fn: object) -> tuple[ParsedModule, object]:
    """The parsed module that defines `fn`, and `fn`'s definition in it."""
    if not isinstance(fn, types.FunctionType):
        raise _fail("AD403", fn, f"adgen differentiates Python functions, not "
                    f"{type(fn).__name__} objects", "pass a function defined with def")
    if fn.__name__ == "<lambda>":
        raise _fail("AD403", fn, "cannot differentiate a lambda",
                    "define the function with def in a file")
    filename = fn.__code__.co_filename
    lines = linecache.getlines(filename, fn.__globals__)
    if not lines:
        raise _fail("AD403", fn, f"the source of '{fn.__name__}' is not available (defined "
                    "in an interactive session or with exec?)",
                    "define the function in a .py file, or run the adgen command on a file")
    text = "".join(lines)
    key = (filename, hash(text))
    parsed = _PARSED.get(key)
    if parsed is None:
        parsed = _PARSED[key] = parse(text, _display_path(filename))
    first = fn.__code__.co_firstlineno
    for node in parsed.find_functions():
        if node.name.value != fn.__name__:
            continue
        starts = {parsed.pos(node).line} | {parsed.pos(d).line for d in node.decorators}
        if first in starts:
            return parsed, node
    raise _fail("AD403", fn, f"cannot find the definition of '{fn.__name__}' in its file "
                "(was the file changed after import?)", "reload the module")


def _normalize_wrt(fn: Callable, wrt: Wrt) -> Names:
    """`wrt` as parameter names (see adgen/wrt.py); a mistake in it is an AD401 at the
    function's definition."""

    def params() -> Sequence[str]:
        if not isinstance(fn, types.FunctionType):
            _source_of(fn)  # raises AD403: not a function
        code = fn.__code__
        return code.co_varnames[:code.co_argcount]

    def fail(message: str, help: str) -> AdgenError:
        parsed, node = _source_of(fn)
        return AdgenError([parsed.diagnostic("AD401", node.name, message, help=help)])

    return wrt_names(wrt, getattr(fn, "__name__", repr(fn)), params, fail)


def compile_function(fn: Callable, wrt: Wrt = None, args: Optional[Sequence] = None,
                     kwargs: Optional[dict] = None) -> CompiledFunction:
    """Compile (or fetch from the cache) the gradient of `fn`; `wrt` as in `grad`.  With
    `args` (and `kwargs`), the specialisation for those arguments: compiled once per
    `facts.pattern` of the values they give `fn`'s parameters."""
    wrt = _normalize_wrt(fn, wrt)
    try:
        per_function = _COMPILED.setdefault(fn, {})
    except TypeError:  # not weak-referenceable: not a Python function; _source_of says so
        per_function = {}
    values = None if args is None else _with_members(fn, bind_arguments(fn, args, kwargs or {}))
    upstream = _upstream(fn, args or (), kwargs or {})  # a dtype of its own: no in-place steps
    one_dtype = values is not None and facts.uniform_float(
        values if upstream is None else {**values, " upstream": upstream})
    key = (wrt, None if values is None else facts.pattern(values), one_dtype)
    cached = per_function.get(key)
    if cached is not None:
        return cached
    parsed, node = _source_of(fn)
    parsed.import_name = fn.__module__  # where generated code imports declared primitives
    given, shapes = None, ""
    if values is not None:
        annotated = declared_types(parsed, node)
        defaulted = {p.name.value for p in all_params(node) if p.default is not None}
        # hyperparameters stay numbers (reg=1e-3), but an int one is a size or a count
        # (stride=1, pad=1 of a convolution: range(H_out) needs it to be one)
        values = {k: v for k, v in values.items() if k not in defaulted or
                  _size_or_array(facts.kind_of(v), k in (wrt or ()))}
        given = {fn.__name__: facts.from_arguments(values, annotated,
                                                   whole_dicts(parsed, node, values))}
        shapes = facts.shapes_option(given[fn.__name__])
    command = default_command(parsed.path, [_selector(fn)], wrt, shapes) + (
        " --in-place" if one_dtype else "")
    compiled = compile_functions(parsed, [node], wrt, command=command, value_and_grad=True,
                                 facts=given, inplace=one_dtype)
    gradient = compiled.gradients[0]
    filename = f"<adgen: {fn.__name__}_grad from {parsed.path}>"
    linecache.cache[filename] = (len(compiled.source), None,
                                 compiled.source.splitlines(True), filename)
    run, run_name = compiled.source, filename
    if values is None:  # numbers: single-use intermediates computed where read (fold.py)
        folded = emit_module([gradient], source_path=parsed.path, command=command,
                             value_and_grad=True, fold=True)
        if folded != run and aligned(run, folded):  # a traceback shows the text that runs
            run, run_name = folded, f"<adgen: {fn.__name__}_grad from {parsed.path}, as run>"
            linecache.cache[run_name] = (len(run), None, run.splitlines(True), run_name)
    namespace: dict = {"__name__": f"adgen_generated_{fn.__name__}"}
    exec(compile(run, run_name, "exec"), namespace)
    shown = emit_module([gradient], source_path=parsed.path, command=command)
    result = CompiledFunction(
        function=fn, gradient=gradient, source=shown,
        grad=namespace[f"{fn.__name__}_grad"],
        value_and_grad=namespace[f"{fn.__name__}_value_and_grad"],
        command=command, executed=compiled.source, filename=filename,
        source_path=parsed.path,
    )
    per_function[key] = result
    return result


def _selector(fn: Callable) -> str:
    """How the command line selects the function: its name, or Class.method."""
    qualname = getattr(fn, "__qualname__", fn.__name__)
    return qualname if qualname.count(".") == 1 and "<" not in qualname else fn.__name__


def whole_dicts(parsed: ParsedModule, node, values: dict) -> frozenset:
    """The parameters given a dict of numbers and arrays that the function uses whole
    (passes to a helper, reads by a computed key): each entry is then a member.  The walk
    is remembered per function and dicts (every call's specialisation key asks)."""
    dicts = frozenset(name for name, value in values.items() if facts.dict_structure(value))
    if not dicts:
        return dicts
    cache = parsed.__dict__.setdefault("_whole_uses", {})
    hit = cache.get((id(node), dicts))
    if hit is None or hit[0] is not node:
        hit = cache[(id(node), dicts)] = (node, frozenset(whole_uses(node, set(dicts))))
    return hit[1]


def _with_members(fn: Callable, values: dict) -> dict:
    """The call's values with those of the members the function reads (`params['W1']`,
    every number or array of a list of layers `params[1][0]`: members.py), which the
    specialisation depends on too."""
    parsed, node = _source_of(fn)
    found = dict(values)
    code = fn.__code__
    defaulted = set(code.co_varnames[code.co_argcount - len(fn.__defaults__ or ()):
                                     code.co_argcount]) | set(fn.__kwdefaults__ or {})
    structures = {name: facts.structure_of(value) for name, value in values.items()
                  if isinstance(value, (list, tuple)) and name not in defaulted}
    structures.update({name: facts.dict_structure(values[name]) for name in
                       whole_dicts(parsed, node, values) if name not in defaulted})
    members = members_of(parsed, node, structures)
    for name, structure in structures.items():
        if structure is None:  # a list of strings, of dicts, or empty
            raise AdgenError([parsed.diagnostic(
                "AD103", node.name, f"'{fn.__name__}' was called with a "
                f"{type(values[name]).__name__} for parameter '{name}' that holds "
                "something other than numbers, numpy arrays and lists, tuples and dicts "
                "with string keys of them (or is empty, or nests more than "
                f"{facts.MAX_DEPTH} deep)",
                help=f"pass a list or tuple of arrays (a list of layers' (W, b) pairs, or "
                f"of dicts {{'W': W, 'b': b}}), or np.asarray({name})")])
    for m in members:
        try:
            found[m.name] = member_value(m, values)
        except (LookupError, AttributeError, TypeError, ValueError, SyntaxError):
            pass  # not there: the function itself will say so when it runs
    held = {m.name: facts.structure_of(found[m.name]) for m in members
            if isinstance(found.get(m.name), (list, tuple))}  # self.weights: a list of layers
    held = {name: structure for name, structure in held.items() if structure is not None}
    if held:  # (the list stays in the values: its structure is a fact, facts.from_arguments)
        for m in members_of(parsed, node, {**structures, **held}):
            if m.name not in found:
                try:
                    found[m.name] = member_value(m, values)
                except (LookupError, AttributeError, TypeError, ValueError, SyntaxError):
                    pass
    return found


def _upstream(fn: Callable, args: Sequence, kwargs: dict):
    """The upstream gradient a call gives (an extra positional argument, or a keyword that
    is not a parameter), or None."""
    code = fn.__code__
    if len(args) > code.co_argcount:
        return args[code.co_argcount]
    names = _parameter_names(fn)
    return next((v for k, v in kwargs.items() if k not in names), None)


def _parameter_names(fn: Callable) -> tuple:
    """Every named parameter of `fn`: the positional ones, then the keyword-only ones."""
    code = fn.__code__
    return code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]


def bind_arguments(fn: Callable, args: Sequence, kwargs: dict) -> dict:
    """What a call of the gradient gives `fn`'s parameters: positional arguments first (an
    extra one is the upstream gradient), then keywords (keyword-only parameters too), then
    the defaults (`__defaults__` and `__kwdefaults__`)."""
    code = fn.__code__
    positional = code.co_varnames[:code.co_argcount]
    names = _parameter_names(fn)
    values = dict(zip(positional, args))
    values.update({k: v for k, v in kwargs.items() if k in names})
    defaults = fn.__defaults__ or ()
    for name, default in zip(positional[len(positional) - len(defaults):], defaults):
        values.setdefault(name, default)
    for name, default in (fn.__kwdefaults__ or {}).items():
        values.setdefault(name, default)
    return {name: values[name] for name in names if name in values}


def is_array_function(fn: Callable) -> bool:
    """Whether `fn` works on arrays (numpy, `@`, indexing: stage.uses_arrays) and its
    annotations leave a parameter unknown: its gradient is then specialised on the
    arguments of each call (specialize.py)."""
    try:
        return _ARRAYS[fn]
    except (KeyError, TypeError):
        pass
    parsed, node = _source_of(fn)
    declared = declared_types(parsed, node)
    defaulted = {p.name.value for p in all_params(node) if p.default is not None}
    # annotations that give every parameter fix the facts: compiled once, as functions of
    # numbers are (the generated code checks the annotated shapes)
    found = uses_arrays(parsed, node, declared) and any(
        t is None for name, t in declared.items() if name not in defaulted)
    try:
        _ARRAYS[fn] = found
    except TypeError:
        pass
    return found


def _fence(fn: Callable, wrt: Names) -> None:
    """The problems that do not depend on the arguments, reported when the gradient is
    asked for (or the function decorated), not at its first call."""
    parsed, node = _source_of(fn)
    with guard(parsed.path):
        problems = compiler_check(parsed, [node], wrt)
    if problems:
        raise AdgenError(problems)


def _public(fn: Callable) -> Callable:
    """Re-raise adgen's errors from the API call itself, not from deep in the compiler."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except AdgenError as exc:
            raise exc.with_traceback(None) from None

    return wrapper


def _scalar_output(f: Callable, compiled: CompiledFunction, api: str) -> None:
    """grad and value_and_grad need a scalar output, as in JAX; layers go through vjp."""
    t = compiled.gradient.function.output_type
    if t is not None and t.is_array and t.shape != ():  # (a 0-d array is a scalar, as in JAX)
        raise _fail("AD404", f, f"{api} needs a scalar output, but '{f.__name__}' returns "
                    f"an array ({t.describe()})",
                    f"use adgen.vjp({f.__name__})(*args, dout) for the vector-Jacobian "
                    "product with an upstream gradient dout of the output's shape")


@_public
def grad(f: Callable, wrt: Wrt = None) -> Callable:
    """The gradient of `f`: a function of `f`'s parameters (and the upstream gradient,
    `d<output>=1.0`) returning the gradients for `wrt` in parameter order — a tuple, or a
    single value when `wrt` is one name (or `f` has a single parameter and `wrt` is None).

    `wrt`: a parameter name or position (as JAX's `argnums`: `0` is the first parameter,
    `-1` the last), a sequence of names or of positions (not mixed), or None for every
    parameter without a default value (parameters with defaults are constants unless
    named).  A name or position that `f` does not have raises AdgenError (AD401).

    For a function of arrays, the gradient is specialised on the arguments of each call
    (their kinds, ranks, dtypes and which dimensions are 1 or equal), as `jax.jit` traces
    on shapes: compiled at the first call with a new signature, then cached."""
    return _gradient(f, wrt, "grad", "adgen.grad")


def _unbound(f: Callable, wrt: Wrt) -> tuple[Callable, object, Wrt]:
    """A bound method (`net.loss`) as its function, its object (passed as the first
    argument: `self`), and `wrt` with positions counted after `self`; else `f` as it is."""
    if not isinstance(f, types.MethodType):
        return f, None, wrt

    def shifted(w):
        return w + 1 if isinstance(w, int) and not isinstance(w, bool) and w >= 0 else w

    if isinstance(wrt, (list, tuple)):
        wrt = tuple(shifted(w) for w in wrt)
    return f.__func__, f.__self__, shifted(wrt)


def _gradient(f: Callable, wrt: Wrt, which: str, api: Optional[str]) -> Callable:
    """NAME_grad or NAME_value_and_grad: the generated function itself for a function of
    numbers; a specialising dispatcher for a function of arrays.  `api` names the entry
    point that needs a scalar output (None: vjp, any output).  A bound method's gradient is
    that of its function with the object given (`wrt="params"` selects `self.params`)."""
    f, obj, wrt = _unbound(f, wrt)
    if obj is not None:
        return functools.partial(_gradient(f, wrt, which, api), obj)
    if not is_array_function(f):
        compiled = compile_function(f, wrt)
        if api is not None:
            _scalar_output(f, compiled, api)
        return getattr(compiled, which)
    _fence(f, _normalize_wrt(f, wrt))
    from adgen.specialize import dispatcher  # numpy: a function of arrays is called with them

    def specialize(args, kwargs):
        compiled = compile_function(f, wrt, args, kwargs)
        if api is not None:
            _scalar_output(f, compiled, api)
        return getattr(compiled, which), compiled.unguarded(which)

    return dispatcher(f, which, specialize,
                      lambda args, kwargs: compile_function(f, wrt, args, kwargs).source)


@_public
def value_and_grad(f: Callable, wrt: Wrt = None) -> Callable:
    """Like `grad`, but the function returns `(value, gradients)`; `wrt` as in `grad`."""
    return _gradient(f, wrt, "value_and_grad", "adgen.value_and_grad")


@_public
def vjp(f: Callable, wrt: Wrt = None) -> Callable:
    """The vector-Jacobian product of `f` (any output, e.g. a layer): a function of `f`'s
    parameters and the upstream gradient `d<output>` (the output's shape; a keyword-only
    argument when `f` has parameters with defaults or keyword-only parameters) returning the gradients for `wrt`, as
    `NAME_grad` in the generated module does.  `wrt` as in `grad`."""
    return _gradient(f, wrt, "grad", None)


@_public
def source(f: Callable, *args, wrt: Wrt = None, **kwargs) -> str:
    """The generated module for `f`, as `adgen FILE -f NAME` would print it; with arguments,
    the specialisation the gradient uses for them (a function of arrays).  `wrt` as in
    `grad` (positions become names: the header shows `--wrt x`)."""
    f, obj, wrt = _unbound(f, wrt)
    args = args if obj is None else (obj,) + tuple(args)
    if (args or kwargs) and is_array_function(f):
        return compile_function(f, wrt, args, kwargs).source
    return compile_function(f, wrt).source


def differentiable(f: Optional[Callable] = None, *, wrt: Wrt = None):
    """Decorator: compile the gradient when the function is defined.

    The function stays the plain forward function; it gains `.grad`, `.value_and_grad` (the
    generated functions) and `.source` (the generated module).  Use as `@differentiable`,
    `@differentiable(wrt=("x",))` or `@differentiable(wrt=0)`; `wrt` as in `grad`."""
    if f is None:
        return lambda fn: differentiable(fn, wrt=wrt)
    try:
        f.grad = _gradient(f, wrt, "grad", None)
        f.value_and_grad = _gradient(f, wrt, "value_and_grad", None)
        if is_array_function(f):
            from adgen.specialize import SourceView

            f.source = SourceView(lambda *args, **kwargs: source(f, *args, wrt=wrt, **kwargs))
        else:
            f.source = compile_function(f, wrt).source
    except AdgenError as exc:
        raise exc.with_traceback(None) from None
    return f


def check_grad(f: Callable, *args: float, wrt: Wrt = None, symbolic: bool = True,
               raise_on_failure: bool = True, **kwargs: float) -> GradCheck:
    """Check the generated gradient of `f` at `args` and `kwargs` (keyword-only parameters'
    values by name; parameters left out take their defaults)
    against central finite differences of `f` and against `sympy.diff`; returns the report,
    and raises AssertionError (with the report) when an input fails, so it can be used
    directly in a test.  `wrt` as in `grad`."""
    from adgen.verify import check

    f, obj, wrt = _unbound(f, wrt)
    args = args if obj is None else (obj,) + tuple(args)
    try:
        compiled = compile_function(f, wrt, args if is_array_function(f) else None,
                                    kwargs if is_array_function(f) else None)
    except AdgenError as exc:
        raise exc.with_traceback(None) from None
    bound = inspect.signature(f).bind(*args, **kwargs)
    bound.apply_defaults()
    report = check(f, compiled.grad, compiled.gradient, list(bound.arguments.values()),
                   grad_source=compiled.source if symbolic else None)
    if raise_on_failure and not report.ok:
        raise AssertionError("\n" + report.format())
    return report


def clear_cache() -> None:
    """Forget compiled functions (e.g. after editing a source file in a long session)."""
    _COMPILED.clear()
    _PARSED.clear()
    _ARRAYS.clear()


__all__: Sequence[str] = ["grad", "value_and_grad", "vjp", "source", "differentiable", "check_grad",
                          "compile_function", "clear_cache", "CompiledFunction"]
