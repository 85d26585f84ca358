"""The command line tool: `adgen FILE [-f NAME ...] [--wrt a,b] [-o OUT [--check]] [--verify]`.

Exit codes: 0 success; 1 diagnostics, a failed or unrunnable verification, a stale or
missing output under `--check`, or a write the system refused; 2 usage errors (bad options,
unreadable input, -o naming the input); 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import Optional, Sequence, TextIO

from adgen import facts
from adgen.compiler import (compile_functions, default_command, guard, parse,
                            select_functions)
from adgen.diagnostics import AdgenError, format_report, internal_error
from adgen.params import all_params, param_names, positional_params
from adgen.output import Terminated, same_file, write_failure, write_output
from adgen.version import __version__

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C

DESCRIPTION = """\
Generate the reverse-mode backward pass of Python functions as readable,
standalone Python.

For each function NAME(p1, p2, ...) in FILE, the output module defines
NAME_grad(p1, p2, ..., d<out>=1.0), returning the gradients with respect to
the chosen parameters (--wrt) in parameter order.

Generating code never executes FILE: adgen reads its source text only.  Only
--verify, --html and --svg import (and so run) FILE, to compare the generated
gradients with finite differences and sympy.
"""

EPILOG = """\
examples:
  adgen examples/cs231n.py               print the generated module
  adgen model.py -f loss --wrt w,b -o loss_grad.py
                                         write loss_grad(...) -> (dw, db)
  adgen model.py -o model_grad.py --check
                                         exit 1 if model_grad.py is stale (CI)
  adgen model.py --verify --at w=2.0     check the gradients at a point
  adgen model.py --lens                  notes: where the gradient can leak
  adgen model.py -f loss --html loss.html
                                         the review page: code, diagram, values
  adgen layers.py --layer                affine_forward(...) -> (out, cache),
                                         affine_backward(dout, cache)

exit status: 0 ok (--lens notes are not errors); 1 errors in FILE, a failed or
unrunnable verification, a stale --check or a refused write of OUT; 2 usage
error (bad option, unknown -f or --wrt name, unreadable FILE, -o naming FILE
itself); 130 interrupted.

docs: docs/cli.md; every diagnostic code (ADnnn) in docs/diagnostics.md.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="adgen", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", metavar="FILE", help="Python source file with the forward "
                        "function(s)")
    parser.add_argument("-f", "--function", dest="functions", metavar="NAME", action="append",
                        type=lambda text: [n.strip() for n in text.split(",") if n.strip()],
                        help="differentiate this top-level function; repeat it, or give "
                        "several as a,b (default: every top-level function in FILE)")
    parser.add_argument("--wrt", metavar="NAMES", help="comma-separated parameters to "
                        "differentiate with respect to (default: every parameter without a "
                        "default value); one name returns a single gradient, 'x,' a 1-tuple")
    parser.add_argument("-o", "--output", metavar="OUT", help="write the module to OUT "
                        "(atomically) instead of standard output; OUT may not be FILE")
    parser.add_argument("--check", action="store_true", help="with -o: write nothing; exit 1 "
                        "if OUT is missing or differs from what would be generated")
    parser.add_argument("--shapes", metavar="SPECS", action="append", help="the kinds and shapes of "
                        "parameters the source does not annotate, as 'X=N,D W1=D,H b1=H "
                        "y=int:N lr=float T=int' (names or numbers for dimensions; "
                        "params=list:3,2 for a list of 3 (W, b) pairs, list:3,dict:W,b "
                        "for a list of 3 dicts of W and b, dict:W1,b1 for a dict of W1 "
                        "and b1 passed whole); without it adgen "
                        "infers them from the code and states what it assumed")
    parser.add_argument("--value-and-grad", action="store_true", help="also define "
                        "NAME_value_and_grad(...) returning (value, gradients)")
    parser.add_argument("--in-place", action="store_true", help="compute elementwise "
                        "forward steps into arrays nothing reads again (np.add(a, b, "
                        "out=a)), for float arrays of one dtype (each function checks it), "
                        "as the library API does when its arguments share a dtype")
    parser.add_argument("--layer", action="store_true", help="emit the CS231n layer API "
                        "instead: NAME_forward(...) -> (out, cache) and NAME_backward(dout, "
                        "cache) -> gradients, the cache holding what the backward pass reads")
    parser.add_argument("--verify", action="store_true", help="import FILE (this runs it) and "
                        "check every generated gradient against central finite differences "
                        "and sympy; report on standard error")
    parser.add_argument("--lens", action="store_true", help="also name the patterns where "
                        "backprop can leak (saturating gates, ReLUs, clips, products over "
                        "a loop's steps, exp without the max shift) as notes on standard "
                        "error and as comments in the module; notes are not errors")
    parser.add_argument("--html", metavar="OUT.html", help="write the review page of one "
                        "function (-f NAME): its source beside the backward pass, linked "
                        "line by line, the circuit diagram with each wire's value and "
                        "gradient, the lens's findings and the verification table; imports "
                        "FILE like --verify, needs Graphviz's dot (docs/review.md)")
    parser.add_argument("--svg", metavar="OUT.svg", help="write the circuit diagram alone, "
                        "as SVG (as --html draws it)")
    parser.add_argument("--at", metavar="VALUES", help="with --verify, --html or --svg: the "
                        "point, as '3.0,-4.0' (positional) or 'x=3.0,y=-4.0' (default: a "
                        "reproducible random point)")
    parser.add_argument("--version", action="version", version=f"adgen {__version__}")
    return parser


