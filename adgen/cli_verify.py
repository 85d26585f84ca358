"""`adgen FILE --verify`: import FILE and check each generated gradient against it.

This is the one place the command line runs the user's code, so anything may happen there:
an exception, `sys.exit()` at import, Ctrl-C.  Verification that could not run is reported
("verification could not run: ...", with what to do) and counts as a failure, never as a
pass; KeyboardInterrupt is left to the caller (exit status 130).  Everything the user's
code prints goes to standard error, never into the module on standard output.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import os
import sys
from typing import TextIO

from adgen.compiler import Compiled
from adgen.inference import sampling_types
from adgen.verify import by_position, check, first_of, keyword_only_of, sample_point


class CouldNotRun(Exception):
    """Verification could not run: what happened, and what to do about it."""

    def __init__(self, what: str, help: str):
        super().__init__(what)
        self.what = what
        self.help = help


def verify_file(path: str, compiled: Compiled, point: tuple[list, dict],
                stderr: TextIO) -> bool:
    """Check every gradient of `compiled` against FILE's functions at `point` (positional
    and named values; the rest from defaults or a reproducible random draw); the reports
    go to `stderr`.  True when every gradient passed."""
    with contextlib.redirect_stdout(stderr):  # the user's output is not the module
        try:
            module = _import_file(path)
        except CouldNotRun as exc:
            _report(stderr, path, exc)
            return False
        namespace: dict = {}
        sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
        try:  # `from FILE import f, f_backward`: the primitives FILE declares
            exec(compile(compiled.source, f"<adgen: {path}>", "exec"), namespace)
        except ImportError as exc:
            _report(stderr, path, CouldNotRun(f"the generated code cannot import: {exc}",
                                              "run adgen from where FILE is importable"))
            return False
        finally:
            sys.path.pop(0)
        ok = True
        for grad in compiled.gradients:
            name = grad.function.name
            try:
                report = _check_one(module, namespace[f"{name}_grad"], grad, point,
                                    compiled.source)
            except CouldNotRun as exc:
                _report(stderr, f"{path}: {name}", exc)
                ok = False
                continue
            stderr.write(report.format() + "\n")
            ok = ok and report.ok
    return ok


def _report(stderr: TextIO, where: str, exc: CouldNotRun) -> None:
    stderr.write(f"adgen: error: {where}: verification could not run: {exc.what}\n"
                 f"    help: {exc.help}\n")


def _import_file(path: str):
    """FILE as a module (not `__main__`: its `if __name__ == "__main__":` part does not
    run), with its directory on sys.path for its own imports."""
    name = "adgen_verify_" + os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, os.path.abspath(path))
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        spec.loader.exec_module(module)
    except KeyboardInterrupt:
        raise
    except SystemExit as exc:
        raise CouldNotRun(f"importing {path} called sys.exit({_exit_code(exc)})",
                          "--verify imports FILE, and so runs it: move the script part of "
                          "FILE under `if __name__ == \"__main__\":`") from None
    except BaseException as exc:  # noqa: BLE001 - the user's file failed to run
        raise CouldNotRun(f"importing {path} raised {_describe(exc)}",
                          "--verify imports FILE, and so runs it: it must import without "
                          "errors (generating code without --verify does not run it)") \
            from None
    finally:
        sys.path.pop(0)
    return module


def _check_one(module, grad_fn, grad, point: tuple[list, dict], source: str):
    """The report for one function; CouldNotRun when it or its gradient cannot be run."""
    fn = grad.function
    forward = forward_function(module, fn)
    positional, named = point
    try:
        values = point_values(forward, fn, positional, named)
        return check(forward, grad_fn, grad, values, grad_source=source)
    except KeyboardInterrupt:
        raise
    except SystemExit as exc:
        raise CouldNotRun(f"the function called sys.exit({_exit_code(exc)})",
                          "a function --verify checks must return a value, not exit") from None
    except BaseException as exc:  # noqa: BLE001 - report, do not crash
        help = ("choose another point with --at" if positional or named else
                "give a point where the function and its gradient evaluate, with --at")
        if isinstance(exc, (IndexError, ValueError, TypeError)) and fn.types:
            # arrays drawn at sizes the code does not tie together (b[f] for f in range(F))
            help += (", or the parameters' shapes with --shapes (the generated module's header "
                     "says what adgen assumed)")
        raise CouldNotRun(_describe(exc), help) from None


def point_values(forward, fn, positional: list, named: dict) -> list:
    """The arguments at which to check (or review) `fn`: the values given (positional and
    by name), defaults, and a reproducible random draw for the rest."""
    params = [p.name for p in fn.params]
    fixed = {i: _default_value(p.default) for i, p in enumerate(fn.params)
             if p.default is not None}
    fixed.update(enumerate(positional))
    fixed.update({params.index(k): v for k, v in named.items() if k in params})
    sampled = forward if not fn.keeps_cache else first_of(forward)  # (out, cache): out
    sampled = by_position(sampled, params, keyword_only_of(fn))  # def f(w, *, l2=1e-4)
    return sample_point(sampled, len(params), fixed=fixed, types=sampling_types(fn))


def forward_function(module, fn):
    """The user's function `fn` names in the imported FILE; CouldNotRun if it is not one."""
    forward = getattr(module, fn.name, None)
    if callable(forward):
        return forward
    owners = [c.__name__ for c in vars(module).values()
              if isinstance(c, type) and c.__module__ == module.__name__ and
              callable(vars(c).get(fn.name))]
    if owners:
        raise CouldNotRun(f"{owners[0]}.{fn.name} is a method: --verify calls functions, and "
                          f"cannot build a {owners[0]} to call it on",
                          f"check it from Python, on your object: adgen.check_grad(obj."
                          f"{fn.name}, ...) (the command line generated its gradient)")
    raise CouldNotRun(f"after importing, {fn.name} is not a function but "
                      f"{type(forward).__name__}",
                      f"keep the name {fn.name} bound to the function adgen compiles")


def _exit_code(exc: SystemExit) -> str:
    return "" if exc.code is None else repr(exc.code)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _default_value(text: str):
    """A parameter's default from its source text: an int stays an int (a trip count,
    `range(steps)`), anything else is a float."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return float(text)
    return value if type(value) is int else float(value)
