// deepgrad playground: the page draws, the server (deepgrad) trains.
// The controls are built from the server's schema (/api/schema); the whole state lives
// in the URL (only values that differ from the defaults); each panel is one run, fed by
// Server-Sent Events from /api/runs/ID/events.
"use strict";

const COLORS = [[245, 147, 34], [8, 119, 189], [46, 160, 67], [148, 103, 189], [214, 39, 40]];
const LANE_COLORS = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
                     "#e377c2", "#17becf", "#7f7f7f"];
const $ = (sel, root = document) => root.querySelector(sel);
let schema, state, panels = [], playing = true;

// ---- state and the URL ----
function defaults(table) {
  const cfg = {};
  for (const [name, f] of Object.entries(table)) cfg[name] = f.kind === "list" ? f.default.join(",") : f.default;
  return cfg;
}
function readUrl() {
  const q = new URLSearchParams(location.search);
  const s = {view: q.get("view") === "surface" ? "surface" : "network", compare: q.get("compare") === "1",
             editing: "a", a: defaults(schema.network), b: null, s: defaults(schema.surface)};
  for (const [key, value] of q) {
    const [side, name] = key.split(".");
    if (side === "b" && !s.b) s.b = {...s.a};
    if (["a", "b", "s"].includes(side) && name) s[side][name] = value;
  }
  if (!s.b) s.b = {...s.a};
  return s;
}
function writeUrl() {
  const q = new URLSearchParams();
  if (state.view !== "network") q.set("view", state.view);
  if (state.compare) q.set("compare", "1");
  const put = (side, table, cfg, base) => {
    for (const name of Object.keys(table)) {
      const v = cfg[name];
      if (v !== null && v !== "" && String(v) !== String(base[name] ?? "")) q.set(side + "." + name, v);
    }
  };
  const d = defaults(schema.network);
  put("a", schema.network, state.a, d);
  if (state.compare) put("b", schema.network, state.b, state.a);
  put("s", schema.surface, state.s, defaults(schema.surface));
  history.replaceState(null, "", "?" + q.toString());
}

// ---- errors ----
function showError(message) {
  const box = $("#error");
  box.textContent = message || "";
  box.hidden = !message;
}
async function api(path, body) {
  const resp = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"},
                                  body: JSON.stringify(body)});
  const data = await resp.json();
  if (!resp.ok) throw new Error(data.error || resp.statusText);
  return data;
}

