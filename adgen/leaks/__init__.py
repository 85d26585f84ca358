"""The lens: where backprop leaks, at the user's own line (docs/lens.md).

Backprop is a leaky abstraction: a saturated sigmoid or tanh, a dead ReLU, a product over the
steps of a recurrent loop, a clip whose gradient is zero where the error is large, a nan.
adgen has the backward pass as code, line by line, so it can say which line kills a
gradient:

    report = adgen.lens(loss)(X, W1, b1, W2, b2, y)   # run it, instrumented
    print(report)                                      # a table, then the findings
    report.ok, report.findings                         # [Finding(kind, line, figure, ...)]

    adgen model.py --lens                              # without running: notes (AD6nn)

The lens is a consumer of the IR beside emit (docs/design.md): `patterns` finds the sites in
an `ir.Gradient`, `notes` names them without running anything, `instrument` emits the same IR
as a separate function with recording calls, `recorder` measures when that runs, and `report`
judges.  Normally generated code is never changed.  numpy is imported when the lens runs.
"""

from __future__ import annotations

import linecache
from typing import Callable

from adgen.diagnostics import AdgenError
from adgen.leaks.report import KINDS, Finding, Measurement, Report
from adgen.wrt import Wrt


class Lens:
    """`adgen.lens(f, wrt)`: call it with `f`'s arguments (and, for an array output, the
    upstream gradient, as `adgen.vjp` takes it) to get a `Report`."""

    def __init__(self, f: Callable, wrt: Wrt = None):
        from adgen import api

        self.f, self.wrt = f, wrt
        self.arrays = api.is_array_function(f)
        if self.arrays:
            api._fence(f, api._normalize_wrt(f, wrt))  # problems in the code: now
        else:
            api.compile_function(f, wrt)
        self._cache: dict = {}

    def _compiled(self, args, kwargs):
        from adgen import api

        if self.arrays:
            return api.compile_function(self.f, self.wrt, args, kwargs)
        return api.compile_function(self.f, self.wrt)

    def _instrumented(self, args, kwargs):
        """The instrumented module for these arguments (compiled once per specialisation),
        its function, and the compiled gradient."""
        from adgen.emit import emit_module
        from adgen.leaks.instrument import instrument

        compiled = self._compiled(args, kwargs)
        key = id(compiled.gradient)
        if key not in self._cache:
            grad = compiled.gradient
            module = emit_module([grad], source_path=grad.function.path,
                                 command=f"adgen.lens({grad.function.name})")
            inst = instrument(grad, module)
            filename = f"<adgen: {inst.name} from {grad.function.path}>"
            linecache.cache[filename] = (len(inst.source), None,
                                         inst.source.splitlines(True), filename)
            namespace: dict = {"__name__": f"adgen_lens_{grad.function.name}"}
            exec(compile(inst.source, filename, "exec"), namespace)
            self._cache[key] = (compiled, inst, namespace[inst.name], filename)
        return self._cache[key]

    def source(self, *args, **kwargs) -> str:
        """The instrumented module the lens runs for these arguments."""
        try:
            return self._instrumented(args, kwargs)[1].source
        except AdgenError as exc:
            raise exc.with_traceback(None) from None

    def __call__(self, *args, **kwargs) -> Report:
        import numpy as np

        from adgen.leaks.recorder import Nonfinite, Recorder
        from adgen.leaks.report import judge
        from adgen import api

        try:
            compiled, inst, function, filename = self._instrumented(args, kwargs)
        except AdgenError as exc:
            raise exc.with_traceback(None) from None
        recorder = Recorder(inst.probes)
        value = gradients = None
        error = ""
        with np.errstate(all="ignore"):  # the report says where the first nan/inf is
            try:
                value, gradients = function(recorder, *args, **kwargs)
            except (OverflowError, ZeroDivisionError, ValueError) as exc:
                line = _raised_at(exc, filename, inst.name)
                text = inst.source.splitlines()[line - 1].strip() if line else "raise"
                probe = inst.probe_at(line) if line else None
                domain = not isinstance(exc, ValueError) or "math." in text  # log(-1)
                if probe is None or text.startswith("raise") or not domain:
                    raise
                error = f"{type(exc).__name__}: {exc}"
                if recorder.first is None:  # what the exception stands for: inf or nan
                    forward = probe.kind in ("value", "gate", "relu")
                    name = probe.node.target if forward else " or ".join(probe.names)
                    recorder.first = Nonfinite(
                        inst.probes.index(probe), "forward" if forward else "backward",
                        float("nan") if isinstance(exc, ValueError) else float("inf"), 1, 1,
                        name, error)
        parsed, _ = api._source_of(self.f)
        return judge(compiled.gradient, parsed, inst, recorder, value, gradients, error)

    def __repr__(self) -> str:
        return f"<adgen.lens of {getattr(self.f, '__name__', self.f)!r}>"


def _raised_at(exc: BaseException, filename: str, name: str):
    """The line of the instrumented function that raised an exception itself (a `math`
    function, a division), or None: an exception from deeper down (the recorder, a helper)
    is not a value of the user's function."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return None
    code = tb.tb_frame.f_code
    return tb.tb_lineno if code.co_filename == filename and code.co_name == name else None


def lens(f: Callable, wrt: Wrt = None) -> Lens:
    """The lens on `f`: `adgen.lens(f, wrt)(*args)` runs the generated value-and-gradient at
    `args`, instrumented, and returns a `Report` whose `findings` say where the gradient
    leaks: "saturated", "dead-relu", "zeroed", "exploding", "vanishing", "nonfinite", each at
    the line of `f`'s source that causes it.  `wrt` as in `adgen.grad`."""
    try:
        return Lens(f, wrt)
    except AdgenError as exc:
        raise exc.with_traceback(None) from None


__all__ = ["lens", "Lens", "Report", "Finding", "Measurement", "KINDS"]
