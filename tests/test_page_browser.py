"""The review page in a real browser (headless Chromium driven by Selenium, tests/browser.py):
no console errors, every forward line linked to its backward block and back, the diagram's
node and edge counts those of the staged function, the numbers on the wires those of the
generated code, opening in under a second, zoom and collapse working.  Screenshots are
saved next to each page (pytest's tmp_path) for a person to look at."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest

import adgen
from adgen import ir
from adgen.cli import main
from page_cases import ROOT, expected_counts, load, mlp_arguments, rnn_arguments

# never skipped: selenium is in the test extra, Chromium installed by .ci/run
from browser import chromium, console_errors
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By


@pytest.fixture(scope="module")
def browser():
    with chromium() as driver:
        yield driver


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """The three pages: the CS231n example from the command line, the RNN and the two-layer
    MLP from adgen.review."""
    out = tmp_path_factory.mktemp("pages")
    assert main(["examples/cs231n.py", "-f", "f", "--html", str(out / "cs231n.html"),
                 "--at", "3,-4"]) == 0
    rnn, layers = load("rnn"), load("layers")
    adgen.review(rnn.rnn_loss, *rnn_arguments(), path=str(out / "rnn.html"))
    adgen.review(layers.two_layer_loss, *mlp_arguments(), path=str(out / "mlp.html"))
    return out


def _open(browser, path):
    console_errors(browser)  # forget what an earlier page logged
    browser.get(path.as_uri())
    return browser.execute_script(
        "var t = performance.timing; return t.loadEventEnd - t.navigationStart;")


@pytest.mark.parametrize("name", ["cs231n", "rnn", "mlp"])
def test_the_page_opens_fast_without_console_errors(browser, pages, name):
    elapsed = _open(browser, pages / f"{name}.html")
    assert 0 < elapsed < 1000, elapsed
    browser.find_element(By.ID, "diagram").location_once_scrolled_into_view
    browser.save_screenshot(str(pages / f"{name}.png"))
    assert (pages / f"{name}.png").stat().st_size > 10_000
    assert console_errors(browser) == []


def _lines_highlighted(browser, selector):
    return browser.execute_script(
        "return Array.prototype.map.call(document.querySelectorAll(arguments[0]),"
        " function (e) { return e.id; });", selector)


@pytest.mark.parametrize("name", ["cs231n", "rnn", "mlp"])
def test_every_forward_line_is_linked_to_its_backward_block_and_back(browser, pages, name):
    _open(browser, pages / f"{name}.html")
    generated = browser.execute_script(
        "return Array.prototype.map.call(document.querySelectorAll('#generated .gl'),"
        " function (e) { return e.textContent; });")
    # the truth: the generated code's own `# line N:` comments
    commented: dict = {}
    for number, text in enumerate(generated, start=1):
        found = re.match(r"\d+\s*# line (\d+): ", text)
        if found and "backwards" not in text:
            commented.setdefault(int(found.group(1)), []).append(f"gen-{number}")
    assert commented
    hover = ActionChains(browser)
    for line, comments in commented.items():
        source = browser.find_element(By.ID, f"src-{line}")
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", source)
        hover.move_to_element(source).perform()
        lit = _lines_highlighted(browser, "#generated .gl.hl")
        assert set(comments) <= set(lit), (line, comments, lit)
        for comment in comments:  # and back: the block's comment lights its forward line
            element = browser.find_element(By.ID, comment)
            browser.execute_script("arguments[0].scrollIntoView({block: 'center'});",
                                   element)
            hover.move_to_element(element).perform()
            assert f"src-{line}" in _lines_highlighted(browser, "#forward .ln.hl")
    assert console_errors(browser) == []


def _diagram(browser, view="expanded"):
    return browser.execute_script(f"""
        var svg = document.querySelector('#view-{view} svg');
        function texts(g) {{
            return Array.prototype.map.call(g.querySelectorAll('text'),
                function (t) {{ return t.textContent; }});
        }}
        return {{
            nodes: Array.prototype.map.call(svg.querySelectorAll('g.node'), function (g) {{
                return {{id: g.id, text: texts(g)}}; }}),
            edges: Array.prototype.map.call(svg.querySelectorAll('g.edge'), function (g) {{
                return {{title: g.querySelector('title').textContent, text: texts(g)}}; }})
        }};""")


def _grad_module(name: str):
    namespace: dict = {}
    exec((ROOT / "examples" / f"{name}_grad.py").read_text(), namespace)
    return namespace


def _with_copies(grad):
    """The generated module with the backward pass's pure copies kept."""
    from adgen.emit import Tap, emit_module

    class Keep(Tap):
        keeps_copies = True

    namespace: dict = {}
    exec(emit_module([grad], source_path="cs231n.py", command="adgen", taps=[Keep()]),
         namespace)
    return namespace


def _locals_at_return(fn, *args):
    """Every local variable of `fn` (the generated code) when it returns."""
    seen: dict = {}

    def tracer(frame, event, arg):
        if frame.f_code is fn.__code__:
            if event == "return":
                seen.update(frame.f_locals)
            return tracer
        return None

    sys.settrace(tracer)
    try:
        fn(*args)
    finally:
        sys.settrace(None)
    return seen


def _show(v: float) -> str:
    text = f"{v:.4g}"
    return "0" if text == "-0" else text