def parse_wrt(text: Optional[str]):
    if text is None:
        return None
    names = [n.strip() for n in text.split(",")]
    if len(names) == 1:
        return names[0]
    return tuple(n for n in names if n)


def parse_point(text: str) -> tuple[list[float], dict[str, float]]:
    """`--at 3.0,y=-4.0`: (positional values, named values); ValueError says what is wrong.
    A value written as an int (`steps=20`) is an int, as a count must be: the verification
    makes a value it differentiates a float itself."""
    positional: list[float] = []
    named: dict[str, float] = {}
    for item in (i.strip() for i in text.split(",") if i.strip()):
        key, _, value = item.partition("=") if "=" in item else ("", "", item)
        if "=" in item and not key.strip().isidentifier():
            raise ValueError(f"{item!r} does not start with a parameter name")
        try:
            number = int(value) if value.strip().lstrip("+-").isdigit() else float(value)
        except ValueError:
            raise ValueError(f"{value.strip()!r} is not a number") from None
        if "=" in item:
            named[key.strip()] = number
        else:
            positional.append(number)
    return positional, named


def command_for(args: argparse.Namespace) -> str:
    """The normalized command that regenerates the output (written in its header)."""
    command = default_command(args.file, args.functions, parse_wrt(args.wrt),
                              args.shapes or "")
    if args.value_and_grad:
        command += " --value-and-grad"
    if args.in_place:
        command += " --in-place"
    if args.layer:
        command += " --layer"
    if args.lens:
        command += " --lens"
    if args.output:
        command += f" -o {args.output}"
    return command


