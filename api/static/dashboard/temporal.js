// Links into the Temporal UI. The API writes the UI's namespace URL into the page's
// <meta name="temporal-ui">; every workflow has a deterministic id (campaign-{id},
// campaign-{id}-contact-{cid}-attempt-{n}), so a link needs nothing else.

import { h } from "./dom.js";

function base() {
  const value = document.querySelector('meta[name="temporal-ui"]')?.content ?? "";
  // Only a web address: anything else (the unfilled template, a javascript: URL) is no link.
  return /^https?:\/\//i.test(value) ? value.replace(/\/+$/, "") : null;
}

/** The Temporal UI URL of workflow `id`, or null when the UI is unknown. */
export function workflowUrl(id) {
  const root = base();
  return root && id ? `${root}/workflows/${encodeURIComponent(id)}` : null;
}

/** An attempt's workflow id when `callKey` is one (outbound calls are keyed by it). */
export function attemptWorkflowId(callKey) {
  return /^campaign-.+-contact-.+-attempt-\d+$/.test(callKey) ? callKey : null;
}

/** A link to workflow `id` opening in a new tab, or a dash when there is none. */
export function workflowLink(id, text = "Temporal") {
  const url = workflowUrl(id);
  if (!url) return "–";
  return h("a", { href: url, class: "temporal", target: "_blank", rel: "noopener", title: id }, text);
}
