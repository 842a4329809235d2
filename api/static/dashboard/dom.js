// Building the page's elements. Text always goes in as text nodes and attributes through
// setAttribute, never as HTML: transcripts are caller speech and names come from uploads,
// so nothing rendered can become markup.

/**
 * An element: `h("td", { class: "n" }, "text", child, [more])`.
 * Props: `class`, `dataset` (an object), `on<event>` (a listener), other attributes
 * (false/null/undefined leave them out; true sets an empty one).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  append(el, children);
  return el;
}

export function setProps(el, props) {
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") el.setAttribute("class", value);
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export const $ = (id) => document.getElementById(id);

/** Show or hide an element. */
export function shown(el, visible) {
  el.hidden = !visible;
}

// -- formatting ----------------------------------------------------------------------

export function fmtTime(iso) {
  if (!iso) return "–";
  const at = new Date(iso);
  const today = new Date().toDateString() === at.toDateString();
  return today ? at.toLocaleTimeString() : at.toLocaleString();
}

export function fmtPct(ratio) {
  return ratio === null || ratio === undefined ? "–" : `${(ratio * 100).toFixed(1)} %`;
}

export function fmtMs(ms) {
  return ms === null || ms === undefined ? "–" : `${Math.round(ms)} ms`;
}

export function fmtNum(n, digits = 0) {
  return n === null || n === undefined ? "–" : Number(n).toFixed(digits);
}

export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.round(seconds);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** "promise_to_pay" → "promise to pay". */
export const words = (name) => String(name).replaceAll("_", " ");

/** As the server masks numbers (centralita/privacy.py): the screen may be watched by many. */
export function maskPhone(number) {
  const n = String(number ?? "");
  return n.length <= 7 ? "*".repeat(n.length) : n.slice(0, 3) + "*".repeat(n.length - 7) + n.slice(-4);
}

/** A small "label value" figure box. */
export function figure(label, value, title) {
  return h("div", { class: "figure", title }, h("span", {}, label), h("strong", {}, value));
}