// ---- the controls ----
function visible(name, f, cfg) {
  if (name.startsWith("lr_")) return String(cfg.optimizers).split(",").includes(name.slice(3));
  return !f.only.length || f.only.includes(cfg[f.only_key]);
}
function buildControls() {
  const form = $("#controls");
  form.textContent = "";
  const surfaceView = state.view === "surface";
  const table = surfaceView ? schema.surface : schema.network;
  const cfg = surfaceView ? state.s : state[state.editing];
  const suggested = surfaceView ? schema.surfaces[cfg.surface] : null;
  const groups = {};
  for (const [name, f] of Object.entries(table)) {
    if (!visible(name, f, cfg)) continue;
    const group = groups[f.group] || (groups[f.group] = form.appendChild(document.createElement("fieldset")));
    if (!group.firstChild) group.appendChild(document.createElement("legend")).textContent = f.group;
    let input;
    if (f.kind === "list") {
      input = document.createElement("div");
      input.className = "checks";
      const chosen = String(cfg[name]).split(",");
      for (const choice of f.choices) {
        const label = input.appendChild(document.createElement("label"));
        const box = label.appendChild(document.createElement("input"));
        box.type = "checkbox"; box.value = choice; box.checked = chosen.includes(choice);
        box.onchange = () => {
          cfg[name] = [...input.querySelectorAll("input:checked")].map((b) => b.value).join(",");
          changed();
        };
        label.append(choice);
      }
      group.appendChild(input);
      continue;
    }
    const label = group.appendChild(document.createElement("label"));
    label.append(f.label);
    if (f.kind === "choice") {
      input = document.createElement("select");
      for (const choice of f.choices) input.add(new Option(choice, choice));
      input.value = cfg[name];
    } else if (f.kind === "bool") {
      input = document.createElement("input");
      input.type = "checkbox";
      input.checked = cfg[name] === true || cfg[name] === "true" || cfg[name] === "1";
    } else {
      input = document.createElement("input");
      input.type = "number"; input.step = "any";
      input.value = cfg[name] ?? "";
      if (suggested && name.startsWith("lr_")) input.placeholder = suggested.lrs[name.slice(3)];
      if (suggested && (name === "x0" || name === "y0")) input.placeholder = suggested.start[name === "x0" ? 0 : 1];
    }
    input.name = name;
    input.onchange = () => {
      cfg[name] = f.kind === "bool" ? input.checked : input.value;
      if (name === "surface") { cfg.x0 = cfg.y0 = null; for (const o of schema.surface.optimizers.choices) cfg["lr_" + o] = null; }
      changed(f.kind === "choice" || f.kind === "bool");
    };
    label.appendChild(input);
  }
  $("#editing").hidden = surfaceView || !state.compare;
  for (const b of document.querySelectorAll(".side")) b.classList.toggle("active", b.dataset.side === state.editing);
  for (const b of document.querySelectorAll(".tab")) b.classList.toggle("active", b.dataset.view === state.view);
  $("#compare-box").hidden = surfaceView;
}
async function changed(rebuild = true) {
  writeUrl();
  if (rebuild) buildControls();  // options that apply depend on the choices
  const targets = state.view === "surface" ? [[panels[0], state.s]] :
    panels.map((p, i) => [p, i === 0 ? state.a : state.b]);
  for (const [panel, cfg] of targets) {
    if (state.view === "network" && state.compare && panel !== panels[state.editing === "a" ? 0 : 1]) continue;
    await panel.configure(cfg);
  }
}

// ---- a run, drawn in a panel ----
function Panel(kind, title, cfg) {
  const el = $(`#${kind}-panel`).content.firstElementChild.cloneNode(true);
  $("#panels").appendChild(el);
  $(".title", el).textContent = title;
  const self = {el, kind, id: null, source: null, history: [], setup: null};
  const message = (text) => { const m = $(".message", el); m.textContent = text || ""; m.hidden = !text; el.dataset.status = text ? "stopped" : "running"; };
  self.start = async (config) => {
    self.close();
    try {
      const run = await api("/api/runs", {kind, config});
      self.id = run.id;
      showError("");
    } catch (err) { showError(err.message); message(err.message); return; }
    self.source = new EventSource(`/api/runs/${self.id}/events`);
    self.source.onmessage = (e) => self.handle(JSON.parse(e.data));
    self.source.onerror = () => {  // the browser retries by itself; say what is going on
      if (self.source) showError("lost the connection to the playground server; is `deepgrad playground` still running? (reload the page when it is)");
    };
    self.source.onopen = () => showError("");
    if (!playing) api(`/api/runs/${self.id}/control`, {action: "pause"}).catch(() => {});
  };
  self.configure = async (config) => {
    if (!self.id) return self.start(config);
    try {
      await api(`/api/runs/${self.id}/config`, {config});
      showError("");
      if (playing) self.control("play");  // a finished race starts again
    }
    catch (err) { showError(err.message); }
  };
  self.control = (action) => self.id && api(`/api/runs/${self.id}/control`, {action}).catch((err) => showError(err.message));
  self.close = () => { if (self.source) self.source.close(); self.source = null; self.id = null; };
  self.handle = (ev) => {
    if (ev.type === "setup") { delete el.dataset.done; self.setup = ev; self.history = []; message(""); (kind === "network" ? setupNetwork : setupSurface)(self, ev); }
    else if (ev.type === "frame") { message(""); (kind === "network" ? drawNetwork : drawSurface)(self, ev); }
    else if (ev.type === "diverged") message(ev.message);
    else if (ev.type === "error") { message(ev.message); self.close(); showError(ev.message); }  // the run has ended
    else if (ev.type === "done") el.dataset.done = "1";
  };
  return self;
}

