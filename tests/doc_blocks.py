"""The docs, executed: how each fenced block of README.md and docs/*.md is run or compared.

The pages are parsed with Sybil (its Markdown lexers, its Python and doctest evaluators); this
module only says what each kind of block means.  The convention (docs/design.md, "Docs that
are executed") is the fence's info string:

- ```` ```console ````: `$ ` lines are commands, the lines up to the next `$ ` their output
  (standard output and standard error, as a terminal shows them).  `adgen`, `head`, `cat`,
  `echo $?` and `python SCRIPT.py` run in this process (`adgen.cli.main`, `runpy`: cheap),
  joined by `|`, `;`, `&&` and `> FILE`; anything else (`python -c ...`, `python -m pytest`)
  runs in bash, with an `adgen` on PATH that runs this checkout.
- ```` ```python ````: run in the page's namespace; a block starting with `>>>` is a doctest.
- ```` ```python file=NAME ````: the text of the file NAME, written to the page's directory
  for the blocks after it (not run).
- ```` ```python append=NAME ````: the same, added at the end of NAME (two blank lines
  between), so that one file can be shown a function at a time.
- ```` ```python excerpt=PATH ````: must appear in PATH, a file of the repository
  (examples/..., adgen/...), verbatim, whole lines; a line `...` stands for any lines.
- ```` ```python generated=ARGS ````: must appear the same way in what `adgen ARGS` prints.
- ```` ```text output ```` (or `python output`): what the block before it printed.
- `<!-- skip: next "reason" -->` (Sybil's skip directive): the next block is not run.

Every page runs in its own empty directory, where `examples/` leads to the repository's
examples.  An output may use `...` for "anything" (doctest's ELLIPSIS); durations such as
`in 1.73s` are compared as `in <time>`.
"""

from __future__ import annotations

import contextlib
import difflib
import doctest
import io
import os
import pathlib
import re
import runpy
import shlex
import subprocess
import sys
from typing import Optional

from sybil import Document, Sybil
from sybil.evaluators.doctest import DocTestEvaluator
from sybil.evaluators.python import pad
from sybil.parsers.abstract.doctest import DocTestStringParser
from sybil.parsers.markdown import SkipParser
from sybil.parsers.markdown.lexers import RawFencedCodeBlockLexer

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
INFO = re.compile(r"(?P<language>[\w-]*)(?:[ \t]+(?P<role>[^\n]*?))?[ \t]*$\n", re.M)
FLAGS = doctest.ELLIPSIS | doctest.DONT_ACCEPT_BLANKLINE
DURATION = re.compile(r"\bin \d+(?:\.\d+)?s\b")
IN_PROCESS = {"adgen", "head", "cat", "echo", "python"}
STATE = "_docs"  # the page's state in its namespace


class Page:
    """What the blocks of one page share: its directory, the last printed output, the
    last exit status."""

    def __init__(self, directory: pathlib.Path):
        self.directory = directory
        self.printed: Optional[str] = None
        self.status = 0
        self.bin = directory / ".bin"
        self.update = False  # pytest --update-golden: rewrite what drifted
        self.updates: list[tuple[int, int, str]] = []  # (start, end, text) in the page


def body(example) -> tuple[int, str]:
    """Where the block's text starts in the page, and the text as the page has it (Sybil's
    lexeme is dedented)."""
    region = example.document.text[example.region.start:example.region.end]
    start = region.index("\n") + 1
    end = region.rstrip("`~").rindex("\n", 0) + 1 if region.rstrip("`~").endswith("\n") \
        else len(region)
    return example.region.start + start, region[start:end]


def raw(example) -> str:
    return body(example)[1]


def propose(example, text: str) -> None:
    """Under --update-golden: the block's text becomes `text`."""
    start, old = body(example)
    page_of(example).updates.append((start, start + len(old), text))


def rewrite(path: pathlib.Path, page: Page) -> None:
    text = path.read_text(encoding="utf-8")
    for start, end, new in sorted(page.updates, reverse=True):
        text = text[:start] + new + text[end:]
    path.write_text(text, encoding="utf-8")


def sybil() -> Sybil:
    return Sybil(parsers=[SkipParser(), parse_blocks])


