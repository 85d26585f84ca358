"""Writing -o OUT (adgen/output.py through the command line): never over the input file,
failures of the system reported as such (not as AD900), and no temporary file left behind
when the write fails or is interrupted."""

from __future__ import annotations

import errno
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import textwrap

import pytest

from adgen import output

from test_cli import GOOD, run

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture
def src(tmp_path):
    path = tmp_path / "same.py"
    path.write_text(GOOD)
    return path


def leftovers(directory) -> list[str]:
    return sorted(p.name for p in pathlib.Path(directory).iterdir() if p.name.startswith(".adgen-"))


@pytest.mark.parametrize("spelling", ["same.py", "./same.py", "{dir}/same.py",
                                      "{dir}/../{base}/same.py"])
def test_output_that_is_the_input_is_refused(src, spelling):
    out = spelling.format(dir=src.parent, base=src.parent.name)
    for extra in ([], ["--check"]):
        status, stdout, err = run(["same.py", "-o", out, *extra], cwd=src.parent)
        assert status == 2, err
        assert "is the input file" in err and "same_grad.py" in err
    assert src.read_text() == GOOD


def test_output_that_links_to_the_input_is_refused(src, tmp_path):
    (tmp_path / "soft.py").symlink_to(src)
    os.link(src, tmp_path / "hard.py")
    for name in ("soft.py", "hard.py"):
        status, _, err = run([src, "-o", tmp_path / name])
        assert status == 2 and "is the input file" in err
    assert src.read_text() == GOOD and (tmp_path / "soft.py").is_symlink()
    assert output.same_file(str(src), str(tmp_path / "hard.py"))
    assert not output.same_file(str(src), str(tmp_path / "other.py"))


def test_writing_beside_the_input_is_fine(src, tmp_path):
    assert run([src, "-o", tmp_path / "same_grad.py"])[0] == 0


def assert_write_failure(status, out, err, path):
    assert status == 1, err
    assert out == ""
    assert err.startswith(f"adgen: error: cannot write {path}: ")
    assert err.count("\n") == 1  # one line, no traceback, not an internal error
    assert "AD900" not in err and "Traceback" not in err


def test_missing_directory_file_in_the_way_and_directory(src, tmp_path):
    for out, reason in [(tmp_path / "nodir" / "x_grad.py", "No such file or directory"),
                        (tmp_path / "same.py" / "x_grad.py", "Not a directory"),
                        (tmp_path, "Is a directory")]:
        status, stdout, err = run([src, "-o", out])
        assert_write_failure(status, stdout, err, out)
        assert reason in err
    assert leftovers(tmp_path) == []


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_disk_full_on_a_device():
    status, out, err = run([ROOT / "examples" / "cs231n.py", "-o", "/dev/full"])
    assert_write_failure(status, out, err, "/dev/full")
    assert "No space left on device" in err


@pytest.mark.parametrize("code", [errno.EACCES, errno.ENOSPC, errno.EROFS])
def test_system_failures_leave_out_as_it_was(src, tmp_path, monkeypatch, code):
    target = tmp_path / "same_grad.py"
    target.write_text("old")

    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "replace", fail)  # after the temporary file is written
    assert_write_failure(*run([src, "-o", target]), target)
    assert target.read_text() == "old" and leftovers(tmp_path) == []
    monkeypatch.undo()
    monkeypatch.setattr(tempfile, "mkstemp", fail)  # before: no temporary file at all
    status, out, err = run([src, "-o", target])
    assert_write_failure(status, out, err, target)
    assert os.strerror(code) in err


def test_ctrl_c_during_the_write_removes_the_temporary_file(src, tmp_path, monkeypatch):
    target = tmp_path / "same_grad.py"
    target.write_text("old")

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "chmod", interrupt)
    status, out, err = run([src, "-o", target])
    assert status == 130
    assert err.startswith("adgen: interrupted") and err.count("\n") == 1
    assert "Traceback" not in err
    assert target.read_text() == "old" and leftovers(tmp_path) == []


def test_signal_handlers_are_installed_only_around_the_write(src, tmp_path, monkeypatch):
    seen = []
    chmod = os.chmod

    def record(*args, **kwargs):
        seen.append((signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGHUP)))
        return chmod(*args, **kwargs)

    monkeypatch.setattr(os, "chmod", record)
    before = (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGHUP))
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under nohup
    try:
        assert run([src, "-o", tmp_path / "same_grad.py"])[0] == 0
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGHUP)) == before
    term, hup = seen[0]
    assert hup is signal.SIG_IGN  # an ignored signal stays ignored
    if before[0] is signal.SIG_DFL:
        assert callable(term) and term is not signal.SIG_DFL


KILLED_MID_WRITE = """\
import os, signal, sys, time
from adgen import cli

def killed(*args, **kwargs):
    os.kill(os.getpid(), signal.{signal})
    for _ in range(200):  # the handler runs soon, however loaded the machine is
        time.sleep(0.05)

os.chmod = killed
sys.exit(cli.main(sys.argv[1:]))
"""


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP", "SIGINT"])
def test_a_signal_during_the_write_leaves_no_temporary_file(src, tmp_path, name):
    target = tmp_path / "same_grad.py"
    target.write_text("old")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", KILLED_MID_WRITE.format(signal=name),
                             str(src), "-o", str(target)],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert "Traceback" not in result.stderr, result.stderr
    if name == "SIGINT":  # Ctrl-C: KeyboardInterrupt, status 130
        assert result.returncode == 130 and "interrupted" in result.stderr
    else:  # died of the signal, as the default action would have it
        assert result.returncode == -getattr(signal, name), result.stderr
        assert f"terminated by {name}" in result.stderr
    assert target.read_text() == "old" and leftovers(tmp_path) == []
