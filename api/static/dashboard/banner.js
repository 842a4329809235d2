// The error banner: one line per failing source (campaigns, live calls, a control...).
// A source that succeeds again clears its own line, so the banner shows what is wrong
// now, not everything that ever went wrong.

import { $, h } from "./dom.js";

const problems = new Map();

function render() {
  const banner = $("banner");
  banner.replaceChildren(
    ...[...problems].map(([source, message]) =>
      h("div", { class: "problem", dataset: { source } },
        h("strong", {}, source), " ", message,
        h("button", { type: "button", class: "dismiss", "aria-label": "Dismiss",
                      onclick: () => clear(source) }, "×"))),
  );
  banner.hidden = problems.size === 0;
}

/** Show that `source` failed with `error` (an ApiError, an Error or a message). */
export function report(source, error) {
  problems.set(source, error instanceof Error ? error.message : String(error));
  render();
}

/** `source` works again. */
export function clear(source) {
  if (problems.delete(source)) render();
}

/** Run `action`; a failure goes to the banner under `source`. True when it succeeded. */
export async function attempt(source, action) {
  try {
    await action();
    clear(source);
    return true;
  } catch (err) {
    report(source, err);
    return false;
  }
}