def main(argv: Optional[Sequence[str]] = None, stdout: Optional[TextIO] = None,
         stderr: Optional[TextIO] = None) -> int:
    """Run the command; the exit status (see the module docstring)."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    try:
        return _main(argv, stdout, stderr)
    except KeyboardInterrupt:  # Ctrl-C anywhere: one line, never a traceback
        stderr.write("adgen: interrupted\n")
        return EXIT_INTERRUPTED


def _main(argv: Optional[Sequence[str]], stdout: TextIO, stderr: TextIO) -> int:
    parser = build_parser()
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help/--version
        return int(exc.code or 0)
    if args.check and not args.output:
        stderr.write("adgen: error: --check needs -o OUT (the file to compare with)\n")
        return EXIT_USAGE
    if args.layer and (args.value_and_grad or args.verify):
        stderr.write("adgen: error: --layer emits NAME_forward/NAME_backward; it does not go "
                     "with --value-and-grad or --verify (verify without --layer)\n")
        return EXIT_USAGE
    review = bool(args.html or args.svg)
    if args.at and not (args.verify or review):
        stderr.write("adgen: error: --at only applies with --verify, --html or --svg\n")
        return EXIT_USAGE
    if review and args.layer:
        stderr.write("adgen: error: --html and --svg review NAME_grad; they do not go with "
                     "--layer\n")
        return EXIT_USAGE
    if args.at:
        try:
            parse_point(args.at)
        except ValueError as exc:
            stderr.write(f"adgen: error: --at {args.at}: {exc}; give the point as 3.0,-4.0 "
                         "or x=3.0,y=-4.0\n")
            return EXIT_USAGE
    if args.shapes is not None:
        args.shapes = " ".join(args.shapes)  # --shapes may be given several times
        try:
            args.given_shapes = facts.parse_shapes(args.shapes)
        except ValueError as exc:
            stderr.write(f"adgen: error: --shapes: {exc}\n")
            return EXIT_USAGE
        args.shapes = " ".join(f"{k}={facts.spec_of(v)}" for k, v in args.given_shapes.items())
    if args.functions is not None:
        args.functions = [name for group in args.functions for name in group]
        if not args.functions:
            stderr.write("adgen: error: -f needs a function name\n")
            return EXIT_USAGE
    try:
        with open(args.file, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        stderr.write(f"adgen: error: cannot read {args.file}: {exc}\n")
        return EXIT_USAGE
    if args.output and same_file(args.file, args.output):
        stderr.write(f"adgen: error: -o {args.output} is the input file {args.file}: writing "
                     "it would replace your source; choose another output, e.g. -o "
                     f"{_suggested_output(args.file)}\n")
        return EXIT_USAGE
    try:
        return _run(args, text, stdout, stderr)
    except AdgenError as exc:
        stderr.write(report(exc.diagnostics))
        # AD4xx name the command line's own -f/--wrt arguments: a usage error.
        if all(d.code.startswith("AD4") for d in exc.diagnostics):
            return EXIT_USAGE
        return EXIT_FAIL
    except Exception as exc:  # noqa: BLE001 - never a raw traceback
        stderr.write(format_report(internal_error(args.file, exc).diagnostics) + "\n")
        return EXIT_FAIL


# Mistakes in the command line's -f and --wrt: reported as such, not at a place in FILE.
COMMAND_LINE_CODES = ("AD401", "AD402")


def report(diagnostics) -> str:
    """The diagnostics for standard error: the command line's own mistakes first, as
    `adgen: error AD402: ...` without a (made-up) position in FILE, then the report of the
    problems in FILE."""
    lines = []
    for d in diagnostics:
        if d.code in COMMAND_LINE_CODES:
            lines.append(f"adgen: error {d.code}: {d.message}")
            lines += [f"    help: {d.help}"] if d.help else []
    in_file = [d for d in diagnostics if d.code not in COMMAND_LINE_CODES]
    if in_file:
        lines.append(format_report(in_file))
    return "\n".join(lines) + "\n"


def _run(args: argparse.Namespace, text: str, stdout: TextIO, stderr: TextIO) -> int:
    parsed = parse(text, args.file)
    with guard(args.file):
        nodes = select_functions(parsed, args.functions)
    if not nodes:
        stderr.write(f"adgen: error: {args.file} defines no top-level function to "
                     "differentiate\n    help: adgen differentiates the functions defined "
                     "with def at the top level of FILE\n")
        return EXIT_FAIL
    if args.functions is not None:  # the header's command lists them in source order
        methods = {n.rpartition(".")[2]: n for n in args.functions if "." in n}
        args.functions = [node.name.value
                          if parsed.scope.functions.get(node.name.value) is node
                          else methods.get(node.name.value, node.name.value) for node in nodes]
    if (args.html or args.svg) and len(nodes) != 1:
        stderr.write(f"adgen: error: --html and --svg draw one function, and {args.file} "
                     f"defines {len(nodes)}: choose one with -f NAME\n")
        return EXIT_USAGE
    if (args.verify or args.html or args.svg) and args.at:
        unknown = _unknown_point_names(args.at, nodes)
        if unknown:
            stderr.write(f"adgen: error: --at gives {', '.join(unknown)}, which no selected "
                         "function takes\n")
            return EXIT_USAGE
    given = None
    if args.shapes is not None:
        given, unknown = _shape_facts(parsed, nodes, args.given_shapes)
        if unknown:
            stderr.write(f"adgen: error: --shapes gives {', '.join(unknown)}, which no "
                         "selected function takes\n")
            return EXIT_USAGE
    compiled = compile_functions(parsed, nodes, parse_wrt(args.wrt), command=command_for(args),
                                 value_and_grad=args.value_and_grad, layer=args.layer,
                                 facts=given, notes=args.lens, inplace=args.in_place)
    status = EXIT_OK
    if args.output and args.check:
        status = _compare(args.output, compiled.source, command_for(args), stderr)
    elif args.output:
        status = _write(args.output, compiled.source, stderr)
        if status != EXIT_OK:
            return status
    elif not (args.html or args.svg):  # the page, not the module, is what was asked for
        stdout.write(compiled.source)
    if args.lens:
        stderr.write(format_report(compiled.notes) + "\n")
    if args.html or args.svg:
        from adgen.page.cli import write_review  # imports sympy and numpy: only the page

        point = parse_point(args.at) if args.at else ([], {})
        try:
            if not write_review(args.file, text, compiled, command_for(args), point,
                                args.html or "", args.svg or "", stderr,
                                parse_wrt(args.wrt)):
                status = EXIT_FAIL
        except KeyboardInterrupt:
            stderr.write("adgen: interrupted: the review page was not written\n")
            return EXIT_INTERRUPTED
    if args.verify:
        from adgen.cli_verify import verify_file  # imports sympy: only --verify needs it

        point = parse_point(args.at) if args.at else ([], {})
        try:
            if not verify_file(args.file, compiled, point, stderr):
                status = EXIT_FAIL
        except KeyboardInterrupt:
            stderr.write("adgen: interrupted: verification did not finish\n")
            return EXIT_INTERRUPTED
    return status


def _suggested_output(path: str) -> str:
    stem, ext = os.path.splitext(path)
    return f"{stem}_grad{ext or '.py'}"


def _compare(path: str, text: str, command: str, stderr: TextIO) -> int:
    """--check: OUT must exist and hold exactly `text`."""
    try:
        # undecodable bytes become lone surrogates: never equal to a generated module
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            current = f.read()
    except FileNotFoundError:
        stderr.write(f"adgen: {path} does not exist: generate it with: {command}\n")
        return EXIT_FAIL
    except OSError as exc:
        stderr.write(f"adgen: error: cannot read {path}: {exc.strerror or exc}\n")
        return EXIT_FAIL
    if current != text:
        stderr.write(f"adgen: {path} is stale: regenerate with: {command}\n")
        return EXIT_FAIL
    return EXIT_OK


def _write(path: str, text: str, stderr: TextIO) -> int:
    """Write OUT; a failure of the system (a full disk, a missing directory, no permission)
    is reported as such, not as a bug in adgen."""
    try:
        write_output(path, text)
    except OSError as exc:
        stderr.write(f"adgen: error: {write_failure(path, exc)}\n")
        return EXIT_FAIL
    except KeyboardInterrupt:
        stderr.write(f"adgen: interrupted while writing {path}\n")
        return EXIT_INTERRUPTED
    except Terminated as exc:
        stderr.write(f"adgen: terminated by {exc.name} while writing {path}\n")
        stderr.flush()
        exc.resend()  # die of the signal, as without adgen's handler
        return 128 + exc.signum
    return EXIT_OK


def _shape_facts(parsed, nodes, given: dict) -> tuple[dict, list[str]]:
    """--shapes as facts for each selected function that has the parameter (or reads the
    member: `W1` of `params['W1']`); the names no selected function has."""
    from adgen.members import of_function, sequences

    found: dict = {}
    used: set = set()
    for node in nodes:
        params = param_names(node)
        held = [m.name for m in of_function(parsed, node, sequences(
            {k: t for k, t in given.items() if k in params}))]
        # a list a member holds (net.weights=list:2): its entries are members too
        params += held + [m.name for m in of_function(parsed, node, sequences(
            {k: t for k, t in given.items() if k in params or k in held}))]
        found[node.name.value] = {name: facts.Fact(t, "--shapes")
                                  for name, t in given.items() if name in params}
        used |= set(found[node.name.value])
    return found, [name for name in given if name not in used]


def _unknown_point_names(text: str, nodes) -> list[str]:
    """--at names no selected function has, or more values than any function's parameters."""
    arities = [len(positional_params(node)) for node in nodes]
    params = {p.name.value for node in nodes
              for p in all_params(node)}
    positional, named = parse_point(text)
    problems = [name for name in named if name not in params]
    if len(positional) > max(arities, default=0):
        problems.append(f"{len(positional)} positional values")
    return problems
