// Live calls: the calls under way (GET /calls?live=true), one of them watched through its
// event stream (GET /calls/{key}/events: transcript, sentiment, controls, the end), and
// the supervisor's controls on it (inject a line, mute, unmute, end).

import { api, seg, streamUrl } from "./api.js";
import { attempt, clear, report } from "./banner.js";
import { sparkline } from "./charts.js";
import { $, fmtTime, h, shown } from "./dom.js";
import { attemptWorkflowId, workflowLink, workflowUrl } from "./temporal.js";

const BY = "dashboard";  // logged by the media worker with every control
// Events drawn as notes between the transcript lines, each with what it says.
const NOTES = {
  call_started: (p) => `call started${p.language ? ` (${p.language})` : ""}`,
  interruption: (p) => `the caller interrupted${p.heard ? `: “${p.heard}”` : ""}`,
  sentiment_alert: (p) => `sentiment alert (${Number(p.score).toFixed(2)})`,
  control: (p) => `${p.by}: ${p.action}${p.message ? ` “${p.message}”` : ""}`,
  tool_call: (p) => `tool ${p.name ?? "?"} ${p.success === false ? "failed" : "done"}` +
    (p.duration_ms !== undefined ? ` in ${Math.round(p.duration_ms)} ms` : ""),
  transfer: (p) => `transfer${p.to ? ` to ${p.to}` : ""}${p.by ? ` by ${p.by}` : ""}`,
  human_joined: (p) => `${p.by} joined the call`,
  handed_back: (p) => `${p.by} handed the call back to the agent`,
  handoff: (p) => `handoff ${p.stage}` + (p.trigger ? ` (${p.trigger})` : "") +
    (p.by ? ` by ${p.by}` : "") + (p.waited_ms !== undefined && p.waited_ms !== null
      ? ` after ${(p.waited_ms / 1000).toFixed(1)} s` : ""),
  correction: (p) => `heard “${p.before}”, corrected to “${p.after}”`,
  error: (p) => `error in ${p.where}: ${p.detail}`,
};
const ALERTS = new Set(["sentiment_alert", "error"]);

let watched = null;  // { key, source, scores, partials }

/** Wire the call controls once. */
export function initCalls() {
  $("inject").addEventListener("click", inject);
  for (const button of document.querySelectorAll(".call-control")) {
    button.addEventListener("click", () => control(button.dataset.action));
  }
}

/** Fetch and draw the calls under way. */
export async function refreshLiveCalls() {
  const calls = await api("/calls?live=true");
  $("live-calls").replaceChildren(...calls.map(liveItem));
  $("live-count").textContent = calls.length ? `(${calls.length})` : "";
  shown($("no-live-calls"), calls.length === 0);
}

function liveItem(call) {
  const key = call.call_key;
  const isWatched = watched?.key === key;
  const workflow = attemptWorkflowId(key);
  return h("li", { dataset: { callKey: key }, class: isWatched ? "selected" : null },
    h("code", { class: "key", title: key }, key),
    h("span", { class: "sub" }, `since ${fmtTime(call.started_at)}`,
      call.started?.language ? ` · ${call.started.language}` : ""),
    workflow ? workflowLink(workflow) : null,
    h("button", { type: "button", class: "watch", disabled: isWatched, onclick: () => watch(key) },
      isWatched ? "Watching" : "Watch"));
}

/** Follow call `key`: its transcript and sentiment as they happen, and its controls. */
export function watch(key) {
  stopWatching();
  watched = { key, source: null, scores: [], partials: new Map(), lastId: null, retries: 0,
              retry: null, ended: false };
  $("transcript").replaceChildren();
  $("watched-key").textContent = key;
  $("sentiment-now").textContent = "–";
  $("sentiment-now").className = "";
  $("sentiment-trend").replaceChildren();
  setState("live");
  const url = workflowUrl(attemptWorkflowId(key));
  shown($("call-temporal"), Boolean(url));
  if (url) $("call-temporal").href = url;
  shown($("call-view"), true);
  enableControls(true);
  for (const li of document.querySelectorAll("#live-calls li")) {
    li.classList.toggle("selected", li.dataset.callKey === key);
  }
  connect(watched);
}

const RETRY_S = [1, 2, 5, 10];

