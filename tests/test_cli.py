"""The command line tool: outputs, exit codes, --check, atomic -o, --verify, never a
traceback, never executing the user's file unless --verify."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from adgen import cli

GOOD = """\
import math

def f(x, y):
    return math.exp(x) * y

def g(a):
    return a ** 3
"""


def run(argv, cwd=None):
    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    if cwd:
        os.chdir(cwd)
    try:
        status = cli.main([str(a) for a in argv], stdout=out, stderr=err)
    finally:
        os.chdir(old)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(GOOD)
    return path


def test_prints_the_module_for_every_function(good):
    status, out, err = run([good])
    assert status == 0 and err == ""
    assert "def f_grad(x, y, df=1.0):" in out and "def g_grad(a, dg=1.0):" in out
    namespace: dict = {}
    exec(out, namespace)
    assert namespace["g_grad"](2.0) == 12.0


def test_select_functions_and_wrt(good):
    status, out, _ = run([good, "-f", "f", "--wrt", "y"])
    assert status == 0
    assert "def g_grad" not in out
    namespace: dict = {}
    exec(out, namespace)
    assert namespace["f_grad"](0.0, 5.0) == 1.0  # a single value for one wrt name
    status, out, _ = run([good, "-f", "f", "--wrt", "y,"])
    namespace = {}
    exec(out, namespace)
    assert namespace["f_grad"](0.0, 5.0) == (1.0,)  # 'y,' asks for a 1-tuple


def test_several_functions_by_name(good):
    status, out, _ = run([good, "-f", "g,f"])
    assert status == 0 and out.index("def f_grad") < out.index("def g_grad")  # source order
    # the header's command is normalised too, so --check does not depend on the -f order
    assert run([good, "-f", "g", "-f", "f"])[1] == out == run([good, "-f", "f", "-f", "g"])[1]
    assert run(["-f", "f", good])[0] == 0  # -f takes one value: FILE is not swallowed


def test_output_file_and_check(good, tmp_path):
    out_path = tmp_path / "model_grad.py"
    status, out, _ = run([good, "-o", out_path])
    assert status == 0 and out == ""
    text = out_path.read_text()
    assert status == 0
    assert run([good, "-o", out_path, "--check"])[0] == 0
    out_path.write_text(text + "# edited\n")
    status, _, err = run([good, "-o", out_path, "--check"])
    assert status == 1 and "stale" in err
    assert out_path.read_text() == text + "# edited\n"  # --check writes nothing
    missing = tmp_path / "missing_grad.py"
    assert run([good, "-o", missing, "--check"])[0] == 1
    assert not missing.exists()


def test_output_is_byte_identical_across_runs(good, tmp_path):
    outputs = {run([good])[1] for _ in range(3)}
    assert len(outputs) == 1
    status, _, _ = run([good, "-o", tmp_path / "a.py"])
    status, _, _ = run([good, "-o", tmp_path / "b.py"])
    # the header names the command, which names the output file: compare the code only
    a = (tmp_path / "a.py").read_text().split('"""', 2)[2]
    b = (tmp_path / "b.py").read_text().split('"""', 2)[2]
    assert a == b


def test_header_names_source_function_and_command(good):
    status, out, _ = run(["model.py", "-f", "f", "--wrt", "x,y"], cwd=good.parent)
    header = out.split('"""')[1]
    assert "model.py" in header and "f_grad" in header
    assert "adgen model.py -f f --wrt x,y" in header


def test_atomic_write_leaves_no_temporary_files(good, tmp_path):
    out_path = tmp_path / "model_grad.py"
    run([good, "-o", out_path])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.py", "model_grad.py"]


