"""The names generated code relies on are reserved (issue 15).

A generated module reads the user's names, the names it defines itself, and a few others:
the modules it imports, the helpers it defines, and builtins its own constructs call
(`reversed(range(T))`).  This test collects, from every example and every corpus function,
the names a generated function reads without defining them, checks that each is in
`adgen.naming.RUNTIME` (or is a builtin the user's own code called, such as `max`), and then
proves each RUNTIME name reserved: a local variable of that name is renamed and the
gradient stays right, a parameter of that name is AD205.
"""

from __future__ import annotations

import ast
import builtins
import textwrap

import numpy as np
import pytest

import adgen
from adgen import compiler
from adgen.diagnostics import AdgenError
from adgen.naming import RUNTIME
from conftest import ROOT
from corpus_loader import cases

# builtins a generated function calls only where the user's function called them
USER_BUILTINS = {"abs", "max", "min", "pow", "round", "int"}


def _free_names(module_source: str) -> set[str]:
    """Names read in the module's functions that neither the function nor the module
    defines."""
    tree = ast.parse(module_source)
    defined_at_top = {n.id for stmt in tree.body if isinstance(stmt, ast.Assign)
                      for n in stmt.targets if isinstance(n, ast.Name)}
    defined_at_top |= {stmt.name for stmt in tree.body if isinstance(stmt, ast.FunctionDef)}
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            defined_at_top |= {a.asname or a.name.split(".")[0] for a in stmt.names}
    free: set[str] = set()
    # the generated functions (the module's own helpers, _unbroadcast..., have their own
    # scope: a user's name cannot reach into them)
    for fn in (s for s in tree.body if isinstance(s, ast.FunctionDef)
               and not s.name.startswith("_")):
        local = {a.arg for a in fn.args.args + fn.args.kwonlyargs}
        for node in ast.walk(fn):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                local.add(node.id)
            elif isinstance(node, ast.comprehension):
                local |= {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
        for node in ast.walk(fn):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and \
                    node.id not in local:
                free.add(node.id)
    return free - (defined_at_top - RUNTIME)


def _generated_modules():
    for example in sorted((ROOT / "examples").glob("*_grad.py")):
        yield example.name, example.read_text()
    for case in cases():
        if case.shapes and any(k in case.shapes for k in ("list:", "tuple:", "dict:")):
            # a list of layers: the command line needs its length, the API its arguments
            yield case.id, adgen.source(case.function, *case.points(1)[0], wrt=case.wrt)
        else:
            yield case.id, adgen.source(case.function, wrt=case.wrt)


def test_every_name_generated_code_relies_on_is_reserved():
    seen: set[str] = set()
    for name, source in _generated_modules():
        free = _free_names(source)
        unexpected = free - RUNTIME - USER_BUILTINS - {"True", "False", "None"}
        assert not unexpected, f"{name}: generated code reads {sorted(unexpected)}"
        seen |= free
    # the enumeration is not vacuous: loops, helpers and modules all appear
    assert {"np", "math", "reversed", "range", "_unbroadcast"} <= seen


IDENTIFIERS = sorted(RUNTIME)


@pytest.mark.parametrize("name", [n for n in IDENTIFIERS if n not in ("math", "np", "numpy")])
def test_a_local_variable_named_like_a_runtime_name_is_renamed(name):
    """(A local named like a module, math, np or numpy, is AD205: test_diagnostics.py.)"""
    source = textwrap.dedent(f"""
        import numpy as np

        def f(x, y):
            {name} = x * y
            s = 0.0
            for t in range(2):
                s = s + np.sum({name})
            return s + np.max(x + y)
        """)
    compiled = compiler.compile_source(source, "t.py")
    assert f"    {name} = x * y" not in compiled.source  # renamed
    namespace: dict = {}
    exec(compiled.source, namespace)
    x, y = np.array([[1.0, 3.0], [2.0, -1.0]]), np.array([0.5, 2.0])
    dx, dy = namespace["f_grad"](x, y)
    mask = np.zeros((2, 2))
    mask[np.unravel_index(np.argmax(x + y), (2, 2))] = 1.0
    assert np.allclose(dx, 2 * y + mask) and np.allclose(dy, 2 * x.sum(axis=0) + mask.sum(0))


@pytest.mark.parametrize("name", IDENTIFIERS)
def test_a_parameter_named_like_a_runtime_name_is_rejected(name):
    source = f"def f(x, {name}):\n    return x * 2.0\n"
    with pytest.raises(AdgenError) as info:
        compiler.compile_source(source, "t.py")
    assert [(d.code, d.line, d.col) for d in info.value.diagnostics] == [("AD205", 1, 10)]


def test_runtime_names_are_real_names():
    for name in RUNTIME:
        assert name.isidentifier()
        assert name in dir(builtins) or name in ("math", "numpy", "np") or \
            name.startswith("_"), name
