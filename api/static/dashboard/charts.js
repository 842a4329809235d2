// Small SVG charts drawn by hand: columns (calls per hour), horizontal bars (outcomes,
// latency) and a sparkline (sentiment). No library: each is a few shapes and labels, and
// every label goes in as a text node.

const NS = "http://www.w3.org/2000/svg";

function s(tag, attrs = {}, ...texts) {
  const el = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  for (const text of texts) el.append(document.createTextNode(String(text)));
  return el;
}

function svg(width, height, label) {
  return s("svg", {
    viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img", "aria-label": label,
    class: "chart",
  });
}

function empty(text = "no data yet") {
  const p = document.createElement("p");
  p.className = "empty";
  p.textContent = text;
  return p;
}

/** A class name safe to build from data ("promise_to_pay" → "k-promise_to_pay"). */
const kind = (name) => `k-${String(name).toLowerCase().replace(/[^a-z0-9_]/g, "")}`;

/**
 * Vertical columns, one per point: `[{label, value, title}]`; every `labelEvery`-th
 * label is written under its column.
 */
export function columns(points, { label = "chart", labelEvery = 1, height = 130 } = {}) {
  if (!points.some((p) => p.value > 0)) return empty();
  const width = 300, top = 14, bottom = 18, max = Math.max(...points.map((p) => p.value));
  const slot = width / points.length, plot = height - top - bottom;
  const chart = svg(width, height, label);
  chart.append(s("line", { x1: 0, x2: width, y1: top + plot, y2: top + plot, class: "axis" }));
  points.forEach((p, i) => {
    const barHeight = max ? (p.value / max) * plot : 0;
    const x = i * slot + slot * 0.15, y = top + plot - barHeight;
    const bar = s("rect", { x, y, width: slot * 0.7, height: barHeight, class: "bar" });
    bar.append(s("title", {}, p.title ?? `${p.label}: ${p.value}`));
    chart.append(bar);
    if (p.value > 0) {
      chart.append(s("text", { x: x + slot * 0.35, y: y - 3, class: "value", "text-anchor": "middle" }, p.value));
    }
    if (i % labelEvery === 0) {
      chart.append(s("text", { x: x + slot * 0.35, y: height - 4, class: "tick", "text-anchor": "middle" }, p.label));
    }
  });
  return chart;
}

/**
 * Horizontal bars, one row each: `[{name, label, value, text}]` (`text` is what is
 * written after the bar; `name` picks the bar's colour class).
 */
export function bars(rows, { label = "chart", max } = {}) {
  const measured = rows.filter((r) => r.value !== null && r.value !== undefined);
  if (!measured.some((r) => r.value > 0)) return empty();
  const width = 300, rowHeight = 20, labelWidth = 112, valueWidth = 44;
  const top = Math.max(...measured.map((r) => r.value), max ?? 0);
  const chart = svg(width, rows.length * rowHeight + 4, label);
  rows.forEach((r, i) => {
    const y = i * rowHeight + 2;
    chart.append(s("text", { x: labelWidth - 6, y: y + 13, class: "tick", "text-anchor": "end" }, r.label));
    const span = width - labelWidth - valueWidth;
    const barWidth = r.value && top ? Math.max(1, (r.value / top) * span) : 0;
    const bar = s("rect", { x: labelWidth, y: y + 3, width: barWidth, height: rowHeight - 6,
                           class: `bar ${kind(r.name ?? r.label)}` });
    bar.append(s("title", {}, `${r.label}: ${r.text ?? r.value}`));
    chart.append(bar);
    chart.append(s("text", { x: labelWidth + barWidth + 4, y: y + 13, class: "value" },
                   r.text ?? (r.value ?? "–")));
  });
  return chart;
}

/** A sentiment line over the call (scores in -1..1), zero marked. */
export function sparkline(scores, { width = 160, height = 28 } = {}) {
  const chart = svg(width, height, `sentiment over ${scores.length} turns`);
  chart.setAttribute("width", width);
  const y = (v) => ((1 - v) / 2) * (height - 4) + 2;
  chart.append(s("line", { x1: 0, x2: width, y1: y(0), y2: y(0), class: "axis" }));
  if (scores.length === 1) {
    chart.append(s("circle", { cx: width / 2, cy: y(scores[0]), r: 2.5, class: "spark" }));
  } else if (scores.length > 1) {
    const step = width / (scores.length - 1);
    const points = scores.map((v, i) => `${(i * step).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    chart.append(s("polyline", { points, class: "spark", fill: "none" }));
  }
  return chart;
}
