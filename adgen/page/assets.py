"""The review page's style sheet and script, inlined into every page (no network, no
server: the page works from file://).  The script links lines and diagram nodes (hover to
see, click to pin), and zooms and pans the diagram; the layout itself is Graphviz's."""

CSS = r"""
:root { --green: #1b7f2a; --red: #c0392b; --hl: #fff3b0; --pin: #ffe066; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 "DejaVu Sans", system-ui, sans-serif; color: #222;
       background: #fafafa; }
header { padding: 10px 18px; background: #24292f; color: #fff; }
header h1 { margin: 0; font-size: 18px; font-weight: 600; }
header p { margin: 4px 0 0; color: #c9d1d9; font-size: 13px; }
header code { color: #fff; }
section { margin: 12px 18px; }
h2 { font-size: 15px; margin: 0 0 6px; }
.panes { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
.pane { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; min-width: 0; }
.pane h2 { padding: 6px 10px; margin: 0; border-bottom: 1px solid #d0d7de;
           background: #f6f8fa; font-weight: 600; }
.scroll { max-height: 62vh; overflow: auto; }
pre.code { margin: 0; padding: 4px 0; font: 12.5px/1.45 "DejaVu Sans Mono", monospace; }
.ln, .gl { display: block; padding: 0 10px 0 0; white-space: pre; min-height: 1.45em; }
.ln .no, .gl .no { display: inline-block; width: 3.2em; padding-right: 0.8em; color: #8c959f;
                   text-align: right; user-select: none; }
.ln.off { color: #999; }
.ln.linked, .gl.linked { cursor: pointer; }
.gap { color: #8c959f; padding-left: 4em; font-style: italic; }
.hl { background: var(--hl); }
.pinned { background: var(--pin); }
.ln.finding .no { color: var(--red); font-weight: bold; }
.ln.finding .no::before { content: "\26a0 "; }
.gl.kind-forward .no { color: #4a6fa5; }
#diagram .bar { display: flex; gap: 6px; align-items: center; margin-bottom: 6px;
                flex-wrap: wrap; }
#diagram button { font: inherit; padding: 2px 10px; border: 1px solid #d0d7de;
                  border-radius: 4px; background: #fff; cursor: pointer; }
#diagram button[aria-pressed="true"] { background: #24292f; color: #fff; }
.legend { color: #555; font-size: 13px; }
.legend .v { color: var(--green); font-weight: 600; }
.legend .g { color: var(--red); font-weight: 600; }
.view { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; height: 60vh;
        overflow: hidden; cursor: grab; position: relative; max-height: 72vh; }
.view.dragging { cursor: grabbing; }
.view svg { width: 100%; height: 100%; display: block; }
.view g.node.hl polygon, .view g.node.hl path, .view g.node.hl ellipse
  { stroke: #e6a700; stroke-width: 4px; }
.view g.node { cursor: pointer; }
table.verify { border-collapse: collapse; background: #fff; font-size: 13px; }
table.verify th, table.verify td { border: 1px solid #d0d7de; padding: 3px 10px;
                                   text-align: right; font-family: "DejaVu Sans Mono", monospace; }
table.verify th { background: #f6f8fa; font-family: inherit; }
table.verify td.name, table.verify th.name, table.verify td.text { text-align: left; }
.ok { color: var(--green); font-weight: 600; }
.bad { color: var(--red); font-weight: 600; }
ul.findings { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; margin: 0;
              padding: 8px 8px 8px 28px; }
ul.findings li { margin: 4px 0; cursor: pointer; }
.kind { color: var(--red); font-weight: 600; }
.muted { color: #666; }
"""