def parse_blocks(document: Document):
    """Every fenced block, with the evaluator its info string asks for (None: not run)."""
    doctests = DocTestStringParser(DocTestEvaluator(FLAGS))
    for region in RawFencedCodeBlockLexer(INFO)(document):
        language, role = region.lexemes["language"], (region.lexemes["role"] or "").strip()
        source = region.lexemes["source"]
        region.parsed = source
        if role == "output":
            region.evaluator = compare_printed
        elif role.startswith("file="):
            region.evaluator = write_file(role[len("file="):])
        elif role.startswith("append="):
            region.evaluator = write_file(role[len("append="):], append=True)
        elif role.startswith("excerpt="):
            region.evaluator = check_excerpt(role[len("excerpt="):])
        elif role.startswith("generated="):
            region.evaluator = check_generated(role[len("generated="):])
        elif role:
            raise ValueError(f"{document.path}: unknown block role {role!r} "
                             "(file=NAME, excerpt=PATH, generated=ARGS or output)")
        elif language == "console":
            region.evaluator = run_console
        elif language == "python" and source.startswith(">>>"):
            for doctest_region in doctests(source, document.path):
                doctest_region.adjust(region, source)
                yield doctest_region
            continue
        elif language == "python":
            region.evaluator = run_python
        else:
            continue  # text (a diagram, a layout) and other languages are not run
        yield region


def page_of(example) -> Page:
    return example.namespace[STATE]


# -- python blocks -----------------------------------------------------------------------


def run_python(example) -> None:
    """Run the block as if it were a file of its own (the library reads a function's source
    from its file): `<page>_line<N>.py` in the page's directory, at the page's line numbers."""
    page = page_of(example)
    path = page.directory / f"{pathlib.Path(example.path).stem}_line{example.line}.py"
    path.write_text(pad(str(example.parsed), example.line + example.parsed.line_offset),
                    encoding="utf-8")
    code = compile(path.read_text(encoding="utf-8"), str(path), "exec", dont_inherit=True)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(code, example.namespace)
    example.namespace.pop("__builtins__", None)
    page.printed = printed.getvalue()


def compare_printed(example) -> Optional[str]:
    printed = page_of(example).printed
    if printed is None:
        return "an output block must follow a python block that prints"
    problem = difference(raw(example), printed, "what the python block above printed")
    if problem and page_of(example).update:
        propose(example, printed)
        return None
    return problem


def write_file(name: str, append: bool = False):
    def evaluator(example):
        path = (page_of(example).directory / name)
        assert not path.resolve().is_relative_to(ROOT), f"file={name} is inside the repository"
        path.parent.mkdir(parents=True, exist_ok=True)
        before = path.read_text(encoding="utf-8") + "\n\n" if append else ""
        path.write_text(before + raw(example), encoding="utf-8")
        sys.modules.pop(path.stem, None)  # a later import reads the file as it is now
    return evaluator


def check_excerpt(name: str):
    def evaluator(example) -> Optional[str]:
        text = (ROOT / name).read_text(encoding="utf-8")
        return excerpt_problem(example, text, name)
    return evaluator


def check_generated(arguments: str):
    """The block is part of the module `adgen ARGUMENTS` prints."""
    def evaluator(example) -> Optional[str]:
        page = page_of(example)
        output = run_here(f"adgen {arguments}", page)
        if page.status != 0:
            return f"`adgen {arguments}` failed (exit status {page.status}):\n{output}"
        return excerpt_problem(example, output, f"what `adgen {arguments}` prints")
    return evaluator


def excerpt_problem(example, text: str, what: str) -> Optional[str]:
    """None if the block's lines appear together in `text` (a line `...` stands for any
    lines); else what `text` is, to compare.  --update-golden takes the lines of `text`
    from the block's first line to its last."""
    block = raw(example)
    parts = [re.escape(line) if line.strip() != "..." else ".*?"
             for line in block.splitlines(keepends=True)]
    pattern = "".join(p if p == ".*?" else f"{p}" for p in parts)
    if re.search(pattern, text, re.S | re.M):
        return None
    lines, real = block.splitlines(keepends=True), text.splitlines(keepends=True)
    if page_of(example).update and lines and lines[0] in real and \
            not any(line.strip() == "..." for line in lines):
        first = real.index(lines[0])
        ends = [i for i in range(first, len(real)) if real[i] == lines[-1]]
        # the end that keeps the block's length best
        last = min(ends, key=lambda i: abs(i - first + 1 - len(lines)), default=None)
        if last is not None:
            propose(example, "".join(real[first:last + 1]))
            return None
    return (f"this block is not an excerpt of {what} (whole lines, in order; a line '...' "
            f"stands for any lines).  The real text:\n{text}")


# -- console blocks ----------------------------------------------------------------------


def commands(text: str) -> list[tuple[str, str]]:
    """`$ command` lines, each with the output shown below it."""
    found: list[tuple[str, list[str]]] = []
    for line in text.splitlines(keepends=True):
        if line.startswith("$ "):
            found.append((line[2:].rstrip("\n"), []))
        elif found:
            found[-1][1].append(line)
        elif line.strip():
            raise ValueError(f"a console block starts with '$ command', not {line!r}")
    return [(command, "".join(output)) for command, output in found]


