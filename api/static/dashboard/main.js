// The dashboard's wiring: the API key, and the refresh loops. Campaigns and live calls
// refresh every few seconds (and in quick succession after a control, so a click shows
// its effect soon); the heavier figures (campaign stats, the summary) less often.
// Nothing refreshes while the tab is hidden.

import { adoptKeyFromUrl, currentKey, setKey } from "./api.js";
import { attempt } from "./banner.js";
import { initCalls, refreshLiveCalls } from "./calls.js";
import { initCampaigns, refreshCampaigns, refreshDetail } from "./campaigns.js";
import { $ } from "./dom.js";
import { refreshOverview } from "./overview.js";
import { refreshQueue } from "./queue.js";

const FAST_MS = 3000;
const SLOW_EVERY = 4;  // figures refresh every fourth tick (~12 s)
const BURST_MS = [400, 1000, 2000];  // after a control: the state follows within seconds

let tick = 0;
let timer = null;
let running = false;

async function refreshFast() {
  const answered = await Promise.all([
    attempt("Campaigns", refreshCampaigns),
    attempt("Live calls", refreshLiveCalls),
    attempt("Human queue", refreshQueue),
  ]);
  const at = new Date().toLocaleTimeString();
  $("freshness").textContent = answered.every(Boolean) ? `updated ${at}` : `refresh failed ${at}`;
}

async function refreshSlow() {
  await Promise.all([
    attempt("Campaign figures", refreshDetail),
    attempt("Latest conversations", refreshOverview),
  ]);
}

async function loop() {
  if (running) return;  // the round under way schedules the next one
  running = true;
  clearTimeout(timer);
  try {
    if (!document.hidden) {
      const slow = tick % SLOW_EVERY === 0;
      tick += 1;
      await Promise.all([refreshFast(), slow ? refreshSlow() : null]);
    }
  } finally {
    running = false;
    timer = setTimeout(loop, FAST_MS);
  }
}

function burst() {
  for (const delay of BURST_MS) setTimeout(refreshFast, delay);
  setTimeout(refreshSlow, BURST_MS.at(-1));
}

function initKey() {
  adoptKeyFromUrl();
  const field = $("api-key");
  field.value = currentKey();
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setKey(field.value);
    tick = 0;
    loop();
  });
  $("forget-key").addEventListener("click", () => {
    setKey("");
    field.value = "";
  });
}

initKey();
initCampaigns(burst);
initCalls();
$("refresh").addEventListener("click", () => { tick = 0; loop(); });
document.addEventListener("visibilitychange", () => { if (!document.hidden) { tick = 0; loop(); } });
loop();