JS = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("review-data").textContent);
  var fwd = {}, gen = [], spans = {};
  document.querySelectorAll(".ln").forEach(function (el) { fwd[el.dataset.line] = el; });
  document.querySelectorAll(".gl").forEach(function (el) {
    gen.push(el);
    if (el.dataset.span) { (spans[el.dataset.span] = spans[el.dataset.span] || []).push(el); }
  });
  function words(text) { return text ? text.split(" ") : []; }
  function nodeEls(id) {
    return Array.prototype.slice.call(
      document.querySelectorAll('[id="node-' + id + '"]'));
  }
  var marked = [];
  function clear(cls) {
    document.querySelectorAll("." + cls).forEach(function (el) { el.classList.remove(cls); });
  }
  // everything linked to a set of user lines: those lines, the generated spans, the nodes
  function light(lines, cls) {
    clear(cls);
    var first = null;
    lines.forEach(function (line) {
      if (fwd[line]) { fwd[line].classList.add(cls); }
      gen.forEach(function (el) {
        if (words(el.dataset.src).indexOf(String(line)) >= 0) {
          el.classList.add(cls);
          if (!first && el.dataset.kind !== "forward") { first = el; }
        }
      });
      (data.lines[line] || []).forEach(function (id) {
        nodeEls(id).forEach(function (n) { n.classList.add(cls); });
      });
    });
    return first;
  }
  function reveal(el) {
    if (!el) { return; }
    var box = el.closest(".scroll");
    var top = el.offsetTop - box.offsetTop;
    if (top < box.scrollTop || top > box.scrollTop + box.clientHeight - 20) {
      box.scrollTop = Math.max(0, top - box.clientHeight / 3);
    }
  }
  function linesOfGen(el) { return words(el.dataset.src).map(Number); }
  var pinned = null;
  function pin(lines, key) {
    if (pinned === key) { pinned = null; clear("pinned"); return null; }
    pinned = key;
    return light(lines, "pinned");
  }
  document.querySelectorAll(".ln.linked").forEach(function (el) {
    var line = Number(el.dataset.line);
    el.addEventListener("mouseenter", function () { light([line], "hl"); });
    el.addEventListener("mouseleave", function () { clear("hl"); });
    el.addEventListener("click", function () { reveal(pin([line], "l" + line)); });
  });
  gen.forEach(function (el) {
    if (!el.dataset.src) { return; }
    el.addEventListener("mouseenter", function () { light(linesOfGen(el), "hl"); });
    el.addEventListener("mouseleave", function () { clear("hl"); });
    el.addEventListener("click", function () {
      var lines = linesOfGen(el);
      pin(lines, "g" + el.dataset.span);
      reveal(fwd[lines[0]]);
    });
  });
  Object.keys(data.nodes).forEach(function (id) {
    var lines = data.nodes[id].lines;
    nodeEls(id).forEach(function (n) {
      n.addEventListener("mouseenter", function () { light(lines, "hl"); });
      n.addEventListener("mouseleave", function () { clear("hl"); });
      n.addEventListener("click", function () {
        reveal(pin(lines, "n" + id)); reveal(fwd[lines[0]]);
      });
    });
  });
  document.querySelectorAll("[data-finding-line]").forEach(function (el) {
    el.addEventListener("click", function () {
      var line = Number(el.dataset.findingLine);
      reveal(fwd[line]); reveal(pin([line], "f" + line));
    });
  });
  // the generated pane opens at NAME_grad, below the module's header
  var pane = document.getElementById("generated");
  var start = document.getElementById("gen-" + pane.dataset.start);
  if (start) { pane.scrollTop = start.offsetTop - pane.offsetTop; }
  // zoom and pan: the SVG's viewBox
  document.querySelectorAll(".view").forEach(function (view) {
    var svg = view.querySelector("svg");
    if (!svg) { return; }
    var w = parseFloat(svg.getAttribute("width")), h = parseFloat(svg.getAttribute("height"));
    var full = svg.getAttribute("viewBox").split(/[ ,]+/).map(Number);
    svg.removeAttribute("width"); svg.removeAttribute("height");
    // as tall as the drawing at its own size (pt to px), within the window
    view.style.height = Math.round(Math.min(h * 4 / 3 + 24, window.innerHeight * 0.72,
                                            Math.max(260, h * 4 / 3 + 24))) + "px";
    var box = full.slice();
    function set() { svg.setAttribute("viewBox", box.join(" ")); }
    view.fit = function () { box = full.slice(); set(); };
    // a drawing wider than the view starts at its own size, from the left (fit shows it all)
    var cw = view.clientWidth * 0.75, ch = view.clientHeight * 0.75;
    if (cw > 0 && full[2] > cw * 1.25) {
      box = [full[0], full[1] + Math.max(0, (full[3] - ch) / 2), cw, ch];
    }
    view.zoom = function (k, cx, cy) {
      var r = view.getBoundingClientRect();
      var fx = cx === undefined ? 0.5 : (cx - r.left) / r.width;
      var fy = cy === undefined ? 0.5 : (cy - r.top) / r.height;
      var nw = box[2] * k, nh = box[3] * k;
      box = [box[0] + (box[2] - nw) * fx, box[1] + (box[3] - nh) * fy, nw, nh]; set();
    };
    view.addEventListener("wheel", function (e) {
      e.preventDefault(); view.zoom(e.deltaY > 0 ? 1.15 : 1 / 1.15, e.clientX, e.clientY);
    }, { passive: false });
    var drag = null;
    view.addEventListener("mousedown", function (e) {
      drag = [e.clientX, e.clientY, box[0], box[1]]; view.classList.add("dragging");
    });
    window.addEventListener("mousemove", function (e) {
      if (!drag) { return; }
      var r = view.getBoundingClientRect();
      var s = Math.max(box[2] / r.width, box[3] / r.height);
      box[0] = drag[2] - (e.clientX - drag[0]) * s; box[1] = drag[3] - (e.clientY - drag[1]) * s;
      set();
    });
    window.addEventListener("mouseup", function () {
      drag = null; view.classList.remove("dragging");
    });
    set();
  });
  function current() { return document.querySelector(".view:not([hidden])"); }
  function on(id, f) {
    var b = document.getElementById(id);
    if (b) { b.addEventListener("click", f); }
  }
  on("zoom-in", function () { current().zoom(1 / 1.25); });
  on("zoom-out", function () { current().zoom(1.25); });
  on("zoom-fit", function () { current().fit(); });
  document.querySelectorAll("[data-view]").forEach(function (b) {
    b.addEventListener("click", function () {
      document.querySelectorAll("[data-view]").forEach(function (o) {
        o.setAttribute("aria-pressed", String(o === b));
      });
      document.querySelectorAll(".view").forEach(function (v) {
        v.hidden = v.id !== "view-" + b.dataset.view;
      });
    });
  });
})();
"""