// ---- the network view ----
function decode(b64) { return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)); }
function setupNetwork(p, ev) {
  const box = $(".neurons", p.el);
  box.textContent = "";
  p.neuronCanvases = ev.layers.slice(1, -1).map((width) => {
    const col = box.appendChild(document.createElement("div"));
    col.className = "layer";
    return Array.from({length: width}, () => col.appendChild(document.createElement("canvas")));
  });
}
function drawNetwork(p, f) {
  const {classes, grid, extent} = p.setup;
  const probs = decode(f.boundary), img = new ImageData(grid, grid);
  for (let i = 0; i < grid * grid; i++) {  // the likeliest class's colour, by confidence
    let best = 0;
    for (let k = 1; k < classes; k++) if (probs[i * classes + k] > probs[i * classes + best]) best = k;
    const a = 0.65 * Math.max(0, probs[i * classes + best] / 255 - 1 / classes) / (1 - 1 / classes), c = COLORS[best];
    img.data.set([255 - a * (255 - c[0]), 255 - a * (255 - c[1]), 255 - a * (255 - c[2]), 255], 4 * i);
  }
  const canvas = $(".boundary", p.el), ctx = canvas.getContext("2d");
  const off = new OffscreenCanvas(grid, grid);
  off.getContext("2d").putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
  const toPx = (v, size) => (v + extent) / (2 * extent) * size;
  for (const [set, stroke] of [[p.setup.train, "#fff"], [p.setup.test, "#000"]]) {
    set.x.forEach(([x, y], i) => {
      ctx.beginPath();
      ctx.arc(toPx(x, canvas.width), canvas.height - toPx(y, canvas.height), 3, 0, 2 * Math.PI);
      ctx.fillStyle = `rgb(${COLORS[set.y[i]].join(",")})`; ctx.fill();
      ctx.strokeStyle = stroke; ctx.lineWidth = 1; ctx.stroke();
    });
  }
  f.neurons.forEach((b64, layer) => {
    const values = decode(b64), n = f.neuron_grid;
    p.neuronCanvases[layer].forEach((c, j) => {
      c.width = c.height = n;
      const im = new ImageData(n, n);
      for (let i = 0; i < n * n; i++) {
        const v = (values[j * n * n + i] - 128) / 127, col = v > 0 ? COLORS[1] : COLORS[0], a = Math.abs(v);
        im.data.set([255 - a * (255 - col[0]), 255 - a * (255 - col[1]), 255 - a * (255 - col[2]), 255], 4 * i);
      }
      c.getContext("2d").putImageData(im, 0, 0);
    });
  });
  p.history.push([f.step, f.train_loss, f.test_loss]);
  if (p.history.length > 1200) p.history = p.history.filter((_, i) => i % 2 === 0);
  lineChart($(".loss", p.el), [p.history.map((h) => [h[0], h[1]]), p.history.map((h) => [h[0], h[2]])],
            ["#183153", "#f59322"], false, [[], [4, 3]]);
  bars($(".grads", p.el), f.grad_norms);
  $(".stats", p.el).textContent = `step ${f.step}  epoch ${f.epoch.toFixed(1)}  lr ${f.lr.toPrecision(3)}\n` +
    `train loss ${f.train_loss.toFixed(3)} (acc ${(100 * f.train_accuracy).toFixed(0)}%)  ` +
    `test loss ${f.test_loss.toFixed(3)} (acc ${(100 * f.test_accuracy).toFixed(0)}%)`;
  Object.assign(p.el.dataset, {step: f.step, trainLoss: f.train_loss, testLoss: f.test_loss});
}
function lineChart(canvas, series, colors, log, dashes = []) {
  const ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height, pad = 4;
  ctx.clearRect(0, 0, W, H);
  const tf = (v) => log ? Math.log10(Math.max(v, 1e-12)) : v;
  const pts = series.flat();
  if (!pts.length) return;
  const xmax = Math.max(1, ...pts.map((q) => q[0]));
  const ys = pts.map((q) => tf(q[1]));
  const ymin = log ? Math.min(...ys) : 0, ymax = Math.max(...ys, ymin + 1e-9);
  ctx.fillStyle = "#777"; ctx.font = "10px sans-serif";
  ctx.fillText((log ? "1e" + ymax.toFixed(0) : ymax.toPrecision(2)), W - 40, 10);
  ctx.fillText((log ? "1e" + ymin.toFixed(0) : "0") + "   step " + xmax, pad, H - pad);
  series.forEach((s, k) => {
    ctx.beginPath(); ctx.strokeStyle = colors[k]; ctx.setLineDash(dashes[k] || []); ctx.lineWidth = 1.5;
    s.forEach((q, i) => {
      const x = pad + (W - 2 * pad) * q[0] / xmax, y = H - pad - (H - 2 * pad) * (tf(q[1]) - ymin) / (ymax - ymin);
      i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
    });
    ctx.stroke();
  });
  ctx.setLineDash([]);
}
function bars(canvas, values) {
  const ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
  ctx.clearRect(0, 0, W, H);
  const lo = -6, hi = Math.max(1, Math.ceil(Math.log10(Math.max(...values, 1e-6))));
  const w = W / values.length;
  ctx.font = "10px sans-serif";
  values.forEach((v, i) => {
    const h = (H - 24) * (Math.log10(Math.max(v, 1e-6)) - lo) / (hi - lo);
    ctx.fillStyle = "#0877bd"; ctx.fillRect(i * w + 3, H - 12 - h, w - 6, h);
    ctx.fillStyle = "#333"; ctx.fillText(v.toExponential(0), i * w + 2, H - 14 - h);
    ctx.fillText(i + 1 < values.length ? `L${i + 1}` : "out", i * w + 3, H - 2);
  });
}

