"""The printer (precedence, exactness) and name allocation."""

from __future__ import annotations

import ast
import keyword

import pytest
from hypothesis import given, settings, strategies as st

from adgen import ir
from adgen.printer import to_source
from adgen.naming import Names

LEAVES = st.one_of(
    st.sampled_from([ir.Name("a"), ir.Name("b"), ir.Attr("math.pi")]),
    st.integers(-3, 3).map(lambda v: ir.Num(v)),
    st.floats(-3, 3, allow_nan=False).map(lambda v: ir.Num(v)),
)


def _extend(children):
    return st.one_of(
        st.builds(ir.BinOp, st.sampled_from(["+", "-", "*", "/", "**"]), children, children),
        st.builds(ir.Neg, children),
        st.builds(lambda a, b: ir.Call("max", (a, b)), children, children),
        st.builds(lambda l, r: ir.Compare(l, ("<",), (r,)), children, children),
        st.builds(ir.IfExp, st.builds(lambda l, r: ir.Compare(l, (">=",), (r,)), children,
                                      children), children, children),
    )


EXPRS = st.recursive(LEAVES, _extend, max_leaves=12)
_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}


def _from_ast(node):
    """Back from Python's parse to IR, to compare trees exactly."""
    if isinstance(node, ast.Name):
        return ir.Name(node.id)
    if isinstance(node, ast.Attribute):
        return ir.Attr(f"{node.value.id}.{node.attr}")
    if isinstance(node, ast.Constant):
        return ("num", node.value)
    if isinstance(node, ast.UnaryOp):
        inner = _from_ast(node.operand)
        if isinstance(inner, tuple):
            return ("num", -inner[1])
        return ir.Neg(inner)
    if isinstance(node, ast.BinOp):
        return ir.BinOp(_OPS[type(node.op)], _from_ast(node.left), _from_ast(node.right))
    if isinstance(node, ast.Call):
        return ir.Call(node.func.id, tuple(_from_ast(a) for a in node.args))
    if isinstance(node, ast.Compare):
        return ir.Compare(_from_ast(node.left), tuple(
            {ast.Lt: "<", ast.GtE: ">="}[type(o)] for o in node.ops),
            tuple(_from_ast(c) for c in node.comparators))
    if isinstance(node, ast.IfExp):
        return ir.IfExp(_from_ast(node.test), _from_ast(node.body), _from_ast(node.orelse))
    raise AssertionError(ast.dump(node))


def _normal(expr):
    """IR with numbers as ('num', value), negative literals folded, for comparison."""
    if isinstance(expr, ir.Num):
        return ("num", expr.value)
    if isinstance(expr, ir.Neg):
        inner = _normal(expr.operand)
        return ("num", -inner[1]) if isinstance(inner, tuple) else ir.Neg(inner)
    if isinstance(expr, ir.BinOp):
        return ir.BinOp(expr.op, _normal(expr.left), _normal(expr.right))
    if isinstance(expr, ir.Call):
        return ir.Call(expr.func, tuple(_normal(a) for a in expr.args))
    if isinstance(expr, ir.Compare):
        return ir.Compare(_normal(expr.left), expr.ops, tuple(_normal(c) for c in expr.comparators))
    if isinstance(expr, ir.IfExp):
        return ir.IfExp(_normal(expr.test), _normal(expr.body), _normal(expr.orelse))
    return expr


@settings(max_examples=300, deadline=None, derandomize=True)
@given(EXPRS)
def test_printed_source_parses_back_to_the_same_tree(expr):
    text = to_source(expr)
    assert _from_ast(ast.parse(text, mode="eval").body) == _normal(expr), text


