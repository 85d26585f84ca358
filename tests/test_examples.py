"""Golden files: each example's generated module is committed beside it and must be exactly
what adgen generates now (`pytest --update-golden` rewrites them); every example runs."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest

from adgen import cli
from conftest import ROOT

EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.py") if not p.stem.endswith("_grad"))
GOLDEN = [p for p in EXAMPLES if p.with_name(p.stem + "_grad.py").exists()]


def test_every_example_has_a_committed_generated_module():
    assert EXAMPLES and GOLDEN == EXAMPLES


@pytest.mark.parametrize("example", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_generated_module_is_up_to_date(example, update_golden, monkeypatch):
    monkeypatch.chdir(ROOT)
    source = f"examples/{example.name}"
    golden = f"examples/{example.stem}_grad.py"
    err = io.StringIO()
    if update_golden:
        assert cli.main([source, "-o", golden], stderr=err) == 0, err.getvalue()
    status = cli.main([source, "-o", golden, "--check"], stderr=err)
    assert status == 0, (f"{golden} is stale; regenerate with: adgen {source} -o {golden} "
                         f"(or pytest --update-golden)\n{err.getvalue()}")


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(example):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # the adgen under test
    result = subprocess.run([sys.executable, str(example)], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("example", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_generated_module_is_standalone_and_verifies(example, monkeypatch):
    """The committed module runs without adgen importable, and --verify passes.  (A module
    that imports the primitives its example declares, `from declared import logsumexp`,
    imports that example, which imports adgen for `@adgen.primitive`: it is run with the
    example importable, and itself imports nothing of adgen.)"""
    golden = example.with_name(example.stem + "_grad.py")
    text = golden.read_text(encoding="utf-8")
    assert "import adgen" not in text and "from adgen" not in text
    declares = f"from {example.stem} import " in text
    code = ("import sys; sys.path.insert(0, 'examples')\n" if declares else
            "import sys; sys.modules['adgen'] = None\n") + \
        f"exec(compile(open({str(golden)!r}).read(), 'g', 'exec'), {{}})"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr
    monkeypatch.chdir(ROOT)
    err = io.StringIO()
    status = cli.main([f"examples/{example.name}", "--verify"], stdout=io.StringIO(), stderr=err)
    assert status == 0, err.getvalue()
    assert "MISMATCH" not in err.getvalue()
