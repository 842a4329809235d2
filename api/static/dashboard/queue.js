// The human queue: handed-off calls (waiting, with an operator, or settled) and the
// callbacks people owe, each linked to its durable workflow in the Temporal UI.

import { api } from "./api.js";
import { $, h } from "./dom.js";
import { workflowLink } from "./temporal.js";

const when = (iso) => (iso ? new Date(iso).toLocaleString() : "–");
const who = (c) => `${c.name || "unknown"} ${c.phone_masked ? `(${c.phone_masked})` : ""}`.trim();

/** Fetch and draw the latest handoffs and the open callbacks. */
export async function refreshQueue() {
  const [handoffs, callbacks] = await Promise.all([
    api("/handoffs?limit=20"),
    api("/human-callbacks?state=scheduled&state=due&limit=20"),
  ]);
  const waiting = handoffs.filter((x) => x.state === "waiting").length;
  $("queue-count").textContent = `(${waiting} waiting)`;
  $("handoffs").tBodies[0].replaceChildren(...handoffs.map((x) => h("tr", { "data-state": x.state },
    h("td", {}, when(x.created_at)),
    h("td", {}, who(x.context)),
    h("td", {}, `${x.trigger}: ${x.reason}`),
    h("td", {}, x.state),
    h("td", {}, x.operator_name || "–"),
    h("td", {}, x.disposition || "–"),
  )));
  $("human-callbacks").tBodies[0].replaceChildren(...callbacks.map((c) => h("tr", { "data-state": c.state },
    h("td", {}, when(c.due_at)),
    h("td", {}, c.name || "unknown"),
    h("td", {}, c.reason),
    h("td", {}, c.state),
    h("td", {}, workflowLink(c.workflow_id)),
  )));
}
