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
  $("api-key").classList.toggle("wanted", problems.has(KEY));
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

// A missing or refused key fails every request alike: one line says so, not one per source.
const KEY = "API key";

/** Run `action`; a failure goes to the banner under `source`. True when it succeeded. */
export async function attempt(source, action) {
  try {
    await action();
    clear(source);
    clear(KEY);  // any answer at all means the key (or the lack of one) is accepted
    return true;
  } catch (err) {
    if (err.status === 401) {
      clear(source);
      report(KEY, err);
    } else {
      report(source, err);
    }
    return false;
  }
}