def test_output_keeps_permissions_symlinks_and_devices(good, tmp_path):
    real = tmp_path / "real_grad.py"
    real.write_text("old")
    real.chmod(0o640)
    link = tmp_path / "link_grad.py"
    link.symlink_to(real)
    assert run([good, "-o", link])[0] == 0
    assert link.is_symlink() and "def f_grad" in real.read_text()
    assert real.stat().st_mode & 0o777 == 0o640
    fresh = tmp_path / "fresh_grad.py"
    run([good, "-o", fresh])
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~_umask()
    assert run([good, "-o", os.devnull])[0] == 0
    piped = subprocess.run(f"adgen {good} -o /dev/stdout | head -1", shell=True,
                           capture_output=True, text=True)
    # (a raw docstring when the command in it is broken with backslashes: long paths)
    assert piped.stdout.startswith(('"""', 'r"""')) and "AD900" not in piped.stderr
    assert os.path.exists(os.devnull) and not os.path.isfile(os.devnull)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_diagnostics_exit_1_on_stderr(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f(x):\n    for i in range(2):\n        del x\n    return x\n")
    status, out, err = run([bad])
    assert status == 1 and out == ""
    assert f"{bad}:3:9: error AD101:" in err


def test_usage_errors_exit_2(good, tmp_path):
    assert run([])[0] == 2
    assert run([good, "--check"])[0] == 2  # --check needs -o
    assert run([good, "--at", "1"])[0] == 2  # --at needs --verify
    assert run([tmp_path / "nope.py"])[0] == 2
    assert run([good, "-f", "nope"])[0] == 2
    assert run([good, "--wrt", "z"])[0] == 2
    assert run([good, "--no-such-option"])[0] == 2


def test_a_file_without_functions_is_an_error(tmp_path):
    for name, text in [("empty.py", ""), ("const.py", "X = 1\n"),
                       ("methods.py", "class A:\n    def f(self, x):\n        return x\n")]:
        src = tmp_path / name
        src.write_text(text)
        status, out, err = run([src])
        assert status == 1 and out == "", err  # once: exit 0 and a module 'from empty.py: .'
        assert err.startswith(f"adgen: error: {src} defines no top-level function")


def test_check_says_when_out_does_not_exist_or_cannot_be_read(good, tmp_path):
    missing = tmp_path / "missing_grad.py"
    status, _, err = run([good, "-o", missing, "--check"])
    assert status == 1 and f"{missing} does not exist" in err and "stale" not in err
    assert f"adgen {good} -o {missing}" in err  # the command that generates it
    status, _, err = run([good, "-o", tmp_path, "--check"])  # a directory
    assert status == 1 and f"cannot read {tmp_path}" in err and "AD900" not in err
    garbled = tmp_path / "garbled_grad.py"
    garbled.write_bytes(b"\xff\xfe not utf-8")  # once an AD900 (UnicodeDecodeError)
    status, _, err = run([good, "-o", garbled, "--check"])
    assert status == 1 and "is stale" in err


def test_command_line_mistakes_have_no_made_up_position(good):
    status, out, err = run([good, "-f", "gg"])
    assert status == 2 and out == ""
    assert err.startswith(f"adgen: error AD402: no top-level function named 'gg' in {good}\n")
    assert "did you mean 'g'?" in err and "f, g" in err
    assert ":1:1:" not in err
    status, _, err = run([good, "-f", "f", "--wrt", "x,yy"])
    assert status == 2 and err.startswith("adgen: error AD401: ")
    assert "did you mean 'y'?" in err and f"{good}:" not in err
    status, _, err = run([good, "-f", "zzz"])
    assert "did you mean" not in err  # nothing close


def test_command_line_and_file_mistakes_together_exit_1(tmp_path):
    src = tmp_path / "mixed.py"
    src.write_text("def f(x, y):\n    return x + q\n")
    status, _, err = run([src, "--wrt", "z"])
    assert status == 1
    assert err.startswith("adgen: error AD401: ") and f"{src}:2:16: error AD201:" in err


def test_help_and_version():
    status, out, _ = run(["--help"])
    assert status == 0
    assert "never executes FILE" in " ".join(out.split())
    assert "--verify" in out and "exit status" in out
    status, out, _ = run(["--version"])
    assert status == 0 and out.startswith("adgen ")


def test_generation_never_executes_the_file(tmp_path):
    marker = tmp_path / "executed"
    src = tmp_path / "side_effect.py"
    src.write_text(textwrap.dedent(f"""\
        open({str(marker)!r}, "w").write("ran")

        def f(x):
            return x * x
        """))
    assert run([src])[0] == 0
    assert not marker.exists()
    assert run([src, "--verify"])[0] == 0
    assert marker.exists()  # --verify imports (runs) the file, as --help says


def test_verify_keeps_the_files_own_output_out_of_the_module(tmp_path):
    src = tmp_path / "noisy.py"
    src.write_text('print("hello from the module")\n\ndef f(x):\n    return x * x\n')
    status, out, err = run([src, "--verify"])
    assert status == 0 and "hello" not in out and "hello" in err


def test_verify_keeps_an_int_default_an_int(tmp_path):
    """--verify once turned every default into a float: `range(steps)` with steps=6 raised
    "'float' object cannot be interpreted as an integer"."""
    src = tmp_path / "newton.py"
    src.write_text("def newton_sqrt(a, steps=6):\n    x = a\n    for _ in range(steps):\n"
                   "        x = 0.5 * (x + a / x)\n    return x\n")
    status, _, err = run([src, "--verify"])
    assert status == 0 and "gradient ok" in err, err


def test_verify_point_errors(good, tmp_path):
    assert run([good, "--verify", "--at", "q=1"])[0] == 2  # no such parameter
    assert run([good, "--verify", "--at", "1,2,3"])[0] == 2  # more values than parameters
    assert run([good, "-f", ""])[0] == 2
    for bad in ("abc", "x=", "=1", "x=1=2", "1,,y=two"):  # once an AD900 (ValueError)
        status, _, err = run([good, "--verify", "--at", bad])
        assert status == 2 and err.startswith(f"adgen: error: --at {bad}: "), err
        assert "AD900" not in err and err.count("\n") == 1
    src = tmp_path / "logs.py"
    src.write_text("import math\n\ndef f(x):\n    return math.log(x)\n")
    status, _, err = run([src, "--verify", "--at", "0"])
    assert status == 1 and "raises ValueError" in err and "at the given point" in err


def test_verify_reports_on_stderr(good):
    status, out, err = run([good, "--verify", "--at", "0.5,2.0"])
    assert status == 0
    assert "def f_grad" in out
    assert "f(x=0.5, y=2)" in err and "proved" in err
    status, _, err = run([good, "--verify", "--at", "a=1.5", "-f", "g"])
    assert status == 0 and "g(a=1.5)" in err


def test_verify_fails_when_the_gradient_is_wrong(good, monkeypatch):
    """Break exp's rule (2 * out * g instead of out * g): --verify must say so and exit 1."""
    from adgen import ir
    from adgen.rules import REGISTRY, registry

    inst = REGISTRY["exp"].instance(1)
    wrong = ir.BinOp("*", ir.Num(2), ir.BinOp("*", ir.Name("out"), ir.Name("g")))
    monkeypatch.setitem(registry._INSTANCES, ("exp", 1), registry.Instance(
        inst.slots, inst.forward, (wrong,), inst.forward_text, ("2 * out * g",)))
    status, _, err = run([good, "-f", "f", "--verify", "--at", "0.5,2.0"])
    assert status == 1
    assert "MISMATCH" in err and "FAIL" in err and "differs" in err


def test_internal_errors_are_reported_not_raised(good, monkeypatch):
    from adgen import compiler

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(compiler, "emit_module", explode)
    status, out, err = run([good])
    assert status == 1
    assert "AD900" in err and "Traceback" not in err


def test_ctrl_c_while_compiling_exits_130_without_a_traceback(good, monkeypatch):
    from adgen import compiler

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(compiler, "emit_module", interrupt)
    status, out, err = run([good])
    assert status == 130 and out == "" and err == "adgen: interrupted\n"


def test_console_script_and_python_m(good):
    for argv in (["adgen", str(good)], [sys.executable, "-m", "adgen", str(good)]):
        result = subprocess.run(argv, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert "def f_grad" in result.stdout


DICT_LAYERS = """import numpy as np


def mlp_loss(layers, X):
    h = X
    for layer in layers:
        h = np.tanh(h @ layer["W"] + layer["b"])
    return np.sum(h ** 2)
"""


def test_a_list_of_dicts_needs_its_structure_and_takes_it_from_shapes(tmp_path):
    """Without --shapes, layer['W'] on a value nothing says is a dict is AD204 whose help
    gives the --shapes to write (it was an AD900 crash); with it, a list of dicts; a
    malformed `dict:` is a usage error saying the syntax."""
    path = tmp_path / "mlp.py"
    path.write_text(DICT_LAYERS)
    status, _, err = run([path])
    assert status == 1 and "AD204" in err and "AD900" not in err
    assert "--shapes 'layers=list:3,dict:W,b'" in err
    status, out, err = run([path, "--shapes", "layers=list:2,dict:W,b"])
    assert status == 0, err
    namespace: dict = {}
    exec(out, namespace)
    rng = np.random.default_rng(0)
    layers = [{"W": rng.normal(size=(3, 4)), "b": rng.normal(size=4)},
              {"W": rng.normal(size=(4, 2)), "b": rng.normal(size=2)}]
    dlayers, dX = namespace["mlp_loss_grad"](layers, rng.normal(size=(5, 3)))
    assert [list(g) for g in dlayers] == [["W", "b"]] * 2 and dX.shape == (5, 3)
    for bad in ("layers=list:2,dict:", "layers=list:dict:W", "layers=list:2,dict:W,W"):
        status, _, err = run([path, "--shapes", bad])
        assert status == 2 and "list:3,dict:W,b" in err, bad



KEYWORD_ONLY = """\
import numpy as np


def loss(w, x, *, l2=1e-4, b):
    r = w * x + b
    return r * r + l2 * w * w


def ridge(w, X, y, *, l2=1e-4):
    r = X @ w - y
    return np.sum(r * r) + l2 * np.sum(w * w)


def layer(x, W, *, alpha=0.1):
    h = x @ W
    return np.maximum(h, alpha * h)
"""


def test_keyword_only_parameters_stay_keyword_only(tmp_path):
    """The generated gradient keeps `*` (the upstream gradient after it); --wrt names a
    keyword-only parameter; --verify and --at name=value pass their values by keyword."""
    path = tmp_path / "kwonly.py"
    path.write_text(KEYWORD_ONLY)
    status, out, err = run([path, "-f", "loss"])
    assert status == 0 and err == ""
    assert "def loss_grad(w, x, *, l2=1e-4, b, dloss=1.0):" in out
    namespace: dict = {}
    exec(out, namespace)
    assert namespace["loss_grad"](0.3, 1.2, b=0.7)[2] == pytest.approx(2 * (0.36 + 0.7))
    status, out, _ = run([path, "-f", "loss", "--wrt", "w,l2"])
    assert status == 0 and "def loss_grad(w, x, *, l2=1e-4, b, dloss=1.0):" in out
    assert "return dw, dl2" in out
    status, out, err = run([path, "-f", "loss", "--verify", "--at", "w=0.3,x=1.2,b=0.7,l2=0.5"])
    assert status == 0 and "l2=0.5" in err and "gradient ok" in err
    status, out, err = run([path, "-f", "ridge", "--shapes", "w=D X=N,D y=N", "--verify"])
    assert status == 0 and "gradient ok" in err
    assert "def ridge_grad(w, X, y, *, l2=1e-4, dridge=1.0):" in out
    status, out, err = run([path, "-f", "layer", "--shapes", "x=N,D W=D,K", "--verify"])
    assert status == 0 and "gradient ok" in err
    assert "def layer_grad(x, W, *, alpha=0.1, dlayer):" in out
    status, out, _ = run([path, "-f", "layer", "--shapes", "x=N,D W=D,K", "--layer"])
    assert status == 0 and "def layer_forward(x, W, *, alpha=0.1):" in out
    status, out, err = run([path, "-f", "loss", "--lens"])
    assert status == 0 and "def loss_grad(w, x, *, l2=1e-4, b, dloss=1.0):" in out


def test_verify_of_a_method_says_it_needs_the_object(tmp_path):
    """`-f Net.loss --verify`: the command line generates the method's gradient but cannot
    build a Net to call it; it says so and where to check instead (it said 'loss is not a
    function but NoneType')."""
    path = tmp_path / "net.py"
    path.write_text("import numpy as np\n\n\nclass Net:\n    def loss(self, x):\n"
                    "        return np.sum(np.tanh(x) * self.scale)\n")
    status, out, err = run([path, "-f", "Net.loss", "--verify"])
    assert "def loss_grad(self, x" in out
    assert "Net.loss is a method" in err and "adgen.check_grad(obj.loss" in err
    assert status != 0