@pytest.mark.parametrize("expr,text", [
    (ir.BinOp("-", ir.Name("a"), ir.BinOp("-", ir.Name("b"), ir.Name("c"))), "a - (b - c)"),
    (ir.BinOp("+", ir.Name("a"), ir.BinOp("+", ir.Name("b"), ir.Name("c"))), "a + (b + c)"),
    (ir.BinOp("+", ir.BinOp("+", ir.Name("a"), ir.Name("b")), ir.Name("c")), "a + b + c"),
    (ir.BinOp("**", ir.Name("a"), ir.BinOp("**", ir.Name("b"), ir.Name("c"))), "a ** b ** c"),
    (ir.BinOp("**", ir.BinOp("**", ir.Name("a"), ir.Name("b")), ir.Name("c")), "(a ** b) ** c"),
    (ir.BinOp("**", ir.Num(-2), ir.Num(2)), "(-2) ** 2"),
    (ir.BinOp("**", ir.Name("a"), ir.Num(-1)), "a ** -1"),
    (ir.Neg(ir.BinOp("**", ir.Name("a"), ir.Num(2))), "-a ** 2"),
    (ir.BinOp("*", ir.Neg(ir.Name("a")), ir.Name("b")), "-a * b"),
    (ir.BinOp("/", ir.Name("a"), ir.BinOp("*", ir.Name("b"), ir.Name("c"))), "a / (b * c)"),
])
def test_minimal_parentheses(expr, text):
    assert to_source(expr) == text


def test_derived_names_and_fallbacks():
    names = Names({"x", "y", "xpy"})
    assert names.derived("sigx", "sig") == "sigx"
    assert names.derived("xpy", "sum") == "sum1"  # taken by the user
    assert names.derived("averyveryverylongname", "sum") == "sum2"
    assert names.derived("2x", "prod") == "prod1"  # not an identifier
    assert names.derived("if", "prod") == "prod2"  # a keyword
    assert names.derived("abs", "abs") == "abs1"  # a builtin
    assert names.derived(None, "t") == "t1"


def test_versions_and_gradient_names():
    names = Names({"h", "dx"})
    assert names.fresh("h") == "h_1"
    assert names.fresh("h") == "h_2"
    assert names.gradient("x") == "grad_x"  # the user has a variable called dx
    assert names.gradient("y") == "dy"
    names.reserve("grad_z")
    names.reserve("dz")
    assert names.gradient("z") == "dz_1"
    assert not any(keyword.iskeyword(n) for n in ("h_1", "grad_x"))


def test_generated_modules_are_pep8(tmp_path, capsys, monkeypatch):
    """Every corpus file's generated module (with value-and-grad functions) passes
    pycodestyle with its default settings (79 columns)."""
    import pathlib

    import pycodestyle

    from adgen.compiler import compile_source, parse, select_functions

    from adgen import cli
    from corpus_loader import load_module

    corpus = pathlib.Path(__file__).resolve().parent / "corpus"
    monkeypatch.chdir(corpus.parent.parent)  # paths as the repository's, tests/corpus/...
    paths = []
    for source in sorted(corpus.glob("[!_]*.py")):
        # a list of layers needs its length (--shapes); every other function compiles as
        # the file's module does without options
        module = load_module(source)
        listed = {name: spec for name, spec in getattr(module, "SHAPES", {}).items()
                  if "list:" in spec or "tuple:" in spec or "dict:" in spec}
        inlined_only = set(getattr(module, "INLINED_ONLY", ()))
        text = source.read_text()
        path = f"tests/corpus/{source.name}"
        chosen = [node.name.value for node in select_functions(parse(text, path), None)]
        parsed = compile_source(text, path, value_and_grad=True,
                                functions=[n for n in chosen if n not in listed and
                                           n not in inlined_only])
        out = tmp_path / f"{source.stem}_grad.py"
        out.write_text(parsed.source)
        paths.append(str(out))
        for name, spec in listed.items():
            out = tmp_path / f"{source.stem}_{name}_grad.py"
            capsys.readouterr()
            assert cli.main([path, "-f", name, "--shapes", spec, "--value-and-grad"]) == 0
            out.write_text(capsys.readouterr().out)
            paths.append(str(out))
    report = pycodestyle.StyleGuide(quiet=True).check_files(paths)
    assert report.total_errors == 0, report.get_statistics()
