"""The review page as one self-contained HTML file: styles, script, data and both views of
the diagram inline; no network, no server.  Deterministic: the same review gives the same
bytes."""

from __future__ import annotations

import html
import json

from adgen.page import assets, dot
from adgen.page.model import Review
from adgen.page.values import summary


def _highlight(text: str) -> list[str]:
    """The lines of Python source as highlighted HTML (Pygments), one string per line."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    lexer = PythonLexer(stripnl=False, stripall=False, ensurenl=True)
    out = highlight(text, lexer, HtmlFormatter(nowrap=True)).split("\n")
    count = len(text.split("\n"))
    return (out + [""] * count)[:count]


def _style() -> str:
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(style="default").get_style_defs("pre.code")


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def _forward_pane(review: Review) -> str:
    lines = _highlight(review.text)
    linked = {line for span in review.spans for line in span.lines}
    findings: dict = {}
    for f in review.findings:  # at its line, and at the call of the helper it is in
        for line in dict.fromkeys([f.line] + ([f.call_line] if f.call_line else [])):
            findings.setdefault(line, []).append(f"{f.kind}: {f.message}")
    out = []
    for n, (first, last) in enumerate(review.segments):
        if n:
            out.append('<span class="gap">\u22ee</span>')
        for line in range(first, last + 1):
            classes = ["ln"] + (["linked"] if line in linked else []) + (
                ["finding"] if line in findings else [])
            title = f' title="{_esc(chr(10).join(findings[line]))}"' if line in findings else ""
            out.append(f'<span class="{" ".join(classes)}" data-line="{line}" '
                       f'id="src-{line}"{title}><span class="no">{line}</span>'
                       f'{lines[line - 1] if line <= len(lines) else ""}</span>')
    return "".join(out)


def _generated_pane(review: Review) -> str:
    lines = _highlight(review.module)
    owner: dict = {}
    # a line belongs to the innermost span holding it (a block inside a backward loop)
    for number, span in sorted(enumerate(review.spans),
                               key=lambda item: item[1].first - item[1].last):
        for line in range(span.first, span.last + 1):
            owner[line] = (number, span)
    node_of = review.diagram.node_of
    out = []
    for i, text in enumerate(lines, start=1):
        attrs = f'class="gl" id="gen-{i}"'
        if i in owner:
            number, span = owner[i]
            node = node_of.get(span.node, "")
            attrs = (f'class="gl linked kind-{span.kind}" id="gen-{i}" data-span="{number}" '
                     f'data-kind="{span.kind}" data-src="{" ".join(map(str, span.lines))}"'
                     + (f' data-node="{node}"' if node else ""))
        out.append(f'<span {attrs}><span class="no">{i}</span>{text}</span>')
    return "".join(out)


def _start(review: Review) -> int:
    """The generated module's line that defines NAME_grad: where its pane opens."""
    head = f"def {review.grad.function.name}_grad("
    lines = review.module.split("\n")
    return next((i for i, line in enumerate(lines, start=1) if line.startswith(head)), 1)


def _inputs(review: Review) -> str:
    run = review.run
    if run is None:
        return ""
    parts = [f"{_esc(k)} = {_esc(summary(v) if not isinstance(v, dict) else '{...}')}"
             for k, v in run.inputs.items()]
    text = "at " + ", ".join(parts)
    if run.output is not None:
        text += f" \u2192 {_esc(review.grad.function.name)} = {_esc(summary(run.output))}"
    if run.error:
        text += f" (the generated code raised {_esc(run.error)})"
    return text


def _findings(review: Review) -> str:
    if review.lens_error:
        return f'<p class="muted">The lens could not run: {_esc(review.lens_error)}</p>'
    if not review.findings:
        return ('<p class="muted">The lens found no leak at these inputs (no saturated gate, '
                'dead ReLU, zeroed clip, exploding or vanishing loop, nan or inf).</p>')
    items = "".join(
        f'<li data-finding-line="{f.line}"><span class="kind">{_esc(f.kind)}</span> at line '
        f'{f.line}: {_esc(f.message)}' + (f' <span class="muted">{_esc(f.help)}</span>'
                                          if f.help else "") + "</li>"
        for f in review.findings)
    return f'<ul class="findings">{items}</ul>'


