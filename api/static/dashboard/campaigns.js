// Campaigns: the table with live progress and the pause/resume/cancel controls, and the
// selected campaign's figures and charts (GET /campaigns/{id}/stats) with its latest
// attempts, each linked to its workflow in the Temporal UI.

import { api, seg } from "./api.js";
import { attempt, report } from "./banner.js";
import { bars, columns } from "./charts.js";
import {
  $, figure, fmtDuration, fmtNum, fmtPct, fmtTime, h, maskPhone, shown, words,
} from "./dom.js";
import { workflowLink, workflowUrl } from "./temporal.js";

// Where a contact stands, in the order the progress bar draws them (settled last).
const STATES = ["in_progress", "retry_scheduled", "pending", "done", "excluded", "failed",
                "opted_out", "cancelled"];
const SETTLED = new Set(["done", "excluded", "failed", "opted_out", "cancelled"]);
// Which controls a status allows (the API answers 409 for a finished campaign anyway).
const ALLOWED = {
  created: ["start", "cancel"], running: ["pause", "cancel"], paused: ["resume", "cancel"],
};
const LABELS = { start: "Start", pause: "Pause", resume: "Resume", cancel: "Cancel" };
// A control is applied by the workflow within seconds of the API's 202; meanwhile the row
// says so and offers no other control.
const TARGET = { start: "running", pause: "paused", resume: "running", cancel: "cancelled" };
const DOING = { start: "starting…", pause: "pausing…", resume: "resuming…", cancel: "cancelling…" };
const PENDING_MS = 15_000;
const pending = new Map();  // campaign id -> { action, until }

let campaigns = [];
let selected = null;
let onChange = () => {};

/** `changed` runs after a control was applied (the caller refreshes soon after). */
export function initCampaigns(changed) {
  onChange = changed;
}

/** Fetch and draw the campaigns table. */
export async function refreshCampaigns() {
  campaigns = await api("/campaigns?limit=100");
  if (!selected && campaigns.length) select(campaigns[0].id);  // the newest, to start with
  else drawTable();
}

function drawTable() {
  const body = $("campaigns").tBodies[0];
  body.replaceChildren(...campaigns.map(row));
  shown($("no-campaigns"), campaigns.length === 0);
}

function row(c) {
  const selectIt = (event) => {
    if (event.target.closest("button, a")) return;  // a control or a link, not a selection
    select(c.id);
  };
  return h("tr", { dataset: { campaignId: c.id }, class: c.id === selected ? "selected" : null,
                   onclick: selectIt, title: "Show its figures" },
    h("td", {},
      h("div", { class: "name" }, c.name),
      h("div", { class: "sub" }, h("code", {}, c.id.slice(0, 8)), " ",
        c.workflow_id ? workflowLink(c.workflow_id) : null)),
    h("td", {}, h("span", { class: `badge status-${c.status}`, dataset: { field: "status" } }, c.status)),
    h("td", {}, progress(c)),
    h("td", { class: "attempts" }, attemptsSummary(c.attempts_by_outcome)),
    h("td", {}, c.next_dial_slot ? fmtTime(c.next_dial_slot) : "–",
      h("div", { class: "sub" }, `${c.quota_used_today} admitted today`)),
    h("td", { class: "controls" }, controls(c)),
  );
}

function progress(c) {
  const counts = c.contacts_by_state || {};
  const total = c.contacts_total || 0;
  const settled = Object.entries(counts).filter(([s]) => SETTLED.has(s))
    .reduce((sum, [, n]) => sum + n, 0);
  const segments = STATES.filter((s) => counts[s]).map((s) =>
    h("span", { class: `seg state-${s}`, style: `flex-grow: ${counts[s]}`,
                title: `${words(s)}: ${counts[s]}` }));
  const legend = STATES.filter((s) => counts[s]).map((s) => `${words(s)} ${counts[s]}`).join(" · ");
  return h("div", { class: "progress-cell" },
    h("div", { class: "progress", "aria-label": legend }, segments),
    h("div", { class: "sub", dataset: { field: "progress" } }, `${settled} of ${total} settled`),
    h("div", { class: "sub legend" }, legend));
}

function attemptsSummary(outcomes) {
  const entries = Object.entries(outcomes || {}).sort((a, b) => b[1] - a[1]);
  const total = entries.reduce((sum, [, n]) => sum + n, 0);
  return [h("strong", { dataset: { field: "attempts" } }, total),
          h("div", { class: "sub" }, entries.map(([o, n]) => `${words(o)} ${n}`).join(" · "))];
}

/** The control still under way on `c`, if any (forgotten once applied or stale). */
function underWay(c) {
  const p = pending.get(c.id);
  if (p && (c.status === TARGET[p.action] || Date.now() > p.until)) pending.delete(c.id);
  return pending.get(c.id)?.action ?? null;
}

function controls(c) {
  const doing = underWay(c);
  const allowed = doing ? [] : ALLOWED[c.status] || [];
  const buttons = ["start", "pause", "resume", "cancel"]
    .filter((action) => action !== "start" || c.status === "created")
    .map((action) => h("button", {
      type: "button", class: action === "cancel" ? "danger" : null, dataset: { action },
      disabled: !allowed.includes(action), onclick: (e) => control(c, action, e.currentTarget),
    }, LABELS[action]));
  return [buttons, doing ? h("div", { class: "sub" }, DOING[doing]) : null];
}

