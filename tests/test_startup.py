"""Start-up: generating code imports neither sympy nor numpy (docs/design.md, "What is imported
when").  Only verification needs sympy, and only array code numpy; each would add more to
`adgen FILE`'s start-up than all of adgen.  Each check runs in a fresh interpreter, since this
process has imported both long ago."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import textwrap

ROOT = pathlib.Path(__file__).resolve().parent.parent
HEAVY = ("sympy", "numpy", "adgen.verify", "adgen.symbolic", "adgen.page", "pygments")

# Prints, as the last line of stderr, which of HEAVY a piece of code left in sys.modules.
_REPORT = "import json, sys\n" \
    "print(json.dumps([m for m in {heavy!r} if m in sys.modules]), file=sys.stderr)\n"


def _run(code: str) -> tuple[str, list[str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", code + _REPORT.format(heavy=HEAVY)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    *_, last = result.stderr.strip().splitlines()
    return result.stdout, json.loads(last)


def test_the_command_line_tool_generates_code_without_sympy_or_numpy():
    # Exactly `python -m adgen examples/cs231n.py`, with a look at sys.modules at the end.
    out, loaded = _run(textwrap.dedent("""\
        import runpy, sys
        sys.argv = ["adgen", "examples/cs231n.py"]
        try:
            runpy.run_module("adgen", run_name="__main__", alter_sys=True)
        except SystemExit as exit:
            assert exit.code == 0, exit.code
        """))
    assert "def f_grad(x, y, df=1.0):" in out
    assert loaded == []


def test_the_library_computes_gradients_without_sympy_or_numpy_until_asked_to_verify(
        tmp_path):
    (tmp_path / "model.py").write_text(textwrap.dedent("""\
        import math

        def f(x, y):
            return (x + 1 / (1 + math.exp(-y))) / (1 / (1 + math.exp(-x)) + (x + y) ** 2)
        """))
    out, loaded = _run(textwrap.dedent(f"""\
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        import adgen, model
        dx, dy = adgen.grad(model.f)(3.0, -4.0)
        assert abs(dx - 2.0595698) < 1e-6 and abs(dy - 1.5922328) < 1e-6, (dx, dy)
        print(sorted(m for m in {HEAVY!r} if m in sys.modules))
        adgen.check_grad(model.f, 3.0, -4.0)
        """))
    assert out.strip() == "[]"  # after adgen.grad
    # check_grad (verification) loads the verifier and sympy; scalar code still needs no numpy
    assert "sympy" in loaded and "adgen.verify" in loaded


def test_generating_code_parses_only_the_templates_of_the_rules_it_uses():
    # Rules parse their templates on first use (docs/design.md, "What is imported when"):
    # generating the example parses a handful of the registry's rules, not all of them
    # (tests/test_rules.py checks every rule).
    out, _ = _run(textwrap.dedent("""\
        import contextlib, io, sys
        from adgen.cli import main
        from adgen.rules import REGISTRY, registry
        sys.argv = ["adgen", "examples/cs231n.py"]
        with contextlib.redirect_stdout(io.StringIO()):
            assert main() == 0
        print(len(registry._INSTANCES) + len(registry._SHAPED), len(list(REGISTRY)))
        """))
    parsed, rules = map(int, out.split())
    assert 0 < parsed <= 20 and rules > 200, (parsed, rules)
