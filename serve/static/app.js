// The comparison page: one prompt to the chosen roles through the streaming `POST v1/compare`,
// one column per role filled in as the events arrive; then a vote on the answers (vote.js),
// optionally blind (blind.js), a download (export.js), a link (permalink.js) and the standings
// (leaderboard.js). URLs are relative to the page's <base>, which the server sets to the app's
// route prefix.

import { KEY_STORAGE, errorMessage, headers } from "./api.js";
import { LETTERS, blindStored, rememberBlind, shuffled } from "./blind.js";
import { Column } from "./column.js";
import { downloadComparison } from "./export.js";
import { fillForm, readForm, requestBody } from "./form.js";
import { Leaderboard } from "./leaderboard.js";
import { fromFragment, shareLink } from "./permalink.js";
import { DONE, compareEvents } from "./sse.js";
import { VotePanel } from "./vote.js";

const $ = (id) => document.getElementById(id);

const form = $("compare-form");
const promptBox = $("prompt");
const compareBtn = $("compare");
const stopBtn = $("stop");
const statusEl = $("status");
const formError = $("form-error");
const results = $("results");
const keyInput = $("api-key");
const blindBox = $("blind");
const exportBar = $("export");
const template = $("column-template");

let roles = [];          // [{role, model}] from v1/models
let running = null;      // the AbortController of the request in flight
let current = null;      // the comparison on the page (see vote.js for its shape)
let linkRoles = null;    // roles a permalink asked for, applied once the role boxes exist
let runLink = false;     // the permalink said run=1
let rolesLoading = null; // the v1/models call in flight: a submit waits for it
let starting = false;    // a submit waiting for it

const board = new Leaderboard($("leaderboard"), () => {  // votes are off on this server
  votes.off = true;
  votes.close();
  blindBox.checked = false;  // a blind test with no vote to end it would never reveal
  blindBox.closest("label").hidden = true;
});
const votes = new VotePanel($("vote"), () => {
  showExport();
  board.load();
});

function showFormError(message) {
  formError.textContent = message;
  formError.hidden = !message;
}

// ---- roles -------------------------------------------------------------------------------------

function reloadRoles() {
  const loading = loadRoles().finally(() => {
    if (rolesLoading === loading) rolesLoading = null;
    board.load();  // also when the roles did not load: the board then says why
  });
  rolesLoading = loading;
}

async function loadRoles() {
  const server = $("server");
  let response;
  try {
    response = await fetch("v1/models", { headers: headers() });
  } catch (err) {
    server.textContent = `Cannot reach the server (${err.message}).`;
    return;
  }
  if (response.status === 401) {
    server.textContent = "This server needs an API key: enter it under the settings.";
    document.querySelector(".settings").open = true;
    keyInput.focus();
    return;
  }
  if (!response.ok) {
    server.textContent = `Could not list the models (${await errorMessage(response)}).`;
    return;
  }
  const body = await response.json();
  roles = body.data.map((card) => ({ role: card.role || card.id, model: card.model || card.root || "" }));
  server.textContent = `${roles.length} role${roles.length === 1 ? "" : "s"}: ` +
    roles.map((r) => `${r.role} (${r.model})`).join(", ");
  renderRoleToggles();
  if (linkRoles) applyLinkRoles();
  if (runLink) {
    runLink = false;
    setTimeout(() => form.requestSubmit());  // after this load counts as done
  }
}

function renderRoleToggles() {
  const list = $("roles-list");
  list.replaceChildren();
  list.classList.remove("muted");
  for (const { role, model } of roles) {
    const label = document.createElement("label");
    label.className = "toggle";
    const box = document.createElement("input");
    box.type = "checkbox";
    box.name = "role";
    box.value = role;
    box.checked = true;
    label.append(box, ` ${role} `);
    const small = document.createElement("span");
    small.className = "muted";
    small.textContent = model;
    label.append(small);
    list.append(label);
  }
}

function applyLinkRoles() {
  const known = new Set(roles.map((r) => r.role));
  for (const box of document.querySelectorAll('input[name="role"]')) box.checked = linkRoles.includes(box.value);
  const unknown = linkRoles.filter((r) => !known.has(r));
  if (unknown.length) showFormError(`The link names roles this server does not serve: ${unknown.join(", ")}.`);
  linkRoles = null;
}

// ---- the comparison ----------------------------------------------------------------------------

function setRunning(controller) {
  running = controller;
  compareBtn.disabled = !!controller;
  stopBtn.disabled = !controller;
  for (const b of document.querySelectorAll("#probe-buttons button")) b.disabled = !!controller;
}

// The columns of a new comparison, shuffled and lettered when blind.
function startComparison(request) {
  const blind = blindBox.checked;
  const c = { id: null, created: Math.floor(Date.now() / 1000), request, blind, revealed: !blind,
              shown: [], votable: [], vote: null };
  results.replaceChildren();
  (blind ? shuffled(request.roles) : request.roles).forEach((role, i) => {
    const model = (roles.find((r) => r.role === role) || {}).model;
    const column = new Column(template, role, model);
    if (blind) column.blind(LETTERS[i]);
    c.shown.push({ role, model, letter: LETTERS[i], column, result: null });
    results.append(column.el);
  });
  return c;
}

