// Talking to the Centralita API from the page: the operator's key, JSON requests,
// event-stream URLs. Every request carries the key when there is one; without a key the
// requests go out bare (an API without keys answers them; one with keys answers 401,
// which the page shows as a prompt for a key).

const STORAGE = "centralita.apiKey";

/** The key kept in this browser, or "". */
export function currentKey() {
  return localStorage.getItem(STORAGE) || "";
}

/** Keep `key` in this browser (an empty one forgets it). */
export function setKey(key) {
  const clean = (key || "").trim();
  if (clean) localStorage.setItem(STORAGE, clean);
  else localStorage.removeItem(STORAGE);
}

/** Adopt `?key=` from the page's address, then drop it from the address bar and history. */
export function adoptKeyFromUrl() {
  const url = new URL(window.location.href);
  if (!url.searchParams.has("key")) return;
  setKey(url.searchParams.get("key"));
  url.searchParams.delete("key");
  history.replaceState(null, "", url);
}

/** An API answer other than 2xx, or an API that could not be reached (status 0). */
export class ApiError extends Error {
  constructor(status, detail) {
    super(status === 401 ? `401: ${detail}. Paste a key in the key field above.`
      : status === 0 ? detail : `${status}: ${detail}`);
    this.status = status;
  }
}

function describe(data) {
  if (data && typeof data === "object" && "detail" in data) {
    return typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail);
  }
  return typeof data === "string" ? data.slice(0, 300) : JSON.stringify(data);
}

/**
 * A JSON request to the API; its parsed answer (null when empty).
 * @throws {ApiError} on any answer other than 2xx, or when the API is unreachable.
 */
export async function api(path, { method = "GET", body } = {}) {
  const headers = { accept: "application/json" };
  const key = currentKey();
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let res;
  try {
    res = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, `the API could not be reached (${err.message})`);
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = text; }
  }
  if (!res.ok) throw new ApiError(res.status, describe(data));
  return data;
}

/** The URL of an event stream: EventSource cannot set headers, so the key rides along
 * as `access_token`. */
export function streamUrl(path) {
  const key = currentKey();
  if (!key) return path;
  return `${path}${path.includes("?") ? "&" : "?"}access_token=${encodeURIComponent(key)}`;
}

/** Encode one path segment (ids and keys come from data, never trusted as paths). */
export const seg = encodeURIComponent;
