"""The diagram drawn by Graphviz: DOT text from `graph.Diagram`, laid out left to right by
`dot` (Debian's graphviz package, or any Graphviz on PATH) into SVG at generation time, so
the page needs no layout code and the output is the same for the same input.

Two views: expanded (loops and inlined helpers as clusters around their statements) and
collapsed (each outermost loop or helper as one node, the wires into and out of it kept).
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import textwrap
from typing import Optional

from adgen.page.graph import Diagram, Edge, Node

GREEN, RED = "#1b7f2a", "#c0392b"
FONT = "DejaVu Sans"


class NoGraphviz(Exception):
    """Graphviz's `dot` is not installed (or failed): what to do about it."""


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _wire_label(value: Optional[str], grad: Optional[str]) -> str:
    rows = []
    if value is not None:
        rows.append(f'<tr><td><font color="{GREEN}">{_esc(value)}</font></td></tr>')
    if grad is not None:
        rows.append(f'<tr><td><font color="{RED}">{_esc(grad)}</font></td></tr>')
    if not rows:
        return ""
    return ('label=<<table border="0" cellborder="0" cellspacing="0" cellpadding="0">'
            + "".join(rows) + "</table>>")


def _node_line(node: Node) -> str:
    if node.kind == "input":
        shape = 'shape=box, style="rounded,filled", fillcolor="#e8f0fe", color="#4a6fa5"'
        text = f"<b>{_esc(node.name)}</b>"
    elif node.kind == "output":
        shape = 'shape=box, style="rounded,filled", fillcolor="#fff4d6", color="#b58900"'
        text = f"<b>{_esc(node.name)}</b><br/><font point-size=\"9\">output</font>"
    else:
        shape = 'shape=box, style="rounded,filled", fillcolor="#ffffff", color="#555555"'
        expr = "<br/>".join(_esc(part) for part in textwrap.wrap(
            node.label.split(" = ", 1)[-1], 34, break_long_words=False) or [""])
        text = (f"<b>{_esc(node.name)}</b><br/>"
                f"<font point-size=\"9\" face=\"DejaVu Sans Mono\">{expr}</font>")
    if node.findings:
        kinds = ", ".join(dict.fromkeys(f.kind for f in node.findings))
        shape = ('shape=box, style="rounded,filled", fillcolor="#fdecea", color="#c0392b", '
                 'penwidth=2')
        text += f'<br/><font point-size="9" color="{RED}">\u26a0 {_esc(kinds)}</font>'
    tip = [node.label if node.kind == "gate" else node.name]
    tip += [f"value: {node.value_exact}"] if node.value_exact else []
    tip += [f"gradient: {node.grad_exact}"] if node.grad_exact else []
    tip += [f"{f.kind}: {f.message}" for f in node.findings]
    tooltip = _esc("\n".join(tip)).replace("\n", "&#10;")
    return (f'  "{node.id}" [id="node-{node.id}", {shape}, label=<{text}>, '
            f'tooltip="{tooltip}"];')


def _edge_line(edge: Edge, number: int) -> str:
    attrs = [f'id="edge-{number}"']
    if edge.carried:
        attrs += ['style=dashed', 'color="#888888"', 'constraint=false',
                  'label=<<font color="#888888" point-size="9">next step</font>>']
    else:
        label = _wire_label(edge.value, edge.grad)
        if label:
            attrs.append(label)
    return f'  "{edge.source}" -> "{edge.target}" [{", ".join(attrs)}];'


def _header(name: str) -> list[str]:
    return [f'digraph "{_esc(name)}" {{',
            f'  graph [rankdir=LR, nodesep=0.25, ranksep=0.45, fontname="{FONT}", '
            'fontsize=10, bgcolor="transparent"];',
            f'  node [fontname="{FONT}", fontsize=11, margin="0.12,0.05", height=0.3];',
            f'  edge [fontname="{FONT}", fontsize=10, color="#666666", arrowsize=0.6];']


