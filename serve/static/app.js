// The comparison page: one prompt to the chosen roles through the streaming `POST v1/compare`,
// one column per role filled in as the events arrive. URLs are relative to the page's <base>,
// which the server sets to the app's route prefix.

import { Column } from "./column.js";
import { PROBES } from "./probes.js";
import { DONE, compareEvents } from "./sse.js";

const KEY_STORAGE = "triserve.apiKey";
const $ = (id) => document.getElementById(id);

const form = $("compare-form");
const promptBox = $("prompt");
const compareBtn = $("compare");
const stopBtn = $("stop");
const statusEl = $("status");
const formError = $("form-error");
const results = $("results");
const keyInput = $("api-key");
const template = $("column-template");

let roles = [];          // [{role, model}] from v1/models
let running = null;      // the AbortController of the request in flight

function headers(extra = {}) {
  const key = sessionStorage.getItem(KEY_STORAGE);
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

// The server's `{"error": {...}}` body as one readable line.
async function errorMessage(response) {
  try {
    const body = await response.json();
    if (body && body.error && body.error.message) return `${response.status}: ${body.error.message}`;
  } catch (_) { /* not JSON */ }
  return `${response.status} ${response.statusText}`;
}

function showFormError(message) {
  formError.textContent = message;
  formError.hidden = !message;
}

// ---- roles -------------------------------------------------------------------------------------

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

function chosenRoles() {
  return [...document.querySelectorAll('input[name="role"]:checked')].map((box) => box.value);
}

// ---- the request -------------------------------------------------------------------------------

function numberField(id, parse) {
  const raw = $(id).value.trim();
  return raw === "" ? undefined : parse(raw);
}

function requestBody(prompt, chosen) {
  const params = {
    max_new_tokens: numberField("max_new_tokens", (v) => parseInt(v, 10)),
    temperature: numberField("temperature", Number),
    top_p: numberField("top_p", Number),
    seed: numberField("seed", (v) => parseInt(v, 10)),
    max_thinking_tokens: numberField("max_thinking_tokens", (v) => parseInt(v, 10)),
  };
  const thinking = $("enable_thinking").value;
  if (thinking) params.enable_thinking = thinking === "true";
  for (const k of Object.keys(params)) if (params[k] === undefined) delete params[k];
  const body = { prompt, roles: chosen, params, stream: true };
  const system = $("system").value.trim();
  if (system) body.system = system;
  return body;
}

function setRunning(controller) {
  running = controller;
  compareBtn.disabled = !!controller;
  stopBtn.disabled = !controller;
  for (const b of document.querySelectorAll("#probe-buttons button")) b.disabled = !!controller;
}

async function compare() {
  showFormError("");
  const prompt = promptBox.value;
  if (!prompt.trim()) {
    showFormError("Type a prompt first.");
    promptBox.focus();
    return;
  }
  const chosen = chosenRoles();
  if (!chosen.length) {
    showFormError(roles.length ? "Choose at least one role." : "No roles yet: see the line under the title.");
    return;
  }
  const columns = new Map();
  results.replaceChildren();
  for (const role of chosen) {
    const model = (roles.find((r) => r.role === role) || {}).model;
    const column = new Column(template, role, model);
    columns.set(role, column);
    results.append(column.el);
  }
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
      body: JSON.stringify(requestBody(prompt, chosen)),
      signal: controller.signal,
    });
    if (!response.ok) {
      const message = await errorMessage(response);
      showFormError(message);
      for (const column of columns.values()) column.fail(message);
      statusEl.textContent = "Failed.";
      return;
    }
    let done = 0;
    for await (const event of compareEvents(response)) {
      if (event === DONE) {
        finishedCleanly = true;
        break;
      }
      const column = columns.get(event.role);
      if (!column) continue;
      if (event.type === "delta") column.delta(event);
      else if (event.type === "result") {
        column.finish(event.result);
        done += 1;
        statusEl.textContent = `Comparing… ${done} of ${columns.size} done`;
      }
    }
    for (const column of columns.values()) {
      if (!column.finished) column.fail("The stream ended before this role's result.");
    }
    statusEl.textContent = finishedCleanly ? `Done in ${elapsed()} s.` : "The stream ended early.";
  } catch (err) {
    if (err.name === "AbortError") {
      for (const column of columns.values()) column.stop();
      statusEl.textContent = `Stopped after ${elapsed()} s.`;
    } else {
      const message = `Connection lost: ${err.message}`;
      showFormError(message);
      for (const column of columns.values()) if (!column.finished) column.fail(message);
      statusEl.textContent = "Failed.";
    }
  } finally {
    setRunning(null);
  }
}

function stop() {
  if (running) running.abort();  // closes the connection; the server cancels every role
}

// ---- wiring --------------------------------------------------------------------------------------

function renderProbes() {
  const holder = $("probe-buttons");
  for (const probe of PROBES) {
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

form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (!running) compare();
});
stopBtn.addEventListener("click", stop);
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
  loadRoles();
});

renderProbes();
loadRoles();
