// The comparison page: one prompt to the chosen roles through the streaming `POST v1/compare`,
// one column per role filled in as the events arrive; then a vote on the answers (vote.js),
// optionally blind (blind.js), a download (export.js), a link (permalink.js) and the standings
// (leaderboard.js). URLs are relative to the page's <base>, which the server sets to the app's
// route prefix.

import { KEY_STORAGE, errorMessage, headers } from "./api.js";
import { LETTERS, blindStored, rememberBlind, shuffled } from "./blind.js";
import { Column } from "./column.js";
import { freshSeed, newConversation, newTurn, turnBody } from "./conversation.js";
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
const followUpForm = $("followup");
const followUpBox = $("followup-text");

let roles = [];          // [{role, model}] from v1/models
let running = null;      // the AbortController of the request in flight
const BATTLE = 2;        // roles in a battle (blind mode with more roles than this)
let conv = null;         // the conversation on the page (conversation.js)
let current = null;      // its latest turn, what the vote and the export are about
let linkRoles = null;    // roles a permalink asked for, applied once the role boxes exist
let runLink = false;     // the permalink said run=1
let rolesLoading = null; // the v1/models call in flight: a submit waits for it
let starting = false;    // a submit waiting for it
let probeCategory = null; // the probe a button just filled in: the comparison's category

const board = new Leaderboard($("leaderboard"), () => {  // votes are off on this server
  votes.off = true;
  votes.close();
  blindBox.checked = false;  // a blind test with no vote to end it would never reveal
  blindBox.closest("label").hidden = true;
});
const votes = new VotePanel($("vote"), (t) => {
  if (t.conversation) t.conversation.revealed = t.revealed;
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
  roles = body.data.map((card) => ({ role: card.role || card.id, model: card.model || card.root || "",
                                     kind: card.kind || "" }));
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
  for (const b of document.querySelectorAll("#probe-buttons button, #followup button, .regen")) {
    b.disabled = !!controller;
  }
}

// The columns of a new conversation, shuffled and lettered when blind. A battle (blind, and the
// server has more roles than a battle's two) draws its roles on the server: its columns are the
// letters alone until the vote reveals them.
function startConversation(request, battle) {
  const c = newConversation(request, blindBox.checked || battle);
  c.battle = battle;
  results.replaceChildren();
  if (battle) {
    for (const letter of LETTERS.slice(0, BATTLE)) {
      const column = new Column(template, letter, "", "");
      column.blind(letter);
      column.el.classList.add("battle");
      c.columns.push({ role: letter, model: "", letter, column });
      results.append(column.el);
    }
    return c;
  }
  (c.blind ? shuffled(request.roles) : request.roles).forEach((role, i) => {
    const known = roles.find((r) => r.role === role) || {};
    const column = new Column(template, role, known.model, known.kind);
    column.onRegenerate = () => regenerate([role]);
    if (c.blind) column.blind(LETTERS[i]);
    c.columns.push({ role, model: known.model, letter: LETTERS[i], column });
    results.append(column.el);
  });
  return c;
}

// The stream is over: votes are open when it ended with [DONE] and at least two roles answered.
function settle(t, clean) {
  t.votable = clean ? t.shown.filter((a) => a.result && !a.result.error) : [];
  if ((votes.off || t.votable.length < 2) && !t.revealed) {  // no vote: nothing to hide
    t.revealed = t.conversation.revealed = true;
    for (const a of t.shown) a.column.reveal();
  }
  votes.open(t);
  followUpForm.hidden = !!t.conversation.battle;  // a battle is one turn: its names are hidden
  showExport();
}

function showExport() {
  exportBar.hidden = !(current && current.revealed && current.shown.some((a) => a.result));
}

// The form's Compare: a new conversation (a new round) with its first turn.
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
  if (probeCategory && state.prompt === probeCategory.prompt) state.category = probeCategory.id;
  probeCategory = null;
  const battle = blindBox.checked && roles.length > BATTLE;
  conv = startConversation(state, battle);
  const t = current = newTurn(conv, state.prompt);
  showExport();
  const body = turnBody(t);
  if (battle) {
    delete body.roles;
    body.battle = BATTLE;
  }
  await runTurn(t, body, null);
}

