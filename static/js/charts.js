// Portico charts: small SVG bar and line charts, drawn from JSON the page embeds.
//
//   <div class="chart" data-chart="bar|line" data-chart-data="ID" role="img" aria-label="…"></div>
//   {{ chart|json_script:"ID" }}   →  {"labels": [...], "series": [{"name", "values", "display"}], "unit", "stacked"}
//
// Values may be numbers, decimal strings (money) or null (a gap). The page carries a data
// table and an aria-label summary for every chart; the SVG itself is decorative detail.
(() => {
  const NS = "http://www.w3.org/2000/svg";
  const PAD = { top: 12, right: 12, bottom: 26 };
  const INTEGER_UNITS = ["tokens", "requests"];

  // Tooltips show the server's display form of each value (``display``: money in cents,
  // ground.money); these formats are for values without one. Axis labels stay short
  // so they fit a phone.
  const formats = {
    usd: (v) => (v > 0 && v < 0.005 ? "<$0.01" : "$" + v.toFixed(2)),
    ms: (v) => `${Math.round(v).toLocaleString()} ms`,
    "tok/s": (v) => `${v.toFixed(1)} tok/s`,
  };
  const axisFormats = {
    usd: (v) => "$" + (v >= 1 || v === 0 ? String(+v.toFixed(2)) : String(+v.toPrecision(2))),
    ms: (v) => `${compact(v)} ms`,
  };

  function compact(v) {
    if (Math.abs(v) >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
    if (Math.abs(v) >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
    return `${+v.toFixed(2)}`;
  }

  // A round tick step (1, 2 or 5 × 10^k) that splits the axis into about ``ticks`` parts.
  function niceStep(max, ticks, integer) {
    if (!(max > 0)) return 1;
    const rough = max / ticks;
    const power = 10 ** Math.floor(Math.log10(rough));
    const step = [1, 2, 5, 10].map((m) => m * power).find((candidate) => candidate >= rough);
    return integer ? Math.max(1, Math.round(step)) : step;
  }

  function el(name, attrs, parent) {
    const node = document.createElementNS(NS, name);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    if (parent) parent.appendChild(node);
    return node;
  }

  function number(value) {
    if (value === null || value === undefined || value === "") return null;
    const n = typeof value === "number" ? value : parseFloat(value);
    return Number.isFinite(n) ? n : null;
  }

  function draw(container) {
    const source = document.getElementById(container.dataset.chartData);
    if (!source) return;
    const data = JSON.parse(source.textContent);
    const kind = container.dataset.chart;
    const format = formats[data.unit] || compact;
    const axisFormat = axisFormats[data.unit] || compact;
    const labels = data.labels || [];
    const series = (data.series || []).map((s) => ({
      name: s.name, values: s.values.map(number), display: s.display || [],
    }));
    const width = Math.max(container.clientWidth || 600, 240);
    const height = Math.max(container.clientHeight || 200, 120);

    let max = 0;
    labels.forEach((_, i) => {
      const values = series.map((s) => s.values[i] || 0);
      const top = data.stacked ? values.reduce((a, b) => a + b, 0) : Math.max(0, ...values);
      max = Math.max(max, top);
    });
    const step = niceStep(max, 4, INTEGER_UNITS.includes(data.unit));
    const ticks = Math.max(1, Math.ceil(max / step - 1e-9));
    const top = step * ticks;
    const tickLabels = Array.from({ length: ticks + 1 }, (_, k) => axisFormat(step * k));
    const left = Math.max(36, Math.max(...tickLabels.map((t) => t.length)) * 6.5 + 12);
    const plotW = width - left - PAD.right;
    const plotH = height - PAD.top - PAD.bottom;
    const y = (v) => PAD.top + plotH - (v / top) * plotH;

    const svg = el("svg", {
      viewBox: `0 0 ${width} ${height}`,
      width: "100%",
      height: String(height),
      "aria-hidden": "true",
      focusable: "false",
    });

    // Grid lines and y-axis labels.
    tickLabels.forEach((text, k) => {
      const gy = y(step * k);
      el("line", { x1: left, x2: width - PAD.right, y1: gy, y2: gy, class: "grid" }, svg);
      el("text", { x: left - 6, y: gy + 4, "text-anchor": "end", class: "axis" }, svg).textContent = text;
    });

    // X-axis labels, thinned out so they never overlap.
    const slot = plotW / Math.max(labels.length, 1);
    const widest = Math.max(0, ...labels.map((label) => String(label).length)) * 6.2 + 14;
    const every = Math.max(1, Math.ceil(widest / slot));
    labels.forEach((label, i) => {
      if (i % every !== 0) return;
      const x = left + slot * i + slot / 2;
      el("text", { x, y: height - 8, "text-anchor": "middle", class: "axis" }, svg).textContent = label;
    });

    const frame = { left, slot, y, format };
    if (kind === "line") drawLines(svg, series, labels, frame);
    else drawBars(svg, series, labels, frame, data.stacked);

    container.replaceChildren(svg);
    const previous = container.nextElementSibling;
    if (previous && previous.classList.contains("chart-legend")) previous.remove();
    if (series.length > 1) container.after(legend(series));
  }

  function drawBars(svg, series, labels, { left, slot, y, format }, stacked) {
    const gap = Math.min(6, slot * 0.2);
    const groupW = slot - gap;
    labels.forEach((label, i) => {
      let base = 0;
      series.forEach((s, n) => {
        const value = s.values[i] || 0;
        if (!value) return; // nothing to draw; the table still lists the zero
        const barW = stacked ? groupW : groupW / series.length;
        const x = left + slot * i + gap / 2 + (stacked ? 0 : barW * n);
        const top = y(base + value);
        const bottom = y(base);
        const rect = el("rect", {
          x, y: top, width: Math.max(barW, 1), height: Math.max(bottom - top, 1),
          class: `series-${n}`, rx: Math.min(3, barW / 4),
        }, svg);
        el("title", {}, rect).textContent = `${label} · ${s.name}: ${s.display[i] ?? format(value)}`;
        if (stacked) base += value;
      });
    });
  }

  function drawLines(svg, series, labels, { left, slot, y, format }) {
    const lines = el("g", {}, svg);
    const dots = el("g", {}, svg);
    series.forEach((s, n) => {
      let path = "";
      let open = false;
      s.values.forEach((value, i) => {
        if (value === null) { open = false; return; }
        const x = left + slot * i + slot / 2;
        path += `${open ? "L" : "M"}${x.toFixed(1)},${y(value).toFixed(1)} `;
        open = true;
        const dot = el("circle", { cx: x, cy: y(value), r: 3, class: `series-${n}` }, dots);
        el("title", {}, dot).textContent = `${labels[i]} · ${s.name}: ${s.display[i] ?? format(value)}`;
      });
      if (path) el("path", { d: path.trim(), class: `line series-${n}` }, lines);
    });
  }

  function legend(series) {
    const list = document.createElement("ul");
    list.className = "chart-legend";
    list.setAttribute("aria-hidden", "true");
    series.forEach((s, n) => {
      const item = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = `swatch series-${n}`;
      item.append(swatch, s.name);
      list.appendChild(item);
    });
    return list;
  }

  function drawAll(root) {
    (root || document).querySelectorAll("[data-chart]").forEach((container) => {
      try {
        draw(container);
      } catch (error) {
        // The data table beside the chart still tells the story.
        container.dataset.chartError = String(error);
      }
    });
  }

  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => drawAll(document), 150);
  });
  document.addEventListener("htmx:afterSettle", (event) => drawAll(event.detail.elt));
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => drawAll(document));
  else drawAll(document);

  window.PorticoCharts = { draw, drawAll };
})();