/** Open the call's event stream, resuming after the last event drawn. */
function connect(w) {
  const after = w.lastId ? `?after=${encodeURIComponent(w.lastId)}` : "";
  const source = new EventSource(streamUrl(`/calls/${seg(w.key)}/events${after}`));
  w.source = source;
  const on = (type, draw) => source.addEventListener(type, (e) => {
    // A call's own `error` events share their name with the stream's failures: only
    // messages carry data.
    if (e instanceof MessageEvent) draw(payloadOf(w, e));
  });
  on("transcript", onTranscript);
  on("sentiment", onSentiment);
  for (const type of Object.keys(NOTES)) {
    on(type, (p) => note(NOTES[type](p), ALERTS.has(type)));
  }
  on("call_ended", onEnded);
  source.onopen = () => {
    w.retries = 0;
    clear("Live transcript");
    if (!w.ended) setState("live");
  };
  source.onerror = (e) => {
    if (e instanceof MessageEvent || w !== watched || w.ended) return;
    if (source.readyState !== EventSource.CLOSED) {
      // EventSource reconnects by itself, resuming after the last event id it saw.
      report("Live transcript", "the event stream dropped; reconnecting…");
      return;
    }
    // Refused outright (a wrong key, the API restarting): try again, a little later
    // each time, from the last event drawn.
    const delay = RETRY_S[Math.min(w.retries, RETRY_S.length - 1)];
    w.retries += 1;
    setState("reconnecting");
    report("Live transcript", `the event stream of ${w.key} was refused (is the API key right?); ` +
      `trying again in ${delay} s`);
    w.retry = setTimeout(() => { if (w === watched && !w.ended) connect(w); }, delay * 1000);
  };
}

function stopWatching() {
  if (!watched) return;
  clearTimeout(watched.retry);
  watched.source?.close();
  watched = null;
}

function payloadOf(w, event) {
  if (event.lastEventId) w.lastId = event.lastEventId;
  try {
    return JSON.parse(event.data).payload ?? {};
  } catch {
    return {};
  }
}

function line(kind, who, text) {
  return h("li", { class: kind }, h("span", { class: "who" }, who), h("span", { class: "text" }, text));
}

function push(item) {
  const list = $("transcript");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.append(item);
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function onTranscript(p) {
  const speaker = p.speaker === "agent" ? "agent" : "user";
  const who = speaker === "agent" ? "Agent" : "Caller";
  const partial = watched.partials.get(speaker);
  if (p.final === false) {  // a partial: keep one line per speaker, updated in place
    if (partial) partial.querySelector(".text").textContent = p.text;
    else {
      const item = line(`${speaker} partial`, who, p.text);
      watched.partials.set(speaker, item);
      push(item);
    }
    return;
  }
  if (partial) {
    partial.remove();
    watched.partials.delete(speaker);
  }
  push(line(speaker, who, p.text));
}

function onSentiment(p) {
  const score = Number(p.score);
  if (Number.isNaN(score)) return;
  watched.scores.push(score);
  const now = $("sentiment-now");
  now.textContent = `${p.label ?? ""} ${score.toFixed(2)}`.trim();
  now.className = score <= -0.3 ? "negative" : score >= 0.3 ? "positive" : "neutral";
  $("sentiment-trend").replaceChildren(sparkline(watched.scores));
}

function note(text, alert = false) {
  push(h("li", { class: alert ? "note alert" : "note" }, text));
}

function onEnded(p) {
  note(`call ended${p.ended_by ? ` (by ${p.ended_by})` : ""}`);
  watched.ended = true;
  setState("ended");
  enableControls(false);
  clear("Live transcript");
  // The server ends the stream after call_ended; without closing, EventSource would
  // reconnect and wait for events that never come.
  watched.source.close();
}

function setState(state) {
  const badge = $("call-state");
  badge.textContent = state;
  badge.className = `badge call-${state}`;
}

function enableControls(on) {
  for (const el of document.querySelectorAll(".call-control, #inject, #inject-text, #inject-type")) {
    el.disabled = !on;
  }
}

async function inject() {
  const text = $("inject-text").value.trim();
  if (!watched || !text) return;
  const key = watched.key;
  const ok = await attempt(`Inject into ${key}`, () =>
    api(`/calls/${seg(key)}/inject`, {
      method: "POST", body: { message: text, type: $("inject-type").value, by: BY },
    }));
  if (ok) $("inject-text").value = "";
}

async function control(action) {
  if (!watched) return;
  const key = watched.key;
  if (action === "end" && !confirm(`End call ${key}? The caller is hung up on.`)) return;
  await attempt(`${action} ${key}`, () =>
    api(`/calls/${seg(key)}/${action}`, { method: "POST", body: { by: BY } }));
}