// The stream is over: votes are open when it ended with [DONE] and at least two roles answered.
function settle(c, clean) {
  c.votable = clean ? c.shown.filter((a) => a.result && !a.result.error) : [];
  if ((votes.off || c.votable.length < 2) && !c.revealed) {  // no vote: nothing to hide
    c.revealed = true;
    for (const a of c.shown) a.column.reveal();
  }
  votes.open(c);
  showExport();
}

function showExport() {
  exportBar.hidden = !(current && current.revealed && current.shown.some((a) => a.result));
}

async function compare() {
  showFormError("");
  const state = readForm();
  if (!state.prompt.trim()) {
    showFormError("Type a prompt first.");
    promptBox.focus();
    return;
  }
  if (!state.roles.length) {
    showFormError(roles.length ? "Choose at least one role." : "No roles yet: see the line under the title.");
    return;
  }
  votes.close();  // a vote not cast by now is not cast; one in flight still lands
  const c = current = startComparison(state);
  showExport();
  const byRole = new Map(c.shown.map((a) => [a.role, a]));
  const controller = new AbortController();
  setRunning(controller);
  const started = performance.now();
  const elapsed = () => ((performance.now() - started) / 1000).toFixed(1);
  statusEl.textContent = "Comparing…";
  let finishedCleanly = false;
  try {
    const response = await fetch("v1/compare", {
      method: "POST",
      headers: headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
      body: JSON.stringify(requestBody(state)),
      signal: controller.signal,
    });
    if (!response.ok) {
      const message = await errorMessage(response);
      showFormError(message);
      for (const a of c.shown) a.column.fail(message);
      statusEl.textContent = "Failed.";
      return;
    }
    let done = 0;
    for await (const event of compareEvents(response)) {
      if (event === DONE) {
        finishedCleanly = true;
        break;
      }
      const answer = byRole.get(event.role);
      if (!answer) continue;
      c.id = c.id || event.id;
      if (event.type === "delta") answer.column.delta(event);
      else if (event.type === "result") {
        answer.result = event.result;
        answer.column.finish(event.result);
        done += 1;
        statusEl.textContent = `Comparing… ${done} of ${c.shown.length} done`;
      }
    }
    for (const a of c.shown) {
      if (!a.column.finished) a.column.fail("The stream ended before this role's result.");
    }
    statusEl.textContent = finishedCleanly ? `Done in ${elapsed()} s.` : "The stream ended early.";
  } catch (err) {
    if (err.name === "AbortError") {
      for (const a of c.shown) a.column.stop();
      statusEl.textContent = `Stopped after ${elapsed()} s.`;
    } else {
      const message = `Connection lost: ${err.message}`;
      showFormError(message);
      for (const a of c.shown) if (!a.column.finished) a.column.fail(message);
      statusEl.textContent = "Failed.";
    }
  } finally {
    setRunning(null);
    settle(c, finishedCleanly);
  }
}

function stop() {
  if (running) running.abort();  // closes the connection; the server cancels every role
}

// ---- links -------------------------------------------------------------------------------------

async function copyLink() {
  const state = readForm();
  if (!state.prompt.trim()) {
    showFormError("Type a prompt first: the link carries it.");
    return;
  }
  showFormError("");
  const { copied } = await shareLink(state);
  statusEl.textContent = copied
    ? "Link copied: it opens this page with the prompt, roles and settings filled in."
    : "The link is in the address bar: copy it from there.";
}

function openLink() {
  const link = fromFragment(location.hash);
  if (!link) return;
  fillForm(link.state);
  linkRoles = link.state.roles || null;
  if (linkRoles && roles.length) applyLinkRoles();
  runLink = link.run;
  if (runLink && roles.length && !running) {
    runLink = false;
    form.requestSubmit();
  }
}

// ---- wiring --------------------------------------------------------------------------------------

// The study's five probes (clients/study/probes.yaml, copied by tools/update_probes.py).
async function renderProbes() {
  const holder = $("probe-buttons");
  const response = await fetch(new URL("probes.json", import.meta.url));
  if (!response.ok) return;  // the page works without its buttons
  for (const probe of await response.json()) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "probe";
    button.textContent = probe.label;
    button.title = probe.prompt;
    button.addEventListener("click", () => {
      promptBox.value = probe.prompt;
      form.requestSubmit();
    });
    holder.append(button);
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (running || starting) return;
  starting = true;
  try {
    if (rolesLoading) await rolesLoading;  // a click before the role boxes (re)appeared
  } finally {
    starting = false;
  }
  if (!running) compare();
});
stopBtn.addEventListener("click", stop);
$("link").addEventListener("click", copyLink);
for (const button of exportBar.querySelectorAll("button[data-format]")) {
  button.addEventListener("click", () => { if (current) downloadComparison(current, button.dataset.format); });
}
promptBox.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    form.requestSubmit();
  }
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && running) stop();
});
keyInput.value = sessionStorage.getItem(KEY_STORAGE) || "";
keyInput.addEventListener("change", () => {
  const key = keyInput.value.trim();
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
  reloadRoles();
});
blindBox.checked = blindStored();
blindBox.addEventListener("change", () => rememberBlind(blindBox.checked));
window.addEventListener("hashchange", openLink);

renderProbes().catch(() => {});  // no buttons, rather than an error, if the file is missing
openLink();
reloadRoles();