async function control(c, action, button) {
  if (action === "cancel" && !confirm(`Cancel campaign "${c.name}"? Nobody else will be called.`)) {
    return;
  }
  button.disabled = true;
  const ok = await attempt(`${LABELS[action]} ${c.name}`, async () => {
    const updated = await api(`/campaigns/${seg(c.id)}/${action}`, { method: "POST" });
    pending.set(c.id, { action, until: Date.now() + PENDING_MS });
    campaigns = campaigns.map((x) => (x.id === updated.id ? updated : x));
    drawTable();
  });
  if (!ok) button.disabled = false;
  onChange();
}

// -- the selected campaign -------------------------------------------------------------

/** Show campaign `id`'s figures (and keep refreshing them). */
export function select(id) {
  selected = id;
  drawTable();
  shown($("detail-panel"), true);
  refreshDetail().catch((err) => report("Campaign figures", err));
}

/** Fetch and draw the selected campaign's figures, if one is selected. */
export async function refreshDetail() {
  const id = selected;
  if (!id) return;
  const [stats, calls] = await Promise.all([
    api(`/campaigns/${seg(id)}/stats`),
    api(`/calls?campaign_id=${seg(id)}&limit=12`),
  ]);
  if (id !== selected) return;  // another campaign was picked meanwhile
  drawDetail(stats, calls);
}

function drawDetail(stats, calls) {
  const campaign = campaigns.find((c) => c.id === stats.campaign_id);
  $("detail-name").textContent = stats.name;
  const link = $("detail-temporal");
  const url = campaign?.workflow_id ? workflowUrl(campaign.workflow_id) : null;
  shown(link, Boolean(url));
  if (url) link.href = url;
  const t = stats.totals;
  const amounts = t.amounts_promised.map((a) => `${fmtNum(a.total, 0)} ${a.currency ?? ""}`.trim());
  $("detail-figures").replaceChildren(
    figure("attempts", t.attempts),
    figure("answered", `${t.answered} (${fmtPct(t.answer_rate)})`),
    figure("promises", `${t.promises} (${fmtPct(t.promise_rate)})`, "promises / answered"),
    figure("promised", amounts.join(" · ") || "–"),
    figure("calls / active hour", fmtNum(stats.calls_per_hour, 1),
           `attempts per hour in which the campaign dialled (${stats.active_hours} h)`),
    figure("avg duration", fmtDuration(t.avg_duration_s)),
    figure("cost", fmtNum(t.cost, 2)),
  );
  $("chart-hours").replaceChildren(hoursChart(stats.by_hour));
  $("chart-outcomes").replaceChildren(outcomesChart(t.outcomes, "attempts by outcome"));
  $("chart-latency").replaceChildren(latencyChart(stats.latency));
  $("attempts").tBodies[0].replaceChildren(...calls.map(attemptRow));
}

function hoursChart(byHour) {
  const perHour = new Map(byHour.map((h) => [h.hour, h.attempts]));
  const points = Array.from({ length: 24 }, (_, hour) => ({
    label: String(hour).padStart(2, "0"), value: perHour.get(hour) ?? 0,
    title: `${String(hour).padStart(2, "0")}:00: ${perHour.get(hour) ?? 0} attempts`,
  }));
  return columns(points, { label: "attempts per hour of day", labelEvery: 3 });
}

/** Outcomes as bars, largest first (shared with the overview). */
export function outcomesChart(outcomes, label) {
  const rows = Object.entries(outcomes || {}).sort((a, b) => b[1] - a[1])
    .map(([name, n]) => ({ name, label: words(name), value: n }));
  return bars(rows, { label });
}

function latencyChart(latency) {
  const v = latency.voice_to_voice, p = latency.p50;
  const ms = (x) => (x === null ? "–" : `${Math.round(x)}`);
  const rows = [
    { name: "p50", label: "voice→voice p50", value: v.p50_ms, text: ms(v.p50_ms) },
    { name: "p95", label: "voice→voice p95", value: v.p95_ms, text: ms(v.p95_ms) },
    { name: "max", label: "voice→voice max", value: v.max_ms, text: ms(v.max_ms) },
    { name: "part", label: "endpointing p50", value: p.endpointing_ms, text: ms(p.endpointing_ms) },
    { name: "part", label: "STT p50", value: p.stt_ms, text: ms(p.stt_ms) },
    { name: "part", label: "brain p50", value: p.brain_ms, text: ms(p.brain_ms) },
    { name: "part", label: "TTS 1st audio p50", value: p.tts_first_audio_ms, text: ms(p.tts_first_audio_ms) },
  ];
  const chart = bars(rows, { label: `latency over ${v.samples} turns` });
  return h("div", {}, chart, h("div", { class: "sub" }, `${v.samples} measured turns in ${latency.calls} calls`));
}

function attemptRow(a) {
  return h("tr", {},
    h("td", {}, fmtTime(a.started_at)),
    h("td", {}, h("code", {}, maskPhone(a.phone))),
    h("td", {}, a.attempt_number),
    h("td", {}, a.status),
    h("td", {}, a.outcome ? words(a.outcome) : (a.skip_reason ? `skipped: ${a.skip_reason}` : "–")),
    h("td", {}, fmtDuration(a.duration_s)),
    h("td", {}, workflowLink(a.attempt_key)),
  );
}
