"""The review page without a browser: line links from the emitter, the diagram's contents,
determinism, the command line's options.  tests/test_page_browser.py opens the pages."""

from __future__ import annotations

import math
import re

import pytest

import adgen
from adgen.cli import main
from adgen.page import graph, links, model, values
from page_cases import ROOT, expected_counts, load, rnn_arguments


def _review(f, *args):
    import inspect

    bound = inspect.signature(f).bind(*args)
    bound.apply_defaults()  # as adgen.review does
    args = tuple(bound.arguments.values())
    compiled = adgen.api.compile_function(f, None, list(args), {}) \
        if adgen.api.is_array_function(f) else adgen.api.compile_function(f)
    text = (ROOT / compiled.gradient.function.path).read_text() \
        if (ROOT / compiled.gradient.function.path).exists() else \
        open(f.__code__.co_filename).read()
    return compiled, model.build(compiled.gradient, text, forward_fn=f, args=list(args),
                                 command=compiled.command)


def test_the_links_cover_every_backward_block_and_match_its_comment():
    cs231n = load("cs231n")
    compiled, review = _review(cs231n.f, 3.0, -4.0)
    assert review.module == compiled.source  # the page shows the module as generated
    lines = review.module.split("\n")
    backward = [s for s in review.spans if s.kind == "backward"]
    # 8 blocks, one of which (den = sigx + xpysqr) holds only copies, which the printed
    # module propagates: 7 blocks on the page, as in the module
    assert len(compiled.gradient.blocks) == 8 and len(backward) == 7
    for span in backward:  # each block starts with its `# line N:` comment, N its line
        assert lines[span.first - 1].strip().startswith(f"# line {span.lines[0]}:")
    forward = [s for s in review.spans if s.kind == "forward"]
    assert [lines[s.first - 1].strip() for s in forward][:2] == [
        "sigy = 1.0 / (1 + math.exp(-y))", "num = x + sigy"]
    assert [s.lines for s in forward] == [(line,) for line in range(16, 24)]


def test_inlined_helpers_link_to_the_helper_and_to_the_call():
    helpers = load("helpers")
    grad = adgen.api.compile_function(helpers.gated).gradient  # calls sigmoid twice
    _, spans = links.linked_module(grad, source_path=grad.function.path, command="adgen")
    inlined = [s for s in spans if s.kind == "backward" and s.node.via]
    assert len(inlined) == 2
    for span in inlined:
        call = int(re.search(r"called on line (\d+)", span.node.via).group(1))
        assert span.lines == (28, call)  # sigmoid's return line, then the call's
    diagram = graph.build(grad, None)
    assert [c.label for c in diagram.clusters.values()] == [
        "sigmoid, inlined (called on line 34)", "sigmoid, inlined (called on line 36)"]


def test_the_cs231n_diagram_has_the_notes_nodes_and_values():
    cs231n = load("cs231n")
    _, review = _review(cs231n.f, 3.0, -4.0)
    diagram = review.diagram
    assert (len(diagram.nodes), len(diagram.edges)) == expected_counts(review.grad) == (11, 13)
    by_name = {n.name: n for n in diagram.nodes if n.kind != "output"}
    assert by_name["sigy"].label == "sigy = sigmoid(y)"
    assert by_name["sigy"].value == "0.01799"
    assert float(by_name["sigy"].value_exact) == 1 / (1 + math.exp(4))
    dx, dy = adgen.grad(cs231n.f)(3.0, -4.0)
    assert (float(by_name["x"].grad_exact), float(by_name["y"].grad_exact)) == (dx, dy)


def test_the_rnn_diagram_puts_the_loop_in_a_cluster_and_values_are_the_last_step():
    rnn = load("rnn")
    args = rnn_arguments()
    _, review = _review(rnn.rnn_loss, *args)
    diagram = review.diagram
    assert (len(diagram.nodes), len(diagram.edges)) == expected_counts(review.grad)
    (loop,) = diagram.clusters.values()
    assert loop.label.startswith("for t in range(T) (line 45, 5 steps)")
    inside = [n for n in diagram.nodes if n.cluster]
    assert {n.name for n in inside} >= {"part1", "hWhh", "h_1"}
    assert any(e.carried for e in diagram.edges)
    h_1 = next(n for n in inside if n.name == "h_1")
    assert h_1.value_exact == values.exact(review.run.values["h_1"][-1])
    assert review.check.ok


def test_summaries_of_numbers_and_arrays():
    import numpy as np

    assert values.summary(3.0) == "3" and values.summary(-0.79159) == "-0.7916"
    assert values.summary(np.array([[3.0, -4.0]])) == "1\u00d72 \u20165\u2016 [-4, 3]"
    assert values.summary(None) is None


def test_the_page_is_deterministic(tmp_path):
    import io

    one, two = tmp_path / "one.html", tmp_path / "two.html"
    for out in (one, two):
        assert main(["examples/cs231n.py", "-f", "f", "--html", str(out), "--at", "3,-4"],
                    stdout=io.StringIO(), stderr=io.StringIO()) == 0
    assert one.read_bytes() == two.read_bytes()
    text = one.read_text()
    assert "http://" not in text.replace("http://www.w3.org", "") and "https://" not in text
    assert "<script src" not in text and "<link" not in text  # nothing loaded from anywhere


