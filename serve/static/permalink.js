// Permalinks: the prompt, roles and parameters in the URL's #fragment, e.g.
//
//   /#prompt=9.11%E5%92%8C9.8...&roles=base,reasoning&max_new_tokens=64&temperature=0
//
// The fragment, not the query string: a browser never sends it, so prompts stay out of server
// and proxy logs, and the page (served at any route prefix) needs no server change to read it.
// Opening a link fills the form and waits; `&run=1` added to a link also runs the comparison.

import { NUMBER_FIELDS } from "./form.js";

// The fragment (with its "#") for a form state.
export function toFragment(state) {
  const q = new URLSearchParams();
  q.set("prompt", state.prompt);
  if (state.system) q.set("system", state.system);
  if (state.roles && state.roles.length) q.set("roles", state.roles.join(","));
  for (const [name, value] of Object.entries(state.params || {})) q.set(name, String(value));
  return `#${q.toString()}`;
}

// The form state a fragment holds, and whether it asks to run: null when it holds no prompt.
export function fromFragment(hash) {
  const q = new URLSearchParams(hash.replace(/^#/, ""));
  if (!q.has("prompt")) return null;
  const state = { prompt: q.get("prompt"), params: {} };
  if (q.has("system")) state.system = q.get("system");
  if (q.has("roles")) state.roles = q.get("roles").split(",").filter(Boolean);
  for (const [name, parse] of Object.entries(NUMBER_FIELDS)) {
    const value = q.has(name) ? parse(q.get(name)) : NaN;
    if (Number.isFinite(value)) state.params[name] = value;
  }
  const thinking = q.get("enable_thinking");
  if (thinking === "true" || thinking === "false") state.params.enable_thinking = thinking === "true";
  return { state, run: q.get("run") === "1" };
}

// The page's own address with the state's fragment.
export function permalink(state) {
  return `${location.href.split("#")[0]}${toFragment(state)}`;
}

// Puts the link in the address bar and on the clipboard; says which worked. The clipboard needs
// a secure context (https or localhost): elsewhere the address bar still holds the link.
export async function shareLink(state) {
  const url = permalink(state);
  history.replaceState(null, "", url);
  try {
    await navigator.clipboard.writeText(url);
    return { url, copied: true };
  } catch (_) {
    return { url, copied: false };
  }
}
