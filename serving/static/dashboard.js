// The live dashboard: polls dashboard/data and draws each chart as SVG (no library, no CDN).
"use strict";
(function () {
  const NS = "http://www.w3.org/2000/svg";
  const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];
  const lagHistory = [];

  function el(name, attrs, parent) {
    const node = document.createElementNS(NS, name);
    for (const k in attrs) node.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(node);
    return node;
  }

  function frame(svg) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const box = svg.getBoundingClientRect();
    return { w: Math.max(box.width, 200), h: Math.max(box.height, 100), pad: 30 };
  }

  function label(svg, x, y, text, anchor) {
    const t = el("text", { x: x, y: y, "text-anchor": anchor || "start" }, svg);
    t.textContent = text;
  }

  function axisMax(series) {
    let max = 0;
    series.forEach((s) => s.forEach((p) => { if (p[1] > max) max = p[1]; }));
    return max > 0 ? max : 1;
  }

  // series: arrays of [x, y]; drawn as lines over a shared x range
  function lines(svg, series, colors) {
    const f = frame(svg);
    const all = series.flat();
    svg.setAttribute("data-points", String(all.length));
    if (!all.length) { label(svg, f.w / 2, f.h / 2, "no data yet", "middle"); return; }
    const xs = all.map((p) => p[0]);
    const x0 = Math.min(...xs), x1 = Math.max(...xs), ymax = axisMax(series);
    const sx = (x) => f.pad + (x1 > x0 ? (x - x0) / (x1 - x0) : 0.5) * (f.w - 2 * f.pad);
    const sy = (y) => f.h - f.pad + 10 - (y / ymax) * (f.h - f.pad - 5);
    el("line", { x1: f.pad, y1: sy(0), x2: f.w - f.pad, y2: sy(0), stroke: "#999" }, svg);
    label(svg, 2, sy(ymax) + 8, fmt(ymax));
    series.forEach((s, i) => {
      if (!s.length) return;
      const d = s.map((p, j) => (j ? "L" : "M") + sx(p[0]).toFixed(1) + "," + sy(p[1]).toFixed(1)).join(" ");
      el("path", { d: d, fill: "none", stroke: colors[i % colors.length], "stroke-width": 2 }, svg);
      s.forEach((p) => el("circle", { cx: sx(p[0]), cy: sy(p[1]), r: 2.5, fill: colors[i % colors.length] }, svg));
    });
  }

  // groups: [[label, [v1, v2, ...]], ...] drawn as grouped vertical bars
  function bars(svg, groups, colors) {
    const f = frame(svg);
    svg.setAttribute("data-points", String(groups.length));
    if (!groups.length) { label(svg, f.w / 2, f.h / 2, "no data yet", "middle"); return; }
    const ymax = axisMax(groups.map((g) => g[1].map((v) => [0, v])));
    const slot = (f.w - 2 * f.pad) / groups.length, width = Math.max(2, slot / (groups[0][1].length + 1));
    groups.forEach((g, i) => {
      g[1].forEach((v, k) => {
        const h = (v / ymax) * (f.h - f.pad - 10);
        el("rect", { x: f.pad + i * slot + k * width, y: f.h - f.pad - h, width: width - 1, height: h,
                     fill: colors[k % colors.length] }, svg).appendChild(title(g[0] + ": " + v));
      });
      if (groups.length <= 12 || i % Math.ceil(groups.length / 12) === 0) label(svg, f.pad + i * slot, f.h - f.pad + 12, g[0]);
    });
    label(svg, 2, 12, fmt(ymax));
  }

  function hbars(svg, pairs) {
    const f = frame(svg);
    svg.setAttribute("data-points", String(pairs.length));
    if (!pairs.length) { label(svg, f.w / 2, f.h / 2, "no data yet", "middle"); return; }
    const max = Math.max(...pairs.map((p) => p[1]), 1), row = (f.h - 10) / pairs.length;
    pairs.forEach((p, i) => {
      const w = (p[1] / max) * (f.w - 140);
      el("rect", { x: 90, y: 5 + i * row, width: w, height: row - 3, fill: COLORS[0] }, svg);
      label(svg, 86, 5 + i * row + row / 2 + 3, String(p[0]).slice(0, 14), "end");
      label(svg, 94 + w, 5 + i * row + row / 2 + 3, String(p[1]));
    });
  }

  // rows: A/B variants with rate and interval: a dot and its interval per variant
  function intervals(svg, rows) {
    const f = frame(svg);
    svg.setAttribute("data-points", String(rows.length));
    if (!rows.length) { label(svg, f.w / 2, f.h / 2, "no A/B test configured", "middle"); return; }
    const hi = Math.max(...rows.map((r) => r.interval[1]), 0.01), row = (f.h - 10) / rows.length;
    const sx = (v) => 90 + (v / hi) * (f.w - 130);
    rows.forEach((r, i) => {
      const y = 5 + i * row + row / 2, color = COLORS[i % COLORS.length];
      el("line", { x1: sx(r.interval[0]), y1: y, x2: sx(r.interval[1]), y2: y, stroke: color, "stroke-width": 3 }, svg);
      el("circle", { cx: sx(r.rate), cy: y, r: 5, fill: color }, svg);
      label(svg, 86, y + 3, r.name + (r.control ? " (control)" : ""), "end");
    });
  }

  function title(text) { const t = document.createElementNS(NS, "title"); t.textContent = text; return t; }
  function fmt(v) { return Math.abs(v) >= 1000 ? Math.round(v).toLocaleString() : String(Math.round(v * 1000) / 1000); }
  function clock(t, withDay) {
    const d = new Date(t * 1000);
    return withDay ? d.toISOString().slice(5, 10) : d.toISOString().slice(11, 16);
  }

  function table(id, rows) {
    const node = document.getElementById(id);
    node.innerHTML = "";
    rows.forEach((r, i) => {
      const tr = node.insertRow();
      r.forEach((cell) => { const c = document.createElement(i === 0 && r.header ? "th" : "td"); c.textContent = cell; tr.appendChild(c); });
    });
  }

  function draw(data) {
    const t = data.traffic;
    if (t) {
      lines(document.getElementById("chart-rate"), [t.input_per_minute.map((p) => [p[0], p[1]])], COLORS);
      document.getElementById("total").textContent = t.total;
      const grouped = (users, items, day) => users.map((p, i) => [clock(p[0], day), [p[1], (items[i] || [0, 0])[1]]]);
      bars(document.getElementById("chart-distinct-hour"), grouped(t.users_per_hour, t.items_per_hour, false), COLORS);
      bars(document.getElementById("chart-distinct-day"), grouped(t.users_per_day, t.items_per_day, true), COLORS);
      hbars(document.getElementById("chart-top"), t.top_items_last_hour.slice(0, 10));
    }
    const gens = Array.isArray(data.generations) ? data.generations : [];
    const names = [...new Set(gens.flatMap((g) => Object.keys(g.metrics)))].filter((n) => n !== "score");
    lines(document.getElementById("chart-generations"), names.map((n) => gens.filter((g) => n in g.metrics).map((g) => [g.generation / 1000, g.metrics[n]])), COLORS);
    document.getElementById("generation-legend").innerHTML = names.map((n, i) => '<span style="color:' + COLORS[i % COLORS.length] + '">■ ' + n + "</span>").join("") + " (" + gens.length + " generations)";
    const speed = data.speed && typeof data.speed.lag === "number" ? data.speed.lag : null;
    lagHistory.push([data.time, speed === null ? 0 : speed, data.model.update_lag || 0]);
    if (lagHistory.length > 300) lagHistory.shift();
    lines(document.getElementById("chart-lag"), [lagHistory.map((p) => [p[0], p[1]]), lagHistory.map((p) => [p[0], p[2]])], ["#d62728", "#2ca02c"]);
    const m = data.model || {};
    const state = data.not_ready_reason ? data.not_ready_reason : "ready";
    table("model-table", [["state", state], ["users", m.users], ["items", m.items], ["features", m.features],
      ["loaded", m.loaded_fraction === undefined ? "" : Math.round(m.loaded_fraction * 100) + " %"],
      ["vector bytes", m.vector_bytes === undefined ? "" : fmt(m.vector_bytes)],
      ["update messages", m.update_consumed], ["speed-layer lag", speed === null ? (data.speed && data.speed.error) || "" : speed]]
      .map((r) => [r[0], r[1] === undefined ? "" : String(r[1])]));
    const e = data.experiment;
    intervals(document.getElementById("chart-experiment"), e ? e.variants : []);
    const header = ["variant", "exposures", "conversions", "rate", "interval", "p", "verdict"];
    header.header = true;
    table("experiment-table", e ? [header].concat(e.variants.map((r) => [r.name, r.exposures, r.conversions, r.rate.toFixed(3),
      r.interval.map((v) => v.toFixed(3)).join("–"), r.p_value === undefined ? "" : r.p_value.toExponential(2),
      r.control ? "control" : r.verdict])).concat([["winner", e.winner || "none yet", "", "", "", "", ""]]) : []);
    const layers = data.layers || {};
    table("layers-table", Object.keys(layers).flatMap((url) => [[url, ""]].concat(Object.entries(layers[url]).slice(0, 30).map((kv) => [kv[0], String(kv[1])]))));
    document.getElementById("updated").textContent = new Date(data.time * 1000).toLocaleTimeString();
    document.getElementById("status").textContent = "";
  }

  function poll() {
    fetch("dashboard/data", { headers: { Accept: "application/json" } })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error("HTTP " + r.status))))
      .then(draw)
      .catch((err) => { document.getElementById("status").textContent = "error: " + err.message; })
      .finally(() => setTimeout(poll, 2000));
  }
  poll();
})();
