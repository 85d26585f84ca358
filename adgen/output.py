"""Writing the generated module to `-o OUT`: atomically, never over the input file, and never
leaving a temporary file behind, even when the write is interrupted.

A regular file is written to a temporary `.adgen-XXXX.py` in the same directory and renamed
over OUT, so a reader never sees half a module; OUT keeps its permissions, and a symlink
keeps pointing where it did (the file it points to is replaced).  Anything that is not a
regular file (/dev/null, /dev/stdout, a fifo) is written directly.

While the temporary file exists, SIGTERM and SIGHUP (when their action is the default,
termination) raise `Terminated`: the temporary file is removed, the previous handlers are
restored, and the caller re-delivers the signal with `Terminated.resend`.  Ctrl-C raises
KeyboardInterrupt as usual, and the temporary file is removed too.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import tempfile
import threading
from typing import Iterator

# Signals whose default action would kill the process with the temporary file still there.
CLEANUP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP")
                        if hasattr(signal, name))

# What to do about the common reasons a write fails: the user's environment, not adgen.
_ADVICE = {
    errno.ENOENT: "its directory does not exist: create it first, or choose another -o",
    errno.ENOTDIR: "a part of the path is a file, not a directory: choose another -o",
    errno.EISDIR: "it is a directory: give the name of a file in it",
    errno.EACCES: "permission denied: choose a location you can write to",
    errno.EPERM: "permission denied: choose a location you can write to",
    errno.EROFS: "the file system is read-only: choose another location",
    errno.ENOSPC: "the disk is full: free some space and run the command again",
    errno.EDQUOT: "the disk quota is exceeded: free some space and run the command again",
}


class Terminated(BaseException):
    """A terminating signal arrived while the output was being written."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    def resend(self) -> None:
        """Die of the signal as the default action would have (the handler is restored by
        now); returns only if the signal does not end the process."""
        os.kill(os.getpid(), self.signum)


def write_failure(path: str, exc: OSError) -> str:
    """`cannot write OUT: reason`, and what to do about it."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    advice = _ADVICE.get(exc.errno, "")
    return f"cannot write {path}: {reason}" + (f" ({advice})" if advice else "")


def same_file(source: str, output: str) -> bool:
    """Whether writing `output` would overwrite `source`: the same path, a symlink to it, a
    hard link, `./source` -- anything that is the same file on disk."""
    try:
        if os.path.exists(output):
            return os.path.samefile(source, output)
    except OSError:
        pass
    return os.path.realpath(source) == os.path.realpath(output)


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
    """Turn CLEANUP_SIGNALS into `Terminated` for the duration; then restore the handlers.
    A signal someone set to be ignored (nohup) or handled stays as it was."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers
        return

    def raise_terminated(signum, frame):
        raise Terminated(signum)

    previous = {}
    try:
        for signum in CLEANUP_SIGNALS:
            if signal.getsignal(signum) is signal.SIG_DFL:
                previous[signum] = signal.signal(signum, raise_terminated)
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    """Hold back SIGINT and CLEANUP_SIGNALS; they are delivered when the block ends."""
    signals = {signal.SIGINT, *CLEANUP_SIGNALS}
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def write_output(path: str, text: str) -> None:
    """Write the module to `path` (see the module docstring).  Raises OSError when the
    system refuses, KeyboardInterrupt or `Terminated` when interrupted; in every case no
    temporary file is left and a regular file at `path` is left as it was."""
    if os.path.exists(path) and not os.path.isfile(path):  # /dev/null, /dev/stdout, a fifo
        with open(path, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        return
    real = os.path.realpath(path)
    if os.path.exists(real):
        mode = os.stat(real).st_mode & 0o7777
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    tmp = None
    with _signals_raise():
        try:
            fd, tmp = tempfile.mkstemp(prefix=".adgen-", suffix=".py",
                                       dir=os.path.dirname(real))
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
                out.write(text)
            os.chmod(tmp, mode)
            os.replace(tmp, real)
        except BaseException:
            with _signals_blocked():  # a second Ctrl-C must not interrupt the clean-up
                if tmp is not None and os.path.lexists(tmp):
                    os.unlink(tmp)
            raise