def _verification(review: Review) -> str:
    if review.check_error:
        return f'<p class="bad">Verification could not run: {_esc(review.check_error)}</p>'
    check = review.check
    if check is None:
        return '<p class="muted">Not verified.</p>'
    verdict = ('<span class="ok">gradient ok</span>' if check.ok
               else '<span class="bad">GRADIENT MISMATCH</span>')
    rows = "".join(
        f'<tr><td class="name">{_esc(i.name)}</td><td>{i.analytic:.8g}</td>'
        f'<td>{i.numeric:.8g}</td><td>{i.rel_error:.1e}</td>'
        f'<td class="text {"ok" if i.status != "FAIL" else "bad"}">'
        f'{_esc("ok*" if i.ok_by_absolute_error else i.status)}</td>'
        f'<td class="text">{_esc(i.symbolic)}</td></tr>' for i in check.inputs)
    note = f'<p class="muted">{_esc(check.note)}</p>' if check.note else ""
    return (f"<p>{_esc(check.function)}: {verdict} (value {check.value:.10g})</p>{note}"
            '<table class="verify"><thead><tr><th class="name">input</th><th>adgen</th>'
            '<th>numeric</th><th>rel. error</th><th class="name">numeric</th>'
            f'<th class="name">symbolic</th></tr></thead><tbody>{rows}</tbody></table>'
            f'<pre class="muted" id="verify-text">{_esc(check.format())}</pre>')


def _data(review: Review) -> str:
    diagram = review.diagram
    lines: dict = {}
    for node in diagram.nodes:
        if node.kind != "output":
            for line in node.lines:
                lines.setdefault(str(line), []).append(node.id)
    data = {
        "nodes": {n.id: {"name": n.name, "label": n.label, "lines": list(n.lines),
                         "kind": n.kind, "value": n.value_exact, "grad": n.grad_exact,
                         "cluster": n.cluster} for n in diagram.nodes},
        "edges": [{"source": e.source, "target": e.target, "value": e.value, "grad": e.grad,
                   "carried": e.carried} for e in diagram.edges],
        "lines": lines,
    }
    # inside <script>: no "</" may appear
    return json.dumps(data, sort_keys=True, separators=(",", ":")).replace("</", "<\\/")


def svgs(review: Review) -> tuple[str, str]:
    """The diagram's two views as SVG: expanded, and collapsed (or "" without clusters)."""
    name = review.grad.function.name
    expanded = dot.render(dot.expanded(review.diagram, name))
    collapsed = dot.render(dot.collapsed(review.diagram, name)) if review.diagram.clusters \
        else ""
    return expanded, collapsed


def render(review: Review) -> str:
    fn = review.grad.function
    expanded, collapsed = svgs(review)
    views = f'<div class="view" id="view-expanded">{expanded}</div>'
    toggle = ""
    if collapsed:
        views += f'<div class="view" id="view-collapsed" hidden>{collapsed}</div>'
        toggle = ('<button data-view="expanded" aria-pressed="true">loops and helpers '
                  'expanded</button><button data-view="collapsed" aria-pressed="false">'
                  'collapsed</button>')
    title = f"{fn.name} \u2014 {fn.path}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>adgen review: {_esc(title)}</title>
<style>{assets.CSS}{_style()}</style>
</head>
<body>
<header><h1>adgen review: <code>{_esc(fn.name)}</code> from {_esc(fn.path)}</h1>
<p id="inputs">{_inputs(review)}</p></header>
<section class="panes">
<div class="pane"><h2>forward: {_esc(fn.path)}</h2><div class="scroll" id="forward">
<pre class="code">{_forward_pane(review)}</pre></div></div>
<div class="pane"><h2>generated backward pass: {_esc(fn.name)}_grad</h2>
<div class="scroll" id="generated" data-start="{_start(review)}"><pre class="code">
{_generated_pane(review)}</pre></div></div>
</section>
<section id="diagram"><h2>circuit diagram</h2>
<div class="bar"><button id="zoom-in" title="zoom in">+</button>
<button id="zoom-out" title="zoom out">\u2212</button><button id="zoom-fit">fit</button>
{toggle}<span class="legend">on each wire: its <span class="v">value</span> over the
<span class="g">gradient</span> of the output with respect to it (all its uses added);
arrays as shape \u2016norm\u2016 [min, max]; wheel to zoom, drag to pan</span></div>
{views}
</section>
<section id="lens"><h2>the lens: where the gradient leaks</h2>{_findings(review)}</section>
<section id="verification"><h2>verification at these inputs</h2>{_verification(review)}</section>
<script type="application/json" id="review-data">{_data(review)}</script>
<script>{assets.JS}</script>
</body>
</html>
"""
