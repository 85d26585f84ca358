"""Every page of the docs, executed: its commands run and its outputs are compared with
what they really print (tests/doc_blocks.py; the convention is in docs/design.md, "Docs that
are executed").  A failure names the page, the block's line and the difference."""

from __future__ import annotations

import re
import sys
import unittest

import pytest

from adgen.api import clear_cache
from doc_blocks import PAGES, ROOT, STATE, Page, rewrite, sybil


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_page_shows_what_runs(page, tmp_path, monkeypatch, update_golden):
    """`pytest --update-golden tests/test_doc_pages.py` pastes the real outputs into the
    pages instead (not those of doctests, nor outputs shortened with `...`): review the
    diff."""
    directory = tmp_path / "page"
    directory.mkdir()
    (directory / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(directory)
    monkeypatch.setenv("COLUMNS", "80")  # argparse wraps --help to the terminal's width
    monkeypatch.syspath_prepend(str(directory))
    modules = set(sys.modules)
    clear_cache()
    document = sybil().parse(page)
    document.namespace[STATE] = state = Page(directory)
    state.update = update_golden
    try:
        for example in document.examples():
            try:
                example.evaluate()
            except unittest.SkipTest:  # <!-- skip: next "reason" -->: that block only
                continue
    finally:
        if state.updates:  # what ran before a failure is pasted too
            rewrite(page, state)
        for name in set(sys.modules) - modules:  # the page's own modules (model.py ...)
            if str(directory) in str(getattr(sys.modules[name], "__file__", "") or ""):
                del sys.modules[name]
        clear_cache()


BLOCK = re.compile(r"^(?P<fence>```|~~~)(?P<language>[\w-]*)(?P<role>[^\n]*)\n(?P<body>.*?)"
                   r"^(?P=fence)[ \t]*$", re.M | re.S)
SHELL = {"sh", "bash", "shell", "shell-session", "zsh", "pycon"}
LOOKS_RUN = re.compile(r"^(\$ |>>> |\S+\.py:\d+:\d+: (error|note) AD\d{3})", re.M)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_command_and_output_is_run(page):
    """A block the doc tests do not run (a fence's info string without a role, in a language
    other than python or console) must not look like a command or an output: those are
    ```console blocks, or ```text output / generated=... (docs/design.md)."""
    unrun = []
    text = page.read_text(encoding="utf-8")
    for match in BLOCK.finditer(text):
        language, body = match.group("language"), match.group("body")
        line = text.count("\n", 0, match.start()) + 1
        if match.group("role").strip():
            continue  # file=, excerpt=, generated=, output: checked
        if language in SHELL or (language not in ("python", "console") and
                                 LOOKS_RUN.search(body)):
            unrun.append(f"line {line}: ```{language} block: {body.splitlines()[0]!r}")
    assert not unrun, (f"{page.relative_to(ROOT)} shows commands or outputs that no test "
                       "runs; make them ```console blocks (or ```text output, "
                       "```text generated=ARGS):\n" + "\n".join(unrun))