// ---- the optimizer view ----
function setupSurface(p, ev) {
  $(".title", p.el).textContent = ev.title;
  p.el.dataset.start = ev.start.join(",");
  const box = $(".lanes", p.el);
  box.textContent = "";
  p.paths = ev.lanes.map(() => [[...ev.start, ev.loss0]]);
  p.status = ev.lanes.map(() => null);
  p.laneEls = ev.lanes.map((lane, k) => {
    const div = box.appendChild(document.createElement("div"));
    div.className = "lane";
    const c = div.appendChild(document.createElement("canvas"));
    c.width = c.height = 190;
    c.onclick = (e) => {  // move the start for every optimizer
      const [x0, x1] = ev.x_range, [y0, y1] = ev.y_range, r = c.getBoundingClientRect();
      state.s.x0 = +(x0 + (x1 - x0) * (e.clientX - r.left) / r.width).toFixed(3);
      state.s.y0 = +(y1 - (y1 - y0) * (e.clientY - r.top) / r.height).toFixed(3);
      changed();
    };
    div.appendChild(document.createElement("div")).style.color = LANE_COLORS[k];
    return div;
  });
  const n = ev.grid.length, img = new ImageData(n, n);
  ev.grid.flat().forEach((v, i) => {
    const band = Math.floor(v / 16) % 2 ? 12 : 0, t = v / 255;
    img.data.set([40 + 200 * t - band, 80 + 150 * t - band, 160 + 80 * t - band, 255], 4 * i);
  });
  p.background = new OffscreenCanvas(n, n);
  p.background.getContext("2d").putImageData(img, 0, 0);
  drawSurface(p, null);
}
function drawSurface(p, f) {
  const ev = p.setup;
  if (f) f.lanes.forEach((lane, k) => { p.paths[k].push(...lane.points); p.status[k] = lane.status; });
  const [x0, x1] = ev.x_range, [y0, y1] = ev.y_range;
  p.laneEls.forEach((div, k) => {
    const c = $("canvas", div), ctx = c.getContext("2d"), W = c.width, H = c.height;
    const px = (x) => W * (x - x0) / (x1 - x0), py = (y) => H * (y1 - y) / (y1 - y0);
    ctx.drawImage(p.background, 0, 0, W, H);
    ctx.fillStyle = "#fff"; ctx.font = "16px sans-serif"; ctx.fillText("★", px(ev.minimum[0]) - 6, py(ev.minimum[1]) + 6);
    ctx.beginPath(); ctx.strokeStyle = LANE_COLORS[k]; ctx.lineWidth = 1.5;
    p.paths[k].forEach(([x, y], i) => (i ? ctx.lineTo(px(x), py(y)) : ctx.moveTo(px(x), py(y))));
    ctx.stroke();
    const [x, y, loss] = p.paths[k][p.paths[k].length - 1];
    ctx.beginPath(); ctx.arc(px(x), py(y), 4, 0, 2 * Math.PI); ctx.fillStyle = LANE_COLORS[k]; ctx.fill();
    ctx.strokeStyle = "#fff"; ctx.stroke();
    const lane = ev.lanes[k];
    div.lastChild.textContent = `${lane.name} lr ${lane.lr}: ` + (p.status[k] || `loss ${loss.toExponential(2)}`);
  });
  // the gap to the minimum's loss, on a log scale
  lineChart($(".loss", p.el), p.paths.map((path) => path.map((q, i) => [i, q[2] - ev.loss_min])), LANE_COLORS, true);
  p.el.dataset.step = f ? f.step : 0;
}

