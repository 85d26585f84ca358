"""Every page of the docs, executed: its commands run and its outputs are compared with
what they really print (tests/doc_blocks.py; the convention is in docs/design.md, "Docs that
are executed").  A failure names the page, the block's line and the difference."""

from __future__ import annotations

import os
import sys
import unittest

import pytest

from adgen.api import clear_cache
from doc_blocks import PAGES, ROOT, STATE, Page, rewrite, sybil

sys.path.insert(0, os.path.dirname(__file__))


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