def test_the_command_line_writes_the_svg_alone(tmp_path, capsys):
    out = tmp_path / "f.svg"
    assert main(["examples/cs231n.py", "-f", "f", "--svg", str(out), "--at", "3,-4"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""  # the page or the diagram, not the module, was asked for
    assert "gradient ok" in captured.err and f"wrote {out}" in captured.err
    svg = out.read_text()
    assert svg.startswith("<?xml") and svg.count('class="node"') == 11
    assert svg.count('class="edge"') == 13


@pytest.mark.parametrize("argv, message", [
    (["examples/rnn.py", "--html", "x.html"], "choose one with -f NAME"),
    (["examples/cs231n.py", "-f", "f", "--html", "x.html", "--layer"], "--layer"),
    (["examples/cs231n.py", "-f", "f", "--at", "3,-4"], "--at only applies"),
    (["examples/cs231n.py", "-f", "f", "--html", "x.html", "--at", "z=1"], "z"),
])
def test_usage_errors(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_a_file_that_fails_to_import_is_reported_not_drawn(tmp_path, capsys):
    source = tmp_path / "broken.py"
    source.write_text("import math\nraise RuntimeError('no')\n\ndef f(x):\n"
                      "    return math.exp(x)\n")
    assert main([str(source), "-f", "f", "--html", str(tmp_path / "f.html")]) == 1
    err = capsys.readouterr().err
    assert "could not run" in err and "Traceback" not in err
    assert not (tmp_path / "f.html").exists()


def test_the_lens_findings_are_on_their_nodes_and_lines():
    import numpy as np

    from adgen.page import render

    saturated = load("leaky/saturated_mlp")
    rng = np.random.default_rng(0)
    N, D, H, C = 64, 100, 50, 10
    X = rng.standard_normal((N, D))
    Y = np.eye(C)[rng.integers(0, C, size=N)]
    args = (X, rng.standard_normal((D, H)), np.zeros(H), rng.standard_normal((H, C)),
            np.zeros(C), Y)  # weights from N(0, 1): the hidden sigmoids saturate
    _, review = _review(saturated.loss, *args)
    kinds = {(f.kind, f.line, f.call_line) for f in review.findings}
    assert ("saturated", 19, 23) in kinds  # sigmoid's line, called on line 23 (h)
    marked = {n.name for n in review.diagram.nodes if n.findings}
    assert "h" in marked
    page = render.render(review)
    assert re.search(r'class="ln linked finding" data-line="23"', page)
    assert "\u26a0 saturated" in page


def test_a_loop_finding_is_on_the_loop_not_on_a_statement():
    piecewise = load("piecewise")
    _, review = _review(piecewise.newton_until_converged, 1.37769)
    (loop,) = review.diagram.clusters.values()
    assert [f.kind for f in loop.findings] == ["vanishing"]  # Newton's iteration converges
    assert not any(n.findings for n in review.diagram.nodes)
    from adgen.page import dot

    assert "\u26a0 vanishing" in dot.expanded(review.diagram, "n")
    assert "\u26a0 vanishing" in dot.collapsed(review.diagram, "n")


def test_structured_parameters_are_inputs_of_their_own():
    import numpy as np

    structure = load("../tests/corpus/python_structure")
    rng = np.random.default_rng(0)
    params = {"W1": rng.standard_normal((4, 5)), "b1": np.zeros(5),
              "W2": rng.standard_normal((5, 3)), "b2": np.zeros(3)}
    _, review = _review(structure.two_layer_params, params, rng.standard_normal((6, 4)),
                        rng.integers(0, 3, 6))
    inputs = {n.name: n for n in review.diagram.nodes if n.kind == "input"}
    assert set(inputs) == {"W1", "b1", "W2", "b2", "X"}
    assert inputs["W1"].value == values.summary(params["W1"])
    assert (len(review.diagram.nodes), len(review.diagram.edges)) == expected_counts(
        review.grad)
    assert review.lens_error == "" and review.check_error == "" and review.check.ok


def test_a_function_with_keyword_only_parameters_is_reviewed(tmp_path):
    """def loss(w, X, y, *, l2=1e-4): the run, the lens and the verification pass l2 by
    keyword, and the page's module keeps it keyword-only."""
    import importlib.util

    import numpy as np

    path = tmp_path / "kwonly_review.py"
    path.write_text("import numpy as np\n\n\ndef loss(w, X, y, *, l2=1e-4):\n"
                    "    r = X @ w - y\n    return np.sum(r * r) + l2 * np.sum(w * w)\n")
    spec = importlib.util.spec_from_file_location("kwonly_review", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = np.random.default_rng(0)
    w, X, y = rng.standard_normal(3), rng.standard_normal((4, 3)), rng.standard_normal(4)
    compiled = adgen.api.compile_function(module.loss, None, [w, X, y], {"l2": 0.1})
    review = model.build(compiled.gradient, path.read_text(), forward_fn=module.loss,
                         args=[w, X, y, 0.1], command=compiled.command)
    assert "def loss_grad(w, X, y, *, l2=1e-4, dloss=1.0):" in review.module
    assert review.lens_error == "" and review.check_error == ""
    assert review.check.ok and review.run.error == ""
    r = X @ w - y
    assert np.isclose(review.run.output, np.sum(r * r) + 0.1 * np.sum(w * w))
