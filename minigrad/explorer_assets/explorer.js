// minigrad explorer: draws what Python computed. No value or gradient is computed here:
// every number comes from the page's embedded data, made by the engine.
// Everything is scoped to one container element, so several explorers share a page.
function mgxStart(root) {
  "use strict";
  const payload = JSON.parse(root.querySelector("script.mgx-data").textContent);
  const num = (v) => (typeof v === "string" ? Number(v) : v);
  // numbers are printed to 6 significant digits (statistics and edge labels to 4)
  const six = (v) => { v = num(v); return Number.isFinite(v) ? Number(v.toPrecision(6)).toString() : String(v); };
  const short = (v) => { v = num(v); return Number.isFinite(v) ? Number(v.toPrecision(4)).toString() : String(v); };

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function button(text, title, action) {
    const b = el("button", "mgx-button", text);
    b.type = "button";
    b.title = title;
    b.addEventListener("click", (ev) => { ev.stopPropagation(); action(); root.focus({preventScroll: true}); });
    return b;
  }

  // ---- skeleton ----------------------------------------------------------------------
  const head = el("div", "mgx-head");
  head.appendChild(el("span", "mgx-title", payload.title));
  const controls = el("span", "mgx-controls");
  const stepLabel = el("span", "mgx-steplabel");
  controls.append(button("|\u25c0", "back to the start of backward (Home)", () => go(0)),
                  button("\u25c0 prev", "previous backward step (left arrow)", () => go(state.step - 1)),
                  button("next \u25b6", "next backward step (right arrow)", () => go(state.step + 1)),
                  button("\u25b6|", "run all of backward (End)", () => go(Infinity)),
                  button("zoom", "fit the picture to the width, or show it at full size", () => graph.classList.toggle("mgx-full")),
                  stepLabel);
  head.appendChild(controls);
  root.appendChild(head);

  let slider = null, sliderLabel = null, curve = null;
  if (payload.timeline) {
    const bar = el("div", "mgx-timeline");
    slider = el("input", "mgx-slider");
    slider.type = "range"; slider.min = 0; slider.max = payload.snapshots.length - 1; slider.value = 0;
    slider.addEventListener("input", () => load(Number(slider.value)));
    sliderLabel = el("span", "mgx-sliderlabel");
    curve = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    curve.setAttribute("class", "mgx-curve");
    bar.append(el("span", "", "recorded step "), slider, sliderLabel, curve);
    root.appendChild(bar);
  }
  const banner = el("div", "mgx-banner");
  root.appendChild(banner);
  const body = el("div", "mgx-body");
  const graph = el("div", "mgx-graph");
  const panel = el("div", "mgx-panel");
  body.append(graph, panel);
  root.appendChild(body);

  const state = {snap: 0, step: 0, pinned: null};
  let snap = null, nodes = null, edges = null, vertex = null;

  // ---- one snapshot: its picture and the maps from drawn names to data ---------------
  function load(i) {
    state.snap = i;
    snap = payload.snapshots[i];
    graph.innerHTML = snap.svg;
    nodes = new Map(); edges = new Map();
    for (const g of graph.querySelectorAll("g.node")) nodes.set(g.getAttribute("data-node"), g);
    for (const g of graph.querySelectorAll("g.edge")) edges.set(g.getAttribute("data-edge"), g);
    vertex = {f: {}, b: {}};  // page id of a tensor or op -> drawn name, per pass
    for (const [name, d] of Object.entries(snap.drawn)) {
      if (d.tensor) vertex[d.pass][d.tensor] = name;
      else if (d.op) vertex[d.pass][d.op] = name;
      else for (const op of d.ops) vertex[d.pass][op] = name;
    }
    if (payload.timeline) {
      slider.value = i;
      const step = payload.timeline.steps[i];
      const point = payload.timeline.losses.find((p) => p[0] === step);
      sliderLabel.textContent = ` ${step} (${i + 1} of ${payload.snapshots.length})` +
        (point ? `, loss ${short(point[1])}` : "");
      drawCurve(step);
    }
    markNonfinite();
    state.step = Math.min(state.step, snap.steps.length);
    applyStep();
    if (state.pinned && !show(state.pinned)) state.pinned = null;
    if (!state.pinned) help();
  }

  function drawCurve(current) {
    const pts = payload.timeline.losses.map((p) => [p[0], num(p[1])]).filter((p) => Number.isFinite(p[1]));
    const w = 240, h = 56, pad = 4;
    curve.setAttribute("viewBox", `0 0 ${w} ${h}`);
    curve.setAttribute("width", w); curve.setAttribute("height", h);
    curve.innerHTML = "";
    if (pts.length < 1) return;
    const x0 = pts[0][0], x1 = Math.max(pts[pts.length - 1][0], x0 + 1);
    const ys = pts.map((p) => p[1]);
    const y0 = Math.min(...ys), y1 = Math.max(Math.max(...ys), y0 + 1e-12);
    const X = (x) => pad + (w - 2 * pad) * (x - x0) / (x1 - x0);
    const Y = (y) => h - pad - (h - 2 * pad) * (y - y0) / (y1 - y0);
    const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
    line.setAttribute("points", pts.map((p) => `${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(" "));
    line.setAttribute("class", "mgx-lossline");
    curve.appendChild(line);
    const here = pts.find((p) => p[0] === current);
    if (here) {
      const dot = document.createElementNS("http://www.w3.org/2000/svg", "circle");
      dot.setAttribute("cx", X(here[0])); dot.setAttribute("cy", Y(here[1])); dot.setAttribute("r", 3.5);
      dot.setAttribute("class", "mgx-lossdot");
      curve.appendChild(dot);
    }
  }

  // ---- arrays -----------------------------------------------------------------------
  function nested(values, shape) {
    if (shape.length === 0) return six(values[0]);
    let k = 0;
    const walk = (depth) => {
      if (depth === shape.length) return six(values[k++]);
      const parts = [];
      for (let i = 0; i < shape[depth]; i++) parts.push(walk(depth + 1));
      return "[" + parts.join(depth === shape.length - 1 ? ", " : ",\n" + " ".repeat(depth + 1)) + "]";
    };
    return walk(0);
  }
  function colour(v, scale) {
    v = num(v);
    if (!Number.isFinite(v)) return "#ff00ff";
    const t = scale > 0 ? Math.max(-1, Math.min(1, v / scale)) : 0;
    const a = Math.round(255 * (1 - Math.abs(t)));
    return t >= 0 ? `rgb(255,${a},${a})` : `rgb(${a},${a},255)`;
  }
  function heatmap(h) {
    const cell = Math.max(3, Math.min(14, Math.floor(224 / Math.max(h.cols, h.rows))));
    const c = el("canvas", "mgx-heat");
    c.width = h.cols * cell; c.height = h.rows * cell;
    const ctx = c.getContext("2d");
    const scale = Math.max(...h.data.map((v) => Math.abs(num(v))).filter(Number.isFinite), 0);
    h.data.forEach((v, i) => {
      ctx.fillStyle = colour(v, scale);
      ctx.fillRect((i % h.cols) * cell, Math.floor(i / h.cols) * cell, cell, cell);
    });
    c.title = `blue negative, white 0, red positive (|max| ${short(scale)}); magenta NaN/inf`;
    return c;
  }
  function histogram(hist) {
    const c = el("canvas", "mgx-hist");
    c.width = 240; c.height = 48;
    const ctx = c.getContext("2d");
    const top = Math.max(...hist.counts, 1), w = c.width / hist.counts.length;
    ctx.fillStyle = "#5b7fb8";
    hist.counts.forEach((n, i) => {
      const hgt = Math.round((c.height - 2) * n / top);
      ctx.fillRect(i * w + 0.5, c.height - hgt, w - 1, hgt);
    });
    return c;
  }
  function arrayView(info, what) {
    const box = el("div", "mgx-array");
    const shape = info.shape.length ? "(" + info.shape.join(", ") + (info.shape.length === 1 ? ",)" : ")") : "scalar";
    box.appendChild(el("div", "mgx-meta", `${what}: ${shape} ${info.dtype}, ${info.size} element${info.size === 1 ? "" : "s"}`));
    if (info.stats && info.size > 1) {
      const s = info.stats;
      box.appendChild(el("div", "mgx-stats", `mean ${short(s.mean)}  std ${short(s.std)}  min ${short(s.min)}  max ${short(s.max)}`));
    }
    if (info.nan || info.inf) box.appendChild(el("div", "mgx-badnote", `${info.nan} NaN, ${info.inf} inf`));
    if (info.exact) {
      box.appendChild(el("pre", "mgx-exact", nested(info.exact, info.shape)));
    } else {
      if (info.heat) {
        box.appendChild(heatmap(info.heat));
        const [r, c] = info.heat.step;
        box.appendChild(el("div", "mgx-caption", `heat map of ${info.heat.rows} x ${info.heat.cols} entries` +
          (r > 1 || c > 1 ? ` (every ${r > 1 ? r + "th row" : "row"}, ${c > 1 ? c + "th column" : "column"}; 4 digits)` : " (4 digits)")));
      }
      if (info.hist) {
        box.appendChild(histogram(info.hist));
        box.appendChild(el("div", "mgx-caption", `histogram of the finite elements, ${short(info.hist.lo)} to ${short(info.hist.hi)}`));
      }
    }
    return box;
  }

  // ---- the panel --------------------------------------------------------------------
  function link(id) {
    const d = snap.tensors[id] || snap.ops[id];
    const a = el("a", "mgx-link", d ? d.name : id);
    a.href = "#";
    a.addEventListener("click", (ev) => { ev.preventDefault(); pin(id); });
    return a;
  }
  function section(title) {
    const s = el("div", "mgx-section");
    s.appendChild(el("h4", "", title));
    panel.appendChild(s);
    return s;
  }
  function help() {
    panel.innerHTML = "";
    panel.dataset.show = "";
    const s = section("How to read this");
    s.appendChild(el("p", "", "Hover or click a node for its full value and gradient; click pins it. " +
      "Step through backward with the buttons or the arrow keys: the running node and the gradients " +
      "on its edges light up, in the engine's own order."));
    s.appendChild(el("p", "", "Green: parameter. Grey dashed: input or constant. Gold: the root. " +
      "Blue: op (forward). Orange: op (backward). Purple: collapsed module. Red outline: first NaN/inf."));
  }
  function show(id) {
    if (snap.tensors[id]) showTensor(id);
    else if (snap.ops[id]) showOp(id);
    else if (snap.drawn[id] && snap.drawn[id].box) showBox(id);
    else return false;
    panel.dataset.show = id;
    return true;
  }
  function showTensor(id) {
    const t = snap.tensors[id];
    panel.innerHTML = "";
    const s = section(t.name);
    s.appendChild(el("div", "mgx-kind", `${t.kind} tensor (${id})`));
    s.appendChild(arrayView(t.value, "value"));
    const g = section("gradient d(root)/d(" + t.name + ")");
    g.classList.add("mgx-grad");
    if (t.grad) g.appendChild(arrayView(t.grad, "grad"));
    else g.appendChild(el("div", "mgx-meta", t.requires_grad ? "no gradient reaches it" : "none: it does not require grad"));
    const parts = snap.diamonds[id];
    if (parts) {
      const d = section(`received from ${parts.length} consumers, then summed`);
      for (const [i, p] of parts.entries()) {
        const row = el("div", "mgx-part");
        row.append(el("span", "", `${i + 1}. from `), link(p.op), el("span", "", ` (step ${p.step + 1}), running sum:`));
        d.append(row, arrayView(p.sum, "sum"));
      }
    }
    noteBad(id);
  }
  function showOp(id) {
    const o = snap.ops[id];
    panel.innerHTML = "";
    const s = section(o.name);
    s.appendChild(el("div", "mgx-kind", `op (${id})` + (o.module ? ` in ${o.module}` : "")));
    if (o.formula) s.appendChild(el("div", "mgx-formula", o.formula));
    if (o.derivative) s.appendChild(el("div", "mgx-derivative", o.derivative));
    const io = section("inputs and output");
    o.inputs.forEach((t, k) => { const r = el("div", "mgx-part"); r.append(el("span", "", `input ${k}: `), link(t)); io.appendChild(r); });
    const r = el("div", "mgx-part"); r.append(el("span", "", "output: "), link(o.output)); io.appendChild(r);
    const i = snap.steps.findIndex((st) => st.op === id);
    if (i >= 0) stepDetails(i);
    noteBad(id);
  }
  function showBox(name) {
    const d = snap.drawn[name];
    panel.innerHTML = "";
    const s = section(d.box);
    s.appendChild(el("div", "mgx-kind", `collapsed module: ${d.ops.length} ops`));
    for (const op of d.ops) { const r = el("div", "mgx-part"); r.appendChild(link(op)); s.appendChild(r); }
  }
  function stepDetails(i) {
    const st = snap.steps[i];
    const s = section(`backward step ${i + 1} of ${snap.steps.length}: ${snap.ops[st.op].name}`);
    s.classList.add("mgx-stepinfo");
    const r = el("div", "mgx-part"); r.append(el("span", "", "receives d(root)/d("), link(st.out), el("span", "", ")")); s.appendChild(r);
    s.appendChild(arrayView(snap.tensors[st.out].grad, "incoming"));
    for (const e of st.edges) {
      const row = el("div", "mgx-part");
      row.append(el("span", "", `sends to input ${e.slot} `), link(e.to));
      s.appendChild(row);
      if (!e.grad) { s.appendChild(el("div", "mgx-meta", "nothing (no gradient needed)")); continue; }
      s.appendChild(arrayView(edgeGrad(e), "edge gradient"));
      if (e.partial) {
        s.appendChild(el("div", "mgx-meta", `part ${e.partial[0]} of ${e.partial[1]} of ${snap.tensors[e.to].name}'s gradient; sum so far:`));
        s.appendChild(arrayView(e.sum, "running sum"));
      }
    }
  }
  // an edge that carries a tensor's whole gradient (its only part) points to it
  function edgeGrad(e) { return e.grad === "whole" ? snap.tensors[e.to].grad : e.grad; }
  function noteBad(id) {
    for (const [where, b] of Object.entries(snap.nonfinite)) {
      if (b.tensor === id || b.op === id) {
        const s = section(`first non-finite value of ${where}`);
        s.classList.add("mgx-badnote");
        s.appendChild(el("div", "", describeBad(where, b)));
      }
    }
  }
  function pin(id) {
    state.pinned = id;
    for (const g of graph.querySelectorAll(".mgx-selected")) g.classList.remove("mgx-selected");
    for (const p of ["f", "b"]) { const v = vertex[p][id] || (snap.drawn[id] && id); if (v && nodes.get(v)) nodes.get(v).classList.add("mgx-selected"); }
    show(id);
  }

  // clicks and hovers on the picture: one listener for all nodes, so a big graph opens fast
  function target(ev) {
    const g = ev.target.closest && ev.target.closest("g.node");
    if (!g || !graph.contains(g)) return null;
    const name = g.getAttribute("data-node"), d = snap.drawn[name];
    return d ? (d.tensor || d.op || name) : null;
  }
  graph.addEventListener("click", (ev) => { const id = target(ev); if (id) pin(id); });
  graph.addEventListener("mouseover", (ev) => { const id = target(ev); if (id && !state.pinned) show(id); });
  graph.addEventListener("mouseleave", () => { if (!state.pinned) help(); });

  // ---- the first NaN/inf ------------------------------------------------------------
  function describeBad(where, b) {
    const name = (id) => (snap.tensors[id] ? snap.tensors[id].name : id);
    if (where === "forward") {
      if (!b.op) return `the input ${name(b.tensor)} holds ${b.value} at index (${b.index.join(", ")})`;
      return `${snap.ops[b.op].name} made ${b.value} at index (${b.index.join(", ")}) of ${name(b.tensor)}, ` +
        `from the inputs ${b.inputs.map(name).join(", ")} (click them for their values)`;
    }
    return `${snap.ops[b.op].name} backward (step ${b.step + 1}) sent ${b.nan} NaN and ${b.inf} inf to ` +
      `${name(b.tensor)}; its inputs: ${b.inputs.map(name).join(", ")}`;
  }
  function badge(g, text) {
    const shape = g.querySelector("path, polygon, ellipse");
    if (!shape) return;
    const box = shape.getBBox();
    const t = document.createElementNS("http://www.w3.org/2000/svg", "text");
    t.setAttribute("x", box.x + box.width - 2); t.setAttribute("y", box.y + 2);
    t.setAttribute("class", "mgx-badge");
    t.textContent = text;
    g.appendChild(t);
  }
  function markNonfinite() {
    banner.innerHTML = "";
    banner.style.display = "none";
    for (const [where, b] of Object.entries(snap.nonfinite)) {
      banner.style.display = "";
      const line = el("div", "mgx-bannerline");
      line.append(el("strong", "", `First non-finite value in ${where}: `), el("span", "", describeBad(where, b) + " "), link(b.op || b.tensor));
      banner.appendChild(line);
      const p = where === "forward" ? "f" : "b";
      for (const id of [b.op, b.tensor]) {
        const v = id && vertex[p][id];
        if (v && nodes.get(v)) {
          nodes.get(v).classList.add("mgx-nonfinite");
          if (id === (b.op || b.tensor)) badge(nodes.get(v), where === "forward" ? b.value : "NaN/inf");
        }
      }
    }
  }

  // ---- stepping through backward ----------------------------------------------------
  function clearStep() {
    for (const c of ["mgx-running", "mgx-done", "mgx-flow"]) for (const g of graph.querySelectorAll("." + c)) g.classList.remove(c);
    for (const t of graph.querySelectorAll(".mgx-flowlabel")) t.remove();
  }
  function edgeLabel(g, text) {
    const path = g.querySelector("path");
    if (!path) return;
    const p = path.getPointAtLength(path.getTotalLength() / 2);
    const t = document.createElementNS("http://www.w3.org/2000/svg", "text");
    t.setAttribute("x", p.x + 3); t.setAttribute("y", p.y);
    t.setAttribute("class", "mgx-flowlabel");
    t.textContent = text;
    g.appendChild(t);
  }
  function summary(info) {
    if (info.exact && info.size === 1) return short(info.exact[0]);
    return info.stats ? `mean ${short(info.stats.mean)}` : "NaN";
  }
  function applyStep() {
    clearStep();
    const steps = snap.steps, n = steps.length;
    const pass = snap.mode === "both" ? ["f", "b"] : ["b"];
    for (let i = 0; i < state.step; i++) {
      for (const p of pass) { const v = vertex[p][steps[i].op]; if (v && nodes.get(v)) nodes.get(v).classList.add(i === state.step - 1 ? "mgx-running" : "mgx-done"); }
    }
    if (state.step > 0) {
      const st = steps[state.step - 1], b = vertex.b;
      const into = edges.get(`${b[st.out]}->${b[st.op]}`);
      if (into) into.classList.add("mgx-flow");
      for (const e of st.edges) {
        const g = e.grad && edges.get(`${b[st.op]}->${b[e.to]}`);
        if (g) { g.classList.add("mgx-flow"); edgeLabel(g, summary(edgeGrad(e))); }
      }
      // the running node still reads "done" in its own vertex when a box holds several ops
      for (const p of pass) { const v = vertex[p][st.op]; if (v && nodes.get(v)) { nodes.get(v).classList.remove("mgx-done"); nodes.get(v).classList.add("mgx-running"); } }
    }
    root.dataset.step = state.step;
    root.dataset.running = state.step > 0 ? steps[state.step - 1].op : "";
    stepLabel.textContent = n === 0 ? "no backward pass (mode forward)"
      : state.step === 0 ? `backward: ${n} steps, press next`
      : `step ${state.step} of ${n}: ${snap.ops[steps[state.step - 1].op].name} backward`;
  }
  function go(step) {
    const n = snap.steps.length;
    state.step = Math.max(0, Math.min(n, step));
    applyStep();
    if (state.step > 0) {
      state.pinned = null;
      panel.innerHTML = "";
      stepDetails(state.step - 1);
      panel.dataset.show = "step";
    } else if (!state.pinned) help();
  }
  root.addEventListener("keydown", (ev) => {
    const keys = {ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1};
    if (ev.target !== root && ev.target.tagName === "INPUT") return;  // the slider keeps its keys
    if (ev.key in keys) go(state.step + keys[ev.key]);
    else if (ev.key === "Home") go(0);
    else if (ev.key === "End") go(Infinity);
    else return;
    ev.preventDefault();
  });

  load(0);
  if (root.parentElement === document.body) root.focus({preventScroll: true});
  root.dataset.ready = "1";
  // benchmarks/explorer_open.py: the first frame after start-up is laid out and painted
  requestAnimationFrame(() => setTimeout(() => { root.dataset.readyMs = performance.now().toFixed(1); }, 0));
}