def test_the_cs231n_diagram_matches_the_staged_function_and_the_generated_numbers(
        browser, pages):
    _open(browser, pages / "cs231n.html")
    cs231n = load("cs231n")
    grad = adgen.api.compile_function(cs231n.f).gradient
    drawn = _diagram(browser)
    assert (len(drawn["nodes"]), len(drawn["edges"])) == expected_counts(grad) == (11, 13)
    # every local of the committed generated module's f_grad at (3, -4): values and d<value>;
    # a gradient the module does not write (a pure copy, propagated) from the same code with
    # its copies kept
    local = _locals_at_return(_grad_module("cs231n")["f_grad"], 3.0, -4.0)
    local = {**_locals_at_return(_with_copies(grad)["f_grad"], 3.0, -4.0), **local}
    names = {n["id"].removeprefix("node-"): n["text"][0] for n in drawn["nodes"]}
    for edge in drawn["edges"]:
        source = names[edge["title"].split("->")[0]]
        value, gradient = edge["text"]
        assert value == _show(local[source]), (source, value)
        assert gradient == _show(local[f"d{source}" if source != "f" else "df"]), source
    assert "f = num * invden" not in str(drawn)  # node labels are the operation only
    assert ["f", "num * invden"] in [n["text"] for n in drawn["nodes"]]
    # a node's tooltip has the full-precision numbers
    tips = browser.execute_script(
        "return Array.prototype.map.call(document.querySelectorAll('#view-expanded g.node a'),"
        " function (a) { return a.getAttributeNS('http://www.w3.org/1999/xlink', 'title'); });")
    assert f"sigy = sigmoid(y)\nvalue: {local['sigy']!r}\ngradient: {local['dsigy']!r}" \
        in tips


def test_a_click_pins_the_link_and_scrolls_the_block_into_view(browser, pages):
    _open(browser, pages / "cs231n.html")
    browser.find_element(By.ID, "src-16").click()  # sigy: its block is the last one
    pinned = _lines_highlighted(browser, "#generated .gl.pinned")
    comment = next(i for i in pinned if browser.find_element(By.ID, i).text.split(None, 1)[1]
                   .startswith("# line 16:"))
    visible = browser.execute_script(
        "var el = document.getElementById(arguments[0]), box = el.closest('.scroll');"
        "var a = el.getBoundingClientRect(), b = box.getBoundingClientRect();"
        "return a.top >= b.top && a.bottom <= b.bottom;", comment)
    assert visible
    assert "node-n0" in _lines_highlighted(browser, "#view-expanded g.node.pinned")
    browser.find_element(By.ID, "src-16").click()  # a second click unpins
    assert _lines_highlighted(browser, ".pinned") == []
    assert console_errors(browser) == []


def _summary(a) -> str:
    a = np.asarray(a, dtype=float)
    shape = "\u00d7".join(map(str, a.shape))
    return (f"{shape} \u2016{_show(float(np.linalg.norm(a)))}\u2016 "
            f"[{_show(float(a.min()))}, {_show(float(a.max()))}]")


def test_the_rnn_diagram_shows_the_generated_gradients_and_collapses_the_loop(browser, pages):
    _open(browser, pages / "rnn.html")
    rnn = load("rnn")
    args = rnn_arguments()
    grad = adgen.api.compile_function(rnn.rnn_loss, None, list(args), {}).gradient
    drawn = _diagram(browser)
    assert (len(drawn["nodes"]), len(drawn["edges"])) == expected_counts(grad)
    gradients = dict(zip(("x", "h0", "Wxh", "Whh", "b"),
                         _grad_module("rnn")["rnn_loss_grad"](*args)))
    names = {n["id"].removeprefix("node-"): n["text"][0] for n in drawn["nodes"]}
    checked = set()
    for edge in drawn["edges"]:
        source = names[edge["title"].split("->")[0]]
        if source in gradients:
            value, gradient = edge["text"]
            assert value == _summary(dict(zip(gradients, args))[source])
            assert gradient == _summary(gradients[source]), source
            checked.add(source)
    assert checked == set(gradients)
    # collapse: the loop becomes one node, its statements leave the drawing
    browser.find_element(By.CSS_SELECTOR, "[data-view=collapsed]").click()
    assert browser.find_element(By.ID, "view-expanded").get_attribute("hidden")
    collapsed = _diagram(browser, "collapsed")
    loop_nodes = sum(1 for s in ir.assigns(grad.forward)
                     if s.target in grad.grad_names) - 3  # h, hh, rnn_loss are outside
    assert len(collapsed["nodes"]) == len(drawn["nodes"]) - loop_nodes + 1
    assert any("5 statements" in " ".join(n["text"]) or "statements (collapsed)" in
               " ".join(n["text"]) for n in collapsed["nodes"])
    # zoom: the button changes the drawing's viewBox
    before = browser.execute_script(
        "return document.querySelector('#view-collapsed svg').getAttribute('viewBox');")
    browser.find_element(By.ID, "zoom-in").click()
    after = browser.execute_script(
        "return document.querySelector('#view-collapsed svg').getAttribute('viewBox');")
    assert before != after
    assert console_errors(browser) == []


def test_hovering_a_node_lights_its_lines_and_the_verification_table_is_shown(browser, pages):
    _open(browser, pages / "mlp.html")
    node = browser.find_element(By.CSS_SELECTOR, "#view-expanded g.node[id^='node-n']")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", node)
    ActionChains(browser).move_to_element(node).perform()
    assert _lines_highlighted(browser, "#forward .ln.hl")
    assert _lines_highlighted(browser, "#generated .gl.hl")
    table = browser.find_element(By.CSS_SELECTOR, "table.verify").text
    for name in ("X", "W1", "b1", "W2", "b2"):
        assert re.search(rf"^{name} .* ok", table, re.M), table
    assert "gradient ok" in browser.find_element(By.ID, "verification").text
    assert console_errors(browser) == []