def run_console(example) -> Optional[str]:
    page = page_of(example)
    problems, real_block = [], []
    for command, shown in commands(raw(example)):
        if all(p in IN_PROCESS for p in _programs(command)) and \
                not re.search(r"\$\(|`|\|\||>>|\d>|<|\*|python +-", command):
            output = run_here(command, page)
        else:
            output = run_in_bash(command, page)
        problem = difference(shown, output, f"the output of `$ {command}`")
        problems += [problem] if problem else []
        real_block.append(f"$ {command}\n" + (output if problem else shown))
    if problems and page.update:
        propose(example, "".join(real_block))
        return None
    return problems[0] if problems else None


def _programs(command: str) -> list[str]:
    lexer = shlex.shlex(command, posix=True, punctuation_chars="|;&>")
    lexer.whitespace_split = True
    tokens, programs, expect = list(lexer), [], True
    for token in tokens:
        if expect:
            programs.append(token)
        expect = token in ("|", ";", "&&")
        if token == ">":
            expect = False
    return programs


def run_here(command: str, page: Page) -> str:
    """A pipeline of builtins, in this process: what a terminal would show."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars="|;&>")
    lexer.whitespace_split = True
    tokens = list(lexer)
    terminal = io.StringIO()
    # split into (connector, [stages]) where a stage is (argv, redirect)
    sequence: list[tuple[str, list[list[str]]]] = [(";", [[]])]
    for token in tokens:
        if token in (";", "&&"):
            sequence.append((token, [[]]))
        elif token == "|":
            sequence[-1][1].append([])
        else:
            sequence[-1][1][-1].append(token)
    for connector, stages in sequence:
        if connector == "&&" and page.status != 0:
            continue
        data: Optional[str] = None
        for i, argv in enumerate(stages):
            redirect = None
            if ">" in argv:
                at = argv.index(">")
                argv, redirect = argv[:at], argv[at + 1]
            out = io.StringIO()
            last = i == len(stages) - 1 and redirect is None
            page.status = builtin(argv, data, terminal if last else out, terminal, page)
            if redirect:
                (page.directory / redirect).write_text(out.getvalue(), encoding="utf-8")
            data = out.getvalue()
    return terminal.getvalue()


def builtin(argv: list[str], stdin: Optional[str], stdout, stderr, page: Page) -> int:
    program, args = argv[0], argv[1:]
    if program == "adgen":
        from adgen.cli import main

        return main(args, stdout=stdout, stderr=stderr)
    if program == "python":  # python SCRIPT.py: run as __main__, here
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                runpy.run_path(str(page.directory / args[0]), run_name="__main__")
            except SystemExit as exc:
                return exc.code if isinstance(exc.code, int) else 1
        return 0
    if program == "echo":
        stdout.write(" ".join(str(page.status) if a == "$?" else a for a in args) + "\n")
        return 0
    count = None
    if program == "head":
        count = 10
        if args and re.fullmatch(r"-n?\d+", args[0]):
            count, args = int(args[0].lstrip("-n")), args[1:]
        elif args[:1] == ["-n"]:
            count, args = int(args[1]), args[2:]
    text = (page.directory / args[0]).read_text(encoding="utf-8") if args else (stdin or "")
    lines = text.splitlines(keepends=True)
    stdout.write("".join(lines[:count] if count is not None else lines))
    return 0


def run_in_bash(command: str, page: Page) -> str:
    """Anything else runs in bash, in the page's directory, with this checkout's adgen."""
    if not page.bin.exists():
        page.bin.mkdir()
        shim = page.bin / "adgen"
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m adgen "$@"\n')
        shim.chmod(0o755)
        (page.bin / "python").symlink_to(sys.executable)
    env = dict(os.environ, PATH=f"{page.bin}{os.pathsep}{os.environ.get('PATH', '')}",
               PYTHONPATH=os.pathsep.join([str(page.directory), str(ROOT)]),
               COLUMNS="80", PYTHONDONTWRITEBYTECODE="1",
               PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")  # a doc's pytest run: faster, same output
    done = subprocess.run(["bash", "-c", command], cwd=page.directory, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=120)
    page.status = done.returncode
    return done.stdout


# -- comparing ---------------------------------------------------------------------------


def difference(shown: str, real: str, what: str) -> Optional[str]:
    """None when the page shows `real` (`...` stands for anything; trailing blank lines and
    durations do not count); else a diff, `-` the page, `+` the program."""
    def normal(text: str) -> str:
        return DURATION.sub("in <time>", text).rstrip("\n") + "\n"

    shown_n, real_n = normal(shown), normal(real)
    if doctest.OutputChecker().check_output(shown_n, real_n, FLAGS):
        return None
    diff = "".join(difflib.unified_diff(shown_n.splitlines(keepends=True),
                                        real_n.splitlines(keepends=True),
                                        "shown on the page", "printed by the program"))
    return (f"the page does not show {what}:\n{diff}\n"
            f"The real output, to paste into the page if the change is deliberate:\n{real}")