// ---- putting it together ----
function openView() {
  for (const p of panels) p.close();
  panels = [];
  $("#panels").textContent = "";
  $("#panels").classList.toggle("compare", state.compare && state.view === "network");
  buildControls();
  if (state.view === "surface") {
    panels.push(Panel("surface", schema.surfaces[state.s.surface].title, state.s));
  } else {
    panels.push(Panel("network", state.compare ? "A" : "network", state.a));
    if (state.compare) panels.push(Panel("network", "B", state.b));
  }
  panels.forEach((p, i) => { p.el.id = "panel-" + "ab"[i]; p.start(state.view === "surface" ? state.s : i ? state.b : state.a); });
  writeUrl();
}
async function main() {
  schema = await (await fetch("/api/schema")).json();
  state = readUrl();
  for (const tab of document.querySelectorAll(".tab")) tab.onclick = () => { state.view = tab.dataset.view; openView(); };
  for (const side of document.querySelectorAll(".side")) side.onclick = () => { state.editing = side.dataset.side; buildControls(); };
  $("#compare").checked = state.compare;
  $("#compare").onchange = () => { state.compare = $("#compare").checked; state.editing = "a"; if (state.compare) state.b = {...state.a}; openView(); };
  $("#play").onclick = () => {
    playing = !playing;
    $("#play").textContent = playing ? "Pause" : "Play";
    for (const p of panels) p.control(playing ? "play" : "pause");
  };
  $("#step").onclick = () => { playing = false; $("#play").textContent = "Play"; for (const p of panels) p.control("step"); };
  $("#reset").onclick = () => { for (const p of panels) { p.el.dataset.done = ""; p.control("reset"); } if (playing) for (const p of panels) p.control("play"); };
  $("#copy").onclick = async () => {
    try { await navigator.clipboard.writeText(location.href); $("#copy").textContent = "Copied"; }
    catch { prompt("Copy this link:", location.href); }
    setTimeout(() => { $("#copy").textContent = "Copy link"; }, 1500);
  };
  openView();
}
main().catch((err) => showError("the playground could not start: " + err.message));