// The follow-up box: the next turn to every column, each with its own thread.
async function followUp() {
  const text = followUpBox.value;
  if (!conv || running) return;
  if (!text.trim()) {
    followUpBox.focus();
    return;
  }
  votes.close();
  for (const a of current.shown) a.column.archive(current.request.prompt);
  const t = current = newTurn(conv, text);
  for (const a of t.shown) a.column.ask(text);
  followUpBox.value = "";
  showExport();
  await runTurn(t, turnBody(t), null);
}

// The last turn again for `asked` roles (default all) with a new seed: each answer stays in
// view until the new one starts, then is replaced; a vote after it is on what is shown then.
async function regenerate(asked) {
  if (!current || running) return;
  votes.close();
  const t = current;
  const only = asked || t.shown.map((a) => a.role);
  for (const a of t.shown) {
    if (!only.includes(a.role)) continue;
    a.result = null;
    a.column.restart();
  }
  t.vote = null;
  await runTurn(t, turnBody(t, only, { seed: freshSeed() }), only, t.id);
}

// Streams one `POST v1/compare` into turn `t`'s columns (only the `only` roles when given).
async function runTurn(t, body, only, previousId = null) {
  const targets = t.shown.filter((a) => !only || only.includes(a.role));
  const byRole = new Map(targets.map((a) => [a.role, a]));
  t.id = null;  // the id of the comparison that writes these answers: what a vote is filed under
  const controller = new AbortController();
  setRunning(controller);
  const started = performance.now();
  const elapsed = () => ((performance.now() - started) / 1000).toFixed(1);
  const what = only ? "Regenerating" : t.turn > 1 ? `Turn ${t.turn}:` : "Comparing";
  statusEl.textContent = `${what}…`;
  let finishedCleanly = false;
  try {
    const response = await fetch("v1/compare", {
      method: "POST",
      headers: headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    if (!response.ok) {
      const message = await errorMessage(response);
      showFormError(message);
      for (const a of targets) a.column.fail(message);
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
      t.id = t.id || event.id;
      if (event.type === "delta") answer.column.delta(event);
      else if (event.type === "result") {
        answer.result = event.result;
        answer.column.finish(event.result);
        done += 1;
        statusEl.textContent = `${what}… ${done} of ${targets.length} done`;
      }
    }
    for (const a of targets) {
      if (!a.column.finished) a.column.fail("The stream ended before this role's result.");
    }
    statusEl.textContent = finishedCleanly ? `Done in ${elapsed()} s.` : "The stream ended early.";
  } catch (err) {
    if (err.name === "AbortError") {
      for (const a of targets) a.column.stop();
      statusEl.textContent = `Stopped after ${elapsed()} s.`;
    } else {
      const message = `Connection lost: ${err.message}`;
      showFormError(message);
      for (const a of targets) if (!a.column.finished) a.column.fail(message);
      statusEl.textContent = "Failed.";
    }
  } finally {
    t.id = t.id || previousId;
    setRunning(null);
    settle(t, finishedCleanly);
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
  for (const probe of await response.clone().json()) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "probe";
    button.textContent = probe.label;
    button.title = probe.prompt;
    button.addEventListener("click", () => {
      promptBox.value = probe.prompt;
      probeCategory = { id: probe.id, prompt: probe.prompt };  // a vote on it counts in the probe's category
      form.requestSubmit();
    });
    holder.append(button);
  }
  board.setCategories((await response.clone().json()).map((p) => [p.id, p.label]));
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
followUpForm.addEventListener("submit", (event) => {
  event.preventDefault();
  followUp();
});
$("regen-all").addEventListener("click", () => regenerate(null));
followUpBox.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    followUpForm.requestSubmit();
  }
});
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