def expanded(diagram: Diagram, name: str) -> str:
    """DOT text: every node, loops and helpers as clusters."""
    lines = _header(name)
    children: dict = {}
    for key, cluster in diagram.clusters.items():
        children.setdefault(cluster.parent, []).append(key)
    members: dict = {}
    for node in diagram.nodes:
        members.setdefault(node.cluster, []).append(node)

    def emit(key, indent: str) -> None:
        for node in members.get(key, ()):
            lines.append(indent + _node_line(node).lstrip())
        for child in children.get(key, ()):
            cluster = diagram.clusters[child]
            number = list(diagram.clusters).index(child)
            lines.append(f'{indent}subgraph "cluster_{number}" {{')
            label, color = _esc(cluster.label), '"#8a8a8a"; fontcolor="#444444"'
            if cluster.findings:
                kinds = ", ".join(dict.fromkeys(f.kind for f in cluster.findings))
                label += f'<br/><font color="{RED}">\u26a0 {_esc(kinds)}</font>'
                color = f'"{RED}"; penwidth=2; fontcolor="#444444"'
            lines.append(f'{indent}  id="cluster-{number}"; label=<{label}>; '
                         f'labeljust=l; style="rounded,dashed"; color={color};')
            emit(child, indent + "  ")
            lines.append(indent + "}")

    emit(None, "  ")
    for number, edge in enumerate(diagram.edges):
        lines.append(_edge_line(edge, number))
    lines.append("}")
    return "\n".join(lines) + "\n"


def collapsed(diagram: Diagram, name: str) -> str:
    """DOT text: each outermost loop or helper drawn as one node."""
    def top(key):
        while key is not None and diagram.clusters[key].parent is not None:
            key = diagram.clusters[key].parent
        return key

    owner = {n.id: top(n.cluster) for n in diagram.nodes}
    lines = _header(name)
    for number, (key, cluster) in enumerate(diagram.clusters.items()):
        if cluster.parent is None:
            inside = sum(1 for n in diagram.nodes if owner[n.id] == key)
            text = (f"<b>{_esc(cluster.label.split(':')[0])}</b><br/>"
                    f"<font point-size=\"9\">{inside} statements (collapsed)</font>")
            fill = '"#f4f4f4"'
            if cluster.findings:
                kinds = ", ".join(dict.fromkeys(f.kind for f in cluster.findings))
                text += f'<br/><font point-size="9" color="{RED}">\u26a0 {_esc(kinds)}</font>'
                fill = f'"#fdecea", color="{RED}", penwidth=2'
            lines.append(f'  "cluster-{number}" [id="group-{number}", shape=box3d, '
                         f'style="filled", fillcolor={fill}, label=<{text}>];')
    for node in diagram.nodes:
        if owner[node.id] is None:
            lines.append(_node_line(node))
    seen: set = set()
    for number, edge in enumerate(diagram.edges):
        ends = []
        for end in (edge.source, edge.target):
            key = owner[end]
            ends.append(end if key is None else
                        f"cluster-{list(diagram.clusters).index(key)}")
        if ends[0] == ends[1] or tuple(ends) in seen or edge.carried:
            continue
        seen.add(tuple(ends))
        lines.append(_edge_line(Edge(ends[0], ends[1], edge.value, edge.grad), number))
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(dot_text: str) -> str:
    """SVG from DOT text, by Graphviz's `dot`; NoGraphviz when it is not installed."""
    program = shutil.which("dot")
    if program is None:
        raise NoGraphviz("the diagram is drawn by Graphviz's dot program, which is not "
                         "installed: install graphviz (Debian/Ubuntu: apt-get install "
                         "graphviz; macOS: brew install graphviz)")
    try:
        done = subprocess.run([program, "-Tsvg"], input=dot_text.encode("utf-8"),
                              capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NoGraphviz(f"running {program} failed: {exc}") from None
    if done.returncode != 0:
        raise NoGraphviz(f"{program} failed: {done.stderr.decode('utf-8', 'replace').strip()}")
    svg = done.stdout.decode("utf-8")
    # the XML prologue and DOCTYPE are for a file of its own; the comments name the version
    svg = re.sub(r"^.*?(<svg\b)", r"\1", svg, flags=re.S)
    return svg


def standalone(svg: str) -> str:
    """An SVG element as a file of its own (--svg)."""
    return '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n' + svg
